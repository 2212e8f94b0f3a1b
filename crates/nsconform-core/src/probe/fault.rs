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

/// A group of system calls a property's inside half exercises, and that a fault can
/// make fail. A property lists its calls as data ([`crate::spec::Property::calls`]):
/// the tests fault each one in turn and require the verdict to change, so the list
/// says exactly which calls the verdict rests on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
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
    /// The mount API: mount(2), umount2(2), pivot_root(2), open_tree(2),
    /// move_mount(2), mount_setattr(2), fsopen(2), fsconfig(2), fsmount(2), fspick(2).
    Mount,
    /// sethostname(2), setdomainname(2).
    Sethostname,
    /// uname(2).
    Uname,
    /// System V IPC: shmget/shmat/shmdt/shmctl, msgget/msgsnd/msgrcv/msgctl,
    /// semget/semop/semtimedop/semctl.
    SysvIpc,
    /// POSIX message queues: mq_open(3)'s syscall and the other mq_* calls.
    Mqueue,
    /// socket(2), socketpair(2).
    Socket,
    /// bind(2), connect(2), listen(2), accept(2), accept4(2).
    BindConnect,
    /// pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2).
    Pidfd,
    /// kill(2), tgkill(2), tkill(2), rt_sigqueueinfo(2).
    Kill,
    /// wait4(2), waitid(2).
    Wait,
    /// getpid(2), getppid(2).
    Getpid,
    /// setuid(2), setgid(2), setreuid(2), setregid(2), setresuid(2), setresgid(2),
    /// setfsuid(2), setfsgid(2), setgroups(2).
    Setid,
    /// getuid(2), geteuid(2), getgid(2), getegid(2), getresuid(2), getresgid(2),
    /// getgroups(2).
    Getid,
    /// capget(2), capset(2).
    Capabilities,
    /// nanosleep(2), clock_nanosleep(2).
    Sleep,
    /// timerfd_create(2), timerfd_settime(2), timerfd_gettime(2).
    Timerfd,
    /// timer_create(2), timer_settime(2), timer_gettime(2).
    Timer,
    /// sysinfo(2).
    Sysinfo,
    /// name_to_handle_at(2), open_by_handle_at(2).
    FileHandle,
    /// keyctl(2), add_key(2), request_key(2).
    Keys,
}

impl Call {
    pub const ALL: [Call; 24] = [
        Call::Setns,
        Call::NsIoctl,
        Call::Unshare,
        Call::CloneNs,
        Call::Mount,
        Call::Sethostname,
        Call::Uname,
        Call::SysvIpc,
        Call::Mqueue,
        Call::Socket,
        Call::BindConnect,
        Call::Pidfd,
        Call::Kill,
        Call::Wait,
        Call::Getpid,
        Call::Setid,
        Call::Getid,
        Call::Capabilities,
        Call::Sleep,
        Call::Timerfd,
        Call::Timer,
        Call::Sysinfo,
        Call::FileHandle,
        Call::Keys,
    ];

