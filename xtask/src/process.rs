//! Running child commands: echo them, wait, and turn a failure into an error naming them.

use std::ffi::OsString;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace::Workspace;

/// Prints one progress line. Progress goes to stderr so that stdout carries only what the
/// tools themselves print.
pub fn step(message: &str) {
    eprintln!("xtask: {message}");
}

/// The cargo that started us (cargo sets `$CARGO` for `cargo run`), so child builds use the
/// same toolchain even when a different `cargo` comes first on PATH.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A cargo command that runs in the repo root.
pub fn cargo(ws: &Workspace) -> Command {
    let mut command = Command::new(cargo_program());
    command.current_dir(ws.root());
    command
}

/// Runs `command` to completion with inherited stdio; a non-zero exit is an error.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = describe(command);
    eprintln!("xtask: $ {shown}");

    let status = command.status().with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Like `run`, but holds the command's output back and shows it only inside the error when
/// the command fails: for chatty tools (initdb prints a page) whose output says nothing
/// useful when all goes well.
pub fn run_quiet(command: &mut Command) -> Result<()> {
    let shown = describe(command);
    eprintln!("xtask: $ {shown}");

    let output = command.output().with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        let said: Vec<String> = [&output.stdout, &output.stderr]
            .into_iter()
            .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
            .filter(|text| !text.is_empty())
            .collect();
        if said.is_empty() {
            bail!("`{shown}` failed ({}) and printed nothing", output.status);
        }
        bail!("`{shown}` failed ({}); it printed:\n{}", output.status, said.join("\n"));
    }
    Ok(())
}

/// The command line as a person would type it, for progress lines and error messages.
fn describe(command: &Command) -> String {
    let program = command.get_program().to_string_lossy();
    // Show `cargo` rather than the full path of the rustup proxy in `$CARGO`.
    let program = program.rsplit('/').next().unwrap_or(&program).to_owned();
    let args = command.get_args().map(|arg| arg.to_string_lossy().into_owned());
    std::iter::once(program).chain(args).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_the_program_name_and_arguments() {
        let mut command = Command::new("/usr/local/cargo/bin/cargo");
        command.args(["build", "-p", "server"]);

        assert_eq!(describe(&command), "cargo build -p server");
    }
}
