//! Running the catalogue: one property (prerequisites, then its check), many in
//! parallel (host-global ones alone first), selections and tallies.

use crate::catalogue::{self, Control, Privilege, Property};
use crate::env::Env;
use crate::environment::Environment;
use crate::harness::{Cx, RunOptions};
use crate::kernellog::{self, KernelHealth, Trouble};
use crate::kmod;
use crate::outcome::{Outcome, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// The result of one property in a report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct PropertyResult {
    pub id: String,
    pub title: String,
    pub man: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub duration_ms: u64,
}

impl PropertyResult {
    /// The result of `p` (under `control`) with `verdict`, taking `duration_ms`.
    pub fn of(
        p: &Property,
        control: Option<Control>,
        verdict: Verdict,
        duration_ms: u64,
    ) -> PropertyResult {
        PropertyResult {
            id: p.id.to_string(),
            title: p.title.to_string(),
            man: p.man.to_string(),
            control,
            verdict,
            duration_ms,
        }
    }

    /// The same verdict for every one of `props` (a subject that never started, an
    /// environment that cannot run any of them).
    pub fn all(props: &[&'static Property], verdict: &Verdict) -> Vec<PropertyResult> {
        props
            .iter()
            .map(|p| PropertyResult::of(p, None, verdict.clone(), 0))
            .collect()
    }
}

/// Run one property: decide its prerequisites, then its check.
pub fn run_property(
    p: &'static Property,
    env: &Env,
    opts: &RunOptions,
    control: Option<Control>,
) -> PropertyResult {
    let start = Instant::now();
    let verdict = match p.prereq.unmet(env) {
        Some(reason) => Verdict::skip(reason),
        None if p.prereq.privilege == Privilege::Root && opts.rootless_as.is_some() => {
            Verdict::skip("needs real root; this run is rootless")
        }
        None => {
            let mut cx = Cx::new(p.id, env, opts, control);
            let v = (p.check)(&mut cx).unwrap_or_else(|v| v);
            drop(cx);
            v
        }
    };
    PropertyResult::of(p, control, verdict, start.elapsed().as_millis() as u64)
}

/// Run many properties: host-global ones one at a time first, the rest `opts.jobs` at a
/// time. Results come back in the order given; `progress` sees each as it finishes.
pub fn run_all(
    props: &[&'static Property],
    env: &Env,
    opts: &RunOptions,
    progress: &(dyn Fn(&PropertyResult) + Sync),
) -> Vec<PropertyResult> {
    run_all_inner(props, env, opts, progress, None)
}

/// [`run_all`] with the kernel's health watched ([`crate::kernellog`]): the taint flags
/// before and after, and every trouble report the kernel logs meanwhile, read as each
/// property ends and attributed to the properties running then. A report with one
/// candidate is pinned to it; with several, each candidate runs again alone, and the
/// ones under which the kernel reports trouble again are pinned. A pinned property
/// fails at "kernel log" with the kernel's lines, whatever its own assertion said.
pub fn run_all_watched(
    props: &[&'static Property],
    env: &Env,
    opts: &RunOptions,
    progress: &(dyn Fn(&PropertyResult) + Sync),
) -> (Vec<PropertyResult>, KernelHealth) {
    let (taint_bits, taint_before) = kernellog::taint_now();
    let (kmsg, log) = match kernellog::Kmsg::open() {
        Ok(k) => (Some(k), "/dev/kmsg".to_string()),
        Err(e) => (
            None,
            format!(
                "not read: opening /dev/kmsg failed with {}{}",
                crate::probe::errno_name(e),
                if e == nix::errno::Errno::EPERM {
                    " (kernel.dmesg_restrict is 1: run as root to watch the kernel log)"
                } else {
                    ""
                }
            ),
        ),
    };
    let watch = Watch {
        state: std::sync::Mutex::new(WatchState {
            kmsg,
            running: Vec::new(),
            found: Vec::new(),
        }),
    };
    let mut results = run_all_inner(props, env, opts, progress, Some(&watch));
    let mut state = watch.state.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = state.kmsg.as_mut() {
        for line in k.trouble() {
            state.found.push((line, Vec::new()));
        }
    }
    let kmsg = &mut state.kmsg;
    let trouble = pin(state.found, |id| {
        let (Some(p), Some(k)) = (props.iter().find(|p| p.id == id), kmsg.as_mut()) else {
            return false;
        };
        k.trouble();
        let _ = run_property(p, env, opts, None);
        !k.trouble().is_empty()
    });
    for t in &trouble {
        for id in &t.pinned {
            if let Some(r) = results.iter_mut().find(|r| &r.id == id) {
                kernel_trouble(r, &t.line);
            }
        }
    }
    let (taint_bits_after, taint_after) = kernellog::taint_now();
    let health = KernelHealth {
        new_taint: kernellog::new_taint(taint_bits, taint_bits_after),
        taint_before,
        taint_after,
        log,
        trouble,
    };
    (results, health)
}

/// Why `p` cannot run: a kernel module it needs could not be loaded (waits for the
/// load to end). `None` when its prerequisites are unmet anyway (it skips).
fn module_missing(p: &Property, env: &Env, modules: &kmod::Preload) -> Option<String> {
    if p.prereq.unmet(env).is_some() {
        return None;
    }
    p.prereq.modules_to_load(env).into_iter().find_map(|m| {
        modules.wait(m.name).err().map(|why| {
            format!(
                "needs the kernel module {} ({}=m), which could not be loaded: {why}; the \
                 kernel was not judged (load it, or give the VM this kernel's modules)",
                m.name, m.config
            )
        })
    })
}

/// Pin each trouble line read during a run (with the properties running then): to the
/// one property running, or, of several, to those under which `again(id)` (the property
/// run alone) makes the kernel report trouble again; to none when nothing ran.
fn pin(found: Vec<(String, Vec<String>)>, mut again: impl FnMut(&str) -> bool) -> Vec<Trouble> {
    found
        .into_iter()
        .map(|(line, running)| {
            let pinned = match running.as_slice() {
                [one] => vec![one.clone()],
                many => many.iter().filter(|id| again(id)).cloned().collect(),
            };
            Trouble {
                line,
                running,
                pinned,
            }
        })
        .collect()
}

/// Fail `r` for the kernel's trouble `line` while it ran (its own verdict kept in the
/// detail, its observed facts kept, the lines added).
fn kernel_trouble(r: &mut PropertyResult, line: &str) {
    let v = &mut r.verdict;
    if v.at.as_deref() != Some(AT_KERNEL_LOG) {
        v.detail = format!(
            "the kernel reported trouble while this property ran: {line} (the check itself: {} {})",
            v.outcome.as_str(),
            v.detail
        );
        v.outcome = Outcome::Fail;
        v.at = Some(AT_KERNEL_LOG.to_string());
        v.expected = Some("no warning, BUG, oops or stall in the kernel log".into());
        v.actual = Some(line.to_string());
    }
    let lines = v.observed.as_object_mut().map(|o| {
        o.entry("kernel_log")
            .or_insert_with(|| serde_json::json!([]))
    });
    match lines {
        Some(serde_json::Value::Array(a)) => a.push(line.into()),
        _ => v.observed = serde_json::json!({ "kernel_log": [line] }),
    }
}

/// [`Verdict::at`] of a property failed for the kernel's trouble reports while it ran.
pub const AT_KERNEL_LOG: &str = "kernel log";

/// The kernel log shared by the workers of a watched run.
struct Watch {
    state: std::sync::Mutex<WatchState>,
}

struct WatchState {
    kmsg: Option<kernellog::Kmsg>,
    /// The properties running now.
    running: Vec<String>,
    /// Each trouble line read, with the properties that were running then.
    found: Vec<(String, Vec<String>)>,
}

impl Watch {
    fn started(&self, id: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.running.push(id.to_string());
    }

    /// `id` ended: what the kernel logged since the last read happened while `id` and
    /// the others still running ran (every end reads, so nothing logged earlier waits).
    fn ended(&self, id: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let lines = s.kmsg.as_mut().map(|k| k.trouble()).unwrap_or_default();
        let running = s.running.clone();
        s.found
            .extend(lines.into_iter().map(|l| (l, running.clone())));
        s.running.retain(|r| r != id);
    }
}

fn run_all_inner(
    props: &[&'static Property],
    env: &Env,
    opts: &RunOptions,
    progress: &(dyn Fn(&PropertyResult) + Sync),
    watch: Option<&Watch>,
) -> Vec<PropertyResult> {
    // Every module the selection needs, loading in the background from now on.
    let modules = kmod::preload(
        props
            .iter()
            .flat_map(|p| p.prereq.modules_to_load(env))
            .map(|m| m.name)
            .collect(),
        nix::unistd::geteuid().is_root(),
    );
    let one = |p: &'static Property| {
        if let Some(w) = watch {
            w.started(p.id);
        }
        let r = match module_missing(p, env, &modules) {
            Some(why) => PropertyResult::of(p, None, Verdict::error(why), 0),
            None => run_property(p, env, opts, None),
        };
        if let Some(w) = watch {
            w.ended(p.id);
        }
        r
    };
    let mut results: Vec<Option<PropertyResult>> = vec![None; props.len()];
    for (i, p) in props.iter().enumerate().filter(|(_, p)| p.global) {
        let r = one(p);
        progress(&r);
        results[i] = Some(r);
    }
    let parallel: Vec<usize> = (0..props.len()).filter(|&i| !props[i].global).collect();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(parallel.len().max(1)) {
            let tx = tx.clone();
            let (next, parallel, one) = (&next, &parallel, &one);
            s.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = parallel.get(k) else { break };
                let r = one(props[i]);
                progress(&r);
                let _ = tx.send((i, r));
            });
        }
    });
    drop(tx);
    for (i, r) in rx {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every property ran"))
        .collect()
}

