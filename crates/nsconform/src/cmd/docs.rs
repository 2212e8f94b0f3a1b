//! `nsconform docs`: print docs/properties.md.

use anyhow::Result;

pub fn run() -> Result<i32> {
    super::print_out(&nsconform_core::docs::properties_markdown())?;
    Ok(0)
}
