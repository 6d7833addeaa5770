//! The harness for end-to-end tests: a scratch store, a cleared environment and a pinned clock.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

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

/// A running server, stopped (SIGTERM) when dropped.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Server {
    pub fn start(duban: &Duban) -> Server {
        Server::start_on(duban, &duban.store())
    }

    /// A server on `store` (another than the test's own).
    pub fn start_on(duban: &Duban, store: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("DUBAN_NOW", &duban.now)
            .env("DUBAN_STORE", store)
            .current_dir(duban.dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().rsplit("http://").next().unwrap().to_string();
        if !address.starts_with("127.0.0.1:") {
            let mut errors = String::new();
            child.stderr.take().unwrap().read_to_string(&mut errors).unwrap();
            panic!("the server did not start: {line}{errors}");
        }
        Server { child, address }
    }

    /// One request; returns the status and the body (JSON when it parses, else a string).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        request(&self.address, method, path, token, body).expect("the server answers")
    }

    pub fn login(&self, name: &str, password: &str) -> String {
        let (status, body) =
            self.call("POST", "/api/login", None, Some(json!({"username": name, "password": password})));
        assert_eq!(status, 200, "{name}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server stops cleanly on SIGTERM: {status}");
        let mut rest = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
        rest
    }
}

/// One HTTP request over a fresh connection; `None` when the connection fails or is cut before a whole answer.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(address).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    Some((status, serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An account made on the test's store, its password `<name>-password`.
pub fn user(duban: &Duban, name: &str, role: &str, organs: &[&str]) {
    user_on(duban, &duban.store(), name, role, organs)
}

/// An account made on `store`, its password `<name>-password`.
pub fn user_on(duban: &Duban, store: &Path, name: &str, role: &str, organs: &[&str]) {
    let mut args = vec!["user", "add", name, "--role", role, "--password-stdin"];
    for organ in organs {
        args.extend(["--organ", organ]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_duban"))
        .env_clear()
        .env("DUBAN_NOW", &duban.now)
        .env("DUBAN_ACTOR", "王芳")
        .env("DUBAN_STORE", store)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{name}-password\n").as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "user add {name}");
}
