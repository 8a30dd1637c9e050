//! Write a synthetic RPPS extraction in the real format (published header, pipe-separated, trailing
//! `|`, CRLF, one row per activity) for the memory benchmark of `rpps_count`:
//!
//! ```sh
//! cargo run --release --example rpps_gen -- /tmp/PS_LibreAcces_Personne_activite_bench.txt 1000000
//! ```
//!
//! Values are made up: ids `81…`, communes drawn from a fixed list of real INSEE codes, the
//! profession mix of the real file (about half infirmiers), 1.3 activities per practitioner.

use std::io::Write;

const HEADER: &str = include_str!("../tests/fixtures/rpps/header.txt");

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/tmp/PS_LibreAcces_Personne_activite_bench.txt".into());
    let lines: u64 = args.next().map_or(1_000_000, |n| n.parse().expect("a number of lines"));
    let cols: Vec<&str> = HEADER.trim_end().trim_end_matches('|').split('|').collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).expect(name);
    let (i_type, i_id, i_nat, i_prof, i_proflib, i_sf, i_sflib, i_mode, i_cp, i_com, i_comlib, i_nom, i_rs) = (
        at("Type d'identifiant PP"),
        at("Identifiant PP"),
        at("Identification nationale PP"),
        at("Code profession"),
        at("Libellé profession"),
        at("Code savoir-faire"),
        at("Libellé savoir-faire"),
        at("Code mode exercice"),
        at("Code postal (coord. structure)"),
        at("Code commune (coord. structure)"),
        at("Libellé commune (coord. structure)"),
        at("Nom d'exercice"),
        at("Raison sociale site"),
    );
    // Address and contact fields, filled as in the real file so that lines have a realistic length.
    let (i_num, i_tvoie, i_voie, i_tel, i_mail, i_pays, i_lpays, i_civ, i_lciv) = (
        at("Numéro Voie (coord. structure)"),
        at("Libellé type de voie (coord. structure)"),
        at("Libellé Voie (coord. structure)"),
        at("Téléphone (coord. structure)"),
        at("Adresse e-mail (coord. structure)"),
        at("Code pays (coord. structure)"),
        at("Libellé pays (coord. structure)"),
        at("Code civilité"),
        at("Libellé civilité"),
    );
    let communes = [
        "28085", "28088", "28134", "28280", "33063", "75112", "75115", "69383", "13205", "59350", "31555", "06088",
        "2A004", "97411", "",
    ];
    let profs = [
        ("60", "Infirmier", "", ""),
        ("60", "Infirmier", "", ""),
        ("10", "Médecin", "SM54", "Médecine Générale"),
        ("10", "Médecin", "SM53", "Spécialiste en Médecine Générale"),
        ("10", "Médecin", "SM04", "Cardiologie et maladies vasculaires"),
        ("70", "Masseur-Kinésithérapeute", "", ""),
        ("21", "Pharmacien", "", ""),
        ("40", "Chirurgien-Dentiste", "", ""),
        ("50", "Sage-Femme", "", ""),
    ];
    let f = std::fs::File::create(&path).expect("create output");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    write!(w, "{}\r\n", HEADER.trim_end()).unwrap();
    let mut row = vec![String::new(); cols.len()];
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut practitioner = 0u64;
    for n in 0..lines {
        // About 1.3 activities per practitioner, consecutive as in the real file.
        if n == 0 || next() % 10 < 7 {
            practitioner += 1;
        }
        let r = next();
        let (code, lib, sf, sflib) = profs[(practitioner % profs.len() as u64) as usize];
        let com = communes[(r % communes.len() as u64) as usize];
        for c in row.iter_mut() {
            c.clear();
        }
        let id = format!("{:011}", 10_000_000_000 + practitioner);
        row[i_type] = "8".into();
        row[i_id] = id.clone();
        row[i_nat] = format!("8{id}");
        row[i_prof] = code.into();
        row[i_proflib] = lib.into();
        row[i_sf] = sf.into();
        row[i_sflib] = sflib.into();
        row[i_mode] = if r % 5 == 0 { "S".into() } else { "L".into() };
        row[i_cp] = if com.is_empty() { "28019".into() } else { format!("{}000", &com[..2]) };
        row[i_com] = com.into();
        row[i_comlib] = if com.is_empty() { "CHARTRES CEDEX".into() } else { format!("Commune {com}") };
        row[i_nom] = format!("NOM{practitioner}");
        row[i_rs] = format!("CABINET DU DR NOM{practitioner} PRÉNOM");
        row[i_num] = format!("{}", 1 + r % 120);
        row[i_tvoie] = "Rue".into();
        row[i_voie] = format!("DE LA RÉPUBLIQUE {}", r % 97);
        row[i_tel] = format!("02{:08}", r % 100_000_000);
        row[i_mail] = format!("cabinet{practitioner}@exemple.fr");
        row[i_pays] = "99000".into();
        row[i_lpays] = "France".into();
        row[i_civ] = "M".into();
        row[i_lciv] = "Monsieur".into();
        w.write_all(row.join("|").as_bytes()).unwrap();
        w.write_all(b"|\r\n").unwrap();
    }
    w.flush().unwrap();
    eprintln!("wrote {lines} activity lines for {practitioner} practitioners to {path}");
}
