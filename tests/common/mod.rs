//! The harness for end-to-end tests: a scratch store, a cleared environment and a pinned clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A scratch store and a clock that tests move by hand.
///
/// With `DUBAN_TEST_ENGINE=postgres` (and `DUBAN_TEST_POSTGRES` naming a server, as `.ci/run` sets both for a second
/// pass of the end-to-end tests), the store is a PostgreSQL database of the test's own instead of a folder; other
/// stores a test makes by path stay sled folders.
pub struct Duban {
    pub dir: tempfile::TempDir,
    pub now: String,
    database: Option<Database>,
}

/// A database made for one test and dropped after it.
struct Database {
    admin: String,
    name: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// Whether this run puts the tests' stores in PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("DUBAN_TEST_ENGINE").is_ok_and(|engine| engine == "postgres")
}

impl Duban {
    pub fn new() -> Duban {
        let duban = Duban::at("2026-01-10T09:00:00+08:00");
        duban.ok(&["init"]);
        duban
    }

    /// A scratch place with the clock at `now`, no store made yet.
    pub fn at(now: &str) -> Duban {
        let database = on_postgres().then(|| {
            let admin = std::env::var("DUBAN_TEST_POSTGRES")
                .expect("DUBAN_TEST_ENGINE=postgres needs DUBAN_TEST_POSTGRES: the URL `.ci/postgres` prints");
            let name = format!("duban_cli_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("the test server answers");
            client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            Database { admin, name }
        });
        Duban { dir: tempfile::tempdir().unwrap(), now: now.into(), database }
    }

    /// Replaces this store with a copy of `other`'s, secrets and all (a folder copied; a database made from the
    /// other as its template).
    pub fn copy_store_from(&self, other: &Duban) {
        match (&self.database, &other.database) {
            (Some(mine), Some(theirs)) => {
                let mut client = postgres::Client::connect(&mine.admin, postgres::NoTls).unwrap();
                client.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", mine.name)).unwrap();
                client.batch_execute(&format!("CREATE DATABASE {} TEMPLATE {}", mine.name, theirs.name)).unwrap();
            }
            _ => {
                std::fs::remove_dir_all(self.store()).unwrap();
                copy_folder(&other.store(), &self.store());
            }
        }
    }

    pub fn store(&self) -> PathBuf {
        match &self.database {
            Some(Database { admin, name }) => {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
                PathBuf::from(format!("{base}/{name}"))
            }
            None => self.dir.path().join("duban.db"),
        }
    }

    pub fn run_in(&self, store: &Path, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("DUBAN_NOW", &self.now)
            .env("DUBAN_ACTOR", "王芳")
            .env("DUBAN_STORE", store)
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.store(), args)
    }

    /// Runs a command that must succeed and returns its trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(output.code, 0, "{args:?} failed: {}", output.stderr);
        assert!(output.stderr.is_empty(), "{args:?} wrote to stderr: {}", output.stderr);
        output.stdout.trim().to_string()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        serde_json::from_str(&self.ok(&with_json)).unwrap()
    }

    /// The whole log as exported: byte-for-byte what the store holds.
    pub fn export(&self) -> String {
        let output = self.run(&["export", "-"]);
        assert_eq!(output.code, 0, "{}", output.stderr);
        output.stdout
    }
}

/// Deterministic pseudo-random numbers for the harnesses.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Every file below `dir`.
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every file below `dir` with its bytes.
pub fn folder_contents(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut all = Vec::new();
    files(dir, &mut all);
    all.into_iter().map(|path| (path.clone(), std::fs::read(&path).unwrap())).collect()
}

/// Copies a folder and everything below it.
pub fn copy_folder(from: &Path, to: &Path) {
    let mut all = Vec::new();
    files(from, &mut all);
    for path in all {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&path, &target).unwrap();
    }
}
