//! `nsconform diff`: where two runs differ (two kernels, or before and after a change),
//! per property: outcome, errno, and the normalized observed facts (the snapshot).

use crate::report::{escape_line, Report};
use crate::run::PropertyResult;
use serde::Serialize;

/// How one property differs between the two runs.
#[derive(Serialize, Debug, PartialEq)]
pub struct Change {
    pub id: String,
    /// `old -> new` outcome, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<(Option<String>, Option<String>)>,
    /// Keys of the observed facts whose values differ, with both values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observed: Vec<(String, serde_json::Value, serde_json::Value)>,
    /// `only-old` / `only-new` when the property ran in one run only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
}

/// The comparison of two reports.
#[derive(Serialize, Debug)]
pub struct Diff {
    pub old_kernel: String,
    pub new_kernel: String,
    pub changes: Vec<Change>,
    pub same: usize,
    /// The taint flags after each run, when they differ (`"" -> "W"`), and the kernel
    /// log's trouble reports of each run (counts), when they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taint: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_trouble: Option<(usize, usize)>,
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn compare(a: &PropertyResult, b: &PropertyResult) -> Option<Change> {
    let (va, vb) = (&a.verdict, &b.verdict);
    let outcome = (va.outcome != vb.outcome).then(|| {
        (
            va.outcome.as_str().to_string(),
            vb.outcome.as_str().to_string(),
        )
    });
    let errno = (va.errno != vb.errno).then(|| (va.errno.clone(), vb.errno.clone()));
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    flatten("", &va.observed, &mut fa);
    flatten("", &vb.observed, &mut fb);
    let mut observed = Vec::new();
    let keys: std::collections::BTreeSet<&String> =
        fa.iter().chain(fb.iter()).map(|(k, _)| k).collect();
    for k in keys {
        let x = fa
            .iter()
            .find(|(kk, _)| kk == k)
            .map_or(serde_json::Value::Null, |(_, v)| v.clone());
        let y = fb
            .iter()
            .find(|(kk, _)| kk == k)
            .map_or(serde_json::Value::Null, |(_, v)| v.clone());
        if x != y {
            observed.push((k.clone(), x, y));
        }
    }
    (outcome.is_some() || errno.is_some() || !observed.is_empty()).then(|| Change {
        id: a.id.clone(),
        outcome,
        errno,
        observed,
        presence: None,
    })
}

/// Compare `old` with `new`.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let mut changes = Vec::new();
    let mut same = 0;
    // Indexed by ID: linear in the number of results (reports are checked for duplicate
    // IDs when read).
    let old_ids: std::collections::HashSet<&str> =
        old.results.iter().map(|a| a.id.as_str()).collect();
    let new_by_id: std::collections::HashMap<&str, &PropertyResult> =
        new.results.iter().map(|b| (b.id.as_str(), b)).collect();
    for a in &old.results {
        match new_by_id.get(a.id.as_str()).copied() {
            Some(b) => match compare(a, b) {
                Some(c) => changes.push(c),
                None => same += 1,
            },
            None => changes.push(Change {
                id: a.id.clone(),
                outcome: None,
                errno: None,
                observed: vec![],
                presence: Some("only-old".into()),
            }),
        }
    }
    for b in new
        .results
        .iter()
        .filter(|b| !old_ids.contains(b.id.as_str()))
    {
        changes.push(Change {
            id: b.id.clone(),
            outcome: None,
            errno: None,
            observed: vec![],
            presence: Some("only-new".into()),
        });
    }
    let health = |r: &Report| {
        r.kernel_health
            .as_ref()
            .map(|k| (k.taint_after.clone(), k.trouble.len()))
    };
    let (taint, kernel_trouble) = match (health(old), health(new)) {
        (Some((ta, na)), Some((tb, nb))) => (
            (ta != tb).then_some((ta, tb)),
            (na != nb).then_some((na, nb)),
        ),
        _ => (None, None),
    };
    Diff {
        old_kernel: old.kernel.clone(),
        new_kernel: new.kernel.clone(),
        changes,
        same,
        taint,
        kernel_trouble,
    }
}

