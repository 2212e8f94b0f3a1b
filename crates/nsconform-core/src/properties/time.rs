//! TIME properties: time_namespaces(7).

use crate::environment::TimeOffsets;
use crate::harness::Cx;
use crate::kit::fact::read_trim;
use crate::kit::ids::{cat_path, exec_to, squash, SelfMade};
use crate::kit::{facts, res, write_res, Fork, Table, OK};
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[
    TIME_01, TIME_02, TIME_03, TIME_04, TIME_05, TIME_06, TIME_07, TIME_08, TIME_09, TIME_10,
];

const NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
/// Offset (seconds) the clock checks give CLOCK_MONOTONIC and CLOCK_BOOTTIME: ten days.
pub const OFFSET: i64 = 864_000;
/// The CLOCK_BOOTTIME offset of TIME-02/03, distinct from the monotonic one ([`OFFSET`])
/// so that a kernel that swaps the two clocks' offsets fails.
pub const BOOT_OFFSET: i64 = 2 * OFFSET + 7_200;
const TIMENS: &[&str] = &["CONFIG_TIME_NS"];
const OFFS: &str = "/proc/self/timens_offsets";

/// CLONE_NEWTIME when the run creates the time namespace itself (`Cx::self_made`).
fn time_flag(cx: &Inside) -> Result<CloneFlags, StepError> {
    Ok(cx.args::<SelfMade>()?.time())
}

/// unshare(`flags`) unless they are empty (a control removed the time namespace).
fn unshare_time(flags: CloneFlags) -> Result<(), StepError> {
    if !flags.is_empty() {
        unshare(flags).step("unshare(CLONE_NEWTIME)")?;
    }
    Ok(())
}

fn ns(kind: &str) -> Option<u64> {
    crate::probe::sys::ns_inode("self", kind).ok()
}

/// The (monotonic, boottime) offsets of the harness's own time namespace, in whole
/// seconds: offsets written to a new namespace are relative to the initial one
/// (time_namespaces(7)), so a harness that itself runs in a time namespace expects the
/// difference. An unreadable file is the environment's error.
fn parent_offsets() -> Result<(i64, i64), Verdict> {
    let text = read_trim(OFFS)
        .map_err(|e| Verdict::error(format!("read the harness's own {OFFS}: {e}")))?;
    let o = TimeOffsets::parse(&text).map_err(|e| {
        Verdict::error(format!(
            "{OFFS} of the harness reads `{}`: {e}",
            text.escape_debug()
        ))
    })?;
    let secs = |ns: i128| (ns.div_euclid(1_000_000_000)) as i64;
    Ok((secs(o.monotonic_ns), secs(o.boottime_ns)))
}

/// This process's time namespace offsets, one `clock secs nanosecs` per clock joined by
/// `; `; unreadable is a step error, never an empty reading.
fn offsets() -> Result<String, StepError> {
    let text = read_trim(OFFS).map_err(|e| {
        StepError::new(
            format!("read {OFFS}"),
            None,
            format!("it cannot be read: {e}"),
        )
    })?;
    Ok(text.lines().map(squash).collect::<Vec<_>>().join("; "))
}

fn run_self_made<T: serde::de::DeserializeOwned>(cx: &mut Cx) -> Result<T, Verdict> {
    let (l, args) = cx.self_made(Launch::host().time(), false);
    cx.run_exact(l, args, |_| Ok(()))?.facts()
}

/// The launch of the clock checks: a time namespace with these offsets.
fn with_offsets(monotonic: i64, boottime: i64) -> Launch {
    Launch {
        time_offsets: Some((monotonic, boottime)),
        ..Launch::host().time()
    }
}

