//! Every property of the catalogue, in both modes, and every negative control: one
//! libtest trial each (libtest-mimic), so `cargo test -p nsconform-tests --test properties
//! -- PID-01` runs exactly PID-01's trials and cargo-nextest lists each.
//!
//! - `<ID>::privileged`, `<ID>::rootless`: the property passes (its observed facts
//!   snapshotted) or skips for a reason given as data (the reason snapshotted, the trial
//!   reported as ignored with it). A root-only property has no rootless trial; the
//!   subject-only HOST area has none (its tests are tests/tests/runtimes.rs and
//!   subjects.rs).
//! - `<ID>::control::<control>::<mode>`: under the control the property fails; the
//!   snapshot records which sub-check caught it (`at`; `guard` means the probe refused
//!   to work in the harness's namespace before the property's own assertion ran).
//! - `<ID>::calls`: `calls` in the catalogue is exactly the set of call groups the
//!   verdict rests on. Each of the groups ([`Call::ALL`]) is faulted in turn, in both
//!   modes: a listed group must change the verdict, an unlisted one must not (in every
//!   mode); the snapshot (`properties__<ID>@calls.snap`) holds each changed verdict.
//!
//! A trial that cannot run here (privileged mode as a normal user) is ignored with its
//! reason, never ok; with `NSCONFORM_REQUIRE=all` (CI as root) it fails instead.
//! Controls that mean nothing rootless ([`Control::not_rootless`]) have no rootless
//! trial; a rootless control under which the kernel refuses the probe's step (EPERM)
//! is ignored as not applicable, with the refusal as its reason.
//!
//! Snapshots: `tests/snapshots/properties__<ID>@<mode>.snap` (and
//! `properties__<ID>@control@<control>@<mode>.snap`) are the expectations of the
//! reference kernel series ([`nsconform_tests::REFERENCE_SERIES`]). Where another series
//! legitimately differs, it has its own reviewed snapshot with `@<series>` appended
//! (e.g. `@6.1`, checked in the 6.1 VM by `tests/tests/vm.rs`): per-kernel expectations,
//! not loosened assertions.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use nsconform_core::catalogue::{self, Control, Property};
use nsconform_core::outcome::{Outcome, AT_GUARD};
use nsconform_core::run;
use nsconform_core::spec::Call;
use nsconform_core::spec::{Area, Privilege};
use nsconform_tests::{run_one, Mode, HOST_LOCK};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// Host-global properties run alone (write), the rest side by side (read).
static GLOBAL: RwLock<()> = RwLock::new(());
static FAILED: AtomicBool = AtomicBool::new(false);

const MODES: [Mode; 2] = [Mode::Privileged, Mode::Rootless];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    if args.list {
        return libtest_mimic::run(&args, trials()).exit_code();
    }
    // Other test binaries that change host state hold the same lock
    // (`#[file_serial(host_state)]`), also under nextest's one process per trial.
    serial_test::fs_serial_core(vec![HOST_LOCK], None, run_trials);
    if FAILED.load(Ordering::SeqCst) {
        ExitCode::from(101)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_trials() {
    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials());
    FAILED.store(conclusion.has_failed(), Ordering::SeqCst);
}

/// Whether `p` has a trial in `mode`: root-only properties have no rootless mode, and
/// the HOST area judges subjects only.
fn defined(p: &Property, mode: Mode) -> bool {
    p.area != Area::Host && !(mode == Mode::Rootless && p.prereq.privilege == Privilege::Root)
}

fn trials() -> Vec<Trial> {
    let mut out = vec![Trial::test("catalogue::man_pages", man_pages)];
    for p in catalogue::all() {
        for mode in MODES.into_iter().filter(|&m| defined(p, m)) {
            out.push(Trial::ignorable_test(
                format!("{}::{}", p.id, mode.name()),
                move || property(p, mode),
            ));
            for &c in p
                .controls
                .iter()
                .filter(|c| mode == Mode::Privileged || c.not_rootless().is_none())
            {
                out.push(Trial::ignorable_test(
                    format!("{}::control::{}::{}", p.id, c.name(), mode.name()),
                    move || control(p, c, mode),
                ));
            }
        }
        if p.area != Area::Host {
            out.push(Trial::ignorable_test(
                format!("{}::calls", p.id),
                move || calls(p),
            ));
        }
    }
    out
}

/// A trial that cannot run here: ignored with `why`, or failed when everything is
/// required.
fn cannot_run(why: &str) -> Result<Completion, Failed> {
    if std::env::var("NSCONFORM_REQUIRE").is_ok_and(|v| v == "all") {
        Err(format!("cannot run here ({why}), and NSCONFORM_REQUIRE=all").into())
    } else {
        Ok(Completion::ignored_with(why))
    }
}