/// Turn the verdicts a run in an environment that refuses namespace creation cannot
/// vouch for into errors: there a fail or timeout may be the environment's (a limit at
/// 0, a seccomp filter, a missing privilege), not the kernel's. Passes stay, and so do
/// skips (decided from prerequisites given as data). The facts the check saw are kept.
pub fn vouch(results: &mut [PropertyResult], environment: &Environment) {
    if environment.refused.is_empty() {
        return;
    }
    let refused = environment.describe_refused();
    for r in results {
        if matches!(r.verdict.outcome, Outcome::Fail | Outcome::Timeout) {
            r.verdict.detail = format!(
                "not judged: this environment refuses to create namespaces of type {refused}, \
                 so a {} here may be the environment's, not the kernel's (the check said: {}). \
                 Run where every namespace type can be created (see `environment` in the \
                 JSON report)",
                r.verdict.outcome.as_str(),
                r.verdict.detail
            );
            r.verdict.outcome = Outcome::Error;
        }
    }
}

/// Whether one selection pattern names `p`: its ID or area (`PID-01`, `PID`, any case),
/// or a shell glob over IDs (`PID-0*`, `*-1?`, `[MN]*-01`).
fn names(pattern: &str, glob: Option<&glob::Pattern>, p: &Property) -> bool {
    let opts = glob::MatchOptions {
        case_sensitive: false,
        ..glob::MatchOptions::new()
    };
    p.id.eq_ignore_ascii_case(pattern)
        || p.area.prefix().eq_ignore_ascii_case(pattern)
        || glob.is_some_and(|g| g.matches_with(p.id, opts))
}

