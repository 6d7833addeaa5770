//! `duban serve` end to end: a real server on a scratch store and a free loopback port, driven over HTTP by users of
//! every role. The permission matrix, sessions, stale writes, actors and secrets are asserted here.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::{request, user, Duban, Server};
use serde_json::{json, Value};

/// Two replies, one promise each: 区科委's and 区教育局's.
fn register(duban: &Duban) -> (String, String) {
    let mut ids = Vec::new();
    for (organ, doc_no, text) in
        [("区科委", "科〔2025〕1号", "年底前建成平台"), ("区教育局", "教〔2025〕2号", "年底前新建学校")]
    {
        let reply = duban.ok(&["reply", "add", "--organ", organ, "--doc-no", doc_no, "--signed-on", "2025-06-01"]);
        ids.push(duban.ok(&["commit", "add", "--reply", &reply, "--text", text, "--due", "2025-12-31"]));
    }
    (ids[0].clone(), ids[1].clone())
}

#[test]
fn every_role_gets_what_the_permission_table_gives_and_nothing_else() {
    let duban = Duban::new();
    let (own, other) = register(&duban);
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    user(&duban, "科委联络员", "承办单位", &["区科委"]);
    user(&duban, "读者", "查阅人员", &[]);
    let server = Server::start(&duban);

    // Not logged in: 401 everywhere but health.
    assert_eq!(server.call("GET", "/api/health", None, None).0, 200);
    for path in ["/api/commitments", "/api/replies", "/api/proposals", "/api/log", "/api/users", "/api/me"] {
        assert_eq!(server.call("GET", path, None, None).0, 401, "{path}");
    }
    assert_eq!(server.call("GET", "/api/commitments", Some("forged-token"), None).0, 401);
    let wrong = server.call("POST", "/api/login", None, Some(json!({"username": "督办员", "password": "x"})));
    assert_eq!((wrong.0, wrong.1["code"].as_str()), (401, Some("unauthorized")));

    let admin = server.login("管理员", "管理员-password");
    let liaison = server.login("督办员", "督办员-password");
    let organ = server.login("科委联络员", "科委联络员-password");
    let viewer = server.login("读者", "读者-password");

    // Reading.
    let listed = |token: &str| -> Vec<String> {
        let (status, body) = server.call("GET", "/api/commitments", Some(token), None);
        assert_eq!(status, 200);
        body.as_array().unwrap().iter().map(|row| row["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(listed(&admin).len(), 2);
    assert_eq!(listed(&viewer).len(), 2);
    assert_eq!(listed(&organ), std::slice::from_ref(&own), "an organ sees its own promises only");
    let organ_filter = server.call("GET", "/api/commitments?organ=区教育局", Some(&organ), None);
    assert_eq!(organ_filter.1, json!([]), "no filter shows another organ's");
    assert_eq!(server.call("GET", &format!("/api/commitments/{other}"), Some(&organ), None).0, 404, "not told");
    assert_eq!(server.call("GET", &format!("/api/commitments/{own}"), Some(&organ), None).0, 200);
    let replies = server.call("GET", "/api/replies", Some(&organ), None).1;
    assert_eq!(replies.as_array().unwrap().len(), 1);
    assert_eq!(server.call("GET", "/api/log", Some(&organ), None).0, 403);
    assert_eq!(server.call("GET", "/api/log", Some(&viewer), None).0, 200);
    assert_eq!(server.call("GET", "/api/users", Some(&liaison), None).0, 403);
    assert_eq!(server.call("GET", "/api/users", Some(&admin), None).0, 200);
    let report = server.call("GET", "/api/report?year=2025&format=json&organ=区教育局", Some(&organ), None);
    assert_eq!(report.0, 403, "an organ's report is its own: {}", report.1);
    let report = server.call("GET", "/api/report?year=2025&format=json", Some(&organ), None);
    assert_eq!(report.0, 200);
    assert_eq!(report.1["overview"]["commitments"], 1, "cut to its own organ");
    let stats = server.call("GET", "/api/stats?year=2025", Some(&liaison), None);
    assert_eq!((stats.0, stats.1["metrics"]["commitments"].as_u64()), (200, Some(2)), "{}", stats.1);

    // Writing: each role × each action on its own and another organ's promise.
    let progress = json!({"summary": "完成选址", "on": "2025-09-01"});
    let note = json!({"text": "电话督办"});
    let close = json!({"outcome": "已落实", "summary": "建成", "on": "2025-12-01"});
    let cases: Vec<(&str, &str, &String, Value, u16)> = vec![
        (&viewer, "progress", &own, progress.clone(), 403),
        (&organ, "progress", &other, progress.clone(), 404),
        (&organ, "close", &own, close.clone(), 403),
        (&organ, "due", &own, json!({"due": "2026-06-30", "reason": "资金"}), 403),
        (&organ, "dismiss", &own, json!({"reason": "误录"}), 403),
        (&organ, "assign", &own, json!({"owner": "区财政局", "reason": "x"}), 403),
        (&organ, "progress", &own, progress.clone(), 200),
        (&organ, "note", &own, note.clone(), 200),
        (&liaison, "note", &other, note.clone(), 200),
        (&organ, "amend", &own, json!({"text": "年底前建成平台（更正）", "reason": "误读"}), 403),
        (&organ, "amend", &other, json!({"text": "越权", "reason": "x"}), 404),
        (&liaison, "close", &other, close.clone(), 200),
        (&admin, "reopen", &other, json!({"reason": "复查未达标"}), 200),
        (&liaison, "amend", &other, json!({"text": "年底前新建学校一所", "section": "body", "reason": "漏读"}), 200),
    ];
    for (token, action, id, body, expected) in cases {
        let (status, answer) = server.call("POST", &format!("/api/commitments/{id}/{action}"), Some(token), Some(body));
        assert_eq!(status, expected, "{action} on {id}: {answer}");
        if status >= 400 {
            assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()) && answer["code"].is_string(), "{answer}");
        }
    }

    // A reply's registration is corrected by a liaison; an organ may not, and another organ's reply is not found.
    let reply_of = |id: &String| -> String {
        let shown = server.call("GET", &format!("/api/commitments/{id}"), Some(&admin), None).1;
        shown["reply_id"].as_str().unwrap().to_string()
    };
    let amend = json!({"title": "关于建设科创平台的答复", "reason": "补录标题"});
    let path = |id: &String| format!("/api/replies/{}/amend", reply_of(id));
    assert_eq!(server.call("POST", &path(&own), Some(&organ), Some(amend.clone())).0, 403);
    assert_eq!(server.call("POST", &path(&other), Some(&organ), Some(amend.clone())).0, 404);
    assert_eq!(server.call("POST", &path(&own), Some(&viewer), Some(amend.clone())).0, 403);
    assert_eq!(server.call("POST", &path(&own), Some(&liaison), Some(json!({"reason": 3}))).0, 400);
    assert_eq!(server.call("POST", &path(&own), Some(&liaison), Some(amend.clone())).0, 200);
    let reply = server.call("GET", &format!("/api/replies/{}", reply_of(&own)), Some(&admin), None).1;
    assert_eq!(reply["reply"]["title"], "关于建设科创平台的答复", "{reply}");
    let amended = server.call("GET", &format!("/api/commitments/{other}"), Some(&admin), None).1;
    assert_eq!((amended["text"].as_str(), amended["section"].as_str()), (Some("年底前新建学校一所"), Some("body")));

    // A write based on a stale reading is a conflict, and writes nothing.
    let shown = server.call("GET", &format!("/api/commitments/{own}"), Some(&liaison), None).1;
    let version = shown["version"].as_u64().expect("show carries the version");
    let stale = json!({"text": "过时的备注", "expected_version": version - 1});
    let (status, answer) = server.call("POST", &format!("/api/commitments/{own}/note"), Some(&liaison), Some(stale));
    assert_eq!((status, answer["code"].as_str()), (409, Some("conflict")), "{answer}");
    let fresh = json!({"text": "最新的备注", "expected_version": version});
    assert_eq!(server.call("POST", &format!("/api/commitments/{own}/note"), Some(&liaison), Some(fresh)).0, 200);

    // The actor of every fact is the account that recorded it.
    let events = server.call("GET", &format!("/api/commitments/{own}"), Some(&admin), None).1["events"].clone();
    let actors: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, ["王芳", "科委联络员", "科委联络员", "督办员"]);

    // Logged out, a token is dead.
    assert_eq!(server.call("POST", "/api/logout", Some(&viewer), None).0, 200);
    assert_eq!(server.call("GET", "/api/commitments", Some(&viewer), None).0, 401);
    let stopped = server.stop();
    assert!(stopped.contains("已停止"), "{stopped}");

    // Secrets never reach the log or an export.
    let export = duban.export();
    assert!(!export.contains("argon2") && !export.contains(&admin) && !export.contains("password\":"), "{export}");
    assert!(export.contains("\"AccountCreated\"") && export.contains("\"PasswordSet\""));
    assert_eq!(duban.run(&["verify"]).code, 0);
}

