//! User namespaces: user_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::facts;
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;

pub const ALL: &[Property] = &[
    USER_01, USER_02, USER_03, USER_04, USER_05, USER_06, USER_07, USER_08, USER_09, USER_10,
    USER_11, USER_12, USER_13, USER_14, USER_15, USER_16, USER_17, USER_18, USER_19, USER_20,
    USER_21, USER_22, USER_23, USER_24, USER_25, USER_26,
];

/// The uid/gid a privileged harness drops to for checks whose point is the difference
/// between the ids inside and outside (an id with no passwd entry, owned by nobody).
pub const SCRATCH_ID: u32 = 4242;

#[derive(Serialize, Deserialize, Debug)]
struct Ids {
    uid: u32,
    euid: u32,
    gid: u32,
    egid: u32,
    uid_map: String,
    gid_map: String,
}

fn ids() -> Ids {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    Ids {
        uid: nix::unistd::getuid().as_raw(),
        euid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        egid: nix::unistd::getegid().as_raw(),
        uid_map: read("/proc/self/uid_map"),
        gid_map: read("/proc/self/gid_map"),
    }
}

// ---------------------------------------------------------------------------------
/// USER-03: before any mapping is written, getuid/geteuid/getgid/getegid return the
/// overflow ids of /proc/sys/kernel/overflowuid and overflowgid.
/// user_namespaces(7) "Unmapped user and group IDs".
pub const USER_03: Property = Property {
    id: "USER-03",
    area: Area::User,
    title: "In a user namespace without mappings every id reads as the overflow uid/gid (/proc/sys/kernel/overflow{u,g}id)",
    man: "user_namespaces(7) \"Unmapped user and group IDs\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01,unshare01.sh",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_03_inside),
    check: user_03_check,
};

fn user_03_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&ids())
}

fn user_03_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        user: true,
        map_root: false,
        ..Launch::host()
    };
    let run = cx.run(launch, Value::Null)?;
    let f: Ids = run.facts()?;
    let (ou, og) = (cx.env.overflowuid, cx.env.overflowgid);
    let mut e = Expect::new();
    e.eq(
        "uid_map of the new user namespace (none written)",
        "",
        f.uid_map.as_str(),
    );
    let ids_seen = [f.uid, f.euid, f.gid, f.egid];
    e.eq(
        "uid, euid, gid, egid inside (the overflow ids: is the process in a new user namespace?)",
        [ou, ou, og, og],
        ids_seen,
    );
    Ok(e.verdict(&format!(
        "unmapped ids read as overflow uid {ou} / gid {og}"
    ))
    .with_observed(json!({
        "ids_equal_overflow": ids_seen == [ou, ou, og, og],
        "uid_map": f.uid_map,
        "gid_map": f.gid_map,
    })))
}

// ---------------------------------------------------------------------------------
/// USER-26: with uid_map `0 <uid> 1` the process is uid 0 inside, and a file it creates
/// is owned by `<uid>` outside. user_namespaces(7) "User and group ID mappings".
pub const USER_26: Property = Property {
    id: "USER-26",
    area: Area::User,
    title: "With the map `0 <uid> 1` the process is root inside, and files it creates belong to <uid> outside",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns02",
    controls: &[Control::NoUserMap, Control::NoNewUser],
    global: false,
    subject: Some(user_26_subject),
    inside: Some(user_26_inside),
    check: user_26_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct User26 {
    ids: Ids,
    /// Owner of the created file as stat(2) shows it inside.
    file_uid_inside: Option<u32>,
    /// errno of creating the file, when it failed (EOVERFLOW for an unmapped fsuid).
    create_errno: Option<String>,
}

fn user_26_inside(cx: &Inside) -> Result<Value, StepError> {
    let path = cx.workdir()?.join("created-inside");
    let (file_uid_inside, create_errno) = match std::fs::write(&path, b"x") {
        Ok(()) => (std::fs::metadata(&path).ok().map(|m| m.uid()), None),
        Err(e) => (
            None,
            e.raw_os_error()
                .map(|n| crate::probe::errno_name(nix::errno::Errno::from_raw(n))),
        ),
    };
    facts(&User26 {
        ids: ids(),
        file_uid_inside,
        create_errno,
    })
}

fn user_26_check(cx: &mut Cx) -> CheckResult {
    let mut launch = cx.prepare(Launch::host().user());
    // A privileged harness drops to a plain uid so "outside" differs from "inside".
    if launch.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        launch.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = launch.drop_to.map_or_else(|| cx.outer_ids().0, |(u, _)| u);
    let dir = cx.scratch_dir()?;
    if let Some((u, g)) = launch.drop_to {
        nix::unistd::chown(
            &dir,
            Some(nix::unistd::Uid::from_raw(u)),
            Some(nix::unistd::Gid::from_raw(g)),
        )
        .map_err(|e| Verdict::error(format!("chown scratch dir to {u}: {e}")))?;
    }
    launch.workdir = Some(dir.display().to_string());
    launch.hold = true;
    let host_user = host::own_ns_inode("user")?;
    let mut probe_user = None;
    let run = cx.run_exact(launch, Value::Null, |run| {
        probe_user = Some(host::ns_inode(run.host_pid.expect("held"), "user")?);
        Ok(())
    })?;
    let f: User26 = run.facts()?;
    let outside_owner = std::fs::metadata(dir.join("created-inside"))
        .ok()
        .map(|m| m.uid());
    let mut e = Expect::new();
    e.ne(
        "user namespace of the probe (a new user namespace)",
        Some(host_user),
        probe_user,
    );
    e.eq(
        "uid inside (root through the written uid_map)",
        (0, 0),
        (f.ids.uid, f.ids.euid),
    );
    e.eq(
        "uid_map inside",
        format!("0 {outer} 1"),
        squash(&f.ids.uid_map),
    );
    e.eq("file creation inside", None, f.create_errno.clone());
    e.eq("owner of the file seen inside", Some(0), f.file_uid_inside);
    e.eq(
        "owner of the file seen from the host (the real uid)",
        Some(outer),
        outside_owner,
    );
    Ok(e.verdict("root inside, the real uid outside")
        .with_observed(json!({
            "uid_inside": f.ids.uid,
            "uid_map_maps_root_to_outer_uid": squash(&f.ids.uid_map) == format!("0 {outer} 1"),
            "file_owner_inside": f.file_uid_inside,
            "file_owner_outside_is_outer_uid": outside_owner == Some(outer),
            "create_errno": f.create_errno,
        })))
}

/// Collapse the column padding of a map file line.
pub fn squash(map: &str) -> String {
    map.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// USER-26 for a subject: the probe is in a new user namespace whose uid_map (read from
/// outside) maps root inside to an id outside, and it runs as root there.
fn user_26_subject(o: &SubjectObservation) -> Verdict {
    let map = squash(&o.outside.uid_map);
    let root_mapped = map.lines().any(|l| l.split(' ').next() == Some("0"));
    let mut e = Expect::new();
    e.eq(
        "user namespace differs from the host's (seen from outside)",
        true,
        o.outside.ns_differs.get("user").copied().unwrap_or(false),
    );
    e.that(
        "uid_map maps root inside (read from outside)",
        root_mapped,
        "a line `0 <outer uid> <count>`",
        if map.is_empty() {
            "empty (no uid_map written)".to_string()
        } else {
            map.clone()
        },
    );
    e.eq("uid inside", 0, o.report.view.uid);
    e.verdict("root inside a new user namespace, mapped to an unprivileged id outside")
        .with_observed(json!({ "root_mapped": root_mapped, "uid_inside": o.report.view.uid }))
}

// =================================================================================
// Helpers shared by the USER, CG and TIME areas (inside halves that build their own
// namespaces, several cooperating processes, errno facts).

/// The errno name of an I/O error.
pub fn io_errno(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(|n| crate::probe::errno_name(nix::errno::Errno::from_raw(n)))
        .unwrap_or_else(|| format!("{:?}", e.kind()))
}

/// `None` on success, else the errno name.
pub fn nix_errno<T>(r: nix::Result<T>) -> Option<String> {
    r.err().map(crate::probe::errno_name)
}

/// Open `path` for writing and write `data` with one write(2): `None` when the kernel
/// accepted it, else the errno name of the open or the write.
pub fn try_write(path: &str, data: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut f = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) => return Some(io_errno(&e)),
    };
    match f.write(data) {
        Ok(n) if n == data.len() => None,
        Ok(n) => Some(format!("short write {n}")),
        Err(e) => Some(io_errno(&e)),
    }
}

/// A file's content with surrounding whitespace removed ("" when unreadable).
pub fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A hexadecimal capability set (`CapEff`, `CapPrm`, `CapBnd`) of /proc/<who>/status.
pub fn cap_set(who: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{who}/status")).unwrap_or_default();
    cap_field(&status, field)
}

/// A hexadecimal capability field of status text.
pub fn cap_field(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0)
}

