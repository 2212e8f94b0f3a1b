//! Report formats, validated by parsing them back: JUnit with quick-junit's reader, TAP
//! with Debian's `prove` and a strict TAP 13/14 parser written here, KTAP by its
//! structure, Gradescope against its results.json fields.

use nsconform_core::env::Env;
use nsconform_core::formats;
use nsconform_core::outcome::Verdict;
use nsconform_core::report::Report;
use nsconform_core::rubric::Rubric;
use nsconform_core::run::PropertyResult;

/// A report with every outcome, and text that needs escaping.
fn sample() -> Report {
    let r = |id: &str, v: Verdict| PropertyResult {
        id: id.into(),
        title: format!("title of {id} # with hash & <xml>"),
        man: "pid_namespaces(7)".into(),
        control: None,
        verdict: v,
        duration_ms: 3,
    };
    let results = vec![
        r("PID-01", Verdict::pass("ok")),
        r(
            "UTS-02",
            Verdict::fail("hostname leaked \\ to \"host\"", "vm", "container"),
        ),
        r("IPC-08", Verdict::skip("needs root # really")),
        r(
            "NET-01",
            Verdict::error("cannot create a network namespace").with_errno("EPERM"),
        ),
        r("MNT-01", Verdict::timeout("did not finish")),
    ];
    Report::new(&Env::detect(None), results, 42)
}

#[test]
fn junit_parses_back_with_the_right_counts() {
    let xml = formats::junit(&sample());
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.test_cases.len(), 5);
    assert_eq!(suite.failures, 2, "fail and timeout are failures");
    assert_eq!(suite.errors, 1);
    assert!(xml.contains("<skipped"), "{xml}");
    let timeout = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str().starts_with("MNT-01"))
        .unwrap();
    match &timeout.status {
        quick_junit::TestCaseStatus::NonSuccess { kind, ty, .. } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("timeout"));
        }
        other => panic!("timeout rendered as {other:?}"),
    }
}

/// A TAP 14 test point as a parser sees it.
#[derive(Debug)]
struct Point {
    ok: bool,
    number: usize,
    directive: Option<String>,
    yaml: Vec<String>,
}

/// Parse TAP 13 or 14 (version line first, one plan, test points, YAML blocks,
/// comments), failing on anything a conforming harness would reject.
fn parse_tap(text: &str) -> (usize, Vec<Point>) {
    let mut lines = text.lines().peekable();
    assert!(
        matches!(lines.next(), Some("TAP version 13" | "TAP version 14")),
        "the version line comes first: {text}"
    );
    let mut plan = None;
    let mut points: Vec<Point> = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(p) = line.strip_prefix("1..") {
            assert!(plan.is_none(), "two plans");
            plan = Some(p.parse::<usize>().expect("numeric plan"));
            continue;
        }
        let (ok, rest) = if let Some(r) = line.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("not ok ") {
            (false, r)
        } else if line == "  ---" {
            let p = points.last_mut().expect("YAML after a test point");
            for y in lines.by_ref() {
                if y == "  ..." {
                    break;
                }
                assert!(y.starts_with("  "), "YAML not indented: {y:?}");
                p.yaml.push(y[2..].to_string());
            }
            continue;
        } else {
            panic!("invalid TAP line {line:?}");
        };
        let (num, desc) = rest.split_once(' ').unwrap_or((rest, ""));
        // The directive follows the first unescaped " # ".
        let mut directive = None;
        let bytes = desc.as_bytes();
        for i in 0..bytes.len() {
            if desc[i..].starts_with(" # ") && (i == 0 || bytes[i - 1] != b'\\') {
                directive = Some(desc[i + 3..].to_string());
                break;
            }
        }
        points.push(Point {
            ok,
            number: num.parse().expect("numbered"),
            directive,
            yaml: vec![],
        });
    }
    (plan.expect("a plan"), points)
}

