//! Every indicator of the diagnostic, in one place: its polars expression over a frame of curated
//! unit rows (one row per commune or arrondissement, see `transforms::curated`), its unit, its
//! definition and the sources it rests on. The same expressions serve one territory
//! (`select`) and every unit of a level at once (`group_by(...).agg`).

use std::sync::LazyLock;

use crate::sources::contract::MASKED_REASON;
use polars::prelude::*;
use serde::Serialize;

use crate::professions::Professions;

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
const TOTALE: &[&str] = &["insee_populations_legales", "cog_epci"];
const AREA: &[&str] = &["insee_comparateur", "comparateur_rcarlier"];
const POP_AREA: &[&str] = &["cog_communes", "insee_comparateur", "comparateur_rcarlier"];
const BPE: &[&str] = &["bpe_nb_medg", "rpps"];
const POP_BPE: &[&str] = &["cog_communes", "bpe_nb_medg", "rpps"];
const AGE: &[&str] = &["insee_age"];
const ALD: &[&str] = &["ameli_ald_sans_mt", "cog_communes"];
const APL: &[&str] = &["drees_apl"];
const POP_APL: &[&str] = &["cog_communes", "drees_apl"];

/// Every indicator: the fixed ones, then the professions' ([`profession_indicators`]).
pub static INDICATORS: LazyLock<Vec<Indicator>> = LazyLock::new(|| {
    let mut v = FIXED.to_vec();
    v.extend(profession_indicators());
    v
});

const FIXED: &[Indicator] = &[
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
        id: "population_totale",
        label: "Population totale",
        unit: "habitants",
        definition: "Sum of the populations totales (municipale + comptée à part), the population the texts refer to unless they say otherwise: INSEE populations légales millésime 2023 when the data folder has the file, else the DGCL figures of the EPCI members, millésime 2022 (the note names the source and millésime used). Unavailable for a territory holding an arrondissement municipal without a figure; partial when a commune has none (islands outside any EPCI).",
        sources: TOTALE,
        note_column: Some("population_totale_note"),
    },
    Indicator {
        id: "population_comptee_a_part",
        label: "Population comptée à part",
        unit: "habitants",
        definition: "Sum of the populations comptées à part (students, boarders, people in communities counted in another commune), same source and millésime as population_totale.",
        sources: TOTALE,
        note_column: Some("population_totale_note"),
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
        label: "Médecins généralistes libéraux",
        unit: "médecins",
        definition: "From the RPPS extraction when the data folder has one whose layout gives the mode of exercise: GPs (profession 10, savoir-faire SM54/SM53/SM26) with a libéral activity, each counted once per commune. Otherwise BPE 2020 médecins généralistes libéraux (practice locations; a GP with two cabinets counts twice), unavailable if any unit has no BPE figure (arrondissements municipaux never do). The note says which source was used.",
        sources: BPE,
        note_column: Some("gp_count_note"),
    },
    Indicator {
        id: "inhabitants_per_gp",
        label: "Habitants par médecin généraliste",
        unit: "habitants/médecin",
        definition: "population / gp_count (population 2023; GPs from the RPPS extraction, else BPE 2020).",
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
    Indicator {
        id: "population_0_14",
        label: "Population de 0 à 14 ans",
        unit: "habitants",
        definition: "Sum of the INSEE census population aged 0-14 (base communale évolution et structure de la population; census year in the note).",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "population_15_29",
        label: "Population de 15 à 29 ans",
        unit: "habitants",
        definition: "As population_0_14, ages 15-29.",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "population_30_44",
        label: "Population de 30 à 44 ans",
        unit: "habitants",
        definition: "As population_0_14, ages 30-44.",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "population_45_59",
        label: "Population de 45 à 59 ans",
        unit: "habitants",
        definition: "As population_0_14, ages 45-59.",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "population_60_74",
        label: "Population de 60 à 74 ans",
        unit: "habitants",
        definition: "As population_0_14, ages 60-74.",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "population_75_plus",
        label: "Population de 75 ans et plus",
        unit: "habitants",
        definition: "As population_0_14, ages 75 and over.",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "share_75_plus",
        label: "Part des 75 ans et plus",
        unit: "%",
        definition: "100 × population aged 75+ / census population, over the units that have the age structure (same census for both).",
        sources: AGE,
        note_column: Some("age_note"),
    },
    Indicator {
        id: "ald_without_mt_share",
        label: "Part des patients en ALD sans médecin traitant",
        unit: "%",
        definition: "Assurance Maladie (data.ameli.fr, patients-longueduree-annuelle), latest year. Published by département only: for a département it is the published figure; for the territory, a région or France it is an ESTIMATE, the mean of the shares of the départements its communes belong to weighted by the population of those communes (populations légales 2023), not a measurement.",
        sources: ALD,
        note_column: Some("ald_note"),
    },
];