/// The first field of a status line (`Uid:` -> the four ids as text).
pub fn status_line(status: &str, field: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Remove capabilities from this process's effective and permitted sets (capset(2)).
pub fn drop_caps(caps: &[u32]) -> nix::Result<()> {
    let mut hdr = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data structs as capget(2) expects for version 3.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    nix::errno::Errno::result(r)?;
    for &c in caps {
        let (i, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        data[i].effective &= !bit;
        data[i].permitted &= !bit;
    }
    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    nix::errno::Errno::result(r).map(drop)
}

/// A forked helper process: it optionally unshares, then waits for [`Forked::release`]
/// before running its body, whose result comes back through a pipe. Between the two,
/// the parent can act on it from outside (write its maps, read its /proc files).
pub struct Forked {
    pub pid: i32,
    go: std::os::fd::OwnedFd,
    result: std::os::fd::OwnedFd,
}

fn cloexec_pipe() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd), StepError> {
    use crate::probe::StepExt;
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step("create a pipe")
}

/// Fork a helper that does `unshare(flags)` (nothing when empty) and then, once
/// released, runs `body`. The body gets the write end of the result pipe (to redirect
/// an exec'd program's stdout there); its own result is written after it returns.
pub fn fork_with<F>(flags: nix::sched::CloneFlags, body: F) -> Result<Forked, StepError>
where
    F: FnOnce(i32) -> Result<Value, StepError>,
{
    use crate::probe::StepExt;
    use std::os::fd::AsRawFd;
    let (ready_r, ready_w) = cloexec_pipe()?;
    let (go_r, go_w) = cloexec_pipe()?;
    let (res_r, res_w) = cloexec_pipe()?;
    // SAFETY: the probe is single-threaded.
    match unsafe { nix::unistd::fork() }.step("fork a helper process")? {
        nix::unistd::ForkResult::Child => {
            drop((ready_r, go_w, res_r));
            let unshared = if flags.is_empty() {
                Ok(())
            } else {
                nix::sched::unshare(flags).step(&format!("unshare({flags:?}) in a helper"))
            };
            crate::probe::sys::write_all(ready_w.as_raw_fd(), b"r");
            drop(ready_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&go_r, &mut b);
            let out = unshared.and_then(|()| body(res_w.as_raw_fd()));
            let text = serde_json::to_vec(&out).unwrap_or_default();
            crate::probe::sys::write_all(res_w.as_raw_fd(), &text);
            // SAFETY: leave the helper without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop((ready_w, go_r, res_w));
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&ready_r, &mut b);
            Ok(Forked {
                pid: child.as_raw(),
                go: go_w,
                result: res_r,
            })
        }
    }
}

impl Forked {
    /// Let the helper run its body; return everything it wrote to the result pipe.
    pub fn release_raw(self) -> Vec<u8> {
        use std::os::fd::AsRawFd;
        crate::probe::sys::write_all(self.go.as_raw_fd(), b"g");
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::fs::File::from(self.result), &mut buf);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
        buf
    }

    /// Let the helper run its body and return its result.
    pub fn release(self) -> Result<Value, StepError> {
        let buf = self.release_raw();
        serde_json::from_slice::<Result<Value, StepError>>(&buf).map_err(|e| {
            StepError::new(
                "read a helper's result",
                None,
                format!("{e}: {}", String::from_utf8_lossy(&buf)),
            )
        })?
    }

    /// /proc/<pid>/<file> of the helper.
    pub fn proc(&self, file: &str) -> String {
        format!("/proc/{}/{file}", self.pid)
    }
}

/// Replace this process by `argv` with stdout on `out_fd`; returns only on failure.
pub fn exec_to(out_fd: i32, argv: &[&str]) -> StepError {
    let args: Vec<std::ffi::CString> = argv
        .iter()
        .map(|a| std::ffi::CString::new(*a).unwrap_or_default())
        .collect();
    // SAFETY: plain dup2 on descriptors this process owns.
    if unsafe { libc::dup2(out_fd, 1) } < 0 {
        let e = nix::errno::Errno::last();
        return StepError::new(
            "redirect stdout",
            Some(crate::probe::errno_name(e)),
            e.desc(),
        );
    }
    match nix::unistd::execv(&args[0], &args) {
        Err(e) => StepError::new(
            format!("execute {}", argv[0]),
            Some(crate::probe::errno_name(e)),
            e.desc(),
        ),
        Ok(never) => match never {},
    }
}

/// Set-user-ID bits and file capabilities are ignored on a `nosuid` mount (mount(2)
/// MS_NOSUID), so a check that execs such a file in `dir` would rest on the mount, not on
/// the user namespace rules: a skip that names the mount.
fn refuse_nosuid(dir: &std::path::Path) -> Result<(), Verdict> {
    let dir = dir.display().to_string();
    let mounts = host::mounts();
    let holder = mounts
        .iter()
        .filter(|m| {
            dir == m.mount_point
                || dir.starts_with(&format!("{}/", m.mount_point.trim_end_matches('/')))
        })
        .max_by_key(|m| m.mount_point.len());
    match holder {
        Some(m) if m.options.split(',').any(|o| o == "nosuid") => Err(Verdict::skip(format!(
            "the scratch directory {dir} is on the nosuid mount {} ({}): set-user-ID bits and \
             file capabilities are ignored there; point TMPDIR at a directory on a mount \
             without nosuid",
            m.mount_point, m.fs_type
        ))),
        _ => Ok(()),
    }
}

/// Write `deny` to setgroups and `0 <uid> 1` / `0 <gid> 1` to the maps of `who`
/// (`self` or a PID). Returns the errno of the first refused write.
pub fn map_root(who: &str, uid: u32, gid: u32) -> Option<String> {
    let _ = try_write(&format!("/proc/{who}/setgroups"), b"deny");
    try_write(
        &format!("/proc/{who}/uid_map"),
        format!("0 {uid} 1\n").as_bytes(),
    )
    .or_else(|| {
        try_write(
            &format!("/proc/{who}/gid_map"),
            format!("0 {gid} 1\n").as_bytes(),
        )
    })
}

/// The launch of an inside half that creates `kind` namespaces itself: `wanted` is the
/// launch asked for (e.g. `Launch::host().user()`), prepared for the mode and control;
/// the namespaces the inside half makes itself are removed from it again and handed
/// over as the `create` argument (false under the control that removes them). A
/// privileged harness drops to [`SCRATCH_ID`] when `unprivileged` is asked for.
pub fn self_made(cx: &Cx, wanted: Launch, unprivileged: bool) -> (Launch, Value) {
    let mut l = cx.prepare(wanted.clone());
    let create_user = wanted.user && l.user;
    let create_time = wanted.time && l.time;
    let create_cgroup = wanted.cgroup && l.cgroup;
    if wanted.user {
        l.user = false;
        l.map_root = false;
    }
    if wanted.time {
        l.time = false;
        l.time_offsets = None;
    }
    if wanted.cgroup {
        l.cgroup = false;
    }
    if unprivileged && l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    (
        l,
        json!({"create_user": create_user, "create_time": create_time, "create_cgroup": create_cgroup}),
    )
}

/// Clone flags for a user namespace when the run creates one (`create_user` argument).
pub fn user_flag(cx: &Inside) -> nix::sched::CloneFlags {
    if cx.args["create_user"].as_bool().unwrap_or(false) {
        nix::sched::CloneFlags::CLONE_NEWUSER
    } else {
        nix::sched::CloneFlags::empty()
    }
}

/// A string fact (`None` for null or absent).
pub fn fs(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

/// An errno fact, for expectations: `"ok"` for null.
pub fn fe(v: &Value, key: &str) -> String {
    fs(v, key).unwrap_or_else(|| "ok".into())
}

/// A scratch directory owned by the ids the launch drops to (or the outer ids).
pub fn scratch_for(cx: &mut Cx, launch: &mut Launch) -> Result<std::path::PathBuf, Verdict> {
    let dir = cx.scratch_dir()?;
    if let Some((u, g)) = launch.drop_to {
        nix::unistd::chown(
            &dir,
            Some(nix::unistd::Uid::from_raw(u)),
            Some(nix::unistd::Gid::from_raw(g)),
        )
        .map_err(|e| Verdict::error(format!("chown scratch dir to {u}: {e}")))?;
    }
    launch.workdir = Some(dir.display().to_string());
    Ok(dir)
}

/// The inside process's own user namespace inode.
fn own_user_ns() -> Option<u64> {
    crate::probe::sys::ns_inode("self", "user").ok()
}

fn euid_egid() -> (u32, u32) {
    (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    )
}

const NONE: CloneFlags = CloneFlags::empty();
const NEWUSER: CloneFlags = CloneFlags::CLONE_NEWUSER;

fn run_self_made(cx: &mut Cx, unprivileged: bool) -> Result<Value, Verdict> {
    let (l, args) = self_made(cx, Launch::host().user(), unprivileged);
    Ok(cx.run_exact(l, args, |_| Ok(()))?.facts)
}

/// Path of `cat`, which several checks execute to read /proc/self/status after execve.
pub fn cat_path() -> Result<String, Verdict> {
    ["/usr/bin/cat", "/bin/cat"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
        .ok_or_else(|| Verdict::skip("needs /usr/bin/cat or /bin/cat"))
}

// ---------------------------------------------------------------------------------
/// USER-01: an unprivileged user can create a user namespace; where the host blocks it
/// the suite names the blocker; a max_user_namespaces of 0 gives ENOSPC.
pub const USER_01: Property = Property {
    id: "USER-01",
    area: Area::User,
    title: "An unprivileged process can create a user namespace (a host policy that blocks it is named, not failed); max_user_namespaces=0 makes unshare fail with ENOSPC",
    man: "user_namespaces(7); namespaces(7) \"/proc/sys/user\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01; KST:many rootless tests",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_01_inside),
    check: user_01_check,
};

fn user_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let before = own_user_ns();
    let flags = user_flag(cx);
    let (u, g) = euid_egid();
    let first = fork_with(NONE, move |_| {
        let r = if flags.is_empty() {
            Ok(())
        } else {
            unshare(flags)
        };
        Ok(json!({"errno": nix_errno(r), "ns": own_user_ns()}))
    })?
    .release()?;
    // The limit is changed only in a user namespace made here: its limits are its own.
    let limit = fork_with(NONE, move |_| {
        if flags.is_empty() {
            return Ok(json!({}));
        }
        unshare(NEWUSER).step("create a user namespace for the limit")?;
        let map = map_root("self", u, g);
        let initial = read_trim("/proc/sys/user/max_user_namespaces");
        let write = try_write("/proc/sys/user/max_user_namespaces", b"0\n");
        let nested = nix_errno(unshare(NEWUSER));
        Ok(json!({"map": map, "initial": initial, "write": write, "nested": nested}))
    })?
    .release()?;
    Ok(json!({"before": before, "first": first, "limit": limit}))
}

