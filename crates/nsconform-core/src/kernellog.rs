//! Kernel health around a run: the taint flags (`/proc/sys/kernel/tainted`) before and
//! after, and the kernel's own trouble reports in its log (`/dev/kmsg`): `WARNING:`,
//! `BUG:`, oopses, lockdep, KASAN/UBSAN, RCU stalls, hung tasks. A property whose
//! assertion holds while the kernel reports trouble has not shown that the kernel is
//! fine: the run layer attributes each report to the properties
//! running when it was read and fails the one it can pin down.
//!
//! Only records of the kernel facility count: the kernel files everything written to
//! `/dev/kmsg` from user space under LOG_USER (printk/devkmsg), so a subject cannot
//! fake (or bury) a kernel warning by writing one. The `/dev/kmsg` record format
//! (`PRI,SEQ,TS_USEC,FLAGS[,...];MESSAGE`, continuation lines indented) is
//! Documentation/ABI/testing/dev-kmsg; it is parsed by hand because it is four fields.

use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;

/// The taint flags, as the kernel's `tainted-kernels.rst` letters them (bit order).
const TAINT_LETTERS: [(u32, char, &str); 20] = [
    (0, 'P', "proprietary module loaded"),
    (1, 'F', "module force-loaded"),
    (2, 'S', "out-of-specification system"),
    (3, 'R', "module force-unloaded"),
    (4, 'M', "machine check"),
    (5, 'B', "bad page"),
    (6, 'U', "taint requested by user space"),
    (7, 'D', "kernel died recently (oops or BUG)"),
    (8, 'A', "ACPI table overridden"),
    (9, 'W', "kernel warning"),
    (10, 'C', "staging driver loaded"),
    (11, 'I', "firmware bug worked around"),
    (12, 'O', "out-of-tree module loaded"),
    (13, 'E', "unsigned module loaded"),
    (14, 'L', "soft lockup"),
    (15, 'K', "kernel live-patched"),
    (16, 'X', "auxiliary taint (distribution)"),
    (17, 'T', "built with the struct randomization plugin"),
    (18, 'N', "in-kernel test run"),
    (19, 'J', "fwctl used"),
];

/// The taint letters of `bits`, in bit order (`""` for an untainted kernel); a bit
/// without a letter is written `[bit N]`.
pub fn taint_flags(bits: u64) -> String {
    let mut s = String::new();
    for bit in 0..64u32 {
        if bits & (1u64 << bit) == 0 {
            continue;
        }
        match TAINT_LETTERS.iter().find(|(b, _, _)| *b == bit) {
            Some((_, letter, _)) => s.push(*letter),
            None => s.push_str(&format!("[bit {bit}]")),
        }
    }
    s
}