#[test]
fn tap_is_valid_tap_13_and_14() {
    let v13 = formats::tap(&sample(), formats::TapVersion::V13);
    let v14 = formats::tap(&sample(), formats::TapVersion::V14);
    assert!(v13.starts_with("TAP version 13\n1..5\n"), "{v13}");
    assert!(v14.starts_with("TAP version 14\n1..5\n"), "{v14}");
    // The same test points; only the version line differs.
    assert_eq!(
        v13.lines().skip(1).collect::<Vec<_>>(),
        v14.lines().skip(1).collect::<Vec<_>>()
    );
    let (plan, points) = parse_tap(&v14);
    assert_eq!(plan, 5);
    assert_eq!(points.len(), 5);
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p.number, i + 1);
    }
    let by_outcome: Vec<(bool, Option<&str>)> = points
        .iter()
        .map(|p| (p.ok, p.directive.as_deref()))
        .collect();
    assert_eq!(by_outcome[0], (true, None));
    assert_eq!(by_outcome[1], (false, None));
    assert!(by_outcome[2].0);
    assert!(by_outcome[2]
        .1
        .unwrap()
        .starts_with("SKIP needs root \\# really"));
    assert!(!points[3].ok && !points[4].ok);
    for p in points.iter().filter(|p| !p.ok) {
        let yaml = p.yaml.join("\n");
        for key in ["severity:", "message:"] {
            assert!(yaml.contains(key), "{yaml}");
        }
        for line in &p.yaml {
            let (_, value) = line.split_once(": ").expect("key: value");
            let plain_word = value.chars().all(|c| c.is_ascii_lowercase());
            assert!(
                plain_word || serde_json::from_str::<String>(value).is_ok(),
                "YAML value neither a plain word nor a quoted scalar: {value}"
            );
        }
    }
    assert!(points[3].yaml.iter().any(|l| l == "severity: error"));
    assert!(points[4].yaml.iter().any(|l| l == "severity: timeout"));
}

/// Debian 12's `prove` (Test::Harness 3.44) reads the TAP: PASS for a report without
/// failures, FAIL naming the failed points otherwise; it refuses TAP 14 outright.
#[test]
fn debian_prove_reads_the_tap() {
    nsconform_tests::require_tool("prove", "perl");
    let tmp = tempfile::tempdir().unwrap();
    let prove = |text: &str| {
        let file = tmp.path().join("report.tap");
        std::fs::write(&file, text).unwrap();
        let out = nsconform_tests::capture(duct::cmd!("prove", "-v", "--exec", "cat", &file));
        (out.success(), out.text())
    };
    let mut good = sample();
    good.results.retain(|r| {
        matches!(
            r.verdict.outcome,
            nsconform_core::Outcome::Pass | nsconform_core::Outcome::Skip
        )
    });
    let (ok, text) = prove(&formats::tap(&good, formats::TapVersion::V13));
    assert!(ok && text.contains("Result: PASS"), "{text}");
    let (ok, text) = prove(&formats::tap(&sample(), formats::TapVersion::V13));
    assert!(!ok && text.contains("Result: FAIL"), "{text}");
    assert!(text.contains("Failed tests:  2, 4-5"), "{text}");
    // TAP 14 is what this prove cannot read: the reason TAP 13 is the default.
    let (ok, text) = prove(&formats::tap(&good, formats::TapVersion::V14));
    assert!(!ok && text.contains("version 14"), "{text}");
}

/// KTAP version 1: a subtest per area, indented, each closed by the area's own result;
/// kselftest's `# Totals:` at the end.
#[test]
fn ktap_has_a_subtest_per_area_and_totals() {
    let text = formats::ktap(&sample());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "KTAP version 1");
    assert!(lines.contains(&"1..5"), "{text}");
    // Every area is a subtest of one property here.
    for (i, area) in ["PID", "UTS", "IPC", "NET", "MNT"].iter().enumerate() {
        let header = lines
            .iter()
            .position(|l| *l == format!("  # Subtest: {area}"))
            .unwrap_or_else(|| panic!("no subtest {area}: {text}"));
        assert_eq!(lines[header - 1], "  KTAP version 1");
        assert_eq!(lines[header + 1], "  1..1");
        let result = lines[header + 2..]
            .iter()
            .find(|l| !l.starts_with(' '))
            .unwrap();
        let n = i + 1;
        let want = match *area {
            "PID" => format!("ok {n} PID"),
            "IPC" => format!("ok {n} IPC # SKIP every property skipped"),
            _ => format!("not ok {n} {area}"),
        };
        assert_eq!(*result, want, "{text}");
    }
    assert!(lines.contains(&"  ok 1 PID-01"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  ok 1 IPC-08 # SKIP needs root \\# really")),
        "{text}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        "# Totals: pass:1 fail:2 xfail:0 xpass:0 skip:1 error:1"
    );
}

