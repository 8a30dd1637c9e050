use clap::Parser;

// polars and the staging code allocate many small strings and vectors; glibc's malloc spent about
// a quarter of `build` in malloc/free and consolidation (perf, docs/performance.md). Blocks of
// 1 MiB and more are mapped and unmapped directly (cpts_diag::memory::large).
#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: cpts_diag::memory::large::LargeFromKernel<mimalloc::MiMalloc> =
    cpts_diag::memory::large::LargeFromKernel::new(mimalloc::MiMalloc);
#[cfg(not(target_os = "linux"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cpts_diag::cli::Cli::parse();
    let result = cpts_diag::cli::run(cli);
    cpts_diag::memory::skip_purge_at_exit();
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
