//! The founders' report: `report.html` (French, self-contained: inline CSS and SVG, no script, no
//! external asset, so it opens offline and prints) and `report.md` (the same text for pasting into
//! a projet de santé; images are the SVG files written beside it).

use std::fmt::Write as _;

use polars::prelude::*;

use crate::aci::Grid;
use crate::advice::{Advice, Surroundings};
use crate::diagnose::Diagnosis;
use crate::error::Result;
use crate::indicators::{self, APL_THRESHOLD};
use crate::sources;

/// File name of the professions chart beside the report.
pub const PROFESSIONS_CHART: &str = "chart_professions.svg";

/// One commune's figures, from the same indicator expressions as the territory's.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFacts {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub population: Option<f64>,
    pub gp_count: Option<f64>,
    pub inhabitants_per_gp: Option<f64>,
    /// GPs per 10 000 inhabitants (the indicator per 100 000, divided by 10).
    pub gp_per_10k: Option<f64>,
    pub apl: Option<f64>,
    pub area_km2: Option<f64>,
    pub density: Option<f64>,
    pub gp_note: Option<String>,
    pub apl_note: Option<String>,
}

/// Per-unit indicators of curated rows (one row per unit), in the rows' order.
pub fn unit_facts(units: &DataFrame) -> Result<Vec<UnitFacts>> {
    if units.height() == 0 {
        return Ok(Vec::new());
    }
    let per = units
        .clone()
        .lazy()
        .group_by_stable([col("code")])
        .agg(
            [col("name").first(), col("departement").first(), col("gp_count_note").first(), col("apl_note").first()]
                .into_iter()
                .chain(indicators::all_exprs())
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let s = |c: &str| -> Result<Vec<Option<String>>> {
        Ok(per.column(c)?.str()?.iter().map(|v| v.map(str::to_string)).collect())
    };
    let f = |c: &str| -> Result<Vec<Option<f64>>> {
        Ok(per.column(c)?.f64()?.iter().map(|v| v.filter(|x| x.is_finite())).collect())
    };
    let (code, name, dep, gpn, apln) = (s("code")?, s("name")?, s("departement")?, s("gp_count_note")?, s("apl_note")?);
    let (pop, gp, ipg, g100, apl, area, dens) = (
        f("population")?,
        f("gp_count")?,
        f("inhabitants_per_gp")?,
        f("gp_per_100k")?,
        f("apl_mg")?,
        f("area_km2")?,
        f("density_per_km2")?,
    );
    Ok((0..per.height())
        .map(|i| UnitFacts {
            code: code[i].clone().unwrap_or_default(),
            name: name[i].clone().unwrap_or_default(),
            departement: dep[i].clone().unwrap_or_default(),
            population: pop[i],
            gp_count: gp[i],
            inhabitants_per_gp: ipg[i],
            gp_per_10k: g100[i].map(|v| v / 10.0),
            apl: apl[i],
            area_km2: area[i],
            density: dens[i],
            gp_note: gpn[i].clone(),
            apl_note: apln[i].clone(),
        })
        .collect())
}

/// One line of "Offre de soins de premier recours": a profession, the source that gave its
/// figures and their date, and its density in every scope of the diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfessionRow {
    pub label: String,
    pub short_label: String,
    /// `RPPS`, `CartoSanté` or empty when no source had a figure.
    pub source: String,
    /// Extraction file or millésime of the source; how to get it when absent.
    pub date: String,
    /// Method of an estimate, written next to the numbers.
    pub method: Option<String>,
    /// Practitioners in the territory, and of them libéraux, salariés (RPPS only).
    pub count: Option<f64>,
    pub liberal: Option<f64>,
    pub salaried: Option<f64>,
    /// Per 10 000 inhabitants, in the order of `Diagnosis::scopes`.
    pub density: Vec<Option<f64>>,
    /// Communes of the territory where Rézone hides the profession (1 to 5 members), RPPS only.
    pub rezone_hidden: Option<f64>,
    pub rezone_hidden_practitioners: Option<f64>,
    /// Why the territory's figures are absent, when they are.
    pub note: Option<String>,
}

/// Every profession of `data/reference/professions.toml`, with the RPPS when the build had an
/// extraction and CartoSanté's bassin-de-vie estimate otherwise.
pub fn profession_rows(d: &Diagnosis) -> Vec<ProfessionRow> {
    let t = d.territory();
    let rpps_file: Option<String> = d
        .units
        .column("rpps_source")
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.iter().flatten().find(|v| !v.is_empty()).map(str::to_string)));
    let mut rows = Vec::new();
    for p in &crate::professions::Professions::embedded().list {
        let ids = indicators::profession_ids(&p.key);
        let from = |id: &str| d.scopes.iter().map(|s| s.value(id)).collect::<Vec<_>>();
        let note_of = |id: &str| t.get(id).and_then(|v| v.note.clone());
        let mut row = ProfessionRow {
            label: p.label.clone(),
            short_label: p.short_label.clone(),
            source: String::new(),
            date: String::new(),
            method: None,
            count: None,
            liberal: None,
            salaried: None,
            density: vec![None; d.scopes.len()],
            rezone_hidden: None,
            rezone_hidden_practitioners: None,
            note: None,
        };
        if p.in_rpps() && t.value(&ids.count).is_some() {
            row.source = "RPPS".into();
            let file = rpps_file.clone().unwrap_or_default();
            row.date = file.strip_prefix("RPPS (").and_then(|f| f.strip_suffix(')')).unwrap_or(&file).to_string();
            row.count = t.value(&ids.count);
            row.liberal = t.value(&ids.liberal);
            row.salaried = t.value(&ids.salaried);
            row.density = from(&ids.per_10k);
            row.rezone_hidden = t.value(&ids.rezone_hidden_communes);
            row.rezone_hidden_practitioners = t.value(&ids.rezone_hidden_practitioners);
        } else if p.cartosante_column.is_some() && t.value(&ids.cartosante_per_10k).is_some() {
            row.source = "CartoSanté".into();
            row.date = p.cartosante_year().unwrap_or(sources::cartosante::META.vintage).to_string();
            row.method = Some(
                "estimation par bassin de vie : densités publiées des bassins de vie des communes, pondérées par la population du territoire dans chacun".into(),
            );
            row.density = from(&ids.cartosante_per_10k);
            if p.in_rpps() {
                row.note = note_of(&ids.count);
            }
        } else {
            row.note = if p.in_rpps() { note_of(&ids.count) } else { note_of(&ids.cartosante_per_10k) };
        }
        rows.push(row);
    }
    rows
}

