//! The SQLite baseline's side of the cold-process figures: each operation does what the matching `duban` command
//! does, from the baseline database (`store` builds it), and writes its result to standard output.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use duban_domain::{status, CommitmentState, Envelope, Folded, Horizon, Policy, ReplyState, Status};
use duban_store::{chained_full, decode_full, decode_full_for_fold, full_hash};
use rusqlite::{params, Connection, OpenFlags};
use ulid::Ulid;

/// The business date the cold figures judge statuses on (the `DUBAN_NOW` they give `duban`).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
}

pub fn run(db: &Path, op: &str, arg: &str) {
    let db = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).expect("the baseline database");
    if op == "record" {
        db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match op {
        "list" => list(&db, arg, &mut out),
        "show" => show(&db, arg, &mut out),
        "as-of" => as_of(&db, arg.parse().expect("a date"), &mut out),
        "report" => report(&db, arg.parse().expect("a year"), &mut out),
        "rebuild" => rebuild(&db, &mut out),
        "record" => record(db, arg, &mut out),
        _ => panic!("unknown probe {op}"),
    }
    out.flush().unwrap();
}

/// `duban progress|note|due|close ID …`: one fact, durable, confirmed (`arg` is `ID|kind|number`; the time is
/// `DUBAN_NOW`, as the `duban` process it is compared with gets it).
fn record(mut db: Connection, arg: &str, out: &mut impl Write) {
    let mut parts = arg.split('|');
    let commitment: Ulid = parts.next().unwrap().parse().expect("an id");
    let kind = crate::daily::Kind::parse(parts.next().unwrap());
    let number: usize = parts.next().unwrap().parse().expect("a number");
    let now = chrono::DateTime::parse_from_rfc3339(&std::env::var("DUBAN_NOW").expect("DUBAN_NOW")).unwrap().to_utc();
    let seq = crate::daily::sqlite_record(&mut db, &crate::daily::Command { commitment, kind, number }, now);
    writeln!(out, "已记录：承诺 {commitment}（日志 #{seq}）").unwrap();
}

fn replies(db: &Connection) -> std::collections::HashMap<Ulid, ReplyState> {
    let mut statement = db.prepare("SELECT state FROM replies").unwrap();
    let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0)).unwrap();
    rows.map(|state| postcard::from_bytes::<ReplyState>(&state.unwrap()).unwrap())
        .filter_map(|reply| Some((reply.id?, reply)))
        .collect()
}

/// `duban list --json [--overdue --organ ORGAN]`: every commitment's state and status; with an organ, only the
/// overdue ones it owns or replied for.
fn list(db: &Connection, organ: &str, out: &mut impl Write) {
    let replies = replies(db);
    let mut statement = db.prepare("SELECT state FROM commitments").unwrap();
    let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0)).unwrap();
    let mut shown: Vec<(CommitmentState, Status)> = Vec::new();
    for state in rows {
        let state: CommitmentState = postcard::from_bytes(&state.unwrap()).unwrap();
        let status = status(&state, today(), Policy::default());
        let reply = state.reply.and_then(|id| replies.get(&id));
        let keep = organ.is_empty()
            || (status == Status::Overdue
                && (state.owner.contains(organ) || reply.is_some_and(|reply| reply.organ().contains(organ))));
        if keep {
            shown.push((state, status));
        }
    }
    shown.sort_by_key(|(state, _)| (state.due.is_none(), state.due, state.id));
    write_states(&shown, &replies, out);
}