fn user_01_check(cx: &mut Cx) -> CheckResult {
    let host_max = read_trim("/proc/sys/user/max_user_namespaces");
    let f = run_self_made(cx, true)?;
    let host_after = read_trim("/proc/sys/user/max_user_namespaces");
    if let Some(errno) = fs(&f["first"], "errno") {
        let knobs = [
            "/proc/sys/user/max_user_namespaces",
            "/proc/sys/kernel/unprivileged_userns_clone",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ]
        .map(|k| format!("{k}={}", read_trim(k)))
        .join(", ");
        return Ok(Verdict::skip(format!(
            "unprivileged unshare(CLONE_NEWUSER) is blocked on this host ({errno}): {knobs}; \
             ENOSPC = max_user_namespaces is 0 or reached, EPERM = a sysctl, seccomp or LSM policy"
        ))
        .with_errno(errno));
    }
    let mut e = Expect::new();
    e.ne(
        "user namespace after unprivileged unshare(CLONE_NEWUSER) (a new one)",
        f["before"].clone(),
        f["first"]["ns"].clone(),
    );
    e.eq(
        "mapping root in the namespace made for the limit",
        None,
        fs(&f["limit"], "map"),
    );
    e.eq(
        "write 0 to max_user_namespaces inside our own user namespace",
        None,
        fs(&f["limit"], "write"),
    );
    e.eq(
        "unshare(CLONE_NEWUSER) under max_user_namespaces=0",
        Some("ENOSPC".to_string()),
        fs(&f["limit"], "nested"),
    );
    e.eq(
        "host max_user_namespaces after the run (unchanged)",
        &host_max,
        &host_after,
    );
    Ok(
        e.verdict("unprivileged user namespace created; a limit of 0 refuses with ENOSPC")
            .with_errno("ENOSPC")
            .with_observed(json!({
                "unprivileged_create": "ok",
                "child_ns_initial_limit": f["limit"]["initial"],
                "nested_under_zero_limit": f["limit"]["nested"],
                "host_limit_unchanged": host_max == host_after,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-02: the creator of a user namespace has every capability in it and none over
/// the parent's resources, even when it was root in the initial namespace.
pub const USER_02: Property = Property {
    id: "USER-02",
    area: Area::User,
    title: "The creator of a user namespace has full permitted and effective capabilities in it and none over the parent's resources, even if it was global root",
    man: "user_namespaces(7) \"Capabilities\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01,userns06",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_02_inside),
    check: user_02_check,
};

fn user_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let uts = std::fs::File::open("/proc/self/ns/uts").step("open /proc/self/ns/uts")?;
    let creator_root = nix::unistd::geteuid().is_root();
    let creator_eff = cap_set("self", "CapEff");
    let c = fork_with(user_flag(cx), move |_| {
        let eff = cap_set("self", "CapEff");
        let prm = cap_set("self", "CapPrm");
        let bnd = cap_set("self", "CapBnd");
        // Joining the parent's UTS namespace needs CAP_SYS_ADMIN in its owner.
        let setns = nix_errno(nix::sched::setns(&uts, CloneFlags::CLONE_NEWUTS));
        // Lowering the nice value needs CAP_SYS_NICE in the initial namespace.
        // SAFETY: plain syscall on this process.
        let nice = if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -1) } < 0 {
            Some(crate::probe::errno_name(nix::errno::Errno::last()))
        } else {
            None
        };
        Ok(json!({"full": eff == bnd && prm == bnd && bnd != 0, "setns": setns, "nice": nice}))
    })?;
    let r = c.release()?;
    Ok(json!({"creator_root": creator_root, "creator_eff": creator_eff, "child": r}))
}

fn user_02_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, false)?;
    let c = &f["child"];
    let mut e = Expect::new();
    e.eq(
        "permitted and effective sets in the new namespace equal the bounding set",
        true,
        c["full"].as_bool().unwrap_or(false),
    );
    e.eq(
        "setns() into the parent's UTS namespace",
        "EPERM".to_string(),
        fe(c, "setns"),
    );
    e.eq(
        "setpriority(-1) (CAP_SYS_NICE of the initial namespace)",
        "EACCES".to_string(),
        fe(c, "nice"),
    );
    Ok(
        e.verdict("full capabilities inside, none over the parent's resources")
            .with_observed(json!({
                "creator_was_global_root": f["creator_root"],
                "full_caps_inside": c["full"],
                "setns_parent_uts": fe(c, "setns"),
                "lower_nice": fe(c, "nice"),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-04: the map files of a fresh user namespace are empty.
pub const USER_04: Property = Property {
    id: "USER-04",
    area: Area::User,
    title:
        "uid_map, gid_map and projid_map of a fresh user namespace are empty (read returns 0 bytes)",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:GV ProcSelfUidGidMapTest.IsInitiallyEmpty",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_04_inside),
    check: user_04_check,
};

fn user_04_inside(_: &Inside) -> Result<Value, StepError> {
    let len = |f: &str| std::fs::read(format!("/proc/self/{f}")).map_or(-1, |b| b.len() as i64);
    Ok(json!([len("uid_map"), len("gid_map"), len("projid_map")]))
}

fn user_04_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        user: true,
        map_root: false,
        ..Launch::host()
    };
    let f = cx.run(launch, Value::Null)?.facts;
    let mut e = Expect::new();
    e.eq(
        "bytes read from uid_map, gid_map, projid_map",
        json!([0, 0, 0]),
        f.clone(),
    );
    Ok(e.verdict("all three map files read empty")
        .with_observed(json!({"map_bytes": f})))
}

// ---------------------------------------------------------------------------------
/// USER-05: the maps of the initial user namespace cover every id but -1.
pub const USER_05: Property = Property {
    id: "USER-05",
    area: Area::User,
    title: "The initial user namespace's uid_map and gid_map read `0 0 4294967295` (id -1 deliberately unmapped)",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ANY.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(user_05_inside),
    check: user_05_check,
};

fn user_05_inside(_: &Inside) -> Result<Value, StepError> {
    Ok(json!({
        "uid_map": squash(&read_trim("/proc/self/uid_map")),
        "gid_map": squash(&read_trim("/proc/self/gid_map")),
    }))
}

fn user_05_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f = run.facts;
    let mut e = Expect::new();
    e.eq(
        "uid_map of the initial user namespace",
        "0 0 4294967295",
        f["uid_map"].as_str().unwrap_or(""),
    );
    e.eq(
        "gid_map of the initial user namespace",
        "0 0 4294967295",
        f["gid_map"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("initial maps cover 0..4294967294")
        .with_observed(f))
}

// ---------------------------------------------------------------------------------
/// USER-06: field 2 of a map file is relative to the opener.
pub const USER_06: Property = Property {
    id: "USER-06",
    area: Area::User,
    title: "Field 2 of uid_map is relative to the opener: the opener's namespace if it differs from the target's, the parent namespace if it is the same",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns03",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_06_inside),
    check: user_06_check,
};

fn user_06_inside(_: &Inside) -> Result<Value, StepError> {
    // We are root of ns1 (mapped to the outer uid). A helper left in ns1 maps us into
    // a nested ns2 with `0 0 1`; the harness then reads our map from the initial
    // namespace while we are held (so no extra process outlives the run).
    let own_map = squash(&read_trim("/proc/self/uid_map"));
    let me = nix::unistd::getpid().as_raw().to_string();
    let writer = fork_with(NONE, move |_| {
        let map = map_root(&me, 0, 0);
        let view = squash(&read_trim(&format!("/proc/{me}/uid_map")));
        Ok(json!({"map": map, "view": view}))
    })?;
    unshare(NEWUSER).step("create the nested user namespace")?;
    let w = writer.release()?;
    Ok(json!({
        "map": w["map"],
        "own_map": own_map,
        "parent_view": w["view"],
        "self_view": squash(&read_trim("/proc/self/uid_map")),
    }))
}

fn user_06_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user());
    if l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = l.drop_to.map_or(cx.outer_ids().0, |(u, _)| u);
    l.hold = true;
    let mut outside_view = String::new();
    let run = cx.run_exact(l, Value::Null, |run| {
        if let Some(pid) = run.host_pid {
            outside_view = squash(&read_trim(&format!("/proc/{pid}/uid_map")));
        }
        Ok(())
    })?;
    let f = run.facts;
    let mut e = Expect::new();
    e.eq(
        "writing `0 0 1` to the nested namespace's maps",
        None,
        fs(&f, "map"),
    );
    e.eq(
        "nested map read by its own member (parent namespace's ids)",
        "0 0 1",
        f["self_view"].as_str().unwrap_or(""),
    );
    e.eq(
        "nested map read from its parent namespace",
        "0 0 1",
        f["parent_view"].as_str().unwrap_or(""),
    );
    e.eq(
        "nested map read from the initial namespace (the real uid)",
        format!("0 {outer} 1"),
        outside_view.clone(),
    );
    e.eq(
        "own map read inside (the parent namespace's ids)",
        format!("0 {outer} 1"),
        f["own_map"].as_str().unwrap_or("").to_string(),
    );
    Ok(e.verdict("field 2 follows the opener's namespace")
        .with_observed(json!({
            "self_view": f["self_view"],
            "parent_view": f["parent_view"],
            "initial_view_is_outer_uid": outside_view == format!("0 {outer} 1"),
        })))
}

