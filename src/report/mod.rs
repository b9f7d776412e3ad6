//! Owns rendering: turns the library's report models into Markdown and
//! HTML (`html/`) for people (the files [`crate::document::write`]
//! writes) and into short summaries for a terminal ([`Summary`]). JSON
//! renderings are the models serialised with serde, so they never
//! disagree. Renderers never
//! redact: `document` does it once for files, the CLI's one print function
//! once for stdout. `locate` finds the HTML reports already written.

pub mod analysis;
pub mod baseline;
pub mod bisect;
pub mod check;
mod check_group;
pub mod gpu;
pub mod health;
pub mod html;
pub mod locate;
pub mod markdown;
mod pending;
pub mod stack_deps;
pub mod update;
mod update_members;
pub mod workflows;

/// A report model's rendering for a terminal, not yet redacted.
pub trait Summary {
    fn summary(&self) -> String;
}

impl<T: Summary + ?Sized> Summary for &T {
    fn summary(&self) -> String {
        (**self).summary()
    }
}
