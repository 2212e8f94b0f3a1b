//! `nsconform check-config`: the kernel options namespaces need and the distribution
//! knobs that change results, each tied to the properties it affects (in the spirit of
//! docker's check-config.sh, but derived from the catalogue).

use crate::catalogue;
use crate::env::{ConfigState, Env};
use serde::Serialize;

/// A kernel option nsconform cares about.
pub struct OptionInfo {
    pub name: &'static str,
    pub what: &'static str,
    /// Needed for the suite at all (not only for some properties).
    pub required: bool,
}

/// The options, in the order they are reported.
pub const OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        name: "CONFIG_NAMESPACES",
        what: "namespaces at all",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_UTS_NS",
        what: "UTS namespaces",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_IPC_NS",
        what: "IPC namespaces",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_USER_NS",
        what: "user namespaces (the rootless path)",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_PID_NS",
        what: "PID namespaces",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_NET_NS",
        what: "network namespaces",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_CGROUPS",
        what: "cgroups and cgroup namespaces",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_TIME_NS",
        what: "time namespaces (5.6+)",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_SYSVIPC",
        what: "System V IPC",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_POSIX_MQUEUE",
        what: "POSIX message queues",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_VETH",
        what: "veth pairs between network namespaces",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_CHECKPOINT_RESTORE",
        what: "ns_last_pid, clone3 set_tid, NSpid extras",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_PROC_FS",
        what: "procfs",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_TMPFS",
        what: "tmpfs (mount experiments)",
        required: true,
    },
    OptionInfo {
        name: "CONFIG_NET_9P_VIRTIO",
        what: "VM mode: host root over 9p",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_9P_FS",
        what: "VM mode: 9p filesystem",
        required: false,
    },
    OptionInfo {
        name: "CONFIG_VIRTIO_PCI",
        what: "VM mode: virtio devices",
        required: false,
    },
];

/// One line of the report.
#[derive(Serialize, Debug)]
pub struct OptionReport {
    pub name: String,
    pub what: String,
    /// `builtin`, `module`, `unset`, or `unknown` (no readable kernel config).
    pub state: String,
    pub required: bool,
    /// Properties that are skipped without it.
    pub properties: Vec<String>,
}

/// A runtime knob and what it does to results.
#[derive(Serialize, Debug)]
pub struct Knob {
    pub path: String,
    /// Its value, or `absent`.
    pub value: String,
    pub effect: String,
    /// True when the value will make properties skip or error.
    pub limiting: bool,
}

#[derive(Serialize, Debug)]
pub struct ConfigReport {
    pub kernel: String,
    pub config_source: Option<String>,
    pub options: Vec<OptionReport>,
    pub knobs: Vec<Knob>,
}

impl ConfigReport {
    /// Required options missing (exit status 1 of check-config).
    pub fn missing_required(&self) -> Vec<&OptionReport> {
        self.options
            .iter()
            .filter(|o| o.required && o.state == "unset")
            .collect()
    }
}

