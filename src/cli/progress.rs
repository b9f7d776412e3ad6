//! Draws the library's progress events (`tether::progress`): indicatif bars
//! on stderr when stderr is a terminal, JSON lines into the file
//! `TETHER_PROGRESS_FILE` names, else nothing (and nothing in the service).
//! stdout is never touched, so `--json` output stays one JSON document. Log
//! lines reach stderr through the bars' `suspend`, so the two do not tear.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tether::progress::{self, Event, Sink};

/// Sets the process's progress sink for `command`.
pub fn install(command: &super::Command) {
    if matches!(command, super::Command::Watch(_)) {
        return;
    }
    if let Some(path) = tether::env::var_os(tether::env::TETHER_PROGRESS_FILE) {
        match fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => {
                progress::set_sink(Box::new(JsonLines(Mutex::new(file))));
            }
            Err(e) => eprintln!("warning: cannot write progress events: {e}"),
        }
        return;
    }
    if std::io::stderr().is_terminal() {
        let bars = Arc::new(Bars::new(ProgressDrawTarget::stderr()));
        if progress::set_sink(Box::new(Shared(Arc::clone(&bars)))) {
            let _ = BARS.set(bars);
        }
    }
}

/// Clears what is still drawn (work that ended with an error).
pub fn finish() {
    if let Some(bars) = BARS.get() {
        bars.clear();
    }
}

static BARS: OnceLock<Arc<Bars>> = OnceLock::new();

/// Events as JSON lines, for tests and scripts.
struct JsonLines(Mutex<fs_err::File>);

impl Sink for JsonLines {
    fn event(&self, event: &Event) {
        let Ok(mut line) = serde_json::to_string(event) else {
            return;
        };
        line.push('\n');
        if let Ok(mut file) = self.0.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// The bars on the terminal: one per kind of work running now, nested in
/// the order they started (an attempt, its baseline run, its case).
struct Bars {
    multi: MultiProgress,
    now: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    fetch: Option<ProgressBar>,
    analysis: Option<ProgressBar>,
    baseline: Option<ProgressBar>,
    case: Option<ProgressBar>,
    attempt: Option<ProgressBar>,
    bisect: Option<ProgressBar>,
}

/// The sink: the bars, shared with [`finish`].
struct Shared(Arc<Bars>);

impl Sink for Shared {
    fn event(&self, event: &Event) {
        self.0.show(event);
    }

    fn suspend(&self, write: &mut dyn FnMut()) {
        self.0.multi.suspend(write);
    }
}

impl Bars {
    fn new(target: ProgressDrawTarget) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            now: Mutex::new(Running::default()),
        }
    }

    /// A spinner saying `text`, then what [`ProgressBar::set_message`]
    /// adds (cut to the terminal's width).
    fn spinner(&self, text: String) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(text);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn counter(&self, len: usize, template: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(len as u64));
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    }

    /// A line kept above the bars.
    fn say(&self, line: String) {
        let _ = self.multi.println(line);
    }

    fn clear(&self) {
        if let Ok(mut now) = self.now.lock() {
            *now = Running::default();
        }
        let _ = self.multi.clear();
    }

    fn show(&self, event: &Event) {
        let Ok(mut now) = self.now.lock() else {
            return;
        };
        let done = |slot: &mut Option<ProgressBar>| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        };
        match event {
            Event::FetchStarted { upstream } => {
                done(&mut now.fetch);
                now.fetch = Some(self.spinner(format!("fetching {upstream}")));
            }
            Event::FetchObjects {
                upstream,
                received,
                total,
                bytes,
            } => {
                let bar = now.fetch.get_or_insert_with(|| self.spinner(String::new()));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix} [{bar:30}] {pos}/{len} objects {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_length(*total as u64);
                bar.set_position(*received as u64);
                bar.set_prefix(format!("fetching {upstream}"));
                bar.set_message(format!("({})", HumanBytes(*bytes as u64)));
            }
            Event::FetchFinished { .. } => done(&mut now.fetch),
            Event::AnalysisStarted { upstream, range } => {
                done(&mut now.analysis);
                now.analysis = Some(self.spinner(format!("analysing {upstream} {range}")));
            }
            Event::AnalysisPhase { phase, .. } => {
                if let Some(bar) = &now.analysis {
                    bar.set_message(format!("{phase} done"));
                }
            }
            Event::AnalysisFinished { .. } => done(&mut now.analysis),
            Event::BaselineStarted { run_id, cases } => {
                done(&mut now.case);
                done(&mut now.baseline);
                let bar = self.counter(*cases, "  baseline {msg} [{bar:20}] {pos}/{len} cases");
                bar.set_message(run_id.clone());
                now.baseline = Some(bar);
            }
            Event::CaseStarted { case, index, total } => {
                done(&mut now.case);
                now.case = Some(self.spinner(format!("case {case} ({index} of {total})")));
            }
            Event::CaseRunning {
                elapsed_ms,
                last_line,
                peak_vram_bytes,
                ..
            } => {
                if let Some(bar) = &now.case {
                    bar.set_message(case_line(
                        *elapsed_ms,
                        last_line.as_deref(),
                        *peak_vram_bytes,
                    ));
                }
            }
            Event::CaseFinished {
                case,
                status,
                elapsed_ms,
            } => {
                done(&mut now.case);
                if let Some(bar) = &now.baseline {
                    bar.inc(1);
                }
                self.say(format!(
                    "  case {case}: {status} in {}",
                    seconds(*elapsed_ms)
                ));
            }
            Event::BaselineFinished { .. } => done(&mut now.baseline),
            Event::AttemptStarted {
                attempt,
                max,
                strategy,
                case,
            } => {
                done(&mut now.attempt);
                now.attempt = Some(self.spinner(format!(
                    "fix attempt {attempt} of at most {max}: {strategy} for case {case}"
                )));
            }
            Event::AttemptFinished { attempt, result } => {
                done(&mut now.attempt);
                self.say(format!("fix attempt {attempt}: {result}"));
            }
            Event::BisectStep {
                step,
                at_most,
                role,
                commit,
                subject,
            } => {
                done(&mut now.bisect);
                let what = if role == "step" {
                    String::new()
                } else {
                    format!(" ({role})")
                };
                now.bisect = Some(self.spinner(format!(
                    "bisect step {step} of at most {at_most}{what}: {commit} {subject}"
                )));
            }
            Event::BisectStepFinished {
                step,
                commit,
                verdict,
            } => {
                done(&mut now.bisect);
                self.say(format!("bisect step {step}: {commit} is {verdict}"));
            }
        }
    }
}

