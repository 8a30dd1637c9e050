//! The README documents what the code does: every indicator and every source is listed there.

use cpts_diag::indicators::INDICATORS;

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn readme_defines_every_indicator() {
    let r = readme();
    let missing: Vec<&str> = INDICATORS.iter().map(|i| i.id).filter(|id| !r.contains(&format!("| `{id}` |"))).collect();
    assert!(missing.is_empty(), "README lacks indicators {missing:?}");
}

#[test]
fn readme_lists_every_source_file_and_module() {
    let r = readme();
    for s in cpts_diag::sources::all() {
        let file_or_dir = s.file.rsplit_once('/').map_or(s.file, |(dir, f)| if r.contains(f) { f } else { dir });
        assert!(r.contains(file_or_dir), "README lacks source file {}", s.file);
        assert!(!s.licence.is_empty() && !s.vintage.is_empty() && s.url.starts_with("https://"), "{}", s.id);
    }
}

#[test]
fn every_indicator_names_known_sources_and_a_unit() {
    let ids: Vec<&str> = cpts_diag::sources::all().iter().map(|s| s.id).collect();
    for i in INDICATORS.iter() {
        assert!(!i.unit.is_empty() && !i.definition.is_empty(), "{}", i.id);
        for s in i.sources {
            assert!(ids.contains(s), "{} cites unknown source {s}", i.id);
        }
    }
}

/// `autotests = false` means a new file in `tests/` runs only if `integration.rs` declares it.
#[test]
fn every_test_file_is_compiled() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let root = std::fs::read_to_string(dir.join("integration.rs")).unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "integration") else { continue };
        assert!(
            root.lines().any(|l| l == format!("mod {module};")),
            "tests/{name} is not a module of tests/integration.rs"
        );
        files += 1;
    }
    assert!(files >= 20, "only {files} test files found in {}", dir.display());
}

/// `build.rs` hands `link/symbol-order.txt` to lld: one mangled symbol per line, each once. lld is
/// told to keep quiet about names it does not find, so a malformed line would be lost silently.
#[test]
fn symbol_order_names_each_function_once() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.starts_with('#')) {
        assert!(
            !line.is_empty() && !line.contains(char::is_whitespace) && line.is_ascii(),
            "{}:{}: not one symbol name: {line:?}",
            path.display(),
            i + 1
        );
        assert!(seen.insert(line), "{}:{}: {line} listed twice", path.display(), i + 1);
    }
    // Functions of polars and of this crate, in either mangling (legacy `_ZN11polars_core…`, v0
    // `_RNv…11polars_core…`).
    for krate in ["11polars_core", "9cpts_diag"] {
        assert!(seen.iter().any(|s| s.contains(krate)), "no symbol of {krate} in {}", path.display());
    }
    assert!(seen.len() > 5_000, "{}: only {} functions", path.display(), seen.len());
}
