//! The first-line professions of the diagnostic, loaded from `data/reference/professions.toml`:
//! how each one is recognised in the RPPS and which CartoSanté column publishes its density. The
//! list is data (embedded, so the binary works from any folder); code iterates over it and never
//! names a profession.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{Error, Result};

pub const EMBEDDED: &str = include_str!("../data/reference/professions.toml");

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profession {
    /// Column and indicator prefix (`rpps_<key>_total`, `cartosante_<key>_per_10k`).
    pub key: String,
    /// French label, plural, as founders read it.
    pub label: String,
    /// A few words for a chart panel.
    pub short_label: String,
    /// TRE_G15 codes of `Code profession`; empty when the RPPS does not list it (pharmacies).
    #[serde(default)]
    pub rpps_professions: Vec<String>,
    /// When not empty, the activity counts only with one of these `Code savoir-faire`.
    #[serde(default)]
    pub rpps_savoir_faire: Vec<String>,
    /// Header of the CartoSanté column of its density per 10 000 inhabitants.
    pub cartosante_column: Option<String>,
}

impl Profession {
    /// The year CartoSanté writes at the end of the column header (`… lib. 2024`).
    pub fn cartosante_year(&self) -> Option<&str> {
        let last = self.cartosante_column.as_deref()?.rsplit(' ').next()?;
        (last.len() == 4 && last.bytes().all(|b| b.is_ascii_digit())).then_some(last)
    }
}

impl Profession {
    pub fn in_rpps(&self) -> bool {
        !self.rpps_professions.is_empty()
    }
    /// Does an activity row with these codes belong to this profession?
    pub fn matches(&self, profession: &[u8], savoir_faire: &[u8]) -> bool {
        self.rpps_professions.iter().any(|c| c.as_bytes() == profession)
            && (self.rpps_savoir_faire.is_empty()
                || self.rpps_savoir_faire.iter().any(|c| c.as_bytes() == savoir_faire))
    }
}

#[derive(Debug, Clone, Deserialize)]
struct File {
    profession: Vec<Profession>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Professions {
    pub list: Vec<Profession>,
}

impl Professions {
    pub fn parse(text: &str, origin: &str) -> Result<Professions> {
        let f: File = toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let p = Professions { list: f.profession };
        p.validate().map_err(|m| Error::Config(format!("{origin}: {m}")))?;
        Ok(p)
    }

    /// The embedded table, parsed once.
    pub fn embedded() -> &'static Professions {
        static P: OnceLock<Professions> = OnceLock::new();
        P.get_or_init(|| {
            Professions::parse(EMBEDDED, "data/reference/professions.toml")
                .expect("the embedded table is valid (tested)")
        })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        for (i, p) in self.list.iter().enumerate() {
            if p.key.is_empty() || !p.key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(format!("profession {}: key {:?} must be lowercase ascii and _", i + 1, p.key));
            }
            if self.list[..i].iter().any(|q| q.key == p.key) {
                return Err(format!("profession key {:?} appears twice", p.key));
            }
            if !p.in_rpps() && p.cartosante_column.is_none() {
                return Err(format!("profession {:?} has neither RPPS codes nor a CartoSanté column", p.key));
            }
            if !p.in_rpps() && !p.rpps_savoir_faire.is_empty() {
                return Err(format!("profession {:?} has savoir-faire codes but no RPPS profession code", p.key));
            }
        }
        // An activity must belong to one profession at most, or it would be counted twice.
        for (i, p) in self.list.iter().enumerate() {
            for q in &self.list[..i] {
                for code in p.rpps_professions.iter().filter(|c| q.rpps_professions.contains(c)) {
                    let overlap = p.rpps_savoir_faire.is_empty()
                        || q.rpps_savoir_faire.is_empty()
                        || p.rpps_savoir_faire.iter().any(|s| q.rpps_savoir_faire.contains(s));
                    if overlap {
                        return Err(format!("RPPS profession {code} matches both {:?} and {:?}", q.key, p.key));
                    }
                }
            }
        }
        Ok(())
    }

    /// Professions counted in the RPPS, in table order.
    pub fn rpps(&self) -> impl Iterator<Item = &Profession> {
        self.list.iter().filter(|p| p.in_rpps())
    }

    /// Professions with a CartoSanté density, in table order.
    pub fn cartosante(&self) -> impl Iterator<Item = &Profession> {
        self.list.iter().filter(|p| p.cartosante_column.is_some())
    }

    /// Index among [`Professions::rpps`] of the profession of an activity row.
    pub fn classify(&self, profession: &[u8], savoir_faire: &[u8]) -> Option<usize> {
        self.rpps().position(|p| p.matches(profession, savoir_faire))
    }

    pub fn get(&self, key: &str) -> Option<&Profession> {
        self.list.iter().find(|p| p.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_is_valid_and_classifies() {
        let p = Professions::embedded();
        let key = |prof: &[u8], sf: &[u8]| p.classify(prof, sf).map(|i| p.rpps().nth(i).unwrap().key.as_str());
        assert_eq!(key(b"10", b"SM54"), Some("gp"));
        assert_eq!(key(b"10", b"SM53"), Some("gp"));
        assert_eq!(key(b"10", b"SM26"), Some("gp"));
        // Pédiatrie and gynécologie-obstétrique are not general medicine.
        assert_eq!(key(b"10", b"SM40"), None);
        assert_eq!(key(b"10", b"SM20"), None);
        assert_eq!(key(b"10", b""), None);
        assert_eq!(key(b"60", b""), Some("nurse"));
        assert_eq!(key(b"69", b""), Some("nurse"));
        assert_eq!(key(b"70", b""), Some("physio"));
        assert_eq!(key(b"91", b""), Some("speech_therapist"));
        assert_eq!(key(b"80", b""), Some("podiatrist"));
        assert_eq!(key(b"99", b""), None);
        assert!(p.get("pharmacy").is_some_and(|x| !x.in_rpps() && x.cartosante_column.is_some()));
    }

    #[test]
    fn overlapping_or_malformed_entries_are_refused() {
        let two = "[[profession]]\nkey = \"a\"\nlabel = \"A\"\nshort_label = \"A\"\nrpps_professions = [\"60\"]\n\
                   [[profession]]\nkey = \"b\"\nlabel = \"B\"\nshort_label = \"B\"\nrpps_professions = [\"60\"]\n";
        assert!(Professions::parse(two, "t").unwrap_err().to_string().contains("matches both"));
        let split = "[[profession]]\nkey = \"a\"\nlabel = \"A\"\nshort_label = \"A\"\nrpps_professions = [\"10\"]\nrpps_savoir_faire = [\"SM54\"]\n\
                     [[profession]]\nkey = \"b\"\nlabel = \"B\"\nshort_label = \"B\"\nrpps_professions = [\"10\"]\nrpps_savoir_faire = [\"SM40\"]\n";
        assert_eq!(Professions::parse(split, "t").unwrap().list.len(), 2);
        let bad = "[[profession]]\nkey = \"A b\"\nlabel = \"A\"\nshort_label = \"A\"\nrpps_professions = [\"60\"]\n";
        assert!(Professions::parse(bad, "t").is_err());
        let nothing = "[[profession]]\nkey = \"a\"\nlabel = \"A\"\nshort_label = \"A\"\n";
        assert!(Professions::parse(nothing, "t").is_err());
    }
}