#[test]
fn gradescope_has_the_results_json_fields_and_scores_by_the_rubric() {
    let rubric = Rubric::default_lab();
    let out: serde_json::Value =
        serde_json::from_str(&formats::gradescope(&sample(), &rubric)).unwrap();
    let tests = out["tests"].as_array().unwrap();
    assert_eq!(tests.len(), rubric.items.len());
    let mut sum = 0.0;
    for t in tests {
        for key in [
            "name",
            "number",
            "score",
            "max_score",
            "status",
            "output",
            "visibility",
        ] {
            assert!(t.get(key).is_some(), "test without {key}: {t}");
        }
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
        assert!(["visible", "hidden", "after_due_date", "after_published"]
            .contains(&t["visibility"].as_str().unwrap()));
        sum += t["score"].as_f64().unwrap();
    }
    assert_eq!(out["score"].as_f64().unwrap(), sum);
    // Only PID-01 passed in the sample: 2 points by the default rubric.
    assert_eq!(sum, 2.0);
    assert!(out["execution_time"].is_number());
    let net = tests.iter().find(|t| t["tags"][0] == "NET-01").unwrap();
    assert!(net["output"]
        .as_str()
        .unwrap()
        .starts_with("ENVIRONMENT ERROR"));
    assert!(out["output"]
        .as_str()
        .unwrap()
        .contains("environment errors"));
    let mnt = tests.iter().find(|t| t["tags"][0] == "MNT-01").unwrap();
    assert_eq!(mnt["visibility"], "after_due_date");
}

#[test]
fn every_format_is_produced_by_the_cli() {
    for format in [
        "human",
        "json",
        "junit",
        "tap",
        "tap14",
        "ktap",
        "gradescope",
    ] {
        let out = duct::cmd(
            nsconform_tests::cli(),
            ["run", "--format", format, "NET-01", "PID-01"],
        )
        .stdout_capture()
        .unchecked()
        .run()
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{format}: {text}");
        match format {
            "json" | "gradescope" => {
                drop(serde_json::from_str::<serde_json::Value>(&text).unwrap())
            }
            "junit" => drop(quick_junit::Report::deserialize_from_str(&text).unwrap()),
            "tap" | "tap14" => assert_eq!(parse_tap(&text).0, 2),
            "ktap" => assert!(text.starts_with("KTAP version 1\n"), "{text}"),
            _ => assert!(text.contains("NET-01")),
        }
    }
}

