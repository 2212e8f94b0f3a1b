//! The shape of a property: its area, prerequisites as data, and the function types of
//! its halves. Area files (`properties/<area>.rs`) build [`Property`] consts from these;
//! the catalogue module collects them.
//!
//! A [`Property`] carries its stable ID, the statement it verifies, the man page section
//! it comes from, its prerequisites, the negative controls that must make it fail, and its
//! check in halves: [`Property::inside`] runs in the single-threaded probe inside the
//! namespaces, [`Property::check`] runs in the harness, reads what the probe reported,
//! looks at the host from outside and returns a [`Verdict`]; [`Property::subject`] judges
//! a foreign launcher's run.

use crate::env::{ConfigState, Env, KernelVersion};
use crate::harness::Cx;
use crate::observation::SubjectObservation;
use crate::outcome::Verdict;
pub use crate::probe::{Call, Control, InsideFn};
use serde::Serialize;

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
    /// What a subject leaves on the host (subjects only).
    Host,
}

impl Area {
    pub const ALL: [Area; 13] = [
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
        Area::Host,
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
            Area::Host => "HOST",
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
    /// Kernel modules the check needs loaded where the kernel has them as modules
    /// (`CONFIG_X=m`): loaded before the run ([`crate::kmod`]); one that cannot be
    /// loaded makes the property an `error` naming it. A kernel built without the
    /// option skips the property.
    pub modules: &'static [KernelModule],
}

/// A kernel module and the option that builds it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelModule {
    pub config: &'static str,
    pub name: &'static str,
}

impl KernelModule {
    pub const EXT4: KernelModule = KernelModule {
        config: "CONFIG_EXT4_FS",
        name: "ext4",
    };
    pub const OVERLAY: KernelModule = KernelModule {
        config: "CONFIG_OVERLAY_FS",
        name: "overlay",
    };
    pub const VETH: KernelModule = KernelModule {
        config: "CONFIG_VETH",
        name: "veth",
    };
}

impl Prereq {
    pub const ROOTLESS: Prereq = Prereq {
        privilege: Privilege::Rootless,
        min_kernel: None,
        config: &[],
        tools: &[],
        modules: &[],
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
    pub const fn modules(mut self, modules: &'static [KernelModule]) -> Prereq {
        self.modules = modules;
        self
    }

    /// The modules of this prerequisite the run must load: those the kernel has as
    /// modules (or whose option is unknown: no kernel config to read).
    pub fn modules_to_load(&self, env: &Env) -> Vec<&'static KernelModule> {
        self.modules
            .iter()
            .filter(|m| {
                !matches!(
                    env.config(m.config),
                    Some(ConfigState::Builtin | ConfigState::Unset)
                )
            })
            .collect()
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
        for m in self.modules {
            if env.config(m.config) == Some(ConfigState::Unset) {
                return Some(format!(
                    "kernel built without {} (module {})",
                    m.config, m.name
                ));
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

/// A subject judge: the verdict of one property from one observation of a subject run.
pub type SubjectFn = fn(&SubjectObservation) -> Verdict;

/// How a property applies to subjects.
#[derive(Clone, Copy)]
pub struct SubjectCheck {
    pub judge: SubjectFn,
    /// `Some(why)` for isolation a container may legitimately lack (a time namespace):
    /// when the probe never ran, the property is skipped with this reason instead of
    /// failed (there is nothing to judge, and nothing required was missing).
    pub optional: Option<&'static str>,
}

impl SubjectCheck {
    /// A property every subject must hold.
    pub const fn required(judge: SubjectFn) -> SubjectCheck {
        SubjectCheck {
            judge,
            optional: None,
        }
    }
    /// A property that is optional for containers (`why` says so).
    pub const fn optional(judge: SubjectFn, why: &'static str) -> SubjectCheck {
        SubjectCheck {
            judge,
            optional: Some(why),
        }
    }
}

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
    /// Negative controls this check must detect: launcher variants that lack one piece
    /// of isolation, and syscall faults ([`Control::Fault`], each of a call in
    /// [`Property::calls`]).
    pub controls: &'static [Control],
    /// The system calls the inside half exercises and the verdict rests on: the tests
    /// fault each group in turn (`<ID>::call::<call>::<mode>`) and require the verdict
    /// to change (fail or error); the ones whose fault reaches the property's own
    /// assertion are also listed as controls.
    pub calls: &'static [Call],
    /// True when the check changes host-global state (e.g. creates an IPC object in the
    /// initial namespace) and so must not run alongside other checks.
    pub global: bool,
    /// How to judge the property for a subject (a foreign launcher with the probe
    /// inside), for the properties that apply to subjects.
    #[serde(serialize_with = "is_some")]
    pub subject: Option<SubjectCheck>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Env, KernelVersion};

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