/// What a trial holds of [`GLOBAL`] while its property runs.
enum Held {
    Alone(#[allow(dead_code)] std::sync::RwLockWriteGuard<'static, ()>),
    Shared(#[allow(dead_code)] std::sync::RwLockReadGuard<'static, ()>),
}

fn lock(p: &Property) -> Held {
    if p.global {
        Held::Alone(GLOBAL.write().unwrap_or_else(|e| e.into_inner()))
    } else {
        Held::Shared(GLOBAL.read().unwrap_or_else(|e| e.into_inner()))
    }
}

fn property(p: &'static Property, mode: Mode) -> Result<Completion, Failed> {
    if let Some(why) = mode.unavailable() {
        return cannot_run(why);
    }
    let r = {
        let _one = lock(p);
        run_one(p, mode, None).expect("the mode is available")
    };
    let name = snapshot_name(&format!("{}@{}", p.id, mode.name()));
    match r.verdict.outcome {
        Outcome::Pass => {
            insta::assert_yaml_snapshot!(name, r.verdict.observed);
            Ok(Completion::Completed)
        }
        Outcome::Skip => {
            // A pass that turns into a skip is a snapshot diff, not a quiet ignore.
            insta::assert_yaml_snapshot!(
                name,
                serde_json::json!({ "skip": skip_reason(&r.verdict.detail) })
            );
            if r.verdict.detail.len() <= 10 {
                return Err(format!("skipped without a real reason: {}", r.verdict.detail).into());
            }
            cannot_run(&r.verdict.detail)
        }
        o => Err(format!("{o}: {}", r.verdict.detail).into()),
    }
}

fn control(p: &'static Property, c: Control, mode: Mode) -> Result<Completion, Failed> {
    if let Some(why) = mode.unavailable() {
        return cannot_run(why);
    }
    let r = {
        let _one = lock(p);
        run_one(p, mode, Some(c)).expect("the mode is available")
    };
    if mode == Mode::Rootless
        && r.verdict.outcome == Outcome::Error
        && r.verdict.detail.contains("failed with EPERM")
    {
        // Without the namespace, the unprivileged probe may not take the step at all:
        // the kernel upholds the isolation by privilege, so the control cannot show.
        return Ok(Completion::ignored_with(format!(
            "not applicable rootless: the kernel refuses the step without the namespace ({})",
            r.verdict.detail
        )));
    }
    if r.verdict.outcome != Outcome::Fail {
        return Err(format!(
            "not detected: {} under control {} gave {} ({})",
            p.id,
            c.name(),
            r.verdict.outcome,
            r.verdict.detail
        )
        .into());
    }
    // What a person reads holds no Rust debug text (`Some(4026531838)`, `None`, `Done("")`).
    for text in [
        Some(&r.verdict.detail),
        r.verdict.expected.as_ref(),
        r.verdict.actual.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(bad) = rust_debug_text(text) {
            return Err(format!("{} under {}: `{bad}` in {text:?}", p.id, c.name()).into());
        }
    }
    // A control counts only when the property's own assertion caught it: a failure
    // decided by the host-namespace guard, or by no named sub-check, proves nothing.
    let at = r.verdict.at.as_deref();
    if at.is_none() || at == Some(AT_GUARD) {
        return Err(format!(
            "{} under control {} failed, but {} and not at the property's own assertion ({})",
            p.id,
            c.name(),
            if at.is_none() {
                "at no named sub-check"
            } else {
                "at the host-namespace guard"
            },
            r.verdict.detail
        )
        .into());
    }
    let name = snapshot_name(&format!("{}@control@{}@{}", p.id, c.name(), mode.name()));
    insta::assert_yaml_snapshot!(name, serde_json::json!({ "fail": true, "at": at }));
    Ok(Completion::Completed)
}

/// How long a property may take under a fault before it counts as hung (a timeout is a
/// changed verdict too: the check waited on a call that failed, e.g. kill(2)).
const FAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `p.calls` is exactly the set of call groups its verdict rests on: every group is
/// faulted in turn ([`Control::Fault`]), in each mode that can run here; a listed group
/// must change the verdict (fail, error or timeout) in every mode, an unlisted one may
/// change it in no mode, or only in some (a step one mode takes and the other does not,
/// e.g. CR-03's drop to uid 65534 as root). The snapshot holds the listed calls' outcomes.
fn calls(p: &'static Property) -> Result<Completion, Failed> {
    let modes: Vec<Mode> = MODES
        .into_iter()
        .filter(|&m| defined(p, m) && m.unavailable().is_none())
        .collect();
    if modes.is_empty() {
        return cannot_run("neither mode can run here");
    }
    // Faults prove a check only where it passes: a property this kernel skips (too old,
    // built without an option) has no calls trial here.
    for &mode in &modes {
        let r = {
            let _one = lock(p);
            run_one(p, mode, None).expect("the mode is available")
        };
        match r.verdict.outcome {
            Outcome::Pass => {}
            Outcome::Skip => return cannot_run(&format!("it skips here: {}", r.verdict.detail)),
            o => return Err(format!("{o} without a fault: {}", r.verdict.detail).into()),
        }
    }
    let mut changed: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    let mut problems = Vec::new();
    for call in Call::ALL {
        let mut by_mode = serde_json::Map::new();
        for &mode in &modes {
            let (mut opts, env) = mode.setup().expect("the mode is available");
            opts.timeout = FAULT_TIMEOUT;
            let r = {
                let _one = lock(p);
                run::run_property(p, &env, &opts, Some(Control::Fault(call)))
            };
            if r.verdict.outcome == Outcome::Skip {
                problems.push(format!(
                    "{}: with {} faulted ({}) it skips: a kernel that misbehaves is no reason to skip ({})",
                    mode.name(),
                    call.name(),
                    call.calls(),
                    r.verdict.detail
                ));
            }
            if r.verdict.outcome != Outcome::Pass {
                // The outcome only: under a fault, which sub-check notices first may
                // depend on timing (seen once for PID-08 rootless under unshare).
                by_mode.insert(mode.name().into(), serde_json::json!(r.verdict.outcome));
            }
        }
        let listed = p.calls.contains(&call);
        if listed && by_mode.len() < modes.len() {
            problems.push(format!(
                "lists the call {} ({}), but with it faulted the verdict stays a pass in {}",
                call.name(),
                call.calls(),
                modes
                    .iter()
                    .filter(|m| !by_mode.contains_key(m.name()))
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
        // Faults of wait(2) and kill(2) leave helpers unreaped or alive, and what a check
        // then sees can depend on timing (SETNS-07 under wait, now and then): an unlisted
        // wait or kill that changes the verdict is not held against the list.
        let racy = matches!(call, Call::Wait | Call::Kill);
        if !listed && !racy && by_mode.len() == modes.len() && modes.len() == defined_modes(p) {
            problems.push(format!(
                "does not list the call {} ({}), but its verdict rests on it: {}",
                call.name(),
                call.calls(),
                serde_json::Value::Object(by_mode.clone())
            ));
        }
        // The snapshot holds the listed calls' outcomes: an unlisted call that changes
        // the verdict in one mode only may do so now and then (MNT-02 privileged under
        // clone-ns, seen once in CI), and is allowed either way.
        if listed {
            changed.insert(call.name().into(), serde_json::Value::Object(by_mode));
        }
    }
    if !problems.is_empty() {
        return Err(format!("{}: {}", p.id, problems.join("; ")).into());
    }
    insta::assert_yaml_snapshot!(snapshot_name(&format!("{}@calls", p.id)), changed);
    Ok(Completion::Completed)
}

/// How many modes `p` has trials in.
fn defined_modes(p: &Property) -> usize {
    MODES.into_iter().filter(|&m| defined(p, m)).count()
}

/// Rust debug text a person should never read in a verdict, if `text` holds some.
fn rust_debug_text(text: &str) -> Option<&'static str> {
    ["Some(", "None", "Done(", "Ok(", "Err("]
        .into_iter()
        .find(|w| text.contains(w))
}

/// A skip reason without the running kernel's patch level (`running <kernel>`): the
/// series is in the snapshot's name.
fn skip_reason(detail: &str) -> String {
    match detail.split_once("; running ") {
        Some((why, _)) => format!("{why}; running <kernel>"),
        None => detail.to_string(),
    }
}

fn man_pages() -> Result<(), Failed> {
    for p in catalogue::all() {
        if !p.man.contains(')') {
            return Err(format!("{}: man page reference {:?}", p.id, p.man).into());
        }
    }
    Ok(())
}

/// `base`, or `base@<series>` when this kernel series has its own snapshot.
fn snapshot_name(base: &str) -> String {
    let suffix = nsconform_tests::series_suffix();
    let specific = format!("{base}{suffix}");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
    let exists = std::path::Path::new(dir)
        .join(format!("properties__{specific}.snap"))
        .exists();
    if !suffix.is_empty()
        && (exists || std::env::var_os("NSCONFORM_NEW_SERIES_SNAPSHOTS").is_some())
    {
        specific
    } else {
        base.to_string()
    }
}