/// The comparison as text. Kernels, IDs, errno names and observed facts come from the
/// two report files, so each is passed through [`escape_line`] before it is printed.
pub fn human(d: &Diff) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "old: kernel {}\nnew: kernel {}\n\n",
        escape_line(&d.old_kernel),
        escape_line(&d.new_kernel)
    );
    for c in &d.changes {
        let id = escape_line(&c.id);
        if let Some(p) = &c.presence {
            let _ = writeln!(
                s,
                "{id:<9} {}",
                if p == "only-old" {
                    "only in old run"
                } else {
                    "only in new run"
                }
            );
            continue;
        }
        if let Some((a, b)) = &c.outcome {
            let _ = writeln!(
                s,
                "{id:<9} outcome {} -> {}",
                escape_line(a),
                escape_line(b)
            );
        }
        if let Some((a, b)) = &c.errno {
            let _ = writeln!(
                s,
                "{id:<9} errno {} -> {}",
                escape_line(a.as_deref().unwrap_or("-")),
                escape_line(b.as_deref().unwrap_or("-"))
            );
        }
        for (k, a, b) in &c.observed {
            let _ = writeln!(
                s,
                "{id:<9} observed {}: {} -> {}",
                escape_line(k),
                escape_line(&a.to_string()),
                escape_line(&b.to_string())
            );
        }
    }
    if let Some((a, b)) = &d.taint {
        let _ = writeln!(
            s,
            "kernel    taint \"{}\" -> \"{}\"",
            escape_line(a),
            escape_line(b)
        );
    }
    if let Some((a, b)) = &d.kernel_trouble {
        let _ = writeln!(s, "kernel    trouble reports in the log {a} -> {b}");
    }
    let _ = writeln!(
        s,
        "\n{} {}, {} the same",
        crate::outcome::count(d.changes.len(), "property", "properties"),
        if d.changes.len() == 1 {
            "differs"
        } else {
            "differ"
        },
        d.same
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::outcome::Verdict;
    use serde_json::json;

    fn res(id: &str, v: Verdict) -> PropertyResult {
        PropertyResult {
            id: id.into(),
            title: String::new(),
            man: String::new(),
            control: None,
            verdict: v,
            duration_ms: 1,
        }
    }

    #[test]
    fn finds_outcome_errno_and_observed_changes() {
        let env = Env::detect(None);
        let old = Report::new(
            &env,
            vec![
                res(
                    "PID-05",
                    Verdict::pass("x")
                        .with_errno("EINVAL")
                        .with_observed(json!({"levels": 32})),
                ),
                res("NET-01", Verdict::pass("x")),
                res("UTS-02", Verdict::pass("x")),
            ],
            1,
        );
        let new = Report::new(
            &env,
            vec![
                res(
                    "PID-05",
                    Verdict::pass("x")
                        .with_errno("ENOSPC")
                        .with_observed(json!({"levels": 32})),
                ),
                res("NET-01", Verdict::skip("tunnels")),
                res("IPC-08", Verdict::pass("x")),
            ],
            1,
        );
        let d = diff(&old, &new);
        assert_eq!(d.same, 0);
        let ids: Vec<&str> = d.changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["PID-05", "NET-01", "UTS-02", "IPC-08"]);
        assert_eq!(
            d.changes[0].errno,
            Some((Some("EINVAL".into()), Some("ENOSPC".into())))
        );
        assert!(d.changes[0].observed.is_empty());
        assert_eq!(d.changes[1].outcome, Some(("pass".into(), "skip".into())));
        assert_eq!(d.changes[2].presence.as_deref(), Some("only-old"));
        let text = human(&d);
        assert!(text.contains("PID-05    errno EINVAL -> ENOSPC"), "{text}");
    }

    #[test]
    fn kernel_taint_and_trouble_are_compared() {
        let env = Env::detect(None);
        let mut old = Report::new(&env, vec![res("A-01", Verdict::pass("x"))], 1);
        old.kernel_health = Some(crate::kernellog::KernelHealth {
            log: "/dev/kmsg".into(),
            ..Default::default()
        });
        let mut new = old.clone();
        let d = diff(&old, &new);
        assert_eq!((d.taint.clone(), d.kernel_trouble), (None, None));
        let k = new.kernel_health.as_mut().unwrap();
        k.taint_after = "W".into();
        k.trouble.push(crate::kernellog::Trouble {
            line: "WARNING: x".into(),
            running: vec!["A-01".into()],
            pinned: vec!["A-01".into()],
        });
        let d = diff(&old, &new);
        assert_eq!(d.taint, Some((String::new(), "W".into())));
        assert_eq!(d.kernel_trouble, Some((0, 1)));
        let text = human(&d);
        assert!(text.contains("kernel    taint \"\" -> \"W\""), "{text}");
        assert!(text.contains("trouble reports in the log 0 -> 1"), "{text}");
    }

    #[test]
    fn identical_runs_do_not_differ() {
        let env = Env::detect(None);
        let r = Report::new(
            &env,
            vec![res(
                "A-01",
                Verdict::pass("x").with_observed(json!({"a": {"b": 1}})),
            )],
            1,
        );
        let d = diff(&r, &r.clone());
        assert!(d.changes.is_empty());
        assert_eq!(d.same, 1);
    }

    #[test]
    fn human_escapes_what_the_reports_say() {
        let env = Env::detect(None);
        let mut old = Report::new(
            &env,
            vec![res(
                "A-01\x1b[2K",
                Verdict::pass("x")
                    .with_errno("E\u{202e}X")
                    .with_observed(json!({"k\x1b": "v\u{202e}"})),
            )],
            1,
        );
        old.kernel = "6.1\x1b[1A".into();
        let mut new = old.clone();
        new.results[0].verdict = Verdict::fail("f", "", "").with_errno("EPERM");
        let text = human(&diff(&old, &new));
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(text.contains("old: kernel 6.1\\x1b[1A\n"), "{text}");
        assert!(text.contains("errno E\\u{202e}X -> EPERM"), "{text}");
        assert!(
            text.contains("observed k\\x1b: \"v\\u{202e}\" -> null"),
            "{text}"
        );
    }
}
