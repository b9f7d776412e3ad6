//! `tether report open [RUN] [--browser]`: prints the path of the newest
//! HTML report (of RUN, a run id or folder, when given) and, with
//! `--browser`, opens it in `$BROWSER` or with `xdg-open`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;
use tether::exit;
use tether::report::locate::{self, LocateError};

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Print the path of the newest HTML report (with --browser, open it).
    Open(OpenArgs),
}

#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// A run: its id (a folder name in the outputs dir) or its folder.
    /// Default: the newest report of any run or analysis.
    pub run: Option<String>,
    /// Open the report in a browser: $BROWSER, else xdg-open.
    #[arg(long)]
    pub browser: bool,
}

/// How long a browser command is watched for failing to start (a browser
/// that keeps running is left to run).
const START_WAIT: Duration = Duration::from_secs(3);

pub fn run(cmd: &ReportCommand, flag: Option<&Path>) -> anyhow::Result<u8> {
    let ReportCommand::Open(args) = cmd;
    // a run given by its folder needs no config
    let found = match args.run.as_deref() {
        Some(dir) if Path::new(dir).is_dir() => {
            locate::page_of(Path::new(dir)).ok_or_else(|| LocateError::NoPage {
                dir: Path::new(dir).to_owned(),
            })
        }
        run => {
            let cfg = super::load_config(flag)?;
            locate::find(&cfg.project.outputs_dir, &cfg.project.analysis_dir, run)
        }
    };
    let page = match found {
        Ok(f) => f.page,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::NO_REPORT);
        }
    };
    let page = fs_err::canonicalize(&page).unwrap_or(page);
    println!("{}", page.display());
    if args.browser {
        open(&page)?;
    }
    Ok(exit::OK)
}

/// Starts `$BROWSER` (each of its `:`-separated commands in turn) or
/// `xdg-open` on `page`; an error names what was tried.
fn open(page: &Path) -> anyhow::Result<()> {
    let var = tether::env::var(tether::env::BROWSER).filter(|b| !b.trim().is_empty());
    let commands: Vec<String> = match &var {
        Some(b) => b.split(':').map(str::to_owned).collect(),
        None => vec!["xdg-open".to_owned()],
    };
    let mut tried = Vec::new();
    for command in commands.iter().filter(|c| !c.trim().is_empty()) {
        match start(command, page) {
            Ok(()) => return Ok(()),
            Err(why) => tried.push(format!("`{command}`: {why}")),
        }
    }
    let source = if var.is_some() {
        "$BROWSER"
    } else {
        "xdg-open ($BROWSER is not set)"
    };
    bail!(
        "cannot open the report in a browser with {source}: {}; open the path above yourself, or set $BROWSER to a browser command",
        tried.join("; ")
    )
}

/// One browser command: started, and not failed within [`START_WAIT`].
fn start(command: &str, page: &Path) -> Result<(), String> {
    let mut words = shell_words::split(command).map_err(|e| e.to_string())?;
    if words.is_empty() {
        return Err("empty command".into());
    }
    let path = page.display().to_string();
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", &path);
        }
    } else {
        words.push(path);
    }
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let deadline = Instant::now() + START_WAIT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(format!("it failed ({s})")),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e.to_string()),
        }
    }
    // still running: a browser that stays in the foreground
    Ok(())
}
