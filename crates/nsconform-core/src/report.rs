//! The report of a run and its renderings (`human` table, `json`).

use crate::env::Env;
use crate::outcome::{Outcome, Verdict};
use crate::run::{tally, PropertyResult};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw: C0 controls, DEL, C1 controls (U+0080 to
/// U+009F, which some terminals take as CSI and friends) and the bidi embeddings,
/// overrides and isolates (U+202A-U+202E, U+2066-U+2069) that reorder what a reader
/// sees. `keep_layout` lets `\n` and `\t` through.
fn needs_escape(c: char, keep_layout: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_layout,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escape_with(s: &str, keep_layout: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c, keep_layout)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c, keep_layout) {
            out.push(c);
        } else if c == '\n' {
            out.push_str("\\n");
        } else if c == '\t' {
            out.push_str("\\t");
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Text that came from a subject, a probe or the kernel, made safe to print on a
/// terminal: control characters (but `\n` and `\t`), ESC, DEL, C1 controls and bidi
/// overrides are shown escaped (`\x1b`, `\u{202e}`), everything else is unchanged.
///
/// ```
/// use nsconform_core::report::escape_for_terminal;
/// assert_eq!(escape_for_terminal("a\x1b[2Kb\u{202e}\n"), "a\\x1b[2Kb\\u{202e}\n");
/// assert_eq!(escape_for_terminal("plain ü"), "plain ü");
/// ```
pub fn escape_for_terminal(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

/// [`escape_for_terminal`] for a field of a one-line row: `\n` and `\t` are escaped too,
/// so the text cannot break the table's layout.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// Version of the JSON report schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of [`Report`], as docs/report.schema.json publishes
/// it: generated from the report's own types, with every object closed but the
/// free-form ones (`observed`, `vm`), so a field of the wrong type, or one the schema does
/// not know, fails validation.
pub fn json_schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Report>();
    let mut v = schema.to_value();
    close_objects(&mut v, false);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "title".into(),
            "nsconform report (`nsconform run --format json`)".into(),
        );
    }
    serde_json::to_string_pretty(&v).expect("a schema serializes") + "\n"
}

/// Close every object schema of `v` that lists `properties`: `additionalProperties:
/// false`, or `unevaluatedProperties: false` where the object is its own properties plus
/// a `oneOf`/`anyOf`/`allOf` (a struct with a flattened enum, like a host finding),
/// whose branches (`open`) must then stay open, since each one sees only part of the
/// object.
fn close_objects(v: &mut serde_json::Value, open: bool) {
    const COMPOSED: [&str; 3] = ["oneOf", "anyOf", "allOf"];
    match v {
        serde_json::Value::Object(obj) => {
            let has_props = obj.contains_key("properties");
            let composed = COMPOSED.iter().any(|k| obj.contains_key(*k));
            if has_props && !open && !obj.contains_key("additionalProperties") {
                let key = if composed {
                    "unevaluatedProperties"
                } else {
                    "additionalProperties"
                };
                obj.insert(key.into(), false.into());
            }
            for (k, child) in obj.iter_mut() {
                let branch = COMPOSED.contains(&k.as_str());
                close_objects(child, branch && (has_props || open));
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                close_objects(item, open);
            }
        }
        _ => {}
    }
}

