//! Link the binary as a fixed-address executable on Linux (`-no-pie`). As a position-independent
//! executable, the dynamic loader applied 134 000 relocations to 2.5 MB of polars' tables at every
//! start: 3.5 ms of CPU and 670 page faults before `main`, for every command (docs/performance.md,
//! `diagnose`, "Fourth pass (eighth round)"). The objects stay position-independent; only the
//! final link changes.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
