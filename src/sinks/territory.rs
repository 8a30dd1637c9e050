//! Outputs of `diagnose` for one territory: `indicators.parquet`, `communes.parquet`,
//! `summary.json`, the comparison chart (`chart_gp_apl.svg`, `.png`), the APL distribution chart,
//! and, with the commune boundaries, the maps (`map_*.svg`, `.png`), `advice.json`,
//! `territory.geojson`; then `report.html` and `report.md`.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::{json, Map, Value as Json};

use super::chart::{self, Bar, Panel};
use super::map::{self, MapSpec, MapUnit, Theme};
use super::report::{self, ReportInput, UnitFacts};
use super::{geojson, parquet, write_json, Provenance};
use crate::aci::Grid;
use crate::advice::Surroundings;
use crate::diagnose::{Diagnosis, ScopeResult};
use crate::error::Result;
use crate::geo::TerritoryGeometry;
use crate::indicators::{self, INDICATORS};
use crate::schema;
use crate::sources::{self, SourceMeta};

fn sources_for(ids: &[&str]) -> Vec<&'static SourceMeta> {
    sources::all().into_iter().filter(|s| ids.contains(&s.id)).collect()
}

/// JSON number, as an integer when the value is a whole count.
fn num(v: Option<f64>) -> Json {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
        Some(x) => json!(x),
        None => Json::Null,
    }
}

fn scope_object(s: &ScopeResult) -> Json {
    let mut m = Map::new();
    m.insert("kind".into(), json!(s.scope.kind));
    m.insert("code".into(), json!(s.scope.code));
    m.insert("name".into(), json!(s.scope.name));
    let mut notes = Map::new();
    for v in &s.values {
        m.insert(v.indicator.into(), num(v.value));
        if let Some(n) = &v.note {
            notes.insert(v.indicator.into(), json!(n));
        }
    }
    m.insert("notes".into(), Json::Object(notes));
    Json::Object(m)
}

pub fn indicators_frame(d: &Diagnosis) -> Result<DataFrame> {
    let mut cols: [Vec<Option<String>>; 9] = Default::default();
    let mut values: Vec<Option<f64>> = Vec::new();
    for s in &d.scopes {
        for (ind, v) in INDICATORS.iter().zip(&s.values) {
            let srcs = sources_for(ind.sources);
            let row = [
                Some(s.scope.kind.clone()),
                Some(s.scope.code.clone()),
                Some(s.scope.name.clone()),
                Some(ind.id.to_string()),
                Some(ind.label.to_string()),
                Some(ind.unit.to_string()),
                v.note.clone(),
                Some(srcs.iter().map(|s| s.id).collect::<Vec<_>>().join(",")),
                Some(srcs.iter().map(|s| format!("{}: {}", s.id, s.vintage)).collect::<Vec<_>>().join("; ")),
            ];
            for (c, x) in cols.iter_mut().zip(row) {
                c.push(x);
            }
            values.push(v.value);
        }
    }
    let [kind, code, name, ind, label, unit, note, src, vintage] = cols;
    Ok(df!(
        "scope_kind" => kind, "scope_code" => code, "scope_name" => name,
        "indicator" => ind, "label" => label, "value" => values, "unit" => unit,
        "note" => note, "sources" => src, "vintage" => vintage,
    )?)
}

