//! Territory specifications (TOML file or command line) and their resolution to a set of COG 2026
//! units. Urban CPTS are drawn on arrondissements municipaux, so `75113` is a valid unit.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sources::decoupage::{Cog, UnitKind};
use crate::sources::table::{levenshtein, normalize_commune_code};
use crate::transforms::cog::{CogIndex, Resolution};

/// `data/territories/*.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TerritorySpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Commune or arrondissement codes (current or former).
    #[serde(default)]
    pub communes: Vec<String>,
    /// EPCI SIREN codes: all their member communes.
    #[serde(default)]
    pub epci: Vec<String>,
    /// Codes removed after the lists above are expanded.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl TerritorySpec {
    pub fn load(path: &Path) -> Result<TerritorySpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// `--communes 28088,28103`.
    pub fn from_codes(name: Option<&str>, codes: &str) -> TerritorySpec {
        let communes: Vec<String> = codes.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        TerritorySpec {
            name: name.map(str::to_string).unwrap_or_else(|| format!("communes {}", communes.join(", "))),
            communes,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Territory {
    pub name: String,
    pub description: Option<String>,
    /// COG 2026 unit codes, sorted, without duplicates or overlaps.
    pub codes: Vec<String>,
    pub warnings: Vec<String>,
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect()
}

/// Units whose code or name is closest to what was typed, for error messages.
fn suggestions(cog: &Cog, typed: &str) -> String {
    let t = fold(typed);
    let mut scored: Vec<(usize, &str, &str)> = cog
        .units
        .iter()
        .map(|u| {
            let d = if typed.chars().all(|c| c.is_ascii_alphanumeric()) && typed.len() <= 5 {
                levenshtein(typed, &u.code)
            } else {
                levenshtein(&t, &fold(&u.name))
            };
            (d, u.code.as_str(), u.name.as_str())
        })
        .collect();
    scored.sort();
    let close: Vec<String> =
        scored.iter().filter(|(d, _, _)| *d <= 2).take(5).map(|(_, c, n)| format!("{c} {n}")).collect();
    if close.is_empty() {
        String::new()
    } else {
        format!("; close matches: {}", close.join(", "))
    }
}

fn name_of<'a>(cog: &'a Cog, code: &str) -> &'a str {
    cog.units.iter().find(|u| u.code == code).map_or("?", |u| u.name.as_str())
}

/// Resolve one typed entry (a code, a former code or an exact commune name) to a COG 2026 unit.
fn resolve_entry(cog: &Cog, index: &CogIndex, spec_name: &str, raw: &str, warnings: &mut Vec<String>) -> Result<String> {
    let err = |m: String| Error::Territory { name: spec_name.to_string(), message: m };
    if let Some(code) = normalize_commune_code(raw) {
        return match index.resolve(&code) {
            Resolution::Current => Ok(code),
            Resolution::Remapped(to) => {
                warnings.push(format!("{code} is a former commune code, merged into {to} {} (COG 2026)", name_of(cog, &to)));
                Ok(to)
            }
            Resolution::Unknown => Err(err(format!("unknown commune code {code}{}", suggestions(cog, &code)))),
        };
    }
    let t = fold(raw.trim());
    let hits: Vec<&str> = cog.units.iter().filter(|u| fold(&u.name) == t).map(|u| u.code.as_str()).collect();
    match hits.as_slice() {
        [one] => {
            warnings.push(format!("\"{raw}\" read as commune {one} {}", name_of(cog, one)));
            Ok(one.to_string())
        }
        [] => Err(err(format!("\"{raw}\" is neither a commune code nor a commune name{}", suggestions(cog, raw)))),
        many => Err(err(format!("\"{raw}\" names several communes: {}; give the code", many.join(", ")))),
    }
}

pub fn resolve(spec: &TerritorySpec, cog: &Cog, index: &CogIndex) -> Result<Territory> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(Error::Territory { name: "(unnamed)".into(), message: "the territory needs a name".into() });
    }
    let mut warnings = Vec::new();
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut add = |code: String, from: &str, warnings: &mut Vec<String>| {
        if !set.insert(code.clone()) {
            warnings.push(format!("{code} listed more than once ({from})"));
        }
    };
    for raw in &spec.communes {
        let code = resolve_entry(cog, index, name, raw, &mut warnings)?;
        add(code, "communes", &mut warnings);
    }
    for siren in &spec.epci {
        let Some(e) = cog.epcis.iter().find(|e| &e.code == siren.trim()) else {
            let t = fold(siren);
            let mut close: Vec<(usize, String)> =
                cog.epcis.iter().map(|e| (levenshtein(&t, &fold(&e.name)).min(levenshtein(siren, &e.code)), format!("{} {}", e.code, e.name))).collect();
            close.sort();
            let close: Vec<String> = close.into_iter().filter(|(d, _)| *d <= 3).take(5).map(|(_, s)| s).collect();
            return Err(Error::Territory {
                name: name.to_string(),
                message: format!(
                    "unknown EPCI {siren}{}",
                    if close.is_empty() { String::new() } else { format!("; close matches: {}", close.join(", ")) }
                ),
            });
        };
        for m in &e.members {
            add(m.clone(), &format!("EPCI {}", e.code), &mut warnings);
        }
    }
    for raw in &spec.exclude {
        let code = resolve_entry(cog, index, name, raw, &mut warnings)?;
        if !set.remove(&code) {
            warnings.push(format!("exclude: {code} {} is not in the territory", name_of(cog, &code)));
        }
    }
    // An arrondissement inside a listed Paris/Lyon/Marseille would be counted twice.
    let overlapping: Vec<String> = set
        .iter()
        .filter(|c| index.kind(c) == Some(UnitKind::Arrondissement) && index.parent(c).is_some_and(|p| set.contains(p)))
        .cloned()
        .collect();
    for c in overlapping {
        warnings.push(format!("{c} dropped: its commune {} is already in the territory", index.parent(&c).unwrap_or("?")));
        set.remove(&c);
    }
    if set.is_empty() {
        return Err(Error::Territory { name: name.to_string(), message: "the territory has no commune".into() });
    }
    Ok(Territory { name: name.to_string(), description: spec.description.clone(), codes: set.into_iter().collect(), warnings })
}
