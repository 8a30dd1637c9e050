//! Outputs of `diagnose` for one territory: `indicators.parquet`, `communes.parquet`,
//! `summary.json`, and the comparison chart (`chart_gp_apl.svg`, `.png`).

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::{json, Map, Value as Json};

use super::chart::{self, Bar, Panel};
use super::{parquet, write_json, Provenance};
use crate::aci::Grid;
use crate::diagnose::{Diagnosis, ScopeResult};
use crate::error::Result;
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
    m.insert("aci_band".into(), json!(aci.map(|a| a.taille)));
    m.insert("aci_max_annual_funding_eur".into(), json!(aci.map(|a| a.max_annual_funding_2019_eur)));
    m.insert("aci_inhabitants_to_next_band".into(), json!(aci.and_then(|a| a.inhabitants_to_next_band)));
    m.insert(
        "aci".into(),
        json!({
            "band_label": aci.map(|a| a.label.clone()),
            "fonctionnement_avenant2_eur": aci.map(|a| a.fonctionnement_avenant2_eur),
            "next_band_max_annual_funding_eur": aci.and_then(|a| a.next_band_max_annual_funding_2019_eur),
            "max_funding_basis": grid.max_funding_label,
            "boundary_reading": grid.boundary_reading,
            "bands_source_url": grid.bands_source_url,
            "max_funding_source_url": grid.max_funding_source_url,
        }),
    );
    if aci.is_none() {
        notes.insert("aci_band".into(), json!("unavailable: the territory's population is unknown"));
    }
    m.insert("notes".into(), Json::Object(notes));
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

fn chart_panels(d: &Diagnosis) -> Vec<Panel> {
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

/// Write every output of a diagnosis into `dir`; returns the paths written.
pub fn write_all(dir: &Path, d: &Diagnosis, grid: &Grid) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let prov = Provenance::new(sources::all());
    let mut written = Vec::new();

    let p = dir.join("indicators.parquet");
    parquet::write(&p, &mut indicators_frame(d)?, &prov, schema::INDICATORS_LONG)?;
    written.push(p);

    let p = dir.join("communes.parquet");
    parquet::write(&p, &mut d.units.clone(), &prov, schema::COMMUNES)?;
    written.push(p);

    let p = dir.join("summary.json");
    write_json(&p, &summary(d, grid))?;
    written.push(p);

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
