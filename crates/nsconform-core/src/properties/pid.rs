//! PID namespaces: pid_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::child::in_helper;
use crate::kit::child::{
    ping, pipe, recv_value, send_line, wait_for, wait_ping, Child, Exit, Fork,
};
use crate::kit::{facts, io_errno, res, sys_res, write_res, Table, OK};
use crate::ns::{self, Ns};
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::{view, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::os::fd::AsRawFd;

pub const ALL: &[Property] = &[
    PID_01, PID_02, PID_03, PID_04, PID_05, PID_06, PID_07, PID_08, PID_09, PID_10, PID_11, PID_12,
    PID_13, PID_14, PID_15, PID_16, PID_17, PID_18, PID_19, PID_20, PID_21, PID_22,
];

/// Deepest PID namespace level the kernel allows (`MAX_PID_NS_LEVEL`, pid_namespaces(7)
/// "Nesting PID namespaces": "up to 32 levels").
pub const MAX_PID_NS_LEVEL: usize = 32;

// ---------------------------------------------------------------------------------
// Helpers of this area: process trees built with the kit's [`Fork`].

/// Start a helper running `f`; collect it with [`Child::finish`].
fn spawn<T: Serialize>(what: &str, f: impl FnOnce() -> T) -> Result<Child, StepError> {
    Fork::new(what).spawn(|_| f())
}

/// The errno of a failed step (its message when it has none).
fn step_errno(e: &StepError) -> String {
    e.errno.clone().unwrap_or_else(|| e.message.clone())
}

/// unshare(CLONE_NEWPID) when the launch asks for PID namespaces (a negative control
/// removes them), so later children go into a new PID namespace.
fn new_pid_ns(cx: &Inside) -> Result<bool, StepError> {
    if cx.launch.pid {
        unshare(Ns::Pid.flag()).step("create a PID namespace (unshare CLONE_NEWPID)")?;
    }
    Ok(cx.launch.pid)
}

fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

fn getppid() -> i32 {
    nix::unistd::getppid().as_raw()
}

/// The inode of `/proc/<who>/ns/<name>` (0 when unreadable).
fn ns_ino(who: &str, name: &str) -> u64 {
    crate::probe::sys::ns_inode(who, name).unwrap_or(0)
}

/// `"same"` or `"differs"`: how two per-run values (inodes, host PIDs) compared.
fn vs(same: bool) -> &'static str {
    if same {
        "same"
    } else {
        "differs"
    }
}

/// `/proc/<who>/ns/pid_for_children`.
const PID_FOR_CHILDREN: &str = "pid_for_children";

/// Fork a child that just exits: "ok" or the errno of the fork.
fn try_fork() -> String {
    match Fork::new("fork a child that exits").run(|_| ()) {
        Ok(()) => OK.to_string(),
        Err(e) => step_errno(&e),
    }
}

/// Open `path` and setns() into it with `flag`: "ok" or the errno of the failing step.
fn setns_path(path: &str, flag: CloneFlags) -> String {
    match std::fs::File::open(path) {
        Ok(f) => res(nix::sched::setns(&f, flag)),
        Err(e) => io_errno(&e),
    }
}

/// NSpid of this process (/proc/self/status, via procfs).
fn nspid() -> Vec<i32> {
    crate::kit::proc::status("self")
        .ok()
        .and_then(|s| s.nspid)
        .unwrap_or_default()
}

/// NStgid of this process.
fn nstgid() -> Vec<i32> {
    crate::kit::proc::status("self")
        .ok()
        .and_then(|s| s.nstgid)
        .unwrap_or_default()
}

/// Write `n` to /proc/sys/kernel/ns_last_pid: "ok" or the errno.
fn write_last_pid(n: i32) -> String {
    write_res("/proc/sys/kernel/ns_last_pid", n.to_string().as_bytes())
}

// ---------------------------------------------------------------------------------
// Signal plumbing for PID-09/PID-10: a SIGUSR1 handler recording si_pid.

static USR1_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static USR1_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_usr1(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let pid = unsafe { (*info).si_pid() };
    USR1_PID.store(pid, std::sync::atomic::Ordering::SeqCst);
    USR1_SEEN.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Install the SIGUSR1 handler (SA_SIGINFO | SA_RESTART).
fn install_usr1_handler() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let sa = SigAction::new(
        SigHandler::SigAction(on_usr1),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler is async-signal-safe (two atomic stores).
    let _ = unsafe { sigaction(Signal::SIGUSR1, &sa) };
}

fn usr1() -> (bool, i32) {
    (
        USR1_SEEN.load(std::sync::atomic::Ordering::SeqCst),
        USR1_PID.load(std::sync::atomic::Ordering::SeqCst),
    )
}

/// Send `sig` to `pid`: "ok" or the errno.
fn send(pid: i32, sig: Signal) -> String {
    res(nix::sys::signal::kill(Pid::from_raw(pid), sig))
}

// ---------------------------------------------------------------------------------
/// PID-01: the first process in a new PID namespace is PID 1 with parent PID 0, and a
/// procfs mounted in the namespace lists only its processes.
/// pid_namespaces(7) "The namespace init process", "/proc and PID namespaces".
pub const PID_01: Property = Property {
    id: "PID-01",
    area: Area::Pid,
    title: "First process in a new PID namespace is PID 1 with getppid() == 0; a procfs mounted there lists only its processes",
    man: "pid_namespaces(7) \"The namespace init process\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns01,unshare05; KST:pid_namespace/pidns_init_via_setns",
    controls: &[Control::NoNewPid, Control::NoProcMount, Control::Fault(Call::Getpid)],
    calls: &[Call::Getpid],
    global: false,
    subject: Some(crate::spec::SubjectCheck::required(pid_01_subject)),
    inside: Some(pid_01_inside),
    check: pid_01_check,
};

#[derive(Serialize, Deserialize)]
struct Pid01 {
    pid: i32,
    ppid: i32,
    proc_pids: Vec<i32>,
}

fn pid_01_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&Pid01 {
        pid: nix::unistd::getpid().as_raw(),
        ppid: nix::unistd::getppid().as_raw(),
        proc_pids: view::proc_pids("/proc"),
    })
}

fn pid_01_check(cx: &mut Cx) -> CheckResult {
    let host_pidns = host::own_ns_inode("pid")?;
    let (run, (pidns, nspid)) = cx.run_held(Launch::host().pid(), Value::Null, |run| {
        let pid = run.host_pid.expect("held runs have a pid");
        Ok((host::ns_inode(pid, "pid")?, host::nspid(pid)))
    })?;
    let f: Pid01 = run.facts()?;
    let mut e = Expect::new();
    e.ne(
        "PID namespace of the probe (a new PID namespace)",
        host_pidns,
        pidns,
    );
    e.eq(
        "PID of the first process (PID 1 of a new PID namespace)",
        1,
        f.pid,
    );
    e.eq("parent PID of the namespace init", 0, f.ppid);
    e.eq(
        "processes listed by /proc inside (a fresh procfs mounted in the PID namespace)",
        vec![1],
        f.proc_pids.clone(),
    );
    e.that(
        "NSpid seen from the host ends in 1",
        nspid.len() >= 2 && nspid.last() == Some(&1),
        "[<host pid>, ..., 1]",
        format!("{nspid:?}"),
    );
    Ok(
        e.verdict("first process is PID 1, ppid 0, /proc shows only it")
            .with_observed(json!({
                "pid": f.pid,
                "ppid": f.ppid,
                "proc_pids": f.proc_pids,
                "pid_ns_vs_host": vs(pidns == host_pidns),
                "nspid_levels_seen_from_host": nspid.len(),
            })),
    )
}

/// PID-01 for a subject: the probe is in a new PID namespace (PID 1, or a later PID under
/// the runtime's own init) and the /proc it sees, read from outside through
/// `/proc/<pid>/root/proc`, is a procfs of that namespace.
fn pid_01_subject(o: &SubjectObservation) -> Verdict {
    let nspid = &o.outside.nspid;
    let inner = nspid.last().copied().unwrap_or(0);
    let new_ns = o.outside.ns_differs.get("pid").copied().unwrap_or(false) && nspid.len() >= 2;
    let mut e = Expect::new();
    e.eq(
        "probe in a new PID namespace (seen from outside)",
        true,
        new_ns,
    );
    let proc_private = match &o.outside.proc_pids {
        Some(pids) => pids.contains(&inner) && !pids.contains(&nspid[0]),
        None => false,
    };
    e.that(
        "/proc inside lists the probe and no host PIDs",
        proc_private,
        format!("a procfs listing PID {inner} and not host PIDs"),
        match &o.outside.proc_pids {
            Some(p) if p.len() > 12 => format!("{} processes, host PIDs among them", p.len()),
            Some(p) => p.iter().map(i32::to_string).collect::<Vec<_>>().join(" "),
            None => "no procfs at /proc".into(),
        },
    );
    // A procfs of the parent PID namespace, or a tmpfs dressed up with a directory `1`,
    // is not the probe's own: its PID 1 must be in the probe's PID namespace.
    let own_procfs = o.outside.proc_is_own_pidns == Some(true);
    e.that(
        "the procfs at /proc belongs to the probe's own PID namespace (its PID 1 is there)",
        own_procfs,
        "/proc/1/ns/pid inside is the probe's PID namespace",
        match o.outside.proc_is_own_pidns {
            Some(false) => "another PID namespace's procfs, or not a procfs".to_string(),
            _ => "unreadable from outside".to_string(),
        },
    );
    let what = if inner == 1 {
        "probe is PID 1 of a new PID namespace with a private /proc".to_string()
    } else {
        format!("probe is PID {inner} of a new PID namespace (the runtime's init is PID 1) with a private /proc")
    };
    e.verdict(&what).with_observed(json!({
        "new_pid_ns": new_ns,
        "pid_inside": inner,
        "proc_private": proc_private,
        "procfs_of_own_pid_ns": own_procfs,
        "report_agrees": o.report.as_ref().map(|r| r.view.pid == inner),
    }))
}

// ---------------------------------------------------------------------------------
/// PID-02: unshare(CLONE_NEWPID) moves only the caller's later children.
/// pid_namespaces(7); unshare(2) CLONE_NEWPID.
pub const PID_02: Property = Property {
    id: "PID-02",
    area: Area::Pid,
    title: "unshare(CLONE_NEWPID) leaves the caller's PID and PID namespace unchanged; its next child is PID 1; ns/pid_for_children then differs from ns/pid",
    man: "pid_namespaces(7); unshare(2) CLONE_NEWPID",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_PID_NS"]),
    coverage: "LTP:unshare05; KST:~namespaces/nsid_test",
    controls: &[Control::NoNewPid, Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_02_inside),
    check: pid_02_check,
};

/// Inode numbers of `ns/pid` and `ns/pid_for_children` before and after the unshare.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid02 {
    pid_before: i32,
    pid_after: i32,
    ns_before: u64,
    ns_after: u64,
    pfc_before: u64,
    pfc_after: u64,
    child_pid: Option<i32>,
    child_ns: Option<u64>,
}

fn pid_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let (pid0, ns0, pfc0) = (
        getpid(),
        ns_ino("self", Ns::Pid.name()),
        ns_ino("self", PID_FOR_CHILDREN),
    );
    new_pid_ns(cx)?;
    let (pid1, ns1) = (getpid(), ns_ino("self", Ns::Pid.name()));
    // pid_for_children is only readable once its init exists (PID-04): look while the
    // child is alive.
    let (line_r, line_w) = pipe()?;
    let (rel_r, rel_w) = pipe()?;
    let mut helper = spawn("be the first child", || {
        send_line(&line_w, &(getpid(), ns_ino("self", Ns::Pid.name())));
        wait_ping(&rel_r)
    })?;
    drop(line_w);
    let child = recv_value::<(i32, u64)>(&line_r);
    let pfc1 = ns_ino("self", PID_FOR_CHILDREN);
    ping(&rel_w);
    helper.finish::<bool>()?;
    facts(&Pid02 {
        pid_before: pid0,
        pid_after: pid1,
        ns_before: ns0,
        ns_after: ns1,
        pfc_before: pfc0,
        pfc_after: pfc1,
        child_pid: child.map(|c| c.0),
        child_ns: child.map(|c| c.1),
    })
}

