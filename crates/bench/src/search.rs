//! Search over a generated history: the index checked against a plain substring scan, query by query, at three
//! horizons; then its size, its build time, and how long a query takes — a cold `duban search` process, in
//! process, and through `duban serve`.
//!
//! The store is loaded the way a register grows: appends of 1,000 events, the index brought up to date after a
//! few of them (as writes do), so that the queries meet several segments, merged ones, and an unindexed tail.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use duban_app::{App, SearchRequest, SearchScan, View, Visible};
use duban_domain::{Envelope, Event, Horizon};

use crate::generate::Rng;

/// A few characters in their traditional form, for queries typed in traditional script.
const TRADITIONAL: [(char, char); 24] = [
    ('验', '驗'),
    ('证', '證'),
    ('创', '創'),
    ('区', '區'),
    ('会', '會'),
    ('议', '議'),
    ('开', '開'),
    ('设', '設'),
    ('资', '資'),
    ('务', '務'),
    ('园', '園'),
    ('养', '養'),
    ('车', '車'),
    ('线', '線'),
    ('试', '試'),
    ('运', '運'),
    ('营', '營'),
    ('环', '環'),
    ('应', '應'),
    ('农', '農'),
    ('学', '學'),
    ('协', '協'),
    ('调', '調'),
    ('发', '發'),
];

/// The searchable texts the log's facts carry (the check draws its queries from them).
fn texts(log: &[Envelope]) -> Vec<String> {
    log.iter()
        .filter_map(|envelope| match &envelope.event {
            Event::CommitmentMade(made) => Some(made.text.clone()),
            Event::ProgressReported(progress) => Some(progress.summary.clone()),
            Event::Closed(closed) => Some(closed.summary.clone()),
            Event::ReplyRegistered(registered) => Some(duban_app::search_reply_text(registered)),
            _ => None,
        })
        .filter(|text| text.chars().count() >= 2)
        .collect()
}

/// A query drawn from a stored text: 2–6 characters (some with a digit in them, some in traditional script), now
/// and then two such pieces as two words, or a single character.
pub fn query(rng: &mut Rng, texts: &[String]) -> String {
    let piece = |rng: &mut Rng| -> String {
        let text: Vec<char> = texts[rng.next() as usize % texts.len()].chars().filter(|c| *c != '\n').collect();
        let len = (rng.between(2, 6) as usize).min(text.len());
        let mut start = rng.next() as usize % (text.len() - len + 1);
        if rng.chance(25) {
            if let Some(digit) = text.iter().position(|c| c.is_ascii_digit()) {
                start = digit.saturating_sub(rng.between(0, len as i64 - 1) as usize).min(text.len() - len);
            }
        }
        let mut piece: String = text[start..start + len].iter().collect();
        if rng.chance(25) {
            piece = piece.chars().map(|c| TRADITIONAL.iter().find(|(s, _)| *s == c).map_or(c, |(_, t)| *t)).collect();
        }
        piece.trim().to_string()
    };
    match rng.next() % 20 {
        0 => piece(rng).chars().next().map(String::from).unwrap_or_default(),
        1 | 2 => format!("{} {}", piece(rng), piece(rng)),
        _ => piece(rng),
    }
}

/// Loads `log` into a new store at `path` in appends of 1,000 events, keeping the search index up as writes do
/// (a segment once the tail reaches `duban_app::SEARCH_TAIL_EVENTS`, merged as the writes merge them).
pub fn load(path: &Path, log: &[Envelope]) -> App {
    let store = duban_store::create(path).unwrap();
    let app = App::new(Arc::clone(&store));
    let batches = crate::engines::batches(log.to_vec(), 1_000);
    {
        let bulk = store.bulk().unwrap();
        for batch in batches {
            store.append(batch).unwrap();
            app.index_behind();
        }
        bulk.finish().unwrap();
    }
    app
}

