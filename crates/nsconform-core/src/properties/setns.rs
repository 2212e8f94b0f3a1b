//! SETNS properties: setns(2).

use crate::harness::Cx;
use crate::kit::child::Fork;
use crate::kit::fact::io_res;
use crate::kit::nsfd::{dev_ino, open, open_ns, pidfd_open, setns_res};
use crate::kit::nsops::{held, ino, ioctl_ino, spawn_idle_thread, unshare_step};
use crate::kit::proc::{cap_eff, cap_names, limit_effective_caps, CAP_SYS_ADMIN, CAP_SYS_CHROOT};
use crate::kit::userns::new_user_ns;
use crate::kit::{facts, res, Table, OK};
use crate::ns::{Ioctl, Ns};
use crate::outcome::Expect;
use crate::probe::{errno_name, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::CloneFlags;
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub const ALL: &[Property] = &[
    SETNS_01, SETNS_02, SETNS_03, SETNS_04, SETNS_05, SETNS_06, SETNS_07, SETNS_08, SETNS_09,
    SETNS_10, SETNS_11, SETNS_12, SETNS_13, SETNS_14, SETNS_15, SETNS_16,
];

/// Run the property under `launch`, judge its errno table against `expected`.
fn table_check(
    cx: &mut Cx,
    launch: Launch,
    expected: &[(&str, &str)],
    summary: &str,
) -> CheckResult {
    let run = cx.run(launch, Value::Null)?;
    let f: Table = run.facts()?;
    let mut e = Expect::new();
    f.judge(&mut e, "result", expected);
    Ok(e.verdict(summary).with_observed(json!(f)))
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The inode of a `/proc/<who>/ns` entry by name (`pid_for_children` too).
fn entry_ino(who: impl std::fmt::Display, name: &str) -> Option<u64> {
    dev_ino(&format!("/proc/{who}/ns/{name}")).ok().map(|d| d.1)
}

/// `"same"` or `"differs"`: how two per-run values (namespace inodes, PIDs) compared.
fn vs(same: bool) -> String {
    if same { "same" } else { "differs" }.to_string()
}

/// unshare(`flags`) when `on`.
fn unshare_if(on: bool, flags: CloneFlags) -> Result<(), StepError> {
    unshare_step(if on { flags } else { CloneFlags::empty() })
}

const TARGET_HOSTNAME: &str = "nsconform-setns";

// ---------------------------------------------------------------------------------
/// SETNS-01: setns(fd, 0) and setns(fd, CLONE_NEWUTS) on a UTS ns file join it and the
/// target's hostname becomes visible. setns(2) DESCRIPTION.
pub const SETNS_01: Property = Property {
    id: "SETNS-01",
    area: Area::Setns,
    title: "setns(fd, 0) and setns(fd, CLONE_NEWUTS) on a UTS ns file join it and the target's hostname becomes visible",
    man: "setns(2) DESCRIPTION",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "LTP:setns02; KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::Fault(Call::Setns), Control::Fault(Call::Uname)],
    calls: &[Call::Setns, Call::Unshare, Call::Sethostname, Call::Uname, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_01_inside),
    check: setns_01_check,
};

fn setns_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.uts;
    let (target, ()) = held("make a UTS ns with a hostname", move || {
        if new {
            unshare_step(CloneFlags::CLONE_NEWUTS)?;
            nix::unistd::sethostname(TARGET_HOSTNAME).step("sethostname")?;
        }
        Ok(())
    })?;
    let fd = open(&target.ns_path(Ns::Uts))?;
    let raw = fd.as_raw_fd();
    let mut t = Table::new();
    for (case, nstype) in [("nstype 0", 0), ("nstype CLONE_NEWUTS", libc::CLONE_NEWUTS)] {
        let (r, h): (String, String) =
            Fork::new("join the UTS ns").run(move |_| (setns_res(&raw, nstype), hostname()))?;
        t.set(format!("setns {case}"), r);
        t.set(format!("hostname after {case}"), h);
    }
    facts(&t)
}

fn setns_01_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().uts(),
        &[
            ("setns nstype 0", OK),
            ("hostname after nstype 0", TARGET_HOSTNAME),
            ("setns nstype CLONE_NEWUTS", OK),
            ("hostname after nstype CLONE_NEWUTS", TARGET_HOSTNAME),
        ],
        "setns joins the ns file's namespace",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-02: setns() with an nstype naming a different type than the ns file fails with
/// EINVAL. setns(2) ERRORS EINVAL.
pub const SETNS_02: Property = Property {
    id: "SETNS-02",
    area: Area::Setns,
    title: "setns() with an nstype naming a different type than the ns file fails with EINVAL",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:setns01",
    controls: &[Control::Fault(Call::Setns)],
    calls: &[Call::Setns],
    global: false,
    subject: None,
    inside: Some(setns_02_inside),
    check: setns_02_check,
};

const MISMATCH: [(&str, Ns, Ns); 4] = [
    ("uts fd, CLONE_NEWIPC", Ns::Uts, Ns::Ipc),
    ("ipc fd, CLONE_NEWNET", Ns::Ipc, Ns::Net),
    ("net fd, CLONE_NEWUTS", Ns::Net, Ns::Uts),
    ("user fd, CLONE_NEWNS", Ns::User, Ns::Mnt),
];

fn setns_02_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (case, kind, nstype) in MISMATCH {
        let fd = open_ns("self", kind)?;
        t.set(
            case,
            Fork::new("setns").run(|_| setns_res(&fd, nstype.raw_flag()))?,
        );
    }
    facts(&t)
}

