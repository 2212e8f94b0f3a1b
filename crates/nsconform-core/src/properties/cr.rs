//! CR properties: clone(2), clone3 and unshare(2) rules for namespace flags.

use super::gen::{
    hold, in_child, in_child_or_crash, ino, ioctl_fd_ino, judge_table, limit_effective_caps,
    new_user_ns, open, res, sys_res, NS_GET_USERNS, NS_TYPES, OK,
};
use crate::harness::Cx;
use crate::kit::facts;
use crate::outcome::Expect;
use crate::probe::{Inside, Launch, StepError};
use crate::spec::{Area, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

pub const ALL: &[Property] = &[
    CR_01, CR_02, CR_03, CR_04, CR_05, CR_06, CR_07, CR_08, CR_09, CR_10, CR_11, CR_12,
];

type Table = BTreeMap<String, String>;

fn table_check(
    cx: &mut Cx,
    launch: Launch,
    args: Value,
    expected: &[(String, &str)],
    summary: &str,
) -> CheckResult {
    let run = cx.run(launch, args)?;
    let f: Table = run.facts()?;
    let exp: Vec<(&str, &str)> = expected.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut e = Expect::new();
    judge_table(&mut e, "result", &exp, &f);
    Ok(e.verdict(summary).with_observed(json!(f)))
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Leave a child that a raw clone created, or reap it and say OK; else the errno.
fn reap(ret: libc::c_long) -> String {
    if ret == 0 {
        // SAFETY: in the new child: leave at once.
        unsafe { libc::_exit(0) }
    }
    if ret > 0 {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(ret as i32), None);
    }
    sys_res(ret)
}

/// clone3(2) through libc::syscall with `flags`; a created child exits at once.
pub fn clone3_res(flags: u64) -> String {
    // SAFETY: fork-like clone3 in the single-threaded probe; the child only calls _exit.
    let r = unsafe { crate::probe::sys::clone3(flags, &[]) };
    reap(r.map_or(-1, libc::c_long::from))
}

/// The raw clone(2) syscall with `flags` and no new stack (fork-like).
pub fn clone_res(flags: i64) -> String {
    // SAFETY: without CLONE_VM the child gets a copy of the stack, as with fork.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as i64,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    reap(r)
}

const NS_FLAGS: [(&str, i32); 7] = [
    ("NEWNS", libc::CLONE_NEWNS),
    ("NEWUTS", libc::CLONE_NEWUTS),
    ("NEWIPC", libc::CLONE_NEWIPC),
    ("NEWNET", libc::CLONE_NEWNET),
    ("NEWPID", libc::CLONE_NEWPID),
    ("NEWCGROUP", libc::CLONE_NEWCGROUP),
    ("NEWTIME", libc::CLONE_NEWTIME),
];

// ---------------------------------------------------------------------------------
pub const CR_01: Property = Property {
    id: "CR-01",
    area: Area::Cr,
    title: "Without CAP_SYS_ADMIN, CLONE_NEW{NS,UTS,IPC,NET,PID,CGROUP,TIME} fail with EPERM in unshare, clone and clone3 (clone() has no CLONE_NEWTIME)",
    man: "clone(2) ERRORS EPERM; unshare(2) ERRORS EPERM",
    prereq: Prereq::ANY.kernel(5, 6),
    coverage: "LTP:clone11,unshare02,utsname04,clone304",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_01_inside),
    check: cr_01_check,
};

fn cr_01_inside(_: &Inside) -> Result<Value, StepError> {
    let t: Table = in_child("drop CAP_SYS_ADMIN and create namespaces", || {
        let mut t = Table::new();
        let caps = limit_effective_caps(0);
        if caps != OK {
            t.insert("capset".into(), caps);
            return t;
        }
        for (name, flag) in NS_FLAGS {
            t.insert(
                format!("unshare {name}"),
                res(unshare(CloneFlags::from_bits_retain(flag))),
            );
            if flag != libc::CLONE_NEWTIME {
                // clone() has no CLONE_NEWTIME: 0x80 lies in its exit-signal byte.
                t.insert(format!("clone {name}"), clone_res(flag as i64));
            }
            t.insert(format!("clone3 {name}"), clone3_res(flag as u64));
        }
        t
    })?;
    facts(&t)
}

