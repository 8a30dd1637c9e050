//! Transforms: bring every staged source to COG 2026 (`cog`) and join them into the curated
//! national tables (`curated`).

pub mod cog;
pub mod common;
pub mod curated;
pub mod fresh;
