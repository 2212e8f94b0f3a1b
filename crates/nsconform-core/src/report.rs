//! The report of a run and its renderings (`human` table, `json`).

use crate::env::Env;
use crate::outcome::Outcome;
use crate::run::{tally, PropertyResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Version of the JSON report schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run, as `nsconform run --format json` prints it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Report {
    pub schema: u32,
    pub tool: String,
    pub version: String,
    /// `uname -r` of the kernel the checks ran on.
    pub kernel: String,
    /// Whether the checks ran with real root (CAP_SYS_ADMIN in the initial user ns).
    pub privileged: bool,
    /// The uid the checks ran as.
    pub uid: u32,
    /// The subject, when a foreign launcher was tested (`run --subject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<crate::subject::SubjectRun>,
    /// The VM the run happened in (`nsconform vm`): kernel image, accelerator, boot time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<serde_json::Value>,
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
            subject: None,
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
        let n = |o| self.summary.get(&o).copied().unwrap_or(0);
        if n(Outcome::Fail) + n(Outcome::Timeout) > 0 {
            1
        } else if n(Outcome::Error) > 0 {
            3
        } else {
            0
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    /// A readable table; `color` adds ANSI colors to the outcome column.
    pub fn to_human(&self, color: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "nsconform {} on kernel {} ({}, uid {})",
            self.version,
            self.kernel,
            if self.privileged {
                "privileged"
            } else {
                "rootless"
            },
            self.uid
        );
        if let Some(sub) = &self.subject {
            let _ = writeln!(s, "subject: {}", sub.command.join(" "));
            let _ = writeln!(s, "ended:   {}", ending_text(&sub.ending));
            for r in &sub.restored {
                let _ = writeln!(s, "restored on the host: {r}");
            }
        }
        let idw = self
            .results
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        for r in &self.results {
            let o = r.verdict.outcome;
            let tag = format!("{:<7}", o.as_str().to_uppercase());
            let tag = if color { paint(o, &tag) } else { tag };
            let _ = writeln!(s, "{:<idw$}  {tag}  {}", r.id, r.verdict.detail);
        }
        let counts: Vec<String> = self
            .summary
            .iter()
            .map(|(o, n)| format!("{n} {o}"))
            .collect();
        if let Some(score) = &self.score {
            let _ = writeln!(s, "\nscore: {} / {}", score.earned, score.max);
        }
        let _ = writeln!(
            s,
            "\n{} properties: {} in {:.2} s",
            self.results.len(),
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

/// One line on how a subject run ended.
pub fn ending_text(e: &crate::subject::Ending) -> String {
    use crate::subject::Ending;
    match e {
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
    }
}
