//! `tether demo`: builds the demo project (an upstream whose history breaks
//! its wrapper three ways), records the live wrapper's baseline references
//! and runs `tether update` on it end to end, compared with them; with
//! `--stack comfyui`, the ComfyUI-shaped stack (a core and two pinned node
//! packs updated as one group, workflows repaired by the fix loop).

use std::path::PathBuf;

use tether::config::Config;
use tether::exit;
use tether::pipeline::{self as update, UpdateOptions, UpdateOutcome};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to build the demo. Default: ./outputs/demo-<time>/
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The Python 3 interpreter the demo's wrapper runs with.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: String,
    /// Which demo: the Wan2GP-shaped wrapper (default) or a ComfyUI stack.
    #[arg(long, value_enum, value_name = "KIND")]
    pub stack: Option<Stack>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// A ComfyUI-like core (submodule) and two custom-node packs pinned by
    /// SHA in the app's Python dict, updated as one `[[group]]`.
    Comfyui,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        let stamp = tether::env::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        let kind = match args.stack {
            Some(Stack::Comfyui) => "demo-comfyui",
            None => "demo",
        };
        PathBuf::from("outputs").join(format!("{kind}-{stamp}"))
    });
    if args.stack == Some(Stack::Comfyui) {
        return run_stack(&dir, &args.python);
    }
    println!("building the demo project in {}", dir.display());
    let demo = tether::demo::create(&dir, &args.python)?;
    println!(
        "  upstream: {} ({} commits; the wrapper is at the first)",
        demo.upstream.display(),
        demo.commits.len()
    );
    for c in &demo.commits {
        println!("    {:.7}  {:<20} {}", c.hash, c.kind, c.subject);
    }
    println!(
        "  wrapper:  {} (upstream as a git submodule at Wan2GP/)",
        demo.wrapper.display()
    );
    println!("  config:   {}", demo.config_path.display());
    println!();
    let cfg = Config::load(&demo.config_path)?;
    super::use_state_dir(&cfg);
    // References first, so the update's staged runs are compared with them
    // (verdicts, frames side by side, SSIM per frame) instead of "no
    // reference" for every case.
    println!("recording the live wrapper's baseline references (`tether baseline record`)");
    let args = super::baseline::RunArgs {
        staged: None,
        cases: None,
        json: false,
    };
    let record = super::baseline::record(&args, &cfg)?;
    super::print_report(&[&record], false)?;
    println!();
    println!("running `tether update` on it");
    let up = &cfg.upstreams[0];
    let report = update::update(&cfg, up, &UpdateOptions::default())?;
    super::print_report(&[&report], false)?;
    println!();
    println!("what to read:");
    if let Some(a) = &report.analysis_dir {
        println!(
            "  {}/integration_analysis.md   what changed upstream and what it breaks",
            a.display()
        );
    }
    if let Some(r) = &report.report_dir {
        println!(
            "  {}   what tether did",
            r.join("update_report.md").display()
        );
        println!(
            "  {}   the same with frames side by side and plots (open it in a browser)",
            r.join("update_report.html").display()
        );
        println!(
            "  {}       every fix attempt",
            r.join("debug_log.txt").display()
        );
    }
    println!(
        "  {}   the references' run",
        record.dir.join("baseline_report.html").display()
    );
    println!(
        "  git -C {} log --oneline         the promoted commits",
        demo.wrapper.display()
    );
    println!();
    println!(
        "try it yourself: cd {} && tether check",
        demo.root.display()
    );
    Ok(match report.outcome {
        UpdateOutcome::Promoted => exit::OK,
        _ => exit::ROLLED_BACK,
    })
}

/// The ComfyUI stack: build it, update its group, say what to read.
fn run_stack(dir: &std::path::Path, python: &str) -> anyhow::Result<u8> {
    println!("building the ComfyUI demo stack in {}", dir.display());
    let stack = tether::demo::comfy::create_stack(dir, python)?;
    for m in &stack.members {
        println!(
            "  {}: {} ({} commits; pinned at the first)",
            m.name,
            m.path.display(),
            m.commits.len()
        );
        for c in &m.commits {
            println!("    {:.7}  {}  [{}]", c.hash, c.subject, c.kind);
        }
    }
    println!(
        "  app:      {} (the core as a submodule at comfyui/, the packs pinned in studio/nodes_pinned.py)",
        stack.app.display()
    );
    println!("  workflows: {}", stack.workflows.join(", "));
    println!("  config:   {}", stack.config_path.display());
    println!();
    let cfg = Config::load(&stack.config_path)?;
    super::use_state_dir(&cfg);
    let group = cfg
        .groups
        .first()
        .ok_or_else(|| anyhow::anyhow!("the demo stack's config has no [[group]]"))?;
    println!("running `tether update --upstream {}` on it", group.name);
    let report = update::update_group(&cfg, group, &UpdateOptions::default())?;
    super::print_report(&[&report], false)?;
    println!();
    println!("what to read:");
    for m in &report.members {
        if let Some(a) = &m.analysis_dir {
            println!(
                "  {}/integration_analysis.md   {}: what changed and which workflow inputs it breaks",
                a.display(),
                m.upstream
            );
        }
    }
    if let Some(r) = &report.report_dir {
        println!(
            "  {}   what tether did (one section per member)",
            r.join("update_report.md").display()
        );
    }
    println!(
        "  git -C {} log --oneline         the promoted pins and the workflow fix",
        stack.app.display()
    );
    println!();
    println!(
        "try it yourself: cd {} && tether check",
        stack.root.display()
    );
    Ok(match report.outcome {
        UpdateOutcome::Promoted => exit::OK,
        _ => exit::ROLLED_BACK,
    })
}
