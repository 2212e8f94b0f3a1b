//! CR properties: clone(2), clone3 and unshare(2) rules for namespace flags.

use crate::harness::Cx;
use crate::kit::child::{exit_now, flag_names, wait_for, Fork};
use crate::kit::nsfd::open;
use crate::kit::nsops::{held, ino, ioctl_ino, spawn_idle_thread, unshare_step};
use crate::kit::proc::limit_effective_caps;
use crate::kit::userns::new_user_ns;
use crate::kit::{facts, res, sys_res, Table, OK};
use crate::ns::{Ns, NS_GET_USERNS};
use crate::outcome::Expect;
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const ALL: &[Property] = &[
    CR_01, CR_02, CR_03, CR_04, CR_05, CR_06, CR_07, CR_08, CR_09, CR_10, CR_11, CR_12,
];

/// Run the property under `launch` with `args`, judge its errno table against
/// `expected`.
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
    f.judge(&mut e, "result", &exp);
    Ok(e.verdict(summary).with_observed(json!(f)))
}

// The raw clone(2) and clone3(2) calls below are the calls under test (their flags and
// errnos are the facts), so they cannot go through `Fork`; they never pass CLONE_VM
// with a closure, and a created child leaves at once with `exit_now`.

/// Leave a child that a raw clone created, or reap it and say "ok"; else the errno.
fn reap(ret: libc::c_long) -> String {
    if ret == 0 {
        exit_now(0)
    }
    if ret > 0 {
        let _ = wait_for(nix::unistd::Pid::from_raw(ret as i32));
    }
    sys_res(ret)
}

/// clone3(2) with `flags`; a created child exits at once.
fn clone3_res(flags: u64) -> String {
    // SAFETY: fork-like clone3 in a single-threaded process; the child only calls _exit.
    let r = unsafe { crate::probe::sys::clone3(flags, &[]) };
    reap(r.map_or(-1, libc::c_long::from))
}

/// The raw clone(2) syscall with `flags` and no new stack (fork-like).
fn clone_res(flags: i64) -> String {
    // SAFETY: without CLONE_VM the child gets a copy of the stack, as with fork; with
    // CLONE_VM (CR-07) the kernel must refuse, and a kernel that accepts crashes only the
    // throwaway process this runs in.
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

/// The namespace types other than user, with their `NEWNS`-style flag names.
fn ns_flags() -> Vec<(String, Ns)> {
    Ns::ALL
        .into_iter()
        .filter(|ns| *ns != Ns::User)
        .map(|ns| (flag_names(ns.flag()).replace("CLONE_", ""), ns))
        .collect()
}

// ---------------------------------------------------------------------------------
/// CR-01: Without CAP_SYS_ADMIN, CLONE_NEW{NS,UTS,IPC,NET,PID,CGROUP,TIME} fail with EPERM
/// in unshare, clone and clone3 (clone() has no CLONE_NEWTIME). clone(2) ERRORS EPERM;
/// unshare(2) ERRORS EPERM.
pub const CR_01: Property = Property {
    id: "CR-01",
    area: Area::Cr,
    title: "Without CAP_SYS_ADMIN, CLONE_NEW{NS,UTS,IPC,NET,PID,CGROUP,TIME} fail with EPERM in unshare, clone and clone3 (clone() has no CLONE_NEWTIME)",
    man: "clone(2) ERRORS EPERM; unshare(2) ERRORS EPERM",
    prereq: Prereq::ANY.kernel(5, 6),
    coverage: "LTP:clone11,unshare02,utsname04,clone304",
    controls: &[Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs), Control::Fault(Call::Capabilities)],
    calls: &[Call::Unshare, Call::CloneNs, Call::Capabilities],
    global: false,
    subject: None,
    inside: Some(cr_01_inside),
    check: cr_01_check,
};

fn cr_01_inside(_: &Inside) -> Result<Value, StepError> {
    let t: Table = Fork::new("drop CAP_SYS_ADMIN and create namespaces").run(|_| {
        let mut t = Table::new();
        let caps = res(limit_effective_caps(0));
        if caps != OK {
            t.set("capset", caps);
            return t;
        }
        for (name, ns) in ns_flags() {
            t.set(format!("unshare {name}"), res(unshare(ns.flag())));
            if ns != Ns::Time {
                // clone() has no CLONE_NEWTIME: 0x80 lies in its exit-signal byte.
                t.set(format!("clone {name}"), clone_res(ns.raw_flag() as i64));
            }
            t.set(format!("clone3 {name}"), clone3_res(ns.raw_flag() as u64));
        }
        t
    })?;
    facts(&t)
}