pub fn summary(d: &Diagnosis, grid: &Grid) -> Json {
    let t = d.territory();
    let mut m = Map::new();
    m.insert("name".into(), json!(d.territory.name));
    if let Some(desc) = &d.territory.description {
        m.insert("description".into(), json!(desc));
    }
    let mut notes = Map::new();
    for v in &t.values {
        m.insert(v.indicator.into(), num(v.value));
        if let Some(n) = &v.note {
            notes.insert(v.indicator.into(), json!(n));
        }
    }
    let aci = d.aci.as_ref();
    m.insert("population_totale_vintage".into(), json!(d.population_totale_vintage));
    m.insert("aci_population_basis".into(), json!(d.aci_basis.as_str()));
    m.insert("aci_band".into(), json!(aci.map(|a| a.taille)));
    m.insert("aci_band_municipale".into(), json!(d.aci_municipale.as_ref().map(|a| a.taille)));
    m.insert("aci_band_totale".into(), json!(d.aci_totale.as_ref().map(|a| a.taille)));
    m.insert("aci_max_annual_funding_eur".into(), json!(aci.map(|a| a.max_annual_funding_2019_eur)));
    m.insert("aci_inhabitants_to_next_band".into(), json!(aci.and_then(|a| a.inhabitants_to_next_band)));
    m.insert(
        "aci".into(),
        json!({
            "band_label": aci.map(|a| a.label.clone()),
            "fonctionnement_avenant2_eur": aci.map(|a| a.fonctionnement_avenant2_eur),
            "next_band_max_annual_funding_eur": aci.and_then(|a| a.next_band_max_annual_funding_2019_eur),
            "max_funding_basis": grid.max_funding_label,
            "population_basis_rule": grid.population_basis_rule,
            "population_basis_source": grid.population_basis_source,
            "population_basis_source_url": grid.population_basis_source_url,
            "municipale": d.aci_municipale,
            "totale": d.aci_totale,
            "boundary_reading": grid.boundary_reading,
            "bands_source_url": grid.bands_source_url,
            "max_funding_source_url": grid.max_funding_source_url,
        }),
    );
    if aci.is_none() {
        notes.insert(
            "aci_band".into(),
            json!(format!("unavailable: the territory's {} is unknown", d.aci_basis.label_fr())),
        );
    }
    if !d.population_totale_other_millesimes.is_empty() {
        notes.insert(
            "population_totale_vintage".into(),
            json!(format!(
                "the population totale is of millésime {}, the population municipale of millésime {}: the two bands compare figures of different years",
                d.population_totale_other_millesimes.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "),
                crate::sources::decoupage::MUNICIPALE_MILLESIME
            )),
        );
    }
    m.insert("notes".into(), Json::Object(notes));
    if let Some(w) = &d.what_if {
        // Per scenario: name, apl_mg, population_apl_below_2_5, communes_crossing (docs/access.md).
        m.insert("scenarios".into(), json!(w.scenarios));
        m.insert("gp_placement".into(), json!(w.placement));
        m.insert("access_model".into(), json!({"params": w.params, "not_modelled": w.not_modelled}));
    }
    m.insert("communes".into(), json!(d.territory.codes));
    m.insert("warnings".into(), json!(d.territory.warnings));
    let pick = |kind: &str| d.scopes.iter().filter(|s| s.scope.kind == kind).map(scope_object).collect::<Vec<_>>();
    m.insert(
        "comparisons".into(),
        json!({
            "departements": pick("departement"),
            "regions": pick("region"),
            "france": pick("france").into_iter().next(),
        }),
    );
    m.insert(
        "units".into(),
        json!(INDICATORS.iter().map(|i| (i.id.to_string(), json!(i.unit))).collect::<Map<_, _>>()),
    );
    m.insert("sources".into(), json!(sources::all()));
    m.insert("tool".into(), json!({"name": "cpts-diag", "version": env!("CARGO_PKG_VERSION")}));
    Json::Object(m)
}

pub fn chart_panels(d: &Diagnosis) -> Vec<Panel> {
    let short = |s: &ScopeResult| match s.scope.kind.as_str() {
        "territory" => "Territoire".to_string(),
        "departement" => format!("Dép. {}", s.scope.code),
        "region" => s.scope.name.chars().take(24).collect(),
        _ => "France".to_string(),
    };
    let bars = |id: &str| {
        d.scopes
            .iter()
            .map(|s| Bar { label: short(s), value: s.value(id), highlight: s.scope.kind == "territory" })
            .collect::<Vec<_>>()
    };
    vec![
        Panel {
            title: format!("Médecins généralistes pour 100 000 hab. ({})", indicators::gp_source_short(&d.units)),
            bars: bars("gp_per_100k"),
            decimals: 1,
            reference: None,
        },
        Panel {
            title: "APL aux médecins généralistes 2023 (DREES)".into(),
            bars: bars("apl_mg"),
            decimals: 2,
            reference: Some((indicators::APL_THRESHOLD, "seuil 2,5".into())),
        },
    ]
}

