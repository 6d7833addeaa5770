//! The one write path for facts about an existing commitment: the use case resolves, folds, checks and appends;
//! this confirms what was recorded and the status it leaves.

use chrono::NaiveDate;
use duban_domain::{Event, Status};
use serde_json::json;

use crate::toolkit::Ctx;

/// Records `event` about the commitment named by `input` (an id or unique prefix), as having occurred on `on`
/// (default today). Nothing is appended unless the domain accepts it.
pub fn commitment_fact(ctx: &mut Ctx, input: &str, on: Option<NaiveDate>, event: Event) -> anyhow::Result<()> {
    commitment_fact_with(ctx, input, on, event, serde_json::Value::Null)
}

/// As [`commitment_fact`], with files attached as evidence: each checked and kept, then named by a fact appended
/// with `event`.
pub fn commitment_fact_with_files(
    ctx: &mut Ctx,
    input: &str,
    on: Option<NaiveDate>,
    event: Event,
    uploads: &[duban_app::Upload],
) -> anyhow::Result<()> {
    if uploads.is_empty() {
        return commitment_fact(ctx, input, on, event);
    }
    if let Some(server) = ctx.server.clone() {
        use base64::Engine;
        let files: Vec<serde_json::Value> = uploads
            .iter()
            .map(|upload| {
                let content = base64::engine::general_purpose::STANDARD.encode(&upload.bytes);
                json!({ "file_name": upload.file_name, "content_base64": content })
            })
            .collect();
        return remote_fact(ctx, &server, input, on, event, json!({ "attachments": files }));
    }
    let max = duban_app::DEFAULT_MAX_ATTACHMENT_BYTES;
    let recorded = ctx.app()?.record_with_files(&ctx.context()?, input, on, event, (uploads, max), None)?;
    confirm(ctx, &Confirmed::from(&recorded))
}

/// As [`commitment_fact`]; through a server, `extra`'s fields are added to the request (what the server resolves
/// itself, such as a duplicate's name).
pub fn commitment_fact_with(
    ctx: &mut Ctx,
    input: &str,
    on: Option<NaiveDate>,
    event: Event,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    if let Some(server) = ctx.server.clone() {
        return remote_fact(ctx, &server, input, on, event, extra);
    }
    let recorded = ctx.app()?.record(&ctx.context()?, input, on, event, None)?;
    confirm(ctx, &Confirmed::from(&recorded))
}

impl From<&duban_app::Recorded> for Confirmed {
    fn from(recorded: &duban_app::Recorded) -> Confirmed {
        Confirmed {
            id: recorded.id.to_string(),
            number: recorded.number,
            seq: recorded.seq,
            event: recorded.event.to_string(),
            label: recorded.label.to_string(),
            occurred_on: recorded.occurred_on,
            status: recorded.status,
        }
    }
}

/// What a recorded fact is confirmed with, locally or from the server's answer.
struct Confirmed {
    id: String,
    number: u64,
    seq: u64,
    event: String,
    label: String,
    occurred_on: NaiveDate,
    status: Status,
}

fn confirm(ctx: &mut Ctx, recorded: &Confirmed) -> anyhow::Result<()> {
    if ctx.json {
        let value = json!({
            "id": recorded.id, "number": recorded.number, "seq": recorded.seq, "event": recorded.event,
            "occurred_on": recorded.occurred_on, "status": recorded.status.code(),
            "status_label": recorded.status.label(),
        });
        return ctx.print_json(&value);
    }
    let (number, label, on, seq) = (recorded.number, &recorded.label, recorded.occurred_on, recorded.seq);
    writeln!(
        ctx.out,
        "已记录：承诺 #{number} {label}（{on}，日志第 {seq} 条）；当前状态：{}",
        recorded.status.label()
    )?;
    Ok(())
}

/// The same fact sent to the server's `POST /api/commitments/{id}/{action}`: the server checks it against the
/// promise and the account's role, and records it as the account.
fn remote_fact(
    ctx: &mut Ctx,
    server: &crate::remote::Remote,
    input: &str,
    on: Option<NaiveDate>,
    event: Event,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    let label = event.label().to_string();
    let (action, mut body) = match event {
        Event::ProgressReported(e) => {
            ("progress", json!({ "summary": e.summary, "evidence": e.evidence, "percent": e.percent }))
        }
        Event::NoteAdded(e) => ("note", json!({ "text": e.text })),
        Event::Closed(e) => {
            ("close", json!({ "outcome": e.outcome.code(), "summary": e.summary, "evidence": e.evidence }))
        }
        Event::Reopened(e) => ("reopen", json!({ "reason": e.reason })),
        Event::DueDateSet(e) => ("due", json!({ "due": e.due, "reason": e.reason })),
        Event::Reassigned(e) => ("assign", json!({ "owner": e.owner, "reason": e.reason })),
        Event::Dismissed(e) => {
            ("dismiss", json!({ "reason": e.reason, "duplicate_of": e.duplicate_of.map(|id| id.to_string()) }))
        }
        Event::CommitmentAmended(e) => {
            ("amend", json!({ "text": e.text, "section": e.section.map(|s| s.code()), "reason": e.reason }))
        }
        other => {
            return Err(
                crate::toolkit::UserError(format!("“{}”不能经服务器记录：请在服务器上运行", other.label())).into()
            )
        }
    };
    if let Some(on) = on {
        body["on"] = json!(on);
    }
    for (name, value) in extra.as_object().into_iter().flatten() {
        body[name] = value.clone();
    }
    let path = format!("/api/commitments/{}/{action}", crate::remote::encode(input));
    let answer = server.call("POST", &path, Some(&body))?;
    let text = |name: &str| answer[name].as_str().unwrap_or_default().to_string();
    let confirmed = Confirmed {
        id: text("id"),
        number: answer["number"].as_u64().unwrap_or_default(),
        seq: answer["seq"].as_u64().unwrap_or_default(),
        event: text("event"),
        label,
        occurred_on: text("occurred_on").parse().map_err(|_| anyhow::anyhow!("服务器的回答缺少 occurred_on"))?,
        status: Status::parse(&text("status")).ok_or_else(|| anyhow::anyhow!("服务器的回答缺少 status"))?,
    };
    confirm(ctx, &confirmed)
}