/// Checks `queries` random queries against the scan; returns how many hits they had in all. Panics on the first
/// that differs, naming it.
pub fn check(app: &App, seed: u64, queries: usize) -> usize {
    // The log as stored (appends group events by stream, so seqs are the store's, not the generator's).
    let log: Vec<Envelope> = app.log_from(1).collect::<Result<_, _>>().unwrap();
    let log = &log[..];
    let texts = texts(log);
    let middle = log[log.len() / 2].occurred_on;
    let horizons = [
        Horizon::ALL,
        Horizon { as_of: Some(middle), ..Horizon::ALL },
        Horizon { known_seq: Some(log.len() as u64 * 2 / 3), ..Horizon::ALL },
    ];
    let scans: Vec<SearchScan> = horizons.iter().map(|horizon| SearchScan::new(log, *horizon)).collect();
    let today = crate::generate::horizon();
    let mut rng = Rng::new(seed);
    let mut hits = 0;
    for round in 0..queries {
        let query = query(&mut rng, &texts);
        if query.trim().is_empty() {
            continue;
        }
        let which = round % horizons.len();
        let view = View::new(horizons[which], today, Default::default());
        let request = SearchRequest { query: query.clone(), limit: 20, keys: true, ..Default::default() };
        let at = Instant::now();
        let found = app.search(&request, &view, &Visible::everything()).unwrap();
        let searched = at.elapsed();
        let expected = scans[which].query(&query);
        if std::env::var_os("DUBAN_BENCH_TRACE").is_some() {
            eprintln!(
                "{query:?} {which}: {} hits, search {searched:?}, scan {:?}",
                expected.len(),
                at.elapsed() - searched
            );
        }
        assert_eq!(found.total, expected.len(), "query {query:?} at {:?}: total", horizons[which]);
        assert_eq!(found.keys, expected, "query {query:?} at {:?}", horizons[which]);
        // Without the keys, a query keeps only the best of each rank (see `App::search`): the same hits, in the
        // same order, and the same count.
        let bounded = app.search(&SearchRequest { keys: false, ..request }, &view, &Visible::everything()).unwrap();
        let shown = |found: &duban_app::Found| -> Vec<_> {
            found.hits.iter().map(|hit| (hit.kind, hit.id, hit.seq, hit.score.to_bits())).collect()
        };
        assert_eq!(bounded.total, found.total, "query {query:?} at {:?}: total, bounded", horizons[which]);
        assert_eq!(shown(&bounded), shown(&found), "query {query:?} at {:?}: hits, bounded", horizons[which]);
        hits += expected.len();
    }
    hits
}

fn median(mut figures: Vec<f64>) -> (f64, f64, f64) {
    figures.sort_by(f64::total_cmp);
    let at = |p: f64| figures[((figures.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.0), at(0.9))
}

/// The benchmark: `events` generated, checked with `queries` queries, then timed.
pub fn run(events: usize, seed: u64, queries: usize, keep: Option<&Path>) {
    if let Some(bare) = keep.map(|dir| dir.join("bare.db")).filter(|bare| bare.exists()) {
        let app = App::open_reading(&bare).unwrap();
        let log: Vec<Envelope> = app.log_from(1).collect::<Result<_, _>>().unwrap();
        drop(app);
        println!("search: timing only, on the kept store {} ({} events)", bare.display(), log.len());
        return time(&bare, &log, seed);
    }
    let log = crate::generate::seal(&crate::generate::histories(seed, events), |_| String::new());
    let events = log.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duban.db");
    let started = Instant::now();
    let app = load(&path, &log);
    println!(
        "search: {events} events loaded, the index kept up as writes keep it, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let hits = check(&app, seed, queries);
    println!(
        "exactness: {queries} random queries at three horizons equal a substring scan of the folded register ({hits} hits; {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    drop(app);
    // Size and build time: the store without the index, then with it built whole by rebuild's derivation.
    let bare = match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).unwrap();
            dir.join("bare.db")
        }
        None => dir.path().join("bare.db"),
    };
    {
        let store = duban_store::create(&bare).unwrap();
        let bulk = store.bulk().unwrap();
        for batch in crate::engines::batches(log.clone(), 1_000) {
            store.append(batch).unwrap();
        }
        bulk.finish().unwrap();
    }
    let before = crate::engines::size_of(&bare);
    let app = App::open(&bare).unwrap();
    let started = Instant::now();
    let rebuilt = app.rebuild_search().unwrap();
    let build = started.elapsed().as_secs_f64();
    drop(app);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = crate::engines::size_of(&bare);
    println!(
        "index: {} texts in {} segments, built in {build:.2} s; store {:.1} → {:.1} MB ({:.0} bytes per event for the index)",
        rebuilt.documents,
        rebuilt.segments,
        before as f64 / 1e6,
        after as f64 / 1e6,
        (after.saturating_sub(before)) as f64 / events as f64
    );
    time(&bare, &log, seed);
}

