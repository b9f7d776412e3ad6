//! Links the worker so that it runs without LD_LIBRARY_PATH and really uses
//! CUDA where there is a GPU: an rpath to libtorch's lib dir, and
//! `libtorch_cuda.so` linked with `--no-as-needed` (the linker otherwise drops
//! it as unneeded, since no symbol of it is referenced, and libtorch then
//! reports CUDA unavailable on a GPU machine). Also embeds libtorch's version.
// A build script's inputs are cargo's environment variables and libtorch's
// files; it has no crate::env and no fs_err (one fewer build dependency).
#![allow(clippy::disallowed_methods)]

use std::path::Path;

/// The PyTorch release tch 0.24 is built against.
const WANT: &str = "2.11.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys did not say where libtorch is; run scripts/install-torch.sh");
    let lib = Path::new(&lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
    let version = lib
        .parent()
        .map(|torch| torch.join("version.py"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let release = version.split('+').next().unwrap_or_default();
    if release != WANT && std::env::var_os("LIBTORCH_BYPASS_VERSION_CHECK").is_none() {
        panic!(
            "tether-gpu needs libtorch {WANT} (tch 0.24), but `{}` has torch {version}; \
             run scripts/install-torch.sh (it installs torch=={WANT} from PyPI), \
             or point TETHER_TORCH_PYTHON at an interpreter with torch=={WANT} and run it again",
            lib.display()
        );
    }
    println!("cargo:rustc-env=TETHER_LIBTORCH_VERSION={version}");
}