/// Short name of a scope for table headers and chart bars.
pub fn scope_short(s: &crate::diagnose::ScopeResult) -> String {
    match s.scope.kind.as_str() {
        "territory" => "Territoire".to_string(),
        "departement" => format!("Dép. {}", s.scope.code),
        "region" => s.scope.name.chars().take(24).collect(),
        _ => "France".to_string(),
    }
}

fn source_cell(r: &ProfessionRow) -> String {
    match r.source.as_str() {
        "" => "non disponible (voir sous le tableau)".into(),
        src => format!("{src} ({})", r.date),
    }
}

fn count_cell(r: &ProfessionRow) -> String {
    match (r.count, r.liberal, r.salaried) {
        (Some(c), Some(l), Some(s)) => {
            format!("{} (lib. {}, sal. {})", fr_num(Some(c), 0), fr_num(Some(l), 0), fr_num(Some(s), 0))
        }
        (Some(c), _, _) => format!("{} (lib./sal. n.d.)", fr_num(Some(c), 0)),
        _ => "n.d.".into(),
    }
}

fn rezone_cell(r: &ProfessionRow) -> String {
    match (r.rezone_hidden, r.rezone_hidden_practitioners) {
        (Some(c), Some(p)) => format!("{} ({} prof.)", fr_num(Some(c), 0), fr_num(Some(p), 0)),
        _ => "n.d.".into(),
    }
}

/// Sentences under the professions table: the method of each estimate and why figures are absent.
fn profession_notes(rows: &[ProfessionRow]) -> Vec<String> {
    let mut v = vec![format!(
        "Rézone CPTS ne montre pas une profession dans une commune qui en compte moins de {} : la dernière colonne compte les communes du territoire qui ont de 1 à {} professionnels de la profession (RPPS, tous modes d'exercice), et ces professionnels.",
        indicators::REZONE_SHOWN_FROM,
        indicators::REZONE_SHOWN_FROM - 1
    )];
    if rows.iter().any(|r| r.source == "CartoSanté") {
        v.push(format!("CartoSanté : {}.", indicators::CARTOSANTE_METHOD_FR));
    }
    let mut absent: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.count.is_none()) {
        if let Some(n) = &r.note {
            if !absent.contains(n) {
                absent.push(n.clone());
            }
        }
    }
    for n in absent {
        if n.contains("cpts-diag fetch rpps") {
            v.push("Effectifs, densités RPPS et communes masquées par Rézone non disponibles : le dossier de données n'a pas d'extraction RPPS (health/rpps/PS_LibreAcces_Personne_activite_*.txt) ; `cpts-diag fetch rpps` la télécharge. Ce ne sont pas des zéros.".into());
        } else {
            v.push(format!("Non disponible : {n}"));
        }
    }
    v
}

/// Everything the report shows, already computed and drawn.
pub struct ReportInput<'a> {
    pub d: &'a Diagnosis,
    pub grid: &'a Grid,
    pub around: Option<&'a Surroundings>,
    pub members: &'a [UnitFacts],
    /// (title, SVG document, file name of the SVG beside the report).
    pub maps: Vec<(String, String, String)>,
    pub charts: Vec<(String, String, String)>,
}

/// `12 345` with a narrow no-break space, as French typography wants.
pub fn fr_int(v: i64) -> String {
    let s = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Decimal comma; `n.d.` when absent.
pub fn fr_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        None => "n.d.".into(),
        Some(x) if decimals == 0 => fr_int(x.round() as i64),
        Some(x) => {
            let s = format!("{:.*}", decimals, x.abs());
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let int: i64 = int.parse().unwrap_or(0);
            format!("{}{},{frac}", if x < 0.0 { "-" } else { "" }, fr_int(int))
        }
    }
}

