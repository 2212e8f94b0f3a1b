//! The property catalogue: every documented namespace property, each defined once.
//!
//! A [`Property`] carries its stable ID, the statement it verifies, the man page section
//! it comes from, its prerequisites as data, the negative controls that must make it fail,
//! and its check in two halves: [`Property::inside`] runs in the single-threaded probe
//! inside the namespaces, [`Property::check`] runs in the harness, reads what the probe
//! reported, looks at the host from outside and returns a [`Verdict`].
//! The CLI, the tests, rubrics and `docs/properties.md` are all derived from this list.

use crate::env::{ConfigState, Env, KernelVersion};
use crate::harness::Cx;
use crate::outcome::Verdict;
use crate::probe::{Inside, StepError};
use serde::Serialize;
use std::sync::OnceLock;

/// The area (namespace type or API) a property belongs to; also the ID prefix.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum Area {
    Gen,
    Setns,
    Cr,
    Pid,
    User,
    Mnt,
    Uts,
    Ipc,
    Net,
    Cg,
    Time,
    Nsfs,
}

impl Area {
    pub const ALL: [Area; 12] = [
        Area::Gen,
        Area::Setns,
        Area::Cr,
        Area::Pid,
        Area::User,
        Area::Mnt,
        Area::Uts,
        Area::Ipc,
        Area::Net,
        Area::Cg,
        Area::Time,
        Area::Nsfs,
    ];
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Gen => "GEN",
            Area::Setns => "SETNS",
            Area::Cr => "CR",
            Area::Pid => "PID",
            Area::User => "USER",
            Area::Mnt => "MNT",
            Area::Uts => "UTS",
            Area::Ipc => "IPC",
            Area::Net => "NET",
            Area::Cg => "CG",
            Area::Time => "TIME",
            Area::Nsfs => "NSFS",
        }
    }
}

/// What privilege a property needs.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Privilege {
    /// Any user, no namespace set-up needed.
    Any,
    /// Works rootless: inside a user namespace the check creates itself.
    Rootless,
    /// Needs CAP_SYS_ADMIN (or another capability) in the initial user namespace.
    Root,
}

/// Prerequisites of a property, decided at run time; an unmet one is a `skip` whose
/// detail names it.
#[derive(Serialize, Clone, Copy, Debug)]
pub struct Prereq {
    pub privilege: Privilege,
    /// Oldest kernel (major, minor) that has the behaviour.
    pub min_kernel: Option<(u32, u32)>,
    /// Kernel options that must be `y` or `m`.
    pub config: &'static [&'static str],
    /// Programs that must be on PATH.
    pub tools: &'static [&'static str],
}

impl Prereq {
    pub const ROOTLESS: Prereq = Prereq {
        privilege: Privilege::Rootless,
        min_kernel: None,
        config: &[],
        tools: &[],
    };
    pub const ROOT: Prereq = Prereq {
        privilege: Privilege::Root,
        ..Prereq::ROOTLESS
    };
    pub const ANY: Prereq = Prereq {
        privilege: Privilege::Any,
        ..Prereq::ROOTLESS
    };
    pub const fn kernel(mut self, major: u32, minor: u32) -> Prereq {
        self.min_kernel = Some((major, minor));
        self
    }
    pub const fn config(mut self, options: &'static [&'static str]) -> Prereq {
        self.config = options;
        self
    }
    pub const fn tools(mut self, tools: &'static [&'static str]) -> Prereq {
        self.tools = tools;
        self
    }

    /// The reason this prerequisite is not met in `env`, or `None` when it is.
    pub fn unmet(&self, env: &Env) -> Option<String> {
        if self.privilege == Privilege::Root && !env.privileged {
            return Some(
                "needs CAP_SYS_ADMIN in the initial user namespace (real root); run as root".into(),
            );
        }
        if let (Some((maj, min)), Some(have)) = (self.min_kernel, env.version) {
            if have < KernelVersion(maj, min, 0) {
                return Some(format!("needs kernel {maj}.{min} or newer; running {have}"));
            }
        }
        for option in self.config {
            if env.config(option) == Some(ConfigState::Unset) {
                return Some(format!("kernel built without {option}"));
            }
        }
        for tool in self.tools {
            if !on_path(tool) {
                return Some(format!("program `{tool}` not found on PATH; install it"));
            }
        }
        None
    }
}

/// Whether `program` is an executable file in one of the PATH directories.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(program);
            nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
        })
    })
}

/// A negative control: a launcher variant that lacks one piece of isolation. A property
/// lists the controls whose absence it must detect; the tests run each and require
/// `fail`.
#[derive(Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// No CLONE_NEWPID.
    NoNewPid,
    /// New PID namespace but the host's /proc is left mounted.
    NoProcMount,
    /// No CLONE_NEWNS.
    NoNewMnt,
    /// New mount namespace but `/` left with its propagation (not made rprivate).
    SharedRoot,
    NoNewUts,
    NoNewIpc,
    NoNewNet,
    /// New user namespace but no uid_map/gid_map written.
    NoUserMap,
    NoNewUser,
    NoNewCgroup,
    NoNewTime,
}

