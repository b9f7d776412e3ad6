//! Owns the HTML renderings of the report models: `update_report.html`,
//! `baseline_report.html`, `bisect_report.html` and `analysis.html`, and the
//! service dashboard (`dashboard`, served by `tether watch`), built
//! with `maud` (every inserted value escaped) from the same models as the
//! Markdown. A page is self-contained: styles inline, plots inline SVG,
//! frame thumbnails PNG files in the run folder next to it, no script, no
//! network, so it opens from `file://`. Renderers never redact:
//! [`crate::document::write`] redacts each page once.

mod analysis;
mod baseline;
mod bisect;
mod dashboard;
mod frames;
mod plot;
mod run;
mod update;

pub use analysis::page as analysis_page;
pub use baseline::page as baseline_page;
pub use bisect::page as bisect_page;
pub use dashboard::{
    Dashboard, Failure, Held, JobRow, Recent, UpstreamRow, page as dashboard_page,
};
pub use update::page as update_page;

use maud::{DOCTYPE, Markup, html};

/// The folder (inside the run folder) the pages' images are written to.
pub const ASSET_DIR: &str = "html";

/// The styles every page carries inline (no `>` or `"`, so redaction runs
/// cannot cross them).
const CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #1b1b1b; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
.outcome { font-size: 1.2em; font-weight: bold; padding: .5em; border-left: .4em solid #888; background: #f6f6f6; }
.good { color: #176117; } .bad { color: #a40000; font-weight: bold; } .warn { color: #8a5a00; font-weight: bold; }
.frames { display: flex; flex-wrap: wrap; gap: 1em; }
.frames figure { margin: 0; } .frames img { image-rendering: pixelated; border: 1px solid #ccc; }
.frames figcaption { font-size: .85em; }
.plot svg { max-width: 100%; height: auto; }
.missing { color: #a40000; }
.diff .add { background: #e6ffec; } .diff .del { background: #ffebe9; } .diff .hunk { color: #6a737d; }
details { margin: .4em 0; } summary { cursor: pointer; }
";

/// A whole page: the head with the inline styles, then `body`.
pub(crate) fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                (body)
                footer { p { small { "Written by tether " (env!("CARGO_PKG_VERSION")) "." } } }
            }
        }
    }
    .into_string()
}

/// A timestamp as the Markdown reports write it.
pub(crate) fn date(t: jiff::Timestamp) -> String {
    super::markdown::date(t)
}

/// Bytes in GiB with two decimals.
pub(crate) fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests;