fn cr_01_check(cx: &mut Cx) -> CheckResult {
    let mut want = Vec::new();
    for (name, _) in NS_FLAGS {
        for call in ["unshare", "clone", "clone3"] {
            if call == "clone" && name == "NEWTIME" {
                continue;
            }
            want.push((format!("{call} {name}"), "EPERM"));
        }
    }
    table_check(
        cx,
        Launch::host(),
        Value::Null,
        &want,
        "no CAP_SYS_ADMIN, no namespaces",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_02: Property = Property {
    id: "CR-02",
    area: Area::Cr,
    title: "unshare(0) succeeds and changes no namespace; flags unshare does not know (CLONE_PTRACE, CLONE_VFORK, CSIGNAL bits) fail with EINVAL",
    man: "unshare(2) DESCRIPTION, ERRORS EINVAL",
    prereq: Prereq::ANY,
    coverage: "LTP:~unshare02",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_02_inside),
    check: cr_02_check,
};

fn ns_inodes() -> Vec<Option<u64>> {
    NS_TYPES.iter().map(|k| ino("self", k)).collect()
}

fn cr_02_inside(_: &Inside) -> Result<Value, StepError> {
    let t: Table = in_child("unshare odd flags", || {
        let mut t = Table::new();
        let before = ns_inodes();
        t.insert("unshare 0".into(), res(unshare(CloneFlags::empty())));
        t.insert("namespaces unchanged".into(), yes(ns_inodes() == before));
        for (name, flag) in [
            ("CLONE_PTRACE", libc::CLONE_PTRACE),
            ("CLONE_VFORK", libc::CLONE_VFORK),
            ("CSIGNAL bit 0x1", 0x1),
        ] {
            t.insert(
                format!("unshare {name}"),
                res(unshare(CloneFlags::from_bits_retain(flag))),
            );
        }
        t
    })?;
    facts(&t)
}

fn cr_02_check(cx: &mut Cx) -> CheckResult {
    let want = vec![
        ("unshare 0".to_string(), OK),
        ("namespaces unchanged".to_string(), "yes"),
        ("unshare CLONE_PTRACE".to_string(), "EINVAL"),
        ("unshare CLONE_VFORK".to_string(), "EINVAL"),
        ("unshare CSIGNAL bit 0x1".to_string(), "EINVAL"),
    ];
    table_check(
        cx,
        Launch::host(),
        Value::Null,
        &want,
        "unshare(0) is a no-op, unknown bits EINVAL",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_03: Property = Property {
    id: "CR-03",
    area: Area::Cr,
    title: "An unprivileged process creates every namespace type in one unshare(CLONE_NEWUSER|...) call (user ns first), and NS_GET_USERNS says the new user ns owns them all",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"; ioctl_ns(2)",
    prereq: Prereq::ROOTLESS.kernel(5, 6),
    coverage: "KST:nsfs/owner,pidfd/pidfd_setns_test; LTP:~ioctl_pidfd02",
    controls: Control::EVERY_NEW_NAMESPACE,
    global: false,
    subject: None,
    inside: Some(cr_03_inside),
    check: cr_03_check,
};

fn cr_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = cx.args.get("flags").and_then(Value::as_i64).unwrap_or(0) as i32;
    let drop_to = nix::unistd::geteuid().is_root();
    let before: BTreeMap<&str, Option<u64>> =
        NS_TYPES.iter().map(|k| (*k, ino("self", k))).collect();
    let t: Table = in_child("unshare every type as an unprivileged user", move || {
        let mut t = Table::new();
        if drop_to {
            let id = 65534;
            let (u, g) = (
                nix::unistd::Uid::from_raw(id),
                nix::unistd::Gid::from_raw(id),
            );
            let _ = nix::unistd::setgroups(&[]);
            let _ = nix::unistd::setresgid(g, g, g);
            let _ = nix::unistd::setresuid(u, u, u);
        }
        t.insert(
            "unshare".into(),
            res(unshare(CloneFlags::from_bits_retain(flags))),
        );
        // A child sees the new PID and time namespaces as its own.
        let seen: Table = in_child("look from a child", move || {
            let mut t = Table::new();
            let user = ino("self", "user");
            for k in NS_TYPES {
                let now = ino("self", k);
                t.insert(format!("new {k}"), yes(now.is_some() && now != before[k]));
                if k != "user" {
                    let owner = std::fs::File::open(format!("/proc/self/ns/{k}"))
                        .ok()
                        .and_then(|f| ioctl_fd_ino(f.as_raw_fd(), NS_GET_USERNS).ok());
                    t.insert(format!("{k} owned by the new user ns"), yes(owner == user));
                }
            }
            t
        })
        .unwrap_or_default();
        t.extend(seen);
        t
    })?;
    facts(&t)
}

fn cr_03_check(cx: &mut Cx) -> CheckResult {
    let mut l = Launch::all();
    if let Some(c) = cx.control() {
        l.apply(c);
    }
    let mut flags = 0;
    for (on, f) in [
        (l.user, libc::CLONE_NEWUSER),
        (l.mnt, libc::CLONE_NEWNS),
        (l.uts, libc::CLONE_NEWUTS),
        (l.ipc, libc::CLONE_NEWIPC),
        (l.net, libc::CLONE_NEWNET),
        (l.pid, libc::CLONE_NEWPID),
        (l.cgroup, libc::CLONE_NEWCGROUP),
        (l.time, libc::CLONE_NEWTIME),
    ] {
        if on {
            flags |= f;
        }
    }
    let mut want = vec![("unshare".to_string(), OK)];
    for k in NS_TYPES {
        want.push((format!("new {k}"), "yes"));
        if k != "user" {
            want.push((format!("{k} owned by the new user ns"), "yes"));
        }
    }
    let launch = cx.prepare(Launch::host());
    let run = cx.run_exact(launch, json!({ "flags": flags }), |_| Ok(()))?;
    let f: Table = run.facts()?;
    let exp: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut e = Expect::new();
    judge_table(&mut e, "result", &exp, &f);
    Ok(
        e.verdict("one call makes all types, all owned by the new user ns")
            .with_observed(json!(f)),
    )
}

// ---------------------------------------------------------------------------------
pub const CR_04: Property = Property {
    id: "CR-04",
    area: Area::Cr,
    title: "A namespace is owned by the user ns its creator was in when creating it, and keeps that owner after the creator moves to another user ns",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "KST:nsfs/owner",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_04_inside),
    check: cr_04_check,
};

fn owner_of(path: &str) -> Option<u64> {
    let f = open(path).ok()?;
    ioctl_fd_ino(f.as_raw_fd(), NS_GET_USERNS).ok()
}

fn cr_04_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    let u0 = ino("self", "user");
    // h1 creates a UTS ns, then moves to a new user ns; h2 does it the other way round.
    let h1 = hold("create a UTS ns, then a user ns", || {
        super::gen::unshare_raw(libc::CLONE_NEWUTS)?;
        new_user_ns()
    })?;
    let h2 = hold("create a user ns, then a UTS ns", || {
        new_user_ns()?;
        super::gen::unshare_raw(libc::CLONE_NEWUTS)
    })?;
    let (p1, p2) = (h1.pid.to_string(), h2.pid.to_string());
    t.insert(
        "creator moved to another user ns".into(),
        yes(ino(&p1, "user") != u0),
    );
    t.insert(
        "UTS ns made before the move is owned by the old user ns".into(),
        yes(owner_of(&h1.ns_path("uts")) == u0),
    );
    t.insert(
        "UTS ns made after the move is owned by the new user ns".into(),
        yes(owner_of(&h2.ns_path("uts")) == ino(&p2, "user")),
    );
    facts(&t)
}

