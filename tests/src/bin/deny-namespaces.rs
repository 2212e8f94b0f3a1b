//! `deny-namespaces PROGRAM [ARGS...]`: run PROGRAM under a seccomp filter that refuses
//! to create namespaces, as container runtimes' default profiles do (unshare(2) and
//! clone(2) with a `CLONE_NEW*` flag fail with EPERM, clone3(2) with ENOSYS). The tests
//! use it to show that the catalogue blames such an environment, not the kernel.

use std::os::unix::process::CommandExt;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: deny-namespaces PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    if let Err(e) = nsconform_core::probe::fault::install_deny_creation() {
        eprintln!("deny-namespaces: {e}");
        std::process::exit(3);
    }
    let err = std::process::Command::new(program).args(rest).exec();
    eprintln!("deny-namespaces: cannot execute {program}: {err}");
    std::process::exit(127);
}
