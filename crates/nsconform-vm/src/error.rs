use std::io;
use std::path::{Path, PathBuf};

/// Host-side failures: the VM could not even be attempted, or a helper tool failed.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The [`crate::VmConfig`] (or an argument) is unusable as given.
    #[error("invalid VM configuration: {0}")]
    Config(String),

    /// A file-system operation on the host failed.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A helper program could not be started at all.
    #[error("could not start `{program}`: {source}; {hint}")]
    Spawn {
        program: String,
        hint: String,
        #[source]
        source: io::Error,
    },

    /// A helper program ran and failed.
    #[error("`{command}` failed ({status}){}; {hint}", stderr_suffix(.stderr))]
    Command {
        command: String,
        status: String,
        stderr: String,
        hint: String,
    },

    /// Kernel modules needed in the initramfs could not be found or read.
    #[error("kernel modules in `{}`: {message}", dir.display())]
    Modules { dir: PathBuf, message: String },

    /// No Debian kernel package could be found or fetched.
    #[error("Debian kernel `{query}`: {message}")]
    Kernel { query: String, message: String },
}

fn stderr_suffix(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {}", tail_lines(s, 8))
    }
}

fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

impl VmError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        VmError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Run a helper program to completion, capturing its output; map failures to [`VmError`].
pub(crate) fn run_tool(
    cmd: &mut std::process::Command,
    hint: &str,
) -> Result<std::process::Output, VmError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let shown = std::iter::once(program.clone())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| VmError::Spawn {
            program,
            hint: hint.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(VmError::Command {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            hint: hint.to_string(),
        });
    }
    Ok(out)
}