fn cr_04_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        ("creator moved to another user ns", "yes"),
        (
            "UTS ns made before the move is owned by the old user ns",
            "yes",
        ),
        (
            "UTS ns made after the move is owned by the new user ns",
            "yes",
        ),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    table_check(
        cx,
        Launch::host().user(),
        Value::Null,
        &want,
        "ownership is fixed at creation",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_05: Property = Property {
    id: "CR-05",
    area: Area::Cr,
    title: "clone() and clone3() with CLONE_NEWNS|CLONE_FS fail with EINVAL",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "LTP:clone302",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_05_inside),
    check: cr_05_check,
};

fn flag_pair_inside(flags: i32) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.insert(
        "clone".into(),
        in_child("clone", move || clone_res(flags as i64))?,
    );
    t.insert(
        "clone3".into(),
        in_child("clone3", move || clone3_res(flags as u64))?,
    );
    facts(&t)
}

fn einval_pair() -> Vec<(String, &'static str)> {
    vec![("clone".into(), "EINVAL"), ("clone3".into(), "EINVAL")]
}

fn cr_05_inside(_: &Inside) -> Result<Value, StepError> {
    flag_pair_inside(libc::CLONE_NEWNS | libc::CLONE_FS)
}

fn cr_05_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        Value::Null,
        &einval_pair(),
        "CLONE_NEWNS|CLONE_FS is EINVAL",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_06: Property = Property {
    id: "CR-06",
    area: Area::Cr,
    title: "clone() and clone3() with CLONE_NEWUSER|CLONE_FS fail with EINVAL",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_06_inside),
    check: cr_06_check,
};

