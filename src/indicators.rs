//! Every indicator of the diagnostic, in one place: its polars expression over a frame of curated
//! unit rows (one row per commune or arrondissement, see `transforms::curated`), its unit, its
//! definition and the sources it rests on. The same expressions serve one territory
//! (`select`) and every unit of a level at once (`group_by(...).agg`).

use polars::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: &'static str,
    /// French label, as founders read it in the report.
    pub label: &'static str,
    pub unit: &'static str,
    pub definition: &'static str,
    /// Source ids (see `sources::all`).
    pub sources: &'static [&'static str],
    /// Column of the curated table that explains, per unit, why a figure is absent.
    #[serde(skip)]
    pub note_column: Option<&'static str>,
}

const COG: &[&str] = &["cog_communes"];
const AREA: &[&str] = &["insee_comparateur"];
const POP_AREA: &[&str] = &["cog_communes", "insee_comparateur"];
const BPE: &[&str] = &["bpe_nb_medg"];
const POP_BPE: &[&str] = &["cog_communes", "bpe_nb_medg"];
const APL: &[&str] = &["drees_apl"];
const POP_APL: &[&str] = &["cog_communes", "drees_apl"];

pub const INDICATORS: &[Indicator] = &[
    Indicator {
        id: "communes_count",
        label: "Nombre de communes",
        unit: "communes",
        definition: "Number of COG 2026 units (communes, or arrondissements municipaux where the territory is drawn on them).",
        sources: COG,
        note_column: None,
    },
    Indicator {
        id: "population",
        label: "Population municipale",
        unit: "habitants",
        definition: "Sum of INSEE populations municipales, populations légales millésime 2023 in force on 1 January 2026 (Mayotte: 2017 census).",
        sources: COG,
        note_column: None,
    },
    Indicator {
        id: "area_km2",
        label: "Superficie",
        unit: "km²",
        definition: "Sum of INSEE commune areas (comparateur de territoires 2024); unavailable if any unit lacks one.",
        sources: AREA,
        note_column: Some("area_note"),
    },
    Indicator {
        id: "density_per_km2",
        label: "Densité de population",
        unit: "habitants/km²",
        definition: "population / area_km2.",
        sources: POP_AREA,
        note_column: Some("area_note"),
    },
    Indicator {
        id: "gp_count",
        label: "Médecins généralistes libéraux (BPE 2020)",
        unit: "médecins",
        definition: "Sum of BPE 2020 médecins généralistes libéraux (practice locations; a GP with two cabinets counts twice); unavailable if any unit has no BPE figure (arrondissements municipaux never do).",
        sources: BPE,
        note_column: Some("gp_count_note"),
    },
    Indicator {
        id: "inhabitants_per_gp",
        label: "Habitants par médecin généraliste",
        unit: "habitants/médecin",
        definition: "population / gp_count (population 2023, GPs 2020).",
        sources: POP_BPE,
        note_column: Some("gp_count_note"),
    },
    Indicator {
        id: "gp_per_100k",
        label: "Médecins généralistes pour 100 000 habitants",
        unit: "médecins/100 000 hab.",
        definition: "100 000 × gp_count / population.",
        sources: POP_BPE,
        note_column: Some("gp_count_note"),
    },
    Indicator {
        id: "apl_mg",
        label: "APL aux médecins généralistes 2023",
        unit: "consultations/an/habitant standardisé",
        definition: "Communal APL 2023 weighted by the DREES standardised population (DREES rule), over the units that have an APL.",
        sources: APL,
        note_column: Some("apl_note"),
    },
    Indicator {
        id: "apl_mg_u65",
        label: "APL aux médecins généralistes de moins de 65 ans 2023",
        unit: "consultations/an/habitant standardisé",
        definition: "As apl_mg, counting only GPs aged under 65.",
        sources: APL,
        note_column: Some("apl_note"),
    },
    Indicator {
        id: "apl_mg_2022",
        label: "APL aux médecins généralistes 2022",
        unit: "consultations/an/habitant standardisé",
        definition: "As apl_mg, millésime 2022.",
        sources: APL,
        note_column: Some("apl_note"),
    },
    Indicator {
        id: "population_apl_below_2_5",
        label: "Population des communes où l'APL 2023 est inférieur à 2,5",
        unit: "habitants",
        definition: "Sum of the 2023 populations municipales of the units whose APL 2023 is below 2.5 consultations (the threshold of the DREES/ARS zonage). DREES counts its own 2021 populations: figures differ by about 0.5 %.",
        sources: POP_APL,
        note_column: Some("apl_note"),
    },
    Indicator {
        id: "share_population_apl_below_2_5",
        label: "Part de la population où l'APL 2023 est inférieur à 2,5",
        unit: "%",
        definition: "100 × population_apl_below_2_5 / population of the units that have an APL.",
        sources: POP_APL,
        note_column: Some("apl_note"),
    },
    Indicator {
        id: "apl_population_coverage",
        label: "Part de la population couverte par l'APL",
        unit: "%",
        definition: "100 × population of the units with an APL 2023 / population (Mayotte and new communes have none).",
        sources: POP_APL,
        note_column: Some("apl_note"),
    },
];

