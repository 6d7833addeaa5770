//! `duban serve`: the HTTP API over the application core, for many people at once (issue 18). The store is opened
//! once, here; every request is a call of the same use cases and read model the command line uses, made off the
//! async threads; every permission is decided by `duban_domain::permits`; the actor of every fact is the account
//! logged in, never a name the client sends.
//!
//! Responses are JSON with the field names of `--json`; an error is `{"error": "<the Chinese message>", "code": …}`
//! with 400 (refused), 401 (not logged in), 403 (not permitted), 404 (unknown), 409 (a stale `expected_version`),
//! 429 (too many failed logins) or 500.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use duban_app::{App, AppError, CommitmentView, Context, EventView, ListFilter, ReplyView, View};
use duban_domain::{
    permits, Action, Closed, Denied, Dismissed, DueDateSet, Event, NoteAdded, Outcome, Policy, Principal,
    ProgressReported, Reassigned, Reopened, Role, Status, Target,
};
use serde_json::{json, Value};

mod intake;
mod users;
mod web;

/// Percent-encodes a path segment or query value (every byte but ASCII letters, digits and `-_.~`): for the web
/// app's links and for clients of the API (the `duban` command line).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The clock the server records facts by: the system's, or a fixed instant (tests, demonstrations).
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// How a server is started.
pub struct Options {
    pub listen: SocketAddr,
    pub clock: Clock,
    /// Told the address once the server listens (the CLI prints it).
    pub on_listening: Box<dyn FnOnce(SocketAddr) + Send>,
    /// The largest attachment accepted (`--max-upload-mb`).
    pub max_upload_bytes: usize,
}

/// Failed logins before attempts are slowed, and the longest wait imposed.
const FREE_FAILURES: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);

struct Shared {
    app: App,
    clock: Clock,
    /// Failed logins by account name and by address: how many, and when the last was.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// Heavy reads (the annual report) run at most two at a time.
    heavy: tokio::sync::Semaphore,
    /// The largest attachment accepted.
    max_upload: usize,
    /// Documents uploaded for intake, waiting for their review (see `web`).
    drafts: Mutex<intake::Drafts>,
}

/// Runs the server until SIGTERM or Ctrl-C; in-flight requests finish, and the store is closed cleanly.
pub fn serve(app: App, options: Options) -> std::io::Result<()> {
    // Store work runs on a few blocking threads, not one per waiting request: on a small machine more threads only
    // queue on the cores and the store's writer lock, each with an allocator heap of its own.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread().max_blocking_threads(2 * cores).enable_all().build()?;
    runtime.block_on(async move {
        let shared = Arc::new(Shared {
            app,
            clock: options.clock,
            failures: Mutex::new(HashMap::new()),
            heavy: tokio::sync::Semaphore::new(2),
            max_upload: options.max_upload_bytes,
            drafts: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        (options.on_listening)(listener.local_addr()?);
        let app = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).with_graceful_shutdown(stopped()).await?;
        drop(shared);
        Ok(())
    })
}

async fn stopped() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
}

fn router(shared: Arc<Shared>) -> Router {
    // A page's form may carry a few attachments, or several documents for intake.
    let body_limit = (4 * shared.max_upload).max(4 * duban_ingest::MAX_DOCUMENT_BYTES) + 1024 * 1024;
    Router::new()
        .route("/api/health", get(health))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/commitments", get(commitments).post(new_commitment))
        .route("/api/commitments/{id}", get(commitment))
        .route("/api/search", get(search))
        // A progress report may carry files (Base64 in its JSON: four thirds of their size).
        .route(
            "/api/commitments/{id}/{action}",
            post(commitment_fact).layer(axum::extract::DefaultBodyLimit::max(body_limit * 3 / 2)),
        )
        .route("/api/replies", get(replies).post(new_reply))
        .route("/api/replies/{id}", get(reply))
        .route("/api/replies/{id}/evaluate", post(evaluate))
        .route("/api/replies/{id}/amend", post(amend_reply))
        .route("/api/import", post(import))
        .route("/api/proposals", get(proposals).post(new_proposal))
        .route("/api/proposals/{id}", get(proposal))
        .route("/api/proposals/{id}/{action}", post(proposal_fact))
        .route("/api/report", get(report))
        .route("/api/stats", get(stats))
        .route("/api/log", get(log))
        .route("/api/users", get(users).post(create_user))
        .merge(web::routes(body_limit))
        .with_state(shared)
}

/// An error as the API answers it.
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure { status, code, message: message.into() }
    }

    fn bad(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.message, "code": self.code }))).into_response()
    }
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Failure {
        let message = error.to_string();
        if error.is_conflict() {
            return Failure::new(StatusCode::CONFLICT, "conflict", message);
        }
        let unknown = matches!(&error, AppError::Domain(duban_domain::DomainError::UnknownId { .. }))
            || ["找不到", "没有编号", "没有名为"].iter().any(|start| message.starts_with(start));
        if unknown {
            Failure::new(StatusCode::NOT_FOUND, "not_found", message)
        } else if error.is_user_error() {
            Failure::bad(message)
        } else {
            Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
        }
    }
}

impl From<Denied> for Failure {
    fn from(denied: Denied) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, "forbidden", denied.to_string())
    }
}

type Answer = Result<Response, Failure>;

fn ok(value: Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Failure> + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", error.to_string()))?
}

/// The logged-in account: its name (the actor of what it records) and what permissions see of it.
#[derive(Clone)]
struct Caller {
    principal: Principal,
}

impl Caller {
    fn may(&self, action: Action, target: Target) -> Result<(), Failure> {
        permits(&self.principal, action, target).map_err(Failure::from)
    }

