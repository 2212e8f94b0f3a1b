//! The one fork primitive of the checks: [`Fork`] describes a helper process (what it
//! unshares, which clone flags it is created with, whether it waits for a go signal,
//! whether it is kept alive after its body), [`Child`] is the running helper.
//!
//! Every helper process of an inside half is made here, so that each one gets the same
//! treatment: `PR_SET_PDEATHSIG(SIGKILL)`, a ready handshake after its own unshare (so the
//! parent can write its maps or look at it), a typed result sent back as one JSON value,
//! `_exit` instead of the parent's destructors, and reaping (a dropped [`Child`] is
//! killed and waited for). The probe is single-threaded, so fork is sound.
//!
//! ```text
//! let pid1 = Fork::new("run as PID 1").run(|_| getpid())?;             // run and collect
//! let mut c = Fork::new("hold a user ns").unshare(NEWUSER).gated().spawn(|_| ...)?;
//! write_maps(c.pid()); c.release(); let v: T = c.result()?;             // gated
//! let h = Fork::new("pin a uts ns").unshare(NEWUTS).hold().spawn(|_| ())?;
//! open(h.ns_path(Ns::Uts)) ...                                          // alive until dropped
//! ```

use crate::ns::Ns;
use crate::probe::sys::{self, StepError, StepExt};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// How a helper ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Exited(i32),
    Killed(Signal),
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Exited(c) => write!(f, "exited {c}"),
            Exit::Killed(s) => write!(f, "killed by {}", s.as_str()),
        }
    }
}

/// waitpid for an exit or a kill, retrying on EINTR and ignoring stops.
pub fn wait_for(pid: Pid) -> Result<Exit, StepError> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => return Ok(Exit::Exited(c)),
            Ok(WaitStatus::Signaled(_, s, _)) => return Ok(Exit::Killed(s)),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).step(&format!("wait for helper process {pid}")),
        }
    }
}

pub use crate::probe::sys::exit_now;

/// A close-on-exec pipe (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), StepError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step("create a pipe")
}

/// Write one byte: wakes a process blocked in [`wait_ping`].
pub fn ping(fd: &impl AsRawFd) {
    sys::write_all(fd.as_raw_fd(), b"!");
}

/// Block for one byte; false at end of file (the writer is gone).
pub fn wait_ping(fd: &impl AsRawFd) -> bool {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: the caller holds the descriptor open for the duration of this call.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) };
        match nix::unistd::read(fd, &mut b) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(n) => return n == 1,
            Err(_) => return false,
        }
    }
}

/// Write a value as one JSON line.
pub fn send_line<T: Serialize>(fd: &impl AsRawFd, v: &T) {
    let mut text = serde_json::to_vec(v).unwrap_or_default();
    text.push(b'\n');
    sys::write_all(fd.as_raw_fd(), &text);
}

/// Read one JSON value (None at end of file or on garbage). Reads no further than the
/// value, so a pipe that grandchildren keep open does not block it.
pub fn recv_value<T: DeserializeOwned>(fd: &impl AsRawFd) -> Option<T> {
    let file = std::fs::File::from(fd.as_raw_fd_dup()?);
    serde_json::Deserializer::from_reader(file)
        .into_iter()
        .next()
        .and_then(Result::ok)
}

/// A duplicated descriptor, so a reader can own a `File` without closing the original.
trait DupFd {
    fn as_raw_fd_dup(&self) -> Option<OwnedFd>;
}

impl<F: AsRawFd> DupFd for F {
    fn as_raw_fd_dup(&self) -> Option<OwnedFd> {
        // SAFETY: the caller holds the descriptor open for the duration of this call.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.as_raw_fd()) };
        fd.try_clone_to_owned().ok()
    }
}

/// A description of a helper process; [`Fork::spawn`] starts it, [`Fork::run`] starts it
/// and collects its result.
#[derive(Clone, Debug)]
pub struct Fork {
    what: String,
    unshare: CloneFlags,
    clone: u64,
    gated: bool,
    hold: bool,
    deathsig: bool,
}