pub const APL_THRESHOLD: f64 = 2.5;

pub fn get(id: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.id == id)
}

fn f(c: &str) -> Expr {
    col(c).cast(DataType::Float64)
}

fn null_f64() -> Expr {
    lit(NULL).cast(DataType::Float64)
}

/// Sum that is null as soon as an arrondissement municipal has no figure: the source counts its
/// city as a whole, so any sum over a part of that city would be a wrong number. A commune
/// re-created after the source's vintage also lacks a figure, but its share is inside the commune
/// it was part of, so sums over scopes holding both stay right; the output notes it as partial.
fn complete_sum(c: &str) -> Expr {
    let blocking = col(c).is_null().and(col("kind").eq(lit("arrondissement")));
    when(blocking.cast(DataType::UInt32).sum().gt(lit(0)))
        .then(null_f64())
        .otherwise(f(c).sum())
}

fn population() -> Expr {
    f("population").sum()
}

fn gp_count() -> Expr {
    complete_sum("gp_count_bpe2020")
}

fn area() -> Expr {
    complete_sum("area_km2")
}

fn apl_weighted(apl: &str, weight: &str) -> Expr {
    let has = col(apl).is_not_null();
    let den = when(has.clone())
        .then(f(weight))
        .otherwise(null_f64())
        .sum();
    let num = when(has)
        .then(f(apl) * f(weight))
        .otherwise(null_f64())
        .sum();
    when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(null_f64())
}

fn population_with_apl() -> Expr {
    when(col("apl_mg_2023").is_not_null())
        .then(f("population"))
        .otherwise(null_f64())
        .sum()
}

fn population_apl_below() -> Expr {
    let below = when(col("apl_mg_2023").lt(lit(APL_THRESHOLD)))
        .then(f("population"))
        .otherwise(lit(0.0))
        .sum();
    when(col("apl_mg_2023").count().gt(lit(0)))
        .then(below)
        .otherwise(null_f64())
}

/// Guarded ratio: null when the denominator is null or zero.
fn ratio(num: Expr, den: Expr) -> Expr {
    when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(null_f64())
}

/// The polars expression of an indicator, aliased to its id, as a Float64.
pub fn expr(id: &str) -> Expr {
    let e = match id {
        "communes_count" => col("code").count().cast(DataType::Float64),
        "population" => population(),
        "area_km2" => area(),
        "density_per_km2" => ratio(population(), area()),
        "gp_count" => gp_count(),
        "inhabitants_per_gp" => ratio(population(), gp_count()),
        "gp_per_100k" => ratio(gp_count() * lit(100_000.0), population()),
        "apl_mg" => apl_weighted("apl_mg_2023", "apl_pop_std_2023"),
        "apl_mg_u65" => apl_weighted("apl_mg_u65_2023", "apl_pop_std_2023"),
        "apl_mg_2022" => apl_weighted("apl_mg_2022", "apl_pop_std_2022"),
        "population_apl_below_2_5" => population_apl_below(),
        "share_population_apl_below_2_5" => {
            ratio(population_apl_below() * lit(100.0), population_with_apl())
        }
        "apl_population_coverage" => ratio(population_with_apl() * lit(100.0), population()),
        other => panic!("unknown indicator {other}: add it to INDICATORS"),
    };
    e.alias(id)
}

/// Every indicator's expression, in the order of [`INDICATORS`].
pub fn all_exprs() -> Vec<Expr> {
    INDICATORS.iter().map(|i| expr(i.id)).collect()
}

/// Distinct reasons, over the given unit rows, why `note_column` figures are absent.
pub fn missing_reasons(units: &DataFrame, note_column: &str) -> PolarsResult<Vec<String>> {
    let notes = units.column(note_column)?.str()?;
    let codes = units.column("code")?.str()?;
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for (note, code) in notes.iter().zip(codes.iter()) {
        if let (Some(n), Some(c)) = (note, code) {
            match by_reason.iter_mut().find(|(r, _)| r == n) {
                Some((_, cs)) => cs.push(c.to_string()),
                None => by_reason.push((n.to_string(), vec![c.to_string()])),
            }
        }
    }
    Ok(by_reason
        .into_iter()
        .map(|(r, cs)| {
            let shown: Vec<&str> = cs.iter().take(5).map(|s| s.as_str()).collect();
            let more = if cs.len() > 5 {
                format!(" and {} more", cs.len() - 5)
            } else {
                String::new()
            };
            format!("{r} ({}{more})", shown.join(", "))
        })
        .collect())
}
