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
    pub host_hostname_during: crate::host::NameRead,
    pub host_domainname_during: crate::host::NameRead,
    /// What the harness's own observer did and saw inside the probe's namespaces
    /// (`None` when it could not run).
    #[serde(default)]
    pub seen: Option<crate::probe::observe::Observed>,
    /// Why the observer could not run, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_error: Option<String>,
    /// Whether the observer's marker tmpfs reached the host's mount table (a leak).
    #[serde(default)]
    pub observer_marker_on_host: bool,
    /// Mounts of the probe's namespace in a peer group shared with the host's.
    #[serde(default)]
    pub shared_with_host: Vec<String>,
    /// Whether the procfs at the probe's `/proc` belongs to the probe's own PID
    /// namespace (its PID 1 is in the probe's PID namespace); `None` when unreadable.
    #[serde(default)]
    pub proc_is_own_pidns: Option<bool>,
}

/// Everything known about one subject run, the input of every subject judge.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SubjectObservation {
    pub request: SubjectRequest,
    /// The probe's own report: supplementary, and absent when the runtime gave it no
    /// channel (see `subject::Transport`).
    pub report: Option<SubjectReport>,
    pub outside: Outside,
    pub host_hostname_before: crate::host::NameRead,
    pub host_domainname_before: crate::host::NameRead,
    pub host_hostname_after: crate::host::NameRead,
    pub host_domainname_after: crate::host::NameRead,
    /// Whether the host's SysV queue survived the run.
    pub host_ipc_intact: bool,
    pub overflowuid: u32,
    pub overflowgid: u32,
    /// The uid the subject ran as on the host.
    pub outer_uid: u32,
    /// What changed on the host from before the subject ran to after it was killed,
    /// attributed and (where safe) put back ([`crate::hostchange`]).
    #[serde(default)]
    pub host_changes: Vec<crate::hostchange::HostFinding>,
}

impl SubjectObservation {
    /// The harness's own observation inside the probe's namespaces, or the `error`
    /// verdict saying why there is none (the harness's fault, not the subject's).
    pub fn seen(&self) -> Result<&crate::probe::observe::Observed, crate::outcome::Verdict> {
        match (&self.outside.seen, &self.outside.seen_error) {
            (Some(s), _) if s.setns_error.is_none() => Ok(s),
            (Some(s), _) => Err(crate::outcome::Verdict::error(format!(
                "the harness could not enter the probe's namespaces to look for itself: {}",
                s.setns_error.as_deref().unwrap_or("unknown")
            ))),
            (None, e) => Err(crate::outcome::Verdict::error(format!(
                "the harness could not look inside the probe's namespaces: {}",
                e.as_deref().unwrap_or("the observer did not run")
            ))),
        }
    }
}

/// One line of a `uid_map`/`gid_map`: ids inside, ids outside, how many.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapExtent {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Parse a whole `uid_map`/`gid_map` (user_namespaces(7)): every line, three numbers.
/// A line that is not three numbers, or a zero count, is an error naming it.
pub fn parse_id_map(text: &str) -> Result<Vec<MapExtent>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let n: Vec<u32> = l
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("map line `{}` is not three numbers", l.trim()))?;
            match n[..] {
                [inside, outside, count] if count > 0 => Ok(MapExtent {
                    inside,
                    outside,
                    count,
                }),
                _ => Err(format!(
                    "map line `{}` is not `inside outside count`",
                    l.trim()
                )),
            }
        })
        .collect()
}

/// The id outside that `id` inside maps to, if any line maps it.
pub fn map_id(map: &[MapExtent], id: u32) -> Option<u32> {
    map.iter().find_map(|e| {
        let off = id.checked_sub(e.inside)?;
        (off < e.count).then(|| e.outside.saturating_add(off))
    })
}

/// The peer groups (`shared:N`) of a mount table.
fn peer_groups(table: &[crate::mountinfo::MountEntry]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in table {
        for tag in &m.propagation {
            if let Some(n) = tag.strip_prefix("shared:") {
                out.entry(n.to_string())
                    .or_insert_with(|| m.mount_point.clone());
            }
        }
    }
    out
}

/// Mounts of `probe`'s table that are in a peer group the `host` table also has: a
/// mount or unmount on either side propagates to the other (mount_namespaces(7)
/// "Shared subtrees"). Peer group IDs are global, so equal IDs are the same group.
/// Returns `probe mount point (peer of host mount point)` for each.
pub fn shared_with_host(
    probe: &[crate::mountinfo::MountEntry],
    host: &[crate::mountinfo::MountEntry],
) -> Vec<String> {
    let host_groups = peer_groups(host);
    let mut out = Vec::new();
    for m in probe {
        for tag in &m.propagation {
            let Some(n) = tag.strip_prefix("shared:") else {
                continue;
            };
            if let Some(h) = host_groups.get(n) {
                out.push(format!("{} (peer of the host's {h})", m.mount_point));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parse_every_line() {
        let m =
            parse_id_map("         1000          0          1\n         0     100000      65536\n")
                .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(map_id(&m, 0), Some(100_000));
        assert_eq!(map_id(&m, 1000), Some(0));
        assert_eq!(map_id(&m, 70_000), None);
        let all = parse_id_map("0 0 4294967295").unwrap();
        assert_eq!(map_id(&all, 0), Some(0));
        assert!(parse_id_map("0 x 1").is_err());
        assert!(parse_id_map("0 1 0").is_err());
        assert!(parse_id_map("0 1").is_err());
        assert_eq!(parse_id_map("").unwrap(), vec![]);
    }

    #[test]
    fn shared_peer_groups_are_found() {
        let host = crate::mountinfo::parse(
            "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
             40 22 0:40 / /tmp/scratch rw shared:77 - tmpfs s rw\n",
        );
        let probe_ok = crate::mountinfo::parse(
            "90 89 8:1 / / rw - ext4 /dev/sda1 rw\n\
             91 90 0:40 / /tmp/scratch rw shared:120 - tmpfs s rw\n",
        );
        let probe_bad = crate::mountinfo::parse(
            "90 89 8:1 / / rw - ext4 /dev/sda1 rw\n\
             91 90 0:40 / /tmp/scratch rw shared:77 - tmpfs s rw\n",
        );
        assert!(shared_with_host(&probe_ok, &host).is_empty());
        assert_eq!(
            shared_with_host(&probe_bad, &host),
            vec!["/tmp/scratch (peer of the host's /tmp/scratch)".to_string()]
        );
    }
}
