//! Real container runtimes and sandboxes from Debian as subjects: what each one isolates,
//! judged from the harness's own eyes, pinned per runtime in a snapshot
//! (`runtimes__<name>.snap`). Many of them close inherited descriptors (firejail,
//! systemd-nspawn, crun) or are not the probe's parent (podman's conmon): the harness
//! then finds the probe from outside by its executable and nonce, so the transport is
//! part of what is pinned.
//!
//! Each runtime is one test; a runtime that is not installed fails, naming what to
//! install (`ci/test` installs them all).

use nsconform_core::env::Env;
use nsconform_core::harness::RunOptions;
use nsconform_core::subject::{self, SubjectSpec};
use nsconform_tests::{probe, subject_props};
use rstest::rstest;
use serial_test::file_serial;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the probe goes for a runtime.
#[derive(Clone, Copy)]
enum Place {
    /// The host's file system: the probe runs where it is.
    Host,
    /// A bare root filesystem (`{R}` in the command): the static probe is copied in.
    Rootfs,
    /// An OCI bundle from `fixtures/oci/<name>` with a bare rootfs.
    Bundle(&'static str),
}

/// A bare root filesystem: the directories runtimes mount on, the files some insist on
/// (`/etc/passwd` for ch-run, os-release for nspawn, podman's bind-mount targets). Nothing else: the probe is static.
fn bare_rootfs(at: &Path) {
    for d in [
        "proc", "dev", "sys", "tmp", "etc", "usr", "run", "home", "mnt", "root", "var",
    ] {
        std::fs::create_dir_all(at.join(d)).unwrap();
    }
    for f in [
        "etc/passwd",
        "etc/group",
        "etc/os-release",
        "etc/machine-id",
        "etc/hosts",
        "etc/resolv.conf",
        "etc/hostname",
        // podman bind-mounts its container file here; a user-namespaced root cannot
        // create it in a root-owned /run.
        "run/.containerenv",
    ] {
        std::fs::write(at.join(f), "").unwrap();
    }
    std::fs::set_permissions(at, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// On a hybrid cgroup host (v1 controllers, cgroup2 at /sys/fs/cgroup/unified with a
/// controller, as here) crun refuses to run ("cgroups in hybrid mode not supported");
/// hiding the unified mount in a private mount namespace of crun's makes it see v1.
fn crun() -> String {
    if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        "unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun run -b {bundle} {id}'".into()
    } else {
        "crun run -b {bundle} {id}".into()
    }
}

/// podman with runc (crun refuses hybrid cgroups, see [`crun`]), cgroupfs (no systemd
/// here), no network, and rlimits this host's root may set (it lacks CAP_SYS_RESOURCE).
const PODMAN: &str = "podman --runtime runc --cgroup-manager cgroupfs run --rm --network none \
     --ulimit nofile=1024:1024 --ulimit nproc=1024:1024";

/// podman makes its cgroup parent (`libpod_parent` in every v1 hierarchy) with its very
/// first container on a machine and keeps it for every later one: machine set-up, not a
/// change of one run's. One container is run first (once per test process), so that
/// HOST-01 judges what a podman run itself leaves, also on a machine that never ran one.
fn warm_podman(probe: &Path) {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let work = tempfile::tempdir().unwrap();
        let rootfs = work.path().join("rootfs");
        bare_rootfs(&rootfs);
        let static_probe = subject::locate_static_probe(probe).expect("a static nsconform");
        std::fs::copy(static_probe, rootfs.join("nsconform")).unwrap();
        let cmd = format!(
            "{PODMAN} --rootfs {} /nsconform --version",
            rootfs.display()
        );
        let c = nsconform_tests::capture(duct::cmd("sh", ["-c", cmd.as_str()]));
        assert!(c.success(), "podman's first container failed: {}", c.text());
    });
}

fn unprivileged(cmd: &str) -> String {
    format!("env USER=nsconform setpriv --reuid 100000 --regid 100000 --clear-groups {cmd}")
}