    /// Whether an item of these organs is one an `organ` account sees (others see every item they may read).
    fn sees(&self, organs: &[&str]) -> bool {
        permits(&self.principal, Action::Read, Target::Item { organs }).is_ok()
    }

    /// Whether the caller sees a promise: asked of the permission function once, for an item of no organ (a yes
    /// then holds for every item: `access::tests::an_item_of_no_organ_permitted_means_every_item_is`), and
    /// otherwise for each promise's organs. A listing asks it of thousands of rows.
    fn promise_visibility(&self) -> impl Fn(&duban_domain::CommitmentState) -> bool + '_ {
        let everything = self.sees(&[]);
        move |state| everything || self.sees(&promise_organs(state))
    }
}

fn token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|token| token.trim().to_string())
}

async fn caller(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Caller, Failure> {
    let unauthorized = || Failure::new(StatusCode::UNAUTHORIZED, "unauthorized", "请先登录（POST /api/login）");
    let token = token(headers).ok_or_else(unauthorized)?;
    let shared = shared.clone();
    let found = blocking(move || Ok(shared.app.session(&token, shared.clock.now())?)).await?;
    let (_, principal) = found.ok_or_else(unauthorized)?;
    Ok(Caller { principal })
}

fn context(shared: &Shared, caller: &Caller) -> Result<Context, Failure> {
    Ok(Context::new(caller.principal.name.clone(), shared.clock.now())?)
}

fn today(shared: &Shared) -> NaiveDate {
    duban_domain::business_date(shared.clock.now())
}

async fn health(State(shared): State<Arc<Shared>>) -> Answer {
    let head = blocking(move || Ok(shared.app.store().head().map_err(AppError::from)?)).await?;
    ok(json!({ "ok": true, "head_seq": head.seq }))
}

fn parse_body(body: &Bytes) -> Result<Value, Failure> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|error| Failure::bad(format!("请求体不是有效的 JSON：{error}")))
}

fn text_field(body: &Value, name: &str) -> Result<String, Failure> {
    match body.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(Failure::bad(format!("缺少字段 {name}（文本）"))),
    }
}

fn optional_text(body: &Value, name: &str) -> Result<Option<String>, Failure> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(Failure::bad(format!("字段 {name} 应为文本"))),
    }
}

fn date_field(body: &Value, name: &str) -> Result<Option<NaiveDate>, Failure> {
    match optional_text(body, name)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| Failure::bad(format!("日期“{text}”无效：请写成 YYYY-MM-DD（例如 2025-12-31）"))),
    }
}

fn list_field(body: &Value, name: &str) -> Result<Vec<String>, Failure> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(|| Failure::bad(format!("{name} 应为文本数组"))))
            .collect(),
        Some(_) => Err(Failure::bad(format!("{name} 应为文本数组"))),
    }
}

