//! 文件导入 with review (`/intake`): documents uploaded through the browser are read at once, and each waits — as a
//! draft held by this server, for the account that uploaded it — until a person has looked at what was read and
//! confirmed it (`/intake/{draft}`). Nothing is written before the confirmation; the confirmation registers the reply
//! as reviewed, in one append with its promises and the record of what the reviewer changed (see
//! `duban_app::App::register_reviewed`). A draft lives two hours (a server restart forgets it: upload again).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use duban_app::{Reviewed, ReviewedPromise};
use duban_domain::Action;
use duban_ingest::Parsed;

use crate::web::{esc, failure_page, page, posting_who_may, redirect, visitor_who_may, FormData, Visitor};
use crate::{blocking, context, percent_encode as enc, Failure, Shared};

/// How long an uploaded document waits for its review, and how many may wait at once (the oldest goes first).
const DRAFT_LIFE: Duration = Duration::from_secs(2 * 60 * 60);
const MOST_DRAFTS: usize = 200;
/// Empty rows for promises the reader missed, on each review page.
const BLANK_PROMISES: usize = 2;

/// Documents read and waiting for their review.
#[derive(Default)]
pub(crate) struct Drafts {
    by_id: HashMap<String, Draft>,
}

#[derive(Clone)]
struct Draft {
    /// The account that uploaded it: only it may review it.
    owner: String,
    made: Instant,
    parsed: Parsed,
}

impl Drafts {
    fn insert(&mut self, owner: &str, parsed: Parsed) -> String {
        self.by_id.retain(|_, draft| draft.made.elapsed() < DRAFT_LIFE);
        while self.by_id.len() >= MOST_DRAFTS {
            let oldest = self.by_id.iter().min_by_key(|(_, draft)| draft.made).map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.by_id.remove(&id),
                None => break,
            };
        }
        let id = ulid::Ulid::new().to_string();
        self.by_id.insert(id.clone(), Draft { owner: owner.to_string(), made: Instant::now(), parsed });
        id
    }

    fn get(&self, id: &str, owner: &str) -> Option<Draft> {
        self.by_id.get(id).filter(|draft| draft.owner == owner && draft.made.elapsed() < DRAFT_LIFE).cloned()
    }

    fn remove(&mut self, id: &str) {
        self.by_id.remove(id);
    }
}

/// The draft `id`, if it is this visitor's and still waits.
fn draft_of(shared: &Shared, id: &str, visitor: &Visitor) -> Option<Draft> {
    shared.drafts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(id, &visitor.caller.principal.name)
}

fn gone(id: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("找不到待复核的文件 {id}（已登记、已过期（两小时）或服务已重启）：请重新上传"),
    )
}

/// `GET /intake`: the upload form.
pub(crate) async fn upload_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let visitor = match visitor_who_may(&shared, &headers, Action::Register).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    page(StatusCode::OK, "文件导入", Some(&visitor), &upload_form(&visitor, ""))
}

fn upload_form(visitor: &Visitor, notice: &str) -> String {
    format!(
        r#"{notice}<form method="post" action="/intake" enctype="multipart/form-data" class="card narrow" id="upload">
<input type="hidden" name="csrf" value="{}">
<label for="documents">答复文件（txt 任意编码、html、docx；可多选，每个不超过 {} MB）</label>
<input id="documents" type="file" name="documents" multiple required accept=".txt,.text,.html,.htm,.docx">
<button type="submit">上传并识别</button></form>
<p class="quiet">上传后逐件核对识别结果：答复信息可修改，缺项标为待补全；每条承诺可修改、删去，也可补充漏识别的承诺；确认后才登记。</p>"#,
        esc(&visitor.csrf),
        duban_ingest::MAX_DOCUMENT_BYTES / (1024 * 1024)
    )
}

