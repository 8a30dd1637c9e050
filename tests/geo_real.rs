//! Geometry, territory definitions and band-sizing advice on the real published files
//! (`../shared/data` or `CPTS_DATA_DIR`); each test skips with a visible line when they are absent.
//! The boundaries and the curated table are loaded once for all tests.

use std::path::Path;
use std::sync::OnceLock;

use cpts_diag::aci::{Basis, Grid};
use cpts_diag::advice;
use cpts_diag::diagnose;
use cpts_diag::geo::{analyse, Geography};
use cpts_diag::sources::decoupage::{Cog, UnitKind};
use cpts_diag::sources::DataDir;
use cpts_diag::territory::{self, Context, TerritorySpec};
use cpts_diag::transforms::cog::CogIndex;
use cpts_diag::transforms::curated;

struct Real {
    cog: Cog,
    index: CogIndex,
    geo: Geography,
    curated: polars::prelude::DataFrame,
}

fn data_dir() -> DataDir {
    let d = DataDir::from_env();
    if d.root.is_relative() {
        DataDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(&d.root))
    } else {
        d
    }
}

fn real(test: &str) -> Option<&'static Real> {
    static REAL: OnceLock<Option<Real>> = OnceLock::new();
    let r = REAL.get_or_init(|| {
        let data = data_dir();
        if !data.exists(cpts_diag::sources::boundaries::META.file)
            || !data.exists(cpts_diag::sources::boundaries::ARRONDISSEMENTS.file)
            || !data.exists("population/decoupage-administratif-6.0.0/communes.json.gz")
        {
            return None;
        }
        let c = curated::build(&data, &mut |_| {}).expect("curated table builds from the real files");
        let geo = Geography::load(&data, &c.index).expect("boundaries load");
        Some(Real { cog: c.cog, index: c.index, geo, curated: c.communes })
    });
    if r.is_none() {
        eprintln!("SKIP {test}: real data folder {} not found (set CPTS_DATA_DIR)", data_dir().root.display());
    }
    r.as_ref()
}

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn example_spec() -> TerritorySpec {
    TerritorySpec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml")).unwrap()
}

/// The COG 2026 communes the boundaries have no polygon for (recent boundary changes, SOURCES.md §8a).
const WITHOUT_POLYGON: [&str; 8] = ["12218", "14581", "15031", "15035", "15047", "15171", "49126", "69114"];

#[test]
fn every_cog_2026_unit_has_a_polygon_but_eight_communes() {
    let Some(r) = real("every_cog_2026_unit_has_a_polygon_but_eight_communes") else { return };
    assert!(r.geo.unknown_codes.is_empty(), "{:?}", r.geo.unknown_codes);
    let without: Vec<String> = r
        .cog
        .units
        .iter()
        .filter(|u| (u.zone == "metro" || u.zone == "drom") && !r.geo.has(&u.code))
        .map(|u| u.code.to_string())
        .collect();
    assert_eq!(without, codes(&WITHOUT_POLYGON));
    let arrondissements = r.cog.units.iter().filter(|u| u.kind == UnitKind::Arrondissement).count();
    assert_eq!(arrondissements, 45);
    assert!(r.cog.units.iter().filter(|u| u.kind == UnitKind::Arrondissement).all(|u| r.geo.has(&u.code)));
    // `analyse` lists those without polygon, with the reason.
    let mut asked = without.clone();
    asked.push("28088".into());
    let t = analyse(&r.geo, &asked, &r.index);
    let missing: Vec<String> = t.missing.iter().map(|m| m.code.clone()).collect();
    assert_eq!(missing, without);
    assert!(t.missing.iter().all(|m| m.reason.contains("no polygon")), "{:?}", t.missing);
    assert_eq!(t.mapped, codes(&["28088"]));
    // The one invalid polygon of the file is repaired and said so, naming the commune.
    let w: Vec<String> = r.geo.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(r.geo.warnings.len(), 1, "{w:?}");
    assert!(w[0].contains("67226") && w[0].contains("Ittenheim") && w[0].contains("repaired"), "{w:?}");
    let ittenheim = r.geo.shape("67226").unwrap();
    assert!(geo::Validation::is_valid(&ittenheim));
    // The repair keeps its borders: its neighbours are the same as on the published rings.
    let n = analyse(&r.geo, &codes(&["67226"]), &r.index).neighbours;
    assert!(n.len() >= 5, "{n:?}");
}

