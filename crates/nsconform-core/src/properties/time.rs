//! TIME properties: time_namespaces(7).

use super::user::{
    cat_path, drop_caps, exec_to, fe, fork_with, fs, read_trim, self_made, squash, try_write,
};
use crate::harness::Cx;
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[
    TIME_01, TIME_02, TIME_03, TIME_04, TIME_05, TIME_06, TIME_07, TIME_08, TIME_09, TIME_10,
];

const NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
const NONE: CloneFlags = CloneFlags::empty();
/// Offset (seconds) the clock checks give CLOCK_MONOTONIC and CLOCK_BOOTTIME: ten days.
pub const OFFSET: i64 = 864_000;
const TIMENS: &[&str] = &["CONFIG_TIME_NS"];

fn time_flag(cx: &Inside) -> CloneFlags {
    if cx.args["create_time"].as_bool().unwrap_or(false) {
        NEWTIME
    } else {
        NONE
    }
}

fn ns(kind: &str) -> Option<u64> {
    crate::probe::sys::ns_inode("self", kind).ok()
}

fn offsets() -> String {
    read_trim("/proc/self/timens_offsets")
        .lines()
        .map(squash)
        .collect::<Vec<_>>()
        .join("; ")
}

fn run_self_made(cx: &mut Cx) -> Result<Value, Verdict> {
    let (l, args) = self_made(cx, Launch::host().time(), false);
    Ok(cx.run_exact(l, args, |_| Ok(()))?.facts)
}