/// Whole seconds, as tether writes durations (`1m 5s`).
fn seconds(ms: u64) -> String {
    tether::duration::format(Duration::from_secs(ms / 1000)).to_string()
}

/// What a running case adds to its name: `1m 5s · peak VRAM 3.2 GiB · step
/// 3/30`.
fn case_line(elapsed_ms: u64, last_line: Option<&str>, vram: Option<u64>) -> String {
    let mut text = seconds(elapsed_ms);
    if let Some(bytes) = vram {
        text.push_str(&format!(" · peak VRAM {}", HumanBytes(bytes)));
    }
    if let Some(line) = last_line {
        text.push_str(&format!(" · {line}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_case_shows_its_time_vram_and_last_line() {
        assert_eq!(
            case_line(65_400, Some("step 3/30"), Some(3 << 30)),
            "1m 5s · peak VRAM 3.00 GiB · step 3/30"
        );
        assert_eq!(case_line(400, None, None), "0s");
    }

    #[test]
    fn every_event_is_drawn_and_the_bars_end_cleared() {
        let bars = Bars::new(ProgressDrawTarget::hidden());
        let events = [
            Event::FetchStarted {
                upstream: "up".into(),
            },
            Event::FetchObjects {
                upstream: "up".into(),
                received: 3,
                total: 10,
                bytes: 2048,
            },
            Event::FetchFinished {
                upstream: "up".into(),
                ok: true,
            },
            Event::AnalysisStarted {
                upstream: "up".into(),
                range: "a..b".into(),
            },
            Event::AnalysisPhase {
                upstream: "up".into(),
                phase: "tree diff".into(),
                elapsed_ms: 3,
            },
            Event::AnalysisFinished {
                upstream: "up".into(),
                elapsed_ms: 4,
            },
            Event::BisectStep {
                step: 1,
                at_most: 4,
                role: "bad-end".into(),
                commit: "abc1234".into(),
                subject: "s".into(),
            },
            Event::AttemptStarted {
                attempt: 1,
                max: 3,
                strategy: "api-drift".into(),
                case: "c".into(),
            },
            Event::BaselineStarted {
                run_id: "r".into(),
                cases: 1,
            },
            Event::CaseStarted {
                case: "c".into(),
                index: 1,
                total: 1,
            },
            Event::CaseRunning {
                case: "c".into(),
                elapsed_ms: 600,
                last_line: Some("hi".into()),
                peak_vram_bytes: None,
            },
            Event::CaseFinished {
                case: "c".into(),
                status: "passed".into(),
                elapsed_ms: 700,
            },
            Event::BaselineFinished {
                run_id: "r".into(),
                passed: 1,
                failed: 0,
            },
            Event::AttemptFinished {
                attempt: 1,
                result: "success".into(),
            },
            Event::BisectStepFinished {
                step: 1,
                commit: "abc1234".into(),
                verdict: "bad".into(),
            },
        ];
        for e in &events {
            bars.show(e);
        }
        let now = bars.now.lock().unwrap();
        assert!(now.fetch.is_none() && now.analysis.is_none() && now.baseline.is_none());
        assert!(now.case.is_none() && now.attempt.is_none() && now.bisect.is_none());
    }
}
