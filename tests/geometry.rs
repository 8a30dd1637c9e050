//! Boundaries on made-up fixtures in Etalab's contours administratifs layout: layout detection,
//! invalid polygons (repaired, dropped, each with a warning naming the commune), arrondissements
//! beside their city, the GeoParquet table (metadata, round trip, same bytes twice) and the CLI.

use crate::common;

use std::path::Path;

use clap::Parser;
use cpts_diag::cli::{run, Cli};
use cpts_diag::geo::{analyse, Geography};
use cpts_diag::pipeline;
use cpts_diag::sinks::{parquet, Provenance};
use cpts_diag::sources::boundaries::{self, BoundaryKind, Layout};
use cpts_diag::sources::decoupage::Cog;
use cpts_diag::transforms::cog::CogIndex;
use cpts_diag::transforms::curated;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geo").join(name)
}

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn invalid_polygons_are_repaired_or_dropped_with_a_warning_naming_the_commune() {
    let b = boundaries::load_file(&fixture("invalid-communes-etalab.geojson")).unwrap();
    assert_eq!(b.layout, Layout::Current);
    let w: Vec<String> = b.warnings.iter().map(|w| w.to_string()).collect();
    let about = |code: &str| w.iter().filter(|l| l.contains(&format!(": {code} "))).cloned().collect::<Vec<_>>();
    // Self-intersection: kept, flagged invalid, repaired for areas and maps.
    assert!(about("67226")[0].contains("invalid") && about("67226")[0].contains("repaired"), "{w:?}");
    let bowtie = b.features.iter().find(|f| f.code == "67226").unwrap();
    assert!(!bowtie.valid);
    let fixed = boundaries::make_valid(&bowtie.shape);
    assert!(geo::Validation::is_valid(&fixed));
    // Two triangles of 0.0001 square degree each: about 0.82 km² at 48.6°N.
    let a = boundaries::area_km2(&fixed);
    assert!((a - 2.0 * 0.0001 * 111.2 * 73.6).abs() < 0.05, "{a}");
    // Empty hole: the ring goes, the commune stays.
    assert!(about("28001")[0].contains("hole 1 empty") && about("28001")[0].contains("ring dropped"), "{w:?}");
    let alpha = b.features.iter().find(|f| f.code == "28001").unwrap();
    assert!(alpha.valid && alpha.shape.0[0].interiors().is_empty());
    // Two-point ring: that polygon goes, the commune keeps its other one.
    assert!(about("28002")[0].contains("fewer than 3 distinct positions"), "{w:?}");
    assert_eq!(b.features.iter().find(|f| f.code == "28002").unwrap().shape.0.len(), 1);
    // lon/lat swapped, and a Réunion commune drawn in the metropole: rejected, not mapped.
    assert!(
        about("28003").iter().any(|l| l.contains("outside France métropolitaine") && l.contains("swapped")),
        "{w:?}"
    );
    assert!(about("28003").iter().any(|l| l.contains("not mapped")));
    assert!(about("97411").iter().any(|l| l.contains("outside La Réunion")), "{w:?}");
    assert!(!b.features.iter().any(|f| f.code == "28003" || f.code == "97411"));
    // Unclosed ring: closed.
    assert!(about("28004")[0].contains("not closed"), "{w:?}");
    let delta = b.features.iter().find(|f| f.code == "28004").unwrap();
    assert_eq!(delta.shape.0[0].exterior().0.len(), 5);
    assert!(delta.valid);
    // Every warning names its file and feature.
    assert!(w.iter().all(|l| l.contains("invalid-communes-etalab.geojson: feature ")), "{w:?}");
}

#[test]
fn rejected_polygon_shows_as_missing_with_its_reason() {
    let data = common::fixture_data("geometry-missing");
    let index = CogIndex::new(&Cog::load(&data).unwrap());
    let b = boundaries::load_file(&fixture("invalid-communes-etalab.geojson")).unwrap();
    let g = Geography::new(b, &index);
    let t = analyse(&g, &codes(&["28001", "28003"]), &index);
    assert_eq!(t.mapped, codes(&["28001"]));
    assert!(t.missing[0].reason.contains("rejected") && t.missing[0].reason.contains("swapped"), "{:?}", t.missing);
}

