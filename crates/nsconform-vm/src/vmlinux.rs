//! Extracting the uncompressed ELF `vmlinux` from a bzImage, like the kernel's
//! `scripts/extract-vmlinux`: find the payload's compression magic and decompress
//! from there. QEMU boots such an ELF directly through its PVH entry point
//! (`CONFIG_PVH=y`), which skips the in-guest decompression: ~3 s less per boot
//! under TCG.

use crate::error::VmError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// (magic, decompressor argv) in the order `extract-vmlinux` tries them.
const FORMATS: &[(&[u8], &[&str])] = &[
    (b"\x1f\x8b\x08", &["gzip", "-dc"]),
    (b"\xfd7zXZ\x00", &["xz", "-dc", "--single-stream"]),
    (b"BZh", &["bzip2", "-dc"]),
    (b"\x5d\x00\x00\x00", &["xz", "-dc", "--format=lzma"]),
    (b"\x89LZO", &["lzop", "-dc"]),
    (b"\x02\x21\x4c\x18", &["lz4", "-dc"]),
    (b"\x28\xb5\x2f\xfd", &["zstd", "-dc"]),
];

/// XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry QEMU needs to boot an ELF kernel.
const PVH_NOTE_TYPE: u32 = 18;

/// Write the uncompressed kernel in `bzimage` to `out` (an ELF with a PVH entry
/// note, bootable by QEMU `-kernel`). Fails when no known compressed payload
/// decompresses to such an ELF.
pub fn extract_vmlinux(bzimage: &Path, out: &Path) -> Result<PathBuf, VmError> {
    let data = fs::read(bzimage).map_err(|e| VmError::io("reading kernel", bzimage, e))?;
    let mut tried = Vec::new();
    for (magic, argv) in FORMATS {
        let mut from = 0;
        while let Some(pos) = find(&data[from..], magic).map(|p| p + from) {
            from = pos + 1;
            match decompress(argv, &data[pos..]) {
                Some(elf) if has_pvh_note(&elf) => {
                    let tmp = out.with_extension("partial");
                    fs::write(&tmp, &elf).map_err(|e| VmError::io("writing", &tmp, e))?;
                    fs::rename(&tmp, out).map_err(|e| VmError::io("renaming to", out, e))?;
                    return Ok(out.to_path_buf());
                }
                Some(elf) if is_elf(&elf) => {
                    tried.push(format!("{} at {pos}: ELF without PVH note", argv[0]));
                    break;
                }
                _ => {}
            }
        }
    }
    Err(VmError::Config(format!(
        "no bootable vmlinux found inside `{}`{}; boot the bzImage itself instead",
        bzimage.display(),
        if tried.is_empty() {
            String::new()
        } else {
            format!(" ({})", tried.join(", "))
        }
    )))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn decompress(argv: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = input.to_vec();
    // Decompressors stop reading at the stream's end; a broken pipe is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    // Trailing data after the stream makes some tools exit non-zero: judge the output.
    is_elf(&out.stdout).then_some(out.stdout)
}

fn is_elf(b: &[u8]) -> bool {
    b.len() > 64 && &b[..4] == b"\x7fELF"
}

/// Does this 64-bit little-endian ELF carry a Xen note of type PHYS32_ENTRY?
fn has_pvh_note(b: &[u8]) -> bool {
    if !is_elf(b) || b[4] != 2 || b[5] != 1 {
        return false;
    }
    let rd16 = |o: usize| {
        b.get(o..o + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    };
    let rd32 = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
    };
    let rd64 = |o: usize| {
        b.get(o..o + 8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap()) as usize)
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (rd64(0x20), rd16(0x36), rd16(0x38)) else {
        return false;
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if rd32(ph) != Some(4) {
            continue; // not PT_NOTE
        }
        let (Some(off), Some(size)) = (rd64(ph + 8), rd64(ph + 32)) else {
            continue;
        };
        let mut o = off;
        let end = off.saturating_add(size).min(b.len());
        while o + 12 <= end {
            let (Some(namesz), Some(descsz), Some(ty)) = (rd32(o), rd32(o + 4), rd32(o + 8)) else {
                break;
            };
            let name = b.get(o + 12..o + 12 + namesz as usize).unwrap_or(&[]);
            if ty == PVH_NOTE_TYPE && name.starts_with(b"Xen") {
                return true;
            }
            let align = |n: u32| (n as usize).div_ceil(4) * 4;
            o += 12 + align(namesz) + align(descsz);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_kernel_is_rejected_with_a_hint() {
        let t = tempfile::tempdir().unwrap();
        let k = t.path().join("k");
        fs::write(&k, b"nothing compressed in here").unwrap();
        let e = extract_vmlinux(&k, &t.path().join("out")).unwrap_err();
        assert!(e.to_string().contains("boot the bzImage"), "{e}");
    }
}