fn setns_02_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(&str, &str)> = MISMATCH.iter().map(|(c, _, _)| (*c, "EINVAL")).collect();
    table_check(cx, Launch::host().user(), &want, "type mismatch is EINVAL")
}

// ---------------------------------------------------------------------------------
/// SETNS-03: setns() on a descriptor that is neither an ns file nor a pidfd (regular file,
/// memfd) fails with EINVAL; on a closed descriptor with EBADF. setns(2) ERRORS EINVAL,
/// EBADF.
pub const SETNS_03: Property = Property {
    id: "SETNS-03",
    area: Area::Setns,
    title: "setns() on a descriptor that is neither an ns file nor a pidfd (regular file, memfd) fails with EINVAL; on a closed descriptor with EBADF",
    man: "setns(2) ERRORS EINVAL, EBADF",
    prereq: Prereq::ANY,
    coverage: "LTP:setns01; KST:pidfd/pidfd_setns_test",
    controls: &[Control::Fault(Call::Setns)],
    calls: &[Call::Setns],
    global: false,
    subject: None,
    inside: Some(setns_03_inside),
    check: setns_03_check,
};

fn setns_03_inside(_: &Inside) -> Result<Value, StepError> {
    let file = open("/proc/self/status")?;
    // memfd_create through libc: the workspace builds nix without its "memfd" feature.
    // SAFETY: the name is a valid C string; the flags are a constant.
    let raw = unsafe { libc::memfd_create(c"nsconform".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(nix::errno::Errno::last()).step("memfd_create");
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut t = Table::new();
    t.set("regular file", setns_res(&file, 0));
    t.set("memfd", setns_res(&memfd, 0));
    t.set("closed fd", setns_res(&987_654, 0));
    facts(&t)
}

fn setns_03_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host(),
        &[
            ("regular file", "EINVAL"),
            ("memfd", "EINVAL"),
            ("closed fd", "EBADF"),
        ],
        "non-namespace descriptors are refused",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-04: setns() on an ns file with a garbage nstype (-1, CLONE_VM) fails with EINVAL.
/// setns(2) ERRORS EINVAL.
pub const SETNS_04: Property = Property {
    id: "SETNS-04",
    area: Area::Setns,
    title: "setns() on an ns file with a garbage nstype (-1, CLONE_VM) fails with EINVAL",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ANY,
    coverage: "LTP:setns01",
    controls: &[Control::Fault(Call::Setns)],
    calls: &[Call::Setns],
    global: false,
    subject: None,
    inside: Some(setns_04_inside),
    check: setns_04_check,
};

fn setns_04_inside(_: &Inside) -> Result<Value, StepError> {
    let fd = open_ns("self", Ns::Uts)?;
    let mut t = Table::new();
    for (case, nstype) in [("nstype -1", -1), ("nstype CLONE_VM", libc::CLONE_VM)] {
        t.set(case, Fork::new("setns").run(|_| setns_res(&fd, nstype))?);
    }
    facts(&t)
}

fn setns_04_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host(),
        &[("nstype -1", "EINVAL"), ("nstype CLONE_VM", "EINVAL")],
        "garbage nstype is EINVAL",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-05: setns() fails with EPERM without CAP_SYS_ADMIN in the caller's user ns, or in
/// the user ns owning the target (a sibling user ns's UTS ns). setns(2) ERRORS EPERM.
pub const SETNS_05: Property = Property {
    id: "SETNS-05",
    area: Area::Setns,
    title: "setns() fails with EPERM without CAP_SYS_ADMIN in the caller's user ns, or in the user ns owning the target (a sibling user ns's UTS ns)",
    man: "setns(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:setns01,userns04; KST:pidfd/pidfd_setns_test",
    controls: &[Control::Fault(Call::Setns), Control::Fault(Call::Capabilities)],
    calls: &[Call::Setns, Call::Unshare, Call::Kill, Call::Getid, Call::Capabilities],
    global: false,
    subject: None,
    inside: Some(setns_05_inside),
    check: setns_05_check,
};

fn setns_05_inside(_: &Inside) -> Result<Value, StepError> {
    // A UTS ns owned by a sibling user ns, and one owned by the probe's own user ns.
    let (sibling, ()) = held("make a user ns and a UTS ns in it", || {
        new_user_ns()?;
        unshare_step(CloneFlags::CLONE_NEWUTS)
    })?;
    let (local, ()) = held("make a UTS ns", || unshare_step(CloneFlags::CLONE_NEWUTS))?;
    let sib_fd = open(&sibling.ns_path(Ns::Uts))?;
    let loc_fd = open(&local.ns_path(Ns::Uts))?;
    let (s, l) = (sib_fd.as_raw_fd(), loc_fd.as_raw_fd());
    let mut t = Table::new();
    t.set(
        "from a sibling user ns",
        Fork::new("setns from a sibling user ns").run(move |_| match new_user_ns() {
            Ok(()) => setns_res(&s, libc::CLONE_NEWUTS),
            Err(m) => m.to_string(),
        })?,
    );
    t.set(
        "without CAP_SYS_ADMIN",
        Fork::new("setns without CAP_SYS_ADMIN").run(move |_| {
            let keep = !(1u64 << CAP_SYS_ADMIN);
            match res(limit_effective_caps(keep)) {
                r if r == OK => setns_res(&l, libc::CLONE_NEWUTS),
                e => format!("capset {e}"),
            }
        })?,
    );
    t.set(
        "with CAP_SYS_ADMIN",
        Fork::new("setns").run(move |_| setns_res(&l, libc::CLONE_NEWUTS))?,
    );
    facts(&t)
}

fn setns_05_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[
            ("from a sibling user ns", "EPERM"),
            ("without CAP_SYS_ADMIN", "EPERM"),
            ("with CAP_SYS_ADMIN", OK),
        ],
        "setns needs CAP_SYS_ADMIN over caller and target",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-06: setns(pidfd, CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET) moves the caller into all
/// three of the target's namespaces at once; mask 0 or non-namespace bits (CLONE_VM) give
/// EINVAL. setns(2) "fd is a PID file descriptor".
pub const SETNS_06: Property = Property {
    id: "SETNS-06",
    area: Area::Setns,
    title: "setns(pidfd, CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET) moves the caller into all three of the target's namespaces at once; mask 0 or non-namespace bits (CLONE_VM) give EINVAL",
    man: "setns(2) \"fd is a PID file descriptor\"",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewIpc, Control::NoNewNet, Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Pidfd, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_06_inside),
    check: setns_06_check,
};

fn setns_06_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut flags = CloneFlags::empty();
    for (on, ns) in [
        (cx.launch.uts, Ns::Uts),
        (cx.launch.ipc, Ns::Ipc),
        (cx.launch.net, Ns::Net),
    ] {
        if on {
            flags |= ns.flag();
        }
    }
    let (target, ()) = held("make UTS, IPC and net namespaces", || unshare_step(flags))?;
    let pidfd = pidfd_open(target.pid().as_raw())?;
    let raw = pidfd.as_raw_fd();
    let tp = target.pid();
    let mut t = Table::new();
    let all = libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
    let moved: (String, Vec<String>) = Fork::new("setns(pidfd, UTS|IPC|NET)").run(move |_| {
        let kinds = [Ns::Uts, Ns::Ipc, Ns::Net, Ns::Mnt];
        let before: Vec<Option<u64>> = kinds.iter().map(|k| ino("self", *k)).collect();
        let r = setns_res(&raw, all);
        let mut joined = Vec::new();
        for (i, k) in kinds.iter().enumerate() {
            let now = ino("self", *k);
            if now != before[i] && now == ino(tp, *k) {
                joined.push(k.name().to_string());
            }
        }
        (r, joined)
    })?;
    t.set("setns UTS|IPC|NET", moved.0);
    t.set("namespaces changed", moved.1.join(","));
    for (case, mask) in [
        ("mask 0", 0),
        ("mask CLONE_VM", libc::CLONE_VM),
        (
            "mask CLONE_NEWUTS|CLONE_VM",
            libc::CLONE_NEWUTS | libc::CLONE_VM,
        ),
    ] {
        t.set(
            case,
            Fork::new("setns(pidfd)").run(move |_| setns_res(&raw, mask))?,
        );
    }
    facts(&t)
}