/// A whole run, as `nsconform run --format json` prints it.
#[derive(Serialize, Deserialize, Clone, Debug, schemars::JsonSchema)]
pub struct Report {
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub schema: u32,
    #[schemars(extend("const" = "nsconform"))]
    pub tool: String,
    pub version: String,
    /// `uname -r` of the kernel the checks ran on.
    pub kernel: String,
    /// Whether the checks ran with real root (CAP_SYS_ADMIN in the initial user ns).
    pub privileged: bool,
    /// The uid the checks ran as.
    pub uid: u32,
    /// When the run started (RFC 3339, UTC), on which host, and how nsconform was called:
    /// what a person comparing two saved reports needs to tell them apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The subject, when a foreign launcher was tested (`run --subject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<crate::subject::SubjectRun>,
    /// The VM the run happened in (`nsconform vm`): kernel image, accelerator, boot time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<serde_json::Value>,
    /// Where the catalogue ran: the namespaces nsconform itself is nested in, time
    /// offsets, seccomp, and the namespace types the environment refused to create
    /// (catalogue runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::environment::Environment>,
    /// The kernel's health around the run (catalogue runs): taint flags before and
    /// after, whether the kernel log could be read, and each trouble report it logged
    /// (warnings, BUGs, oopses, stalls) with the property it was pinned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_health: Option<crate::kernellog::KernelHealth>,
    /// `run --repeat N`: the number of runs and the properties whose outcome changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<crate::run::Repeat>,
    /// Points by the rubric in use (subject runs, or runs given `--rubric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<crate::rubric::Score>,
    pub summary: BTreeMap<Outcome, usize>,
    pub duration_ms: u64,
    pub results: Vec<PropertyResult>,
}

impl Report {
    pub fn new(env: &Env, results: Vec<PropertyResult>, duration_ms: u64) -> Report {
        Report {
            schema: SCHEMA_VERSION,
            tool: "nsconform".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kernel: env.release.clone(),
            privileged: env.privileged,
            uid: env.uid,
            timestamp: None,
            hostname: None,
            command: Vec::new(),
            subject: None,
            environment: None,
            kernel_health: None,
            repeat: None,
            vm: None,
            score: None,
            summary: tally(&results),
            duration_ms,
            results,
        }
    }

    /// Exit status for this report: 0 nothing failed or errored, 1 a property failed
    /// (or timed out), 3 the environment broke (errors but no failures).
    pub fn exit_code(&self) -> i32 {
        self.exit_status().code()
    }

    /// [`Report::exit_code`] as the typed [`ExitStatus`]. A control run
    /// ([`Report::control_view`]) passes when every control was detected.
    pub fn exit_status(&self) -> crate::outcome::ExitStatus {
        use crate::outcome::ExitStatus;
        let view;
        let summary = if self.is_control_run() {
            view = self.control_view();
            &view.summary
        } else {
            &self.summary
        };
        let n = |o| summary.get(&o).copied().unwrap_or(0);
        if n(Outcome::Fail).saturating_add(n(Outcome::Timeout)) > 0 {
            ExitStatus::Failed
        } else if n(Outcome::Error) > 0 {
            ExitStatus::Environment
        } else {
            ExitStatus::Passed
        }
    }

    /// Whether this is a `run --control` report (its results ran under a control).
    pub fn is_control_run(&self) -> bool {
        self.results.iter().any(|r| r.control.is_some())
    }

    /// A control run seen as what it tests, the controls: a property that failed at its
    /// own assertion (not at the host-namespace guard, not at an unnamed check) is a
    /// detected control, `pass`; one that passed, or failed elsewhere, is an undetected
    /// control, `fail`; skips, errors and timeouts stay. JUnit, TAP, KTAP and Gradescope
    /// render a control run this way (the expected failures are not red); the JSON and
    /// the human table keep the properties' own verdicts.
    pub fn control_view(&self) -> Report {
        let mut view = self.clone();
        for r in &mut view.results {
            // The view is no control run: its cases are the controls themselves.
            let Some(c) = r.control.take() else { continue };
            let c = c.name();
            let v = &r.verdict;
            let at = v.at.as_deref().filter(|a| *a != crate::outcome::AT_GUARD);
            r.title = format!(
                "{} (under control {c}: must fail at its own assertion)",
                r.title
            );
            r.verdict = match (v.outcome, at) {
                (Outcome::Fail, Some(at)) => {
                    Verdict::pass(format!("control {c} detected at `{at}`: {}", v.detail))
                        .with_observed(v.observed.clone())
                }
                (Outcome::Fail, None) => Verdict::fail(
                    format!(
                        "control {c} not detected at the property's own assertion ({}): {}",
                        if v.at.is_some() {
                            "caught by the host-namespace guard"
                        } else {
                            "no named sub-check decided"
                        },
                        v.detail
                    ),
                    "a failure at the property's own assertion",
                    "a failure elsewhere",
                ),
                (Outcome::Pass, _) => Verdict::fail(
                    format!(
                        "control {c} not detected: the property passed without that isolation: {}",
                        v.detail
                    ),
                    "fail",
                    "pass",
                )
                .with_observed(v.observed.clone()),
                _ => v.clone(),
            };
        }
        view.summary = tally(&view.results);
        view
    }