/// One panel per profession with a density: territory vs département(s), région(s), France, per
/// 10 000 inhabitants, from the source the report's table uses (named in the panel title).
pub fn profession_panels(d: &Diagnosis) -> Vec<Panel> {
    let short = |s: &ScopeResult| match s.scope.kind.as_str() {
        "territory" => "Terr.".to_string(),
        "departement" => s.scope.code.clone(),
        "region" => format!("R{}", s.scope.code),
        _ => "FR".to_string(),
    };
    report::profession_rows(d)
        .into_iter()
        .filter(|r| r.density.iter().any(Option::is_some))
        .map(|r| Panel {
            title: if r.source == "RPPS" { r.short_label.clone() } else { format!("{} *", r.short_label) },
            bars: d
                .scopes
                .iter()
                .zip(&r.density)
                .map(|(s, v)| Bar { label: short(s), value: *v, highlight: s.scope.kind == "territory" })
                .collect(),
            decimals: 1,
            reference: None,
        })
        .collect()
}

/// Write the tables and the comparison chart of a diagnosis into `dir`; returns the paths
/// written. `diagnose` writes more (maps, report, GeoJSON) through [`write_all_with`].
pub fn write_all(dir: &Path, d: &Diagnosis, grid: &Grid) -> Result<Vec<PathBuf>> {
    write_base(dir, d, grid)
}

/// Map of a territory and the communes around it, from the per-unit facts.
pub fn map_spec<'a>(
    name: &str,
    g: &'a TerritoryGeometry,
    members: &[UnitFacts],
    others: &[UnitFacts],
    labels: usize,
) -> MapSpec<'a> {
    let mut units = Vec::new();
    for (list, inside) in [(members, true), (others, false)] {
        for u in list {
            let Some(shape) = g.shapes.get(&u.code) else {
                continue;
            };
            units.push(MapUnit {
                code: u.code.clone(),
                name: u.name.clone(),
                shape,
                in_territory: inside,
                population: u.population.map(|p| p.round() as i64),
                gp_per_10k: u.gp_per_10k,
                apl: u.apl,
                change: None,
            });
        }
    }
    MapSpec {
        title: name.to_string(),
        units,
        outline: Some(&g.outline),
        labels,
        footer: MAP_FOOTER.to_string(),
        others_label: "communes voisines (teinte atténuée)".into(),
    }
}

pub const MAP_FOOTER: &str =
    "Contours IGN Admin Express 2018 simplifiés (COG 2026) · APL DREES 2023 · BPE 2020 · populations INSEE 2023 · cpts-diag";

/// Every output: those of [`write_all`], the APL distribution chart and the report, plus the
/// maps, advice and GeoJSON when `around` (the boundaries) is given.
pub fn write_all_with(dir: &Path, d: &Diagnosis, grid: &Grid, around: Option<&Surroundings>) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let members = report::unit_facts(&d.units)?;
    let others = match around {
        Some(s) => report::unit_facts(&s.others)?,
        None => Vec::new(),
    };
    // A territory none of whose units has a polygon has no map.
    let themes: &[Theme] = match around {
        Some(s) if !s.geometry.mapped.is_empty() => &Theme::ALL,
        _ => &[],
    };
    let spec = around.map(|s| map_spec(&d.territory.name, &s.geometry, &members, &others, 6));
    let drawing = spec
        .as_ref()
        .map(map::MapDrawing::new)
        .transpose()
        .map_err(|e| crate::error::Error::Config(format!("{}: cannot draw map: {e}", d.territory.name)))?;
    // The tables and the bitmaps (rasterising and PNG encoding dominate) do not feed the report:
    // written on two more threads while this one draws the SVGs and writes the report.
    let (base, pngs, rest) = std::thread::scope(|sc| {
        let base = sc.spawn(|| write_base(dir, d, grid));
        let pngs = sc.spawn(|| -> Result<Vec<PathBuf>> {
            let mut v = Vec::new();
            for (&theme, drawing) in themes.iter().filter_map(|t| Some((t, drawing.as_ref()?))) {
                let p = dir.join(format!("{}.png", theme.stem()));
                drawing.write_png(&p, theme)?;
                v.push(p);
            }
            Ok(v)
        });
        let rest = write_svgs_and_report(dir, d, grid, around, &members, &others, drawing.as_ref(), themes);
        (base.join().expect("no panic"), pngs.join().expect("no panic"), rest)
    });
    let mut written = base?;
    let pngs = pngs?;
    let (svgs, more) = rest?;
    for (svg, png) in svgs.into_iter().zip(pngs) {
        written.push(svg);
        written.push(png);
    }
    written.extend(more);
    prune_stale(dir, &written)?;
    Ok(written)
}

