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
    let all = catalogue::all();
    match args.format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(all).expect("catalogue serializes")
            );
        }
        ListFormat::Human => {
            for p in all {
                let privilege = match p.prereq.privilege {
                    Privilege::Any => "any",
                    Privilege::Rootless => "rootless",
                    Privilege::Root => "root",
                };
                println!("{:<9} {:<8} {}  [{}]", p.id, privilege, p.title, p.man);
            }
            println!("\n{} properties", all.len());
        }
    }
    Ok(0)
}
