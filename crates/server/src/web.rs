//! The web app (issue 19): pages rendered here from the same read model and use cases as the API, for the people
//! who will not use a terminal. Forms work without JavaScript; nothing a page loads comes from another host (the one
//! stylesheet is served by this server).
//!
//! Sessions are the API's (a token in an HttpOnly, SameSite=Strict cookie). Every form carries a CSRF token derived
//! from the session's (a SHA-256 of it that a page of another site cannot compute); the login form, before any
//! session, carries one that must equal a cookie set with the form. Every text from the register goes through
//! [`esc`]: nothing a document or a user wrote is ever markup.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use duban_app::{CommitmentView, ListFilter, Order, View};
use duban_domain::{permits, Action, Role, Status, Target};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{apply_fact, blocking, percent_encode as enc, promise_organs, today, Caller, Failure, Shared};

const SESSION_COOKIE: &str = "duban_session";
const LOGIN_COOKIE: &str = "duban_login";
/// Rows on a list page.
const PAGE: usize = 50;
/// Days ahead in which an active promise's due date makes it yellow.
const NEAR_DAYS: u32 = 30;

pub(crate) fn routes(body_limit: usize) -> Router<Arc<Shared>> {
    Router::new()
        .route("/intake", get(crate::intake::upload_page).post(crate::intake::upload_submit))
        .route("/intake/{draft}", get(crate::intake::review_page).post(crate::intake::review_submit))
        .route("/users", get(crate::users::users_page).post(crate::users::create_submit))
        .route("/users/{name}/{action}", post(crate::users::change_submit))
        .route("/commitments/{id}/files/{sha256}", get(attachment_file))
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout_submit))
        .route("/commitments", get(list_page))
        .route("/search", get(search_page))
        .route("/replies", get(replies_page))
        .route("/reports", get(reports_page))
        .route("/reports/file", get(report_file))
        .route("/replies/{id}", get(reply_page))
        .route("/commitments/export", get(export_list))
        .route("/commitments/{id}", get(detail_page))
        .route("/commitments/{id}/{action}", post(fact_submit))
        .route("/static/app.css", get(stylesheet))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
}

/// A form as posted: its text fields, and the files of a `multipart/form-data` one (a field with a file name; an
/// empty file input sends one with no name and no bytes, which is left out).
pub(crate) struct FormData {
    pub fields: HashMap<String, String>,
    pub files: Vec<(String, duban_app::Upload)>,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<FormData, Response> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("multipart/form-data"));
        let too_large = |error: &dyn std::fmt::Display| {
            let message = format!("无法读取上传的表单（{error}）：文件可能过大，请分开上传或换小一些的文件");
            failure_page(Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message), None)
        };
        if !multipart {
            let axum::extract::Form(fields) =
                axum::extract::Form::<HashMap<String, String>>::from_request(request, state)
                    .await
                    .map_err(|rejection| failure_page(Failure::bad(rejection.body_text()), None))?;
            return Ok(FormData { fields, files: Vec::new() });
        }
        let mut parts = axum::extract::Multipart::from_request(request, state)
            .await
            .map_err(|rejection| failure_page(Failure::bad(rejection.body_text()), None))?;
        let mut form = FormData { fields: HashMap::new(), files: Vec::new() };
        while let Some(field) = parts.next_field().await.map_err(|error| too_large(&error))? {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.map_err(|error| too_large(&error))?;
            match file_name {
                Some(file_name) if !file_name.is_empty() || !bytes.is_empty() => {
                    form.files.push((name, duban_app::Upload { file_name, bytes: bytes.to_vec() }));
                }
                Some(_) => {}
                None => {
                    form.fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        Ok(form)
    }
}

/// Text made safe to place in HTML, as element content or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_string())
        })
    })
}

/// The CSRF token of a session: what its forms carry.
fn csrf_of(session: &str) -> String {
    let digest = Sha256::digest(format!("duban-csrf\0{session}").as_bytes());
    digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect()
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The logged-in user of a page, and the session's CSRF token.
pub(crate) struct Visitor {
    pub caller: Caller,
    pub csrf: String,
    /// The account's id (its stream).
    pub account: ulid::Ulid,
}

/// The visitor, or a redirect to the login page.
pub(crate) async fn visitor(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Visitor, Response> {
    let to_login = || redirect("/login");
    let token = cookie(headers, SESSION_COOKIE).ok_or_else(to_login)?;
    let worker = shared.clone();
    let lookup = token.clone();
    let found =
        blocking(move || Ok(worker.app.session(&lookup, worker.clock.now())?)).await.map_err(|f| f.into_response())?;
    let (account, principal) = found.ok_or_else(to_login)?;
    Ok(Visitor { caller: Caller { principal }, csrf: csrf_of(&token), account: account.id.unwrap_or_default() })
}

pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A whole page: the navigation for `user`, the title and the body.
pub(crate) fn page(status: StatusCode, title: &str, user: Option<&Visitor>, body: &str) -> Response {
    let mut nav = String::new();
    if let Some(visitor) = user {
        let principal = &visitor.caller.principal;
        let organs = if principal.organs.is_empty() {
            String::new()
        } else {
            format!("（{}）", esc(&principal.organs.join("、")))
        };
        let allowed = |action: Action| permits(principal, action, Target::Register).is_ok();
        let mut extra = String::new();
        if allowed(Action::Register) {
            extra.push_str(r#"<a href="/intake">导入</a>"#);
        }
        if allowed(Action::ManageAccounts) {
            extra.push_str(r#"<a href="/users">用户</a>"#);
        }
        let _ = write!(
            nav,
            r#"<nav aria-label="主导航"><a href="/">首页</a><a href="/commitments">承诺</a><a href="/replies">答复</a><a href="/reports">报告</a>{extra}
<form method="get" action="/search" class="find" role="search"><input type="search" name="q" aria-label="搜索承诺、答复和进展" placeholder="搜索承诺、答复、进展"><button type="submit">搜索</button></form>
<span class="who">{}·{}{organs}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit">退出</button></form></nav>"#,
            esc(&principal.name),
            esc(principal.role.label()),
            esc(&visitor.csrf)
        );
    }
    let html = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · 督办</title><link rel="stylesheet" href="/static/app.css"></head>
<body><header><span class="brand">督办</span>{nav}</header><main>
<h1>{}</h1>
{body}
</main></body></html>
"#,
        esc(title),
        esc(title)
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::HeaderName::from_static("x-frame-options"), "DENY"),
        (
            header::HeaderName::from_static("content-security-policy"),
            "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    ];
    (status, headers, html).into_response()
}

pub(crate) fn failure_page(failure: Failure, user: Option<&Visitor>) -> Response {
    let body = format!(
        r#"<p class="error" role="alert">{}</p><p><a href="/commitments">返回承诺列表</a></p>"#,
        esc(&failure.message)
    );
    page(failure.status, "出错了", user, &body)
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLE)
        .into_response()
}

// ---- login ----

async fn login_page(headers: HeaderMap) -> Response {
    let token =
        cookie(&headers, LOGIN_COOKIE).filter(|t| t.len() == 26).unwrap_or_else(|| ulid::Ulid::new().to_string());
    login_form(&token, None, StatusCode::OK)
}

fn login_form(token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let error = error.map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e))).unwrap_or_default();
    let body = format!(
        r#"{error}<form method="post" action="/login" class="card narrow">
<input type="hidden" name="csrf" value="{token}">
<label for="username">账户名</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button></form>"#
    );
    let mut response = page(status, "登录", None, &body);
    let value = format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict");
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login_submit(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(address): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    form: axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let given = form.get("csrf").cloned().unwrap_or_default();
    let fresh = ulid::Ulid::new().to_string();
    if expected.is_empty() || !same(&expected, &given) {
        return login_form(&fresh, Some("表单已过期或来源不明（缺少 CSRF 令牌）：请重新登录"), StatusCode::FORBIDDEN);
    }
    let name = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match crate::log_in(&shared, address, name, password).await {
        Ok((token, _)) => {
            let mut response = redirect("/");
            let value = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(failure) => login_form(&fresh, Some(&failure.message), failure.status),
    }
}

async fn logout_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: axum::extract::Form<HashMap<String, String>>,
) -> Response {
    if let Err(response) = posting(&shared, &headers, &form).await {
        return response;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let worker = shared.clone();
        let _ = blocking(move || Ok(worker.app.close_session(&token)?)).await;
    }
    let mut response = redirect("/login");
    let value = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The visitor who posted `form`, if the form carries the session's CSRF token; else the page that refuses it.
pub(crate) async fn posting(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Visitor, Response> {
    let visitor = visitor(shared, headers).await?;
    if !form.get("csrf").is_some_and(|given| same(given, &visitor.csrf)) {
        return Err(failure_page(csrf_refused(), Some(&visitor)));
    }
    Ok(visitor)
}

/// The visitor of a page, if its role may do `action` in the register; else the way to the login form, or the page
/// that refuses it.
pub(crate) async fn visitor_who_may(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    action: Action,
) -> Result<Visitor, Response> {
    let visitor = visitor(shared, headers).await?;
    match visitor.caller.may(action, Target::Register) {
        Ok(()) => Ok(visitor),
        Err(failure) => Err(failure_page(failure, Some(&visitor))),
    }
}

/// As [`posting`], for a form whose use needs the role to be allowed `action` in the register.
pub(crate) async fn posting_who_may(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    action: Action,
) -> Result<Visitor, Response> {
    let visitor = posting(shared, headers, form).await?;
    match visitor.caller.may(action, Target::Register) {
        Ok(()) => Ok(visitor),
        Err(failure) => Err(failure_page(failure, Some(&visitor))),
    }
}

pub(crate) fn csrf_refused() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "表单缺少有效的 CSRF 令牌（页面过期或来自别的网站）：请刷新页面后重试",
    )
}

// ---- the dashboard ----

fn signal_class(signal: usize) -> &'static str {
    ["red", "yellow", "green", "done"][signal]
}

