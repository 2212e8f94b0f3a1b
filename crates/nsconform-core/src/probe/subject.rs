//! The probe inside a subject (a foreign launcher: a student's container, unshare(1),
//! bwrap, a runtime). The harness hands the subject a SOCK_SEQPACKET socket on fd 3; the
//! probe reads its request there, looks around, performs the isolation actions (set a
//! hostname, mount a tmpfs, look for the host's IPC objects) and sends its report back.
//! The kernel attaches the probe's real credentials to that message (SO_PASSCRED,
//! unix(7)), translated into the harness's PID namespace, so the harness knows which
//! process to inspect from outside whatever the report claims.

use super::sys::errno_name;
use super::view::View;
use crate::mountinfo;
use nix::mount::{mount, MsFlags};
use serde::{Deserialize, Serialize};

/// What the harness asks the probe to do inside a subject.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SubjectRequest {
    pub hostname: String,
    pub domainname: String,
    /// Source name of the tmpfs the probe mounts (searched for in mount tables).
    pub marker: String,
    /// Where to mount it when that path exists inside (a shared scratch dir of the host);
    /// `/tmp` otherwise.
    pub mount_target: String,
    /// A SysV message queue id and a POSIX queue name that exist on the host.
    pub host_msqid: i32,
    pub host_mq: String,
}

/// Result of one action: `Ok` with what was read back, or the errno.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Action {
    Done(String),
    Refused(String),
}

impl Default for Action {
    fn default() -> Self {
        Action::Refused("not run".into())
    }
}

/// What the probe reports from inside a subject.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SubjectReport {
    /// The view before any action.
    pub view: View,
    pub sethostname: Action,
    pub setdomainname: Action,
    /// Mount point used and whether the tmpfs mount worked.
    pub mount: Action,
    /// errno of IPC_STAT on the host's queue id (EINVAL when invisible).
    pub host_msqid_stat: Option<String>,
    /// errno of mq_open on the host's POSIX queue (ENOENT when invisible).
    pub host_mq_open: Option<String>,
}

fn recv_request(fd: i32) -> Result<SubjectRequest, String> {
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: reading into an owned buffer of the given length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n <= 0 {
        return Err(format!(
            "read the request from fd {fd}: {}",
            if n == 0 {
                "end of file".to_string()
            } else {
                errno_name(nix::errno::Errno::last())
            }
        ));
    }
    serde_json::from_slice(&buf[..n as usize]).map_err(|e| format!("parse the request: {e}"))
}

fn act(r: nix::Result<()>, read_back: impl FnOnce() -> String) -> Action {
    match r {
        Ok(()) => Action::Done(read_back()),
        Err(e) => Action::Refused(errno_name(e)),
    }
}

/// The line prefix of a report sent on stdout (runtimes that do not pass fd 3):
/// `nsconform-report <nonce> <json>`.
pub const STDOUT_FRAME: &str = "nsconform-report";

/// How long a probe without a report channel waits for the harness's signal.
const LINGER: std::time::Duration = std::time::Duration::from_secs(600);

/// Entry of `nsconform-probe subject --report-fd FD --nonce X`. Never returns.
///
/// With the harness's socket on `fd`: read the request, act, report there, and stay
/// until the harness closes it. Without it (runtimes such as firejail and
/// systemd-nspawn close inherited descriptors, podman's conmon is not our parent): look
/// around without acting, print the report framed with the nonce on stdout, and stay
/// until the harness, which found this process from outside by its executable and nonce,
/// sends SIGUSR1 (it waits for our handler to show in `SigCgt` first).
pub fn main(fd: i32, nonce: &str) -> ! {
    // The handler goes first, so that the harness can see (SigCgt) when we are ready.
    let usr1 = nix::sys::signal::SigSet::from(nix::sys::signal::Signal::SIGUSR1);
    let _ = usr1.thread_block();
    // SAFETY: the handler does nothing (the signal is blocked and taken by sigtimedwait).
    let _ = unsafe {
        nix::sys::signal::sigaction(
            nix::sys::signal::Signal::SIGUSR1,
            &nix::sys::signal::SigAction::new(
                nix::sys::signal::SigHandler::Handler(ignore),
                nix::sys::signal::SaFlags::empty(),
                nix::sys::signal::SigSet::empty(),
            ),
        )
    };
    match recv_request(fd) {
        Ok(req) => with_channel(fd, &req),
        Err(e) => without_channel(fd, nonce, &e),
    }
}

extern "C" fn ignore(_: libc::c_int) {}

fn without_channel(fd: i32, nonce: &str, why: &str) -> ! {
    let report = SubjectReport {
        view: View::gather(),
        sethostname: Action::Refused(format!("no request ({why})")),
        ..SubjectReport::default()
    };
    let json = serde_json::to_string(&report).expect("reports serialize");
    println!("{STDOUT_FRAME} {nonce} {json}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = fd;
    let usr1 = nix::sys::signal::SigSet::from(nix::sys::signal::Signal::SIGUSR1);
    let ts = libc::timespec {
        tv_sec: LINGER.as_secs() as libc::time_t,
        tv_nsec: 0,
    };
    // SAFETY: waits for a blocked signal of a valid set, with a valid timeout.
    unsafe { libc::sigtimedwait(usr1.as_ref(), std::ptr::null_mut(), &ts) };
    std::process::exit(0)
}

fn with_channel(fd: i32, req: &SubjectRequest) -> ! {
    let view = View::gather();
    // Read back with uname(2): a subject's /proc may not be its own.
    let sethostname = act(nix::unistd::sethostname(&req.hostname), || {
        super::sys::uname_names().0
    });
    let setdomainname = act(super::sys::set_domainname(&req.domainname), || {
        super::sys::uname_names().1
    });
    let target = if std::path::Path::new(&req.mount_target).is_dir() {
        req.mount_target.clone()
    } else {
        "/tmp".to_string()
    };
    let mount = act(
        mount(
            Some(req.marker.as_str()),
            target.as_str(),
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=64k"),
        ),
        || {
            let seen = mountinfo::read("/proc/self/mountinfo")
                .unwrap_or_default()
                .iter()
                .any(|m| m.source == req.marker);
            format!("{target} (visible inside: {seen})")
        },
    );
    let host_msqid_stat = super::sys::msq_stat(req.host_msqid).err().map(errno_name);
    let host_mq_open = super::sys::mq_visible(&req.host_mq).err().map(errno_name);

    let report = SubjectReport {
        view,
        sethostname,
        setdomainname,
        mount,
        host_msqid_stat,
        host_mq_open,
    };
    let msg = serde_json::to_vec(&report).expect("reports serialize");
    // SAFETY: sending an owned buffer on the inherited socket.
    let sent = unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) };
    if sent < 0 {
        eprintln!(
            "nsconform-probe: send the report: {}",
            errno_name(nix::errno::Errno::last())
        );
        std::process::exit(4)
    }
    // Stay alive (and in place) until the harness has looked at us from outside.
    let mut b = [0u8; 16];
    // SAFETY: reading into a stack buffer; returns 0 at end of file.
    while unsafe { libc::recv(fd, b.as_mut_ptr().cast(), b.len(), 0) } > 0 {}
    std::process::exit(0)
}