    /// The syscall numbers the group covers.
    fn syscalls(self) -> &'static [libc::c_long] {
        use libc::*;
        match self {
            Call::Setns => &[SYS_setns],
            Call::NsIoctl => &[SYS_ioctl],
            Call::Unshare => &[SYS_unshare],
            Call::CloneNs => &[SYS_clone, SYS_clone3],
            Call::Mount => &[
                SYS_mount,
                SYS_umount2,
                SYS_pivot_root,
                SYS_open_tree,
                SYS_move_mount,
                SYS_mount_setattr,
                SYS_fsopen,
                SYS_fsconfig,
                SYS_fsmount,
                SYS_fspick,
            ],
            Call::Sethostname => &[SYS_sethostname, SYS_setdomainname],
            Call::Uname => &[SYS_uname],
            Call::SysvIpc => &[
                SYS_shmget,
                SYS_shmat,
                SYS_shmdt,
                SYS_shmctl,
                SYS_msgget,
                SYS_msgsnd,
                SYS_msgrcv,
                SYS_msgctl,
                SYS_semget,
                SYS_semop,
                SYS_semtimedop,
                SYS_semctl,
            ],
            Call::Mqueue => &[
                SYS_mq_open,
                SYS_mq_unlink,
                SYS_mq_timedsend,
                SYS_mq_timedreceive,
                SYS_mq_notify,
                SYS_mq_getsetattr,
            ],
            Call::Socket => &[SYS_socket, SYS_socketpair],
            Call::BindConnect => &[SYS_bind, SYS_connect, SYS_listen, SYS_accept, SYS_accept4],
            Call::Pidfd => &[SYS_pidfd_open, SYS_pidfd_send_signal, SYS_pidfd_getfd],
            Call::Kill => &[SYS_kill, SYS_tgkill, SYS_tkill, SYS_rt_sigqueueinfo],
            Call::Wait => &[SYS_wait4, SYS_waitid],
            Call::Getpid => &[SYS_getpid, SYS_getppid],
            Call::Setid => &[
                SYS_setuid,
                SYS_setgid,
                SYS_setreuid,
                SYS_setregid,
                SYS_setresuid,
                SYS_setresgid,
                SYS_setfsuid,
                SYS_setfsgid,
                SYS_setgroups,
            ],
            Call::Getid => &[
                SYS_getuid,
                SYS_geteuid,
                SYS_getgid,
                SYS_getegid,
                SYS_getresuid,
                SYS_getresgid,
                SYS_getgroups,
            ],
            Call::Capabilities => &[SYS_capget, SYS_capset],
            Call::Sleep => &[SYS_nanosleep, SYS_clock_nanosleep],
            Call::Timerfd => &[SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime],
            Call::Timer => &[SYS_timer_create, SYS_timer_settime, SYS_timer_gettime],
            Call::Sysinfo => &[SYS_sysinfo],
            Call::FileHandle => &[SYS_name_to_handle_at, SYS_open_by_handle_at],
            Call::Keys => &[SYS_keyctl, SYS_add_key, SYS_request_key],
        }
    }

    /// The group's name, as in the report and in `fault-<name>` controls.
    pub fn name(self) -> &'static str {
        match self {
            Call::Setns => "setns",
            Call::NsIoctl => "ns-ioctl",
            Call::Unshare => "unshare",
            Call::CloneNs => "clone-ns",
            Call::Mount => "mount",
            Call::Sethostname => "sethostname",
            Call::Uname => "uname",
            Call::SysvIpc => "sysv-ipc",
            Call::Mqueue => "mqueue",
            Call::Socket => "socket",
            Call::BindConnect => "bind-connect",
            Call::Pidfd => "pidfd",
            Call::Kill => "kill",
            Call::Wait => "wait",
            Call::Getpid => "getpid",
            Call::Setid => "setid",
            Call::Getid => "getid",
            Call::Capabilities => "capabilities",
            Call::Sleep => "sleep",
            Call::Timerfd => "timerfd",
            Call::Timer => "timer",
            Call::Sysinfo => "sysinfo",
            Call::FileHandle => "file-handle",
            Call::Keys => "keys",
        }
    }

    pub fn parse(name: &str) -> Option<Call> {
        Call::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The calls of the group, as a person reads them: `setns(2)`.
    pub fn calls(self) -> &'static str {
        match self {
            Call::Setns => "setns(2)",
            Call::NsIoctl => "the nsfs ioctls (ioctl_ns(2))",
            Call::Unshare => "unshare(2)",
            Call::CloneNs => "clone(2) with a CLONE_NEW* flag and clone3(2)",
            Call::Mount => {
                "mount(2), umount2(2), pivot_root(2), open_tree(2), move_mount(2), \
                 mount_setattr(2), fsopen(2), fsconfig(2), fsmount(2), fspick(2)"
            }
            Call::Sethostname => "sethostname(2), setdomainname(2)",
            Call::Uname => "uname(2)",
            Call::SysvIpc => "the System V IPC calls (shm*, msg*, sem*)",
            Call::Mqueue => "the POSIX message queue calls (mq_open(2) ...)",
            Call::Socket => "socket(2), socketpair(2)",
            Call::BindConnect => "bind(2), connect(2), listen(2), accept(2), accept4(2)",
            Call::Pidfd => "pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2)",
            Call::Kill => "kill(2), tgkill(2), tkill(2), rt_sigqueueinfo(2)",
            Call::Wait => "wait4(2), waitid(2)",
            Call::Getpid => "getpid(2), getppid(2)",
            Call::Setid => "the set*id(2) calls and setgroups(2)",
            Call::Getid => "the get*id(2) calls and getgroups(2)",
            Call::Capabilities => "capget(2), capset(2)",
            Call::Sleep => "nanosleep(2), clock_nanosleep(2)",
            Call::Timerfd => "timerfd_create(2), timerfd_settime(2), timerfd_gettime(2)",
            Call::Timer => "timer_create(2), timer_settime(2), timer_gettime(2)",
            Call::Sysinfo => "sysinfo(2)",
            Call::FileHandle => "name_to_handle_at(2), open_by_handle_at(2)",
            Call::Keys => "keyctl(2), add_key(2), request_key(2)",
        }
    }

    /// What a person reads: `setns(2) fails with ENOTRECOVERABLE`.
    pub fn describe(self) -> String {
        format!(
            "{} fails with {} (seccomp fault injection)",
            self.calls(),
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
pub fn program(fault: Call) -> Vec<libc::sock_filter> {
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
    rules(&mut p, Call::Unshare, errno_ret(libc::EPERM));
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
fn rules(p: &mut Vec<libc::sock_filter>, fault: Call, ret: u32) {
    use libc::{BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let ld = BPF_LD | BPF_W | BPF_ABS;
    for &nr in fault.syscalls() {
        if fault == Call::NsIoctl {
            // nr == ioctl && (request & 0xff00) == 0xb700 -> ret
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 4));
            p.push(stmt(ld, OFF_ARG1_LO));
            p.push(stmt(BPF_ALU | BPF_AND | BPF_K, 0xff00));
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 0xb700, 0, 1));
            p.push(stmt(BPF_RET | BPF_K, ret));
            p.push(stmt(ld, OFF_NR));
        } else if fault == Call::CloneNs && nr == libc::SYS_clone {
            clone_rule(p, ret);
        } else {
            p.push(jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1));
            p.push(stmt(BPF_RET | BPF_K, ret));
        }
    }
}

/// Install `fault` in this process (and everything it forks from now on).
pub fn install(fault: Call) -> Result<(), StepError> {
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
        for f in Call::ALL {
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
        assert!(Call::Setns.describe().contains("ENOTRECOVERABLE"));
    }
}
