//! The seven seed properties of the design card, each in both modes, with the specific
//! facts that make them what they are, and each negative control with the missing
//! isolation named in the failure.

use nsconform_core::catalogue::{self, Control};
use nsconform_core::outcome::Outcome;
use nsconform_tests::{run_one, Mode};
use rstest::rstest;
use serial_test::file_serial;

fn pass(id: &str, mode: Mode) -> serde_json::Value {
    let p = catalogue::find(id).expect("seed property in the catalogue");
    let r = run_one(p, mode, None).expect("the mode is available");
    assert_eq!(
        r.verdict.outcome,
        Outcome::Pass,
        "{id} ({}): {}",
        mode.name(),
        r.verdict.detail
    );
    r.verdict.observed
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn new_pid_namespace_has_pid_1(#[case] mode: Mode) {
    let o = pass("PID-01", mode);
    assert_eq!(o["pid"], 1);
    assert_eq!(o["ppid"], 0);
    assert_eq!(o["proc_pids"], serde_json::json!([1]));
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn pid_namespaces_nest_32_levels_and_refuse_the_33rd(#[case] mode: Mode) {
    let p = catalogue::find("PID-05").unwrap();
    let r = run_one(p, mode, None).expect("the mode is available");
    assert_eq!(r.verdict.outcome, Outcome::Pass, "{}", r.verdict.detail);
    assert_eq!(r.verdict.observed["deepest_nspid_len"], 33);
    // The errno is recorded; this kernel (>= 4.9) answers ENOSPC, older ones EINVAL.
    assert_eq!(r.verdict.errno.as_deref(), Some("ENOSPC"));
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn hostname_and_domainname_are_isolated(
    #[values("UTS-02", "UTS-03")] id: &str,
    #[case] mode: Mode,
) {
    let o = pass(id, mode);
    assert_eq!(o["host_unchanged"], true);
    assert_eq!(o["inside_matches_set_value"], true);
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn new_ipc_namespace_is_empty(#[case] mode: Mode) {
    let o = pass("IPC-08", mode);
    assert_eq!(o["posix_mqueues"], serde_json::json!([]));
    assert_eq!(o["host_msqid_stat_inside"], "EINVAL");
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn new_network_namespace_has_only_lo_down(#[case] mode: Mode) {
    let o = pass("NET-01", mode);
    assert_eq!(
        o["interfaces"],
        serde_json::json!([{ "name": "lo", "up": false, "loopback": true }])
    );
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn unmapped_ids_are_the_overflow_ids(#[case] mode: Mode) {
    let o = pass("USER-03", mode);
    // Not just equal ids (uid 65534 has them without any user namespace): / is root's
    // outside and unmapped, so the overflow ids, inside.
    let overflow = &o["overflow"];
    assert_eq!(&o["ids"][0], &overflow[0]);
    assert_eq!(&o["root_owner_inside"], overflow);
    assert_eq!(o["root_owner_outside"], serde_json::json!([0, 0]));
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn mapped_root_owns_files_as_the_real_uid(#[case] mode: Mode) {
    let o = pass("USER-26", mode);
    assert_eq!(o["uid_inside"], 0);
    // The file root made inside is owned, outside, by the uid root maps to (uid_map's
    // second field), never by root.
    let outer: u64 = o["uid_map"]
        .as_str()
        .and_then(|m| m.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("uid_map line: {o}"));
    assert_eq!(o["file_owner_outside"], outer, "{o}");
    assert_ne!(outer, 0, "{o}");
}

#[rstest]
#[cfg_attr(
    not(nsconform_root),
    ignore = "privileged mode needs the tests built and run as root"
)]
#[case::privileged(Mode::Privileged)]
#[case::rootless(Mode::Rootless)]
#[file_serial(host_state)]
fn mounts_inside_are_invisible_to_the_host(#[case] mode: Mode) {
    let o = pass("MNT-01", mode);
    assert_eq!(o["marker_on_host"], false);
    assert_eq!(o["host_mounts_missing_inside"], 0);
}

/// Each seed's negative control fails, and the failure names the missing isolation.
#[rstest]
#[case::no_new_pid("PID-01", Control::NoNewPid, "new PID namespace")]
#[case::no_proc_mount("PID-01", Control::NoProcMount, "fresh procfs")]
#[case::nesting_without_newpid("PID-05", Control::NoNewPid, "new PID namespace per level")]
#[case::no_new_uts("UTS-02", Control::NoNewUts, "new UTS namespace")]
#[case::no_new_uts_domain("UTS-03", Control::NoNewUts, "new UTS namespace")]
#[case::no_new_ipc("IPC-08", Control::NoNewIpc, "new IPC namespace")]
#[case::no_new_net("NET-01", Control::NoNewNet, "CLONE_NEWNET")]
#[case::no_new_user("USER-03", Control::NoNewUser, "new user namespace")]
#[case::no_user_map("USER-26", Control::NoUserMap, "uid_map")]
#[case::no_new_mnt("MNT-01", Control::NoNewMnt, "new mount namespace")]
#[case::shared_root("MNT-01", Control::SharedRoot, "rprivate")]
#[cfg_attr(
    not(nsconform_root),
    ignore = "negative controls run privileged: the tests must be built and run as root"
)]
#[file_serial(host_state)]
fn seed_negative_control_fails_naming_the_gap(
    #[case] id: &str,
    #[case] control: Control,
    #[case] named: &str,
) {
    let p = catalogue::find(id).unwrap();
    assert!(
        p.controls.contains(&control),
        "{id} does not list {control:?}"
    );
    let r = run_one(p, Mode::Privileged, Some(control)).expect("the tests run as root");
    assert_eq!(
        r.verdict.outcome,
        Outcome::Fail,
        "{id}/{control:?}: {}",
        r.verdict.detail
    );
    assert!(
        r.verdict.detail.contains(named),
        "{id}/{control:?}: detail {:?} does not name {named:?}",
        r.verdict.detail
    );
}