/// Per-run numbers (PIDs, exit statuses of killed processes) out of a detail.
fn without_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 3 {
            out.push_str("<n>");
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[rstest]
#[case::firejail("firejail", "firejail --noprofile {probe}", Place::Host)]
#[case::firejail_net_none("firejail", "firejail --noprofile --net=none {probe}", Place::Host)]
#[case::nspawn(
    "systemd-nspawn",
    "systemd-nspawn -q --register=no --keep-unit -D {R} {probe}",
    Place::Rootfs
)]
#[case::nspawn_userns_private_network(
    "systemd-nspawn",
    "systemd-nspawn -q --register=no --keep-unit -U --private-network -D {R} {probe}",
    Place::Rootfs
)]
#[case::runc("runc", "runc run -b {bundle} {id}", Place::Bundle("default"))]
#[case::runc_userns("runc", "runc run -b {bundle} {id}", Place::Bundle("userns"))]
#[case::crun("crun", "CRUN", Place::Bundle("default"))]
#[case::crun_userns("crun", "CRUN", Place::Bundle("userns"))]
#[case::podman("podman", "PODMAN --rootfs {R} {probe}", Place::Rootfs)]
#[case::podman_userns_cgroupns(
    "podman",
    "PODMAN --cgroupns private --uidmap 0:100000:65536 --gidmap 0:100000:65536 --rootfs {R} {probe}",
    Place::Rootfs
)]
#[case::lxc_unshare(
    "lxc-unshare",
    "lxc-unshare -s MOUNT|PID|UTSNAME|IPC|NETWORK -- {probe}",
    Place::Host
)]
#[case::ch_run("ch-run", "UNPRIV ch-run {R} -- {probe}", Place::Rootfs)]
#[case::ch_run_uid0(
    "ch-run",
    "UNPRIV ch-run --uid=0 --gid=0 {R} -- {probe}",
    Place::Rootfs
)]
#[case::ip_netns_exec(
    "ip",
    "sh -c 'ip netns add nsconform-t$$ && ip netns exec nsconform-t$$ {probe}; ip netns del nsconform-t$$'",
    Place::Host
)]
#[case::chroot("chroot", "chroot {R} {probe}", Place::Rootfs)]
#[case::proot("proot", "proot -r {R} {probe}", Place::Rootfs)]
#[case::lxc_execute(
    "lxc-execute",
    "lxc-execute -n {id} -f LXC/execute.conf -P {W} -- {probe}",
    Place::Host
)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the runtime matrix is pinned for root"
)]
#[file_serial(host_state)]
fn runtime_verdicts(#[case] tool: &str, #[case] command: &str, #[case] place: Place) {
    let name = std::thread::current()
        .name()
        .and_then(|n| n.rsplit("::").next())
        .map(|n| n.trim_start_matches("case_").to_string())
        .unwrap_or_else(|| tool.to_string());
    nsconform_tests::require_root("the runtime matrix is pinned for root");
    assert!(
        nsconform_core::spec::on_path(tool),
        "{name}: {tool} is not installed: install ci/apt-packages.txt (ci/test does)"
    );
    let probe = probe();
    assert!(
        matches!(place, Place::Host) || subject::locate_static_probe(&probe.program).is_some(),
        "{name}: no static nsconform: run ci/build-static (ci/test does)"
    );
    let work = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        work.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let rootfs = work.path().join("rootfs");
    bare_rootfs(&rootfs);
    let mut bundle = None;
    if let Place::Bundle(which) = place {
        let src = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/oci"))
            .join(which)
            .join("config.json");
        std::fs::copy(src, work.path().join("config.json")).unwrap();
        bundle = Some(work.path().to_path_buf());
    }
    let command = command
        .replace("CRUN", &crun())
        .replace("PODMAN", PODMAN)
        .replace("UNPRIV ", &unprivileged(""))
        .replace("{R}", &rootfs.display().to_string())
        .replace("{W}", &work.path().display().to_string())
        .replace(
            "LXC/",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/lxc/"),
        );
    let spec = SubjectSpec {
        limits: nsconform_core::contain::Limits::default(),
        argv: subject::split_command(&command).unwrap(),
        timeout: Duration::from_secs(60),
        probe_into: matches!(place, Place::Rootfs).then(|| rootfs.clone()),
        bundle,
        cwd: None,
    };
    if tool == "podman" {
        warm_podman(&probe.program);
    }
    let run = subject::run_subject(&spec, &Env::detect(None), &RunOptions::new(probe));
    let mut table = String::new();
    writeln!(
        table,
        "command: {}",
        command
            .replace(&*work.path().to_string_lossy(), "<work>")
            .replace(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"),
                "fixtures"
            )
    )
    .unwrap();
    writeln!(
        table,
        "transport: {}",
        run.transport.map(|t| t.describe()).unwrap_or("none")
    )
    .unwrap();
    for r in subject::judge(&run, &subject_props()) {
        // The first failed expectation names what the runtime does not isolate.
        let why = match r.verdict.outcome {
            nsconform_core::Outcome::Pass => String::new(),
            // Numbers (PIDs) are redacted before the cut, so the cut does not move
            // with the width of a PID.
            _ => format!(
                "  ({})",
                without_numbers(
                    r.verdict
                        .detail
                        .split(": expected")
                        .next()
                        .unwrap_or_default()
                )
                .chars()
                .take(200)
                .collect::<String>()
            ),
        };
        writeln!(table, "{:<8} {}{}", r.id, r.verdict.outcome.as_str(), why).unwrap();
    }
    // Nothing of this run stays in the rootfs.
    let left: Vec<String> = std::fs::read_dir(&rootfs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nsconform"))
        .collect();
    assert!(left.is_empty(), "{name}: left in the rootfs: {left:?}");
    insta::assert_snapshot!(name, table);
}