/// Counts a failed login against the name and the address; refuses while either has failed too often lately.
fn check_attempts(shared: &Shared, keys: &[String]) -> Result<(), Failure> {
    let failures = shared.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for key in keys {
        if let Some((count, last)) = failures.get(key) {
            if *count >= FREE_FAILURES {
                let wait = Duration::from_secs(1 << (*count - FREE_FAILURES).min(10)).min(LONGEST_WAIT);
                if last.elapsed() < wait {
                    let seconds = (wait - last.elapsed()).as_secs() + 1;
                    return Err(Failure::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_attempts",
                        format!("登录失败次数过多，请 {seconds} 秒后再试"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn note_attempt(shared: &Shared, keys: &[String], failed: bool) {
    let mut failures = shared.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for key in keys {
        if failed {
            let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
            entry.0 += 1;
            entry.1 = Instant::now();
        } else {
            failures.remove(key);
        }
    }
}

async fn login(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Answer {
    let body = parse_body(&body)?;
    let (name, password) = (text_field(&body, "username")?, text_field(&body, "password")?);
    let (token, principal) = log_in(&shared, address, name, password).await?;
    ok(json!({ "token": token, "user": user_view(&principal.name, &principal) }))
}

/// Checks a name and password (slowed after repeated failures, per name and per address) and opens a session: its
/// token and the account. Wrong credentials are 401.
async fn log_in(
    shared: &Arc<Shared>,
    address: SocketAddr,
    name: String,
    password: String,
) -> Result<(String, Principal), Failure> {
    let keys = vec![format!("name:{name}"), format!("address:{}", address.ip())];
    check_attempts(shared, &keys)?;
    let worker = shared.clone();
    let outcome = blocking(move || {
        let (account, principal) = worker.app.authenticate(&name, &password)?;
        let token = worker.app.open_session(&account, worker.clock.now())?;
        Ok((token, principal))
    })
    .await;
    note_attempt(shared, &keys, outcome.is_err());
    outcome.map_err(|mut failure| {
        if failure.status == StatusCode::BAD_REQUEST || failure.status == StatusCode::NOT_FOUND {
            failure.status = StatusCode::UNAUTHORIZED;
            failure.code = "unauthorized";
        }
        failure
    })
}

fn user_view(name: &str, principal: &Principal) -> Value {
    json!({
        "name": name, "role": principal.role.code(), "role_label": principal.role.label(),
        "organs": principal.organs,
    })
}

async fn logout(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    caller(&shared, &headers).await?;
    let token = token(&headers).unwrap_or_default();
    blocking(move || Ok(shared.app.close_session(&token)?)).await?;
    ok(json!({ "ok": true }))
}

async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    let caller = caller(&shared, &headers).await?;
    ok(user_view(&caller.principal.name, &caller.principal))
}

/// The view a request asks for: `as_of`, `known_at` (a date or a log seq), `stall_days`.
fn view(shared: &Shared, query: &HashMap<String, String>) -> Result<View, Failure> {
    let mut horizon = duban_domain::Horizon::ALL;
    if let Some(as_of) = query.get("as_of") {
        horizon.as_of =
            Some(as_of.parse().map_err(|_| Failure::bad(format!("as_of“{as_of}”无效：请写成 YYYY-MM-DD")))?);
    }
    if let Some(known) = query.get("known_at") {
        if let Ok(seq) = known.parse::<u64>() {
            horizon.known_seq = Some(seq);
        } else if let Ok(instant) = DateTime::parse_from_rfc3339(known) {
            horizon.known_at = Some(instant.with_timezone(&Utc));
        } else {
            let day: NaiveDate = known
                .parse()
                .map_err(|_| Failure::bad(format!("known_at“{known}”无效：日期、RFC 3339 时刻或日志序号")))?;
            // The end of that day in China, as `--known-at` means it.
            let end = day.and_hms_nano_opt(23, 59, 59, 999_999_999).expect("a time of day");
            let at = duban_domain::china().from_local_datetime(&end).single().map(|at| at.with_timezone(&Utc));
            horizon.known_at = Some(at.unwrap_or_else(|| end.and_utc()));
        }
    }
    let mut policy = Policy::default();
    if let Some(days) = query.get("stall_days") {
        policy.stall_days = days.parse().map_err(|_| Failure::bad(format!("stall_days“{days}”无效")))?;
    }
    if let Some(years) = query.get("default_due") {
        policy.default_due_years =
            match years.as_str() {
                "none" => None,
                years => Some(years.parse().ok().filter(|years| *years <= 10).ok_or_else(|| {
                    Failure::bad(format!("default_due“{years}”无效：应为 0 到 10 之间的年数，或 none"))
                })?),
            };
    }
    Ok(View::new(horizon, today(shared), policy))
}

/// The organs a promise is about: its owner and co-handlers.
fn promise_organs(state: &duban_domain::CommitmentState) -> Vec<&str> {
    state.organs()
}

/// `list`'s filters from a query string.
fn list_filter(query: &HashMap<String, String>) -> Result<ListFilter, Failure> {
    let mut filter = ListFilter {
        active: query.get("active").is_some_and(|v| v == "true"),
        overdue: query.get("overdue").is_some_and(|v| v == "true"),
        year: query.get("year").map(|y| y.parse().map_err(|_| Failure::bad(format!("year“{y}”无效")))).transpose()?,
        proposal: query.get("proposal").cloned(),
        due_within: query
            .get("due_within")
            .map(|d| d.parse().map_err(|_| Failure::bad(format!("due_within“{d}”无效"))))
            .transpose()?,
        ..ListFilter::default()
    };
    if let Some(statuses) = query.get("status") {
        for code in statuses.split(',') {
            filter.statuses.push(Status::parse(code).ok_or_else(|| Failure::bad(format!("状态“{code}”无效")))?);
        }
    }
    if let Some(organ) = query.get("organ") {
        filter.organ = Some(duban_domain::OrganQuery::new(organ, &duban_domain::Aliases::default()));
    }
    Ok(filter)
}

/// `search --json`: `q`, `kind`, `limit` (20 unless given), `list`'s filters and the horizon. An organ account
/// finds its own organs' promises, their progress and replies only.
async fn search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Read, Target::Register)?;
    let view = view(&shared, &query)?;
    let filter = list_filter(&query)?;
    let kind = query
        .get("kind")
        .map(|k| {
            duban_app::SearchKind::parse(k)
                .ok_or_else(|| Failure::bad(format!("kind“{k}”无效：可选 commitment、reply、progress")))
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => 20,
        Some(n) => n
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .ok_or_else(|| Failure::bad(format!("limit“{n}”无效：应为正整数")))?,
    };
    let q = query.get("q").cloned().unwrap_or_default();
    let request = duban_app::SearchRequest { query: q, kind, limit, filter, keys: false };
    blocking(move || {
        let found = search_as(&shared.app, &caller, &request, &view)?;
        let hits: Vec<duban_app::HitView> = found.hits.iter().map(duban_app::HitView::new).collect();
        Ok(axum::Json(serde_json::json!({ "total": found.total, "hits": hits })).into_response())
    })
    .await
}

/// A search as `caller` may see its hits (the API's and the web page's).
fn search_as(
    app: &duban_app::App,
    caller: &Caller,
    request: &duban_app::SearchRequest,
    view: &View,
) -> Result<duban_app::Found, Failure> {
    let commitment = |state: &duban_domain::CommitmentState, _: Option<&duban_domain::ReplyState>| {
        caller.sees(&promise_organs(state))
    };
    let reply = |reply: &duban_domain::ReplyState| caller.sees(&[reply.organ()]);
    let visible = duban_app::Visible { commitment: &commitment, reply: &reply, everything: caller.sees(&[]) };
    Ok(app.search(request, view, &visible)?)
}

async fn commitments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Read, Target::Register)?;
    let view = view(&shared, &query)?;
    let mut filter = list_filter(&query)?;
    let number = |name: &str| -> Result<Option<usize>, Failure> {
        query
            .get(name)
            .map(|n| n.parse().map_err(|_| Failure::bad(format!("{name}“{n}”无效：应为非负整数"))))
            .transpose()
    };
    let (offset, limit) = (number("offset")?.unwrap_or(0), number("limit")?.unwrap_or(usize::MAX));
    if let Some(order) = query.get("sort") {
        filter.order = duban_app::Order::parse(order)
            .ok_or_else(|| Failure::bad(format!("sort“{order}”无效：可选 due、number、owner、status、progress")))?;
    }
    let descending = query.get("desc").is_some_and(|v| v == "true");
    let (total, value) = blocking(move || {
        let visible = caller.promise_visibility();
        let mut rows: Vec<CommitmentView> = Vec::new();
        let total = shared.app.visit_page(&filter, &view, &visible, offset, limit, descending, &mut |row| {
            rows.push(CommitmentView::new(row.state, row.reply, row.status, row.short_id, view.policy))
        })?;
        Ok((total, axum::Json(rows).into_response()))
    })
    .await?;
    // The body is `list --json`'s (the page asked for); how many rows pass the filters in all is told beside it.
    Ok(([("x-total-count", total.to_string())], value).into_response())
}

async fn commitment(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    let view = view(&shared, &query)?;
    blocking(move || {
        let detail = shared.app.commitment(&id, &view)?;
        // Another organ's promise is not found: its existence is not told.
        if !caller.sees(&promise_organs(&detail.state)) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到承诺 {id}")));
        }
        Ok(axum::Json(duban_app::ShowView::new(&detail, view.policy)).into_response())
    })
    .await
}

fn show_json(detail: &duban_app::CommitmentDetail, view: &View) -> Value {
    serde_json::to_value(duban_app::ShowView::new(detail, view.policy)).unwrap_or_default()
}

/// `POST /api/commitments/{id}/{action}`: one fact, at the version the client read if it says so.
async fn commitment_fact(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    let body = parse_body(&body)?;
    let uploads = attachments(&body)?;
    apply_fact(shared, caller, id, action, body, uploads).await.and_then(ok)
}

/// A progress report's files as the API takes them: `attachments`, a list of `{"file_name", "content_base64"}`.
fn attachments(body: &Value) -> Result<Vec<duban_app::Upload>, Failure> {
    use base64::Engine;
    let Some(list) = body.get("attachments").filter(|value| !value.is_null()) else { return Ok(Vec::new()) };
    let shape = || Failure::bad("attachments 应为 [{\"file_name\": 文本, \"content_base64\": 文本}] 的列表");
    list.as_array()
        .ok_or_else(shape)?
        .iter()
        .map(|item| {
            let file_name = item.get("file_name").and_then(Value::as_str).ok_or_else(shape)?.to_string();
            let content = item.get("content_base64").and_then(Value::as_str).ok_or_else(shape)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|_| Failure::bad(format!("附件“{file_name}”的 content_base64 不是有效的 Base64")))?;
            Ok(duban_app::Upload { file_name, bytes })
        })
        .collect()
}

/// One fact about a promise, from the fields of its request (the API's JSON, or a web form's): checked against the
/// promise and the caller's role, recorded as the caller; the promise as it then stands, with `seq`. `uploads`: files
/// given as evidence with a progress report (the web form's), kept and named in the same append.
async fn apply_fact(
    shared: Arc<Shared>,
    caller: Caller,
    id: String,
    action: String,
    body: Value,
    uploads: Vec<duban_app::Upload>,
) -> Result<Value, Failure> {
    if !uploads.is_empty() && action != "progress" {
        return Err(Failure::bad("只有报告进展可以附带文件"));
    }
    let on = date_field(&body, "on")?;
    let expected_version = match body.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| Failure::bad("expected_version 应为整数"))?,
        ),
    };
    let (permission, event) = match action.as_str() {
        "progress" => {
            let percent = match body.get("percent") {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    value
                        .as_u64()
                        .and_then(|p| u8::try_from(p).ok())
                        .ok_or_else(|| Failure::bad("percent 应为 0–100"))?,
                ),
            };
            let event = ProgressReported {
                summary: text_field(&body, "summary")?,
                evidence: list_field(&body, "evidence")?,
                percent,
            };
            (Action::ReportProgress, Event::ProgressReported(event))
        }
        "note" => (Action::AddNote, Event::NoteAdded(NoteAdded { text: text_field(&body, "text")? })),
        "close" => {
            let outcome = text_field(&body, "outcome")?;
            let outcome = Outcome::parse(&outcome)
                .ok_or_else(|| Failure::bad(format!("办结结果“{outcome}”无效：可选 已落实、部分落实、未落实")))?;
            let event =
                Closed { outcome, summary: text_field(&body, "summary")?, evidence: list_field(&body, "evidence")? };
            (Action::Close, Event::Closed(event))
        }
        "reopen" => (Action::Reopen, Event::Reopened(Reopened { reason: text_field(&body, "reason")? })),
        "due" => {
            let due = date_field(&body, "due")?.ok_or_else(|| Failure::bad("缺少字段 due（日期）"))?;
            (Action::SetDue, Event::DueDateSet(DueDateSet { due, reason: optional_text(&body, "reason")? }))
        }
        "assign" => {
            let event = Reassigned { owner: text_field(&body, "owner")?, reason: text_field(&body, "reason")? };
            (Action::Reassign, Event::Reassigned(event))
        }
        "dismiss" => {
            // The duplicate is named as anywhere else (an id, a prefix, `#37`): resolved with the promise below.
            let event = Dismissed { reason: text_field(&body, "reason")?, duplicate_of: None };
            (Action::Dismiss, Event::Dismissed(event))
        }
        "amend" => {
            let section = match optional_text(&body, "section")? {
                None => None,
                Some(code) => Some(
                    serde_json::from_value(json!(code))
                        .map_err(|_| Failure::bad(format!("位置“{code}”无效：可选 next_steps 或 body")))?,
                ),
            };
            let text = optional_text(&body, "text")?.map(|text| text.trim().to_string());
            let event = duban_domain::CommitmentAmended { text, section, reason: text_field(&body, "reason")? };
            (Action::Amend, Event::CommitmentAmended(event))
        }
        other => {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("没有 {other} 这一操作")));
        }
    };
    let duplicate_of = optional_text(&body, "duplicate_of")?;
    blocking(move || {
        let app = &shared.app;
        let mut event = event;
        if let (Event::Dismissed(dismissed), Some(duplicate)) = (&mut event, &duplicate_of) {
            dismissed.duplicate_of = Some(app.resolve_commitment(duplicate)?);
        }
        // The projection says whose promise it is: the log is not read for a write.
        let (id, state, _) = app.commitment_now(&id)?;
        let organs = promise_organs(&state);
        // An item the caller may not see is not found (its existence is not told); one it sees but may not touch is
        // forbidden.
        if !caller.sees(&organs) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到承诺 {id}")));
        }
        caller.may(permission, Target::Item { organs: &organs })?;
        let ctx = context(&shared, &caller)?;
        let recorded = if uploads.is_empty() {
            app.record(&ctx, &id.to_string(), on, event, expected_version)?
        } else {
            let max = shared.max_upload;
            app.record_with_files(&ctx, &id.to_string(), on, event, (&uploads, max), expected_version)?
        };
        // The promise as it now stands, in the form `list --json` gives it (its timeline: GET the promise).
        let (_, after, reply) = app.commitment_now(&id.to_string())?;
        let view = CommitmentView::new(&after, reply.as_ref(), recorded.status, recorded.short_id, Policy::default());
        let mut value = serde_json::to_value(view).unwrap_or_default();
        value["seq"] = json!(recorded.seq);
        value["event"] = json!(recorded.event);
        value["occurred_on"] = json!(recorded.occurred_on);
        Ok(value)
    })
    .await
}

