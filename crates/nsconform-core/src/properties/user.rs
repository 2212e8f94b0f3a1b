//! User namespaces: user_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::fact::read_trim;
use crate::kit::ids::{cat_path, exec_to, squash, SelfMade};
use crate::kit::proc::{cap_names, drop_caps, status, Status};
use crate::kit::userns::{euid_egid, map_root};
use crate::kit::{facts, io_res, res, sys_res, write_res, Fork, Table, OK};
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::{errno_name, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, KernelModule, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;

use crate::kit::userns::SCRATCH_ID;

pub const ALL: &[Property] = &[
    USER_01, USER_02, USER_03, USER_04, USER_05, USER_06, USER_07, USER_08, USER_09, USER_10,
    USER_11, USER_12, USER_13, USER_14, USER_15, USER_16, USER_17, USER_18, USER_19, USER_20,
    USER_21, USER_22, USER_23, USER_24, USER_25, USER_26,
];

const NEWUSER: CloneFlags = CloneFlags::CLONE_NEWUSER;

// =================================================================================
// Helpers of this area (inside halves that build their own user namespaces).

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
    Ids {
        uid: nix::unistd::getuid().as_raw(),
        euid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        egid: nix::unistd::getegid().as_raw(),
        uid_map: read_or_empty("/proc/self/uid_map"),
        gid_map: read_or_empty("/proc/self/gid_map"),
    }
}

/// A file's trimmed content, "" when unreadable.
fn read_or_empty(path: &str) -> String {
    read_trim(path).unwrap_or_default()
}

/// The inside process's own user namespace inode.
fn own_user_ns() -> Option<u64> {
    crate::probe::sys::ns_inode("self", "user").ok()
}

/// `CLONE_NEWUSER` when the run creates the user namespace itself (`Cx::self_made`).
fn user_flag(cx: &Inside) -> Result<CloneFlags, StepError> {
    Ok(cx.args::<SelfMade>()?.user())
}

/// A helper that unshares `flags` and then waits, doing nothing, until its result is
/// asked for: the parent writes its map files (`Child::proc`) meanwhile.
fn map_target(flags: CloneFlags) -> Result<crate::kit::Child, StepError> {
    Fork::new("be the target of map writes")
        .unshare(flags)
        .gated()
        .spawn(|_| ())
}

/// Write the uid map, then (when it was taken) the gid map of `who`: the first refusal.
fn write_maps(who: &crate::kit::Child, uid_map: &[u8], gid_map: &[u8]) -> String {
    let r = write_res(&who.proc("uid_map"), uid_map);
    if r != OK {
        return r;
    }
    write_res(&who.proc("gid_map"), gid_map)
}

fn run_self_made<T: DeserializeOwned>(cx: &mut Cx, unprivileged: bool) -> Result<T, Verdict> {
    let (l, args) = cx.self_made(Launch::host().user(), unprivileged);
    cx.run_exact(l, args, |_| Ok(()))?.facts()
}

/// (CapEff, CapPrm, CapBnd) of this process (0 when unreadable).
fn caps() -> (u64, u64, u64) {
    status("self").map_or((0, 0, 0), |s| (s.capeff, s.capprm, s.capbnd.unwrap_or(0)))
}

/// The /proc/self/status an exec'd `cat` printed, parsed by procfs (None when the
/// program did not run).
fn printed_status(out: &[u8]) -> Option<Status> {
    <Status as procfs::FromBufRead>::from_buf_read(out).ok()
}

/// The `Uid:` line of a status (real, effective, saved, fs), "" without one.
fn uid_line(s: Option<&Status>) -> String {
    s.map(|s| format!("{} {} {} {}", s.ruid, s.euid, s.suid, s.fuid))
        .unwrap_or_default()
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

/// The arguments of the checks that exec `cat`.
#[derive(Serialize, Deserialize, Debug)]
struct CatArgs {
    #[serde(flatten)]
    made: SelfMade,
    cat: String,
}

/// A table's results for `cases`, in that order ("not run" for a missing one).
fn in_order(t: &Table, cases: &[&str]) -> Vec<String> {
    cases
        .iter()
        .map(|c| t.get(c).unwrap_or("not run").to_string())
        .collect()
}

/// The cases of `expected`, for the observed facts.
fn cases<'a>(expected: &[(&'a str, &str)]) -> Vec<&'a str> {
    expected.iter().map(|(c, _)| *c).collect()
}

// ---------------------------------------------------------------------------------
/// USER-01: an unprivileged user can create a user namespace; where the host blocks it
/// the suite names the blocker; a max_user_namespaces of 0 gives ENOSPC.
/// user_namespaces(7); namespaces(7) "/proc/sys/user".
pub const USER_01: Property = Property {
    id: "USER-01",
    area: Area::User,
    title: "An unprivileged process can create a user namespace (a host policy that blocks it is named, not failed); max_user_namespaces=0 makes unshare fail with ENOSPC",
    man: "user_namespaces(7); namespaces(7) \"/proc/sys/user\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01; KST:many rootless tests",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_01_inside),
    check: user_01_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User01 {
    before: Option<u64>,
    first: User01First,
    /// None when no user namespace was made for the limit (a control removed it).
    limit: Option<User01Limit>,
}

#[derive(Serialize, Deserialize, Debug)]
struct User01First {
    unshare: String,
    ns: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug)]
struct User01Limit {
    map: String,
    initial: String,
    write: String,
    nested: String,
}

fn user_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let before = own_user_ns();
    let flags = user_flag(cx)?;
    let (u, g) = euid_egid();
    let first = Fork::new("unshare(CLONE_NEWUSER) unprivileged").run(move |_| {
        let r = if flags.is_empty() {
            Ok(())
        } else {
            unshare(flags)
        };
        User01First {
            unshare: res(r),
            ns: own_user_ns(),
        }
    })?;
    // The limit is changed only in a user namespace made here: its limits are its own.
    let limit = Fork::new("set max_user_namespaces=0 in an own user namespace").run(
        move |_| -> Result<Option<User01Limit>, StepError> {
            if flags.is_empty() {
                return Ok(None);
            }
            unshare(NEWUSER).step("create a user namespace for the limit")?;
            let map = map_root("self", u, g);
            let initial = read_or_empty("/proc/sys/user/max_user_namespaces");
            let write = write_res("/proc/sys/user/max_user_namespaces", b"0\n");
            let nested = res(unshare(NEWUSER));
            Ok(Some(User01Limit {
                map,
                initial,
                write,
                nested,
            }))
        },
    )??;
    facts(&User01 {
        before,
        first,
        limit,
    })
}

fn user_01_check(cx: &mut Cx) -> CheckResult {
    let host_max = read_or_empty("/proc/sys/user/max_user_namespaces");
    let f: User01 = run_self_made(cx, true)?;
    let host_after = read_or_empty("/proc/sys/user/max_user_namespaces");
    if f.first.unshare != OK {
        let errno = f.first.unshare;
        let knobs = [
            "/proc/sys/user/max_user_namespaces",
            "/proc/sys/kernel/unprivileged_userns_clone",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ]
        .map(|k| format!("{k}={}", read_or_empty(k)))
        .join(", ");
        return Ok(Verdict::skip(format!(
            "unprivileged unshare(CLONE_NEWUSER) is blocked on this host ({errno}): {knobs}; \
             ENOSPC = max_user_namespaces is 0 or reached, EPERM = a sysctl, seccomp or LSM policy"
        ))
        .with_errno(errno));
    }
    let limit = f.limit.as_ref();
    let mut e = Expect::new();
    e.ne(
        "user namespace after unprivileged unshare(CLONE_NEWUSER) (a new one)",
        f.before,
        f.first.ns,
    );
    e.eq(
        "mapping root in the namespace made for the limit",
        Some(OK),
        limit.map(|l| l.map.as_str()),
    );
    e.eq(
        "write 0 to max_user_namespaces inside our own user namespace",
        Some(OK),
        limit.map(|l| l.write.as_str()),
    );
    e.eq(
        "unshare(CLONE_NEWUSER) under max_user_namespaces=0",
        Some("ENOSPC"),
        limit.map(|l| l.nested.as_str()),
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
                "unprivileged_create": OK,
                "child_ns_initial_limit": limit.map(|l| &l.initial),
                "nested_under_zero_limit": limit.map(|l| &l.nested),
                // The host's limit is sized from its memory: compared, not recorded.
                "host_limit_after_vs_before": if host_max == host_after { "same" } else { "differs" },
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-02: the creator of a user namespace has every capability in it and none over
/// the parent's resources, even when it was root in the initial namespace.
/// user_namespaces(7) "Capabilities".
pub const USER_02: Property = Property {
    id: "USER-02",
    area: Area::User,
    title: "The creator of a user namespace has full permitted and effective capabilities in it and none over the parent's resources, even if it was global root",
    man: "user_namespaces(7) \"Capabilities\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01,userns06",
    controls: &[Control::NoNewUser, Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare],
    global: false,
    subject: None,
    inside: Some(user_02_inside),
    check: user_02_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User02 {
    creator_euid: u32,
    creator_eff: u64,
    child: User02Child,
}

#[derive(Serialize, Deserialize, Debug)]
struct User02Child {
    eff: u64,
    prm: u64,
    bnd: u64,
    setns: String,
    nice: String,
}

fn user_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let uts = std::fs::File::open("/proc/self/ns/uts").step("open /proc/self/ns/uts")?;
    let creator_euid = nix::unistd::geteuid().as_raw();
    let (creator_eff, _, _) = caps();
    let child = Fork::new("look at the creator's capabilities")
        .unshare(user_flag(cx)?)
        .run(move |_| {
            let (eff, prm, bnd) = caps();
            // Joining the parent's UTS namespace needs CAP_SYS_ADMIN in its owner.
            let setns = res(nix::sched::setns(&uts, CloneFlags::CLONE_NEWUTS));
            // Lowering the nice value needs CAP_SYS_NICE in the initial namespace.
            // SAFETY: setpriority(2) on this process, integers only (no nix wrapper).
            let nice = sys_res(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -1) });
            User02Child {
                eff,
                prm,
                bnd,
                setns,
                nice,
            }
        })?;
    facts(&User02 {
        creator_euid,
        creator_eff,
        child,
    })
}