#[test]
fn layout_is_told_by_properties_and_older_vintages_still_read() {
    let data = common::fixture_data("geometry-layout");
    let current = boundaries::load(&data).unwrap();
    assert_eq!(current.layout, Layout::Current);
    assert_eq!(current.files.len(), 2, "communes and arrondissements");
    let arr: Vec<&str> =
        current.features.iter().filter(|f| f.kind == BoundaryKind::Arrondissement).map(|f| f.code.as_str()).collect();
    assert_eq!(arr, vec!["75101", "75102"]);
    assert_eq!(current.features.iter().find(|f| f.code == "75101").unwrap().parent.as_deref(), Some("75056"));
    // The 2018 file, pointed at with --boundaries, whatever its name.
    let renamed_dir = common::Scratch::new("geometry-layout-renamed");
    let renamed = renamed_dir.join("communes-cog2026-whatever.geojson.gz");
    std::fs::copy(data.root.join(boundaries::LEGACY_2018.file), &renamed).unwrap();
    let legacy_data = data.clone().with_boundaries(vec![renamed]);
    let legacy = boundaries::load(&legacy_data).unwrap();
    assert_eq!(legacy.layout, Layout::Legacy);
    assert!(legacy.features.iter().all(|f| f.kind == BoundaryKind::Commune));
    // Its former code 28901 is dissolved into 28001; the build says which boundaries it read.
    let c = curated::build(&legacy_data, &mut |_| {}).unwrap();
    let rep = c.reports.iter().find(|r| r.source == "ign_communes_2018").unwrap();
    assert_eq!(rep.codes_remapped.get("28901").map(String::as_str), Some("28001"));
    let index = CogIndex::new(&c.cog);
    // A file out of code order gives the same units, each unit's features still in file order
    // (here 28901 before 28001: the feature that kept the code is put first all the same).
    let mut reversed = legacy.clone();
    reversed.features.reverse();
    let g = Geography::new(legacy, &index);
    assert_eq!(g.source_codes("28001"), vec!["28001", "28901"]);
    assert_eq!(g.shape("28001").unwrap().0.len(), 1, "dissolved into one polygon");
    let r = Geography::new(reversed, &index);
    assert_eq!(r.codes(), g.codes());
    assert_eq!(r.source_codes("28001"), vec!["28001", "28901"]);
    assert_eq!(r.shape("28001"), g.shape("28001"));
    // The geometry table stores the dissolved shape, made once for its box and its WKB, and the
    // box of that shape in the covering.
    let prov = Provenance::new(cpts_diag::sources::all());
    let bytes = pipeline::geometry_bytes(&g, &prov, pipeline::Target::Processed).unwrap();
    let back = Geography::from_geoparquet_bytes(&bytes, &index).unwrap();
    let dissolved = g.shape("28001").unwrap();
    assert_eq!(back.shape("28001").as_ref(), Some(&dissolved));
    assert_eq!(back.bbox("28001"), geo::BoundingRect::bounding_rect(&dissolved));
    assert_eq!(back.source_codes("28001"), vec!["28001"], "the table holds COG 2026 units");
}

#[test]
fn areas_and_centres_come_from_the_boundaries_beside_insee() {
    let data = common::fixture_data("geometry-area");
    let c = curated::build(&data, &mut |_| {}).unwrap();
    let df = &c.communes;
    let get = |code: &str, col: &str| {
        let i = df.column("code").unwrap().str().unwrap().iter().position(|c| c == Some(code)).unwrap();
        df.column(col).unwrap().f64().unwrap().get(i)
    };
    // 0.2° × 0.1° at 48.05°N on the WGS84 ellipsoid: 14.89 km × 11.12 km.
    let a = get("28001", "area_km2_boundaries").unwrap();
    assert!((a - 14.89 * 11.12).abs() < 0.5, "{a}");
    // INSEE's area stays the reference where it exists.
    assert_eq!(get("28001", "area_km2"), Some(15.0));
    assert!(get("75101", "area_km2_boundaries").is_some(), "arrondissements have their own polygon");
    let rep = c.reports.iter().find(|r| r.source == "contours_communes_cog2026").unwrap();
    let cmp = rep.comparison.as_ref().expect("areas compared with INSEE's");
    assert!(cmp["departement_28"]["difference_pct"].as_f64().is_some(), "{cmp}");
}