/// One selection pattern, checked: a glob is compiled when it has glob characters.
fn pattern(f: &str, what: &str) -> Result<Option<glob::Pattern>, String> {
    if !f.contains(['*', '?', '[']) {
        return Ok(None);
    }
    glob::Pattern::new(f)
        .map(Some)
        .map_err(|e| format!("{what} `{f}` is not a valid glob: {}", e.msg))
}

/// Select properties by ID, area or glob (`PID-01`, `NET`, `MNT-1*`), in catalogue order
/// of first mention, minus those `exclude` names. Empty `filters` select all. A pattern
/// naming nothing is an error (a typo must not shrink a run silently), and so is a
/// selection left empty.
pub fn select(filters: &[String], exclude: &[String]) -> Result<Vec<&'static Property>, String> {
    let mut out: Vec<&'static Property> = Vec::new();
    if filters.is_empty() {
        out.extend(catalogue::all().iter());
    }
    for f in filters {
        let g = pattern(f, "selection")?;
        let matched: Vec<_> = catalogue::all()
            .iter()
            .filter(|p| names(f, g.as_ref(), p))
            .collect();
        if matched.is_empty() {
            return Err(format!(
                "`{f}` names no property or area; see `nsconform list`"
            ));
        }
        for p in matched {
            if !out.iter().any(|q| q.id == p.id) {
                out.push(p);
            }
        }
    }
    for x in exclude {
        let g = pattern(x, "--exclude")?;
        if !catalogue::all().iter().any(|p| names(x, g.as_ref(), p)) {
            return Err(format!(
                "--exclude `{x}` names no property or area; see `nsconform list`"
            ));
        }
        out.retain(|p| !names(x, g.as_ref(), p));
    }
    if out.is_empty() {
        return Err("the selection is empty: --exclude removed every property".into());
    }
    Ok(out)
}

/// A property whose outcome changed between the runs of `--repeat`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub struct Flaky {
    pub id: String,
    /// How many runs gave each outcome.
    pub outcomes: BTreeMap<Outcome, usize>,
}