fn user_02_check(cx: &mut Cx) -> CheckResult {
    let f: User02 = run_self_made(cx, false)?;
    let c = &f.child;
    let mut e = Expect::new();
    e.eq(
        "permitted and effective sets in the new namespace equal the bounding set",
        true,
        c.eff == c.bnd && c.prm == c.bnd && c.bnd != 0,
    );
    e.eq(
        "setns() into the parent's UTS namespace",
        "EPERM",
        c.setns.as_str(),
    );
    e.eq(
        "setpriority(-1) (CAP_SYS_NICE of the initial namespace)",
        "EACCES",
        c.nice.as_str(),
    );
    Ok(
        e.verdict("full capabilities inside, none over the parent's resources")
            .with_observed(json!({
                "creator_euid": f.creator_euid,
                "effective_inside": cap_names(c.eff),
                "permitted_inside": cap_names(c.prm),
                "bounding_inside": cap_names(c.bnd),
                "setns_parent_uts": c.setns,
                "lower_nice": c.nice,
            })),
    )
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
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_03_inside),
    check: user_03_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User03 {
    ids: Ids,
    /// The owner uid and gid of `/` as stat(2) shows them inside: root outside, so
    /// the overflow ids in a user namespace that maps nothing. Unlike the process's
    /// own ids this tells "unmapped" apart from "really uid 65534" (the rootless mode
    /// runs as 65534, which equals the overflow uid without any user namespace).
    root_owner: (u32, u32),
}

fn user_03_inside(_: &Inside) -> Result<Value, StepError> {
    let m = std::fs::metadata("/").step("stat /")?;
    facts(&User03 {
        ids: ids(),
        root_owner: (m.uid(), m.gid()),
    })
}

fn user_03_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        user: true,
        map_root: false,
        ..Launch::host()
    };
    let host_user = host::own_ns_inode("user")?;
    let outside = std::fs::metadata("/").map_err(|e| {
        Verdict::error(format!(
            "stat / in the harness: {}",
            crate::kit::io_errno(&e)
        ))
    })?;
    let (run, probe_user) = cx.run_held(launch, Value::Null, |run| {
        host::ns_inode(run.host_pid.expect("held"), "user")
    })?;
    let f: User03 = run.facts()?;
    Ok(user_03_judge(
        &f,
        (cx.env.overflowuid, cx.env.overflowgid),
        (outside.uid(), outside.gid()),
        probe_user != host_user,
    ))
}

/// USER-03's judgement: `overflow` from /proc/sys/kernel/overflow{u,g}id, `outside` the
/// owner of `/` as the harness sees it, `own_ns` whether the probe's user namespace
/// (seen from outside) is not the harness's.
fn user_03_judge(f: &User03, overflow: (u32, u32), outside: (u32, u32), own_ns: bool) -> Verdict {
    let (ou, og) = overflow;
    let mut e = Expect::new();
    e.eq(
        "user namespace of the probe (a new user namespace, seen from outside)",
        true,
        own_ns,
    );
    e.eq(
        "uid_map of the new user namespace (none written)",
        "",
        f.ids.uid_map.as_str(),
    );
    let ids_seen = [f.ids.uid, f.ids.euid, f.ids.gid, f.ids.egid];
    e.eq(
        "uid, euid, gid, egid inside (the overflow ids)",
        [ou, ou, og, og],
        ids_seen,
    );
    // The owner of / is mapped outside (root); inside nothing is mapped, so it reads as
    // the overflow ids, whatever uid the probe runs as.
    let want_owner = if outside == overflow {
        outside
    } else {
        (ou, og)
    };
    e.eq(
        "owner uid and gid of / inside (root outside: unmapped, so the overflow ids)",
        want_owner,
        f.root_owner,
    );
    e.verdict(&format!(
        "unmapped ids read as overflow uid {ou} / gid {og}"
    ))
    .with_observed(json!({
        "ids": ids_seen,
        "root_owner_inside": [f.root_owner.0, f.root_owner.1],
        "root_owner_outside": [outside.0, outside.1],
        "overflow": [ou, og],
        "uid_map": f.ids.uid_map,
        "gid_map": f.ids.gid_map,
    }))
}

// ---------------------------------------------------------------------------------
/// USER-04: the map files of a fresh user namespace are empty.
/// user_namespaces(7) "User and group ID mappings: uid_map and gid_map".
pub const USER_04: Property = Property {
    id: "USER-04",
    area: Area::User,
    title:
        "uid_map, gid_map and projid_map of a fresh user namespace are empty (read returns 0 bytes)",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:GV ProcSelfUidGidMapTest.IsInitiallyEmpty",
    controls: &[Control::NoNewUser],
    calls: &[],
    global: false,
    subject: None,
    inside: Some(user_04_inside),
    check: user_04_check,
};
fn user_04_inside(_: &Inside) -> Result<Value, StepError> {
    let len = |f: &str| std::fs::read(format!("/proc/self/{f}")).map_or(-1, |b| b.len() as i64);
    facts(&[len("uid_map"), len("gid_map"), len("projid_map")])
}

fn user_04_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        user: true,
        map_root: false,
        ..Launch::host()
    };
    let f: [i64; 3] = cx.run(launch, Value::Null)?.facts()?;
    let mut e = Expect::new();
    e.eq("bytes read from uid_map, gid_map, projid_map", [0, 0, 0], f);
    Ok(e.verdict("all three map files read empty")
        .with_observed(json!({"map_bytes": f})))
}

// ---------------------------------------------------------------------------------
/// USER-05: the maps of the initial user namespace cover every id but -1.
/// user_namespaces(7) "User and group ID mappings: uid_map and gid_map".
pub const USER_05: Property = Property {
    id: "USER-05",
    area: Area::User,
    title: "The initial user namespace's uid_map and gid_map read `0 0 4294967295` (id -1 deliberately unmapped); a probe in the harness's user namespace reads the harness's own maps, and NS_GET_PARENT of its own user namespace is EPERM",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"; ioctl_ns(2) NS_GET_PARENT",
    prereq: Prereq::ANY.kernel(4, 9).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(user_05_inside),
    check: user_05_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User05 {
    uid_map: String,
    gid_map: String,
    /// NS_GET_PARENT of the probe's own user namespace.
    parent: String,
    /// The inode of the probe's user namespace.
    user_ino: u64,
}

/// NS_GET_PARENT of this process's user namespace: [`OK`] or the errno. EPERM is
/// documented both for the initial namespace (no parent) and for a nested one (its
/// parent is outside the caller's scope), ioctl_ns(2).
fn own_user_parent() -> String {
    match crate::kit::nsfd::open_ns("self", crate::ns::Ns::User) {
        Ok(fd) => match crate::kit::nsops::ioctl_ino(&fd, crate::ns::NS_GET_PARENT) {
            Ok(_) => OK.to_string(),
            Err(errno) => errno,
        },
        Err(e) => e.to_string(),
    }
}

/// This process's `/proc/self/<file>` map, whitespace squashed.
fn own_map(file: &str) -> Result<String, StepError> {
    read_trim(&format!("/proc/self/{file}")).map(|m| squash(&m))
}

fn user_05_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&User05 {
        uid_map: own_map("uid_map")?,
        gid_map: own_map("gid_map")?,
        parent: own_user_parent(),
        user_ino: crate::kit::nsfd::ns_ino("self", crate::ns::Ns::User)?,
    })
}

fn user_05_check(cx: &mut Cx) -> CheckResult {
    // The harness may itself run in a user namespace: the probe (launched into no new
    // namespace) must read the harness's own maps, and the literal full map is expected
    // only where the harness's namespace is the initial one (its fixed inode
    // PROC_USER_INIT_INO, include/linux/proc_ns.h).
    let own = |file: &str| {
        own_map(file).map_err(|e| Verdict::error(format!("the harness's own {file}: {e}")))
    };
    let (uid_map, gid_map) = (own("uid_map")?, own("gid_map")?);
    let harness_ino = crate::kit::nsfd::ns_ino("self", crate::ns::Ns::User)
        .map_err(|e| crate::harness::step_verdict(&e))?;
    let v = cx
        .env
        .version
        .unwrap_or(crate::env::KernelVersion(99, 0, 0));
    let initial = crate::ns::Ns::User.init_ino(v) == Some(harness_ino);
    let f: User05 = cx.run(Launch::host(), Value::Null)?.facts()?;
    let mut e = Expect::new();
    e.that(
        "the probe is in the harness's user namespace",
        f.user_ino == harness_ino,
        "the same inode",
        "another user namespace",
    );
    e.eq(
        "NS_GET_PARENT of one's own user namespace (no parent, or one outside the caller's scope)",
        "EPERM",
        f.parent.as_str(),
    );
    e.eq(
        "uid_map read by the probe, as the harness reads its own",
        uid_map.as_str(),
        f.uid_map.as_str(),
    );
    e.eq(
        "gid_map read by the probe, as the harness reads its own",
        gid_map.as_str(),
        f.gid_map.as_str(),
    );
    if initial {
        e.eq(
            "uid_map of the initial user namespace",
            "0 0 4294967295",
            f.uid_map.as_str(),
        );
        e.eq(
            "gid_map of the initial user namespace",
            "0 0 4294967295",
            f.gid_map.as_str(),
        );
    }
    let summary = if initial {
        "initial maps cover 0..4294967294"
    } else {
        "the harness runs in a nested user namespace: the probe reads its maps"
    };
    Ok(e.verdict(summary).with_observed(json!({
        "uid_map": f.uid_map,
        "gid_map": f.gid_map,
        "ns_get_parent": f.parent,
        "harness_user_ns_vs_initial": if initial { "same" } else { "differs" },
    })))
}

