//! IPC namespaces: ipc_namespaces(7), mq_overview(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::outcome::{Expect, Verdict};
use crate::probe::{view, Inside, Launch, StepError, StepExt};
use nix::mount::{mount, MsFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[IPC_08];

/// A SysV message queue and a POSIX message queue the harness creates in its own IPC
/// namespace, and removes when dropped.
pub struct HostIpcObjects {
    pub msqid: i32,
    pub mq_name: String,
}

impl HostIpcObjects {
    pub fn create() -> Result<Self, Verdict> {
        // SAFETY: msgget with constant arguments.
        let msqid = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
        if msqid < 0 {
            return Err(Verdict::error(format!(
                "create a SysV message queue on the host (msgget): {}",
                nix::errno::Errno::last()
            )));
        }
        let mq_name = format!("/nsconform-{}-{msqid}", std::process::id());
        let attr = nix::mqueue::MqAttr::new(0, 1, 16, 0);
        match nix::mqueue::mq_open(
            mq_name.as_str(),
            nix::mqueue::MQ_OFlag::O_CREAT | nix::mqueue::MQ_OFlag::O_RDWR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            Some(&attr),
        ) {
            Ok(fd) => {
                let _ = nix::mqueue::mq_close(fd);
            }
            Err(e) => {
                // SAFETY: removing the queue we just made.
                unsafe { libc::msgctl(msqid, libc::IPC_RMID, std::ptr::null_mut()) };
                return Err(Verdict::error(format!(
                    "create POSIX message queue {mq_name} on the host (mq_open): {e}"
                )));
            }
        }
        Ok(HostIpcObjects { msqid, mq_name })
    }

    /// Whether the SysV queue still exists in the harness's namespace.
    pub fn msq_present(&self) -> bool {
        let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: ds is a valid msqid_ds to fill.
        unsafe { libc::msgctl(self.msqid, libc::IPC_STAT, &mut ds) == 0 }
    }
}

impl Drop for HostIpcObjects {
    fn drop(&mut self) {
        // SAFETY: removing objects this harness created.
        unsafe { libc::msgctl(self.msqid, libc::IPC_RMID, std::ptr::null_mut()) };
        let _ = nix::mqueue::mq_unlink(self.mq_name.as_str());
    }
}

#[derive(Serialize, Deserialize, Debug)]
struct Ipc08 {
    ipc: view::Ipc,
    /// errno of IPC_STAT on the host queue's id inside (EINVAL when invisible).
    host_msqid_stat: Option<String>,
}

/// Mount a private tmpfs on /tmp and an mqueue filesystem for the caller's IPC
/// namespace under it; returns the queue names it lists (mq_overview(7)).
pub fn list_mqueues() -> Result<Vec<String>, StepError> {
    mount(
        Some("nsconform"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
    .step("mount a private tmpfs on /tmp")?;
    std::fs::create_dir("/tmp/mq").step("mkdir /tmp/mq")?;
    mount(
        Some("mqueue"),
        "/tmp/mq",
        Some("mqueue"),
        MsFlags::empty(),
        None::<&str>,
    )
    .step("mount mqueue on /tmp/mq")?;
    let mut names: Vec<String> = std::fs::read_dir("/tmp/mq")
        .step("list /tmp/mq")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

// ---------------------------------------------------------------------------------
/// IPC-08: a new IPC namespace starts empty: no SysV message queues, semaphore sets or
/// shared memory segments and no POSIX message queues, even when the creator's namespace
/// has some. ipc_namespaces(7).
pub const IPC_08: Property = Property {
    id: "IPC-08",
    area: Area::Ipc,
    title: "A new IPC namespace starts empty: no SysV objects and no POSIX message queues, though the host has some",
    man: "ipc_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC", "CONFIG_POSIX_MQUEUE"]),
    coverage: "LTP:~mesgq_nstest,~shmnstest (same key, not emptiness)",
    controls: &[Control::NoNewIpc],
    global: true,
    subject: true,
    inside: Some(ipc_08_inside),
    check: ipc_08_check,
};

fn ipc_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let msqid = cx.args.get("msqid").and_then(Value::as_i64).unwrap_or(-1) as i32;
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a valid msqid_ds to fill.
    let r = unsafe { libc::msgctl(msqid, libc::IPC_STAT, &mut ds) };
    let host_msqid_stat = (r != 0).then(|| crate::probe::errno_name(nix::errno::Errno::last()));
    let mut ipc = view::View::gather().ipc;
    ipc.mqueues = Some(list_mqueues()?);
    facts(&Ipc08 {
        ipc,
        host_msqid_stat,
    })
}

fn ipc_08_check(cx: &mut Cx) -> CheckResult {
    let host_ipc = host::own_ns_inode("ipc")?;
    let objects = HostIpcObjects::create()?;
    let (run, probe_ipc) = cx.run_held(
        Launch::host().ipc().mnt(),
        json!({ "msqid": objects.msqid }),
        |run| host::ns_inode(run.host_pid.expect("held"), "ipc"),
    )?;
    let still_there = objects.msq_present();
    drop(objects);
    let f: Ipc08 = run.facts()?;
    let empty: Vec<String> = Vec::new();
    let mut e = Expect::new();
    e.ne(
        "IPC namespace of the probe (a new IPC namespace)",
        host_ipc,
        probe_ipc,
    );
    e.eq(
        "SysV message queues inside (host's must not show)",
        &empty,
        &f.ipc.msg,
    );
    e.eq("SysV semaphore sets inside", &empty, &f.ipc.sem);
    e.eq("SysV shared memory segments inside", &empty, &f.ipc.shm);
    e.eq(
        "POSIX message queues inside (host's must not show)",
        Some(&empty),
        f.ipc.mqueues.as_ref(),
    );
    e.eq(
        "IPC_STAT of the host queue's id inside",
        Some("EINVAL".to_string()),
        f.host_msqid_stat.clone(),
    );
    e.eq(
        "host queue still present in the host namespace",
        true,
        still_there,
    );
    Ok(
        e.verdict("new IPC namespace is empty while the host has objects")
            .with_observed(json!({
                "sysv_msg": f.ipc.msg,
                "sysv_sem": f.ipc.sem,
                "sysv_shm": f.ipc.shm,
                "posix_mqueues": f.ipc.mqueues,
                "host_msqid_stat_inside": f.host_msqid_stat,
                "ipc_ns_differs_from_host": probe_ipc != host_ipc,
            })),
    )
}
