//! Property-based fuzzing of every parser that reads text from a person, a file, a
//! subject or the kernel: none may panic, and each must round-trip what it should accept
//! and refuse what it should not.
//!
//! Cases per target: `NSCONFORM_FUZZ_CASES` when set, else 20,000 when `CI` is set (the
//! whole file then runs well over 100,000 cases), else 2,000.

use nsconform_core::contain::{jobs_from_str, rootless_ids, timeout_from_secs, MAX_TIMEOUT_SECS};
use nsconform_core::environment::TimeOffsets;
use nsconform_core::observation::{parse_id_map, MapExtent};
use nsconform_core::report::{escape_for_terminal, escape_line, Report};
use nsconform_core::rubric::{Rubric, RubricError};
use nsconform_core::{catalogue, diff, formats, mountinfo, subject};
use proptest::prelude::*;
use std::time::Duration;

/// Cases for one target; `weight` divides the count for the slow targets (whole reports
/// rendered in four formats), so that the file stays quick in a debug build.
fn cases(weight: u32) -> ProptestConfig {
    let n = std::env::var("NSCONFORM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(if std::env::var_os("CI").is_some() {
            20_000
        } else {
            2_000
        });
    ProptestConfig {
        cases: (n / weight).max(1),
        // A failure is reported with its shrunk input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any string, with the characters parsers trip on made likely: quotes, backslashes,
/// separators, digits, controls, multi-byte characters.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => any::<char>(),
        4 => prop::sample::select(vec![
            '\'', '"', '\\', ' ', '\t', '\n', '\r', ':', '-', '.', '#', '=', '[', ']', '{', '}',
            ',', '0', '1', '7', '9', 'e', 'x', '\x00', '\x1b', '\u{202e}', 'é', '\u{10ffff}',
        ]),
    ];
    prop::collection::vec(ch, 0..64).prop_map(|v| v.into_iter().collect())
}

/// Numbers as a person might type them, right or wrong.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "0",
            "-0",
            "+1",
            "1e400",
            "-1e400",
            "1e30",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "4294967295",
            "4294967296",
            "18446744073709551616",
            "",
            " ",
            "0x10",
            "1_000",
            "١",
        ])
        .prop_map(str::to_string),
        text(),
    ]
}

/// f64 values of every class: NaN, infinities, subnormals, huge and tiny, negatives.
fn any_secs() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::num::f64::ANY,
        0.0..=2.0 * MAX_TIMEOUT_SECS,
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e30,
            -1.0,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            1e-4,
            MAX_TIMEOUT_SECS,
            MAX_TIMEOUT_SECS + 1e-9,
            f64::MAX,
        ]),
    ]
}

proptest! {
    #![proptest_config(cases(1))]

    #[test]
    fn timens_offsets_parse_never_panics_and_round_trips(
        s in text(),
        mono in any::<i64>(),
        boot in any::<i64>(),
        mn in 0i64..1_000_000_000,
        bn in 0i64..1_000_000_000,
    ) {
        let _ = TimeOffsets::parse(&s);
        let o = TimeOffsets::parse(&format!("monotonic {mono} {mn}\nboottime {boot} {bn}\n"))
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(o.monotonic_ns, i128::from(mono) * 1_000_000_000 + i128::from(mn));
        prop_assert_eq!(o.boottime_ns, i128::from(boot) * 1_000_000_000 + i128::from(bn));
    }

    #[test]
    fn timeouts_accept_exactly_the_bounded_ones(secs in any_secs()) {
        match timeout_from_secs(secs, "--timeout") {
            Ok(d) => {
                prop_assert!(secs.is_finite() && (0.001..=MAX_TIMEOUT_SECS).contains(&secs));
                prop_assert!(d > Duration::ZERO && d <= Duration::from_secs(86_400));
            }
            Err(e) => {
                prop_assert!(!secs.is_finite() || !(0.001..=MAX_TIMEOUT_SECS).contains(&secs));
                prop_assert!(e.starts_with("--timeout"), "{}", e);
            }
        }
    }

    #[test]
    fn timeouts_typed_as_text_never_panic(s in number_text()) {
        // What clap does with `--timeout TEXT`, then the check.
        if let Ok(secs) = s.parse::<f64>() {
            let _ = timeout_from_secs(secs, "--timeout");
        }
    }

    #[test]
    fn rootless_ids_never_panic(s in number_text(), t in number_text()) {
        for input in [s.clone(), format!("{s}:{t}")] {
            if let Ok((u, g)) = rootless_ids(&input) {
                prop_assert!(u != 0 && u != u32::MAX && g != 0 && g != u32::MAX);
            }
        }
    }

    #[test]
    fn rootless_ids_round_trip(u in any::<u32>(), g in any::<u32>()) {
        let ok = |n: u32| n != 0 && n != u32::MAX;
        match rootless_ids(&format!("{u}:{g}")) {
            Ok(ids) => prop_assert_eq!(ids, (u, g)),
            Err(_) => prop_assert!(!ok(u) || !ok(g)),
        }
        match rootless_ids(&u.to_string()) {
            Ok(ids) => prop_assert_eq!(ids, (u, u)),
            Err(_) => prop_assert!(!ok(u)),
        }
    }

    #[test]
    fn jobs_parse_whole_numbers_only(s in number_text(), n in any::<usize>()) {
        if let Ok(j) = jobs_from_str(&s) {
            prop_assert!(j >= 1);
            prop_assert_eq!(Some(j), s.trim().parse::<usize>().ok().map(|n| n.max(1)));
        }
        prop_assert_eq!(jobs_from_str(&n.to_string()), Ok(n.max(1)));
    }
}