const SIGNAL_LABELS: [&str; 4] = ["逾期", "临近期限或停滞", "正常推进", "已办结或撤销"];

async fn dashboard(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let view = View::now(today(&shared));
    let (caller, account) = (visitor.caller.clone(), visitor.account);
    let worker = shared.clone();
    let figures = blocking(move || {
        let visible = caller.promise_visibility();
        let since = worker.app.since_last_visit(account)?;
        Ok((worker.app.dashboard(&view, &visible, NEAR_DAYS, 10)?, since))
    })
    .await;
    let (figures, since) = match figures {
        Ok(figures) => figures,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let mut body = String::new();
    let mine = if visitor.caller.principal.role == Role::Organ { "本单位的承诺" } else { "全部承诺" };
    let total: usize = figures.by_status.values().sum();
    let _ = write!(
        body,
        r#"<p class="lead">{mine}共 <strong id="total">{total}</strong> 项，状态按 {} 判断。</p>"#,
        view.on_date
    );
    match since {
        None => body.push_str(r#"<p class="quiet" id="since">这是本账户首次登录，下次登录时这里列出其间的变化。</p>"#),
        Some(since) => {
            let counts = [
                ("新登记答复", since.replies, "件"),
                ("新承诺", since.commitments, "项"),
                ("进展报告", since.progress, "条"),
                ("办结", since.closed, "项"),
                ("其他变更", since.other, "条"),
            ];
            let listed: Vec<String> = counts
                .iter()
                .filter(|(_, count, _)| *count > 0)
                .map(|(label, count, unit)| format!(r#"{label} <strong data-kind="{label}">{count}</strong> {unit}"#))
                .collect();
            let what = if listed.is_empty() { "没有变化".to_string() } else { listed.join("，") };
            let more = if since.more {
                format!("（只看了其后的 {} 条记录）", duban_app::SINCE_LAST_VISIT_EVENTS)
            } else {
                String::new()
            };
            let _ = write!(body, r#"<p class="lead" id="since">自上次登录以来：{what}{more}。</p>"#);
        }
    }
    body.push_str(r#"<section aria-labelledby="signals"><h2 id="signals">红黄绿</h2><ul class="signals">"#);
    for (signal, label) in SIGNAL_LABELS.iter().enumerate() {
        let _ = write!(
            body,
            r#"<li class="{}"><span class="count">{}</span> {label}</li>"#,
            signal_class(signal),
            figures.signals[signal]
        );
    }
    body.push_str("</ul></section>");
    body.push_str(r#"<section aria-labelledby="by-status"><h2 id="by-status">按状态</h2><table class="counts" id="status-counts"><thead><tr><th scope="col">状态</th><th scope="col">项数</th></tr></thead><tbody>"#);
    for status in Status::ALL {
        let count = figures.by_status.get(&status).copied().unwrap_or(0);
        let _ = write!(
            body,
            r#"<tr data-status="{}"><td><a href="/commitments?status={}">{}</a></td><td class="num">{count}</td></tr>"#,
            status.code(),
            status.code(),
            esc(status.label())
        );
    }
    body.push_str("</tbody></table></section>");
    for (title, id, rows) in
        [("已逾期", "overdue", &figures.overdue), (&*format!("{NEAR_DAYS} 天内到期"), "near-due", &figures.near_due)]
    {
        let _ = write!(body, r#"<section aria-labelledby="{id}"><h2 id="{id}">{}</h2>"#, esc(title));
        if rows.is_empty() {
            body.push_str(r#"<p class="quiet">没有。</p>"#);
        } else {
            body.push_str(r#"<ul class="items">"#);
            for row in rows.iter() {
                let due = row.state.due_on(view.policy).map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                let _ = write!(
                    body,
                    r#"<li><a href="/commitments/{}">#{} {}</a> <span class="meta">{} · 期限 {due}</span></li>"#,
                    row.state.id.map(|id| id.to_string()).unwrap_or_default(),
                    row.state.number,
                    esc(&clip(&row.state.text, 60)),
                    esc(&row.state.owner)
                );
            }
            body.push_str("</ul>");
        }
        body.push_str("</section>");
    }
    body.push_str(r#"<section aria-labelledby="by-organ"><h2 id="by-organ">按责任单位</h2><div class="scroll"><table><thead><tr><th scope="col">责任单位</th><th scope="col" class="red">逾期</th><th scope="col" class="yellow">临近或停滞</th><th scope="col" class="green">正常</th><th scope="col">已办结</th></tr></thead><tbody>"#);
    for (organ, counts) in &figures.by_organ {
        let _ = write!(
            body,
            r#"<tr><td><a href="/commitments?organ={}">{}</a></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            enc(organ),
            esc(organ),
            counts[0],
            counts[1],
            counts[2],
            counts[3]
        );
    }
    body.push_str("</tbody></table></div></section>");
    page(StatusCode::OK, "首页", Some(&visitor), &body)
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        text.chars().take(chars).collect::<String>() + "…"
    }
}

// ---- the list ----

/// The search page (`/search?q=…`): what `duban search` finds, as far as the visitor may see, the words marked.
async fn search_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let asked = query.get("q").map(|q| q.trim().to_string()).unwrap_or_default();
    let mut body = format!(
        r#"<form method="get" action="/search" class="filters" role="search"><label>搜索词（多个词以空格分开，整句加引号）<input type="search" name="q" id="search-q" value="{}"></label><button type="submit">搜索</button></form>"#,
        esc(&asked)
    );
    if asked.is_empty() {
        body.push_str(
            r#"<p class="quiet">在承诺内容、答复标题与文号、进展说明中查找；繁体、全角字符按简体、半角查找。</p>"#,
        );
        return page(StatusCode::OK, "搜索", Some(&visitor), &body);
    }
    let caller = visitor.caller.clone();
    let worker = shared.clone();
    let view = View::new(duban_domain::Horizon::ALL, today(&shared), duban_domain::Policy::default());
    let found = blocking(move || {
        let request = duban_app::SearchRequest { query: asked, limit: 50, ..Default::default() };
        crate::search_as(&worker.app, &caller, &request, &view)
    })
    .await;
    let found = match found {
        Ok(found) => found,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let _ = write!(
        body,
        r#"<p class="lead">找到 <strong id="search-total">{}</strong> 条{}。</p><ol class="hits" id="hits">"#,
        found.total,
        if found.total > found.hits.len() {
            format!("，先列出最相关的 {} 条", found.hits.len())
        } else {
            String::new()
        }
    );
    for hit in &found.hits {
        let snippet = marked(&hit.snippet, &found.terms);
        let item = match hit.kind {
            duban_app::SearchKind::Reply => format!(r#"<a href="/replies/{}">{snippet}</a>"#, hit.id),
            _ => format!(r#"<a href="/commitments/{}">{snippet}</a>"#, hit.id),
        };
        let status = hit
            .status
            .map(|status| format!(r#" <span class="status {}">{}</span>"#, status.code(), esc(status.label())))
            .unwrap_or_default();
        let _ = write!(
            body,
            r#"<li data-kind="{}"><span class="kind">{}</span>{item}{status} <span class="meta">{} · {}</span></li>"#,
            hit.kind.code(),
            hit.kind.label(),
            esc(&hit.short_id),
            hit.occurred_on
        );
    }
    body.push_str("</ol>");
    page(StatusCode::OK, "搜索", Some(&visitor), &body)
}

/// The replies (`/replies`): those the visitor may see, newest registration first, by organ and year, a page at a
/// time.
async fn replies_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let given = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut problems = Vec::new();
    let year = given("year").and_then(|y| match y.parse::<i32>() {
        Ok(year) => Some(year),
        Err(_) => {
            problems.push(format!("答复年份“{y}”无效：应为四位年份，例如 2025"));
            None
        }
    });
    let filter = duban_app::ReplyFilter {
        organ: given("organ").map(|organ| duban_domain::OrganQuery::new(organ, &duban_domain::Aliases::default())),
        year,
        ..Default::default()
    };
    let page_number: usize = given("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let view = View::now(today(&shared));
    let (worker, caller) = (shared.clone(), visitor.caller.clone());
    let listed = blocking(move || {
        let mut rows: Vec<duban_app::ReplyView> = worker
            .app
            .replies(&view)?
            .iter()
            .filter(|row| filter.keeps(&row.reply) && caller.sees(&[row.reply.organ()]))
            .map(|row| duban_app::ReplyView::new(&row.reply, row.commitments))
            .collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.number));
        Ok(rows)
    })
    .await;
    let rows = match listed {
        Ok(rows) => rows,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let mut body = String::new();
    for problem in &problems {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, esc(problem));
    }
    let value = |name: &str| esc(given(name).unwrap_or_default());
    let _ = write!(
        body,
        r#"<form method="get" action="/replies" class="filters" role="search">
<label>答复单位 <input name="organ" value="{}"></label>
<label>答复年份 <input name="year" inputmode="numeric" size="5" value="{}"></label>
<button type="submit">筛选</button></form>"#,
        value("organ"),
        value("year")
    );
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let _ = write!(
        body,
        r#"<p class="lead">共 <strong id="replies-total">{total}</strong> 件，第 {page_number}/{pages} 页。</p>
<div class="scroll"><table class="list" id="replies"><thead><tr><th scope="col">编号</th><th scope="col">答复单位</th><th scope="col">文号</th><th scope="col">签发日期</th><th scope="col">建议提案</th><th scope="col" class="num">承诺</th></tr></thead><tbody>"#
    );
    for row in rows.iter().skip((page_number - 1) * PAGE).take(PAGE) {
        let id = esc(row.id.as_deref().unwrap_or_default());
        let missing = if row.missing.is_empty() {
            String::new()
        } else {
            format!(r#" <span class="status stalled">待补全：{}</span>"#, esc(&row.missing.join("、")))
        };
        let _ = write!(
            body,
            r#"<tr><td data-label="编号"><a href="/replies/{id}">#{}</a></td><td data-label="答复单位">{}{missing}</td><td data-label="文号"><a href="/replies/{id}">{}</a></td><td data-label="签发">{}</td><td data-label="建议提案">{}</td><td data-label="承诺" class="num">{}</td></tr>"#,
            row.number,
            esc(&row.organ),
            esc(if row.doc_no.is_empty() { "（无文号）" } else { &row.doc_no }),
            row.signed_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
            esc(&row.proposal),
            row.commitments,
        );
    }
    body.push_str("</tbody></table></div>");
    let link = |page: usize| {
        let mut pairs: Vec<String> =
            ["organ", "year"].iter().filter_map(|name| given(name).map(|v| format!("{name}={}", enc(v)))).collect();
        pairs.push(format!("page={page}"));
        format!("/replies?{}", pairs.join("&"))
    };
    body.push_str(r#"<nav class="paging" aria-label="翻页">"#);
    if page_number > 1 {
        let _ = write!(body, r#"<a href="{}">上一页</a>"#, esc(&link(page_number - 1)));
    }
    if page_number < pages {
        let _ = write!(body, r#"<a href="{}">下一页</a>"#, esc(&link(page_number + 1)));
    }
    body.push_str("</nav>");
    page(StatusCode::OK, "答复", Some(&visitor), &body)
}

/// One reply (`/replies/{id}`): its registration, its promises with their statuses, its amendments and facts.
async fn reply_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let view = View::now(today(&shared));
    let (worker, caller, input) = (shared.clone(), visitor.caller.clone(), id.clone());
    let found = blocking(move || {
        let detail = worker.app.reply(&input, &view)?;
        if !caller.sees(&[detail.reply.organ()]) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到答复 {input}")));
        }
        Ok(detail)
    })
    .await;
    let detail = match found {
        Ok(detail) => detail,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let reply = duban_app::ReplyView::new(&detail.reply, detail.commitments.len());
    let or_dash = |text: Option<&str>| esc(text.filter(|t| !t.is_empty()).unwrap_or("—"));
    let notice = query.get("done").map(|done| format!(r#"<p class="notice" role="status">{}</p>"#, esc(done)));
    let mut body = notice.unwrap_or_default();
    let _ = write!(
        body,
        r#"<dl class="facts" id="reply">
<dt>编号</dt><dd>#{}</dd><dt>答复单位</dt><dd id="reply-organ">{}</dd><dt>文号</dt><dd id="reply-doc-no">{}</dd>
<dt>签发日期</dt><dd>{}</dd><dt>建议提案</dt><dd>{}</dd><dt>标题</dt><dd>{}</dd><dt>办理结果</dt><dd>{}</dd>
<dt>待补全</dt><dd>{}</dd>
</dl>"#,
        reply.number,
        or_dash(Some(&reply.organ)),
        or_dash(Some(&reply.doc_no)),
        reply.signed_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        or_dash(Some(&reply.proposal)),
        or_dash(reply.title.as_deref()),
        or_dash(reply.result.as_deref()),
        if reply.missing.is_empty() { "—".to_string() } else { esc(&reply.missing.join("、")) },
    );
    let _ = write!(
        body,
        r#"<h2>承诺（{}）</h2><div class="scroll"><table class="list" id="reply-commitments"><thead><tr><th scope="col">编号</th><th scope="col">状态</th><th scope="col">责任单位</th><th scope="col">期限</th><th scope="col">承诺内容</th></tr></thead><tbody>"#,
        detail.commitments.len()
    );
    for (state, status) in &detail.commitments {
        let id = state.id.map(|id| id.to_string()).unwrap_or_default();
        let due = state.due_under(view.policy).map(|(due, _)| due.to_string()).unwrap_or_else(|| "—".into());
        let _ = write!(
            body,
            r#"<tr><td data-label="编号"><a href="/commitments/{id}">#{}</a></td><td data-label="状态"><span class="status {}">{}</span></td><td data-label="责任单位">{}</td><td data-label="期限">{due}</td><td data-label="内容"><a href="/commitments/{id}">{}</a></td></tr>"#,
            state.number,
            status.code(),
            esc(status.label()),
            esc(&state.owner),
            esc(&state.text),
        );
    }
    body.push_str("</tbody></table></div>");
    if detail.reply.amendments > 0 {
        let _ = write!(
            body,
            r#"<p class="quiet" id="amendments">登记已更正 {} 次，见下方记录。</p>"#,
            detail.reply.amendments
        );
    }
    body.push_str(r#"<h2>记录</h2><ol class="items" id="reply-events">"#);
    for event in detail.events.iter().map(duban_app::EventView::new) {
        let _ = write!(
            body,
            r#"<li><span class="meta">{} · {}</span> {}：{}</li>"#,
            event.occurred_on,
            esc(event.actor),
            esc(event.label),
            esc(&event.summary)
        );
    }
    body.push_str("</ol>");
    let title = if reply.doc_no.is_empty() { "答复".to_string() } else { format!("答复 {}", reply.doc_no) };
    page(StatusCode::OK, &title, Some(&visitor), &body)
}

/// `text` escaped, with the (folded) `terms` marked where the folded text holds them. Folding turns one character
/// into one, so a place in the folded text is the same place in the text.
fn marked(text: &str, terms: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let folded = duban_app::search_fold(text);
    let mut hot = vec![false; chars.len()];
    if folded.len() == chars.len() {
        for term in terms {
            let term: Vec<char> = term.chars().collect();
            if term.is_empty() || term.len() > folded.len() {
                continue;
            }
            for start in 0..=folded.len() - term.len() {
                if folded[start..start + term.len()] == term[..] {
                    hot[start..start + term.len()].iter_mut().for_each(|h| *h = true);
                }
            }
        }
    }
    let mut out = String::new();
    let mut at = 0;
    while at < chars.len() {
        let end = (at..chars.len()).find(|&i| hot[i] != hot[at]).unwrap_or(chars.len());
        let piece: String = chars[at..end].iter().collect();
        if hot[at] {
            let _ = write!(out, "<mark>{}</mark>", esc(&piece));
        } else {
            out.push_str(&esc(&piece));
        }
        at = end;
    }
    out
}

async fn list_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let given = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (filter, descending, horizon, problems) = list_query(&query);
    let page_number: usize = given("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let view = View::new(horizon, today(&shared), duban_domain::Policy::default());
    let caller = visitor.caller.clone();
    let worker = shared.clone();
    let order = filter.order;
    let listed = blocking(move || {
        let visible = caller.promise_visibility();
        let mut rows: Vec<CommitmentView> = Vec::new();
        let offset = (page_number - 1) * PAGE;
        let total = worker.app.visit_page(&filter, &view, &visible, offset, PAGE, descending, &mut |row| {
            rows.push(CommitmentView::new(row.state, row.reply, row.status, row.short_id, view.policy))
        })?;
        Ok((total, rows))
    })
    .await;
    let (total, rows) = match listed {
        Ok(listed) => listed,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let value = |name: &str| esc(given(name).unwrap_or_default());
    let mut body = String::new();
    for problem in &problems {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, esc(problem));
    }
    let mut statuses = String::from(r#"<option value="">全部</option>"#);
    for status in Status::ALL {
        let selected = if given("status").and_then(Status::parse) == Some(status) { " selected" } else { "" };
        let _ = write!(statuses, r#"<option value="{}"{selected}>{}</option>"#, status.code(), esc(status.label()));
    }
    let checked = |name: &str| if given(name).is_some() { " checked" } else { "" };
    let _ = write!(
        body,
        r#"<form method="get" action="/commitments" class="filters" role="search">
<label>状态 <select name="status">{statuses}</select></label>
<label>责任单位 <input name="organ" value="{}"></label>
<label>答复年份 <input name="year" inputmode="numeric" size="5" value="{}"></label>
<label>天内到期 <input name="due_within" inputmode="numeric" size="4" value="{}"></label>
<label>按日查看 <input type="date" name="as_of" value="{}"></label>
<label><input type="checkbox" name="overdue" value="1"{}> 仅逾期</label>
<label><input type="checkbox" name="active" value="1"{}> 仅在办</label>
<input type="hidden" name="sort" value="{}">
<button type="submit">筛选</button></form>"#,
        value("organ"),
        value("year"),
        value("due_within"),
        value("as_of"),
        checked("overdue"),
        checked("active"),
        esc(order.code()),
    );
    let pages = total.div_ceil(PAGE).max(1);
    let _ = write!(
        body,
        r#"<p class="lead">共 <strong id="list-total">{total}</strong> 项，第 {page_number}/{pages} 页。</p>"#
    );
    // Links keep the filters; a column header sorts by it (again: the other way).
    let base: Vec<(String, String)> = query
        .iter()
        .filter(|(k, v)| !["page", "sort", "desc"].contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let link = |extra: &[(&str, String)]| -> String {
        let mut pairs: Vec<String> = base.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        pairs.sort();
        pairs.extend(extra.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))));
        format!("/commitments?{}", pairs.join("&"))
    };
    let header_cell = |label: &str, column: Order| -> String {
        let current = order == column;
        let mut extra = vec![("sort", column.code().to_string())];
        if current && !descending {
            extra.push(("desc", "1".to_string()));
        }
        let mark = match (current, descending) {
            (true, false) => " ▲",
            (true, true) => " ▼",
            _ => "",
        };
        let sort = match (current, descending) {
            (true, false) => "ascending",
            (true, true) => "descending",
            _ => "none",
        };
        format!(r#"<th scope="col" aria-sort="{sort}"><a href="{}">{}{mark}</a></th>"#, esc(&link(&extra)), esc(label))
    };
    let _ = write!(
        body,
        r#"<div class="scroll"><table class="list" id="commitments"><thead><tr>{}{}{}{}{}<th scope="col">承诺内容</th></tr></thead><tbody>"#,
        header_cell("编号", Order::Number),
        header_cell("状态", Order::Status),
        header_cell("责任单位", Order::Owner),
        header_cell("期限", Order::Due),
        header_cell("最近进展", Order::Progress),
    );
    for row in &rows {
        let due = match (row.due, row.due_source) {
            (Some(due), Some("policy")) => format!("{due}*"),
            (Some(due), _) => due.to_string(),
            _ => "—".into(),
        };
        let _ = write!(
            body,
            r#"<tr><td data-label="编号"><a href="/commitments/{}">#{}</a></td><td data-label="状态"><span class="status {}">{}</span></td><td data-label="责任单位">{}</td><td data-label="期限">{due}</td><td data-label="最近进展">{}</td><td data-label="内容"><a href="/commitments/{}">{}</a></td></tr>"#,
            esc(&row.id),
            row.number,
            row.status,
            esc(row.status_label),
            esc(&row.owner),
            row.last_progress_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
            esc(&row.id),
            esc(&clip(&row.text, 80)),
        );
    }
    body.push_str("</tbody></table></div>");
    let mut paging = String::new();
    let keep_sort: Vec<(&str, String)> = {
        let mut extra = vec![("sort", order.code().to_string())];
        if descending {
            extra.push(("desc", "1".into()));
        }
        extra
    };
    if page_number > 1 {
        let mut extra = keep_sort.clone();
        extra.push(("page", (page_number - 1).to_string()));
        let _ = write!(paging, r#"<a rel="prev" href="{}">上一页</a>"#, esc(&link(&extra)));
    }
    if page_number < pages {
        let mut extra = keep_sort.clone();
        extra.push(("page", (page_number + 1).to_string()));
        let _ = write!(paging, r#"<a rel="next" href="{}">下一页</a>"#, esc(&link(&extra)));
    }
    let _ = write!(body, r#"<nav class="paging" aria-label="分页">{paging}</nav>"#);
    let export = |format: &str| {
        let mut pairs: Vec<String> = base.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        pairs.sort();
        pairs.push(format!("format={format}"));
        format!("/commitments/export?{}", pairs.join("&"))
    };
    let _ = write!(
        body,
        r#"<p class="exports">导出当前筛选结果：<a id="export-xlsx" href="{}">Excel</a> · <a id="export-csv" href="{}">CSV</a></p>"#,
        esc(&export("xlsx")),
        esc(&export("csv"))
    );
    page(StatusCode::OK, "承诺", Some(&visitor), &body)
}

/// A list page's filters from its query: the filter, whether descending, the horizon, and what could not be read.
fn list_query(query: &HashMap<String, String>) -> (ListFilter, bool, duban_domain::Horizon, Vec<String>) {
    let given = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut filter =
        ListFilter { active: given("active").is_some(), overdue: given("overdue").is_some(), ..ListFilter::default() };
    let mut problems = Vec::new();
    if let Some(code) = given("status") {
        match Status::parse(code) {
            Some(status) => filter.statuses.push(status),
            None => problems.push(format!("状态“{code}”无效")),
        }
    }
    if let Some(organ) = given("organ") {
        filter.organ = Some(duban_domain::OrganQuery::new(organ, &duban_domain::Aliases::default()));
    }
    if let Some(year) = given("year") {
        match year.parse() {
            Ok(year) => filter.year = Some(year),
            Err(_) => problems.push(format!("年份“{year}”无效")),
        }
    }
    if let Some(days) = given("due_within") {
        match days.parse() {
            Ok(days) => filter.due_within = Some(days),
            Err(_) => problems.push(format!("天数“{days}”无效")),
        }
    }
    filter.order = given("sort").and_then(Order::parse).unwrap_or_default();
    let descending = given("desc").is_some();
    let mut horizon = duban_domain::Horizon::ALL;
    if let Some(as_of) = given("as_of") {
        match as_of.parse() {
            Ok(date) => horizon.as_of = Some(date),
            Err(_) => problems.push(format!("日期“{as_of}”无效：请写成 YYYY-MM-DD")),
        }
    }
    (filter, descending, horizon, problems)
}

/// `/commitments/export?format=csv|xlsx` with the list's filters: every row of the view (the caller's own), as a
/// file.
async fn export_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let (filter, descending, horizon, problems) = list_query(&query);
    if let Some(problem) = problems.first() {
        return failure_page(Failure::bad(problem.clone()), Some(&visitor));
    }
    let xlsx = match query.get("format").map(String::as_str) {
        Some("xlsx") | None => true,
        Some("csv") => false,
        Some(other) => return failure_page(Failure::bad(format!("格式“{other}”无效：可选 xlsx、csv")), Some(&visitor)),
    };
    let view = View::new(horizon, today(&shared), duban_domain::Policy::default());
    let caller = visitor.caller.clone();
    let worker = shared.clone();
    let built = blocking(move || {
        use duban_report::Cell;
        let visible = caller.promise_visibility();
        let (_, listing) = worker.app.list_page(&filter, &view, &visible, 0, usize::MAX, descending)?;
        let rows: Vec<Vec<Cell>> = listing
            .rows
            .iter()
            .map(|row| {
                let due = row.state.due_under(view.policy);
                vec![
                    Cell::Number(row.state.number as f64),
                    Cell::Text(row.status.label().to_string()),
                    Cell::Text(row.state.owner.clone()),
                    Cell::Text(row.state.co_handlers.join("、")),
                    Cell::Date(due.map(|(date, _)| date)),
                    Cell::Text(due.map(|(_, source)| source.label().to_string()).unwrap_or_default()),
                    Cell::Date(row.state.last_progress_on),
                    Cell::Text(row.reply.as_ref().map(|r| r.organ().to_string()).unwrap_or_default()),
                    Cell::Text(row.reply.as_ref().map(|r| r.doc_no().to_string()).unwrap_or_default()),
                    Cell::Text(row.state.text.clone()),
                ]
            })
            .collect();
        let headers =
            ["编号", "状态", "责任单位", "会办单位", "期限", "期限来源", "最近进展", "答复单位", "文号", "承诺内容"];
        let bytes = if xlsx {
            duban_report::table_xlsx("承诺", &headers, &rows)
        } else {
            duban_report::table_csv(&headers, &rows)
        };
        bytes.map_err(|error| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", error.to_string()))
    })
    .await;
    match built {
        Ok(bytes) => {
            let (kind, name) = if xlsx {
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
            } else {
                ("text/csv; charset=utf-8", "csv")
            };
            let disposition = format!(
                "attachment; filename=\"commitments.{name}\"; filename*=UTF-8''{}",
                enc(&format!("承诺.{name}"))
            );
            ([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
                .into_response()
        }
        Err(failure) => failure_page(failure, Some(&visitor)),
    }
}

// ---- reports ----

/// The annual report's form (`/reports`): year, as of, as known at, organ, format; the file comes from
/// `/reports/file`, an HTML report shown in the browser, the others downloaded.
async fn reports_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let year = chrono::Datelike::year(&today(&shared));
    let organ = if visitor.caller.principal.role == Role::Organ {
        format!(r#"<p class="quiet">只含本单位（{}）的承诺。</p>"#, esc(&visitor.caller.principal.organs.join("、")))
    } else {
        r#"<label>责任单位（可不填） <input name="organ"></label>"#.to_string()
    };
    let body = format!(
        r#"<form method="get" action="/reports/file" class="filters" id="report-form">
<label>年度 <input name="year" inputmode="numeric" size="5" value="{year}" required></label>
<label>按日（可不填） <input type="date" name="as_of"></label>
<label>按录入时间（日期或日志序号，可不填） <input name="known_at" size="12"></label>
{organ}
<label>格式 <select name="format"><option value="html">网页（在浏览器中查看）</option><option value="xlsx">Excel</option><option value="csv">CSV</option><option value="md">Markdown</option></select></label>
<button type="submit">生成报告</button></form>
<p class="quiet">年度报告列出该年答复中的承诺及其落实情况；“按日”给出某日的状况，“按录入时间”给出只看当时已录入的记录所见的状况。</p>"#
    );
    page(StatusCode::OK, "报告", Some(&visitor), &body)
}

/// `/reports/file?year=&format=…`: the report, as the visitor may see it.
async fn report_file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    // Empty fields of the form are not asked for.
    let query: HashMap<String, String> =
        query.into_iter().map(|(k, v)| (k, v.trim().to_string())).filter(|(_, v)| !v.is_empty()).collect();
    let text = query.get("format").map(String::as_str).unwrap_or("html");
    let Some(format) = duban_report::Format::parse(text) else {
        let failure = Failure::bad(format!("格式“{text}”无效：可选 html、xlsx、csv、md"));
        return failure_page(failure, Some(&visitor));
    };
    let year = query.get("year").cloned().unwrap_or_default();
    let report = match crate::report_for(&shared, visitor.caller.clone(), query, format.stamps_generation_time()).await
    {
        Ok(report) => report,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let rendered = blocking(move || {
        duban_report::render(&report, format)
            .map_err(|error| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", error.to_string()))
    })
    .await;
    match rendered {
        Ok(bytes) => {
            let name = format!("{}.{}", enc(&format!("督办报告-{year}")), format.extension());
            let disposition = if format == duban_report::Format::Html {
                format!("inline; filename*=UTF-8''{name}")
            } else {
                format!("attachment; filename=\"report.{}\"; filename*=UTF-8''{name}", format.extension())
            };
            (
                [
                    (header::CONTENT_TYPE, crate::report_content_type(format).to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(failure) => failure_page(failure, Some(&visitor)),
    }
}

// ---- one promise ----

async fn detail_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let notice = query.get("done").map(|done| format!(r#"<p class="notice" role="status">已记录：{}</p>"#, esc(done)));
    detail(&shared, &visitor, &id, notice.unwrap_or_default(), None, StatusCode::OK).await
}

/// The promise's page, with `notice` above it; `stale` is the form the user sent if another wrote first.
async fn detail(
    shared: &Arc<Shared>,
    visitor: &Visitor,
    id: &str,
    notice: String,
    kept: Option<(&str, &HashMap<String, String>)>,
    status: StatusCode,
) -> Response {
    let view = View::now(today(shared));
    let (worker, input, caller) = (shared.clone(), id.to_string(), visitor.caller.clone());
    let found = blocking(move || {
        let detail = worker.app.commitment(&input, &view)?;
        if !caller.sees(&promise_organs(&detail.state)) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到承诺 {input}")));
        }
        Ok(detail)
    })
    .await;
    let detail = match found {
        Ok(detail) => detail,
        Err(failure) => return failure_page(failure, Some(visitor)),
    };
    let state = &detail.state;
    let reply = &detail.reply;
    let mut body = notice;
    let due = state
        .due_under(view.policy)
        .map(|(due, source)| format!("{due}（{}）", source.label()))
        .unwrap_or_else(|| "—".into());
    let co = if state.co_handlers.is_empty() { "—".to_string() } else { esc(&state.co_handlers.join("、")) };
    let proposal = duban_app::proposal_text(reply);
    let _ = write!(
        body,
        r#"<dl class="facts">
<dt>状态</dt><dd><span class="status {}" id="status">{}</span>（按 {} 判断）</dd>
<dt>内容</dt><dd id="text">{}</dd>
<dt>责任单位</dt><dd id="owner">{}</dd><dt>会办单位</dt><dd>{co}</dd>
<dt>期限</dt><dd id="due">{}</dd><dt>作出</dt><dd>{}</dd>
<dt>来源</dt><dd>{} {}（签发 {}）{}</dd>
<dt>版本</dt><dd id="version">{}</dd>
</dl>"#,
        detail.status.code(),
        esc(detail.status.label()),
        view.on_date,
        esc(&state.text),
        esc(&state.owner),
        esc(&due),
        state.made_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        esc(reply.organ()),
        esc(reply.doc_no()),
        reply.signed_on().map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        if proposal.is_empty() { String::new() } else { format!("，{}", esc(&proposal)) },
        state.version,
    );
    // The forms this user may use.
    let organs = promise_organs(state);
    let may = |action: Action| permits(&visitor.caller.principal, action, Target::Item { organs: &organs }).is_ok();
    let id = detail.id.to_string();
    let kept_value = |form: &str, name: &str| -> String {
        kept.filter(|(which, _)| *which == form)
            .and_then(|(_, fields)| fields.get(name))
            .map(|v| esc(v))
            .unwrap_or_default()
    };
    let form = |action: &str, title: &str, fields: &str| -> String {
        // Only the progress report carries files.
        let encoding = if action == "progress" { r#" enctype="multipart/form-data""# } else { "" };
        format!(
            r#"<form method="post" action="/commitments/{}/{action}" class="card" id="form-{action}"{encoding}><h3>{}</h3>
<input type="hidden" name="csrf" value="{}"><input type="hidden" name="expected_version" value="{}">{fields}<button type="submit">{}</button></form>"#,
            esc(&id),
            esc(title),
            esc(&visitor.csrf),
            state.version,
            esc(title)
        )
    };
    let mut forms = String::new();
    let today = view.on_date;
    let active = detail.status.is_active();
    if may(Action::ReportProgress) && active {
        forms.push_str(&form(
            "progress",
            "报告进展",
            &format!(
                r#"<label for="progress-on">日期</label><input id="progress-on" type="date" name="on" value="{today}" required>
<label for="progress-summary">进展情况</label><textarea id="progress-summary" name="summary" rows="3" required>{}</textarea>
<label for="progress-percent">完成比例（%，可不填）</label><input id="progress-percent" name="percent" inputmode="numeric" value="{}">
<label for="progress-evidence">附件（佐证材料：PDF、图片、Word、Excel，每个不超过 {} MB，可多选，可不传）</label><input id="progress-evidence" type="file" name="evidence" multiple accept=".pdf,.png,.jpg,.jpeg,.gif,.webp,.bmp,.tif,.tiff,.doc,.docx,.xls,.xlsx">
<label for="progress-notes">佐证说明（文号、会议纪要等，每行一项，可不填）</label><textarea id="progress-notes" name="evidence_notes" rows="2">{}</textarea>"#,
                kept_value("progress", "summary"),
                kept_value("progress", "percent"),
                shared.max_upload / (1024 * 1024),
                kept_value("progress", "evidence_notes")
            ),
        ));
    }
    if may(Action::AddNote) {
        forms.push_str(&form(
            "note",
            "备注",
            &format!(r#"<label for="note-text">备注</label><textarea id="note-text" name="text" rows="2" required>{}</textarea>"#, kept_value("note", "text")),
        ));
    }
    if may(Action::Close) && detail.status.is_active() {
        forms.push_str(&form(
            "close",
            "办结",
            &format!(
                r#"<label for="close-outcome">办结结果</label><select id="close-outcome" name="outcome"><option value="fulfilled">已落实</option><option value="partially_fulfilled">部分落实</option><option value="not_fulfilled">未落实</option></select>
<label for="close-on">日期</label><input id="close-on" type="date" name="on" value="{today}" required>
<label for="close-summary">办结情况</label><textarea id="close-summary" name="summary" rows="2" required>{}</textarea>"#,
                kept_value("close", "summary")
            ),
        ));
    }
    if may(Action::SetDue) && active {
        forms.push_str(&form(
            "due",
            "调整期限",
            &format!(
                r#"<label for="due-due">新期限</label><input id="due-due" type="date" name="due" required value="{}">
<label for="due-reason">理由</label><input id="due-reason" name="reason" required value="{}">"#,
                kept_value("due", "due"),
                kept_value("due", "reason")
            ),
        ));
    }
    if may(Action::Reassign) && active {
        forms.push_str(&form(
            "assign",
            "调整责任单位",
            &format!(
                r#"<label for="assign-owner">新责任单位</label><input id="assign-owner" name="owner" required value="{}">
<label for="assign-reason">理由</label><input id="assign-reason" name="reason" required value="{}">"#,
                kept_value("assign", "owner"),
                kept_value("assign", "reason")
            ),
        ));
    }
    if may(Action::Amend) {
        forms.push_str(&form(
            "amend",
            "修改",
            &format!(
                r#"<label for="amend-text">更正后的内容</label><textarea id="amend-text" name="text" rows="2" required>{}</textarea>
<label for="amend-reason">理由</label><input id="amend-reason" name="reason" required value="{}">"#,
                if kept.is_some_and(|(form, _)| form == "amend") { kept_value("amend", "text") } else { esc(&state.text) },
                kept_value("amend", "reason")
            ),
        ));
    }
    if may(Action::Reopen) && !detail.status.is_active() && detail.status != Status::Dismissed {
        forms.push_str(&form(
            "reopen",
            "重新打开",
            &format!(r#"<label for="reopen-reason">理由</label><input id="reopen-reason" name="reason" required value="{}">"#, kept_value("reopen", "reason")),
        ));
    }
    if may(Action::Dismiss) && detail.status != Status::Dismissed {
        forms.push_str(&form(
            "dismiss",
            "撤销",
            &format!(r#"<label for="dismiss-reason">理由（误录、重复……）</label><input id="dismiss-reason" name="reason" required value="{}">"#, kept_value("dismiss", "reason")),
        ));
    }
    if !forms.is_empty() {
        let _ = write!(
            body,
            r#"<section aria-labelledby="actions"><h2 id="actions">办理</h2><div class="forms">{forms}</div></section>"#
        );
    }
    body.push_str(r#"<section aria-labelledby="timeline"><h2 id="timeline">时间线</h2><div class="scroll"><table id="events"><thead><tr><th scope="col">发生日期</th><th scope="col">事件</th><th scope="col">内容</th><th scope="col">佐证</th><th scope="col">记录人</th><th scope="col">日志序号</th></tr></thead><tbody>"#);
    for envelope in &detail.events {
        // A file is downloaded from the promise it belongs to (whoever sees the promise may fetch it).
        let evidence = match &envelope.event {
            duban_domain::Event::EvidenceAttached(file) => format!(
                r#"<a class="file" href="/commitments/{}/files/{}" download>下载 {}</a>"#,
                esc(&id),
                esc(&file.sha256),
                esc(&file.file_name)
            ),
            event => esc(&event.evidence().join("、")),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{evidence}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            envelope.occurred_on,
            esc(envelope.event.label()),
            esc(&envelope.event.summary()),
            esc(&envelope.actor),
            envelope.seq
        );
    }
    body.push_str("</tbody></table></div></section>");
    let title = format!("承诺 #{}", state.number);
    page(status, &title, Some(visitor), &body)
}

/// `GET /commitments/{id}/files/{sha256}`: a file attached to a promise the visitor may see, as a download (never
/// shown as a page of this site: its name is given in the header, its kind is the one recognised when it was kept).
async fn attachment_file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, sha256)): Path<(String, String)>,
) -> Response {
    let visitor = match visitor(&shared, &headers).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let (worker, caller) = (shared.clone(), visitor.caller.clone());
    let found = blocking(move || {
        let (promise, state, _) = worker.app.commitment_now(&id)?;
        let not_found = || Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到承诺 {id} 的附件 {sha256}"));
        if !caller.sees(&promise_organs(&state)) {
            return Err(not_found());
        }
        worker.app.attachment(&promise, &sha256)?.ok_or_else(not_found)
    })
    .await;
    let file = match found {
        Ok(file) => file,
        Err(failure) => return failure_page(failure, Some(&visitor)),
    };
    let disposition = format!("attachment; filename*=UTF-8''{}", enc(&file.fact.file_name));
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    let value = |text: &str| {
        header::HeaderValue::from_str(text).unwrap_or(header::HeaderValue::from_static("application/octet-stream"))
    };
    headers.insert(header::CONTENT_TYPE, value(&file.fact.media_type));
    headers.insert(header::CONTENT_DISPOSITION, value(&disposition));
    headers
        .insert(header::HeaderName::from_static("x-content-type-options"), header::HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    response
}

async fn fact_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let FormData { fields: form, files } = form;
    let visitor = match posting(&shared, &headers, &form).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let uploads: Vec<duban_app::Upload> =
        files.into_iter().filter(|(field, _)| field == "evidence").map(|(_, upload)| upload).collect();
    // The form's fields as the API's JSON: numbers and lists where the API takes them, empty fields left out.
    let mut body = serde_json::Map::new();
    for (name, value) in form.iter() {
        let value = value.trim();
        if name == "csrf" || value.is_empty() {
            continue;
        }
        let field = match name.as_str() {
            "expected_version" | "percent" => match value.parse::<u64>() {
                Ok(number) => json!(number),
                Err(_) => {
                    let failure = Failure::bad(format!("“{value}”不是整数"));
                    return detail(
                        &shared,
                        &visitor,
                        &id,
                        error_notice(&failure),
                        Some((&action, &form)),
                        StatusCode::BAD_REQUEST,
                    )
                    .await;
                }
            },
            "evidence_notes" => json!(value.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>()),
            _ => json!(value),
        };
        let name = if name == "evidence_notes" { "evidence".to_string() } else { name.clone() };
        body.insert(name, field);
    }
    let label = ACTIONS.iter().find(|(code, _)| *code == action).map(|(_, label)| *label).unwrap_or("");
    let caller = visitor.caller.clone();
    match apply_fact(shared.clone(), caller, id.clone(), action.clone(), Value::Object(body), uploads).await {
        Ok(_) => redirect(&format!("/commitments/{}?done={}", enc(&id), enc(label))),
        Err(failure) if failure.status == StatusCode::CONFLICT => {
            let notice = r#"<p class="error" role="alert" id="stale">在您打开此页之后，已有他人修改了这项承诺：下面是它现在的样子，您填写的内容已保留，请核对后重新提交。</p>"#.to_string();
            detail(&shared, &visitor, &id, notice, Some((&action, &form)), StatusCode::CONFLICT).await
        }
        Err(failure) if failure.status == StatusCode::NOT_FOUND => failure_page(failure, Some(&visitor)),
        Err(failure) => {
            let status = failure.status;
            detail(&shared, &visitor, &id, error_notice(&failure), Some((&action, &form)), status).await
        }
    }
}

pub(crate) fn error_notice(failure: &Failure) -> String {
    format!(r#"<p class="error" role="alert">{}</p>"#, esc(&failure.message))
}

const ACTIONS: [(&str, &str); 8] = [
    ("progress", "报告进展"),
    ("note", "备注"),
    ("close", "办结"),
    ("due", "调整期限"),
    ("assign", "调整责任单位"),
    ("amend", "修改"),
    ("reopen", "重新打开"),
    ("dismiss", "撤销"),
];

const STYLE: &str = r#"
:root { --red: #c62828; --yellow: #b7791f; --green: #2e7d32; --ink: #1f2933; --line: #d9dee3; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; color: var(--ink); background: var(--bg); line-height: 1.5; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem; background: #17324d; color: #fff; }
header a, header button { color: #fff; }
.brand { font-weight: bold; font-size: 1.2rem; margin-right: 1rem; }
nav[aria-label="主导航"] { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; flex: 1; }
nav .who { margin-left: auto; opacity: .9; }
form.inline { display: inline; }
form.find { display: flex; gap: .3rem; } form.find input { width: 14rem; max-width: 50vw; padding: .2rem .4rem; }
form.find button { padding: .2rem .6rem; }
ol.hits { padding-left: 1.5rem; } ol.hits li { background: #fff; margin: .4rem 0; padding: .5rem .75rem; border-radius: 4px; }
.hits mark { background: #fff3bf; color: inherit; }
.kind { font-size: .85rem; color: #52606d; margin-right: .4rem; }
form.inline button { background: none; border: 1px solid #fff8; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
a { color: #0b5cad; }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f0b429; outline-offset: 1px; }
.lead { font-size: 1.05rem; }
.signals { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .75rem; list-style: none; padding: 0; }
.signals li { background: #fff; border-left: 6px solid var(--line); padding: .75rem; border-radius: 4px; }
.signals .count { display: block; font-size: 1.8rem; font-weight: bold; }
.signals .red { border-color: var(--red); } .signals .yellow { border-color: var(--yellow); } .signals .green { border-color: var(--green); }
th.red { color: var(--red); } th.yellow { color: var(--yellow); } th.green { color: var(--green); }
table { border-collapse: collapse; width: 100%; background: #fff; }
th { white-space: nowrap; }
th, td { border-bottom: 1px solid var(--line); padding: .4rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.status { padding: .05rem .4rem; border-radius: 3px; background: #e4e7eb; white-space: nowrap; }
.status.overdue { background: #fde8e8; color: var(--red); }
.status.stalled, .status.pending_review { background: #fdf3dc; color: var(--yellow); }
.status.open, .status.in_progress { background: #e3f4e4; color: var(--green); }
.items { padding-left: 1.2rem; } .meta { color: #52606d; font-size: .9rem; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; background: #fff; padding: .75rem; border-radius: 4px; }
.filters label { display: flex; flex-direction: column; font-size: .9rem; }
.filters label:has(input[type=checkbox]) { flex-direction: row; align-items: center; gap: .3rem; }
input, select, textarea, button { font: inherit; padding: .35rem .5rem; border: 1px solid #9aa5b1; border-radius: 4px; }
button { background: #0b5cad; color: #fff; border: none; cursor: pointer; padding: .45rem 1rem; }
.card { background: #fff; padding: 1rem; border-radius: 4px; display: flex; flex-direction: column; gap: .35rem; }
.card h3 { margin: 0 0 .25rem; font-size: 1rem; }
.card button { align-self: flex-start; margin-top: .5rem; }
.narrow { max-width: 360px; }
.forms { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: .75rem; }
.facts { display: grid; grid-template-columns: 6rem 1fr; gap: .3rem .75rem; background: #fff; padding: 1rem; border-radius: 4px; }
.facts dt { color: #52606d; } .facts dd { margin: 0; overflow-wrap: anywhere; }
.error { background: #fde8e8; color: var(--red); padding: .6rem .8rem; border-radius: 4px; }
.notice { background: #e3f4e4; color: var(--green); padding: .6rem .8rem; border-radius: 4px; }
.quiet { color: #52606d; }
.paging { display: flex; gap: 1rem; margin: 1rem 0; }
.review fieldset.card { border: none; margin: 0 0 1rem; }
.review legend { font-weight: bold; font-size: 1.1rem; padding: 0; margin-bottom: .5rem; }
.fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: .5rem 1rem; }
.fields > div { display: flex; flex-direction: column; }
.fields .missing input { border: 2px solid var(--yellow); background: #fffaf0; }
.hint { color: var(--yellow); font-size: .85rem; }
ol.promises { padding-left: 1.5rem; display: flex; flex-direction: column; gap: .75rem; }
li.promise { display: flex; flex-direction: column; gap: .3rem; border-bottom: 1px solid var(--line); padding-bottom: .75rem; }
.context { margin: 0; padding: .4rem .6rem; background: var(--bg); border-left: 4px solid #9aa5b1; font-size: .92rem; overflow-wrap: anywhere; }
.context mark { background: #fff3bf; color: inherit; }
fieldset.choice { border: none; padding: 0; margin: 0; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
fieldset.choice legend { font-weight: normal; font-size: .9rem; color: #52606d; float: left; margin-right: .5rem; }
#confirm { font-size: 1.05rem; padding: .6rem 1.5rem; }
details summary { cursor: pointer; color: #0b5cad; }
details .card { margin-top: .4rem; padding: .5rem; background: var(--bg); }
details label { display: flex; flex-direction: column; font-size: .9rem; }
a.file { white-space: nowrap; }
tr.failed td { color: var(--red); }
@media (max-width: 600px) {
  main { padding: .5rem; }
  .facts { grid-template-columns: 1fr; } .facts dt { font-weight: bold; margin-top: .4rem; }
  table.list thead { display: none; }
  table.list tr { display: block; border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.list td { display: flex; gap: .5rem; border: none; padding: .15rem .5rem; }
  table.list td::before { content: attr(data-label); flex: 0 0 4.5rem; color: #52606d; }
}
"#;