// ---------------------------------------------------------------------------------
/// USER-06: field 2 of a map file is relative to the opener.
/// user_namespaces(7) "User and group ID mappings: uid_map and gid_map".
pub const USER_06: Property = Property {
    id: "USER-06",
    area: Area::User,
    title: "Field 2 of uid_map is relative to the opener: the opener's namespace if it differs from the target's, the parent namespace if it is the same",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns03",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(user_06_inside),
    check: user_06_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User06Writer {
    map: String,
    view: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct User06 {
    map: String,
    own_map: String,
    parent_view: String,
    self_view: String,
}

fn user_06_inside(_: &Inside) -> Result<Value, StepError> {
    // We are root of ns1 (mapped to the outer uid). A helper left in ns1 maps us into
    // a nested ns2 with `0 0 1`; the harness then reads our map from the initial
    // namespace while we are held (so no extra process outlives the run).
    let own_map = squash(&read_or_empty("/proc/self/uid_map"));
    let me = nix::unistd::getpid().as_raw().to_string();
    let mut writer = Fork::new("map the nested namespace from its parent")
        .gated()
        .spawn(move |_| User06Writer {
            map: map_root(&me, 0, 0),
            view: squash(&read_or_empty(&format!("/proc/{me}/uid_map"))),
        })?;
    unshare(NEWUSER).step("create the nested user namespace")?;
    let w: User06Writer = writer.result()?;
    facts(&User06 {
        map: w.map,
        own_map,
        parent_view: w.view,
        self_view: squash(&read_or_empty("/proc/self/uid_map")),
    })
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
            outside_view = squash(&read_or_empty(&format!("/proc/{pid}/uid_map")));
        }
        Ok(())
    })?;
    let f: User06 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "writing `0 0 1` to the nested namespace's maps",
        OK,
        f.map.as_str(),
    );
    e.eq(
        "nested map read by its own member (parent namespace's ids)",
        "0 0 1",
        f.self_view.as_str(),
    );
    e.eq(
        "nested map read from its parent namespace",
        "0 0 1",
        f.parent_view.as_str(),
    );
    e.eq(
        "nested map read from the initial namespace (the real uid)",
        format!("0 {outer} 1"),
        outside_view.clone(),
    );
    e.eq(
        "own map read inside (the parent namespace's ids)",
        format!("0 {outer} 1"),
        f.own_map.clone(),
    );
    Ok(e.verdict("field 2 follows the opener's namespace")
        .with_observed(json!({
            "self_view": f.self_view,
            "parent_view": f.parent_view,
            "initial_view": outside_view,
        })))
}

// ---------------------------------------------------------------------------------
/// USER-07: each map file can be written once.
/// user_namespaces(7) "Defining user and group ID mappings: writing to uid_map and gid_map".
pub const USER_07: Property = Property {
    id: "USER-07",
    area: Area::User,
    title: "uid_map and gid_map can each be written once; a second write fails with EPERM",
    man:
        "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_07_inside),
    check: user_07_check,
};
const USER_07_EXPECTED: &[(&str, &str)] = &[
    ("uid_first", OK),
    ("uid_second", "EPERM"),
    ("gid_first", OK),
    ("gid_second", "EPERM"),
];

fn user_07_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let mut c = map_target(user_flag(cx)?)?;
    let uid = format!("0 {u} 1\n");
    let gid = format!("0 {g} 1\n");
    let mut t = Table::new();
    t.set("uid_first", write_res(&c.proc("uid_map"), uid.as_bytes()));
    t.set("uid_second", write_res(&c.proc("uid_map"), uid.as_bytes()));
    let _ = write_res(&c.proc("setgroups"), b"deny");
    t.set("gid_first", write_res(&c.proc("gid_map"), gid.as_bytes()));
    t.set("gid_second", write_res(&c.proc("gid_map"), gid.as_bytes()));
    c.result::<()>()?;
    facts(&t)
}

fn user_07_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_self_made(cx, true)?;
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "errno of first and second writes to uid_map, then gid_map",
        USER_07_EXPECTED,
    );
    Ok(
        e.verdict("each map is written once; the second write is EPERM")
            .with_errno("EPERM")
            .with_observed(json!({"writes": in_order(&f, &cases(USER_07_EXPECTED))})),
    )
}

// ---------------------------------------------------------------------------------
/// USER-08: malformed map writes fail with EINVAL; a trailing NUL ends the input.
/// user_namespaces(7) "Defining user and group ID mappings: writing to uid_map and gid_map".
pub const USER_08: Property = Property {
    id: "USER-08",
    area: Area::User,
    title: "Malformed map writes fail with EINVAL (field count, zero length, non-numeric, overlaps, wrap-around, too many lines, page size, offset != 0, empty line); pwrite() fails with ESPIPE; a NUL ends the input",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns08; OTH:~GV TrailingNewlineAndNULIgnored",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
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

#[derive(Serialize, Deserialize, Debug)]
struct User08 {
    /// The malformed writes (each expected EINVAL), and `offset 1`.
    cases: Table,
    nul: String,
    map: String,
    u: u32,
    pwrite: String,
}

fn user_08_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::unix::fs::FileExt;
    let (u, _) = euid_egid();
    let mut c = map_target(user_flag(cx)?)?;
    let path = c.proc("uid_map");
    let mut cases = Table::new();
    for (name, data) in user_08_cases(u) {
        cases.set(name, write_res(&path, &data));
    }
    // The map files are seq_files, which clear FMODE_PWRITE (fs/seq_file.c seq_open):
    // pwrite() is refused before the map code sees it (ESPIPE). Then seek and write.
    let (pwrite, offset) = match std::fs::OpenOptions::new().write(true).open(&path) {
        Ok(mut f) => {
            use std::io::{Seek, SeekFrom, Write};
            let pwrite = io_res(f.write_at(format!("0 {u} 1\n").as_bytes(), 1));
            let offset = io_res(
                f.seek(SeekFrom::Start(1))
                    .and_then(|_| f.write(format!("0 {u} 1\n").as_bytes())),
            );
            (pwrite, offset)
        }
        Err(e) => {
            let errno = crate::kit::io_errno(&e);
            (errno.clone(), errno)
        }
    };
    cases.set("offset 1", offset);
    let nul = write_res(&path, format!("0 {u} 1\n\0junk").as_bytes());
    let map = squash(&read_or_empty(&path));
    c.result::<()>()?;
    facts(&User08 {
        cases,
        nul,
        map,
        u,
        pwrite,
    })
}

fn user_08_check(cx: &mut Cx) -> CheckResult {
    let f: User08 = run_self_made(cx, true)?;
    let expected: Vec<(&str, &str)> = user_08_cases(0)
        .iter()
        .map(|(name, _)| *name)
        .chain(["offset 1"])
        .map(|name| (name, "EINVAL"))
        .collect();
    let mut e = Expect::new();
    f.cases.judge(&mut e, "errno of the write", &expected);
    e.eq(
        "pwrite of a valid line at offset 1 (a seq_file refuses pwrite)",
        "ESPIPE",
        f.pwrite.as_str(),
    );
    e.eq("a valid line followed by NUL and junk", OK, f.nul.as_str());
    e.eq(
        "map after the NUL-terminated write",
        format!("0 {} 1", f.u),
        f.map.clone(),
    );
    Ok(e.verdict("malformed writes are EINVAL, NUL ends input")
        .with_errno("EINVAL")
        .with_observed(
            json!({"cases": f.cases, "nul_terminated_write": f.nul, "pwrite_at_1": f.pwrite}),
        ))
}

// ---------------------------------------------------------------------------------
/// USER-09: map writes are refused (EPERM) from a namespace that is neither the target
/// nor its parent, and for outside ids unmapped in the parent.
/// user_namespaces(7) "Defining user and group ID mappings: writing to uid_map and gid_map".
pub const USER_09: Property = Property {
    id: "USER-09",
    area: Area::User,
    title: "Map writes fail with EPERM when the writer is in neither the target nor its parent namespace, or maps an id unmapped in the parent",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 5).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:~GV MapOtherIDPrivileged",
    controls: &[Control::NoNewUser, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_09_inside),
    check: user_09_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User09 {
    map: String,
    c: User09Writer,
}

#[derive(Serialize, Deserialize, Debug)]
struct User09Writer {
    sibling: String,
    unmapped: String,
    mapped: String,
    grand: User09Grand,
}

/// The writer with capabilities over the target but outside it and its parent: the
/// writer is root in A, B is a child of A, the target C a child of B.
#[derive(Serialize, Deserialize, Debug)]
struct User09Grand {
    /// The writer's (root in A) effective capability mask, or why it is unreadable.
    writer_capeff: Result<u64, String>,
    /// Mapping B (`0 0 1`) from A.
    map_b: String,
    /// User namespace inodes: A (the writer's), B, and the parent of C (NS_GET_PARENT
    /// of C) and of B, or the errno of the ioctl.
    a: Option<u64>,
    b: Option<u64>,
    c_parent: Result<u64, String>,
    b_parent: Result<u64, String>,
    /// `0 0 1` written to C's uid_map by the writer in A, then by C's parent (in B).
    from_grandparent: String,
    from_parent: String,
}

/// What B (C's parent) saw: NS_GET_PARENT of C, and its own write of C's uid_map.
#[derive(Serialize, Deserialize, Debug)]
struct User09B {
    c_parent: Result<u64, String>,
    from_parent: String,
}

/// NS_GET_PARENT of `/proc/<pid>/ns/user`: the parent's inode or the error.
fn user_parent_of(pid: i32) -> Result<u64, String> {
    crate::kit::nsfd::open_ns(pid, crate::ns::Ns::User)
        .map_err(|e| e.to_string())
        .and_then(|fd| crate::kit::nsops::ioctl_ino(&fd, crate::ns::NS_GET_PARENT))
}

