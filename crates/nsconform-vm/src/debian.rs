//! Fetching Debian kernel packages without installing them: `apt-get download` +
//! `dpkg-deb -x` into a cache directory, then `depmod -b` on the extracted tree.

use crate::error::{run_tool, VmError};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Debian kernel extracted into the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebianKernel {
    /// Package name, e.g. `linux-image-6.1.0-56-amd64`.
    pub package: String,
    /// Kernel release (`uname -r` in the guest), e.g. `6.1.0-56-amd64`.
    pub version: String,
    /// The bzImage.
    pub vmlinuz: PathBuf,
    /// `<cache>/<package>/root/lib/modules/<version>`, with `modules.dep`.
    pub modules_dir: PathBuf,
    /// The kernel's `config-<version>`, when the package ships one.
    pub config: Option<PathBuf>,
    /// Uncompressed ELF kernel extracted from `vmlinuz` (PVH boot, ~3 s faster under
    /// TCG); `None` when extraction failed.
    #[serde(default)]
    pub vmlinux: Option<PathBuf>,
}

impl DebianKernel {
    /// The image to boot: `vmlinux` when extracted, else `vmlinuz`.
    pub fn boot_image(&self) -> &Path {
        self.vmlinux.as_deref().unwrap_or(&self.vmlinuz)
    }
}

const STAMP: &str = "extracted.json";

/// Fetch a Debian kernel into `cache` and return its paths.
///
/// `package_or_series` is either a full package name (`linux-image-6.12.43+deb12-amd64`)
/// or a series (`6.1`, `6.12`): the newest `linux-image-<series>.*-<arch>` package apt
/// knows (signed flavour, no `-rt`/`-cloud`/`-dbg`/`-unsigned`) is chosen.
///
/// A package already extracted in `cache` is reused without touching apt. When apt
/// cannot resolve or download a series, the newest already-cached kernel of that
/// series is used instead; if there is none the error says what apt answered.
pub fn fetch_debian_kernel(package_or_series: &str, cache: &Path) -> Result<DebianKernel, VmError> {
    let query = package_or_series.trim();
    if query.is_empty() || query.contains('/') || query.contains(char::is_whitespace) {
        return Err(VmError::Config(format!(
            "`{package_or_series}` is neither a linux-image package name nor a series like 6.1"
        )));
    }
    fs::create_dir_all(cache).map_err(|e| VmError::io("creating cache directory", cache, e))?;
    let cache = cache
        .canonicalize()
        .map_err(|e| VmError::io("resolving cache directory", cache, e))?;

    if query.starts_with("linux-image-") {
        return match load_cached(&cache, query) {
            Some(k) => Ok(k),
            None => download_and_extract(&cache, query),
        };
    }

    let series = query;
    let arch = debian_arch();
    let resolved = newest_package_from_apt(series, &arch);
    let fallback = || newest_cached(&cache, series, &arch);
    match resolved {
        Ok(pkg) => {
            if let Some(k) = load_cached(&cache, &pkg) {
                return Ok(k);
            }
            match download_and_extract(&cache, &pkg) {
                Ok(k) => Ok(k),
                Err(e) => fallback().ok_or(e),
            }
        }
        Err(e) => fallback().ok_or(e),
    }
}

fn debian_arch() -> String {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        other => other,
    }
    .to_string()
}

/// Numeric components of a package version embedded in its name, for ordering.
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// `linux-image-<series>.<...>-<arch>` with only digits, dots, dashes, `+deb` in `<...>`.
fn matches_series(name: &str, series: &str, arch: &str) -> bool {
    let Some(rest) = name.strip_prefix("linux-image-") else {
        return false;
    };
    let Some(rest) = rest.strip_suffix(&format!("-{arch}")) else {
        return false;
    };
    let Some(tail) = rest.strip_prefix(series).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let tail = tail.replace("+deb", "");
    !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
}

fn newest_package_from_apt(series: &str, arch: &str) -> Result<String, VmError> {
    let pattern = format!("^linux-image-{}\\.", series.replace('.', "\\."));
    let out = run_tool(
        Command::new("apt-cache").args(["search", "--names-only", &pattern]),
        "apt-cache is needed to resolve a kernel series; run `apt-get update` \
         or pass a full package name",
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| matches_series(n, series, arch))
        .collect();
    names.sort_by_key(|n| version_key(n));
    names
        .last()
        .map(|s| s.to_string())
        .ok_or_else(|| VmError::Kernel {
            query: series.to_string(),
            message: format!(
                "apt knows no linux-image-{series}.*-{arch} package; run `apt-get update` \
             (bookworm has 6.1, bookworm-security/backports 6.12) or pass a package name"
            ),
        })
}

fn newest_cached(cache: &Path, series: &str, arch: &str) -> Option<DebianKernel> {
    let mut names: Vec<String> = fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| matches_series(n, series, arch))
        .collect();
    names.sort_by_key(|n| version_key(n));
    names.iter().rev().find_map(|n| load_cached(cache, n))
}

