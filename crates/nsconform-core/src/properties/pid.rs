//! PID namespaces: pid_namespaces(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::outcome::{Expect, Verdict};
use crate::probe::{view, Inside, Launch, StepError, StepExt};
use crate::subject::SubjectObservation;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[PID_01, PID_05];

/// Deepest PID namespace level the kernel allows (`MAX_PID_NS_LEVEL`, pid_namespaces(7)
/// "Nesting PID namespaces": "up to 32 levels").
pub const MAX_PID_NS_LEVEL: usize = 32;

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
    controls: &[Control::NoNewPid, Control::NoProcMount],
    global: false,
    subject: Some(pid_01_subject),
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
                "pid_ns_differs_from_host": pidns != host_pidns,
                "nspid_levels_seen_from_host": nspid.len(),
            })),
    )
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
    controls: &[Control::NoNewPid],
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
    /// Errno of the first refused unshare(CLONE_NEWPID), if any.
    refused_errno: Option<String>,
    /// Entries in NSpid of the deepest process (host procfs view).
    deepest_nspid_len: usize,
}

fn pid_05_inside(cx: &Inside) -> Result<Value, StepError> {
    // The launcher made level 1 (unless the control removed CLONE_NEWPID); /proc is the
    // host's procfs, so NSpid lists every level from the initial namespace inward.
    let start_level = view::status_ids("NSpid").len().saturating_sub(1);
    let create = cx.launch.pid;
    let (rd, wr) = nix::unistd::pipe().step("create the result pipe")?;
    let mut created = 0;
    let mut refused = None;
    let mut is_top = true;
    let mut top_forked = false;
    while start_level + created <= MAX_PID_NS_LEVEL {
        if create {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
                refused = Some(crate::probe::errno_name(e));
                break;
            }
        }
        // SAFETY: the probe is single-threaded.
        match unsafe { fork() }.step("fork the next nesting level")? {
            ForkResult::Child => {
                is_top = false;
                if !create {
                    // Without CLONE_NEWPID there is nothing to nest: stop after one fork.
                    break;
                }
                created += 1;
            }
            ForkResult::Parent { child } => {
                let code = match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, c)) => c,
                    _ => 1,
                };
                if is_top {
                    top_forked = true;
                    break;
                }
                // SAFETY: leaving an intermediate level without running destructors.
                unsafe { libc::_exit(code) }
            }
        }
    }
    if is_top && top_forked {
        drop(wr);
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(rd), &mut buf)
            .step("read the deepest level's result")?;
        let r: Pid05 = serde_json::from_slice(&buf)
            .map_err(|e| StepError::new("parse the deepest level's result", None, e.to_string()))?;
        return facts(&r);
    }
    let result = Pid05 {
        start_level,
        created,
        refused_errno: refused,
        deepest_nspid_len: view::status_ids("NSpid").len(),
    };
    if is_top {
        return facts(&result);
    }
    let text = serde_json::to_vec(&result).unwrap_or_default();
    crate::probe::sys::write_all(std::os::fd::AsRawFd::as_raw_fd(&wr), &text);
    // SAFETY: leaving the deepest level.
    unsafe { libc::_exit(0) }
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
        Some(expected_errno.to_string()),
        f.refused_errno.clone(),
    );
    let mut v = e.verdict(&format!(
        "32 levels nest, the 33rd is refused with {}",
        f.refused_errno.as_deref().unwrap_or("nothing")
    ));
    if let Some(errno) = &f.refused_errno {
        v = v.with_errno(errno.clone());
    }
    Ok(v.with_observed(json!({
        "levels_reached": f.start_level + f.created,
        "deepest_nspid_len": f.deepest_nspid_len,
        "refused_errno": f.refused_errno,
    })))
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
        "/proc inside is a procfs of the new PID namespace (fresh /proc mounted)",
        proc_private,
        format!("a procfs listing PID {inner} and not host PIDs"),
        match &o.outside.proc_pids {
            Some(p) if p.len() > 12 => format!("{} processes, host PIDs among them", p.len()),
            Some(p) => format!("{p:?}"),
            None => "no procfs at /proc".into(),
        },
    );
    e.eq(
        "probe's own getpid() agrees with NSpid",
        inner,
        o.report.view.pid,
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
    }))
}