/// What `--repeat N` found: the number of runs and the flaky properties.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub struct Repeat {
    pub runs: usize,
    pub flaky: Vec<Flaky>,
}

/// How bad an outcome is, for keeping the worst of repeated runs.
fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Pass => 0,
        Outcome::Skip => 1,
        Outcome::Error => 2,
        Outcome::Timeout => 3,
        Outcome::Fail => 4,
    }
}

/// Merge the results of repeated runs of one selection: each property keeps the result
/// of its worst run (the first such run), with the tally of outcomes in its detail when
/// they differed; those properties are the flaky ones.
pub fn merge_repeats(runs: Vec<Vec<PropertyResult>>) -> (Vec<PropertyResult>, Repeat) {
    let n = runs.len();
    let mut merged: Vec<PropertyResult> = Vec::new();
    let mut tallies: Vec<BTreeMap<Outcome, usize>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for run in runs {
        for r in run {
            match index.get(&r.id) {
                None => {
                    index.insert(r.id.clone(), merged.len());
                    tallies.push(BTreeMap::from([(r.verdict.outcome, 1)]));
                    merged.push(r);
                }
                Some(&i) => {
                    *tallies[i].entry(r.verdict.outcome).or_default() += 1;
                    if severity(r.verdict.outcome) > severity(merged[i].verdict.outcome) {
                        merged[i] = r;
                    }
                }
            }
        }
    }
    let mut flaky = Vec::new();
    for (r, t) in merged.iter_mut().zip(tallies) {
        if t.len() > 1 {
            let counts: Vec<String> = t.iter().map(|(o, k)| format!("{o} {k}")).collect();
            r.verdict.detail = format!(
                "flaky over {n} runs ({}); the worst: {}",
                counts.join(", "),
                r.verdict.detail
            );
            flaky.push(Flaky {
                id: r.id.clone(),
                outcomes: t,
            });
        }
    }
    (merged, Repeat { runs: n, flaky })
}

/// Count results per outcome.
pub fn tally(results: &[PropertyResult]) -> std::collections::BTreeMap<Outcome, usize> {
    let mut m = std::collections::BTreeMap::new();
    for o in Outcome::ALL {
        m.insert(o, 0);
    }
    for r in results {
        *m.entry(r.verdict.outcome).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns::Ns;

    fn results() -> Vec<PropertyResult> {
        let p = &catalogue::all()[0];
        [
            Verdict::pass("held"),
            Verdict::fail("broke", "a", "b").with_errno("ENOSPC"),
            Verdict::skip("needs kernel 9.0"),
            Verdict::timeout("hung"),
        ]
        .into_iter()
        .map(|v| PropertyResult::of(p, None, v, 1))
        .collect()
    }

    fn ids(filters: &[&str], exclude: &[&str]) -> Result<Vec<&'static str>, String> {
        let f: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let x: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        select(&f, &x).map(|v| v.into_iter().map(|p| p.id).collect())
    }

    #[test]
    fn repeated_runs_keep_the_worst_result_and_name_the_flaky_properties() {
        let p = &catalogue::all()[0];
        let q = &catalogue::all()[1];
        let run = |a: Verdict, b: Verdict| {
            vec![
                PropertyResult::of(p, None, a, 1),
                PropertyResult::of(q, None, b, 1),
            ]
        };
        let (merged, rep) = merge_repeats(vec![
            run(Verdict::pass("held"), Verdict::pass("held")),
            run(Verdict::fail("broke", "a", "b"), Verdict::pass("held")),
            run(Verdict::pass("held"), Verdict::pass("held")),
        ]);
        assert_eq!(rep.runs, 3);
        assert_eq!(merged[0].verdict.outcome, Outcome::Fail);
        assert_eq!(
            merged[0].verdict.detail,
            "flaky over 3 runs (pass 2, fail 1); the worst: broke"
        );
        assert_eq!(merged[1].verdict.outcome, Outcome::Pass);
        assert_eq!(merged[1].verdict.detail, "held");
        assert_eq!(rep.flaky.len(), 1);
        assert_eq!(rep.flaky[0].id, p.id);
        assert_eq!(rep.flaky[0].outcomes[&Outcome::Pass], 2);
    }

    #[test]
    fn selections_take_ids_areas_globs_and_exclusions() {
        assert_eq!(ids(&["uts-01"], &[]).unwrap(), ["UTS-01"]);
        let pid0 = ids(&["PID-0*"], &[]).unwrap();
        assert_eq!(pid0.len(), 9);
        assert!(pid0.iter().all(|i| i.starts_with("PID-0")));
        assert_eq!(
            ids(&["PID-0?", "PID-01"], &["PID-0[2-9]"]).unwrap(),
            ["PID-01"]
        );
        let uts = ids(&["UTS"], &["UTS-01"]).unwrap();
        assert!(!uts.contains(&"UTS-01") && uts.contains(&"UTS-02"));
        assert_eq!(ids(&[], &[]).unwrap().len(), catalogue::all().len());
        assert_eq!(
            ids(&[], &["PID"]).unwrap().len(),
            catalogue::all().len() - ids(&["PID"], &[]).unwrap().len()
        );
        // Typos and empty results are refused, not run as a smaller selection.
        assert!(ids(&["PIDD-*"], &[])
            .unwrap_err()
            .contains("names no property"));
        assert!(ids(&["PID"], &["PDI"])
            .unwrap_err()
            .contains("--exclude `PDI`"));
        assert!(ids(&["PID-01"], &["PID"]).unwrap_err().contains("empty"));
        assert!(ids(&["PID-[0"], &[])
            .unwrap_err()
            .contains("not a valid glob"));
    }

    #[test]
    fn a_refusing_environment_turns_fails_into_errors_and_keeps_the_rest() {
        let mut env = Environment::default();
        env.refuse(Ns::User, "ENOSPC", true);
        let mut r = results();
        vouch(&mut r, &env);
        let outcomes: Vec<Outcome> = r.iter().map(|r| r.verdict.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Pass, Outcome::Error, Outcome::Skip, Outcome::Error]
        );
        assert!(
            r[1].verdict.detail.contains("user (ENOSPC"),
            "{}",
            r[1].verdict.detail
        );
        assert!(r[1].verdict.detail.contains("the check said: broke"));
        // The facts stay.
        assert_eq!(r[1].verdict.errno.as_deref(), Some("ENOSPC"));
        assert_eq!(r[1].verdict.expected.as_deref(), Some("a"));
    }

    #[test]
    fn an_environment_that_refuses_nothing_changes_nothing() {
        let mut r = results();
        vouch(&mut r, &Environment::default());
        assert_eq!(r, results());
    }
}