#[test]
fn example_territory_is_one_piece_with_neighbours() {
    let Some(r) = real("example_territory_is_one_piece_with_neighbours") else { return };
    let t = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    let g = analyse(&r.geo, &t.codes, &r.index);
    assert_eq!(g.pieces.len(), 1, "{:?}", g.pieces);
    assert!(g.missing.is_empty());
    assert!(g.enclaves.is_empty(), "{:?}", g.enclaves);
    assert_eq!(g.empty_holes, 0);
    // INSEE's area of the 23 communes is the reference; the simplified boundaries stay close.
    let rows = diagnose::select_units(&r.curated, &t.codes).unwrap();
    let insee: f64 = rows.column("area_km2").unwrap().f64().unwrap().iter().flatten().sum();
    assert!((g.area_km2 - insee).abs() / insee < 0.02, "boundaries {} km² vs INSEE {insee} km²", g.area_km2);
    // Every neighbour borders a member, and is not one.
    assert!(g.neighbours.len() > 10);
    for n in &g.neighbours {
        assert!(!t.codes.contains(&n.code));
        assert!(n.border_km > 0.0 && n.borders.iter().all(|b| t.codes.contains(b)));
    }
}

#[test]
fn two_distant_communes_are_two_pieces() {
    let Some(r) = real("two_distant_communes_are_two_pieces") else { return };
    // Châteaudun and Chartres, 45 km apart.
    let g = analyse(&r.geo, &codes(&["28088", "28085"]), &r.index);
    assert_eq!(g.pieces, vec![codes(&["28085"]), codes(&["28088"])]);
    assert_eq!(g.outline.0.len(), 2);
}

#[test]
fn ring_of_neighbours_reports_the_commune_left_out_as_an_enclave() {
    let Some(r) = real("ring_of_neighbours_reports_the_commune_left_out_as_an_enclave") else { return };
    // The first communes of Eure-et-Loir (inland, so every commune is surrounded by neighbours)
    // whose neighbours are all in the département: the ring of neighbours must enclose it.
    let mut tried = 0;
    for u in r.cog.units.iter().filter(|u| u.kind == UnitKind::Commune && u.departement == "28") {
        let alone = analyse(&r.geo, &[u.code.to_string()], &r.index);
        let ring: Vec<String> = alone.neighbours.iter().map(|n| n.code.clone()).collect();
        if ring.len() < 3 || !ring.iter().all(|c| c.starts_with("28")) {
            continue;
        }
        let g = analyse(&r.geo, &ring, &r.index);
        assert!(g.is_one_piece(), "the ring around {} is {} pieces", u.code, g.pieces.len());
        assert!(
            g.enclaves.iter().any(|e| e.iter().any(|c| c.as_str() == u.code.as_str())),
            "{} {} not reported as an enclave of its {} neighbours: {:?}",
            u.code,
            u.name,
            ring.len(),
            g.enclaves
        );
        tried += 1;
        if tried == 5 {
            break;
        }
    }
    assert_eq!(tried, 5, "not enough inland communes to test");
}

/// The 2018 boundaries, read as a user pointing `--boundaries` at them would.
fn legacy(test: &str) -> Option<(&'static Real, &'static Geography)> {
    static LEGACY: OnceLock<Option<Geography>> = OnceLock::new();
    let r = real(test)?;
    let g = LEGACY.get_or_init(|| {
        let data = data_dir();
        let file = data.root.join(cpts_diag::sources::boundaries::LEGACY_2018.file);
        file.is_file().then(|| Geography::load(&data.clone().with_boundaries(vec![file]), &r.index).unwrap())
    });
    if g.is_none() {
        eprintln!("SKIP {test}: no 2018 boundaries in the data folder");
    }
    Some((r, g.as_ref()?))
}

