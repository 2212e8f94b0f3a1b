//! Machine formats of a report for CI systems and graders: JUnit XML, TAP version 14 and
//! Gradescope's results.json. (`human` and `json` live in [`crate::report`].)

use crate::outcome::Outcome;
use crate::report::{ending_text, escape_for_terminal, escape_line, Report};
use crate::rubric::{Rubric, Visibility};
use crate::run::PropertyResult;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// Text made legal in XML 1.0 and harmless where a CI system shows it: control
/// characters (but `\n` and `\t`), C1 controls and bidi overrides are escaped as
/// [`escape_for_terminal`] does, and the non-characters U+FFFE and U+FFFF (which XML
/// forbids too) as `\u{fffe}`. quick-junit then escapes `<`, `&` and quotes.
fn xml_text(s: &str) -> String {
    let t = escape_for_terminal(s);
    if !t.contains(['\u{fffe}', '\u{ffff}']) {
        return t.into_owned();
    }
    t.chars()
        .map(|c| match c {
            '\u{fffe}' | '\u{ffff}' => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML (the Jenkins flavour): one testsuite, one testcase per property. `fail` is a
/// `<failure>`, `error` an `<error>`, `timeout` a `<failure type="timeout">`, `skip` a
/// `<skipped>` with the reason as its text.
///
/// Written to what both schemas of Jenkins' xunit plugin accept (`junit-10.xsd` and the
/// older `junit-4.xsd`, vendored in fixtures/junit/ and checked by tests/tests/formats.rs):
/// - `<testsuites>` carries name, tests, failures, errors and time only: neither schema
///   allows `skipped` or `timestamp` there (quick-junit always writes `skipped`, which
///   [`drop_root_skipped`] takes out again);
/// - `<testsuite>` carries `timestamp` and `hostname` but no `disabled` (junit-10 has none);
/// - `<skipped>` has no attributes (junit-4 makes it a plain string element): the reason
///   is its text;
/// - neither schema allows `<properties>` in a testcase, so a property's `man`, `errno`,
///   `expected` and `actual` are lines of the testcase's `<system-out>`, after its detail;
///   the subject's stdout and stderr tails follow in its `<system-out>` and `<system-err>`.
///
/// Time is counted once: the run's (or the subject's) time is the testsuite's, and a
/// testcase has only its own share (for a subject: the time its judging took).
pub fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let x = xml_text;
    let mut suite = TestSuite::new(format!("nsconform on {}", x(&report.kernel)));
    suite.set_time(Duration::from_millis(report.duration_ms));
    // (`extra` keeps the report's own RFC 3339 text, written after the counts.)
    if let Some(t) = &report.timestamp {
        suite.extra.insert("timestamp".into(), x(t).into());
    }
    if let Some(h) = &report.hostname {
        suite.extra.insert("hostname".into(), x(h).into());
    }
    suite.add_property(("kernel", x(&report.kernel).as_str()));
    suite.add_property((
        "privileged",
        if report.privileged { "true" } else { "false" },
    ));
    if let Some(sub) = &report.subject {
        suite.add_property(("subject", x(&sub.command.join(" ")).as_str()));
        let mut out = format!("{}\n", ending_text(&sub.ending));
        out.push_str(&sub.stdout_tail);
        suite.set_system_out(x(&out));
        suite.set_system_err(x(&sub.stderr_tail));
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
                s.set_description(x(&v.detail));
                s
            }
            o => {
                let kind = if o == Outcome::Error {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(x(&v.detail));
                s.set_type(o.as_str());
                s.set_description(x(&text));
                s
            }
        };
        let mut case = TestCase::new(x(&format!("{} {}", r.id, r.title)), status);
        case.set_classname(x(&format!(
            "nsconform.{}",
            r.id.split('-').next().unwrap_or("").to_lowercase()
        )));
        case.set_time(Duration::from_millis(r.duration_ms));
        case.set_system_out(x(&case_out(report, r)));
        if let Some(sub) = &report.subject {
            if !sub.stderr_tail.is_empty() {
                case.set_system_err(x(&sub.stderr_tail));
            }
        }
        suite.add_test_case(case);
    }
    let mut j = JReport::new("nsconform");
    j.set_time(Duration::from_millis(report.duration_ms));
    j.add_test_suite(suite);
    drop_root_skipped(j.to_string().expect("JUnit serializes"))
}

/// A testcase's `<system-out>`: outcome and detail, then `expected`, `actual`, `errno` and
/// `man` as `key: value` lines (the properties both schemas forbid on a testcase), then
/// the subject's ending and stdout tail when the verdict was judged from a subject run.
fn case_out(report: &Report, r: &PropertyResult) -> String {
    let v = &r.verdict;
    let mut out = format!("{}: {}\n", v.outcome.as_str(), v.detail);
    for (key, value) in [
        ("expected", &v.expected),
        ("actual", &v.actual),
        ("errno", &v.errno),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{key}: {value}");
        }
    }
    let _ = writeln!(out, "man: {}", r.man);
    if let Some(sub) = &report.subject {
        let _ = writeln!(out, "subject: {}", ending_text(&sub.ending));
        if !sub.stdout_tail.is_empty() {
            let _ = write!(out, "subject stdout (last lines):\n{}", sub.stdout_tail);
        }
    }
    out
}