/// Inside the writer (root in A): make B, map it, let B make C, and write C's uid_map
/// first from A, then from B.
fn user_09_grand(flags: CloneFlags) -> Result<User09Grand, StepError> {
    use crate::kit::child::{ping, pipe, recv_value, send_line, wait_ping};
    use std::os::fd::AsRawFd;
    const B: &str = "be the middle user namespace B";
    let (pid_r, pid_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (pid_w_fd, go_r_fd) = (pid_w.as_raw_fd(), go_r.as_raw_fd());
    let mut b =
        Fork::new(B)
            .unshare(flags)
            .gated()
            .spawn(move |_| -> Result<User09B, StepError> {
                let mut c = map_target(flags)?;
                let c_pid = c.pid().as_raw();
                let c_parent = user_parent_of(c_pid);
                send_line(&pid_w_fd, &c_pid);
                // Wait until the writer in A has tried C's map, then try it from here.
                wait_ping(&go_r_fd);
                let from_parent = write_res(&c.proc("uid_map"), b"0 0 1\n");
                c.result::<()>()?;
                Ok(User09B {
                    c_parent,
                    from_parent,
                })
            })?;
    drop((pid_w, go_r));
    let map_b = map_root(&b.pid().to_string(), 0, 0);
    let b_ino = crate::kit::nsops::ino(b.pid(), crate::ns::Ns::User);
    let b_parent = user_parent_of(b.pid().as_raw());
    b.release();
    let Some(c_pid) = recv_value::<i32>(&pid_r) else {
        // B ended before naming C: its result says why.
        b.result::<Result<User09B, StepError>>()??;
        return Err(StepError::new(
            B,
            None,
            "the helper named no target namespace C",
        ));
    };
    let from_grandparent = write_res(&format!("/proc/{c_pid}/uid_map"), b"0 0 1\n");
    ping(&go_w);
    let from_b = b.result::<Result<User09B, StepError>>()??;
    Ok(User09Grand {
        writer_capeff: crate::kit::proc::cap_eff().map_err(|e| e.to_string()),
        map_b,
        a: own_user_ns(),
        b: b_ino,
        c_parent: from_b.c_parent,
        b_parent,
        from_grandparent,
        from_parent: from_b.from_parent,
    })
}

fn user_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let flags = user_flag(cx)?;
    let mut sibling = map_target(flags)?;
    let target = sibling.proc("uid_map");
    let mut c = Fork::new("write maps from a child namespace")
        .unshare(flags)
        .gated()
        .spawn(move |_| -> Result<User09Writer, StepError> {
            let from_sibling = write_res(&target, b"0 0 1\n");
            let mut gc = map_target(flags)?;
            let unmapped = write_res(&gc.proc("uid_map"), b"0 5 1\n");
            let mapped = write_res(&gc.proc("uid_map"), b"0 0 1\n");
            gc.result::<()>()?;
            Ok(User09Writer {
                sibling: from_sibling,
                unmapped,
                mapped,
                grand: user_09_grand(flags)?,
            })
        })?;
    let map = map_root(&c.pid().to_string(), u, g);
    let r: User09Writer = c.result::<Result<User09Writer, StepError>>()??;
    sibling.result::<()>()?;
    facts(&User09 { map, c: r })
}

fn user_09_check(cx: &mut Cx) -> CheckResult {
    use crate::kit::proc::CAP_SETUID;
    let f: User09 = run_self_made(cx, true)?;
    let c = &f.c;
    let g = &c.grand;
    let setuid = match &g.writer_capeff {
        Ok(m) => m & (1 << CAP_SETUID) != 0,
        Err(why) => {
            return Err(Verdict::error(format!(
                "the writer's capabilities in A: {why}"
            )))
        }
    };
    let ino = |i: Option<u64>| i.map_or_else(|| "unreadable".to_string(), |i| i.to_string());
    let parent = |p: &Result<u64, String>| match p {
        Ok(i) => i.to_string(),
        Err(e) => e.clone(),
    };
    let mut e = Expect::new();
    e.eq("mapping the first namespace", OK, f.map.as_str());
    e.eq(
        "write to a sibling namespace's uid_map",
        "EPERM",
        c.sibling.as_str(),
    );
    e.eq(
        "map an id unmapped in the parent (`0 5 1`)",
        "EPERM",
        c.unmapped.as_str(),
    );
    e.eq(
        "map an id mapped in the parent (`0 0 1`)",
        OK,
        c.mapped.as_str(),
    );
    e.eq(
        "mapping B, a child of the writer's namespace A",
        OK,
        g.map_b.as_str(),
    );
    e.eq("the writer (root in A) holds CAP_SETUID", true, setuid);
    e.that(
        "B's parent is the writer's namespace A",
        g.a.is_some() && g.b_parent.as_ref().ok() == g.a.as_ref(),
        format!("A = {}", ino(g.a)),
        parent(&g.b_parent),
    );
    e.that(
        "the target C's parent is B",
        g.b.is_some() && g.c_parent.as_ref().ok() == g.b.as_ref(),
        format!("B = {}", ino(g.b)),
        parent(&g.c_parent),
    );
    e.eq(
        "write to C's uid_map from its grandparent A, with CAP_SETUID over C",
        "EPERM",
        g.from_grandparent.as_str(),
    );
    e.eq(
        "the same write from C's parent B",
        OK,
        g.from_parent.as_str(),
    );
    Ok(
        e.verdict("only the target's or parent's members may write, with mapped ids")
            .with_errno("EPERM")
            .with_observed(json!({
                "sibling_write": c.sibling,
                "unmapped_outside_id": c.unmapped,
                "mapped_outside_id": c.mapped,
                "grandparent_writer_caps": g.writer_capeff.as_ref().map_or_else(|e| e.clone(), |m| cap_names(*m)),
                "grandparent_write": g.from_grandparent,
                "parent_write_of_the_same_line": g.from_parent,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-10: an unprivileged writer may map exactly its own euid/egid in one line.
/// user_namespaces(7) "Defining user and group ID mappings: writing to uid_map and gid_map".
pub const USER_10: Property = Property {
    id: "USER-10",
    area: Area::User,
    title: "An unprivileged writer may write exactly one line mapping its own euid (egid); any other id, a second line or a longer range fails with EPERM",
    man: "user_namespaces(7) \"Defining user and group ID mappings: writing to uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:GV MapOtherID,IdentityMapOwnID; LTP:~userns02,userns03",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_10_inside),
    check: user_10_check,
};
fn user_10_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let mut c = map_target(user_flag(cx)?)?;
    let um = c.proc("uid_map");
    let gm = c.proc("gid_map");
    let mut t = Table::new();
    t.set(
        "other_uid",
        write_res(&um, format!("0 {} 1\n", u + 1).as_bytes()),
    );
    t.set(
        "two_lines",
        write_res(&um, format!("0 {u} 1\n1 {} 1\n", u + 1).as_bytes()),
    );
    t.set("range", write_res(&um, format!("0 {u} 2\n").as_bytes()));
    t.set("own_uid", write_res(&um, format!("0 {u} 1\n").as_bytes()));
    let _ = write_res(&c.proc("setgroups"), b"deny");
    t.set(
        "other_gid",
        write_res(&gm, format!("0 {} 1\n", g + 1).as_bytes()),
    );
    t.set("own_gid", write_res(&gm, format!("0 {g} 1\n").as_bytes()));
    c.result::<()>()?;
    facts(&t)
}

fn user_10_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_self_made(cx, true)?;
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "errno of the map write",
        &[
            ("other_uid", "EPERM"),
            ("two_lines", "EPERM"),
            ("range", "EPERM"),
            ("own_uid", OK),
            ("other_gid", "EPERM"),
            ("own_gid", OK),
        ],
    );
    Ok(e.verdict("only the own id, one line")
        .with_errno("EPERM")
        .with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// USER-11: an unprivileged gid_map write needs `deny` in setgroups first.
/// user_namespaces(7) "Interaction with system calls that change process UIDs or GIDs"; proc(5) /proc/[pid]/setgroups.
pub const USER_11: Property = Property {
    id: "USER-11",
    area: Area::User,
    title: "An unprivileged gid_map write fails with EPERM until `deny` is written to /proc/PID/setgroups",
    man: "user_namespaces(7) \"Interaction with system calls that change process UIDs or GIDs\"; proc(5) /proc/[pid]/setgroups",
    prereq: Prereq::ROOTLESS.kernel(3, 19).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns03; OTH:GV",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_11_inside),
    check: user_11_check,
};
const USER_11_EXPECTED: &[(&str, &str)] = &[
    ("gid_before_deny", "EPERM"),
    ("uid", OK),
    ("deny", OK),
    ("gid_after_deny", OK),
];

fn user_11_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let mut c = map_target(user_flag(cx)?)?;
    let gid = format!("0 {g} 1\n");
    let mut t = Table::new();
    t.set(
        "gid_before_deny",
        write_res(&c.proc("gid_map"), gid.as_bytes()),
    );
    t.set(
        "uid",
        write_res(&c.proc("uid_map"), format!("0 {u} 1\n").as_bytes()),
    );
    t.set("deny", write_res(&c.proc("setgroups"), b"deny"));
    t.set(
        "gid_after_deny",
        write_res(&c.proc("gid_map"), gid.as_bytes()),
    );
    c.result::<()>()?;
    facts(&t)
}

fn user_11_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_self_made(cx, true)?;
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "errno of: gid_map before deny, uid_map, writing deny, gid_map after deny",
        USER_11_EXPECTED,
    );
    Ok(e.verdict("gid_map needs setgroups=deny first")
        .with_errno("EPERM")
        .with_observed(json!({"writes": in_order(&f, &cases(USER_11_EXPECTED))})))
}

