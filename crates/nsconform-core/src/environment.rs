//! Where nsconform itself runs: the namespaces it is not in the initial one of, the
//! offsets of its time namespace, seccomp, namespace limits at 0, and (filled by the
//! preflight, `harness::survey`) the namespace types the environment refuses to
//! create. Reported as `environment` in a catalogue report; when the environment refuses
//! namespace creation, the catalogue run turns the failures it cannot vouch for into
//! errors (`run::vouch`). A leaf: it names those two in prose only.

use crate::env::KernelVersion;
use crate::ns::Ns;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The environment of a run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, schemars::JsonSchema)]
pub struct Environment {
    /// Types this process is in a non-initial namespace of, decided by the fixed inodes
    /// initial namespaces have (`ioctl_ns(2)`, namespaces(7)).
    pub nested: Vec<String>,
    /// Types whose initial namespace has no fixed inode on this kernel (net and mnt
    /// before 6.18), so whether this process is in it cannot be told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<String>,
    /// The non-zero offsets of this process's time namespace, per clock, in nanoseconds
    /// (`/proc/self/timens_offsets`, time_namespaces(7)).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub time_offsets_ns: BTreeMap<String, i128>,
    /// The seccomp mode of this process (`Seccomp:` in `/proc/self/status`): 0 none,
    /// 1 strict, 2 filter.
    pub seccomp: u32,
    /// Whether `no_new_privs` is set (`NoNewPrivs:`).
    pub no_new_privs: bool,
    /// The namespace types whose `/proc/sys/user/max_<type>_namespaces` is 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits_at_zero: Vec<String>,
    /// The namespace types the preflight could not create, with what the kernel answered
    /// and the likely cause.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refused: BTreeMap<String, Refusal>,
}

/// A namespace type the environment refuses to create.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub struct Refusal {
    /// The errno unshare(2) gave, by name (`ENOSPC`).
    pub errno: String,
    /// What most likely refused it, for a person.
    pub cause: String,
}

impl Environment {
    /// Read this process's environment (all but `refused`), on kernel `kernel`.
    pub fn detect(kernel: Option<KernelVersion>) -> Environment {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| -> Option<u32> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        let mut nested = Vec::new();
        let mut undecided = Vec::new();
        let mut limits_at_zero = Vec::new();
        for ns in Ns::ALL {
            let ino = std::fs::metadata(ns.path("self"))
                .ok()
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
            match (ino, kernel.and_then(|v| ns.init_ino(v))) {
                (Some(ino), Some(init)) if ino != init => nested.push(ns.name().to_string()),
                (Some(_), Some(_)) => {}
                // No such namespace type here, or no fixed initial inode on this kernel.
                _ => undecided.push(ns.name().to_string()),
            }
            let limit = std::fs::read_to_string(limit_path(ns));
            if limit.is_ok_and(|l| l.trim() == "0") {
                limits_at_zero.push(ns.name().to_string());
            }
        }
        Environment {
            nested,
            undecided,
            time_offsets_ns: std::fs::read_to_string("/proc/self/timens_offsets")
                .ok()
                .and_then(|t| TimeOffsets::parse(&t).ok())
                .map(|o| o.non_zero())
                .unwrap_or_default(),
            seccomp: field("Seccomp:").unwrap_or(0),
            no_new_privs: field("NoNewPrivs:") == Some(1),
            limits_at_zero,
            refused: BTreeMap::new(),
        }
    }

    /// Record that creating `ns` failed with `errno` (by name) in this environment; the
    /// cause is decided from what [`Environment::detect`] found. `rootless`: the run
    /// creates its namespaces inside a user namespace of its own.
    pub fn refuse(&mut self, ns: Ns, errno: &str, rootless: bool) {
        let cause = self.cause(ns, errno, rootless);
        self.refused.insert(
            ns.name().to_string(),
            Refusal {
                errno: errno.to_string(),
                cause,
            },
        );
    }

    /// The likely cause of `errno` when creating `ns` here.
    fn cause(&self, ns: Ns, errno: &str, rootless: bool) -> String {
        let limit = limit_path(ns);
        match errno {
            "ENOSPC" if self.limits_at_zero.iter().any(|t| t == ns.name()) => {
                format!("{limit} is 0")
            }
            "ENOSPC" => format!(
                "a limit on {} namespaces is reached ({limit} here or in an ancestor user \
                 namespace, or the nesting depth)",
                ns.name()
            ),
            _ if self.seccomp == 2 => {
                "a seccomp filter (Seccomp: 2 in /proc/self/status), as container runtimes \
                 install by default"
                    .to_string()
            }
            "EPERM" if rootless && ns == Ns::User => "unprivileged user namespaces are refused \
                 here (kernel.unprivileged_userns_clone, an LSM such as AppArmor's userns \
                 restriction)"
                .to_string(),
            "EPERM" => format!(
                "no CAP_SYS_ADMIN in the user namespace that would own the new {} namespace",
                ns.name()
            ),
            "EINVAL" | "ENOSYS" => format!(
                "this kernel does not offer {} namespaces ({})",
                ns.name(),
                ns.config().unwrap_or("no kernel option")
            ),
            other => format!("unshare(2) answered {other}"),
        }
    }