/// quick-junit writes `skipped="N"` on the root `<testsuites>`, which neither Jenkins
/// schema allows there (the count stays on the `<testsuite>`): take it out of that one
/// start tag, whose other attributes are nsconform's own name and numbers.
fn drop_root_skipped(xml: String) -> String {
    let Some(start) = xml.find("<testsuites ") else {
        return xml;
    };
    let end = start + xml[start..].find('>').expect("the start tag closes");
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml;
    };
    let value_end =
        at + " skipped=\"".len() + tag[at + " skipped=\"".len()..].find('"').expect("quoted");
    let mut out = String::with_capacity(xml.len());
    out.push_str(&xml[..start + at]);
    out.push_str(&xml[start + value_end + 1..]);
    out
}

/// Escape a TAP description or comment: one line (a newline becomes a space, carriage
/// returns and other controls are escaped as [`escape_line`] does), then `#` and `\`,
/// the only escapes of TAP 14.
fn tap_escape(s: &str) -> String {
    escape_line(&s.replace('\n', " "))
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

/// A YAML double-quoted scalar: a JSON string, with the characters YAML does not allow
/// raw or takes as line breaks also written as `\uXXXX` (DEL, C1 controls, U+2028,
/// U+2029, bidi overrides, U+FEFF and the non-characters U+FFFE, U+FFFF).
fn yaml_quote(s: &str) -> String {
    let json = serde_json::to_string(s).expect("strings serialize");
    let bad = |c: char| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
    };
    if !json.contains(bad) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if bad(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Which TAP a report is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapVersion {
    /// TAP version 13 with YAML blocks: what Debian 12's `prove` (Test::Harness 3.44)
    /// and most TAP consumers read.
    V13,
    /// TAP version 14 (the same test points; 14 adds nothing this report needs).
    V14,
}

/// TAP with YAML diagnostics; `skip` is `ok ... # SKIP reason`, `fail`, `error` and
/// `timeout` are `not ok` with `severity` saying which. The version line comes first
/// and then the plan: what the run was (kernel, subject) is a comment after the last
/// test point, so no consumer takes it for a test suite of its own.
pub fn tap(report: &Report, version: TapVersion) -> String {
    let mut s = String::from(match version {
        TapVersion::V13 => "TAP version 13\n",
        TapVersion::V14 => "TAP version 14\n",
    });
    let _ = writeln!(s, "1..{}", report.results.len());
    for (i, r) in report.results.iter().enumerate() {
        tap_point(&mut s, "", i + 1, &format!("- {} {}", r.id, r.title), r);
    }
    let _ = writeln!(
        s,
        "# nsconform {} on kernel {}",
        tap_escape(&report.version),
        tap_escape(&report.kernel)
    );
    if let Some(sub) = &report.subject {
        let _ = writeln!(s, "# subject: {}", tap_escape(&sub.command.join(" ")));
        let _ = writeln!(s, "# {}", tap_escape(&ending_text(&sub.ending)));
    }
    s
}

/// One test point (and its YAML block when it did not pass), indented by `indent`.
fn tap_point(s: &mut String, indent: &str, n: usize, name: &str, r: &PropertyResult) {
    let v = &r.verdict;
    let desc = tap_escape(name);
    match v.outcome {
        Outcome::Pass => {
            let _ = writeln!(s, "{indent}ok {n} {desc}");
        }
        Outcome::Skip => {
            let _ = writeln!(s, "{indent}ok {n} {desc} # SKIP {}", tap_escape(&v.detail));
        }
        o => {
            let _ = writeln!(s, "{indent}not ok {n} {desc}");
            let _ = writeln!(s, "{indent}  ---");
            let q = yaml_quote;
            let _ = writeln!(s, "{indent}  severity: {}", o.as_str());
            let _ = writeln!(s, "{indent}  message: {}", q(&v.detail));
            if let Some(e) = &v.expected {
                let _ = writeln!(s, "{indent}  expected: {}", q(e));
            }
            if let Some(a) = &v.actual {
                let _ = writeln!(s, "{indent}  actual: {}", q(a));
            }
            if let Some(errno) = &v.errno {
                let _ = writeln!(s, "{indent}  errno: {}", q(errno));
            }
            let _ = writeln!(s, "{indent}  man: {}", q(&r.man));
            let _ = writeln!(s, "{indent}  ...");
        }
    }
}

/// KTAP version 1, as kselftest and KUnit write it (Documentation/dev-tools/ktap.rst):
/// one subtest per area (`# Subtest: PID`, its properties as test points indented by
/// two spaces), the area's own result line (`not ok` when any property failed, errored
/// or timed out; `# SKIP` when all were skipped), and kselftest's `# Totals:` line.
pub fn ktap(report: &Report) -> String {
    let mut areas: Vec<(&str, Vec<&PropertyResult>)> = Vec::new();
    for r in &report.results {
        let area = r.id.split('-').next().unwrap_or(&r.id);
        match areas.iter_mut().find(|(a, _)| *a == area) {
            Some((_, v)) => v.push(r),
            None => areas.push((area, vec![r])),
        }
    }
    let mut s = String::from("KTAP version 1\n");
    let _ = writeln!(
        s,
        "# nsconform {} on kernel {}",
        tap_escape(&report.version),
        tap_escape(&report.kernel)
    );
    let _ = writeln!(s, "1..{}", areas.len());
    for (i, (area, results)) in areas.iter().enumerate() {
        let area = tap_escape(area);
        let _ = writeln!(s, "  KTAP version 1");
        let _ = writeln!(s, "  # Subtest: {area}");
        let _ = writeln!(s, "  1..{}", results.len());
        for (k, r) in results.iter().enumerate() {
            // KTAP names are one word: the ID; the title follows as a diagnostic.
            tap_point(&mut s, "  ", k + 1, &r.id, r);
        }
        let bad = results
            .iter()
            .any(|r| !matches!(r.verdict.outcome, Outcome::Pass | Outcome::Skip));
        let all_skipped = results.iter().all(|r| r.verdict.outcome == Outcome::Skip);
        let line = if bad {
            format!("not ok {} {area}", i + 1)
        } else if all_skipped {
            format!("ok {} {area} # SKIP every property skipped", i + 1)
        } else {
            format!("ok {} {area}", i + 1)
        };
        let _ = writeln!(s, "{line}");
    }
    let n = |o| report.summary.get(&o).copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        n(Outcome::Pass),
        n(Outcome::Fail).saturating_add(n(Outcome::Timeout)),
        n(Outcome::Skip),
        n(Outcome::Error)
    );
    s
}

/// Gradescope's results.json (the top level), as its "Autograder Specifications"
/// document it (fixtures/gradescope/README.md): only the fields nsconform writes.
#[derive(Serialize, Debug)]
pub struct GradescopeResults {
    /// The submission's points: the sum of the tests' scores but the `hidden` ones (see
    /// [`gradescope`]).
    pub score: f64,
    /// Seconds.
    pub execution_time: f64,
    pub output: String,
    pub output_format: OutputFormat,
    pub visibility: Visibility,
    pub stdout_visibility: Visibility,
    pub tests: Vec<GradescopeTest>,
}

/// One test of a results.json: one rubric item.
#[derive(Serialize, Debug)]
pub struct GradescopeTest {
    pub name: String,
    /// Its place in the rubric, from `"1"`.
    pub number: String,
    pub score: f64,
    pub max_score: f64,
    pub status: Status,
    pub output: String,
    pub output_format: OutputFormat,
    /// (`rubric::Visibility` serializes as Gradescope's `hidden`, `after_due_date`,
    /// `after_published`, `visible`.)
    pub visibility: Visibility,
    /// The property ID, then the rubric group if it has one.
    pub tags: Vec<String>,
}

/// A Gradescope test's `status`.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
}