fn cr_06_inside(_: &Inside) -> Result<Value, StepError> {
    flag_pair_inside(libc::CLONE_NEWUSER | libc::CLONE_FS)
}

fn cr_06_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        Value::Null,
        &einval_pair(),
        "CLONE_NEWUSER|CLONE_FS is EINVAL",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_07: Property = Property {
    id: "CR-07",
    area: Area::Cr,
    title: "CLONE_NEWPID or CLONE_NEWUSER together with CLONE_THREAD fail with EINVAL; with CLONE_PARENT too before 3.12, allowed since (per-kernel)",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_07_inside),
    check: cr_07_check,
};

const THREAD: i32 = libc::CLONE_THREAD | libc::CLONE_SIGHAND | libc::CLONE_VM;
const CR_07_CASES: [(&str, i32); 4] = [
    ("NEWPID|PARENT", libc::CLONE_NEWPID | libc::CLONE_PARENT),
    ("NEWUSER|PARENT", libc::CLONE_NEWUSER | libc::CLONE_PARENT),
    ("NEWPID|THREAD", libc::CLONE_NEWPID | THREAD),
    ("NEWUSER|THREAD", libc::CLONE_NEWUSER | THREAD),
];

fn cr_07_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (name, flags) in CR_07_CASES {
        // A kernel that wrongly accepted a CLONE_VM thread on the caller's stack would
        // crash the throwaway child, which reads as CRASHED.
        t.insert(
            name.into(),
            in_child_or_crash("clone", move || clone_res(flags as i64))?,
        );
    }
    facts(&t)
}

fn cr_07_check(cx: &mut Cx) -> CheckResult {
    // Linux 3.12 ("fork: Allow CLONE_PARENT after setns(CLONE_NEWPID)") kept the refusal
    // for CLONE_THREAD only.
    let parent_ok = cx
        .env
        .version
        .map_or(true, |v| v >= crate::env::KernelVersion(3, 12, 0));
    let want: Vec<(String, &str)> = CR_07_CASES
        .iter()
        .map(|(n, _)| {
            let ok = parent_ok && n.ends_with("PARENT");
            (n.to_string(), if ok { OK } else { "EINVAL" })
        })
        .collect();
    table_check(
        cx,
        Launch::host().user(),
        Value::Null,
        &want,
        "new PID/user ns never in the caller's thread group",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_08: Property = Property {
    id: "CR-08",
    area: Area::Cr,
    title: "clone(CLONE_NEWIPC|CLONE_SYSVSEM) fails with EINVAL; unshare(CLONE_NEWIPC) also detaches the caller's SysV semaphore undo list (its adjustments are applied at once)",
    man: "clone(2) ERRORS EINVAL; unshare(2) CLONE_NEWIPC, CLONE_SYSVSEM",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS"]),
    coverage: "new",
    controls: &[Control::NoNewIpc],
    global: false,
    subject: None,
    inside: Some(cr_08_inside),
    check: cr_08_check,
};

fn sem_add_undo(id: i32) -> Result<(), String> {
    let mut op = libc::sembuf {
        sem_num: 0,
        sem_op: 1,
        sem_flg: libc::SEM_UNDO as i16,
    };
    // SAFETY: one valid sembuf.
    if unsafe { libc::semop(id, &mut op, 1) } < 0 {
        return Err(format!("semop: {}", nix::errno::Errno::last()));
    }
    Ok(())
}

fn cr_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.insert(
        "clone NEWIPC|SYSVSEM".into(),
        in_child("clone", || {
            clone_res((libc::CLONE_NEWIPC | libc::CLONE_SYSVSEM) as i64)
        })?,
    );
    if !cx.launch.ipc {
        // Never create IPC objects in the host's namespace.
        t.insert(
            "semaphore test".into(),
            "NOT TRIED (no private IPC ns)".into(),
        );
        return facts(&t);
    }
    // SAFETY: semget with constant arguments.
    let id = unsafe { libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600) };
    if id < 0 {
        let e = nix::errno::Errno::last();
        return Err(StepError::new(
            "semget",
            Some(crate::probe::errno_name(e)),
            e.desc(),
        ));
    }
    // SAFETY: GETVAL of semaphore 0.
    let val = || unsafe { libc::semctl(id, 0, libc::GETVAL) }.to_string();
    {
        let _plain = hold("semop +1 with SEM_UNDO", move || sem_add_undo(id))?;
        t.insert("value while a SEM_UNDO holder lives".into(), val());
    }
    t.insert("value after it exited".into(), val());
    {
        let _moved = hold("semop +1 with SEM_UNDO, then unshare IPC", move || {
            sem_add_undo(id)?;
            super::gen::unshare_raw(libc::CLONE_NEWIPC)
        })?;
        t.insert(
            "value while the holder lives after unshare(CLONE_NEWIPC)".into(),
            val(),
        );
    }
    // SAFETY: removing our own set.
    unsafe { libc::semctl(id, 0, libc::IPC_RMID) };
    facts(&t)
}

