//! The host is left as it was: hostname, domainname, mounts, SysV and POSIX IPC
//! objects, links, named network namespaces and processes.

use nsconform_core::host::HostState;
use nsconform_tests::cli;
use serial_test::file_serial;

fn probe_processes() -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        // `nsconform __probe ...`, or a copy named nsconform-probe.
        let is_probe = cmd.split(|&b| b == 0).enumerate().any(|(i, arg)| {
            (i == 1 && arg == b"__probe") || (i == 0 && arg.ends_with(b"nsconform-probe"))
        });
        if is_probe {
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

#[test]
#[file_serial(host_state)]
fn full_runs_leave_the_host_as_it_was() {
    let before = HostState::capture();
    // The runs' scratch directories go to a temp dir of this test's own, which must be
    // empty afterwards.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let mut runs = vec![vec!["run", "--format", "json"]];
    if nix::unistd::geteuid().is_root() {
        runs.push(vec!["run", "--format", "json", "--rootless-as", "65534"]);
        // Negative controls break isolation on purpose (the hostname leaks, a mount
        // propagates); the checks must still put everything back.
        for c in ["no-new-uts", "no-new-mnt", "shared-root", "no-new-ipc"] {
            runs.push(vec!["run", "--control", c]);
        }
    }
    for args in &runs {
        let out = duct::cmd(cli(), args)
            .env("TMPDIR", tmp.path())
            .stdout_capture()
            .unchecked()
            .run()
            .unwrap();
        // A control run too exits 0 when every control was detected.
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let after = HostState::capture();
    let diff = after.diff(&before);
    assert!(diff.is_empty(), "host changed:\n{}", diff.join("\n"));
    assert_eq!(
        probe_processes(),
        Vec::<String>::new(),
        "probe processes left running"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "scratch directories left behind: {left:?}");
}
