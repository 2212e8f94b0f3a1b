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
    view::status_ids_of(&pid.to_string(), "NSpid")
}

/// A host name or NIS domain name as the harness read it, or why it could not read it.
/// An unreadable name equals nothing, not even another unreadable reading: two failed
/// reads before and after a run must not pass for "unchanged". Serialized as the plain
/// name, or `{"unreadable": why}`.
#[derive(Serialize, Deserialize, Clone, schemars::JsonSchema)]
#[serde(untagged)]
pub enum NameRead {
    Read(String),
    Unreadable { unreadable: String },
}

impl NameRead {
    /// The name, when it was read.
    pub fn value(&self) -> Option<&str> {
        match self {
            NameRead::Read(s) => Some(s),
            NameRead::Unreadable { .. } => None,
        }
    }
}

impl Default for NameRead {
    fn default() -> Self {
        NameRead::Unreadable {
            unreadable: "not read".into(),
        }
    }
}

impl PartialEq for NameRead {
    fn eq(&self, other: &Self) -> bool {
        matches!((self, other), (NameRead::Read(a), NameRead::Read(b)) if a == b)
    }
}

impl std::fmt::Debug for NameRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameRead::Read(s) => write!(f, "{s:?}"),
            NameRead::Unreadable { unreadable } => write!(f, "unreadable ({unreadable})"),
        }
    }
}

impl std::fmt::Display for NameRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameRead::Read(s) => f.write_str(s),
            NameRead::Unreadable { unreadable } => write!(f, "unreadable ({unreadable})"),
        }
    }
}

/// The host's hostname (gethostname(2)).
pub fn hostname() -> NameRead {
    match nix::unistd::gethostname() {
        Ok(h) => NameRead::Read(h.to_string_lossy().into_owned()),
        Err(e) => NameRead::Unreadable {
            unreadable: format!("gethostname: {}", crate::probe::sys::errno_name(e)),
        },
    }
}

/// The host's NIS domain name (/proc/sys/kernel/domainname).
pub fn domainname() -> NameRead {
    match std::fs::read_to_string("/proc/sys/kernel/domainname") {
        Ok(s) => NameRead::Read(s.trim().to_string()),
        Err(e) => NameRead::Unreadable {
            unreadable: format!(
                "read /proc/sys/kernel/domainname: {}",
                e.raw_os_error()
                    .map(|n| crate::probe::sys::errno_name(nix::errno::Errno::from_raw(n)))
                    .unwrap_or_else(|| e.to_string())
            ),
        },
    }
}

/// The harness's mount table.
pub fn mounts() -> Vec<MountEntry> {
    mountinfo::read("/proc/self/mountinfo").unwrap_or_default()
}

/// The global state a run must leave as it found it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HostState {
    pub hostname: NameRead,
    pub domainname: NameRead,
    /// (mount point, fs type, source) of every mount.
    pub mounts: BTreeSet<(String, String, String)>,
    /// Keys of each SysV kind, or why /proc/sysvipc could not be read (never equal to
    /// another reading then, see [`HostState::diff`]).
    pub sysv_msg: Result<Vec<String>, String>,
    pub sysv_sem: Result<Vec<String>, String>,
    pub sysv_shm: Result<Vec<String>, String>,
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
        ] {
            match (a, b) {
                (Ok(a), Ok(b)) if a == b => {}
                (Ok(a), Ok(b)) => out.push(format!("{what} {a:?} -> {b:?}")),
                (Err(e), _) | (_, Err(e)) => out.push(format!("{what} not compared: {e}")),
            }
        }
        for (what, a, b) in [("links", &before.links, &self.links)] {
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

/// A SysV message queue and a POSIX message queue the harness creates in its own IPC
/// namespace, and removes when dropped.
/// Both are held in the run's registry ([`crate::cleanup`]): a signal handler, a later
/// run or `nsconform cleanup` removes them when the run cannot.
pub struct HostIpcObjects {
    pub msqid: i32,
    pub mq_name: String,
    held: Vec<crate::cleanup::Held>,
}

impl HostIpcObjects {
    pub fn create() -> Result<Self, Verdict> {
        use crate::cleanup::{hold, Resource};
        // SAFETY: msgget with constant arguments.
        let msqid = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
        if msqid < 0 {
            return Err(Verdict::error(format!(
                "create a SysV message queue on the host (msgget): {}; \
                 check kernel.msgmni and `ipcs -q`",
                crate::probe::sys::errno_name(nix::errno::Errno::last())
            )));
        }
        let mut held = vec![hold(Resource::SysvMsg { id: msqid })];
        let mq_name = format!("/{}", crate::cleanup::unique_name());
        held.push(hold(Resource::PosixMq {
            name: mq_name.clone(),
        }));
        let attr = nix::mqueue::MqAttr::new(0, 1, 16, 0);
        match nix::mqueue::mq_open(
            mq_name.as_str(),
            nix::mqueue::MQ_OFlag::O_CREAT | nix::mqueue::MQ_OFlag::O_RDWR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            Some(&attr),
        ) {
            Ok(fd) => {
                let _ = nix::mqueue::mq_close(fd);
            }
            Err(e) => {
                // SAFETY: removing the queue we just made.
                unsafe { libc::msgctl(msqid, libc::IPC_RMID, std::ptr::null_mut()) };
                return Err(Verdict::error(format!(
                    "create POSIX message queue {mq_name} on the host (mq_open): {}; \
                     check CONFIG_POSIX_MQUEUE and fs.mqueue.queues_max",
                    crate::probe::sys::errno_name(e)
                )));
            }
        }
        Ok(HostIpcObjects {
            msqid,
            mq_name,
            held,
        })
    }

    /// Whether the SysV queue still exists in the harness's namespace.
    pub fn msq_present(&self) -> bool {
        crate::probe::sys::msq_stat(self.msqid).is_ok()
    }
}

impl Drop for HostIpcObjects {
    fn drop(&mut self) {
        // SAFETY: removing objects this harness created.
        unsafe { libc::msgctl(self.msqid, libc::IPC_RMID, std::ptr::null_mut()) };
        let _ = nix::mqueue::mq_unlink(self.mq_name.as_str());
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::NameRead;

    #[test]
    fn an_unreadable_name_equals_nothing() {
        let gone = || NameRead::Unreadable {
            unreadable: "gethostname: EFAULT".into(),
        };
        assert_ne!(gone(), gone());
        assert_ne!(gone(), NameRead::Read(String::new()));
        assert_eq!(NameRead::Read("a".into()), NameRead::Read("a".into()));
        assert_eq!(format!("{:?}", gone()), "unreadable (gethostname: EFAULT)");
        let back: NameRead = serde_json::from_str("\"h\"").unwrap();
        assert_eq!(back.value(), Some("h"));
        assert!(super::hostname().value().is_some());
    }
}
