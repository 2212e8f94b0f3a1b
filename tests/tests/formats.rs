//! Report formats, validated by parsing them back: JUnit with quick-junit's reader, TAP
//! with a TAP 14 parser written here, Gradescope against its results.json fields.

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

/// Parse TAP 14 (version line, one plan, test points, YAML blocks, comments), failing
/// on anything a conforming harness would reject.
fn parse_tap(text: &str) -> (usize, Vec<Point>) {
    let mut lines = text.lines().peekable();
    assert_eq!(lines.next(), Some("TAP version 14"));
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
fn tap_is_valid_tap_14() {
    let (plan, points) = parse_tap(&formats::tap(&sample()));
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
    for format in ["human", "json", "junit", "tap", "gradescope"] {
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
            "tap" => assert_eq!(parse_tap(&text).0, 2),
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
    let out = duct::cmd(
        nsconform_tests::cli(),
        ["run", "PID-01", "--rubric", path.to_str().unwrap()],
    )
    .stderr_capture()
    .stdout_capture()
    .unchecked()
    .run()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("r.toml:6: unknown property ID `XYZ-01`"),
        "{err}"
    );
}
