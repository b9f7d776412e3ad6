//! Where a reference lives (`<references_dir>/<hardware-slug>/<case>-<hash8>.json`)
//! and reading one back, with its format version checked. `record` writes
//! these files; `compare` and the runner read them.

use std::path::{Path, PathBuf};

use super::BaselineError;
use super::model::Reference;
use crate::config::Config;

/// The format version of a reference file.
pub(super) const REFERENCE_VERSION: u32 = 1;

/// Where the reference of a case with these settings on this hardware lives.
pub fn reference_path(
    cfg: &Config,
    hardware_slug: &str,
    case: &str,
    settings_hash: &str,
) -> PathBuf {
    let hash8 = &settings_hash[..settings_hash.len().min(8)];
    cfg.baseline
        .references_dir
        .join(hardware_slug)
        .join(format!("{case}-{hash8}.json"))
}

/// The reference at `path`; `None` when there is none.
pub(super) fn read_reference(path: &Path) -> Result<Option<Reference>, BaselineError> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BaselineError::Reference {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let reference: Reference =
        serde_json::from_str(&text).map_err(|e| BaselineError::Reference {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if reference.format_version != REFERENCE_VERSION {
        return Err(BaselineError::Reference {
            path: path.to_path_buf(),
            message: format!(
                "format_version {} is not supported (expected {REFERENCE_VERSION})",
                reference.format_version
            ),
        });
    }
    Ok(Some(reference))
}
