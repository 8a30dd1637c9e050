//! Batch tables on a small made-up curated table: one row per unit, the same figures as
//! `diagnose::evaluate` on the same units, arrondissements never counted twice, nothing dropped
//! silently, and the written files true to their declared schema.

use crate::common;

use cpts_diag::aci::{Basis, Grid};
use cpts_diag::batch::{self, Level};
use cpts_diag::schema;
use cpts_diag::sinks::{batch as out, parquet};
use cpts_diag::territory::Territory;
use polars::prelude::*;

use common::batch_fixture::*;

fn units_where(filter: Expr) -> DataFrame {
    curated().lazy().filter(filter).collect().unwrap()
}

fn communes_where(filter: Expr) -> DataFrame {
    units_where(col("kind").eq(lit("commune")).and(filter))
}

#[test]
fn epci_rows_equal_diagnose_of_their_communes() {
    let grid = Grid::embedded();
    let t = batch::compute(&curated(), Level::Epci, &grid).unwrap();
    assert_eq!(t.frame.height(), 2);
    for e in ["200000001", "200000002"] {
        assert_row_matches_diagnose(&t.frame, "epci", e, &communes_where(col("epci").eq(lit(e))), &grid);
    }
    // 30 000 + 5 000 + 8 000; the arrondissements of 93055 are not added to it.
    assert_eq!(f64_at(&t.frame, "epci", "200000001", "population"), Some(43_000.0));
    assert_eq!(f64_at(&t.frame, "epci", "200000002", "population"), Some(61_000.0));
    // 92001 has no BPE figure: the count is partial (22), and says so.
    assert_eq!(f64_at(&t.frame, "epci", "200000001", "gp_count"), Some(22.0));
    assert_eq!(
        str_at(&t.frame, "epci", "200000001", "gp_count_note").as_deref(),
        Some("no BPE row (commune re-created) (1 unit)")
    );
    assert_eq!(str_at(&t.frame, "epci", "200000002", "gp_count_note"), None);
    // The island outside any EPCI is listed, not lost.
    assert_eq!(t.excluded.len(), 1);
    assert_eq!(t.excluded[0].code, "91003");
}

#[test]
fn aci_band_and_inhabitants_to_next_band() {
    // The embedded grid counts the population totale: 43 000 municipale + 3 % comptée à part.
    let t = batch::compute(&curated(), Level::Epci, &Grid::embedded()).unwrap();
    let row = t.frame.clone().lazy().filter(col("epci").eq(lit("200000001"))).collect().unwrap();
    let int = |row: &DataFrame, c: &str| row.column(c).unwrap().i64().unwrap().get(0);
    assert_eq!(int(&row, "aci_band"), Some(2));
    assert_eq!(int(&row, "aci_inhabitants_to_next_band"), Some(80_000 - 44_290));
    assert_eq!(str_at(&t.frame, "epci", "200000001", "aci_population_basis").as_deref(), Some("totale"));
    let m = batch::compute(&curated(), Level::Epci, &Grid::embedded().with_basis(Some(Basis::Municipale))).unwrap();
    let row = m.frame.clone().lazy().filter(col("epci").eq(lit("200000001"))).collect().unwrap();
    assert_eq!(int(&row, "aci_inhabitants_to_next_band"), Some(80_000 - 43_000));
    assert_eq!((int(&row, "aci_band_municipale"), int(&row, "aci_band_totale")), (Some(2), Some(2)));
    let r = batch::compute(&curated(), Level::Region, &Grid::embedded()).unwrap();
    // R2 = 61 000 inhabitants; R1 = 43 100.
    assert_eq!(f64_at(&r.frame, "region", "R1", "population"), Some(43_100.0));
}

#[test]
fn commune_level_keeps_every_unit_and_sums_to_the_total() {
    let grid = Grid::embedded();
    let c = curated();
    let t = batch::compute(&c, Level::Commune, &grid).unwrap();
    assert_eq!(t.frame.height(), c.height());
    assert!(t.excluded.is_empty());
    for u in UNITS {
        assert_row_matches_diagnose(&t.frame, "code", u.code, &units_where(col("code").eq(lit(u.code))), &grid);
    }
    let communes = t
        .frame
        .clone()
        .lazy()
        .filter(col("kind").eq(lit("commune")))
        .select([col("population").sum()])
        .collect()
        .unwrap();
    let expected: i64 = UNITS.iter().filter(|u| u.kind == "commune").map(|u| u.pop).sum();
    assert_eq!(communes.column("population").unwrap().f64().unwrap().get(0), Some(expected as f64));
    // An arrondissement has no BPE figure of its own, and the row says why.
    assert_eq!(f64_at(&t.frame, "code", "93101", "gp_count"), None);
    assert!(str_at(&t.frame, "code", "93101", "gp_count_note").unwrap().contains("city as a whole"));
}

#[test]
fn departement_and_region_levels_count_communes_only() {
    let grid = Grid::embedded();
    let d = batch::compute(&curated(), Level::Departement, &grid).unwrap();
    assert_eq!(d.frame.height(), 3);
    for dep in ["91", "92", "93"] {
        assert_row_matches_diagnose(
            &d.frame,
            "departement",
            dep,
            &communes_where(col("departement").eq(lit(dep))),
            &grid,
        );
    }
    assert_eq!(f64_at(&d.frame, "departement", "93", "population"), Some(61_000.0));
    assert_eq!(str_at(&d.frame, "departement", "93", "region").as_deref(), Some("R2"));
    let r = batch::compute(&curated(), Level::Region, &grid).unwrap();
    for reg in ["R1", "R2"] {
        assert_row_matches_diagnose(&r.frame, "region", reg, &communes_where(col("region").eq(lit(reg))), &grid);
    }
}

