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
pub struct Duban {
    pub dir: tempfile::TempDir,
    pub now: String,
}

impl Duban {
    pub fn new() -> Duban {
        let duban = Duban { dir: tempfile::tempdir().unwrap(), now: "2026-01-10T09:00:00+08:00".into() };
        duban.ok(&["init"]);
        duban
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("duban.db")
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