async fn replies(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Read, Target::Register)?;
    let view = view(&shared, &query)?;
    blocking(move || {
        let rows = shared.app.replies(&view)?;
        let views: Vec<ReplyView> = rows
            .iter()
            .filter(|row| caller.sees(&[row.reply.organ()]))
            .map(|row| ReplyView::new(&row.reply, row.commitments))
            .collect();
        Ok(serde_json::to_value(views).unwrap_or_default())
    })
    .await
    .and_then(ok)
}

async fn reply(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    let view = view(&shared, &query)?;
    blocking(move || {
        let detail = shared.app.reply(&id, &view)?;
        if !caller.sees(&[detail.reply.organ()]) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到答复 {id}")));
        }
        let commitments: Vec<CommitmentView> = detail
            .commitments
            .iter()
            .map(|(state, status)| {
                let id = state.id.map(|id| id.to_string()).unwrap_or_default();
                CommitmentView::new(state, Some(&detail.reply), *status, id, view.policy)
            })
            .collect();
        Ok(json!({
            "reply": ReplyView::new(&detail.reply, detail.commitments.len()),
            "amendments": detail.reply.amendments,
            "commitments": commitments,
            "events": detail.events.iter().map(EventView::new).collect::<Vec<_>>(),
        }))
    })
    .await
    .and_then(ok)
}