fn load_cached(cache: &Path, package: &str) -> Option<DebianKernel> {
    let stamp = cache.join(package).join(STAMP);
    let mut k: DebianKernel = serde_json::from_slice(&fs::read(&stamp).ok()?).ok()?;
    let ok = k.vmlinuz.is_file()
        && k.modules_dir.join("modules.dep").is_file()
        && k.vmlinux.as_deref().map_or(true, Path::is_file);
    if ok && k.vmlinux.is_none() {
        // Cached by an older version: add the vmlinux now (best effort).
        let out = cache.join(package).join(format!("vmlinux-{}", k.version));
        if let Ok(v) = crate::vmlinux::extract_vmlinux(&k.vmlinuz, &out) {
            k.vmlinux = Some(v);
            if let Ok(json) = serde_json::to_vec_pretty(&k) {
                let _ = fs::write(&stamp, json);
            }
        }
    }
    ok.then_some(k)
}

fn download_and_extract(cache: &Path, package: &str) -> Result<DebianKernel, VmError> {
    let pkg_dir = cache.join(package);
    let dl = pkg_dir.join("download");
    let root = pkg_dir.join("root");
    for d in [&dl, &root] {
        if d.exists() {
            fs::remove_dir_all(d).map_err(|e| VmError::io("removing stale", d, e))?;
        }
        fs::create_dir_all(d).map_err(|e| VmError::io("creating directory", d, e))?;
    }
    run_tool(
        Command::new("apt-get")
            .args(["download", package])
            .current_dir(&dl),
        "apt-get download needs the package in apt's lists (run `apt-get update`) and \
         network access to the Debian mirror",
    )?;
    let deb = fs::read_dir(&dl)
        .map_err(|e| VmError::io("listing", &dl, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| VmError::Kernel {
            query: package.to_string(),
            message: format!("apt-get download left no .deb in {}", dl.display()),
        })?;
    run_tool(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
        "dpkg-deb (package dpkg) is needed to unpack the kernel package",
    )?;
    fs::remove_dir_all(&dl).map_err(|e| VmError::io("removing", &dl, e))?;

    let kerr = |message: String| VmError::Kernel {
        query: package.to_string(),
        message,
    };
    let mods_parent = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_dir())
        .ok_or_else(|| kerr("the package has no lib/modules directory".into()))?;
    let version = fs::read_dir(&mods_parent)
        .map_err(|e| VmError::io("listing", &mods_parent, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .ok_or_else(|| kerr(format!("{} is empty", mods_parent.display())))?;
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{version}"));
    if !vmlinuz.is_file() {
        return Err(kerr(format!(
            "the package has no boot/vmlinuz-{version}; is it a linux-image package?"
        )));
    }
    let modules_dir = mods_parent.join(&version);
    if !modules_dir.join("modules.dep").exists() {
        run_tool(
            Command::new("depmod").arg("-b").arg(&root).arg(&version),
            "depmod (package kmod) is needed to create modules.dep for the extracted kernel",
        )?;
    }
    let config = Some(root.join("boot").join(format!("config-{version}"))).filter(|p| p.is_file());
    let vmlinux =
        crate::vmlinux::extract_vmlinux(&vmlinuz, &pkg_dir.join(format!("vmlinux-{version}")))
            .map_err(|e| eprintln!("nsconform-vm: {e}; will boot the bzImage"))
            .ok();
    let k = DebianKernel {
        package: package.to_string(),
        version,
        vmlinuz,
        modules_dir,
        config,
        vmlinux,
    };
    let stamp = pkg_dir.join(STAMP);
    let json =
        serde_json::to_vec_pretty(&k).map_err(|e| kerr(format!("serialising stamp: {e}")))?;
    fs::write(&stamp, json).map_err(|e| VmError::io("writing", &stamp, e))?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_matching() {
        assert!(matches_series("linux-image-6.1.0-56-amd64", "6.1", "amd64"));
        assert!(matches_series(
            "linux-image-6.12.43+deb12-amd64",
            "6.12",
            "amd64"
        ));
        assert!(!matches_series(
            "linux-image-6.12.43+deb12-amd64",
            "6.1",
            "amd64"
        ));
        assert!(!matches_series(
            "linux-image-6.1.0-56-amd64-unsigned",
            "6.1",
            "amd64"
        ));
        assert!(!matches_series(
            "linux-image-6.1.0-56-rt-amd64",
            "6.1",
            "amd64"
        ));
        assert!(!matches_series(
            "linux-image-6.1.0-56-cloud-amd64",
            "6.1",
            "amd64"
        ));
        assert!(!matches_series(
            "linux-image-6.1.0-56-amd64-dbg",
            "6.1",
            "amd64"
        ));
    }

    #[test]
    fn newest_by_numeric_order() {
        let mut v = [
            "linux-image-6.12.9+deb12-amd64",
            "linux-image-6.12.117+deb12-amd64",
            "linux-image-6.12.43+deb12-amd64",
        ];
        v.sort_by_key(|n| version_key(n));
        assert_eq!(*v.last().unwrap(), "linux-image-6.12.117+deb12-amd64");
    }
}