impl Control {
    pub const ALL: [Control; 11] = [
        Control::NoNewPid,
        Control::NoProcMount,
        Control::NoNewMnt,
        Control::SharedRoot,
        Control::NoNewUts,
        Control::NoNewIpc,
        Control::NoNewNet,
        Control::NoUserMap,
        Control::NoNewUser,
        Control::NoNewCgroup,
        Control::NoNewTime,
    ];
    /// Every control that removes one new namespace: for properties that create all
    /// types and must notice any one missing.
    pub const EVERY_NEW_NAMESPACE: &'static [Control] = &[
        Control::NoNewUser,
        Control::NoNewPid,
        Control::NoNewMnt,
        Control::NoNewUts,
        Control::NoNewIpc,
        Control::NoNewNet,
        Control::NoNewCgroup,
        Control::NoNewTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Control::NoNewPid => "no-new-pid",
            Control::NoProcMount => "no-proc-mount",
            Control::NoNewMnt => "no-new-mnt",
            Control::SharedRoot => "shared-root",
            Control::NoNewUts => "no-new-uts",
            Control::NoNewIpc => "no-new-ipc",
            Control::NoNewNet => "no-new-net",
            Control::NoUserMap => "no-user-map",
            Control::NoNewUser => "no-new-user",
            Control::NoNewCgroup => "no-new-cgroup",
            Control::NoNewTime => "no-new-time",
        }
    }
    pub fn parse(name: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The inside half of a check: runs in the probe's forked child, inside the namespaces
/// the launcher made, single-threaded. Returns the facts it saw as JSON.
pub type InsideFn = fn(&Inside) -> Result<serde_json::Value, StepError>;

/// The outside half: runs in the harness, launches the probe through `cx` and judges.
pub type CheckFn = fn(&mut Cx) -> CheckResult;

/// A check returns `Ok(verdict)`; `Err(verdict)` lets it bail out early with `?` (an
/// environment error, a skip) from any helper.
pub type CheckResult = Result<Verdict, Verdict>;

/// One documented, testable namespace property.
#[derive(Serialize, Clone, Copy)]
pub struct Property {
    /// Stable ID such as `PID-01`; never reused.
    pub id: &'static str,
    pub area: Area,
    /// One-line testable statement.
    pub title: &'static str,
    /// Man page and section, e.g. `pid_namespaces(7) "The namespace init process"`.
    pub man: &'static str,
    pub prereq: Prereq,
    /// Which existing suites cover it (`LTP:...`, `KST:...`), or `new`.
    pub coverage: &'static str,
    /// Negative controls this check must detect.
    pub controls: &'static [Control],
    /// True when the check changes host-global state (e.g. creates an IPC object in the
    /// initial namespace) and so must not run alongside other checks.
    pub global: bool,
    /// How to judge the property for a subject (a foreign launcher with the probe
    /// inside), for the properties that apply to subjects.
    #[serde(serialize_with = "is_some")]
    pub subject: Option<crate::subject::SubjectFn>,
    #[serde(skip)]
    pub inside: Option<InsideFn>,
    #[serde(skip)]
    pub check: CheckFn,
}

fn is_some<T, S: serde::Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.is_some())
}

impl std::fmt::Debug for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Property").field("id", &self.id).finish()
    }
}

/// Every property, in catalogue order (area order, then ID).
pub fn all() -> &'static [Property] {
    static ALL: OnceLock<Vec<Property>> = OnceLock::new();
    ALL.get_or_init(crate::properties::collect)
}

/// Look a property up by its ID (case-insensitive).
pub fn find(id: &str) -> Option<&'static Property> {
    all().iter().find(|p| p.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_well_formed_and_match_their_area() {
        let mut seen = HashSet::new();
        for p in all() {
            assert!(seen.insert(p.id), "duplicate ID {}", p.id);
            let (prefix, num) = p.id.rsplit_once('-').expect("ID has a dash");
            assert_eq!(prefix, p.area.prefix(), "{} filed under {:?}", p.id, p.area);
            assert!(
                num.len() == 2 && num.chars().all(|c| c.is_ascii_digit()),
                "{}",
                p.id
            );
            assert!(p.man.contains('('), "{} cites no man page section", p.id);
            assert!(!p.title.is_empty());
        }
    }

    #[test]
    fn controls_round_trip_by_name() {
        for c in Control::ALL {
            assert_eq!(Control::parse(c.name()), Some(c));
        }
    }

    #[test]
    fn root_prereq_skips_when_unprivileged() {
        let mut env = Env::detect(Some(65534));
        env.privileged = false;
        assert!(Prereq::ROOT.unmet(&env).unwrap().contains("root"));
        assert!(Prereq::ROOTLESS.unmet(&env).is_none());
        env.version = Some(KernelVersion(4, 0, 0));
        assert!(Prereq::ROOTLESS
            .kernel(5, 6)
            .unmet(&env)
            .unwrap()
            .contains("5.6"));
    }
}