fn proposal_organs(state: &duban_domain::ProposalState) -> Vec<&str> {
    std::iter::once(state.lead.as_str()).chain(state.co_handlers.iter().map(String::as_str)).collect()
}

fn proposal_json(row: &duban_app::ProposalRow) -> Value {
    serde_json::to_value(duban_app::ProposalView::new(row)).unwrap_or_default()
}

async fn proposals(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Read, Target::Register)?;
    let view = view(&shared, &query)?;
    blocking(move || {
        let rows = shared.app.proposals(&view)?;
        let rows: Vec<Value> =
            rows.iter().filter(|row| caller.sees(&proposal_organs(&row.state))).map(proposal_json).collect();
        Ok(Value::Array(rows))
    })
    .await
    .and_then(ok)
}

async fn proposal(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    let view = view(&shared, &query)?;
    blocking(move || {
        let detail = shared.app.proposal(&id, &view)?;
        if !caller.sees(&proposal_organs(&detail.row.state)) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到建议或提案 {id}")));
        }
        Ok(json!({
            "proposal": proposal_json(&detail.row),
            "events": detail.events.iter().map(EventView::new).collect::<Vec<_>>(),
        }))
    })
    .await
    .and_then(ok)
}

/// The report model a request asks for (`year`, `as_of`, `known_at`, `organ`, `assembly`, `issuer`). An `organ`
/// account's report is its own organ's, whatever it asks. At most two are built at once.
async fn report_model(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    query: HashMap<String, String>,
    stamped: bool,
) -> Result<duban_report::Report, Failure> {
    let caller = caller(shared, headers).await?;
    report_for(shared, caller, query, stamped).await
}