#[test]
fn repeated_wrong_passwords_are_refused_for_a_while() {
    let duban = Duban::new();
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    let server = Server::start(&duban);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let attempt = json!({"username": "督办员", "password": "wrong-password"});
        statuses.push(server.call("POST", "/api/login", None, Some(attempt)).0);
    }
    assert_eq!(&statuses[..5], [401; 5], "the first failures are only failures");
    assert!(statuses[5..].iter().all(|status| *status == 429), "then refused: {statuses:?}");
    // Even the right password waits: the account is being guessed at.
    let right = json!({"username": "督办员", "password": "督办员-password"});
    assert_eq!(server.call("POST", "/api/login", None, Some(right)).0, 429);
}

#[test]
fn a_server_without_an_administrator_is_refused_and_a_served_store_names_its_server() {
    let duban = Duban::new();
    let refused = duban.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("user add"), "{}", refused.stderr);
    user(&duban, "管理员", "管理员", &[]);
    let server = Server::start(&duban);
    let busy = duban.run(&["list"]);
    if common::on_postgres() {
        // A database is shared by any number of servers and commands: a command runs beside the server.
        assert_eq!(busy.code, 0, "{}", busy.stderr);
    } else {
        assert_ne!(busy.code, 0);
        assert!(busy.stderr.contains(&format!("http://{}", server.address)), "{}", busy.stderr);
    }
    server.stop();
    assert_eq!(duban.run(&["list"]).code, 0, "usable again once the server stopped");
}

/// Acceptance 3 of issue 18: the server killed (SIGKILL, or SIGTERM) at random moments while four clients write
/// notes as fast as it answers, 50 times over. Every note answered 2xx is in the log after a restart, and the chain
/// verifies.
#[test]
fn every_write_answered_2xx_survives_the_server_being_killed() {
    let duban = Duban::new();
    let (own, _) = register(&duban);
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    let mut rng = common::Rng(0x5EED_CAFE);
    let mut acknowledged: Vec<String> = Vec::new();
    let mut answered = 0;
    for round in 0..50 {
        let server = Server::start(&duban);
        let token = server.login("督办员", "督办员-password");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let (address, token, id, stop) = (server.address.clone(), token.clone(), own.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let text = format!("第{round}轮客户{client}第{n}条");
                        n += 1;
                        let path = format!("/api/commitments/{id}/note");
                        match request(&address, "POST", &path, Some(&token), Some(json!({ "text": text }))) {
                            Some((200, _)) => ok.push(text),
                            // Refused (a conflict between the clients is not expected: no expected_version).
                            Some((status, answer)) => panic!("{status}: {answer}"),
                            // The connection was cut by the kill: not acknowledged.
                            None => break,
                        }
                    }
                    ok
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20 + rng.below(200)));
        let signal = if round % 2 == 0 { libc::SIGKILL } else { libc::SIGTERM };
        unsafe { libc::kill(server.child.id() as i32, signal) };
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in clients {
            let notes = client.join().unwrap();
            answered += notes.len();
            acknowledged.extend(notes);
        }
        drop(server);
    }
    assert!(answered > 200, "the clients got writes through: {answered}");
    assert_eq!(duban.run(&["verify"]).code, 0, "the chain verifies after 50 kills");
    let export = duban.export();
    let missing: Vec<&String> = acknowledged.iter().filter(|text| !export.contains(text.as_str())).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged notes lost: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
}

