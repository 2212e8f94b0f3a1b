//! Deciding between KVM and TCG by actually running a tiny guest under KVM.
//!
//! The presence of `/dev/kvm` proves little: nested or restricted hosts expose a
//! device that cannot run real guests (QEMU aborts on an MSR write with `-cpu host`,
//! or the guest hangs). So the probe boots a 42-byte multiboot payload with the same
//! `-accel kvm -cpu host` options [`crate::run`] would use; the payload writes to
//! QEMU's `isa-debug-exit` port, which makes QEMU exit with status 99. Anything else
//! within the time limit means "no KVM".

use crate::qemu::qemu_binary;
use crate::Accel;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable that overrides detection: `kvm` or `tcg`.
pub const ACCEL_ENV: &str = "NSCONFORM_VM_ACCEL";

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// QEMU exit status for value 0x31 written to isa-debug-exit: (0x31 << 1) | 1.
const PROBE_OK_STATUS: i32 = 99;

/// Multiboot v1 image (a.out kludge: load at 1 MiB, entry at 1 MiB + 0x20) whose code
/// is `mov dx, 0xf4; mov al, 0x31; out dx, al; hlt; jmp $-1`.
fn probe_payload() -> Vec<u8> {
    const MAGIC: u32 = 0x1BAD_B002;
    const FLAGS: u32 = 0x0001_0000;
    let checksum = 0u32.wrapping_sub(MAGIC.wrapping_add(FLAGS));
    let mut v = Vec::with_capacity(42);
    for word in [
        MAGIC,
        FLAGS,
        checksum,
        0x0010_0000, // header_addr
        0x0010_0000, // load_addr
        0,           // load_end_addr: whole file
        0,           // bss_end_addr: none
        0x0010_0020, // entry_addr
    ] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v.extend_from_slice(&[0x66, 0xBA, 0xF4, 0x00, 0xB0, 0x31, 0xEE, 0xF4, 0xEB, 0xFD]);
    v
}

/// Try a short KVM boot. `Ok(())` when KVM runs guests here, otherwise the reason.
pub fn probe_kvm() -> Result<(), String> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Err(format!("cannot open /dev/kvm read-write: {e}"));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let payload = dir.path().join("kvm-probe.mb");
    std::fs::File::create(&payload)
        .and_then(|mut f| f.write_all(&probe_payload()))
        .map_err(|e| format!("cannot write {}: {e}", payload.display()))?;
    let qemu = qemu_binary();
    let mut child = Command::new(&qemu)
        .args([
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-M",
            "pc",
            "-m",
            "64",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-nic",
            "none",
            "-no-reboot",
            "-serial",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel",
        ])
        .arg(&payload)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > PROBE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "KVM test guest did not finish within {PROBE_TIMEOUT:?} (KVM present but not running guests)"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for the KVM test guest: {e}")),
        }
    };
    if status.code() == Some(PROBE_OK_STATUS) {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut s, &mut stderr);
    }
    let first = stderr
        .lines()
        .find(|l| l.contains("error") || l.contains("Assertion"))
        .or_else(|| stderr.lines().next())
        .unwrap_or("")
        .trim()
        .to_string();
    Err(format!("KVM test guest ended with {status}: {first}"))
}

/// Decide the accelerator: `NSCONFORM_VM_ACCEL=kvm|tcg` if set, else KVM when
/// [`probe_kvm`] succeeds, else TCG. The probe runs once per process (≤ 5 s).
pub fn detect_accel() -> Accel {
    static DETECTED: OnceLock<Accel> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        match std::env::var(ACCEL_ENV).map(|v| v.to_ascii_lowercase()) {
            Ok(v) if v == "kvm" => return Accel::Kvm,
            Ok(v) if v == "tcg" => return Accel::Tcg,
            _ => {}
        }
        match probe_kvm() {
            Ok(()) => Accel::Kvm,
            Err(_) => Accel::Tcg,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_valid_multiboot_checksum() {
        let p = probe_payload();
        let word = |i: usize| u32::from_le_bytes(p[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(word(0).wrapping_add(word(1)).wrapping_add(word(2)), 0);
        assert_eq!(p.len(), 42);
    }
}