/// The report `query` asks for (`year`, `as_of`, `known_at`, `organ`, …), as `caller` may see it: an organ account
/// gets its own organ's, whatever it asks.
pub(crate) async fn report_for(
    shared: &Arc<Shared>,
    caller: Caller,
    query: HashMap<String, String>,
    stamped: bool,
) -> Result<duban_report::Report, Failure> {
    caller.may(Action::Read, Target::Register)?;
    let year: i32 = query
        .get("year")
        .ok_or_else(|| Failure::bad("缺少参数 year"))?
        .parse()
        .map_err(|_| Failure::bad("year 无效"))?;
    let view = view(shared, &query)?;
    let mut organ = query.get("organ").cloned();
    if caller.principal.role == Role::Organ {
        let own = &caller.principal.organs;
        organ = Some(match organ {
            Some(asked) if own.iter().any(|o| duban_domain::fold(o) == duban_domain::fold(&asked)) => asked,
            Some(asked) => {
                return Err(Failure::from(Denied::OtherOrgan {
                    name: caller.principal.name.clone(),
                    action: "查看",
                    organs: vec![asked],
                }))
            }
            None => own.first().cloned().unwrap_or_default(),
        });
    }
    let _permit = shared.heavy.acquire().await.map_err(|e| Failure::bad(e.to_string()))?;
    let worker = shared.clone();
    blocking(move || {
        let request = duban_app::ReportRequest {
            year,
            as_of: view.horizon.as_of,
            known: duban_domain::Horizon { as_of: None, ..view.horizon },
            organ: organ.map(|organ| duban_domain::OrganQuery::new(&organ, &duban_domain::Aliases::default())),
            assembly: query.get("assembly").cloned(),
            policy: view.policy,
            generated_at: stamped.then(|| worker.clock.now()),
            issuer: query.get("issuer").cloned(),
        };
        Ok(worker.app.clone().into_report(&request, today(&worker))?)
    })
    .await
}

/// `GET /api/report?year=&format=…`: the file.
async fn report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let format = match query.get("format") {
        Some(text) => duban_report::Format::parse(text)
            .ok_or_else(|| Failure::bad(format!("格式“{text}”无效：可选 md、html、xlsx、csv、json")))?,
        None => duban_report::Format::Json,
    };
    let report = report_model(&shared, &headers, query, format.stamps_generation_time()).await?;
    let bytes = blocking(move || Ok(duban_report::render(&report, format).map_err(AppError::from)?)).await?;
    Ok(([(header::CONTENT_TYPE, report_content_type(format))], bytes).into_response())
}

pub(crate) fn report_content_type(format: duban_report::Format) -> &'static str {
    match format {
        duban_report::Format::Markdown => "text/markdown; charset=utf-8",
        duban_report::Format::Html => "text/html; charset=utf-8",
        duban_report::Format::Csv => "text/csv; charset=utf-8",
        duban_report::Format::Json => "application/json",
        duban_report::Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
}

/// `GET /api/stats?year=…`: the year's handling figures, as `duban stats --json` gives them.
async fn stats(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let report = report_model(&shared, &headers, query, false).await?;
    ok(json!({
        "year": report.year, "as_of": report.as_of, "metrics": report.metrics, "known_seq": report.footer.known_seq,
    }))
}

/// `GET /api/log?from=SEQ&limit=N`: the events, for auditors (never for an organ's account).
async fn log(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::ReadLog, Target::Register)?;
    let from: u64 = query.get("from").map_or(Ok(1), |f| f.parse().map_err(|_| Failure::bad("from 无效")))?;
    let limit: usize = query.get("limit").map_or(Ok(1000), |l| l.parse().map_err(|_| Failure::bad("limit 无效")))?;
    blocking(move || {
        let mut events = Vec::new();
        for envelope in shared.app.log_from(from.max(1)).take(limit.min(10_000)) {
            events.push(serde_json::to_value(envelope?).unwrap_or_default());
        }
        Ok(Value::Array(events))
    })
    .await
    .and_then(ok)
}

async fn users(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::ManageAccounts, Target::Register)?;
    blocking(move || {
        let accounts = shared.app.accounts()?;
        let views: Vec<duban_app::AccountView> = accounts.iter().map(duban_app::AccountView::new).collect();
        Ok(serde_json::to_value(views).unwrap_or_default())
    })
    .await
    .and_then(ok)
}

async fn create_user(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::ManageAccounts, Target::Register)?;
    let body = parse_body(&body)?;
    let name = text_field(&body, "name")?;
    let role = text_field(&body, "role")?;
    let role = Role::parse(&role).ok_or_else(|| Failure::bad(format!("角色“{role}”无效")))?;
    let organs = list_field(&body, "organs")?;
    let password = text_field(&body, "password")?;
    blocking(move || {
        let ctx = context(&shared, &caller)?;
        let account = shared.app.create_account(&ctx, &name, role, organs, &password)?;
        Ok(serde_json::to_value(duban_app::AccountView::new(&account)).unwrap_or_default())
    })
    .await
    .and_then(ok)
}

/// `POST /api/replies`: registers a reply by hand (the fields of `reply add`), linking it to its proposal.
async fn new_reply(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Register, Target::Register)?;
    let body = parse_body(&body)?;
    let kind = match optional_text(&body, "kind")? {
        Some(kind) => Some(
            duban_domain::ProposalKind::parse(&kind)
                .ok_or_else(|| Failure::bad(format!("类别“{kind}”无效：可选 提案 或 建议")))?,
        ),
        None => None,
    };
    let registered = duban_domain::ReplyRegistered {
        doc_type: optional_text(&body, "doc_type")?,
        organ: text_field(&body, "organ")?,
        doc_no: text_field(&body, "doc_no")?,
        proposal: duban_domain::ProposalRef {
            assembly: optional_text(&body, "assembly")?,
            session: optional_text(&body, "session")?,
            number: optional_text(&body, "number")?,
            kind,
        },
        proposers: list_field(&body, "proposers")?,
        title: optional_text(&body, "title")?,
        result: optional_text(&body, "result")?,
        disclosure: optional_text(&body, "disclosure")?,
        addressee: optional_text(&body, "addressee")?,
        signed_on: Some(date_field(&body, "signed_on")?.ok_or_else(|| Failure::bad("缺少字段 signed_on（日期）"))?),
        printed_on: date_field(&body, "printed_on")?,
        contact: None,
        cc: list_field(&body, "cc")?,
        source: None,
    };
    let proposal = optional_text(&body, "proposal")?;
    blocking(move || {
        let app = &shared.app;
        let ctx = context(&shared, &caller)?;
        let proposal = proposal.map(|input| app.proposal_now(&input)).transpose()?.map(|(id, _)| id);
        let id = app.register_reply(&ctx, registered)?;
        let reply = app.reply_now(&id.to_string())?.1;
        let proposal = match proposal {
            Some(proposal) => Some(proposal),
            None => app.proposal_for(&reply)?.map(|(id, _)| id),
        };
        if let Some(proposal) = proposal {
            app.link_reply(&ctx, &proposal.to_string(), &id.to_string(), None)?;
        }
        let reply = app.reply_now(&id.to_string())?.1;
        Ok(json!({
            "id": id.to_string(), "number": reply.number, "proposal": proposal.map(|p| p.to_string()),
            "reply": ReplyView::new(&reply, 0),
        }))
    })
    .await
    .and_then(ok)
}

