//! Facts about the machine a run happens on: kernel release and config, privilege,
//! overflow ids. Prerequisites of properties are decided against these facts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;

/// A kernel version as `major.minor.patch`, parsed from `uname -r`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion(pub u32, pub u32, pub u32);

impl KernelVersion {
    /// Parse the leading `X.Y[.Z]` of a release string such as `6.18.44-fc-v595`.
    pub fn parse(release: &str) -> Option<Self> {
        let mut nums = release
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|s| s.parse::<u32>().ok());
        let major = nums.next()??;
        let minor = nums.next()??;
        let patch = nums.next().flatten().unwrap_or(0);
        Some(KernelVersion(major, minor, patch))
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// State of one kernel config option as read from `/proc/config.gz` or `/boot/config-*`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConfigState {
    Builtin,
    Module,
    Unset,
}

/// Everything a run needs to know about its environment.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Env {
    pub release: String,
    pub version: Option<KernelVersion>,
    /// Effective uid of the harness (or the uid the probe drops to when emulating rootless).
    pub uid: u32,
    /// True when checks run with CAP_SYS_ADMIN in the initial user namespace.
    pub privileged: bool,
    pub overflowuid: u32,
    pub overflowgid: u32,
    /// Kernel config, when the running kernel exposes it (`None` = unknown, not "unset").
    #[serde(skip)]
    pub config: Option<BTreeMap<String, ConfigState>>,
}

impl Env {
    /// Read the facts of the running machine. `rootless_as` is the uid the probe drops to
    /// when a privileged caller asked for a rootless run.
    pub fn detect(rootless_as: Option<u32>) -> Env {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let euid = nix::unistd::geteuid().as_raw();
        let uid = rootless_as.unwrap_or(euid);
        Env {
            version: KernelVersion::parse(&release),
            release,
            uid,
            privileged: uid == 0 && has_cap_sys_admin() && in_initial_user_ns(),
            overflowuid: read_u32("/proc/sys/kernel/overflowuid").unwrap_or(65534),
            overflowgid: read_u32("/proc/sys/kernel/overflowgid").unwrap_or(65534),
            config: read_kernel_config(),
        }
    }

    /// The state of `CONFIG_NAME`; `None` when the kernel config is not readable.
    pub fn config(&self, name: &str) -> Option<ConfigState> {
        self.config
            .as_ref()
            .map(|c| c.get(name).copied().unwrap_or(ConfigState::Unset))
    }
}

/// Parse a `u32` from a one-line proc/sys file.
pub fn read_u32(path: &str) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether the effective capability set holds CAP_SYS_ADMIN (bit 21), read from
/// `/proc/self/status` `CapEff`.
fn has_cap_sys_admin() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1u64 << 21) != 0)
}

/// Whether this process is in the initial user namespace, whose uid_map is the identity
/// over the whole range (user_namespaces(7)); root in a child user namespace is not
/// privileged over the host.
fn in_initial_user_ns() -> bool {
    fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false)
}

fn read_kernel_config() -> Option<BTreeMap<String, ConfigState>> {
    let raw = procfs::kernel_config().ok()?;
    Some(
        raw.into_iter()
            .map(|(k, v)| {
                let state = match v {
                    procfs::ConfigSetting::Yes => ConfigState::Builtin,
                    procfs::ConfigSetting::Module => ConfigState::Module,
                    _ => ConfigState::Builtin,
                };
                (k, state)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v595"),
            Some(KernelVersion(6, 18, 44))
        );
        assert_eq!(
            KernelVersion::parse("6.1.0-40-amd64"),
            Some(KernelVersion(6, 1, 0))
        );
        assert_eq!(KernelVersion::parse("5.4"), Some(KernelVersion(5, 4, 0)));
        assert_eq!(KernelVersion::parse("garbage"), None);
    }

    #[test]
    fn detects_this_machine() {
        let env = Env::detect(None);
        assert!(env.version.is_some(), "uname release {:?}", env.release);
        assert!(env.overflowuid > 0);
    }
}