#[test]
fn a_bad_rubric_is_a_usage_error_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("r.toml");
    std::fs::write(
        &path,
        "[[property]]\nid = \"PID-01\"\npoints = 1\n\n[[property]]\nid = \"XYZ-01\"\npoints = 2\n",
    )
    .unwrap();
    let (code, _, err) =
        nsconform_tests::nsconform(&["run", "PID-01", "--rubric", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("r.toml:6: unknown property ID `XYZ-01`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------
// Consumer validation: reports the built CLI writes, read by the programs CI systems
// and graders use. JUnit: python3 `xmlschema` against both Jenkins xunit schemas
// (fixtures/junit/) and `junitparser`; TAP 13: Debian's `prove`; TAP 14: npm
// `tap-parser` in strict mode; Gradescope: python3 `jsonschema` against the documented
// results.json fields (fixtures/gradescope/). ci/deps.sh installs them; a missing one
// fails its test.

/// Where the npm consumers are installed (`npm install --prefix DIR tap-parser`):
/// `$NSCONFORM_CONSUMERS`, by default /opt/nsconform-consumers (what .ci/run uses).
fn consumers_dir() -> std::path::PathBuf {
    std::env::var_os("NSCONFORM_CONSUMERS")
        .map(Into::into)
        .unwrap_or_else(|| "/opt/nsconform-consumers".into())
}

/// The python3 with the consumers' modules: `$NSCONFORM_PYTHON`, else the venv
/// ci/deps.sh makes under the consumers' folder, else `python3`.
fn python() -> String {
    if let Ok(p) = std::env::var("NSCONFORM_PYTHON") {
        return p;
    }
    let venv = consumers_dir().join("venv/bin/python3");
    if venv.exists() {
        return venv.to_string_lossy().into_owned();
    }
    "python3".into()
}

/// A consumer this machine lacks: the test fails naming it and how to install it (a
/// check that did not run is never reported as passed).
fn not_run(why: &str) {
    panic!("consumer missing: {why}; ci/deps.sh (run by ci/test, as root) installs the consumers");
}

/// Whether `python()` imports every module of `modules`; `not_run` when not.
fn python_has(modules: &str) -> bool {
    let ok = duct::cmd!(python(), "-c", format!("import {modules}"))
        .stdout_null()
        .stderr_null()
        .unchecked()
        .run()
        .is_ok_and(|o| o.status.success());
    if !ok {
        not_run(&format!(
            "{} cannot import {modules} (or does not start): pip install {}",
            python(),
            modules.replace(',', "")
        ));
    }
    ok
}

/// One report the CLI wrote.
struct Produced {
    /// Which run: `catalogue`, `rootless`, `control`, `subject-pass`, `subject-fail`,
    /// `repeat` (json only).
    run: &'static str,
    format: &'static str,
    path: std::path::PathBuf,
    /// nsconform's exit status for that run.
    code: i32,
}

const FORMATS: [&str; 6] = ["junit", "tap", "tap14", "ktap", "gradescope", "json"];

/// Every run in every machine format, written once per test process into a temporary
/// directory: the whole catalogue, the rootless path (`--rootless-as 65534` when root;
/// a normal user's run is rootless already), a negative control, and the passing and
/// the failing fixture subject (fixtures/subjects: `container`, `no-netns`); and, in
/// `json` only, the catalogue run twice (`--repeat 2`).
fn produced() -> &'static [Produced] {
    static ALL: std::sync::OnceLock<(tempfile::TempDir, Vec<Produced>)> =
        std::sync::OnceLock::new();
    &ALL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let subjects = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/subjects");
        let built = nsconform_tests::capture(duct::cmd!("make", "-s", "-C", subjects));
        assert!(
            built.success(),
            "building the fixtures failed: {}",
            built.text()
        );
        let bin = std::path::Path::new(subjects).join("bin");
        let subject = |name: &str| format!("{} {{probe}}", bin.join(name).display());
        let rootless: Vec<String> = if nsconform_tests::root() {
            vec!["--rootless-as".into(), "65534".into()]
        } else {
            vec![]
        };
        let runs: [(&str, Vec<String>); 6] = [
            ("catalogue", vec![]),
            ("rootless", rootless),
            ("control", vec!["--control".into(), "no-new-uts".into()]),
            (
                "subject-pass",
                vec!["--subject".into(), subject("container")],
            ),
            (
                "subject-fail",
                vec!["--subject".into(), subject("no-netns")],
            ),
            ("repeat", vec!["--repeat".into(), "2".into()]),
        ];
        let mut out = Vec::new();
        for (run, args) in &runs {
            for format in FORMATS {
                if *run == "repeat" && format != "json" {
                    continue;
                }
                let path = dir.path().join(format!("{run}.{format}"));
                let mut argv: Vec<String> = vec!["run".into(), "--format".into(), format.into()];
                argv.extend(args.iter().cloned());
                argv.extend(["-o".into(), path.display().to_string()]);
                let c = nsconform_tests::capture(duct::cmd(nsconform_tests::cli(), &argv));
                assert!(
                    path.is_file() && [0, 1].contains(&c.code),
                    "nsconform {argv:?} exited {}: {}",
                    c.code,
                    c.text()
                );
                out.push(Produced {
                    run,
                    format,
                    path,
                    code: c.code,
                });
            }
        }
        let code = |run: &str| out.iter().find(|p| p.run == run).unwrap().code;
        assert_eq!(code("subject-pass"), 0, "the reference container passes");
        assert_eq!(code("subject-fail"), 1, "no-netns fails");
        assert_eq!(code("control"), 0, "every negative control is detected");
        (dir, out)
    })
    .1
}

fn of_format(format: &str) -> impl Iterator<Item = &'static Produced> + '_ {
    produced().iter().filter(move |p| p.format == format)
}

