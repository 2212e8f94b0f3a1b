//! User-namespace helpers of inside halves: the ids a check drops to, the user namespace
//! a check creates itself, root maps written as facts.

use crate::kit::fact::{write_res, OK};
use crate::probe::sys::{StepError, StepExt};
use crate::probe::Inside;
use nix::sched::CloneFlags;

/// The unprivileged uid and gid a privileged harness drops to for checks that need an
/// unprivileged creator (see `Cx::self_made`).
pub const SCRATCH_ID: u32 = 4242;

/// `CLONE_NEWUSER` when the run creates the user namespace itself (the `create_user`
/// argument of `Cx::self_made`), else nothing (a control removed it).
pub fn user_flag(cx: &Inside) -> CloneFlags {
    if cx.args["create_user"].as_bool().unwrap_or(false) {
        CloneFlags::CLONE_NEWUSER
    } else {
        CloneFlags::empty()
    }
}

/// Write `deny` to setgroups and `0 <uid> 1` / `0 <gid> 1` to the maps of `who` (`self`
/// or a PID): [`OK`] or the errno of the first refused map write.
pub fn map_root(who: &str, uid: u32, gid: u32) -> String {
    let _ = write_res(&format!("/proc/{who}/setgroups"), b"deny");
    let r = write_res(
        &format!("/proc/{who}/uid_map"),
        format!("0 {uid} 1\n").as_bytes(),
    );
    if r != OK {
        return r;
    }
    write_res(
        &format!("/proc/{who}/gid_map"),
        format!("0 {gid} 1\n").as_bytes(),
    )
}

/// unshare(CLONE_NEWUSER) and map root to the caller's current ids.
pub fn new_user_ns() -> Result<(), StepError> {
    let (u, g) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    nix::sched::unshare(CloneFlags::CLONE_NEWUSER).step("unshare(CLONE_NEWUSER)")?;
    crate::probe::write_root_map(u, g)
}

/// The caller's effective uid and gid.
pub fn euid_egid() -> (u32, u32) {
    (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    )
}