#[test]
fn bassin_de_vie_across_boundaries_gets_its_poles_departement_and_lists_all() {
    let grid = Grid::embedded();
    let t = batch::compute(&curated(), Level::BassinDeVie, &grid).unwrap();
    assert_eq!(t.frame.height(), 2);
    for bv in ["91001", "93055"] {
        assert_row_matches_diagnose(&t.frame, "bv2022", bv, &communes_where(col("bv2022").eq(lit(bv))), &grid);
    }
    assert_eq!(str_at(&t.frame, "bv2022", "93055", "departement").as_deref(), Some("93"));
    assert_eq!(str_at(&t.frame, "bv2022", "93055", "departements").as_deref(), Some("92,93"));
    assert_eq!(str_at(&t.frame, "bv2022", "93055", "regions").as_deref(), Some("R1,R2"));
    assert_eq!(str_at(&t.frame, "bv2022", "91001", "regions").as_deref(), Some("R1"));
}

fn territory(name: &str, codes: &[&str]) -> Territory {
    Territory {
        name: name.into(),
        description: None,
        codes: codes.iter().map(|c| c.to_string()).collect(),
        warnings: vec![],
    }
}

#[test]
fn territories_may_overlap_and_be_drawn_on_arrondissements() {
    let grid = Grid::embedded();
    let list = vec![
        ("nord".to_string(), territory("Nord", &["91001", "91002", "91003"])),
        ("urbaine".to_string(), territory("Urbaine", &["93101", "93002", "91003"])),
    ];
    let t = batch::territories(&curated(), &list, &grid).unwrap();
    assert_eq!(t.frame.height(), 2);
    for (id, terr) in &list {
        let units =
            units_where(col("code").is_in(lit(Series::new("c".into(), terr.codes.clone())).implode(false), false));
        assert_eq!(units.height(), terr.codes.len());
        assert_row_matches_diagnose(&t.frame, "territory", id, &units, &grid);
    }
    // An arrondissement has no BPE figure, so a GP count over part of its city would be wrong.
    assert_eq!(f64_at(&t.frame, "territory", "urbaine", "gp_count"), None);
    assert_eq!(str_at(&t.frame, "territory", "urbaine", "territory_name").as_deref(), Some("Urbaine"));
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cpts-batch-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn written_tables_match_their_declared_schema() {
    let grid = Grid::embedded();
    let dir = tmpdir("write");
    for level in [Level::Commune, Level::Epci, Level::BassinDeVie, Level::Departement, Level::Region] {
        let t = batch::compute(&curated(), level, &grid).unwrap();
        let written = out::write_table(&dir, &t).unwrap();
        let back = parquet::read(&written[0]).unwrap();
        parquet::check_schema(&written[0], &back, schema::batch(level)).unwrap();
        assert!(back.equals_missing(&t.frame), "{}: Parquet round trip", level.id());
        let meta = parquet::read_metadata(&written[0]).unwrap();
        let cols = meta.iter().find(|(k, _)| k == parquet::COLUMNS_KEY).and_then(|(_, v)| v.clone()).unwrap();
        let cols: Vec<serde_json::Value> = serde_json::from_str(&cols).unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let declared: Vec<&str> = schema::batch(level).iter().map(|c| c.name).collect();
        assert_eq!(names, declared);
        assert!(meta
            .iter()
            .any(|(k, v)| k == parquet::PROVENANCE_KEY && v.as_deref().unwrap_or("").contains("drees_apl")));
        let csv = std::fs::read_to_string(&written[1]).unwrap();
        assert_eq!(csv.lines().next().unwrap(), declared.join(","));
        assert_eq!(csv.lines().count(), t.frame.height() + 1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn partitioned_copy_holds_every_row_once_without_the_partition_column() {
    let grid = Grid::embedded();
    let dir = tmpdir("part");
    let t = batch::compute(&curated(), Level::Commune, &grid).unwrap();
    let parts = out::write_partitioned(&dir, &t, "region").unwrap();
    assert_eq!(parts.len(), 2);
    let mut rows = 0;
    for (p, region) in parts.iter().zip(["R1", "R2"]) {
        assert!(p.ends_with(format!("region={region}/part-0.parquet")), "{}", p.display());
        let df = parquet::read(p).unwrap();
        parquet::check_schema(p, &df, &schema::batch_partitioned(Level::Commune)).unwrap();
        let expected =
            t.frame.clone().lazy().filter(col("region").eq(lit(region))).drop(cols(["region"])).collect().unwrap();
        assert!(df.equals_missing(&expected), "{region}");
        rows += df.height();
    }
    assert_eq!(rows, t.frame.height());
    // Written again, the folder is replaced, not merged.
    let again = out::write_partitioned(&dir, &t, "region").unwrap();
    assert_eq!(again, parts);
    assert!(out::write_partitioned(&dir, &t, "departement").is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn docs_schema_md_is_generated_from_the_declarations() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema.md");
    let on_disk = std::fs::read_to_string(&path).expect("docs/schema.md exists");
    assert!(
        on_disk == schema::markdown(),
        "docs/schema.md drifted from src/schema.rs: run `cargo run -- schema --out docs/schema.md`"
    );
    for (id, _, _, cols) in schema::tables() {
        assert!(on_disk.contains(&format!("\n## {id}\n")), "{id}");
        for c in cols {
            assert!(on_disk.contains(&format!("| `{}` | {} |", c.name, c.dtype)), "{id}: {}", c.name);
        }
    }
}
