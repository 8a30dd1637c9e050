//! Count an RPPS extraction with the staging module (streaming) and print its stats: the
//! memory benchmark (`/usr/bin/time -v target/release/examples/rpps_count FILE`).

fn main() {
    let path = std::env::args().nth(1).expect("usage: rpps_count PS_LibreAcces_Personne_activite_….txt");
    let (counts, stats) = cpts_diag::sources::rpps::count_file(std::path::Path::new(&path)).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    println!("{}", stats.one_line());
    println!("{} commune codes", counts.communes.len());
    let gp: u32 = counts.values.iter().map(|v| v[0].0).sum(); // "gp" is the first profession of the table
    println!("GP (practitioner, commune) pairs: {gp}");
}
