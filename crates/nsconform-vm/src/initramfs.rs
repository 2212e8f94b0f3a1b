//! The initramfs: a static busybox, our two-stage init and the kernel modules needed
//! to mount 9p over virtio-pci, packed as an uncompressed newc cpio archive.

use crate::error::{run_tool, VmError};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Modules the guest init needs (dependencies are added from `modules.dep`).
/// Any of them may be built into the kernel instead (`modules.builtin`).
pub const REQUIRED_MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p"];

const INIT_SH: &str = include_str!("../assets/init.sh");
const STAGE2_SH: &str = include_str!("../assets/stage2.sh");

/// Environment variable naming the static busybox to put in the initramfs.
pub const BUSYBOX_ENV: &str = "NSCONFORM_BUSYBOX";

/// Build an initramfs at `out` for the kernel whose modules are in
/// `kernel_modules_dir` (`.../lib/modules/<version>`). Runs `depmod -b` first when
/// that directory has no `modules.dep` (as in a freshly extracted `.deb`).
pub fn build_initramfs(kernel_modules_dir: &Path, out: &Path) -> Result<PathBuf, VmError> {
    build(Some(kernel_modules_dir), out)
}

/// Build with or without modules (`None`: for kernels with 9p and virtio built in).
pub(crate) fn build(modules_dir: Option<&Path>, out: &Path) -> Result<PathBuf, VmError> {
    let busybox_path = find_static_busybox()?;
    let busybox = fs::read(&busybox_path).map_err(|e| VmError::io("reading", &busybox_path, e))?;
    let modules = match modules_dir {
        Some(dir) => resolve_modules(dir)?,
        None => Vec::new(),
    };

    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(|e| VmError::io("creating directory", parent, e))?;
    }
    let tmp = out.with_extension("cpio.partial");
    let file = fs::File::create(&tmp).map_err(|e| VmError::io("creating", &tmp, e))?;
    let mut cpio = CpioWriter::new(BufWriter::new(file));
    let werr = |e| VmError::io("writing", &tmp, e);
    for dir in ["bin", "dev", "proc", "sys", "newroot", "share", "modules"] {
        cpio.dir(dir).map_err(werr)?;
    }
    cpio.char_dev("dev/console", 0o600, 5, 1).map_err(werr)?;
    cpio.file("init", 0o755, INIT_SH.as_bytes()).map_err(werr)?;
    cpio.file("stage2", 0o644, STAGE2_SH.as_bytes())
        .map_err(werr)?;
    cpio.file("bin/busybox", 0o755, &busybox).map_err(werr)?;
    let mut order = String::new();
    for m in &modules {
        let data = read_module(m, modules_dir.unwrap_or(Path::new("/")))?;
        let name = format!("{}.ko", module_name(m));
        cpio.file(&format!("modules/{name}"), 0o644, &data)
            .map_err(werr)?;
        order.push_str(&name);
        order.push('\n');
    }
    cpio.file("modules/order", 0o644, order.as_bytes())
        .map_err(werr)?;
    cpio.finish().map_err(werr)?;
    fs::rename(&tmp, out).map_err(|e| VmError::io("renaming to", out, e))?;
    Ok(out.to_path_buf())
}

