//! The observer: the harness's own eyes inside a subject's namespaces.
//!
//! What a subject's probe reports can be forged (a subject running as root controls
//! everything inside). So the harness does not take its word: once it has identified
//! the probe process by kernel facts, it starts this single-threaded observer
//! (`nsconform __probe observe '<json>'`), which opens a pidfd for the probe, enters the
//! probe's namespaces with one setns(2) (pidfd_open(2), setns(2) "pidfd"), and performs
//! the isolation actions itself: sets a host name and a domain name and reads them back
//! with uname(2), looks for the host's SysV and POSIX IPC objects, lists the network
//! interfaces, reads the probe's cgroup as its cgroup namespace shows it, and mounts a
//! marker tmpfs in the probe's mount namespace. It never acts in a namespace that is the
//! observer's own (the host's): for those it reports `shared` and changes nothing.
//!
//! setns into a mount namespace also changes root and working directory, so the mount
//! comes last, after everything that reads the host's /proc.

use super::sys::{
    errno_name, mq_visible, msq_stat, ns_inode, pidfd_open, set_domainname, uname_names,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

/// What the harness asks the observer to do.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ObserveRequest {
    /// The probe process, as the harness's PID namespace numbers it.
    pub pid: i32,
    /// Names to set inside the probe's UTS namespace.
    pub hostname: String,
    pub domainname: String,
    /// Where to mount the marker tmpfs inside the probe's mount namespace (a directory
    /// under the harness's shared scratch mount, when the subject made it visible).
    pub mount_target: String,
    /// Source name of the marker tmpfs.
    pub marker: String,
    /// A SysV message queue id and a POSIX queue name that exist on the host.
    pub host_msqid: i32,
    pub host_mq: String,
}

/// What the observer did and saw. Results are `"ok"` or the errno name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// What was asked (the names and marker the observer used).
    #[serde(default)]
    pub request: ObserveRequest,
    /// Namespace types of the probe that are not the observer's own (entered).
    pub entered: Vec<String>,
    /// Types the probe shares with the observer (the host's): never acted on.
    pub shared: Vec<String>,
    /// The errno of the setns(2) into the probe's namespaces, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setns_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<UtsSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<IpcSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<NetSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnt: Option<MntSeen>,
}

/// In the probe's UTS namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct UtsSeen {
    pub sethostname: String,
    pub setdomainname: String,
    /// uname(2) afterwards.
    pub hostname: String,
    pub domainname: String,
}

/// In the probe's IPC namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct IpcSeen {
    /// msgctl(IPC_STAT) of the host's queue id: EINVAL when invisible.
    pub host_msqid_stat: String,
    /// mq_open of the host's POSIX queue: ENOENT when invisible.
    pub host_mq_open: String,
    /// Objects in /proc/sysvipc/{msg,shm,sem} as the probe's IPC namespace shows them.
    pub sysv_objects: BTreeMap<String, usize>,
}

/// In the probe's network namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct NetSeen {
    /// Interface names (getifaddrs), sorted.
    pub interfaces: Vec<String>,
}

/// In the probe's cgroup namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CgroupSeen {
    /// `/proc/<probe>/cgroup` read from inside the probe's cgroup namespace.
    pub probe_cgroup: String,
}

/// In the probe's mount namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct MntSeen {
    /// Where the marker was mounted (the target, or `/tmp` when it is absent there).
    pub target: String,
    pub mount: String,
}

fn res<T>(r: nix::Result<T>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => errno_name(e),
    }
}

fn setns(fd: &OwnedFd, flags: i32) -> nix::Result<()> {
    // SAFETY: setns takes a descriptor we hold and an integer.
    nix::errno::Errno::result(unsafe { libc::setns(fd.as_raw_fd(), flags) }).map(drop)
}

