//! Syscall fault injection for negative controls: a seccomp filter installed in the
//! inside process, right before its half runs, makes chosen calls fail with an errno the
//! kernel never gives for them (`ENOTRECOVERABLE`). To the check it looks as if the
//! kernel misbehaved: a call the property needs to succeed fails, and a call the
//! property needs refused with a documented errno is refused with the wrong one. A check
//! that still passes under a fault does not look at that call's result.
//!
//! The filter is classic BPF (seccomp(2) `SECCOMP_MODE_FILTER`), written by hand
//! because it must be exact and is a dozen instructions: check the audit arch (calls of
//! another arch, whose numbers mean other calls, are let through), load the syscall
//! number, compare, return `SECCOMP_RET_ERRNO | errno` or `SECCOMP_RET_ALLOW`. On
//! architectures other than x86_64 and aarch64 installing is refused (a step error). For
//! `ioctl` only the nsfs requests (`_IO(0xb7, n)`, ioctl_ns(2)) are faulted, so the
//! probe's other ioctls keep working. `PR_SET_NO_NEW_PRIVS` comes first, which lets an
//! unprivileged probe install it (seccomp(2)).

use super::sys::{errno_name, StepError};
use serde::{Deserialize, Serialize};

/// The errno every fault returns: nothing in the namespace API returns it, so a check
/// that passes its value through shows it plainly.
pub const FAULT_ERRNO: i32 = libc::ENOTRECOVERABLE;

/// Which calls a fault makes fail.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// setns(2).
    Setns,
    /// The nsfs ioctls (NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID,
    /// NS_GET_PID_FROM_PIDNS ...).
    NsIoctl,
    /// unshare(2).
    Unshare,
    /// clone(2) with a `CLONE_NEW*` flag, and every clone3(2) (its flags are behind a
    /// pointer a filter cannot read); a plain fork keeps working.
    CloneNs,
}

impl Fault {
    /// The syscall numbers the fault hits.
    fn syscalls(self) -> &'static [libc::c_long] {
        match self {
            Fault::Setns => &[libc::SYS_setns],
            Fault::NsIoctl => &[libc::SYS_ioctl],
            Fault::Unshare => &[libc::SYS_unshare],
            Fault::CloneNs => &[libc::SYS_clone, libc::SYS_clone3],
        }
    }

    /// What a person reads: `setns(2) fails with ENOTRECOVERABLE`.
    pub fn describe(self) -> String {
        let calls = match self {
            Fault::Setns => "setns(2)",
            Fault::NsIoctl => "the nsfs ioctls (ioctl_ns(2))",
            Fault::Unshare => "unshare(2)",
            Fault::CloneNs => "clone(2) with a CLONE_NEW* flag and clone3(2)",
        };
        format!(
            "{calls} fails with {} (seccomp fault injection)",
            errno_name(nix::errno::Errno::from_raw(FAULT_ERRNO))
        )
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

// struct seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args at 16.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// The low 32 bits of args[0] (little endian): clone(2)'s flags.
const OFF_ARG0_LO: u32 = 16;
/// The low 32 bits of args[1] (little endian): an ioctl's request.
const OFF_ARG1_LO: u32 = 16 + 8;
/// The CLONE_NEW* flags clone(2) takes (CLONE_NEWTIME, 0x80, is clone3/unshare only:
/// in clone(2) that bit is part of the exit signal).
const CLONE_NEW_MASK: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// The filter program of `fault`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn program(fault: Fault) -> Vec<libc::sock_filter> {
    let mut p = head();
    rules(&mut p, fault, errno_ret(FAULT_ERRNO));
    p.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    p
}

/// A filter like container runtimes install by default: creating namespaces is refused
/// (unshare(2) and clone(2) with a `CLONE_NEW*` flag: `EPERM`; clone3(2): `ENOSYS`, so
/// the C library falls back to clone(2) and threads keep working). For tests and for
/// showing what the catalogue reports in such an environment.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn deny_creation_program() -> Vec<libc::sock_filter> {
    let mut p = head();
    rules(&mut p, Fault::Unshare, errno_ret(libc::EPERM));
    clone_rule(&mut p, errno_ret(libc::EPERM));
    p.push(jump(
        libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
        libc::SYS_clone3 as u32,
        0,
        1,
    ));
    p.push(stmt(libc::BPF_RET | libc::BPF_K, errno_ret(libc::ENOSYS)));
    p.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    p
}

fn errno_ret(errno: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA)
}

/// Check the arch (another arch's syscall numbers mean other calls: let them be), then
/// load the syscall number.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn head() -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let ld = BPF_LD | BPF_W | BPF_ABS;
    vec![
        stmt(ld, OFF_ARCH),
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(ld, OFF_NR),
    ]
}

