//! 用户 (`/users`, for an admin): the accounts of the register — create one, change its role and organs, disable or
//! enable it, set a new password. Each form goes to the same account use cases as `duban user` and `/api/users`;
//! the log records what changed and who changed it, never a password (its hash is kept with the secrets).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use duban_domain::{Action, Role};

use crate::web::{esc, failure_page, page, posting_who_may, redirect, visitor_who_may, FormData, Visitor};
use crate::{blocking, context, percent_encode as enc, Failure, Shared};

/// Organs as typed: separated by 、，, ; or line breaks.
fn organs_of(text: &str) -> Vec<String> {
    text.split(['、', '，', ',', ';', '；', '\n']).map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect()
}

fn role_options(selected: Option<Role>) -> String {
    Role::ALL
        .iter()
        .map(|role| {
            let chosen = if Some(*role) == selected { " selected" } else { "" };
            format!(r#"<option value="{}"{chosen}>{}</option>"#, role.code(), esc(role.label()))
        })
        .collect()
}

/// `GET /users`: every account, with its forms.
pub(crate) async fn users_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let visitor = match visitor_who_may(&shared, &headers, Action::ManageAccounts).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let notice = query.get("done").map(|done| format!(r#"<p class="notice" role="status">{}</p>"#, esc(done)));
    users(&shared, &visitor, &notice.unwrap_or_default(), StatusCode::OK).await
}

async fn users(shared: &Arc<Shared>, visitor: &Visitor, notice: &str, status: StatusCode) -> Response {
    let worker = shared.clone();
    let accounts = match blocking(move || Ok(worker.app.accounts()?)).await {
        Ok(accounts) => accounts,
        Err(failure) => return failure_page(failure, Some(visitor)),
    };
    let csrf = esc(&visitor.csrf);
    let mut body = String::from(notice);
    body.push_str(r#"<div class="scroll"><table class="list" id="accounts"><thead><tr><th scope="col">账户</th><th scope="col">角色</th><th scope="col">单位</th><th scope="col">状态</th><th scope="col">建立</th><th scope="col">密码设置</th><th scope="col">管理</th></tr></thead><tbody>"#);
    for account in &accounts {
        let name = esc(&account.name);
        let path = enc(&account.name);
        let state = if account.disabled { "已停用" } else { "在用" };
        let (toggle, toggle_label) = if account.disabled { ("enable", "启用") } else { ("disable", "停用") };
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
        let _ = write!(
            body,
            r#"<tr><td data-label="账户">{name}</td><td data-label="角色">{}</td><td data-label="单位">{}</td><td data-label="状态">{state}</td><td data-label="建立">{}</td><td data-label="密码设置">{}</td><td data-label="管理"><details><summary>管理 {name}</summary>
<form method="post" action="/users/{path}/role" class="card"><input type="hidden" name="csrf" value="{csrf}"><label>角色<select name="role">{}</select></label><label>单位（承办单位账户必填，用“、”分隔）<input name="organs" value="{}"></label><button type="submit">调整</button></form>
<form method="post" action="/users/{path}/{toggle}" class="card"><input type="hidden" name="csrf" value="{csrf}"><label>理由<input name="reason" required></label><button type="submit">{toggle_label}</button></form>
<form method="post" action="/users/{path}/password" class="card"><input type="hidden" name="csrf" value="{csrf}"><label>新密码<input name="password" type="password" autocomplete="new-password" required minlength="{}"></label><button type="submit">重置密码</button></form>
</details></td></tr>"#,
            esc(account.role.map_or("", Role::label)),
            esc(&account.organs.join("、")),
            date(account.created_on),
            date(account.password_set_on),
            role_options(account.role),
            esc(&account.organs.join("、")),
            duban_app::MIN_PASSWORD_CHARS,
        );
    }
    body.push_str("</tbody></table></div>");
    let _ = write!(
        body,
        r#"<form method="post" action="/users" class="card narrow" id="new-user"><h2>新建账户</h2><input type="hidden" name="csrf" value="{csrf}">
<label for="u-name">账户名</label><input id="u-name" name="name" required>
<label for="u-role">角色</label><select id="u-role" name="role">{}</select>
<label for="u-organs">单位（承办单位账户必填，用“、”分隔）</label><input id="u-organs" name="organs">
<label for="u-password">初始密码（至少 {} 个字符）</label><input id="u-password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">新建</button></form>"#,
        role_options(Some(Role::Organ)),
        duban_app::MIN_PASSWORD_CHARS
    );
    page(status, "用户", Some(visitor), &body)
}

fn role_of(fields: &std::collections::HashMap<String, String>) -> Result<Role, Failure> {
    let role = fields.get("role").map(String::as_str).unwrap_or_default();
    Role::parse(role).ok_or_else(|| Failure::bad(format!("角色“{role}”无效")))
}

/// `POST /users`: a new account.
pub(crate) async fn create_submit(State(shared): State<Arc<Shared>>, headers: HeaderMap, form: FormData) -> Response {
    let visitor = match posting_who_may(&shared, &headers, &form.fields, Action::ManageAccounts).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let fields = form.fields;
    let (worker, caller) = (shared.clone(), visitor.caller.clone());
    let done = blocking(move || {
        let role = role_of(&fields)?;
        let name = fields.get("name").cloned().unwrap_or_default();
        let organs = organs_of(fields.get("organs").map(String::as_str).unwrap_or_default());
        let password = fields.get("password").cloned().unwrap_or_default();
        let ctx = context(&worker, &caller)?;
        let account = worker.app.create_account(&ctx, &name, role, organs, &password)?;
        Ok(format!("已新建账户 {}（{}）", account.name, role.label()))
    })
    .await;
    finish(&shared, &visitor, done).await
}

/// `POST /users/{name}/{role|disable|enable|password}`.
pub(crate) async fn change_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let visitor = match posting_who_may(&shared, &headers, &form.fields, Action::ManageAccounts).await {
        Ok(visitor) => visitor,
        Err(response) => return response,
    };
    let fields = form.fields;
    let (worker, caller) = (shared.clone(), visitor.caller.clone());
    let done = blocking(move || {
        let ctx = context(&worker, &caller)?;
        let app = &worker.app;
        let field = |key: &str| fields.get(key).cloned().unwrap_or_default();
        match action.as_str() {
            "role" => {
                let role = role_of(&fields)?;
                let account = app.change_account(&ctx, &name, role, organs_of(&field("organs")))?;
                Ok(format!("已调整账户 {}：{}", account.name, role.label()))
            }
            "disable" | "enable" => {
                let disabled = action == "disable";
                let account = app.disable_account(&ctx, &name, disabled, &field("reason"))?;
                Ok(format!("已{}账户 {}", if disabled { "停用" } else { "启用" }, account.name))
            }
            "password" => {
                let account = app.set_password(&ctx, &name, &field("password"))?;
                Ok(format!("已为 {} 设置新密码（其已登录的会话随之结束）", account.name))
            }
            other => Err(Failure::new(StatusCode::NOT_FOUND, "not_found", format!("没有 {other} 这一操作"))),
        }
    })
    .await;
    finish(&shared, &visitor, done).await
}

async fn finish(shared: &Arc<Shared>, visitor: &Visitor, done: Result<String, Failure>) -> Response {
    match done {
        Ok(done) => redirect(&format!("/users?done={}", enc(&done))),
        Err(failure) => {
            let notice = format!(r#"<p class="error" role="alert">{}</p>"#, esc(&failure.message));
            let status = failure.status;
            users(shared, visitor, &notice, status).await
        }
    }
}
