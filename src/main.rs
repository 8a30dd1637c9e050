use clap::Parser;

fn main() {
    let cli = cpts_diag::cli::Cli::parse();
    if let Err(e) = cpts_diag::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
