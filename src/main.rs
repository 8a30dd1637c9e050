use clap::Parser;

// polars and the staging code allocate many small strings and vectors; glibc's malloc spent about
// a quarter of `build` in malloc/free and consolidation (perf, docs/performance.md).
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