/// Whether a module that creates fallback tunnel devices is loaded.
fn tunnel_modules_loaded() -> bool {
    [
        "sit",
        "ipip",
        "ip_gre",
        "ip6_tunnel",
        "ip_vti",
        "ip6_vti",
        "ip6_gre",
    ]
    .iter()
    .any(|m| std::path::Path::new("/sys/module").join(m).exists())
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Decides from a knob's value whether it limits the suite.
type LimitFn = fn(&str) -> bool;

/// Inspect the running kernel.
pub fn check(env: &Env) -> ConfigReport {
    let options = OPTIONS
        .iter()
        .map(|o| OptionReport {
            name: o.name.into(),
            what: o.what.into(),
            state: match env.config(o.name) {
                Some(ConfigState::Builtin) => "builtin",
                Some(ConfigState::Module) => "module",
                Some(ConfigState::Unset) => "unset",
                None => "unknown",
            }
            .into(),
            required: o.required,
            properties: catalogue::all()
                .iter()
                .filter(|p| p.prereq.config.contains(&o.name))
                .map(|p| p.id.to_string())
                .collect(),
        })
        .collect();
    let mut knobs = Vec::new();
    for kind in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
        let path = format!("/proc/sys/user/max_{kind}_namespaces");
        let value = read(&path);
        knobs.push(Knob {
            limiting: value.as_deref() == Some("0"),
            effect: format!(
                "{kind} namespaces per user; 0 disables them (creation fails with ENOSPC)"
            ),
            value: value.unwrap_or_else(|| "absent".into()),
            path,
        });
    }
    let extra: [(&str, &str, LimitFn); 4] = [
        (
            "/proc/sys/kernel/unprivileged_userns_clone",
            "Debian/Ubuntu switch: 0 refuses user namespaces to unprivileged users (EPERM): the rootless path errors",
            |v| v == "0",
        ),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "Ubuntu 23.10+: 1 creates user namespaces without capabilities for unconfined programs: rootless mounts fail",
            |v| v == "1",
        ),
        (
            "/proc/sys/net/core/fb_tunnels_only_for_init_net",
            "0 lets loaded tunnel modules (sit, ipip, gre) add fallback devices to every new network namespace: NET-01 is skipped",
            |v| v == "0" && tunnel_modules_loaded(),
        ),
        (
            "/proc/sys/kernel/overflowuid",
            "the uid unmapped ids show as (USER-03 reads it, never assumes 65534)",
            |_| false,
        ),
    ];
    for (path, effect, limiting) in extra {
        let value = read(path);
        knobs.push(Knob {
            limiting: value.as_deref().is_some_and(limiting),
            value: value.unwrap_or_else(|| "absent".into()),
            effect: effect.into(),
            path: path.into(),
        });
    }
    let seccomp = crate::probe::sys::status("self")
        .ok()
        .and_then(|s| s.seccomp)
        .map(|v| v.to_string());
    knobs.push(Knob {
        limiting: seccomp.as_deref().is_some_and(|v| v != "0"),
        value: seccomp.unwrap_or_else(|| "absent".into()),
        effect: "seccomp mode of nsconform itself: 2 (a filter, as in containers) may refuse unshare/setns/mount: expect errors".into(),
        path: "/proc/self/status Seccomp".into(),
    });
    ConfigReport {
        kernel: env.release.clone(),
        config_source: env.config.as_ref().map(|_| {
            if std::path::Path::new("/proc/config.gz").exists() {
                "/proc/config.gz".to_string()
            } else {
                format!("/boot/config-{}", env.release)
            }
        }),
        options,
        knobs,
    }
}

/// The report as text.
pub fn human(r: &ConfigReport) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "kernel {} (config from {})\n\nKernel options:\n",
        r.kernel,
        r.config_source
            .as_deref()
            .unwrap_or("nowhere: neither /proc/config.gz nor /boot/config-*")
    );
    for o in &r.options {
        let tag = if o.required { "required" } else { "optional" };
        let props = if o.properties.is_empty() {
            String::new()
        } else {
            format!(" -> {}", o.properties.join(" "))
        };
        let _ = writeln!(
            s,
            "  {:<28} {:<8} {tag:<8} {}{props}",
            o.name, o.state, o.what
        );
    }
    s.push_str("\nKnobs that change results:\n");
    for k in &r.knobs {
        let mark = if k.limiting { "!!" } else { "  " };
        let _ = writeln!(s, "{mark}{:<58} {:<10} {}", k.path, k.value, k.effect);
    }
    let missing = r.missing_required();
    if missing.is_empty() {
        s.push_str("\nEverything the suite requires is there.\n");
    } else {
        let names: Vec<&str> = missing.iter().map(|o| o.name.as_str()).collect();
        let _ = writeln!(s, "\nMissing required options: {}", names.join(", "));
    }
    s
}
