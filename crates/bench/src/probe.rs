//! The SQLite baseline's side of the cold-process figures: each operation does what the matching `duban` command
//! does, from the baseline database (`store` builds it), with the same threads (the log scans: `scan.rs`; `list`: two
//! threads over the two halves of the commitments, as duban's two over the halves of its families) and the same
//! JSON (duban's own view types, written by the same serializer), and writes its result where `duban` does.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use duban_app::{CommitmentView, EventView};
use duban_domain::{short_id, status, CommitmentState, Envelope, Folded, Horizon, Policy, ReplyState, Status};
use duban_store::decode_full;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use ulid::Ulid;

use crate::scan::{connect, scan, CACHE};

/// The business date the cold figures judge statuses on (the `DUBAN_NOW` they give `duban`).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
}

pub fn run(path: &Path, op: &str, arg: &str) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match op {
        "list" => list(path, arg, &mut out),
        "show" => show(&connect(path), arg, &mut out),
        "as-of" => as_of(path, arg.parse().expect("a date"), &mut out),
        "report" => report(path, arg),
        "rebuild" => rebuild(path, &mut out),
        "record" => {
            let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).expect("the baseline");
            db.execute_batch(CACHE).unwrap();
            db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
            record(db, arg, &mut out)
        }
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

fn replies(db: &Connection) -> HashMap<Ulid, ReplyState> {
    let mut statement = db.prepare("SELECT state FROM replies").unwrap();
    let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0)).unwrap();
    rows.map(|state| postcard::from_bytes::<ReplyState>(&state.unwrap()).unwrap())
        .filter_map(|reply| Some((reply.id?, reply)))
        .collect()
}

/// `duban list --json [--overdue --organ ORGAN]`: every commitment's state and status; with an organ, only the
/// overdue ones it owns or replied for. Two threads, each over half of the commitments' ids.
fn list(path: &Path, organ: &str, out: &mut impl Write) {
    let db = connect(path);
    let replies = replies(&db);
    let (first, last): (Vec<u8>, Vec<u8>) =
        db.query_row("SELECT min(id), max(id) FROM commitments", [], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
    let id = |bytes: Vec<u8>| Ulid::from_bytes(bytes.try_into().unwrap());
    let (first, last) = (id(first), id(last));
    let middle = Ulid(first.0 + (last.0 - first.0) / 2).to_bytes().to_vec();
    let half = |query: &str| {
        let db = connect(path);
        let mut statement = db.prepare(query).unwrap();
        let mut rows = statement.query(params![middle]).unwrap();
        let (mut shown, mut ids) = (Vec::new(), Vec::new());
        while let Some(row) = rows.next().unwrap() {
            let state: CommitmentState = postcard::from_bytes(row.get_ref(0).unwrap().as_blob().unwrap()).unwrap();
            ids.extend(state.id);
            let status = status(&state, today(), Policy::default());
            let reply = state.reply.and_then(|id| replies.get(&id));
            let keep = organ.is_empty()
                || (status == Status::Overdue
                    && (state.owner.contains(organ) || reply.is_some_and(|reply| reply.organ().contains(organ))));
            if keep {
                shown.push((state, status));
            }
        }
        (shown, ids)
    };
    let ((mut shown, mut ids), (later, later_ids)) = std::thread::scope(|scope| {
        let later = scope.spawn(|| half("SELECT state FROM commitments WHERE id >= ?1"));
        (half("SELECT state FROM commitments WHERE id < ?1"), later.join().unwrap())
    });
    shown.extend(later);
    ids.extend(later_ids);
    ids.extend(replies.keys());
    write_states(shown, &replies, &mut ids, out);
}

/// The rows as `duban list --json` writes them: sorted by due date, each with its short id among all ids in view.
fn write_states(
    mut shown: Vec<(CommitmentState, Status)>,
    replies: &HashMap<Ulid, ReplyState>,
    ids: &mut [Ulid],
    out: &mut impl Write,
) {
    shown.sort_by_cached_key(|(state, _)| {
        let due = state.due_on(Policy::default());
        (due.is_none(), due, state.id)
    });
    ids.sort_unstable();
    let short = |id: &Ulid| {
        let at = ids.partition_point(|other| other < id);
        short_id(id, &ids[at.saturating_sub(1)..(at + 2).min(ids.len())])
    };
    let views: Vec<CommitmentView> = shown
        .iter()
        .map(|(state, status)| {
            let reply = state.reply.and_then(|id| replies.get(&id));
            CommitmentView::new(
                state,
                reply,
                *status,
                state.id.map(|id| short(&id)).unwrap_or_default(),
                Policy::default(),
            )
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &views).unwrap();
    writeln!(out).unwrap();
}

/// `duban show ID --json`: one commitment's state, its reply's, and its timeline (each event chained to the one
/// before it in the log, as duban checks each event it reads).
fn show(db: &Connection, id: &str, out: &mut impl Write) {
    #[derive(serde::Serialize)]
    struct ShowView<'a> {
        commitment: CommitmentView,
        events: Vec<EventView<'a>>,
    }
    let id: Ulid = id.parse().unwrap();
    let key = id.to_bytes().to_vec();
    let state: Vec<u8> =
        db.query_row("SELECT state FROM commitments WHERE id = ?1", params![key], |row| row.get(0)).unwrap();
    let state: CommitmentState = postcard::from_bytes(&state).unwrap();
    let reply: Option<ReplyState> = state.reply.and_then(|reply| {
        db.query_row("SELECT state FROM replies WHERE id = ?1", params![reply.to_bytes().to_vec()], |row| {
            row.get::<_, Vec<u8>>(0)
        })
        .optional()
        .unwrap()
        .map(|bytes| postcard::from_bytes(&bytes).unwrap())
    });
    let mut statement = db
        .prepare(
            "SELECT e.seq, p.body, e.body FROM events e JOIN events p ON p.seq = e.seq - 1 \
             WHERE e.stream = ?1 ORDER BY e.version",
        )
        .unwrap();
    let events: Vec<Envelope> = statement
        .query_map(params![key], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Option<Vec<u8>>>(1)?, row.get::<_, Vec<u8>>(2)?))
        })
        .unwrap()
        .map(|row| {
            let (seq, before, body) = row.unwrap();
            let previous = before.map_or([0; 32], |before| duban_store::full_hash(&before));
            duban_store::chained_full(seq as u64, &previous, &body).expect("an unbroken chain");
            decode_full(seq as u64, &previous, &body).unwrap()
        })
        .collect();
    let status = status(&state, today(), Policy::default());
    let ids = [id];
    let view = ShowView {
        commitment: CommitmentView::new(&state, reply.as_ref(), status, short_id(&id, &ids), Policy::default()),
        events: events.iter().map(EventView::new).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &view).unwrap();
    writeln!(out).unwrap();
}

