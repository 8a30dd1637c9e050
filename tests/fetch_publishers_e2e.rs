//! Issue 8: a fresh machine gets every required input from its publisher. A std-only HTTP server
//! on 127.0.0.1 stands in for the publishers' sites: it serves every *required* source of the
//! embedded manifest at the path of its canonical URL (`fetch --base-url` keeps path and query),
//! plus INSEE's optional comparateur, and answers 404 to everything else. Then `fetch` (no mirror)
//! → `build` → `diagnose` of the example, whose figures must equal a build on `../shared/data`.
//!
//! The bytes served are the real files of `$CPTS_DATA_DIR`, in the layout each publisher serves:
//! plain JSON/GeoJSON where the manifest stores gzip; INSEE's BV2022 workbook and comparateur CSV
//! laid out at run time from the real rows of the TAGC and comparateur compiles of
//! `../shared/data` (so the bassins de vie and areas must come out identical through INSEE's
//! readers); and, as `../shared/data` has no RPPS extraction, the made-up fixture of
//! `tests/fixtures/rpps` zipped as ANS ships it (so GP counts must equal the fixture's).

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use common::Scratch;
use cpts_diag::cli::{run, Cli};
use cpts_diag::fetch::Manifest;
use cpts_diag::sinks::parquet;
use cpts_diag::sources::DataDir;
use polars::prelude::*;

/// Serves `site` (URL path with query → body) until dropped; records the paths asked.
struct Site {
    base: String,
    asked: Arc<Mutex<Vec<(String, u16)>>>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Site {
    fn start(site: HashMap<String, Vec<u8>>) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (asked.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            // A hard deadline, so that no failure can leave the test hanging.
            let deadline = Instant::now() + Duration::from_secs(600);
            while !halt.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &site, &log),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => return,
                }
            }
        });
        Site { base, asked, stop, handle: Some(handle) }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut stream: TcpStream, site: &HashMap<String, Vec<u8>>, log: &Mutex<Vec<(String, u16)>>) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16_384 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.lines().next().and_then(|l| l.split(' ').nth(1)).unwrap_or("").to_string();
    let (status, body): (u16, &[u8]) = match site.get(&path) {
        Some(b) => (200, b),
        None => (404, b"not found"),
    };
    log.lock().unwrap().push((path, status));
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let _ = write!(stream, "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn url_path(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_string()
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap()).read_to_end(&mut out).unwrap();
    out
}

fn csv_rows(p: &Path, delim: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(gunzip(p)).unwrap();
    let mut r = csv::ReaderBuilder::new().delimiter(delim).from_reader(text.as_bytes());
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    (headers, rows)
}

/// INSEE's BV2022 workbook (sheet `Composition_communale`, 5 title rows) holding the real
/// composition rows of the TAGC compile (COG 2024), zipped as INSEE ships it.
fn bv2022_zip(shared: &DataDir) -> Vec<u8> {
    let (h, rows) = csv_rows(&shared.root.join("population/insee_tagc_communes_cog2024_bv2022.csv.gz"), b',');
    let ix = |n: &str| h.iter().position(|x| x == n).unwrap();
    let cols = ["CODGEO", "LIBGEO", "BV2022", "LIBBV2022", "DEP", "REG"].map(ix);
    let mut sheet: Vec<Vec<String>> = vec![
        vec!["Base des bassins de vie 2022 (BV2022)".into()],
        vec!["Composition communale".into()],
        vec!["Géographie au 01/01/2024".into()],
        vec!["Source : Insee".into()],
        vec![],
        ["CODGEO", "LIBGEO", "BV2022", "LIBBV2022", "DEP", "REG"].map(String::from).to_vec(),
    ];
    sheet.extend(rows.iter().map(|r| cols.iter().map(|&i| r[i].clone()).collect()));
    let book = common::xlsx::workbook(&[("Composition_communale", sheet), ("BV2022", vec![vec!["BV2022".into()]])]);
    common::xlsx::zip_one("BV2022_au_01-01-2024.xlsx", &book)
}