/// The python3 check of JUnit reports: `xmlschema` against both schemas, then
/// `junitparser` reads each report (counts, own times, per-testcase system-out,
/// timestamp and hostname) and merges every pair of reports (each testcase's time
/// counted once: a subject run's time is never multiplied by its properties).
const JUNIT_CHECK: &str = r#"
import sys, itertools, xmlschema, junitparser
from junitparser import JUnitXml, TestSuite, Failure, Error, Skipped
xsds, files = sys.argv[1:3], sys.argv[3:]
bad = []
for xsd in xsds:
    schema = xmlschema.XMLSchema(xsd)
    for f in files:
        for e in schema.iter_errors(f):
            bad.append(f"{f}: invalid for {xsd}: {e.reason} at {e.path}")
def subject(s):
    return any(p.name == "subject" for p in s.properties())
def load(f):
    x = JUnitXml.fromfile(f)
    return x if isinstance(x, JUnitXml) else JUnitXml().add_testsuite(x)
for f in files:
    x = load(f)
    suites = list(x)
    if len(suites) != 1:
        bad.append(f"{f}: {len(suites)} testsuites")
    for s in suites:
        cases = list(s)
        kinds = [type(r) for c in cases for r in c.result]
        for name, n, want in [("tests", s.tests, len(cases)),
                              ("failures", s.failures, kinds.count(Failure)),
                              ("errors", s.errors, kinds.count(Error)),
                              ("skipped", s.skipped, kinds.count(Skipped))]:
            if n != want:
                bad.append(f"{f}: testsuite says {name}={n}, its testcases {want}")
        # Each testcase has its own time only: none more than the whole run, and in a
        # subject run (judged from one run of the subject) together no more than it.
        for c in cases:
            if c.time > s.time + 0.001:
                bad.append(f"{f}: testcase {c.name!r} takes {c.time}s, more than the run's {s.time}s")
        if subject(s) and sum(c.time for c in cases) > s.time + 0.001:
            bad.append(f"{f}: the subject's testcases take {sum(c.time for c in cases):.3f}s, more than its run, {s.time}s")
        for c in cases:
            if "man: " not in (c.system_out or ""):
                bad.append(f"{f}: testcase {c.name!r} has no system-out with its man page")
        if s.timestamp is None or s.hostname is None:
            bad.append(f"{f}: testsuite without timestamp or hostname")
# junitparser (like Jenkins) takes a merged suite's time from its testcases: merging
# counts every testcase once, and two subject runs never add up to more than the two runs.
cases_time = lambda x: sum(c.time for s in x for c in s)
for a, b in itertools.combinations(files, 2):
    x, y = load(a), load(b)
    m = x + y
    if abs(m.time - (cases_time(x) + cases_time(y))) > 0.0015 or m.tests != x.tests + y.tests:
        bad.append(f"merging {a} and {b} gave {m.time}s, {m.tests} tests")
    if all(subject(s) for s in list(x) + list(y)) and m.time > x.time + y.time + 0.002:
        bad.append(f"merging subject runs {a} ({x.time}s) and {b} ({y.time}s) gave {m.time}s")
print("\n".join(bad) if bad else f"OK: {len(files)} reports valid for both schemas; read and merged by junitparser {junitparser.version}")
sys.exit(1 if bad else 0)
"#;

#[test]
#[serial_test::file_serial(host_state)]
fn junit_reports_are_valid_jenkins_junit_and_read_by_junitparser() {
    if !python_has("xmlschema, junitparser") {
        return;
    }
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/junit");
    let mut args: Vec<String> = vec![
        "-c".into(),
        JUNIT_CHECK.into(),
        format!("{fixtures}/junit-10.xsd"),
        format!("{fixtures}/junit-4.xsd"),
    ];
    args.extend(of_format("junit").map(|p| p.path.display().to_string()));
    let out = nsconform_tests::capture(duct::cmd(python(), &args));
    assert!(out.success(), "{}", out.text());
    assert!(out.stdout.starts_with("OK: 5 reports"), "{}", out.text());
}

/// Debian's prove (TAP 13): `Result: PASS` exactly for the runs nsconform passed.
#[test]
#[serial_test::file_serial(host_state)]
fn tap13_reports_are_read_by_debian_prove() {
    if !nsconform_core::spec::on_path("prove") {
        return not_run("`prove` is not installed: apt-get install perl");
    }
    for p in of_format("tap") {
        let out = nsconform_tests::capture(duct::cmd!("prove", "--exec", "cat", &p.path));
        let text = out.text();
        if p.code == 0 {
            assert!(
                out.success() && text.contains("Result: PASS"),
                "{}: {text}",
                p.run
            );
        } else {
            assert!(
                !out.success() && text.contains("Result: FAIL"),
                "{}: {text}",
                p.run
            );
            assert!(text.contains("Failed test"), "{}: {text}", p.run);
        }
        assert!(!text.contains("Parse errors"), "{}: {text}", p.run);
    }
}