pub const APL_THRESHOLD: f64 = 2.5;

/// Rézone CPTS shows a profession in a commune only from this many members: below it (1 to 5),
/// the commune's figure is hidden (0 is shown as 0: nobody to protect).
pub const REZONE_SHOWN_FROM: i64 = 6;

const RPPS: &[&str] = &["rpps"];
const POP_RPPS: &[&str] = &["cog_communes", "rpps"];
const CARTOSANTE: &[&str] = &["cartosante_bv", "cog_communes"];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The method written next to every CartoSanté figure of a scope.
pub const CARTOSANTE_METHOD: &str = "ESTIMATE at bassin-de-vie level, not a measurement of the scope: mean of the CartoSanté densities of the bassins de vie 2022 of its communes, weighted by the population of those communes (populations légales 2023); a bassin de vie that reaches beyond the scope weighs by its communes inside it only";

/// The same method, in French, for the report.
pub const CARTOSANTE_METHOD_FR: &str = "estimation à l'échelle des bassins de vie, pas une mesure du territoire : moyenne des densités publiées par CartoSanté pour les bassins de vie 2022 de ses communes, pondérée par la population de ces communes (populations légales 2023) ; un bassin de vie qui déborde du territoire ne pèse que par ses communes du territoire";

/// Ids of the indicators of one profession.
pub struct ProfessionIds {
    pub count: String,
    pub liberal: String,
    pub salaried: String,
    pub per_10k: String,
    pub rezone_hidden_communes: String,
    pub rezone_hidden_practitioners: String,
    pub cartosante_per_10k: String,
}

pub fn profession_ids(key: &str) -> ProfessionIds {
    ProfessionIds {
        count: format!("rpps_{key}_count"),
        liberal: format!("rpps_{key}_liberal"),
        salaried: format!("rpps_{key}_salaried"),
        per_10k: format!("rpps_{key}_per_10k"),
        rezone_hidden_communes: format!("rpps_{key}_rezone_hidden_communes"),
        rezone_hidden_practitioners: format!("rpps_{key}_rezone_hidden_practitioners"),
        cartosante_per_10k: format!("cartosante_{key}_per_10k"),
    }
}