/// `POST /intake`: reads each uploaded document; one that reads goes to its review, one that does not is named
/// with the reason.
pub(crate) async fn upload_submit(State(shared): State<Arc<Shared>>, headers: HeaderMap, form: FormData) -> Response {
    let visitor = match posting_who_may(&shared, &headers, &form.fields, Action::Register).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let documents: Vec<duban_app::Upload> =
        form.files.into_iter().filter(|(field, _)| field == "documents").map(|(_, upload)| upload).collect();
    if documents.is_empty() {
        let notice = r#"<p class="error" role="alert">请选择至少一个答复文件</p>"#;
        return page(StatusCode::BAD_REQUEST, "文件导入", Some(&visitor), &upload_form(&visitor, notice));
    }
    let read = blocking(move || {
        Ok(documents
            .into_iter()
            .map(|upload| {
                let name = duban_app::plain_file_name(&upload.file_name);
                let parsed = if upload.bytes.len() > duban_ingest::MAX_DOCUMENT_BYTES {
                    Err(format!("文件过大（{} 字节）", upload.bytes.len()))
                } else {
                    duban_ingest::parse(&upload.bytes, &name).map_err(|error| error.to_string())
                };
                let parsed = parsed.and_then(|parsed| {
                    if parsed.is_not_a_reply() {
                        Err("不像答复文件：未找到答复单位、文号、建议或提案编号、提出人、标题或承诺事项".to_string())
                    } else {
                        Ok(parsed)
                    }
                });
                (name, parsed)
            })
            .collect::<Vec<_>>())
    })
    .await;
    let read = match read {
        Ok(read) => read,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let mut rows = String::new();
    let mut waiting = Vec::new();
    {
        let mut drafts = shared.drafts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, parsed) in read {
            match parsed {
                Ok(parsed) => {
                    let (found, missing) = (parsed.commitments.len(), parsed.registration().missing());
                    let id = drafts.insert(&visitor.caller.principal.name, parsed);
                    let missing = if missing.is_empty() {
                        "—".to_string()
                    } else {
                        format!("待补全：{}", missing.join("、"))
                    };
                    let _ = write!(
                        rows,
                        r#"<tr><td data-label="文件">{}</td><td data-label="识别">{found} 条承诺</td><td data-label="缺项">{}</td><td data-label="操作"><a href="/intake/{id}">复核并登记</a></td></tr>"#,
                        esc(&name),
                        esc(&missing)
                    );
                    waiting.push(id);
                }
                Err(reason) => {
                    let _ = write!(
                        rows,
                        r#"<tr class="failed"><td data-label="文件">{}</td><td data-label="识别" colspan="3" class="error">无法导入：{}</td></tr>"#,
                        esc(&name),
                        esc(&reason)
                    );
                }
            }
        }
    }
    if let [only] = waiting.as_slice() {
        if rows.matches("<tr").count() == 1 {
            return redirect(&format!("/intake/{only}"));
        }
    }
    let body = format!(
        r#"<div class="scroll"><table class="list" id="uploaded"><thead><tr><th scope="col">文件</th><th scope="col">识别</th><th scope="col">缺项</th><th scope="col">操作</th></tr></thead><tbody>{rows}</tbody></table></div>
<p><a href="/intake">继续上传</a></p>"#
    );
    page(StatusCode::OK, "文件导入：待复核", Some(&visitor), &body)
}

/// `GET /intake/{draft}`: the review page, everything as read.
pub(crate) async fn review_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let visitor = match visitor_who_may(&shared, &headers, Action::Register).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let Some(draft) = draft_of(&shared, &id, &visitor) else { return failure_page(gone(&id), Some(&visitor)) };
    let given = Reviewed::as_read(&draft.parsed);
    review(&visitor, &id, &draft.parsed, &given, "", StatusCode::OK)
}

