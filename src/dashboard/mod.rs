//! Owns the read-only pages `tether watch` serves beside its JSON routes:
//! `/` (`page`: upstreams, jobs, failures, reports and trends) and the run
//! and analysis folders' HTML reports and images (`files`: `/runs/<id>/`,
//! `/analysis/...`, traversal refused). The service (`daemon`) knows
//! nothing of them: the binary hands [`pages`] to it, so the service stays
//! below the renderers (`report` uses `health`, which reads the service's
//! state).

pub mod files;
mod page;

use std::sync::Arc;

use crate::daemon::http::{Pages, Snapshot};
use crate::daemon::serve::{Answer, Reply};

use files::Tree;

/// The pages, for [`crate::daemon::WatchOptions::pages`].
pub fn pages() -> Pages {
    Pages(Arc::new(answer))
}

/// The answer to `path` (no query), or `None` when it is not a page.
/// Everything here reads the disk, so it runs off the event loop.
fn answer(path: &str, snap: &Snapshot) -> Option<Answer> {
    let site = snap.site.clone().unwrap_or_default();
    let tree = |prefix: &'static str, root: std::path::PathBuf, rest: &str| {
        let rest = rest.to_owned();
        Answer::Disk(Box::new(move || {
            Tree {
                prefix,
                root: &root,
            }
            .answer(&rest)
        }))
    };
    if let Some(rest) = path.strip_prefix("/runs/") {
        return Some(tree("/runs/", site.outputs_dir, rest));
    }
    if let Some(rest) = path.strip_prefix("/analysis/") {
        return Some(tree("/analysis/", site.analysis_dir, rest));
    }
    if path == "/" || path == "/index.html" {
        let snap = snap.clone();
        return Some(Answer::Disk(Box::new(move || {
            Reply::new(200, "text/html; charset=utf-8", page::page(&snap))
        })));
    }
    None
}
