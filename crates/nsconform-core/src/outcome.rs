//! Outcomes and verdicts: what one property check concludes.
//!
//! Five outcomes stay distinct so that a report never hides a problem:
//! `pass` and `fail` judge the kernel (or subject), `skip` says the property could not be
//! run here and why, `error` says the environment or harness broke (not the subject's
//! fault), `timeout` says the check did not finish in time.

use serde::{Deserialize, Serialize};
use std::fmt::{self, Display};

/// The result class of one property check.
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
    Error,
    Timeout,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Skip,
        Outcome::Error,
        Outcome::Timeout,
    ];

    /// Fail, timeout or error: what `--rerun-failed` runs again.
    pub fn is_bad(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Timeout | Outcome::Error)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
        }
    }
}

impl Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The conclusion of one check: outcome, a one-line detail and, for failures, what was
/// expected against what was seen. `observed` holds the normalized facts the verdict rests
/// on (no PIDs of the host, no inode numbers): it is what snapshots and `nsconform diff`
/// compare between kernels.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct Verdict {
    pub outcome: Outcome,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The errno name the kernel answered with where that is part of the result
    /// (e.g. `ENOSPC` for the 33rd nested PID namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub observed: serde_json::Value,
    /// Which sub-check decided a failure: the quantity an [`Expect`] found wrong, or
    /// [`AT_GUARD`] when the probe refused to work in the harness's own namespace (a
    /// negative control caught there has not reached the property's own assertion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// [`Verdict::at`] of a failure decided by the host-namespace guard (`kit::guard`).
pub const AT_GUARD: &str = "guard";

impl Verdict {
    fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Verdict {
            outcome,
            detail: detail.into(),
            expected: None,
            actual: None,
            errno: None,
            observed: serde_json::Value::Null,
            at: None,
        }
    }
    pub fn pass(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Pass, detail)
    }
    pub fn fail(detail: impl Into<String>, expected: impl Display, actual: impl Display) -> Self {
        let mut v = Self::new(Outcome::Fail, detail);
        v.expected = Some(expected.to_string());
        v.actual = Some(actual.to_string());
        v
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::new(Outcome::Skip, reason)
    }
    pub fn error(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Error, detail)
    }
    pub fn timeout(detail: impl Into<String>) -> Self {
        Self::new(Outcome::Timeout, detail)
    }
    pub fn with_observed(mut self, observed: serde_json::Value) -> Self {
        self.observed = observed;
        self
    }
    /// Name the sub-check that decided this verdict (see [`Verdict::at`]).
    pub fn at(mut self, what: impl Into<String>) -> Self {
        self.at = Some(what.into());
        self
    }
    pub fn with_errno(mut self, errno: impl Into<String>) -> Self {
        self.errno = Some(errno.into());
        self
    }
}

/// Collects expectations of one check and turns them into a single verdict: the first
/// unmet expectation becomes the failure, with its own expected and actual values.
///
/// ```
/// use nsconform_core::outcome::{Expect, Outcome};
/// let mut e = Expect::new();
/// e.eq("PID inside", 1, 1);
/// e.eq("parent PID inside", 0, 7);
/// let v = e.verdict("first process is PID 1");
/// assert_eq!(v.outcome, Outcome::Fail);
/// assert!(v.detail.contains("parent PID inside"));
/// ```
/// `n` and the noun in the right number: `count(1, "check", "checks")` is `1 check`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration for a person: `250 ms` under a second, else seconds to one decimal.
pub fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A value as a person reads it in `expected`/`actual`: numbers and booleans plain,
/// strings quoted, a missing value (`None`) as `none`, lists and records as compact JSON;
/// never Rust's debug text (`Some(4026531838)`).
pub fn shown<T: Serialize + ?Sized>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Null) => "none".into(),
        Ok(other) => other.to_string(),
        Err(e) => format!("(not representable: {e})"),
    }
}

#[derive(Default, Debug)]
pub struct Expect {
    first_failure: Option<(String, String, String)>,
    checked: usize,
}

impl Expect {
    pub fn new() -> Self {
        Self::default()
    }

    /// Expect `actual == expected`; `what` names the quantity in the failure message.
    pub fn eq<T: PartialEq + Serialize>(&mut self, what: &str, expected: T, actual: T) -> bool {
        self.that(what, expected == actual, shown(&expected), shown(&actual))
    }

    /// Expect `actual != unwanted` (e.g. an inode that must differ from the host's).
    pub fn ne<T: PartialEq + Serialize>(&mut self, what: &str, unwanted: T, actual: T) -> bool {
        self.that(
            what,
            unwanted != actual,
            format!("not {}", shown(&unwanted)),
            shown(&actual),
        )
    }