/// What the taint letters of `flags` mean, for a person: `W (kernel warning)`.
pub fn describe_taint(flags: &str) -> String {
    flags
        .chars()
        .filter_map(|c| {
            TAINT_LETTERS
                .iter()
                .find(|(_, l, _)| *l == c)
                .map(|(_, l, what)| format!("{l} ({what})"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/proc/sys/kernel/tainted`, or the reason it could not be read.
pub fn read_taint() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/tainted")
        .map_err(|e| format!("reading /proc/sys/kernel/tainted: {e}"))?;
    text.trim()
        .parse()
        .map_err(|_| format!("/proc/sys/kernel/tainted holds {:?}", text.trim()))
}

/// One record of the kernel log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// syslog facility: 0 is the kernel, anything else was written from user space.
    pub facility: u32,
    pub level: u32,
    pub message: String,
}

/// Parse one `/dev/kmsg` record (the continuation lines after the first are ignored);
/// `None` when the line is not a record.
pub fn parse_record(text: &str) -> Option<Record> {
    let first = text.lines().next()?;
    let (prefix, message) = first.split_once(';')?;
    let pri: u32 = prefix.split(',').next()?.trim().parse().ok()?;
    Some(Record {
        facility: pri >> 3,
        level: pri & 7,
        message: message.to_string(),
    })
}

/// Whether a kernel message reports trouble: a warning, a BUG or oops, lockdep,
/// KASAN/KCSAN/UBSAN/KFENCE, an RCU stall, a soft lockup or a hung task.
pub fn is_trouble(message: &str) -> bool {
    const MARKS: [&str; 16] = [
        "WARNING:",
        "BUG:",
        "kernel BUG at",
        "Oops:",
        "Oops ",
        "general protection fault",
        "possible circular locking dependency",
        "possible recursive locking",
        "inconsistent lock state",
        "KASAN:",
        "KCSAN:",
        "UBSAN:",
        "KFENCE:",
        "detected stall",
        "soft lockup",
        "blocked for more than",
    ];
    MARKS.iter().any(|m| message.contains(m)) || message.starts_with("INFO: rcu")
}

/// `/dev/kmsg`, opened at its end: [`Kmsg::drain`] returns what the kernel logged since.
pub struct Kmsg {
    fd: OwnedFd,
}

impl Kmsg {
    /// Open the kernel log for reading from now on; the errno when it cannot be read
    /// (EPERM for a normal user where `kernel.dmesg_restrict` is 1).
    pub fn open() -> Result<Kmsg, Errno> {
        use nix::fcntl::{open, OFlag};
        let fd = open(
            "/dev/kmsg",
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        nix::unistd::lseek(&fd, 0, nix::unistd::Whence::SeekEnd)?;
        Ok(Kmsg { fd })
    }

    /// Every record logged since the last drain (records the ring overwrote before
    /// they were read are skipped: EPIPE).
    pub fn drain(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(r) = parse_record(&String::from_utf8_lossy(&buf[..n])) {
                        out.push(r);
                    }
                }
                Err(Errno::EPIPE) | Err(Errno::EINTR) => continue,
                Err(_) => break, // EAGAIN: nothing more
            }
        }
        out
    }

    /// The trouble reports among the kernel's own records since the last drain.
    pub fn trouble(&mut self) -> Vec<String> {
        self.drain()
            .into_iter()
            .filter(|r| r.facility == 0 && is_trouble(&r.message))
            .map(|r| r.message)
            .collect()
    }
}

/// The kernel's health around a run, in the JSON report (`kernel_health`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
pub struct KernelHealth {
    /// Taint letters before and after the run (`""`: not tainted), or why they could not
    /// be read.
    pub taint_before: String,
    pub taint_after: String,
    /// The letters that appeared during the run, with their meaning.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_taint: String,
    /// Where the kernel log was read (`/dev/kmsg`), or why it was not (e.g. `EPERM`:
    /// `kernel.dmesg_restrict` is 1 and the run is not root).
    pub log: String,
    /// Each trouble report the kernel logged during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trouble: Vec<Trouble>,
}

/// One trouble report of the kernel log and what it was attributed to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub struct Trouble {
    /// The kernel's line.
    pub line: String,
    /// The properties that were running when it was read.
    pub running: Vec<String>,
    /// The properties it was pinned to: the one running then, or, of several, those
    /// under which it came back when each ran again alone. Empty when it could not be
    /// pinned (nothing was running, or it did not come back: e.g. a `WARN_ON_ONCE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<String>,
}

impl KernelHealth {
    /// Whether anything is worth telling a person: new taint or trouble in the log.
    pub fn noteworthy(&self) -> bool {
        !self.new_taint.is_empty() || !self.trouble.is_empty()
    }
}

/// The taint letters now, or why they cannot be read (for [`KernelHealth`]).
pub fn taint_now() -> (Option<u64>, String) {
    match read_taint() {
        Ok(bits) => (Some(bits), taint_flags(bits)),
        Err(why) => (None, format!("unreadable: {why}")),
    }
}

/// The letters of `after` that `before` lacks, described.
pub fn new_taint(before: Option<u64>, after: Option<u64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if a & !b != 0 => {
            let flags = taint_flags(a & !b);
            describe_taint(&flags)
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_letters_follow_the_kernel_documentation() {
        assert_eq!(taint_flags(0), "");
        assert_eq!(taint_flags(1 << 9), "W");
        assert_eq!(taint_flags((1 << 0) | (1 << 12) | (1 << 13)), "POE");
        assert_eq!(taint_flags(1 << 40), "[bit 40]");
        assert_eq!(describe_taint("W"), "W (kernel warning)");
        assert_eq!(
            new_taint(Some(1 << 12), Some((1 << 12) | (1 << 9))),
            "W (kernel warning)"
        );
        assert_eq!(new_taint(Some(1 << 9), Some(1 << 9)), "");
        assert_eq!(new_taint(None, Some(1)), "");
    }

    #[test]
    fn records_are_parsed_and_user_space_lines_told_apart() {
        let k = parse_record(
            "4,1234,5678901,-;WARNING: CPU: 0 PID: 1 at fs/x.c:1 f+0x1/0x2\n SUBSYSTEM=x\n",
        )
        .unwrap();
        assert_eq!((k.facility, k.level), (0, 4));
        assert!(k.message.starts_with("WARNING: CPU: 0"));
        assert!(is_trouble(&k.message));
        // Written to /dev/kmsg by a process: the kernel files it under LOG_USER (8).
        let u = parse_record("12,1235,5678902,-;WARNING: forged").unwrap();
        assert_eq!(u.facility, 1);
        for junk in ["", "no record", "x,1,2,-;y", ";"] {
            assert_eq!(parse_record(junk), None, "{junk:?}");
        }
        assert!(is_trouble(
            "INFO: task sh:123 blocked for more than 1 seconds."
        ));
        assert!(is_trouble(
            "rcu: INFO: rcu_preempt self-detected stall on CPU"
        ));
        assert!(!is_trouble("EXT4-fs (loop0): mounted filesystem"));
    }
}