#[test]
fn older_vintage_2018_is_dissolved_into_cog_2026() {
    let Some((r, g)) = legacy("older_vintage_2018_is_dissolved_into_cog_2026") else { return };
    assert!(g.unknown_codes.is_empty(), "{:?}", g.unknown_codes);
    // 493 former codes fold into current communes; Eure-et-Loir's 373 features make its 363 communes.
    let folded: usize = g.units().iter().map(|u| u.source_codes.iter().filter(|c| **c != u.code).count()).sum();
    assert_eq!(folded, 493);
    assert!(!g.has("75113"), "no arrondissement in 2018");
    let t = analyse(g, &codes(&["75113"]), &r.index);
    assert!(t.missing[0].reason.contains("only its whole commune (75056)"), "{:?}", t.missing);
}

#[test]
fn commune_14174_whose_ring_loops_around_14512_is_handled() {
    let Some((_, g)) = legacy("commune_14174_whose_ring_loops_around_14512_is_handled") else { return };
    let r = real("commune_14174_whose_ring_loops_around_14512_is_handled").unwrap();
    use geo::{Area, Contains, InteriorPoint};
    let shape = g.shape("14174").unwrap();
    let pontecoulant = g.shape("14512").unwrap();
    let inside = pontecoulant.0[0].interior_point().unwrap();
    assert!(!shape.contains(&inside), "the repaired 14174 must not cover Pontécoulant");
    let t = analyse(g, &codes(&["14174"]), &r.index);
    assert_eq!(t.enclaves, vec![codes(&["14512"])], "Pontécoulant lies in a hole of Condé-en-Normandie");
    assert!(t.neighbours.iter().any(|n| n.code == "14512"));
    assert!(shape.0.iter().any(|p| !p.interiors().is_empty()), "the loop became a hole");
    assert!(g.warnings.iter().any(|w| w.code == "14174"), "the pinched ring is reported");
    assert!(shape.unsigned_area() > 0.0);
    // With 14512 in the territory too, one piece and no enclave.
    let both = analyse(g, &codes(&["14174", "14512"]), &r.index);
    assert!(both.is_one_piece() && both.enclaves.is_empty());
}

#[test]
fn example_advice_names_single_neighbours_that_close_the_426_gap() {
    let Some(r) = real("example_advice_names_single_neighbours_that_close_the_426_gap") else { return };
    // The 426 gap is a reading of the population municipale: `--population municipale`.
    let grid = Grid::embedded().with_basis(Some(Basis::Municipale));
    let t = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    let d = diagnose::diagnose(&r.curated, t.clone(), &grid).unwrap();
    let s = advice::surroundings(&r.geo, &r.index, &d, &r.curated, &grid).unwrap();
    let a = &s.advice;
    assert_eq!((a.basis, a.population, a.placement.taille), (Basis::Municipale, 39_574, 1));
    // The other reading is given beside it: taille 2 on the population totale (DGCL, 2022).
    assert_eq!((a.other_population, a.other_placement.as_ref().map(|p| p.taille)), (Some(40_648), Some(2)));
    let nb = a.next_band.as_ref().unwrap();
    assert_eq!(nb.shortfall, 40_000 - a.population);
    assert_eq!(nb.taille, 2);
    assert_eq!(nb.fewest_communes, Some(1));
    assert_eq!(nb.max_annual_funding_2019_eur, grid.bands[1].max_annual_funding_2019_eur);
    // Exactly the neighbours with enough inhabitants, smallest first.
    let enough: Vec<&str> =
        a.neighbours.iter().filter(|n| n.population.unwrap_or(0) >= nb.shortfall).map(|n| n.code.as_str()).collect();
    assert_eq!(nb.options_count, enough.len());
    let pops: Vec<i64> = nb.options.iter().map(|o| o.added_population).collect();
    assert!(pops.windows(2).all(|w| w[0] <= w[1]));
    assert!(pops.iter().all(|p| *p >= nb.shortfall));
    assert!(a.keep_band.is_none());

    // On the grid's own basis (totale), the territory is in taille 2 with 648 inhabitants to
    // spare: the advice turns to the communes it cannot lose, counted in population totale.
    let grid = Grid::embedded();
    let d = diagnose::diagnose(&r.curated, t, &grid).unwrap();
    let a = advice::surroundings(&r.geo, &r.index, &d, &r.curated, &grid).unwrap().advice;
    assert_eq!((a.basis, a.population, a.placement.taille), (Basis::Totale, 40_648, 2));
    let k = a.keep_band.as_ref().unwrap();
    assert_eq!((k.taille, k.margin), (2, 648));
    assert!(k.essential.iter().all(|e| e.population > 648));
    assert_eq!(a.other_placement.as_ref().map(|p| (p.taille, p.inhabitants_to_next_band)), Some((1, Some(426))));
    let lines = cpts_diag::sinks::report::headline(&a).join(" ");
    assert!(lines.contains("en population municipale (39") && lines.contains("taille 1"), "{lines}");
}