/// A `[[property]]` table with fields that are often near-valid: catalogue IDs and made-up
/// ones, points that are NaN, infinite, negative or out of range, odd visibilities.
fn rubric_item() -> impl Strategy<Value = String> {
    let ids: Vec<String> = catalogue::all().iter().map(|p| p.id.to_string()).collect();
    let id = prop_oneof![
        8 => prop::sample::select(ids),
        1 => "[A-Z]{2,4}-[0-9]{1,3}",
        1 => text(),
    ];
    let points = prop_oneof![
        2 => any::<u16>().prop_map(|n| n.to_string()),
        2 => (0.0..100.0f64).prop_map(|p| format!("{p:?}")),
        1 => prop::sample::select(vec![
            "nan",
            "+nan",
            "-nan",
            "inf",
            "-inf",
            "-1",
            "-0.0",
            "1e400",
            "-1e400",
            "1e308",
            "0",
            "\"3\"",
            "true",
            "[1]",
            "0x10",
            "1_0",
            "9223372036854775808",
        ])
        .prop_map(str::to_string),
    ];
    let visibility = prop_oneof![
        4 => prop::sample::select(vec![
            "visible",
            "hidden",
            "after_due_date",
            "after_published",
            "Visible",
            "",
            "public",
        ])
        .prop_map(str::to_string),
        1 => text(),
    ];
    (
        id,
        points,
        prop::option::of(visibility),
        prop::option::of(text()),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(id, points, vis, name, extra)| {
            let q = |s: &str| toml_string(s);
            let mut t = format!("[[property]]\nid = {}\npoints = {points}\n", q(&id));
            if let Some(v) = vis {
                t.push_str(&format!("visibility = {}\n", q(&v)));
            }
            if let Some(n) = name {
                t.push_str(&format!("name = {}\n", q(&n)));
            }
            if extra {
                t.push_str("colour = \"red\"\n");
            }
            t
        })
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What every rubric `Rubric::parse` accepts must satisfy.
fn check_rubric(r: &Rubric) -> Result<(), TestCaseError> {
    prop_assert!(!r.items.is_empty());
    for (i, item) in r.items.iter().enumerate() {
        prop_assert!(
            item.points.is_finite() && item.points >= 0.0,
            "{}",
            item.points
        );
        prop_assert!(catalogue::find(&item.id).is_some(), "{}", item.id);
        prop_assert!(r.items[..i].iter().all(|o| o.id != item.id), "{}", item.id);
    }
    prop_assert!(r.max_score().is_finite());
    Ok(())
}

proptest! {
    #![proptest_config(cases(1))]

    #[test]
    fn rubric_parse_never_panics_on_any_text(s in text()) {
        if let Ok(r) = Rubric::parse(&s, "fuzz.toml") {
            check_rubric(&r)?;
        }
    }

    #[test]
    fn rubric_parse_judges_near_valid_toml(
        title in prop::option::of(text()),
        timeout in prop::option::of(any_secs()),
        items in prop::collection::vec(rubric_item(), 0..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut t = String::new();
        if let Some(title) = &title {
            t.push_str(&format!("title = {}\n", toml_string(title)));
        }
        if let Some(secs) = timeout {
            // `nan`, `inf` and `-inf` are TOML floats; `{:?}` writes the others in
            // a form TOML reads (or refuses) as a float.
            let v = if secs.is_nan() { "nan".into() } else if secs.is_infinite() {
                if secs > 0.0 { "inf".into() } else { "-inf".into() }
            } else { format!("{secs:?}") };
            t.push_str(&format!("[submission]\ntimeout = {v}\n"));
        }
        for it in &items {
            t.push_str(it);
        }
        match Rubric::parse(&t, "fuzz.toml") {
            Ok(r) => check_rubric(&r)?,
            Err(e) => {
                // Every error names the file; none is Rust debug text.
                let msg = e.to_string();
                prop_assert!(msg.starts_with("fuzz.toml"), "{}", msg);
                if let RubricError::UnknownId { line, .. }
                | RubricError::Duplicate { line, .. }
                | RubricError::BadPoints { line, .. } = &e
                {
                    prop_assert!(*line >= 1 && *line <= t.lines().count().max(1), "{}", msg);
                }
            }
        }
        // A cut anywhere (even inside a multi-byte character's string) must not panic.
        let mut at = cut.index(t.len() + 1);
        while !t.is_char_boundary(at) {
            at -= 1;
        }
        let _ = Rubric::parse(&t[..at], "fuzz.toml");
    }

    #[test]
    fn rubric_round_trips_valid_items(
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0u32..1000, 0u8..4), 1..8),
    ) {
        let all = catalogue::all();
        let mut want: Vec<(String, f64, u8)> = Vec::new();
        for (i, p, v) in picks {
            let id = all[i.index(all.len())].id.to_string();
            if want.iter().all(|w| w.0 != id) {
                want.push((id, f64::from(p) / 4.0, v));
            }
        }
        let vis = ["visible", "hidden", "after_due_date", "after_published"];
        let t: String = want
            .iter()
            .map(|(id, p, v)| {
                format!("[[property]]\nid = \"{id}\"\npoints = {p:?}\nvisibility = \"{}\"\n", vis[*v as usize])
            })
            .collect();
        let r = Rubric::parse(&t, "ok.toml").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(r.items.len(), want.len());
        for (item, (id, p, _)) in r.items.iter().zip(&want) {
            prop_assert_eq!(&item.id, id);
            prop_assert_eq!(item.points, *p);
        }
        // The same items twice: the second copy is a duplicate, on its own line.
        let twice = format!("{t}{t}");
        let dup = matches!(
            Rubric::parse(&twice, "dup.toml"),
            Err(RubricError::Duplicate { .. })
        );
        prop_assert!(dup);
    }
}