fn pid_02_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid02 = run.facts()?;
    let child_in_pfc = f.child_ns.map(|n| n == f.pfc_after);
    let mut e = Expect::new();
    e.eq(
        "caller's PID unchanged by unshare",
        f.pid_before,
        f.pid_after,
    );
    e.eq("caller's ns/pid unchanged", true, f.ns_before == f.ns_after);
    e.eq(
        "ns/pid_for_children was ns/pid before",
        true,
        f.pfc_before == f.ns_before,
    );
    e.eq(
        "ns/pid_for_children differs from ns/pid after unshare",
        true,
        f.pfc_after != f.ns_after,
    );
    e.eq(
        "PID of the next child (PID 1 of the new namespace)",
        Some(1),
        f.child_pid,
    );
    e.eq(
        "the child is in the caller's pid_for_children namespace",
        Some(true),
        child_in_pfc,
    );
    // PIDs are the caller's in the probe's own PID namespace; inodes are compared.
    Ok(
        e.verdict("unshare(CLONE_NEWPID) moved only the next child, which is PID 1")
            .with_observed(json!({
                "pid_before": f.pid_before,
                "pid_after": f.pid_after,
                "ns_pid_after_vs_before": vs(f.ns_after == f.ns_before),
                "pid_for_children_before_vs_ns_pid": vs(f.pfc_before == f.ns_before),
                "pid_for_children_after_vs_ns_pid": vs(f.pfc_after == f.ns_after),
                "child_pid": f.child_pid,
                "child_ns_pid_vs_pid_for_children": child_in_pfc.map(vs),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// PID-03: a process that already did unshare(CLONE_NEWPID) cannot do it again.
/// unshare(2) ERRORS.
pub const PID_03: Property = Property {
    id: "PID-03",
    area: Area::Pid,
    title: "A second unshare(CLONE_NEWPID) by the same process fails with EINVAL",
    man: "unshare(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[
        Control::NoNewPid,
        Control::Fault(Call::Unshare),
        Control::Fault(Call::Getpid),
    ],
    calls: &[Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_03_inside),
    check: pid_03_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid03 {
    first: String,
    second: String,
    child_pid: Option<i32>,
}

fn pid_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let first = if cx.launch.pid {
        res(unshare(CloneFlags::CLONE_NEWPID))
    } else {
        "not attempted".into()
    };
    let second = res(unshare(CloneFlags::CLONE_NEWPID));
    let (child_pid, _) = in_helper("report the next child's PID", getpid)?;
    facts(&Pid03 {
        first,
        second,
        child_pid,
    })
}

fn pid_03_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid03 = run.facts()?;
    let mut e = Expect::new();
    e.eq("first unshare(CLONE_NEWPID)", OK, f.first.as_str());
    e.eq("second unshare(CLONE_NEWPID)", "EINVAL", f.second.as_str());
    e.eq(
        "next child's PID (in the first new namespace)",
        Some(1),
        f.child_pid,
    );
    Ok(e.verdict("the second unshare(CLONE_NEWPID) is refused")
        .with_errno(f.second.clone())
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-04: pid_for_children before the namespace has its init.
/// namespaces(7) /proc/[pid]/ns/pid_for_children.
pub const PID_04: Property = Property {
    id: "PID-04",
    area: Area::Pid,
    title: "Before the first child exists, /proc/self/ns/pid_for_children cannot be read (ENOENT); newer kernels let another task open it and setns() in, its child becoming PID 1",
    man: "namespaces(7) /proc/[pid]/ns/pid_for_children",
    prereq: Prereq::ROOTLESS.kernel(4, 12).config(&["CONFIG_PID_NS"]),
    coverage: "KST:pid_namespace/pidns_init_via_setns (new behaviour only)",
    controls: &[Control::NoNewPid],
    calls: &[Call::Unshare, Call::Wait],
    global: false,
    subject: None,
    inside: Some(pid_04_inside),
    check: pid_04_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid04 {
    /// readlink of own pid_for_children before any child: "link" or errno.
    readlink_before_child: String,
    /// Another task's open + setns of that file: "ok" or errno.
    other_setns: String,
    /// PID of that task's child, when setns worked.
    other_child_pid: Option<i32>,
}

fn pid_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let (go_r, go_w) = pipe()?;
    let parent = getpid();
    let mut other = spawn("join the init-less namespace", || {
        wait_ping(&go_r);
        let path = format!("/proc/{parent}/ns/{PID_FOR_CHILDREN}");
        let r = setns_path(&path, CloneFlags::CLONE_NEWPID);
        let child = if r == OK {
            in_helper("report the joiner's child's PID", getpid)
                .ok()
                .and_then(|c| c.0)
        } else {
            None
        };
        (r, child)
    })?;
    new_pid_ns(cx)?;
    let readlink_before_child =
        match std::fs::read_link(format!("/proc/self/ns/{PID_FOR_CHILDREN}")) {
            Ok(_) => "link".to_string(),
            Err(e) => io_errno(&e),
        };
    ping(&go_w);
    let (r, _) = other.finish::<(String, Option<i32>)>()?;
    let (other_setns, other_child_pid) = r.unwrap_or_default();
    facts(&Pid04 {
        readlink_before_child,
        other_setns,
        other_child_pid,
    })
}

/// First kernel that lets a task join a PID namespace that has no init yet (the
/// pidns_init_via_setns selftest arrived after 6.18; 6.18 refuses with ENOENT).
const PIDNS_JOIN_BEFORE_INIT: crate::env::KernelVersion = crate::env::KernelVersion(6, 19, 0);

fn pid_04_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid04 = run.facts()?;
    let new_behaviour = cx.env.version.is_some_and(|v| v >= PIDNS_JOIN_BEFORE_INIT);
    let mut e = Expect::new();
    if new_behaviour {
        e.eq(
            "another task's setns() into the init-less namespace",
            OK,
            f.other_setns.as_str(),
        );
        e.eq("PID of that task's first child", Some(1), f.other_child_pid);
    } else {
        e.eq(
            "readlink of pid_for_children before the first child",
            "ENOENT",
            f.readlink_before_child.as_str(),
        );
        e.eq(
            "another task's open+setns of that pid_for_children",
            "ENOENT",
            f.other_setns.as_str(),
        );
    }
    Ok(e.verdict(if new_behaviour {
        "an init-less PID namespace can be joined; the joiner's child is PID 1"
    } else {
        "pid_for_children of an init-less PID namespace is not reachable (ENOENT)"
    })
    .with_errno(f.other_setns.clone())
    .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-05: PID namespaces nest 32 levels deep; creating the 33rd level is refused
/// (ENOSPC since the 4.9 ucount rework, EINVAL before). pid_namespaces(7) "Nesting PID
/// namespaces"; clone(2)/unshare(2) ERRORS.
pub const PID_05: Property = Property {
    id: "PID-05",
    area: Area::Pid,
    title: "PID namespaces nest 32 levels deep; creating the 33rd level fails (ENOSPC; EINVAL on old kernels)",
    man: "pid_namespaces(7) \"Nesting PID namespaces\"; unshare(2) ERRORS",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:~pidns32 (reaches 32, never checks the refusal)",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare)],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(pid_05_inside),
    check: pid_05_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Pid05 {
    /// PID namespace level of the inside process before nesting (0 = initial).
    start_level: usize,
    /// Levels this scenario created.
    created: usize,
    /// Errno of the first refused unshare(CLONE_NEWPID) ("ok" when none was refused).
    refused_errno: String,
    /// Entries in NSpid of the deepest process (host procfs view).
    deepest_nspid_len: usize,
}

fn pid_05_inside(cx: &Inside) -> Result<Value, StepError> {
    // The launcher made level 1 (unless the control removed CLONE_NEWPID); /proc is the
    // host's procfs, so NSpid lists every level from the initial namespace inward.
    let start_level = nspid().len().saturating_sub(1);
    facts(&nest(cx.launch.pid, start_level, 0)?)
}

/// One nesting level: unshare(CLONE_NEWPID) and run the next level in a child (PID 1
/// of the new namespace), until the kernel refuses or the limit is passed. The deepest
/// process reports; every level passes its report up.
fn nest(create: bool, start_level: usize, created: usize) -> Result<Pid05, StepError> {
    let here = |refused_errno: String| Pid05 {
        start_level,
        created,
        refused_errno,
        deepest_nspid_len: nspid().len(),
    };
    if start_level + created > MAX_PID_NS_LEVEL {
        return Ok(here(OK.to_string()));
    }
    if create {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
            return Ok(here(crate::probe::errno_name(e)));
        }
    }
    Fork::new("run the next nesting level").run(|_| {
        if create {
            nest(create, start_level, created + 1)
        } else {
            // Without CLONE_NEWPID there is nothing to nest: stop after one fork.
            Ok(Pid05 {
                start_level,
                created,
                refused_errno: OK.to_string(),
                deepest_nspid_len: nspid().len(),
            })
        }
    })?
}

fn pid_05_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        pid: true,
        ..Launch::host()
    };
    let run = cx.run(launch, Value::Null)?;
    let f: Pid05 = run.facts()?;
    let expected_errno = match cx.env.version {
        Some(v) if v < crate::env::KernelVersion(4, 9, 0) => "EINVAL",
        _ => "ENOSPC",
    };
    let mut e = Expect::new();
    e.eq(
        "deepest PID namespace level reached (a new PID namespace per level)",
        MAX_PID_NS_LEVEL,
        f.start_level + f.created,
    );
    e.eq(
        "NSpid entries of the deepest process",
        MAX_PID_NS_LEVEL + 1,
        f.deepest_nspid_len,
    );
    e.eq(
        "errno of the 33rd-level unshare(CLONE_NEWPID)",
        expected_errno,
        f.refused_errno.as_str(),
    );
    let refused = f.refused_errno != OK;
    let mut v = e.verdict(&format!(
        "32 levels nest, the 33rd is refused with {}",
        if refused {
            f.refused_errno.as_str()
        } else {
            "nothing"
        }
    ));
    if refused {
        v = v.with_errno(f.refused_errno.clone());
    }
    Ok(v.with_observed(json!({
        "levels_reached": f.start_level + f.created,
        "deepest_nspid_len": f.deepest_nspid_len,
        "refused_errno": f.refused_errno,
    })))
}

// ---------------------------------------------------------------------------------
/// PID-06: a process sees only its own PID namespace and its descendants.
/// pid_namespaces(7).
pub const PID_06: Property = Property {
    id: "PID-06",
    area: Area::Pid,
    title: "kill() and getpriority() on a PID outside the caller's PID namespace fail with ESRCH; the same PID number exists in several namespaces",
    man: "pid_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns06,pidns10",
    controls: &[Control::NoNewPid, Control::Fault(Call::Kill), Control::Fault(Call::Getpid)],
    calls: &[Call::Kill, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_06_inside),
    check: pid_06_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid06 {
    own_pid: i32,
    kill_outside: String,
    getpriority_outside: String,
}

/// The argument of PID-06: a PID of the harness's namespace.
#[derive(Serialize, Deserialize)]
struct Pid06Args {
    outside_pid: i32,
}

fn pid_06_inside(cx: &Inside) -> Result<Value, StepError> {
    let Pid06Args {
        outside_pid: target,
    } = cx.args()?;
    let kill_outside = res(nix::sys::signal::kill(Pid::from_raw(target), None));
    nix::errno::Errno::clear();
    // SAFETY: getpriority(2) takes two integers; nix has no wrapper. -1 is a valid
    // priority, so errno (cleared above) tells a failure apart.
    let prio = unsafe { libc::getpriority(libc::PRIO_PROCESS, target as libc::id_t) };
    let errno = nix::errno::Errno::last();
    let getpriority_outside = if prio == -1 && errno != nix::errno::Errno::UnknownErrno {
        crate::probe::errno_name(errno)
    } else {
        OK.into()
    };
    facts(&Pid06 {
        own_pid: getpid(),
        kill_outside,
        getpriority_outside,
    })
}

fn pid_06_check(cx: &mut Cx) -> CheckResult {
    let me = std::process::id() as i32;
    let (run, host_pid) = cx.run_held(
        Launch::host().pid(),
        json!(Pid06Args { outside_pid: me }),
        |run| Ok(run.host_pid.expect("held")),
    )?;
    let f: Pid06 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "kill(<harness PID>, 0) inside",
        "ESRCH",
        f.kill_outside.as_str(),
    );
    e.eq(
        "getpriority(PRIO_PROCESS, <harness PID>) inside",
        "ESRCH",
        f.getpriority_outside.as_str(),
    );
    e.eq("PID of the probe inside", 1, f.own_pid);
    e.that(
        "the same number names another process in the harness's namespace",
        host_pid != 1 && std::path::Path::new("/proc/1").exists(),
        "PID 1 exists outside too",
        format!("probe is host PID {host_pid}"),
    );
    Ok(
        e.verdict("processes outside the PID namespace are invisible")
            .with_errno(f.kill_outside.clone())
            .with_observed(json!({
                "kill_outside": f.kill_outside,
                "getpriority_outside": f.getpriority_outside,
                "own_pid": f.own_pid,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// PID-07: NSpid and NStgid list the PID at every level, outermost first.
/// proc(5) /proc/pid/status NSpid.
pub const PID_07: Property = Property {
    id: "PID-07",
    area: Area::Pid,
    title: "/proc/PID/status NSpid and NStgid list the task's PID in every namespace from the procfs's inward",
    man: "proc(5) /proc/pid/status NSpid",
    prereq: Prereq::ROOTLESS.kernel(4, 1).config(&["CONFIG_PID_NS"]),
    coverage: "KST:clone3/clone3_set_tid,pid_namespace/pidns_init_via_setns",
    controls: &[Control::NoNewPid],
    calls: &[Call::Unshare, Call::Wait],
    global: false,
    subject: None,
    inside: Some(pid_07_inside),
    check: pid_07_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid07 {
    own_nspid: Vec<i32>,
    child_pid_seen_by_parent: i32,
    child_nspid: Vec<i32>,
    child_nstgid: Vec<i32>,
}

fn pid_07_inside(cx: &Inside) -> Result<Value, StepError> {
    new_pid_ns(cx)?;
    let mut child = spawn("read NSpid in a nested namespace", || (nspid(), nstgid()))?;
    let child_pid_seen_by_parent = child.pid().as_raw();
    let (ids, _) = child.finish::<(Vec<i32>, Vec<i32>)>()?;
    let (child_nspid, child_nstgid) = ids.unwrap_or_default();
    facts(&Pid07 {
        own_nspid: nspid(),
        child_pid_seen_by_parent,
        child_nspid,
        child_nstgid,
    })
}

fn pid_07_check(cx: &mut Cx) -> CheckResult {
    let (run, outside) = cx.run_held(Launch::host().pid(), Value::Null, |run| {
        Ok((
            run.host_pid.expect("held"),
            host::nspid(run.host_pid.expect("held")),
        ))
    })?;
    let (host_pid, host_view) = outside;
    let f: Pid07 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "NSpid of the probe seen from the host",
        vec![host_pid, 1],
        host_view.clone(),
    );
    e.eq(
        "NSpid of the probe in its own procfs",
        vec![1],
        f.own_nspid.clone(),
    );
    e.eq(
        "NSpid of a child in a nested namespace (its PID in the procfs's namespace, then 1)",
        vec![f.child_pid_seen_by_parent, 1],
        f.child_nspid.clone(),
    );
    e.eq(
        "NStgid of that child",
        f.child_nspid.clone(),
        f.child_nstgid.clone(),
    );
    Ok(e.verdict("NSpid lists every level, outermost first")
        .with_observed(json!({
            "host_view_len": host_view.len(),
            "host_view_last": host_view.last(),
            "own_nspid": f.own_nspid,
            "child_pid_seen_by_parent": f.child_pid_seen_by_parent,
            "child_nspid": f.child_nspid,
        })))
}

// ---------------------------------------------------------------------------------
/// PID-08: getppid() is 0 when the parent lives in an ancestor PID namespace.
/// pid_namespaces(7) "The namespace init process"; setns(2).
pub const PID_08: Property = Property {
    id: "PID-08",
    area: Area::Pid,
    title: "getppid() returns 0 when the parent is in an ancestor PID namespace (the namespace init; a child of a process that setns()'d into a child namespace)",
    man: "pid_namespaces(7) \"The namespace init process\"; setns(2)",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_PID_NS"]),
    coverage: "LTP:~pidns01 (init case only)",
    controls: &[Control::NoNewPid, Control::Fault(Call::Setns), Control::Fault(Call::Unshare), Control::Fault(Call::Getpid)],
    calls: &[Call::Setns, Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_08_inside),
    check: pid_08_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid08 {
    init_ppid: i32,
    setns: String,
    child_ppid: Option<i32>,
    child_pid: Option<i32>,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Setnsed {
    setns: String,
    child: Option<(i32, i32)>,
}

fn pid_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let (ready_r, ready_w) = pipe()?;
    let (rel_r, rel_w) = pipe()?;
    let make_ns = cx.launch.pid;
    // A: makes a nested namespace whose init (B) waits for release.
    let mut a = spawn("make a nested PID namespace", || {
        if make_ns && unshare(CloneFlags::CLONE_NEWPID).is_err() {
            ping(&ready_w);
            return false;
        }
        let b = spawn("be the nested init", || wait_ping(&rel_r));
        ping(&ready_w);
        if let Ok(mut b) = b {
            let _ = b.finish::<bool>();
        }
        true
    })?;
    wait_ping(&ready_r);
    let a_pid = a.pid().as_raw();
    // T: joins A's pid_for_children namespace and forks C.
    let (t, _) = in_helper("setns() into the nested namespace and fork", || {
        let setns = setns_path(
            &format!("/proc/{a_pid}/ns/{PID_FOR_CHILDREN}"),
            CloneFlags::CLONE_NEWPID,
        );
        let child = if setns == OK {
            in_helper("report getppid() after setns()", || (getppid(), getpid()))
                .ok()
                .and_then(|c| c.0)
        } else {
            None
        };
        Setnsed { setns, child }
    })?;
    ping(&rel_w);
    let _ = a.finish::<bool>()?;
    let t = t.unwrap_or_default();
    facts(&Pid08 {
        init_ppid: getppid(),
        setns: t.setns,
        child_ppid: t.child.map(|c| c.0),
        child_pid: t.child.map(|c| c.1),
    })
}

fn pid_08_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid08 = run.facts()?;
    let mut e = Expect::new();
    e.eq("getppid() of the namespace init", 0, f.init_ppid);
    e.eq("setns() into a child PID namespace", OK, f.setns.as_str());
    e.eq(
        "getppid() of a child forked after setns() (parent in the ancestor namespace)",
        Some(0),
        f.child_ppid,
    );
    e.eq(
        "PID of that child in the child namespace (its init is 1)",
        Some(2),
        f.child_pid,
    );
    Ok(e.verdict("getppid() is 0 across the namespace boundary")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-09: the namespace init ignores unhandled signals from its own namespace.
/// pid_namespaces(7) "The namespace init process".
pub const PID_09: Property = Property {
    id: "PID-09",
    area: Area::Pid,
    title: "From inside its namespace, init gets only signals it handles: SIGKILL and SIGTERM from a privileged member are ignored, a handled SIGUSR1 arrives",
    man: "pid_namespaces(7) \"The namespace init process\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns04",
    controls: &[Control::NoNewPid, Control::Fault(Call::Kill), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Kill, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_09_inside),
    check: pid_09_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid09Init {
    sends: Vec<(String, String)>,
    usr1_seen: bool,
    usr1_si_pid: i32,
    sender_pid: i32,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid09 {
    init: Option<Pid09Init>,
    init_end: String,
}

fn pid_09_inside(cx: &Inside) -> Result<Value, StepError> {
    new_pid_ns(cx)?;
    let (init, init_end) = in_helper("be the namespace init", || {
        install_usr1_handler();
        let sender = spawn("signal the init from inside", || {
            let target = getppid();
            [Signal::SIGKILL, Signal::SIGTERM, Signal::SIGUSR1]
                .into_iter()
                .map(|sig| (sig.as_str().to_string(), send(target, sig)))
                .collect::<Vec<(String, String)>>()
        });
        let (sends, sender_pid) = match sender {
            Ok(mut s) => {
                let pid = s.pid().as_raw();
                (
                    s.finish::<Vec<(String, String)>>().ok().and_then(|r| r.0),
                    pid,
                )
            }
            Err(_) => (None, 0),
        };
        let (usr1_seen, usr1_si_pid) = usr1();
        Pid09Init {
            sends: sends.unwrap_or_default(),
            usr1_seen,
            usr1_si_pid,
            sender_pid,
        }
    })?;
    facts(&Pid09 {
        init,
        init_end: init_end.to_string(),
    })
}

fn pid_09_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid09 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "how the init ended after SIGKILL and SIGTERM from a member",
        "exited 0",
        f.init_end.as_str(),
    );
    let init = f.init.as_ref();
    e.eq(
        "init handled SIGUSR1 from a member",
        Some(true),
        init.map(|i| i.usr1_seen),
    );
    e.eq(
        "si_pid of that SIGUSR1 (the sender's PID in the namespace)",
        init.map(|i| i.sender_pid),
        init.map(|i| i.usr1_si_pid),
    );
    Ok(
        e.verdict("init ignored SIGKILL/SIGTERM from inside and took its handled SIGUSR1")
            .with_observed(json!({
                "init_end": f.init_end,
                "sends": init.map(|i| &i.sends),
                "usr1_seen": init.map(|i| i.usr1_seen),
                "usr1_si_pid": init.map(|i| i.usr1_si_pid),
                "sender_pid": init.map(|i| i.sender_pid),
            })),
    )
}

// ---------------------------------------------------------------------------------
/// PID-10: signals from an ancestor namespace.
/// pid_namespaces(7) "The namespace init process".
pub const PID_10: Property = Property {
    id: "PID-10",
    area: Area::Pid,
    title: "From an ancestor namespace, init gets handled signals (si_pid 0) and the forced SIGSTOP and SIGKILL; an unhandled SIGTERM is ignored",
    man: "pid_namespaces(7) \"The namespace init process\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns05,pidns12,pidns16,pidns20",
    controls: &[Control::NoNewPid],
    calls: &[Call::Unshare, Call::Kill, Call::Wait],
    global: false,
    subject: None,
    inside: Some(pid_10_inside),
    check: pid_10_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid10 {
    /// What waitpid(WUNTRACED) saw after SIGTERM, SIGUSR1 and SIGSTOP.
    after_stop: String,
    usr1_seen: Option<bool>,
    usr1_si_pid: Option<i32>,
    init_end: String,
}

fn pid_10_inside(cx: &Inside) -> Result<Value, StepError> {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    new_pid_ns(cx)?;
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (line_r, line_w) = pipe()?;
    let (never_r, never_w) = pipe()?;
    let mut init = spawn("be the namespace init", || {
        install_usr1_handler();
        ping(&ready_w);
        wait_ping(&go_r);
        send_line(&line_w, &usr1());
        wait_ping(&never_r);
    })?;
    drop((ready_w, line_w, never_r));
    wait_ping(&ready_r);
    let pid = init.pid().as_raw();
    send(pid, Signal::SIGTERM);
    send(pid, Signal::SIGUSR1);
    send(pid, Signal::SIGSTOP);
    // WNOWAIT: an exit stays for `init.wait()` to reap.
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    let stopped = loop {
        match waitid(Id::Pid(init.pid()), flags) {
            Ok(WaitStatus::Stopped(_, s)) => break Some(format!("stopped by {s:?}")),
            Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => break None,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).step("wait for the init to stop"),
        }
    };
    let mut seen = None;
    let (after_stop, init_end) = match stopped {
        Some(after_stop) => {
            send(pid, Signal::SIGCONT);
            ping(&go_w);
            seen = recv_value::<(bool, i32)>(&line_r);
            send(pid, Signal::SIGKILL);
            (after_stop, init.wait()?.to_string())
        }
        None => {
            let end = init.wait()?.to_string();
            (end.clone(), end)
        }
    };
    drop(never_w);
    facts(&Pid10 {
        after_stop,
        usr1_seen: seen.map(|s| s.0),
        usr1_si_pid: seen.map(|s| s.1),
        init_end,
    })
}

fn pid_10_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid10 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "init after SIGTERM (ignored), SIGUSR1 (handled) and SIGSTOP (forced) from the parent namespace",
        "stopped by SIGSTOP",
        f.after_stop.as_str(),
    );
    e.eq("init handled SIGUSR1", Some(true), f.usr1_seen);
    e.eq(
        "si_pid of a signal from the ancestor namespace",
        Some(0),
        f.usr1_si_pid,
    );
    e.eq(
        "init after SIGKILL from the parent namespace",
        "killed by SIGKILL",
        f.init_end.as_str(),
    );
    Ok(e.verdict(
        "ancestor signals: SIGTERM ignored, SIGUSR1 handled with si_pid 0, SIGSTOP/SIGKILL forced",
    )
    .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-11: when init dies, every process of its namespace is killed.
/// pid_namespaces(7) "The namespace init process".
pub const PID_11: Property = Property {
    id: "PID-11",
    area: Area::Pid,
    title: "When the namespace init exits, every other process of the namespace, nested namespaces included, is killed",
    man: "pid_namespaces(7) \"The namespace init process\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns05,pidns17",
    controls: &[Control::NoNewPid],
    calls: &[Call::Unshare, Call::Wait],
    global: false,
    subject: None,
    inside: Some(pid_11_inside),
    check: pid_11_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid11 {
    members_ready: usize,
    init_end: String,
    all_members_gone: bool,
    /// What poll(2) on the read end of the pipe the members hold open saw within 300 ms
    /// of reaping init: the revents (`POLLHUP`: every member is gone), `timed out`, or
    /// the errno.
    alive_poll: String,
    /// The member's unshare(CLONE_NEWPID) for the nested namespace: `ok`, the errno, or
    /// `not attempted` when the probe itself has no new PID namespace.
    nested_ns: String,
}

fn pid_11_inside(cx: &Inside) -> Result<Value, StepError> {
    use nix::poll::{poll, PollFd, PollFlags};
    use std::io::Read;
    use std::os::fd::AsFd;
    // Orphans come back to us when a control removed the namespace, so we can clean up.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let nested = cx.launch.pid;
    new_pid_ns(cx)?;
    let (alive_r, alive_w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (never_r, never_w) = pipe()?;
    // C1 says in four bytes how its unshare for the nested namespace ended: 0, the errno,
    // or -1 when not attempted (C2 holds the pipe open, so exactly four bytes are read,
    // not to the end).
    let (nest_r, nest_w) = pipe()?;
    // A member announces its PID and waits; it holds the write end of `alive` until it
    // dies. Members have no PR_SET_PDEATHSIG and their handles are forgotten, so only
    // the namespace's end can kill them.
    let member = || {
        crate::probe::sys::write_all(ready_w.as_raw_fd(), &getpid().to_le_bytes());
        wait_ping(&never_r);
    };
    let mut init = spawn("be the namespace init", || {
        // C1: a member; it makes a nested namespace whose init is C2.
        let c1 = Fork::new("be a member").no_deathsig().spawn(|_| {
            let made: i32 = match nested.then(|| unshare(CloneFlags::CLONE_NEWPID)) {
                None => -1,
                Some(Ok(())) => 0,
                Some(Err(e)) => e as i32,
            };
            crate::probe::sys::write_all(nest_w.as_raw_fd(), &made.to_le_bytes());
            if let Ok(c2) = Fork::new("be a nested member")
                .no_deathsig()
                .spawn(|_| member())
            {
                std::mem::forget(c2);
            }
            member();
        });
        if let Ok(c1) = c1 {
            std::mem::forget(c1);
        }
        wait_ping(&go_r);
    })?;
    drop((alive_w, ready_w, never_r, nest_w));
    let mut made = [0u8; 4];
    let nested_ns = match std::fs::File::from(nest_r).read_exact(&mut made) {
        Ok(()) => match i32::from_le_bytes(made) {
            0 => OK.to_string(),
            -1 => "not attempted".to_string(),
            n => crate::probe::errno_name(nix::errno::Errno::from_raw(n)),
        },
        Err(_) => "not reported".to_string(),
    };
    let mut pids = [0u8; 8];
    let members_ready = if std::fs::File::from(ready_r).read_exact(&mut pids).is_ok() {
        2
    } else {
        0
    };
    ping(&go_w);
    let (_, init_end) = init.finish::<()>()?;
    let mut fds = [PollFd::new(alive_r.as_fd(), PollFlags::POLLIN)];
    let polled = poll(&mut fds, 300u16);
    let all_members_gone = polled.is_ok_and(|n| n == 1);
    let alive_poll = match polled {
        Ok(0) => "timed out".to_string(),
        Ok(_) => {
            let got = fds[0].revents().unwrap_or(PollFlags::empty());
            let names: Vec<&str> = [
                (PollFlags::POLLIN, "POLLIN"),
                (PollFlags::POLLHUP, "POLLHUP"),
                (PollFlags::POLLERR, "POLLERR"),
                (PollFlags::POLLNVAL, "POLLNVAL"),
            ]
            .into_iter()
            .filter(|(f, _)| got.contains(*f))
            .map(|(_, n)| n)
            .collect();
            names.join("|")
        }
        Err(e) => crate::probe::errno_name(e),
    };
    if !all_members_gone {
        for chunk in pids.chunks(4) {
            let pid = i32::from_le_bytes(chunk.try_into().unwrap_or([0; 4]));
            if pid > 1 {
                send(pid, Signal::SIGKILL);
            }
        }
    }
    drop(never_w);
    // Reap whatever was reparented to us.
    while waitpid(None, None).is_ok() {}
    facts(&Pid11 {
        members_ready,
        init_end: init_end.to_string(),
        all_members_gone,
        alive_poll,
        nested_ns,
    })
}

fn pid_11_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid11 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "members (one in a nested namespace) started",
        2,
        f.members_ready,
    );
    e.eq("init exited normally", "exited 0", f.init_end.as_str());
    e.eq(
        "every member was gone when init's exit was reaped",
        true,
        f.all_members_gone,
    );
    // Without it "one member in a nested namespace" would be untested.
    e.eq(
        "the nested PID namespace was made (unshare CLONE_NEWPID in a member)",
        OK,
        f.nested_ns.as_str(),
    );
    Ok(e.verdict("the namespace died with its init")
        .with_observed(json!({
            "members_ready": f.members_ready,
            "init_end": f.init_end,
            "members_pipe_after_init_end": f.alive_poll,
            "nested_unshare": f.nested_ns,
        })))
}

// ---------------------------------------------------------------------------------
/// PID-12: no new process can enter a PID namespace whose init has died.
/// pid_namespaces(7) "The namespace init process".
pub const PID_12: Property = Property {
    id: "PID-12",
    area: Area::Pid,
    title: "After the namespace init died, fork() into that namespace fails with ENOMEM, for the unshare() caller and for a task that setns()'d in",
    man: "pid_namespaces(7) \"The namespace init process\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_PID_NS"]),
    coverage: "KST:pid_namespace/regression_enomem",
    controls: &[Control::NoNewPid, Control::Fault(Call::Setns), Control::Fault(Call::Getpid)],
    calls: &[Call::Setns, Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_12_inside),
    check: pid_12_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid12 {
    init_end: String,
    caller_fork: String,
    joiner_setns: String,
    joiner_fork: String,
}

fn pid_12_inside(cx: &Inside) -> Result<Value, StepError> {
    let (go_r, go_w) = pipe()?;
    let parent = getpid();
    let mut joiner = spawn("join the namespace after its init died", || {
        wait_ping(&go_r);
        let path = format!("/proc/{parent}/ns/{PID_FOR_CHILDREN}");
        let r = setns_path(&path, CloneFlags::CLONE_NEWPID);
        let f = if r == OK {
            try_fork()
        } else {
            "not attempted".into()
        };
        (r, f)
    })?;
    new_pid_ns(cx)?;
    // The namespace's init: exits at once.
    let (_, init_end) = in_helper("be the namespace init and exit", || ())?;
    let caller_fork = try_fork();
    ping(&go_w);
    let (j, _) = joiner.finish::<(String, String)>()?;
    let (joiner_setns, joiner_fork) = j.unwrap_or_default();
    facts(&Pid12 {
        init_end: init_end.to_string(),
        caller_fork,
        joiner_setns,
        joiner_fork,
    })
}

fn pid_12_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid12 = run.facts()?;
    let mut e = Expect::new();
    e.eq("the namespace init exited", "exited 0", f.init_end.as_str());
    e.eq(
        "fork() by the unshare() caller afterwards",
        "ENOMEM",
        f.caller_fork.as_str(),
    );
    e.eq(
        "setns() into the dead namespace",
        OK,
        f.joiner_setns.as_str(),
    );
    e.eq(
        "fork() after that setns()",
        "ENOMEM",
        f.joiner_fork.as_str(),
    );
    Ok(
        e.verdict("a PID namespace whose init died takes no new processes")
            .with_errno(f.caller_fork.clone())
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// PID-13: adoption of orphans.
/// pid_namespaces(7) "Adoption of orphaned children"; prctl(2) PR_SET_CHILD_SUBREAPER.
pub const PID_13: Property = Property {
    id: "PID-13",
    area: Area::Pid,
    title: "Orphans are adopted by the init of their parent's PID namespace, or by the nearest child subreaper; a child of a setns()'d task goes to the ancestor init and sees getppid() == 0",
    man: "pid_namespaces(7) \"Adoption of orphaned children\"; prctl(2) PR_SET_CHILD_SUBREAPER",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[Control::NoNewPid, Control::Fault(Call::Setns), Control::Fault(Call::Unshare), Control::Fault(Call::Getpid)],
    calls: &[Call::Setns, Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_13_inside),
    check: pid_13_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid13 {
    orphan_ppid: Option<i32>,
    /// prctl(PR_SET_CHILD_SUBREAPER) in the subreaper: "ok" or the errno.
    subreaper_set: String,
    /// Why the orphan under the subreaper could not be made, if it could not.
    subreaper_orphan_error: Option<String>,
    subreaper_pid: i32,
    subreaper_orphan_ppid: Option<i32>,
    /// unshare(CLONE_NEWPID) of the nested namespace's holder ("not attempted" when a
    /// control removed PID namespaces); `None` when the holder never said.
    nested_ns: Option<String>,
    /// setns() into the nested namespace: "ok" or the errno; `None` when the task died.
    setns: Option<String>,
    setns_orphan_ppid: Option<i32>,
    setns_orphan_reaped_by_us: bool,
    /// How our waitpid() for that orphan ended: its exit, or the errno (`ECHILD`: not
    /// ours to reap).
    setns_orphan_wait: String,
}

/// Fork A, which forks B and exits; once A is reaped, B reports its getppid().
/// Returns B's report; B is left to whoever adopted it.
fn make_orphan() -> Result<Option<i32>, StepError> {
    let (rel_r, rel_w) = pipe()?;
    let (line_r, line_w) = pipe()?;
    in_helper("leave an orphan", || {
        // B outlives A (no PR_SET_PDEATHSIG, handle forgotten).
        let b = Fork::new("be an orphan").no_deathsig().spawn(|_| {
            wait_ping(&rel_r);
            send_line(&line_w, &getppid());
        });
        if let Ok(b) = b {
            std::mem::forget(b);
        }
    })?;
    drop(line_w);
    ping(&rel_w);
    Ok(recv_value::<i32>(&line_r))
}

fn pid_13_inside(cx: &Inside) -> Result<Value, StepError> {
    // 1. A plain orphan in our namespace: adopted by its init (us, PID 1).
    let orphan_ppid = make_orphan()?;
    // 2. Under a subreaper.
    let (r, _) = in_helper("be a child subreaper", || {
        let set = res(nix::sys::prctl::set_child_subreaper(true));
        let (ppid, error) = match make_orphan() {
            Ok(p) => (p, None),
            Err(e) => (None, Some(e.to_string())),
        };
        while waitpid(None, None).is_ok() {}
        (getpid(), set, ppid, error)
    })?;
    let (subreaper_pid, subreaper_set, subreaper_orphan_ppid, subreaper_orphan_error) = r
        .unwrap_or_else(|| {
            let died = "the subreaper ended without a report".to_string();
            (0, died.clone(), None, Some(died))
        });
    // 3. A child of a task that setns()'d into a nested namespace: its parent's active
    //    namespace is ours, so our init adopts it.
    let (ready_r, ready_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let make_ns = cx.launch.pid;
    let mut holder = spawn("hold a nested PID namespace", || {
        let made = if make_ns {
            res(unshare(CloneFlags::CLONE_NEWPID))
        } else {
            "not attempted".to_string()
        };
        let init = spawn("be the nested init", || wait_ping(&hold_r));
        send_line(&ready_w, &made);
        if let Ok(mut i) = init {
            let _ = i.finish::<bool>();
        }
    })?;
    let nested_ns = recv_value::<String>(&ready_r);
    let holder_pid = holder.pid().as_raw();
    let (rel_r, rel_w) = pipe()?;
    let (line_r, line_w) = pipe()?;
    let (t, _) = in_helper(
        "setns() into the nested namespace and leave a child",
        || {
            let r = setns_path(
                &format!("/proc/{holder_pid}/ns/{PID_FOR_CHILDREN}"),
                CloneFlags::CLONE_NEWPID,
            );
            // The child outlives this task (no PR_SET_PDEATHSIG, handle forgotten).
            let child = Fork::new("be the setns()'d task's child")
                .no_deathsig()
                .spawn(|_| {
                    wait_ping(&rel_r);
                    send_line(&line_w, &getppid());
                });
            match child {
                Ok(c) => {
                    let pid = c.pid().as_raw();
                    std::mem::forget(c);
                    (r, pid)
                }
                Err(e) => (step_errno(&e), 0),
            }
        },
    )?;
    drop(line_w);
    ping(&rel_w);
    let setns_orphan_ppid = recv_value::<i32>(&line_r);
    let (setns, orphan) = match t {
        Some((r, pid)) => (Some(r), pid),
        None => (None, 0),
    };
    let waited = (orphan > 0).then(|| wait_for(Pid::from_raw(orphan)));
    let setns_orphan_reaped_by_us = waited.as_ref().is_some_and(|w| w.is_ok());
    let setns_orphan_wait = match &waited {
        Some(Ok(end)) => end.to_string(),
        Some(Err(e)) => step_errno(e),
        None => "no orphan".to_string(),
    };
    ping(&hold_w);
    holder.finish::<()>()?;
    // Reap the orphans of step 1.
    while waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
        .is_ok_and(|w| w != WaitStatus::StillAlive)
    {}
    facts(&Pid13 {
        orphan_ppid,
        subreaper_set,
        subreaper_orphan_error,
        subreaper_pid,
        subreaper_orphan_ppid,
        nested_ns,
        setns,
        setns_orphan_ppid,
        setns_orphan_reaped_by_us,
        setns_orphan_wait,
    })
}

fn pid_13_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid13 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "getppid() of an orphan (adopted by the namespace init)",
        Some(1),
        f.orphan_ppid,
    );
    e.eq(
        "prctl(PR_SET_CHILD_SUBREAPER) in the subreaper",
        OK,
        f.subreaper_set.as_str(),
    );
    e.eq(
        "leaving an orphan under the subreaper",
        None,
        f.subreaper_orphan_error.as_deref(),
    );
    e.eq(
        "getppid() of an orphan under a child subreaper",
        Some(f.subreaper_pid),
        f.subreaper_orphan_ppid,
    );
    // Not attempted only under a control that removed PID namespaces: then there is no
    // nested namespace to join (the setns() target is the probe's own namespace) and the
    // orphan's getppid() below is what must catch it.
    if f.nested_ns.as_deref() != Some("not attempted") {
        e.eq(
            "unshare(CLONE_NEWPID) of the nested namespace's holder",
            Some(OK),
            f.nested_ns.as_deref(),
        );
        e.eq(
            "setns() into the nested PID namespace",
            Some(OK),
            f.setns.as_deref(),
        );
    }
    e.eq(
        "getppid() of the orphaned child of a setns()'d task (adopted by the ancestor init)",
        Some(0),
        f.setns_orphan_ppid,
    );
    e.eq(
        "that orphan was reaped by the ancestor namespace's init",
        true,
        f.setns_orphan_reaped_by_us,
    );
    Ok(
        e.verdict("orphans go to their parent's namespace init or a subreaper")
            .with_observed(json!({
                "orphan_ppid": f.orphan_ppid,
                "subreaper_pid": f.subreaper_pid,
                "subreaper_orphan_ppid": f.subreaper_orphan_ppid,
                "setns_orphan_ppid": f.setns_orphan_ppid,
                "setns_orphan_wait_by_ancestor_init": f.setns_orphan_wait,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// PID-14: reboot(2) inside a PID namespace kills its init with a signal.
pub const PID_14: Property = Property {
    id: "PID-14",
    area: Area::Pid,
    title: "reboot() in a child PID namespace kills its init: RESTART/RESTART2 by SIGHUP, POWER_OFF/HALT by SIGINT; other commands fail with EINVAL",
    man: "reboot(2) \"Behavior inside PID namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(3, 4).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_14_inside),
    check: pid_14_check,
};

/// Exit code of an init that refused to call reboot() because it is not PID 1 of a
/// new namespace (never reboot the machine).
const NOT_A_NAMESPACE_INIT: i32 = 99;

fn pid_14_inside(cx: &Inside) -> Result<Value, StepError> {
    let make = cx.launch.pid;
    let mut out = Vec::new();
    for (name, cmd) in [
        ("RESTART", libc::LINUX_REBOOT_CMD_RESTART),
        ("RESTART2", libc::LINUX_REBOOT_CMD_RESTART2),
        ("POWER_OFF", libc::LINUX_REBOOT_CMD_POWER_OFF),
        ("HALT", libc::LINUX_REBOOT_CMD_HALT),
        ("CAD_ON", libc::LINUX_REBOOT_CMD_CAD_ON),
    ] {
        let (r, _) = in_helper(
            "make a PID namespace whose init calls reboot()",
            move || {
                if make && unshare(CloneFlags::CLONE_NEWPID).is_err() {
                    return "unshare failed".to_string();
                }
                let init = Fork::new("call reboot() as a namespace init").spawn::<()>(|_| {
                    // Only ever in a new PID namespace, as its init.
                    if !make || getpid() != 1 {
                        crate::kit::child::exit_now(NOT_A_NAMESPACE_INIT);
                    }
                    let arg = c"nsconform";
                    // SAFETY: reboot(2) with the magic numbers (nix's reboot takes no
                    // RESTART2 argument); in a child PID namespace it only acts on that
                    // namespace.
                    unsafe {
                        libc::syscall(
                            libc::SYS_reboot,
                            libc::LINUX_REBOOT_MAGIC1,
                            libc::LINUX_REBOOT_MAGIC2,
                            cmd,
                            arg.as_ptr(),
                        )
                    };
                    crate::kit::child::exit_now(nix::errno::Errno::last() as i32)
                });
                match init.and_then(|mut c| c.wait()) {
                    Ok(Exit::Exited(NOT_A_NAMESPACE_INIT)) => {
                        "refused: not a namespace init".to_string()
                    }
                    Ok(Exit::Exited(c)) => crate::probe::errno_name(nix::errno::Errno::from_raw(c)),
                    Ok(other) => other.to_string(),
                    Err(e) => step_errno(&e),
                }
            },
        )?;
        out.push((name.to_string(), r.unwrap_or_default()));
    }
    facts(&out)
}

fn pid_14_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Vec<(String, String)> = run.facts()?;
    let want = [
        ("RESTART", "killed by SIGHUP"),
        ("RESTART2", "killed by SIGHUP"),
        ("POWER_OFF", "killed by SIGINT"),
        ("HALT", "killed by SIGINT"),
        ("CAD_ON", "EINVAL"),
    ];
    let mut e = Expect::new();
    let table: Table = f.iter().cloned().collect();
    table.judge(&mut e, "init after reboot()", &want);
    Ok(
        e.verdict("reboot() in a PID namespace ends its init with the documented signal")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// PID-15: a procfs shows the PID namespace of its mounter, whoever reads it.
/// pid_namespaces(7) "/proc and PID namespaces".
pub const PID_15: Property = Property {
    id: "PID-15",
    area: Area::Pid,
    title: "A procfs lists the processes of its mounter's PID namespace whoever reads it; /proc/self gives the reader's PID in that namespace and is missing (ENOENT) for a reader outside it",
    man: "pid_namespaces(7) \"/proc and PID namespaces\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns03; KST:proc/proc-pidns",
    controls: &[Control::NoNewPid, Control::NoProcMount],
    calls: &[Call::Unshare, Call::Mount, Call::Wait],
    global: false,
    subject: None,
    inside: Some(pid_15_inside),
    check: pid_15_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid15Child {
    mount: String,
    proc_self: String,
    new_proc_self: String,
    new_proc_pids: Vec<i32>,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid15 {
    child_pid_seen_by_parent: i32,
    child: Option<Pid15Child>,
    parent_new_proc_self: String,
    parent_new_proc_pids: Vec<i32>,
    parent_proc_lists_child: bool,
}

fn link_text(path: &str) -> String {
    match std::fs::read_link(path) {
        Ok(t) => t.to_string_lossy().into_owned(),
        Err(e) => io_errno(&e),
    }
}

fn pid_15_inside(cx: &Inside) -> Result<Value, StepError> {
    nix::mount::mount(
        Some("nsconform"),
        "/tmp",
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("mode=0755"),
    )
    .step("mount a private tmpfs on /tmp")?;
    std::fs::create_dir("/tmp/p2").step("mkdir /tmp/p2")?;
    new_pid_ns(cx)?;
    let (ready_r, ready_w) = pipe()?;
    let (rel_r, rel_w) = pipe()?;
    let mut child = spawn("mount a procfs in a nested PID namespace", || {
        let mount = res(nix::mount::mount(
            Some("proc"),
            "/tmp/p2",
            Some("proc"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        ));
        let r = Pid15Child {
            mount,
            proc_self: link_text("/proc/self"),
            new_proc_self: link_text("/tmp/p2/self"),
            new_proc_pids: view::proc_pids("/tmp/p2"),
        };
        ping(&ready_w);
        wait_ping(&rel_r);
        r
    })?;
    let child_pid_seen_by_parent = child.pid().as_raw();
    wait_ping(&ready_r);
    let parent_new_proc_self = link_text("/tmp/p2/self");
    let parent_new_proc_pids = view::proc_pids("/tmp/p2");
    let parent_proc_lists_child = view::proc_pids("/proc").contains(&child_pid_seen_by_parent);
    ping(&rel_w);
    let (child, _) = child.finish::<Pid15Child>()?;
    let _ = nix::mount::umount2("/tmp/p2", nix::mount::MntFlags::MNT_DETACH);
    facts(&Pid15 {
        child_pid_seen_by_parent,
        child,
        parent_new_proc_self,
        parent_new_proc_pids,
        parent_proc_lists_child,
    })
}

fn pid_15_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid15 = run.facts()?;
    let c = f.child.as_ref();
    let mut e = Expect::new();
    e.eq(
        "child mounts a procfs in its nested namespace",
        Some(OK),
        c.map(|c| c.mount.as_str()),
    );
    e.eq(
        "/proc/self read by the nested child from the outer procfs (its PID there)",
        Some(f.child_pid_seen_by_parent.to_string()),
        c.map(|c| c.proc_self.clone()),
    );
    e.eq(
        "/tmp/p2/self read by the child (its own procfs)",
        Some("1"),
        c.map(|c| c.new_proc_self.as_str()),
    );
    e.eq(
        "processes in the child's procfs, read by the child",
        Some(vec![1]),
        c.map(|c| c.new_proc_pids.clone()),
    );
    e.eq(
        "the child's procfs read by the parent: /self",
        "ENOENT",
        f.parent_new_proc_self.as_str(),
    );
    e.eq(
        "processes in the child's procfs, read by the parent",
        vec![1],
        f.parent_new_proc_pids.clone(),
    );
    e.eq(
        "the outer procfs lists the child",
        true,
        f.parent_proc_lists_child,
    );
    Ok(e.verdict("each procfs shows its mounter's PID namespace")
        .with_observed(json!({
            "child_pid_seen_by_parent": f.child_pid_seen_by_parent,
            "child_proc_self": c.map(|c| &c.proc_self),
            "child_new_proc_self": c.map(|c| &c.new_proc_self),
            "child_new_proc_pids": c.map(|c| &c.new_proc_pids),
            "parent_new_proc_self": f.parent_new_proc_self,
            "parent_new_proc_pids": f.parent_new_proc_pids,
        })))
}

// ---------------------------------------------------------------------------------
/// PID-16: ns_last_pid is per PID namespace.
/// pid_namespaces(7) "/proc/sys/kernel/ns_last_pid".
pub const PID_16: Property = Property {
    id: "PID-16",
    area: Area::Pid,
    title: "/proc/sys/kernel/ns_last_pid is per PID namespace: writing N there makes the next PID N+1 in the writer's namespace only",
    man: "pid_namespaces(7) \"/proc/sys/kernel/ns_last_pid\"",
    prereq: Prereq::ROOTLESS.kernel(3, 3).config(&["CONFIG_PID_NS", "CONFIG_CHECKPOINT_RESTORE"]),
    coverage: "OTH:~CRIU (used, not asserted)",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_16_inside),
    check: pid_16_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid16 {
    write_outer: String,
    next_outer_pid: Option<i32>,
    write_nested: Option<String>,
    next_nested_pid: Option<i32>,
    outer_last_after: String,
}

fn pid_16_inside(cx: &Inside) -> Result<Value, StepError> {
    // Never write the initial namespace's counter.
    if !cx.launch.pid || getpid() != 1 {
        return facts(&Pid16 {
            write_outer: "refused: not a namespace init".into(),
            ..Pid16::default()
        });
    }
    let write_outer = write_last_pid(100);
    let (a, _) = in_helper("make a nested PID namespace", || {
        let me = getpid();
        if unshare(CloneFlags::CLONE_NEWPID).is_err() {
            return (me, None, None);
        }
        let inner = in_helper("write ns_last_pid in the nested namespace", || {
            let w = write_last_pid(50);
            let next = in_helper("report the next PID", getpid)
                .ok()
                .and_then(|c| c.0);
            (w, next)
        })
        .ok()
        .and_then(|r| r.0);
        (
            me,
            inner.as_ref().map(|i| i.0.clone()),
            inner.and_then(|i| i.1),
        )
    })?;
    let (next_outer_pid, write_nested, next_nested_pid) = match a {
        Some((p, w, n)) => (Some(p), w, n),
        None => (None, None, None),
    };
    let outer_last_after =
        crate::kit::fact::read_trim("/proc/sys/kernel/ns_last_pid").unwrap_or_default();
    facts(&Pid16 {
        write_outer,
        next_outer_pid,
        write_nested,
        next_nested_pid,
        outer_last_after,
    })
}

fn pid_16_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid16 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "write 100 to ns_last_pid as the namespace init",
        OK,
        f.write_outer.as_str(),
    );
    e.eq("PID of the next child", Some(101), f.next_outer_pid);
    e.eq(
        "write 50 to ns_last_pid in a nested namespace",
        Some(OK),
        f.write_nested.as_deref(),
    );
    e.eq("PID of the next child there", Some(51), f.next_nested_pid);
    e.eq(
        "outer ns_last_pid afterwards (the nested init and child took 102 and 103)",
        "103",
        f.outer_last_after.as_str(),
    );
    Ok(
        e.verdict("ns_last_pid steers PID allocation in the writer's namespace only")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// PID-17: PIDs in SCM_CREDENTIALS are translated for the receiver.
/// pid_namespaces(7) "Miscellaneous"; unix(7) SCM_CREDENTIALS.
pub const PID_17: Property = Property {
    id: "PID-17",
    area: Area::Pid,
    title: "PIDs crossing PID namespaces are translated for the receiver: SCM_CREDENTIALS from a nested process carries its PID in the receiver's namespace, and 0 when the sender is not visible",
    man: "pid_namespaces(7) \"Miscellaneous\"; unix(7) SCM_CREDENTIALS",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_PID_NS"]),
    coverage: "LTP:pidns13,pidns30,pidns31 (signals/mq); SCM_CREDENTIALS new",
    controls: &[Control::NoNewPid, Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Socket, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_17_inside),
    check: pid_17_check,
};

/// Receive one datagram and return the PID of its SCM_CREDENTIALS (SO_PASSCRED on).
fn recv_cred_pid(fd: i32) -> Option<i32> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 16];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty()).ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmCredentials(cred) = c {
            return Some(cred.pid());
        }
    }
    None
}

/// What PID-17 saw: PIDs of SCM_CREDENTIALS in both directions.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid17 {
    child_pid_here: i32,
    child_own_pid: i32,
    cred_pid_from_child: Option<i32>,
    cred_pid_seen_by_child: Option<i32>,
}

fn pid_17_inside(cx: &Inside) -> Result<Value, StepError> {
    use nix::sys::socket::{setsockopt, socketpair, sockopt, AddressFamily, SockFlag, SockType};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Datagram,
        None,
        SockFlag::empty(),
    )
    .step("socketpair(AF_UNIX, SOCK_DGRAM)")?;
    setsockopt(&a, sockopt::PassCred, &true).step("SO_PASSCRED")?;
    setsockopt(&b, sockopt::PassCred, &true).step("SO_PASSCRED")?;
    new_pid_ns(cx)?;
    let mut child = spawn("send credentials from a nested namespace", || {
        let _ = nix::unistd::write(&b, b"c");
        (getpid(), recv_cred_pid(b.as_raw_fd()))
    })?;
    let cpid = child.pid().as_raw();
    let from_child = recv_cred_pid(a.as_raw_fd());
    let _ = nix::unistd::write(&a, b"p");
    let (r, _) = child.finish::<(i32, Option<i32>)>()?;
    let (child_own_pid, child_saw) = r.map_or((0, None), |r| (r.0, r.1));
    facts(&Pid17 {
        child_pid_here: cpid,
        child_own_pid,
        cred_pid_from_child: from_child,
        cred_pid_seen_by_child: child_saw,
    })
}

fn pid_17_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid17 = run.facts()?;
    let mut e = Expect::new();
    e.eq("the nested child's own PID", 1, f.child_own_pid);
    e.eq(
        "SCM_CREDENTIALS pid from the nested child (translated to our namespace)",
        Some(f.child_pid_here),
        f.cred_pid_from_child,
    );
    e.eq(
        "SCM_CREDENTIALS pid of our message seen by the child (we are not visible there)",
        Some(0),
        f.cred_pid_seen_by_child,
    );
    Ok(e.verdict("credential PIDs are translated for the receiver")
        .with_observed(json!({
            "child_own_pid": f.child_own_pid,
            "child_pid_here": f.child_pid_here,
            "cred_pid_from_child": f.cred_pid_from_child,
            "cred_pid_seen_by_child": f.cred_pid_seen_by_child,
        })))
}

// ---------------------------------------------------------------------------------
/// PID-18: CLONE_NEWPID with CLONE_VM/CLONE_SIGHAND, and no threads after unshare.
/// pid_namespaces(7); clone(2) ERRORS.
pub const PID_18: Property = Property {
    id: "PID-18",
    area: Area::Pid,
    title: "clone() accepts CLONE_NEWPID with CLONE_VM (3.12+) and with CLONE_VM|CLONE_SIGHAND (4.3+); CLONE_THREAD after unshare(CLONE_NEWPID) fails with EINVAL",
    man: "pid_namespaces(7); clone(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(3, 12).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::CloneNs, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_18_inside),
    check: pid_18_check,
};

static CLONED_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// clone() with `flags` (always with CLONE_VM here) on a private stack; the child stores
/// the PID it sees in shared memory. Returns ("ok" or errno, the PID the child saw).
fn clone_and_see(flags: CloneFlags, signal: Option<libc::c_int>) -> (String, Option<i32>) {
    // The child runs a plain function with no captured state: nix::sched::clone hands
    // the child a pointer to a closure on the parent's stack frame, which the parent
    // reuses as soon as clone() returns, so with CLONE_VM the child would read garbage.
    extern "C" fn report_pid(_: *mut libc::c_void) -> libc::c_int {
        // SAFETY: raw getpid, no libc caches involved.
        let pid = unsafe { libc::syscall(libc::SYS_getpid) } as i32;
        CLONED_PID.store(pid, std::sync::atomic::Ordering::SeqCst);
        pid.min(255)
    }
    let mut stack = vec![0u8; 64 * 1024];
    CLONED_PID.store(0, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: the stack is ours and outlives the child (we wait for it, and never free
    // it: it is forgotten below); the child only stores an integer and returns.
    let r = unsafe {
        let top = stack.as_mut_ptr().add(stack.len());
        let top = top.sub(top as usize % 16);
        let raw = libc::clone(
            report_pid,
            top.cast(),
            flags.bits() | signal.unwrap_or(0),
            std::ptr::null_mut(),
        );
        nix::errno::Errno::result(raw).map(nix::unistd::Pid::from_raw)
    };
    match r {
        Ok(child) => {
            if signal.is_some() {
                // The child shares our memory (CLONE_VM), so its PID is in CLONED_PID
                // once it has exited. With CLONE_SIGHAND it may already be reaped
                // (ECHILD); a child killed by a signal is reported as such.
                if let Ok(e @ Exit::Killed(_)) = wait_for(child) {
                    std::mem::forget(stack);
                    return (e.to_string(), None);
                }
            }
            // Wait until the child (or thread) has run.
            for _ in 0..1000 {
                if CLONED_PID.load(std::sync::atomic::Ordering::SeqCst) != 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            let seen = CLONED_PID.load(std::sync::atomic::Ordering::SeqCst);
            std::mem::forget(stack);
            (OK.into(), Some(seen))
        }
        Err(e) => (crate::probe::errno_name(e), None),
    }
}

/// What each clone() gave: the result and the PID the child saw.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid18 {
    /// unshare(CLONE_NEWPID) before the thread clone ("not attempted" under a control).
    unshare_before_thread: String,
    thread_after_unshare: String,
    vm: (String, Option<i32>),
    vm_sighand: (String, Option<i32>),
}

fn pid_18_inside(cx: &Inside) -> Result<Value, StepError> {
    let newpid = if cx.launch.pid {
        CloneFlags::CLONE_NEWPID
    } else {
        CloneFlags::empty()
    };
    let make = cx.launch.pid;
    // The clones run in helpers made by Fork; the CLONE_VM children themselves are made
    // by `clone_and_see` with a plain extern "C" function (see there).
    let (vm, _) = in_helper("clone(CLONE_NEWPID|CLONE_VM)", move || {
        clone_and_see(CloneFlags::CLONE_VM | newpid, Some(libc::SIGCHLD))
    })?;
    let (sighand, _) = in_helper("clone(CLONE_NEWPID|CLONE_VM|CLONE_SIGHAND)", move || {
        clone_and_see(
            CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND | newpid,
            Some(libc::SIGCHLD),
        )
    })?;
    let (thread, _) = in_helper(
        "clone(CLONE_THREAD) after unshare(CLONE_NEWPID)",
        move || {
            let unshared = if make {
                res(unshare(CloneFlags::CLONE_NEWPID))
            } else {
                "not attempted".to_string()
            };
            let thread = clone_and_see(
                CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_THREAD,
                None,
            )
            .0;
            (unshared, thread)
        },
    )?;
    let (unshare_before_thread, thread_after_unshare) = thread.unwrap_or_else(|| {
        let died = "the helper ended without a report".to_string();
        (died.clone(), died)
    });
    facts(&Pid18 {
        unshare_before_thread,
        thread_after_unshare,
        vm: vm.unwrap_or_default(),
        vm_sighand: sighand.unwrap_or_default(),
    })
}

fn pid_18_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid18 = run.facts()?;
    let new = cx
        .env
        .version
        .map_or(true, |v| v >= crate::env::KernelVersion(4, 3, 0));
    let pid1 = (OK.to_string(), Some(1));
    let mut e = Expect::new();
    e.eq(
        "clone(CLONE_NEWPID|CLONE_VM): result and child PID",
        &pid1,
        &f.vm,
    );
    e.eq(
        "clone(CLONE_NEWPID|CLONE_VM|CLONE_SIGHAND): result and child PID",
        &if new {
            pid1.clone()
        } else {
            ("EINVAL".to_string(), None)
        },
        &f.vm_sighand,
    );
    // Not attempted only under a control that removed PID namespaces.
    if f.unshare_before_thread != "not attempted" {
        e.eq(
            "unshare(CLONE_NEWPID) before the thread clone",
            OK,
            f.unshare_before_thread.as_str(),
        );
    }
    e.eq(
        "clone(CLONE_THREAD) after unshare(CLONE_NEWPID)",
        "EINVAL",
        f.thread_after_unshare.as_str(),
    );
    Ok(e.verdict(
        "CLONE_NEWPID combines with CLONE_VM/CLONE_SIGHAND; threads are refused after unshare",
    )
    .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-19: clone3() set_tid chooses the PID at each level.
/// clone(2) "The set_tid array".
pub const PID_19: Property = Property {
    id: "PID-19",
    area: Area::Pid,
    title: "clone3() set_tid picks the PID per namespace level: a free PID is granted; a taken one gives EEXIST; 0, -1, >= pid_max, more entries than levels, or a PID > 1 in a new namespace without init give EINVAL; without CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE over the namespace, EPERM",
    man: "clone(2) \"The set_tid array\"",
    prereq: Prereq::ROOTLESS.kernel(5, 5).config(&["CONFIG_PID_NS"]),
    coverage: "KST:clone3/clone3_set_tid,clone3/clone3_cap_checkpoint_restore; LTP:clone304",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare), Control::Fault(Call::CloneNs), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::CloneNs, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_19_inside),
    check: pid_19_check,
};

/// NSpid of the held probe as the harness's procfs shows it, and the harness's own.
fn probe_and_harness_nspid(pid: i32) -> (Vec<i32>, Vec<i32>) {
    (host::nspid(pid), host::nspid(std::process::id() as i32))
}

/// Judge `what`: the probe is PID 1 of a PID namespace one level below the harness's
/// (NSpid seen by the harness: one entry more than its own, ending in 1), the namespace
/// whose PIDs the check then picks or limits.
fn judge_new_level(e: &mut Expect, what: &str, (probe, harness): &(Vec<i32>, Vec<i32>)) {
    e.that(
        what,
        probe.len() == harness.len() + 1 && probe.last() == Some(&1),
        format!("NSpid of {} entries ending in 1", harness.len() + 1),
        format!(
            "NSpid [{}]",
            probe
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
}

/// clone3() with `set_tid`; the child exits at once. "ok <pid>" or the errno.
fn clone3_tid(flags: u64, tids: &[i32]) -> String {
    // Not Fork: the point is clone3() with a set_tid array, which Fork does not pass.
    // SAFETY: clone3 without a new stack behaves like fork; the probe is single-threaded
    // and the child only calls _exit.
    let r = match unsafe { crate::probe::sys::clone3(flags, tids) } {
        Ok(0) => crate::kit::child::exit_now(0),
        Ok(pid) => pid,
        Err(e) => return crate::probe::errno_name(e),
    };
    let _ = wait_for(Pid::from_raw(r));
    format!("ok {r}")
}

/// What PID-19 saw: each set_tid case and its result, or why it refused to try.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum Pid19 {
    Refused(String),
    Cases(Table),
}

fn pid_19_inside(cx: &Inside) -> Result<Value, StepError> {
    // Picking PIDs in the initial namespace is not this check's business.
    if !cx.launch.pid || getpid() != 1 {
        return facts(&Pid19::Refused(
            "not the init of a new PID namespace".into(),
        ));
    }
    let pid_max: i32 = crate::kit::fact::read_trim("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_194_304);
    let newpid = libc::CLONE_NEWPID as u64;
    let (no_caps, _) = in_helper("clone3() from a new user namespace", || {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            return crate::probe::errno_name(e);
        }
        clone3_tid(0, &[802])
    })?;
    let mut t = Table::new();
    t.set("free", clone3_tid(0, &[500]))
        .set("taken", clone3_tid(0, &[1]))
        .set("zero", clone3_tid(0, &[0]))
        .set("minus_one", clone3_tid(0, &[-1]))
        .set("pid_max", clone3_tid(0, &[pid_max]))
        .set("more_than_levels", clone3_tid(0, &[600, 600, 600]))
        .set("new_ns_init_1", clone3_tid(newpid, &[1, 700]))
        .set("new_ns_no_init", clone3_tid(newpid, &[5, 701]))
        .set("no_caps", no_caps.unwrap_or_default());
    facts(&Pid19::Cases(t))
}

fn pid_19_check(cx: &mut Cx) -> CheckResult {
    let (run, levels) = cx.run_held(Launch::host().pid(), Value::Null, |run| {
        Ok(probe_and_harness_nspid(run.host_pid.expect("held")))
    })?;
    let summary = "clone3() set_tid follows the documented rules";
    let mut e = Expect::new();
    // set_tid[0] is the PID in the caller's namespace, set_tid[1] in its parent: the
    // cases below count on the probe being the init of a namespace of its own.
    judge_new_level(
        &mut e,
        "levels of the probe's PID namespace seen by the harness (set_tid[0] picks in a new namespace one level below the harness's, whose init is the probe)",
        &levels,
    );
    let t = match run.facts::<Pid19>()? {
        Pid19::Cases(t) => t,
        Pid19::Refused(r) => {
            e.that(
                "set_tid cases tried by the init of a new PID namespace",
                false,
                "tried",
                &r,
            );
            return Ok(e.verdict(summary).with_observed(json!({ "refused": r })));
        }
    };
    // free: set_tid {500}; taken: {1} (us); more_than_levels: 3 entries at level 1;
    // new_ns_*: CLONE_NEWPID with {1, 700} and {5, 701} (no init yet); no_caps: {802}
    // from a user namespace without rights over ours.
    t.judge(
        &mut e,
        "clone3() set_tid",
        &[
            ("free", "ok 500"),
            ("taken", "EEXIST"),
            ("zero", "EINVAL"),
            ("minus_one", "EINVAL"),
            ("pid_max", "EINVAL"),
            ("more_than_levels", "EINVAL"),
            ("new_ns_init_1", "ok 700"),
            ("new_ns_no_init", "EINVAL"),
            ("no_caps", "EPERM"),
        ],
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&t).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-20: pidfd_send_signal() only from the target's namespace or an ancestor.
/// pidfd_send_signal(2) ERRORS.
pub const PID_20: Property = Property {
    id: "PID-20",
    area: Area::Pid,
    title: "pidfd_send_signal() works from the target's PID namespace or an ancestor; from a descendant namespace it fails with EINVAL",
    man: "pidfd_send_signal(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(5, 3).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[Control::NoNewPid, Control::Fault(Call::Pidfd)],
    calls: &[Call::Unshare, Call::Pidfd, Call::Kill],
    global: false,
    subject: None,
    inside: Some(pid_20_inside),
    check: pid_20_check,
};

/// pidfd_send_signal(2) without siginfo (no nix wrapper): "ok" or the errno.
fn pidfd_signal(fd: &impl AsRawFd, sig: libc::c_int) -> String {
    // SAFETY: pidfd_send_signal takes a descriptor the caller holds, a signal number, a
    // null siginfo and no flags.
    sys_res(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    })
}

/// What PID-20 saw: pidfd_open of a helper, then the signal results.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid20 {
    pidfd_open: String,
    #[serde(default)]
    same_namespace: String,
    #[serde(default)]
    ancestor_to_descendant: String,
    #[serde(default)]
    descendant_to_ancestor: String,
}

fn pid_20_inside(cx: &Inside) -> Result<Value, StepError> {
    // The target stays alive until its handle is dropped.
    let _target = Fork::new("be a signal target").hold().spawn(|_| ())?;
    let fd = match crate::kit::nsfd::pidfd_open(_target.pid().as_raw()) {
        Ok(fd) => fd,
        Err(e) => {
            return facts(&Pid20 {
                pidfd_open: step_errno(&e),
                ..Pid20::default()
            })
        }
    };
    new_pid_ns(cx)?;
    let mut desc = Fork::new("signal from a descendant namespace")
        .hold()
        .spawn(|_| pidfd_signal(&fd, 0))?;
    let same_ns = pidfd_signal(&fd, 0);
    let to_descendant = match crate::kit::nsfd::pidfd_open(desc.pid().as_raw()) {
        Ok(dfd) => pidfd_signal(&dfd, 0),
        Err(e) => step_errno(&e),
    };
    let from_descendant = desc.result::<String>().unwrap_or_default();
    facts(&Pid20 {
        pidfd_open: OK.to_string(),
        same_namespace: same_ns,
        ancestor_to_descendant: to_descendant,
        descendant_to_ancestor: from_descendant,
    })
}

fn pid_20_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid20 = run.facts()?;
    if f.pidfd_open == "ENOSYS" {
        return Err(crate::outcome::Verdict::skip(
            "needs pidfd_open (kernel 5.3); this kernel answered ENOSYS",
        ));
    }
    let mut e = Expect::new();
    e.eq(
        "pidfd_send_signal(0) within the same namespace",
        OK,
        f.same_namespace.as_str(),
    );
    e.eq(
        "pidfd_send_signal(0) to a process in a descendant namespace",
        OK,
        f.ancestor_to_descendant.as_str(),
    );
    e.eq(
        "pidfd_send_signal(0) from a descendant namespace to an ancestor's process",
        "EINVAL",
        f.descendant_to_ancestor.as_str(),
    );
    Ok(e.verdict("pidfd signals flow only downward or sideways")
        .with_errno("EINVAL")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// PID-21: pid_max per PID namespace (kernel 6.14, commit 7863dcc72d0f).
/// pid_namespaces(7); kernel commit 7863dcc72d0f.
pub const PID_21: Property = Property {
    id: "PID-21",
    area: Area::Pid,
    title: "/proc/sys/kernel/pid_max is per PID namespace: a write limits PIDs of that namespace only, and a nested namespace with a larger pid_max still gets PIDs below its ancestor's limit at the ancestor's level",
    man: "kernel commit 7863dcc72d0f (\"pid: allow pid_max to be set per pid namespace\", 6.14)",
    prereq: Prereq::ROOTLESS.kernel(6, 14).config(&["CONFIG_PID_NS", "CONFIG_CHECKPOINT_RESTORE"]),
    coverage: "KST:pid_namespace/pid_max",
    controls: &[Control::NoNewPid, Control::Fault(Call::Unshare), Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Wait, Call::Getpid],
    global: false,
    subject: None,
    inside: Some(pid_21_inside),
    check: pid_21_check,
};

fn write_pid_max(n: i32) -> String {
    write_res("/proc/sys/kernel/pid_max", n.to_string().as_bytes())
}

/// What the nested namespace of PID-21 saw.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid21Nested {
    write: String,
    child_nspid: Option<Vec<i32>>,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Pid21Ran {
    write: String,
    read_back: String,
    pids_after_998: [i32; 2],
    /// None when the nested namespace could not be made.
    nested: Option<Pid21Nested>,
}

/// What PID-21 saw, or why it refused to try.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum Pid21 {
    Refused(String),
    Ran(Pid21Ran),
}

fn pid_21_inside(cx: &Inside) -> Result<Value, StepError> {
    if !cx.launch.pid || getpid() != 1 {
        return facts(&Pid21::Refused(
            "not the init of a new PID namespace".into(),
        ));
    }
    let write = write_pid_max(1000);
    let read_back = crate::kit::fact::read_trim("/proc/sys/kernel/pid_max").unwrap_or_default();
    write_last_pid(998);
    let mut first = spawn("take the next PID", || ())?;
    let mut second = spawn("take the PID after it", || ())?;
    let pids_after_998 = [first.pid().as_raw(), second.pid().as_raw()];
    first.wait()?;
    second.wait()?;
    let (nested, _) = in_helper("make a nested PID namespace", || {
        if unshare(CloneFlags::CLONE_NEWPID).is_err() {
            return None;
        }
        in_helper("set pid_max in the nested namespace", || {
            let w = write_pid_max(5000);
            write_last_pid(4500);
            let c = in_helper("report NSpid", nspid).ok().and_then(|c| c.0);
            Pid21Nested {
                write: w,
                child_nspid: c,
            }
        })
        .ok()
        .and_then(|r| r.0)
    })?;
    facts(&Pid21::Ran(Pid21Ran {
        write,
        read_back,
        pids_after_998,
        nested: nested.flatten(),
    }))
}

fn pid_21_check(cx: &mut Cx) -> CheckResult {
    let host_before = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap_or_default();
    let (run, (levels, host_during)) = cx.run_held(Launch::host().pid(), Value::Null, |run| {
        Ok((
            probe_and_harness_nspid(run.host_pid.expect("held")),
            std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap_or_default(),
        ))
    })?;
    let summary = "pid_max is per namespace and every level honours its own";
    let mut e = Expect::new();
    judge_new_level(
        &mut e,
        "levels of the probe's PID namespace seen by the harness (the namespace whose pid_max is written: a new one one level below the harness's, whose init is the probe)",
        &levels,
    );
    let f = match run.facts::<Pid21>()? {
        Pid21::Ran(f) => f,
        Pid21::Refused(r) => {
            e.that(
                "pid_max written by the init of a new PID namespace",
                false,
                "written",
                &r,
            );
            return Ok(e.verdict(summary).with_observed(json!({ "refused": r })));
        }
    };
    let nested_write = f.nested.as_ref().map(|n| n.write.as_str());
    let nspid = f
        .nested
        .as_ref()
        .and_then(|n| n.child_nspid.clone())
        .unwrap_or_default();
    e.eq(
        "write 1000 to pid_max in our namespace",
        OK,
        f.write.as_str(),
    );
    e.eq("pid_max read back", "1000", f.read_back.as_str());
    e.eq(
        "host pid_max meanwhile",
        host_before.trim(),
        host_during.trim(),
    );
    e.eq(
        "PIDs after ns_last_pid=998 (999, then wrap below 1000 to 300)",
        [999, 300],
        f.pids_after_998,
    );
    e.eq(
        "write 5000 to pid_max in a nested namespace",
        Some(OK),
        nested_write,
    );
    e.that(
        "NSpid of the nested child: below 1000 at our level, 4501 in its own",
        nspid.len() == 2 && nspid[0] < 1000 && nspid[1] == 4501,
        "[<1000, 4501]",
        format!("{nspid:?}"),
    );
    Ok(e.verdict(summary).with_observed(json!({
        "write": f.write,
        "read_back": f.read_back,
        "pids_after_998": f.pids_after_998,
        "nested_write": nested_write,
        "nested_child_nspid": nspid,
    })))
}
// ---------------------------------------------------------------------------------
/// PID-22: translating PIDs through a PID namespace file descriptor.
/// ioctl_nsfs(2) (uapi linux/nsfs.h, kernel 6.11).
pub const PID_22: Property = Property {
    id: "PID-22",
    area: Area::Pid,
    title: "NS_GET_{PID,TGID}_FROM_PIDNS and NS_GET_{PID,TGID}_IN_PIDNS translate a PID between a PID namespace fd and the caller's namespace; ESRCH when it is not visible",
    man: "ioctl_nsfs(2) (uapi linux/nsfs.h, kernel 6.11)",
    prereq: Prereq::ROOTLESS.kernel(6, 11).config(&["CONFIG_PID_NS"]),
    coverage: "new",
    controls: &[Control::NoNewPid, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(pid_22_inside),
    check: pid_22_check,
};

/// A PID translated by an nsfs ioctl, or the errno.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
enum Translated {
    Pid(i32),
    Errno(String),
}

fn ns_ioctl(fd: &std::fs::File, req: ns::Ioctl, pid: i32) -> Translated {
    match ns::ioctl(fd.as_raw_fd(), req, pid as usize) {
        Ok(v) => Translated::Pid(v),
        Err(e) => Translated::Errno(crate::probe::errno_name(e)),
    }
}

#[derive(Serialize, Deserialize, Debug)]
struct Pid22 {
    child_pid_here: i32,
    pid_from_pidns_1: Translated,
    tgid_from_pidns_1: Translated,
    pid_in_pidns_child: Translated,
    tgid_in_pidns_child: Translated,
    pid_in_pidns_self: Translated,
}

fn pid_22_inside(cx: &Inside) -> Result<Value, StepError> {
    new_pid_ns(cx)?;
    let child = Fork::new("be the namespace init").hold().spawn(|_| ())?;
    let c = child.pid().as_raw();
    let fd = std::fs::File::open(child.ns_path(Ns::Pid)).step("open the child's ns/pid")?;
    facts(&Pid22 {
        child_pid_here: c,
        pid_from_pidns_1: ns_ioctl(&fd, ns::NS_GET_PID_FROM_PIDNS, 1),
        tgid_from_pidns_1: ns_ioctl(&fd, ns::NS_GET_TGID_FROM_PIDNS, 1),
        pid_in_pidns_child: ns_ioctl(&fd, ns::NS_GET_PID_IN_PIDNS, c),
        tgid_in_pidns_child: ns_ioctl(&fd, ns::NS_GET_TGID_IN_PIDNS, c),
        pid_in_pidns_self: ns_ioctl(&fd, ns::NS_GET_PID_IN_PIDNS, getpid()),
    })
}

fn pid_22_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().pid(), Value::Null)?;
    let f: Pid22 = run.facts()?;
    let errno = |e: &str| Translated::Errno(e.to_string());
    if f.pid_from_pidns_1 == errno("ENOTTY") {
        return Err(crate::outcome::Verdict::skip(
            "needs NS_GET_PID_FROM_PIDNS (kernel 6.11); this kernel answered ENOTTY",
        ));
    }
    let c = Translated::Pid(f.child_pid_here);
    let mut e = Expect::new();
    e.eq(
        "NS_GET_PID_FROM_PIDNS(1) on the child's namespace (its PID here)",
        &c,
        &f.pid_from_pidns_1,
    );
    e.eq("NS_GET_TGID_FROM_PIDNS(1)", &c, &f.tgid_from_pidns_1);
    e.eq(
        "NS_GET_PID_IN_PIDNS(<child>) (1 there)",
        &Translated::Pid(1),
        &f.pid_in_pidns_child,
    );
    e.eq(
        "NS_GET_TGID_IN_PIDNS(<child>)",
        &Translated::Pid(1),
        &f.tgid_in_pidns_child,
    );
    e.eq(
        "NS_GET_PID_IN_PIDNS(<caller>), not visible in the child namespace",
        &errno("ESRCH"),
        &f.pid_in_pidns_self,
    );
    Ok(e.verdict("nsfs PID ioctls translate between namespaces")
        .with_errno("ESRCH")
        .with_observed(json!({
            "child_pid_here": f.child_pid_here,
            "pid_from_pidns_1": f.pid_from_pidns_1,
            "pid_in_pidns_child": f.pid_in_pidns_child,
            "pid_in_pidns_self": f.pid_in_pidns_self,
        })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn probe_as_pid_1(procfs_own: Option<bool>, listed: Option<Vec<i32>>) -> SubjectObservation {
        let mut o = SubjectObservation::default();
        o.outside.ns_differs.insert("pid".into(), true);
        o.outside.nspid = vec![4242, 1];
        o.outside.proc_pids = listed;
        o.outside.proc_is_own_pidns = procfs_own;
        o
    }

    #[test]
    fn pid_01_needs_the_probes_own_procfs() {
        let good = probe_as_pid_1(Some(true), Some(vec![1]));
        assert_eq!(pid_01_subject(&good).outcome, Outcome::Pass);
        // A tmpfs holding an empty directory `1` lists "PID 1" but is not a procfs.
        let fake = probe_as_pid_1(Some(false), Some(vec![1]));
        assert_eq!(pid_01_subject(&fake).outcome, Outcome::Fail);
        // The parent namespace's procfs lists host PIDs.
        let parent = probe_as_pid_1(Some(false), Some(vec![1, 4242, 99]));
        assert_eq!(pid_01_subject(&parent).outcome, Outcome::Fail);
        let mut flat = probe_as_pid_1(Some(true), Some(vec![1]));
        flat.outside.nspid = vec![4242];
        assert_eq!(pid_01_subject(&flat).outcome, Outcome::Fail);
    }
}