impl Fork {
    /// A helper doing `what` (named in every error about it).
    pub fn new(what: impl Into<String>) -> Self {
        Fork {
            what: what.into(),
            unshare: CloneFlags::empty(),
            clone: 0,
            gated: false,
            hold: false,
            deathsig: true,
        }
    }
    /// The helper calls unshare(`flags`) first; spawning waits until it has (the
    /// failure is the helper's result, as a [`StepError`]).
    pub fn unshare(mut self, flags: CloneFlags) -> Self {
        self.unshare = flags;
        self
    }
    /// Create the helper with clone3(2) and these flags (e.g. `CLONE_FS`,
    /// `CLONE_NEWPID`, `CLONE_PARENT`) instead of fork(2). Never `CLONE_VM`: the helper
    /// runs on a copy of the caller's stack.
    pub fn clone_flags(mut self, flags: u64) -> Self {
        assert_eq!(flags & libc::CLONE_VM as u64, 0, "Fork never shares memory");
        self.clone = flags;
        self
    }
    /// The helper waits for [`Child::release`] before running its body.
    pub fn gated(mut self) -> Self {
        self.gated = true;
        self
    }
    /// The helper stays alive after sending its result, until it is killed (when the
    /// [`Child`] is dropped or [`Child::kill`]ed).
    pub fn hold(mut self) -> Self {
        self.hold = true;
        self
    }
    /// Do not set PR_SET_PDEATHSIG (for helpers that must outlive their parent, such as
    /// an orphan to be reparented).
    pub fn no_deathsig(mut self) -> Self {
        self.deathsig = false;
        self
    }

    /// Start the helper. `body` gets the write end of the result pipe (to point an
    /// exec'd program's stdout at it); what it returns is sent back as one JSON value,
    /// `Ok(value)`, or `Err(StepError)` when its unshare failed or it panicked.
    pub fn spawn<T: Serialize>(self, body: impl FnOnce(RawFd) -> T) -> Result<Child, StepError> {
        let (res_r, res_w) = pipe()?;
        let (ready_r, ready_w) = pipe()?;
        let (go_r, go_w) = if self.gated {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        } else {
            (None, None)
        };
        let pid = if self.clone == 0 {
            // SAFETY: the probe (and every helper) is single-threaded; the child leaves
            // with `exit_now` and never returns into the caller.
            match unsafe { nix::unistd::fork() }.step(&format!("fork a helper to {}", self.what))? {
                nix::unistd::ForkResult::Child => 0,
                nix::unistd::ForkResult::Parent { child } => child.as_raw(),
            }
        } else {
            // SAFETY: as for fork: single-threaded caller, no CLONE_VM (asserted in
            // `clone_flags`), the child leaves with `exit_now`.
            unsafe { sys::clone3(self.clone, &[]) }.step(&format!(
                "clone3({:#x}) a helper to {}",
                self.clone, self.what
            ))?
        };
        if pid == 0 {
            drop((res_r, ready_r, go_w));
            if self.deathsig {
                let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            }
            let unshared = if self.unshare.is_empty() {
                Ok(())
            } else {
                nix::sched::unshare(self.unshare).step(&format!(
                    "unshare({}) in a helper to {}",
                    flag_names(self.unshare),
                    self.what
                ))
            };
            sys::write_all(ready_w.as_raw_fd(), b"r");
            drop(ready_w);
            if let Some(go) = &go_r {
                wait_ping(go);
            }
            let out: Result<T, StepError> = unshared.and_then(|()| {
                let fd = res_w.as_raw_fd();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(fd)))
                    .map_err(|_| StepError::new(&self.what, None, "the helper panicked"))
            });
            send_line(&res_w, &out);
            if self.hold {
                drop(res_w);
                loop {
                    nix::unistd::pause();
                }
            }
            exit_now(0)
        }
        drop((res_w, ready_w, go_r));
        let child = Child {
            pid: Pid::from_raw(pid),
            what: self.what,
            go: go_w,
            result: res_r,
            exit: None,
        };
        // The helper's unshare is done once it says so (or dies).
        wait_ping(&ready_r);
        Ok(child)
    }

    /// Start the helper, wait for it to finish and return its result.
    pub fn run<T: Serialize + DeserializeOwned>(
        self,
        body: impl FnOnce(RawFd) -> T,
    ) -> Result<T, StepError> {
        self.spawn(body)?.result()
    }
}

/// Run `f` in a plain helper, wait for it to end, and take what it reported (None when
/// it died first, e.g. killed by a signal the check provokes) and how it ended.
pub fn in_helper<T: Serialize + DeserializeOwned>(
    what: &str,
    f: impl FnOnce() -> T,
) -> Result<(Option<T>, Exit), StepError> {
    Fork::new(what).spawn(|_| f())?.finish::<T>()
}

/// `CLONE_NEWUSER|CLONE_NEWNS`-style names of clone flags, for messages.
pub fn flag_names(flags: CloneFlags) -> String {
    let named: Vec<String> = crate::ns::TABLE
        .iter()
        .filter(|r| flags.bits() & r.flag != 0)
        .map(|r| match r.ns {
            Ns::Mnt => "CLONE_NEWNS".to_string(),
            ns => format!("CLONE_NEW{}", ns.name().to_uppercase()),
        })
        .collect();
    let rest = flags.bits() & !crate::ns::TABLE.iter().fold(0, |a, r| a | r.flag);
    let mut s = named.join("|");
    if rest != 0 || s.is_empty() {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(&format!("{rest:#x}"));
    }
    s
}

