//! Every property of the catalogue, in both modes, and every negative control.
//!
//! Snapshots: `tests/snapshots/properties__<ID>@<mode>.snap` hold the normalized facts
//! each check judged (no host PIDs, no inode numbers), so a kernel that behaves
//! differently shows up as a reviewable diff. They are the expectations of the
//! reference kernel series ([`nsconform_tests::REFERENCE_SERIES`]). Where another
//! series legitimately differs, it has its own reviewed snapshot
//! `properties__<ID>@<mode>@<series>.snap` (e.g. `@6.1`, checked in the 6.1 VM by
//! `tests/tests/vm.rs`), used instead of the reference one: per-kernel expectations,
//! not loosened assertions.

use nsconform_core::catalogue;
use nsconform_core::outcome::Outcome;
use nsconform_tests::{run_catalogue, run_one, Mode};
use rstest::rstest;
use serial_test::file_serial;

#[rstest]
#[file_serial(host_state)]
fn every_property_passes_or_skips_with_a_reason(
    #[values(Mode::Privileged, Mode::Rootless)] mode: Mode,
) {
    let Some(results) = run_catalogue(mode) else {
        return;
    };
    let mut problems = Vec::new();
    for r in &results {
        match r.verdict.outcome {
            Outcome::Pass => {}
            Outcome::Skip => assert!(
                r.verdict.detail.len() > 10,
                "{} skipped without a real reason: {:?}",
                r.id,
                r.verdict.detail
            ),
            _ => problems.push(format!(
                "{} {}: {}",
                r.id, r.verdict.outcome, r.verdict.detail
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} mode:\n{}",
        mode.name(),
        problems.join("\n")
    );
    for r in results
        .iter()
        .filter(|r| r.verdict.outcome == Outcome::Pass)
    {
        let name = snapshot_name(&r.id, mode);
        insta::assert_yaml_snapshot!(name, r.verdict.observed);
    }
}

/// `<ID>@<mode>`, or `<ID>@<mode>@<series>` when this kernel series has its own snapshot.
fn snapshot_name(id: &str, mode: Mode) -> String {
    let reference = format!("{id}@{}", mode.name());
    let suffix = nsconform_tests::series_suffix();
    let specific = format!("{reference}{suffix}");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
    let exists = std::path::Path::new(dir)
        .join(format!("properties__{specific}.snap"))
        .exists();
    if !suffix.is_empty()
        && (exists || std::env::var_os("NSCONFORM_NEW_SERIES_SNAPSHOTS").is_some())
    {
        specific
    } else {
        reference
    }
}

#[test]
#[file_serial(host_state)]
fn every_negative_control_is_detected() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for p in catalogue::all() {
        for &control in p.controls {
            let Some(r) = run_one(p, Mode::Privileged, Some(control)) else {
                return;
            };
            checked += 1;
            if r.verdict.outcome != Outcome::Fail {
                problems.push(format!(
                    "{} under control {}: {} ({})",
                    p.id,
                    control.name(),
                    r.verdict.outcome,
                    r.verdict.detail
                ));
            }
        }
    }
    assert!(checked > 0, "no property lists a negative control");
    assert!(
        problems.is_empty(),
        "controls not detected:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_area_has_properties_with_man_page_and_prerequisites() {
    for p in catalogue::all() {
        assert!(
            p.man.contains(')'),
            "{}: man page reference {:?}",
            p.id,
            p.man
        );
    }
}