// ---------------------------------------------------------------------------------
/// USER-07: each map file can be written once.
pub const USER_07: Property = Property {
    id: "USER-07",
    area: Area::User,
    title: "uid_map and gid_map can each be written once; a second write fails with EPERM",
    man:
        "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_07_inside),
    check: user_07_check,
};

fn user_07_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let uid = format!("0 {u} 1\n");
    let gid = format!("0 {g} 1\n");
    let u1 = try_write(&c.proc("uid_map"), uid.as_bytes());
    let u2 = try_write(&c.proc("uid_map"), uid.as_bytes());
    let _ = try_write(&c.proc("setgroups"), b"deny");
    let g1 = try_write(&c.proc("gid_map"), gid.as_bytes());
    let g2 = try_write(&c.proc("gid_map"), gid.as_bytes());
    c.release()?;
    Ok(json!({"uid_first": u1, "uid_second": u2, "gid_first": g1, "gid_second": g2}))
}

fn user_07_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let got = ["uid_first", "uid_second", "gid_first", "gid_second"].map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno of first and second writes to uid_map, then gid_map",
        ["ok", "EPERM", "ok", "EPERM"].map(String::from),
        got.clone(),
    );
    Ok(
        e.verdict("each map is written once; the second write is EPERM")
            .with_errno("EPERM")
            .with_observed(json!({"writes": got})),
    )
}

// ---------------------------------------------------------------------------------
/// USER-08: malformed map writes fail with EINVAL; a trailing NUL ends the input.
pub const USER_08: Property = Property {
    id: "USER-08",
    area: Area::User,
    title: "Malformed map writes fail with EINVAL (field count, zero length, non-numeric, overlaps, wrap-around, too many lines, page size, offset != 0, empty line); a NUL ends the input",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns08; OTH:~GV TrailingNewlineAndNULIgnored",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_08_inside),
    check: user_08_check,
};

fn user_08_cases(u: u32) -> Vec<(&'static str, Vec<u8>)> {
    let many: String = (0..341).map(|i| format!("{i} {i} 1\n")).collect();
    vec![
        ("two fields", format!("0 {u}\n").into_bytes()),
        ("four fields", format!("0 {u} 1 1\n").into_bytes()),
        ("zero length", format!("0 {u} 0\n").into_bytes()),
        ("not numeric", format!("a {u} 1\n").into_bytes()),
        (
            "overlap inside",
            format!("0 {u} 1\n0 {} 1\n", u + 1).into_bytes(),
        ),
        (
            "overlap outside",
            format!("0 {u} 1\n1 {u} 1\n").into_bytes(),
        ),
        ("range wraps", format!("4294967295 {u} 2\n").into_bytes()),
        ("341 lines", many.into_bytes()),
        ("page size", vec![b' '; 4096]),
        ("empty line", b"\n".to_vec()),
    ]
}

fn user_08_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::unix::fs::FileExt;
    let (u, _) = euid_egid();
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let path = c.proc("uid_map");
    let mut out = serde_json::Map::new();
    for (name, data) in user_08_cases(u) {
        out.insert(name.into(), json!(try_write(&path, &data)));
    }
    // The map files are not pwrite()-able (ESPIPE); seek, then write.
    let mut pwrite = None;
    let offset = match std::fs::OpenOptions::new().write(true).open(&path) {
        Ok(mut f) => {
            use std::io::{Seek, SeekFrom, Write};
            pwrite = f
                .write_at(format!("0 {u} 1\n").as_bytes(), 1)
                .err()
                .map(|e| io_errno(&e));
            f.seek(SeekFrom::Start(1))
                .and_then(|_| f.write(format!("0 {u} 1\n").as_bytes()))
                .err()
                .map(|e| io_errno(&e))
        }
        Err(e) => Some(io_errno(&e)),
    };
    out.insert("offset 1".into(), json!(offset));
    let nul = try_write(&path, format!("0 {u} 1\n\0junk").as_bytes());
    let map = squash(&read_trim(&path));
    c.release()?;
    Ok(json!({"cases": out, "nul": nul, "map": map, "u": u, "pwrite": pwrite}))
}

fn user_08_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let u = f["u"].as_u64().unwrap_or(0);
    let mut e = Expect::new();
    let mut seen = serde_json::Map::new();
    if let Some(cases) = f["cases"].as_object() {
        for (name, errno) in cases {
            let got = errno.as_str().unwrap_or("ok").to_string();
            e.eq(
                &format!("errno of the `{name}` write"),
                "EINVAL".to_string(),
                got.clone(),
            );
            seen.insert(name.clone(), json!(got));
        }
    }
    e.eq(
        "a valid line followed by NUL and junk",
        "ok".to_string(),
        fe(&f, "nul"),
    );
    e.eq(
        "map after the NUL-terminated write",
        format!("0 {u} 1"),
        f["map"].as_str().unwrap_or("").to_string(),
    );
    Ok(e.verdict("malformed writes are EINVAL, NUL ends input")
        .with_errno("EINVAL")
        .with_observed(json!({"cases": seen, "nul_terminated_write": fe(&f, "nul"), "pwrite_at_1": fe(&f, "pwrite")})))
}

// ---------------------------------------------------------------------------------
/// USER-09: map writes are refused (EPERM) from a namespace that is neither the target
/// nor its parent, and for outside ids unmapped in the parent.
pub const USER_09: Property = Property {
    id: "USER-09",
    area: Area::User,
    title: "Map writes fail with EPERM when the writer is in neither the target nor its parent namespace, or maps an id unmapped in the parent",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:~GV MapOtherIDPrivileged",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_09_inside),
    check: user_09_check,
};

fn user_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let flags = user_flag(cx);
    let sibling = fork_with(flags, |_| Ok(Value::Null))?;
    let target = sibling.proc("uid_map");
    let c = fork_with(flags, move |_| {
        let from_sibling = try_write(&target, b"0 0 1\n");
        let gc = fork_with(flags, |_| Ok(Value::Null))?;
        let unmapped = try_write(&gc.proc("uid_map"), b"0 5 1\n");
        let mapped = try_write(&gc.proc("uid_map"), b"0 0 1\n");
        gc.release()?;
        Ok(json!({"sibling": from_sibling, "unmapped": unmapped, "mapped": mapped}))
    })?;
    let map = map_root(&c.pid.to_string(), u, g);
    let r = c.release()?;
    sibling.release()?;
    Ok(json!({"map": map, "c": r}))
}

