//! SETNS properties: setns(2).

use super::gen::{
    hold, in_child, ino, judge_table, new_user_ns, open, pidfd_open, setns_raw, unshare_raw, OK,
};
use crate::harness::Cx;
use crate::kit::facts;
use crate::outcome::Expect;
use crate::probe::{Inside, Launch, StepError};
use crate::spec::{Area, CheckResult, Control, Prereq, Property};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

pub const ALL: &[Property] = &[
    SETNS_01, SETNS_02, SETNS_03, SETNS_04, SETNS_05, SETNS_06, SETNS_07, SETNS_08, SETNS_09,
    SETNS_10, SETNS_11, SETNS_12, SETNS_13, SETNS_14, SETNS_15, SETNS_16,
];

type Table = BTreeMap<String, String>;

/// Run the property under `launch`, compare its errno table with `expected`.
fn table_check(
    cx: &mut Cx,
    launch: Launch,
    expected: &[(&str, &str)],
    summary: &str,
) -> CheckResult {
    let run = cx.run(launch, Value::Null)?;
    let f: Table = run.facts()?;
    let mut e = Expect::new();
    judge_table(&mut e, "result", expected, &f);
    Ok(e.verdict(summary).with_observed(json!(f)))
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

const TARGET_HOSTNAME: &str = "nsconform-setns";

// ---------------------------------------------------------------------------------
pub const SETNS_01: Property = Property {
    id: "SETNS-01",
    area: Area::Setns,
    title: "setns(fd, 0) and setns(fd, CLONE_NEWUTS) on a UTS ns file join it and the target's hostname becomes visible",
    man: "setns(2) DESCRIPTION",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "LTP:setns02; KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts],
    global: false,
    subject: None,
    inside: Some(setns_01_inside),
    check: setns_01_check,
};

fn setns_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.uts;
    let target = hold("make a UTS ns with a hostname", move || {
        if new {
            unshare_raw(libc::CLONE_NEWUTS)?;
            nix::unistd::sethostname(TARGET_HOSTNAME).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    let fd = open(&target.ns_path("uts"))?;
    let raw = fd.as_raw_fd();
    let mut t = Table::new();
    for (case, nstype) in [("nstype 0", 0), ("nstype CLONE_NEWUTS", libc::CLONE_NEWUTS)] {
        let (r, h): (String, String) = in_child("join the UTS ns", move || {
            (setns_raw(raw, nstype), hostname())
        })?;
        t.insert(format!("setns {case}"), r);
        t.insert(format!("hostname after {case}"), h);
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
pub const SETNS_02: Property = Property {
    id: "SETNS-02",
    area: Area::Setns,
    title: "setns() with an nstype naming a different type than the ns file fails with EINVAL",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:setns01",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_02_inside),
    check: setns_02_check,
};

const MISMATCH: [(&str, &str, i32); 4] = [
    ("uts fd, CLONE_NEWIPC", "uts", libc::CLONE_NEWIPC),
    ("ipc fd, CLONE_NEWNET", "ipc", libc::CLONE_NEWNET),
    ("net fd, CLONE_NEWUTS", "net", libc::CLONE_NEWUTS),
    ("user fd, CLONE_NEWNS", "user", libc::CLONE_NEWNS),
];

fn setns_02_inside(_: &Inside) -> Result<Value, StepError> {
    let mut t = Table::new();
    for (case, kind, nstype) in MISMATCH {
        let fd = open(&format!("/proc/self/ns/{kind}"))?;
        let raw = fd.as_raw_fd();
        t.insert(
            case.into(),
            in_child("setns", move || setns_raw(raw, nstype))?,
        );
    }
    facts(&t)
}

fn setns_02_check(cx: &mut Cx) -> CheckResult {
    let want: Vec<(&str, &str)> = MISMATCH.iter().map(|(c, _, _)| (*c, "EINVAL")).collect();
    table_check(cx, Launch::host().user(), &want, "type mismatch is EINVAL")
}

// ---------------------------------------------------------------------------------
pub const SETNS_03: Property = Property {
    id: "SETNS-03",
    area: Area::Setns,
    title: "setns() on a descriptor that is neither an ns file nor a pidfd (regular file, memfd) fails with EINVAL; on a closed descriptor with EBADF",
    man: "setns(2) ERRORS EINVAL, EBADF",
    prereq: Prereq::ANY,
    coverage: "LTP:setns01; KST:pidfd/pidfd_setns_test",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_03_inside),
    check: setns_03_check,
};

fn setns_03_inside(_: &Inside) -> Result<Value, StepError> {
    let file = open("/proc/self/status")?;
    // SAFETY: name is a valid C string.
    let memfd = unsafe { libc::memfd_create(c"nsconform".as_ptr(), libc::MFD_CLOEXEC) };
    let mut t = Table::new();
    t.insert("regular file".into(), setns_raw(file.as_raw_fd(), 0));
    t.insert("memfd".into(), setns_raw(memfd, 0));
    t.insert("closed fd".into(), setns_raw(987_654, 0));
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(memfd) };
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
pub const SETNS_04: Property = Property {
    id: "SETNS-04",
    area: Area::Setns,
    title: "setns() on an ns file with a garbage nstype (-1, CLONE_VM) fails with EINVAL",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ANY,
    coverage: "LTP:setns01",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_04_inside),
    check: setns_04_check,
};

fn setns_04_inside(_: &Inside) -> Result<Value, StepError> {
    let fd = open("/proc/self/ns/uts")?;
    let raw = fd.as_raw_fd();
    let mut t = Table::new();
    for (case, nstype) in [("nstype -1", -1), ("nstype CLONE_VM", libc::CLONE_VM)] {
        t.insert(
            case.into(),
            in_child("setns", move || setns_raw(raw, nstype))?,
        );
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
pub const SETNS_05: Property = Property {
    id: "SETNS-05",
    area: Area::Setns,
    title: "setns() fails with EPERM without CAP_SYS_ADMIN in the caller's user ns, or in the user ns owning the target (a sibling user ns's UTS ns)",
    man: "setns(2) ERRORS EPERM",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:setns01,userns04; KST:pidfd/pidfd_setns_test",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_05_inside),
    check: setns_05_check,
};

fn setns_05_inside(_: &Inside) -> Result<Value, StepError> {
    // A UTS ns owned by a sibling user ns, and one owned by the probe's own user ns.
    let sibling = hold("make a user ns and a UTS ns in it", || {
        new_user_ns()?;
        unshare_raw(libc::CLONE_NEWUTS)
    })?;
    let local = hold("make a UTS ns", || unshare_raw(libc::CLONE_NEWUTS))?;
    let sib_fd = open(&sibling.ns_path("uts"))?;
    let loc_fd = open(&local.ns_path("uts"))?;
    let (s, l) = (sib_fd.as_raw_fd(), loc_fd.as_raw_fd());
    let mut t = Table::new();
    t.insert(
        "from a sibling user ns".into(),
        in_child("setns from a sibling user ns", move || {
            match new_user_ns() {
                Ok(()) => setns_raw(s, libc::CLONE_NEWUTS),
                Err(m) => m,
            }
        })?,
    );
    t.insert(
        "without CAP_SYS_ADMIN".into(),
        in_child("setns without CAP_SYS_ADMIN", move || {
            let keep = !(1u64 << super::gen::CAP_SYS_ADMIN);
            match super::gen::limit_effective_caps(keep).as_str() {
                OK => setns_raw(l, libc::CLONE_NEWUTS),
                e => format!("capset {e}"),
            }
        })?,
    );
    t.insert(
        "with CAP_SYS_ADMIN".into(),
        in_child("setns", move || setns_raw(l, libc::CLONE_NEWUTS))?,
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
pub const SETNS_06: Property = Property {
    id: "SETNS-06",
    area: Area::Setns,
    title: "setns(pidfd, CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET) moves the caller into all three of the target's namespaces at once; mask 0 or non-namespace bits (CLONE_VM) give EINVAL",
    man: "setns(2) \"fd is a PID file descriptor\"",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewIpc, Control::NoNewNet],
    global: false,
    subject: None,
    inside: Some(setns_06_inside),
    check: setns_06_check,
};

fn setns_06_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut flags = 0;
    for (on, f) in [
        (cx.launch.uts, libc::CLONE_NEWUTS),
        (cx.launch.ipc, libc::CLONE_NEWIPC),
        (cx.launch.net, libc::CLONE_NEWNET),
    ] {
        if on {
            flags |= f;
        }
    }
    let target = hold("make UTS, IPC and net namespaces", move || {
        unshare_raw(flags)
    })?;
    let pidfd = pidfd_open(target.pid)?;
    let raw = pidfd.as_raw_fd();
    let tp = target.pid.to_string();
    let mut t = Table::new();
    let all = libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
    let moved: (String, Vec<String>) = in_child("setns(pidfd, UTS|IPC|NET)", move || {
        let before: Vec<Option<u64>> = ["uts", "ipc", "net", "mnt"]
            .iter()
            .map(|k| ino("self", k))
            .collect();
        let r = setns_raw(raw, all);
        let mut joined = Vec::new();
        for (i, k) in ["uts", "ipc", "net", "mnt"].iter().enumerate() {
            let now = ino("self", k);
            if now != before[i] && now == ino(&tp, k) {
                joined.push(k.to_string());
            }
        }
        (r, joined)
    })?;
    t.insert("setns UTS|IPC|NET".into(), moved.0);
    t.insert("namespaces changed".into(), moved.1.join(","));
    for (case, mask) in [
        ("mask 0", 0),
        ("mask CLONE_VM", libc::CLONE_VM),
        (
            "mask CLONE_NEWUTS|CLONE_VM",
            libc::CLONE_NEWUTS | libc::CLONE_VM,
        ),
    ] {
        t.insert(
            case.into(),
            in_child("setns(pidfd)", move || setns_raw(raw, mask))?,
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
pub const SETNS_07: Property = Property {
    id: "SETNS-07",
    area: Area::Setns,
    title: "setns() on the pidfd of a process that exited and was reaped fails with ESRCH and leaves the caller's namespaces alone",
    man: "setns(2) ERRORS ESRCH",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_07_inside),
    check: setns_07_check,
};

fn setns_07_inside(_: &Inside) -> Result<Value, StepError> {
    let mut target = hold("make a UTS ns", || unshare_raw(libc::CLONE_NEWUTS))?;
    let pidfd = pidfd_open(target.pid)?;
    target.release();
    let raw = pidfd.as_raw_fd();
    let (r, same): (String, bool) = in_child("setns(pidfd of a dead process)", move || {
        let before = ino("self", "uts");
        (
            setns_raw(raw, libc::CLONE_NEWUTS),
            ino("self", "uts") == before,
        )
    })?;
    let mut t = Table::new();
    t.insert("setns".into(), r);
    t.insert("uts unchanged".into(), yes(same));
    facts(&t)
}

fn setns_07_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[("setns", "ESRCH"), ("uts unchanged", "yes")],
        "a reaped process's pidfd gives ESRCH",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_09: Property = Property {
    id: "SETNS-09",
    area: Area::Setns,
    title: "Joining a child user ns works and grants all capabilities there; joining the caller's own user ns is EINVAL; a sibling's or the parent user ns is EPERM",
    man: "setns(2) \"User namespaces\"; user_namespaces(7)",
    prereq: Prereq::ROOTLESS,
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_09_inside),
    check: setns_09_check,
};

fn setns_09_inside(_: &Inside) -> Result<Value, StepError> {
    let child = hold("make a child user ns", new_user_ns)?;
    let child_fd = open(&child.ns_path("user"))?;
    let own_fd = open("/proc/self/ns/user")?;
    let (c, o) = (child_fd.as_raw_fd(), own_fd.as_raw_fd());
    let last_cap = crate::env::read_u32("/proc/sys/kernel/cap_last_cap").unwrap_or(40);
    let full = (1u64 << (last_cap + 1)) - 1;
    let mut t = Table::new();
    let (r, caps): (String, bool) = in_child("join the child user ns", move || {
        (
            setns_raw(c, libc::CLONE_NEWUSER),
            super::gen::cap_eff() == full,
        )
    })?;
    t.insert("join child".into(), r);
    t.insert("all capabilities after joining".into(), yes(caps));
    t.insert(
        "join own".into(),
        in_child("join own user ns", move || {
            setns_raw(o, libc::CLONE_NEWUSER)
        })?,
    );
    t.insert(
        "join sibling".into(),
        in_child("join a sibling user ns", move || match new_user_ns() {
            Ok(()) => setns_raw(c, libc::CLONE_NEWUSER),
            Err(m) => m,
        })?,
    );
    t.insert(
        "join parent".into(),
        in_child("join the parent user ns", move || match new_user_ns() {
            Ok(()) => setns_raw(o, libc::CLONE_NEWUSER),
            Err(m) => m,
        })?,
    );
    facts(&t)
}

fn setns_09_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user(),
        &[
            ("join child", OK),
            ("all capabilities after joining", "yes"),
            ("join own", "EINVAL"),
            ("join sibling", "EPERM"),
            ("join parent", "EPERM"),
        ],
        "only descendant user namespaces can be joined",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_10: Property = Property {
    id: "SETNS-10",
    area: Area::Setns,
    title: "A multithreaded caller cannot join a user ns or a mount ns (EINVAL); the same join works single-threaded",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_10_inside),
    check: setns_10_check,
};

/// Spawn a thread that blocks forever (in a throwaway child process), so the caller is
/// multithreaded.
pub fn spawn_idle_thread() -> bool {
    std::thread::Builder::new()
        .spawn(|| loop {
            std::thread::park();
        })
        .is_ok()
}

fn setns_10_inside(_: &Inside) -> Result<Value, StepError> {
    let target = hold("make a user ns with a mount ns", || {
        new_user_ns()?;
        unshare_raw(libc::CLONE_NEWNS)
    })?;
    let user = open(&target.ns_path("user"))?;
    let mnt = open(&target.ns_path("mnt"))?;
    let (u, m) = (user.as_raw_fd(), mnt.as_raw_fd());
    let mut t = Table::new();
    for (threads, label) in [(false, "single-threaded"), (true, "multithreaded")] {
        t.insert(
            format!("{label} join user ns"),
            in_child("join a user ns", move || {
                if threads && !spawn_idle_thread() {
                    return "spawn failed".into();
                }
                setns_raw(u, libc::CLONE_NEWUSER)
            })?,
        );
        t.insert(
            format!("{label} join mount ns"),
            in_child("join a mount ns", move || {
                if setns_raw(u, libc::CLONE_NEWUSER) != OK {
                    return "join owner failed".into();
                }
                if threads && !spawn_idle_thread() {
                    return "spawn failed".into();
                }
                setns_raw(m, libc::CLONE_NEWNS)
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
pub const SETNS_11: Property = Property {
    id: "SETNS-11",
    area: Area::Setns,
    title: "A process sharing its fs_struct (created with CLONE_FS) cannot join a user ns or a mount ns (EINVAL)",
    man: "setns(2) ERRORS EINVAL",
    prereq: Prereq::ROOTLESS,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(setns_11_inside),
    check: setns_11_check,
};

/// Run `f` in a process created by clone(CLONE_FS) from this process; its result.
pub fn clone_fs_run(f: fn() -> String) -> String {
    let Ok((rd, wr)) = nix::unistd::pipe() else {
        return "pipe failed".to_string();
    };
    let w = wr.as_raw_fd();
    let mut stack = vec![0u8; 256 * 1024];
    let cb = Box::new(move || {
        let s = f();
        crate::probe::sys::write_all(w, s.as_bytes());
        // SAFETY: leaving the cloned process.
        unsafe { libc::_exit(0) }
    });
    // SAFETY: the child runs on its own stack and leaves with _exit.
    let pid = match unsafe {
        nix::sched::clone(
            cb,
            &mut stack,
            nix::sched::CloneFlags::CLONE_FS,
            Some(libc::SIGCHLD),
        )
    } {
        Ok(p) => p,
        Err(e) => return format!("clone CLONE_FS: {e}"),
    };
    drop(wr);
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut std::fs::File::from(rd), &mut out);
    let _ = nix::sys::wait::waitpid(pid, None);
    out
}

/// Run `f` in a process created by clone(CLONE_FS) from a forked child; its result.
pub fn with_clone_fs(f: fn() -> String) -> Result<String, StepError> {
    in_child("clone a CLONE_FS sibling", move || clone_fs_run(f))
}

fn setns_11_inside(_: &Inside) -> Result<Value, StepError> {
    let target = hold("make a user ns and a mount ns", || {
        unshare_raw(libc::CLONE_NEWNS)?;
        new_user_ns()
    })?;
    // The descriptors are opened at fixed numbers so the fn-pointer callbacks find them.
    let user = open(&target.ns_path("user"))?;
    let mnt = open(&target.ns_path("mnt"))?;
    // SAFETY: duplicating our own descriptors onto unused numbers.
    unsafe {
        libc::dup2(user.as_raw_fd(), 900);
        libc::dup2(mnt.as_raw_fd(), 901);
    }
    let mut t = Table::new();
    t.insert(
        "CLONE_FS sibling joins user ns".into(),
        with_clone_fs(|| setns_raw(900, libc::CLONE_NEWUSER))?,
    );
    t.insert(
        "CLONE_FS sibling joins mount ns".into(),
        with_clone_fs(|| setns_raw(901, libc::CLONE_NEWNS))?,
    );
    t.insert(
        "plain child joins mount ns".into(),
        in_child("join a mount ns", || setns_raw(901, libc::CLONE_NEWNS))?,
    );
    // SAFETY: closing the duplicates.
    unsafe {
        libc::close(900);
        libc::close(901);
    }
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
pub const SETNS_13: Property = Property {
    id: "SETNS-13",
    area: Area::Setns,
    title: "Joining a descendant PID ns changes only pid_for_children (getpid() unchanged; the next child is in it); joining an ancestor PID ns is EINVAL",
    man: "setns(2) \"PID namespaces\"; pid_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 12).config(&["CONFIG_PID_NS"]),
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewPid],
    global: false,
    subject: None,
    inside: Some(setns_13_inside),
    check: setns_13_check,
};

fn setns_13_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.pid;
    // The helper unshares CLONE_NEWPID and forks the init of the new ns, which holds.
    let target = hold("make a child PID ns with an init", move || {
        if new {
            unshare_raw(libc::CLONE_NEWPID)?;
        }
        // SAFETY: the helper is single-threaded.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                // SAFETY: plain prctl; the init dies with the helper.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
                loop {
                    // SAFETY: pause has no arguments.
                    unsafe { libc::pause() };
                }
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => Ok(child.as_raw()),
            Err(e) => Err(format!("fork: {e}")),
        }
    })?;
    let child_fd = open(&target.ns_path("pid_for_children"))?;
    let own_fd = open("/proc/self/ns/pid")?;
    let (c, o) = (child_fd.as_raw_fd(), own_fd.as_raw_fd());
    let t: Table = in_child("join the child PID ns", move || {
        let mut t = Table::new();
        let pid = nix::unistd::getpid();
        let own = ino("self", "pid");
        t.insert("join descendant".into(), setns_raw(c, libc::CLONE_NEWPID));
        t.insert("getpid unchanged".into(), yes(nix::unistd::getpid() == pid));
        t.insert(
            "own pid ns unchanged".into(),
            yes(ino("self", "pid") == own),
        );
        t.insert(
            "pid_for_children is the new ns".into(),
            yes(ino("self", "pid_for_children") != own),
        );
        let sub: Table = in_child("fork into the joined ns and try the ancestor", move || {
            let mut t = Table::new();
            t.insert(
                "child is not pid 1 there".into(),
                yes(nix::unistd::getpid().as_raw() > 1),
            );
            t.insert("join ancestor".into(), setns_raw(o, libc::CLONE_NEWPID));
            t
        })
        .unwrap_or_default();
        t.extend(sub);
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
            ("getpid unchanged", "yes"),
            ("own pid ns unchanged", "yes"),
            ("pid_for_children is the new ns", "yes"),
            ("child is not pid 1 there", "yes"),
            ("join ancestor", "EINVAL"),
        ],
        "PID ns joins move only future children, never upwards",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_08: Property = Property {
    id: "SETNS-08",
    area: Area::Setns,
    title: "setns(pidfd, CLONE_NEWUTS|CLONE_NEWPID) where the PID part fails (target PID ns is an ancestor: EINVAL) changes no namespace; the UTS part alone succeeds",
    man: "setns(2) \"fd is a PID file descriptor\" (atomic)",
    prereq: Prereq::ROOTLESS.kernel(5, 8),
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewPid],
    global: false,
    subject: None,
    inside: Some(setns_08_inside),
    check: setns_08_check,
};

fn setns_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let (uts, pid) = (cx.launch.uts, cx.launch.pid);
    let target = hold("make a UTS ns", move || {
        if uts {
            unshare_raw(libc::CLONE_NEWUTS)?;
        }
        Ok(())
    })?;
    let pidfd = pidfd_open(target.pid)?;
    let raw = pidfd.as_raw_fd();
    let t: Table = in_child("move below the target's PID ns", move || {
        if pid {
            if let Err(m) = unshare_raw(libc::CLONE_NEWPID) {
                return Table::from([("unshare".to_string(), m)]);
            }
        }
        in_child("join from the deeper PID ns", move || {
            let mut t = Table::new();
            let before = ino("self", "uts");
            t.insert(
                "setns UTS|PID".into(),
                setns_raw(raw, libc::CLONE_NEWUTS | libc::CLONE_NEWPID),
            );
            t.insert(
                "uts unchanged after the failure".into(),
                yes(ino("self", "uts") == before),
            );
            t.insert("setns UTS".into(), setns_raw(raw, libc::CLONE_NEWUTS));
            t.insert(
                "uts changed after UTS alone".into(),
                yes(ino("self", "uts") != before),
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
            ("uts unchanged after the failure", "yes"),
            ("setns UTS", OK),
            ("uts changed after UTS alone", "yes"),
        ],
        "a failed pidfd setns changes nothing",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_12: Property = Property {
    id: "SETNS-12",
    area: Area::Setns,
    title: "Joining a mount ns needs CAP_SYS_CHROOT and CAP_SYS_ADMIN (else EPERM, also from a sibling user ns); afterwards cwd and root are the target ns root",
    man: "setns(2) \"Mount namespaces\"",
    prereq: Prereq::ROOTLESS,
    coverage: "KST:~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewMnt],
    global: false,
    subject: None,
    inside: Some(setns_12_inside),
    check: setns_12_check,
};

fn setns_12_inside(cx: &Inside) -> Result<Value, StepError> {
    let dir = cx.workdir()?;
    let d = dir.clone();
    let new = cx.launch.mnt;
    let target = hold("make a mount ns with a marked tmpfs", move || {
        if new {
            unshare_raw(libc::CLONE_NEWNS)?;
            nix::mount::mount(
                Some("nsconform-setns12"),
                &d,
                Some("tmpfs"),
                nix::mount::MsFlags::empty(),
                Some("size=16k"),
            )
            .map_err(|e| format!("mount tmpfs: {e}"))?;
            std::fs::write(d.join("marker"), b"").map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    let mnt = open(&target.ns_path("mnt"))?;
    let m = mnt.as_raw_fd();
    let mut t: Table = in_child("join the mount ns from a subdirectory", move || {
        let mut t = Table::new();
        let _ = nix::unistd::chdir(&dir);
        t.insert("join".into(), setns_raw(m, libc::CLONE_NEWNS));
        t.insert(
            "cwd is /".into(),
            yes(nix::unistd::getcwd().is_ok_and(|c| c == std::path::Path::new("/"))),
        );
        t.insert(
            "target's mount visible".into(),
            yes(dir.join("marker").exists()),
        );
        t
    })?;
    use super::gen::{limit_effective_caps, CAP_SYS_ADMIN, CAP_SYS_CHROOT};
    for (label, cap) in [
        ("without CAP_SYS_CHROOT", CAP_SYS_CHROOT),
        ("without CAP_SYS_ADMIN", CAP_SYS_ADMIN),
    ] {
        t.insert(
            label.into(),
            in_child(
                "join without a capability",
                move || match limit_effective_caps(!(1u64 << cap)).as_str() {
                    OK => setns_raw(m, libc::CLONE_NEWNS),
                    e => format!("capset {e}"),
                },
            )?,
        );
    }
    t.insert(
        "from a sibling user ns".into(),
        in_child("join from a sibling user ns", move || match new_user_ns() {
            Ok(()) => setns_raw(m, libc::CLONE_NEWNS),
            Err(e) => e,
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
            ("cwd is /", "yes"),
            ("target's mount visible", "yes"),
            ("without CAP_SYS_CHROOT", "EPERM"),
            ("without CAP_SYS_ADMIN", "EPERM"),
            ("from a sibling user ns", "EPERM"),
        ],
        "mount ns joins need both capabilities and reset cwd",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_15: Property = Property {
    id: "SETNS-15",
    area: Area::Setns,
    title: "Joining a time ns switches the caller's own CLOCK_MONOTONIC (vDSO and syscall) by the ns offset; a multithreaded caller gets EUSERS",
    man: "setns(2); time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(&["CONFIG_TIME_NS"]),
    coverage: "KST:timens/*, ~pidfd/pidfd_setns_test",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(setns_15_inside),
    check: setns_15_check,
};

const TIME_SHIFT: i64 = 1000;

fn monotonic(raw: bool) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if raw {
        // SAFETY: valid timespec pointer.
        unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts) };
    } else {
        // SAFETY: valid timespec pointer (libc uses the vDSO).
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    }
    ts.tv_sec
}

fn setns_15_inside(cx: &Inside) -> Result<Value, StepError> {
    let new = cx.launch.time;
    let target = hold("make a time ns with an offset", move || {
        if new {
            unshare_raw(libc::CLONE_NEWTIME)?;
            std::fs::write(
                "/proc/self/timens_offsets",
                format!("monotonic {TIME_SHIFT} 0\n"),
            )
            .map_err(|e| format!("write timens_offsets: {e}"))?;
        }
        Ok(())
    })?;
    let fd = open(&target.ns_path("time_for_children"))?;
    let raw = fd.as_raw_fd();
    let mut t: Table = in_child("join the time ns", move || {
        let mut t = Table::new();
        let before = monotonic(false);
        t.insert("join".into(), setns_raw(raw, libc::CLONE_NEWTIME));
        let shifted = |now: i64| now - before >= TIME_SHIFT - 5 && now - before <= TIME_SHIFT + 5;
        t.insert("vDSO clock shifted".into(), yes(shifted(monotonic(false))));
        t.insert(
            "syscall clock shifted".into(),
            yes(shifted(monotonic(true))),
        );
        t
    })?;
    t.insert(
        "multithreaded join".into(),
        in_child("join the time ns with a second thread", move || {
            if !spawn_idle_thread() {
                return "spawn failed".into();
            }
            setns_raw(raw, libc::CLONE_NEWTIME)
        })?,
    );
    facts(&t)
}

fn setns_15_check(cx: &mut Cx) -> CheckResult {
    table_check(
        cx,
        Launch::host().user().time(),
        &[
            ("join", OK),
            ("vDSO clock shifted", "yes"),
            ("syscall clock shifted", "yes"),
            ("multithreaded join", "EUSERS"),
        ],
        "a joined time ns shifts the caller's clocks",
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_16: Property = Property {
    id: "SETNS-16",
    area: Area::Setns,
    title: "PIDFD_GET_*_NAMESPACE ioctls on a pidfd return descriptors of the process's namespaces (incl. pid_for_children, time_for_children) usable with setns",
    man: "uapi linux/pidfd.h PIDFD_GET_*_NAMESPACE; setns(2)",
    prereq: Prereq::ROOTLESS.kernel(6, 11),
    coverage: "KST:pidfd/pidfd_setns_test",
    controls: &[Control::NoNewUts, Control::NoNewNet],
    global: false,
    subject: None,
    inside: Some(setns_16_inside),
    check: setns_16_check,
};

/// PIDFD_GET_*_NAMESPACE = _IO(0xFF, n) and the /proc/PID/ns entry each returns.
const PIDFD_NS_IOCTLS: [(u64, &str); 10] = [
    (1, "cgroup"),
    (2, "ipc"),
    (3, "mnt"),
    (4, "net"),
    (5, "pid"),
    (6, "pid_for_children"),
    (7, "time"),
    (8, "time_for_children"),
    (9, "user"),
    (10, "uts"),
];

fn setns_16_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut flags = 0;
    if cx.launch.uts {
        flags |= libc::CLONE_NEWUTS;
    }
    if cx.launch.net {
        flags |= libc::CLONE_NEWNET;
    }
    let target = hold("make UTS and net namespaces", move || unshare_raw(flags))?;
    let pidfd = pidfd_open(target.pid)?;
    let tp = target.pid.to_string();
    let mut t = Table::new();
    for (nr, name) in PIDFD_NS_IOCTLS {
        let r = match super::gen::ioctl_fd_ino(pidfd.as_raw_fd(), 0xFF00 | nr as libc::c_ulong) {
            Ok(i) => yes(Some(i) == ino(&tp, name)),
            Err(e) => e,
        };
        t.insert(format!("{name} matches"), r);
    }
    for k in ["uts", "net"] {
        t.insert(
            format!("{k} differs from the probe's"),
            yes(ino(&tp, k) != ino("self", k)),
        );
    }
    let raw = pidfd.as_raw_fd();
    t.insert(
        "setns through the returned uts fd".into(),
        in_child("setns through PIDFD_GET_UTS_NAMESPACE", move || {
            // SAFETY: the request takes no argument and returns a new descriptor.
            let fd = unsafe { libc::ioctl(raw, 0xFF0A as _, 0) };
            if fd < 0 {
                return crate::probe::errno_name(nix::errno::Errno::last());
            }
            setns_raw(fd, libc::CLONE_NEWUTS)
        })?,
    );
    facts(&t)
}

fn setns_16_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user().uts().net(), Value::Null)?;
    let f: Table = run.facts()?;
    if f.values().any(|v| v == "ENOTTY") {
        return Err(crate::outcome::Verdict::skip(
            "needs PIDFD_GET_*_NAMESPACE (kernel 6.11); this kernel answered ENOTTY",
        ));
    }
    let mut want: Vec<(String, &str)> = PIDFD_NS_IOCTLS
        .iter()
        .map(|(_, n)| (format!("{n} matches"), "yes"))
        .collect();
    want.push(("uts differs from the probe's".into(), "yes"));
    want.push(("net differs from the probe's".into(), "yes"));
    want.push(("setns through the returned uts fd".into(), OK));
    let exp: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut e = Expect::new();
    judge_table(&mut e, "result", &exp, &f);
    Ok(
        e.verdict("pidfd ioctls hand out the process's ns descriptors")
            .with_observed(json!(f)),
    )
}

// ---------------------------------------------------------------------------------
pub const SETNS_14: Property = Property {
    id: "SETNS-14",
    area: Area::Setns,
    title: "Joining a cgroup ns changes only the caller's view of /proc/self/cgroup, never its cgroup membership",
    man: "setns(2) \"Cgroup namespaces\"; cgroup_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(&["CONFIG_CGROUPS"]),
    coverage: "new",
    controls: &[Control::NoNewCgroup],
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
    let target = hold("make a cgroup ns", move || {
        if new {
            unshare_raw(libc::CLONE_NEWCGROUP)?;
        }
        Ok(())
    })?;
    let fd = open(&target.ns_path("cgroup"))?;
    let (raw, want) = (fd.as_raw_fd(), ino(&target.pid.to_string(), "cgroup"));
    let joiner = hold("join the cgroup ns", move || {
        let r = setns_raw(raw, libc::CLONE_NEWCGROUP);
        if r != OK {
            return Err(format!("setns: {r}"));
        }
        Ok(ino("self", "cgroup") == want)
    });
    let mut t = Table::new();
    match joiner {
        Err(e) => {
            t.insert("join".into(), e.message);
        }
        Ok(j) => {
            t.insert("join".into(), OK.into());
            t.insert("joined the target".into(), yes(j.info));
            t.insert(
                "target differs from the probe's cgroup ns".into(),
                yes(want != ino("self", "cgroup")),
            );
            t.insert(
                "membership unchanged (as the probe sees it)".into(),
                yes(read_cgroup(&j.pid.to_string()) == read_cgroup("self")),
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
            ("joined the target", "yes"),
            ("target differs from the probe's cgroup ns", "yes"),
            ("membership unchanged (as the probe sees it)", "yes"),
        ],
        "a cgroup ns join moves no process between cgroups",
    )
}