/// Any JSON value, nested a few levels, with hostile strings.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid report: a few results of every outcome, with hostile text, maybe a subject.
fn valid_report() -> serde_json::Value {
    let mk = |id: &str, outcome: &str, detail: &str| {
        serde_json::json!({
            "id": id, "title": "t\u{202e}", "man": "pid_namespaces(7)", "outcome": outcome,
            "detail": detail, "expected": "1", "actual": "2\x1b[1A", "errno": "EPERM",
            "observed": {"a": {"b": 1}, "c": "x\x00"}, "duration_ms": 3,
        })
    };
    serde_json::json!({
        "schema": 1, "tool": "nsconform", "version": "0.1.0", "kernel": "6.18\x1b[2K",
        "privileged": true, "uid": 0,
        "subject": {
            "command": ["./c", "{probe}"],
            "ending": {"ended": "no_report", "exit": 1, "why": "w\x1b"},
            "stdout_tail": "o\x00", "stderr_tail": "e\u{fffe}", "duration_ms": 1,
            "contained_in": "", "restored": ["hostname"],
        },
        "score": {"earned": 1.0, "max": 2.0},
        "summary": {"pass": 1, "fail": 1, "skip": 1, "error": 1, "timeout": 1},
        "duration_ms": 10,
        "results": [
            mk("PID-01", "pass", "ok"),
            mk("PID-02", "fail", "boom\x1b[2K\x1b[1A"),
            mk("UTS-01", "skip", "why\nnot"),
            mk("NET-01", "error", "e"),
            mk("IPC-01", "timeout", "slow"),
        ],
    })
}

/// What a mutation puts in place of a value.
#[derive(Debug, Clone)]
struct Edit {
    path: Vec<prop::sample::Index>,
    /// Drop the member or element instead.
    drop: bool,
    /// Keep the JSON type of what is replaced (a string for a string, a number for a
    /// number), so that most mutated reports still parse and get rendered.
    keep_type: bool,
    any: serde_json::Value,
    text: String,
    number: serde_json::Value,
}

