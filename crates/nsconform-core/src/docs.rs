//! The generated property table (`docs/properties.md`).

use crate::catalogue::{self, Privilege};
use std::fmt::Write as _;

/// Markdown table of every property, generated from the catalogue.
pub fn properties_markdown() -> String {
    let mut s = String::new();
    s.push_str("# nsconform property catalogue\n\n");
    s.push_str(
        "Generated from the catalogue by `nsconform docs`; do not edit by hand (a test fails \
         when this file is out of date).\n\n",
    );
    let all = catalogue::all();
    let _ = writeln!(s, "{} properties.\n", all.len());
    s.push_str(
        "Privilege: `any` needs no namespace set-up, `rootless` runs in a user namespace the \
         check creates, `root` needs CAP_SYS_ADMIN in the initial user namespace. Coverage \
         names the existing suites that test the property (LTP, KST = kernel selftests), \
         `new` where none does. Controls are the negative controls the check is proven to \
         detect at its own assertion (`fault-*`: a seccomp fault of one call group). Calls are \
         the system calls the verdict rests on: with any one group faulted the verdict is no \
         longer a pass (`nsconform explain ID` lists the calls of each group).\n\n",
    );
    s.push_str("| ID | Property | Man page | Privilege | Min kernel | Kernel config | Controls | Calls | Subject | Coverage |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for p in all {
        let privilege = match p.prereq.privilege {
            Privilege::Any => "any",
            Privilege::Rootless => "rootless",
            Privilege::Root => "root",
        };
        let kernel = p
            .prereq
            .min_kernel
            .map_or(String::new(), |(a, b)| format!("{a}.{b}"));
        let controls: Vec<&str> = p.controls.iter().map(|c| c.name()).collect();
        let calls: Vec<&str> = p.calls.iter().map(|c| c.name()).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id,
            esc(p.title),
            esc(p.man),
            privilege,
            kernel,
            p.prereq
                .config
                .iter()
                .map(|c| c.to_string())
                .chain(
                    p.prereq
                        .modules
                        .iter()
                        .map(|m| format!("{} (module {})", m.config, m.name))
                )
                .collect::<Vec<_>>()
                .join(" "),
            controls.join(" "),
            calls.join(" "),
            if p.subject.is_some() { "yes" } else { "" },
            esc(p.coverage),
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}