/// The npm tap-parser in strict mode (any line that is not TAP is an error) reads the
/// TAP 14 reports: one plan covering every point, `ok` exactly for the runs nsconform
/// passed, and no failure but the `not ok` points.
const TAP14_CHECK: &str = r#"
const { Parser } = require(process.argv[1]);
const p = new Parser({ strict: true });
const extra = [];
p.on('extra', (l) => extra.push(l));
p.on('complete', (r) => console.log(JSON.stringify({
  ok: r.ok, count: r.count, fail: r.fail,
  plan: r.plan ? { start: r.plan.start, end: r.plan.end } : null,
  failures: r.failures.map((f) => ({ id: f.id || null, tapError: f.tapError || null })),
  extra,
})));
process.stdin.pipe(p);
"#;

#[test]
#[serial_test::file_serial(host_state)]
fn tap14_reports_are_read_by_strict_tap_parser() {
    let parser = consumers_dir().join("node_modules/tap-parser");
    if !nsconform_core::spec::on_path("node") || !parser.join("package.json").is_file() {
        return not_run(&format!(
            "node or {} missing: apt-get install nodejs npm; npm install --prefix {} tap-parser",
            parser.display(),
            consumers_dir().display()
        ));
    }
    for p in of_format("tap14") {
        let text = std::fs::read_to_string(&p.path).unwrap();
        let out = nsconform_tests::capture(
            duct::cmd!("node", "-e", TAP14_CHECK, &parser).stdin_bytes(text.as_bytes()),
        );
        assert!(out.success(), "{}: {}", p.run, out.text());
        let r: serde_json::Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: {e}: {}", p.run, out.text()));
        let not_ok = text.lines().filter(|l| l.starts_with("not ok ")).count();
        let points = text
            .lines()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .count();
        assert_eq!(r["extra"], serde_json::json!([]), "{}: {r}", p.run);
        assert!(
            r["failures"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["tapError"].is_null()),
            "{}: {r}",
            p.run
        );
        assert_eq!(r["count"], points, "{}: {r}", p.run);
        assert_eq!(r["plan"]["end"], points, "{}: {r}", p.run);
        assert_eq!(r["fail"], not_ok, "{}: {r}", p.run);
        assert_eq!(r["ok"], p.code == 0, "{}: {r}", p.run);
    }
}

/// The kernel's own KTAP reader, KUnit's `kunit_parser.py` (ci/deps.sh puts the
/// folder under `$NSCONFORM_CONSUMERS/kunit`): it parses each report (the parser's
/// progress goes to stderr), and the script prints the parse errors, the status of the
/// whole run, the counts of its leaf tests and each area's subtest with its tests.
const KTAP_CHECK: &str = r#"
import sys, json
real = sys.stdout
sys.stdout = sys.stderr  # kunit_printer binds sys.stdout when it is imported
sys.path.insert(0, sys.argv[1])
import kunit_parser
lines = open(sys.argv[2], errors="backslashreplace").read().splitlines()
test = kunit_parser.parse_run_tests(lines)
c = test.counts
real.write(json.dumps({
    "status": test.status.name,
    "errors": c.errors,
    "passed": c.passed, "failed": c.failed, "skipped": c.skipped, "crashed": c.crashed,
    "areas": [{"name": t.name, "status": t.status.name,
               "tests": [u.name for u in t.subtests]} for t in test.subtests],
}))
"#;