fn user_09_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let c = &f["c"];
    let mut e = Expect::new();
    e.eq("mapping the first namespace", None, fs(&f, "map"));
    e.eq(
        "write to a sibling namespace's uid_map",
        "EPERM".to_string(),
        fe(c, "sibling"),
    );
    e.eq(
        "map an id unmapped in the parent (`0 5 1`)",
        "EPERM".to_string(),
        fe(c, "unmapped"),
    );
    e.eq(
        "map an id mapped in the parent (`0 0 1`)",
        "ok".to_string(),
        fe(c, "mapped"),
    );
    Ok(
        e.verdict("only the target's or parent's members may write, with mapped ids")
            .with_errno("EPERM")
            .with_observed(json!({
                "sibling_write": fe(c, "sibling"),
                "unmapped_outside_id": fe(c, "unmapped"),
                "mapped_outside_id": fe(c, "mapped"),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-10: an unprivileged writer may map exactly its own euid/egid in one line.
pub const USER_10: Property = Property {
    id: "USER-10",
    area: Area::User,
    title: "An unprivileged writer may write exactly one line mapping its own euid (egid); any other id, a second line or a longer range fails with EPERM",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:GV MapOtherID,IdentityMapOwnID; LTP:~userns02,userns03",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_10_inside),
    check: user_10_check,
};

fn user_10_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let um = c.proc("uid_map");
    let gm = c.proc("gid_map");
    let other_uid = try_write(&um, format!("0 {} 1\n", u + 1).as_bytes());
    let two_lines = try_write(&um, format!("0 {u} 1\n1 {} 1\n", u + 1).as_bytes());
    let range = try_write(&um, format!("0 {u} 2\n").as_bytes());
    let own_uid = try_write(&um, format!("0 {u} 1\n").as_bytes());
    let _ = try_write(&c.proc("setgroups"), b"deny");
    let other_gid = try_write(&gm, format!("0 {} 1\n", g + 1).as_bytes());
    let own_gid = try_write(&gm, format!("0 {g} 1\n").as_bytes());
    c.release()?;
    Ok(json!({
        "other_uid": other_uid, "two_lines": two_lines, "range": range, "own_uid": own_uid,
        "other_gid": other_gid, "own_gid": own_gid,
    }))
}

/// Observed facts as an object of `keys` to the values found for them.
fn keyed(keys: &[&str], got: &[String]) -> Value {
    Value::Object(
        keys.iter()
            .zip(got)
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

fn user_10_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let keys = [
        "other_uid",
        "two_lines",
        "range",
        "own_uid",
        "other_gid",
        "own_gid",
    ];
    let got = keys.map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno of writes: other uid, two lines, range of 2, own uid, other gid, own gid",
        ["EPERM", "EPERM", "EPERM", "ok", "EPERM", "ok"].map(String::from),
        got.clone(),
    );
    Ok(e.verdict("only the own id, one line")
        .with_errno("EPERM")
        .with_observed(keyed(&keys, &got)))
}

// ---------------------------------------------------------------------------------
/// USER-11: an unprivileged gid_map write needs `deny` in setgroups first.
pub const USER_11: Property = Property {
    id: "USER-11",
    area: Area::User,
    title: "An unprivileged gid_map write fails with EPERM until `deny` is written to /proc/PID/setgroups",
    man: "user_namespaces(7) \"Interaction with system calls that change process UIDs or GIDs\"; proc(5) /proc/[pid]/setgroups",
    prereq: Prereq::ROOTLESS.kernel(3, 19).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns03; OTH:GV",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_11_inside),
    check: user_11_check,
};

fn user_11_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let gid = format!("0 {g} 1\n");
    let before = try_write(&c.proc("gid_map"), gid.as_bytes());
    let uid = try_write(&c.proc("uid_map"), format!("0 {u} 1\n").as_bytes());
    let deny = try_write(&c.proc("setgroups"), b"deny");
    let after = try_write(&c.proc("gid_map"), gid.as_bytes());
    c.release()?;
    Ok(json!({"gid_before_deny": before, "uid": uid, "deny": deny, "gid_after_deny": after}))
}

fn user_11_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let keys = ["gid_before_deny", "uid", "deny", "gid_after_deny"];
    let got = keys.map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno of: gid_map before deny, uid_map, writing deny, gid_map after deny",
        ["EPERM", "ok", "ok", "ok"].map(String::from),
        got.clone(),
    );
    Ok(e.verdict("gid_map needs setgroups=deny first")
        .with_errno("EPERM")
        .with_observed(json!({"writes": got})))
}

// ---------------------------------------------------------------------------------
/// USER-12: the rules of /proc/PID/setgroups.
pub const USER_12: Property = Property {
    id: "USER-12",
    area: Area::User,
    title: "setgroups reads `allow` initially; `deny` cannot go back to `allow` nor be written after gid_map (EPERM); it is inherited by child namespaces; setgroups(2) fails with EPERM while denied or before gid_map",
    man: "user_namespaces(7) \"The /proc/[pid]/setgroups file\"",
    prereq: Prereq::ROOTLESS.kernel(3, 19).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns03 (deny->allow only)",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_12_inside),
    check: user_12_check,
};

fn user_12_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let flags = user_flag(cx);
    let early = fork_with(flags, |_| Ok(json!(nix_errno(nix::unistd::setgroups(&[])))))?;
    let c = fork_with(flags, move |_| {
        let denied = nix_errno(nix::unistd::setgroups(&[]));
        let gc = fork_with(flags, |_| Ok(json!(read_trim("/proc/self/setgroups"))))?;
        Ok(json!({"setgroups_denied": denied, "child_setgroups": gc.release()?}))
    })?;
    let sg = c.proc("setgroups");
    let initial = read_trim(&sg);
    let deny = try_write(&sg, b"deny");
    let allow = try_write(&sg, b"allow");
    let maps = map_root(&c.pid.to_string(), u, g);
    let deny_after_map = try_write(&sg, b"deny");
    let inner = c.release()?;
    let before_map = early.release()?;
    Ok(json!({
        "initial": initial, "deny": deny, "allow_after_deny": allow, "maps": maps,
        "deny_after_gid_map": deny_after_map, "inner": inner, "before_map": before_map,
    }))
}

fn user_12_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let mut e = Expect::new();
    e.eq(
        "initial setgroups",
        "allow",
        f["initial"].as_str().unwrap_or(""),
    );
    e.eq("writing deny", "ok".to_string(), fe(&f, "deny"));
    e.eq(
        "writing allow after deny",
        "EPERM".to_string(),
        fe(&f, "allow_after_deny"),
    );
    e.eq("writing the maps", None, fs(&f, "maps"));
    e.eq(
        "writing deny after gid_map",
        "EPERM".to_string(),
        fe(&f, "deny_after_gid_map"),
    );
    e.eq(
        "setgroups(2) while denied",
        "EPERM".to_string(),
        fe(&f["inner"], "setgroups_denied"),
    );
    e.eq(
        "setgroups of a child namespace (inherited)",
        "deny",
        f["inner"]["child_setgroups"].as_str().unwrap_or(""),
    );
    e.eq(
        "setgroups(2) before gid_map",
        "EPERM".to_string(),
        f["before_map"].as_str().unwrap_or("ok").to_string(),
    );
    Ok(e.verdict("setgroups file rules hold")
        .with_errno("EPERM")
        .with_observed(json!({
            "initial": f["initial"],
            "allow_after_deny": fe(&f, "allow_after_deny"),
            "deny_after_gid_map": fe(&f, "deny_after_gid_map"),
            "setgroups_syscall_denied": fe(&f["inner"], "setgroups_denied"),
            "child_inherits": f["inner"]["child_setgroups"],
            "setgroups_syscall_before_map": f["before_map"],
        })))
}

// ---------------------------------------------------------------------------------
/// USER-14: user namespaces nest to a fixed depth; the next level is refused.
pub const USER_14: Property = Property {
    id: "USER-14",
    area: Area::User,
    title: "User namespaces nest 33 levels below the initial one (the kernel refuses a parent of level > 32; the man page says 32); the next unshare(CLONE_NEWUSER) fails with ENOSPC (EUSERS before 4.9)",
    man: "user_namespaces(7) \"Nested namespaces, namespace membership\"; unshare(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(3, 11).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns07 (reaches 32 only)",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_14_inside),
    check: user_14_check,
};

/// Deepest user namespace level below the initial one: create_user_ns() refuses when
/// the parent's level is above 32, so level 33 is the last one made (user_namespaces(7)
/// says "32 levels"; measured on 6.18: 33 unshares succeed, the 34th is ENOSPC).
pub const MAX_USER_NS_LEVEL: u64 = 33;

fn user_14_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx);
    let (u0, g0) = euid_egid();
    fork_with(NONE, move |_| {
        let (mut u, mut g) = (u0, g0);
        let mut created = 0u64;
        let mut refused = None;
        let mut map = None;
        while !flags.is_empty() && created <= 40 {
            if let Err(e) = unshare(flags) {
                refused = Some(crate::probe::errno_name(e));
                break;
            }
            created += 1;
            if let Some(e) = map_root("self", u, g) {
                map = Some(e);
                break;
            }
            (u, g) = (0, 0);
        }
        Ok(json!({"created": created, "refused": refused, "map": map}))
    })?
    .release()
}

fn user_14_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, false)?;
    let expected_errno = match cx.env.version {
        Some(v) if v < crate::env::KernelVersion(4, 9, 0) => "EUSERS",
        _ => "ENOSPC",
    };
    let created = f["created"].as_u64().unwrap_or(0);
    let mut e = Expect::new();
    e.eq("mapping each level", None, fs(&f, "map"));
    e.eq("nested user namespaces created", MAX_USER_NS_LEVEL, created);
    e.eq(
        "errno of the refused level",
        expected_errno.to_string(),
        fe(&f, "refused"),
    );
    Ok(
        e.verdict(&format!("{created} levels nest, the next is refused"))
            .with_errno(fe(&f, "refused"))
            .with_observed(json!({"levels": created, "refused_errno": f["refused"]})),
    )
}

// ---------------------------------------------------------------------------------
/// USER-15: the owner of a user namespace has all capabilities in it from the parent
/// namespace; NS_GET_OWNER_UID names it.
pub const USER_15: Property = Property {
    id: "USER-15",
    area: Area::User,
    title: "A parent-namespace process whose euid is the recorded owner has all capabilities in the child user namespace (it may setns into it); NS_GET_OWNER_UID returns that owner",
    man: "user_namespaces(7) \"Capabilities\" rule 3; ioctl_ns(2) NS_GET_OWNER_UID",
    prereq: Prereq::ROOTLESS.kernel(4, 11).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:~UL lsns/ioctl_ns; LTP:~ioctl_ns03",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_15_inside),
    check: user_15_check,
};

/// `NS_GET_OWNER_UID` = `_IO(0xb7, 0x4)` (linux/nsfs.h).
pub const NS_GET_OWNER_UID: u64 = 0xb704;

fn user_15_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::fd::AsRawFd;
    let (u, _) = euid_egid();
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let path = c.proc("ns/user");
    let ns = std::fs::File::open(&path).step("open the child's ns/user")?;
    let mut owner: u32 = u32::MAX;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t to the pointer.
    let r = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_OWNER_UID as _, &mut owner) };
    let ioctl = (r < 0).then(|| crate::probe::errno_name(nix::errno::Errno::last()));
    let helper = fork_with(NONE, move |_| {
        let before = cap_set("self", "CapEff");
        let setns = nix_errno(nix::sched::setns(&ns, NEWUSER));
        let after = cap_set("self", "CapEff");
        let bnd = cap_set("self", "CapBnd");
        Ok(json!({"setns": setns, "caps_before_zero": before == 0, "full_after": after == bnd}))
    })?
    .release()?;
    c.release()?;
    Ok(json!({"owner": owner, "ioctl": ioctl, "u": u, "helper": helper}))
}