// ---------------------------------------------------------------------------------
/// USER-12: the rules of /proc/PID/setgroups.
/// user_namespaces(7) "The /proc/[pid]/setgroups file".
pub const USER_12: Property = Property {
    id: "USER-12",
    area: Area::User,
    title: "setgroups reads `allow` initially; `deny` cannot go back to `allow` nor be written after gid_map (EPERM); it is inherited by child namespaces; setgroups(2) fails with EPERM while denied or before gid_map",
    man: "user_namespaces(7) \"The /proc/[pid]/setgroups file\"",
    prereq: Prereq::ROOTLESS.kernel(3, 19).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns03 (deny->allow only)",
    controls: &[Control::NoNewUser, Control::Fault(Call::Setid)],
    calls: &[Call::Unshare, Call::Setid, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_12_inside),
    check: user_12_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User12 {
    initial: String,
    deny: String,
    allow_after_deny: String,
    maps: String,
    deny_after_gid_map: String,
    inner: User12Inner,
    before_map: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct User12Inner {
    setgroups_denied: String,
    child_setgroups: String,
}

fn user_12_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let flags = user_flag(cx)?;
    let mut early = Fork::new("setgroups(2) before gid_map")
        .unshare(flags)
        .gated()
        .spawn(|_| res(nix::unistd::setgroups(&[])))?;
    let mut c = Fork::new("setgroups(2) while denied")
        .unshare(flags)
        .gated()
        .spawn(move |_| -> Result<User12Inner, StepError> {
            let setgroups_denied = res(nix::unistd::setgroups(&[]));
            let child_setgroups = Fork::new("read a child namespace's setgroups")
                .unshare(flags)
                .run(|_| read_or_empty("/proc/self/setgroups"))?;
            Ok(User12Inner {
                setgroups_denied,
                child_setgroups,
            })
        })?;
    let sg = c.proc("setgroups");
    let initial = read_or_empty(&sg);
    let deny = write_res(&sg, b"deny");
    let allow = write_res(&sg, b"allow");
    let maps = map_root(&c.pid().to_string(), u, g);
    let deny_after_map = write_res(&sg, b"deny");
    let inner = c.result::<Result<User12Inner, StepError>>()??;
    let before_map: String = early.result()?;
    facts(&User12 {
        initial,
        deny,
        allow_after_deny: allow,
        maps,
        deny_after_gid_map: deny_after_map,
        inner,
        before_map,
    })
}

fn user_12_check(cx: &mut Cx) -> CheckResult {
    let f: User12 = run_self_made(cx, true)?;
    let mut e = Expect::new();
    e.eq("initial setgroups", "allow", f.initial.as_str());
    e.eq("writing deny", OK, f.deny.as_str());
    e.eq(
        "writing allow after deny",
        "EPERM",
        f.allow_after_deny.as_str(),
    );
    e.eq("writing the maps", OK, f.maps.as_str());
    e.eq(
        "writing deny after gid_map",
        "EPERM",
        f.deny_after_gid_map.as_str(),
    );
    e.eq(
        "setgroups(2) while denied",
        "EPERM",
        f.inner.setgroups_denied.as_str(),
    );
    e.eq(
        "setgroups of a child namespace (inherited)",
        "deny",
        f.inner.child_setgroups.as_str(),
    );
    e.eq(
        "setgroups(2) before gid_map",
        "EPERM",
        f.before_map.as_str(),
    );
    Ok(e.verdict("setgroups file rules hold")
        .with_errno("EPERM")
        .with_observed(json!({
            "initial": f.initial,
            "allow_after_deny": f.allow_after_deny,
            "deny_after_gid_map": f.deny_after_gid_map,
            "setgroups_syscall_denied": f.inner.setgroups_denied,
            "child_inherits": f.inner.child_setgroups,
            "setgroups_syscall_before_map": f.before_map,
        })))
}

// ---------------------------------------------------------------------------------
/// USER-13: mapping parent uid 0 needs CAP_SETFCAP.
/// user_namespaces(7) "Defining user and group ID mappings" rule 4.
pub const USER_13: Property = Property {
    id: "USER-13",
    area: Area::User,
    title: "A uid_map covering parent uid 0 needs CAP_SETFCAP: in the writer when it is in the parent namespace, in the creator at creation time when the writer is inside; else EPERM",
    man: "user_namespaces(7) \"Defining user and group ID mappings\" rule 4",
    prereq: Prereq::ROOT.kernel(5, 12).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Unshare, Call::Capabilities],
    global: false,
    subject: None,
    inside: Some(user_13_inside),
    check: user_13_check,
};
/// CAP_SETFCAP.
const CAP_SETFCAP: u32 = 31;

const USER_13_EXPECTED: &[(&str, &str)] = &[
    ("parent_without", "EPERM"),
    ("parent_with", OK),
    ("creator_without", "EPERM"),
    ("creator_with", OK),
];

fn user_13_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx)?;
    let mut c = map_target(flags)?;
    let target = c.proc("uid_map");
    let t = target.clone();
    let mut out = Table::new();
    let parent_without = Fork::new("map uid 0 without CAP_SETFCAP").run(
        move |_| -> Result<String, StepError> {
            drop_caps(&[CAP_SETFCAP]).step("drop CAP_SETFCAP")?;
            Ok(write_res(&t, b"0 0 1\n"))
        },
    )??;
    out.set("parent_without", parent_without);
    out.set("parent_with", write_res(&target, b"0 0 1\n"));
    c.result::<()>()?;
    let own = |drop: bool| -> Result<String, StepError> {
        Fork::new("map uid 0 in an own user namespace").run(
            move |_| -> Result<String, StepError> {
                if drop {
                    drop_caps(&[CAP_SETFCAP]).step("drop CAP_SETFCAP")?;
                }
                if !flags.is_empty() {
                    unshare(flags).step("unshare(CLONE_NEWUSER)")?;
                }
                let _ = write_res("/proc/self/setgroups", b"deny");
                Ok(write_res("/proc/self/uid_map", b"0 0 1\n"))
            },
        )?
    };
    out.set("creator_without", own(true)?);
    out.set("creator_with", own(false)?);
    facts(&out)
}

fn user_13_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_self_made(cx, false)?;
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "errno mapping uid 0 (parent writer without/with CAP_SETFCAP, creator without/with it)",
        USER_13_EXPECTED,
    );
    Ok(e.verdict("mapping uid 0 needs CAP_SETFCAP")
        .with_errno("EPERM")
        .with_observed(json!({"writes": in_order(&f, &cases(USER_13_EXPECTED))})))
}

// ---------------------------------------------------------------------------------
/// USER-14: user namespaces nest to a fixed depth; the next level is refused.
/// user_namespaces(7) "Nested namespaces, namespace membership"; unshare(2) ERRORS.
pub const USER_14: Property = Property {
    id: "USER-14",
    area: Area::User,
    title: "User namespaces nest 33 levels below the initial one (the kernel refuses a parent of level > 32; the man page says 32); the next unshare(CLONE_NEWUSER) fails with ENOSPC (EUSERS before 4.9)",
    man: "user_namespaces(7) \"Nested namespaces, namespace membership\"; unshare(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(3, 11).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns07 (reaches 32 only)",
    controls: &[Control::NoNewUser, Control::Fault(Call::Unshare), Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_14_inside),
    check: user_14_check,
};
/// Deepest user namespace level below the initial one: create_user_ns() refuses when
/// the parent's level is above 32, so level 33 is the last one made (user_namespaces(7)
/// says "32 levels"; measured on 6.18: 33 unshares succeed, the 34th is ENOSPC).
pub const MAX_USER_NS_LEVEL: u64 = 33;

#[derive(Serialize, Deserialize, Debug)]
struct User14 {
    created: u64,
    /// The last unshare: the errno of the refused level ([`OK`] when none was refused).
    refused: String,
    /// [`OK`], or the errno of the first map write refused on the way down.
    map: String,
}

fn user_14_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx)?;
    let (u0, g0) = euid_egid();
    let f = Fork::new("nest user namespaces").run(move |_| {
        let (mut u, mut g) = (u0, g0);
        let mut f = User14 {
            created: 0,
            refused: OK.to_string(),
            map: OK.to_string(),
        };
        while !flags.is_empty() && f.created <= 40 {
            if let Err(e) = unshare(flags) {
                f.refused = errno_name(e);
                break;
            }
            f.created += 1;
            let m = map_root("self", u, g);
            if m != OK {
                f.map = m;
                break;
            }
            (u, g) = (0, 0);
        }
        f
    })?;
    facts(&f)
}

fn user_14_check(cx: &mut Cx) -> CheckResult {
    let f: User14 = run_self_made(cx, false)?;
    let expected_errno = match cx.env.version {
        Some(v) if v < crate::env::KernelVersion(4, 9, 0) => "EUSERS",
        _ => "ENOSPC",
    };
    let created = f.created;
    let mut e = Expect::new();
    e.eq("mapping each level", OK, f.map.as_str());
    e.eq("nested user namespaces created", MAX_USER_NS_LEVEL, created);
    e.eq(
        "errno of the refused level",
        expected_errno,
        f.refused.as_str(),
    );
    Ok(
        e.verdict(&format!("{created} levels nest, the next is refused"))
            .with_errno(f.refused.clone())
            .with_observed(json!({"levels": created, "refused_errno": f.refused})),
    )
}

