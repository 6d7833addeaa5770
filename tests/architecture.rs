//! The architecture's invariants (docs/ARCHITECTURE.md), checked: which crate may depend on which, and which file
//! may name the storage engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Each workspace package with the names of the packages it depends on (normal dependencies).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| dep["kind"].is_null())
                .map(|dep| dep["name"].as_str().unwrap().to_string())
                .collect();
            (package["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    let deps = dependencies();
    let workspace: BTreeSet<String> = deps.keys().filter(|name| name.starts_with("duban")).cloned().collect();
    let internal = |package: &str| -> BTreeSet<String> {
        deps[package].iter().filter(|dep| workspace.contains(*dep)).cloned().collect()
    };
    let set = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(internal("duban-domain"), set(&[]), "the domain depends on no other workspace crate");
    assert_eq!(internal("duban-store"), set(&["duban-domain"]));
    assert_eq!(internal("duban-ingest"), set(&["duban-domain"]), "ingest never writes: no store");
    assert_eq!(internal("duban-report"), set(&["duban-domain"]), "the report is pure: no store");
    assert_eq!(internal("duban-app"), set(&["duban-domain", "duban-ingest", "duban-report", "duban-store"]));
    // The front end (the `duban` binary; the server joins it) names no engine and calls the core.
    assert!(!deps["duban"].contains("sled"), "the binary names no engine");
    assert!(internal("duban").contains("duban-app"), "the binary calls the application core");
    for package in ["duban-domain", "duban-ingest", "duban-report", "duban-app"] {
        assert!(!deps[package].contains("sled"), "{package} names no engine");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("vendor") && !path.ends_with("target") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_stores_engine_file_names_sled() {
    let mut files = Vec::new();
    for dir in ["crates", "cli", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 50, "the tree was walked: {} files", files.len());
    let engine = root().join("crates/store/src/space.rs");
    // The tests of our patches to sled (vendor/sled/DUBAN.md: its cache, its cleaning, its holes) use sled itself, as the
    // patches are in sled.
    let sled_patch_tests =
        ["sled_cache.rs", "sled_cleaning.rs", "sled_compaction.rs", "sled_holes.rs", "sled_patch/mod.rs"]
            .map(|file| root().join("crates/store/tests").join(file));
    let naming: Vec<&PathBuf> = files
        .iter()
        .filter(|path| **path != engine && !sled_patch_tests.contains(path) && !path.ends_with("tests/architecture.rs"))
        .filter(|path| {
            // Code, not comments: a path into the crate, or an import of it.
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(str::trim)
                .filter(|line| !line.starts_with("//"))
                .any(|line| line.contains("sled::") || line.starts_with("use sled") || line.starts_with("pub use sled"))
        })
        .collect();
    assert!(naming.is_empty(), "sled is named outside crates/store/src/space.rs: {naming:?}");
    assert!(std::fs::read_to_string(engine).unwrap().contains("sled::Config"), "the engine file is where sled is");
}

#[test]
fn the_cli_reaches_the_store_only_through_the_application_core() {
    let mut files = Vec::new();
    rust_files(&root().join("cli"), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for forbidden in ["duban_store::open", "duban_store::create", "SledStore", ".append("] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}: go through duban_app", path.display());
        }
    }
}