/// One group of indicators per profession of `data/reference/professions.toml`: RPPS count,
/// libéral, salarié, density and Rézone-hidden communes where the table gives RPPS codes; the
/// CartoSanté bassin-de-vie estimate where it names a CartoSanté column.
fn profession_indicators() -> Vec<Indicator> {
    let mut v = Vec::new();
    for p in &Professions::embedded().list {
        let ids = profession_ids(&p.key);
        let label = p.label.as_str();
        let lower = label.to_lowercase();
        if p.in_rpps() {
            let total = format!("rpps_{}_total", p.key);
            v.extend([
                Indicator {
                    id: leak(ids.count),
                    label: leak(format!("{label} (RPPS)")),
                    unit: "professionnels",
                    definition: leak(format!("Sum over the scope's units of {total}: {lower} of the RPPS extraction, each practitioner counted once per commune (a practitioner practising in two communes of the scope counts in each), all modes of exercise.")),
                    sources: RPPS,
                    note_column: Some("rpps_note"),
                },
                Indicator {
                    id: leak(ids.liberal),
                    label: leak(format!("{label} libéraux (RPPS)")),
                    unit: "professionnels",
                    definition: leak(format!("Sum of rpps_{}_liberal: {lower} with a libéral activity (`Code mode exercice` L), once per commune. Unavailable when the extraction has no mode of exercise.", p.key)),
                    sources: RPPS,
                    note_column: Some("rpps_mode_note"),
                },
                Indicator {
                    id: leak(ids.salaried),
                    label: leak(format!("{label} salariés (RPPS)")),
                    unit: "professionnels",
                    definition: leak(format!("Sum of rpps_{}_salaried: {lower} with a salaried activity (`Code mode exercice` S), once per commune; a practitioner with both modes is in both counts.", p.key)),
                    sources: RPPS,
                    note_column: Some("rpps_mode_note"),
                },
                Indicator {
                    id: leak(ids.per_10k),
                    label: leak(format!("{label} pour 10 000 habitants (RPPS)")),
                    unit: "professionnels/10 000 hab.",
                    definition: leak(format!("10 000 × rpps_{}_count / population (populations légales 2023).", p.key)),
                    sources: POP_RPPS,
                    note_column: Some("rpps_note"),
                },
                Indicator {
                    id: leak(ids.rezone_hidden_communes),
                    label: leak(format!("Communes où Rézone masque les {lower}")),
                    unit: "communes",
                    definition: leak(format!("Number of the scope's units (communes, or arrondissements municipaux where the scope is drawn on them) where {total} is between 1 and {}: Rézone CPTS hides a profession in a commune with fewer than {REZONE_SHOWN_FROM} members, so these are the communes whose {lower} founders do not see there (a commune with none shows 0 and is not counted).", REZONE_SHOWN_FROM - 1)),
                    sources: RPPS,
                    note_column: Some("rpps_note"),
                },
                Indicator {
                    id: leak(ids.rezone_hidden_practitioners),
                    label: leak(format!("{label} dans les communes masquées par Rézone")),
                    unit: "professionnels",
                    definition: leak(format!("Sum of {total} over the units counted by rpps_{}_rezone_hidden_communes.", p.key)),
                    sources: RPPS,
                    note_column: Some("rpps_note"),
                },
            ]);
        }
        if let Some(column) = &p.cartosante_column {
            v.push(Indicator {
                id: leak(ids.cartosante_per_10k),
                label: leak(format!("{label} libéraux pour 10 000 hab. (CartoSanté, estimation par bassin de vie)")),
                unit: "pour 10 000 hab.",
                definition: leak(format!("CartoSanté « {column} », published per bassin de vie 2022. For a bassin de vie (batch level bassin-de-vie): the published value. For any other scope: {CARTOSANTE_METHOD}.")),
                sources: CARTOSANTE,
                note_column: Some(leak(format!("cartosante_{}_note", p.key))),
            });
        }
    }
    v
}

/// The expression of a profession indicator, if `id` is one.
fn profession_expr(id: &str, g: &mut dyn Agg) -> Option<Expr> {
    for p in &Professions::embedded().list {
        let ids = profession_ids(&p.key);
        let total = format!("rpps_{}_total", p.key);
        let hidden = || col(total.as_str()).gt_eq(lit(1)).and(col(total.as_str()).lt(lit(REZONE_SHOWN_FROM)));
        let e = if id == ids.count {
            sum_present(g, &total)
        } else if id == ids.liberal {
            sum_present(g, &format!("rpps_{}_liberal", p.key))
        } else if id == ids.salaried {
            sum_present(g, &format!("rpps_{}_salaried", p.key))
        } else if id == ids.per_10k {
            let pop = population(g);
            ratio(sum_present(g, &total) * lit(10_000.0), pop)
        } else if id == ids.rezone_hidden_communes {
            let any = g.count(col(total.as_str())).gt(lit(0));
            when(any).then(g.sum(hidden().cast(DataType::Float64))).otherwise(null_f64())
        } else if id == ids.rezone_hidden_practitioners {
            let any = g.count(col(total.as_str())).gt(lit(0));
            when(any).then(g.sum(when(hidden()).then(f(&total)).otherwise(lit(0.0)))).otherwise(null_f64())
        } else if id == ids.cartosante_per_10k {
            weighted_by_population(g, &ids.cartosante_per_10k)
        } else {
            continue;
        };
        return Some(e);
    }
    None
}

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
///
/// A unit whose figure its publisher masked (note starting with [`MASKED_REASON`]) blocks the sum
/// too: the scope's total is unknown, and a sum over the others would pass for complete.
fn complete_sum(g: &mut dyn Agg, c: &str, note: &str) -> Expr {
    // Null notes are read as not masked after the test: filling them with "" first copied the
    // whole, mostly null, text column (five times per batch).
    let masked = col(note).str().starts_with(lit(MASKED_REASON)).fill_null(lit(false));
    let blocking = col(c).is_null().and(col("kind").eq(lit("arrondissement")).or(masked));
    when(g.sum(blocking.cast(DataType::Float64)).gt(lit(0.0))).then(null_f64()).otherwise(g.sum(f(c)))
}

