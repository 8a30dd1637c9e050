//! Declared schemas of every output table: name, type, unit, definition. Writers refuse a frame
//! that drifts from its declaration, and `docs/schema.md` is generated from these lists.

use crate::sinks::parquet::ColumnDoc;

const fn c(name: &'static str, dtype: &'static str, unit: &'static str, definition: &'static str) -> ColumnDoc {
    ColumnDoc { name, dtype, unit, definition }
}

/// `data/processed/communes.parquet` and a territory's `communes.parquet`: one row per COG 2026
/// unit (commune actuelle or arrondissement municipal).
pub const COMMUNES: &[ColumnDoc] = &[
    c("code", "string", "", "INSEE code, COG 2026 (commune or arrondissement municipal)"),
    c("name", "string", "", "official name"),
    c("kind", "string", "", "`commune` or `arrondissement` (municipal, Paris/Lyon/Marseille)"),
    c("parent_code", "string", "", "for an arrondissement, the code of its commune (75056, 69123, 13055)"),
    c("departement", "string", "", "département code"),
    c("departement_name", "string", "", "département name"),
    c("region", "string", "", "région code"),
    c("region_name", "string", "", "région name"),
    c("zone", "string", "", "`metro`, `drom` or `com`"),
    c("epci", "string", "", "SIREN of the EPCI à fiscalité propre (an arrondissement gets its city's)"),
    c("epci_name", "string", "", "EPCI name"),
    c("population", "int64", "habitants", "population municipale, populations légales millésime 2023 (COG 2026)"),
    c("apl_mg_2023", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs 2023; merged communes: weighted by standardised population"),
    c("apl_mg_u65_2023", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs under 65, 2023"),
    c("apl_pop_std_2023", "float64", "habitants standardisés", "DREES standardised population 2021 (APL weight)"),
    c("apl_pop_total_2023", "float64", "habitants", "DREES total population 2021"),
    c("apl_mg_2022", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs 2022"),
    c("apl_mg_u65_2022", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs under 65, 2022"),
    c("apl_pop_std_2022", "float64", "habitants standardisés", "DREES standardised population 2020"),
    c("apl_pop_total_2022", "float64", "habitants", "DREES total population 2020"),
    c("gp_count_bpe2020", "int64", "médecins", "médecins généralistes libéraux, BPE 2020 (null for arrondissements: BPE counts the whole city)"),
    c("area_km2", "float64", "km²", "INSEE area (comparateur de territoires 2024)"),
    c("lat", "float64", "degrés WGS84", "commune centre latitude (area-weighted for merged communes)"),
    c("lon", "float64", "degrés WGS84", "commune centre longitude"),
    c("bv2022", "string", "", "bassin de vie 2022 (code of its pole commune; arrondissements get their city's)"),
    c("bv2022_name", "string", "", "bassin de vie 2022 name"),
    c("has_boundary_2018", "bool", "", "a 2018 IGN polygon exists for this unit (false: split off after 2018, arrondissement, or COM)"),
    c("gp_count_note", "string", "", "why gp_count_bpe2020 is null"),
    c("apl_note", "string", "", "why apl_mg_2023 is null"),
    c("area_note", "string", "", "why area_km2 is null"),
    c("gp_count_rpps", "int64", "médecins", "GPs (profession 10, savoir-faire SM54/SM53/SM26) with a libéral activity in the unit, distinct practitioners, RPPS extraction; null when no extraction was in the data folder"),
    c("gp_source", "string", "", "source of the GP indicators: `RPPS (<extraction file>)` when present, else `BPE 2020`"),
    c("census_pop", "float64", "habitants", "census population of the INSEE age-structure file (denominator of the age shares)"),
    c("pop_0_14", "float64", "habitants", "population aged 0-14, INSEE census (see age_census)"),
    c("pop_15_29", "float64", "habitants", "population aged 15-29"),
    c("pop_30_44", "float64", "habitants", "population aged 30-44"),
    c("pop_45_59", "float64", "habitants", "population aged 45-59"),
    c("pop_60_74", "float64", "habitants", "population aged 60-74"),
    c("pop_75p", "float64", "habitants", "population aged 75 or more"),
    c("age_census", "string", "", "census of the age columns (`RP 2022`); empty when the file is absent"),
    c("age_note", "string", "", "why the age columns are null"),
    c("ald_no_mt_share_dep", "float64", "%", "share of the ALD patients without a médecin traitant in the unit's DÉPARTEMENT (data.ameli.fr; no commune figure exists)"),
    c("ald_year", "string", "", "year of ald_no_mt_share_dep"),
    c("ald_note", "string", "", "why ald_no_mt_share_dep is null"),
];

/// A territory's `indicators.parquet`: long format, one row per (scope, indicator).
pub const INDICATORS_LONG: &[ColumnDoc] = &[
    c("scope_kind", "string", "", "`territory`, `departement`, `region` or `france`"),
    c("scope_code", "string", "", "code of the département/région, `FR` for France, empty for the territory"),
    c("scope_name", "string", "", "name of the scope"),
    c("indicator", "string", "", "indicator id (see README, Indicators)"),
    c("label", "string", "", "French label"),
    c("value", "float64", "see `unit`", "value; null when unavailable (see `note`)"),
    c("unit", "string", "", "unit of `value`"),
    c("note", "string", "", "why a value is null, what a partial value leaves out, or the method of an estimate"),
    c("sources", "string", "", "source ids, comma-separated (see `sources` in summary.json)"),
    c("vintage", "string", "", "vintages of the sources"),
];
