//! `tether case-exec` (hidden): one baseline case run on this machine by the
//! local runner's code, its result written to its folder; the job the slurm
//! executor submits for each case.

use std::path::PathBuf;

use clap::Args;
use tether::config::Config;
use tether::exit;

#[derive(Debug, Args)]
pub struct CaseExecArgs {
    /// The tree under test (on the shared folder).
    #[arg(long)]
    pub tree: PathBuf,
    /// The folder holding the case's folder.
    #[arg(long)]
    pub run_dir: PathBuf,
    #[arg(long)]
    pub run_id: String,
    /// The case's name.
    #[arg(long)]
    pub case: String,
    /// The `[[slurm.target]]` this job runs the case for.
    #[arg(long)]
    pub target: Option<String>,
}

pub fn run(args: &CaseExecArgs, cfg: &Config) -> anyhow::Result<u8> {
    // a failed case is a result: the job ends COMPLETED once it is written
    tether::baseline::exec_case(
        cfg,
        &args.tree,
        &args.run_dir,
        &args.run_id,
        &args.case,
        args.target.as_deref(),
    )?;
    Ok(exit::OK)
}
