//! What the harness observes of one subject run: the input of every subject judge
//! (`SubjectFn` of the spec layer). Filled in by the subject module.

use crate::probe::subject::{SubjectReport, SubjectRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the harness saw from outside, about the process that sent the report.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Outside {
    /// Per namespace type: does the probe's namespace differ from the harness's?
    pub ns_differs: BTreeMap<String, bool>,
    /// NSpid of the probe as the harness's procfs shows it.
    pub nspid: Vec<i32>,
    /// Processes in the procfs mounted on the probe's /proc (`/proc/<pid>/root/proc`).
    pub proc_pids: Option<Vec<i32>>,
    /// `/proc/<pid>/uid_map` and `gid_map` read by the harness.
    pub uid_map: String,
    pub gid_map: String,
    /// Whether the probe's own mount table has the marker tmpfs.
    pub marker_in_probe_mounts: bool,
    /// Whether the host's mount table has it (a leak).
    pub marker_on_host: bool,
    /// Interface names in the probe's network namespace (`/proc/<pid>/net/dev`).
    pub netdev: Vec<String>,
    pub host_hostname_during: String,
    pub host_domainname_during: String,
}

/// Everything known about one subject run, the input of every subject judge.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SubjectObservation {
    pub request: SubjectRequest,
    pub report: SubjectReport,
    pub outside: Outside,
    pub host_hostname_before: String,
    pub host_domainname_before: String,
    pub host_hostname_after: String,
    pub host_domainname_after: String,
    /// Whether the host's SysV queue survived the run.
    pub host_ipc_intact: bool,
    pub overflowuid: u32,
    pub overflowgid: u32,
    /// The uid the subject ran as on the host.
    pub outer_uid: u32,
}