/// Nanoseconds of clock `id` via the libc (vDSO) path.
pub fn clock_ns(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer; the libc call (not nix) keeps the vDSO path the
    // checks mean to exercise explicit.
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
    // SAFETY: a valid timespec pointer; the raw syscall bypasses the vDSO on purpose.
    unsafe { libc::syscall(libc::SYS_clock_gettime, id, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
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

// ---------------------------------------------------------------------------------
/// TIME-01: unshare(CLONE_NEWTIME) leaves the caller where it is and moves later
/// children. time_namespaces(7).
pub const TIME_01: Property = Property {
    id: "TIME-01",
    area: Area::Time,
    title: "unshare(CLONE_NEWTIME) leaves the caller in its time namespace and puts later children in the new one; time_for_children differs from time meanwhile",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/*; LTP:~timens01",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(time_01_inside),
    check: time_01_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time01 {
    stays: bool,
    for_children_differs: bool,
    child_in_for_children: bool,
}

fn time_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let before = ns("time");
    unshare_time(time_flag(cx)?)?;
    let child: Option<u64> = Fork::new("read a child's time namespace").run(|_| ns("time"))?;
    facts(&Time01 {
        stays: ns("time") == before,
        for_children_differs: ns("time_for_children") != before,
        child_in_for_children: child == ns("time_for_children"),
    })
}

fn time_01_check(cx: &mut Cx) -> CheckResult {
    let f: Time01 = run_self_made(cx)?;
    let mut e = Expect::new();
    e.eq("caller's time namespace unchanged", true, f.stays);
    e.eq(
        "time_for_children differs from time",
        true,
        f.for_children_differs,
    );
    e.eq(
        "a child forked afterwards is in time_for_children",
        true,
        f.child_in_for_children,
    );
    Ok(e.verdict("caller stays, children move")
        .with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// TIME-02: only the monotonic and boottime clocks are offset; realtime and TAI are the
/// same in every time namespace. time_namespaces(7).
pub const TIME_02: Property = Property {
    id: "TIME-02",
    area: Area::Time,
    title: "Only CLOCK_MONOTONIC (+_COARSE, _RAW) and CLOCK_BOOTTIME (+_ALARM) are offset; CLOCK_REALTIME and CLOCK_TAI are the same in every time namespace",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/timens; LTP:clock_gettime03",
    controls: &[Control::NoNewTime],
    calls: &[],
    global: false,
    subject: Some(crate::spec::SubjectCheck::optional(
        time_02_subject,
        "a time namespace is optional for containers (CLONE_NEWTIME)",
    )),
    inside: Some(time_02_inside),
    check: time_02_check,
};

/// Which offset a clock carries in a time namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offset {
    Monotonic,
    Boottime,
    None,
}

const CLOCKS: &[(&str, libc::clockid_t, Offset)] = &[
    ("MONOTONIC", libc::CLOCK_MONOTONIC, Offset::Monotonic),
    (
        "MONOTONIC_RAW",
        libc::CLOCK_MONOTONIC_RAW,
        Offset::Monotonic,
    ),
    (
        "MONOTONIC_COARSE",
        libc::CLOCK_MONOTONIC_COARSE,
        Offset::Monotonic,
    ),
    ("BOOTTIME", libc::CLOCK_BOOTTIME, Offset::Boottime),
    (
        "BOOTTIME_ALARM",
        libc::CLOCK_BOOTTIME_ALARM,
        Offset::Boottime,
    ),
    ("REALTIME", libc::CLOCK_REALTIME, Offset::None),
    ("TAI", libc::CLOCK_TAI, Offset::None),
];

fn time_02_inside(_: &Inside) -> Result<Value, StepError> {
    facts(
        &CLOCKS
            .iter()
            .map(|(_, id, _)| clock_ns(*id))
            .collect::<Vec<_>>(),
    )
}

fn time_02_check(cx: &mut Cx) -> CheckResult {
    let (pm, pb) = parent_offsets()?;
    let before: Vec<i64> = CLOCKS.iter().map(|c| clock_ns(c.1)).collect();
    let run = cx.run(with_offsets(OFFSET, BOOT_OFFSET), Value::Null)?;
    let after: Vec<i64> = CLOCKS.iter().map(|c| clock_ns(c.1)).collect();
    let inside: Vec<i64> = run.facts()?;
    let mut e = Expect::new();
    let mut seen = serde_json::Map::new();
    for (i, (name, _, kind)) in CLOCKS.iter().enumerate() {
        if before[i] < 0 {
            // e.g. CLOCK_BOOTTIME_ALARM without an RTC alarm device.
            seen.insert(name.to_string(), json!("unsupported"));
            continue;
        }
        // Relative to the harness's clocks, which carry its own namespace's offsets.
        let want = match kind {
            Offset::Monotonic => OFFSET - pm,
            Offset::Boottime => BOOT_OFFSET - pb,
            Offset::None => 0,
        };
        let got = shift_s(inside[i] - want * 1_000_000_000, before[i], after[i]) + want;
        e.eq(&format!("CLOCK_{name} shift in seconds"), want, got);
        seen.insert(name.to_string(), json!(got));
    }
    Ok(e.verdict(
        "monotonic and boottime clocks shifted by their own offsets, realtime and TAI not",
    )
    .with_observed(Value::Object(seen)))
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

// ---------------------------------------------------------------------------------
/// TIME-03: offsets apply to clock_gettime (vDSO and syscall), absolute sleeps and
/// timers, /proc/uptime and /proc/stat btime. time_namespaces(7).
pub const TIME_03: Property = Property {
    id: "TIME-03",
    area: Area::Time,
    title: "Offsets apply to clock_gettime via vDSO and syscall, absolute clock_nanosleep and timerfd timers, /proc/uptime, and /proc/stat btime (moved back by the boottime offset)",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/{timens,clock_nanosleep,timerfd,procfs}; LTP:clock_gettime03,clock_nanosleep03,timerfd04,sysinfo03",
    controls: &[Control::NoNewTime, Control::Fault(Call::Sleep), Control::Fault(Call::Timerfd), Control::Fault(Call::Timer)],
    calls: &[Call::Sleep, Call::Timerfd, Call::Timer],
    global: false,
    subject: None,
    inside: Some(time_03_inside),
    check: time_03_check,
};

extern "C" fn noop(_: libc::c_int) {}

fn btime(stat: &str) -> Option<i64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[derive(Serialize, Deserialize, Debug)]
struct Time03 {
    vdso: i64,
    sys: i64,
    /// /proc/uptime's first field; `None` when it could not be read.
    uptime: Option<f64>,
    /// /proc/stat's btime; `None` when it could not be read.
    btime: Option<i64>,
    /// Each absolute wait 5 ms ahead in namespace time, by kind (`nanosleep`,
    /// `timerfd`, `timer_settime`, `futex`): its result ([`OK`], or the errno: EINTR
    /// means the kernel took the target as host time and the 1 s alarm ended it).
    waits: Table,
    /// How long each wait took on CLOCK_MONOTONIC (ns): at least 5 ms, or it fired
    /// early (the target translated the wrong way).
    elapsed_ns: std::collections::BTreeMap<String, i64>,
}

/// The kinds of absolute wait TIME-03 makes, in order.
const WAITS: [&str; 4] = ["nanosleep", "timerfd", "timer_settime", "futex"];
/// How far ahead each wait's absolute target is (ns).
const AHEAD_NS: i64 = 5_000_000;

/// An absolute CLOCK_MONOTONIC target `ns` ahead of now (namespace time).
fn ahead(ns: i64) -> libc::timespec {
    let target = clock_ns(libc::CLOCK_MONOTONIC) + ns;
    libc::timespec {
        tv_sec: target / 1_000_000_000,
        tv_nsec: target % 1_000_000_000,
    }
}

/// A POSIX timer on CLOCK_MONOTONIC armed with TIMER_ABSTIME, its expiry awaited as a
/// blocked SIGUSR2 (at most 500 ms).
fn posix_timer_wait() -> String {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGUSR2);
    if let Err(e) = set.thread_block() {
        return crate::probe::sys::errno_name(e);
    }
    // SAFETY: zeroed sigevent/timer_t are valid inputs; the fields used are set below.
    let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
    sev.sigev_notify = libc::SIGEV_SIGNAL;
    sev.sigev_signo = libc::SIGUSR2;
    let mut timer: libc::timer_t = std::ptr::null_mut();
    // SAFETY: valid pointers to a sigevent and a timer_t of this frame.
    if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer) } != 0 {
        return crate::probe::sys::errno_name(nix::errno::Errno::last());
    }
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: ahead(AHEAD_NS),
    };
    // SAFETY: `timer` was created above; `spec` is a valid itimerspec.
    let armed =
        unsafe { libc::timer_settime(timer, libc::TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
    let result = if armed != 0 {
        crate::probe::sys::errno_name(nix::errno::Errno::last())
    } else {
        let wait = libc::timespec {
            tv_sec: 0,
            tv_nsec: 500_000_000,
        };
        // SAFETY: the signal set is a valid sigset_t; no siginfo is asked for.
        let r = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &wait) };
        if r == libc::SIGUSR2 {
            OK.to_string()
        } else {
            crate::probe::sys::errno_name(nix::errno::Errno::last())
        }
    };
    // SAFETY: deleting the timer created above.
    unsafe { libc::timer_delete(timer) };
    result
}

/// FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC timeout (no
/// FUTEX_CLOCK_REALTIME): ETIMEDOUT when the target passed (futex(2)).
fn futex_wait() -> String {
    let word: u32 = 0;
    let ts = ahead(AHEAD_NS);
    // SAFETY: FUTEX_WAIT_BITSET on a private word of this frame that holds the value
    // compared (0), with a valid timespec; nothing else waits on or wakes it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            &word as *const u32,
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            0u32,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    if r == 0 {
        "woken".into()
    } else {
        crate::probe::sys::errno_name(nix::errno::Errno::last())
    }
}

fn time_03_inside(_: &Inside) -> Result<Value, StepError> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use nix::time::{clock_nanosleep, ClockNanosleepFlags};
    let vdso = clock_ns(libc::CLOCK_MONOTONIC);
    let sys = clock_ns_syscall(libc::CLOCK_MONOTONIC);
    let uptime: Option<f64> = read_trim("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse().ok());
    let btime = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| btime(&s));
    // Each absolute wait is 5 ms ahead in namespace time; SIGALRM after 1 s ends it if
    // the kernel took the target as host time (ten days away).
    let act = SigAction::new(SigHandler::Handler(noop), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler does nothing, so it is async-signal-safe.
    unsafe { sigaction(Signal::SIGALRM, &act) }.step("install a SIGALRM handler")?;
    let mut waits = Table::new();
    let mut elapsed_ns = std::collections::BTreeMap::new();
    for kind in WAITS {
        nix::unistd::alarm::set(1);
        let t0 = clock_ns(libc::CLOCK_MONOTONIC);
        let result = match kind {
            "nanosleep" => {
                let t = ahead(AHEAD_NS);
                res(clock_nanosleep(
                    nix::time::ClockId::CLOCK_MONOTONIC,
                    ClockNanosleepFlags::TIMER_ABSTIME,
                    &TimeSpec::new(t.tv_sec, t.tv_nsec),
                ))
            }
            "timerfd" => match TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::empty()) {
                Ok(fd) => {
                    let t = ahead(AHEAD_NS);
                    match fd.set(
                        Expiration::OneShot(TimeSpec::new(t.tv_sec, t.tv_nsec)),
                        TimerSetTimeFlags::TFD_TIMER_ABSTIME,
                    ) {
                        Err(e) => crate::probe::sys::errno_name(e),
                        Ok(()) => {
                            use std::os::fd::AsFd;
                            let mut p = [nix::poll::PollFd::new(
                                fd.as_fd(),
                                nix::poll::PollFlags::POLLIN,
                            )];
                            match nix::poll::poll(&mut p, 500u16) {
                                Ok(1) => OK.to_string(),
                                Ok(_) => "not fired within 500 ms".into(),
                                Err(e) => crate::probe::sys::errno_name(e),
                            }
                        }
                    }
                }
                Err(e) => crate::probe::sys::errno_name(e),
            },
            "timer_settime" => posix_timer_wait(),
            _ => futex_wait(),
        };
        elapsed_ns.insert(kind.to_string(), clock_ns(libc::CLOCK_MONOTONIC) - t0);
        nix::unistd::alarm::cancel();
        waits.set(kind, result);
    }
    facts(&Time03 {
        vdso,
        sys,
        uptime,
        btime,
        waits,
        elapsed_ns,
    })
}

/// What each TIME-03 wait should answer.
fn wait_expected(kind: &str) -> &'static str {
    if kind == "futex" {
        "ETIMEDOUT"
    } else {
        OK
    }
}

fn time_03_check(cx: &mut Cx) -> CheckResult {
    let (pm, pb) = parent_offsets()?;
    let before = clock_ns(libc::CLOCK_MONOTONIC);
    let boot_before = clock_ns(libc::CLOCK_BOOTTIME);
    let host_btime = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| btime(&s))
        .ok_or_else(|| Verdict::error("read btime from the harness's /proc/stat"))?;
    let run = cx.run(with_offsets(OFFSET, BOOT_OFFSET), Value::Null)?;
    let after = clock_ns(libc::CLOCK_MONOTONIC);
    let boot_after = clock_ns(libc::CLOCK_BOOTTIME);
    let f: Time03 = run.facts()?;
    Ok(time_03_judge(
        &f,
        (OFFSET - pm, BOOT_OFFSET - pb),
        (before, after),
        (boot_before, boot_after),
        host_btime,
    ))
}

/// TIME-03's judgement: `want` = the (monotonic, boottime) shifts relative to the
/// harness, `window` = the harness's CLOCK_MONOTONIC around the run, `boot_window` its
/// CLOCK_BOOTTIME around it.
fn time_03_judge(
    f: &Time03,
    want: (i64, i64),
    window: (i64, i64),
    boot_window: (i64, i64),
    host_btime: i64,
) -> Verdict {
    let (mono, boot) = want;
    let (before, after) = window;
    let off = mono * 1_000_000_000;
    let vdso = shift_s(f.vdso - off, before, after) + mono;
    let sys = shift_s(f.sys - off, before, after) + mono;
    // /proc/uptime follows CLOCK_BOOTTIME (time_namespaces(7)).
    let uptime_shift = f.uptime.map(|u| {
        shift_s(
            (u * 1e9) as i64 - boot * 1_000_000_000,
            boot_window.0,
            boot_window.1,
        ) + boot
    });
    // btime = realtime - boottime: rounding can move it by a second.
    let btime_shift = f.btime.map(|b| host_btime - b);
    let near = |v: Option<i64>| v.is_some_and(|v| (v - boot).abs() <= 1);
    let shown = |v: Option<i64>| v.map_or_else(|| "unreadable".to_string(), |v| v.to_string());
    let mut e = Expect::new();
    e.eq("vDSO CLOCK_MONOTONIC shift (s)", mono, vdso);
    e.eq("syscall CLOCK_MONOTONIC shift (s)", mono, sys);
    e.that(
        "/proc/uptime shift (s), by the boottime offset",
        near(uptime_shift),
        format!("{boot} ± 1"),
        shown(uptime_shift),
    );
    e.that(
        "/proc/stat btime moved back by the boottime offset (s)",
        near(btime_shift),
        format!("{boot} ± 1"),
        shown(btime_shift),
    );
    for kind in WAITS {
        let got = f.waits.get(kind).unwrap_or("not run");
        e.eq(
            &format!("absolute {kind} 5 ms ahead (EINTR = taken as host time)"),
            wait_expected(kind),
            got,
        );
        let took = f.elapsed_ns.get(kind).copied().unwrap_or(-1);
        e.that(
            &format!("absolute {kind} did not end early (ns on CLOCK_MONOTONIC)"),
            took >= AHEAD_NS,
            format!(">= {AHEAD_NS}"),
            took.to_string(),
        );
    }
    e.verdict("offsets apply to every interface checked")
        .with_observed(json!({
            "vdso_shift": vdso, "syscall_shift": sys,
            "uptime_shift": shown(uptime_shift.map(|u| if near(Some(u)) { boot } else { u })),
            "btime_shift": shown(btime_shift.map(|b| if near(Some(b)) { boot } else { b })),
            "waits": WAITS.map(|k| format!("{k}: {}", f.waits.get(k).unwrap_or("not run"))),
            "no_wait_early": WAITS.iter().all(|k| f.elapsed_ns.get(*k).is_some_and(|t| *t >= AHEAD_NS)),
        }))
}

// ---------------------------------------------------------------------------------
/// TIME-04: timens_offsets is writable until the namespace has a member, then EACCES.
/// time_namespaces(7) "/proc/PID/timens_offsets".
pub const TIME_04: Property = Property {
    id: "TIME-04",
    area: Area::Time,
    title: "timens_offsets can be written several times while the new time namespace has no member; once a process is in it, writes fail with EACCES",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(time_04_inside),
    check: time_04_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time04 {
    /// The writes `first`, `second` and `after_member`.
    writes: Table,
    read: String,
}

const TIME_04_WRITES: [&str; 3] = ["first", "second", "after_member"];

fn time_04_inside(cx: &Inside) -> Result<Value, StepError> {
    unshare_time(time_flag(cx)?)?;
    let mut writes = Table::new();
    writes.set("first", write_res(OFFS, b"monotonic 1 0\n"));
    writes.set("second", write_res(OFFS, b"monotonic 2 0\n"));
    let read = offsets()?;
    Fork::new("become the first member").run(|_| ())?;
    writes.set("after_member", write_res(OFFS, b"monotonic 3 0\n"));
    facts(&Time04 { writes, read })
}

fn time_04_check(cx: &mut Cx) -> CheckResult {
    // A new time namespace starts with its parent's offsets (time_namespaces(7)): the
    // boottime offset read back is the harness's own.
    let (_, pb) = parent_offsets()?;
    let f: Time04 = run_self_made(cx)?;
    let got = TIME_04_WRITES.map(|k| f.writes.get(k).unwrap_or("not run").to_string());
    let mut e = Expect::new();
    f.writes.judge(
        &mut e,
        "errno of writes (first, second, after a child joined)",
        &[("first", OK), ("second", OK), ("after_member", "EACCES")],
    );
    e.eq(
        "offsets read back (boottime inherited from the harness's namespace)",
        format!("monotonic 2 0; boottime {pb} 0").as_str(),
        f.read.as_str(),
    );
    Ok(e.verdict("writable until the first member, EACCES after")
        .with_errno("EACCES")
        .with_observed(json!({"writes": got, "read": f.read})))
}

// ---------------------------------------------------------------------------------
/// TIME-05: invalid timens_offsets writes give EINVAL, EPERM or ERANGE.
/// time_namespaces(7) "/proc/PID/timens_offsets".
pub const TIME_05: Property = Property {
    id: "TIME-05",
    area: Area::Time,
    title: "timens_offsets write errors: nsec > 999999999, an unknown clock (CLOCK_REALTIME) or a malformed line give EINVAL; no CAP_SYS_TIME gives EPERM; a resulting time < 0 or > KTIME_SEC_MAX/2 gives ERANGE",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "LTP:~timens01 (EINVAL/ERANGE)",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare, Call::Capabilities],
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

/// The errno each case of [`TIME_05_CASES`] is refused with.
const TIME_05_EXPECTED: [&str; 6] = ["EINVAL", "EINVAL", "EINVAL", "EINVAL", "ERANGE", "ERANGE"];

/// CAP_SYS_TIME (linux/capability.h).
const CAP_SYS_TIME: u32 = 25;

fn time_05_inside(cx: &Inside) -> Result<Value, StepError> {
    let flags = time_flag(cx)?;
    // Without CAP_SYS_TIME in the owning user namespace.
    let eperm = Fork::new("write offsets without CAP_SYS_TIME").run(
        move |_| -> Result<String, StepError> {
            crate::kit::proc::drop_caps(&[CAP_SYS_TIME]).step("drop CAP_SYS_TIME")?;
            unshare_time(flags)?;
            Ok(write_res(OFFS, b"monotonic 1 0\n"))
        },
    )??;
    unshare_time(flags)?;
    let mut out = Table::new();
    for (name, line) in TIME_05_CASES {
        out.set(*name, write_res(OFFS, line.as_bytes()));
    }
    out.set("no CAP_SYS_TIME", eperm);
    out.set("valid", write_res(OFFS, b"monotonic 1 0\n"));
    facts(&out)
}

fn time_05_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_self_made(cx)?;
    let mut e = Expect::new();
    let mut expected: Vec<(&str, &str)> = TIME_05_CASES
        .iter()
        .zip(TIME_05_EXPECTED)
        .map(|((name, _), want)| (*name, want))
        .collect();
    expected.push(("no CAP_SYS_TIME", "EPERM"));
    f.judge(&mut e, "errno of the offsets write", &expected);
    // The new namespace has no member yet.
    f.judge(&mut e, "a later write", &[("valid", OK)]);
    let seen: Table = expected
        .iter()
        .map(|(name, _)| (*name, f.get(name).unwrap_or("not run")))
        .collect();
    Ok(
        e.verdict("invalid offsets are refused with the documented errno")
            .with_observed(json!(seen)),
    )
}

// ---------------------------------------------------------------------------------
/// TIME-06: timens_offsets accepts numeric clock ids; reads show names.
/// time_namespaces(7) "/proc/PID/timens_offsets".
pub const TIME_06: Property = Property {
    id: "TIME-06",
    area: Area::Time,
    title: "timens_offsets accepts the numeric clock ids 1 (monotonic) and 7 (boottime) as well as names; reads always show names",
    man: "time_namespaces(7) \"/proc/PID/timens_offsets\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "LTP:~timens01 (numeric only)",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(time_06_inside),
    check: time_06_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time06 {
    write: String,
    read: String,
}

fn time_06_inside(cx: &Inside) -> Result<Value, StepError> {
    unshare_time(time_flag(cx)?)?;
    let write = write_res(OFFS, b"1 5 0\n7 6 0\n");
    facts(&Time06 {
        write,
        read: offsets()?,
    })
}

fn time_06_check(cx: &mut Cx) -> CheckResult {
    let f: Time06 = run_self_made(cx)?;
    let mut e = Expect::new();
    e.eq("writing `1 5 0` and `7 6 0`", OK, f.write.as_str());
    e.eq(
        "offsets read back",
        "monotonic 5 0; boottime 6 0",
        f.read.as_str(),
    );
    Ok(e.verdict("numeric ids accepted, names shown")
        .with_observed(json!(f)))
}

// ---------------------------------------------------------------------------------
/// TIME-07: a new time namespace inherits its creator's offsets; the initial one reads
/// zero offsets. time_namespaces(7).
pub const TIME_07: Property = Property {
    id: "TIME-07",
    area: Area::Time,
    title: "A new time namespace inherits its creator's namespace offsets; the initial namespace reads `monotonic 0 0` and `boottime 0 0`",
    man: "time_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare],
    global: false,
    subject: None,
    inside: Some(time_07_inside),
    check: time_07_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time07 {
    own: String,
    new: String,
}

fn time_07_inside(_: &Inside) -> Result<Value, StepError> {
    let own = offsets()?;
    unshare(NEWTIME).step("unshare(CLONE_NEWTIME) again")?;
    facts(&Time07 {
        own,
        new: offsets()?,
    })
}

fn time_07_check(cx: &mut Cx) -> CheckResult {
    // The harness's own offsets are recorded, not judged: nsconform may run in a time
    // namespace of its own, and the offsets written are absolute (relative to the
    // initial namespace), whatever the parent's.
    let initial = offsets().map_err(|e| crate::harness::step_verdict(&e))?;
    let f: Time07 = cx.run(with_offsets(100, 200), Value::Null)?.facts()?;
    let want = "monotonic 100 0; boottime 200 0";
    let mut e = Expect::new();
    e.eq("offsets of the first namespace", want, f.own.as_str());
    e.eq(
        "offsets of a namespace made inside it (inherited)",
        want,
        f.new.as_str(),
    );
    Ok(e.verdict("offsets are inherited").with_observed(json!({
        "initial": initial, "first": f.own, "nested": f.new,
    })))
}

// ---------------------------------------------------------------------------------
/// TIME-08: since 6.2, execve() after unshare(CLONE_NEWTIME) moves the caller into
/// time_for_children. time_namespaces(7); kernel 2b5f9dad32ed.
pub const TIME_08: Property = Property {
    id: "TIME-08",
    area: Area::Time,
    title: "Since 6.2, execve() after unshare(CLONE_NEWTIME) moves the caller into its time_for_children namespace (before 6.2 it stays)",
    man: "kernel 2b5f9dad32ed \"fs/exec: switch timens when a task gets a new mm\" (not in time_namespaces(7))",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/exec,timens/vfork_exec",
    controls: &[Control::NoNewTime],
    calls: &[Call::Unshare, Call::Wait],
    global: false,
    subject: None,
    inside: Some(time_08_inside),
    check: time_08_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time08Args {
    #[serde(flatten)]
    made: SelfMade,
    cat: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Time08 {
    /// What the child's write of the boottime offset answered (`OK` or the errno).
    write: String,
    /// CLOCK_BOOTTIME (s) of the inside process just before the child was started and
    /// just after it ended: the child's clock before its exec is this one.
    before: f64,
    after: f64,
    /// The uptime the exec'd program printed (the first field of /proc/uptime).
    uptime: Option<f64>,
    raw: String,
}

/// Seconds of CLOCK_BOOTTIME.
fn boottime_s() -> f64 {
    clock_ns(libc::CLOCK_BOOTTIME) as f64 / 1e9
}

fn time_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let args: Time08Args = cx.args()?;
    let flags = args.made.time();
    let cat = args.cat;
    let before = boottime_s();
    let mut c = Fork::new("exec cat /proc/uptime after unshare(CLONE_NEWTIME)").spawn(
        move |fd| -> Result<(), StepError> {
            unshare_time(flags)?;
            let w = write_res(OFFS, format!("boottime {OFFSET} 0\n").as_bytes());
            // The write's answer first, on its own line, then the exec'd program's.
            let line = format!("{w}\n");
            // SAFETY: `fd` is the helper's result pipe, open for the whole call.
            let out = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            nix::unistd::write(out, line.as_bytes()).step("report the offset write")?;
            Err(exec_to(fd, &[&cat, "/proc/uptime"]))
        },
    )?;
    let out = String::from_utf8_lossy(&c.output()?.0).into_owned();
    let after = boottime_s();
    let (write, rest) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    let uptime: Option<f64> = rest.split_whitespace().next().and_then(|v| v.parse().ok());
    facts(&Time08 {
        write: write.to_string(),
        before,
        after,
        uptime,
        raw: out.clone(),
    })
}

/// Where the exec'd program's uptime lies: shifted by the offset (it runs in the new
/// namespace), not shifted (it stayed in the old one), or neither (a wrong offset or a
/// clock that jumped). Judged against the boottime the inside process read around the
/// child, so a machine up for ten days, or a harness in a time namespace of its own,
/// reads the same.
fn time_08_placement(f: &Time08, parent_boot: i64) -> &'static str {
    let Some(up) = f.uptime else {
        return "no uptime";
    };
    let shift = up - f.before;
    let window = (f.after - f.before).max(0.0) + 1.0;
    // The offset written is absolute; the inside process (in the harness's time
    // namespace) already reads the parent's boottime offset.
    let offset = (OFFSET - parent_boot) as f64;
    if shift >= offset - 1.0 && shift <= offset + window {
        "moved"
    } else if shift >= -1.0 && shift <= window {
        "stayed"
    } else {
        "neither"
    }
}

fn time_08_judge(f: &Time08, expect_moved: bool, parent_boot: i64) -> Verdict {
    let placement = time_08_placement(f, parent_boot);
    let mut e = Expect::new();
    e.eq(
        "after execve the process sees the new namespace's boottime offset (uptime minus \
         the boottime before the child, against the offset)",
        if expect_moved { "moved" } else { "stayed" },
        placement,
    );
    e.eq(
        "the boottime offset written in the new namespace",
        OK,
        f.write.as_str(),
    );
    e.verdict("execve switches to time_for_children per kernel version")
        .with_observed(json!({
            "placement": placement,
            "offset_write": f.write,
        }))
}

fn time_08_check(cx: &mut Cx) -> CheckResult {
    let (_, pb) = parent_offsets()?;
    let cat = cat_path()?;
    let (l, made) = cx.self_made(Launch::host().time(), false);
    let args = json!(Time08Args {
        made: SelfMade::of(made)?,
        cat,
    });
    let f: Time08 = cx.run_exact(l, args, |_| Ok(()))?.facts()?;
    if f.uptime.is_none() {
        return Err(Verdict::error(format!(
            "the exec'd program printed no uptime: {}",
            f.raw.trim().escape_debug()
        )));
    }
    let expect_moved = cx.env.version >= Some(crate::env::KernelVersion(6, 2, 0));
    Ok(time_08_judge(&f, expect_moved, pb))
}

// ---------------------------------------------------------------------------------
/// TIME-09: offsets stay in force for a program exec'd inside the time namespace.
/// time_namespaces(7).
pub const TIME_09: Property = Property {
    id: "TIME-09",
    area: Area::Time,
    title: "Offsets stay in force for a program exec'd inside the time namespace (its vDSO clock reads agree with the namespace's)",
    man: "time_namespaces(7); kernel (vvar page re-mapped on exec)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "KST:timens/exec",
    controls: &[Control::NoNewTime],
    calls: &[Call::Wait],
    global: false,
    subject: None,
    inside: Some(time_09_inside),
    check: time_09_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Time09Args {
    /// True in the probe exec'd by the inside half: it only reads the clock.
    exec_stage: bool,
}

#[derive(Serialize, Deserialize, Debug)]
struct Time09 {
    before: i64,
    after: i64,
    exec: Option<i64>,
    raw: String,
}

fn time_09_inside(cx: &Inside) -> Result<Value, StepError> {
    if cx.args::<Time09Args>()?.exec_stage {
        return facts(&clock_ns(libc::CLOCK_MONOTONIC));
    }
    // Exec this probe again with a request that only reads the clock through the vDSO.
    let req = crate::probe::Request {
        property: "TIME-09".into(),
        launch: Launch::host(),
        args: json!(Time09Args { exec_stage: true }),
    };
    let text = serde_json::to_string(&req).unwrap_or_default();
    let exe = std::fs::read_link("/proc/self/exe")
        .step("find the probe executable")?
        .display()
        .to_string();
    let before = clock_ns(libc::CLOCK_MONOTONIC);
    let mut c = Fork::new("exec the probe to read the clock")
        .spawn(move |fd| exec_to(fd, &[&exe, "run", &text]))?;
    let out = String::from_utf8_lossy(&c.output()?.0).into_owned();
    let after = clock_ns(libc::CLOCK_MONOTONIC);
    let exec =
        out.lines().find_map(
            |l| match serde_json::from_str::<crate::probe::Message>(l).ok()? {
                crate::probe::Message::Report { facts } => serde_json::from_value(facts).ok(),
                _ => None,
            },
        );
    facts(&Time09 {
        before,
        after,
        exec,
        raw: out,
    })
}

fn time_09_check(cx: &mut Cx) -> CheckResult {
    // Offsets are absolute: relative to the harness the shift is the offset less the
    // harness's own monotonic offset.
    let (pm, _) = parent_offsets()?;
    let want = OFFSET - pm;
    let host_before = clock_ns(libc::CLOCK_MONOTONIC);
    let f: Time09 = cx
        .run(
            with_offsets(OFFSET, OFFSET),
            json!(Time09Args { exec_stage: false }),
        )?
        .facts()?;
    let host_after = clock_ns(libc::CLOCK_MONOTONIC);
    let Some(exec) = f.exec else {
        return Err(Verdict::error(format!(
            "the exec'd probe reported no clock: {}",
            f.raw.trim().escape_debug()
        )));
    };
    let (b, a) = (f.before, f.after);
    let shift = shift_s(exec - want * 1_000_000_000, host_before, host_after) + want;
    let mut e = Expect::new();
    e.that(
        "exec'd program's CLOCK_MONOTONIC within the parent's readings before and after",
        b <= exec && exec <= a,
        "before <= exec <= after",
        format!("{b} <= {exec} <= {a}"),
    );
    e.eq(
        "exec'd program's shift from the harness (s), the offset less the harness's own",
        want,
        shift,
    );
    Ok(e.verdict("offsets hold across execve").with_observed(
        json!({"exec_shift": shift, "within_parent_window": b <= exec && exec <= a}),
    ))
}

// ---------------------------------------------------------------------------------
/// TIME-10: clone3(CLONE_NEWTIME) puts the child in a new time namespace that inherits
/// the offsets and is already frozen. time_namespaces(7); clone(2).
pub const TIME_10: Property = Property {
    id: "TIME-10",
    area: Area::Time,
    title: "clone3(CLONE_NEWTIME) creates the child directly in a new time namespace that inherits the parent's offsets and is already frozen (EACCES on write)",
    man: "kernel \"fork: allow CLONE_NEWTIME in clone3 flags\" (time_namespaces(7) names only unshare)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(TIMENS),
    coverage: "new",
    controls: &[Control::NoNewTime, Control::Fault(Call::CloneNs)],
    calls: &[Call::CloneNs],
    global: false,
    subject: None,
    inside: Some(time_10_inside),
    check: time_10_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Time10 {
    /// [`OK`] or the errno of clone3(CLONE_NEWTIME).
    clone3: String,
    child: Option<Time10Child>,
}

#[derive(Serialize, Deserialize, Debug)]
struct Time10Child {
    new_ns: bool,
    offsets: String,
    write: String,
}

fn time_10_inside(_: &Inside) -> Result<Value, StepError> {
    let parent_ns = ns("time");
    let spawned = Fork::new("run in a new time namespace")
        .clone_flags(libc::CLONE_NEWTIME as u64)
        .spawn(move |_| Time10Child {
            new_ns: ns("time") != parent_ns,
            offsets: offsets().unwrap_or_else(|e| format!("unreadable ({e})")),
            write: write_res(OFFS, b"monotonic 1 0\n"),
        });
    let mut c = match spawned {
        Ok(c) => c,
        // The clone3 itself was refused: that is the fact.
        Err(e) if e.step.starts_with("clone3") && e.errno.is_some() => {
            return facts(&Time10 {
                clone3: e.errno.unwrap_or_default(),
                child: None,
            });
        }
        Err(e) => return Err(e),
    };
    let child: Time10Child = c.result()?;
    facts(&Time10 {
        clone3: OK.to_string(),
        child: Some(child),
    })
}

fn time_10_check(cx: &mut Cx) -> CheckResult {
    let f: Time10 = cx.run(with_offsets(100, 200), Value::Null)?.facts()?;
    if f.clone3 == "EINVAL" && cx.env.version < Some(crate::env::KernelVersion(6, 3, 0)) {
        return Ok(Verdict::skip(
            "clone3 refuses CLONE_NEWTIME on this kernel (EINVAL; allowed since the 2023 fix)",
        )
        .with_errno(f.clone3));
    }
    let c = f.child.as_ref();
    let mut e = Expect::new();
    e.eq("clone3(CLONE_NEWTIME)", OK, f.clone3.as_str());
    e.eq(
        "child in a new time namespace",
        Some(true),
        c.map(|c| c.new_ns),
    );
    e.eq(
        "child's offsets (inherited)",
        "monotonic 100 0; boottime 200 0",
        c.map_or("", |c| c.offsets.as_str()),
    );
    e.eq(
        "writing the child's offsets",
        Some("EACCES"),
        c.map(|c| c.write.as_str()),
    );
    Ok(
        e.verdict("clone3 puts the child in a new, inherited, frozen time namespace")
            .with_observed(json!({
                "clone3": f.clone3, "new_ns": c.map(|c| c.new_ns),
                "offsets": c.map(|c| &c.offsets), "write": c.map(|c| &c.write),
            })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t08(before: f64, uptime: f64, write: &str) -> Time08 {
        Time08 {
            write: write.into(),
            before,
            after: before + 0.01,
            uptime: Some(uptime),
            raw: String::new(),
        }
    }

    #[test]
    fn time_08_judges_the_shift_not_the_uptime() {
        let ten_days = OFFSET as f64 + 5000.0;
        // Moved on exec: uptime = before + offset, whatever the machine's uptime.
        assert_eq!(
            time_08_judge(&t08(100.0, 100.0 + OFFSET as f64, OK), true, 0).outcome,
            crate::outcome::Outcome::Pass
        );
        // A machine up more than ten days where nothing moved: today's `uptime >=
        // offset` passed this; the shift says it stayed.
        let v = time_08_judge(&t08(ten_days, ten_days + 0.005, "EPERM"), true, 0);
        assert_eq!(v.outcome, crate::outcome::Outcome::Fail);
        assert!(v.detail.starts_with("after execve"), "{}", v.detail);
        // Before 6.2 staying is right, but the write must still have worked.
        assert_eq!(
            time_08_judge(&t08(5.0, 5.0, OK), false, 0).outcome,
            crate::outcome::Outcome::Pass
        );
        let v = time_08_judge(&t08(5.0, 5.0, "EPERM"), false, 0);
        assert_eq!(v.outcome, crate::outcome::Outcome::Fail);
        // A wrong offset is neither.
        assert_eq!(time_08_placement(&t08(5.0, 5.0 + 1000.0, OK), 0), "neither");
        // In a harness whose own boottime offset is 2 days, moving shows as the
        // offset minus those 2 days; the full offset would be wrong.
        let two_days = 172_800;
        let moved = 5.0 + (OFFSET - two_days) as f64;
        assert_eq!(time_08_placement(&t08(5.0, moved, OK), two_days), "moved");
        assert_eq!(
            time_08_placement(&t08(5.0, 5.0 + OFFSET as f64, OK), two_days),
            "neither"
        );
    }

    fn t03(mono: i64, boot: i64) -> Time03 {
        let mut waits = Table::new();
        let mut elapsed_ns = std::collections::BTreeMap::new();
        for k in WAITS {
            waits.set(k, wait_expected(k));
            elapsed_ns.insert(k.to_string(), AHEAD_NS + 10);
        }
        Time03 {
            vdso: 1_000_000_000 + mono * 1_000_000_000,
            sys: 1_000_000_000 + mono * 1_000_000_000,
            uptime: Some(1.0 + boot as f64),
            btime: Some(100 - boot),
            waits,
            elapsed_ns,
        }
    }

    #[test]
    fn time_03_tells_the_two_offsets_apart_and_catches_early_timers() {
        let window = (1_000_000_000, 1_000_000_000);
        let want = (OFFSET, BOOT_OFFSET);
        let ok = time_03_judge(&t03(OFFSET, BOOT_OFFSET), want, window, window, 100);
        assert_eq!(ok.outcome, crate::outcome::Outcome::Pass, "{}", ok.detail);
        // A kernel that gives /proc/uptime the monotonic offset (as the old check
        // expected) fails now.
        let mut f = t03(OFFSET, BOOT_OFFSET);
        f.uptime = Some(1.0 + OFFSET as f64);
        let v = time_03_judge(&f, want, window, window, 100);
        assert!(v.detail.starts_with("/proc/uptime"), "{}", v.detail);
        // A slow start (a VM under TCG: the probe read /proc/uptime 2.5 s after the
        // harness's first reading) is inside the window, not a wrong offset.
        let mut f = t03(OFFSET, BOOT_OFFSET);
        f.uptime = Some(3.5 + BOOT_OFFSET as f64);
        let v = time_03_judge(
            &f,
            want,
            (1_000_000_000, 4_000_000_000),
            (1_000_000_000, 4_000_000_000),
            100,
        );
        assert_eq!(v.outcome, crate::outcome::Outcome::Pass, "{}", v.detail);
        // A timer that fired early.
        let mut f = t03(OFFSET, BOOT_OFFSET);
        f.elapsed_ns.insert("futex".into(), AHEAD_NS - 1_000_000);
        let v = time_03_judge(&f, want, window, window, 100);
        assert!(v.detail.contains("futex did not end early"), "{}", v.detail);
        // An unreadable /proc/uptime is not a pass.
        let mut f = t03(OFFSET, BOOT_OFFSET);
        f.uptime = None;
        let v = time_03_judge(&f, want, window, window, 100);
        assert_eq!(v.outcome, crate::outcome::Outcome::Fail);
    }
}
