//! `nsconform check-config`: the kernel options and knobs namespaces depend on.

use super::ListFormat;
use anyhow::Result;
use nsconform_core::env::Env;

#[derive(clap::Args)]
pub struct CheckConfigArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

pub fn run(args: CheckConfigArgs) -> Result<i32> {
    let r = nsconform_core::checkconfig::check(&Env::detect(None));
    match args.format {
        ListFormat::Human => super::print_out(&nsconform_core::checkconfig::human(&r))?,
        ListFormat::Json => super::print_out(&(serde_json::to_string_pretty(&r)? + "\n"))?,
    }
    Ok(if r.missing_required().is_empty() {
        0
    } else {
        1
    })
}
