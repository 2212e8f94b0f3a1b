//! Looking from outside: what the harness reads about the host and about a probe
//! process, without trusting anything the probe says.

use crate::mountinfo::{self, MountEntry};
use crate::outcome::Verdict;
use crate::probe::view;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Inode of `/proc/<pid>/ns/<kind>` as the harness sees it.
pub fn ns_inode(pid: i32, kind: &str) -> Result<u64, Verdict> {
    crate::probe::sys::ns_inode(&pid.to_string(), kind)
        .map_err(|e| Verdict::error(format!("look at the probe from outside: {e}")))
}

/// Inode of the harness's own namespace of `kind` (the host's, for a host run).
pub fn own_ns_inode(kind: &str) -> Result<u64, Verdict> {
    crate::probe::sys::ns_inode("self", kind)
        .map_err(|e| Verdict::error(format!("read own namespace: {e}")))
}

/// `NSpid` of a process as the harness's procfs shows it (outermost first).
pub fn nspid(pid: i32) -> Vec<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    view::parse_status_ids(&status, "NSpid")
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn domainname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/domainname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The harness's mount table.
pub fn mounts() -> Vec<MountEntry> {
    mountinfo::read("/proc/self/mountinfo").unwrap_or_default()
}

/// The global state a run must leave as it found it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HostState {
    pub hostname: String,
    pub domainname: String,
    /// (mount point, fs type, source) of every mount.
    pub mounts: BTreeSet<(String, String, String)>,
    pub sysv_msg: Vec<String>,
    pub sysv_sem: Vec<String>,
    pub sysv_shm: Vec<String>,
    pub mqueues: Option<BTreeSet<String>>,
    pub links: Vec<String>,
    pub netns: BTreeSet<String>,
}

impl HostState {
    pub fn capture() -> HostState {
        HostState {
            hostname: hostname(),
            domainname: domainname(),
            mounts: mounts()
                .into_iter()
                .map(|m| (m.mount_point, m.fs_type, m.source))
                .collect(),
            sysv_msg: view::sysvipc_keys("msg"),
            sysv_sem: view::sysvipc_keys("sem"),
            sysv_shm: view::sysvipc_keys("shm"),
            mqueues: std::fs::read_dir("/dev/mqueue").ok().map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            }),
            links: view::interfaces().into_iter().map(|i| i.name).collect(),
            netns: std::fs::read_dir("/run/netns")
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Human-readable differences from `before`, empty when none.
    pub fn diff(&self, before: &HostState) -> Vec<String> {
        let mut out = Vec::new();
        if self.hostname != before.hostname {
            out.push(format!(
                "hostname {:?} -> {:?}",
                before.hostname, self.hostname
            ));
        }
        if self.domainname != before.domainname {
            out.push(format!(
                "domainname {:?} -> {:?}",
                before.domainname, self.domainname
            ));
        }
        for m in self.mounts.difference(&before.mounts) {
            out.push(format!("new mount {m:?}"));
        }
        for m in before.mounts.difference(&self.mounts) {
            out.push(format!("mount gone {m:?}"));
        }
        for (what, a, b) in [
            ("SysV message queues", &before.sysv_msg, &self.sysv_msg),
            ("SysV semaphores", &before.sysv_sem, &self.sysv_sem),
            ("SysV shm", &before.sysv_shm, &self.sysv_shm),
            ("links", &before.links, &self.links),
        ] {
            if a != b {
                out.push(format!("{what} {a:?} -> {b:?}"));
            }
        }
        if self.mqueues != before.mqueues {
            out.push(format!(
                "POSIX mqueues {:?} -> {:?}",
                before.mqueues, self.mqueues
            ));
        }
        if self.netns != before.netns {
            out.push(format!(
                "named netns {:?} -> {:?}",
                before.netns, self.netns
            ));
        }
        out
    }
}