fn cr_01_check(cx: &mut Cx) -> CheckResult {
    let mut want = Vec::new();
    for (name, _) in ns_flags() {
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
/// CR-02: unshare(0) succeeds and changes no namespace; flags unshare does not know
/// (CLONE_PTRACE, CLONE_VFORK, CSIGNAL bits) fail with EINVAL. unshare(2) DESCRIPTION,
/// ERRORS EINVAL.
pub const CR_02: Property = Property {
    id: "CR-02",
    area: Area::Cr,
    title: "unshare(0) succeeds and changes no namespace; flags unshare does not know (CLONE_PTRACE, CLONE_VFORK, CSIGNAL bits) fail with EINVAL",
    man: "unshare(2) DESCRIPTION, ERRORS EINVAL",
    prereq: Prereq::ANY,
    coverage: "LTP:~unshare02",
    controls: &[Control::Fault(Call::Unshare)],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(cr_02_inside),
    check: cr_02_check,
};

fn ns_inodes() -> Vec<Option<u64>> {
    Ns::ALL.iter().map(|ns| ino("self", *ns)).collect()
}

/// The types whose namespace inode differs from `before` (of [`ns_inodes`]), by name,
/// or `none`.
fn changed_since(before: &[Option<u64>]) -> String {
    let changed: Vec<&str> = Ns::ALL
        .iter()
        .zip(before.iter().zip(ns_inodes()))
        .filter(|(_, (b, now))| **b != *now)
        .map(|(ns, _)| ns.name())
        .collect();
    if changed.is_empty() {
        "none".to_string()
    } else {
        changed.join(" ")
    }
}

fn cr_02_inside(_: &Inside) -> Result<Value, StepError> {
    let t: Table = Fork::new("unshare odd flags").run(|_| {
        let mut t = Table::new();
        let before = ns_inodes();
        t.set("unshare 0", res(unshare(CloneFlags::empty())));
        t.set("namespaces changed by unshare 0", changed_since(&before));
        for (name, flag) in [
            ("CLONE_PTRACE", libc::CLONE_PTRACE),
            ("CLONE_VFORK", libc::CLONE_VFORK),
            ("CSIGNAL bit 0x1", 0x1),
        ] {
            t.set(
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
        ("namespaces changed by unshare 0".to_string(), "none"),
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
/// CR-03: An unprivileged process creates every namespace type in one
/// unshare(CLONE_NEWUSER|...) call (user ns first), and NS_GET_USERNS says the new user ns
/// owns them all. user_namespaces(7) "Interaction of user namespaces and other types of
/// namespaces"; ioctl_ns(2).
pub const CR_03: Property = Property {
    id: "CR-03",
    area: Area::Cr,
    title: "An unprivileged process creates every namespace type in one unshare(CLONE_NEWUSER|...) call (user ns first), and NS_GET_USERNS says the new user ns owns them all",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"; ioctl_ns(2)",
    prereq: Prereq::ROOTLESS.kernel(5, 6),
    coverage: "KST:nsfs/owner,pidfd/pidfd_setns_test; LTP:~ioctl_pidfd02",
    controls: &[Control::NoNewUser, Control::NoNewPid, Control::NoNewMnt, Control::NoNewUts, Control::NoNewIpc, Control::NoNewNet, Control::NoNewCgroup, Control::NoNewTime, Control::Fault(Call::NsIoctl), Control::Fault(Call::Unshare)],
    calls: &[Call::NsIoctl, Call::Unshare],
    global: false,
    subject: None,
    inside: Some(cr_03_inside),
    check: cr_03_check,
};

/// The arguments of CR-03's inside half.
#[derive(Serialize, Deserialize)]
struct Cr03Args {
    /// The CLONE_NEW* flags to unshare in one call.
    flags: i32,
    /// The unprivileged uid/gid a root probe drops to first ("nobody",
    /// /proc/sys/kernel/overflow{u,g}id).
    nobody: (u32, u32),
}

fn cr_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let Cr03Args { flags, nobody } = cx.args::<Cr03Args>()?;
    let start_euid = nix::unistd::geteuid();
    let drop_to = start_euid.is_root();
    let before: BTreeMap<Ns, Option<u64>> =
        Ns::ALL.iter().map(|ns| (*ns, ino("self", *ns))).collect();
    let t: Table = Fork::new("unshare every type as an unprivileged user").run(move |_| {
        let mut t = Table::new();
        // A failed drop would test root's unshare, not an unprivileged one: judged.
        let dropped = if drop_to {
            let (u, g) = (
                nix::unistd::Uid::from_raw(nobody.0),
                nix::unistd::Gid::from_raw(nobody.1),
            );
            nix::unistd::setgroups(&[])
                .and_then(|()| nix::unistd::setresgid(g, g, g))
                .and_then(|()| nix::unistd::setresuid(u, u, u))
        } else {
            Ok(())
        };
        t.set("drop to an unprivileged uid", res(dropped));
        // The uid is named, not given: a rootless probe's own uid is the host's.
        let euid = nix::unistd::geteuid();
        t.set(
            "euid before unshare",
            match euid.as_raw() {
                0 => "0",
                u if drop_to && u == nobody.0 => "overflowuid",
                _ if euid == start_euid => "the probe's own uid",
                _ => "another uid",
            },
        );
        t.set("unshare", res(unshare(CloneFlags::from_bits_retain(flags))));
        // A child sees the new PID and time namespaces as its own.
        let seen: Table = Fork::new("look from a child")
            .run(move |_| {
                let mut t = Table::new();
                let user = ino("self", Ns::User);
                let original = before[&Ns::User];
                for k in Ns::ALL {
                    // Inodes differ per run: the facts say how they compare.
                    let now = ino("self", k);
                    t.set(
                        format!("{k} ns vs before unshare"),
                        match now {
                            None => "unreadable",
                            Some(_) if now != before[&k] => "differs",
                            Some(_) => "same",
                        },
                    );
                    if k != Ns::User {
                        let owner = match owner_of(&k.path("self")) {
                            Err(e) => e,
                            Ok(o) if Some(o) == user => "the new user ns".to_string(),
                            Ok(o) if Some(o) == original => "the original user ns".to_string(),
                            Ok(_) => "another user ns".to_string(),
                        };
                        t.set(format!("{k} ns owner"), owner);
                    }
                }
                t
            })
            .unwrap_or_default();
        t.0.extend(seen.0);
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
    for (on, ns) in [
        (l.user, Ns::User),
        (l.mnt, Ns::Mnt),
        (l.uts, Ns::Uts),
        (l.ipc, Ns::Ipc),
        (l.net, Ns::Net),
        (l.pid, Ns::Pid),
        (l.cgroup, Ns::Cgroup),
        (l.time, Ns::Time),
    ] {
        if on {
            flags |= ns.raw_flag();
        }
    }
    let mut want = vec![("unshare".to_string(), OK)];
    for k in Ns::ALL {
        want.push((format!("{k} ns vs before unshare"), "differs"));
        if k != Ns::User {
            want.push((format!("{k} ns owner"), "the new user ns"));
        }
    }
    let launch = cx.prepare(Launch::host());
    let args = json!(Cr03Args {
        flags,
        nobody: (cx.env.overflowuid, cx.env.overflowgid),
    });
    let run = cx.run_exact(launch, args, |_| Ok(()))?;
    let f: Table = run.facts()?;
    let exp: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut e = Expect::new();
    f.judge(&mut e, "result", &[("drop to an unprivileged uid", OK)]);
    let euid = f.get("euid before unshare").unwrap_or("not run");
    e.that(
        "result: euid before unshare",
        !matches!(euid, "0" | "not run"),
        "not 0",
        euid,
    );
    f.judge(&mut e, "result", &exp);
    Ok(
        e.verdict("one call makes all types, all owned by the new user ns")
            .with_observed(json!(f)),
    )
}

// ---------------------------------------------------------------------------------
/// CR-04: A namespace is owned by the user ns its creator was in when creating it, and
/// keeps that owner after the creator moves to another user ns. user_namespaces(7)
/// "Interaction of user namespaces and other types of namespaces".
pub const CR_04: Property = Property {
    id: "CR-04",
    area: Area::Cr,
    title: "A namespace is owned by the user ns its creator was in when creating it, and keeps that owner after the creator moves to another user ns",
    man: "user_namespaces(7) \"Interaction of user namespaces and other types of namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "KST:nsfs/owner",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Kill, Call::Getid],
    global: false,
    subject: None,
    inside: Some(cr_04_inside),
    check: cr_04_check,
};

/// NS_GET_USERNS of the ns file at `path`: the owner's inode, or the error of the open or
/// the errno of the ioctl.
fn owner_of(path: &str) -> Result<u64, String> {
    let f = open(path).map_err(|e| e.to_string())?;
    ioctl_ino(&f, NS_GET_USERNS)
}

/// Whose user ns `owner` is (inodes differ per run): the name of the first of `known`
/// with its inode, `another user ns`, or the error.
fn owner_name(owner: Result<u64, String>, known: &[(u64, &str)]) -> String {
    match owner {
        Ok(o) => known
            .iter()
            .find(|(ino, _)| *ino == o)
            .map_or("another user ns", |(_, name)| *name)
            .to_string(),
        Err(e) => e,
    }
}

const ORIGINAL: &str = "the original user ns";
const CREATORS_NEW: &str = "the creator's new user ns";

fn cr_04_inside(_: &Inside) -> Result<Value, StepError> {
    use crate::kit::nsfd::ns_ino;
    let mut t = Table::new();
    let u0 = ns_ino("self", Ns::User)?;
    // h1 creates a UTS ns, then moves to a new user ns; h2 does it the other way round.
    let (h1, ()) = held("create a UTS ns, then a user ns", || {
        unshare_step(CloneFlags::CLONE_NEWUTS)?;
        new_user_ns()
    })?;
    let (h2, ()) = held("create a user ns, then a UTS ns", || {
        new_user_ns()?;
        unshare_step(CloneFlags::CLONE_NEWUTS)
    })?;
    let (p1, p2) = (ns_ino(h1.pid(), Ns::User)?, ns_ino(h2.pid(), Ns::User)?);
    t.set(
        "creator's user ns after the move vs the original",
        if p1 != u0 { "differs" } else { "same" },
    );
    t.set(
        "owner of the UTS ns made before the move",
        owner_name(
            owner_of(&h1.ns_path(Ns::Uts)),
            &[(u0, ORIGINAL), (p1, CREATORS_NEW)],
        ),
    );
    t.set(
        "owner of the UTS ns made after the move",
        owner_name(
            owner_of(&h2.ns_path(Ns::Uts)),
            &[(p2, CREATORS_NEW), (u0, ORIGINAL)],
        ),
    );
    facts(&t)
}

fn cr_04_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(String, &str)> = [
        (
            "creator's user ns after the move vs the original",
            "differs",
        ),
        ("owner of the UTS ns made before the move", ORIGINAL),
        ("owner of the UTS ns made after the move", CREATORS_NEW),
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
/// CR-05: clone() and clone3() with CLONE_NEWNS|CLONE_FS fail with EINVAL. clone(2) ERRORS
/// EINVAL.
pub const CR_05: Property = Property {
    id: "CR-05",
    area: Area::Cr,
    title: "clone() and clone3() with CLONE_NEWNS|CLONE_FS fail with EINVAL",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "LTP:clone302",
    controls: &[Control::Fault(Call::CloneNs)],
    calls: &[Call::CloneNs],
    global: false,
    subject: None,
    inside: Some(cr_05_inside),
    check: cr_05_check,
};

fn flag_pair_inside(flags: i32) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.set(
        "clone",
        Fork::new("clone").run(move |_| clone_res(flags as i64))?,
    );
    t.set(
        "clone3",
        Fork::new("clone3").run(move |_| clone3_res(flags as u64))?,
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
/// CR-06: clone() and clone3() with CLONE_NEWUSER|CLONE_FS fail with EINVAL. clone(2)
/// ERRORS EINVAL.
pub const CR_06: Property = Property {
    id: "CR-06",
    area: Area::Cr,
    title: "clone() and clone3() with CLONE_NEWUSER|CLONE_FS fail with EINVAL",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[Control::Fault(Call::CloneNs)],
    calls: &[Call::CloneNs],
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
/// CR-07: CLONE_NEWPID or CLONE_NEWUSER together with CLONE_THREAD fail with EINVAL; with
/// CLONE_PARENT too before 3.12, allowed since (per-kernel). clone(2) ERRORS EINVAL.
pub const CR_07: Property = Property {
    id: "CR-07",
    area: Area::Cr,
    title: "CLONE_NEWPID or CLONE_NEWUSER together with CLONE_THREAD fail with EINVAL; with CLONE_PARENT too before 3.12, allowed since (per-kernel)",
    man: "clone(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[Control::Fault(Call::CloneNs)],
    calls: &[Call::CloneNs, Call::Wait],
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

/// Run `f` in a throwaway child; a child that died without a result reads as
/// `CRASHED`.
fn or_crash(what: &str, f: impl FnOnce() -> String) -> Result<String, StepError> {
    let (got, _) = Fork::new(what).spawn(|_| f())?.finish::<String>()?;
    Ok(got.unwrap_or_else(|| "CRASHED".to_string()))
}

fn cr_07_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (name, flags) in CR_07_CASES {
        // A kernel that wrongly accepted a CLONE_VM thread on the caller's stack would
        // crash the throwaway child, which reads as CRASHED.
        t.set(name, or_crash("clone", || clone_res(flags as i64))?);
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
/// CR-08: clone(CLONE_NEWIPC|CLONE_SYSVSEM) fails with EINVAL; unshare(CLONE_NEWIPC) also
/// detaches the caller's SysV semaphore undo list (its adjustments are applied at once).
/// clone(2) ERRORS EINVAL; unshare(2) CLONE_NEWIPC, CLONE_SYSVSEM.
pub const CR_08: Property = Property {
    id: "CR-08",
    area: Area::Cr,
    title: "clone(CLONE_NEWIPC|CLONE_SYSVSEM) fails with EINVAL; unshare(CLONE_NEWIPC) also detaches the caller's SysV semaphore undo list (its adjustments are applied at once)",
    man: "clone(2) ERRORS EINVAL; unshare(2) CLONE_NEWIPC, CLONE_SYSVSEM",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS"]),
    coverage: "new",
    controls: &[Control::NoNewIpc, Control::Fault(Call::CloneNs)],
    calls: &[Call::Unshare, Call::CloneNs, Call::SysvIpc, Call::Kill, Call::Wait],
    global: false,
    subject: None,
    inside: Some(cr_08_inside),
    check: cr_08_check,
};

fn sem_add_undo(id: i32) -> Result<(), StepError> {
    let mut op = libc::sembuf {
        sem_num: 0,
        sem_op: 1,
        sem_flg: libc::SEM_UNDO as i16,
    };
    // SysV semaphores have no nix wrapper.
    // SAFETY: one valid sembuf.
    if unsafe { libc::semop(id, &mut op, 1) } < 0 {
        return Err(nix::errno::Errno::last()).step("semop");
    }
    Ok(())
}

fn cr_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.set(
        "clone NEWIPC|SYSVSEM",
        Fork::new("clone").run(|_| clone_res((libc::CLONE_NEWIPC | libc::CLONE_SYSVSEM) as i64))?,
    );
    if !cx.launch.ipc {
        // Never create IPC objects in the host's namespace.
        t.set("semaphore test", "NOT TRIED (no private IPC ns)");
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
        let (mut plain, ()) = held("semop +1 with SEM_UNDO", || sem_add_undo(id))?;
        t.set("value while a SEM_UNDO holder lives", val());
        // "After it exited" only once it is reaped: a failed wait is a step error, never
        // a value read while the holder may still live.
        plain.end()?;
    }
    t.set("value after it exited", val());
    {
        let (mut moved, ()) = held("semop +1 with SEM_UNDO, then unshare IPC", || {
            sem_add_undo(id)?;
            unshare_step(CloneFlags::CLONE_NEWIPC)
        })?;
        t.set(
            "value while the holder lives after unshare(CLONE_NEWIPC)",
            val(),
        );
        moved.end()?;
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
/// CR-09: unshare(CLONE_NEWNS) implies CLONE_FS: a CLONE_FS sibling's chdir is shared
/// before, not after it unshares the mount ns. unshare(2) CLONE_NEWNS.
pub const CR_09: Property = Property {
    id: "CR-09",
    area: Area::Cr,
    title: "unshare(CLONE_NEWNS) implies CLONE_FS: a CLONE_FS sibling's chdir is shared before, not after it unshares the mount ns",
    man: "unshare(2) CLONE_NEWNS",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:unshare04",
    controls: &[Control::NoNewMnt, Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs)],
    calls: &[Call::Unshare, Call::CloneNs],
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

/// Run `f` in a process created with CLONE_FS (sharing cwd and root with the caller).
fn clone_fs_run(f: fn() -> String) -> String {
    Fork::new("share fs_struct with its parent")
        .clone_flags(libc::CLONE_FS as u64)
        .run(|_| f())
        .unwrap_or_else(|e| e.to_string())
}

fn cr_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.mnt;
    let t: Table = Fork::new("share fs with a CLONE_FS sibling").run(|_| {
        let cwd = || {
            nix::unistd::getcwd()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let mut t = Table::new();
        let _ = nix::unistd::chdir("/");
        t.set("sibling chdir /proc", clone_fs_run(chdir_proc));
        t.set("own cwd after it", cwd());
        let second: fn() -> String = if new {
            unshare_then_chdir_sys
        } else {
            chdir_sys
        };
        t.set("sibling unshares NEWNS, chdir /sys", clone_fs_run(second));
        t.set("own cwd after that", cwd());
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
// ---------------------------------------------------------------------------------
/// CR-10: unshare(CLONE_NEWUSER) from a multithreaded process fails with EINVAL (it implies
/// CLONE_THREAD); single-threaded it works. unshare(2) CLONE_NEWUSER, ERRORS EINVAL.
pub const CR_10: Property = Property {
    id: "CR-10",
    area: Area::Cr,
    title: "unshare(CLONE_NEWUSER) from a multithreaded process fails with EINVAL (it implies CLONE_THREAD); single-threaded it works",
    man: "unshare(2) CLONE_NEWUSER, ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs)],
    calls: &[Call::Unshare, Call::CloneNs],
    global: false,
    subject: None,
    inside: Some(cr_10_inside),
    check: cr_10_check,
};

fn cr_10_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    t.set(
        "single-threaded",
        Fork::new("unshare CLONE_NEWUSER").run(|_| res(unshare(CloneFlags::CLONE_NEWUSER)))?,
    );
    t.set(
        "multithreaded",
        Fork::new("unshare CLONE_NEWUSER with a second thread").run(|_| {
            if !spawn_idle_thread() {
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
/// CR-11: A chrooted process (root is not its mount ns root) gets EPERM from unshare/clone3
/// with CLONE_NEWUSER; after chroot("/") it works. unshare(2) ERRORS EPERM; clone(2) ERRORS
/// EPERM.
pub const CR_11: Property = Property {
    id: "CR-11",
    area: Area::Cr,
    title: "A chrooted process (root is not its mount ns root) gets EPERM from unshare/clone3 with CLONE_NEWUSER; after chroot(\"/\") it works",
    man: "unshare(2) ERRORS EPERM; clone(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs)],
    calls: &[Call::Unshare, Call::CloneNs],
    global: false,
    subject: None,
    inside: Some(cr_11_inside),
    check: cr_11_check,
};

fn cr_11_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (label, dir) in [("chroot /proc", "/proc"), ("chroot /", "/")] {
        let r: (String, String, String) =
            Fork::new("chroot, then create a user ns").run(move |_| {
                let c = res(nix::unistd::chroot(dir));
                (
                    c,
                    clone3_res(libc::CLONE_NEWUSER as u64),
                    res(unshare(CloneFlags::CLONE_NEWUSER)),
                )
            })?;
        t.set(label, r.0);
        t.set(format!("{label}: clone3 NEWUSER"), r.1);
        t.set(format!("{label}: unshare NEWUSER"), r.2);
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
/// CR-12: CLONE_NEWUSER fails with EPERM while the caller's euid has no mapping in its user
/// ns (right after unshare, before uid_map is written); it works once mapped. unshare(2)
/// ERRORS EPERM; clone(2) ERRORS EPERM.
pub const CR_12: Property = Property {
    id: "CR-12",
    area: Area::Cr,
    title: "CLONE_NEWUSER fails with EPERM while the caller's euid has no mapping in its user ns (right after unshare, before uid_map is written); it works once mapped",
    man: "unshare(2) ERRORS EPERM; clone(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS.kernel(5, 3),
    coverage: "new",
    controls: &[Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs), Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::CloneNs, Call::Getid],
    global: false,
    subject: None,
    inside: Some(cr_12_inside),
    check: cr_12_check,
};

fn cr_12_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    let unmapped: (String, String, String) =
        Fork::new("nest a user ns without a map").run(|_| {
            let first = res(unshare(CloneFlags::CLONE_NEWUSER));
            (
                first,
                clone3_res(libc::CLONE_NEWUSER as u64),
                res(unshare(CloneFlags::CLONE_NEWUSER)),
            )
        })?;
    t.set("first unshare", unmapped.0);
    t.set("unmapped: clone3 NEWUSER", unmapped.1);
    t.set("unmapped: unshare NEWUSER", unmapped.2);
    t.set(
        "mapped: unshare NEWUSER",
        Fork::new("nest a user ns after mapping").run(|_| match new_user_ns() {
            Ok(()) => res(unshare(CloneFlags::CLONE_NEWUSER)),
            Err(m) => m.to_string(),
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
