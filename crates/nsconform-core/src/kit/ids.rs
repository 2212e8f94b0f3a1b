//! Helpers of the USER, CG and TIME areas: the arguments of inside halves that create
//! their own user, time or cgroup namespace (`Cx::self_made`), map files, and a program
//! exec'd onto a helper's result pipe.

use crate::outcome::Verdict;
use crate::probe::sys::{errno_name, StepError};
use nix::sched::CloneFlags;
use serde::{Deserialize, Serialize};
use std::os::fd::{BorrowedFd, RawFd};

/// The arguments `Cx::self_made` hands to an inside half: which namespaces it creates
/// itself (false under the control that removes them).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct SelfMade {
    pub create_user: bool,
    pub create_time: bool,
    pub create_cgroup: bool,
}

impl SelfMade {
    /// The typed form of the arguments `Cx::self_made` returned.
    pub fn of(args: serde_json::Value) -> Result<SelfMade, Verdict> {
        serde_json::from_value(args)
            .map_err(|e| Verdict::error(format!("self-made namespace arguments: {e}")))
    }
    /// `CLONE_NEWUSER` when the run creates the user namespace itself, else nothing.
    pub fn user(&self) -> CloneFlags {
        flag(self.create_user, CloneFlags::CLONE_NEWUSER)
    }
    /// `CLONE_NEWTIME` when the run creates the time namespace itself, else nothing.
    pub fn time(&self) -> CloneFlags {
        flag(
            self.create_time,
            CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        )
    }
    /// `CLONE_NEWCGROUP` when the run creates the cgroup namespace itself, else nothing.
    pub fn cgroup(&self) -> CloneFlags {
        flag(self.create_cgroup, CloneFlags::CLONE_NEWCGROUP)
    }
}

fn flag(on: bool, f: CloneFlags) -> CloneFlags {
    if on {
        f
    } else {
        CloneFlags::empty()
    }
}

/// Collapse the column padding of a map file (or any whitespace-separated) line.
pub fn squash(map: &str) -> String {
    map.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Path of `cat`, which several checks execute to read /proc files after execve.
pub fn cat_path() -> Result<String, Verdict> {
    ["/usr/bin/cat", "/bin/cat"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
        .ok_or_else(|| Verdict::skip("needs /usr/bin/cat or /bin/cat"))
}

/// Replace this process by `argv` with stdout on `out_fd` (a helper's result pipe, see
/// `Fork::spawn`); returns only on failure.
pub fn exec_to(out_fd: RawFd, argv: &[&str]) -> StepError {
    let args: Vec<std::ffi::CString> = argv
        .iter()
        .map(|a| std::ffi::CString::new(*a).unwrap_or_default())
        .collect();
    // SAFETY: `out_fd` is the helper's result pipe, open for the whole call.
    let out = unsafe { BorrowedFd::borrow_raw(out_fd) };
    if let Err(e) = nix::unistd::dup2_stdout(out) {
        return StepError::new("redirect stdout", Some(errno_name(e)), e.desc());
    }
    match nix::unistd::execv(&args[0], &args) {
        Err(e) => StepError::new(
            format!("execute {}", argv[0]),
            Some(errno_name(e)),
            e.desc(),
        ),
        Ok(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_made_flags() {
        let m = SelfMade::of(serde_json::json!({"create_user": true})).unwrap();
        assert_eq!(m.user(), CloneFlags::CLONE_NEWUSER);
        assert!(m.time().is_empty() && m.cgroup().is_empty());
        assert_eq!(squash("0   1000    1"), "0 1000 1");
    }
}