/// Registering through the API: a proposal assigned, a document imported and linked to it, a reply and a promise
/// by hand, an evaluation — by a liaison; the same refused to an organ's and a reader's accounts.
#[test]
fn replies_documents_proposals_and_evaluations_are_recorded_through_the_api() {
    let mut duban = Duban::new();
    duban.now = "2025-12-31T10:00:00+08:00".into();
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    user(&duban, "科委联络员", "承办单位", &["上海市示范区科学技术委员会"]);
    user(&duban, "读者", "查阅人员", &[]);
    let server = Server::start(&duban);
    let liaison = server.login("督办员", "督办员-password");
    let organ = server.login("科委联络员", "科委联络员-password");
    let viewer = server.login("读者", "读者-password");
    let proposal = json!({
        "kind": "提案", "assembly": "区政协", "session": "十五届五次会议", "number": "155201",
        "title": "关于加快建设概念验证中心的提案", "lead": "上海市示范区科学技术委员会", "assigned_on": "2025-02-20",
    });
    assert_eq!(server.call("POST", "/api/proposals", Some(&organ), Some(proposal.clone())).0, 403);
    let (status, assigned) = server.call("POST", "/api/proposals", Some(&liaison), Some(proposal));
    assert_eq!(status, 200, "{assigned}");
    let contact = json!({"method": "面商", "on": "2025-04-01"});
    let path = format!("/api/proposals/{}/contact", assigned["id"].as_str().unwrap());
    assert_eq!(server.call("POST", &path, Some(&liaison), Some(contact)).0, 200);

    // A document as the request body.
    let document = include_bytes!("../crates/ingest/samples/keji-gbk.txt").to_vec();
    let upload = |token: &str| {
        let mut stream = TcpStream::connect(&server.address).unwrap();
        write!(
            stream,
            "POST /api/import?name=keji.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            document.len()
        )
        .unwrap();
        stream.write_all(&document).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    assert!(upload(&viewer).starts_with("HTTP/1.1 403"));
    let imported = upload(&liaison);
    assert!(imported.starts_with("HTTP/1.1 200"), "{imported}");
    let summary: Value = serde_json::from_str(imported.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!((summary["imported"].as_u64(), summary["commitments"].as_u64()), (Some(1), Some(4)));
    assert_eq!(summary["files"][0]["file"], "keji.txt", "the server's scratch folder is not shown");
    let reference = format!("#{}", summary["files"][0]["proposal_number"]);
    assert_eq!(assigned["reference"], reference.as_str(), "linked to the proposal: {summary}");
    let proposals = server.call("GET", "/api/proposals", Some(&organ), None).1;
    assert_eq!((proposals[0]["status"].as_str(), proposals[0]["class"].as_str()), (Some("replied"), Some("A")));

    // A reply and a promise by hand; an evaluation.
    let reply = json!({"organ": "区教育局", "doc_no": "教〔2025〕3号", "signed_on": "2025-06-01"});
    assert_eq!(server.call("POST", "/api/replies", Some(&organ), Some(reply.clone())).0, 403);
    let (status, registered) = server.call("POST", "/api/replies", Some(&liaison), Some(reply.clone()));
    assert_eq!(status, 200, "{registered}");
    assert_eq!(server.call("POST", "/api/replies", Some(&liaison), Some(reply)).0, 400, "the same reply twice");
    let reply_id = registered["id"].as_str().unwrap();
    let promise = json!({"reply": reply_id, "text": "年底前新建学校", "due": "2025-12-31"});
    let (status, made) = server.call("POST", "/api/commitments", Some(&liaison), Some(promise));
    assert_eq!((status, made["owner"].as_str()), (200, Some("区教育局")), "{made}");
    let evaluation = json!({"satisfaction": "基本满意", "on": "2025-07-01"});
    let path = format!("/api/replies/{reply_id}/evaluate");
    assert_eq!(server.call("POST", &path, Some(&viewer), Some(evaluation.clone())).0, 403);
    assert_eq!(server.call("POST", &path, Some(&liaison), Some(evaluation)).0, 200);
    let bad = server.call("POST", "/api/commitments", Some(&liaison), Some(json!({"reply": reply_id})));
    assert_eq!((bad.0, bad.1["error"].as_str()), (400, Some("缺少字段 text（文本）")));
    server.stop();
    let log = duban.export();
    assert!(log.contains("\"actor\":\"督办员\""), "facts recorded through the API name the account");
}

/// Runs `duban` as a client of `server` (or locally without one), with its config folder in `config`: the output.
fn client(
    duban: &Duban,
    store: &std::path::Path,
    config: &std::path::Path,
    server: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> common::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duban"));
    command
        .env_clear()
        .env("DUBAN_NOW", &duban.now)
        .env("DUBAN_ACTOR", "王芳")
        .env("DUBAN_STORE", store)
        .env("XDG_CONFIG_HOME", config)
        .env("COLUMNS", "200")
        .current_dir(duban.dir.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = server {
        command.env("DUBAN_SERVER", url);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    common::Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Issue 18, acceptance 2: the same commands on two copies of one store, one read and written locally and the other
/// through `duban serve` with `--server` (as the account 王芳, the local actor's name): every output, human and JSON,
/// success and refusal, is the same. The subset: `list` (filters, time travel, `--json`), `show` (human, `--json`,
/// `#N`), and every fact about a promise (`progress`, `note`, `due`, `assign`, `close`, `reopen`, `dismiss`).
#[test]
fn the_command_line_through_a_server_prints_what_it_prints_on_a_local_store() {
    let local = Duban::new();
    let (science, education) = register(&local);
    user(&local, "管理员", "admin", &[]);
    user(&local, "王芳", "liaison", &[]);
    user(&local, "区科委联络员", "organ", &["区科委"]);
    let served = Duban::new();
    served.copy_store_from(&local);
    let server = Server::start(&served);
    let url = format!("http://{}", server.address);
    let config = served.dir.path().join("config");

    // Without a login the server's refusal says how to log in; the token file is the user's alone.
    let refused = client(&served, &served.store(), &config, Some(&url), &["list"], "");
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("duban login"), "{}", refused.stderr);
    let logged = client(
        &served,
        &served.store(),
        &config,
        None,
        &["login", &url, "王芳", "--password-stdin"],
        "王芳-password\n",
    );
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    assert!(logged.stdout.contains("督办"), "{}", logged.stdout);
    let tokens = config.join("duban/servers.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777, 0o600);

    let script: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["list", "--organ", "区科委", "--active"],
        vec!["show", &science],
        vec!["show", "#2", "--json"],
        vec!["progress", &science, "--summary", "完成立项", "--on", "2026-01-05", "--percent", "40"],
        vec!["note", &science, "--text", "区长批示：加快进度"],
        vec!["due", &education, "--due", "2026-06-30", "--reason", "用地调整"],
        vec!["assign", &education, "--owner", "区发改委", "--reason", "职能划转"],
        vec!["close", &science, "--outcome", "已落实", "--summary", "平台建成"],
        vec!["reopen", &science, "--reason", "验收未通过"],
        vec!["progress", &science, "--summary", "整改", "--json"],
        // A file attached through the server is kept by it, as it would be here.
        vec!["progress", &science, "--summary", "验收材料", "--attach", "验收.pdf"],
        vec!["progress", &science, "--summary", "假的", "--attach", "假的.pdf"],
        vec!["commit", "amend", &education, "--text", "年底前新建学校一所", "--section", "body", "--reason", "漏读"],
        vec!["dismiss", &education, "--reason", "误录", "--duplicate-of", &science],
        vec!["show", &science],
        vec!["show", &education, "--json"],
        vec!["list", "--json", "--stall-days", "5", "--default-due", "none"],
        vec!["list", "--as-of", "2025-12-31"],
        vec!["list", "--known-at", "2026-01-09"],
        // Refusals: an unknown promise, a fact the domain refuses.
        vec!["progress", "#999", "--summary", "无此承诺"],
        vec!["close", &education, "--outcome", "已落实", "--summary", "已撤销的不能办结"],
    ];
    // New events get ids of their own on each store, and so hashes of their own: those are set aside.
    let same = |text: &str| -> String {
        text.lines()
            .map(|line| {
                let key = line.trim_start();
                if key.starts_with("\"hash\": ") || line.starts_with("      \"id\": ") {
                    "…".to_string()
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for dir in [local.dir.path(), served.dir.path()] {
        std::fs::write(dir.join("验收.pdf"), b"%PDF-1.4\nproof\n").unwrap();
        std::fs::write(dir.join("假的.pdf"), b"<html></html>").unwrap();
    }
    for args in &script {
        let here = client(&local, &local.store(), &config, None, args, "");
        let there = client(&served, &served.store(), &config, Some(&url), args, "");
        assert_eq!((here.code, same(&here.stdout)), (there.code, same(&there.stdout)), "{args:?}: {}", there.stderr);
        assert_eq!(here.stderr, there.stderr, "{args:?}");
    }
    // The facts were recorded by the server as the logged-in account.
    let shown = client(&served, &served.store(), &config, Some(&url), &["show", &science, "--json"], "");
    let actors: Vec<&str> = serde_json::from_str::<Value>(&shown.stdout).unwrap()["events"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|event| event["actor"].as_str().unwrap().to_string().leak() as &str)
        .collect();
    assert!(actors.iter().all(|actor| *actor == "王芳"), "{actors:?}");
    let kept: Value = serde_json::from_str(&shown.stdout).unwrap();
    let attached = kept["events"].as_array().unwrap().iter().find(|e| e["type"] == "EvidenceAttached").unwrap().clone();
    let sha = attached["data"]["EvidenceAttached"]["sha256"].as_str().unwrap().to_string();
    let kept = if common::on_postgres() {
        // A database may be opened beside its server.
        duban_store::open(&served.store()).unwrap().file(&sha).unwrap().unwrap()
    } else {
        std::fs::read(served.store().join("files").join(&sha[..2]).join(&sha)).unwrap()
    };
    assert_eq!(kept, b"%PDF-1.4\nproof\n", "the server keeps the file");

    // An organ account through the CLI: its own promise, not another organ's.
    let organ_config = served.dir.path().join("organ-config");
    let organ = |args: &[&str], stdin: &str| client(&served, &served.store(), &organ_config, Some(&url), args, stdin);
    let logged = client(
        &served,
        &served.store(),
        &organ_config,
        None,
        &["login", &url, "区科委联络员", "--password-stdin"],
        "区科委联络员-password\n",
    );
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    assert_eq!(organ(&["progress", &science, "--summary", "本单位报告"], "").code, 0);
    let other = organ(&["note", &education, "--text", "越权"], "");
    assert_eq!(other.code, 1);
    assert!(other.stderr.contains("找不到"), "another organ's promise is not found: {}", other.stderr);
    let listed: Value = serde_json::from_str(&organ(&["list", "--json"], "").stdout).unwrap();
    assert!(listed.as_array().unwrap().iter().all(|row| row["owner"] == "区科委"), "{listed}");
    // A command that needs the store itself says it cannot go through the server.
    let refused = organ(&["export", "-"], "");
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("不能经服务器"), "{}", refused.stderr);
    // Logging out ends the session: the next command is refused, and says how to log in again.
    assert_eq!(client(&served, &served.store(), &organ_config, None, &["logout", &url], "").code, 0);
    let after = organ(&["list"], "");
    assert_eq!(after.code, 1);
    assert!(after.stderr.contains("duban login"), "{}", after.stderr);
    server.stop();
}

/// A browser's exchange with the web pages: cookies sent as given, the answer's status, headers and body.
struct Page {
    status: u16,
    head: String,
    body: String,
}

fn web(address: &str, method: &str, path: &str, cookies: &str, form: &[(&str, &str)]) -> Page {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| {
            let enc = |t: &str| {
                t.bytes()
                    .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                    .collect::<String>()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect();
    let body = body.join("&");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    // Binary downloads (xlsx) are read as far as the test needs: their header and first bytes.
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    Page { status: head.split(' ').nth(1).unwrap().parse().unwrap(), head: head.to_string(), body: body.to_string() }
}

/// The value of `name="…" value="…"` in a page (the first such input).
fn input_value(page: &str, name: &str) -> String {
    let at = page.find(&format!(r#"name="{name}" value=""#)).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Logs in through the login form: the session cookie.
fn web_login(address: &str, name: &str) -> String {
    let form = web(address, "GET", "/login", "", &[]);
    let login_cookie =
        form.head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).unwrap().split(';').next().unwrap().to_string();
    let csrf = input_value(&form.body, "csrf");
    let password = format!("{name}-password");
    let done =
        web(address, "POST", "/login", &login_cookie, &[("csrf", &csrf), ("username", name), ("password", &password)]);
    assert_eq!(done.status, 303, "{}", done.body);
    done.head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).unwrap().split(';').next().unwrap().to_string()
}

/// Every `href`, `src` and `action` in a page names this server (a path), never another host.
fn only_this_server(page: &str) {
    for attribute in ["href=\"", "src=\"", "action=\""] {
        for (at, _) in page.match_indices(attribute) {
            let value = &page[at + attribute.len()..];
            let value = &value[..value.find('"').unwrap()];
            assert!(value.starts_with('/') && !value.starts_with("//"), "{attribute}{value} leaves the server");
        }
    }
    assert!(!page.contains("url("), "no style fetches anything");
}

/// Issue 19: the pages show what users and documents wrote as text, refuse a form without its CSRF token, tell the
/// second of two editors that someone wrote first, keep an organ to its own promises, count as `list --json` does,
/// and load nothing from another host.
#[test]
fn the_web_pages_escape_refuse_forged_forms_and_keep_each_organ_to_its_own() {
    let duban = Duban::new();
    let hostile = "<script>alert('x')</script>建成平台";
    let reply =
        duban.ok(&["reply", "add", "--organ", "区科委", "--doc-no", "科〔2025〕1号", "--signed-on", "2025-06-01"]);
    let own = duban.ok(&["commit", "add", "--reply", &reply, "--text", hostile, "--due", "2025-12-31"]);
    let reply =
        duban.ok(&["reply", "add", "--organ", "<b>区教育局</b>", "--doc-no", "教2号", "--signed-on", "2025-06-01"]);
    let other = duban.ok(&["commit", "add", "--reply", &reply, "--text", "年底前新建学校", "--due", "2026-12-31"]);
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    user(&duban, "科委联络员", "承办单位", &["区科委"]);
    let server = Server::start(&duban);
    let address = server.address.clone();

    // Not logged in: every page sends to the login form; a login form posted without its token is refused.
    let home = web(&address, "GET", "/", "", &[]);
    assert_eq!((home.status, home.head.contains("location: /login")), (303, true), "{}", home.head);
    let forged = web(&address, "POST", "/login", "", &[("username", "督办员"), ("password", "督办员-password")]);
    assert_eq!(forged.status, 403);
    assert!(!forged.head.contains("duban_session="), "no session without the token");

    let liaison = web_login(&address, "督办员");
    for path in [
        "/",
        "/commitments",
        &format!("/commitments/{own}"),
        &format!("/commitments/{other}"),
        "/commitments?status=overdue&sort=owner&desc=1",
    ] {
        let page = web(&address, "GET", path, &liaison, &[]);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(!page.body.contains("<script>") && !page.body.contains("<b>区教育局"), "{path} shows markup as text");
        only_this_server(&page.body);
        assert!(page.head.contains("content-security-policy: default-src 'self'"), "{}", page.head);
    }
    let shown = web(&address, "GET", &format!("/commitments/{own}"), &liaison, &[]);
    assert!(shown.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;建成平台"), "{}", shown.body);
    // The search page finds a promise by its words (in traditional script too), marks them, keeps markup as text.
    let found = web(&address, "GET", "/search?q=%E5%BB%BA%E6%88%90%E5%B9%B3%E5%8F%B0", &liaison, &[]);
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains(r#"<strong id="search-total">1</strong>"#), "{}", found.body);
    assert!(found.body.contains(&format!(r#"<a href="/commitments/{own}">"#)), "{}", found.body);
    assert!(found.body.contains("&lt;/script&gt;<mark>建成平台</mark>"), "{}", found.body);
    assert!(!found.body.contains("<script>"));
    only_this_server(&found.body);
    let traditional = web(&address, "GET", "/search?q=%E5%BB%BA%E6%88%90%E5%B9%B3%E8%87%BA", &liaison, &[]);
    assert!(traditional.body.contains(r#"<strong id="search-total">1</strong>"#), "{}", traditional.body);
    let hostile_query = web(&address, "GET", "/search?q=%3Cscript%3E", &liaison, &[]);
    assert!(hostile_query.body.contains(r#"value="&lt;script&gt;""#), "{}", hostile_query.body);
    let list = web(&address, "GET", "/commitments", &liaison, &[]);
    assert!(list.body.contains("&lt;b&gt;区教育局&lt;/b&gt;") || list.body.contains("区科委"), "{}", list.body);

    // The dashboard counts as `list --json` does.
    let dashboard = web(&address, "GET", "/", &liaison, &[]);
    assert!(dashboard.body.contains("这是本账户首次登录"), "{}", dashboard.body);
    let listed = request(
        &address,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "督办员", "password": "督办员-password"})),
    )
    .unwrap()
    .1;
    let token = listed["token"].as_str().unwrap().to_string();
    let rows = request(&address, "GET", "/api/commitments", Some(&token), None).unwrap().1;
    for status in ["overdue", "open", "fulfilled"] {
        let count = rows.as_array().unwrap().iter().filter(|row| row["status"] == status).count();
        let cell = format!(r#"<tr data-status="{status}">"#);
        let at = dashboard.body.find(&cell).unwrap();
        let row = &dashboard.body[at..at + dashboard.body[at..].find("</tr>").unwrap()];
        assert!(row.ends_with(&format!(r#"<td class="num">{count}</td>"#)), "{status}: {row}");
    }

    // A form without its token, or with another session's, writes nothing.
    let note = |cookie: &str, csrf: &str, version: &str| {
        web(
            &address,
            "POST",
            &format!("/commitments/{own}/note"),
            cookie,
            &[("csrf", csrf), ("expected_version", version), ("text", "电话督办")],
        )
    };
    let version = input_value(&shown.body, "expected_version");
    assert_eq!(note(&liaison, "", &version).status, 403);
    let admin = web_login(&address, "管理员");
    let admin_csrf = input_value(&web(&address, "GET", "/", &admin, &[]).body, "csrf");
    assert_eq!(note(&liaison, &admin_csrf, &version).status, 403, "another session's token");
    let events = |id: &str| {
        request(&address, "GET", &format!("/api/commitments/{id}"), Some(&token), None).unwrap().1["events"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(events(&own), 1, "nothing was recorded");
    let csrf = input_value(&shown.body, "csrf");
    let done = note(&liaison, &csrf, &version);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(events(&own), 2);
    // The second of two editors of the same reading is told, and what they typed is kept.
    let stale = note(&admin, &admin_csrf, &version);
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains(r#"id="stale""#) && stale.body.contains("电话督办"), "{}", stale.body);
    assert_eq!(events(&own), 2);

    // An organ account: its own promise, never another organ's, through any page or form.
    let organ = web_login(&address, "科委联络员");
    assert_eq!(web(&address, "GET", &format!("/commitments/{other}"), &organ, &[]).status, 404);
    let organ_list = web(&address, "GET", "/commitments?organ=区教育局", &organ, &[]);
    assert!(organ_list.body.contains(r#"<strong id="list-total">0</strong>"#), "{}", organ_list.body);
    // Replies: the list and a reply's page, only the organ's own for an organ account; markup shown as text.
    let replies = web(&address, "GET", "/replies", &liaison, &[]);
    assert!(replies.body.contains(r#"<strong id="replies-total">2</strong>"#), "{}", replies.body);
    assert!(
        replies.body.contains("&lt;b&gt;区教育局&lt;/b&gt;") && !replies.body.contains("<b>区"),
        "{}",
        replies.body
    );
    only_this_server(&replies.body);
    let education = web(&address, "GET", &format!("/replies/{reply}"), &liaison, &[]);
    assert_eq!(education.status, 200, "{}", education.body);
    assert!(
        education.body.contains(&format!(r#"<a href="/commitments/{other}">年底前新建学校</a>"#)),
        "{}",
        education.body
    );
    assert!(!education.body.contains("<b>区"));
    let organ_replies = web(&address, "GET", "/replies", &organ, &[]);
    assert!(organ_replies.body.contains(r#"<strong id="replies-total">1</strong>"#), "{}", organ_replies.body);
    assert_eq!(web(&address, "GET", &format!("/replies/{reply}"), &organ, &[]).status, 404);
    let bad_year = web(&address, "GET", "/replies?year=abc", &liaison, &[]);
    assert!(bad_year.body.contains("答复年份“abc”无效"), "{}", bad_year.body);
    let organ_search = web(&address, "GET", "/search?q=%E6%96%B0%E5%BB%BA%E5%AD%A6%E6%A0%A1", &organ, &[]);
    assert!(organ_search.body.contains(r#"<strong id="search-total">0</strong>"#), "{}", organ_search.body);
    let liaison_search = web(&address, "GET", "/search?q=%E6%96%B0%E5%BB%BA%E5%AD%A6%E6%A0%A1", &liaison, &[]);
    assert!(liaison_search.body.contains(r#"<strong id="search-total">1</strong>"#), "{}", liaison_search.body);
    let organ_home = web(&address, "GET", "/", &organ, &[]);
    assert!(organ_home.body.contains(r#"<strong id="total">1</strong>"#), "{}", organ_home.body);
    let organ_csrf = input_value(&organ_home.body, "csrf");
    let progress = |id: &str| {
        web(
            &address,
            "POST",
            &format!("/commitments/{id}/progress"),
            &organ,
            &[("csrf", &organ_csrf), ("on", "2026-01-09"), ("summary", "完成选址")],
        )
    };
    assert_eq!(progress(&other).status, 404);
    assert_eq!(progress(&own).status, 303);
    let own_page = web(&address, "GET", &format!("/commitments/{own}"), &organ, &[]);
    assert!(
        own_page.body.contains("完成选址") && !own_page.body.contains(r#"id="form-close""#),
        "no closing for an organ"
    );
    let close = web(
        &address,
        "POST",
        &format!("/commitments/{own}/close"),
        &organ,
        &[("csrf", &organ_csrf), ("outcome", "fulfilled"), ("summary", "x")],
    );
    assert_eq!(close.status, 403, "{}", close.body);

    // The list's export is the caller's view too: the organ's CSV holds its own promise only.
    let csv = web(&address, "GET", "/commitments/export?format=csv", &organ, &[]);
    assert!(csv.head.contains("content-type: text/csv"), "{}", csv.head);
    let lines: Vec<&str> = csv.body.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("区科委") && !csv.body.contains("区教育局"), "{lines:?}");
    let xlsx = web(&address, "GET", "/commitments/export?format=xlsx&status=overdue", &liaison, &[]);
    assert!(xlsx.head.contains("spreadsheetml") && xlsx.body.starts_with("PK"), "{}", xlsx.head);

    // Reports: the form, and the file as the caller may see it (an organ's holds its own promises only).
    let form = web(&address, "GET", "/reports", &liaison, &[]);
    assert!(form.status == 200 && form.body.contains(r#"id="report-form""#), "{}", form.body);
    only_this_server(&form.body);
    let report = |cookie: &str, format: &str| {
        web(&address, "GET", &format!("/reports/file?year=2025&format={format}&as_of="), cookie, &[])
    };
    let all = report(&liaison, "csv");
    assert!(all.status == 200 && all.head.contains("content-type: text/csv"), "{} {}", all.head, all.body);
    assert!(all.head.contains("attachment;"), "{}", all.head);
    assert!(all.body.contains("区科委") && all.body.contains("区教育局"), "{}", all.body);
    let own_only = report(&organ, "csv");
    assert!(own_only.body.contains("区科委") && !own_only.body.contains("区教育局"), "{}", own_only.body);
    let shown = report(&liaison, "html");
    assert!(shown.head.contains("content-type: text/html") && shown.head.contains("inline;"), "{}", shown.head);
    assert!(!shown.body.contains("<script>") && !shown.body.contains("<b>区"), "markup in a report is text");
    let refused = report(&liaison, "pdf");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("格式“pdf”无效"), "{}", refused.body);

    // A new session of the liaison's: the dashboard says what happened since the session before (opened through
    // the API above, before the note and the organ's progress report).
    let again = web_login(&address, "督办员");
    let home = web(&address, "GET", "/", &again, &[]);
    assert!(home.body.contains(r#"进展报告 <strong data-kind="进展报告">1</strong>"#), "{}", home.body);
    assert!(home.body.contains(r#"其他变更 <strong data-kind="其他变更">1</strong>"#), "{}", home.body);
    assert!(!home.body.contains("新承诺"), "{}", home.body);
    // An organ's count holds only what it may see: a note on another organ's promise is not counted.
    let noted = request(
        &address,
        "POST",
        &format!("/api/commitments/{other}/note"),
        Some(&token),
        Some(json!({"text": "催办"})),
    );
    assert_eq!(noted.map(|(status, _)| status), Some(200));
    let organ_again = web_login(&address, "科委联络员");
    let organ_home = web(&address, "GET", "/", &organ_again, &[]);
    assert!(organ_home.body.contains(r#"进展报告 <strong data-kind="进展报告">1</strong>"#), "{}", organ_home.body);
    assert!(!organ_home.body.contains("其他变更"), "{}", organ_home.body);

    // Logging out ends the session.
    let out = web(&address, "POST", "/logout", &organ, &[("csrf", &organ_csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(web(&address, "GET", "/", &organ, &[]).status, 303);
    server.stop();
    assert_eq!(duban.run(&["verify"]).code, 0);
}

/// A `multipart/form-data` post, as a browser sends a form with file inputs: `fields`, then `files` as
/// (input name, file name, bytes).
fn web_upload(
    address: &str,
    path: &str,
    cookies: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Page {
    let boundary = "----dubanTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").unwrap();
    }
    for (name, file_name, bytes) in files {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    Page { status: head.split(' ').nth(1).unwrap().parse().unwrap(), head: head.to_string(), body: body.to_string() }
}

fn location(page: &Page) -> String {
    page.head.lines().find_map(|l| l.strip_prefix("location: ")).unwrap_or_else(|| panic!("{}", page.head)).to_string()
}

/// Issue 19: a document uploaded, read, corrected on its review page and registered as corrected (with what the
/// reviewer changed on record); an organ's progress report with an attachment, downloadable by whoever sees the
/// promise and by nobody else; accounts managed on the users' page.
#[test]
fn intake_review_attachments_and_accounts_through_the_web_pages() {
    let duban = Duban::new();
    let (own, other) = register(&duban);
    user(&duban, "管理员", "管理员", &[]);
    user(&duban, "督办员", "督办人员", &[]);
    user(&duban, "科委联络员", "承办单位", &["区科委"]);
    let server = Server::start(&duban);
    let address = server.address.clone();
    let liaison = web_login(&address, "督办员");
    let upload = web(&address, "GET", "/intake", &liaison, &[]);
    assert_eq!(upload.status, 200, "{}", upload.body);
    assert!(upload.body.contains(r#"enctype="multipart/form-data""#), "{}", upload.body);
    only_this_server(&upload.body);
    let csrf = input_value(&upload.body, "csrf");

    // Two files: the sample reply, and a diary that is no reply at all.
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/crates/ingest/samples/jiaoyu.txt")).unwrap();
    let diary = "今天天气很好，我们去公园散步。".as_bytes();
    let files: [(&str, &str, &[u8]); 2] = [("documents", "jiaoyu.txt", &sample), ("documents", "日记<b>.txt", diary)];
    assert_eq!(web_upload(&address, "/intake", &liaison, &[], &files).status, 403, "no CSRF token, nothing read");
    let uploaded = web_upload(&address, "/intake", &liaison, &[("csrf", &csrf)], &files);
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assert!(uploaded.body.contains("无法导入") && uploaded.body.contains("日记&lt;b&gt;.txt"), "{}", uploaded.body);
    let at = uploaded.body.find(r#"<a href="/intake/"#).expect("a review link");
    let review_path = uploaded.body[at + 9..].split('"').next().unwrap().to_string();

    // Another account does not see the draft; the uploader sees everything as read.
    let admin = web_login(&address, "管理员");
    assert_eq!(web(&address, "GET", &review_path, &admin, &[]).status, 404);
    let review = web(&address, "GET", &review_path, &liaison, &[]);
    assert_eq!(review.status, 200, "{}", review.body);
    only_this_server(&review.body);
    assert_eq!(input_value(&review.body, "doc_no"), "示教〔2025〕9号");
    assert_eq!(input_value(&review.body, "organ"), "上海市示范区教育局");
    assert!(review.body.contains("<mark>"), "each promise in its context: {}", review.body);
    let read: Vec<String> = (0..3).map(|row| input_value(&review.body, &format!("p{row}_read"))).collect();
    assert_eq!(read, ["0", "1", "2"]);
    let rows = input_value(&review.body, "rows");
    assert_eq!(rows, "5", "three read, two blank rows for promises the reader missed");

    // The reviewer corrects the 文号 and the first promise, drops the third and adds one that was missed.
    let form = [
        ("csrf", csrf.as_str()),
        ("organ", "上海市示范区教育局"),
        ("doc_no", "示教〔2025〕10号"),
        ("signed_on", "2025-06-10"),
        ("assembly", "区人大"),
        ("session", "十七届四次会议"),
        ("number", "0087"),
        ("title", "关于增加中小学课后服务供给的建议"),
        ("rows", "5"),
        ("p0_read", "0"),
        ("p0_text", "2025年秋季学期起在全区小学和初中全面推行课后延时服务。"),
        ("p0_due", "2025-09-30"),
        ("p0_keep", "keep"),
        ("p1_read", "1"),
        ("p1_text", "2. 拟于2026年上半年出台课后服务经费保障办法。"),
        ("p1_due", "2026-06-30"),
        ("p1_keep", "keep"),
        ("p2_read", "2"),
        ("p2_text", "新建、改扩建学校同步规划课后服务功能场所。"),
        ("p2_due", ""),
        ("p2_keep", "drop"),
        ("p3_text", "2025年底前完成课后服务满意度调查。"),
        ("p3_due", "2025-12-31"),
        ("p4_text", ""),
        ("p4_due", ""),
    ];
    let bad_date: Vec<(&str, &str)> =
        form.iter().map(|&(k, v)| if k == "p3_due" { (k, "2025-13-45") } else { (k, v) }).collect();
    let refused = web(&address, "POST", &review_path, &liaison, &bad_date);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("第 4 条承诺的期限“2025-13-45”无效"), "{}", refused.body);
    let confirmed = web(&address, "POST", &review_path, &liaison, &form);
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let reply_path = location(&confirmed);
    assert!(reply_path.starts_with("/replies/"), "{reply_path}");
    let reply = web(&address, "GET", &reply_path, &liaison, &[]);
    assert!(reply.body.contains("已登记答复及 3 条承诺"), "{}", reply.body);
    assert!(reply.body.contains("示教〔2025〕10号"), "{}", reply.body);
    assert!(reply.body.contains("在全区小学和初中全面推行") && reply.body.contains("满意度调查"), "{}", reply.body);
    assert!(!reply.body.contains("同步规划课后服务功能场所"), "the dropped sentence is no promise");
    assert!(reply.body.contains("导入复核：改 2 处（文号、承诺 1 的内容），删去 1 条，补充 1 条"), "{}", reply.body);
    // The draft is gone once registered; the same document again is refused, and nothing is written.
    assert_eq!(web(&address, "GET", &review_path, &liaison, &[]).status, 404);
    let again = web_upload(&address, "/intake", &liaison, &[("csrf", &csrf)], &files[..1]);
    assert_eq!(again.status, 303, "one readable document goes straight to its review");
    let again_path = location(&again);
    let mut same = form.to_vec();
    same.retain(|(k, _)| *k != "doc_no");
    same.push(("doc_no", "示教〔2025〕9号"));
    let twice = web(&address, "POST", &again_path, &liaison, &same);
    assert_eq!(twice.status, 400, "{}", twice.body);
    assert!(twice.body.contains("未登记") && twice.body.contains(r#"id="review""#), "{}", twice.body);
    let token = server.login("督办员", "督办员-password");
    let replies = server.call("GET", "/api/replies", Some(&token), None).1;
    assert_eq!(replies.as_array().unwrap().len(), 3, "{replies}");

    // An organ reports progress with an attachment on its own promise.
    let organ = web_login(&address, "科委联络员");
    let own_page = web(&address, "GET", &format!("/commitments/{own}"), &organ, &[]);
    assert!(own_page.body.contains(r#"type="file" name="evidence""#), "{}", own_page.body);
    let organ_csrf = input_value(&own_page.body, "csrf");
    let version = input_value(&own_page.body, "expected_version");
    let pdf = b"%PDF-1.4\n% evidence of the platform\n%%EOF\n";
    let report = |name: &str, bytes: &[u8]| {
        web_upload(
            &address,
            &format!("/commitments/{own}/progress"),
            &organ,
            &[("csrf", &organ_csrf), ("expected_version", &version), ("on", "2026-01-09"), ("summary", "平台完成验收")],
            &[("evidence", name, bytes)],
        )
    };
    let forged = report("验收报告.pdf", b"MZ\x90\x00 not a pdf");
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(forged.body.contains("文件名与内容不符"), "{}", forged.body);
    let events = |id: &str| {
        server.call("GET", &format!("/api/commitments/{id}"), Some(&token), None).1["events"].as_array().unwrap().len()
    };
    assert_eq!(events(&own), 1, "a refused file writes nothing");
    let done = report("验收<b>报告.pdf", pdf);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(events(&own), 3, "the report and its file, in one append");
    let own_page = web(&address, "GET", &format!("/commitments/{own}"), &organ, &[]);
    assert!(own_page.body.contains("验收&lt;b&gt;报告.pdf") && !own_page.body.contains("<b>报告"), "{}", own_page.body);
    let at = own_page.body.find("/files/").expect("a download link");
    let sha: String = own_page.body[at + 7..].chars().take(64).collect();
    let link = format!("/commitments/{own}/files/{sha}");
    let file = web(&address, "GET", &link, &organ, &[]);
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.head.contains("content-type: application/pdf"), "{}", file.head);
    assert!(file.head.contains("content-disposition: attachment; filename*=UTF-8''"), "{}", file.head);
    assert!(file.head.contains("x-content-type-options: nosniff"), "{}", file.head);
    assert_eq!(file.body.as_bytes(), pdf);
    assert_eq!(web(&address, "GET", &link, &liaison, &[]).status, 200, "whoever sees the promise");
    // Not through another promise, and not by an organ that may not see it.
    assert_eq!(web(&address, "GET", &format!("/commitments/{other}/files/{sha}"), &liaison, &[]).status, 404);
    let education = web_upload_user(&duban, &server);
    assert_eq!(web(&address, "GET", &link, &education, &[]).status, 404);
    assert_eq!(web(&address, "GET", "/intake", &organ, &[]).status, 403, "an organ registers no replies");
    assert_eq!(web(&address, "GET", "/users", &organ, &[]).status, 403);

    // Accounts: created, changed, disabled on the users' page, by an admin only.
    let users = web(&address, "GET", "/users", &admin, &[]);
    assert_eq!(users.status, 200, "{}", users.body);
    only_this_server(&users.body);
    assert!(users.body.contains("科委联络员") && users.body.contains("区科委"), "{}", users.body);
    let admin_csrf = input_value(&users.body, "csrf");
    let new_user = [
        ("csrf", admin_csrf.as_str()),
        ("name", "新联络员"),
        ("role", "organ"),
        ("organs", "区科委、区发改委"),
        ("password", "新联络员-password"),
    ];
    let created = web(&address, "POST", "/users", &admin, &new_user);
    assert_eq!(created.status, 303, "{}", created.body);
    let fresh = web_login(&address, "新联络员");
    assert_eq!(web(&address, "GET", &format!("/commitments/{own}"), &fresh, &[]).status, 200);
    let path = format!("/users/{}/disable", "%E6%96%B0%E8%81%94%E7%BB%9C%E5%91%98");
    let disabled = web(&address, "POST", &path, &admin, &[("csrf", &admin_csrf), ("reason", "调离")]);
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(web(&address, "GET", "/", &fresh, &[]).status, 303, "its session ended with it");
    let listed = web(&address, "GET", "/users", &admin, &[]);
    assert!(listed.body.contains("已停用"), "{}", listed.body);
    let liaison_csrf = input_value(&web(&address, "GET", "/", &liaison, &[]).body, "csrf");
    let by_liaison = web(&address, "POST", "/users", &liaison, &[("csrf", &liaison_csrf), ("name", "x")]);
    assert_eq!(by_liaison.status, 403);
    let short = web(
        &address,
        "POST",
        "/users",
        &admin,
        &[("csrf", &admin_csrf), ("name", "短"), ("role", "viewer"), ("password", "1")],
    );
    assert_eq!(short.status, 400, "{}", short.body);
    server.stop();
    assert_eq!(duban.run(&["verify"]).code, 0);
    // The export names the file by its hash; the backup carries the file, the restore brings it back.
    let backup = duban.dir.path().join("backup");
    assert_eq!(duban.run(&["backup", &backup.to_string_lossy()]).code, 0);
    let copied = backup.join("files").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&copied).unwrap(), pdf);
    let file = std::fs::read_dir(&backup)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .unwrap();
    let restored = duban.dir.path().join("restored.db");
    let done = duban.run_in(&restored, &["restore", &file.to_string_lossy()]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(std::fs::read(restored.join("files").join(&sha[..2]).join(&sha)).unwrap(), pdf);
    // A backup folder without the file still restores the log, and says which file is missing.
    std::fs::remove_file(&copied).unwrap();
    let bare = duban.run_in(&duban.dir.path().join("bare.db"), &["restore", &file.to_string_lossy()]);
    assert_eq!(bare.code, 0, "{}", bare.stderr);
    assert!(bare.stderr.contains("1 个附件不在") && bare.stderr.contains(&sha), "{}", bare.stderr);
}

/// An organ account of another organ (区教育局), logged in through the API's admin: its session cookie.
fn web_upload_user(duban: &Duban, server: &Server) -> String {
    let admin = server.login("管理员", "管理员-password");
    let (status, body) = server.call(
        "POST",
        "/api/users",
        Some(&admin),
        Some(json!({"name": "教育局联络员", "role": "organ", "organs": ["区教育局"], "password": "教育局联络员-password"})),
    );
    assert_eq!(status, 200, "{body}");
    let _ = duban;
    web_login(&server.address, "教育局联络员")
}
