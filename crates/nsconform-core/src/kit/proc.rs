//! `/proc/<pid>/status` and capability sets, parsed by the procfs crate, and the
//! capability calls the checks make (capget/capset have no nix wrapper).

pub use crate::probe::sys::status;
use crate::probe::sys::StepError;
use nix::errno::Errno;
pub use procfs::process::Status;

/// The children of process `pid` (`"self"` or a number), of all its threads, from
/// `/proc/<pid>/task/*/children` (proc(5)); empty when it is gone.
pub fn children(pid: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    out
}

/// CAP_SETUID, CAP_SYS_CHROOT, CAP_SYS_ADMIN (linux/capability.h).
pub const CAP_SETUID: u32 = 7;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability mask of this process.
pub fn cap_eff() -> Result<u64, StepError> {
    status("self").map(|s| s.capeff)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// _LINUX_CAPABILITY_VERSION_3: two data structs (64 capability bits).
const CAP_V3: u32 = 0x2008_0522;

fn capget() -> Result<(CapHeader, [CapData; 2]), Errno> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: a version-3 header and the two data structs capget(2) fills for it.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    Errno::result(r).map(|_| (hdr, data))
}

fn capset(mut hdr: CapHeader, data: &[CapData; 2]) -> Result<(), Errno> {
    // SAFETY: as for capget: a version-3 header and two data structs.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    Errno::result(r).map(drop)
}

/// Remove capabilities from this process's effective and permitted sets.
pub fn drop_caps(caps: &[u32]) -> Result<(), Errno> {
    let (hdr, mut data) = capget()?;
    for &c in caps {
        let (i, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        data[i].effective &= !bit;
        data[i].permitted &= !bit;
    }
    capset(hdr, &data)
}

/// Keep only the capabilities of `keep` (a bit mask) in the effective set.
pub fn limit_effective_caps(keep: u64) -> Result<(), Errno> {
    let (hdr, mut data) = capget()?;
    data[0].effective &= keep as u32;
    data[1].effective &= (keep >> 32) as u32;
    capset(hdr, &data)
}

/// The capability names of linux/capability.h, by bit number (0 ..= 40).
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability set by name, for a person to read: `"none"`, or the names in bit order,
/// runs of three or more consecutive capabilities written `FIRST..LAST` (the full set of
/// a 6.x kernel reads `CAP_CHOWN..CAP_CHECKPOINT_RESTORE`); a bit without a name is `capN`.
pub fn cap_names(mask: u64) -> String {
    let name = |b: usize| {
        CAP_NAMES
            .get(b)
            .map_or_else(|| format!("cap{b}"), |n| n.to_string())
    };
    let mut parts = Vec::new();
    let mut b = 0;
    while b < 64 {
        if mask & (1 << b) == 0 {
            b += 1;
            continue;
        }
        let start = b;
        while b < 64 && mask & (1 << b) != 0 {
            b += 1;
        }
        match b - start {
            1 => parts.push(name(start)),
            2 => parts.extend([name(start), name(start + 1)]),
            _ => parts.push(format!("{}..{}", name(start), name(b - 1))),
        }
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets_by_name() {
        assert_eq!(cap_names(0), "none");
        assert_eq!(
            cap_names(0x1ff_ffff_ffff),
            "CAP_CHOWN..CAP_CHECKPOINT_RESTORE"
        );
        assert_eq!(cap_names(1 << CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
        assert_eq!(
            cap_names(0b1011 | 1 << 41),
            "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,cap41"
        );
    }
}