fn user_15_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let mut e = Expect::new();
    e.eq("NS_GET_OWNER_UID", None, fs(&f, "ioctl"));
    e.eq(
        "owner uid reported (the creator's euid)",
        f["u"].as_u64(),
        f["owner"].as_u64(),
    );
    e.eq(
        "setns() into the child namespace by another process with the owner's euid",
        "ok".to_string(),
        fe(&f["helper"], "setns"),
    );
    e.eq(
        "capabilities after joining (full)",
        true,
        f["helper"]["full_after"].as_bool().unwrap_or(false),
    );
    Ok(
        e.verdict("the owner has all capabilities in the child namespace")
            .with_observed(json!({
                "owner_is_creator": f["u"] == f["owner"],
                "setns_by_owner": fe(&f["helper"], "setns"),
                "caps_before_zero": f["helper"]["caps_before_zero"],
                "full_caps_after_join": f["helper"]["full_after"],
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-16: capabilities in a non-initial user namespace grant no global operation.
pub const USER_16: Property = Property {
    id: "USER-16",
    area: Area::User,
    title: "Root of a non-initial user namespace gets EPERM for global operations: settimeofday, mknod of a device, finit_module, mounting a block-device filesystem",
    man: "user_namespaces(7) \"Effect of capabilities within a user namespace\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_16_inside),
    check: user_16_check,
};

fn user_16_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?;
    let last = || Some(crate::probe::errno_name(nix::errno::Errno::last()));
    // SAFETY: both pointers NULL: only the permission check runs, nothing is set.
    // (raw syscall: glibc's wrapper dereferences a NULL timeval).
    let null = std::ptr::null::<libc::c_void>();
    let settime = if unsafe { libc::syscall(libc::SYS_settimeofday, null, null) } < 0 {
        last()
    } else {
        None
    };
    let mknod = nix_errno(nix::sys::stat::mknod(
        &dir.join("null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 3),
    ));
    // SAFETY: fd -1: the capability check comes first, then EBADF.
    let module = if unsafe { libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0) } < 0 {
        last()
    } else {
        None
    };
    let target = dir.join("m");
    std::fs::create_dir(&target).step("create a mount point")?;
    let mount = nix_errno(nix::mount::mount(
        Some("none"),
        &target,
        Some("ext4"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    ));
    Ok(
        json!({"settimeofday": settime, "mknod": mknod, "finit_module": module, "mount_ext4": mount}),
    )
}

fn user_16_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user().mnt());
    scratch_for(cx, &mut l)?;
    let f = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts;
    let keys = ["settimeofday", "mknod", "finit_module", "mount_ext4"];
    let got = keys.map(|k| fe(&f, k));
    // A kernel without CONFIG_MODULES has no finit_module at all (ENOSYS).
    let module = if got[2] == "ENOSYS" {
        "ENOSYS"
    } else {
        "EPERM"
    };
    let mut e = Expect::new();
    e.eq(
        "errno of settimeofday, mknod(c 1:3), finit_module, mount ext4",
        ["EPERM", "EPERM", module, "EPERM"].map(String::from),
        got.clone(),
    );
    Ok(e.verdict("no global operation is granted")
        .with_errno("EPERM")
        .with_observed(keyed(&keys, &got)))
}

// ---------------------------------------------------------------------------------
/// USER-17: execve() in a user namespace recomputes capabilities from the ns uid.
pub const USER_17: Property = Property {
    id: "USER-17",
    area: Area::User,
    title: "execve() in a user namespace recomputes capabilities: ns uid 0 keeps the full set, a non-zero ns uid without file capabilities ends with none",
    man: "user_namespaces(7) \"Capabilities\"; capabilities(7) \"Transformation of capabilities during execve()\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns06",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_17_inside),
    check: user_17_check,
};

fn user_17_inside(cx: &Inside) -> Result<Value, StepError> {
    let cat = cx.arg_str("cat")?.to_string();
    let (u, g) = euid_egid();
    let mut out = serde_json::Map::new();
    for inside_id in [0u32, 5] {
        let cat = cat.clone();
        let c = fork_with(user_flag(cx), move |fd| {
            Err(exec_to(fd, &[&cat, "/proc/self/status"]))
        })?;
        let _ = try_write(&c.proc("setgroups"), b"deny");
        let w = try_write(
            &c.proc("uid_map"),
            format!("{inside_id} {u} 1\n").as_bytes(),
        )
        .or_else(|| {
            try_write(
                &c.proc("gid_map"),
                format!("{inside_id} {g} 1\n").as_bytes(),
            )
        });
        let status = String::from_utf8_lossy(&c.release_raw()).into_owned();
        out.insert(
            format!("uid{inside_id}"),
            json!({
                "map": w,
                "uid": status_line(&status, "Uid"),
                "eff": cap_field(&status, "CapEff"),
                "bnd": cap_field(&status, "CapBnd"),
                "prm": cap_field(&status, "CapPrm"),
            }),
        );
    }
    Ok(Value::Object(out))
}

fn user_17_check(cx: &mut Cx) -> CheckResult {
    let cat = cat_path()?;
    let (l, mut args) = self_made(cx, Launch::host().user(), false);
    args["cat"] = json!(cat);
    let f = cx.run_exact(l, args, |_| Ok(()))?.facts;
    let (r, n) = (&f["uid0"], &f["uid5"]);
    let mut e = Expect::new();
    e.eq("mapping for ns uid 0", None, fs(r, "map"));
    e.eq("mapping for ns uid 5", None, fs(n, "map"));
    e.eq(
        "effective set after execve as ns uid 0 (the bounding set)",
        r["bnd"].as_u64(),
        r["eff"].as_u64(),
    );
    e.eq(
        "effective set after execve as ns uid 5",
        Some(0),
        n["eff"].as_u64(),
    );
    e.eq(
        "permitted set after execve as ns uid 5",
        Some(0),
        n["prm"].as_u64(),
    );
    Ok(
        e.verdict("ns root keeps all capabilities across execve, others lose them")
            .with_observed(json!({
                "uid0_full_after_exec": r["bnd"] == r["eff"],
                "uid5_eff_after_exec": n["eff"],
                "uid5_uid_line": n["uid"],
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-19: set*id() calls accept only mapped ids.
pub const USER_19: Property = Property {
    id: "USER-19",
    area: Area::User,
    title: "setuid()/setgid() fail with EINVAL before the maps exist; afterwards only mapped ids are accepted",
    man: "user_namespaces(7) \"Interaction with system calls that change process UIDs or GIDs\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns02 (positive only)",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_19_inside),
    check: user_19_check,
};

fn set_ids(ids: &[u32]) -> Value {
    use nix::unistd::{setgid, setuid, Gid, Uid};
    json!(ids
        .iter()
        .map(|&i| json!([
            nix_errno(setuid(Uid::from_raw(i))),
            nix_errno(setgid(Gid::from_raw(i)))
        ]))
        .collect::<Vec<_>>())
}

fn user_19_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let unmapped = fork_with(user_flag(cx), |_| Ok(set_ids(&[0])))?.release()?;
    let c = fork_with(user_flag(cx), |_| Ok(set_ids(&[1, 0])))?;
    let map = map_root(&c.pid.to_string(), u, g);
    let mapped = c.release()?;
    Ok(json!({"unmapped": unmapped, "map": map, "mapped": mapped}))
}

fn user_19_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let mut e = Expect::new();
    e.eq("writing the maps", None, fs(&f, "map"));
    e.eq(
        "setuid(0), setgid(0) before any map",
        json!([["EINVAL", "EINVAL"]]),
        f["unmapped"].clone(),
    );
    e.eq(
        "setuid/setgid of unmapped 1, then mapped 0, after `0 <id> 1` maps",
        json!([["EINVAL", "EINVAL"], [null, null]]),
        f["mapped"].clone(),
    );
    Ok(e.verdict("only mapped ids are accepted")
        .with_errno("EINVAL")
        .with_observed(json!({"before_maps": f["unmapped"], "after_maps": f["mapped"]})))
}

// ---------------------------------------------------------------------------------
/// USER-20: unmapped ids read as the overflow ids; an unmapped map field reads -1.
pub const USER_20: Property = Property {
    id: "USER-20",
    area: Area::User,
    title: "Unmapped ids show as the overflow uid/gid in stat() and /proc/PID/status, while an unmapped field 2 of a map file reads 4294967295",
    man: "user_namespaces(7) \"Unmapped user and group IDs\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns01 (getuid only)",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_20_inside),
    check: user_20_check,
};

fn user_20_inside(_: &Inside) -> Result<Value, StepError> {
    let st = nix::sys::stat::stat("/").step("stat /")?;
    let status = std::fs::read_to_string("/proc/1/status").unwrap_or_default();
    Ok(json!({
        "root_dir": [st.st_uid, st.st_gid],
        "init_uid": status_line(&status, "Uid"),
        "init_uid_map": squash(&read_trim("/proc/1/uid_map")),
    }))
}

fn user_20_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user());
    if l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let f = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts;
    let (ou, og) = (cx.env.overflowuid, cx.env.overflowgid);
    let mut e = Expect::new();
    e.eq(
        "owner of / (root, unmapped)",
        json!([ou, og]),
        f["root_dir"].clone(),
    );
    e.eq(
        "Uid line of PID 1",
        format!("{ou} {ou} {ou} {ou}"),
        f["init_uid"].as_str().unwrap_or("").to_string(),
    );
    e.eq(
        "initial namespace's uid_map read inside (field 2 unmapped)",
        "0 4294967295 4294967295",
        f["init_uid_map"].as_str().unwrap_or(""),
    );
    Ok(
        e.verdict("unmapped ids read as overflow ids; map field 2 as -1")
            .with_observed(json!({
                "root_dir_owner_is_overflow": f["root_dir"] == json!([ou, og]),
                "init_status_is_overflow": f["init_uid"] == json!(format!("{ou} {ou} {ou} {ou}")),
                "init_uid_map": f["init_uid_map"],
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-18: securebits are reset by entering a new user namespace.
pub const USER_18: Property = Property {
    id: "USER-18",
    area: Area::User,
    title: "Securebits are reset to 0 by unshare(CLONE_NEWUSER)",
    man: "user_namespaces(7) \"Capabilities\"; capabilities(7) \"The securebits flags\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_18_inside),
    check: user_18_check,
};

fn securebits() -> i64 {
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0) as i64 }
}

fn user_18_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx);
    fork_with(NONE, move |_| {
        // SECBIT_NOROOT (1); setting it needs CAP_SETPCAP in the current namespace.
        // SAFETY: plain prctl.
        let set = if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, 1, 0, 0, 0) } < 0 {
            Some(crate::probe::errno_name(nix::errno::Errno::last()))
        } else {
            None
        };
        let before = securebits();
        if !flags.is_empty() {
            unshare(flags).step("unshare(CLONE_NEWUSER)")?;
        }
        Ok(json!({"set": set, "before": before, "after": securebits()}))
    })?
    .release()
}