pub fn eur(v: i64) -> String {
    format!("{}\u{a0}€", fr_int(v))
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn names_list(names: &[String], codes: &[String]) -> String {
    names.iter().zip(codes).map(|(n, c)| format!("{n} ({c})")).collect::<Vec<_>>().join(", ")
}

/// Where the population totale of the territory comes from, in French.
fn totale_vintage_fr(d: &Diagnosis) -> String {
    let m = crate::sources::decoupage::MUNICIPALE_MILLESIME;
    if d.population_totale_other_millesimes.is_empty() {
        format!("INSEE, populations légales millésime {m}")
    } else {
        let years: Vec<String> = d.population_totale_other_millesimes.iter().map(|y| y.to_string()).collect();
        format!(
            "chiffres DGCL des membres des EPCI, millésime {} — et non {m} comme la population municipale",
            years.join(", ")
        )
    }
}

/// The headline when the population municipale and the population totale put the territory in
/// different ACI bands: both bands, the funding at stake, the grid's basis, and that the CPAM
/// confirms it. `None` when the bands agree or one is unknown.
pub fn band_headline(d: &Diagnosis, grid: &Grid) -> Option<String> {
    let (m, t) = (d.aci_municipale.as_ref()?, d.aci_totale.as_ref()?);
    if m.taille == t.taille {
        return None;
    }
    let s = d.territory();
    let (pm, pt) = (s.value("population")?, s.value("population_totale")?);
    let (lo, hi) = if m.taille < t.taille { (m, t) } else { (t, m) };
    let basis = grid.population;
    let retained = if basis == crate::aci::Basis::Totale { t } else { m };
    Some(format!(
        "Selon la population comptée, le territoire change de taille ACI : {} avec la population municipale ({} hab., INSEE millésime {}), {} avec la population totale ({} hab., {}). L'enjeu est de {} par an de financement maximal ({} contre {}, ACI 2019) et de {} par an pour le fonctionnement (avenant 2). La grille utilisée compte la {} (règle des décrets sur les populations légales : « sauf disposition législative ou réglementaire contraire », c'est la population totale qui s'applique), soit la {} ; c'est la CPAM qui confirme la population retenue lors de la signature du contrat.",
        m.label.to_lowercase(),
        fr_num(Some(pm), 0),
        crate::sources::decoupage::MUNICIPALE_MILLESIME,
        t.label.to_lowercase(),
        fr_num(Some(pt), 0),
        totale_vintage_fr(d),
        eur(hi.max_annual_funding_2019_eur - lo.max_annual_funding_2019_eur),
        eur(hi.max_annual_funding_2019_eur),
        eur(lo.max_annual_funding_2019_eur),
        eur(hi.fonctionnement_avenant2_eur - lo.fonctionnement_avenant2_eur),
        basis.label_fr(),
        retained.label.to_lowercase(),
    ))
}

/// The headline: how far the territory is from the next band and which neighbours close the gap,
/// or which communes it cannot lose. Plain text (escape it for HTML).
pub fn headline(a: &Advice) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(nb) = &a.next_band {
        let mut s = format!(
            "Il manque {} habitants au territoire ({} hab. en {}) pour atteindre la {} de l'ACI (à partir de {} hab.), dont le financement annuel maximal est de {} (contre {} en {}).",
            fr_int(nb.shortfall),
            fr_int(a.population),
            a.basis.label_fr(),
            nb.label.to_lowercase(),
            fr_int(nb.min_population),
            eur(nb.max_annual_funding_2019_eur),
            eur(a.placement.max_annual_funding_2019_eur),
            a.placement.label.to_lowercase(),
        );
        match (nb.fewest_communes, nb.options.first()) {
            (Some(1), Some(_)) => {
                let shown: Vec<String> = nb
                    .options
                    .iter()
                    .take(5)
                    .map(|o| format!("{} ({} hab.)", names_list(&o.names, &o.codes), fr_int(o.added_population)))
                    .collect();
                let _ = write!(
                    s,
                    " Une seule commune voisine suffit : {} voisine{} en {} assez ; les plus proches du besoin : {}.",
                    nb.options_count,
                    if nb.options_count > 1 { "s" } else { "" },
                    if nb.options_count > 1 { "ont" } else { "a" },
                    shown.join(", ")
                );
            }
            (Some(k), Some(best)) => {
                let _ = write!(
                    s,
                    " Il faut au moins {k} communes voisines ; la combinaison qui ajoute le moins d'habitants : {} (+{} hab.).",
                    names_list(&best.names, &best.codes),
                    fr_int(best.added_population)
                );
            }
            _ => {
                let _ = write!(s, " Les communes voisines ne suffisent pas à elles seules à combler l'écart.");
            }
        }
        lines.push(s);
    }
    if let Some(k) = &a.keep_band {
        if k.essential.is_empty() {
            lines.push(format!(
                "Le territoire dépasse de {} habitants (en {}) le seuil de la taille {} ({} hab.) : aucune commune seule ne le ferait descendre de taille.",
                fr_int(k.margin),
                a.basis.label_fr(),
                k.taille,
                fr_int(k.min_population)
            ));
        } else {
            let names: Vec<String> =
                k.essential.iter().take(12).map(|e| format!("{} ({} hab.)", e.name, fr_int(e.population))).collect();
            let who = if k.essential.len() == 1 {
                format!("la commune {}", names[0])
            } else {
                format!(
                    "aucune de ces {} communes : {}{}",
                    k.essential.len(),
                    names.join(", "),
                    if k.essential.len() > 12 { ", …" } else { "" }
                )
            };
            lines.push(format!(
                "Le territoire dépasse de {} habitants (en {}) le seuil de la taille {} ({} hab.) : il ne peut perdre {who} sans descendre de taille (financement annuel maximal {} au lieu de {}).",
                fr_int(k.margin),
                a.basis.label_fr(),
                k.taille,
                fr_int(k.min_population),
                eur(k.lower_band_max_annual_funding_2019_eur),
                eur(a.placement.max_annual_funding_2019_eur),
            ));
        }
    }
    if let (Some(p), Some(o)) = (a.other_population, &a.other_placement) {
        let same = o.taille == a.placement.taille;
        lines.push(format!(
            "Ce conseil compte la {} ; en {} ({} hab.), le territoire est {} {}{}.",
            a.basis.label_fr(),
            a.basis.other().label_fr(),
            fr_int(p),
            if same { "aussi en" } else { "en" },
            o.label.to_lowercase(),
            match o.inhabitants_to_next_band {
                Some(n) => format!(", à {} habitants de la taille suivante", fr_int(n)),
                None => String::new(),
            }
        ));
    }
    lines
}

struct SummaryRow {
    label: String,
    value: String,
    note: String,
}