/// The module files (absolute paths, dependencies first) to load so that
/// [`REQUIRED_MODULES`] work. Built-in modules are left out.
pub fn resolve_modules(kernel_modules_dir: &Path) -> Result<Vec<PathBuf>, VmError> {
    let dir = kernel_modules_dir;
    let merr = |message: String| VmError::Modules {
        dir: dir.to_path_buf(),
        message,
    };
    if !dir.is_dir() {
        return Err(merr(
            "not a directory; pass the kernel's /lib/modules/<version>".into(),
        ));
    }
    let dep_path = dir.join("modules.dep");
    if !dep_path.exists() {
        run_depmod(dir)?;
    }
    let dep_text =
        fs::read_to_string(&dep_path).map_err(|e| VmError::io("reading", &dep_path, e))?;
    // name -> (relative path, relative paths of its dependencies)
    let mut deps: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for line in dep_text.lines() {
        let Some((module, rest)) = line.split_once(':') else {
            continue;
        };
        let module = module.trim();
        deps.insert(
            module_name(Path::new(module)),
            (
                module.to_string(),
                rest.split_whitespace().map(str::to_string).collect(),
            ),
        );
    }
    let builtin: HashSet<String> = fs::read_to_string(dir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .map(|l| module_name(Path::new(l.trim())))
        .collect();

    let mut ordered: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for &want in REQUIRED_MODULES {
        if builtin.contains(want) {
            continue;
        }
        let Some((path, direct)) = deps.get(want) else {
            return Err(merr(format!(
                "module `{want}` is neither in modules.dep nor in modules.builtin; \
                 this kernel cannot mount the 9p root (needs CONFIG_9P_FS, CONFIG_NET_9P_VIRTIO, \
                 CONFIG_VIRTIO_PCI as =y or =m, see fixtures/kernel/nsconform.config)"
            )));
        };
        // modules.dep lists the full dependency closure; load them last-listed first.
        for d in direct.iter().rev() {
            if seen.insert(d.clone()) {
                ordered.push(d.clone());
            }
        }
        if seen.insert(path.clone()) {
            ordered.push(path.clone());
        }
    }
    ordered
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            if p.is_file() {
                Ok(p)
            } else {
                Err(merr(format!(
                    "modules.dep names `{rel}` but the file is missing"
                )))
            }
        })
        .collect()
}

/// `9pnet_virtio` for `kernel/net/9p/9pnet_virtio.ko.xz`; `-` becomes `_`.
fn module_name(path: &Path) -> String {
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = base.split(".ko").next().unwrap_or(&base);
    stem.replace('-', "_")
}

fn run_depmod(dir: &Path) -> Result<(), VmError> {
    // Layout must be <base>/lib/modules/<version> (or <base>/usr/lib/modules/<version>).
    let version = dir
        .file_name()
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    let modules = dir.parent();
    let lib = modules.and_then(Path::parent);
    let ok_layout = modules.and_then(Path::file_name) == Some("modules".as_ref())
        && lib.and_then(Path::file_name) == Some("lib".as_ref());
    let Some(lib) = lib.filter(|_| ok_layout) else {
        return Err(VmError::Modules {
            dir: dir.to_path_buf(),
            message: "no modules.dep, and the directory is not laid out as \
                      <base>/lib/modules/<version>, so depmod -b cannot create it"
                .into(),
        });
    };
    let mut base = lib.parent().unwrap_or(Path::new("/")).to_path_buf();
    if base.file_name() == Some("usr".as_ref()) {
        base = base.parent().unwrap_or(Path::new("/")).to_path_buf();
    }
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    run_tool(
        Command::new("depmod").arg("-b").arg(&base).arg(&version),
        "install kmod (ci/vm/install-deps.sh) or run depmod yourself on that tree",
    )?;
    Ok(())
}

fn read_module(path: &Path, dir: &Path) -> Result<Vec<u8>, VmError> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".ko.xz") {
        Some("xz")
    } else if name.ends_with(".ko.zst") {
        Some("zstd")
    } else if name.ends_with(".ko.gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => fs::read(path).map_err(|e| VmError::io("reading module", path, e)),
        Some(tool) => {
            let out = run_tool(
                Command::new(tool).arg("-dc").arg(path),
                &format!(
                    "modules under {} are compressed; install xz-utils/zstd/gzip (ci/vm/install-deps.sh)",
                    dir.display()
                ),
            )?;
            Ok(out.stdout)
        }
    }
}

fn find_static_busybox() -> Result<PathBuf, VmError> {
    let candidates: Vec<PathBuf> = match std::env::var_os(BUSYBOX_ENV) {
        Some(p) => vec![PathBuf::from(p)],
        None => vec!["/bin/busybox".into(), "/usr/bin/busybox".into()],
    };
    let mut tried = Vec::new();
    for c in &candidates {
        match fs::read(c) {
            Ok(bytes) => {
                if elf_is_static(&bytes) {
                    return Ok(c.clone());
                }
                tried.push(format!("{} (dynamically linked)", c.display()));
            }
            Err(e) => tried.push(format!("{} ({e})", c.display())),
        }
    }
    Err(VmError::Config(format!(
        "no statically linked busybox found; tried {}; install busybox-static \
         (ci/vm/install-deps.sh) or set {BUSYBOX_ENV}",
        tried.join(", ")
    )))
}

