//! Every example command of the README and of `nsconform vm --help`, executed as
//! written, from a folder that holds what the examples name (`./container`, `fixtures/`,
//! `submissions/`, `lab.toml`, `./bzImage`, `./lib/modules/6.19.0`, `host.json`): a
//! documented example that does not do what it says is a bug. (The unit test
//! `every_documented_example_is_accepted` in crates/nsconform only parses them.)

use nsconform_tests::{capture, cli, require_root};
use serial_test::file_serial;
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The example lines: README code blocks' `nsconform ...` lines that are not synopses
/// (no `[` or `|`), then `nsconform vm --help`'s; each without its `# comment`, once.
fn examples() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let mut lines = Vec::new();
    let mut in_code = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let l = line.trim_start();
        if in_code && l.starts_with("nsconform ") && !l.contains('[') && !l.contains('|') {
            lines.push(l.to_string());
        }
    }
    let help = capture(duct::cmd!(cli(), "vm", "--help"));
    assert!(help.success(), "{}", help.text());
    lines.extend(
        help.stdout
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("nsconform "))
            .map(str::to_string),
    );
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        // A synopsis's placeholder (`nsconform explain ID`) stands for a real ID.
        let l = l.split(" # ").next().unwrap_or(&l).trim();
        let l = match l.strip_suffix(" ID") {
            Some(head) => format!("{head} PID-01"),
            None => l.to_string(),
        };
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The folder the examples run in, under target/ (a VM guest mounts its own /tmp, so
/// the examples' `-o` files must not be there): the names the examples use.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(nsconform_tests::target_dir()).unwrap();
    let d = dir.path();
    // The unprivileged examples run here too.
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let subjects = Path::new(ROOT).join("fixtures/subjects");
    let built = capture(duct::cmd!("make", "-s", "-C", &subjects));
    assert!(built.success(), "building the fixtures: {}", built.text());
    std::fs::copy(subjects.join("bin/container"), d.join("container")).unwrap();
    std::os::unix::fs::symlink(Path::new(ROOT).join("fixtures"), d.join("fixtures")).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("fixtures/rubrics/container-lab.toml"),
        d.join("lab.toml"),
    )
    .unwrap();
    // A class of one correct submission.
    let alice = d.join("submissions/alice");
    std::fs::create_dir_all(&alice).unwrap();
    for f in ["container.c", "container_common.h"] {
        std::fs::copy(subjects.join(f), alice.join(f)).unwrap();
    }
    std::fs::write(
        alice.join("Makefile"),
        "container: container.c container_common.h\n\tcc -O2 -o container container.c\n",
    )
    .unwrap();
    dir
}

/// What an example must exit with, and why when it is not 0.
fn expected(ex: &str) -> (i32, &'static str) {
    if ex.ends_with("nsconform diff host.json 6.12.json") {
        // README: diff exits 1 when anything differs, and 6.12 is not this kernel.
        (1, "two kernels differ")
    } else {
        (0, "")
    }
}

/// Whether the README says to run `ex` as an unprivileged user: the unshare and bwrap
/// subjects (started by root, `unshare -r` and bwrap map root inside to root outside).
fn unprivileged(ex: &str) -> bool {
    ex.contains("--subject 'unshare ") || ex.contains("--subject 'bwrap ")
}

fn vm_cache() -> PathBuf {
    Path::new(ROOT).join(".vm-cache")
}

/// `./bzImage` and `./lib/modules/6.19.0` for the `--kernel` examples: Debian's 6.1
/// kernel (any kernel does; the example's version number is only a name).
fn provide_kernel(d: &Path) {
    let k = nsconform_vm::fetch_debian_kernel("6.1", &vm_cache())
        .unwrap_or_else(|e| panic!("fetching Debian's 6.1 kernel: {e}"));
    std::os::unix::fs::symlink(k.boot_image(), d.join("bzImage")).unwrap();
    std::fs::create_dir_all(d.join("lib/modules")).unwrap();
    std::os::unix::fs::symlink(&k.modules_dir, d.join("lib/modules/6.19.0")).unwrap();
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the examples run the catalogue as root, boot VMs and run runc"
)]
fn every_documented_example_runs_as_documented() {
    require_root("the examples run the catalogue as root, boot VMs and run runc");
    let examples = examples();
    assert!(examples.len() > 10, "{examples:?}");
    let dir = workdir();
    let d = dir.path();
    if examples.iter().any(|e| e.contains("./bzImage")) {
        provide_kernel(d);
    }
    let bin = cli();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failed = Vec::new();
    for ex in &examples {
        // `diff host.json ...` compares with this host's report.
        if ex.contains("host.json") && !d.join("host.json").exists() {
            let c = capture(duct::cmd!(&bin, "run", "--format", "json", "-o", "host.json").dir(d));
            assert!(c.success(), "host.json: {}", c.text());
        }
        let sh = if unprivileged(ex) {
            duct::cmd!(
                "setpriv",
                "--reuid",
                "100000",
                "--regid",
                "100000",
                "--clear-groups",
                "sh",
                "-c",
                ex
            )
        } else {
            duct::cmd!("sh", "-c", ex)
        };
        let c = capture(
            sh.dir(d)
                .env("PATH", &path)
                .env("NSCONFORM_VM_CACHE", vm_cache()),
        );
        println!("{ex}: exit {}", c.code);
        let (want, why) = expected(ex);
        if c.code != want {
            let text = c.text();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            failed.push(format!(
                "`{ex}` exited {}, not {want}{}:\n{tail}",
                c.code,
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                }
            ));
        }
        // What an example says it writes, it writes.
        for w in ex.split_whitespace().collect::<Vec<_>>().windows(2) {
            if w[0] == "-o" || w[0] == "--out" {
                let target = w[1].rsplit('=').next().unwrap();
                if !d.join(target).exists() {
                    failed.push(format!("`{ex}` did not write {target}"));
                }
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
