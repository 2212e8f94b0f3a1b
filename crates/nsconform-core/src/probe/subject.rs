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

/// Entry of `nsconform-probe subject --report-fd FD`. Never returns.
pub fn main(fd: i32) -> ! {
    let req = match recv_request(fd) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "nsconform-probe: {e}; the subject must pass fd {fd} through to the probe \
                 (runc: --preserve-fds; bwrap and unshare do by default)"
            );
            std::process::exit(4)
        }
    };
    let view = View::gather();
    let sethostname = act(nix::unistd::sethostname(&req.hostname), || {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let setdomainname = act(super::sys::set_domainname(&req.domainname), || {
        std::fs::read_to_string("/proc/sys/kernel/domainname")
            .unwrap_or_default()
            .trim()
            .to_string()
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