fn setns_06_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().uts().ipc().net(),
        &[
            ("setns UTS|IPC|NET", OK),
            ("namespaces changed", "uts,ipc,net"),
            ("mask 0", "EINVAL"),
            ("mask CLONE_VM", "EINVAL"),
            ("mask CLONE_NEWUTS|CLONE_VM", "EINVAL"),
        ],
        "a pidfd joins several namespaces at once",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-07: setns() on the pidfd of a process that exited and was reaped fails with ESRCH
/// and leaves the caller's namespaces alone. setns(2) ERRORS ESRCH.
pub const SETNS_07: Property = Property {
    id: "SETNS-07",
    area: Area::Setns,
    title: "setns() on the pidfd of a process that exited and was reaped fails with ESRCH and leaves the caller's namespaces alone",
    man: "setns(2) ERRORS ESRCH",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Pidfd, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_07_inside),
    check: setns_07_check,
};

fn setns_07_inside(_: &Inside) -> Result<Value, StepError> {
    let (mut target, ()) = held("make a UTS ns", || unshare_step(CloneFlags::CLONE_NEWUTS))?;
    let pidfd = pidfd_open(target.pid().as_raw())?;
    target.kill();
    let raw = pidfd.as_raw_fd();
    let (r, same): (String, bool) = Fork::new("setns(pidfd of a dead process)").run(move |_| {
        let before = ino("self", Ns::Uts);
        (
            setns_res(&raw, libc::CLONE_NEWUTS),
            ino("self", Ns::Uts) == before,
        )
    })?;
    let mut t = Table::new();
    t.set("setns", r);
    t.set("uts ns after vs before", vs(same));
    facts(&t)
}

fn setns_07_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[("setns", "ESRCH"), ("uts ns after vs before", "same")],
        "a reaped process's pidfd gives ESRCH",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-08: setns(pidfd, CLONE_NEWUTS|CLONE_NEWPID) where the PID part fails (target PID
/// ns is an ancestor: EINVAL) changes no namespace; the UTS part alone succeeds. setns(2)
/// "fd is a PID file descriptor" (atomic).
pub const SETNS_08: Property = Property {
    id: "SETNS-08",
    area: Area::Setns,
    title: "setns(pidfd, CLONE_NEWUTS|CLONE_NEWPID) where the PID part fails (target PID ns is an ancestor: EINVAL) changes no namespace; the UTS part alone succeeds",
    man: "setns(2) \"fd is a PID file descriptor\" (atomic)",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewPid, Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Pidfd, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_08_inside),
    check: setns_08_check,
};

