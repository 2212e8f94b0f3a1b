//! Small namespace operations the GEN, CR and SETNS checks share: a helper process
//! kept alive after its set-up, unshare as a step, namespace inodes as optional facts,
//! an ioctl that hands out a namespace descriptor, and a second thread.

use crate::kit::child::{Child, Fork};
use crate::ns::{fd_ino, Ioctl, Ns};
use crate::probe::sys::{errno_name, StepError, StepExt};
use nix::sched::CloneFlags;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::os::fd::AsRawFd;

/// Fork a helper that runs `setup`, reports what it returned, then stays alive until
/// the returned [`Child`] is dropped (or killed). A failed set-up is the error.
pub fn held<T: Serialize + DeserializeOwned>(
    what: &str,
    setup: impl FnOnce() -> Result<T, StepError>,
) -> Result<(Child, T), StepError> {
    let mut child = Fork::new(what).hold().spawn(|_| setup())?;
    let info = child.result::<Result<T, StepError>>()??;
    Ok((child, info))
}

/// unshare(`flags`) as a step (nothing when empty).
pub fn unshare_step(flags: CloneFlags) -> Result<(), StepError> {
    if flags.is_empty() {
        return Ok(());
    }
    nix::sched::unshare(flags).step(&format!(
        "unshare({})",
        crate::kit::child::flag_names(flags)
    ))
}

/// The inode of `/proc/<who>/ns/<type>`, None when it cannot be read.
pub fn ino(who: impl std::fmt::Display, ns: Ns) -> Option<u64> {
    crate::kit::nsfd::ns_ino(who, ns).ok()
}

/// An ioctl that returns a namespace descriptor (NS_GET_USERNS, NS_GET_PARENT,
/// PIDFD_GET_*_NAMESPACE): the inode of that namespace, or the errno name.
pub fn ioctl_ino(fd: &impl AsRawFd, request: Ioctl) -> Result<u64, String> {
    crate::ns::ioctl_fd(fd.as_raw_fd(), request)
        .map(|f| fd_ino(&f))
        .map_err(errno_name)
}

/// Start a thread that blocks forever, so that the calling (throwaway) process is
/// multithreaded. False when it could not be started.
pub fn spawn_idle_thread() -> bool {
    std::thread::Builder::new()
        .spawn(|| loop {
            std::thread::park();
        })
        .is_ok()
}