    /// Expect a condition; `expected` and `actual` describe it for the report.
    pub fn that(
        &mut self,
        what: &str,
        ok: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> bool {
        self.checked += 1;
        if !ok && self.first_failure.is_none() {
            self.first_failure = Some((what.to_string(), expected.into(), actual.into()));
        }
        ok
    }

    pub fn failed(&self) -> bool {
        self.first_failure.is_some()
    }

    /// `pass` with `summary` when every expectation held, else `fail` naming the first one
    /// that did not.
    pub fn verdict(self, summary: &str) -> Verdict {
        match self.first_failure {
            None => Verdict::pass(format!(
                "{summary} ({})",
                count(self.checked, "check", "checks")
            )),
            Some((what, expected, actual)) => Verdict::fail(
                format!("{what}: expected {expected}, got {actual}"),
                expected,
                actual,
            )
            .at(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_reports_first_failure_only() {
        let mut e = Expect::new();
        e.eq("a", 1, 2);
        e.eq("b", 3, 4);
        let v = e.verdict("x");
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(v.expected.as_deref(), Some("1"));
        assert_eq!(v.actual.as_deref(), Some("2"));
        assert!(v.detail.starts_with("a:"));
    }

    #[test]
    fn expect_passes_when_all_hold() {
        let mut e = Expect::new();
        e.ne("inode", 5, 6);
        e.that("flag", true, "set", "set");
        let v = e.verdict("all good");
        assert_eq!(v.outcome, Outcome::Pass);
        assert!(v.detail.contains("2 checks"));
    }

    #[test]
    fn outcome_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Outcome::Timeout).unwrap(),
            "\"timeout\""
        );
    }
}

/// The exit statuses of `nsconform`, one table for the code, `--help` and the README
/// (tests compare all three and produce each status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every property passed or was skipped with a reason.
    Passed,
    /// A property failed or timed out.
    Failed,
    /// A usage error: bad option, unknown property or control, unreadable input,
    /// unwritable output folder (all found before anything runs).
    Usage,
    /// The environment broke: errors and no failures.
    Environment,
    /// The run finished but its report could not be written (e.g. ENOSPC on `-o`).
    Unwritten,
    /// `nsconform vm`: the guest kernel panicked.
    VmKernelPanic,
    /// `nsconform vm`: the watchdog killed QEMU.
    VmTimeout,
    /// `nsconform vm`: the guest never booted.
    VmNeverBooted,
    /// `nsconform vm`: QEMU, the initramfs or the kernel fetch failed.
    VmHarnessError,
    /// Ended by SIGINT, everything undone and no report written.
    Interrupted,
    /// Ended by SIGTERM, everything undone and no report written.
    Terminated,
}

impl ExitStatus {
    pub const ALL: [ExitStatus; 11] = [
        ExitStatus::Passed,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::Environment,
        ExitStatus::Unwritten,
        ExitStatus::VmKernelPanic,
        ExitStatus::VmTimeout,
        ExitStatus::VmNeverBooted,
        ExitStatus::VmHarnessError,
        ExitStatus::Interrupted,
        ExitStatus::Terminated,
    ];

    pub const fn code(self) -> i32 {
        match self {
            ExitStatus::Passed => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Environment => 3,
            ExitStatus::Unwritten => 4,
            ExitStatus::VmKernelPanic => 5,
            ExitStatus::VmTimeout => 6,
            ExitStatus::VmNeverBooted => 7,
            ExitStatus::VmHarnessError => 8,
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        }
    }

    /// The line of the table: what the status means.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Passed => "every property passed or was skipped with a reason",
            ExitStatus::Failed => "a property failed or timed out (under --control: a control went undetected)",
            ExitStatus::Usage => {
                "usage error: bad option, property or input, unwritable -o folder (before the run)"
            }
            ExitStatus::Environment => {
                "the environment broke (errors, no failures): e.g. namespaces cannot be created here"
            }
            ExitStatus::Unwritten => "the report could not be written (e.g. ENOSPC) after the run",
            ExitStatus::VmKernelPanic => "vm: the guest kernel panicked",
            ExitStatus::VmTimeout => "vm: the watchdog killed QEMU",
            ExitStatus::VmNeverBooted => "vm: the guest never booted",
            ExitStatus::VmHarnessError => "vm: QEMU, the initramfs or the kernel fetch failed",
            ExitStatus::Interrupted => "SIGINT: everything undone, no report",
            ExitStatus::Terminated => "SIGTERM: everything undone, no report",
        }
    }

    /// The `Exit status:` block of `--help`.
    pub fn help_text() -> String {
        let mut s = String::from("Exit status:");
        for e in ExitStatus::ALL {
            s.push_str(&format!("\n  {:<3}  {}", e.code(), e.meaning()));
        }
        s
    }
}