fn population(g: &mut dyn Agg) -> Expr {
    g.sum(f("population"))
}

/// RPPS when the build had an extraction (`gp_count_rpps` filled), else BPE 2020.
fn gp_count(g: &mut dyn Agg) -> Expr {
    when(g.count(col("gp_count_rpps")).gt(lit(0)))
        .then(complete_sum(g, "gp_count_rpps", "gp_count_note"))
        .otherwise(complete_sum(g, "gp_count_bpe2020", "gp_count_note"))
}

/// Sum over the units that have a figure; null when none has.
fn sum_present(g: &mut dyn Agg, c: &str) -> Expr {
    when(g.count(col(c)).gt(lit(0))).then(g.sum(f(c))).otherwise(null_f64())
}

fn weighted_by_population(g: &mut dyn Agg, c: &str) -> Expr {
    let has = col(c).is_not_null();
    let den = g.sum(when(has.clone()).then(f("population")).otherwise(null_f64()));
    let num = g.sum(when(has).then(f(c) * f("population")).otherwise(null_f64()));
    when(den.clone().gt(lit(0.0))).then(num / den).otherwise(null_f64())
}

/// Short name of the GP source of a set of units (`RPPS`, `BPE 2020`, or none), for titles.
pub fn gp_source_short(units: &DataFrame) -> &'static str {
    let source = units.column("gp_source").ok().and_then(|c| c.str().ok().and_then(|s| s.get(0).map(str::to_string)));
    match source.as_deref() {
        Some(s) if s.starts_with("RPPS") => "RPPS",
        Some("none") => "no GP source",
        _ => "BPE 2020",
    }
}

/// Column of the curated table naming, per unit, the source or vintage actually used by an
/// indicator, and how the note introduces it.
pub fn source_column(id: &str) -> Option<(&'static str, &'static str)> {
    match id {
        "gp_count" | "inhabitants_per_gp" | "gp_per_100k" => Some(("gp_source", "source")),
        "population_0_14" | "population_15_29" | "population_30_44" | "population_45_59" | "population_60_74"
        | "population_75_plus" | "share_75_plus" => Some(("age_census", "census")),
        "ald_without_mt_share" => Some(("ald_year", "year")),
        "population_totale" | "population_comptee_a_part" => Some(("population_totale_vintage", "source")),
        _ if id.starts_with("rpps_") => Some(("rpps_source", "source")),
        _ => None,
    }
}

/// How a value was obtained when it is not a plain measurement of the scope, written next to
/// the number in every output.
pub fn method_note(id: &str, scope_kind: &str) -> Option<&'static str> {
    match (id, scope_kind) {
        ("ald_without_mt_share", "departement") => Some("measured: the département's published figure"),
        ("ald_without_mt_share", _) => Some(
            "ESTIMATE, not a measurement: mean of the published shares of the départements of its communes, weighted by the population of those communes",
        ),
        (_, _) if id.starts_with("cartosante_") => Some(CARTOSANTE_METHOD),
        _ => None,
    }
}

fn area(g: &mut dyn Agg) -> Expr {
    complete_sum(g, "area_km2", "area_note")
}

fn apl_weighted(g: &mut dyn Agg, apl: &str, weight: &str) -> Expr {
    let has = col(apl).is_not_null();
    let den = g.sum(when(has.clone()).then(f(weight)).otherwise(null_f64()));
    let num = g.sum(when(has).then(f(apl) * f(weight)).otherwise(null_f64()));
    when(den.clone().gt(lit(0.0))).then(num / den).otherwise(null_f64())
}