    /// One line for a person: `user (ENOSPC: /proc/sys/user/max_user_namespaces is 0), ...`.
    pub fn describe_refused(&self) -> String {
        self.refused
            .iter()
            .map(|(t, r)| format!("{t} ({}: {})", r.errno, r.cause))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `/proc/sys/user/max_<type>_namespaces` (the names under /proc/sys/user are the
/// /proc/<pid>/ns names).
fn limit_path(ns: Ns) -> String {
    format!("/proc/sys/user/max_{}_namespaces", ns.name())
}

/// The offsets of a time namespace, as `/proc/<pid>/timens_offsets` shows them
/// (time_namespaces(7)): CLOCK_MONOTONIC's and CLOCK_BOOTTIME's, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeOffsets {
    pub monotonic_ns: i128,
    pub boottime_ns: i128,
}

impl TimeOffsets {
    /// Parse the file strictly: exactly one line per clock (named, or by clock id 1 and
    /// 7), `<clock> <secs> <nanosecs>` with 0 <= nanosecs < 10^9, nothing else but blank
    /// lines. Written by hand because the format is three fields and must be exact.
    pub fn parse(text: &str) -> Result<TimeOffsets, String> {
        let (mut mono, mut boot) = (None, None);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            let [clock, secs, nanos] = w[..] else {
                return Err(format!(
                    "`{}` is not `<clock> <secs> <nanosecs>`",
                    line.escape_debug()
                ));
            };
            let secs: i64 = secs
                .parse()
                .map_err(|_| format!("`{}`: seconds are not a number", line.escape_debug()))?;
            let nanos: i64 = nanos
                .parse()
                .ok()
                .filter(|n| (0..1_000_000_000).contains(n))
                .ok_or_else(|| format!("`{}`: nanoseconds out of 0..10^9", line.escape_debug()))?;
            let total = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
            let slot = match clock {
                "monotonic" | "1" => &mut mono,
                "boottime" | "7" => &mut boot,
                other => return Err(format!("unknown clock `{}`", other.escape_debug())),
            };
            if slot.replace(total).is_some() {
                return Err(format!("clock `{clock}` given twice"));
            }
        }
        match (mono, boot) {
            (Some(monotonic_ns), Some(boottime_ns)) => Ok(TimeOffsets {
                monotonic_ns,
                boottime_ns,
            }),
            _ => Err("a monotonic and a boottime line are both needed".into()),
        }
    }

    /// The offsets that are not zero, by clock name (as the report's `environment` has them).
    pub fn non_zero(&self) -> BTreeMap<String, i128> {
        [
            ("monotonic", self.monotonic_ns),
            ("boottime", self.boottime_ns),
        ]
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timens_offsets_keep_the_non_zero_ones() {
        let m = TimeOffsets::parse("monotonic 3 500\nboottime 0 0\n\n")
            .unwrap()
            .non_zero();
        assert_eq!(m.len(), 1);
        assert_eq!(m["monotonic"], 3_000_000_500);
        let m = TimeOffsets::parse("1 -2 0\n7 0 1\n").unwrap().non_zero();
        assert_eq!(m["monotonic"], -2_000_000_000);
        assert_eq!(m["boottime"], 1);
    }

    #[test]
    fn timens_offsets_are_parsed_strictly() {
        for bad in [
            "",
            "monotonic 5 0",
            "monotonic 5 0\nboottime 1 0\nbogus x y",
            "realtime 5 0\nboottime 1 0",
            "monotonic 5 0\nmonotonic 5 0\nboottime 1 0",
            "monotonic 5\nboottime 1 0",
            "monotonic 5 0 9\nboottime 1 0",
            "monotonic x 0\nboottime 1 0",
            "monotonic 5 1000000000\nboottime 1 0",
            "monotonic 5 -1\nboottime 1 0",
        ] {
            assert!(TimeOffsets::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn causes_name_the_limit_the_filter_or_the_privilege() {
        let mut e = Environment {
            limits_at_zero: vec!["user".into()],
            ..Environment::default()
        };
        e.refuse(Ns::User, "ENOSPC", true);
        assert_eq!(
            e.refused["user"].cause,
            "/proc/sys/user/max_user_namespaces is 0"
        );
        e.refuse(Ns::Net, "ENOSPC", true);
        assert!(e.refused["net"].cause.contains("limit on net namespaces"));
        e.refuse(Ns::Uts, "EPERM", false);
        assert!(e.refused["uts"].cause.contains("no CAP_SYS_ADMIN"));
        e.refuse(Ns::User, "EPERM", true);
        assert!(e.refused["user"]
            .cause
            .contains("unprivileged user namespaces"));
        e.seccomp = 2;
        e.refuse(Ns::Ipc, "EPERM", false);
        assert!(e.refused["ipc"].cause.contains("seccomp filter"));
        assert!(e
            .describe_refused()
            .starts_with("ipc (EPERM: a seccomp filter"));
    }

    #[test]
    fn this_process_is_described() {
        let v = KernelVersion::parse(
            &nix::sys::utsname::uname()
                .unwrap()
                .release()
                .to_string_lossy(),
        );
        let e = Environment::detect(v);
        // A type is nested or undecided, never both.
        for ns in Ns::ALL {
            let n = ns.name().to_string();
            assert!(!(e.nested.contains(&n) && e.undecided.contains(&n)), "{n}");
        }
        assert!(e.seccomp <= 2);
    }
}
