//! `nsconform explain ID`: one property in full, from the catalogue (and its snapshots
//! when the source tree is at hand).

use super::UsageError;
use anyhow::Result;
use nsconform_core::catalogue::{self, Privilege};
use nsconform_core::Property;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The property's ID (PID-01, any case).
    id: String,
}

/// Where the reviewed snapshots of the property tests are: the source tree this binary
/// was built from (absent in an installed copy).
fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tests/snapshots")
}

/// The text of `p`'s explanation; `snapshots` is where its reviewed snapshots are.
pub fn explain(p: &Property, snapshots: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {}", p.id, p.title);
    let _ = writeln!(s, "  man page:      {}", p.man);
    let privilege = match p.prereq.privilege {
        Privilege::Any => "any (no namespace set-up)",
        Privilege::Rootless => "rootless (runs in a user namespace the check creates)",
        Privilege::Root => "root (CAP_SYS_ADMIN in the initial user namespace)",
    };
    let _ = writeln!(s, "  privilege:     {privilege}");
    if let Some((a, b)) = p.prereq.min_kernel {
        let _ = writeln!(s, "  min kernel:    {a}.{b}");
    }
    if !p.prereq.config.is_empty() {
        let _ = writeln!(s, "  kernel config: {}", p.prereq.config.join(" "));
    }
    if !p.prereq.modules.is_empty() {
        let mods: Vec<String> = p
            .prereq
            .modules
            .iter()
            .map(|m| format!("{} ({})", m.name, m.config))
            .collect();
        let _ = writeln!(
            s,
            "  modules:       {} (loaded before the run where they are modules)",
            mods.join(" ")
        );
    }
    if !p.prereq.tools.is_empty() {
        let _ = writeln!(s, "  tools:         {}", p.prereq.tools.join(" "));
    }
    let _ = writeln!(
        s,
        "  subjects:      {}",
        if p.subject.is_some() {
            "judged for subjects (`run --subject`, `grade`)"
        } else {
            "kernel only"
        }
    );
    if p.global {
        let _ = writeln!(s, "  runs alone:    it changes host-global state");
    }
    let _ = writeln!(s, "  coverage:      {}", p.coverage);
    let _ = writeln!(
        s,
        "  controls ({}), each must make it fail at its own assertion:",
        p.controls.len()
    );
    for c in p.controls {
        let _ = writeln!(s, "    {:<16} {}", c.name(), c.describe());
    }
    if p.calls.is_empty() {
        let _ = writeln!(
            s,
            "  calls:         none faulted (the verdict rests on procfs and nsfs reads)"
        );
    } else {
        let _ = writeln!(
            s,
            "  calls it makes ({}), each faulted in turn must change the verdict:",
            p.calls.len()
        );
        for c in p.calls {
            let _ = writeln!(s, "    {:<16} {}", c.name(), c.calls());
        }
    }
    let mut found = false;
    for mode in ["privileged", "rootless"] {
        let path = snapshots.join(format!("properties__{}@{mode}.snap", p.id));
        if let Ok(text) = std::fs::read_to_string(&path) {
            found = true;
            // The header (between the first two `---` lines) is insta's bookkeeping.
            let body = text.splitn(3, "---\n").nth(2).unwrap_or(&text);
            let _ = writeln!(s, "  reviewed snapshot, {mode}:");
            for line in body.lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    if !found {
        let _ = writeln!(
            s,
            "  (the reviewed snapshots are in the source tree, tests/tests/snapshots; not at {})",
            snapshots.display()
        );
    }
    s
}

pub fn run(args: ExplainArgs) -> Result<i32> {
    let id = args.id.to_ascii_uppercase();
    let Some(p) = catalogue::all().iter().find(|p| p.id == id) else {
        return Err(UsageError(format!(
            "no property `{}`; `nsconform list` shows the IDs",
            args.id
        ))
        .into());
    };
    super::print_out(&explain(p, &snapshot_dir()))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explanation_has_every_part() {
        let p = catalogue::all().iter().find(|p| p.id == "PID-01").unwrap();
        let t = explain(p, &snapshot_dir());
        for part in [
            "PID-01",
            p.man,
            "rootless",
            "no-new-pid",
            "CLONE_NEWPID",
            "reviewed snapshot, privileged:",
            "calls it makes (1)",
            "getpid(2), getppid(2)",
        ] {
            assert!(t.contains(part), "{part} missing:\n{t}");
        }
        assert!(!t.contains("snapshot_kind"), "{t}");
        let t = explain(p, Path::new("/nonexistent"));
        assert!(t.contains("not at /nonexistent"), "{t}");
    }
}
