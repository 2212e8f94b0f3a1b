//! UTS namespaces: uts_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::child::Fork;
use crate::kit::fact::read_trim;
use crate::kit::guard;
use crate::kit::{facts, res, OK};
use crate::ns::Ns;
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::sys::{set_domainname, uname_names};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[UTS_01, UTS_02, UTS_03, UTS_04, UTS_05];

// ---------------------------------------------------------------------------------
// Helpers of this area.

/// The two UTS identifiers the seed properties set.
#[derive(Clone, Copy)]
enum Name {
    Host,
    Domain,
}

impl Name {
    fn of_host(self) -> host::NameRead {
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

/// The argument of an inside half that changes names: the harness's UTS namespace (in
/// which it changes no name, see [`guard::in_host_ns`]).
fn host_uts_arg() -> Result<Value, Verdict> {
    guard::args(Ns::Uts, Value::Null)
}

/// What an inside half reports for a name change it did not try because it is in the
/// harness's UTS namespace (the change would be the host's).
const NOT_TRIED: &str = "not tried in the harness's UTS namespace";

/// Run an inside half that changes names, held, and judge first (before any fact of
/// the probe's) that its UTS namespace is not the harness's: read-only, from outside.
/// The inside half changes no name in the harness's namespace ([`guard::in_host_ns`]).
fn run_own_uts(cx: &mut Cx, what: &str) -> Result<(crate::harness::ProbeRun, Expect), Verdict> {
    let host_uts = uts_ino(None)?;
    let (run, probe_uts) = cx.run_held(Launch::host().uts(), host_uts_arg()?, |run| {
        uts_ino(run.host_pid)
    })?;
    let mut e = Expect::new();
    e.ne(what, host_uts, probe_uts);
    Ok((run, e))
}

/// The inode of the UTS namespace of the harness (`self`) or of a host PID.
fn uts_ino(pid: Option<i32>) -> Result<u64, Verdict> {
    match pid {
        Some(p) => host::ns_inode(p, Ns::Uts.name()),
        None => host::own_ns_inode(Ns::Uts.name()),
    }
}

fn proc_names() -> (String, String) {
    let read = |p: &str| read_trim(p).unwrap_or_default();
    (
        read("/proc/sys/kernel/hostname"),
        read("/proc/sys/kernel/domainname"),
    )
}

// ---------------------------------------------------------------------------------
/// UTS-01: a new UTS namespace starts with copies of the creator's names.
/// uts_namespaces(7); clone(2) CLONE_NEWUTS.
pub const UTS_01: Property = Property {
    id: "UTS-01",
    area: Area::Uts,
    title: "A new UTS namespace starts with copies of the creator's hostname and NIS domain name",
    man: "uts_namespaces(7); clone(2) CLONE_NEWUTS",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "LTP:~utsname03",
    controls: &[Control::NoNewUts, Control::Fault(Call::Uname)],
    calls: &[Call::Uname],
    global: false,
    subject: None,
    inside: Some(uts_01_inside),
    check: uts_01_check,
};

/// What the inside process's uname() says.
#[derive(Serialize, Deserialize)]
struct Uts01 {
    hostname: String,
    domainname: String,
}

fn uts_01_inside(_: &Inside) -> Result<Value, StepError> {
    let (hostname, domainname) = uname_names();
    facts(&Uts01 {
        hostname,
        domainname,
    })
}

fn uts_01_check(cx: &mut Cx) -> CheckResult {
    let host_uts = uts_ino(None)?;
    let (run, probe_uts) = cx.run_held(Launch::host().uts(), Value::Null, |run| {
        uts_ino(Some(run.host_pid.expect("held")))
    })?;
    let Uts01 {
        hostname,
        domainname,
    } = run.facts()?;
    let mut e = Expect::new();
    e.ne(
        "UTS namespace of the probe (a new one)",
        host_uts,
        probe_uts,
    );
    e.eq(
        "hostname inside (copied from the creator)",
        host::hostname(),
        host::NameRead::Read(hostname.clone()),
    );
    e.eq(
        "domainname inside (copied from the creator)",
        host::domainname(),
        host::NameRead::Read(domainname.clone()),
    );
    Ok(e.verdict("the new UTS namespace inherited both names")
        .with_observed(json!({
            "hostname_copied": host::hostname().value() == Some(hostname.as_str()),
            "domainname_copied": host::domainname().value() == Some(domainname.as_str()),
            "uts_ns_differs_from_host": probe_uts != host_uts,
        })))
}

// ---------------------------------------------------------------------------------
// UTS-02 and UTS-03: setting a name inside (the seed properties).

/// The argument of UTS-02/03: the name to set.
#[derive(Serialize, Deserialize)]
struct SetArgs {
    value: String,
}

#[derive(Serialize, Deserialize)]
struct SetName {
    /// The value read back inside after setting it.
    read_back: String,
    /// The same value from /proc/sys/kernel/{hostname,domainname}.
    proc_value: String,
}

/// Set a name inside, then compare inside and host views; if a control let the name
/// leak to the host, put the host's value back and fail.
fn set_name_check(cx: &mut Cx, which: Name) -> CheckResult {
    let before = which.of_host();
    if before.value().is_none() {
        return Err(Verdict::error(format!(
            "the host's {} before the run: {before}",
            which.label()
        )));
    }
    let host_uts = uts_ino(None)?;
    let value = format!("nsconform-{}-{}", which.label(), std::process::id());
    let args = json!(SetArgs {
        value: value.clone()
    });
    let outcome = cx.run_held(Launch::host().uts(), args, |run| {
        let pid = run.host_pid.expect("held");
        Ok((uts_ino(Some(pid))?, which.of_host()))
    });
    let after = which.of_host();
    if let (true, Some(was)) = (after != before, before.value()) {
        which.restore(was).map_err(|e| {
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
    let seen = match o.seen() {
        Ok(s) => s,
        Err(v) => return v,
    };
    let (before, during, after) = match which {
        Name::Host => (
            &o.host_hostname_before,
            &o.outside.host_hostname_during,
            &o.host_hostname_after,
        ),
        Name::Domain => (
            &o.host_domainname_before,
            &o.outside.host_domainname_during,
            &o.host_domainname_after,
        ),
    };
    let label = which.label();
    let mut e = Expect::new();
    // Judged from the harness's own eyes: its observer entered the probe's UTS
    // namespace (never the host's), set the name there and read it back with uname(2).
    let own_ns = seen.entered.iter().any(|n| n == Ns::Uts.name());
    e.eq(
        "UTS namespace of the probe differs from the host's (seen by the harness)",
        true,
        own_ns,
    );
    let (set, read_back, wanted) = match (&seen.uts, which) {
        (Some(u), Name::Host) => (
            u.sethostname.clone(),
            u.hostname.clone(),
            seen.request.hostname.clone(),
        ),
        (Some(u), Name::Domain) => (
            u.setdomainname.clone(),
            u.domainname.clone(),
            seen.request.domainname.clone(),
        ),
        (None, _) => ("not run".into(), String::new(), String::new()),
    };
    if own_ns {
        e.eq(
            &format!("set{label} inside, by the harness"),
            OK.to_string(),
            set.clone(),
        );
        e.eq(
            &format!("{label} read back inside with uname(2)"),
            wanted.clone(),
            read_back.clone(),
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
    e.verdict(&format!("{label} isolated; the host's is unchanged"))
        .with_observed(json!({
            "own_uts_ns": own_ns,
            "set_inside": set == OK && read_back == wanted,
            "host_unchanged": before == during && before == after,
        }))
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
    calls: &[Call::Sethostname, Call::Uname],
    global: true,
    subject: Some(crate::spec::SubjectCheck::required(uts_02_subject)),
    inside: Some(uts_02_inside),
    check: uts_02_check,
};

fn uts_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let SetArgs { value } = cx.args()?;
    nix::unistd::sethostname(&value).step("sethostname inside")?;
    facts(&SetName {
        read_back: nix::unistd::gethostname()
            .step("gethostname inside")?
            .to_string_lossy()
            .into_owned(),
        proc_value: read_trim("/proc/sys/kernel/hostname")?,
    })
}

fn uts_02_check(cx: &mut Cx) -> CheckResult {
    set_name_check(cx, Name::Host)
}

fn uts_02_subject(o: &SubjectObservation) -> Verdict {
    subject_name(o, Name::Host)
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
    calls: &[Call::Sethostname, Call::Uname],
    global: true,
    subject: Some(crate::spec::SubjectCheck::required(uts_03_subject)),
    inside: Some(uts_03_inside),
    check: uts_03_check,
};

fn uts_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let SetArgs { value } = cx.args()?;
    set_domainname(&value).step("setdomainname inside")?;
    let proc_value = read_trim("/proc/sys/kernel/domainname")?;
    let uts = nix::sys::utsname::uname().step("uname inside")?;
    facts(&SetName {
        read_back: uts.domainname().to_string_lossy().into_owned(),
        proc_value,
    })
}

fn uts_03_check(cx: &mut Cx) -> CheckResult {
    set_name_check(cx, Name::Domain)
}

fn uts_03_subject(o: &SubjectObservation) -> Verdict {
    subject_name(o, Name::Domain)
}

// ---------------------------------------------------------------------------------
/// UTS-04: changing names needs CAP_SYS_ADMIN in the user namespace owning the UTS one.
/// sethostname(2) ERRORS; user_namespaces(7).
pub const UTS_04: Property = Property {
    id: "UTS-04",
    area: Area::Uts,
    title: "sethostname/setdomainname need CAP_SYS_ADMIN in the user namespace owning the UTS namespace: EPERM without capabilities and from a new user namespace still using the old UTS namespace; allowed with user+UTS namespaces",
    man: "sethostname(2) ERRORS; user_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_UTS_NS", "CONFIG_USER_NS"]),
    coverage: "LTP:~utsname04 (EPERM without userns only)",
    controls: &[Control::NoNewUts, Control::Fault(Call::Unshare), Control::Fault(Call::Sethostname), Control::Fault(Call::Capabilities)],
    calls: &[Call::Unshare, Call::Sethostname, Call::Wait, Call::Capabilities],
    global: false,
    subject: None,
    inside: Some(uts_04_inside),
    check: uts_04_check,
};

/// Each case: the result of (sethostname, setdomainname).
#[derive(Serialize, Deserialize, Debug, Default)]
struct Uts04 {
    no_caps: (String, String),
    new_userns_old_uts: (String, String),
    new_userns_new_uts: (String, String),
    own_namespace: (String, String),
}

fn try_set_both() -> (String, String) {
    (
        res(nix::unistd::sethostname("nsconform-uts04")),
        res(set_domainname("nsconform-uts04")),
    )
}

/// In a helper: unshare(`flags`), then try to set both names (the errno of the unshare
/// when it fails).
fn set_both_after(what: &str, flags: CloneFlags) -> Result<(String, String), StepError> {
    let (r, _) = Fork::new(what)
        .spawn(move |_| {
            if let Err(e) = unshare(flags) {
                return (crate::probe::errno_name(e), String::new());
            }
            try_set_both()
        })?
        .finish::<(String, String)>()?;
    Ok(r.unwrap_or_default())
}

fn uts_04_inside(cx: &Inside) -> Result<Value, StepError> {
    // In the harness's UTS namespace root would set the host's names: that case is not
    // tried (the check fails on the namespace first). The other cases cannot change the
    // host's names: the kernel refuses them, or they are in a UTS namespace of their own.
    let in_host = guard::in_host_ns(cx, Ns::Uts);
    let (no_caps, _) = Fork::new("set names with no capabilities")
        .spawn(|_| match crate::kit::proc::limit_effective_caps(0) {
            Ok(()) => try_set_both(),
            Err(e) => {
                let not = format!(
                    "not tried: capabilities not dropped ({})",
                    crate::probe::errno_name(e)
                );
                (not.clone(), not)
            }
        })?
        .finish::<(String, String)>()?;
    facts(&Uts04 {
        no_caps: no_caps.unwrap_or_default(),
        new_userns_old_uts: set_both_after(
            "set names from a new user namespace",
            CloneFlags::CLONE_NEWUSER,
        )?,
        new_userns_new_uts: set_both_after(
            "set names from new user and UTS namespaces",
            CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWUTS,
        )?,
        own_namespace: if in_host {
            (NOT_TRIED.to_string(), NOT_TRIED.to_string())
        } else {
            try_set_both()
        },
    })
}

fn uts_04_check(cx: &mut Cx) -> CheckResult {
    let (run, mut e) = run_own_uts(
        cx,
        "UTS namespace of the probe (a new one, whose root may set its names)",
    )?;
    let f: Uts04 = run.facts()?;
    let eperm = ("EPERM".to_string(), "EPERM".to_string());
    let ok = (crate::kit::OK.to_string(), crate::kit::OK.to_string());
    e.eq(
        "root of the probe's namespace setting names in its own new UTS namespace",
        &ok,
        &f.own_namespace,
    );
    e.eq("setting names with no capabilities", &eperm, &f.no_caps);
    e.eq(
        "setting names from a new user namespace that still uses the old UTS namespace",
        &eperm,
        &f.new_userns_old_uts,
    );
    e.eq(
        "setting names after unshare(CLONE_NEWUSER | CLONE_NEWUTS)",
        &ok,
        &f.new_userns_new_uts,
    );
    Ok(
        e.verdict("name changes follow CAP_SYS_ADMIN in the UTS namespace's owner")
            .with_errno("EPERM")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// UTS-05: uname(2) and /proc/sys/kernel reflect the reader's UTS namespace.
/// uts_namespaces(7); proc(5) /proc/sys/kernel/hostname.
pub const UTS_05: Property = Property {
    id: "UTS-05",
    area: Area::Uts,
    title: "uname() nodename/domainname and /proc/sys/kernel/{hostname,domainname} show the caller's UTS namespace, whichever procfs is read",
    man: "uts_namespaces(7); proc(5) /proc/sys/kernel/hostname",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "new",
    controls: &[Control::NoNewUts, Control::Fault(Call::Unshare), Control::Fault(Call::Uname)],
    calls: &[Call::Unshare, Call::Sethostname, Call::Uname, Call::Wait],
    global: false,
    subject: None,
    inside: Some(uts_05_inside),
    check: uts_05_check,
};

#[derive(Serialize, Deserialize, Debug, Default, Clone)]
struct Views {
    uname: (String, String),
    proc: (String, String),
}

fn views() -> Views {
    Views {
        uname: uname_names(),
        proc: proc_names(),
    }
}

/// The views in the probe's UTS namespace and in a nested one.
#[derive(Serialize, Deserialize, Debug)]
struct Uts05 {
    outer: Views,
    inner: Option<Views>,
}

fn uts_05_inside(cx: &Inside) -> Result<Value, StepError> {
    // In the harness's UTS namespace no name is set (they are the host's): the views
    // are read as they are, and the check fails on the namespace first.
    if guard::in_host_ns(cx, Ns::Uts) {
        return facts(&Uts05 {
            outer: views(),
            inner: None,
        });
    }
    nix::unistd::sethostname("nsconform-outer").step("sethostname")?;
    set_domainname("outer.nsconform").step("setdomainname")?;
    let make_ns = cx.launch.uts;
    let (inner, _) = Fork::new("read names in a nested UTS namespace")
        .spawn(move |_| {
            if make_ns && unshare(Ns::Uts.flag()).is_err() {
                return views();
            }
            let _ = nix::unistd::sethostname("nsconform-inner");
            let _ = set_domainname("inner.nsconform");
            views()
        })?
        .finish::<Views>()?;
    facts(&Uts05 {
        outer: views(),
        inner,
    })
}

fn uts_05_check(cx: &mut Cx) -> CheckResult {
    let (run, mut e) = run_own_uts(
        cx,
        "UTS namespace of the probe (a new one, whose names it sets and reads)",
    )?;
    let f: Uts05 = run.facts()?;
    let (outer, inner) = (Some(f.outer), f.inner);
    let o = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
    e.eq(
        "uname() in the probe's UTS namespace",
        o("nsconform-outer", "outer.nsconform"),
        outer.as_ref().map(|v| v.uname.clone()),
    );
    e.eq(
        "/proc/sys/kernel names in the probe's namespace",
        o("nsconform-outer", "outer.nsconform"),
        outer.as_ref().map(|v| v.proc.clone()),
    );
    e.eq(
        "uname() in a nested UTS namespace",
        o("nsconform-inner", "inner.nsconform"),
        inner.as_ref().map(|v| v.uname.clone()),
    );
    e.eq(
        "/proc/sys/kernel names read from the nested namespace (same procfs)",
        o("nsconform-inner", "inner.nsconform"),
        inner.as_ref().map(|v| v.proc.clone()),
    );
    Ok(
        e.verdict("uname() and /proc/sys/kernel follow the reader's UTS namespace")
            .with_observed(json!({ "outer": outer, "inner": inner })),
    )
}