/// `POST /api/commitments` `{reply, text, owner, co_handlers, due, on, section}`: a promise under a reply.
async fn new_commitment(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Register, Target::Register)?;
    let body = parse_body(&body)?;
    let section = match optional_text(&body, "section")? {
        Some(text) => duban_domain::Section::parse(&text).ok_or_else(|| Failure::bad(format!("位置“{text}”无效")))?,
        None => duban_domain::Section::NextSteps,
    };
    let new = duban_app::NewCommitment {
        reply: text_field(&body, "reply")?,
        text: text_field(&body, "text")?,
        owner: optional_text(&body, "owner")?,
        co_handlers: list_field(&body, "co_handlers")?,
        due: date_field(&body, "due")?,
        on: date_field(&body, "on")?,
        section,
    };
    blocking(move || {
        let ctx = context(&shared, &caller)?;
        let (id, _) = shared.app.make_commitment(&ctx, new)?;
        let now = View::now(today(&shared));
        Ok(show_json(&shared.app.commitment(&id.to_string(), &now)?, &now))
    })
    .await
    .and_then(ok)
}

/// `POST /api/replies/{id}/evaluate` `{satisfaction, on, comment}`.
async fn evaluate(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Evaluate, Target::Register)?;
    let body = parse_body(&body)?;
    let satisfaction = text_field(&body, "satisfaction")?;
    let satisfaction = duban_domain::Satisfaction::parse(&satisfaction)
        .ok_or_else(|| Failure::bad(format!("评价“{satisfaction}”无效：可选 满意、基本满意、不满意")))?;
    let (on, comment) = (date_field(&body, "on")?, optional_text(&body, "comment")?);
    blocking(move || {
        let ctx = context(&shared, &caller)?;
        let done = shared.app.evaluate(&ctx, &id, on, satisfaction, comment)?;
        Ok(json!({ "id": done.id.to_string(), "seq": done.seq, "satisfaction": satisfaction.code() }))
    })
    .await
    .and_then(ok)
}

/// `POST /api/replies/{id}/amend` with the fields of `reply amend` (`organ`, `doc_no`, `signed_on`, `doc_type`,
/// `title`, `result`, `assembly`, `session`, `number`, `kind`, `proposers`) and its `reason`.
async fn amend_reply(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    let amended: duban_domain::ReplyAmended = serde_json::from_slice(&body)
        .map_err(|error| Failure::bad(format!("请求体不是有效的更正（reply amend 的字段与 reason）：{error}")))?;
    blocking(move || {
        let (_, reply) = shared.app.reply_now(&id)?;
        if !caller.sees(&[reply.organ()]) {
            return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("找不到答复 {id}")));
        }
        caller.may(Action::Amend, Target::Item { organs: &[reply.organ()] })?;
        let ctx = context(&shared, &caller)?;
        let done = shared.app.amend_reply(&ctx, &id, amended)?;
        Ok(json!({ "id": done.id.to_string(), "seq": done.seq }))
    })
    .await
    .and_then(ok)
}