/// `nr == clone && (flags & CLONE_NEW*) != 0 -> ret`; the accumulator holds the syscall
/// number again afterwards.
fn clone_rule(p: &mut Vec<libc::sock_filter>, ret: u32) {
    use libc::{BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let ld = BPF_LD | BPF_W | BPF_ABS;
    p.push(jump(
        BPF_JMP | BPF_JEQ | BPF_K,
        libc::SYS_clone as u32,
        0,
        4,
    ));
    p.push(stmt(ld, OFF_ARG0_LO));
    p.push(stmt(BPF_ALU | BPF_AND | BPF_K, CLONE_NEW_MASK));
    p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
    p.push(stmt(BPF_RET | BPF_K, ret));
    p.push(stmt(ld, OFF_NR));
}

/// The rules of `fault`, returning `ret` for the calls it hits; the accumulator holds
/// the syscall number before and after.
fn rules(p: &mut Vec<libc::sock_filter>, fault: Fault, ret: u32) {
    use libc::{BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let ld = BPF_LD | BPF_W | BPF_ABS;
    for &nr in fault.syscalls() {
        if fault == Fault::NsIoctl {
            // nr == ioctl && (request & 0xff00) == 0xb700 -> ret
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 4));
            p.push(stmt(ld, OFF_ARG1_LO));
            p.push(stmt(BPF_ALU | BPF_AND | BPF_K, 0xff00));
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 0xb700, 0, 1));
            p.push(stmt(BPF_RET | BPF_K, ret));
            p.push(stmt(ld, OFF_NR));
        } else if fault == Fault::CloneNs && nr == libc::SYS_clone {
            clone_rule(p, ret);
        } else {
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1));
            p.push(stmt(BPF_RET | BPF_K, ret));
        }
    }
}

/// Install `fault` in this process (and everything it forks from now on).
pub fn install(fault: Fault) -> Result<(), StepError> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        install_program(
            &program(fault),
            &format!("install the fault \"{}\" (seccomp)", fault.describe()),
        )
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Err(StepError::new(
            &format!("install the fault \"{}\"", fault.describe()),
            None,
            "fault injection is implemented for x86_64 and aarch64 only",
        ))
    }
}

/// Install [`deny_creation_program`] in this process (and everything it forks and
/// executes from now on).
pub fn install_deny_creation() -> Result<(), StepError> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        install_program(
            &deny_creation_program(),
            "install a seccomp filter refusing namespace creation",
        )
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Err(StepError::new(
            "install a seccomp filter refusing namespace creation",
            None,
            "implemented for x86_64 and aarch64 only",
        ))
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn install_program(prog: &[libc::sock_filter], what: &str) -> Result<(), StepError> {
    nix::sys::prctl::set_no_new_privs()
        .map_err(|e| StepError::new(what, Some(errno_name(e)), "PR_SET_NO_NEW_PRIVS"))?;
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) reads `fprog` and the
    // `prog` it points to, both alive for the call; the kernel copies the program.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(StepError::new(
            what,
            Some(errno_name(nix::errno::Errno::last())),
            "seccomp filter refused",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn programs_check_the_arch_and_end_in_allow() {
        for f in [Fault::Setns, Fault::NsIoctl, Fault::Unshare, Fault::CloneNs] {
            let p = program(f);
            assert_eq!(p[0].k, OFF_ARCH, "{f:?}");
            assert_eq!(p[1].k, AUDIT_ARCH, "{f:?}");
            assert_eq!(p.last().unwrap().k, libc::SECCOMP_RET_ALLOW, "{f:?}");
            // Every jump lands inside the program.
            for (i, ins) in p.iter().enumerate() {
                if ins.code as u32 & 0x07 == libc::BPF_JMP {
                    assert!(
                        i + 1 + (ins.jt.max(ins.jf) as usize) < p.len(),
                        "{f:?} at {i}"
                    );
                }
            }
            assert!(p
                .iter()
                .any(|i| i.k == libc::SECCOMP_RET_ERRNO | FAULT_ERRNO as u32));
        }
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_deny_creation_filter_refuses_unshare_and_clone_and_sends_clone3_to_enosys() {
        let p = deny_creation_program();
        assert_eq!(p[1].k, AUDIT_ARCH);
        assert_eq!(p.last().unwrap().k, libc::SECCOMP_RET_ALLOW);
        for (i, ins) in p.iter().enumerate() {
            if ins.code as u32 & 0x07 == libc::BPF_JMP {
                assert!(i + 1 + (ins.jt.max(ins.jf) as usize) < p.len(), "at {i}");
            }
        }
        let rets: Vec<u32> = p
            .iter()
            .filter(|i| i.code as u32 == libc::BPF_RET | libc::BPF_K)
            .map(|i| i.k)
            .collect();
        assert!(rets.contains(&errno_ret(libc::EPERM)));
        assert!(rets.contains(&errno_ret(libc::ENOSYS)));
        for nr in [libc::SYS_unshare, libc::SYS_clone, libc::SYS_clone3] {
            assert!(p.iter().any(|i| i.k == nr as u32), "{nr}");
        }
    }

    #[test]
    fn describe_names_the_errno() {
        assert!(Fault::Setns.describe().contains("ENOTRECOVERABLE"));
    }
}
