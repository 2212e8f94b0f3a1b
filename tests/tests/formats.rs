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