/// The StepError a helper's body reported as the last line of its result pipe
/// (`{"Ok":{"Err":..}}` when its body failed, `{"Err":..}` when its unshare did).
fn body_failure(buf: &[u8]) -> Option<StepError> {
    let text = std::str::from_utf8(buf).ok()?;
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    match serde_json::from_str::<Result<Result<serde_json::Value, StepError>, StepError>>(last) {
        Ok(Err(e)) | Ok(Ok(Err(e))) => Some(e),
        _ => None,
    }
}

/// A running (or finished) helper process. Dropping it kills and reaps it.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    what: String,
    go: Option<OwnedFd>,
    result: OwnedFd,
    exit: Option<Exit>,
}

impl Child {
    pub fn pid(&self) -> Pid {
        self.pid
    }
    /// `/proc/<pid>/<file>` of the helper.
    pub fn proc(&self, file: &str) -> String {
        format!("/proc/{}/{file}", self.pid)
    }
    /// `/proc/<pid>/ns/<type>` of the helper.
    pub fn ns_path(&self, ns: Ns) -> String {
        ns.path(self.pid)
    }
    /// Let a gated helper run its body (nothing for an ungated one).
    pub fn release(&mut self) {
        if let Some(go) = self.go.take() {
            ping(&go);
        }
    }

    /// Release the helper and read its result: one JSON value. For a helper that is
    /// not held, also waits for it to exit.
    pub fn result<T: DeserializeOwned>(&mut self) -> Result<T, StepError> {
        self.release();
        let got: Option<Result<T, StepError>> = recv_value(&self.result);
        match got {
            Some(r) => r,
            None => {
                let how = self.wait()?;
                Err(StepError::new(
                    &self.what,
                    None,
                    format!("the helper {how} without a result"),
                ))
            }
        }
    }

    /// Release the helper and read everything written to its result pipe until end of
    /// file (the output of a program the helper exec'd onto it), then reap it.
    pub fn output(&mut self) -> Result<(Vec<u8>, Exit), StepError> {
        self.release();
        let mut buf = Vec::new();
        let mut f = std::fs::File::from(
            self.result
                .try_clone()
                .step(&format!("read the output of {}", self.what))?,
        );
        f.read_to_end(&mut buf)
            .step(&format!("read the output of {}", self.what))?;
        let exit = self.wait()?;
        // A body that failed before (or instead of) its exec sent its StepError as the
        // last line: that is the helper's failure, not a program's output.
        if let Some(e) = body_failure(&buf) {
            return Err(e);
        }
        Ok((buf, exit))
    }

    /// Release the helper, wait for it to end, then take what it managed to report
    /// (None when it died first) and how it ended.
    pub fn finish<T: DeserializeOwned>(&mut self) -> Result<(Option<T>, Exit), StepError> {
        self.release();
        let exit = self.wait()?;
        // Grandchildren may still hold the write end: read only what is there.
        let _ = nix::fcntl::fcntl(
            &self.result,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        let got: Option<Result<T, StepError>> = recv_value(&self.result);
        Ok((got.and_then(Result::ok), exit))
    }

    /// Wait for the helper to end (once; later calls return the same).
    pub fn wait(&mut self) -> Result<Exit, StepError> {
        if let Some(e) = self.exit {
            return Ok(e);
        }
        let e = wait_for(self.pid)?;
        self.exit = Some(e);
        Ok(e)
    }

    /// Kill the helper with SIGKILL and reap it, as a step: a kill or a wait that
    /// fails is the error (the helper may still live), not ignored as in [`Child::kill`].
    pub fn end(&mut self) -> Result<Exit, StepError> {
        if let Some(e) = self.exit {
            return Ok(e);
        }
        nix::sys::signal::kill(self.pid, Signal::SIGKILL).step("kill the helper (SIGKILL)")?;
        self.wait()
    }

    /// Kill the helper with SIGKILL and reap it.
    pub fn kill(&mut self) {
        if self.exit.is_none() {
            let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
            let _ = self.wait();
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_are_readable() {
        assert_eq!(
            flag_names(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS),
            "CLONE_NEWNS|CLONE_NEWUSER"
        );
        assert_eq!(flag_names(CloneFlags::empty()), "0x0");
        assert_eq!(
            Exit::Killed(Signal::SIGKILL).to_string(),
            "killed by SIGKILL"
        );
        assert_eq!(Exit::Exited(3).to_string(), "exited 3");
    }
}