#[cfg(test)]
mod kernel_log_tests {
    use super::*;

    #[test]
    fn trouble_is_pinned_to_the_one_running_or_to_those_that_reproduce_it() {
        let found = vec![
            ("WARNING: a".to_string(), vec!["UTS-01".to_string()]),
            (
                "BUG: b".to_string(),
                vec!["PID-01".into(), "NET-05".into(), "IPC-01".into()],
            ),
            (
                "WARNING: c (once)".to_string(),
                vec!["PID-01".into(), "NET-05".into()],
            ),
            ("INFO: late".to_string(), vec![]),
        ];
        let mut asked = Vec::new();
        let t = pin(found, |id| {
            asked.push(id.to_string());
            id == "NET-05" && asked.len() <= 3
        });
        assert_eq!(t[0].pinned, ["UTS-01"]);
        assert_eq!(t[1].pinned, ["NET-05"]);
        assert!(t[2].pinned.is_empty(), "a WARN_ON_ONCE does not come back");
        assert!(t[3].pinned.is_empty());
        assert_eq!(asked, ["PID-01", "NET-05", "IPC-01", "PID-01", "NET-05"]);
    }

    #[test]
    fn a_pinned_property_fails_at_the_kernel_log_keeping_its_facts() {
        let p = catalogue::all().iter().find(|p| p.id == "UTS-01").unwrap();
        let mut r = PropertyResult::of(
            p,
            None,
            Verdict::pass("fine").with_observed(serde_json::json!({"hostname": "x"})),
            1,
        );
        kernel_trouble(&mut r, "WARNING: CPU: 0 PID: 9 at kernel/x.c:1");
        kernel_trouble(&mut r, "WARNING: again");
        assert_eq!(r.verdict.outcome, Outcome::Fail);
        assert_eq!(r.verdict.at.as_deref(), Some(AT_KERNEL_LOG));
        assert!(
            r.verdict.detail.contains("the check itself: pass fine"),
            "{}",
            r.verdict.detail
        );
        assert_eq!(
            r.verdict.observed,
            serde_json::json!({"hostname": "x", "kernel_log": ["WARNING: CPU: 0 PID: 9 at kernel/x.c:1", "WARNING: again"]})
        );
    }
}
