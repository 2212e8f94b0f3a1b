//! UTS namespaces: uts_namespaces(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::outcome::{Expect, Verdict};
use crate::probe::subject::Action;
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::subject::SubjectObservation;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[UTS_02, UTS_03];

/// The two UTS identifiers the seed properties set.
#[derive(Clone, Copy)]
enum Name {
    Host,
    Domain,
}

impl Name {
    fn of_host(self) -> String {
        match self {
            Name::Host => host::hostname(),
            Name::Domain => host::domainname(),
        }
    }
    fn restore(self, value: &str) -> nix::Result<()> {
        match self {
            Name::Host => nix::unistd::sethostname(value),
            Name::Domain => set_domainname(value),
        }
    }
    fn label(self) -> &'static str {
        match self {
            Name::Host => "hostname",
            Name::Domain => "domainname",
        }
    }
}

fn set_domainname(name: &str) -> nix::Result<()> {
    // SAFETY: pointer and length describe a valid byte buffer.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    nix::errno::Errno::result(r).map(drop)
}

#[derive(Serialize, Deserialize)]
struct SetName {
    /// The value read back inside after setting it.
    read_back: String,
    /// The same value from /proc/sys/kernel/{hostname,domainname}.
    proc_value: String,
}

// ---------------------------------------------------------------------------------
/// UTS-02: a hostname set with sethostname(2) inside a new UTS namespace is seen there and
/// not outside; the host's hostname is unchanged. uts_namespaces(7).
pub const UTS_02: Property = Property {
    id: "UTS-02",
    area: Area::Uts,
    title: "sethostname() in a new UTS namespace is seen inside and not by the host, whose hostname is unchanged",
    man: "uts_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "LTP:utsname01,utsname02,utsname03,setns02",
    controls: &[Control::NoNewUts],
    global: true,
    subject: Some(uts_02_subject),
    inside: Some(uts_02_inside),
    check: uts_02_check,
};

fn uts_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let name = cx.arg_str("value")?;
    nix::unistd::sethostname(name).step("sethostname inside")?;
    facts(&SetName {
        read_back: nix::unistd::gethostname()
            .step("gethostname inside")?
            .to_string_lossy()
            .into_owned(),
        proc_value: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .step("read /proc/sys/kernel/hostname")?
            .trim()
            .to_string(),
    })
}

fn uts_02_check(cx: &mut Cx) -> CheckResult {
    set_name_check(cx, Name::Host)
}

// ---------------------------------------------------------------------------------
/// UTS-03: setdomainname(2) is isolated the same way. uts_namespaces(7).
pub const UTS_03: Property = Property {
    id: "UTS-03",
    area: Area::Uts,
    title: "setdomainname() in a new UTS namespace is seen inside and not by the host, whose NIS domain name is unchanged",
    man: "uts_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUts],
    global: true,
    subject: Some(uts_03_subject),
    inside: Some(uts_03_inside),
    check: uts_03_check,
};

fn uts_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let name = cx.arg_str("value")?;
    set_domainname(name).step("setdomainname inside")?;
    let proc_value = std::fs::read_to_string("/proc/sys/kernel/domainname")
        .step("read /proc/sys/kernel/domainname")?
        .trim()
        .to_string();
    let uts = nix::sys::utsname::uname().step("uname inside")?;
    facts(&SetName {
        read_back: uts.domainname().to_string_lossy().into_owned(),
        proc_value,
    })
}

fn uts_03_check(cx: &mut Cx) -> CheckResult {
    set_name_check(cx, Name::Domain)
}

/// Set a name inside, then compare inside and host views; if a control let the name
/// leak to the host, put the host's value back and fail.
fn set_name_check(cx: &mut Cx, which: Name) -> CheckResult {
    let before = which.of_host();
    let host_uts = host::own_ns_inode("uts")?;
    let value = format!("nsconform-{}-{}", which.label(), std::process::id());
    let outcome = cx.run_held(Launch::host().uts(), json!({ "value": value }), |run| {
        let pid = run.host_pid.expect("held");
        Ok((host::ns_inode(pid, "uts")?, which.of_host()))
    });
    let after = which.of_host();
    if after != before {
        which.restore(&before).map_err(|e| {
            Verdict::error(format!(
                "the host's {} changed to {after:?} and could not be restored to {before:?}: {e}",
                which.label()
            ))
        })?;
    }
    let (run, (probe_uts, during)) = outcome?;
    let f: SetName = run.facts()?;
    let label = which.label();
    let mut e = Expect::new();
    e.ne(
        "UTS namespace of the probe (a new UTS namespace)",
        host_uts,
        probe_uts,
    );
    e.eq(
        &format!("{label} read back inside"),
        value.clone(),
        f.read_back.clone(),
    );
    e.eq(
        &format!("/proc/sys/kernel/{label} inside"),
        value.clone(),
        f.proc_value.clone(),
    );
    e.eq(
        &format!("host {label} while the probe runs (isolated by the UTS namespace)"),
        before.clone(),
        during.clone(),
    );
    e.eq(
        &format!("host {label} afterwards"),
        before.clone(),
        after.clone(),
    );
    Ok(
        e.verdict(&format!("{label} set inside is invisible to the host"))
            .with_observed(json!({
                "inside_matches_set_value": f.read_back == value && f.proc_value == value,
                "host_unchanged": during == before && after == before,
                "uts_ns_differs_from_host": probe_uts != host_uts,
            })),
    )
}

/// UTS-02/03 for a subject: the probe's name change stays inside, the host keeps its own.
fn subject_name(o: &SubjectObservation, which: Name) -> Verdict {
    let (action, wanted, before, during, after) = match which {
        Name::Host => (
            &o.report.sethostname,
            &o.request.hostname,
            &o.host_hostname_before,
            &o.outside.host_hostname_during,
            &o.host_hostname_after,
        ),
        Name::Domain => (
            &o.report.setdomainname,
            &o.request.domainname,
            &o.host_domainname_before,
            &o.outside.host_domainname_during,
            &o.host_domainname_after,
        ),
    };
    let label = which.label();
    let mut e = Expect::new();
    e.eq(
        "UTS namespace differs from the host's (seen from outside)",
        true,
        o.outside.ns_differs.get("uts").copied().unwrap_or(false),
    );
    // Without a mapped root the probe has no capability in its UTS namespace and cannot
    // change the name: that is the user mapping's failure (USER-26), not the UTS one's.
    let refused = matches!(action, Action::Refused(errno) if errno == "EPERM");
    if !refused {
        e.eq(
            &format!("set{label} inside"),
            Action::Done(wanted.clone()),
            action.clone(),
        );
    }
    e.eq(
        &format!("host {label} while the subject ran"),
        before,
        during,
    );
    e.eq(
        &format!("host {label} after the subject ran (restored if not)"),
        before,
        after,
    );
    let summary = if refused {
        format!("new UTS namespace, host {label} unchanged (set{label} refused inside: EPERM, no capability there)")
    } else {
        format!("{label} isolated; the host's is unchanged")
    };
    e.verdict(&summary)
        .with_observed(json!({ "set_inside": matches!(action, Action::Done(v) if v == wanted), "host_unchanged": before == during && before == after }))
}

fn uts_02_subject(o: &SubjectObservation) -> Verdict {
    subject_name(o, Name::Host)
}

fn uts_03_subject(o: &SubjectObservation) -> Verdict {
    subject_name(o, Name::Domain)
}