fn setns_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let (uts, pid) = (cx.launch.uts, cx.launch.pid);
    let (target, ()) = held("make a UTS ns", || {
        unshare_if(uts, CloneFlags::CLONE_NEWUTS)
    })?;
    let pidfd = pidfd_open(target.pid().as_raw())?;
    let raw = pidfd.as_raw_fd();
    let t: Table = Fork::new("move below the target's PID ns").run(move |_| {
        if pid {
            if let Err(m) = unshare_step(CloneFlags::CLONE_NEWPID) {
                return [("unshare", m.to_string())].into_iter().collect();
            }
        }
        Fork::new("join from the deeper PID ns")
            .run(move |_| {
                let mut t = Table::new();
                let before = ino("self", Ns::Uts);
                t.set(
                    "setns UTS|PID",
                    setns_res(&raw, libc::CLONE_NEWUTS | libc::CLONE_NEWPID),
                );
                t.set(
                    "uts ns after the failure vs before",
                    vs(ino("self", Ns::Uts) == before),
                );
                t.set("setns UTS", setns_res(&raw, libc::CLONE_NEWUTS));
                t.set(
                    "uts ns after UTS alone vs before",
                    vs(ino("self", Ns::Uts) == before),
                );
                t
            })
            .unwrap_or_default()
    })?;
    facts(&t)
}

fn setns_08_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().uts().pid(),
        &[
            ("setns UTS|PID", "EINVAL"),
            ("uts ns after the failure vs before", "same"),
            ("setns UTS", OK),
            ("uts ns after UTS alone vs before", "differs"),
        ],
        "a failed pidfd setns changes nothing",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-09: Joining a child user ns works and grants all capabilities there; joining the
/// caller's own user ns is EINVAL; a sibling's or the parent user ns is EPERM. setns(2)
/// "User namespaces"; user_namespaces(7).
pub const SETNS_09: Property = Property {
    id: "SETNS-09",
    area: Area::Setns,
    title: "Joining a child user ns works and grants all capabilities there; joining the caller's own user ns is EINVAL; a sibling's or the parent user ns is EPERM",
    man: "setns(2) \"User namespaces\"; user_namespaces(7)",
    prereq: Prereq::ROOTLESS,
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Kill, Call::Getid],
    global: false,
    subject: None,
    inside: Some(setns_09_inside),
    check: setns_09_check,
};

fn setns_09_inside(_: &Inside) -> Result<Value, StepError> {
    let (child, ()) = held("make a child user ns", new_user_ns)?;
    let child_fd = open(&child.ns_path(Ns::User))?;
    let own_fd = open_ns("self", Ns::User)?;
    let (c, o) = (child_fd.as_raw_fd(), own_fd.as_raw_fd());
    let mut t = Table::new();
    let (r, caps): (String, String) = Fork::new("join the child user ns").run(move |_| {
        (
            setns_res(&c, libc::CLONE_NEWUSER),
            cap_eff().map_or_else(|e| e.to_string(), cap_names),
        )
    })?;
    t.set("join child", r);
    t.set("capabilities after joining", caps);
    t.set(
        "join own",
        Fork::new("join own user ns").run(move |_| setns_res(&o, libc::CLONE_NEWUSER))?,
    );
    t.set(
        "join sibling",
        Fork::new("join a sibling user ns").run(move |_| match new_user_ns() {
            Ok(()) => setns_res(&c, libc::CLONE_NEWUSER),
            Err(m) => m.to_string(),
        })?,
    );
    t.set(
        "join parent",
        Fork::new("join the parent user ns").run(move |_| match new_user_ns() {
            Ok(()) => setns_res(&o, libc::CLONE_NEWUSER),
            Err(m) => m.to_string(),
        })?,
    );
    facts(&t)
}

