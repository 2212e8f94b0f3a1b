//! `nsconform list`: the property catalogue.

use super::ListFormat;
use anyhow::Result;
use nsconform_core::catalogue::{self, Privilege};

#[derive(clap::Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

pub fn run(args: ListArgs) -> Result<i32> {
    use std::fmt::Write as _;
    let all = catalogue::all();
    let mut text = String::new();
    match args.format {
        ListFormat::Json => {
            text = serde_json::to_string_pretty(all).expect("catalogue serializes") + "\n";
        }
        ListFormat::Human => {
            for p in all {
                let privilege = match p.prereq.privilege {
                    Privilege::Any => "any",
                    Privilege::Rootless => "rootless",
                    Privilege::Root => "root",
                };
                let _ = writeln!(
                    text,
                    "{:<9} {:<8} {}  [{}]",
                    p.id, privilege, p.title, p.man
                );
            }
            let _ = writeln!(text, "\n{} properties", all.len());
        }
    }
    super::print_out(&text)?;
    Ok(0)
}