#[test]
#[serial_test::file_serial(host_state)]
fn ktap_reports_are_read_by_the_kernels_kunit_parser() {
    let kunit = consumers_dir().join("kunit");
    if !kunit.join("kunit_parser.py").is_file() {
        return not_run(&format!(
            "{} has no kunit_parser.py (the kernel's tools/testing/kunit, from Debian's linux-source-6.1)",
            kunit.display()
        ));
    }
    for p in of_format("ktap") {
        let text = std::fs::read_to_string(&p.path).unwrap();
        let out =
            nsconform_tests::capture(duct::cmd!("python3", "-c", KTAP_CHECK, &kunit, &p.path));
        assert!(out.success(), "{}: {}", p.run, out.text());
        let r: serde_json::Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: {e}: {}", p.run, out.text()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KTAP version 1", "{}", p.run);
        assert_eq!(
            r["errors"],
            0,
            "{}: parse errors: {}\n{text}",
            p.run,
            out.text()
        );
        // Leaf results are the indented `ok`/`not ok` lines, one per property.
        let leaf = |prefix: &str| {
            lines
                .iter()
                .filter(|l| l.starts_with(' ') && l.trim_start().starts_with(prefix))
                .count()
        };
        let (not_ok, all) = (leaf("not ok "), leaf("ok ") + leaf("not ok "));
        let counted = ["passed", "failed", "skipped", "crashed"]
            .iter()
            .map(|k| r[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(counted as usize, all, "{}: {r}", p.run);
        assert_eq!(
            r["failed"].as_u64().unwrap() as usize,
            not_ok,
            "{}: {r}",
            p.run
        );
        let areas = r["areas"].as_array().unwrap();
        let plan: usize = lines
            .iter()
            .find_map(|l| l.strip_prefix("1.."))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: no plan: {text}", p.run));
        assert_eq!(areas.len(), plan, "{}: {r}", p.run);
        assert!(
            areas
                .iter()
                .all(|a| !a["tests"].as_array().unwrap().is_empty()),
            "{}: an area without tests: {r}",
            p.run
        );
        assert_eq!(
            r["status"] == "SUCCESS",
            p.code == 0 && r["skipped"] != all as u64,
            "{}: {r}",
            p.run
        );
        assert!(lines.last().unwrap().starts_with("# Totals: "), "{}", p.run);
    }
}

/// Gradescope's results.json, checked with python3 `jsonschema` against the documented
/// fields (fixtures/gradescope/results.schema.json, strict: nothing undocumented).
const GRADESCOPE_CHECK: &str = r#"
import sys, json, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = []
for f in sys.argv[2:]:
    doc = json.load(open(f))
    bad += [f"{f}: {e.message} at {list(e.absolute_path)}" for e in v.iter_errors(doc)]
    # Gradescope's rule: hidden tests do not count in the total.
    total = sum(t.get("score", 0) for t in doc.get("tests", [])
                if t.get("visibility") != "hidden")
    if abs(doc["score"] - total) > 1e-9:
        bad.append(f"{f}: score {doc['score']} but the tests shown add up to {total}")
print("\n".join(bad) if bad else f"OK: {len(sys.argv) - 2} results.json valid")
sys.exit(1 if bad else 0)
"#;

#[test]
#[serial_test::file_serial(host_state)]
fn gradescope_reports_match_the_documented_results_json() {
    if !python_has("jsonschema") {
        return;
    }
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/gradescope/results.schema.json"
    );
    let mut args: Vec<String> = vec!["-c".into(), GRADESCOPE_CHECK.into(), schema.into()];
    args.extend(of_format("gradescope").map(|p| p.path.display().to_string()));
    let out = nsconform_tests::capture(duct::cmd(python(), &args));
    assert!(out.success(), "{}", out.text());
    assert!(out.stdout.starts_with("OK: 5"), "{}", out.text());
}

// ---------------------------------------------------------------------------------
// The JSON report's published schema (docs/report.schema.json).

const REPORT_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/report.schema.json");

/// docs/report.schema.json is what the report's types generate
/// (`nsconform_core::report::json_schema`); `NSCONFORM_BLESS=1` rewrites it.
#[test]
fn docs_report_schema_json_is_up_to_date() {
    let generated = nsconform_core::report::json_schema();
    if std::env::var_os("NSCONFORM_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(REPORT_SCHEMA, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(REPORT_SCHEMA).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/report.schema.json is out of date: run \
         `NSCONFORM_BLESS=1 cargo test -p nsconform-tests --test formats docs_report_schema`"
    );
}

