//! Declared schemas of every output table: name, type, unit, definition. Writers refuse a frame
//! that drifts from its declaration, and `docs/schema.md` is generated from these lists.

use std::sync::LazyLock;

use crate::sinks::parquet::ColumnDoc;

const fn c(name: &'static str, dtype: &'static str, unit: &'static str, definition: &'static str) -> ColumnDoc {
    ColumnDoc { name, dtype, unit, definition }
}

/// `data/processed/communes.parquet` and a territory's `communes.parquet`: one row per COG 2026
/// unit (commune actuelle or arrondissement municipal): the fixed columns, then one group per
/// profession of `data/reference/professions.toml` ([`profession_columns`]).
pub static COMMUNES: LazyLock<Vec<ColumnDoc>> = LazyLock::new(|| {
    let mut v = COMMUNES_FIXED.to_vec();
    v.extend(profession_columns());
    v
});

const COMMUNES_FIXED: &[ColumnDoc] = &[
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
    c("population_totale", "int64", "habitants", "population totale (municipale + comptée à part), the figure the texts refer to by default: INSEE populations légales when the data folder has the file (millésime 2023), else DGCL EPCI members (millésime 2022); see population_totale_vintage"),
    c("population_comptee_a_part", "int64", "habitants", "population comptée à part of the same source and millésime as population_totale (population_totale less the municipale of that millésime)"),
    c("population_totale_vintage", "string", "", "source and millésime of population_totale; says so when it is not the millésime of `population`"),
    c("population_totale_millesime", "int64", "année", "millésime of population_totale (2023 INSEE, 2022 DGCL)"),
    c("population_totale_note", "string", "", "why population_totale is null (arrondissements municipaux without the INSEE file, communes outside any EPCI, COM)"),
    c(
        "apl_mg_2023",
        "float64",
        "consultations/an/habitant standardisé",
        "DREES APL to GPs 2023; merged communes: weighted by standardised population",
    ),
    c("apl_mg_u65_2023", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs under 65, 2023"),
    c("apl_pop_std_2023", "float64", "habitants standardisés", "DREES standardised population 2021 (APL weight)"),
    c("apl_pop_total_2023", "float64", "habitants", "DREES total population 2021"),
    c("apl_mg_2022", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs 2022"),
    c("apl_mg_u65_2022", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs under 65, 2022"),
    c("apl_pop_std_2022", "float64", "habitants standardisés", "DREES standardised population 2020"),
    c("apl_pop_total_2022", "float64", "habitants", "DREES total population 2020"),
    c(
        "gp_count_bpe2020",
        "int64",
        "médecins",
        "médecins généralistes libéraux, BPE 2020 (null for arrondissements: BPE counts the whole city)",
    ),
    c(
        "area_km2",
        "float64",
        "km²",
        "INSEE area (SUPERF of the base du comparateur de territoires; else the rcarlier compile of it); where INSEE has none, area_km2_boundaries (area_note says so)",
    ),
    c(
        "area_km2_boundaries",
        "float64",
        "km²",
        "area on the WGS84 ellipsoid (equal-area projection) of the unit's polygons in the commune boundaries (COG 2026, simplified); null without polygon",
    ),
    c(
        "lat",
        "float64",
        "degrés WGS84",
        "commune centre latitude: INSEE's where the area source has one (area-weighted for merged communes), else the centroid of the boundary polygon",
    ),
    c("lon", "float64", "degrés WGS84", "commune centre longitude (same rule as lat)"),
    c("bv2022", "string", "", "bassin de vie 2022 (code of its pole commune; arrondissements get their city's)"),
    c("bv2022_name", "string", "", "bassin de vie 2022 name"),
    c(
        "has_boundary",
        "bool",
        "",
        "the commune boundaries have a polygon for this unit (false: boundary changed recently, or COM; null when the boundaries were not read)",
    ),
    c("gp_count_note", "string", "", "why gp_count_bpe2020 is null"),
    c("apl_note", "string", "", "why apl_mg_2023 is null"),
    c("area_note", "string", "", "why area_km2 is null, or that it comes from the boundaries"),
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

/// `geometry.parquet`: GeoParquet 1.1 (see `geo::geoparquet`).
pub const GEOMETRY: &[ColumnDoc] = &[
    c("code", "string", "", "COG 2026 code of the commune or arrondissement municipal"),
    c("name", "string", "", "name in the boundaries file"),
    c("kind", "string", "", "`commune` or `arrondissement`"),
    c("note", "string", "", "what was repaired when reading the boundaries (e.g. a self-intersecting ring), else null"),
    c(
        "bbox",
        "struct",
        "degrees (lon/lat WGS84)",
        "bounding box of `geometry`: struct of `xmin`, `ymin`, `xmax`, `ymax` (float64); GeoParquet 1.1 bbox covering, so that a reader decodes only the row groups (1 024 units, in code order) it draws",
    ),
    c(
        "geometry",
        "binary",
        "WKB, lon/lat WGS84 (OGC:CRS84)",
        "MultiPolygon, valid (repaired with the even-odd rule where the published ring was not); GeoParquet 1.1 primary column",
    ),
    c(
        "geometry_published",
        "binary",
        "WKB, lon/lat WGS84",
        "the rings as published when `geometry` differs from them (repaired, or dissolved from an older vintage), for shared-border adjacency; null elsewhere",
    ),
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

/// `reports/access/communes.parquet` (`cpts-diag access`): the calibrated model beside DREES.
pub const ACCESS_COMMUNES: &[ColumnDoc] = &[
    c("code", "string", "", "INSEE code, COG 2026 (commune, or arrondissement municipal for Paris, Lyon, Marseille)"),
    c("name", "string", "", "official name"),
    c("departement", "string", "", "département code"),
    c("gps", "float64", "médecins", "GPs in the model: RPPS when present, else BPE 2020; arrondissements: population share of their city's BPE count"),
    c("demand", "float64", "habitants standardisés", "DREES standardised population 2021 (the model's demand)"),
    c("apl_model", "float64", "consultations/an/habitant standardisé", "E2SFCA model APL with the calibrated parameters (docs/access.md)"),
    c("apl_drees", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs 2023"),
    c("residual", "float64", "consultations/an/habitant standardisé", "apl_model − apl_drees"),
];

/// A territory's `scenarios.parquet` (diagnose with `[[scenario]]` or `--add-gps`).
pub const SCENARIOS: &[ColumnDoc] = &[
    c("scenario", "string", "", "scenario name"),
    c("code", "string", "", "INSEE code, COG 2026 (territory units, then units outside it whose APL moves)"),
    c("apl_mg_baseline", "float64", "consultations/an/habitant standardisé", "DREES APL to GPs 2023"),
    c(
        "apl_mg_scenario",
        "float64",
        "consultations/an/habitant standardisé",
        "DREES APL 2023 plus the model's change (scenario minus baseline)",
    ),
    c("delta", "float64", "consultations/an/habitant standardisé", "apl_mg_scenario − apl_mg_baseline"),
    c("population", "float64", "habitants", "population municipale, millésime 2023"),
    c("in_territory", "bool", "", "the unit belongs to the territory (false: a neighbour the change spills over to)"),
];

/// Key and context columns of each batch table, before the indicator columns.
pub const BATCH_COMMUNE_KEYS: &[ColumnDoc] = &[
    c("code", "string", "", "INSEE code, COG 2026 (commune or arrondissement municipal): the unit of this table"),
    c("name", "string", "", "official name"),
    c("kind", "string", "", "`commune` or `arrondissement` (municipal); sum populations over `kind = commune` only"),
    c("parent_code", "string", "", "for an arrondissement, the code of its commune (75056, 69123, 13055)"),
    c("zone", "string", "", "`metro`, `drom` or `com`"),
    c("departement", "string", "", "département code"),
    c("departement_name", "string", "", "département name"),
    c("region", "string", "", "région code"),
    c("region_name", "string", "", "région name"),
    c("epci", "string", "", "SIREN of the EPCI à fiscalité propre (COG 2026 composition)"),
    c("epci_name", "string", "", "EPCI name"),
    c("bv2022", "string", "", "bassin de vie 2022 (code of its pole commune)"),
    c("bv2022_name", "string", "", "bassin de vie 2022 name"),
];

const MAIN_DEP: ColumnDoc =
    c("departement", "string", "", "département of the unit's most populous commune (see `departements` for all)");
const MAIN_DEP_NAME: ColumnDoc = c("departement_name", "string", "", "name of `departement`");
const MAIN_REG: ColumnDoc =
    c("region", "string", "", "région of the unit's most populous commune (see `regions` for all); the partition key");
const MAIN_REG_NAME: ColumnDoc = c("region_name", "string", "", "name of `region`");
const ALL_DEPS: ColumnDoc =
    c("departements", "string", "", "every département the unit touches, comma-separated, sorted");
const ALL_REGS: ColumnDoc = c("regions", "string", "", "every région the unit touches, comma-separated, sorted");

pub const BATCH_EPCI_KEYS: &[ColumnDoc] = &[
    c("epci", "string", "", "SIREN of the EPCI à fiscalité propre (DGCL composition on 1 January 2026)"),
    c("epci_name", "string", "", "EPCI name"),
    MAIN_DEP,
    MAIN_DEP_NAME,
    MAIN_REG,
    MAIN_REG_NAME,
    ALL_DEPS,
    ALL_REGS,
];

pub const BATCH_BASSIN_VIE_KEYS: &[ColumnDoc] = &[
    c("bv2022", "string", "", "bassin de vie 2022 (INSEE zonage; the code of its pole commune)"),
    c("bv2022_name", "string", "", "bassin de vie 2022 name"),
    MAIN_DEP,
    MAIN_DEP_NAME,
    MAIN_REG,
    MAIN_REG_NAME,
    ALL_DEPS,
    ALL_REGS,
];

pub const BATCH_DEPARTEMENT_KEYS: &[ColumnDoc] = &[
    c("departement", "string", "", "département code (COM included, with `zone = com`)"),
    c("departement_name", "string", "", "département name"),
    c("region", "string", "", "région code"),
    c("region_name", "string", "", "région name"),
    c("zone", "string", "", "`metro`, `drom` or `com`"),
];

pub const BATCH_REGION_KEYS: &[ColumnDoc] = &[
    c("region", "string", "", "région code (COM included, with `zone = com`)"),
    c("region_name", "string", "", "région name"),
    c("zone", "string", "", "`metro`, `drom` or `com`"),
];

pub const BATCH_TERRITORY_KEYS: &[ColumnDoc] = &[
    c("territory", "string", "", "territory file name without `.toml` (data/territories/)"),
    c("territory_name", "string", "", "`name` of the territory file"),
    MAIN_DEP,
    MAIN_DEP_NAME,
    MAIN_REG,
    MAIN_REG_NAME,
    ALL_DEPS,
    ALL_REGS,
];

/// ACI columns of every batch table, from `aci::Grid::exprs` on the unit's population of the
/// grid's basis, and the bands under both populations.
pub const BATCH_ACI: &[ColumnDoc] = &[
    c(
        "aci_population_basis",
        "string",
        "",
        "population the ACI columns below count: `totale` (default of data/reference/aci.toml, the rule of the decrees on populations légales) or `municipale` (`--population`)",
    ),
    c(
        "aci_band",
        "int64",
        "taille",
        "ACI CPTS size band (1 to 4) of the unit's population on `aci_population_basis` (grid: data/reference/aci.toml); null when that population is",
    ),
    c("aci_max_annual_funding_eur", "int64", "euros/an", "maximal annual ACI 2019 funding of that band"),
    c(
        "aci_inhabitants_to_next_band",
        "int64",
        "habitants",
        "inhabitants (on `aci_population_basis`) to add to reach the next band; null in the last band",
    ),
    c("aci_band_municipale", "int64", "taille", "ACI band of `population` (population municipale, millésime 2023)"),
    c(
        "aci_band_totale",
        "int64",
        "taille",
        "ACI band of `population_totale` (its millésime in `population_totale_vintage`: 2022 from the DGCL unless the INSEE file is present)",
    ),
    c(
        "aci_band_municipale_same_millesime",
        "int64",
        "taille",
        "ACI band of the population municipale of the millésime of `population_totale` (population_totale − population_comptee_a_part): compare it with `aci_band_totale` to see what the comptée à part alone changes, without mixing millésimes",
    ),
    c(
        "population_totale_vintage",
        "string",
        "",
        "sources and millésimes of `population_totale` over the unit's communes (` | `-separated); says so when it is not the millésime of `population`",
    ),
];

/// Why figures are missing, per curated note column, for every batch table.
pub const BATCH_NOTES: &[ColumnDoc] = &[
    c("population_totale_note", "string", "", "reasons, with unit counts, why some units have no population totale (arrondissements municipaux, communes outside any EPCI, COM); population_totale is null when an arrondissement lacks one, else partial"),
    c("gp_count_note", "string", "", "reasons, with unit counts, why some units have no BPE figure; gp_count, inhabitants_per_gp and gp_per_100k are null when an arrondissement lacks one, else partial"),
    c("apl_note", "string", "", "reasons, with unit counts, why some units have no APL 2023; APL indicators cover the other units"),
    c("area_note", "string", "", "reasons, with unit counts, why some units have no area; area_km2 and density are null when an arrondissement lacks one, else partial"),
    c("age_note", "string", "", "reasons, with unit counts, why some units have no INSEE age structure (file absent, or commune missing from it)"),
    c("ald_note", "string", "", "reasons, with unit counts, why some units have no département share of ALD patients without médecin traitant"),
];

/// Curated columns of the professions: RPPS counts (when the table gives RPPS codes) and the
/// CartoSanté density of the unit's bassin de vie (when it names a CartoSanté column).
pub fn profession_columns() -> Vec<ColumnDoc> {
    let professions = crate::professions::Professions::embedded();
    let mut v = vec![
        c("rpps_source", "string", "", "RPPS extraction the profession counts come from (`RPPS (<file>)`; its layout is in normalization_report.json); empty when none was in the data folder"),
        c("rpps_note", "string", "", "why the rpps_*_total counts are null (no RPPS extraction in the data folder: `cpts-diag fetch rpps`; collectivités d'outre-mer)"),
        c("rpps_mode_note", "string", "", "why the rpps_*_liberal and rpps_*_salaried counts are null (as rpps_note, or an extraction layout without `Code mode exercice`)"),
    ];
    for p in professions.rpps() {
        let codes = p.rpps_professions.join(", ");
        let sf = if p.rpps_savoir_faire.is_empty() {
            String::new()
        } else {
            format!(", savoir-faire {}", p.rpps_savoir_faire.join("/"))
        };
        v.push(c(
            leak(format!("rpps_{}_total", p.key)),
            "int64",
            "professionnels",
            leak(format!("{} (RPPS profession {codes}{sf}) practising in the unit, each practitioner counted once per unit whatever their number of activities there; a city's row counts its arrondissements' practitioners once; 0 when none (the RPPS is exhaustive); null without an extraction (see rpps_note)", p.label)),
        ));
        v.push(c(
            leak(format!("rpps_{}_liberal", p.key)),
            "int64",
            "professionnels",
            leak(format!("{} with at least one libéral activity (`Code mode exercice` L) in the unit; null when the extraction has no mode (see rpps_mode_note)", p.label)),
        ));
        v.push(c(
            leak(format!("rpps_{}_salaried", p.key)),
            "int64",
            "professionnels",
            leak(format!("{} with at least one salaried activity (`Code mode exercice` S) in the unit; a practitioner with both modes counts in both", p.label)),
        ));
    }
    for p in professions.cartosante() {
        let column = p.cartosante_column.as_deref().unwrap_or_default();
        v.push(c(
            leak(format!("cartosante_{}_per_10k", p.key)),
            "float64",
            "pour 10 000 hab.",
            leak(format!("{} : CartoSanté « {column} » of the unit's BASSIN DE VIE 2022 (published per bassin de vie only, the same for every commune of it; not a commune figure)", p.label)),
        ));
        v.push(c(
            leak(format!("cartosante_{}_note", p.key)),
            "string",
            "",
            leak(format!("why cartosante_{}_per_10k is null (export absent, bassin de vie without a row, value masked by the publisher)", p.key)),
        ));
    }
    v
}

fn profession_batch_notes() -> Vec<ColumnDoc> {
    let mut v = vec![
        c("rpps_note", "string", "", "reasons, with unit counts, why some units have no RPPS profession counts"),
        c(
            "rpps_mode_note",
            "string",
            "",
            "reasons, with unit counts, why some units have no libéral/salarié RPPS counts",
        ),
    ];
    for p in crate::professions::Professions::embedded().cartosante() {
        v.push(c(
            leak(format!("cartosante_{}_note", p.key)),
            "string",
            "",
            leak(format!(
                "reasons, with unit counts, why some units have no CartoSanté density of {}",
                p.label.to_lowercase()
            )),
        ));
    }
    v
}

/// Columns `coverage` adds to the batch row of each CPTS.
pub const COVERAGE_EXTRA: &[ColumnDoc] = &[
    c("listed_at", "string", "", "where the CPTS is listed: `file:line` (CSV), or the file (GeoJSON, TOML)"),
    c("shared_units_count", "int64", "unités", "units of the CPTS also listed by another CPTS"),
    c(
        "shared_units",
        "string",
        "",
        "units also listed by another CPTS: `code name (other CPTS)`, `; `-separated; null when none. They count fully in each CPTS's figures",
    ),
    c("neighbour_cpts", "string", "", "CPTS sharing a border with this one (commune boundaries COG 2026), `; `-separated; null when none or without boundaries"),
    c("units_outside_region", "string", "", "listed codes outside the région of the coverage, comma-separated; counted in the CPTS's figures"),
];

/// `cpts.parquet` of `coverage`: the batch row of each CPTS (`territory` is a slug of its name)
/// and the coverage columns.
pub fn coverage_cpts() -> &'static [ColumnDoc] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<ColumnDoc>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut v = batch(crate::level::Level::Territories).to_vec();
        v.extend_from_slice(COVERAGE_EXTRA);
        v
    })
}

/// Partitioned tables drop their partition column from the files: it lives in the folder name.
pub const PARTITION_COLUMN: &str = "region";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The declared columns of the batch table of `level`: keys, every indicator of
/// `indicators::INDICATORS` (float64), the ACI columns, the note columns (fixed, then the
/// professions'). Built once per level.
pub fn batch(level: crate::level::Level) -> &'static [ColumnDoc] {
    use crate::level::Level;
    use std::sync::OnceLock;
    static TABLES: [OnceLock<Vec<ColumnDoc>>; 6] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (i, keys) = match level {
        Level::Commune => (0, BATCH_COMMUNE_KEYS),
        Level::Epci => (1, BATCH_EPCI_KEYS),
        Level::BassinDeVie => (2, BATCH_BASSIN_VIE_KEYS),
        Level::Departement => (3, BATCH_DEPARTEMENT_KEYS),
        Level::Region => (4, BATCH_REGION_KEYS),
        Level::Territories => (5, BATCH_TERRITORY_KEYS),
    };
    TABLES[i].get_or_init(|| {
        let mut v = keys.to_vec();
        for ind in crate::indicators::INDICATORS.iter() {
            let srcs: Vec<String> = crate::sources::all()
                .into_iter()
                .filter(|s| ind.sources.contains(&s.id))
                .map(|s| format!("{} ({})", s.id, s.vintage))
                .collect();
            v.push(ColumnDoc {
                name: ind.id,
                dtype: "float64",
                unit: ind.unit,
                definition: leak(format!("{} Sources: {}.", ind.definition, srcs.join(", "))),
            });
        }
        v.extend_from_slice(BATCH_ACI);
        v.extend_from_slice(BATCH_NOTES);
        v.extend(profession_batch_notes());
        v
    })
}

/// The columns of one file of a partitioned batch table: the table's, less the partition column.
pub fn batch_partitioned(level: crate::level::Level) -> Vec<ColumnDoc> {
    batch(level).iter().filter(|c| c.name != PARTITION_COLUMN).cloned().collect()
}

/// Every output table: (heading id used by `scripts/check_outputs.py`, paths, what a row is, columns).
pub fn tables() -> Vec<(String, String, String, Vec<ColumnDoc>)> {
    let mut v = vec![
        (
            "communes".to_string(),
            "`data/processed/communes.parquet` (build), `reports/<territory>/communes.parquet` (diagnose)".to_string(),
            "one row per COG 2026 unit (commune actuelle or arrondissement municipal)".to_string(),
            COMMUNES.clone(),
        ),
        (
            "geometry".to_string(),
            "`data/processed/geometry.parquet` (build; GeoParquet 1.1, `geo` metadata: WKB, MultiPolygon, CRS omitted = OGC:CRS84)".to_string(),
            "one row per COG 2026 unit with a polygon (communes, Paris/Lyon/Marseille whole, and the 45 arrondissements municipaux), sorted by code".to_string(),
            GEOMETRY.to_vec(),
        ),
        (
            "indicators".to_string(),
            "`reports/<territory>/indicators.parquet` (diagnose)".to_string(),
            "long format, one row per (scope, indicator)".to_string(),
            INDICATORS_LONG.to_vec(),
        ),
        (
            "scenarios".to_string(),
            "`reports/<territory>/scenarios.parquet` (diagnose with scenarios)".to_string(),
            "one row per (scenario, unit)".to_string(),
            SCENARIOS.to_vec(),
        ),
        (
            "access".to_string(),
            "`reports/access/communes.parquet` (access)".to_string(),
            "one row per unit of the accessibility model".to_string(),
            ACCESS_COMMUNES.to_vec(),
        ),
    ];
    v.push((
        "coverage/cpts".to_string(),
        "`reports/coverage/cpts.parquet` and `cpts.csv` (coverage --listing FILE)".to_string(),
        "one row per CPTS of the listing (`territory`: a slug of its name)".to_string(),
        coverage_cpts().to_vec(),
    ));
    for level in crate::level::Level::ALL {
        v.push((
            format!("batch/{}", level.id()),
            format!("`reports/batch/{0}.parquet` and `reports/batch/{0}.csv` (batch --level {0})", level.id()),
            format!("one row per {}", level.noun()),
            batch(level).to_vec(),
        ));
        v.push((
            format!("batch/{}/partitioned", level.id()),
            format!("`reports/batch/{}/{PARTITION_COLUMN}=XX/part-0.parquet` (batch --partition-by {PARTITION_COLUMN})", level.id()),
            format!("the rows of `batch/{}` whose `{PARTITION_COLUMN}` is XX; `{PARTITION_COLUMN}` comes from the folder name (read it as a string: DuckDB `hive_types = {{'{PARTITION_COLUMN}': VARCHAR}}`)", level.id()),
            batch_partitioned(level),
        ));
    }
    v
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `docs/schema.md`, generated from the declarations above (`cpts-diag schema --out docs/schema.md`).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Output tables\n\n\
         Generated by `cpts-diag schema --out docs/schema.md` from `src/schema.rs`: do not edit by hand \
         (a test fails when this file and the declarations differ). Every Parquet file also carries its \
         column list in the key-value metadata `cpts_diag.columns` (JSON) and its sources with their \
         vintages in `cpts_diag.provenance`; writers refuse a frame that drifts from its declaration.\n\n\
         Types are polars' names: `string` (Parquet BYTE_ARRAY UTF8; DuckDB VARCHAR), `float64` (DOUBLE), \
         `int64` (BIGINT), `bool` (BOOLEAN), `binary` (BYTE_ARRAY; DuckDB BLOB, or GEOMETRY with the spatial extension). A null value has its reason in the matching `*_note` column.\n",
    );
    for (id, paths, row, cols) in tables() {
        s.push_str(&format!(
            "\n## {id}\n\n{paths}: {row}.\n\n| column | type | unit | definition |\n|---|---|---|---|\n"
        ));
        for c in cols {
            s.push_str(&format!("| `{}` | {} | {} | {} |\n", c.name, c.dtype, cell(c.unit), cell(c.definition)));
        }
    }
    s
}