fn summary_rows(input: &ReportInput) -> Vec<SummaryRow> {
    let t = input.d.territory();
    let v = |id: &str| t.value(id);
    let mut rows = vec![
        SummaryRow {
            label: "Population municipale".into(),
            value: format!("{} hab.", fr_num(v("population"), 0)),
            note: "INSEE, populations légales millésime 2023".into(),
        },
        SummaryRow {
            label: "Population totale".into(),
            value: format!("{} hab.", fr_num(v("population_totale"), 0)),
            note: format!(
                "municipale + comptée à part ({} hab.) ; {}",
                fr_num(v("population_comptee_a_part"), 0),
                totale_vintage_fr(input.d)
            ),
        },
        SummaryRow { label: "Communes".into(), value: fr_num(v("communes_count"), 0), note: "COG 2026".into() },
    ];
    if let Some(a) = &input.d.aci {
        let basis = input.d.aci_basis;
        let other = match basis.other() {
            crate::aci::Basis::Municipale => &input.d.aci_municipale,
            crate::aci::Basis::Totale => &input.d.aci_totale,
        };
        rows.push(SummaryRow {
            label: "Taille ACI".into(),
            value: a.label.clone(),
            note: format!(
                "sur la {} ; {} sur la {} ; financement annuel maximal {} (ACI 2019)",
                basis.label_fr(),
                other.as_ref().map_or("non disponible".to_string(), |o| o.label.to_lowercase()),
                basis.other().label_fr(),
                eur(a.max_annual_funding_2019_eur)
            ),
        });
    }
    rows.extend([
        SummaryRow {
            label: "Habitants par médecin généraliste".into(),
            value: fr_num(v("inhabitants_per_gp"), 0),
            note: format!("{} médecins généralistes libéraux (BPE 2020)", fr_num(v("gp_count"), 0)),
        },
        SummaryRow {
            label: "Médecins généralistes pour 10 000 hab.".into(),
            value: fr_num(v("gp_per_100k").map(|x| x / 10.0), 1),
            note: "BPE 2020, population 2023".into(),
        },
        SummaryRow {
            label: "APL aux médecins généralistes".into(),
            value: fr_num(v("apl_mg"), 2),
            note: "DREES 2023, consultations/an/habitant standardisé".into(),
        },
        SummaryRow {
            label: "Population où l'APL est sous 2,5".into(),
            value: format!(
                "{} hab. ({} %)",
                fr_num(v("population_apl_below_2_5"), 0),
                fr_num(v("share_population_apl_below_2_5"), 1)
            ),
            note: "communes dont l'APL 2023 est inférieur à 2,5".into(),
        },
    ]);
    if let Some(s) = input.around.filter(|s| !s.geometry.mapped.is_empty()) {
        rows.push(SummaryRow {
            label: "Superficie (contours communaux)".into(),
            value: format!("{} km²", fr_num(Some(s.geometry.area_km2), 0)),
            note: if s.geometry.is_one_piece() {
                "d'un seul tenant".into()
            } else {
                format!("{} morceaux disjoints", s.geometry.pieces.len())
            },
        });
    }
    rows
}

fn name_of<'a>(input: &'a ReportInput, code: &'a str) -> &'a str {
    input
        .members
        .iter()
        .find(|u| u.code == code)
        .map(|u| u.name.as_str())
        .or_else(|| {
            input.around.and_then(|s| s.advice.neighbours.iter().find(|n| n.code == code).map(|n| n.name.as_str()))
        })
        .unwrap_or(code)
}

fn geometry_lines(input: &ReportInput) -> Vec<String> {
    let Some(s) = input.around else {
        return vec![
            "Les contours des communes n'étaient pas disponibles : ni cartes, ni contiguïté, ni communes voisines."
                .into(),
        ];
    };
    let g = &s.geometry;
    let mut v = Vec::new();
    if g.mapped.is_empty() {
        v.push("Aucune commune du territoire n'a de contour : ni carte, ni contiguïté, ni communes voisines.".into());
    } else if g.is_one_piece() {
        v.push(format!(
            "Le territoire est d'un seul tenant ({} communes cartographiées, {} km²).",
            g.mapped.len(),
            fr_num(Some(g.area_km2), 0)
        ));
    } else {
        let pieces: Vec<String> = g
            .pieces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let names: Vec<String> = p.iter().take(8).map(|c| format!("{} ({c})", name_of(input, c))).collect();
                format!(
                    "morceau {} : {}{}",
                    i + 1,
                    names.join(", "),
                    if p.len() > 8 { format!(" et {} autres", p.len() - 8) } else { String::new() }
                )
            })
            .collect();
        v.push(format!(
            "Le territoire n'est pas d'un seul tenant : {} morceaux sans frontière commune — {}.",
            g.pieces.len(),
            pieces.join(" ; ")
        ));
    }
    if g.enclaves.is_empty() {
        v.push("Aucune enclave : pas de commune entourée par le territoire sans en faire partie.".into());
    } else {
        let names: Vec<String> = g.enclaves.iter().flatten().map(|c| format!("{} ({c})", name_of(input, c))).collect();
        v.push(format!(
            "Enclave{} (entourée{} par le territoire sans en faire partie) : {}.",
            if names.len() > 1 { "s" } else { "" },
            if names.len() > 1 { "s" } else { "" },
            names.join(", ")
        ));
    }
    for m in &g.missing {
        v.push(format!(
            "{} ({}) n'a pas de contour et n'est pas cartographiée : {}.",
            name_of(input, &m.code),
            m.code,
            m.reason
        ));
    }
    v
}