fn setns_09_check(cx: &mut Cx) -> CheckResult {
    // Every capability this kernel has (0 ..= cap_last_cap).
    let last_cap = crate::env::read_u32("/proc/sys/kernel/cap_last_cap").unwrap_or(40);
    let all = cap_names((1u64 << (last_cap + 1)) - 1);
    table_check(
        cx,
        Launch::host().user(),
        &[
            ("join child", OK),
            ("capabilities after joining", all.as_str()),
            ("join own", "EINVAL"),
            ("join sibling", "EPERM"),
            ("join parent", "EPERM"),
        ],
        "only descendant user namespaces can be joined",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-10: A multithreaded caller cannot join a user ns or a mount ns (EINVAL); the same
/// join works single-threaded. setns(2) ERRORS EINVAL.
pub const SETNS_10: Property = Property {
    id: "SETNS-10",
    area: Area::Setns,
    title: "A multithreaded caller cannot join a user ns or a mount ns (EINVAL); the same join works single-threaded",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[Control::Fault(Call::Setns), Control::Fault(Call::CloneNs)],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Kill, Call::Getid],
    global: false,
    subject: None,
    inside: Some(setns_10_inside),
    check: setns_10_check,
};

fn setns_10_inside(_: &Inside) -> Result<Value, StepError> {
    let (target, ()) = held("make a user ns with a mount ns", || {
        new_user_ns()?;
        unshare_step(CloneFlags::CLONE_NEWNS)
    })?;
    let user = open(&target.ns_path(Ns::User))?;
    let mnt = open(&target.ns_path(Ns::Mnt))?;
    let (u, m) = (user.as_raw_fd(), mnt.as_raw_fd());
    let mut t = Table::new();
    for (threads, label) in [(false, "single-threaded"), (true, "multithreaded")] {
        t.set(
            format!("{label} join user ns"),
            Fork::new("join a user ns").run(move |_| {
                if threads && !spawn_idle_thread() {
                    return "spawn failed".to_string();
                }
                setns_res(&u, libc::CLONE_NEWUSER)
            })?,
        );
        t.set(
            format!("{label} join mount ns"),
            Fork::new("join a mount ns").run(move |_| {
                if setns_res(&u, libc::CLONE_NEWUSER) != OK {
                    return "join owner failed".to_string();
                }
                if threads && !spawn_idle_thread() {
                    return "spawn failed".to_string();
                }
                setns_res(&m, libc::CLONE_NEWNS)
            })?,
        );
    }
    facts(&t)
}

fn setns_10_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[
            ("single-threaded join user ns", OK),
            ("single-threaded join mount ns", OK),
            ("multithreaded join user ns", "EINVAL"),
            ("multithreaded join mount ns", "EINVAL"),
        ],
        "threads block joining user and mount namespaces",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-11: A process sharing its fs_struct (created with CLONE_FS) cannot join a user ns
/// or a mount ns (EINVAL). setns(2) ERRORS EINVAL.
pub const SETNS_11: Property = Property {
    id: "SETNS-11",
    area: Area::Setns,
    title: "A process sharing its fs_struct (created with CLONE_FS) cannot join a user ns or a mount ns (EINVAL)",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[Control::Fault(Call::Setns), Control::Fault(Call::CloneNs)],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Kill, Call::Getid],
    global: false,
    subject: None,
    inside: Some(setns_11_inside),
    check: setns_11_check,
};

/// Run `f` in a process created with CLONE_FS by a throwaway child (so the shared
/// fs_struct is the throwaway's, never the probe's); its result.
fn with_clone_fs(f: impl FnOnce() -> String) -> Result<String, StepError> {
    Fork::new("clone a CLONE_FS sibling").run(|_| {
        Fork::new("share fs_struct with its parent")
            .clone_flags(libc::CLONE_FS as u64)
            .run(|_| f())
            .unwrap_or_else(|e| e.to_string())
    })
}

fn setns_11_inside(_: &Inside) -> Result<Value, StepError> {
    let (target, ()) = held("make a user ns and a mount ns", || {
        unshare_step(CloneFlags::CLONE_NEWNS)?;
        new_user_ns()
    })?;
    let user = open(&target.ns_path(Ns::User))?;
    let mnt = open(&target.ns_path(Ns::Mnt))?;
    let mut t = Table::new();
    t.set(
        "CLONE_FS sibling joins user ns",
        with_clone_fs(|| setns_res(&user, libc::CLONE_NEWUSER))?,
    );
    t.set(
        "CLONE_FS sibling joins mount ns",
        with_clone_fs(|| setns_res(&mnt, libc::CLONE_NEWNS))?,
    );
    t.set(
        "plain child joins mount ns",
        Fork::new("join a mount ns").run(|_| setns_res(&mnt, libc::CLONE_NEWNS))?,
    );
    facts(&t)
}

fn setns_11_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[
            ("CLONE_FS sibling joins user ns", "EINVAL"),
            ("CLONE_FS sibling joins mount ns", "EINVAL"),
            ("plain child joins mount ns", OK),
        ],
        "a shared fs_struct blocks joining user and mount namespaces",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-12: Joining a mount ns needs CAP_SYS_CHROOT and CAP_SYS_ADMIN (else EPERM, also
/// from a sibling user ns); afterwards cwd and root are the target ns root. setns(2) "Mount
/// namespaces".
pub const SETNS_12: Property = Property {
    id: "SETNS-12",
    area: Area::Setns,
    title: "Joining a mount ns needs CAP_SYS_CHROOT and CAP_SYS_ADMIN (else EPERM, also from a sibling user ns); afterwards cwd and root are the target ns root",
    man: "setns(2) \"Mount namespaces\"",
    prereq: Prereq::ROOTLESS,
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewMnt, Control::Fault(Call::Setns), Control::Fault(Call::Getid), Control::Fault(Call::Capabilities)],
    calls: &[Call::Setns, Call::Unshare, Call::Mount, Call::Kill, Call::Getid, Call::Capabilities],
    global: false,
    subject: None,
    inside: Some(setns_12_inside),
    check: setns_12_check,
};