/// Times queries on the store at `bare` (its index built): cold processes, through a server, in process.
fn time(bare: &Path, log: &[Envelope], seed: u64) {
    let texts = texts(log);
    let mut rng = Rng::new(seed ^ 0x5EA2C4);
    let picks: Vec<String> = (0..20).map(|_| query(&mut rng, &texts)).filter(|q| !q.trim().is_empty()).collect();
    // A warm process is timed on queries it has not answered before (warmed on others): what it keeps between
    // queries helps a new one only as far as they share characters.
    let warmups: Vec<String> = (0..20).map(|_| query(&mut rng, &texts)).filter(|q| !q.trim().is_empty()).collect();
    let fresh: Vec<String> = (0..100).map(|_| query(&mut rng, &texts)).filter(|q| !q.trim().is_empty()).collect();
    let binary = std::env::current_exe().unwrap().with_file_name("duban");
    let now = "2026-07-01T09:00:00+08:00";
    if binary.is_file() {
        let mut cold = Vec::new();
        for query in picks.iter().cycle().take(picks.len() * 3) {
            let at = Instant::now();
            let status = Command::new(&binary)
                .env_clear()
                .env("DUBAN_NOW", now)
                .args(["--store", &bare.to_string_lossy(), "search", "--json", query])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            cold.push(at.elapsed().as_secs_f64() * 1e3);
            assert!(status.success(), "duban search {query}");
        }
        let (p50, low, p90) = median(cold);
        println!(
            "cold `duban search` (whole process, {} runs): p50 {p50:.1} ms, min {low:.1}, p90 {p90:.1}",
            picks.len() * 3
        );
        let (p50, low, p90) = median(served(&binary, bare, now, &warmups, &fresh));
        println!(
            "through `duban serve`, warm ({} GET /api/search of queries not asked before): p50 {p50:.2} ms, min {low:.2}, p90 {p90:.2}",
            fresh.len()
        );
    } else {
        println!("(no {} beside the benchmark: cold and served figures skipped)", binary.display());
    }
    let app = App::open_reading(bare).unwrap().serving();
    let view = View::now(crate::generate::horizon());
    let mut warm = Vec::new();
    for (round, query) in warmups.iter().chain(&fresh).enumerate() {
        let at = Instant::now();
        let request = SearchRequest { query: query.clone(), limit: 20, ..Default::default() };
        app.search(&request, &view, &Visible::everything()).unwrap();
        if round >= warmups.len() {
            warm.push(at.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (p50, low, p90) = median(warm);
    println!(
        "in process, a serving handle, warm ({} queries not asked before, limit 20): p50 {p50:.2} ms, min {low:.2}, p90 {p90:.2}",
        fresh.len()
    );
}

/// Times `picks` through a server on `store`, after logging in (an account is made first).
fn served(binary: &Path, store: &Path, now: &str, warmups: &[String], picks: &[String]) -> Vec<f64> {
    let mut add = Command::new(binary)
        .env_clear()
        .env("DUBAN_NOW", now)
        .args(["--store", &store.to_string_lossy(), "user", "add", "查询员", "--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"benchmark-password\n").unwrap();
    // On a kept store the account is there from an earlier run (a login with the wrong password fails below).
    let _ = add.wait().unwrap();
    let mut server = Command::new(binary)
        .env_clear()
        .env("DUBAN_NOW", now)
        .args(["--store", &store.to_string_lossy(), "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().rsplit("http://").next().unwrap().to_string();
    let body = serde_json::json!({"username": "查询员", "password": "benchmark-password"}).to_string();
    let login = request(&address, "POST", "/api/login", "", &body);
    let token = serde_json::from_str::<serde_json::Value>(&login).unwrap()["token"].as_str().unwrap().to_string();
    let mut times = Vec::new();
    for (round, query) in warmups.iter().chain(picks).enumerate() {
        let at = Instant::now();
        let path = format!("/api/search?limit=20&q={}", crate::serve::encode(query));
        let answer = request(&address, "GET", &path, &token, "");
        assert!(answer.contains("\"hits\""), "{answer}");
        // The warm-up queries warm the server's caches; the others are timed.
        if round >= warmups.len() {
            times.push(at.elapsed().as_secs_f64() * 1e3);
        }
    }
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    times
}

/// One HTTP/1.1 request on a fresh connection; the body of the answer.
fn request(address: &str, method: &str, path: &str, token: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_once("\r\n\r\n").map_or(String::new(), |(_, body)| body.to_string())
}

#[cfg(test)]
mod tests {
    /// The index (segments, merges and a tail) gives exactly what a substring scan of the folded register gives,
    /// for random queries drawn from the stored texts, now, as of a date and as known at a log position.
    #[test]
    fn the_index_agrees_with_a_substring_scan() {
        let log = crate::generate::seal(&crate::generate::histories(11, 6_000), |_| String::new());
        let dir = tempfile::tempdir().unwrap();
        let app = super::load(&dir.path().join("duban.db"), &log);
        let hits = super::check(&app, 11, 100);
        assert!(hits > 100, "the queries find things ({hits} hits)");
    }
}