#[test]
fn territory_by_polygon_bv_radius_and_departement() {
    let Some(r) = real("territory_by_polygon_bv_radius_and_departement") else { return };
    let ctx = Context { curated: Some(&r.curated), geography: Some(&r.geo) };
    // Polygon: the example territory's own outline gives back its communes.
    let example = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    let outline = analyse(&r.geo, &example.codes, &r.index).outline;
    let dir = std::env::temp_dir().join(format!("cpts-diag-geo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gj = geojson::Feature {
        bbox: None,
        geometry: Some(geojson::Geometry::new((&outline).into())),
        id: None,
        properties: None,
        foreign_members: None,
    };
    std::fs::write(dir.join("zone.geojson"), gj.to_string()).unwrap();
    let spec = TerritorySpec {
        name: "zone".into(),
        polygon: Some("zone.geojson".into()),
        base_dir: Some(dir.clone()),
        ..Default::default()
    };
    let t = territory::resolve_in(&spec, &r.cog, &r.index, ctx).unwrap();
    assert_eq!(t.codes, example.codes);
    // Without boundaries, a polygon is an error that says what is missing.
    let e = territory::resolve(&spec, &r.cog, &r.index).unwrap_err().to_string();
    assert!(e.contains("polygon") && e.contains("boundaries"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);

    // Bassin de vie of Chartres: every commune has bv2022 = 28085, and the pole is in it.
    let spec = TerritorySpec {
        name: "bv".into(),
        bv: vec!["28085".into()],
        exclude: vec!["28085".into()],
        ..Default::default()
    };
    let t = territory::resolve_in(&spec, &r.cog, &r.index, ctx).unwrap();
    let rows = diagnose::select_units(&r.curated, &t.codes).unwrap();
    assert!(rows.column("bv2022").unwrap().str().unwrap().iter().all(|b| b == Some("28085")));
    assert!(!t.codes.contains(&"28085".to_string()), "exclude applies after bv");
    assert!(t.codes.len() > 30, "{}", t.codes.len());

    // Radius: Châteaudun's centre within 10 km; a wider radius contains the narrower one.
    let radius = |km: f64| TerritorySpec {
        name: "r".into(),
        radius: Some(territory::Radius { commune: "28088".into(), km }),
        ..Default::default()
    };
    let small = territory::resolve_in(&radius(10.0), &r.cog, &r.index, ctx).unwrap().codes;
    let large = territory::resolve_in(&radius(20.0), &r.cog, &r.index, ctx).unwrap().codes;
    assert!(
        small.contains(&"28088".to_string()) && small.iter().all(|c| large.contains(c)) && large.len() > small.len()
    );

    // Département, combined with a list.
    let spec = TerritorySpec {
        name: "d".into(),
        departements: vec!["28".into()],
        communes: vec!["45234".into()],
        ..Default::default()
    };
    let t = territory::resolve_in(&spec, &r.cog, &r.index, ctx).unwrap();
    let n28 = r.cog.units.iter().filter(|u| u.kind == UnitKind::Commune && u.departement == "28").count();
    assert_eq!(t.codes.len(), n28 + 1);
}

#[test]
fn diagnose_outputs_report_maps_and_geojson() {
    let Some(r) = real("diagnose_outputs_report_maps_and_geojson") else { return };
    let grid = Grid::embedded();
    let t = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    let d = diagnose::diagnose(&r.curated, t, &grid).unwrap();
    let s = advice::surroundings(&r.geo, &r.index, &d, &r.curated, &grid).unwrap();
    let dir = std::env::temp_dir().join(format!("cpts-diag-report-{}", std::process::id()));
    let written = cpts_diag::sinks::territory::write_all_with(&dir, &d, &grid, Some(&s)).unwrap();
    for f in [
        "report.html",
        "report.md",
        "territory.geojson",
        "advice.json",
        "map_apl.svg",
        "map_apl.png",
        "chart_apl_distribution.svg",
    ] {
        assert!(written.contains(&dir.join(f)), "{f} not written");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Il manque") && html.contains("seuil 2,5") && html.contains("Licence"));
    assert!(!html.contains("src=\"http") && !html.contains("<script") && !html.contains("<link"), "self-contained");
    assert!(html.matches("<svg").count() >= 5, "3 maps and 2 charts inline");
    let gj: geojson::FeatureCollection =
        std::fs::read_to_string(dir.join("territory.geojson")).unwrap().parse().unwrap();
    let role = |f: &geojson::Feature| f.property("role").and_then(|v| v.as_str()).unwrap_or("").to_string();
    assert_eq!(role(&gj.features[0]), "outline");
    let members = gj.features.iter().filter(|f| role(f) == "territory").count();
    let neighbours = gj.features.iter().filter(|f| role(f) == "neighbour").count();
    assert_eq!((members, neighbours), (d.territory.codes.len(), s.geometry.neighbours.len()));
    let chateaudun = gj.features.iter().find(|f| f.property("code").and_then(|v| v.as_str()) == Some("28088")).unwrap();
    assert!(chateaudun.property("apl_mg_2023").unwrap().as_f64().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pas_de_calais_surrounds_the_nord_enclave() {
    let Some(r) = real("pas_de_calais_surrounds_the_nord_enclave") else { return };
    // Boursies, Doignies and Mœuvres (Nord) form a well-known enclave inside the Pas-de-Calais.
    let dep62: Vec<String> = r
        .cog
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Commune && u.departement == "62")
        .map(|u| u.code.to_string())
        .collect();
    let g = analyse(&r.geo, &dep62, &r.index);
    // A defect of the current boundaries: the polygon of 62447 Hesdin-la-Forêt (commune nouvelle
    // of 2025: Hesdin, Huby-Saint-Leu, Marconne, Sainte-Austreberthe) is old Hesdin's alone, 7
    // vertices touching Marconnelle at one point, with a gap where the other three were; it
    // shares no border, so it is a piece of its own. Its boundary area is flagged against INSEE's.
    assert_eq!(g.pieces.len(), 2, "{:?}", &g.pieces[1..]);
    assert_eq!(g.pieces[1], codes(&["62447"]));
    assert_eq!(g.enclaves, vec![codes(&["59097", "59176", "59405"])]);
}

#[test]
fn paris_13e_and_14e_are_mapped_with_neighbours_on_both_sides_of_the_peripherique() {
    let Some(r) = real("paris_13e_and_14e_are_mapped_with_neighbours_on_both_sides_of_the_peripherique") else {
        return;
    };
    let g = analyse(&r.geo, &codes(&["75113", "75114"]), &r.index);
    assert_eq!(g.mapped, codes(&["75113", "75114"]));
    assert!(g.missing.is_empty() && g.is_one_piece());
    let n: Vec<&str> = g.neighbours.iter().map(|n| n.code.as_str()).collect();
    // Arrondissements of Paris and communes of the Petite Couronne, never Paris as a whole.
    for c in ["75105", "75106", "75112", "75115", "92046", "92049", "94037", "94041", "94043"] {
        assert!(n.contains(&c), "{c} missing from {n:?}");
    }
    assert!(!n.contains(&"75056"), "{n:?}");
    // INSEE: 7.15 + 5.64 km².
    assert!((g.area_km2 - 12.79).abs() < 0.5, "{}", g.area_km2);
    // The maps are written.
    let grid = Grid::embedded();
    let spec = TerritorySpec::from_codes(Some("Paris 13-14"), "75113,75114");
    let t = territory::resolve(&spec, &r.cog, &r.index).unwrap();
    let d = diagnose::diagnose(&r.curated, t, &grid).unwrap();
    let s = advice::surroundings(&r.geo, &r.index, &d, &r.curated, &grid).unwrap();
    let dir = std::env::temp_dir().join(format!("cpts-diag-paris-{}", std::process::id()));
    let written = cpts_diag::sinks::territory::write_all_with(&dir, &d, &grid, Some(&s)).unwrap();
    for f in ["map_apl.svg", "map_gp_density.svg", "map_population.svg"] {
        assert!(written.contains(&dir.join(f)), "{f} not written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn marseille_cpts_of_arrondissements_gets_neighbours_enclaves_and_advice() {
    let Some(r) = real("marseille_cpts_of_arrondissements_gets_neighbours_enclaves_and_advice") else { return };
    let members = codes(&["13202", "13203", "13215", "13216"]);
    let g = analyse(&r.geo, &members, &r.index);
    assert_eq!(g.mapped, members);
    assert!(g.is_one_piece(), "{:?}", g.pieces);
    assert!(g.enclaves.is_empty(), "{:?}", g.enclaves);
    let n: Vec<&str> = g.neighbours.iter().map(|n| n.code.as_str()).collect();
    assert!(!n.contains(&"13055"), "never the whole city: {n:?}");
    assert!(n.iter().any(|c| c.starts_with("132")), "other arrondissements: {n:?}");
    // Communes north of the 15e and 16e: Les Pennes-Mirabeau, Septèmes-les-Vallons, Le Rove.
    for c in ["13071", "13106", "13088"] {
        assert!(n.contains(&c), "{c} missing from {n:?}");
    }
    let grid = Grid::embedded();
    let spec = TerritorySpec::from_codes(Some("Marseille nord"), &members.join(","));
    let t = territory::resolve(&spec, &r.cog, &r.index).unwrap();
    let d = diagnose::diagnose(&r.curated, t, &grid).unwrap();
    let s = advice::surroundings(&r.geo, &r.index, &d, &r.curated, &grid).unwrap();
    assert_eq!(s.advice.neighbours.len(), g.neighbours.len(), "facts for every neighbour");
    assert!(s.advice.next_band.is_some() || s.advice.keep_band.is_some());
    // The whole city beside Allauch is one neighbour, not its arrondissements.
    let allauch = analyse(&r.geo, &codes(&["13002"]), &r.index);
    let an: Vec<&str> = allauch.neighbours.iter().map(|n| n.code.as_str()).collect();
    assert!(an.contains(&"13055") && !an.iter().any(|c| c.starts_with("132")), "{an:?}");
}

#[test]
fn geometry_table_gives_the_same_geography_as_the_geojson() {
    let Some(r) = real("geometry_table_gives_the_same_geography_as_the_geojson") else { return };
    let prov = cpts_diag::sinks::Provenance::new(cpts_diag::sources::all());
    let bytes = cpts_diag::pipeline::geometry_bytes(&r.geo, &prov, cpts_diag::pipeline::Target::Snapshot).unwrap();
    eprintln!("geometry.parquet: {} bytes", bytes.len());
    let back = Geography::from_geoparquet_bytes(&bytes, &r.index).unwrap();
    assert_eq!(back.codes(), r.geo.codes());
    assert_eq!(back.codes().len(), 34_867 + 45);
    assert!(back.unit("67226").unwrap().note.as_deref().unwrap().contains("repaired"));
    let t = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    for members in [t.codes.clone(), codes(&["67226"]), codes(&["75113", "75114"]), codes(&["13202", "13203"])] {
        let a = analyse(&r.geo, &members, &r.index);
        let b = analyse(&back, &members, &r.index);
        // Same neighbours; their order (by border length) may differ for 67226, whose stored
        // shape is the repaired one.
        let ids = |g: &cpts_diag::geo::TerritoryGeometry| {
            g.neighbours.iter().map(|n| n.code.clone()).collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(ids(&a), ids(&b), "{members:?}");
        let km = |g: &cpts_diag::geo::TerritoryGeometry| g.neighbours.iter().map(|n| n.border_km).sum::<f64>();
        assert!((km(&a) - km(&b)).abs() < 0.05 * km(&a), "{members:?}: {} vs {} km", km(&a), km(&b));
        assert_eq!(a.enclaves, b.enclaves);
        assert!((a.area_km2 - b.area_km2).abs() < 1e-6, "{members:?}");
    }
}

#[test]
fn example_neighbours_on_current_and_2018_boundaries() {
    let Some((r, old)) = legacy("example_neighbours_on_current_and_2018_boundaries") else { return };
    let t = territory::resolve(&example_spec(), &r.cog, &r.index).unwrap();
    let now = analyse(&r.geo, &t.codes, &r.index);
    let then = analyse(old, &t.codes, &r.index);
    let set = |g: &cpts_diag::geo::TerritoryGeometry| {
        g.neighbours.iter().map(|n| n.code.clone()).collect::<std::collections::BTreeSet<_>>()
    };
    let (a, b) = (set(&now), set(&then));
    eprintln!(
        "neighbours: {} now, {} in 2018; only now: {:?}; only 2018: {:?}; area {:.1} vs {:.1} km²",
        a.len(),
        b.len(),
        a.difference(&b).collect::<Vec<_>>(),
        b.difference(&a).collect::<Vec<_>>(),
        now.area_km2,
        then.area_km2
    );
    for n in now.neighbours.iter().filter(|n| !b.contains(&n.code)) {
        eprintln!("  now only: {} {:.3} km along {:?}", n.code, n.border_km, n.borders);
    }
    for n in then.neighbours.iter().filter(|n| !a.contains(&n.code)) {
        eprintln!("  2018 only: {} {:.3} km along {:?}", n.code, n.border_km, n.borders);
    }
    assert!(now.is_one_piece() && then.is_one_piece());
}

#[test]
fn the_scan_reads_every_published_boundaries_file_as_serde_does() {
    let data = data_dir();
    let files = [
        cpts_diag::sources::boundaries::META.file,
        cpts_diag::sources::boundaries::ARRONDISSEMENTS.file,
        cpts_diag::sources::boundaries::LEGACY_2018.file,
    ];
    if !files.iter().all(|f| data.exists(f)) {
        eprintln!("SKIP the_scan_reads…: real data folder {} not found (set CPTS_DATA_DIR)", data.root.display());
        return;
    }
    for f in files {
        let path = data.root.join(f);
        // `Some`: the fast reader took the file instead of leaving it to serde.
        assert_eq!(cpts_diag::sources::boundaries::scan_matches_serde(&path).unwrap(), Some(true), "{f}");
    }
}
