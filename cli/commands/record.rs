//! The one write path for facts about an existing commitment: resolve the id, fold, check, append, confirm.

use chrono::NaiveDate;
use duban_domain::{check_commitment_event, status, Event, Policy};
use duban_store::Store;
use serde_json::json;

use super::{refuse, Ctx};

/// Records `event` about the commitment named by `input` (an id or unique prefix), as having occurred on `on`
/// (default today). Nothing is appended unless the domain accepts it.
pub fn commitment_fact(
    ctx: &mut Ctx,
    store: &Store,
    input: &str,
    on: Option<NaiveDate>,
    event: Event,
) -> anyhow::Result<()> {
    let id = store.resolve_commitment(input)?;
    let Some(state) = store.commitment(&id)? else { return refuse(format!("找不到承诺 {id}")) };
    let reply = state.reply.and_then(|reply| store.reply(&reply).transpose()).transpose()?.unwrap_or_default();
    let today = ctx.today();
    let occurred_on = on.unwrap_or(today);
    check_commitment_event(&state, &reply, occurred_on, &event, today)?;
    let label = event.label();
    let sealed = store.append(id, state.version, vec![ctx.new_event(id, occurred_on, event)])?;
    let after = store.commitment(&id)?.unwrap_or_default();
    let now_status = status(&after, today, Policy::default());
    let seq = sealed.last().map_or(0, |envelope| envelope.seq);
    if ctx.json {
        let event = sealed.last().map(|envelope| envelope.event.tag());
        let value = json!({
            "id": id.to_string(), "seq": seq, "event": event, "occurred_on": occurred_on,
            "status": now_status.code(), "status_label": now_status.label(),
        });
        return ctx.print_json(&value);
    }
    let short = store.short_id(&id)?;
    writeln!(ctx.out, "已记录：承诺 {short} {label}（{occurred_on}，日志 #{seq}）；当前状态：{}", now_status.label())?;
    Ok(())
}