/// The check of JSON reports: python3 `jsonschema` against docs/report.schema.json (the
/// schema itself checked first), then that every run kind is there and carries what it
/// must: `environment` (catalogue runs), `control`, `subject`, `repeat`.
const REPORT_CHECK: &str = r#"
import sys, json, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = []
for f in sys.argv[2:]:
    doc = json.load(open(f))
    bad += [f"{f}: {e.message} at {list(e.absolute_path)}" for e in v.iter_errors(doc)]
    run = f.rsplit("/", 1)[-1].split(".")[0]
    need = {"catalogue": "environment", "rootless": "environment", "repeat": "repeat",
            "subject-pass": "subject", "subject-fail": "subject"}.get(run)
    if need and need not in doc:
        bad.append(f"{f}: no {need}")
    if run == "control" and not any("control" in r for r in doc["results"]):
        bad.append(f"{f}: no result names its control")
    if run == "repeat" and doc.get("repeat", {}).get("runs") != 2:
        bad.append(f"{f}: repeat is not 2 runs")
    if run == "subject-changes" and len(doc["subject"]["host_changes"]) != 2:
        bad.append(f"{f}: host changes lost")
# The schema catches a wrong type, an unknown field and a missing one.
good = json.load(open(sys.argv[2]))
def broken(change):
    doc = json.loads(json.dumps(good))
    change(doc)
    return doc
for what, change in [
    ("duration_ms as a string", lambda d: d.update(duration_ms="42")),
    ("an unknown outcome", lambda d: d["results"][0].update(outcome="passed")),
    ("an unknown field", lambda d: d["results"][0].update(outcom="pass")),
    ("no results", lambda d: d.pop("results")),
    ("a negative uid", lambda d: d.update(uid=-1)),
    ("another schema version", lambda d: d.update(schema=2)),
    ("another tool", lambda d: d.update(tool="other")),
]:
    if v.is_valid(broken(change)):
        bad.append(f"the schema accepts a report with {what}")
changed = json.load(open(sys.argv[-1]))
def finding(change):
    doc = json.loads(json.dumps(changed))
    change(doc["subject"]["host_changes"][1])
    return doc
for what, change in [
    ("a host finding with an unknown field", lambda h: h.update(bogus=1)),
    ("a mount finding without mount_id", lambda h: h.pop("mount_id")),
    ("a host finding of an unknown kind", lambda h: h.update(kind="mount2")),
    ("a host finding with restored a string", lambda h: h.update(restored="no")),
]:
    if v.is_valid(finding(change)):
        bad.append(f"the schema accepts a report with {what}")
print("\n".join(bad) if bad else f"OK: {len(sys.argv) - 2} reports valid")
sys.exit(1 if bad else 0)
"#;

/// Every JSON report the CLI wrote (catalogue, rootless, control, both subjects,
/// `--repeat 2`) is valid by the published schema, and the schema is strict.
#[test]
#[serial_test::file_serial(host_state)]
fn json_reports_match_the_published_schema() {
    if !python_has("jsonschema") {
        return;
    }
    let mut args: Vec<String> = vec!["-c".into(), REPORT_CHECK.into(), REPORT_SCHEMA.into()];
    args.extend(of_format("json").map(|p| p.path.display().to_string()));
    // A subject report with host changes (a flattened, tagged enum in each finding),
    // which the fixture subjects do not leave: one unreadable name, one mount.
    use nsconform_core::host::NameRead;
    use nsconform_core::hostchange::{Change, HostChange, HostFinding};
    let pass = of_format("json").find(|p| p.run == "subject-pass").unwrap();
    let mut report = Report::from_json(&std::fs::read_to_string(&pass.path).unwrap()).unwrap();
    let finding = |change, restored| HostFinding {
        change,
        attributed: true,
        why: "the subject's".into(),
        restored,
        restore_note: (!restored).then(|| "umount2: EBUSY".into()),
    };
    report.subject.as_mut().expect("a subject").host_changes = vec![
        finding(
            HostChange::Hostname {
                from: NameRead::Read("host".into()),
                to: NameRead::Unreadable {
                    unreadable: "EACCES".into(),
                },
            },
            true,
        ),
        finding(
            HostChange::Mount {
                change: Change::Appeared,
                mount_id: 77,
                parent_id: 1,
                mount_point: "/mnt".into(),
                fs_type: "tmpfs".into(),
                source: "none".into(),
            },
            false,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("subject-changes.json");
    std::fs::write(&changed, report.to_json()).unwrap();
    args.push(changed.display().to_string());
    let out = nsconform_tests::capture(duct::cmd(python(), &args));
    assert!(out.success(), "{}", out.text());
    assert!(out.stdout.starts_with("OK: 7"), "{}", out.text());
}
