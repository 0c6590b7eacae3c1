//! Exit codes scripts can rely on.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | error: the operation failed, input or configuration is invalid, the cluster is unreachable |
//! | 2 | usage error: unknown command or flag (from clap) |
//! | 3 | a check came out negative: cluster not running (`status`), unhealthy (`health`), drift (`topics check`) |
//! | 141 | stdout was closed by the reader (e.g. piped into `head`) |

use std::process::ExitCode;

/// A negative check result: printed by the command itself, exits with 3.
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// Exit code for success.
pub const OK: u8 = 0;
/// Exit code for errors.
pub const ERROR: u8 = 1;
/// Exit code for negative checks.
pub const CHECK_FAILED: u8 = 3;

/// Exit code when stdout was closed by the reader (`tda-kafka ... | head`),
/// as a shell reports a process ended by SIGPIPE.
pub const BROKEN_PIPE: i32 = 141;

/// Makes a closed stdout end the process quietly with [`BROKEN_PIPE`] instead
/// of a panic message: `println!` panics on EPIPE because Rust ignores SIGPIPE.
pub fn quiet_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE);
        }
        default_hook(info);
    }));
}

/// Prints an error chain to stderr and maps it to an exit code.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        Err(e) if e.downcast_ref::<CheckFailed>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(CHECK_FAILED)
        }
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(ERROR)
        }
    }
}
