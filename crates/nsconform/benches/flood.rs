//! Benchmark: nsconform's peak memory and wall time while a subject floods its output.
//! `cargo bench -p nsconform --bench flood [-- BYTES]` (default 2000000000) runs
//! `nsconform run --subject 'sh -c "head -c BYTES /dev/zero >&2; {probe}"'` (and the same
//! to stdout), paired in the same run with the reference `sh -c "head -c BYTES
//! /dev/zero >/dev/null"` alone, and prints each one's wall time and peak RSS:
//! nsconform's own (VmHWM of its /proc status, polled while it runs) and the largest of
//! its process tree (wait4's ru_maxrss). The goal: nsconform's peak RSS at most 32 MB.

use nsconform_core::harness;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GOAL_KB: u64 = 32 * 1024;

/// VmHWM (peak resident set) of process `pid` in kB.
fn vm_hwm_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

struct Measured {
    wall: Duration,
    /// The process's own peak RSS (kB), polled.
    own_kb: u64,
    /// The largest peak RSS of it and its reaped descendants (kB), from wait4.
    tree_kb: u64,
    status: i32,
}

// The child is reaped by wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command) -> Measured {
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the measured command");
    let pid = child.id() as i32;
    let mut own_kb = 0;
    loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            own_kb = own_kb.max(kb);
        }
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child, with valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            return Measured {
                wall: start.elapsed(),
                own_kb,
                tree_kb: usage.ru_maxrss as u64,
                status: if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                },
            };
        }
        assert!(r == 0, "wait4 failed");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn main() {
    let bytes: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000_000);
    let probe = harness::locate_probe()
        .expect("nsconform not found: run `cargo build --release -p nsconform` first");
    let nsconform = probe.program;
    println!(
        "flood of {bytes} bytes, nsconform = {} (goal: nsconform's own peak RSS <= {})",
        nsconform.display(),
        mb(GOAL_KB)
    );
    let reference = measure({
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("head -c {bytes} /dev/zero >/dev/null"));
        c
    });
    println!(
        "  reference  sh -c \"head -c {bytes} /dev/zero >/dev/null\": wall {:.2} s, peak RSS {} (tree)",
        reference.wall.as_secs_f64(),
        mb(reference.tree_kb)
    );
    let mut over = false;
    for (name, redirect) in [("stderr", ">&2"), ("stdout", "")] {
        let subject = format!("sh -c \"head -c {bytes} /dev/zero {redirect}; {{probe}}\"");
        let m = measure({
            let mut c = Command::new(&nsconform);
            c.args(["run", "--subject", &subject, "--format", "json"]);
            c
        });
        over |= m.own_kb > GOAL_KB;
        println!(
            "  {name:<9}  nsconform run --subject '{subject}': wall {:.2} s ({:+.2} s over the reference), \
             nsconform peak RSS {} (tree {}), exit {}",
            m.wall.as_secs_f64(),
            m.wall.as_secs_f64() - reference.wall.as_secs_f64(),
            mb(m.own_kb),
            mb(m.tree_kb),
            m.status
        );
    }
    println!(
        "{}",
        if over {
            "ABOVE the goal"
        } else {
            "within the goal"
        }
    );
}