#[test]
fn arrondissement_territory_has_neighbours_but_never_its_own_city() {
    let data = common::fixture_data("geometry-plm");
    let index = CogIndex::new(&Cog::load(&data).unwrap());
    let g = Geography::load(&data, &index).unwrap();
    let t = analyse(&g, &codes(&["75101"]), &index);
    assert_eq!(t.neighbours.iter().map(|n| n.code.as_str()).collect::<Vec<_>>(), vec!["75102"]);
    let whole = analyse(&g, &codes(&["75056"]), &index);
    assert!(whole.neighbours.iter().all(|n| !n.code.starts_with("751")), "{:?}", whole.neighbours);
}

#[test]
fn build_encodes_the_geometry_while_staging_into_the_same_bytes() {
    let data = common::fixture_data("geometry-staged");
    let prov = Provenance::new(cpts_diag::sources::all());
    // The library's build keeps the boundaries; `build` hands them to the geometry encoder on
    // the boundaries' thread. Both write the same files.
    let kept = curated::build(&data, &mut |_| {}).unwrap();
    let mut progress = cpts_diag::progress::Progress::new(true);
    let (a, b) = (common::Scratch::new("geometry-staged-a"), common::Scratch::new("geometry-staged-b"));
    let (staged, staged_written) =
        pipeline::build_and_write(&data, &prov, pipeline::Target::Processed, &b, &mut progress).unwrap();
    assert!(staged.boundaries.is_none(), "the features were handed over, not cloned");
    let bytes = std::fs::read(b.join(pipeline::GEOMETRY_FILE)).expect("geometry encoded while staging");
    let expected = pipeline::geometry_bytes(
        &Geography::new(kept.boundaries.clone().unwrap(), &kept.index),
        &prov,
        pipeline::Target::Processed,
    )
    .unwrap();
    assert!(bytes == expected, "same geometry table either way");
    assert!(staged.communes.equals_missing(&kept.communes));
    assert_eq!(staged.geometry_warnings.len(), kept.boundaries.as_ref().unwrap().warnings.len());
    let written = pipeline::write_curated_with(&a, &kept, &prov).unwrap();
    assert_eq!(staged_written.len(), written.len());
    for p in &written {
        let name = p.file_name().unwrap();
        assert!(std::fs::read(p).unwrap() == std::fs::read(b.join(name)).unwrap(), "{name:?} differs");
    }
}

