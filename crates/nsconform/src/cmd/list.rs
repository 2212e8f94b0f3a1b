//! `nsconform list`: the property catalogue, or a selection of it.

use super::{ListFormat, UsageError};
use anyhow::Result;
use nsconform_core::catalogue::Privilege;
use std::io::IsTerminal;

#[derive(clap::Args)]
pub struct ListArgs {
    /// Property IDs (PID-01), areas (PID) or globs over IDs ('MNT-1*'), as `run` takes
    /// them; all when omitted.
    selection: Vec<String>,
    /// Leave out the properties PATTERN names (an ID, area or glob); repeatable.
    #[arg(long, value_name = "PATTERN")]
    exclude: Vec<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

fn privilege(p: Privilege) -> &'static str {
    match p {
        Privilege::Any => "any",
        Privilege::Rootless => "rootless",
        Privilege::Root => "root",
    }
}

/// The width lines are cut to: the terminal's when stdout is one, else none (a pipe or
/// a file gets whole lines, for grep).
fn width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0).max(40))
}

/// `s` cut to `max` characters, the cut marked with `…`.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The human table: ID, privilege, whether it applies to subjects, the statement and
/// its man page; cut to `width` when given.
pub fn table(props: &[&nsconform_core::Property], width: Option<usize>) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "{:<9} {:<8} {:<7} PROPERTY [MAN PAGE]\n",
        "ID", "PRIV", "SUBJECT"
    );
    for p in props {
        let line = format!(
            "{:<9} {:<8} {:<7} {}  [{}]",
            p.id,
            privilege(p.prereq.privilege),
            if p.subject.is_some() { "yes" } else { "-" },
            p.title,
            p.man
        );
        let _ = writeln!(text, "{}", width.map_or(line.clone(), |w| fit(&line, w)));
    }
    let n = props.len();
    let _ = writeln!(
        text,
        "\n{n} {}; `nsconform explain ID` tells one in full",
        if n == 1 { "property" } else { "properties" }
    );
    text
}

pub fn run(args: ListArgs) -> Result<i32> {
    let props = nsconform_core::run::select(&args.selection, &args.exclude).map_err(UsageError)?;
    let text = match args.format {
        ListFormat::Json => {
            serde_json::to_string_pretty(&props).expect("catalogue serializes") + "\n"
        }
        ListFormat::Human => table(&props, width()),
    };
    super::print_out(&text)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_width_and_say_whether_subjects_are_judged() {
        let props = nsconform_core::run::select(&["UTS".into(), "GEN-01".into()], &[]).unwrap();
        let t = table(&props, Some(60));
        assert!(t.lines().all(|l| l.chars().count() <= 60), "{t}");
        assert!(
            t.lines()
                .any(|l| l.starts_with("GEN-01") && l.contains(" -  ")),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.starts_with("UTS-02") && l.contains(" yes ")),
            "{t}"
        );
        assert!(t.contains("6 properties"), "{t}");
        let whole = table(&props, None);
        assert!(whole.contains("[uts_namespaces(7)"), "{whole}");
        assert_eq!(fit("abcdef", 4), "abc…");
    }
}