/// A 64-bit little-endian ELF without a PT_INTERP program header.
fn elf_is_static(b: &[u8]) -> bool {
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let phentsize = u16_at(0x36);
    let phnum = u16_at(0x38);
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > b.len() {
            return false;
        }
        if u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3 {
            return false; // PT_INTERP
        }
    }
    true
}

/// Minimal writer for the "newc" cpio format the kernel unpacks.
struct CpioWriter<W: Write> {
    w: W,
    ino: u32,
}

impl<W: Write> CpioWriter<W> {
    fn new(w: W) -> Self {
        CpioWriter { w, ino: 1 }
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> std::io::Result<()> {
        let namesize = name.len() + 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0, // mtime: reproducible archives
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            namesize as u32,
            0,
        ];
        self.ino += 1;
        let mut header = String::from("070701");
        for f in fields {
            header.push_str(&format!("{f:08x}"));
        }
        self.w.write_all(header.as_bytes())?;
        self.w.write_all(name.as_bytes())?;
        self.w.write_all(&[0])?;
        self.pad(110 + namesize)?;
        self.w.write_all(data)?;
        self.pad(data.len())
    }

    fn pad(&mut self, len: usize) -> std::io::Result<()> {
        let n = (4 - len % 4) % 4;
        self.w.write_all(&[0u8; 3][..n])
    }

    fn dir(&mut self, name: &str) -> std::io::Result<()> {
        self.entry(name, 0o040755, (0, 0), &[])
    }

    fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> std::io::Result<()> {
        self.entry(name, 0o100000 | perm, (0, 0), data)
    }

    fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> std::io::Result<()> {
        self.entry(name, 0o020000 | perm, (major, minor), &[])
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.entry("TRAILER!!!", 0, (0, 0), &[])?;
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_normalise() {
        assert_eq!(module_name(Path::new("kernel/fs/9p/9p.ko")), "9p");
        assert_eq!(
            module_name(Path::new("kernel/net/9p/9pnet_virtio.ko.xz")),
            "9pnet_virtio"
        );
        assert_eq!(module_name(Path::new("a/virtio-pci.ko.zst")), "virtio_pci");
    }

    #[test]
    fn cpio_entries_are_aligned() {
        let mut buf = Vec::new();
        let mut w = CpioWriter::new(&mut buf);
        w.file("init", 0o755, b"abc").unwrap();
        w.finish().unwrap();
        assert_eq!(&buf[..6], b"070701");
        // header 110 + "init\0" 5 = 115 -> pad to 116; data 3 -> pad to 4.
        assert_eq!(&buf[116..119], b"abc");
        assert_eq!(&buf[120..126], b"070701");
        assert_eq!(buf.len() % 4, 0);
    }

    #[test]
    fn resolves_modules_from_a_fake_tree() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("lib/modules/9.9.9");
        fs::create_dir_all(dir.join("kernel")).unwrap();
        for m in ["a.ko", "b.ko", "9p.ko", "9pnet_virtio.ko"] {
            fs::write(dir.join("kernel").join(m), b"x").unwrap();
        }
        fs::write(
            dir.join("modules.dep"),
            "kernel/a.ko:\nkernel/b.ko: kernel/a.ko\n\
             kernel/9pnet_virtio.ko: kernel/b.ko kernel/a.ko\nkernel/9p.ko: kernel/a.ko\n",
        )
        .unwrap();
        fs::write(
            dir.join("modules.builtin"),
            "kernel/drivers/virtio/virtio_pci.ko\n",
        )
        .unwrap();
        let got: Vec<String> = resolve_modules(&dir)
            .unwrap()
            .iter()
            .map(|p| module_name(p))
            .collect();
        assert_eq!(got, ["a", "b", "9pnet_virtio", "9p"]);
    }

    #[test]
    fn missing_module_error_names_it() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("modules.dep"), "").unwrap();
        let e = resolve_modules(t.path()).unwrap_err().to_string();
        assert!(e.contains("virtio_pci"), "{e}");
    }

    #[test]
    fn detects_static_busybox_when_present() {
        if let Ok(b) = fs::read("/bin/sh") {
            // Debian's /bin/sh (dash) is dynamically linked.
            assert!(!elf_is_static(&b) || b.len() < 64);
        }
    }
}