/// What [`write_all_with`] writes on its own thread: the map SVGs (returned apart, to be listed
/// with their PNGs), then the scenario maps, advice, GeoJSON, charts and report.
#[allow(clippy::too_many_arguments)]
fn write_svgs_and_report(
    dir: &Path,
    d: &Diagnosis,
    grid: &Grid,
    around: Option<&Surroundings>,
    members: &[UnitFacts],
    others: &[UnitFacts],
    drawing: Option<&map::MapDrawing>,
    themes: &[Theme],
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut svgs = Vec::new();
    let mut written = Vec::new();
    let mut maps = Vec::new();
    if let (Some(s), Some(drawing)) = (around, drawing) {
        for &theme in themes {
            let file = format!("{}.svg", theme.stem());
            let p = dir.join(&file);
            let svg = drawing.write_svg(&p, theme)?;
            svgs.push(p);
            maps.push((theme.title().to_string(), svg, file));
        }
        if let Some(w) = &d.what_if {
            for (k, o) in w.scenarios.iter().enumerate() {
                let title = format!("Scénario « {} » : variation de l'APL", o.name);
                let head = format!("{}, scénario « {} »", d.territory.name, o.name);
                let mut spec = map_spec(&head, &s.geometry, members, others, 6);
                let values: std::collections::HashMap<String, f64> =
                    o.rows.iter().map(|r| (r.code.clone(), r.delta)).collect();
                let stem = format!("map_scenario_{}", k + 1);
                let (svg, w) =
                    super::access::write_value_map(dir, &stem, &mut spec, &values, Some(0.0), Theme::Change)?;
                written.extend(w);
                maps.push((title, svg, format!("{stem}.svg")));
            }
        }
        let p = dir.join("advice.json");
        write_json(&p, &json!({ "geometry": s.geometry, "advice": s.advice }))?;
        written.push(p);
        let p = dir.join("territory.geojson");
        geojson::write(&p, d, s, members, others)?;
        written.push(p);
    }
    let mut charts = Vec::new();
    let title = format!("{} : offre de médecine générale comparée", d.territory.name);
    let svg =
        chart::render_svg(&title, &chart_panels(d)).map_err(|e| crate::error::Error::Config(format!("chart: {e}")))?;
    charts.push((title, svg, "chart_gp_apl.svg".to_string()));
    let dist: Vec<(Option<f64>, i64)> =
        members.iter().map(|u| (u.apl, u.population.unwrap_or(0.0).round() as i64)).collect();
    let panel = chart::apl_distribution_panel(&dist);
    let title = format!("{} : répartition de la population selon l'APL", d.territory.name);
    let p = dir.join("chart_apl_distribution.svg");
    let svg = chart::render_svg_with(&title, std::slice::from_ref(&panel), chart::ALERT_PALETTE)
        .map_err(|e| crate::error::Error::Config(format!("{}: {e}", p.display())))?;
    super::write_bytes(&p, svg.as_bytes())?;
    written.push(p);
    let p = dir.join("chart_apl_distribution.png");
    chart::write_png_with(&p, &title, &[panel], chart::ALERT_PALETTE)?;
    written.push(p);
    charts.push((title, svg, "chart_apl_distribution.svg".to_string()));

    let panels = profession_panels(d);
    if !panels.is_empty() {
        let rows = report::profession_rows(d);
        let (rpps, cs) = (rows.iter().any(|r| r.source == "RPPS"), rows.iter().any(|r| r.source == "CartoSanté"));
        let title = match (rpps, cs) {
            (true, true) => "Premier recours pour 10 000 hab. (RPPS ; * CartoSanté, estimation par bassin de vie)",
            (false, _) => "Premier recours pour 10 000 hab. (* CartoSanté, estimation par bassin de vie)",
            (true, false) => "Premier recours pour 10 000 habitants (RPPS)",
        }
        .to_string();
        let p = dir.join(report::PROFESSIONS_CHART);
        let svg = chart::render_svg(&title, &panels)
            .map_err(|e| crate::error::Error::Config(format!("{}: {e}", p.display())))?;
        super::write_bytes(&p, svg.as_bytes())?;
        written.push(p);
        let p = dir.join(report::PROFESSIONS_CHART.replace(".svg", ".png"));
        chart::write_png(&p, &title, &panels)?;
        written.push(p);
        charts.push((title, svg, report::PROFESSIONS_CHART.to_string()));
    }

    let input = ReportInput { d, grid, around, members, maps, charts };
    let p = dir.join("report.html");
    super::write_bytes(&p, report::html(&input).as_bytes())?;
    written.push(p);
    let p = dir.join("report.md");
    super::write_bytes(&p, report::markdown(&input).as_bytes())?;
    written.push(p);
    Ok((svgs, written))
}

