//! `duban-bench serve-load`: many people on one register through `duban serve` (issue 18, acceptance 4). A store of
//! the generated history, a liaison's account, the real `duban serve` process on loopback, and `clients` threads
//! for `seconds`: each client on a connection of its own kept alive (as a browser's is), lists a page of 50 rows (as the web app shows them), 80 % reads (a filtered list, one promise shown) and 20 %
//! progress reports on open promises, as the office's clerks make them. Reported: throughput, latency median and
//! 99th percentile per kind, errors, and the server's peak resident memory (VmHWM).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use duban_app::{App, Context};
use duban_domain::Role;

/// A client's connection to the server, kept alive between its requests as a browser's or an HTTP library's is.
struct Client {
    address: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(address: &str) -> Client {
        Client { address: address.to_string(), stream: None }
    }

    /// One request: the status, or `None` if it failed (the connection is then dropped, and the next request opens
    /// a new one).
    fn request(&mut self, method: &str, path: &str, token: &str, body: &str) -> Option<u16> {
        let status = self.exchange(method, path, token, body);
        if status.is_none() {
            self.stream = None;
        }
        status
    }

    fn exchange(&mut self, method: &str, path: &str, token: &str, body: &str) -> Option<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.address).ok()?;
            stream.set_nodelay(true).ok()?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut()?;
        write!(
            reader.get_mut(),
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: Bearer {token}\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let status = line.split(' ').nth(1)?.parse().ok()?;
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some(status)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The CPU time the server has used so far (user and system), in seconds, from its `/proc` stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces): utime and stime are the
    // 12th and 13th of them, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The server's peak resident memory, from its `/proc` status (kB).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|line| line.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(events: usize, seed: u64, clients: usize, seconds: f64) {
    let started = Instant::now();
    let histories = crate::generate::histories(seed, events);
    let log = crate::generate::seal(&histories, |_| String::new());
    drop(histories);
    let (open, now) = crate::daily::open_commitments(&log);
    let mut owners: Vec<String> = Vec::new();
    let mut commitments = Vec::new();
    for envelope in &log {
        if let duban_domain::Event::CommitmentMade(made) = &envelope.event {
            commitments.push(envelope.stream);
            if !owners.contains(&made.owner) && owners.len() < 20 {
                owners.push(made.owner.clone());
            }
        }
    }
    let events = log.len();
    let dir = tempfile::tempdir().unwrap();
    crate::engines::duban(dir.path(), &crate::engines::batches(log, 1_000), events);
    let path = dir.path().join("duban.db");
    {
        let app = App::open(&path).unwrap();
        let ctx = Context::new("基准", now).unwrap();
        app.create_account(&ctx, "管理员", Role::Admin, vec![], "benchmark-password").unwrap();
        app.create_account(&ctx, "督办员", Role::Liaison, vec![], "benchmark-password").unwrap();
    }
    // A served store has its search index, kept up by every write; the bulk load bypassed that upkeep.
    crate::daily::index_search(dir.path(), events);
    println!(
        "serve: {events} events, {} open promises; store ready in {:.1} s",
        open.len(),
        started.elapsed().as_secs_f64()
    );
    let mut server = Command::new(std::env::current_exe().unwrap().with_file_name("duban"))
        .env_clear()
        .env("DUBAN_NOW", now.to_rfc3339())
        .args(["--store", &path.to_string_lossy(), "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("target/release/duban beside duban-bench");
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().rsplit("http://").next().unwrap().to_string();
    let login = {
        let mut stream = TcpStream::connect(&address).unwrap();
        let body = r#"{"username":"督办员","password":"benchmark-password"}"#;
        write!(
            stream,
            "POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let value: serde_json::Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
        value["token"].as_str().unwrap().to_string()
    };
    let today = duban_domain::business_date(now);
    let cpu_before = cpu_seconds(server.id());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (address, token, owners) = (address.clone(), login.clone(), owners.clone());
            let (open, commitments) = (open.clone(), commitments.clone());
            std::thread::spawn(move || {
                let mut connection = Client::new(&address);
                let mut rng = crate::generate::Rng::new(seed ^ ((client as u64 + 1) * 0x9E37_79B9));
                let (mut lists, mut shows, mut writes, mut errors) = (vec![], vec![], vec![], 0usize);
                let mut n = 0usize;
                while Instant::now() < deadline {
                    n += 1;
                    let roll = rng.next() % 100;
                    let at = Instant::now();
                    let (status, kind) = if roll < 40 {
                        let organ = &owners[(rng.next() % owners.len() as u64) as usize];
                        let path = format!("/api/commitments?status=overdue&organ={}&limit=50", encode(organ));
                        (connection.request("GET", &path, &token, ""), 0)
                    } else if roll < 80 {
                        let id = commitments[(rng.next() % commitments.len() as u64) as usize];
                        (connection.request("GET", &format!("/api/commitments/{id}"), &token, ""), 1)
                    } else {
                        let id = open[(rng.next() % open.len() as u64) as usize];
                        let body = format!(r#"{{"summary":"客户{client}第{n}次报告进展","on":"{today}"}}"#);
                        (connection.request("POST", &format!("/api/commitments/{id}/progress"), &token, &body), 2)
                    };
                    let ms = at.elapsed().as_secs_f64() * 1e3;
                    match status {
                        Some(200) => [&mut lists, &mut shows, &mut writes][kind].push(ms),
                        _ => errors += 1,
                    }
                }
                (lists, shows, writes, errors)
            })
        })
        .collect();
    let (mut lists, mut shows, mut writes, mut errors) = (vec![], vec![], vec![], 0);
    for thread in threads {
        let (l, s, w, e) = thread.join().unwrap();
        lists.extend(l);
        shows.extend(s);
        writes.extend(w);
        errors += e;
    }
    let peak = peak_rss_kb(server.id());
    let pages = pages(&address, &owners);
    let cpu = cpu_before.zip(cpu_seconds(server.id())).map(|(before, after)| after - before);
    // SIGTERM, by the system's own `kill`: the server finishes what is in flight and closes the store.
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let stopped = server.wait().unwrap();
    let elapsed = seconds;
    println!(
        "serve: {clients} clients for {elapsed:.0} s: {:.0} requests/s, {:.0} durable writes/s, errors {errors}, server peak RSS {} MB, stopped cleanly: {}",
        (lists.len() + shows.len() + writes.len()) as f64 / elapsed,
        writes.len() as f64 / elapsed,
        peak.map_or("?".to_string(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
        stopped.success()
    );
    // The clients run on the same machine: the server's own CPU per request says what it would serve alone.
    let requests = lists.len() + shows.len() + writes.len();
    if let Some(cpu) = cpu.filter(|_| requests > 0) {
        let per_request = cpu / requests as f64;
        println!(
            "serve: the server used {cpu:.1} CPU s ({:.2} cores): {:.2} ms per request; on {} cores of its own that is \
             about {:.0} requests/s, {:.0} writes/s at this mix",
            cpu / elapsed,
            per_request * 1e3,
            std::thread::available_parallelism().map_or(2, usize::from),
            std::thread::available_parallelism().map_or(2, usize::from) as f64 / per_request,
            std::thread::available_parallelism().map_or(2, usize::from) as f64 / per_request * writes.len() as f64
                / requests as f64
        );
    }
    for (name, samples) in [("list (filtered)", &mut lists), ("show", &mut shows), ("progress (write)", &mut writes)] {
        samples.sort_by(f64::total_cmp);
        println!(
            "serve: {name:<17} {:>7} requests  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
            samples.len(),
            percentile(samples, 0.5),
            percentile(samples, 0.99),
            samples.last().copied().unwrap_or_default()
        );
    }
    // The web app's pages (issue 19), one at a time after the load, as a person opens them.
    for (name, mut samples) in pages {
        samples.sort_by(f64::total_cmp);
        println!(
            "serve: page {name:<26} {:>4} requests  p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
            samples.len(),
            percentile(&samples, 0.5),
            percentile(&samples, 0.95),
            samples.last().copied().unwrap_or_default()
        );
    }
    let check = App::open(&path).unwrap();
    let verified = check.store().verify().unwrap();
    assert!(verified.broken.is_none(), "the log verifies after the load");
    let _ = Path::new(&path);
}

/// One page request over a fresh connection with `cookies`: the status, the `Set-Cookie` values and the body.
fn get_page(address: &str, method: &str, path: &str, cookies: &str, form: &str) -> (u16, Vec<String>, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookies}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .map(|cookie| cookie.split(';').next().unwrap_or_default().to_string())
        .collect();
    (status, cookies, body.to_string())
}

/// Logs in through the login form as the liaison, then times the dashboard and a filtered list page, alternately.
fn pages(address: &str, owners: &[String]) -> Vec<(&'static str, Vec<f64>)> {
    let (_, cookies, body) = get_page(address, "GET", "/login", "", "");
    let csrf = body.split(r#"name="csrf" value=""#).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    let form = format!("csrf={csrf}&username={}&password=benchmark-password", encode("督办员"));
    let (status, session, _) = get_page(address, "POST", "/login", &cookies.join("; "), &form);
    assert_eq!(status, 303, "the web login");
    let session = session.join("; ");
    let (mut home, mut list) = (Vec::new(), Vec::new());
    for round in 0..20 {
        let at = Instant::now();
        let (status, _, _) = get_page(address, "GET", "/", &session, "");
        assert_eq!(status, 200);
        home.push(at.elapsed().as_secs_f64() * 1e3);
        let organ = &owners[round % owners.len()];
        let at = Instant::now();
        let path = format!("/commitments?status=overdue&organ={}", encode(organ));
        let (status, _, _) = get_page(address, "GET", &path, &session, "");
        assert_eq!(status, 200);
        list.push(at.elapsed().as_secs_f64() * 1e3);
    }
    vec![("/ (dashboard)", home), ("/commitments (organ, overdue)", list)]
}

/// Percent-encodes a query value.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