fn setns_12_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?;
    let new = cx.launch.mnt;
    let (target, ()) = held("make a mount ns with a marked tmpfs", || {
        if new {
            unshare_step(CloneFlags::CLONE_NEWNS)?;
            nix::mount::mount(
                Some("nsconform-setns12"),
                &dir,
                Some("tmpfs"),
                nix::mount::MsFlags::empty(),
                Some("size=16k"),
            )
            .step("mount tmpfs")?;
            std::fs::write(dir.join("marker"), b"").step("write the marker")?;
        }
        Ok(())
    })?;
    let mnt = open(&target.ns_path(Ns::Mnt))?;
    let m = mnt.as_raw_fd();
    let mut t: Table = Fork::new("join the mount ns from a subdirectory").run(|_| {
        let mut t = Table::new();
        let _ = nix::unistd::chdir(&dir);
        t.set("join", setns_res(&m, libc::CLONE_NEWNS));
        t.set(
            "cwd",
            nix::unistd::getcwd().map_or_else(errno_name, |c| c.display().to_string()),
        );
        t.set(
            "stat of the marker in the target's tmpfs",
            io_res(std::fs::metadata(dir.join("marker"))),
        );
        t
    })?;
    for (label, cap) in [
        ("without CAP_SYS_CHROOT", CAP_SYS_CHROOT),
        ("without CAP_SYS_ADMIN", CAP_SYS_ADMIN),
    ] {
        t.set(
            label,
            Fork::new("join without a capability").run(|_| {
                match res(limit_effective_caps(!(1u64 << cap))) {
                    r if r == OK => setns_res(&m, libc::CLONE_NEWNS),
                    e => format!("capset {e}"),
                }
            })?,
        );
    }
    t.set(
        "from a sibling user ns",
        Fork::new("join from a sibling user ns").run(move |_| match new_user_ns() {
            Ok(()) => setns_res(&m, libc::CLONE_NEWNS),
            Err(e) => e.to_string(),
        })?,
    );
    facts(&t)
}

fn setns_12_check(cx: &mut Cx) -> CheckResult {
    let dir = cx.scratch_dir()?;
    let mut launch = Launch::host().user().mnt();
    launch.workdir = Some(dir.display().to_string());
    table_check(
        cx,
        launch,
        &[
            ("join", OK),
            ("cwd", "/"),
            ("stat of the marker in the target's tmpfs", OK),
            ("without CAP_SYS_CHROOT", "EPERM"),
            ("without CAP_SYS_ADMIN", "EPERM"),
            ("from a sibling user ns", "EPERM"),
        ],
        "mount ns joins need both capabilities and reset cwd",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-13: Joining a descendant PID ns changes only pid_for_children (getpid() unchanged;
/// the next child is in it); joining an ancestor PID ns is EINVAL. setns(2) "PID
/// namespaces"; pid_namespaces(7).
pub const SETNS_13: Property = Property {
    id: "SETNS-13",
    area: Area::Setns,
    title: "Joining a descendant PID ns changes only pid_for_children (getpid() unchanged; the next child is in it); joining an ancestor PID ns is EINVAL",
    man: "setns(2) \"PID namespaces\"; pid_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 12).config(&["CONFIG_PID_NS"]),
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewPid, Control::Fault(Call::Setns), Control::Fault(Call::Getpid)],
    calls: &[Call::Setns, Call::Unshare, Call::Kill, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(setns_13_inside),
    check: setns_13_check,
};

fn setns_13_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.pid;
    // The helper unshares CLONE_NEWPID and forks the init of the new ns, which holds.
    let (target, _init) = held("make a child PID ns with an init", || {
        unshare_if(new, CloneFlags::CLONE_NEWPID)?;
        let init = Fork::new("be the init of the child PID ns")
            .hold()
            .spawn(|_| ())?;
        let pid = init.pid().as_raw();
        // The init outlives this set-up (dropping it would kill it); it dies with the
        // helper (parent-death signal).
        std::mem::forget(init);
        Ok(pid)
    })?;
    let child_fd = open(&target.proc("ns/pid_for_children"))?;
    // The namespace joined: what pid_for_children and the next child must name.
    let joined = dev_ino(&target.proc("ns/pid_for_children"))?.1;
    let own_fd = open_ns("self", Ns::Pid)?;
    let (c, o) = (child_fd.as_raw_fd(), own_fd.as_raw_fd());
    let t: Table = Fork::new("join the child PID ns").run(move |_| {
        let mut t = Table::new();
        let pid = nix::unistd::getpid();
        let own = ino("self", Ns::Pid);
        t.set("join descendant", setns_res(&c, libc::CLONE_NEWPID));
        t.set("getpid() after vs before", vs(nix::unistd::getpid() == pid));
        t.set(
            "own pid ns after vs before",
            vs(ino("self", Ns::Pid) == own),
        );
        t.set(
            "pid_for_children vs the joined ns",
            vs(entry_ino("self", "pid_for_children") == Some(joined)),
        );
        let sub = Fork::new("fork into the joined ns and try the ancestor").run(move |_| {
            let mut t = Table::new();
            t.set(
                "child's pid ns vs the joined ns",
                vs(ino("self", Ns::Pid) == Some(joined)),
            );
            t.set(
                "getpid() of the next child",
                nix::unistd::getpid().as_raw().to_string(),
            );
            t.set("join ancestor", setns_res(&o, libc::CLONE_NEWPID));
            t
        });
        match sub {
            Ok(sub) => {
                t.set("fork into the joined ns", OK);
                t.0.extend(sub.0);
            }
            Err(e) => {
                t.set("fork into the joined ns", e.to_string());
            }
        }
        t
    })?;
    drop(target);
    facts(&t)
}

fn setns_13_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().pid(),
        &[
            ("join descendant", OK),
            ("getpid() after vs before", "same"),
            ("own pid ns after vs before", "same"),
            ("pid_for_children vs the joined ns", "same"),
            ("fork into the joined ns", OK),
            ("child's pid ns vs the joined ns", "same"),
            // The joined namespace holds only its init (PID 1): the next child is 2.
            ("getpid() of the next child", "2"),
            ("join ancestor", "EINVAL"),
        ],
        "PID ns joins move only future children, never upwards",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-14: Joining a cgroup ns changes only the caller's view of /proc/self/cgroup, never
/// its cgroup membership. setns(2) "Cgroup namespaces"; cgroup_namespaces(7).
pub const SETNS_14: Property = Property {
    id: "SETNS-14",
    area: Area::Setns,
    title: "Joining a cgroup ns changes only the caller's view of /proc/self/cgroup, never its cgroup membership",
    man: "setns(2) \"Cgroup namespaces\"; cgroup_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(&["CONFIG_CGROUPS"]),
    coverage: "new",
    controls: &[Control::NoNewCgroup, Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_14_inside),
    check: setns_14_check,
};

fn read_cgroup(who: &str) -> String {
    std::fs::read_to_string(format!("/proc/{who}/cgroup")).unwrap_or_default()
}

fn setns_14_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.cgroup;
    let (target, ()) = held("make a cgroup ns", || {
        unshare_if(new, CloneFlags::CLONE_NEWCGROUP)
    })?;
    let fd = open(&target.ns_path(Ns::Cgroup))?;
    let want = ino(target.pid(), Ns::Cgroup);
    let joiner = held("join the cgroup ns", || {
        let r = setns_res(&fd, libc::CLONE_NEWCGROUP);
        if r != OK {
            return Err(StepError::new(
                "join the cgroup ns",
                None,
                format!("setns: {r}"),
            ));
        }
        Ok(ino("self", Ns::Cgroup) == want)
    });
    let mut t = Table::new();
    match joiner {
        Err(e) => {
            t.set("join", e.message);
        }
        Ok((j, joined)) => {
            t.set("join", OK);
            t.set("joiner's cgroup ns vs the target", vs(joined));
            t.set(
                "target vs the probe's cgroup ns",
                vs(want == ino("self", Ns::Cgroup)),
            );
            // The cgroup paths name per-run scopes: compared, not recorded.
            t.set(
                "joiner's /proc/PID/cgroup vs the probe's (as the probe reads both)",
                vs(read_cgroup(&j.pid().to_string()) == read_cgroup("self")),
            );
        }
    }
    facts(&t)
}

fn setns_14_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().cgroup(),
        &[
            ("join", OK),
            ("joiner's cgroup ns vs the target", "same"),
            ("target vs the probe's cgroup ns", "differs"),
            (
                "joiner's /proc/PID/cgroup vs the probe's (as the probe reads both)",
                "same",
            ),
        ],
        "a cgroup ns join moves no process between cgroups",
    )
}
// ---------------------------------------------------------------------------------
/// SETNS-15: Joining a time ns switches the caller's own CLOCK_MONOTONIC (vDSO and syscall)
/// by the ns offset; a multithreaded caller gets EUSERS. setns(2); time_namespaces(7).
pub const SETNS_15: Property = Property {
    id: "SETNS-15",
    area: Area::Setns,
    title: "Joining a time ns switches the caller's own CLOCK_MONOTONIC (vDSO and syscall) by the ns offset; a multithreaded caller gets EUSERS",
    man: "setns(2); time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(&["CONFIG_TIME_NS"]),
    coverage: "KST:timens/*, ~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewTime, Control::Fault(Call::Setns), Control::Fault(Call::CloneNs)],
    calls: &[Call::Setns, Call::Unshare, Call::CloneNs, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_15_inside),
    check: setns_15_check,
};