fn cr_08_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        ("clone NEWIPC|SYSVSEM", "EINVAL"),
        ("value while a SEM_UNDO holder lives", "1"),
        ("value after it exited", "0"),
        (
            "value while the holder lives after unshare(CLONE_NEWIPC)",
            "0",
        ),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    table_check(
        cx,
        Launch::host().user().ipc(),
        Value::Null,
        &want,
        "CLONE_NEWIPC implies CLONE_SYSVSEM",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_10: Property = Property {
    id: "CR-10",
    area: Area::Cr,
    title: "unshare(CLONE_NEWUSER) from a multithreaded process fails with EINVAL (it implies CLONE_THREAD); single-threaded it works",
    man: "unshare(2) CLONE_NEWUSER, ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_10_inside),
    check: cr_10_check,
};

fn cr_10_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.insert(
        "single-threaded".into(),
        in_child("unshare CLONE_NEWUSER", || {
            res(unshare(CloneFlags::CLONE_NEWUSER))
        })?,
    );
    t.insert(
        "multithreaded".into(),
        in_child("unshare CLONE_NEWUSER with a second thread", || {
            if !super::setns::spawn_idle_thread() {
                return "spawn failed".to_string();
            }
            res(unshare(CloneFlags::CLONE_NEWUSER))
        })?,
    );
    facts(&t)
}