/// Observe the probe of `req` from inside its namespaces. Runs in a process of its own
/// (it enters the namespaces for good).
pub fn observe(req: &ObserveRequest) -> Observed {
    let mut out = Observed {
        request: req.clone(),
        ..Observed::default()
    };
    let pidfd = match pidfd_open(req.pid) {
        Ok(fd) => fd,
        Err(e) => {
            out.setns_error = Some(format!("pidfd_open: {}", errno_name(e)));
            return out;
        }
    };
    let who = req.pid.to_string();
    let mut differ: BTreeMap<&str, i32> = BTreeMap::new();
    // PID and time namespaces are judged from outside: setns into them affects only
    // children, and the observer acts itself.
    for row in crate::ns::TABLE
        .iter()
        .filter(|r| !matches!(r.ns, crate::ns::Ns::Pid | crate::ns::Ns::Time))
    {
        let (name, flag) = (row.name, row.flag);
        match (ns_inode(&who, name), ns_inode("self", name)) {
            (Ok(theirs), Ok(own)) if theirs != own => {
                differ.insert(name, flag);
                out.entered.push(name.to_string());
            }
            (Ok(_), Ok(_)) => out.shared.push(name.to_string()),
            (Err(e), _) | (_, Err(e)) => {
                out.setns_error = Some(e.to_string());
                return out;
            }
        }
    }
    // The user namespace is entered only when we lack privilege over the others: root
    // of the initial user namespace has it over every namespace already, and keeps its
    // own view of ids that way.
    let root = nix::unistd::geteuid().is_root();
    let first = differ
        .iter()
        .filter(|(n, _)| **n != "mnt" && (**n != "user" || !root))
        .fold(0, |a, (_, f)| a | f);
    if first != 0 {
        if let Err(e) = setns(&pidfd, first) {
            out.setns_error = Some(errno_name(e));
            return out;
        }
    }
    if differ.contains_key("uts") {
        let sethostname = res(nix::unistd::sethostname(&req.hostname));
        let setdomainname = res(set_domainname(&req.domainname));
        let (hostname, domainname) = uname_names();
        out.uts = Some(UtsSeen {
            sethostname,
            setdomainname,
            hostname,
            domainname,
        });
    }
    if differ.contains_key("ipc") {
        let host_msqid_stat = res(msq_stat(req.host_msqid));
        let host_mq_open = res(mq_visible(&req.host_mq));
        let sysv_objects = ["msg", "shm", "sem"]
            .into_iter()
            .map(|k| {
                let n = std::fs::read_to_string(format!("/proc/sysvipc/{k}")).map_or(0, |t| {
                    t.lines().skip(1).filter(|l| !l.trim().is_empty()).count()
                });
                (k.to_string(), n)
            })
            .collect();
        out.ipc = Some(IpcSeen {
            host_msqid_stat,
            host_mq_open,
            sysv_objects,
        });
    }
    if differ.contains_key("net") {
        let mut interfaces: Vec<String> = nix::ifaddrs::getifaddrs()
            .map(|it| it.map(|i| i.interface_name).collect())
            .unwrap_or_default();
        interfaces.sort();
        interfaces.dedup();
        out.net = Some(NetSeen { interfaces });
    }
    if differ.contains_key("cgroup") {
        out.cgroup = Some(CgroupSeen {
            probe_cgroup: std::fs::read_to_string(format!("/proc/{}/cgroup", req.pid))
                .unwrap_or_default(),
        });
    }
    if differ.contains_key("mnt") {
        match setns(&pidfd, libc::CLONE_NEWNS) {
            Err(e) => {
                out.mnt = Some(MntSeen {
                    target: req.mount_target.clone(),
                    mount: format!("setns: {}", errno_name(e)),
                })
            }
            Ok(()) => {
                let target = if std::path::Path::new(&req.mount_target).is_dir() {
                    req.mount_target.clone()
                } else {
                    "/tmp".to_string()
                };
                let mount = res(nix::mount::mount(
                    Some(req.marker.as_str()),
                    target.as_str(),
                    Some("tmpfs"),
                    nix::mount::MsFlags::empty(),
                    Some("size=64k"),
                ));
                out.mnt = Some(MntSeen { target, mount });
            }
        }
    }
    out
}

/// Entry of `observe '<json>'`: print the [`Observed`] as one JSON line.
pub fn main(request_json: &str) -> ! {
    let req: ObserveRequest = match serde_json::from_str(request_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsconform-probe observe: bad request JSON: {e}");
            std::process::exit(2)
        }
    };
    let seen = observe(&req);
    let line = serde_json::to_string(&seen).unwrap_or_default();
    println!("{line}");
    std::process::exit(0)
}