// ---------------------------------------------------------------------------------
/// USER-15: the owner of a user namespace has all capabilities in it from the parent
/// namespace; NS_GET_OWNER_UID names it.
/// user_namespaces(7) "Capabilities" rule 3; ioctl_ns(2) NS_GET_OWNER_UID.
pub const USER_15: Property = Property {
    id: "USER-15",
    area: Area::User,
    title: "A parent-namespace process whose euid is the recorded owner has all capabilities in the child user namespace (it may setns into it); NS_GET_OWNER_UID returns that owner",
    man: "user_namespaces(7) \"Capabilities\" rule 3; ioctl_ns(2) NS_GET_OWNER_UID",
    prereq: Prereq::ROOTLESS.kernel(4, 11).config(&["CONFIG_USER_NS"]),
    coverage: "OTH:~UL lsns/ioctl_ns; LTP:~ioctl_ns03",
    controls: &[Control::NoNewUser, Control::Fault(Call::Setns), Control::Fault(Call::NsIoctl), Control::Fault(Call::Getid)],
    calls: &[Call::Setns, Call::NsIoctl, Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_15_inside),
    check: user_15_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User15 {
    owner: u32,
    ioctl: String,
    u: u32,
    helper: User15Helper,
}

#[derive(Serialize, Deserialize, Debug)]
struct User15Helper {
    setns: String,
    before: u64,
    after: u64,
    bnd: u64,
}

fn user_15_inside(cx: &Inside) -> Result<Value, StepError> {
    use std::os::fd::AsRawFd;
    let (u, _) = euid_egid();
    let mut c = map_target(user_flag(cx)?)?;
    let path = c.proc("ns/user");
    let ns = std::fs::File::open(&path).step("open the child's ns/user")?;
    let (owner, ioctl) = match crate::ns::owner_uid(ns.as_raw_fd()) {
        Ok(o) => (o, OK.to_string()),
        Err(e) => (u32::MAX, errno_name(e)),
    };
    let helper = Fork::new("join the child namespace as its owner").run(move |_| {
        let (before, _, _) = caps();
        let setns = res(nix::sched::setns(&ns, NEWUSER));
        let (after, _, bnd) = caps();
        User15Helper {
            setns,
            before,
            after,
            bnd,
        }
    })?;
    c.result::<()>()?;
    facts(&User15 {
        owner,
        ioctl,
        u,
        helper,
    })
}

fn user_15_check(cx: &mut Cx) -> CheckResult {
    let f: User15 = run_self_made(cx, true)?;
    let mut e = Expect::new();
    e.eq("NS_GET_OWNER_UID", OK, f.ioctl.as_str());
    e.eq("owner uid reported (the creator's euid)", f.u, f.owner);
    e.eq(
        "setns() into the child namespace by another process with the owner's euid",
        OK,
        f.helper.setns.as_str(),
    );
    e.eq(
        "capabilities after joining (full)",
        cap_names(f.helper.bnd),
        cap_names(f.helper.after),
    );
    Ok(
        e.verdict("the owner has all capabilities in the child namespace")
            .with_observed(json!({
                "owner_uid": f.owner,
                "creator_euid": f.u,
                "setns_by_owner": f.helper.setns,
                "caps_before_join": cap_names(f.helper.before),
                "caps_after_join": cap_names(f.helper.after),
                "bounding_set": cap_names(f.helper.bnd),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-16: capabilities in a non-initial user namespace grant no global operation.
/// user_namespaces(7) "Effect of capabilities within a user namespace".
pub const USER_16: Property = Property {
    id: "USER-16",
    area: Area::User,
    title: "Root of a non-initial user namespace gets EPERM for global operations: settimeofday, mknod of a device, finit_module, mounting a block-device filesystem",
    man: "user_namespaces(7) \"Effect of capabilities within a user namespace\"",
    prereq: Prereq::ROOTLESS
        .kernel(3, 8)
        .config(&["CONFIG_USER_NS"])
        .modules(&[KernelModule::EXT4]),
    coverage: "new",
    controls: &[Control::NoNewUser, Control::Fault(Call::Mount)],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(user_16_inside),
    check: user_16_check,
};
fn user_16_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?;
    let mut t = Table::new();
    // Both pointers NULL: only the permission check runs, nothing is set (raw syscall:
    // glibc's wrapper dereferences a NULL timeval).
    let null = std::ptr::null::<libc::c_void>();
    // SAFETY: settimeofday(2) with two NULL pointers reads and writes no memory.
    let settime = unsafe { libc::syscall(libc::SYS_settimeofday, null, null) };
    t.set("settimeofday", sys_res(settime));
    t.set(
        "mknod",
        res(nix::sys::stat::mknod(
            &dir.join("null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            nix::sys::stat::makedev(1, 3),
        )),
    );
    // SAFETY: fd -1 and an empty C string: the capability check comes first, then EBADF.
    let module = unsafe { libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0) };
    t.set("finit_module", sys_res(module));
    let target = dir.join("m");
    std::fs::create_dir(&target).step("create a mount point")?;
    t.set(
        "mount_ext4",
        res(nix::mount::mount(
            Some("none"),
            &target,
            Some("ext4"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )),
    );
    facts(&t)
}

fn user_16_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user().mnt());
    cx.scratch_for(&mut l)?;
    let f: Table = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts()?;
    // A kernel without CONFIG_MODULES has no finit_module at all (ENOSYS).
    let module = if f.get("finit_module") == Some("ENOSYS") {
        "ENOSYS"
    } else {
        "EPERM"
    };
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "errno of settimeofday, mknod(c 1:3), finit_module, mount ext4",
        &[
            ("settimeofday", "EPERM"),
            ("mknod", "EPERM"),
            ("finit_module", module),
            ("mount_ext4", "EPERM"),
        ],
    );
    Ok(e.verdict("no global operation is granted")
        .with_errno("EPERM")
        .with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// USER-17: execve() in a user namespace recomputes capabilities from the ns uid.
/// user_namespaces(7) "Capabilities"; capabilities(7) "Transformation of capabilities during execve()".
pub const USER_17: Property = Property {
    id: "USER-17",
    area: Area::User,
    title: "execve() in a user namespace recomputes capabilities: ns uid 0 keeps the full set, a non-zero ns uid without file capabilities ends with none",
    man: "user_namespaces(7) \"Capabilities\"; capabilities(7) \"Transformation of capabilities during execve()\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns06",
    controls: &[Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Wait, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_17_inside),
    check: user_17_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User17 {
    uid0: User17Exec,
    uid5: User17Exec,
}

/// What `cat /proc/self/status` printed after execve as one ns uid.
#[derive(Serialize, Deserialize, Debug)]
struct User17Exec {
    map: String,
    uid: String,
    eff: u64,
    bnd: u64,
    prm: u64,
}

fn user_17_inside(cx: &Inside) -> Result<Value, StepError> {
    let args: CatArgs = cx.args()?;
    let flags = args.made.user();
    let (u, g) = euid_egid();
    let run_as = |inside_id: u32| -> Result<User17Exec, StepError> {
        let cat = args.cat.clone();
        let mut c = Fork::new(format!("exec cat as ns uid {inside_id}"))
            .unshare(flags)
            .gated()
            .spawn(move |fd| exec_to(fd, &[&cat, "/proc/self/status"]))?;
        let _ = write_res(&c.proc("setgroups"), b"deny");
        let map = write_maps(
            &c,
            format!("{inside_id} {u} 1\n").as_bytes(),
            format!("{inside_id} {g} 1\n").as_bytes(),
        );
        let status = printed_status(&c.output()?.0);
        let s = status.as_ref();
        Ok(User17Exec {
            map,
            uid: uid_line(s),
            eff: s.map_or(0, |s| s.capeff),
            bnd: s.and_then(|s| s.capbnd).unwrap_or(0),
            prm: s.map_or(0, |s| s.capprm),
        })
    };
    facts(&User17 {
        uid0: run_as(0)?,
        uid5: run_as(5)?,
    })
}

fn user_17_check(cx: &mut Cx) -> CheckResult {
    let cat = cat_path()?;
    let (l, made) = cx.self_made(Launch::host().user(), false);
    let args = json!(CatArgs {
        made: SelfMade::of(made)?,
        cat,
    });
    let f: User17 = cx.run_exact(l, args, |_| Ok(()))?.facts()?;
    let (r, n) = (&f.uid0, &f.uid5);
    let mut e = Expect::new();
    e.eq("mapping for ns uid 0", OK, r.map.as_str());
    e.eq("mapping for ns uid 5", OK, n.map.as_str());
    e.eq(
        "effective set after execve as ns uid 0 (the bounding set)",
        r.bnd,
        r.eff,
    );
    e.eq("effective set after execve as ns uid 5", 0, n.eff);
    e.eq("permitted set after execve as ns uid 5", 0, n.prm);
    Ok(
        e.verdict("ns root keeps all capabilities across execve, others lose them")
            .with_observed(json!({
                "uid0_eff_after_exec": cap_names(r.eff),
                "uid0_bnd_after_exec": cap_names(r.bnd),
                "uid5_eff_after_exec": cap_names(n.eff),
                "uid5_uid_line": n.uid,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-18: securebits are reset by entering a new user namespace.
/// user_namespaces(7) "Capabilities"; capabilities(7) "The securebits flags".
pub const USER_18: Property = Property {
    id: "USER-18",
    area: Area::User,
    title: "Securebits are reset to 0 by unshare(CLONE_NEWUSER)",
    man: "user_namespaces(7) \"Capabilities\"; capabilities(7) \"The securebits flags\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(user_18_inside),
    check: user_18_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User18 {
    after: i64,
    before: i64,
    set: String,
}

fn securebits() -> i64 {
    // SAFETY: prctl(PR_GET_SECUREBITS) takes integers only (nix has no wrapper).
    unsafe { libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0) as i64 }
}

fn user_18_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = user_flag(cx)?;
    let f = Fork::new("set securebits, then unshare(CLONE_NEWUSER)").run(
        move |_| -> Result<User18, StepError> {
            // SECBIT_NOROOT (1); setting it needs CAP_SETPCAP in the current namespace.
            // SAFETY: prctl(PR_SET_SECUREBITS) takes integers only (nix has no wrapper).
            let set = sys_res(unsafe { libc::prctl(libc::PR_SET_SECUREBITS, 1, 0, 0, 0) });
            let before = securebits();
            if !flags.is_empty() {
                unshare(flags).step("unshare(CLONE_NEWUSER)")?;
            }
            Ok(User18 {
                set,
                before,
                after: securebits(),
            })
        },
    )??;
    facts(&f)
}

fn user_18_check(cx: &mut Cx) -> CheckResult {
    let (mut l, args) = cx.self_made(Launch::host().user(), false);
    if cx.rootless() {
        // Setting securebits needs CAP_SETPCAP: do it as root of a user namespace.
        l.user = true;
        l.map_root = true;
    }
    let f: User18 = cx.run_exact(l, args, |_| Ok(()))?.facts()?;
    let mut e = Expect::new();
    e.eq("setting SECBIT_NOROOT", OK, f.set.as_str());
    e.eq("securebits before unshare", 1, f.before);
    e.eq("securebits after unshare(CLONE_NEWUSER)", 0, f.after);
    Ok(e.verdict("securebits reset to 0").with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// USER-19: set*id() calls accept only mapped ids.
/// user_namespaces(7) "Interaction with system calls that change process UIDs or GIDs".
pub const USER_19: Property = Property {
    id: "USER-19",
    area: Area::User,
    title: "setuid()/setgid() fail with EINVAL before the maps exist; afterwards only mapped ids are accepted",
    man: "user_namespaces(7) \"Interaction with system calls that change process UIDs or GIDs\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns02 (positive only)",
    controls: &[Control::NoNewUser, Control::Fault(Call::Setid), Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Setid, Call::Getid],
    global: false,
    subject: None,
    inside: Some(user_19_inside),
    check: user_19_check,
};
/// setuid(id), setgid(id) for each id: their results.
fn set_ids(ids: &[u32]) -> Vec<[String; 2]> {
    use nix::unistd::{setgid, setuid, Gid, Uid};
    ids.iter()
        .map(|&i| [res(setuid(Uid::from_raw(i))), res(setgid(Gid::from_raw(i)))])
        .collect()
}

#[derive(Serialize, Deserialize, Debug)]
struct User19 {
    unmapped: Vec<[String; 2]>,
    map: String,
    mapped: Vec<[String; 2]>,
}

fn user_19_inside(cx: &Inside) -> Result<Value, StepError> {
    let (u, g) = euid_egid();
    let flags = user_flag(cx)?;
    let unmapped = Fork::new("set*id before any map")
        .unshare(flags)
        .run(|_| set_ids(&[0]))?;
    let mut c = Fork::new("set*id after the maps")
        .unshare(flags)
        .gated()
        .spawn(|_| set_ids(&[1, 0]))?;
    let map = map_root(&c.pid().to_string(), u, g);
    let mapped = c.result()?;
    facts(&User19 {
        unmapped,
        map,
        mapped,
    })
}

fn user_19_check(cx: &mut Cx) -> CheckResult {
    let f: User19 = run_self_made(cx, true)?;
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    let mut e = Expect::new();
    e.eq("writing the maps", OK, f.map.as_str());
    e.eq(
        "setuid(0), setgid(0) before any map",
        vec![pair("EINVAL", "EINVAL")],
        f.unmapped.clone(),
    );
    e.eq(
        "setuid/setgid of unmapped 1, then mapped 0, after `0 <id> 1` maps",
        vec![pair("EINVAL", "EINVAL"), pair(OK, OK)],
        f.mapped.clone(),
    );
    Ok(e.verdict("only mapped ids are accepted")
        .with_errno("EINVAL")
        .with_observed(json!({"before_maps": f.unmapped, "after_maps": f.mapped})))
}

// ---------------------------------------------------------------------------------
/// USER-20: unmapped ids read as the overflow ids; an unmapped map field reads -1.
/// user_namespaces(7) "Unmapped user and group IDs".
pub const USER_20: Property = Property {
    id: "USER-20",
    area: Area::User,
    title: "Unmapped ids show as the overflow uid/gid in stat() and /proc/PID/status, while an unmapped field 2 of a map file reads 4294967295",
    man: "user_namespaces(7) \"Unmapped user and group IDs\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns01 (getuid only)",
    controls: &[Control::NoNewUser],
    calls: &[],
    global: false,
    subject: None,
    inside: Some(user_20_inside),
    check: user_20_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User20 {
    root_dir: [u32; 2],
    init_uid: String,
    init_uid_map: String,
}

fn user_20_inside(_: &Inside) -> Result<Value, StepError> {
    let st = nix::sys::stat::stat("/").step("stat /")?;
    let init = status("1").ok();
    facts(&User20 {
        root_dir: [st.st_uid, st.st_gid],
        init_uid: uid_line(init.as_ref()),
        init_uid_map: squash(&read_or_empty("/proc/1/uid_map")),
    })
}

fn user_20_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user());
    if l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let f: User20 = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts()?;
    let (ou, og) = (cx.env.overflowuid, cx.env.overflowgid);
    let overflow_line = format!("{ou} {ou} {ou} {ou}");
    let mut e = Expect::new();
    e.eq("owner of / (root, unmapped)", [ou, og], f.root_dir);
    e.eq(
        "Uid line of PID 1",
        overflow_line.clone(),
        f.init_uid.clone(),
    );
    e.eq(
        "initial namespace's uid_map read inside (field 2 unmapped)",
        "0 4294967295 4294967295",
        f.init_uid_map.as_str(),
    );
    Ok(
        e.verdict("unmapped ids read as overflow ids; map field 2 as -1")
            .with_observed(json!({
                "root_dir_owner": f.root_dir,
                "init_uid_line": f.init_uid,
                "init_uid_map": f.init_uid_map,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// USER-21: set-user-ID bits of files whose owner is unmapped are ignored.
/// user_namespaces(7) "Set-user-ID and set-group-ID programs".
pub const USER_21: Property = Property {
    id: "USER-21",
    area: Area::User,
    title: "execve() of a set-user-ID file whose owner (or group) is unmapped in the caller's user namespace ignores the set-user-ID bit",
    man: "user_namespaces(7) \"Set-user-ID and set-group-ID programs\"",
    prereq: Prereq::ROOT.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Wait],
    global: false,
    subject: None,
    inside: Some(user_21_inside),
    check: user_21_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User21 {
    uid: String,
}

fn user_21_inside(cx: &Inside) -> Result<Value, StepError> {
    let prog = cx.workdir()?.join("suid-cat").display().to_string();
    let mut c = Fork::new("exec the set-user-ID copy of cat")
        .spawn(move |fd| exec_to(fd, &[&prog, "/proc/self/status"]))?;
    let status = printed_status(&c.output()?.0);
    facts(&User21 {
        uid: uid_line(status.as_ref()),
    })
}

fn user_21_check(cx: &mut Cx) -> CheckResult {
    use std::os::unix::fs::PermissionsExt;
    let cat = cat_path()?;
    let mut l = cx.prepare(Launch::host().user());
    l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    let dir = cx.scratch_for(&mut l)?;
    refuse_nosuid(&dir)?;
    let prog = dir.join("suid-cat");
    std::fs::copy(&cat, &prog)
        .and_then(|_| std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o4755)))
        .map_err(|e| Verdict::error(format!("make a set-user-ID copy of cat: {e}")))?;
    let f: User21 = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts()?;
    let mut e = Expect::new();
    e.eq(
        "Uid line after exec of a root-owned set-user-ID file (real, effective, saved, fs)",
        "0 0 0 0",
        f.uid.as_str(),
    );
    Ok(e.verdict("set-user-ID bit of an unmapped owner ignored")
        .with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// USER-22: file capabilities apply only to files whose ids are mapped.
/// user_namespaces(7) "Interaction of user namespaces and other types of namespaces"; capabilities(7).
pub const USER_22: Property = Property {
    id: "USER-22",
    area: Area::User,
    title: "CAP_DAC_OVERRIDE in a user namespace applies only to files whose uid and gid are both mapped; CAP_FOWNER needs only the uid mapped",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"; capabilities(7)",
    prereq: Prereq::ROOT.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Unshare],
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

/// The USER-22 cases (an operation on one of [`USER_22_FILES`]) and their results.
const USER_22_EXPECTED: &[(&str, &str)] = &[
    ("open 0000 file (uid+gid mapped)", OK),
    ("open 0000 file (gid unmapped)", "EACCES"),
    ("chmod foreign file (uid mapped)", OK),
    ("chmod foreign file (uid unmapped)", "EPERM"),
];

#[derive(Serialize, Deserialize, Debug)]
struct User22 {
    map: String,
    results: Table,
}

fn user_22_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?.display().to_string();
    let mut c = Fork::new("act on files as root of the namespace")
        .unshare(user_flag(cx)?)
        .gated()
        .spawn(move |_| {
            let p = |n: &str| format!("{dir}/{n}");
            let open = |n: &str| io_res(std::fs::File::open(p(n)));
            let chmod = |n: &str| {
                res(nix::sys::stat::fchmodat(
                    nix::fcntl::AT_FDCWD,
                    p(n).as_str(),
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                ))
            };
            let results = [
                open("both-mapped"),
                open("gid-unmapped"),
                chmod("uid-only"),
                chmod("uid-unmapped"),
            ];
            USER_22_EXPECTED
                .iter()
                .zip(results)
                .map(|((case, _), r)| (*case, r))
                .collect::<Table>()
        })?;
    let map = write_maps(&c, b"0 100000 10\n", b"0 100000 10\n");
    let results: Table = c.result()?;
    facts(&User22 { map, results })
}

fn user_22_check(cx: &mut Cx) -> CheckResult {
    use std::os::unix::fs::PermissionsExt;
    let (mut l, args) = cx.self_made(Launch::host().user(), false);
    let dir = cx.scratch_for(&mut l)?;
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
    let f: User22 = cx.run_exact(l, args, |_| Ok(()))?.facts()?;
    let mut e = Expect::new();
    e.eq("writing the maps", OK, f.map.as_str());
    f.results.judge(&mut e, "result", USER_22_EXPECTED);
    Ok(e.verdict("capabilities apply only over mapped files")
        .with_observed(json!({"results": in_order(&f.results, &cases(USER_22_EXPECTED))})))
}

// ---------------------------------------------------------------------------------
/// USER-23: namespaced file capabilities (v3 xattr with the namespace root's id).
/// capabilities(7) "Namespaced file capabilities".
pub const USER_23: Property = Property {
    id: "USER-23",
    area: Area::User,
    title: "A security.capability xattr set inside a user namespace is stored as v3 with the namespace root's uid as rootid, and confers its capabilities in namespaces below that root",
    man: "capabilities(7) \"Namespaced file capabilities\"",
    prereq: Prereq::ROOTLESS.kernel(4, 14).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Unshare, Call::Wait],
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
    // SAFETY: valid C strings and a buffer of the length passed (no nix wrapper).
    let n = unsafe {
        libc::getxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(errno_name(nix::errno::Errno::last()));
    }
    Ok(buf[..n as usize].to_vec())
}

#[derive(Serialize, Deserialize, Debug)]
struct User23Args {
    cat: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct User23 {
    set: String,
    map: String,
    inside_len: Option<usize>,
    eff: u64,
}

fn user_23_inside(cx: &Inside) -> Result<Value, StepError> {
    let cat = cx.args::<User23Args>()?.cat;
    let prog = cx.workdir()?.join("fcap-cat").display().to_string();
    std::fs::copy(&cat, &prog).step("copy cat")?;
    // struct vfs_cap_data v2: magic | effective flag, then permitted/inheritable x2.
    let mut v2 = Vec::new();
    for word in [0x0200_0001u32, 1 << CAP_NET_RAW, 0, 0, 0] {
        v2.extend_from_slice(&word.to_le_bytes());
    }
    let p = std::ffi::CString::new(prog.clone()).unwrap_or_default();
    // SAFETY: valid C strings and a buffer of the length passed (no nix wrapper).
    let set = sys_res(unsafe {
        libc::setxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            v2.as_ptr().cast(),
            v2.len(),
            0,
        )
    });
    let inside_len = getxattr_cap(&prog).map(|b| b.len()).ok();
    // Executed as uid 5 of a child namespace (`5 0 1`): below the namespace root.
    let mut c = Fork::new("exec the file-capability copy of cat as uid 5")
        .unshare(NEWUSER)
        .gated()
        .spawn(move |fd| exec_to(fd, &[&prog, "/proc/self/status"]))?;
    let _ = write_res(&c.proc("setgroups"), b"deny");
    let map = write_maps(&c, b"5 0 1\n", b"5 0 1\n");
    let status = printed_status(&c.output()?.0);
    facts(&User23 {
        set,
        map,
        inside_len,
        eff: status.map_or(0, |s| s.capeff),
    })
}

fn user_23_check(cx: &mut Cx) -> CheckResult {
    let cat = cat_path()?;
    let mut l = cx.prepare(Launch::host().user());
    if l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = l.drop_to.map_or(cx.outer_ids().0, |(u, _)| u);
    let dir = cx.scratch_for(&mut l)?;
    refuse_nosuid(&dir)?;
    let f: User23 = cx
        .run_exact(l, json!(User23Args { cat }), |_| Ok(()))?
        .facts()?;
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
    e.eq("setxattr security.capability inside", OK, f.set.as_str());
    e.eq("mapping the child namespace `5 0 1`", OK, f.map.as_str());
    e.eq("xattr revision seen from the initial namespace", 3, version);
    e.eq(
        "rootid of the stored xattr (the namespace root's uid)",
        Some(outer),
        rootid,
    );
    e.eq(
        "effective set after execve as uid 5 of a child namespace",
        1u64 << CAP_NET_RAW,
        f.eff,
    );
    Ok(e.verdict("namespaced file capabilities work as documented")
        .with_observed(json!({
            "revision_outside": version,
            "rootid": rootid,
            "size_inside": f.inside_len,
            "eff_below_root": cap_names(f.eff),
        })))
}

// ---------------------------------------------------------------------------------
/// USER-24: which filesystems root of a user namespace may mount.
/// user_namespaces(7) "Interaction of user namespaces and other types of namespaces".
pub const USER_24: Property = Property {
    id: "USER-24",
    area: Area::User,
    title: "Root of a user namespace owning the mount namespace can mount tmpfs, ramfs, devpts, mqueue (own IPC ns), proc (own PID ns), sysfs (own net ns), cgroup2, overlay (5.11+); a plain mount(2) of bpf or a block-device filesystem gives EPERM",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"",
    prereq: Prereq::ROOTLESS
        .kernel(4, 6)
        .config(&["CONFIG_USER_NS"])
        .modules(&[KernelModule::EXT4, KernelModule::OVERLAY]),
    coverage: "OTH:~BW (proc, tmpfs, devpts, overlay); KST:~mount/unprivileged-remount-test",
    controls: &[Control::NoNewUser, Control::Fault(Call::Mount)],
    calls: &[Call::Mount],
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
    let mut out = Table::new();
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
        out.set(*fstype, res(r));
    }
    facts(&out)
}

fn user_24_check(cx: &mut Cx) -> CheckResult {
    let mut l = cx.prepare(Launch::host().user().pid().mnt().ipc().net().cgroup());
    cx.scratch_for(&mut l)?;
    let f: Table = cx.run_exact(l, Value::Null, |_| Ok(()))?.facts()?;
    let v = cx.env.version;
    let since = |a, b| v >= Some(crate::env::KernelVersion(a, b, 0));
    let expected: Vec<(&str, &str)> = USER_24_FS
        .iter()
        .map(|fstype| {
            let want = match *fstype {
                "ext4" => "EPERM",
                "overlay" if !since(5, 11) => "EPERM",
                // bpffs is FS_USERNS_MOUNT since 6.9 only for token delegation: creating
                // the superblock still needs CAP_SYS_ADMIN in the initial namespace
                // (measured on 6.18: EPERM).
                "bpf" => "EPERM",
                _ => OK,
            };
            (*fstype, want)
        })
        .collect();
    let mut e = Expect::new();
    f.judge(&mut e, "mount", &expected);
    let seen: Table = USER_24_FS
        .iter()
        .map(|fstype| (*fstype, f.get(fstype).unwrap_or("not run")))
        .collect();
    Ok(
        e.verdict("user-namespace mountable filesystems as documented")
            .with_observed(json!(seen)),
    )
}

// ---------------------------------------------------------------------------------
/// USER-25: projid_map follows the map-file rules but needs no CAP_SETUID.
/// user_namespaces(7) "User and group ID mappings: uid_map and gid_map" (projid_map).
pub const USER_25: Property = Property {
    id: "USER-25",
    area: Area::User,
    title: "projid_map follows the map-file format (EINVAL) and write-once (EPERM) rules, but an unprivileged owner may map any range (no CAP_SETUID check); SCM_CREDENTIALS translation is not checked here",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\" (projid_map)",
    prereq: Prereq::ROOTLESS.kernel(3, 7).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(user_25_inside),
    check: user_25_check,
};
const USER_25_EXPECTED: &[(&str, &str)] =
    &[("bad_format", "EINVAL"), ("range", OK), ("second", "EPERM")];

#[derive(Serialize, Deserialize, Debug)]
struct User25 {
    writes: Table,
    read: String,
}

fn user_25_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut c = map_target(user_flag(cx)?)?;
    let p = c.proc("projid_map");
    let mut writes = Table::new();
    writes.set("bad_format", write_res(&p, b"0 0\n"));
    writes.set("range", write_res(&p, b"0 0 10\n"));
    writes.set("second", write_res(&p, b"0 0 10\n"));
    let read = squash(&read_or_empty(&p));
    c.result::<()>()?;
    facts(&User25 { writes, read })
}

fn user_25_check(cx: &mut Cx) -> CheckResult {
    let f: User25 = run_self_made(cx, true)?;
    let mut e = Expect::new();
    f.writes.judge(
        &mut e,
        "errno of: two fields, `0 0 10` by an unprivileged owner, a second write",
        USER_25_EXPECTED,
    );
    e.eq("projid_map read back", "0 0 10", f.read.as_str());
    Ok(e.verdict("projid_map rules hold")
        .with_observed(json!({"writes": in_order(&f.writes, &cases(USER_25_EXPECTED))})))
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
    controls: &[Control::NoUserMap, Control::NoNewUser, Control::Fault(Call::Getid)],
    calls: &[Call::Getid],
    global: false,
    subject: Some(crate::spec::SubjectCheck::required(user_26_subject)),
    inside: Some(user_26_inside),
    check: user_26_check,
};
#[derive(Serialize, Deserialize, Debug)]
struct User26 {
    ids: Ids,
    /// Owner of the created file as stat(2) shows it inside.
    file_uid_inside: Option<u32>,
    /// Creating the file: [`OK`] or its errno (EOVERFLOW for an unmapped fsuid).
    create: String,
}

fn user_26_inside(cx: &Inside) -> Result<Value, StepError> {
    let path = cx.workdir()?.join("created-inside");
    let create = io_res(std::fs::write(&path, b"x"));
    let file_uid_inside = if create == OK {
        std::fs::metadata(&path).ok().map(|m| m.uid())
    } else {
        None
    };
    facts(&User26 {
        ids: ids(),
        file_uid_inside,
        create,
    })
}

fn user_26_check(cx: &mut Cx) -> CheckResult {
    let mut launch = cx.prepare(Launch::host().user());
    // A privileged harness drops to a plain uid so "outside" differs from "inside".
    if launch.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        launch.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = launch.drop_to.map_or_else(|| cx.outer_ids().0, |(u, _)| u);
    let dir = cx.scratch_for(&mut launch)?;
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
    e.eq("file creation inside", OK, f.create.as_str());
    e.eq("owner of the file seen inside", Some(0), f.file_uid_inside);
    e.eq(
        "owner of the file seen from the host (the real uid)",
        Some(outer),
        outside_owner,
    );
    Ok(e.verdict("root inside, the real uid outside")
        .with_observed(json!({
            "uid_inside": f.ids.uid,
            "uid_map": squash(&f.ids.uid_map),
            "file_owner_inside": f.file_uid_inside,
            "file_owner_outside": outside_owner,
            "create": f.create,
        })))
}

/// USER-26 for a subject: the probe is in a new user namespace whose uid_map (read from
/// outside) maps root inside to an id outside, and it runs as root there.
fn user_26_subject(o: &SubjectObservation) -> Verdict {
    use crate::observation::{map_id, parse_id_map};
    let own_ns = o.outside.ns_differs.get("user").copied().unwrap_or(false);
    let mut e = Expect::new();
    e.eq(
        "user namespace differs from the host's (seen from outside)",
        true,
        own_ns,
    );
    // Every line of the map, as the harness reads it from outside.
    let (root_outside, map_text) = match parse_id_map(&o.outside.uid_map) {
        Ok(map) => (
            map_id(&map, 0),
            map.iter()
                .map(|x| format!("{} {} {}", x.inside, x.outside, x.count))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(why) => (None, why),
    };
    e.that(
        "uid_map maps root inside (read from outside)",
        root_outside.is_some(),
        "a line mapping uid 0 inside",
        if map_text.is_empty() {
            "empty (no uid_map written)".to_string()
        } else {
            map_text.clone()
        },
    );
    // Root inside must not be root outside: a map `0 0 N` gives the container the
    // host's root (and nothing the kernel isolates would stop it).
    if let Some(x) = root_outside {
        e.that(
            "root inside maps to an unprivileged id outside",
            x != 0,
            "an id other than 0",
            format!("uid {x}"),
        );
    }
    e.verdict("root inside a new user namespace, mapped to an unprivileged id outside")
        .with_observed(json!({
            "own_user_ns": own_ns,
            "root_mapped": root_outside.is_some(),
            "root_is_host_root": root_outside == Some(0),
            "report_agrees": o.report.as_ref().map(|r| r.view.uid == 0),
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn u03(id: u32, root_owner: (u32, u32)) -> User03 {
        User03 {
            ids: Ids {
                uid: id,
                euid: id,
                gid: id,
                egid: id,
                uid_map: String::new(),
                gid_map: String::new(),
            },
            root_owner,
        }
    }

    #[test]
    fn user_03_is_not_fooled_by_a_process_that_is_uid_65534() {
        let nobody = (65534, 65534);
        // In a user namespace that maps nothing: pass.
        let v = user_03_judge(&u03(65534, nobody), nobody, (0, 0), true);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        // uid 65534 without a user namespace: its ids equal the overflow ids, but it is
        // in the harness's namespace and / is still root's.
        let v = user_03_judge(&u03(65534, (0, 0)), nobody, (0, 0), false);
        assert!(
            v.detail.starts_with("user namespace of the probe"),
            "{}",
            v.detail
        );
        let v = user_03_judge(&u03(65534, (0, 0)), nobody, (0, 0), true);
        assert!(
            v.detail.starts_with("owner uid and gid of /"),
            "{}",
            v.detail
        );
    }

    fn with_map(map: &str) -> SubjectObservation {
        let mut o = SubjectObservation::default();
        o.outside.ns_differs.insert("user".into(), true);
        o.outside.uid_map = map.into();
        o
    }

    #[test]
    fn user_26_refuses_maps_that_make_root_host_root() {
        for bad in ["0 0 1", "         0          0 4294967295", "", "0 x 1"] {
            let v = user_26_subject(&with_map(bad));
            assert_eq!(v.outcome, Outcome::Fail, "{bad:?}: {v:?}");
        }
        let mut shared = with_map("0 100000 65536");
        shared.outside.ns_differs.insert("user".into(), false);
        assert_eq!(user_26_subject(&shared).outcome, Outcome::Fail);
    }

    #[test]
    fn user_26_reads_every_map_line() {
        for good in ["0 100000 65536", "1000 0 1\n0 100000 1000\n", "0 65534 1\n"] {
            let v = user_26_subject(&with_map(good));
            assert_eq!(v.outcome, Outcome::Pass, "{good:?}: {v:?}");
        }
    }
}