fn cr_10_check(cx: &mut Cx) -> CheckResult {
    let want = vec![
        ("single-threaded".to_string(), OK),
        ("multithreaded".to_string(), "EINVAL"),
    ];
    table_check(
        cx,
        Launch::host(),
        Value::Null,
        &want,
        "threads block unshare(CLONE_NEWUSER)",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_11: Property = Property {
    id: "CR-11",
    area: Area::Cr,
    title: "A chrooted process (root is not its mount ns root) gets EPERM from unshare/clone3 with CLONE_NEWUSER; after chroot(\"/\") it works",
    man: "unshare(2) ERRORS EPERM; clone(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_11_inside),
    check: cr_11_check,
};

fn cr_11_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (label, dir) in [("chroot /proc", "/proc"), ("chroot /", "/")] {
        let r: (String, String, String) = in_child("chroot, then create a user ns", move || {
            let c = res(nix::unistd::chroot(dir));
            (
                c,
                clone3_res(libc::CLONE_NEWUSER as u64),
                res(unshare(CloneFlags::CLONE_NEWUSER)),
            )
        })?;
        t.insert(label.into(), r.0);
        t.insert(format!("{label}: clone3 NEWUSER"), r.1);
        t.insert(format!("{label}: unshare NEWUSER"), r.2);
    }
    facts(&t)
}

fn cr_11_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        ("chroot /proc", OK),
        ("chroot /proc: clone3 NEWUSER", "EPERM"),
        ("chroot /proc: unshare NEWUSER", "EPERM"),
        ("chroot /", OK),
        ("chroot /: clone3 NEWUSER", OK),
        ("chroot /: unshare NEWUSER", OK),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    table_check(
        cx,
        Launch::host().user(),
        Value::Null,
        &want,
        "no user namespaces from a chroot",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_12: Property = Property {
    id: "CR-12",
    area: Area::Cr,
    title: "CLONE_NEWUSER fails with EPERM while the caller's euid has no mapping in its user ns (right after unshare, before uid_map is written); it works once mapped",
    man: "unshare(2) ERRORS EPERM; clone(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(cr_12_inside),
    check: cr_12_check,
};

fn cr_12_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    let unmapped: (String, String, String) = in_child("nest a user ns without a map", || {
        let first = res(unshare(CloneFlags::CLONE_NEWUSER));
        (
            first,
            clone3_res(libc::CLONE_NEWUSER as u64),
            res(unshare(CloneFlags::CLONE_NEWUSER)),
        )
    })?;
    t.insert("first unshare".into(), unmapped.0);
    t.insert("unmapped: clone3 NEWUSER".into(), unmapped.1);
    t.insert("unmapped: unshare NEWUSER".into(), unmapped.2);
    t.insert(
        "mapped: unshare NEWUSER".into(),
        in_child("nest a user ns after mapping", || match new_user_ns() {
            Ok(()) => res(unshare(CloneFlags::CLONE_NEWUSER)),
            Err(m) => m,
        })?,
    );
    facts(&t)
}

fn cr_12_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        ("first unshare", OK),
        ("unmapped: clone3 NEWUSER", "EPERM"),
        ("unmapped: unshare NEWUSER", "EPERM"),
        ("mapped: unshare NEWUSER", OK),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    table_check(
        cx,
        Launch::host(),
        Value::Null,
        &want,
        "an unmapped euid cannot nest user namespaces",
    )
}

// ---------------------------------------------------------------------------------
pub const CR_09: Property = Property {
    id: "CR-09",
    area: Area::Cr,
    title: "unshare(CLONE_NEWNS) implies CLONE_FS: a CLONE_FS sibling's chdir is shared before, not after it unshares the mount ns",
    man: "unshare(2) CLONE_NEWNS",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:unshare04",
    controls: &[Control::NoNewMnt],
    global: false,
    subject: None,
    inside: Some(cr_09_inside),
    check: cr_09_check,
};

fn chdir_proc() -> String {
    res(nix::unistd::chdir("/proc"))
}

fn unshare_then_chdir_sys() -> String {
    match unshare(CloneFlags::CLONE_NEWNS) {
        Ok(()) => res(nix::unistd::chdir("/sys")),
        Err(e) => crate::probe::errno_name(e),
    }
}

fn chdir_sys() -> String {
    res(nix::unistd::chdir("/sys"))
}

fn cr_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.mnt;
    let t: Table = in_child("share fs with a CLONE_FS sibling", move || {
        use super::setns::clone_fs_run;
        let cwd = || {
            nix::unistd::getcwd()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let mut t = Table::new();
        let _ = nix::unistd::chdir("/");
        t.insert("sibling chdir /proc".into(), clone_fs_run(chdir_proc));
        t.insert("own cwd after it".into(), cwd());
        let second: fn() -> String = if new {
            unshare_then_chdir_sys
        } else {
            chdir_sys
        };
        t.insert(
            "sibling unshares NEWNS, chdir /sys".into(),
            clone_fs_run(second),
        );
        t.insert("own cwd after that".into(), cwd());
        t
    })?;
    facts(&t)
}

fn cr_09_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        ("sibling chdir /proc", OK),
        ("own cwd after it", "/proc"),
        ("sibling unshares NEWNS, chdir /sys", OK),
        ("own cwd after that", "/proc"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), *b))
    .collect();
    table_check(
        cx,
        Launch::host().user().mnt(),
        Value::Null,
        &want,
        "unshare(CLONE_NEWNS) stops sharing cwd",
    )
}
