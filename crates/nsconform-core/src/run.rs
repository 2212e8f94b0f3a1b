//! Running the catalogue: one property (prerequisites, then its check), many in
//! parallel (host-global ones alone first), selections and tallies.

use crate::catalogue::{self, Control, Privilege, Property};
use crate::env::Env;
use crate::environment::Environment;
use crate::harness::{Cx, RunOptions};
use crate::outcome::{Outcome, Verdict};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// The result of one property in a report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
    let mut results: Vec<Option<PropertyResult>> = vec![None; props.len()];
    for (i, p) in props.iter().enumerate().filter(|(_, p)| p.global) {
        let r = run_property(p, env, opts, None);
        progress(&r);
        results[i] = Some(r);
    }
    let parallel: Vec<usize> = (0..props.len()).filter(|&i| !props[i].global).collect();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(parallel.len().max(1)) {
            let tx = tx.clone();
            let (next, parallel) = (&next, &parallel);
            s.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = parallel.get(k) else { break };
                let r = run_property(props[i], env, opts, None);
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

/// Select properties by ID or area prefix (`PID`, `UTS-01`); empty selects all.
pub fn select(filters: &[String]) -> Result<Vec<&'static Property>, String> {
    if filters.is_empty() {
        return Ok(catalogue::all().iter().collect());
    }
    let mut out = Vec::new();
    for f in filters {
        let matched: Vec<_> = catalogue::all()
            .iter()
            .filter(|p| p.id.eq_ignore_ascii_case(f) || p.area.prefix().eq_ignore_ascii_case(f))
            .collect();
        if matched.is_empty() {
            return Err(format!(
                "`{f}` names no property or area; see `nsconform list`"
            ));
        }
        for p in matched {
            if !out.iter().any(|q: &&Property| q.id == p.id) {
                out.push(p);
            }
        }
    }
    Ok(out)
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