fn user_18_check(cx: &mut Cx) -> CheckResult {
    let (mut l, args) = self_made(cx, Launch::host().user(), false);
    if cx.rootless() {
        // Setting securebits needs CAP_SETPCAP: do it as root of a user namespace.
        l.user = true;
        l.map_root = true;
    }
    let f = cx.run_exact(l, args, |_| Ok(()))?.facts;
    let mut e = Expect::new();
    e.eq("setting SECBIT_NOROOT", None, fs(&f, "set"));
    e.eq("securebits before unshare", Some(1), f["before"].as_i64());
    e.eq(
        "securebits after unshare(CLONE_NEWUSER)",
        Some(0),
        f["after"].as_i64(),
    );
    Ok(e.verdict("securebits reset to 0").with_observed(f))
}

// ---------------------------------------------------------------------------------
/// USER-21: set-user-ID bits of files whose owner is unmapped are ignored.
pub const USER_21: Property = Property {
    id: "USER-21",
    area: Area::User,
    title: "execve() of a set-user-ID file whose owner (or group) is unmapped in the caller's user namespace ignores the set-user-ID bit",
    man: "user_namespaces(7) \"Set-user-ID and set-group-ID programs\"",
    prereq: Prereq::ROOT.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_21_inside),
    check: user_21_check,
};

fn user_21_inside(cx: &Inside) -> Result<Value, StepError> {
    let prog = cx.workdir()?.join("suid-cat").display().to_string();
    let c = fork_with(NONE, move |fd| {
        Err(exec_to(fd, &[&prog, "/proc/self/status"]))
    })?;
    let status = String::from_utf8_lossy(&c.release_raw()).into_owned();
    Ok(json!({"uid": status_line(&status, "Uid")}))
}

fn user_21_check(cx: &mut Cx) -> CheckResult {
    use std::os::unix::fs::PermissionsExt;
    let cat = cat_path()?;
    let mut l = cx.prepare(Launch::host().user());
    l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    let dir = scratch_for(cx, &mut l)?;
    refuse_nosuid(&dir)?;
    let prog = dir.join("suid-cat");
    std::fs::copy(&cat, &prog)
        .and_then(|_| std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o4755)))
        .map_err(|e| Verdict::error(format!("make a set-user-ID copy of cat: {e}")))?;
    let f = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts;
    let mut e = Expect::new();
    e.eq(
        "Uid line after exec of a root-owned set-user-ID file (real, effective, saved, fs)",
        "0 0 0 0",
        f["uid"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("set-user-ID bit of an unmapped owner ignored")
        .with_observed(f))
}

// ---------------------------------------------------------------------------------
/// USER-22: file capabilities apply only to files whose ids are mapped.
pub const USER_22: Property = Property {
    id: "USER-22",
    area: Area::User,
    title: "CAP_DAC_OVERRIDE in a user namespace applies only to files whose uid and gid are both mapped; CAP_FOWNER needs only the uid mapped",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"; capabilities(7)",
    prereq: Prereq::ROOT.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_22_inside),
    check: user_22_check,
};

/// (file, owner uid, owner gid, mode) of the USER-22 files; the namespace maps
/// 100000..100009 of both uids and gids.
const USER_22_FILES: &[(&str, u32, u32, u32)] = &[
    ("both-mapped", 100_001, 100_001, 0o000),
    ("gid-unmapped", 100_001, 200, 0o000),
    ("uid-only", 100_001, 200, 0o644),
    ("uid-unmapped", 300, 100_001, 0o644),
];

fn user_22_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?.display().to_string();
    let c = fork_with(user_flag(cx), move |_| {
        let p = |n: &str| format!("{dir}/{n}");
        let open = |n: &str| std::fs::File::open(p(n)).err().map(|e| io_errno(&e));
        let chmod = |n: &str| {
            nix_errno(nix::sys::stat::fchmodat(
                nix::fcntl::AT_FDCWD,
                p(n).as_str(),
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            ))
        };
        Ok(json!([
            open("both-mapped"),
            open("gid-unmapped"),
            chmod("uid-only"),
            chmod("uid-unmapped")
        ]))
    })?;
    let map = try_write(&c.proc("uid_map"), b"0 100000 10\n")
        .or_else(|| try_write(&c.proc("gid_map"), b"0 100000 10\n"));
    let r = c.release()?;
    Ok(json!({"map": map, "results": r}))
}

fn user_22_check(cx: &mut Cx) -> CheckResult {
    use std::os::unix::fs::PermissionsExt;
    let (mut l, args) = self_made(cx, Launch::host().user(), false);
    let dir = scratch_for(cx, &mut l)?;
    for (name, u, g, mode) in USER_22_FILES {
        let p = dir.join(name);
        std::fs::write(&p, b"x")
            .and_then(|()| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)))
            .map_err(|e| Verdict::error(format!("create {name}: {e}")))?;
        nix::unistd::chown(
            &p,
            Some(nix::unistd::Uid::from_raw(*u)),
            Some(nix::unistd::Gid::from_raw(*g)),
        )
        .map_err(|e| Verdict::error(format!("chown {name}: {e}")))?;
    }
    let f = cx.run_exact(l, args, |_| Ok(()))?.facts;
    let got: Vec<String> = (0..4).map(|i| fe(&f["results"], &i.to_string())).collect();
    let got: Vec<String> = f["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("ok").to_string())
                .collect()
        })
        .unwrap_or(got);
    let mut e = Expect::new();
    e.eq("writing the maps", None, fs(&f, "map"));
    e.eq(
        "open 0000 file (uid+gid mapped), open 0000 file (gid unmapped), chmod foreign file (uid mapped), chmod foreign file (uid unmapped)",
        vec!["ok", "EACCES", "ok", "EPERM"],
        got.iter().map(String::as_str).collect(),
    );
    Ok(e.verdict("capabilities apply only over mapped files")
        .with_observed(json!({"results": got})))
}

// ---------------------------------------------------------------------------------
/// USER-24: which filesystems root of a user namespace may mount.
pub const USER_24: Property = Property {
    id: "USER-24",
    area: Area::User,
    title: "Root of a user namespace owning the mount namespace can mount tmpfs, ramfs, devpts, mqueue (own IPC ns), proc (own PID ns), sysfs (own net ns), cgroup2, overlay (5.11+); a plain mount(2) of bpf or a block-device filesystem gives EPERM",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:~BW (proc, tmpfs, devpts, overlay); KST:~mount/unprivileged-remount-test",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_24_inside),
    check: user_24_check,
};

const USER_24_FS: &[&str] = &[
    "tmpfs", "ramfs", "devpts", "mqueue", "proc", "sysfs", "cgroup2", "overlay", "bpf", "ext4",
];

fn user_24_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?;
    for d in ["lower", "upper", "work"] {
        std::fs::create_dir(dir.join(d)).step("create overlay directories")?;
    }
    let overlay = format!(
        "lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work",
        dir.display()
    );
    let mut out = serde_json::Map::new();
    for fstype in USER_24_FS {
        let target = dir.join(format!("m-{fstype}"));
        std::fs::create_dir(&target).step("create a mount point")?;
        let data = match *fstype {
            "overlay" => Some(overlay.as_str()),
            "devpts" => Some("newinstance,ptmxmode=0666"),
            _ => None,
        };
        let r = nix::mount::mount(
            Some(if *fstype == "ext4" { "none" } else { *fstype }),
            &target,
            Some(*fstype),
            nix::mount::MsFlags::empty(),
            data,
        );
        out.insert(fstype.to_string(), json!(nix_errno(r)));
    }
    Ok(Value::Object(out))
}