fn write_states(
    shown: &[(CommitmentState, Status)],
    replies: &std::collections::HashMap<Ulid, ReplyState>,
    out: &mut impl Write,
) {
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .map(|(state, status)| {
            let reply = state.reply.and_then(|id| replies.get(&id));
            serde_json::json!({ "state": state, "status": status.code(), "doc_no": reply.map(|r| r.doc_no()) })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows).unwrap();
}

/// `duban show ID --json`: one commitment's state and its timeline.
fn show(db: &Connection, id: &str, out: &mut impl Write) {
    let id: Ulid = id.parse().unwrap();
    let key = id.to_bytes().to_vec();
    let state: Vec<u8> =
        db.query_row("SELECT state FROM commitments WHERE id = ?1", params![key], |row| row.get(0)).unwrap();
    let state: CommitmentState = postcard::from_bytes(&state).unwrap();
    let mut statement = db.prepare("SELECT seq, body FROM events WHERE stream = ?1 ORDER BY version").unwrap();
    let events: Vec<serde_json::Value> = statement
        .query_map(params![key], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .unwrap()
        .map(|row| {
            let (seq, body) = row.unwrap();
            let envelope = decode_full_for_fold(seq as u64, &body).unwrap();
            serde_json::json!({ "seq": seq, "hash": hex(&full_hash(&body)), "event": envelope.event })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "state": state, "events": events })).unwrap();
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every event in log order, decoded for folding, each chained to the one before (duban's folds check the chain of
/// what they fold; so does the baseline).
fn for_each_event(db: &Connection, mut each: impl FnMut(duban_domain::Envelope)) {
    let mut statement = db.prepare("SELECT seq, body FROM events ORDER BY seq").unwrap();
    let mut rows = statement.query([]).unwrap();
    let mut previous = [0u8; 32];
    while let Some(row) = rows.next().unwrap() {
        let seq: i64 = row.get(0).unwrap();
        let body = row.get_ref(1).unwrap().as_blob().unwrap();
        previous = chained_full(seq as u64, &previous, body).expect("an unbroken chain");
        each(decode_full_for_fold(seq as u64, body).unwrap());
    }
}

/// `duban list --json --overdue --as-of DATE`: the register folded as it stood on a past date.
fn as_of(db: &Connection, date: NaiveDate, out: &mut impl Write) {
    let horizon = Horizon { as_of: Some(date), ..Horizon::ALL };
    let mut folded = Folded::default();
    for_each_event(db, |envelope| {
        if horizon.admits(&envelope) {
            folded.apply(&envelope);
        }
    });
    folded.finish();
    let replies = folded.replies.into_iter().collect();
    let mut shown: Vec<(CommitmentState, Status)> = folded
        .commitments
        .into_values()
        .map(|state| {
            let status = status(&state, date, Policy::default());
            (state, status)
        })
        .filter(|(_, status)| *status == Status::Overdue)
        .collect();
    shown.sort_by_key(|(state, _)| (state.due.is_none(), state.due, state.id));
    write_states(&shown, &replies, out);
}

/// `duban report --year YEAR --format csv`: the annual report from the whole log (read twice in the rare case the
/// report asks for it, as `duban report` does).
fn report(db: &Connection, year: i32, out: &mut impl Write) {
    let read = |feed: &mut dyn FnMut(Envelope)| {
        let mut statement = db.prepare("SELECT seq, body FROM events ORDER BY seq").unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut previous = [0u8; 32];
        while let Some(row) = rows.next().unwrap() {
            let seq: i64 = row.get(0).unwrap();
            let body = row.get_ref(1).unwrap().as_blob().unwrap();
            let hash = chained_full(seq as u64, &previous, body).expect("an unbroken chain");
            feed(decode_full(seq as u64, &previous, body).unwrap());
            previous = hash;
        }
    };
    let params = duban_report::Params {
        year,
        as_of: NaiveDate::from_ymd_opt(year, 12, 31).unwrap().min(today()),
        policy: Policy::default(),
        organ: None,
        assembly: None,
    };
    let mut builder = duban_report::Builder::new(&params);
    read(&mut |envelope| builder.feed(&envelope));
    if !builder.wanted_again().is_empty() {
        read(&mut |envelope| builder.feed_again(&envelope));
    }
    let report = builder.finish(String::new());
    duban_report::render_to(&report, duban_report::Format::Csv, out).unwrap();
}

/// `duban rebuild`: fold the whole log and compare with the stored projection.
fn rebuild(db: &Connection, out: &mut impl Write) {
    let (events, differences) = sqlite_rebuild(db);
    writeln!(out, "{events} events, {differences} differences").unwrap();
}

/// The baseline's rebuild: fold the whole log in order and compare it with the stored states; returns how many
/// events were folded and how many states differ.
pub fn sqlite_rebuild(db: &Connection) -> (u64, usize) {
    let mut folded = Folded::default();
    let mut events = 0u64;
    for_each_event(db, |envelope| {
        folded.apply(&envelope);
        events += 1;
    });
    let mut differences = 0;
    for (table, is_reply) in [("replies", true), ("commitments", false)] {
        let mut statement = db.prepare(&format!("SELECT id, state FROM {table}")).unwrap();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id = Ulid::from_bytes(row.get::<_, Vec<u8>>(0).unwrap().try_into().unwrap());
            let state = row.get_ref(1).unwrap().as_blob().unwrap();
            let same = if is_reply {
                folded.replies.get(&id) == Some(&postcard::from_bytes::<ReplyState>(state).unwrap())
            } else {
                folded.commitments.get(&id) == Some(&postcard::from_bytes::<CommitmentState>(state).unwrap())
            };
            differences += usize::from(!same);
        }
    }
    (events, differences)
}
