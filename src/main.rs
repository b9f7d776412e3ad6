//! The `tether` binary: parses arguments, sets up logging, runs one command,
//! prints its rendering and maps the result to an exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // FAILPOINTS (test builds only; see src/failpoint.rs)
    let _failpoints = tether::failpoint::setup();
    // before any thread starts: child process groups do not get the terminal's
    // Ctrl-C, so tether forwards it to the running case
    if let Err(e) = tether::process::install_interrupt_handler() {
        eprintln!("warning: cannot install the interrupt handler: {e}");
    }
    // libgit2 re-hashes every object it reads, which git itself does not: a
    // tenth of a cold analysis of a large jump. The mirror's packs are
    // checked when fetched, and a damaged object still fails to inflate.
    git2::opts::strict_hash_verification(false);
    let args = cli::Args::parse();
    let json = args.command.json();
    // the service sets up its own logging (with files in its state dir)
    let _guard = if matches!(args.command, cli::Command::Watch(_)) {
        None
    } else {
        cli::init_logging(args.verbose)
    };
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = cli::error_exit_code(&err);
            if json {
                println!("{}", cli::json_error::render(&err, code));
            }
            let mut text = format!("error: {err}");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
            if let Some(hint) = cli::hint_for(&err) {
                text.push_str(&format!("\n  hint: {hint}"));
            }
            eprintln!("{}", tether::redact::redact(&text));
            ExitCode::from(code)
        }
    }
}
