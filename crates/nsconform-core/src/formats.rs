//! Machine formats of a report for CI systems and graders: JUnit XML, TAP version 14 and
//! Gradescope's results.json. (`human` and `json` live in [`crate::report`].)

use crate::outcome::Outcome;
use crate::report::{ending_text, Report};
use crate::rubric::{Rubric, Visibility};
use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;

/// JUnit XML (the Jenkins flavour): one testsuite, one testcase per property. `fail` is a
/// `<failure>`, `error` an `<error>`, `timeout` a `<failure type="timeout">`, `skip` a
/// `<skipped>` with the reason.
pub fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("nsconform on {}", report.kernel));
    suite.set_time(Duration::from_millis(report.duration_ms));
    suite.add_property(("kernel", report.kernel.as_str()));
    suite.add_property((
        "privileged",
        if report.privileged { "true" } else { "false" },
    ));
    if let Some(sub) = &report.subject {
        suite.add_property(("subject", sub.command.join(" ").as_str()));
        let mut out = format!("{}\n", ending_text(&sub.ending));
        out.push_str(&sub.stdout_tail);
        suite.set_system_out(out);
        suite.set_system_err(sub.stderr_tail.as_str());
    }
    for r in &report.results {
        let v = &r.verdict;
        let mut text = v.detail.clone();
        if let (Some(e), Some(a)) = (&v.expected, &v.actual) {
            let _ = write!(text, "\nexpected: {e}\nactual:   {a}");
        }
        if let Some(errno) = &v.errno {
            let _ = write!(text, "\nerrno: {errno}");
        }
        let status = match v.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(v.detail.as_str());
                s
            }
            o => {
                let kind = if o == Outcome::Error {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(v.detail.as_str());
                s.set_type(o.as_str());
                s.set_description(text.as_str());
                s
            }
        };
        let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
        case.set_classname(format!(
            "nsconform.{}",
            r.id.split('-').next().unwrap_or("").to_lowercase()
        ));
        case.set_time(Duration::from_millis(r.duration_ms));
        suite.add_test_case(case);
    }
    let mut j = JReport::new("nsconform");
    j.set_time(Duration::from_millis(report.duration_ms));
    j.add_test_suite(suite);
    j.to_string().expect("JUnit serializes")
}

/// Escape a TAP description (`#` and `\` are the only escapes, TAP 14).
fn tap_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace('\n', " ")
}

/// TAP version 14 with YAML diagnostics; `skip` is `ok ... # SKIP reason`, `fail`,
/// `error` and `timeout` are `not ok` with `severity` saying which. Readable by
/// kselftest/KTAP-style consumers and by prove.
pub fn tap(report: &Report) -> String {
    let mut s = String::from("TAP version 14\n");
    let _ = writeln!(
        s,
        "# nsconform {} on kernel {}",
        report.version, report.kernel
    );
    if let Some(sub) = &report.subject {
        let _ = writeln!(s, "# subject: {}", tap_escape(&sub.command.join(" ")));
        let _ = writeln!(s, "# {}", tap_escape(&ending_text(&sub.ending)));
    }
    let _ = writeln!(s, "1..{}", report.results.len());
    for (i, r) in report.results.iter().enumerate() {
        let n = i + 1;
        let v = &r.verdict;
        let desc = tap_escape(&format!("{} {}", r.id, r.title));
        match v.outcome {
            Outcome::Pass => {
                let _ = writeln!(s, "ok {n} - {desc}");
            }
            Outcome::Skip => {
                let _ = writeln!(s, "ok {n} - {desc} # SKIP {}", tap_escape(&v.detail));
            }
            o => {
                let _ = writeln!(s, "not ok {n} - {desc}");
                s.push_str("  ---\n");
                let q = |x: &str| serde_json::to_string(x).expect("strings serialize");
                let _ = writeln!(s, "  severity: {}", o.as_str());
                let _ = writeln!(s, "  message: {}", q(&v.detail));
                if let Some(e) = &v.expected {
                    let _ = writeln!(s, "  expected: {}", q(e));
                }
                if let Some(a) = &v.actual {
                    let _ = writeln!(s, "  actual: {}", q(a));
                }
                if let Some(errno) = &v.errno {
                    let _ = writeln!(s, "  errno: {}", q(errno));
                }
                let _ = writeln!(s, "  man: {}", q(&r.man));
                s.push_str("  ...\n");
            }
        }
    }
    s
}

fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Visible => "visible",
        Visibility::Hidden => "hidden",
        Visibility::AfterDueDate => "after_due_date",
        Visibility::AfterPublished => "after_published",
    }
}

/// Gradescope's results.json: one test per rubric item, full points for a pass. An
/// environment error is said to be one (not the student's fault) in the output.
pub fn gradescope(report: &Report, rubric: &Rubric) -> String {
    let mut tests = Vec::new();
    let mut env_errors = 0;
    for (i, item) in rubric.items.iter().enumerate() {
        let result = report.results.iter().find(|r| r.id == item.id);
        let (score, status, output) = match result {
            Some(r) => {
                let v = &r.verdict;
                let mut out = match v.outcome {
                    Outcome::Pass => format!("PASS: {}", v.detail),
                    Outcome::Fail => format!("FAIL: {}", v.detail),
                    Outcome::Timeout => format!("TIMEOUT: {}", v.detail),
                    Outcome::Skip => format!("NOT RUN: {}", v.detail),
                    Outcome::Error => {
                        env_errors += 1;
                        format!("ENVIRONMENT ERROR (not a problem of your program; your instructor will re-run it): {}", v.detail)
                    }
                };
                if let (Some(e), Some(a)) = (&v.expected, &v.actual) {
                    let _ = write!(out, "\nexpected: {e}\nactual:   {a}");
                }
                let _ = write!(out, "\n\nProperty {} ({})", r.id, r.man);
                let pass = v.outcome == Outcome::Pass;
                (
                    if pass { item.points } else { 0.0 },
                    if pass { "passed" } else { "failed" },
                    out,
                )
            }
            None => (
                0.0,
                "failed",
                format!("NOT RUN: property {} was not part of this run", item.id),
            ),
        };
        let mut t = json!({
            "name": item.name,
            "number": format!("{}", i + 1),
            "score": score,
            "max_score": item.points,
            "status": status,
            "output": output,
            "visibility": visibility(item.visibility),
            "tags": [item.id.clone()],
        });
        if let Some(g) = &item.group {
            t["tags"].as_array_mut().expect("array").push(json!(g));
        }
        tests.push(t);
    }
    // (A float sum of nothing is -0.0; start from +0.0.)
    let earned = tests
        .iter()
        .filter_map(|t| t["score"].as_f64())
        .fold(0.0, |a, b| a + b);
    let mut output = match &report.subject {
        Some(sub) => format!("{}\n{}\n", rubric.title, ending_text(&sub.ending)),
        None => format!("{}\n", rubric.title),
    };
    if env_errors > 0 {
        output.push_str(
            "The grading environment could not create namespaces for some checks: those items \
             are environment errors, not failures of your program.\n",
        );
    }
    if let Some(sub) = &report.subject {
        if !sub.stderr_tail.is_empty() {
            let _ = write!(
                output,
                "\nYour program's stderr (last lines):\n{}",
                sub.stderr_tail
            );
        }
    }
    serde_json::to_string_pretty(&json!({
        "score": earned,
        "execution_time": report.duration_ms as f64 / 1000.0,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }))
    .expect("results serialize")
}