/// INSEE's `base_cc_comparateur.csv` (`;`, `CODGEO;P21_POP;SUPERF`) with the real areas of the
/// comparateur compile: one row per commune or arrondissement (the compile repeats them per
/// postal code and lists communes déléguées, which INSEE's base has not).
fn comparateur_zip(shared: &DataDir) -> Vec<u8> {
    let (h, rows) = csv_rows(&shared.root.join("population/communes_cog2024_comparateur_territoires.csv.gz"), b',');
    let ix = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (code, kind, area, pop) = (ix("insee_com"), ix("commune_type"), ix("superficie_km2"), ix("population_2021"));
    let mut seen = std::collections::HashSet::new();
    let mut csv = String::from("CODGEO;P21_POP;SUPERF\n");
    for r in rows.iter().filter(|r| r[kind] != "COMD") {
        if seen.insert(r[code].clone()) {
            csv.push_str(&format!("{};{};{}\n", r[code], r[pop], r[area]));
        }
    }
    common::xlsx::zip_one("base_cc_comparateur.csv", csv.as_bytes())
}

fn rpps_zip() -> Vec<u8> {
    let name = "PS_LibreAcces_Personne_activite_202611200000.txt";
    let txt = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpps").join(name)).unwrap();
    common::xlsx::zip_one(name, &txt)
}

