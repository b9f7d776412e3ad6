//! Owns rendering: turns the library's report models into Markdown for people.
//! JSON renderings are the models serialised with serde, so the two never
//! disagree.

pub mod analysis;
pub mod baseline;
pub mod bisect;
pub mod check;
pub mod gpu;
pub mod health;
pub mod markdown;
pub mod update;