#[test]
fn geoparquet_table_round_trips_with_its_metadata_and_the_same_bytes() {
    let data = common::fixture_data("geometry-parquet");
    let c = curated::build(&data, &mut |_| {}).unwrap();
    let g = Geography::new(c.boundaries.clone().unwrap(), &c.index);
    let prov = Provenance::new(cpts_diag::sources::all());
    let bytes = pipeline::geometry_bytes(&g, &prov, pipeline::Target::Processed).unwrap();
    assert_eq!(bytes, pipeline::geometry_bytes(&g, &prov, pipeline::Target::Processed).unwrap(), "deterministic");
    let back = Geography::from_geoparquet_bytes(&bytes, &c.index).unwrap();
    assert_eq!(back.codes(), codes(&["28001", "28002", "28003", "75056", "75101", "75102"]));
    for code in back.codes() {
        assert_eq!(back.shape(&code), g.shape(&code), "{code}");
    }
    assert_eq!(back.unit("75101").unwrap().kind, BoundaryKind::Arrondissement);
    // `build` writes it beside communes.parquet, as GeoParquet 1.1.
    let out = common::Scratch::new("geometry-parquet-out");
    let written = pipeline::write_curated_with(&out, &c, &prov).unwrap();
    let path = out.join(pipeline::GEOMETRY_FILE);
    assert!(written.contains(&path));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let md = parquet::read_metadata(&path).unwrap();
    let geo: serde_json::Value =
        serde_json::from_str(md.iter().find(|(k, _)| k == "geo").unwrap().1.as_deref().unwrap()).unwrap();
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "geometry");
    assert_eq!(geo["columns"]["geometry"]["encoding"], "WKB");
    assert_eq!(geo["columns"]["geometry"]["geometry_types"], serde_json::json!(["MultiPolygon"]));
    assert!(geo["columns"]["geometry"].get("crs").is_none(), "absent crs = OGC:CRS84");
    let bbox: Vec<f64> = serde_json::from_value(geo["columns"]["geometry"]["bbox"].clone()).unwrap();
    assert_eq!(bbox, vec![1.0, 48.0, 2.4, 48.9]);
    // GeoParquet 1.1's bbox covering, for readers that skip row groups by box.
    assert_eq!(geo["columns"]["geometry"]["covering"]["bbox"]["xmin"], serde_json::json!(["bbox", "xmin"]));
    assert_eq!(geo["columns"]["geometry"]["covering"]["bbox"]["ymax"], serde_json::json!(["bbox", "ymax"]));
    let df = parquet::read(&path).unwrap();
    parquet::check_schema(&path, &df, cpts_diag::schema::GEOMETRY).unwrap();
    // A corrupt geometry is an error naming the row and column.
    let mut bad = df.clone();
    let geom: Vec<Vec<u8>> = (0..bad.height()).map(|_| vec![1, 6, 0]).collect();
    bad.with_column(polars::prelude::Column::new("geometry".into(), geom)).unwrap();
    let bad_path = out.join("bad.parquet");
    parquet::write_with_metadata(
        &bad_path,
        &mut bad,
        &prov,
        cpts_diag::schema::GEOMETRY,
        vec![("geo".into(), md.iter().find(|(k, _)| k == "geo").unwrap().1.clone().unwrap())],
    )
    .unwrap();
    // The boxes come from the bbox covering and the WKB of a row group is decoded when one of
    // its units is drawn: a corrupt shape stops the run there, naming the file, row and column.
    let back = Geography::from_geoparquet_file(&bad_path, &c.index).unwrap();
    assert_eq!(back.bbox("28001"), g.bbox("28001"), "box from the covering");
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| back.shape("28001"))).unwrap_err();
    let e = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(e.contains("bad.parquet:1") && e.contains("\"geometry\"") && e.contains("28001: invalid WKB"), "{e}");
    // Without the covering, every shape is boxed, so checked, when read.
    let mut uncovered = bad.drop("bbox").unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(md.iter().find(|(k, _)| k == "geo").unwrap().1.as_deref().unwrap()).unwrap();
    meta["columns"]["geometry"].as_object_mut().unwrap().remove("covering");
    let uncovered_path = out.join("uncovered.parquet");
    let cols: Vec<_> = cpts_diag::schema::GEOMETRY.iter().filter(|c| c.name != "bbox").cloned().collect();
    parquet::write_with_metadata(&uncovered_path, &mut uncovered, &prov, &cols, vec![("geo".into(), meta.to_string())])
        .unwrap();
    let e = Geography::from_geoparquet_file(&uncovered_path, &c.index).unwrap_err().to_string();
    assert!(e.contains("uncovered.parquet:1") && e.contains("geometry") && e.contains("invalid WKB"), "{e}");
    let e = Geography::from_geoparquet_bytes(b"not parquet", &c.index).unwrap_err().to_string();
    assert!(e.contains("Parquet"), "{e}");
}

#[test]
fn cli_build_then_diagnose_arrondissements_reads_the_geometry_table() {
    let data = common::fixture_data("geometry-cli");
    let out = common::Scratch::new("geometry-cli-out");
    let processed = out.join("processed");
    let d = data.root.to_str().unwrap();
    let p = processed.to_str().unwrap();
    run(Cli::try_parse_from(["cpts-diag", "-q", "--data-dir", d, "build", "--out", p]).unwrap()).unwrap();
    assert!(processed.join(pipeline::GEOMETRY_FILE).is_file());
    // Remove the GeoJSON: diagnose must draw from geometry.parquet alone.
    std::fs::remove_file(data.root.join(boundaries::META.file)).unwrap();
    std::fs::remove_file(data.root.join(boundaries::ARRONDISSEMENTS.file)).unwrap();
    let report = out.join("report");
    let r = report.to_str().unwrap();
    let args =
        ["cpts-diag", "-q", "--data-dir", d, "diagnose", "--communes", "75101,75102", "--processed", p, "--out", r];
    run(Cli::try_parse_from(args).unwrap()).unwrap();
    for f in ["map_apl.svg", "map_gp_density.svg", "map_population.svg", "advice.json"] {
        assert!(report.join(f).is_file(), "{f} not written");
    }
}