fn cli(args: &[&str]) {
    let mut v = vec!["cpts-diag", "--quiet"];
    v.extend_from_slice(args);
    run(Cli::try_parse_from(v).unwrap()).unwrap();
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// code → (population, APL 2023, area, bassin de vie), as text for exact comparison; the two
/// floats to 1e-9 (a city's area sums its arrondissements in whatever order they were read).
fn figures(p: &Path) -> BTreeMap<String, [String; 4]> {
    let c = parquet::read(p).unwrap();
    let s = |n: &str| c.column(n).unwrap().cast(&DataType::String).unwrap().str().unwrap().clone();
    let f = |n: &str| c.column(n).unwrap().f64().unwrap().clone();
    let (code, pop, apl, area, bv) = (s("code"), s("population"), f("apl_mg_2023"), f("area_km2"), s("bv2022"));
    (0..c.height())
        .map(|i| {
            let v = |x: &StringChunked| x.get(i).unwrap_or("null").to_string();
            let g = |x: &Float64Chunked| x.get(i).map_or("null".to_string(), |v| format!("{v:.9}"));
            (v(&code), [v(&pop), g(&apl), g(&area), v(&bv)])
        })
        .collect()
}

#[test]
fn fetch_from_publishers_then_build_then_diagnose() {
    let Some(shared) = common::real_data("fetch_from_publishers_then_build_then_diagnose") else { return };
    let manifest = Manifest::embedded();
    let mut site = HashMap::new();
    let mut served = Vec::new();
    for src in &manifest.sources {
        let bytes = match src.id.as_str() {
            "rpps" => rpps_zip(),
            "insee_bv2022" => bv2022_zip(&shared),
            "insee_comparateur" => comparateur_zip(&shared),
            _ if !src.required => continue,
            _ if src.store.as_deref() == Some("gzip") => gunzip(&shared.root.join(&src.file)),
            _ => std::fs::read(shared.root.join(&src.file))
                .unwrap_or_else(|e| panic!("required source {} has no file in the real data: {e}", src.id)),
        };
        // Only the first canonical URL: the others are fallbacks.
        site.insert(url_path(&src.urls[0]), bytes);
        served.push(src.id.clone());
    }
    let server = Site::start(site);
    let tmp = Scratch::new("publishers-e2e");
    let s = |p: &Path| p.display().to_string();
    let raw = tmp.0.join("raw");

    // Optional sources without a file on the site are reported and skipped; the run succeeds.
    cli(&["fetch", "--dest", &s(&raw), "--base-url", &server.base, "--retries", "0"]);
    let lock = json(&raw.join("fetch.lock.json"));
    for src in manifest.sources.iter().filter(|s| s.required) {
        let e = &lock["files"][&src.id];
        assert_eq!(e["via"], "canonical", "{}", src.id);
        assert_eq!(e["url"].as_str().unwrap(), format!("{}{}", server.base, url_path(&src.urls[0])), "{}", src.id);
    }
    for id in ["bpe_nb_medg", "insee_tagc_bv2022", "comparateur_rcarlier", "ign_communes_2018", "insee_age"] {
        assert!(lock["files"].get(id).is_none(), "{id} is not served: not fetched");
        assert!(!raw.join(&manifest.get(id).unwrap().file).exists(), "{id}");
    }
    assert!(raw.join("population/BV2022_au_01-01-2024.xlsx").is_file(), "BV2022 workbook unpacked");
    assert!(raw.join("population/base_cc_comparateur.csv").is_file(), "comparateur CSV unpacked");
    let asked = server.asked.lock().unwrap().clone();
    // Each file on the site was asked once; the optional sources absent from it met a 404.
    let ok: Vec<&String> = asked.iter().filter(|(_, c)| *c == 200).map(|(p, _)| p).collect();
    assert_eq!(ok.len(), served.len(), "{asked:?}");
    assert!(asked.iter().any(|(p, c)| *c == 404 && p.contains("base-cc-evol-struct-pop")), "{asked:?}");
    drop(server);

    let territory = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    let (fresh, reference) = (tmp.0.join("fresh"), tmp.0.join("reference"));
    for (data, out) in [(&raw, &fresh), (&shared.root, &reference)] {
        let processed = out.join("processed");
        cli(&["--data-dir", &s(data), "build", "--out", &s(&processed)]);
        cli(&[
            "--data-dir",
            &s(data),
            "diagnose",
            "-t",
            &s(&territory),
            "--processed",
            &s(&processed),
            "--out",
            &s(&out.join("report")),
        ]);
    }

    // Every unit: population, APL 2023, area and bassin de vie equal the build on ../shared/data.
    let (a, b) =
        (figures(&fresh.join("processed/communes.parquet")), figures(&reference.join("processed/communes.parquet")));
    assert_eq!(a.len(), b.len());
    let differ: Vec<_> = a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).take(5).map(|(k, v)| (k, v, &b[k])).collect();
    assert!(differ.is_empty(), "units whose figures differ from the ../shared/data build: {differ:?}");
    let get = |m: &BTreeMap<String, [String; 4]>, code: &str, i: usize| m[code][i].clone();
    assert_eq!(get(&a, "28085", 2), "16.850000000", "Chartres area through INSEE's comparateur layout");
    assert_eq!(get(&a, "28088", 3), "28088", "Châteaudun is the pole of its bassin de vie");

    let (sa, sb) = (json(&fresh.join("report/summary.json")), json(&reference.join("report/summary.json")));
    assert_eq!(sa["population"].as_f64(), Some(39_574.0));
    // The grid counts the population totale (DGCL, millésime 2022): taille 2; on the population
    // municipale, taille 1 and 426 short of taille 2.
    assert_eq!(sa["population_totale"].as_f64(), Some(40_648.0));
    assert_eq!((sa["aci_band"].as_i64(), sa["aci_band_totale"].as_i64()), (Some(2), Some(2)));
    assert_eq!(sa["aci_band_municipale"], 1);
    assert_eq!(sa["aci"]["municipale"]["inhabitants_to_next_band"], 426);
    for k in [
        "population",
        "apl_mg",
        "apl_mg_2022",
        "area_km2",
        "density_per_km2",
        "aci_band",
        "aci_inhabitants_to_next_band",
        "population_totale",
        "aci_band_municipale",
        "aci_band_totale",
    ] {
        assert_eq!(sa[k], sb[k], "{k}");
    }
    assert!(sa["area_km2"].as_f64().unwrap() > 0.0);
    // GPs: the fixture's one libéral GP in Châteaudun, said to come from the RPPS.
    assert_eq!(sa["gp_count"].as_f64(), Some(1.0));
    assert!(sa["notes"]["gp_count"].as_str().unwrap().contains("source: RPPS"), "{}", sa["notes"]["gp_count"]);
    let report = json(&fresh.join("processed/normalization_report.json"));
    let sources: Vec<&str> =
        report["sources"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"insee_bv2022") && sources.contains(&"insee_comparateur"), "{sources:?}");
    assert!(!sources.contains(&"insee_tagc_bv2022") && !sources.contains(&"bpe_nb_medg"), "{sources:?}");
    eprintln!("served from the local publishers' site: {}", served.join(", "));
}
