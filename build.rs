//! Link the binary as a fixed-address executable on Linux (`-no-pie`). As a position-independent
//! executable, the dynamic loader applied 134 000 relocations to 2.5 MB of polars' tables at every
//! start: 3.5 ms of CPU and 670 page faults before `main`, for every command (docs/performance.md,
//! `diagnose`, "Fourth pass (eighth round)"). The objects stay position-independent; only the
//! final link changes.
//!
//! With lld, the functions the commands run are also linked side by side, in the order of
//! `link/symbol-order.txt` (written by `scripts/symbol_order.py`): a command then maps a few MB of
//! code instead of ~30 (docs/performance.md, "Code layout"). Names the file has that the binary
//! lacks are skipped silently. Other linkers (GNU ld has no such option) link in the default order.

use std::path::Path;
use std::process::Command;

const SYMBOL_ORDER: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={SYMBOL_ORDER}");
    println!("cargo:rerun-if-env-changed=CPTS_DEFAULT_LINK_ORDER");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join(SYMBOL_ORDER);
    if order.is_file() && links_with_rust_lld() && std::env::var_os("CPTS_DEFAULT_LINK_ORDER").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc links through its own lld: the default for x86_64 Linux since Rust 1.90, unless
/// a linker is configured (`RUSTC_LINKER`, `-C linker…` or `-C link-arg=-fuse-ld…` in the flags).
fn links_with_rust_lld() -> bool {
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || std::env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "fuse-ld", "link-self-contained"].iter().any(|f| flags.contains(f)) {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version =
        Command::new(rustc).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let minor = version.ok().and_then(|v| {
        let mut parts = v.split_whitespace().nth(1)?.split('.');
        (parts.next()? == "1").then_some(())?;
        parts.next()?.parse::<u32>().ok()
    });
    minor.is_some_and(|m| m >= 90)
}