fn edit() -> impl Strategy<Value = Edit> {
    use serde_json::Value;
    let number = prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..10).prop_map(Value::from),
    ];
    (
        prop::collection::vec(any::<prop::sample::Index>(), 0..5),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.8),
        json_value(),
        text(),
        number,
    )
        .prop_map(|(path, drop, keep_type, any, text, number)| Edit {
            path,
            drop,
            keep_type,
            any,
            text,
            number,
        })
}

/// Apply `e` at a random place of `v` (an object member or array element, at any depth).
fn mutate(v: &mut serde_json::Value, path: &[prop::sample::Index], e: &Edit) {
    use serde_json::Value;
    let Some((first, rest)) = path.split_first() else {
        *v = match v {
            Value::String(_) if e.keep_type => e.text.clone().into(),
            Value::Number(_) if e.keep_type => e.number.clone(),
            _ => e.any.clone(),
        };
        return;
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(first.index(m.len())).cloned().expect("a key");
            if rest.is_empty() && e.drop {
                m.remove(&key);
            } else if let Some(x) = m.get_mut(&key) {
                mutate(x, rest, e);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = first.index(a.len());
            if rest.is_empty() && e.drop {
                a.remove(i);
            } else {
                mutate(&mut a[i], rest, e);
            }
        }
        other => mutate(other, &[], e),
    }
}

