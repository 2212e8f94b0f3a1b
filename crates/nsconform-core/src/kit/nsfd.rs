//! Namespace descriptors and the raw calls on them: open an ns file, its inode, setns(2)
//! and unshare(2) as facts, pidfd_open(2).

use crate::kit::fact::{res, sys_res};
use crate::ns::Ns;
use crate::probe::sys::{StepError, StepExt};
use nix::sched::CloneFlags;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

pub use crate::ns::fd_ino;

/// Open a file read-only (an ns file, a bind-mounted ns file, a pidfd's /proc dir ...).
pub fn open(path: &str) -> Result<OwnedFd, StepError> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .step(&format!("open {path}"))
}

/// Open `/proc/<who>/ns/<type>`.
pub fn open_ns(who: impl std::fmt::Display, ns: Ns) -> Result<OwnedFd, StepError> {
    open(&ns.path(who))
}

/// The inode of `/proc/<who>/ns/<type>` (the namespace's identity).
pub fn ns_ino(who: impl std::fmt::Display, ns: Ns) -> Result<u64, StepError> {
    let path = ns.path(who);
    std::fs::metadata(&path)
        .map(|m| m.ino())
        .step(&format!("stat {path}"))
}

/// (st_dev, st_ino) of a path, following symlinks.
pub fn dev_ino(path: &str) -> Result<(u64, u64), StepError> {
    std::fs::metadata(path)
        .map(|m| (m.dev(), m.ino()))
        .step(&format!("stat {path}"))
}

/// setns(2) with a raw nstype (so that invalid values can be passed): the fact.
pub fn setns_res(fd: &impl AsRawFd, nstype: i32) -> String {
    // SAFETY: setns takes a descriptor the caller holds and an integer.
    sys_res(unsafe { libc::setns(fd.as_raw_fd(), nstype) })
}

/// unshare(2) with `flags` (nothing when empty): the fact.
pub fn unshare_res(flags: CloneFlags) -> String {
    if flags.is_empty() {
        return crate::kit::fact::OK.to_string();
    }
    res(nix::sched::unshare(flags))
}

/// pidfd_open(2) (no nix wrapper).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, StepError> {
    crate::probe::sys::pidfd_open(pid).step(&format!("pidfd_open({pid})"))
}
