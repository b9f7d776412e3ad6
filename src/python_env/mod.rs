//! Owns the wrapper's Python environment as tether touches it: `pip freeze`
//! and `pip install` through the wrapper's interpreter (`pip`), and the
//! record of the protected packages at the last good run (`good`).

mod good;
pub mod pip;

pub use good::{good_packages_path, record_good_packages};
pub use pip::{PipFreeze, freeze, install};