/// Nanoseconds of clock `id` via the libc (vDSO) path.
pub fn clock_ns(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return -1;
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Nanoseconds of clock `id` via the raw system call (no vDSO).
pub fn clock_ns_syscall(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    unsafe { libc::syscall(libc::SYS_clock_gettime, id, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

// ---------------------------------------------------------------------------------
pub const TIME_01: Property = Property {
    id: "TIME-01",
    area: Area::Time,
    title: "unshare(CLONE_NEWTIME) leaves the caller in its time namespace and puts later children in the new one; time_for_children differs from time meanwhile",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/*; LTP:~timens01",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_01_inside),
    check: time_01_check,
};

fn time_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let before = ns("time");
    let flags = time_flag(cx);
    if !flags.is_empty() {
        unshare(flags).step("unshare(CLONE_NEWTIME)")?;
    }
    let child = fork_with(NONE, |_| Ok(json!(ns("time"))))?.release()?;
    Ok(json!({
        "stays": ns("time") == before,
        "for_children_differs": ns("time_for_children") != before,
        "child_in_for_children": child == json!(ns("time_for_children")),
    }))
}

fn time_01_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx)?;
    let mut e = Expect::new();
    e.eq(
        "caller's time namespace unchanged",
        json!(true),
        f["stays"].clone(),
    );
    e.eq(
        "time_for_children differs from time",
        json!(true),
        f["for_children_differs"].clone(),
    );
    e.eq(
        "a child forked afterwards is in time_for_children",
        json!(true),
        f["child_in_for_children"].clone(),
    );
    Ok(e.verdict("caller stays, children move").with_observed(f))
}

// ---------------------------------------------------------------------------------
pub const TIME_02: Property = Property {
    id: "TIME-02",
    area: Area::Time,
    title: "Only CLOCK_MONOTONIC (+_COARSE, _RAW) and CLOCK_BOOTTIME (+_ALARM) are offset; CLOCK_REALTIME and CLOCK_TAI are the same in every time namespace",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/timens; LTP:clock_gettime03",
    controls: &[Control::NoNewTime],
    global: false,
    subject: Some(time_02_subject),
    inside: Some(time_02_inside),
    check: time_02_check,
};

const CLOCKS: &[(&str, libc::clockid_t, bool)] = &[
    ("MONOTONIC", libc::CLOCK_MONOTONIC, true),
    ("MONOTONIC_RAW", libc::CLOCK_MONOTONIC_RAW, true),
    ("MONOTONIC_COARSE", libc::CLOCK_MONOTONIC_COARSE, true),
    ("BOOTTIME", libc::CLOCK_BOOTTIME, true),
    ("BOOTTIME_ALARM", libc::CLOCK_BOOTTIME_ALARM, true),
    ("REALTIME", libc::CLOCK_REALTIME, false),
    ("TAI", libc::CLOCK_TAI, false),
];

fn time_02_inside(_: &Inside) -> Result<Value, StepError> {
    Ok(json!(CLOCKS
        .iter()
        .map(|(_, id, _)| clock_ns(*id))
        .collect::<Vec<_>>()))
}

/// Whole seconds by which `inside` is ahead of the host's `[before, after]` window
/// (0 inside it), with 50 ms of slack for coarse clocks.
fn shift_s(inside: i64, before: i64, after: i64) -> i64 {
    let slack = 50_000_000;
    if inside >= before - slack && inside <= after + slack {
        0
    } else {
        ((inside - (before + after) / 2) as f64 / 1e9).round() as i64
    }
}

fn time_02_check(cx: &mut Cx) -> CheckResult {
    let before: Vec<i64> = CLOCKS.iter().map(|c| clock_ns(c.1)).collect();
    let run = cx.run(
        Launch {
            time_offsets: Some((OFFSET, OFFSET)),
            ..Launch::host().time()
        },
        Value::Null,
    )?;
    let after: Vec<i64> = CLOCKS.iter().map(|c| clock_ns(c.1)).collect();
    let inside: Vec<i64> = run.facts()?;
    let mut e = Expect::new();
    let mut seen = serde_json::Map::new();
    for (i, (name, _, offset)) in CLOCKS.iter().enumerate() {
        if before[i] < 0 {
            // e.g. CLOCK_BOOTTIME_ALARM without an RTC alarm device.
            seen.insert(name.to_string(), json!("unsupported"));
            continue;
        }
        let s = shift_s(
            inside[i] - if *offset { OFFSET * 1_000_000_000 } else { 0 },
            before[i],
            after[i],
        );
        let got = s + if *offset { OFFSET } else { 0 };
        e.eq(
            &format!("CLOCK_{name} shift in seconds"),
            if *offset { OFFSET } else { 0 },
            got,
        );
        seen.insert(name.to_string(), json!(got));
    }
    Ok(
        e.verdict("monotonic and boottime clocks shifted, realtime and TAI not")
            .with_observed(Value::Object(seen)),
    )
}

// ---------------------------------------------------------------------------------
pub const TIME_03: Property = Property {
    id: "TIME-03",
    area: Area::Time,
    title: "Offsets apply to clock_gettime via vDSO and syscall, absolute clock_nanosleep and timerfd timers, /proc/uptime, and /proc/stat btime (moved back by the boottime offset)",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/{timens,clock_nanosleep,timerfd,procfs}; LTP:clock_gettime03,clock_nanosleep03,timerfd04,sysinfo03",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_03_inside),
    check: time_03_check,
};

extern "C" fn noop(_: libc::c_int) {}

fn btime(stat: &str) -> i64 {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn time_03_inside(_: &Inside) -> Result<Value, StepError> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let vdso = clock_ns(libc::CLOCK_MONOTONIC);
    let sys = clock_ns_syscall(libc::CLOCK_MONOTONIC);
    let uptime: f64 = read_trim("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let btime = btime(&std::fs::read_to_string("/proc/stat").unwrap_or_default());
    // An absolute sleep 5 ms ahead in namespace time; SIGALRM after 1 s ends it if the
    // kernel took the target as host time (ten days away).
    let act = SigAction::new(SigHandler::Handler(noop), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler does nothing.
    unsafe { sigaction(Signal::SIGALRM, &act) }.step("install a SIGALRM handler")?;
    // SAFETY: plain alarm.
    unsafe { libc::alarm(1) };
    let target = clock_ns(libc::CLOCK_MONOTONIC) + 5_000_000;
    let ts = libc::timespec {
        tv_sec: target / 1_000_000_000,
        tv_nsec: target % 1_000_000_000,
    };
    // SAFETY: valid timespec.
    let slept = unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: plain timerfd calls on a descriptor we own.
    let timerfd_fired = unsafe {
        let fd = libc::timerfd_create(libc::CLOCK_MONOTONIC, 0);
        let target = clock_ns(libc::CLOCK_MONOTONIC) + 5_000_000;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: target / 1_000_000_000,
                tv_nsec: target % 1_000_000_000,
            },
        };
        libc::timerfd_settime(fd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut());
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let n = libc::poll(&mut p, 1, 500);
        libc::close(fd);
        n == 1
    };
    // SAFETY: cancel the alarm.
    unsafe { libc::alarm(0) };
    Ok(json!({
        "vdso": vdso, "sys": sys, "uptime": uptime, "btime": btime,
        "nanosleep": if slept == 0 { "ok".to_string() } else { crate::probe::errno_name(nix::errno::Errno::from_raw(slept)) },
        "timerfd_fired": timerfd_fired,
    }))
}

fn time_03_check(cx: &mut Cx) -> CheckResult {
    let before = clock_ns(libc::CLOCK_MONOTONIC);
    let host_btime = btime(&std::fs::read_to_string("/proc/stat").unwrap_or_default());
    let run = cx.run(
        Launch {
            time_offsets: Some((OFFSET, OFFSET)),
            ..Launch::host().time()
        },
        Value::Null,
    )?;
    let after = clock_ns(libc::CLOCK_MONOTONIC);
    let f = run.facts;
    let off = OFFSET * 1_000_000_000;
    let vdso = shift_s(f["vdso"].as_i64().unwrap_or(0) - off, before, after) + OFFSET;
    let sys = shift_s(f["sys"].as_i64().unwrap_or(0) - off, before, after) + OFFSET;
    let uptime_shift = (f["uptime"].as_f64().unwrap_or(0.0) - before as f64 / 1e9).round() as i64;
    // btime = realtime - boottime: rounding can move it by a second.
    let btime_shift = host_btime - f["btime"].as_i64().unwrap_or(0);
    let mut e = Expect::new();
    e.eq("vDSO CLOCK_MONOTONIC shift (s)", OFFSET, vdso);
    e.eq("syscall CLOCK_MONOTONIC shift (s)", OFFSET, sys);
    e.that(
        "/proc/uptime shift (s)",
        (uptime_shift - OFFSET).abs() <= 1,
        format!("{OFFSET} ± 1"),
        uptime_shift.to_string(),
    );
    e.that(
        "/proc/stat btime moved back (s)",
        (btime_shift - OFFSET).abs() <= 1,
        format!("{OFFSET} ± 1"),
        btime_shift.to_string(),
    );
    e.eq(
        "absolute clock_nanosleep 5 ms ahead (EINTR = taken as host time)",
        "ok".to_string(),
        fe(&f, "nanosleep"),
    );
    e.eq(
        "absolute timerfd 5 ms ahead fired within 500 ms",
        json!(true),
        f["timerfd_fired"].clone(),
    );
    Ok(e.verdict("offsets apply to every interface checked")
        .with_observed(json!({
            "vdso_shift": vdso, "syscall_shift": sys,
            "uptime_shift_ok": (uptime_shift - OFFSET).abs() <= 1,
            "btime_shift_ok": (btime_shift - OFFSET).abs() <= 1,
            "nanosleep": fe(&f, "nanosleep"), "timerfd_fired": f["timerfd_fired"],
        })))
}

// ---------------------------------------------------------------------------------
pub const TIME_04: Property = Property {
    id: "TIME-04",
    area: Area::Time,
    title: "timens_offsets can be written several times while the new time namespace has no member; once a process is in it, writes fail with EACCES",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_04_inside),
    check: time_04_check,
};

const OFFS: &str = "/proc/self/timens_offsets";

fn time_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = time_flag(cx);
    if !flags.is_empty() {
        unshare(flags).step("unshare(CLONE_NEWTIME)")?;
    }
    let w1 = try_write(OFFS, b"monotonic 1 0\n");
    let w2 = try_write(OFFS, b"monotonic 2 0\n");
    let read = offsets();
    fork_with(NONE, |_| Ok(Value::Null))?.release()?;
    let w3 = try_write(OFFS, b"monotonic 3 0\n");
    Ok(json!({"first": w1, "second": w2, "read": read, "after_member": w3}))
}

fn time_04_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx)?;
    let got = ["first", "second", "after_member"].map(|k| fe(&f, k));
    let mut e = Expect::new();
    e.eq(
        "errno of writes: first, second, after a child joined",
        ["ok", "ok", "EACCES"].map(String::from),
        got.clone(),
    );
    e.eq(
        "offsets read back",
        "monotonic 2 0; boottime 0 0",
        f["read"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("writable until the first member, EACCES after")
        .with_errno("EACCES")
        .with_observed(json!({"writes": got, "read": f["read"]})))
}

// ---------------------------------------------------------------------------------
pub const TIME_05: Property = Property {
    id: "TIME-05",
    area: Area::Time,
    title: "timens_offsets write errors: nsec > 999999999, an unknown clock (CLOCK_REALTIME) or a malformed line give EINVAL; no CAP_SYS_TIME gives EPERM; a resulting time < 0 or > KTIME_SEC_MAX/2 gives ERANGE",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "LTP:~timens01 (EINVAL/ERANGE)",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_05_inside),
    check: time_05_check,
};

const TIME_05_CASES: &[(&str, &str)] = &[
    ("nsec too big", "monotonic 1 1000000000\n"),
    ("realtime id", "0 1 0\n"),
    ("unknown name", "realtime 1 0\n"),
    ("malformed", "monotonic x 0\n"),
    ("negative time", "monotonic -100000000000 0\n"),
    ("beyond KTIME_SEC_MAX/2", "boottime 5000000000 0\n"),
];

fn time_05_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = time_flag(cx);
    // Without CAP_SYS_TIME (25) in the owning user namespace.
    let eperm = fork_with(NONE, move |_| {
        drop_caps(&[25]).step("drop CAP_SYS_TIME")?;
        if !flags.is_empty() {
            unshare(flags).step("unshare(CLONE_NEWTIME)")?;
        }
        Ok(json!(try_write(OFFS, b"monotonic 1 0\n")))
    })?
    .release()?;
    if !flags.is_empty() {
        unshare(flags).step("unshare(CLONE_NEWTIME)")?;
    }
    let mut out = serde_json::Map::new();
    for (name, line) in TIME_05_CASES {
        out.insert(name.to_string(), json!(try_write(OFFS, line.as_bytes())));
    }
    out.insert("no CAP_SYS_TIME".into(), eperm);
    out.insert("valid".into(), json!(try_write(OFFS, b"monotonic 1 0\n")));
    Ok(Value::Object(out))
}

fn time_05_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx)?;
    let expected = ["EINVAL", "EINVAL", "EINVAL", "EINVAL", "ERANGE", "ERANGE"];
    let mut e = Expect::new();
    let mut seen = serde_json::Map::new();
    for ((name, _), want) in TIME_05_CASES.iter().zip(expected) {
        let got = fe(&f, name);
        e.eq(&format!("errno of `{name}`"), want.to_string(), got.clone());
        seen.insert(name.to_string(), json!(got));
    }
    let got = fe(&f, "no CAP_SYS_TIME");
    e.eq(
        "errno without CAP_SYS_TIME",
        "EPERM".to_string(),
        got.clone(),
    );
    seen.insert("no CAP_SYS_TIME".into(), json!(got));
    e.eq(
        "a valid write afterwards (the new namespace has no member yet)",
        "ok".to_string(),
        fe(&f, "valid"),
    );
    Ok(
        e.verdict("invalid offsets are refused with the documented errno")
            .with_observed(Value::Object(seen)),
    )
}

// ---------------------------------------------------------------------------------
pub const TIME_06: Property = Property {
    id: "TIME-06",
    area: Area::Time,
    title: "timens_offsets accepts the numeric clock ids 1 (monotonic) and 7 (boottime) as well as names; reads always show names",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "LTP:~timens01 (numeric only)",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_06_inside),
    check: time_06_check,
};

fn time_06_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = time_flag(cx);
    if !flags.is_empty() {
        unshare(flags).step("unshare(CLONE_NEWTIME)")?;
    }
    let w = try_write(OFFS, b"1 5 0\n7 6 0\n");
    Ok(json!({"write": w, "read": offsets()}))
}

fn time_06_check(cx: &mut Cx) -> CheckResult {
    let f = run_self_made(cx)?;
    let mut e = Expect::new();
    e.eq("writing `1 5 0` and `7 6 0`", None, fs(&f, "write"));
    e.eq(
        "offsets read back",
        "monotonic 5 0; boottime 6 0",
        f["read"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("numeric ids accepted, names shown")
        .with_observed(f))
}

// ---------------------------------------------------------------------------------
pub const TIME_07: Property = Property {
    id: "TIME-07",
    area: Area::Time,
    title: "A new time namespace inherits its creator's namespace offsets; the initial namespace reads `monotonic 0 0` and `boottime 0 0`",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_07_inside),
    check: time_07_check,
};

fn time_07_inside(_: &Inside) -> Result<Value, StepError> {
    let own = offsets();
    unshare(NEWTIME).step("unshare(CLONE_NEWTIME) again")?;
    Ok(json!({"own": own, "new": offsets()}))
}

fn time_07_check(cx: &mut Cx) -> CheckResult {
    let initial = offsets();
    let f = cx
        .run(
            Launch {
                time_offsets: Some((100, 200)),
                ..Launch::host().time()
            },
            Value::Null,
        )?
        .facts;
    let want = "monotonic 100 0; boottime 200 0";
    let mut e = Expect::new();
    e.eq(
        "harness's (initial) offsets",
        "monotonic 0 0; boottime 0 0",
        initial.as_str(),
    );
    e.eq(
        "offsets of the first namespace",
        want,
        f["own"].as_str().unwrap_or(""),
    );
    e.eq(
        "offsets of a namespace made inside it (inherited)",
        want,
        f["new"].as_str().unwrap_or(""),
    );
    Ok(e.verdict("offsets are inherited").with_observed(json!({
        "initial": initial, "first": f["own"], "nested": f["new"],
    })))
}

// ---------------------------------------------------------------------------------
pub const TIME_08: Property = Property {
    id: "TIME-08",
    area: Area::Time,
    title: "Since 6.2, execve() after unshare(CLONE_NEWTIME) moves the caller into its time_for_children namespace (before 6.2 it stays)",
    man: "kernel 2b5f9dad32ed \"fs/exec: switch timens when a task gets a new mm\" (not in time_namespaces(7))",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/exec,timens/vfork_exec",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_08_inside),
    check: time_08_check,
};

fn time_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = time_flag(cx);
    let cat = cx.arg_str("cat")?.to_string();
    let c = fork_with(NONE, move |fd| {
        if !flags.is_empty() {
            unshare(flags).step("unshare(CLONE_NEWTIME)")?;
        }
        // A refused write (no new namespace) shows as an unshifted uptime.
        let _ = try_write(OFFS, format!("boottime {OFFSET} 0\n").as_bytes());
        Err(exec_to(fd, &[&cat, "/proc/uptime"]))
    })?;
    let out = String::from_utf8_lossy(&c.release_raw()).into_owned();
    let uptime: Option<f64> = out.split_whitespace().next().and_then(|v| v.parse().ok());
    Ok(json!({"uptime": uptime, "raw": out}))
}

fn time_08_check(cx: &mut Cx) -> CheckResult {
    let cat = cat_path()?;
    let (l, mut args) = self_made(cx, Launch::host().time(), false);
    args["cat"] = json!(cat);
    let f = cx.run_exact(l, args, |_| Ok(()))?.facts;
    let Some(uptime) = f["uptime"].as_f64() else {
        return Err(Verdict::error(format!(
            "the exec'd program printed no uptime: {}",
            f["raw"]
        )));
    };
    let moved = uptime >= OFFSET as f64;
    let expect_moved = cx.env.version >= Some(crate::env::KernelVersion(6, 2, 0));
    let mut e = Expect::new();
    e.eq(
        "after execve the process sees the new namespace's boottime offset",
        expect_moved,
        moved,
    );
    Ok(
        e.verdict("execve switches to time_for_children per kernel version")
            .with_observed(json!({"moved_on_exec": moved})),
    )
}

// ---------------------------------------------------------------------------------
pub const TIME_10: Property = Property {
    id: "TIME-10",
    area: Area::Time,
    title: "clone3(CLONE_NEWTIME) creates the child directly in a new time namespace that inherits the parent's offsets and is already frozen (EACCES on write)",
    man: "kernel \"fork: allow CLONE_NEWTIME in clone3 flags\" (time_namespaces(7) names only unshare)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_10_inside),
    check: time_10_check,
};

fn time_10_inside(_: &Inside) -> Result<Value, StepError> {
    use std::os::fd::AsRawFd;
    let parent_ns = ns("time");
    let (r, w) = nix::unistd::pipe().step("create a pipe")?;
    // SAFETY: fork-like clone3 (no CLONE_VM) of a single-threaded process.
    let pid = unsafe { crate::probe::sys::clone3(libc::CLONE_NEWTIME as u64, &[]) }
        .map_or(-1, libc::c_long::from);
    if pid == 0 {
        let res = json!({
            "new_ns": ns("time") != parent_ns,
            "offsets": offsets(),
            "write": try_write(OFFS, b"monotonic 1 0\n"),
        });
        crate::probe::sys::write_all(w.as_raw_fd(), res.to_string().as_bytes());
        // SAFETY: leave the clone3 child.
        unsafe { libc::_exit(0) }
    }
    if pid < 0 {
        let e = crate::probe::errno_name(nix::errno::Errno::last());
        return Ok(json!({"clone3": e}));
    }
    drop(w);
    let mut buf = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut buf)
        .step("read the child's report")?;
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
    let child: Value = serde_json::from_str(&buf)
        .map_err(|e| StepError::new("parse the child's report", None, e.to_string()))?;
    Ok(json!({"clone3": null, "child": child}))
}

fn time_10_check(cx: &mut Cx) -> CheckResult {
    let f = cx
        .run(
            Launch {
                time_offsets: Some((100, 200)),
                ..Launch::host().time()
            },
            Value::Null,
        )?
        .facts;
    if let Some(errno) = fs(&f, "clone3") {
        if errno == "EINVAL" && cx.env.version < Some(crate::env::KernelVersion(6, 3, 0)) {
            return Ok(Verdict::skip(
                "clone3 refuses CLONE_NEWTIME on this kernel (EINVAL; allowed since the 2023 fix)",
            )
            .with_errno(errno));
        }
    }
    let c = &f["child"];
    let mut e = Expect::new();
    e.eq("clone3(CLONE_NEWTIME)", "ok".to_string(), fe(&f, "clone3"));
    e.eq(
        "child in a new time namespace",
        json!(true),
        c["new_ns"].clone(),
    );
    e.eq(
        "child's offsets (inherited)",
        "monotonic 100 0; boottime 200 0",
        c["offsets"].as_str().unwrap_or(""),
    );
    e.eq(
        "writing the child's offsets",
        "EACCES".to_string(),
        fe(c, "write"),
    );
    Ok(
        e.verdict("clone3 puts the child in a new, inherited, frozen time namespace")
            .with_observed(json!({
                "clone3": fe(&f, "clone3"), "new_ns": c["new_ns"], "offsets": c["offsets"],
                "write": fe(c, "write"),
            })),
    )
}

// ---------------------------------------------------------------------------------
pub const TIME_09: Property = Property {
    id: "TIME-09",
    area: Area::Time,
    title: "Offsets stay in force for a program exec'd inside the time namespace (its vDSO clock reads agree with the namespace's)",
    man: "time_namespaces(7); kernel (vvar page re-mapped on exec)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/exec",
    controls: &[Control::NoNewTime],
    global: false,
    subject: None,
    inside: Some(time_09_inside),
    check: time_09_check,
};

fn time_09_inside(cx: &Inside) -> Result<Value, StepError> {
    if cx.args["stage"] == "exec" {
        return Ok(json!(clock_ns(libc::CLOCK_MONOTONIC)));
    }
    // Exec this probe again with a request that only reads the clock through the vDSO.
    let req = crate::probe::Request {
        property: "TIME-09".into(),
        launch: Launch::host(),
        args: json!({"stage": "exec"}),
    };
    let text = serde_json::to_string(&req).unwrap_or_default();
    let exe = std::fs::read_link("/proc/self/exe")
        .step("find the probe executable")?
        .display()
        .to_string();
    let before = clock_ns(libc::CLOCK_MONOTONIC);
    let c = fork_with(NONE, move |fd| Err(exec_to(fd, &[&exe, "run", &text])))?;
    let out = String::from_utf8_lossy(&c.release_raw()).into_owned();
    let after = clock_ns(libc::CLOCK_MONOTONIC);
    let exec_reading =
        out.lines().find_map(
            |l| match serde_json::from_str::<crate::probe::Message>(l).ok()? {
                crate::probe::Message::Report { facts } => facts.as_i64(),
                _ => None,
            },
        );
    Ok(json!({"before": before, "after": after, "exec": exec_reading, "raw": out}))
}

fn time_09_check(cx: &mut Cx) -> CheckResult {
    let host_before = clock_ns(libc::CLOCK_MONOTONIC);
    let f = cx
        .run(
            Launch {
                time_offsets: Some((OFFSET, OFFSET)),
                ..Launch::host().time()
            },
            Value::Null,
        )?
        .facts;
    let host_after = clock_ns(libc::CLOCK_MONOTONIC);
    let Some(exec) = f["exec"].as_i64() else {
        return Err(Verdict::error(format!(
            "the exec'd probe reported no clock: {}",
            f["raw"]
        )));
    };
    let (b, a) = (
        f["before"].as_i64().unwrap_or(0),
        f["after"].as_i64().unwrap_or(0),
    );
    let shift = shift_s(exec - OFFSET * 1_000_000_000, host_before, host_after) + OFFSET;
    let mut e = Expect::new();
    e.that(
        "exec'd program's CLOCK_MONOTONIC within the parent's readings before and after",
        b <= exec && exec <= a,
        "before <= exec <= after",
        format!("{b} <= {exec} <= {a}"),
    );
    e.eq("exec'd program's shift from the host (s)", OFFSET, shift);
    Ok(e.verdict("offsets hold across execve").with_observed(
        json!({"exec_shift": shift, "within_parent_window": b <= exec && exec <= a}),
    ))
}

/// TIME-02 for a subject: a time namespace is optional for containers; when the
/// subject made one, the probe is in it (seen from outside), else the property is
/// skipped with that reason.
fn time_02_subject(o: &crate::observation::SubjectObservation) -> Verdict {
    match o.outside.ns_differs.get("time") {
        Some(true) => Verdict::pass("the probe runs in a time namespace of its own")
            .with_observed(json!({ "own_time_ns": true })),
        Some(false) => Verdict::skip(
            "the subject did not unshare a time namespace (optional for containers; CLONE_NEWTIME)",
        ),
        None => Verdict::skip("this kernel has no time namespaces"),
    }
}