/// `duban list --json --overdue --as-of DATE`: the register folded as it stood on a past date.
fn as_of(path: &Path, date: NaiveDate, out: &mut impl Write) {
    let horizon = Horizon { as_of: Some(date), ..Horizon::ALL };
    let mut folded = Folded::default();
    scan(path, |envelope| {
        if horizon.admits(envelope) {
            folded.apply(envelope);
        }
    });
    folded.finish();
    let replies: HashMap<Ulid, ReplyState> = folded.replies.into_iter().collect();
    let mut ids: Vec<Ulid> = replies.keys().copied().chain(folded.commitments.keys().copied()).collect();
    let shown: Vec<(CommitmentState, Status)> = folded
        .commitments
        .into_values()
        .map(|state| {
            let status = status(&state, date, Policy::default());
            (state, status)
        })
        .filter(|(_, status)| *status == Status::Overdue)
        .collect();
    write_states(shown, &replies, &mut ids, out);
}

/// `duban report --year YEAR --format csv --out FILE` (`arg` is `YEAR|FILE`): the annual report from the whole log
/// (read twice in the rare case the report asks for it, as `duban report` does), written to the file by a thread of
/// its own while it is rendered, as duban writes it.
fn report(path: &Path, arg: &str) {
    let (year, file) = arg.split_once('|').expect("YEAR|FILE");
    let year: i32 = year.parse().expect("a year");
    let params = duban_report::Params {
        year,
        as_of: NaiveDate::from_ymd_opt(year, 12, 31).unwrap().min(today()),
        policy: Policy::default(),
        organ: None,
        assembly: None,
    };
    let mut builder = duban_report::Builder::new(&params);
    scan(path, |envelope| builder.feed(envelope));
    if !builder.wanted_again().is_empty() {
        scan(path, |envelope| builder.feed_again(envelope));
    }
    let report = builder.finish(String::new());
    let (pieces, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let mut file = std::fs::File::create(file).unwrap();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for piece in received {
                file.write_all(&piece).unwrap();
            }
        });
        struct Pieces(std::sync::mpsc::SyncSender<Vec<u8>>, Vec<u8>);
        impl Write for Pieces {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.1.extend_from_slice(bytes);
                if self.1.len() >= 1 << 20 {
                    self.flush()?;
                }
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                let piece = std::mem::take(&mut self.1);
                self.0.send(piece).map_err(std::io::Error::other)
            }
        }
        let mut pieces = Pieces(pieces, Vec::new());
        duban_report::render_to(&report, duban_report::Format::Csv, &mut pieces).unwrap();
        pieces.flush().unwrap();
    });
}

/// `duban rebuild`: fold the whole log and compare with the stored projection.
fn rebuild(path: &Path, out: &mut impl Write) {
    let (events, differences) = sqlite_rebuild(path);
    writeln!(out, "{events} events, {differences} differences").unwrap();
}

/// The baseline's rebuild: fold the whole log in order (`scan`) and compare it with the stored states; returns how
/// many events were folded and how many states differ.
pub fn sqlite_rebuild(path: &Path) -> (u64, usize) {
    let mut folded = Folded::default();
    let events = scan(path, |envelope| folded.apply(envelope));
    let db = connect(path);
    let mut differences = 0;
    for (table, is_reply) in [("replies", true), ("commitments", false)] {
        let mut statement = db.prepare(&format!("SELECT id, state FROM {table}")).unwrap();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id = Ulid::from_bytes(row.get::<_, Vec<u8>>(0).unwrap().try_into().unwrap());
            let state = row.get_ref(1).unwrap().as_blob().unwrap();
            // 编号 is not stored with a state in either engine (duban derives it from the positions it keeps): the
            // stored state takes the folded one's before they are compared.
            let same = if is_reply {
                let mut stored = postcard::from_bytes::<ReplyState>(state).unwrap();
                folded.replies.get(&id).is_some_and(|folded| {
                    stored.number = folded.number;
                    *folded == stored
                })
            } else {
                let mut stored = postcard::from_bytes::<CommitmentState>(state).unwrap();
                folded.commitments.get(&id).is_some_and(|folded| {
                    stored.number = folded.number;
                    *folded == stored
                })
            };
            differences += usize::from(!same);
        }
    }
    (events, differences)
}
