//! Small syscall helpers for the probe: errno names, step errors, raw writes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The symbolic name of an errno value (`ENOSPC`), as the kernel answered.
pub fn errno_name(e: nix::errno::Errno) -> String {
    format!("{e:?}")
}

/// A failed step: what was tried, the errno the kernel answered (if any), and a message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, thiserror::Error)]
pub struct StepError {
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    pub message: String,
}

impl StepError {
    pub fn new(step: impl Into<String>, errno: Option<String>, message: impl Into<String>) -> Self {
        StepError {
            step: step.into(),
            errno,
            message: message.into(),
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.errno {
            Some(errno) => write!(f, "{} failed with {errno} ({})", self.step, self.message),
            None => write!(f, "{} failed: {}", self.step, self.message),
        }
    }
}

/// Attach the step being attempted to a failed call.
pub trait StepExt<T> {
    fn step(self, what: &str) -> Result<T, StepError>;
}

impl<T> StepExt<T> for nix::Result<T> {
    fn step(self, what: &str) -> Result<T, StepError> {
        self.map_err(|e| StepError::new(what, Some(errno_name(e)), e.desc()))
    }
}

impl<T> StepExt<T> for std::io::Result<T> {
    fn step(self, what: &str) -> Result<T, StepError> {
        self.map_err(|e| {
            let errno = e
                .raw_os_error()
                .map(|n| errno_name(nix::errno::Errno::from_raw(n)));
            StepError::new(what, errno, e.to_string())
        })
    }
}

/// Write all of `buf` to `fd`, retrying on EINTR and short writes; errors are ignored
/// (stdout closed means nobody is listening).
pub fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: fd is a valid open descriptor owned by the process for its lifetime.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// `/proc/<who>/status` (`who` is `self` or a PID), parsed by the procfs crate.
pub fn status(who: &str) -> Result<procfs::process::Status, StepError> {
    let p = if who == "self" {
        procfs::process::Process::myself()
    } else {
        who.parse()
            .map_err(|_| procfs::ProcError::Other(format!("`{who}` is not a PID")))
            .and_then(procfs::process::Process::new)
    };
    p.and_then(|p| p.status())
        .map_err(|e| StepError::new(format!("read /proc/{who}/status"), None, e.to_string()))
}

/// setdomainname(2) (nix has no wrapper).
pub fn set_domainname(name: &str) -> nix::Result<()> {
    // SAFETY: pointer and length describe a valid byte buffer.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    nix::errno::Errno::result(r).map(drop)
}

/// Host name and NIS domain name from uname(2) (empty when it fails, which it does not).
pub fn uname_names() -> (String, String) {
    nix::sys::utsname::uname()
        .map(|u| {
            (
                u.nodename().to_string_lossy().into_owned(),
                u.domainname().to_string_lossy().into_owned(),
            )
        })
        .unwrap_or_default()
}

/// msgctl(IPC_STAT) of a SysV message queue id in the caller's IPC namespace (nix has
/// no SysV IPC wrappers): Ok when the queue is visible, EINVAL when it is not.
pub fn msq_stat(id: i32) -> nix::Result<()> {
    // SAFETY: msqid_ds is a plain C struct; all-zero is a valid value.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a valid msqid_ds for IPC_STAT to fill.
    let r = unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) };
    nix::errno::Errno::result(r).map(drop)
}

/// Open (and close) a POSIX message queue read-only in the caller's IPC namespace: Ok
/// when it is visible, ENOENT when it is not.
pub fn mq_visible(name: &str) -> nix::Result<()> {
    let q = nix::mqueue::mq_open(
        name,
        nix::mqueue::MQ_OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
        None,
    )?;
    let _ = nix::mqueue::mq_close(q);
    Ok(())
}

/// pidfd_open(2) (no nix wrapper): a descriptor that names process `pid` for good.
pub fn pidfd_open(pid: i32) -> nix::Result<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open takes two integers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    nix::errno::Errno::result(fd)
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        .map(|fd| unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// pidfd_send_signal(2): signal the process a pidfd refers to (no PID reuse race).
pub fn pidfd_send_signal(pidfd: &std::os::fd::OwnedFd, sig: i32) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    nix::errno::Errno::result(r).map(drop)
}

/// Leave a forked process at once, without the parent's destructors or atexit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) ends the process at once; nix has no wrapper. Called only in forked
    // children, where the parent's destructors and buffered output must not run again.
    unsafe { libc::_exit(code) }
}

/// Number of threads of this process, from `/proc/self/status`.
pub fn thread_count() -> Option<u64> {
    status("self").ok().map(|s| s.threads)
}

/// The inode of `/proc/<who>/ns/<kind>` (who = `self` or a PID), i.e. the namespace id.
pub fn ns_inode(who: &str, kind: &str) -> Result<u64, StepError> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{who}/ns/{kind}"))
        .map(|m| m.ino())
        .step(&format!("stat /proc/{who}/ns/{kind}"))
}

/// Block until stdin reaches end of file (the harness closes it to release a held probe).
pub fn wait_for_stdin_eof() {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a stack buffer of the given length.
        let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 || (n < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR) {
            return;
        }
    }
}

/// `struct clone_args` of clone(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes).
#[repr(C)]
#[derive(Default, Debug)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// A fork-like clone3(2) (no new stack, SIGCHLD at exit) with `flags` and, when not
/// empty, `set_tid` (the PID to take at each level, innermost first). Returns 0 in the
/// child and the child's PID in the parent, like fork(2).
///
/// # Safety
/// As for fork(2): the caller must be single-threaded (the probe is), and the child
/// must leave with `_exit`.
pub unsafe fn clone3(flags: u64, set_tid: &[i32]) -> nix::Result<i32> {
    let args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        set_tid: if set_tid.is_empty() {
            0
        } else {
            set_tid.as_ptr() as u64
        },
        set_tid_size: set_tid.len() as u64,
        ..CloneArgs::default()
    };
    let r = libc::syscall(
        libc::SYS_clone3,
        &args as *const CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    nix::errno::Errno::result(r).map(|pid| pid as i32)
}
