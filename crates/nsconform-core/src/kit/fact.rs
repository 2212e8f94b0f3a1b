//! The fact vocabulary of inside halves: a call's result is `"ok"` ([`OK`]) or the errno
//! name the kernel answered (`"EPERM"`), always a string, spelled one way everywhere.
//! Errno tables ([`Table`]) map case names to such results and are judged by one judge.

use crate::outcome::Expect;
use crate::probe::sys::{errno_name, StepError};
use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The result of a call that succeeded.
pub const OK: &str = "ok";

/// Serialize an inside half's facts.
pub fn facts<T: Serialize>(t: &T) -> Result<serde_json::Value, StepError> {
    serde_json::to_value(t).map_err(|e| StepError::new("serialize facts", None, e.to_string()))
}

/// [`OK`] or the errno name of a nix call.
pub fn res<T>(r: nix::Result<T>) -> String {
    match r {
        Ok(_) => OK.to_string(),
        Err(e) => errno_name(e),
    }
}

/// [`OK`] or the errno name of a raw libc/syscall return value (negative = failed, with
/// errno set). Call it right after the call, before anything can change errno.
pub fn sys_res(ret: impl Into<i64>) -> String {
    if ret.into() < 0 {
        errno_name(Errno::last())
    } else {
        OK.to_string()
    }
}

/// The errno name of an I/O error (`"EIO"` style), or its kind when it carries none.
pub fn io_errno(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(|n| errno_name(Errno::from_raw(n)))
        .unwrap_or_else(|| format!("{}", e.kind()))
}

/// [`OK`] or the errno name of an I/O result.
pub fn io_res<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => OK.to_string(),
        Err(e) => io_errno(&e),
    }
}

/// Open `path` for writing and write `data` with one write(2): [`OK`] when the kernel
/// took all of it, else the errno of the open or the write (`"short write N"`).
pub fn write_res(path: &str, data: &[u8]) -> String {
    use std::io::Write;
    let mut f = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) => return io_errno(&e),
    };
    match f.write(data) {
        Ok(n) if n == data.len() => OK.to_string(),
        Ok(n) => format!("short write {n}"),
        Err(e) => io_errno(&e),
    }
}

/// A file's content with surrounding whitespace removed, or a step error naming it.
pub fn read_trim(path: &str) -> Result<String, StepError> {
    use crate::probe::sys::StepExt;
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .step(&format!("read {path}"))
}

/// "yes" or "no", for facts that are a yes/no answer in a table.
pub fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// An errno table: case name → result ([`OK`], an errno name, or another short fact).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(transparent)]
pub struct Table(pub BTreeMap<String, String>);

impl Table {
    pub fn new() -> Self {
        Table::default()
    }
    /// Record the result of one case.
    pub fn set(&mut self, case: impl Into<String>, result: impl Into<String>) -> &mut Self {
        self.0.insert(case.into(), result.into());
        self
    }
    pub fn get(&self, case: &str) -> Option<&str> {
        self.0.get(case).map(String::as_str)
    }
    /// Expect each `(case, result)` of `expected`; a case the table lacks reads as
    /// "not run".
    pub fn judge(&self, e: &mut Expect, what: &str, expected: &[(&str, &str)]) {
        for (case, want) in expected {
            e.eq(
                &format!("{what}: {case}"),
                want.to_string(),
                self.get(case).unwrap_or("not run").to_string(),
            );
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Table {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Table(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn one_spelling_of_success() {
        assert_eq!(res::<()>(Ok(())), "ok");
        assert_eq!(res::<()>(Err(Errno::EPERM)), "EPERM");
        assert_eq!(
            io_errno(&std::io::Error::from_raw_os_error(libc::ENOSPC)),
            "ENOSPC"
        );
        assert_eq!(write_res("/nonexistent/x", b"1"), "ENOENT");
    }

    #[test]
    fn table_judge_names_the_case() {
        let t: Table = [("a", "ok"), ("b", "EPERM")].into_iter().collect();
        let mut e = Expect::new();
        t.judge(&mut e, "setns", &[("a", OK), ("b", "EINVAL"), ("c", OK)]);
        let v = e.verdict("x");
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("setns: b"), "{}", v.detail);
        let mut e = Expect::new();
        t.judge(&mut e, "setns", &[("c", OK)]);
        assert_eq!(e.verdict("x").actual.as_deref(), Some("\"not run\""));
    }
}
