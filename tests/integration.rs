//! The integration tests, as one test binary.
//!
//! Each file beside this one is a module here rather than a test crate of its own: every test crate
//! links polars into a ~300 MB debug binary: twenty-two of them took 6.6 GB (CI once ran out of disk) and
//! spent minutes linking. `Cargo.toml` sets `autotests = false`; `docs::every_test_file_is_compiled`
//! fails if a file in `tests/` is not listed below. Run one file's tests with a filter:
//! `cargo test --test integration snapshot::`.

mod common;

mod access_real;
mod age_ald;
mod bad_input;
mod batch;
mod batch_real;
mod cartosante;
mod contracts;
mod coverage;
mod coverage_real;
mod docs;
mod fetch_http;
mod fetch_mirror_e2e;
mod fetch_publishers_e2e;
mod geo_real;
mod geometry;
mod outputs;
mod pipeline_fixtures;
mod real_data;
mod rpps;
mod snapshot;
mod sources_publishers;
mod totale_real;