fn user_24_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user().pid().mnt().ipc().net().cgroup());
    scratch_for(cx, &mut l)?;
    let f = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts;
    let v = cx.env.version;
    let since = |a, b| v >= Some(crate::env::KernelVersion(a, b, 0));
    let mut e = Expect::new();
    let mut seen = serde_json::Map::new();
    for fstype in USER_24_FS {
        let want = match *fstype {
            "ext4" => "EPERM",
            "overlay" if !since(5, 11) => "EPERM",
            // bpffs is FS_USERNS_MOUNT since 6.9 only for token delegation: creating
            // the superblock still needs CAP_SYS_ADMIN in the initial namespace
            // (measured on 6.18: EPERM).
            "bpf" => "EPERM",
            _ => "ok",
        };
        let got = fe(&f, fstype);
        e.eq(&format!("mount {fstype}"), want.to_string(), got.clone());
        seen.insert(fstype.to_string(), json!(got));
    }
    Ok(
        e.verdict("user-namespace mountable filesystems as documented")
            .with_observed(Value::Object(seen)),
    )
}

// ---------------------------------------------------------------------------------
/// USER-25: projid_map follows the map-file rules but needs no CAP_SETUID.
pub const USER_25: Property = Property {
    id: "USER-25",
    area: Area::User,
    title: "projid_map follows the map-file format (EINVAL) and write-once (EPERM) rules, but an unprivileged owner may map any range (no CAP_SETUID check); SCM_CREDENTIALS translation is not checked here",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\" (projid_map)",
    prereq: Prereq::ROOTLESS.kernel(3, 7).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_25_inside),
    check: user_25_check,
};

fn user_25_inside(cx: &Inside) -> Result<Value, StepError> {
    let c = fork_with(user_flag(cx), |_| Ok(Value::Null))?;
    let p = c.proc("projid_map");
    let bad = try_write(&p, b"0 0\n");
    let range = try_write(&p, b"0 0 10\n");
    let again = try_write(&p, b"0 0 10\n");
    let read = squash(&read_trim(&p));
    c.release()?;
    Ok(json!({"bad_format": bad, "range": range, "second": again, "read": read}))
}

fn user_25_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, true)?;
    let got = ["bad_format", "range", "second"].map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno of: two fields, `0 0 10` by an unprivileged owner, a second write",
        ["EINVAL", "ok", "EPERM"].map(String::from),
        got.clone(),
    );
    e.eq(
        "projid_map read back",
        "0 0 10",
        f["read"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("projid_map rules hold")
        .with_observed(json!({"writes": got})))
}

// ---------------------------------------------------------------------------------
/// USER-13: mapping parent uid 0 needs CAP_SETFCAP.
pub const USER_13: Property = Property {
    id: "USER-13",
    area: Area::User,
    title: "A uid_map covering parent uid 0 needs CAP_SETFCAP: in the writer when it is in the parent namespace, in the creator at creation time when the writer is inside; else EPERM",
    man: "user_namespaces(7) \"Defining user and group ID mappings\" rule 4",
    prereq: Prereq::ROOT.kernel(5, 12).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_13_inside),
    check: user_13_check,
};

/// CAP_SETFCAP.
const CAP_SETFCAP: u32 = 31;

fn user_13_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx);
    let c = fork_with(flags, |_| Ok(Value::Null))?;
    let target = c.proc("uid_map");
    let t = target.clone();
    let parent_without = fork_with(NONE, move |_| {
        drop_caps(&[CAP_SETFCAP]).step("drop CAP_SETFCAP")?;
        Ok(json!(try_write(&t, b"0 0 1\n")))
    })?
    .release()?;
    let parent_with = try_write(&target, b"0 0 1\n");
    c.release()?;
    let own = |drop: bool| -> Result<Value, StepError> {
        fork_with(NONE, move |_| {
            if drop {
                drop_caps(&[CAP_SETFCAP]).step("drop CAP_SETFCAP")?;
            }
            if !flags.is_empty() {
                unshare(flags).step("unshare(CLONE_NEWUSER)")?;
            }
            let _ = try_write("/proc/self/setgroups", b"deny");
            Ok(json!(try_write("/proc/self/uid_map", b"0 0 1\n")))
        })?
        .release()
    };
    Ok(json!({
        "parent_without": parent_without,
        "parent_with": parent_with,
        "creator_without": own(true)?,
        "creator_with": own(false)?,
    }))
}

fn user_13_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx, false)?;
    let keys = [
        "parent_without",
        "parent_with",
        "creator_without",
        "creator_with",
    ];
    let got = keys.map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno mapping uid 0: parent writer without/with CAP_SETFCAP, creator without/with it",
        ["EPERM", "ok", "EPERM", "ok"].map(String::from),
        got.clone(),
    );
    Ok(e.verdict("mapping uid 0 needs CAP_SETFCAP")
        .with_errno("EPERM")
        .with_observed(json!({"writes": got})))
}

// ---------------------------------------------------------------------------------
/// USER-23: namespaced file capabilities (v3 xattr with the namespace root's id).
pub const USER_23: Property = Property {
    id: "USER-23",
    area: Area::User,
    title: "A security.capability xattr set inside a user namespace is stored as v3 with the namespace root's uid as rootid, and confers its capabilities in namespaces below that root",
    man: "capabilities(7) \"Namespaced file capabilities\"",
    prereq: Prereq::ROOTLESS.kernel(4, 14).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_23_inside),
    check: user_23_check,
};

/// CAP_NET_RAW, the capability the USER-23 file grants.
const CAP_NET_RAW: u32 = 13;

fn getxattr_cap(path: &str) -> Result<Vec<u8>, String> {
    let p = std::ffi::CString::new(path).unwrap_or_default();
    let mut buf = [0u8; 64];
    // SAFETY: valid C strings and buffer.
    let n = unsafe {
        libc::getxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(crate::probe::errno_name(nix::errno::Errno::last()));
    }
    Ok(buf[..n as usize].to_vec())
}

fn user_23_inside(cx: &Inside) -> Result<Value, StepError> {
    let cat = cx.arg_str("cat")?.to_string();
    let prog = cx.workdir()?.join("fcap-cat").display().to_string();
    std::fs::copy(&cat, &prog).step("copy cat")?;
    // struct vfs_cap_data v2: magic | effective flag, then permitted/inheritable x2.
    let mut v2 = Vec::new();
    for word in [0x0200_0001u32, 1 << CAP_NET_RAW, 0, 0, 0] {
        v2.extend_from_slice(&word.to_le_bytes());
    }
    let p = std::ffi::CString::new(prog.clone()).unwrap_or_default();
    // SAFETY: valid C strings and buffer.
    let set = if unsafe {
        libc::setxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            v2.as_ptr().cast(),
            v2.len(),
            0,
        )
    } < 0
    {
        Some(crate::probe::errno_name(nix::errno::Errno::last()))
    } else {
        None
    };
    let inside_len = getxattr_cap(&prog).map(|b| b.len()).ok();
    // Executed as uid 5 of a child namespace (`5 0 1`): below the namespace root.
    let c = fork_with(NEWUSER, move |fd| {
        Err(exec_to(fd, &[&prog, "/proc/self/status"]))
    })?;
    let _ = try_write(&c.proc("setgroups"), b"deny");
    let map = try_write(&c.proc("uid_map"), b"5 0 1\n")
        .or_else(|| try_write(&c.proc("gid_map"), b"5 0 1\n"));
    let status = String::from_utf8_lossy(&c.release_raw()).into_owned();
    Ok(
        json!({"set": set, "map": map, "inside_len": inside_len, "eff": cap_field(&status, "CapEff")}),
    )
}

fn user_23_check(cx: &mut Cx) -> CheckResult {
    let cat = cat_path()?;
    let mut l = cx.prepare(Launch::host().user());
    if l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = l.drop_to.map_or(cx.outer_ids().0, |(u, _)| u);
    let dir = scratch_for(cx, &mut l)?;
    refuse_nosuid(&dir)?;
    let f = cx.run_exact(l, json!({"cat": cat}), |_| Ok(()))?.facts;
    let raw = getxattr_cap(&dir.join("fcap-cat").display().to_string());
    let (version, rootid) = match &raw {
        Ok(b) if b.len() >= 24 => (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 24,
            Some(u32::from_le_bytes([b[20], b[21], b[22], b[23]])),
        ),
        Ok(b) if b.len() >= 4 => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 24, None),
        _ => (0, None),
    };
    let mut e = Expect::new();
    e.eq("setxattr security.capability inside", None, fs(&f, "set"));
    e.eq("mapping the child namespace `5 0 1`", None, fs(&f, "map"));
    e.eq("xattr revision seen from the initial namespace", 3, version);
    e.eq(
        "rootid of the stored xattr (the namespace root's uid)",
        Some(outer),
        rootid,
    );
    e.eq(
        "effective set after execve as uid 5 of a child namespace",
        Some(1u64 << CAP_NET_RAW),
        f["eff"].as_u64(),
    );
    Ok(e.verdict("namespaced file capabilities work as documented")
        .with_observed(json!({
            "revision_outside": version,
            "rootid_is_ns_root": rootid == Some(outer),
            "size_inside": f["inside_len"],
            "eff_below_root": f["eff"],
        })))
}
