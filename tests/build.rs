//! Sets `cfg(nsconform_root)` when the tests are built as root, so that tests needing
//! root are compiled `#[ignore = "needs root ..."]` for everyone else: a test that cannot
//! run here is reported as ignored with its reason, never as passed. (The tests are
//! built and run by the same user; one built as root and run by a normal user fails
//! loudly at its `require_root()`, it never passes silently.)

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nsconform_root)");
    println!("cargo::rerun-if-changed=build.rs");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // `Uid:` lists real, effective, saved and filesystem uids: the effective one counts.
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned));
    if euid.as_deref() == Some("0") {
        println!("cargo::rustc-cfg=nsconform_root");
    }
}