/// `POST /api/import?name=FILE.txt` with the document as the body (and `organ`, `doc_no`, `signed_on` … to give
/// what it lacks, `dry_run=true` to check only): what `import --json` reports.
async fn import(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::Register, Target::Register)?;
    let name = query.get("name").cloned().unwrap_or_else(|| "document.txt".to_string());
    let name = std::path::Path::new(&name)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .ok_or_else(|| Failure::bad(format!("文件名“{name}”无效")))?;
    if body.is_empty() {
        return Err(Failure::bad("请求体为空：请把答复文件作为请求体上传"));
    }
    let signed_on = query
        .get("signed_on")
        .map(|d| d.parse().map_err(|_| Failure::bad(format!("signed_on“{d}”无效：请写成 YYYY-MM-DD"))))
        .transpose()?;
    let overrides = duban_app::Overrides {
        organ: query.get("organ").cloned(),
        doc_no: query.get("doc_no").cloned(),
        signed_on,
        ..duban_app::Overrides::default()
    };
    let dry_run = query.get("dry_run").is_some_and(|v| v == "true");
    blocking(move || {
        // The document is read from a folder of its own, as the command line reads a file.
        let folder = std::env::temp_dir().join(format!("duban-import-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&folder).map_err(AppError::from)?;
        let path = folder.join(&name);
        let written = std::fs::write(&path, &body).map_err(AppError::from);
        let summary = written.and_then(|()| {
            let ctx = context(&shared, &caller).map_err(|f| AppError::Refused(f.message))?;
            let options = duban_app::ImportOptions { dry_run, overrides, per_file: HashMap::new() };
            shared.app.import(&ctx, std::slice::from_ref(&path), options, &mut |_| {})
        });
        let _ = std::fs::remove_dir_all(&folder);
        let mut summary = summary?;
        // The client knows the document by the name it gave, not by where the server put it.
        for outcome in &mut summary.files {
            outcome.file.clone_from(&name);
        }
        Ok(serde_json::to_value(summary).unwrap_or_default())
    })
    .await
    .and_then(ok)
}

/// `POST /api/proposals`: 交办 (the fields of `proposal add`).
async fn new_proposal(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::HandleProposal, Target::Register)?;
    let body = parse_body(&body)?;
    let kind = text_field(&body, "kind")?;
    let kind = duban_domain::ProposalKind::parse(&kind)
        .ok_or_else(|| Failure::bad(format!("类别“{kind}”无效：可选 提案 或 建议")))?;
    let new = duban_app::NewProposal {
        kind,
        assembly: text_field(&body, "assembly")?,
        session: text_field(&body, "session")?,
        number: text_field(&body, "number")?,
        title: text_field(&body, "title")?,
        proposers: list_field(&body, "proposers")?,
        lead: text_field(&body, "lead")?,
        co_handlers: list_field(&body, "co_handlers")?,
        assigned_on: date_field(&body, "assigned_on")?.unwrap_or_else(|| today(&shared)),
        reply_by: date_field(&body, "reply_by")?,
        key: body.get("key").and_then(Value::as_bool).unwrap_or(false),
        led_by: optional_text(&body, "led_by")?,
        between_sessions: body.get("between_sessions").and_then(Value::as_bool).unwrap_or(false),
    };
    blocking(move || {
        let ctx = context(&shared, &caller)?;
        let recorded = shared.app.assign_proposal(&ctx, new)?;
        Ok(recorded_json(&recorded))
    })
    .await
    .and_then(ok)
}

fn recorded_json(recorded: &duban_app::ProposalRecorded) -> Value {
    json!({
        "id": recorded.id.to_string(), "reference": format!("#{}", recorded.number), "seq": recorded.seq,
        "occurred_on": recorded.occurred_on, "status": recorded.status.code(), "version": recorded.version,
        "also": recorded.also,
    })
}

/// `POST /api/proposals/{id}/{link|reassign|contact|classify|disclose|review}`, with the fields of the command.
async fn proposal_fact(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    use duban_domain::{
        ContactMethod, Disclosure, ProposalClassified, ProposalDisclosed, ProposalReassigned, ProposalReviewed,
        ProposerContacted, ReplyClass,
    };
    let caller = caller(&shared, &headers).await?;
    caller.may(Action::HandleProposal, Target::Register)?;
    let body = parse_body(&body)?;
    let on = date_field(&body, "on")?;
    let expected_version = body.get("expected_version").and_then(Value::as_u64).map(|v| v as u32);
    let event = match action.as_str() {
        "link" => {
            let reply = text_field(&body, "reply")?;
            let co = body.get("co").and_then(Value::as_bool);
            return blocking(move || {
                let ctx = context(&shared, &caller)?;
                Ok(recorded_json(&shared.app.link_reply(&ctx, &id, &reply, co)?))
            })
            .await
            .and_then(ok);
        }
        "reassign" => Event::ProposalReassigned(ProposalReassigned {
            lead: text_field(&body, "lead")?,
            co_handlers: list_field(&body, "co_handlers")?,
            returned: body.get("returned").and_then(Value::as_bool).unwrap_or(false),
            reason: text_field(&body, "reason")?,
        }),
        "contact" => {
            let method = text_field(&body, "method")?;
            Event::ProposerContacted(ProposerContacted {
                method: ContactMethod::parse(&method)
                    .ok_or_else(|| Failure::bad(format!("联系方式“{method}”无效：可选 面商、电话、书面")))?,
                // Default: the lead organ (filled in below).
                organ: optional_text(&body, "organ")?.unwrap_or_default(),
                note: optional_text(&body, "note")?,
            })
        }
        "classify" => {
            let class = text_field(&body, "class")?;
            Event::ProposalClassified(ProposalClassified {
                class: ReplyClass::parse(&class).ok_or_else(|| Failure::bad(format!("类别“{class}”无效")))?,
                wording: None,
                reason: Some(text_field(&body, "reason")?),
            })
        }
        "disclose" => {
            let disclosure = text_field(&body, "disclosure")?;
            Event::ProposalDisclosed(ProposalDisclosed {
                disclosure: Disclosure::parse(&disclosure)
                    .ok_or_else(|| Failure::bad(format!("公开属性“{disclosure}”无效")))?,
                reason: optional_text(&body, "reason")?,
            })
        }
        "review" => {
            let outcome = text_field(&body, "outcome")?;
            Event::ProposalReviewed(ProposalReviewed {
                outcome: Outcome::parse(&outcome).ok_or_else(|| Failure::bad(format!("落实情况“{outcome}”无效")))?,
                summary: text_field(&body, "summary")?,
            })
        }
        other => return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("没有 {other} 这一操作"))),
    };
    blocking(move || {
        let ctx = context(&shared, &caller)?;
        let mut event = event;
        if let Event::ProposerContacted(contact) = &mut event {
            if contact.organ.trim().is_empty() {
                contact.organ = shared.app.proposal_now(&id)?.1.lead;
            }
        }
        Ok(recorded_json(&shared.app.record_proposal(&ctx, &id, on, event, expected_version)?))
    })
    .await
    .and_then(ok)
}
