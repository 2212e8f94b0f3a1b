//! Kernel modules a property needs (`Prereq::modules`): loaded before the run, all at
//! once in the background, so that a module's load (seconds over a VM's 9p root) runs
//! alongside other properties instead of inside the check that first needs it; and a
//! module that cannot be loaded makes its properties `error` naming it, never a `fail`
//! of the kernel (a mount giving ENODEV, "Unknown device type").

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex};

/// Whether `name` is loaded (or built in with a `/sys/module` entry).
pub fn loaded(name: &str) -> bool {
    std::path::Path::new("/sys/module")
        .join(name.replace('-', "_"))
        .exists()
}

type Slot = Arc<(Mutex<Option<Result<(), String>>>, Condvar)>;

/// Loads started by [`preload`]; [`Preload::wait`] blocks until one has ended.
#[derive(Default)]
pub struct Preload {
    slots: BTreeMap<&'static str, Slot>,
}

/// Start loading every module of `names` that is not loaded yet, each with
/// `modprobe NAME` in a thread of its own. Without the privilege to load modules
/// (`may_load` false) nothing is tried: the kernel may still load them on demand.
pub fn preload(names: BTreeSet<&'static str>, may_load: bool) -> Preload {
    let mut slots = BTreeMap::new();
    for name in names {
        let slot: Slot = Arc::new((Mutex::new(None), Condvar::new()));
        if !may_load || loaded(name) {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(()));
        } else {
            let s = Arc::clone(&slot);
            std::thread::spawn(move || {
                let result = modprobe(name);
                *s.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                s.1.notify_all();
            });
        }
        slots.insert(name, slot);
    }
    Preload { slots }
}

fn modprobe(name: &str) -> Result<(), String> {
    match std::process::Command::new("modprobe")
        .args(["--", name])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.trim();
            Err(format!(
                "`modprobe {name}` {}{}",
                match out.status.code() {
                    Some(c) => format!("exited {c}"),
                    None => "was killed".into(),
                },
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {why}")
                }
            ))
        }
        Err(e) => Err(format!(
            "cannot run modprobe ({e}); install kmod or load {name} yourself"
        )),
    }
}

impl Preload {
    /// Wait for the load of `name` to end: `Err` with what modprobe said when it
    /// failed. A module that was not asked for is `Ok` (nothing to wait for).
    pub fn wait(&self, name: &str) -> Result<(), String> {
        let Some(slot) = self.slots.get(name) else {
            return Ok(());
        };
        let mut done = slot.0.lock().unwrap_or_else(|p| p.into_inner());
        while done.is_none() {
            done = slot.1.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        done.clone().unwrap_or(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_loaded_without_the_privilege_and_unknown_modules_need_no_wait() {
        let p = preload(["nsconform-no-such-module"].into_iter().collect(), false);
        assert_eq!(p.wait("nsconform-no-such-module"), Ok(()));
        assert_eq!(p.wait("never-asked"), Ok(()));
        assert!(!loaded("nsconform-no-such-module"));
    }

    #[test]
    fn a_module_modprobe_cannot_load_is_an_error_naming_it() {
        assert!(
            crate::spec::on_path("modprobe"),
            "modprobe is not installed: apt-get install kmod"
        );
        let p = preload(["nsconform-no-such-module"].into_iter().collect(), true);
        let why = p.wait("nsconform-no-such-module").unwrap_err();
        assert!(why.contains("modprobe nsconform-no-such-module"), "{why}");
    }
}
