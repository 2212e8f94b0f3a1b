//! What a process sees from inside: the probe's standard report.
//!
//! Gathered with plain reads of procfs and a few syscalls, so it also works in a
//! foreign root filesystem. `/proc/self/...` paths resolve in the PID namespace of the
//! procfs mounted on /proc, which is exactly what a subject gave its process.

use crate::mountinfo::{self, MountEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;

/// A network interface as seen inside.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interface {
    pub name: String,
    pub up: bool,
    pub loopback: bool,
}

/// SysV IPC objects visible in the reader's IPC namespace (`/proc/sysvipc/*`) and POSIX
/// message queues (when an mqueue filesystem was mounted for this namespace).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipc {
    /// IPC keys (hex) of message queues, semaphore sets and shm segments.
    pub msg: Vec<String>,
    pub sem: Vec<String>,
    pub shm: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqueues: Option<Vec<String>>,
    /// The /proc/sysvipc files that could not be read, each with why: their lists
    /// above are empty for want of a reading, not because the namespace has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl Ipc {
    /// The three /proc/sysvipc lists of the reader's IPC namespace; a file that cannot
    /// be read leaves its list empty and is named in [`Ipc::unreadable`].
    pub fn sysvipc() -> Ipc {
        let mut unreadable = Vec::new();
        let mut read = |kind: &str| {
            sysvipc_keys(kind).unwrap_or_else(|e| {
                unreadable.push(e);
                Vec::new()
            })
        };
        let (msg, sem, shm) = (read("msg"), read("sem"), read("shm"));
        Ipc {
            msg,
            sem,
            shm,
            mqueues: None,
            unreadable,
        }
    }
}

/// The probe's view from inside.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct View {
    pub pid: i32,
    pub ppid: i32,
    /// The NSpid line of /proc/self/status, outermost (as the procfs sees it) first.
    pub nspid: Vec<i32>,
    pub uid: u32,
    pub gid: u32,
    pub uid_map: String,
    pub gid_map: String,
    pub hostname: String,
    pub domainname: String,
    pub ipc: Ipc,
    pub interfaces: Vec<Interface>,
    pub mounts: Vec<MountEntry>,
    /// Numeric entries of /proc: the processes this procfs shows.
    pub proc_pids: Vec<i32>,
    /// Namespace inode of each /proc/self/ns entry.
    pub ns: BTreeMap<String, u64>,
    /// The content of /proc/self/cgroup.
    pub cgroup: Vec<String>,
}

impl View {
    /// Look around. Unreadable items are left empty rather than aborting the report:
    /// each check says what it needed and did not get.
    pub fn gather() -> View {
        View {
            pid: nix::unistd::getpid().as_raw(),
            ppid: nix::unistd::getppid().as_raw(),
            nspid: status_ids("NSpid"),
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            uid_map: read_trim("/proc/self/uid_map"),
            gid_map: read_trim("/proc/self/gid_map"),
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            domainname: read_trim("/proc/sys/kernel/domainname"),
            ipc: Ipc::sysvipc(),
            interfaces: interfaces(),
            mounts: mountinfo::read("/proc/self/mountinfo").unwrap_or_default(),
            proc_pids: proc_pids("/proc"),
            ns: namespaces("self"),
            cgroup: read_trim("/proc/self/cgroup")
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }
}

fn read_trim(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The ids of a namespaced `/proc/self/status` field (`NSpid`, `NStgid`, `NSpgid`,
/// `NSsid`), outermost first; empty when the kernel has no such field.
pub fn status_ids(field: &str) -> Vec<i32> {
    status_ids_of("self", field)
}

/// [`status_ids`] of another process (`who` is a PID).
pub fn status_ids_of(who: &str, field: &str) -> Vec<i32> {
    let Ok(s) = super::sys::status(who) else {
        return Vec::new();
    };
    match field {
        "NSpid" => s.nspid,
        "NStgid" => s.nstgid,
        "NSpgid" => s.nspgid,
        "NSsid" => s.nssid,
        _ => None,
    }
    .unwrap_or_default()
}

/// Keys of the objects listed in `/proc/sysvipc/<kind>` (always the reader's IPC
/// namespace, ipc_namespaces(7)); `Err` says why the file could not be read (or a line
/// not parsed): never an empty list for want of a reading.
pub fn sysvipc_keys(kind: &str) -> Result<Vec<String>, String> {
    let path = format!("/proc/sysvipc/{kind}");
    let text = fs::read_to_string(&path).map_err(|e| {
        let why = e
            .raw_os_error()
            .map(|n| super::sys::errno_name(nix::errno::Errno::from_raw(n)))
            .unwrap_or_else(|| e.to_string());
        format!("read {path}: {why}")
    })?;
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(|key| {
            key.parse::<i64>()
                .map(|k| format!("{:#x}", k as u32))
                .map_err(|_| format!("{path}: key {key} is not a number"))
        })
        .collect()
}

/// Interfaces of the caller's network namespace via getifaddrs(3), one per name.
pub fn interfaces() -> Vec<Interface> {
    use nix::net::if_::InterfaceFlags;
    let mut out: BTreeMap<String, Interface> = BTreeMap::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            out.entry(a.interface_name.clone()).or_insert(Interface {
                name: a.interface_name,
                up: a.flags.contains(InterfaceFlags::IFF_UP),
                loopback: a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            });
        }
    }
    out.into_values().collect()
}

/// Numeric directory names in a procfs mount.
pub fn proc_pids(proc_root: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_dir(proc_root)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// Namespace inode numbers of `/proc/<who>/ns/*`, keyed by entry name.
pub fn namespaces(who: &str) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let dir = format!("/proc/{who}/ns");
    let mut out = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(&dir) {
        for e in rd.flatten() {
            if let (Some(name), Ok(meta)) = (e.file_name().to_str(), fs::metadata(e.path())) {
                out.insert(name.to_string(), meta.ino());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nspid_through_procfs() {
        let me = std::process::id() as i32;
        assert_eq!(status_ids("NSpid").last(), Some(&me));
        assert_eq!(status_ids_of(&me.to_string(), "NStgid").last(), Some(&me));
        assert!(status_ids("NoSuchField").is_empty());
        assert!(status_ids_of("not-a-pid", "NSpid").is_empty());
    }

    #[test]
    fn sysvipc_keys_of_a_missing_file_is_an_error() {
        let e = sysvipc_keys("no-such-kind").unwrap_err();
        assert!(e.contains("/proc/sysvipc/no-such-kind"), "{e}");
        assert!(e.contains("ENOENT"), "{e}");
        assert!(sysvipc_keys("msg").is_ok());
    }

    #[test]
    fn gathers_own_view() {
        let v = View::gather();
        assert_eq!(v.pid, std::process::id() as i32);
        assert!(v.ns.contains_key("uts"));
        assert!(v.interfaces.iter().any(|i| i.loopback));
        assert!(v.mounts.iter().any(|m| m.mount_point == "/"));
    }
}