const TIME_SHIFT: i64 = 1000;

/// CLOCK_MONOTONIC in seconds, through the vDSO (libc, via nix) or the raw syscall.
fn monotonic(raw: bool) -> i64 {
    if raw {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // The raw syscall on purpose (nix and libc take the vDSO).
        // SAFETY: a valid timespec pointer for the kernel to fill.
        unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec
    } else {
        nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| t.tv_sec())
    }
}

fn setns_15_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.time;
    let (target, ()) = held("make a time ns with an offset", || {
        if new {
            unshare_step(Ns::Time.flag())?;
            std::fs::write(
                "/proc/self/timens_offsets",
                format!("monotonic {TIME_SHIFT} 0\n"),
            )
            .step("write timens_offsets")?;
        }
        Ok(())
    })?;
    let fd = open(&target.proc("ns/time_for_children"))?;
    let raw = fd.as_raw_fd();
    let mut t: Table = Fork::new("join the time ns").run(move |_| {
        let mut t = Table::new();
        let before = monotonic(false);
        t.set("join", setns_res(&raw, libc::CLONE_NEWTIME));
        // The shift in whole seconds, read as the offset when within 5 s of it (the
        // clock runs on meanwhile), else as measured.
        let shift = |now: i64| match now - before {
            d if (TIME_SHIFT - 5..=TIME_SHIFT + 5).contains(&d) => TIME_SHIFT.to_string(),
            d => format!("{d} (not within 5 s of {TIME_SHIFT})"),
        };
        t.set(
            "vDSO CLOCK_MONOTONIC shift (s, within 5)",
            shift(monotonic(false)),
        );
        t.set(
            "syscall CLOCK_MONOTONIC shift (s, within 5)",
            shift(monotonic(true)),
        );
        t
    })?;
    t.set(
        "multithreaded join",
        Fork::new("join the time ns with a second thread").run(move |_| {
            if !spawn_idle_thread() {
                return "spawn failed".to_string();
            }
            setns_res(&raw, libc::CLONE_NEWTIME)
        })?,
    );
    facts(&t)
}