    /// Read a JSON report (`nsconform run --format json`), as `nsconform diff` does: a
    /// report of a newer schema than this build knows is refused, not misread.
    pub fn from_json(text: &str) -> Result<Report, String> {
        let mut r: Report = serde_json::from_str(text).map_err(|e| e.to_string())?;
        // The summary is derived from the results, never taken on trust: a file's counts
        // (edited, or absurd) cannot change a verdict or an exit status.
        r.summary = tally(&r.results);
        if r.schema == 0 || r.schema > SCHEMA_VERSION {
            return Err(format!(
                "the report has schema {}, this nsconform reads schema 1 to {SCHEMA_VERSION}; \
                 a newer schema needs a newer nsconform",
                r.schema
            ));
        }
        if r.tool != "nsconform" {
            return Err(format!(
                "the report was written by `{}`, not nsconform",
                escape_line(&r.tool)
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for res in &r.results {
            if !seen.insert(res.id.as_str()) {
                return Err(format!(
                    "the report has {} twice: a report holds one result per property",
                    escape_line(&res.id)
                ));
            }
        }
        Ok(r)
    }

    /// Stamp the report with when and where it was made and the command line.
    pub fn stamp(&mut self, started: std::time::SystemTime, command: Vec<String>) {
        let t: chrono::DateTime<chrono::Utc> = started.into();
        self.timestamp = Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        self.hostname = nix::unistd::gethostname()
            .ok()
            .map(|h| h.to_string_lossy().into_owned());
        self.command = command;
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    /// A readable table; `color` adds ANSI colors to the outcome column. Every string
    /// that came from the kernel, a probe or a subject is passed through [`escape_line`]:
    /// it cannot move the cursor, erase a row or reorder the text.
    pub fn to_human(&self, color: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "nsconform {} on kernel {} ({}, uid {})",
            escape_line(&self.version),
            escape_line(&self.kernel),
            if self.privileged {
                "privileged"
            } else {
                "rootless"
            },
            self.uid
        );
        if let Some(sub) = &self.subject {
            let _ = writeln!(s, "subject: {}", escape_line(&sub.command.join(" ")));
            let _ = writeln!(s, "ended:   {}", ending_text(&sub.ending));
            if let Some(t) = sub.transport {
                let _ = writeln!(s, "probe:   {}", t.describe());
            }
            for r in &sub.restored {
                let _ = writeln!(s, "restored on the host: {}", escape_line(r));
            }
            // The subject's own words, as it printed them (escaped, indented): what a
            // student needs to see why their program failed.
            let tail = sub.stderr_tail.trim_end();
            if !tail.is_empty() {
                let _ = writeln!(s, "subject stderr (last lines):");
                for line in tail.lines() {
                    let _ = writeln!(s, "  | {}", escape_line(line));
                }
            }
        }
        if let Some(e) = &self.environment {
            if !e.nested.is_empty() {
                let _ = writeln!(
                    s,
                    "nested:  nsconform runs in non-initial {} namespaces",
                    e.nested.join(", ")
                );
            }
            if !e.refused.is_empty() {
                let _ = writeln!(
                    s,
                    "refused: this environment cannot create {}; fails are reported as errors",
                    escape_line(&e.describe_refused())
                );
            }
        }
        if let Some(rep) = &self.repeat {
            let flaky: Vec<Cow<'_, str>> = rep.flaky.iter().map(|f| escape_line(&f.id)).collect();
            let _ = writeln!(
                s,
                "repeat:  {} runs; {}",
                rep.runs,
                if flaky.is_empty() {
                    "no property changed its outcome".to_string()
                } else {
                    format!("flaky: {}", flaky.join(", "))
                }
            );
        }
        let ids: Vec<Cow<'_, str>> = self.results.iter().map(|r| escape_line(&r.id)).collect();
        let idw = ids
            .iter()
            .map(|id| id.chars().count())
            .max()
            .unwrap_or(2)
            .max(2);
        for (r, id) in self.results.iter().zip(&ids) {
            let o = r.verdict.outcome;
            let tag = format!("{:<7}", o.as_str().to_uppercase());
            let tag = if color { paint(o, &tag) } else { tag };
            let _ = writeln!(s, "{id:<idw$}  {tag}  {}", escape_line(&r.verdict.detail));
        }
        let counts: Vec<String> = self
            .summary
            .iter()
            .map(|(o, n)| format!("{n} {o}"))
            .collect();
        if let Some(score) = &self.score {
            let _ = writeln!(s, "\nscore: {} / {}", score.earned, score.max);
        }
        if let Some(k) = self.kernel_health.as_ref().filter(|k| k.noteworthy()) {
            if !k.new_taint.is_empty() {
                let _ = writeln!(
                    s,
                    "\nkernel: newly tainted during the run: {} (tainted \"{}\" before, \"{}\" after)",
                    escape_line(&k.new_taint),
                    escape_line(&k.taint_before),
                    escape_line(&k.taint_after)
                );
            }
            for t in &k.trouble {
                let _ = writeln!(
                    s,
                    "kernel log: {} ({})",
                    escape_line(&t.line),
                    if !t.pinned.is_empty() {
                        format!("pinned to {}", escape_line(&t.pinned.join(" ")))
                    } else if t.running.is_empty() {
                        "after the last property".into()
                    } else {
                        format!(
                            "not pinned: it did not come back when each ran alone; running then: {}",
                            escape_line(&t.running.join(" "))
                        )
                    }
                );
            }
        }
        if self.is_control_run() {
            let view = self.control_view();
            let detected = view.summary.get(&Outcome::Pass).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "\ncontrols: {detected} of {} detected at the property's own assertion (their FAILs are expected){}",
                view.results.len(),
                if detected == view.results.len() {
                    String::new()
                } else {
                    format!(
                        "; not detected or not judged: {}",
                        view.results
                            .iter()
                            .filter(|r| r.verdict.outcome != Outcome::Pass)
                            .map(|r| format!("{} ({})", escape_line(&r.id), r.verdict.outcome))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        let _ = writeln!(
            s,
            "\n{}: {} in {:.2} s",
            crate::outcome::count(self.results.len(), "property", "properties"),
            counts.join(", "),
            self.duration_ms as f64 / 1000.0
        );
        s
    }
}

fn paint(o: Outcome, text: &str) -> String {
    let code = match o {
        Outcome::Pass => "32",
        Outcome::Fail => "31",
        Outcome::Skip => "33",
        Outcome::Error => "35",
        Outcome::Timeout => "31;1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// One line on how a subject run ended; the reasons (which may quote the subject) are
/// escaped with [`escape_line`], so the line is safe on a terminal and stays one line.
pub fn ending_text(e: &crate::subject::Ending) -> String {
    use crate::subject::Ending;
    let text = match e {
        Ending::Reported { exit } => format!(
            "probe reported; subject exit status {}",
            exit.map_or("unknown".into(), |c| c.to_string())
        ),
        Ending::NoReport { exit, why } => format!(
            "no probe report ({why}); subject exit status {}",
            exit.map_or("unknown".into(), |c| c.to_string())
        ),
        Ending::NotStarted { why } => format!("not started: {why}"),
        Ending::TimedOut { after_ms } => {
            format!(
                "timed out after {:.1} s; process tree killed",
                *after_ms as f64 / 1000.0
            )
        }
    };
    escape_line(&text).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Erase the line, cursor up, then a right-to-left override: a detail that, printed
    /// raw, would wipe the FAIL row and show the rest reversed.
    pub(crate) const HOSTILE: &str = "boom\x1b[2K\x1b[1A\u{202e}ssap";

    pub(crate) fn hostile_report() -> Report {
        let env = crate::env::Env::detect(None);
        let result = PropertyResult {
            id: "UTS-01".into(),
            title: "hostname is private".into(),
            man: "uts_namespaces(7)".into(),
            control: None,
            verdict: Verdict::fail(HOSTILE, "a\x00b", "c\u{9b}d").with_errno("E\x07"),
            duration_ms: 1,
        };
        let mut r = Report::new(&env, vec![result], 1);
        r.kernel = "6.1\x1b]0;owned\x07".into();
        r.subject = Some(
            serde_json::from_value(serde_json::json!({
                "command": ["./c\x1b[31m", "{probe}"],
                "ending": {"ended": "no_report", "exit": 1, "why": "bad\nline\x1b[A"},
                "stdout_tail": "out\x1b[2J\x00\u{fffe}",
                "stderr_tail": "err\x1b[1A\u{2066}",
                "duration_ms": 1,
                "restored": ["hostname `x\x1b[1A`"],
            }))
            .expect("a subject run"),
        );
        r
    }

    #[test]
    fn a_control_run_passes_only_when_each_control_failed_at_its_assertion() {
        use crate::catalogue::Control;
        use crate::outcome::{ExitStatus, AT_GUARD};
        let env = crate::env::Env::detect(None);
        let under = |id: &str, verdict: Verdict| PropertyResult {
            id: id.into(),
            title: "t".into(),
            man: "m(7)".into(),
            control: Some(Control::NoNewUts),
            verdict,
            duration_ms: 1,
        };
        let caught = || under("UTS-01", Verdict::fail("leaked", "x", "y").at("hostname"));
        let report = |rs| Report::new(&env, rs, 1);
        let all_caught = report(vec![caught(), under("UTS-05", Verdict::skip("needs root"))]);
        assert_eq!(all_caught.exit_status(), ExitStatus::Passed);
        let view = all_caught.control_view();
        assert_eq!(view.results[0].verdict.outcome, Outcome::Pass);
        assert!(view.results[0]
            .verdict
            .detail
            .contains("detected at `hostname`"));
        assert!(all_caught
            .to_human(false)
            .contains("controls: 1 of 2 detected"));
        for (undetected, why) in [
            (Verdict::pass("held"), "the property passed"),
            (Verdict::fail("refused", "x", "y").at(AT_GUARD), "guard"),
            (Verdict::fail("refused", "x", "y"), "no named sub-check"),
        ] {
            let r = report(vec![caught(), under("UTS-02", undetected)]);
            assert_eq!(r.exit_status(), ExitStatus::Failed, "{why}");
            let v = &r.control_view().results[1].verdict;
            assert_eq!(v.outcome, Outcome::Fail);
            assert!(v.detail.contains(why), "{}", v.detail);
        }
        let r = report(vec![caught(), under("UTS-03", Verdict::error("EPERM"))]);
        assert_eq!(r.exit_status(), ExitStatus::Environment);
        // Not a control run: the properties' own verdicts decide.
        let mut plain = caught();
        plain.control = None;
        assert_eq!(report(vec![plain]).exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn a_saved_summary_is_recomputed_from_the_results() {
        let r = hostile_report();
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        v["summary"] = serde_json::json!({"pass": 7, "fail": usize::MAX, "timeout": usize::MAX});
        let back = Report::from_json(&v.to_string()).unwrap();
        assert_eq!(back.summary, tally(&back.results));
        assert_eq!(back.exit_status(), crate::outcome::ExitStatus::Failed);
    }

    #[test]
    fn reading_a_report_refuses_unknown_schemas_other_tools_and_duplicate_ids() {
        let mut r = hostile_report();
        r.stamp(
            std::time::SystemTime::UNIX_EPOCH,
            vec!["nsconform".into(), "run".into()],
        );
        assert_eq!(r.timestamp.as_deref(), Some("1970-01-01T00:00:00Z"));
        let back = Report::from_json(&r.to_json()).unwrap();
        assert_eq!(back.command, ["nsconform", "run"]);
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
            f(&mut v);
            Report::from_json(&v.to_string())
        };
        assert!(edit(&|v| v["schema"] = 99.into())
            .unwrap_err()
            .contains("schema 99"));
        assert!(edit(&|v| v["schema"] = 0.into())
            .unwrap_err()
            .contains("schema 0"));
        assert!(edit(&|v| v["tool"] = "other".into())
            .unwrap_err()
            .contains("`other`"));
        let twice = edit(&|v| {
            let first = v["results"][0].clone();
            v["results"].as_array_mut().unwrap().push(first);
        });
        assert!(twice.unwrap_err().contains("UTS-01 twice"));
        // Reports of older builds, without the stamp, still read.
        assert!(edit(&|v| {
            let o = v.as_object_mut().unwrap();
            o.remove("timestamp");
            o.remove("hostname");
            o.remove("command");
        })
        .is_ok());
    }

    #[test]
    fn escapes_controls_c1_and_bidi_but_not_plain_text() {
        assert!(matches!(escape_for_terminal("ü-ok\tx\n"), Cow::Borrowed(_)));
        assert_eq!(escape_for_terminal("a\x1bb"), "a\\x1bb");
        assert_eq!(escape_for_terminal("\x00\x7f\r"), "\\x00\\x7f\\x0d");
        assert_eq!(
            escape_for_terminal("\u{80}\u{9b}\u{9f}"),
            "\\u{80}\\u{9b}\\u{9f}"
        );
        assert_eq!(
            escape_for_terminal("\u{202a}\u{202e}\u{2066}\u{2069}"),
            "\\u{202a}\\u{202e}\\u{2066}\\u{2069}"
        );
        assert_eq!(escape_for_terminal("a\nb\tc"), "a\nb\tc");
        assert_eq!(escape_line("a\nb\tc"), "a\\nb\\tc");
        // Neighbours of the ranges stay as they are.
        assert_eq!(
            escape_for_terminal("\u{a0}\u{2029}\u{206a}"),
            "\u{a0}\u{2029}\u{206a}"
        );
    }

    #[test]
    fn human_output_shows_hostile_text_escaped_and_keeps_the_fail_row() {
        let r = hostile_report();
        // The input is hostile: printed raw it would carry ESC and the override.
        assert!(r.results[0].verdict.detail.contains('\x1b'));
        let text = r.to_human(false);
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(
            !text.contains('\x07') && !text.contains('\u{9b}'),
            "{text:?}"
        );
        let row = text
            .lines()
            .find(|l| l.starts_with("UTS-01"))
            .expect("the row is there");
        assert!(row.contains("FAIL"), "{row}");
        assert!(row.contains("boom\\x1b[2K\\x1b[1A\\u{202e}ssap"), "{row}");
        assert!(text.contains("kernel 6.1\\x1b]0;owned\\x07 "), "{text}");
        assert!(text.contains("subject: ./c\\x1b[31m {probe}"), "{text}");
        // The ending's reason stays on its one line.
        assert!(text.contains("(bad\\nline\\x1b[A)"), "{text}");
        assert!(text.contains("hostname `x\\x1b[1A`"), "{text}");
        // The subject's stderr is shown, escaped, one line per line.
        assert!(
            text.contains("subject stderr (last lines):\n  | err\\x1b[1A\\u{2066}\n"),
            "{text}"
        );
        // With colors, the only ESCs are the two of our own paint.
        let colored = r.to_human(true);
        assert_eq!(colored.matches('\x1b').count(), 2, "{colored:?}");
    }

    #[test]
    fn from_json_reads_reports_and_refuses_newer_schemas() {
        let r = hostile_report();
        let back = Report::from_json(&r.to_json()).expect("round trip");
        assert_eq!(back.results, r.results);
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        v["schema"] = (SCHEMA_VERSION + 1).into();
        let e = Report::from_json(&v.to_string()).unwrap_err();
        assert!(e.contains("newer nsconform"), "{e}");
        assert!(Report::from_json("{}").is_err());
        assert!(Report::from_json("").is_err());
    }
}
