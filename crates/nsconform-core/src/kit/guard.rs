//! The host-namespace guard: inside halves that change namespace-global state (IPC
//! objects) first check that they are not in the harness's own namespace of that type,
//! and refuse to touch anything when they are (a negative control removed the new
//! namespace). The check then fails with "left in the host's namespace" instead of the
//! probe changing the host. The guard is the last resort: a check should rather reach
//! its own assertion safely (the mount experiments of `properties::mnt` build their
//! tree under the harness's scratch directory when left in the host's mount namespace,
//! where the harness sees the mounts; the UTS checks judge the probe's namespace before
//! any name is changed). [`in_host_ns`] serves those as well.
//!
//! The harness half passes [`args`] (the harness's namespace inodes); the inside half
//! wraps its work in [`guarded`]; the check unwraps the [`Guarded`] facts with
//! [`Guarded::into_facts`].

use crate::kit::fact::facts;
use crate::ns::Ns;
use crate::outcome::Verdict;
use crate::probe::sys::{ns_inode, StepError};
use crate::probe::Inside;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The argument an inside half needs to recognise the harness's namespace of `ns`:
/// `{"host_ns": {"<type>": inode}}`, merged into `extra` (an object or null).
pub fn args(ns: Ns, mut extra: Value) -> Result<Value, Verdict> {
    let ino = ns_inode("self", ns.name())
        .map_err(|e| Verdict::error(format!("read the harness's own namespace: {e}")))?;
    if extra.is_null() {
        extra = json!({});
    }
    if let Some(o) = extra.as_object_mut() {
        o.insert("host_ns".into(), json!({ ns.name(): ino }));
    }
    Ok(extra)
}

/// Whether the inside process is still in the harness's namespace of `ns` (also when
/// the argument is missing or the inode cannot be read: then nothing is touched).
pub fn in_host_ns(cx: &Inside, ns: Ns) -> bool {
    let host = cx.args["host_ns"][ns.name()].as_u64();
    match (host, ns_inode("self", ns.name())) {
        (Some(h), Ok(own)) => h == own,
        _ => true,
    }
}

/// What a guarded inside half reports: its facts, or that it was in the host's namespace.
#[derive(Serialize, Deserialize, Debug)]
pub struct Guarded<T> {
    pub in_host_ns: bool,
    pub facts: Option<T>,
}

/// Run `f` only when the inside process has a namespace of `ns` of its own.
pub fn guarded<T: Serialize>(
    cx: &Inside,
    ns: Ns,
    f: impl FnOnce() -> Result<T, StepError>,
) -> Result<Value, StepError> {
    if in_host_ns(cx, ns) {
        return facts(&Guarded::<T> {
            in_host_ns: true,
            facts: None,
        });
    }
    let t = f()?;
    facts(&Guarded {
        in_host_ns: false,
        facts: Some(t),
    })
}

impl<T> Guarded<T> {
    /// The facts, or the failure "the probe was left in the host's namespace".
    pub fn into_facts(self, ns: Ns) -> Result<T, Verdict> {
        match self.facts {
            Some(t) if !self.in_host_ns => Ok(t),
            _ => Err(Verdict::fail(
                format!(
                    "the probe shares the harness's {ns} namespace (no new {ns} namespace); \
                     it refused to change anything"
                ),
                format!("a new {ns} namespace"),
                format!("the harness's {ns} namespace"),
            )
            .with_observed(json!({ format!("in_host_{ns}_ns"): true }))
            .at(crate::outcome::AT_GUARD)),
        }
    }
}
