//! The one write path for facts about an existing commitment: the use case resolves, folds, checks and appends;
//! this confirms what was recorded and the status it leaves.

use chrono::NaiveDate;
use duban_domain::Event;
use serde_json::json;

use crate::toolkit::Ctx;

/// Records `event` about the commitment named by `input` (an id or unique prefix), as having occurred on `on`
/// (default today). Nothing is appended unless the domain accepts it.
pub fn commitment_fact(ctx: &mut Ctx, input: &str, on: Option<NaiveDate>, event: Event) -> anyhow::Result<()> {
    let recorded = ctx.app()?.record(&ctx.context()?, input, on, event, None)?;
    if ctx.json {
        let value = json!({
            "id": recorded.id.to_string(), "number": recorded.number, "seq": recorded.seq, "event": recorded.event,
            "occurred_on": recorded.occurred_on, "status": recorded.status.code(),
            "status_label": recorded.status.label(),
        });
        return ctx.print_json(&value);
    }
    let (number, label, on, seq) = (recorded.number, recorded.label, recorded.occurred_on, recorded.seq);
    writeln!(
        ctx.out,
        "已记录：承诺 #{number} {label}（{on}，日志第 {seq} 条）；当前状态：{}",
        recorded.status.label()
    )?;
    Ok(())
}
