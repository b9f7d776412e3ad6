//! What `tether` and its `tether-gpu` worker both use, and nothing else: no
//! git, no parsers, no HTTP, no async runtime, no NVML and no libtorch, so
//! the worker builds and links only what it needs. It owns the worker's
//! protocol (`protocol`), decoding media outputs and the checks on them
//! (`media`), the one redaction function (`redact`), the variables it reads
//! (`env`), running one child
//! process with a timeout and redacted, bounded logs (`child`; tether's
//! `process` adds Ctrl-C handling and its registry around it), and private
//! files written atomically (`files`).

pub mod child;
pub mod env;
pub mod files;
pub mod media;
pub mod protocol;
pub mod redact;
