//! The levels of the national batch. Its own module so that `schema` (which declares each
//! level's table) and `batch` (which computes it) both depend on it, not on each other.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Level {
    Commune,
    Epci,
    BassinDeVie,
    Departement,
    Region,
    /// Every `data/territories/*.toml`.
    Territories,
}

impl Level {
    pub const ALL: [Level; 6] =
        [Level::Commune, Level::Epci, Level::BassinDeVie, Level::Departement, Level::Region, Level::Territories];

    /// The level's name on the command line and in file names.
    pub fn id(self) -> &'static str {
        match self {
            Level::Commune => "commune",
            Level::Epci => "epci",
            Level::BassinDeVie => "bassin-de-vie",
            Level::Departement => "departement",
            Level::Region => "region",
            Level::Territories => "territories",
        }
    }

    /// Column holding the unit's code in the batch table.
    pub fn key(self) -> &'static str {
        match self {
            Level::Commune => "code",
            Level::Epci => "epci",
            Level::BassinDeVie => "bv2022",
            Level::Departement => "departement",
            Level::Region => "region",
            Level::Territories => "territory",
        }
    }

    /// What a unit of this level is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Level::Commune => "commune or arrondissement",
            Level::Epci => "EPCI",
            Level::BassinDeVie => "bassin de vie",
            Level::Departement => "département",
            Level::Region => "région",
            Level::Territories => "territory",
        }
    }
}