fn setns_15_check(cx: &mut Cx) -> CheckResult {
    let shift = TIME_SHIFT.to_string();
    table_check(
        cx,
        Launch::host().user().time(),
        &[
            ("join", OK),
            ("vDSO CLOCK_MONOTONIC shift (s, within 5)", shift.as_str()),
            (
                "syscall CLOCK_MONOTONIC shift (s, within 5)",
                shift.as_str(),
            ),
            ("multithreaded join", "EUSERS"),
        ],
        "a joined time ns shifts the caller's clocks",
    )
}

// ---------------------------------------------------------------------------------
/// SETNS-16: PIDFD_GET_*_NAMESPACE ioctls on a pidfd return descriptors of the process's
/// namespaces (incl. pid_for_children, time_for_children) usable with setns. uapi
/// linux/pidfd.h PIDFD_GET_*_NAMESPACE; setns(2).
pub const SETNS_16: Property = Property {
    id: "SETNS-16",
    area: Area::Setns,
    title: "PIDFD_GET_*_NAMESPACE ioctls on a pidfd return descriptors of the process's namespaces (incl. pid_for_children, time_for_children) usable with setns",
    man: "uapi linux/pidfd.h PIDFD_GET_*_NAMESPACE; setns(2)",
    prereq: Prereq::ROOTLESS.kernel(6, 11),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewNet, Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::Unshare, Call::Pidfd, Call::Kill],
    global: false,
    subject: None,
    inside: Some(setns_16_inside),
    check: setns_16_check,
};

/// PIDFD_GET_*_NAMESPACE = `_IO(PIDFS_IOCTL_MAGIC, n)` (uapi linux/pidfd.h; not in
/// `crate::ns`, which holds the nsfs ioctls only) and the /proc/PID/ns entry each returns.
const fn pidfd_get_ns(n: u8) -> Ioctl {
    nix::request_code_none!(0xFF, n)
}
const PIDFD_NS_IOCTLS: [(Ioctl, &str); 10] = [
    (pidfd_get_ns(1), "cgroup"),
    (pidfd_get_ns(2), "ipc"),
    (pidfd_get_ns(3), "mnt"),
    (pidfd_get_ns(4), "net"),
    (pidfd_get_ns(5), "pid"),
    (pidfd_get_ns(6), "pid_for_children"),
    (pidfd_get_ns(7), "time"),
    (pidfd_get_ns(8), "time_for_children"),
    (pidfd_get_ns(9), "user"),
    (pidfd_get_ns(10), "uts"),
];
const PIDFD_GET_UTS_NAMESPACE: Ioctl = pidfd_get_ns(10);

fn setns_16_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut flags = CloneFlags::empty();
    if cx.launch.uts {
        flags |= CloneFlags::CLONE_NEWUTS;
    }
    if cx.launch.net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    let (target, ()) = held("make UTS and net namespaces", || unshare_step(flags))?;
    let pidfd = pidfd_open(target.pid().as_raw())?;
    let tp = target.pid();
    let mut t = Table::new();
    for (req, name) in PIDFD_NS_IOCTLS {
        let r = match ioctl_ino(&pidfd, req) {
            Ok(i) => vs(Some(i) == entry_ino(tp, name)),
            Err(e) => e,
        };
        t.set(format!("{name} fd vs the target's ns/{name}"), r);
    }
    for k in [Ns::Uts, Ns::Net] {
        t.set(
            format!("target's {k} vs the probe's"),
            vs(ino(tp, k) == ino("self", k)),
        );
    }
    t.set(
        "setns through the returned uts fd",
        Fork::new("setns through PIDFD_GET_UTS_NAMESPACE").run(|_| {
            match crate::ns::ioctl_fd(pidfd.as_raw_fd(), PIDFD_GET_UTS_NAMESPACE) {
                Ok(fd) => setns_res(&fd, libc::CLONE_NEWUTS),
                Err(e) => errno_name(e),
            }
        })?,
    );
    facts(&t)
}

fn setns_16_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user().uts().net(), Value::Null)?;
    let f: Table = run.facts()?;
    if f.0.values().any(|v| v == "ENOTTY") {
        return Err(crate::outcome::Verdict::skip(
            "needs PIDFD_GET_*_NAMESPACE (kernel 6.11); this kernel answered ENOTTY",
        ));
    }
    let mut want: Vec<(String, &str)> = PIDFD_NS_IOCTLS
        .iter()
        .map(|(_, n)| (format!("{n} fd vs the target's ns/{n}"), "same"))
        .collect();
    want.push(("target's uts vs the probe's".into(), "differs"));
    want.push(("target's net vs the probe's".into(), "differs"));
    want.push(("setns through the returned uts fd".into(), OK));
    let exp: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut e = Expect::new();
    f.judge(&mut e, "result", &exp);
    Ok(
        e.verdict("pidfd ioctls hand out the process's ns descriptors")
            .with_observed(json!(f)),
    )
}