fn svg_body(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

pub const CSS: &str = "body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#1d2430;max-width:1180px;margin:0 auto;padding:24px;line-height:1.45}\
h1{font-size:1.7em;margin:.2em 0}h2{border-bottom:2px solid #00639a;padding-bottom:4px;margin-top:1.8em;color:#00639a}\
.box{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px;background:#eef5fa;border:1px solid #b8d4e6;border-radius:8px;padding:14px}\
.kpi .l{font-size:.85em;color:#4a5a6a}.kpi .v{font-size:1.45em;font-weight:bold}.kpi .n{font-size:.75em;color:#6a7a8a}\
.headline{background:#fff6e0;border-left:6px solid #e8a317;padding:10px 14px;margin:14px 0;font-size:1.05em}\
table{border-collapse:collapse;width:100%;font-size:.88em;margin:8px 0}th,td{border:1px solid #ccd6e0;padding:3px 6px;text-align:left}\
td.num,th.num{text-align:right}tr.below td{background:#fde8e4}thead th{background:#e3edf5}\
figure{margin:14px 0}figure svg{width:100%;height:auto;border:1px solid #dde4ea}figcaption{font-size:.85em;color:#4a5a6a}\
.muted{color:#5a6a7a;font-size:.85em}";

/// The report as one self-contained HTML page.
/// A report section as text: title, paragraphs, one table.
struct Section {
    title: String,
    paras: Vec<String>,
    head: Vec<&'static str>,
    /// Right-aligned from this column on.
    num_from: usize,
    rows: Vec<Vec<String>>,
}

fn signed(v: f64, decimals: usize) -> String {
    let s = fr_num(Some(v), decimals);
    if v > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

/// "Où un médecin de plus aide le plus" and "Scénarios", from the model (docs/access.md).
fn what_if_sections(input: &ReportInput) -> Vec<Section> {
    let Some(w) = &input.d.what_if else { return Vec::new() };
    let mut out = Vec::new();
    let method = format!(
        "Modèle E2SFCA calé sur l'APL DREES 2023 (vitesse {} km/h, détour {}, {} consultations par médecin) ; \
         l'APL d'un scénario est l'APL DREES 2023 plus la variation calculée par le modèle. Les effets débordent \
         sur les communes voisines hors du territoire (jusqu'à 20 minutes). Voir docs/access.md.",
        fr_num(Some(w.params.speed_kmh), 0),
        fr_num(Some(w.params.detour), 1),
        fr_num(Some(w.params.consultations_per_gp), 0)
    );
    if let Some(p) = &w.placement {
        let mut paras = vec![format!(
            "Plan de recrutement (missions « accès aux soins » et « attractivité ») : les {} médecins ajoutés un à un \
             là où ils font passer le plus d'habitants à 2,5 ou plus, puis où ils relèvent le plus l'APL du territoire \
             (APL pondéré {} ; {} habitants sous 2,5).",
            p.greedy.len(),
            fr_num(Some(p.apl_mg_baseline), 2),
            fr_int(p.population_apl_below_2_5_baseline.round() as i64)
        )];
        let best: Vec<String> =
            p.by_apl_gain.iter().take(3).map(|c| format!("{} ({})", c.name, signed(c.apl_gain, 3))).collect();
        paras.push(format!("Un seul médecin de plus : meilleurs gains d'APL du territoire à {}.", best.join(", ")));
        paras.push(method.clone());
        out.push(Section {
            title: "Où un médecin de plus aide le plus".into(),
            paras,
            head: vec![
                "Médecin ajouté",
                "Commune",
                "Habitants passés à 2,5 ou plus (cumul)",
                "APL pondéré du territoire",
            ],
            num_from: 2,
            rows: p
                .greedy
                .iter()
                .enumerate()
                .map(|(k, g)| {
                    vec![
                        format!("{}", k + 1),
                        format!("{} ({})", g.name, g.code),
                        fr_int(g.lifted_total.round() as i64),
                        fr_num(Some(g.apl_mg), 2),
                    ]
                })
                .collect(),
        });
    }
    if !w.scenarios.is_empty() {
        let mut rows = Vec::new();
        let mut paras = Vec::new();
        for o in &w.scenarios {
            rows.push(vec![
                o.name.clone(),
                o.gp_changes.iter().map(|(c, g)| format!("{c} : {}", signed(*g, 0))).collect::<Vec<_>>().join(", "),
                format!("{} → {}", fr_num(Some(o.apl_mg_baseline), 2), fr_num(Some(o.apl_mg), 2)),
                format!(
                    "{} → {}",
                    fr_int(o.population_apl_below_2_5_baseline.round() as i64),
                    fr_int(o.population_apl_below_2_5.round() as i64)
                ),
                format!("{}", o.outside_units_changed),
            ]);
            if !o.communes_crossing.is_empty() {
                let list: Vec<String> = o
                    .communes_crossing
                    .iter()
                    .map(|c| {
                        format!(
                            "{} ({}{}, {} → {})",
                            c.name,
                            if c.direction == "up" { "passe au-dessus de 2,5" } else { "passe sous 2,5" },
                            if c.in_territory { "" } else { ", hors territoire" },
                            fr_num(Some(c.apl_before), 3),
                            fr_num(Some(c.apl_after), 3)
                        )
                    })
                    .collect();
                paras.push(format!("« {} » : {}.", o.name, list.join(" ; ")));
            }
        }
        paras.push(method);
        out.push(Section {
            title: "Scénarios".into(),
            paras,
            head: vec!["Scénario", "Médecins", "APL pondéré", "Habitants sous 2,5", "Communes voisines touchées"],
            num_from: 2,
            rows,
        });
    }
    out
}

fn html_section(h: &mut String, s: &Section) {
    let _ = writeln!(h, "<h2>{}</h2>", esc(&s.title));
    for p in &s.paras {
        let _ = writeln!(h, "<p>{}</p>", esc(p));
    }
    h.push_str("<table><thead><tr>");
    for (i, c) in s.head.iter().enumerate() {
        let _ = write!(h, "<th{}>{}</th>", if i >= s.num_from { " class=\"num\"" } else { "" }, esc(c));
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in &s.rows {
        h.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let _ = write!(h, "<td{}>{}</td>", if i >= s.num_from { " class=\"num\"" } else { "" }, esc(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
}

fn markdown_section(m: &mut String, s: &Section) {
    let _ = writeln!(m, "## {}\n", s.title);
    for p in &s.paras {
        let _ = writeln!(m, "{p}\n");
    }
    let _ = writeln!(m, "| {} |", s.head.join(" | "));
    let align: Vec<&str> = (0..s.head.len()).map(|i| if i >= s.num_from { "---:" } else { "---" }).collect();
    let _ = writeln!(m, "|{}|", align.join("|"));
    for r in &s.rows {
        let _ = writeln!(m, "| {} |", r.join(" | "));
    }
    m.push('\n');
}

pub fn html(input: &ReportInput) -> String {
    let d = input.d;
    let mut h = String::new();
    let _ = writeln!(h, "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Diagnostic territorial — {}</title><style>{CSS}</style></head><body>",
        esc(&d.territory.name)
    );
    let _ = writeln!(h, "<h1>Diagnostic territorial — {}</h1>", esc(&d.territory.name));
    if let Some(desc) = &d.territory.description {
        let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(desc));
    }
    h.push_str("<div class=\"box\" id=\"synthese\">\n");
    for r in summary_rows(input) {
        let _ = writeln!(
            h,
            "<div class=\"kpi\"><div class=\"l\">{}</div><div class=\"v\">{}</div><div class=\"n\">{}</div></div>",
            esc(&r.label),
            esc(&r.value),
            esc(&r.note)
        );
    }
    h.push_str("</div>\n");
    if let Some(line) = band_headline(d, input.grid) {
        let _ = writeln!(h, "<p class=\"headline\" id=\"bande-population\">{}</p>", esc(&line));
    }
    if let Some(s) = input.around {
        for line in headline(&s.advice) {
            let _ = writeln!(h, "<p class=\"headline\">{}</p>", esc(&line));
        }
    }

    h.push_str("<h2>Taille ACI et communes voisines</h2>\n");
    match input.around {
        None => h.push_str("<p>Sans les contours des communes, les communes voisines ne sont pas connues.</p>\n"),
        Some(s) => {
            let a = &s.advice;
            if let Some(nb) = &a.next_band {
                let _ = writeln!(h, "<p>Plus petits ensembles de communes voisines qui portent le territoire en {} ({} hab. au moins ; financement annuel maximal {}, soit {} de plus). {} ensemble{} de {} commune{} conviennent{}.</p>",
                    esc(&nb.label.to_lowercase()),
                    fr_int(nb.min_population),
                    eur(nb.max_annual_funding_2019_eur),
                    eur(nb.funding_gain_eur),
                    nb.options_count,
                    if nb.options_count > 1 { "s" } else { "" },
                    nb.fewest_communes.unwrap_or(0),
                    if nb.fewest_communes.unwrap_or(0) > 1 { "s" } else { "" },
                    if nb.options.len() < nb.options_count { format!(" ; les {} premiers", nb.options.len()) } else { String::new() },
                );
                if !nb.options.is_empty() {
                    h.push_str("<table><thead><tr><th>Communes à ajouter</th><th class=\"num\">Habitants ajoutés</th><th class=\"num\">Population obtenue</th></tr></thead><tbody>\n");
                    for o in &nb.options {
                        let _ = writeln!(
                            h,
                            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                            esc(&names_list(&o.names, &o.codes)),
                            fr_int(o.added_population),
                            fr_int(o.new_population)
                        );
                    }
                    h.push_str("</tbody></table>\n");
                }
                let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(&nb.note));
            }
            if let Some(k) = &a.keep_band {
                let _ = writeln!(h, "<p>Marge au-dessus du seuil de la taille {} : {} habitants. Communes dont le départ ferait descendre de taille : {}.</p>",
                    k.taille,
                    fr_int(k.margin),
                    if k.essential.is_empty() { "aucune".to_string() } else { esc(&k.essential.iter().map(|e| format!("{} ({})", e.name, fr_int(e.population))).collect::<Vec<_>>().join(", ")) }
                );
            }
            let _ =
                writeln!(h, "<p>{} communes voisines (frontière commune avec le territoire) :</p>", a.neighbours.len());
            h.push_str("<table><thead><tr><th>Code</th><th>Commune</th><th>Dép.</th><th class=\"num\">Population</th><th class=\"num\">Médecins (BPE 2020)</th><th class=\"num\">Méd. / 10 000 hab.</th><th class=\"num\">APL 2023</th><th class=\"num\">Frontière (km)</th></tr></thead><tbody>\n");
            for n in &a.neighbours {
                let below = n.apl_mg.is_some_and(|x| x < APL_THRESHOLD);
                let _ = writeln!(h, "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    if below { " class=\"below\"" } else { "" },
                    esc(&n.code),
                    esc(&n.name),
                    esc(&n.departement),
                    fr_num(n.population.map(|p| p as f64), 0),
                    fr_num(n.gp_count.map(|p| p as f64), 0),
                    fr_num(n.gp_per_10k, 1),
                    fr_num(n.apl_mg, 2),
                    fr_num(Some(n.border_km), 1)
                );
            }
            h.push_str("</tbody></table>\n<p class=\"muted\">Lignes en rouge : APL 2023 inférieur à 2,5.</p>\n");
        }
    }

    for sec in what_if_sections(input) {
        html_section(&mut h, &sec);
    }

    let prof = profession_rows(d);
    h.push_str("<h2 id=\"premier-recours\">Offre de soins de premier recours</h2>\n<table><thead><tr><th>Profession</th><th>Source (date)</th><th class=\"num\">Effectif du territoire</th>");
    for s in &d.scopes {
        let _ = write!(h, "<th class=\"num\">{} (/10 000 hab.)</th>", esc(&scope_short(s)));
    }
    h.push_str("<th class=\"num\">Communes masquées par Rézone</th></tr></thead><tbody>\n");
    for r in &prof {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}{}</td><td class=\"num\">{}</td>",
            esc(&r.label),
            esc(&source_cell(r)),
            r.method.as_ref().map(|m| format!("<br><span class=\"muted\">{}</span>", esc(m))).unwrap_or_default(),
            esc(&count_cell(r))
        );
        for v in &r.density {
            let _ = write!(h, "<td class=\"num\">{}</td>", fr_num(*v, 1));
        }
        let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", esc(&rezone_cell(r)));
    }
    h.push_str("</tbody></table>\n");
    for n in profession_notes(&prof) {
        let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(&n));
    }
    if let Some((title, svg, _)) = input.charts.iter().find(|(_, _, f)| f == PROFESSIONS_CHART) {
        let _ = writeln!(h, "<figure>{}<figcaption>{}</figcaption></figure>", svg_body(svg), esc(title));
    }

    h.push_str("<h2>Géographie du territoire</h2>\n");
    for line in geometry_lines(input) {
        let _ = writeln!(h, "<p>{}</p>", esc(&line));
    }

    if !input.maps.is_empty() {
        h.push_str("<h2>Cartes</h2>\n");
        for (title, svg, _) in &input.maps {
            let _ = writeln!(h, "<figure>{}<figcaption>{}</figcaption></figure>", svg_body(svg), esc(title));
        }
    }
    if !input.charts.is_empty() {
        h.push_str("<h2>Graphiques</h2>\n");
        for (title, svg, _) in input.charts.iter().filter(|(_, _, f)| f != PROFESSIONS_CHART) {
            let _ = writeln!(h, "<figure>{}<figcaption>{}</figcaption></figure>", svg_body(svg), esc(title));
        }
        h.push_str("<p class=\"muted\">Pyramide des âges : pas de source communale des âges dans les données publiées utilisées (seules les communes de plus de 2 000 habitants sont couvertes) ; le graphique sera ajouté quand elle le sera.</p>\n");
    }

    h.push_str("<h2>Communes du territoire</h2>\n<table><thead><tr><th>Code</th><th>Commune</th><th class=\"num\">Population</th><th class=\"num\">Médecins (BPE 2020)</th><th class=\"num\">Hab. / médecin</th><th class=\"num\">Méd. / 10 000 hab.</th><th class=\"num\">APL 2023</th><th class=\"num\">Superficie (km²)</th></tr></thead><tbody>\n");
    for u in input.members {
        let below = u.apl.is_some_and(|x| x < APL_THRESHOLD);
        let _ = writeln!(h, "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            if below { " class=\"below\"" } else { "" },
            esc(&u.code),
            esc(&u.name),
            fr_num(u.population, 0),
            fr_num(u.gp_count, 0),
            fr_num(u.inhabitants_per_gp, 0),
            fr_num(u.gp_per_10k, 1),
            fr_num(u.apl, 2),
            fr_num(u.area_km2, 1)
        );
    }
    h.push_str("</tbody></table>\n<p class=\"muted\">Lignes en rouge : APL 2023 inférieur à 2,5. n.d. : non disponible (voir les notes).</p>\n");

    h.push_str("<h2>Méthodes et sources</h2>\n<ul>\n");
    for m in methods(input) {
        let _ = writeln!(h, "<li>{}</li>", esc(&m));
    }
    h.push_str("</ul>\n<table><thead><tr><th>Source</th><th>Producteur</th><th>Millésime</th><th>Géographie</th><th>Licence</th></tr></thead><tbody>\n");
    for s in sources::all() {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s.url),
            esc(s.title),
            esc(s.publisher),
            esc(s.vintage),
            esc(s.geography),
            esc(s.licence)
        );
    }
    h.push_str("</tbody></table>\n<p>Source de chaque profession de l'offre de premier recours :</p>\n<table><thead><tr><th>Profession</th><th>Source</th><th>Date ou millésime</th></tr></thead><tbody>\n");
    for r in &prof {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.label),
            esc(if r.source.is_empty() { "aucune" } else { &r.source }),
            esc(if r.date.is_empty() { "—" } else { &r.date })
        );
    }
    h.push_str("</tbody></table>\n");
    let notes = notes(input);
    if !notes.is_empty() {
        h.push_str("<h3>Notes et avertissements</h3>\n<ul>\n");
        for n in notes {
            let _ = writeln!(h, "<li>{}</li>", esc(&n));
        }
        h.push_str("</ul>\n");
    }
    let _ = writeln!(
        h,
        "<p class=\"muted\">Produit par cpts-diag {} à partir de données publiques ouvertes.</p>\n</body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

fn methods(input: &ReportInput) -> Vec<String> {
    let g = input.grid;
    vec![
        "Les communes sont celles du Code officiel géographique 2026 ; les données publiées sur une géographie antérieure y sont ramenées par les anciens codes des communes fusionnées (sommes, APL pondéré par la population standardisée).".into(),
        format!("Tailles ACI : {} ({}). Lecture des bornes : {}. Financements : {} ({}).", g.title, g.bands_source, g.boundary_reading, g.max_funding_label, g.max_funding_source),
        format!("Population de la taille ACI : la {} ({}, {}). Le rapport donne aussi la taille sous l'autre population ; la CPAM confirme la population retenue.", g.population.label_fr(), g.population_basis_rule, g.population_basis_source),
        "Communes voisines : communes qui partagent une frontière (un segment de contour, pas un simple point) avec le territoire, d'après les contours communaux IGN ADMIN EXPRESS du COG 2026, simplifiés (au format des contours administratifs d'Etalab) ; un territoire fait d'arrondissements municipaux a pour voisins les autres arrondissements et les communes alentour, jamais la ville entière. Superficie du contour : aire géodésique (ellipsoïde WGS84) ; la superficie de référence reste celle de l'INSEE.".into(),
        "Conseil de taille : parmi les communes voisines, les ensembles du plus petit nombre de communes qui atteignent le seuil de la taille suivante, classés par nombre d'habitants ajoutés (le moins d'abord). Toute commune voisine ajoutée garde le territoire d'un seul tenant.".into(),
        "Enclave : commune hors du territoire située dans un trou du contour du territoire.".into(),
        "APL : indicateur d'accessibilité potentielle localisée (DREES), en consultations par an et par habitant standardisé ; le seuil de 2,5 est celui du zonage des médecins généralistes.".into(),
        "Médecins généralistes : libéraux de la Base permanente des équipements 2020 (lieux d'exercice : un médecin à deux cabinets compte deux fois).".into(),
        "Cartes : projection équirectangulaire locale (les distances sont justes à moins de 1 % près à l'échelle d'un département) ; communes voisines en teinte atténuée.".into(),
    ]
}

fn notes(input: &ReportInput) -> Vec<String> {
    let mut v: Vec<String> = input.d.territory.warnings.clone();
    // The professions' notes are in their own section.
    let own_section = |id: &str| id.starts_with("rpps_") || id.starts_with("cartosante_");
    for val in input.d.territory().values.iter().filter(|v| !own_section(v.indicator)) {
        if let Some(n) = &val.note {
            let label = indicators::get(val.indicator).map_or(val.indicator, |i| i.label);
            v.push(format!("{label} : {n}"));
        }
    }
    v
}

/// The report as Markdown, for pasting.
pub fn markdown(input: &ReportInput) -> String {
    let d = input.d;
    let mut m = String::new();
    let _ = writeln!(m, "# Diagnostic territorial — {}\n", d.territory.name);
    if let Some(desc) = &d.territory.description {
        let _ = writeln!(m, "{desc}\n");
    }
    m.push_str("## Synthèse\n\n| Indicateur | Valeur | Source |\n|---|---|---|\n");
    for r in summary_rows(input) {
        let _ = writeln!(m, "| {} | {} | {} |", r.label, r.value, r.note);
    }
    m.push('\n');
    if let Some(line) = band_headline(d, input.grid) {
        let _ = writeln!(m, "> {line}\n");
    }
    if let Some(s) = input.around {
        for line in headline(&s.advice) {
            let _ = writeln!(m, "> {line}\n");
        }
        let a = &s.advice;
        m.push_str("## Taille ACI et communes voisines\n\n");
        if let Some(nb) = &a.next_band {
            if !nb.options.is_empty() {
                let _ = writeln!(
                    m,
                    "Ensembles de communes voisines qui portent le territoire en {} :\n",
                    nb.label.to_lowercase()
                );
                m.push_str("| Communes à ajouter | Habitants ajoutés | Population obtenue |\n|---|---:|---:|\n");
                for o in &nb.options {
                    let _ = writeln!(
                        m,
                        "| {} | {} | {} |",
                        names_list(&o.names, &o.codes),
                        fr_int(o.added_population),
                        fr_int(o.new_population)
                    );
                }
                m.push('\n');
            }
        }
        m.push_str("| Code | Commune | Population | Médecins (BPE 2020) | Méd. / 10 000 hab. | APL 2023 | Frontière (km) |\n|---|---|---:|---:|---:|---:|---:|\n");
        for n in &a.neighbours {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} |",
                n.code,
                n.name,
                fr_num(n.population.map(|p| p as f64), 0),
                fr_num(n.gp_count.map(|p| p as f64), 0),
                fr_num(n.gp_per_10k, 1),
                fr_num(n.apl_mg, 2),
                fr_num(Some(n.border_km), 1)
            );
        }
        m.push('\n');
    }
    for sec in what_if_sections(input) {
        markdown_section(&mut m, &sec);
    }

    let prof = profession_rows(d);
    m.push_str("## Offre de soins de premier recours\n\n| Profession | Source (date) | Effectif du territoire |");
    for s in &d.scopes {
        let _ = write!(m, " {} (/10 000 hab.) |", scope_short(s));
    }
    m.push_str(" Communes masquées par Rézone |\n|---|---|---:|");
    for _ in &d.scopes {
        m.push_str("---:|");
    }
    m.push_str("---:|\n");
    for r in &prof {
        let src = match &r.method {
            Some(x) => format!("{} — {x}", source_cell(r)),
            None => source_cell(r),
        };
        let _ = write!(m, "| {} | {} | {} |", r.label, src, count_cell(r));
        for v in &r.density {
            let _ = write!(m, " {} |", fr_num(*v, 1));
        }
        let _ = writeln!(m, " {} |", rezone_cell(r));
    }
    m.push('\n');
    for n in profession_notes(&prof) {
        let _ = writeln!(m, "{n}\n");
    }
    if input.charts.iter().any(|(_, _, f)| f == PROFESSIONS_CHART) {
        let _ = writeln!(m, "![Offre de premier recours]({PROFESSIONS_CHART})\n");
    }
    m.push_str("## Géographie du territoire\n\n");
    for line in geometry_lines(input) {
        let _ = writeln!(m, "{line}\n");
    }
    if !input.maps.is_empty() || !input.charts.is_empty() {
        m.push_str("## Cartes et graphiques\n\n");
        for (title, _, file) in input.maps.iter().chain(input.charts.iter().filter(|(_, _, f)| f != PROFESSIONS_CHART))
        {
            let _ = writeln!(m, "![{title}]({file})\n");
        }
    }
    m.push_str("## Communes du territoire\n\n| Code | Commune | Population | Médecins (BPE 2020) | Hab. / médecin | Méd. / 10 000 hab. | APL 2023 |\n|---|---|---:|---:|---:|---:|---:|\n");
    for u in input.members {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} |",
            u.code,
            u.name,
            fr_num(u.population, 0),
            fr_num(u.gp_count, 0),
            fr_num(u.inhabitants_per_gp, 0),
            fr_num(u.gp_per_10k, 1),
            fr_num(u.apl, 2)
        );
    }
    m.push_str("\n## Méthodes et sources\n\n");
    for x in methods(input) {
        let _ = writeln!(m, "- {x}");
    }
    m.push('\n');
    for s in sources::all() {
        let _ = writeln!(
            m,
            "- {} — {} ; millésime : {} ; géographie : {} ; licence : {} ; <{}>",
            s.title, s.publisher, s.vintage, s.geography, s.licence, s.url
        );
    }
    m.push_str("\nSource de chaque profession de l'offre de premier recours :\n\n| Profession | Source | Date ou millésime |\n|---|---|---|\n");
    for r in &prof {
        let _ = writeln!(
            m,
            "| {} | {} | {} |",
            r.label,
            if r.source.is_empty() { "aucune" } else { &r.source },
            if r.date.is_empty() { "—" } else { &r.date }
        );
    }
    let notes = notes(input);
    if !notes.is_empty() {
        m.push_str("\n### Notes et avertissements\n\n");
        for n in notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    let _ = writeln!(m, "\n_Produit par cpts-diag {}._", env!("CARGO_PKG_VERSION"));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_number_formats() {
        assert_eq!(fr_int(39574), "39\u{202f}574");
        assert_eq!(fr_int(-1234567), "-1\u{202f}234\u{202f}567");
        assert_eq!(fr_int(999), "999");
        assert_eq!(fr_num(Some(2.456), 2), "2,46");
        assert_eq!(fr_num(Some(12345.5), 1), "12\u{202f}345,5");
        assert_eq!(fr_num(None, 1), "n.d.");
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