/// The review form for `parsed`, filled with `given`.
fn review(
    visitor: &Visitor,
    id: &str,
    parsed: &Parsed,
    given: &Reviewed,
    notice: &str,
    status: StatusCode,
) -> Response {
    let read = parsed.registration();
    let mut body = String::from(notice);
    let _ = write!(body, r#"<p class="quiet">文件 <b>{}</b>"#, esc(&parsed.source.file_name));
    if !parsed.diagnostics.is_empty() {
        let notes: Vec<String> = parsed.diagnostics.iter().map(|d| esc(&d.message)).collect();
        let _ = write!(body, "；识别提示：{}", notes.join("；"));
    }
    body.push_str("</p>");
    let _ = write!(
        body,
        r#"<form method="post" action="/intake/{}" class="review" id="review"><input type="hidden" name="csrf" value="{}">
<fieldset class="card"><legend>答复信息</legend><div class="fields">"#,
        esc(id),
        esc(&visitor.csrf)
    );
    let date = given.signed_on.map(|d| d.to_string()).unwrap_or_default();
    let fields: [(&str, &str, &str, bool, String); 7] = [
        ("organ", "答复单位", "text", true, given.organ.clone()),
        ("doc_no", "文号", "text", true, given.doc_no.clone()),
        ("signed_on", "签发日期", "date", true, date),
        ("assembly", "会议（如 市政协）", "text", false, given.assembly.clone()),
        ("session", "届次（如 十四届三次会议）", "text", false, given.session.clone()),
        ("number", "建议提案编号", "text", false, given.number.clone()),
        ("title", "标题", "text", false, given.title.clone()),
    ];
    for (name, label, kind, needed, value) in fields {
        let missing = needed && value.trim().is_empty();
        let (class, hint) = if missing {
            (r#" class="missing""#, r#"<span class="hint">待补全：文件中未识别到</span>"#)
        } else {
            ("", "")
        };
        let _ = write!(
            body,
            r#"<div{class}><label for="f-{name}">{label}</label><input id="f-{name}" name="{name}" value="{}" type="{kind}">{hint}</div>"#,
            esc(&value)
        );
    }
    let _ = read;
    body.push_str("</div></fieldset>");
    let _ = write!(
        body,
        r#"<fieldset class="card"><legend>承诺（识别到 {} 条）</legend><p class="quiet">逐条核对：可修改内容和期限，不是承诺的选“删去”；漏识别的在下方补充。</p><ol class="promises">"#,
        parsed.commitments.len()
    );
    let chars: Vec<char> = parsed.source.text.chars().collect();
    let mut row = 0;
    for promise in &given.promises {
        let Some(at) = promise.read else { continue };
        let Some(found) = parsed.commitments.get(at) else { continue };
        let context = sentence_in_context(&chars, found.start as usize, found.end as usize);
        let source = match (&found.due_phrase, found.due) {
            (Some(phrase), Some(due)) => format!("由“{}”推得 {due}", esc(phrase)),
            (Some(phrase), None) => format!("原文“{}”，未能推出日期", esc(phrase)),
            _ => "原文未写明期限".to_string(),
        };
        let (keep, drop) = if promise.keep { (" checked", "") } else { ("", " checked") };
        let _ = write!(
            body,
            r#"<li class="promise" id="p{row}"><blockquote class="context">{context}</blockquote>
<input type="hidden" name="p{row}_read" value="{at}">
<label for="p{row}-text">承诺内容</label><textarea id="p{row}-text" name="p{row}_text" rows="2">{}</textarea>
<label for="p{row}-due">期限（{source}）</label><input id="p{row}-due" type="date" name="p{row}_due" value="{}">
<fieldset class="choice"><legend>这一条</legend><label><input type="radio" name="p{row}_keep" value="keep"{keep}> 保留</label><label><input type="radio" name="p{row}_keep" value="drop"{drop}> 删去（不是承诺）</label></fieldset></li>"#,
            esc(&promise.text),
            promise.due.map(|d| d.to_string()).unwrap_or_default()
        );
        row += 1;
    }
    body.push_str("</ol></fieldset>");
    let _ = write!(body, r#"<fieldset class="card"><legend>补充承诺（识别遗漏的）</legend><ol class="promises">"#);
    let added: Vec<&ReviewedPromise> = given.promises.iter().filter(|p| p.read.is_none()).collect();
    for slot in 0..added.len() + BLANK_PROMISES {
        let (text, due) = added
            .get(slot)
            .map(|p| (p.text.clone(), p.due.map(|d| d.to_string()).unwrap_or_default()))
            .unwrap_or_default();
        let _ = write!(
            body,
            r#"<li class="promise added"><label for="p{row}-text">承诺内容</label><textarea id="p{row}-text" name="p{row}_text" rows="2">{}</textarea>
<label for="p{row}-due">期限（可不填）</label><input id="p{row}-due" type="date" name="p{row}_due" value="{}"></li>"#,
            esc(&text),
            esc(&due)
        );
        row += 1;
    }
    let _ = write!(
        body,
        r#"</ol></fieldset><input type="hidden" name="rows" value="{row}"><button type="submit" id="confirm">确认登记</button></form>"#
    );
    page(status, "复核识别结果", Some(visitor), &body)
}

/// The paragraph holding characters `start..end` of the document's text, escaped, with them marked.
fn sentence_in_context(chars: &[char], start: usize, end: usize) -> String {
    let (start, end) = (start.min(chars.len()), end.min(chars.len()).max(start.min(chars.len())));
    let paragraph_start = |at: usize| chars[..at].iter().rposition(|c| *c == '\n').map_or(0, |at| at + 1);
    let mut from = paragraph_start(start);
    let to = chars[end..].iter().position(|c| *c == '\n').map_or(chars.len(), |at| end + at);
    // An item that is a paragraph of its own is shown after the paragraph leading to it.
    if chars[from..start].iter().all(|c| c.is_whitespace()) && chars[end..to].iter().all(|c| c.is_whitespace()) {
        let mut before = from;
        while before > 0 && chars[..before].iter().rev().take_while(|c| c.is_whitespace()).count() > 0 {
            let blank = chars[..before].iter().rev().take_while(|c| c.is_whitespace()).count();
            before -= blank;
        }
        if before > 0 {
            from = paragraph_start(before);
        }
    }
    // A long paragraph is shown around the sentence only.
    let from = from.max(start.saturating_sub(120));
    let to = to.min(end + 120);
    let text = |range: &[char]| esc(&range.iter().collect::<String>());
    format!(
        "{}{}<mark>{}</mark>{}{}",
        if from > 0 && chars.get(from - 1) != Some(&'\n') { "…" } else { "" },
        text(&chars[from..start]),
        text(&chars[start..end]),
        text(&chars[end..to]),
        if to < chars.len() && chars.get(to) != Some(&'\n') { "…" } else { "" }
    )
}

/// The review form's fields as the reviewer gave them; a refusal names the field.
fn reviewed_from(fields: &HashMap<String, String>) -> Result<Reviewed, String> {
    let text = |name: &str| fields.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let date = |name: &str, label: &str| -> Result<Option<NaiveDate>, String> {
        let value = text(name);
        if value.is_empty() {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|_| format!("{label}“{value}”无效：请写成 YYYY-MM-DD"))
    };
    let mut reviewed = Reviewed {
        organ: text("organ"),
        doc_no: text("doc_no"),
        signed_on: date("signed_on", "签发日期")?,
        assembly: text("assembly"),
        session: text("session"),
        number: text("number"),
        title: text("title"),
        promises: Vec::new(),
    };
    let rows: usize = text("rows").parse().map_err(|_| "表单不完整（缺少 rows）：请刷新页面后重试".to_string())?;
    for row in 0..rows.min(10_000) {
        let read = match text(&format!("p{row}_read")) {
            value if value.is_empty() => None,
            value => Some(value.parse().map_err(|_| format!("表单第 {} 条承诺的编号无效", row + 1))?),
        };
        reviewed.promises.push(ReviewedPromise {
            read,
            keep: text(&format!("p{row}_keep")) != "drop",
            text: fields.get(&format!("p{row}_text")).cloned().unwrap_or_default(),
            due: date(&format!("p{row}_due"), &format!("第 {} 条承诺的期限", row + 1))?,
        });
    }
    Ok(reviewed)
}

/// `POST /intake/{draft}`: registers the reply as reviewed; a refusal shows the form again as it was filled in.
pub(crate) async fn review_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let visitor = match posting_who_may(&shared, &headers, &form.fields, Action::Register).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let Some(draft) = draft_of(&shared, &id, &visitor) else { return failure_page(gone(&id), Some(&visitor)) };
    let given = match reviewed_from(&form.fields) {
        Ok(given) => given,
        Err(message) => {
            let notice = format!(r#"<p class="error" role="alert">{}</p>"#, esc(&message));
            let as_read = Reviewed::as_read(&draft.parsed);
            return review(&visitor, &id, &draft.parsed, &as_read, &notice, StatusCode::BAD_REQUEST);
        }
    };
    let (worker, caller, parsed, reviewed) =
        (shared.clone(), visitor.caller.clone(), draft.parsed.clone(), given.clone());
    let outcome = blocking(move || {
        let ctx = context(&worker, &caller)?;
        Ok(worker.app.register_reviewed(&ctx, &parsed, &reviewed)?)
    })
    .await;
    match outcome {
        Ok(outcome) => {
            shared.drafts.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            let reply = outcome.reply_id.unwrap_or_default();
            let done = format!("已登记答复及 {} 条承诺", outcome.commitments);
            redirect(&format!("/replies/{reply}?done={}", enc(&done)))
        }
        Err(failure) => {
            let notice = format!(r#"<p class="error" role="alert">未登记：{}</p>"#, esc(&failure.message));
            let status = if failure.status.is_server_error() { failure.status } else { StatusCode::BAD_REQUEST };
            review(&visitor, &id, &draft.parsed, &given, &notice, status)
        }
    }
}