/// Everything a report read by `nsconform diff` goes through must hold up: the diff with
/// itself is empty, and every rendering works, with no raw control in human text and
/// JUnit that parses as XML.
fn check_report(r: &Report) -> Result<(), TestCaseError> {
    let d = diff::diff(r, r);
    prop_assert!(d.changes.is_empty());
    let human = diff::human(&d);
    let table = r.to_human(false);
    for text in [&human, &table] {
        prop_assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            text
        );
        prop_assert!(!text.contains(['\u{202e}', '\u{2066}']), "{:?}", text);
    }
    let xml = formats::junit(r);
    if let Err(e) = roxmltree::Document::parse(&xml) {
        return Err(TestCaseError::fail(format!("{e}\n{xml}")));
    }
    let taps = [
        formats::tap(r, formats::TapVersion::V13),
        formats::tap(r, formats::TapVersion::V14),
        formats::ktap(r),
    ];
    for line in taps.iter().flat_map(|t| t.lines()) {
        prop_assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{:?}",
            line
        );
    }
    let rubric = Rubric::one_point_each(&r.results);
    let g: Result<serde_json::Value, _> = serde_json::from_str(&formats::gradescope(r, &rubric));
    prop_assert!(g.is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(cases(4))]

    #[test]
    fn report_parser_never_panics_on_any_text(s in text()) {
        if let Ok(r) = Report::from_json(&s) {
            check_report(&r)?;
        }
    }

    #[test]
    fn report_parser_never_panics_on_any_json(v in json_value()) {
        if let Ok(r) = Report::from_json(&v.to_string()) {
            check_report(&r)?;
        }
    }

    #[test]
    fn mutated_reports_parse_or_are_refused(
        edits in prop::collection::vec(edit(), 1..4),
        text_of in any::<String>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut v = valid_report();
        let base = Report::from_json(&v.to_string()).map_err(TestCaseError::fail)?;
        check_report(&base)?;
        for e in &edits {
            mutate(&mut v, &e.path, e);
        }
        let json = v.to_string();
        match Report::from_json(&json) {
            Ok(r) => {
                check_report(&r)?;
                // The report of a newer schema is refused, not misread.
                prop_assert!(r.schema <= nsconform_core::report::SCHEMA_VERSION);
                // What is read is what is written again.
                let again = Report::from_json(&r.to_json()).map_err(TestCaseError::fail)?;
                prop_assert_eq!(&again.results, &r.results);
                let d = diff::diff(&base, &r);
                let _ = diff::human(&d);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
        // A truncated report (a write cut short) is an error, never a panic.
        let at = cut.index(json.len());
        if json.is_char_boundary(at) {
            prop_assert!(Report::from_json(&json[..at]).is_err());
        }
        let _ = Report::from_json(&text_of);
    }
}

/// `s` as one shell word, single-quoted (`'` written as `'\''`).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

proptest! {
    #![proptest_config(cases(1))]

    #[test]
    fn split_command_never_panics(s in text()) {
        match subject::split_command(&s) {
            Ok(words) => prop_assert!(!words.is_empty()),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn split_command_round_trips_quoted_words(words in prop::collection::vec(text(), 1..6)) {
        let line: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
        prop_assert_eq!(subject::split_command(&line.join(" ")), Ok(words.clone()));
        let line: Vec<String> = words.iter().map(|w| {
            let mut q = String::from("\"");
            for c in w.chars() {
                if c == '"' || c == '\\' { q.push('\\'); }
                q.push(c);
            }
            q.push('"');
            q
        }).collect();
        prop_assert_eq!(subject::split_command(&line.join("\t")), Ok(words));
    }

    #[test]
    fn parse_id_map_never_panics(s in text()) {
        if let Ok(map) = parse_id_map(&s) {
            prop_assert!(map.iter().all(|e| e.count > 0));
        }
    }

    #[test]
    fn parse_id_map_round_trips_and_refuses_zero_counts(
        map in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..6),
        pad in "[ \t]{1,3}",
    ) {
        let text: String = map
            .iter()
            .map(|(i, o, c)| format!("{pad}{i}{pad}{o}{pad}{c}\n"))
            .collect();
        let want: Vec<MapExtent> = map
            .iter()
            .map(|&(inside, outside, count)| MapExtent { inside, outside, count })
            .collect();
        match parse_id_map(&text) {
            Ok(got) => prop_assert_eq!(got, want),
            Err(e) => {
                prop_assert!(map.iter().any(|e| e.2 == 0));
                prop_assert!(e.contains("inside outside count"), "{}", e);
            }
        }
    }

    #[test]
    fn mountinfo_never_panics(s in text()) {
        let _ = mountinfo::parse(&s);
    }

    #[test]
    fn mountinfo_reads_escapes_and_fields(
        ids in (any::<u32>(), any::<u32>()),
        point in prop::collection::vec(
            prop_oneof![
                "[a-z/]{1,4}",
                Just("\\040".to_string()),
                Just("\\011".to_string()),
                Just("\\134".to_string()),
                "\\\\[0-7]{3}",
                "\\\\[0-9]{0,3}",
                Just("é".to_string()),
            ],
            1..8,
        ),
        optional in prop::collection::vec("(shared|master|propagate_from):[0-9]{1,4}|unbindable", 0..3),
        tail in prop::option::of("[a-z0-9 ]{0,12}"),
    ) {
        let point: String = point.concat();
        let mut line = format!("{} {} 0:1 / {point} rw,relatime", ids.0, ids.1);
        for o in &optional {
            line.push(' ');
            line.push_str(o);
        }
        line.push_str(" - ext4 /dev/vda");
        if let Some(t) = &tail {
            line.push(' ');
            line.push_str(t);
        }
        let m = mountinfo::parse(&line);
        prop_assert_eq!(m.len(), 1);
        prop_assert_eq!(m[0].mount_id, ids.0);
        prop_assert_eq!(m[0].parent_id, ids.1);
        prop_assert_eq!(&m[0].propagation, &optional);
        prop_assert_eq!(m[0].fs_type.as_str(), "ext4");
        if !point.contains('\\') {
            prop_assert_eq!(&m[0].mount_point, &point);
        }
        if point == "\\040" {
            prop_assert_eq!(m[0].mount_point.as_str(), " ");
        }
    }

    #[test]
    fn escaping_leaves_no_raw_controls(s in text()) {
        let t = escape_for_terminal(&s);
        prop_assert!(!t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        prop_assert!(!t.contains(['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}']), "{:?}", t);
        let l = escape_line(&s);
        prop_assert!(!l.chars().any(char::is_control));
        // Plain text is left alone.
        if !s.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{2069}').contains(&c)) {
            prop_assert_eq!(l.as_ref(), s.as_str());
        }
    }
}

/// A float the fuzzer found: without serde_json's exact float parsing it came back as
/// 2.5311488192750798e+107, so a saved report read back differed from what was written.
#[test]
fn floats_in_observed_facts_round_trip_exactly() {
    let v: serde_json::Value = serde_json::from_str("2.53114881927508e+107").unwrap();
    let back: serde_json::Value = serde_json::from_str(&v.to_string()).unwrap();
    assert_eq!(v, back);
    assert_eq!(v.as_f64(), Some(2.53114881927508e107));
}