/// How Gradescope renders an `output` (`output_format`, `test_output_format`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Plain text in a `<pre>`.
    Text,
    Html,
    /// Gradescope's default: HTML with line breaks kept.
    SimpleFormat,
    Md,
    /// Text with ANSI color sequences.
    Ansi,
}

impl OutputFormat {
    /// `s` made to show as the text it is in this format: control characters (but `\n`
    /// and `\t`), C1 controls and bidi overrides escaped as [`escape_for_terminal`] does
    /// (so no ANSI sequence of a subject's output is rendered); for `html` and
    /// `simple_format` also `&`, `<`, `>` and quotes; for `md` also the characters
    /// Markdown gives a meaning, backslash-escaped.
    pub fn escape(self, s: &str) -> String {
        let t = escape_for_terminal(s);
        match self {
            OutputFormat::Text | OutputFormat::Ansi => t.into_owned(),
            OutputFormat::Html | OutputFormat::SimpleFormat => {
                let mut out = String::with_capacity(t.len());
                for c in t.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '"' => out.push_str("&quot;"),
                        '\'' => out.push_str("&#39;"),
                        c => out.push(c),
                    }
                }
                out
            }
            OutputFormat::Md => {
                let mut out = String::with_capacity(t.len());
                for c in t.chars() {
                    if "\\`*_{}[]()<>#+-.!|~".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out
            }
        }
    }
}