pub fn scenarios_frame(w: &crate::access::WhatIf) -> Result<DataFrame> {
    let rows: Vec<(&str, &crate::access::scenario::Row)> =
        w.scenarios.iter().flat_map(|o| o.rows.iter().map(move |r| (o.name.as_str(), r))).collect();
    Ok(df!(
        "scenario" => rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "code" => rows.iter().map(|(_, r)| r.code.as_str()).collect::<Vec<_>>(),
        "apl_mg_baseline" => rows.iter().map(|(_, r)| r.baseline).collect::<Vec<_>>(),
        "apl_mg_scenario" => rows.iter().map(|(_, r)| r.scenario).collect::<Vec<_>>(),
        "delta" => rows.iter().map(|(_, r)| r.delta).collect::<Vec<_>>(),
        "population" => rows.iter().map(|(_, r)| r.population).collect::<Vec<_>>(),
        "in_territory" => rows.iter().map(|(_, r)| r.in_territory).collect::<Vec<_>>(),
    )?)
}

/// Whether a file name is one a diagnosis writes (so that a run may remove it when it did not
/// rewrite it); anything else in the folder is the user's and stays.
fn is_diagnosis_output(name: &str) -> bool {
    const FIXED: [&str; 8] = [
        "indicators.parquet",
        "scenarios.parquet",
        "communes.parquet",
        "summary.json",
        "advice.json",
        "territory.geojson",
        "report.html",
        "report.md",
    ];
    FIXED.contains(&name)
        || ((name.starts_with("map_") || name.starts_with("chart_"))
            && (name.ends_with(".svg") || name.ends_with(".png")))
}

/// A run owns its output folder: outputs of an earlier run that this one did not rewrite (the
/// maps of another territory after `--no-geo`) would pass for results of this one. Removes them
/// and the temp files of killed runs; returns what was removed.
pub fn prune_stale(dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut removed = crate::atomic::clean_temp_leftovers(dir);
    let entries = std::fs::read_dir(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_file() && is_diagnosis_output(&name) && !written.iter().any(|w| w.file_name() == p.file_name()) {
            std::fs::remove_file(&p).map_err(|e| crate::error::Error::io(&p, e))?;
            removed.push(p);
        }
    }
    Ok(removed)
}

fn write_base(dir: &Path, d: &Diagnosis, grid: &Grid) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let prov = Provenance::new(sources::all());
    let mut written = Vec::new();

    let p = dir.join("indicators.parquet");
    parquet::write(&p, &mut indicators_frame(d)?, &prov, schema::INDICATORS_LONG)?;
    written.push(p);

    let p = dir.join("communes.parquet");
    parquet::write(&p, &mut d.units.clone(), &prov, &schema::COMMUNES)?;
    written.push(p);

    let p = dir.join("summary.json");
    write_json(&p, &summary(d, grid))?;
    written.push(p);

    if let Some(w) = d.what_if.as_ref().filter(|w| !w.scenarios.is_empty()) {
        let p = dir.join("scenarios.parquet");
        parquet::write(&p, &mut scenarios_frame(w)?, &prov, schema::SCENARIOS)?;
        written.push(p);
    }

    let title = format!("{} : offre de médecine générale comparée", d.territory.name);
    let panels = chart_panels(d);
    let p = dir.join("chart_gp_apl.svg");
    chart::write_svg(&p, &title, &panels)?;
    written.push(p);
    let p = dir.join("chart_gp_apl.png");
    chart::write_png(&p, &title, &panels)?;
    written.push(p);
    Ok(written)
}
