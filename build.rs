//! Link the binary as a fixed-address executable on Linux (`-no-pie`). As a position-independent
//! executable, the dynamic loader applied 134 000 relocations to 2.5 MB of polars' tables at every
//! start: 3.5 ms of CPU and 670 page faults before `main`, for every command (docs/performance.md,
//! `diagnose`, "Fourth pass (eighth round)"). The objects stay position-independent; only the
//! final link changes.
//!
//! Where the linker is lld, the functions the commands run are also linked side by side, in the
//! order of `link/symbol-order.txt` (written by `scripts/symbol_order.py`): a command then maps a
//! few MB of code instead of ~30 (docs/performance.md, "Code layout"). Names the file has that the
//! binary lacks are skipped silently. Whether the linker takes the option is tried on an empty
//! program first, with the same rustc, target, flags and linker: GNU ld has no such option, and a
//! rustc of 1.90 or later links through lld by default only as rust-lang distributes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SYMBOL_ORDER: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={SYMBOL_ORDER}");
    println!("cargo:rerun-if-env-changed=CPTS_DEFAULT_LINK_ORDER");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join(SYMBOL_ORDER);
    if !order.is_file() || std::env::var_os("CPTS_DEFAULT_LINK_ORDER").is_some() {
        return;
    }
    // Two arguments each, not `-Wl,a,b`: a path with a comma would be split.
    let args = [
        "-Xlinker".to_string(),
        format!("--symbol-ordering-file={}", order.display()),
        "-Xlinker".to_string(),
        "--no-warn-symbol-ordering".to_string(),
    ];
    if links_with(&args) {
        for a in &args {
            println!("cargo:rustc-link-arg-bins={a}");
        }
    } else {
        println!(
            "cargo:warning=the linker does not take --symbol-ordering-file (not lld): functions linked in the default order"
        );
    }
}

/// Whether an empty program links with `link_args` added, as rustc links this crate's binary.
fn links_with(link_args: &[String]) -> bool {
    let var = |k: &str| std::env::var(k).ok();
    let (Some(out), Some(target)) = (var("OUT_DIR").map(PathBuf::from), var("TARGET")) else { return false };
    let src = out.join("link_probe.rs");
    if std::fs::write(&src, "fn main() {}\n").is_err() {
        return false;
    }
    let mut rustc = Command::new(var("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc.args(["--crate-name", "link_probe", "--crate-type", "bin", "--target", &target, "-o"]);
    rustc.arg(out.join("link_probe")).arg(&src);
    // The flags cargo passes to rustc for this target (`build.rustflags`, RUSTFLAGS…).
    let flags = var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    rustc.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    if let Some(linker) = var("RUSTC_LINKER") {
        rustc.arg("-C").arg(format!("linker={linker}"));
    }
    for a in link_args {
        rustc.arg("-C").arg(format!("link-arg={a}"));
    }
    rustc.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}