/// Gradescope's results.json: one test per rubric item, full points for a pass. An
/// environment error is said to be one (not the student's fault) in the output. Every
/// output is plain `text`, escaped for it ([`OutputFormat::escape`]); the fields are
/// checked against fixtures/gradescope/results.schema.json, the documented ones.
///
/// Visibility follows Gradescope's documented semantics: a test's `visibility` is its
/// rubric item's; `after_due_date` and `after_published` tests make Gradescope hide the
/// total until then; `hidden` tests are never shown and, as Gradescope documents them
/// ("they should only be used for tests which don't contribute points to the total"),
/// do not count in the top-level `score`, which overrides the sum of the tests: were
/// they counted, a student could subtract the visible tests from the total and learn
/// the hidden results. Nor does the top-level output mention their environment errors.
pub fn gradescope(report: &Report, rubric: &Rubric) -> String {
    let fmt = OutputFormat::Text;
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
                        if item.visibility != Visibility::Hidden {
                            env_errors += 1;
                        }
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
                    if pass { Status::Passed } else { Status::Failed },
                    out,
                )
            }
            None => (
                0.0,
                Status::Failed,
                format!("NOT RUN: property {} was not part of this run", item.id),
            ),
        };
        tests.push(GradescopeTest {
            name: fmt.escape(&item.name),
            number: format!("{}", i + 1),
            score,
            max_score: item.points,
            status,
            output: fmt.escape(&output),
            output_format: fmt,
            visibility: item.visibility,
            tags: std::iter::once(&item.id)
                .chain(&item.group)
                .map(|t| fmt.escape(t))
                .collect(),
        });
    }
    // (A float sum of nothing is -0.0; start from +0.0.)
    let earned = tests
        .iter()
        .filter(|t| t.visibility != Visibility::Hidden)
        .fold(0.0, |a, t| a + t.score);
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
    let results = GradescopeResults {
        score: earned,
        execution_time: report.duration_ms as f64 / 1000.0,
        output: fmt.escape(&output),
        // The top-level output defaults to `simple_format`, which renders HTML: the
        // subject's stderr must show as the text it is.
        output_format: fmt,
        visibility: Visibility::Visible,
        stdout_visibility: Visibility::Hidden,
        tests,
    };
    serde_json::to_string_pretty(&results).expect("results serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::hostile_report;

    #[test]
    fn the_xml_check_rejects_raw_control_characters() {
        // What the JUnit test below relies on: the parser refuses what XML 1.0 forbids.
        assert!(roxmltree::Document::parse("<a>\x1b</a>").is_err());
        assert!(roxmltree::Document::parse("<a>\x00</a>").is_err());
        assert!(roxmltree::Document::parse("<a>\u{fffe}</a>").is_err());
        assert!(roxmltree::Document::parse("<a>ok</a>").is_ok());
    }

    #[test]
    fn junit_with_hostile_text_is_well_formed_xml() {
        let xml = junit(&hostile_report());
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .expect("a failure element");
        assert_eq!(
            failure.attribute("message"),
            Some("boom\\x1b[2K\\x1b[1A\\u{202e}ssap")
        );
        let text = failure.text().unwrap_or("");
        assert!(text.contains("expected: a\\x00b"), "{text}");
        let out = doc
            .descendants()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap_or("");
        assert!(out.contains("out\\x1b[2J\\x00\\u{fffe}"), "{out}");
        assert!(!xml.contains('\u{202e}') && !xml.contains('\u{2066}'));
    }

    #[test]
    fn junit_counts_time_once_and_writes_only_what_both_jenkins_schemas_allow() {
        let mut r = hostile_report();
        r.stamp(std::time::UNIX_EPOCH, vec!["nsconform".into()]);
        r.duration_ms = 1500;
        r.subject.as_mut().expect("a subject run").duration_ms = 1400;
        let mut skipped = r.results[0].clone();
        skipped.id = "UTS-02".into();
        skipped.verdict = crate::outcome::Verdict::skip("needs root");
        r.results.push(skipped);
        for case in &mut r.results {
            // What subject::judge gives every verdict: its own judging time.
            case.duration_ms = 3;
        }
        let xml = junit(&r);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("skipped"), None, "{xml}");
        assert_eq!(root.attribute("time"), Some("1.500"));
        let suite = root.first_element_child().expect("a testsuite");
        assert_eq!(suite.attribute("disabled"), None, "{xml}");
        assert_eq!(suite.attribute("skipped"), Some("1"));
        assert_eq!(suite.attribute("timestamp"), Some("1970-01-01T00:00:00Z"));
        assert!(suite.attribute("hostname").is_some(), "{xml}");
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), 2);
        for case in &cases {
            assert_eq!(case.attribute("time"), Some("0.003"), "{xml}");
            assert!(!case.children().any(|n| n.has_tag_name("properties")));
            let out = case
                .children()
                .find(|n| n.has_tag_name("system-out"))
                .and_then(|n| n.text())
                .expect("a system-out per testcase");
            assert!(out.contains("man: uts_namespaces(7)"), "{out}");
            assert!(out.contains("subject stdout (last lines):"), "{out}");
            let err = case.children().find(|n| n.has_tag_name("system-err"));
            assert!(err
                .and_then(|n| n.text())
                .is_some_and(|t| t.starts_with("err")));
        }
        let first = cases[0]
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap();
        assert!(
            first.contains("\nexpected: a\\x00b\nactual: c\\u{9b}d\nerrno: E\\x07\n"),
            "{first}"
        );
        let skip = cases[1]
            .children()
            .find(|n| n.has_tag_name("skipped"))
            .expect("skipped");
        assert_eq!(
            skip.attributes().len(),
            0,
            "junit-4 allows no attribute on skipped"
        );
        assert_eq!(skip.text(), Some("needs root"));
    }

    #[test]
    fn tap_lines_carry_no_raw_controls_or_newlines() {
        let mut r = hostile_report();
        let mut skipped = r.results[0].clone();
        skipped.id = "UTS-02".into();
        skipped.verdict = crate::outcome::Verdict::skip("two\nlines\r# not a comment\x1b");
        r.results.push(skipped);
        let tap = tap(&r, TapVersion::V13);
        let ktap = ktap(&r);
        for line in tap.lines().chain(ktap.lines()) {
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "{line:?}"
            );
            assert!(!line.contains(['\u{202e}', '\u{2066}']), "{line:?}");
        }
        assert!(
            tap.contains("ok 2 - UTS-02 hostname is private # SKIP two lines\\\\x0d\\# not a comment\\\\x1b\n"),
            "{tap}"
        );
        assert!(
            tap.contains("  message: \"boom\\u001b[2K\\u001b[1A\\u202essap\"\n"),
            "{tap}"
        );
        assert!(tap.contains("  errno: \"E\\u0007\"\n"), "{tap}");
        assert!(tap.contains("  actual: \"c\\u009bd\"\n"), "{tap}");
        assert!(
            ktap.contains("  ok 2 UTS-02 # SKIP two lines\\\\x0d\\# not a comment\\\\x1b\n"),
            "{ktap}"
        );
    }

    #[test]
    fn gradescope_with_hostile_text_is_valid_json() {
        let r = hostile_report();
        let rubric = Rubric::one_point_each(&r.results);
        let v: serde_json::Value = serde_json::from_str(&gradescope(&r, &rubric)).unwrap();
        assert_eq!(v["tests"][0]["status"], "failed");
        assert_eq!(v["tests"][0]["output_format"], "text");
        assert_eq!(v["output_format"], "text");
        // Every text shows as the text it is: no raw control or bidi character.
        let mut texts = vec![v["output"].as_str().unwrap()];
        texts.extend(v["tests"].as_array().unwrap().iter().flat_map(|t| {
            [&t["output"], &t["name"]]
                .into_iter()
                .chain(t["tags"].as_array().unwrap())
                .map(|x| x.as_str().unwrap())
        }));
        for t in texts {
            assert!(
                !t.chars().any(|c| (c.is_control() && c != '\n' && c != '\t')
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
                "{t:?}"
            );
        }
        let out = v["tests"][0]["output"].as_str().unwrap();
        assert!(
            out.starts_with("FAIL: boom\\x1b[2K\\x1b[1A\\u{202e}ssap\n"),
            "{out}"
        );
        assert!(
            out.contains("expected: a\\x00b\nactual:   c\\u{9b}d"),
            "{out}"
        );
        let top = v["output"].as_str().unwrap();
        assert!(top.contains("err\\x1b[1A\\u{2066}"), "{top}");
    }

    #[test]
    fn gradescope_enums_serialize_as_documented() {
        fn s<T: Serialize>(v: &T) -> String {
            serde_json::to_string(v).unwrap()
        }
        assert_eq!(s(&Status::Passed), "\"passed\"");
        assert_eq!(s(&Status::Failed), "\"failed\"");
        for (f, name) in [
            (OutputFormat::Text, "text"),
            (OutputFormat::Html, "html"),
            (OutputFormat::SimpleFormat, "simple_format"),
            (OutputFormat::Md, "md"),
            (OutputFormat::Ansi, "ansi"),
        ] {
            assert_eq!(s(&f), format!("\"{name}\""));
        }
        for (v, name) in [
            (Visibility::Hidden, "hidden"),
            (Visibility::AfterDueDate, "after_due_date"),
            (Visibility::AfterPublished, "after_published"),
            (Visibility::Visible, "visible"),
        ] {
            assert_eq!(s(&v), format!("\"{name}\""));
        }
        assert_eq!(OutputFormat::Html.escape("<b>&\x1b"), "&lt;b&gt;&amp;\\x1b");
        assert_eq!(OutputFormat::Md.escape("*a* `b`"), "\\*a\\* \\`b\\`");
        assert_eq!(OutputFormat::Text.escape("<b> *a*\n"), "<b> *a*\n");
    }

    /// A rubric with one item of each visibility, and a run where every one passed but
    /// `fail_id`.
    fn every_visibility(fail_id: &str) -> (Report, Rubric) {
        let mut r = hostile_report();
        let ids = ["UTS-01", "PID-01", "MNT-01", "IPC-01"];
        let template = r.results[0].clone();
        r.results = ids
            .iter()
            .map(|id| {
                let mut p = template.clone();
                p.id = id.to_string();
                p.verdict = if *id == fail_id {
                    crate::outcome::Verdict::error("unshare: EPERM")
                } else {
                    crate::outcome::Verdict::pass("ok")
                };
                p
            })
            .collect();
        let mut rubric = Rubric::one_point_each(&r.results);
        let vis = [
            Visibility::Visible,
            Visibility::Hidden,
            Visibility::AfterDueDate,
            Visibility::AfterPublished,
        ];
        for (item, (v, points)) in rubric
            .items
            .iter_mut()
            .zip(vis.into_iter().zip([1.0, 4.0, 2.0, 8.0]))
        {
            item.visibility = v;
            item.points = points;
        }
        (r, rubric)
    }

    #[test]
    fn gradescope_total_tells_nothing_of_hidden_tests() {
        // All pass: the hidden test shows its 4 points to the instructor, but the total
        // is that of the tests a student sees (now or later): 1 + 2 + 8.
        let (r, rubric) = every_visibility("none");
        let v: serde_json::Value = serde_json::from_str(&gradescope(&r, &rubric)).unwrap();
        let tests = v["tests"].as_array().unwrap();
        let vis: Vec<_> = tests.iter().map(|t| t["visibility"].clone()).collect();
        assert_eq!(
            vis,
            ["visible", "hidden", "after_due_date", "after_published"]
        );
        assert_eq!(tests[1]["score"], 4.0);
        assert_eq!(tests[1]["status"], "passed");
        assert_eq!(v["score"], 11.0);
        let shown: f64 = tests
            .iter()
            .filter(|t| t["visibility"] != "hidden")
            .map(|t| t["score"].as_f64().unwrap())
            .sum();
        assert_eq!(v["score"].as_f64().unwrap(), shown);
        // Whether the hidden test passes or not, the total and the top-level output are
        // the same: nothing to subtract, no environment error mentioned.
        let (r2, rubric2) = every_visibility("PID-01");
        let v2: serde_json::Value = serde_json::from_str(&gradescope(&r2, &rubric2)).unwrap();
        assert_eq!(v2["tests"][1]["status"], "failed");
        assert_eq!(v2["tests"][1]["score"], 0.0);
        assert_eq!(v2["score"], v["score"]);
        assert_eq!(v2["output"], v["output"]);
        // A visible item's environment error is told in the top-level output, and its
        // points are missing from the total.
        let (r3, rubric3) = every_visibility("UTS-01");
        let v3: serde_json::Value = serde_json::from_str(&gradescope(&r3, &rubric3)).unwrap();
        assert_eq!(v3["score"], 10.0);
        assert!(v3["output"]
            .as_str()
            .unwrap()
            .contains("environment errors"));
    }
}