fn population_with_apl(g: &mut dyn Agg) -> Expr {
    g.sum(when(col("apl_mg_2023").is_not_null()).then(f("population")).otherwise(null_f64()))
}

fn population_apl_below(g: &mut dyn Agg) -> Expr {
    let below = g.sum(when(col("apl_mg_2023").lt(lit(APL_THRESHOLD))).then(f("population")).otherwise(lit(0.0)));
    when(g.count(col("apl_mg_2023")).gt(lit(0))).then(below).otherwise(null_f64())
}

/// Guarded ratio: null when the denominator is null or zero.
fn ratio(num: Expr, den: Expr) -> Expr {
    when(den.clone().gt(lit(0.0))).then(num / den).otherwise(null_f64())
}

/// The two aggregates every indicator is written with. [`Inline`] takes them in place (one
/// aggregate expression per indicator: a `select` over a territory's units); [`Plan`] splits each
/// indicator into row columns, plain sums and counts of them, and a final expression over those,
/// so that a `group_by` runs only polars' vectorised sum and count kernels, and a level whose
/// groups are single units (communes) needs no `group_by` at all.
trait Agg {
    /// Sum of a Float64 row expression over the units (nulls add nothing; no unit gives 0).
    fn sum(&mut self, row: Expr) -> Expr;
    /// Number of units where a row expression is not null.
    fn count(&mut self, row: Expr) -> Expr;
}

struct Inline;

impl Agg for Inline {
    fn sum(&mut self, row: Expr) -> Expr {
        row.sum()
    }
    fn count(&mut self, row: Expr) -> Expr {
        row.count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggKind {
    Sum,
    Count,
}

/// Every indicator split into its aggregates (see [`Agg`]); build it with [`plan`].
#[derive(Clone)]
pub struct Plan {
    /// Row expressions the aggregates read (see [`Plan::inputs`]).
    rows: Vec<Expr>,
    aggs: Vec<AggKind>,
    /// Each registered aggregate's index, by kind and row expression.
    keys: PlHashMap<(AggKind, Expr), usize>,
    /// Every indicator over the aggregate columns `__agg{i}`, aliased to its id, in the order of
    /// [`INDICATORS`].
    pub finals: Vec<Expr>,
}

impl Agg for Plan {
    fn sum(&mut self, row: Expr) -> Expr {
        self.register(row, AggKind::Sum)
    }
    fn count(&mut self, row: Expr) -> Expr {
        self.register(row, AggKind::Count)
    }
}

impl Plan {
    fn register(&mut self, row: Expr, kind: AggKind) -> Expr {
        // The same sum recurs in many indicators (the population in every density): one column.
        // Looked up by the expression itself: keyed by its `Debug` text, searched in a list, the
        // plan took ~0.5 ms of every command.
        let next = self.rows.len();
        let i = *self.keys.entry((kind, row.clone())).or_insert(next);
        if i == next {
            self.rows.push(row);
            self.aggs.push(kind);
        }
        col(format!("__agg{i}"))
    }

    /// The row expressions the aggregates read, each aliased `__in{i}`: add them to the unit rows.
    pub fn inputs(&self) -> Vec<Expr> {
        self.rows.iter().enumerate().map(|(i, r)| r.clone().alias(format!("__in{i}"))).collect()
    }

    /// Each aggregate: its input column, its own column name and its kind, for callers that
    /// take the sums and counts themselves.
    pub fn aggregates(&self) -> Vec<(String, String, AggKind)> {
        self.aggs.iter().enumerate().map(|(i, k)| (format!("__in{i}"), format!("__agg{i}"), *k)).collect()
    }

    /// The aggregates of groups of one unit each, row by row (what a sum and a count give
    /// over a group of one row: a null adds nothing to a sum, and is not counted).
    /// Read from the unit rows themselves: no `__in` column is needed.
    pub fn single_unit_aggs(&self) -> Vec<Expr> {
        self.aggs
            .iter()
            .zip(&self.rows)
            .enumerate()
            .map(|(i, (k, row))| {
                let c = row.clone();
                match k {
                    AggKind::Sum => c.fill_null(lit(0.0)),
                    AggKind::Count => c.is_not_null().cast(IDX_DTYPE),
                }
                .alias(format!("__agg{i}"))
            })
            .collect()
    }
}

fn build(id: &str, g: &mut dyn Agg) -> Expr {
    let e = match id {
        "communes_count" => g.count(col("code")).cast(DataType::Float64),
        "population" => population(g),
        "population_totale" => complete_sum(g, "population_totale", "population_totale_note"),
        "population_comptee_a_part" => complete_sum(g, "population_comptee_a_part", "population_totale_note"),
        "area_km2" => area(g),
        "density_per_km2" => {
            let pop = population(g);
            ratio(pop, area(g))
        }
        "gp_count" => gp_count(g),
        "inhabitants_per_gp" => {
            let pop = population(g);
            ratio(pop, gp_count(g))
        }
        "gp_per_100k" => {
            let gps = gp_count(g);
            ratio(gps * lit(100_000.0), population(g))
        }
        "apl_mg" => apl_weighted(g, "apl_mg_2023", "apl_pop_std_2023"),
        "apl_mg_u65" => apl_weighted(g, "apl_mg_u65_2023", "apl_pop_std_2023"),
        "apl_mg_2022" => apl_weighted(g, "apl_mg_2022", "apl_pop_std_2022"),
        "population_apl_below_2_5" => population_apl_below(g),
        "share_population_apl_below_2_5" => {
            let below = population_apl_below(g);
            ratio(below * lit(100.0), population_with_apl(g))
        }
        "apl_population_coverage" => {
            let with = population_with_apl(g);
            ratio(with * lit(100.0), population(g))
        }
        "population_0_14" => sum_present(g, "pop_0_14"),
        "population_15_29" => sum_present(g, "pop_15_29"),
        "population_30_44" => sum_present(g, "pop_30_44"),
        "population_45_59" => sum_present(g, "pop_45_59"),
        "population_60_74" => sum_present(g, "pop_60_74"),
        "population_75_plus" => sum_present(g, "pop_75p"),
        "share_75_plus" => {
            let old = sum_present(g, "pop_75p");
            ratio(old * lit(100.0), sum_present(g, "census_pop"))
        }
        "ald_without_mt_share" => weighted_by_population(g, "ald_no_mt_share_dep"),
        other => profession_expr(other, g).unwrap_or_else(|| panic!("unknown indicator {other}: add it to INDICATORS")),
    };
    e.alias(id)
}

/// The polars expression of an indicator, aliased to its id, as a Float64: one aggregate
/// expression over unit rows.
pub fn expr(id: &str) -> Expr {
    build(id, &mut Inline)
}

/// Every indicator's expression, in the order of [`INDICATORS`].
pub fn all_exprs() -> Vec<Expr> {
    INDICATORS.iter().map(|i| expr(i.id)).collect()
}

/// Every indicator, in the order of [`INDICATORS`], split into row inputs, plain aggregates and
/// final expressions (see [`Agg`]): the same definitions as [`all_exprs`].
pub fn plan() -> Plan {
    let mut p = Plan { rows: Vec::new(), aggs: Vec::new(), keys: PlHashMap::new(), finals: Vec::new() };
    for i in INDICATORS.iter() {
        let e = build(i.id, &mut p);
        p.finals.push(e);
    }
    p
}

/// Distinct reasons, over the given unit rows, why `note_column` figures are absent.
pub fn missing_reasons(units: &DataFrame, note_column: &str) -> PolarsResult<Vec<String>> {
    const SHOWN: usize = 5;
    let notes = units.column(note_column)?.str()?;
    let codes = units.column("code")?.str()?;
    // Reasons in order of first appearance, each with its first codes and a count.
    let mut by_reason: Vec<(&str, Vec<&str>, usize)> = Vec::new();
    let mut last = 0;
    // A unit without code is not counted (the curated table has none); codes are looked up for
    // the few cells shown, not read for every row.
    let every_code = codes.null_count() == 0;
    let mut row = 0;
    // View by view: a cell whose 16-byte view (length, prefix, buffer, offset) equals the previous
    // cell's holds the same text, without decoding or comparing it. France's scope reads thirteen
    // note columns of 35 000 rows, most repeating one long reason stored once.
    // Cells of `last` counted since it last showed a code, once it shows all it can.
    let mut pending = 0;
    let mut full = false;
    for (chunk, arr) in notes.chunks().iter().zip(notes.downcast_iter()) {
        let validity = chunk.validity();
        let mut last_view: Option<u128> = None;
        for (k, view) in arr.views().iter().enumerate() {
            let i = row;
            row += 1;
            if validity.is_some_and(|b| !b.get_bit(k)) || (!every_code && codes.get(i).is_none()) {
                continue;
            }
            let v = view.as_u128();
            if full && last_view == Some(v) {
                pending += 1;
                continue;
            }
            if let Some((_, _, count)) = by_reason.get_mut(last) {
                *count += std::mem::take(&mut pending);
            }
            let at = if last_view == Some(v) {
                last
            } else {
                let n = arr.value(k);
                by_reason.iter().position(|(r, _, _)| *r == n).unwrap_or_else(|| {
                    by_reason.push((n, Vec::new(), 0));
                    by_reason.len() - 1
                })
            };
            last_view = Some(v);
            let (_, shown, count) = &mut by_reason[at];
            if shown.len() < SHOWN {
                shown.extend(codes.get(i));
            }
            *count += 1;
            full = shown.len() >= SHOWN;
            last = at;
        }
    }
    if let Some((_, _, count)) = by_reason.get_mut(last) {
        *count += pending;
    }
    Ok(by_reason
        .into_iter()
        .map(|(r, shown, count)| {
            let more = if count > SHOWN { format!(" and {} more", count - SHOWN) } else { String::new() };
            format!("{r} ({}{more})", shown.join(", "))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_whether_equal_texts_share_storage_or_not() {
        let long = "APL 2023 absente : commune créée après le millésime de la DREES";
        let other = "BPE 2020 : commune fusionnée depuis, chiffres de la commune nouvelle";
        // Two chunks: the first gathers one stored text into several cells (their views point at
        // one address, as a Parquet dictionary decodes), the second holds equal texts built apart.
        let stored = StringChunked::from_slice("n".into(), &[long, other]);
        let picks = IdxCa::from_slice_options("i".into(), &[Some(0), Some(0), None, Some(1), Some(0)]);
        let a = stored.take(&picks).unwrap();
        let (p0, p1) = (a.get(0).unwrap(), a.get(1).unwrap());
        assert!(std::ptr::eq(p0, p1), "the test needs cells that share their text");
        let owned: Vec<String> = (0..4).map(|_| long.to_string()).collect();
        let b = StringChunked::from_iter_options(
            "n".into(),
            [Some(owned[0].as_str()), Some(other), Some(owned[1].as_str()), Some(owned[2].as_str())].into_iter(),
        );
        let mut notes = a.clone();
        notes.append(&b).unwrap();
        assert_eq!(notes.chunks().len(), 2);
        let codes: Vec<String> = (1..=9).map(|i| format!("0100{i}")).collect();
        let units =
            DataFrame::new(9, vec![Column::new("code".into(), &codes), notes.into_series().into_column()]).unwrap();
        assert_eq!(
            missing_reasons(&units, "n").unwrap(),
            [format!("{long} (01001, 01002, 01005, 01006, 01008 and 1 more)"), format!("{other} (01004, 01007)")]
        );
        // Long runs of one stored text past the codes shown, broken by another reason, then resumed.
        let picks: Vec<Option<IdxSize>> = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0].into_iter().map(Some).collect();
        let notes = stored.take(&IdxCa::from_slice_options("i".into(), &picks)).unwrap();
        let codes: Vec<String> = (10..22).map(|i| format!("010{i}")).collect();
        let units =
            DataFrame::new(12, vec![Column::new("code".into(), &codes), notes.into_series().into_column()]).unwrap();
        assert_eq!(
            missing_reasons(&units, "n").unwrap(),
            [format!("{long} (01010, 01011, 01012, 01013, 01014 and 6 more)"), format!("{other} (01018)")]
        );
    }
}
