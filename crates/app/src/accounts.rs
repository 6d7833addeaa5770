//! Accounts, passwords and sessions for a shared register (issue 18). Account changes are facts in the log (who
//! created whom, with which role, when); a password's argon2 hash and the sessions live in the store's secrets,
//! apart from the log, and never reach an export.
//!
//! Secrets are keyed `password/<account id>` (a PHC string) and `session/<hex SHA-256 of the token>` (the account
//! id and the instant it expires): a stolen copy of the secrets holds no usable token.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use duban_domain::{
    check_account_event, AccountChanged, AccountCreated, AccountDisabled, AccountState, Event, PasswordSet, Principal,
    Role,
};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::context::Context;
use crate::error::{refuse, Result};
use crate::App;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// How long a session lasts without being used again.
pub const SESSION_HOURS: i64 = 12;

fn password_key(id: Ulid) -> String {
    format!("password/{id}")
}

fn session_key(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("session/{hex}")
}

/// The log's head seq when the account's latest session was opened; `visit-changes/…`: what changed between the
/// one before and it. Kept with the secrets (not facts of the register: not in the log, not exported).
fn visit_key(id: Ulid) -> String {
    format!("visit/{id}")
}

fn visit_changes_key(id: Ulid) -> String {
    format!("visit-changes/{id}")
}

/// What changed in the register between an account's previous session and now, as far as it may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinceLastVisit {
    /// The log's head seq when the previous session was opened.
    pub since_seq: u64,
    pub replies: usize,
    pub commitments: usize,
    pub progress: usize,
    pub closed: usize,
    /// Other facts about promises (due dates, owners, notes, reopenings, dismissals, corrections).
    pub other: usize,
    /// Only the first [`SINCE_LAST_VISIT_EVENTS`] events after it were looked at.
    pub more: bool,
}

/// The most events "since your last visit" looks at.
pub const SINCE_LAST_VISIT_EVENTS: u64 = 100_000;

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|error| std::io::Error::other(error.to_string()))?;
    Ok(bytes)
}

fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return refuse(format!("密码太短：至少 {MIN_PASSWORD_CHARS} 个字符"));
    }
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|error| std::io::Error::other(error.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    Ok(hash.to_string())
}

impl App {
    /// Every account, in the order created.
    pub fn accounts(&self) -> Result<Vec<AccountState>> {
        let mut accounts = Vec::new();
        match &self.register {
            // A server holds every family decoded: reading them all again from the store took ~0.2 s at a million
            // events, on every login.
            Some(register) => {
                for family in register.current(&*self.store)?.iter() {
                    accounts.extend(family.account.clone());
                }
            }
            None => {
                for family in self.store.families_between(None, None) {
                    accounts.extend(family?.account);
                }
            }
        }
        accounts.sort_by_key(|account| account.number);
        Ok(accounts)
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Result<AccountState> {
        match self.accounts()?.into_iter().find(|account| account.name == name.trim()) {
            Some(account) => Ok(account),
            None => refuse(format!("没有名为 {} 的账户（duban user list 查看）", name.trim())),
        }
    }

    /// Creates an account with its first password: the fact in the log, the hash in the secrets.
    pub fn create_account(
        &self,
        ctx: &Context,
        name: &str,
        role: Role,
        organs: Vec<String>,
        password: &str,
    ) -> Result<AccountState> {
        let name = name.trim().to_string();
        let organs: Vec<String> = organs.into_iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
        let taken = self.accounts()?.iter().any(|account| account.name == name);
        let created = Event::AccountCreated(AccountCreated { name: name.clone(), role, organs });
        check_account_event(&AccountState::default(), &created, taken)?;
        let hash = hash_password(password)?;
        let id = ctx.new_id();
        // The hash first: should the append then fail, an unused hash is all that is left.
        self.store.set_secret(&password_key(id), Some(hash.as_bytes()))?;
        let today = ctx.today();
        let events =
            vec![ctx.new_event(id, today, created), ctx.new_event(id, today, Event::PasswordSet(PasswordSet {}))];
        self.append(vec![(id, 0, events)])?;
        Ok(self.store.account(&id)?.unwrap_or_default())
    }

    /// A new role or set of organs.
    pub fn change_account(&self, ctx: &Context, name: &str, role: Role, organs: Vec<String>) -> Result<AccountState> {
        let account = self.account(name)?;
        let organs: Vec<String> = organs.into_iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
        self.account_fact(ctx, account, Event::AccountChanged(AccountChanged { role, organs }))
    }

    /// Disables (or enables again) an account; its sessions end with it.
    pub fn disable_account(&self, ctx: &Context, name: &str, disabled: bool, reason: &str) -> Result<AccountState> {
        let account = self.account(name)?;
        if disabled && Some(account.name.as_str()) == Some(ctx.actor.as_str()) {
            return refuse("不能停用自己正在使用的账户");
        }
        let event = Event::AccountDisabled(AccountDisabled { disabled, reason: reason.trim().to_string() });
        let after = self.account_fact(ctx, account, event)?;
        if disabled {
            self.end_sessions_of(after.id.unwrap_or_default())?;
        }
        Ok(after)
    }

    /// Sets a new password (the log records only that it was set); the account's sessions end.
    pub fn set_password(&self, ctx: &Context, name: &str, password: &str) -> Result<AccountState> {
        let account = self.account(name)?;
        let id = account.id.unwrap_or_default();
        let hash = hash_password(password)?;
        self.store.set_secret(&password_key(id), Some(hash.as_bytes()))?;
        self.end_sessions_of(id)?;
        self.account_fact(ctx, account, Event::PasswordSet(PasswordSet {}))
    }

    fn account_fact(&self, ctx: &Context, account: AccountState, event: Event) -> Result<AccountState> {
        check_account_event(&account, &event, false)?;
        let id = account.id.unwrap_or_default();
        self.append(vec![(id, account.version, vec![ctx.new_event(id, ctx.today(), event)])])?;
        Ok(self.store.account(&id)?.unwrap_or_default())
    }

    /// The account `name` if `password` is its password and it is in use. The refusal does not say which of the
    /// two was wrong.
    pub fn authenticate(&self, name: &str, password: &str) -> Result<(AccountState, Principal)> {
        let wrong = || refuse("账户名或密码不正确");
        let Ok(account) = self.account(name) else {
            // As slow as a real check, so that timing does not tell which names exist.
            if let Ok(dummy) = PasswordHash::new(dummy_hash()) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
            }
            return wrong();
        };
        let Some(stored) = self.store.secret(&password_key(account.id.unwrap_or_default()))? else { return wrong() };
        let stored = String::from_utf8_lossy(&stored).into_owned();
        let Ok(parsed) = PasswordHash::new(&stored) else { return wrong() };
        if Argon2::default().verify_password(password.as_bytes(), &parsed).is_err() {
            return wrong();
        }
        let Some(principal) = account.principal() else { return wrong() };
        if principal.disabled {
            return refuse(format!("账户 {} 已停用", account.name));
        }
        Ok((account, principal))
    }

    /// Opens a session for an authenticated account: returns its token (shown once, stored only as a hash).
    pub fn open_session(&self, account: &AccountState, now: DateTime<Utc>) -> Result<String> {
        let token: String = random_bytes::<32>()?.iter().map(|byte| format!("{byte:02x}")).collect();
        let expires = now + Duration::hours(SESSION_HOURS);
        let value = format!("{} {}", account.id.unwrap_or_default(), expires.to_rfc3339());
        self.store.set_secret(&session_key(&token), Some(value.as_bytes()))?;
        // What changed since the previous session, counted now (once a session, not at every page).
        let id = account.id.unwrap_or_default();
        let head = self.store.head()?.seq;
        let previous = self.store.secret(&visit_key(id))?;
        if let Some(since) = previous.as_deref().and_then(|p| std::str::from_utf8(p).ok()?.parse::<u64>().ok()) {
            if let Some(principal) = account.principal() {
                let changes = self.changes_between(&principal, since, head)?;
                let stored = format!(
                    "{} {} {} {} {} {} {}",
                    changes.since_seq,
                    changes.replies,
                    changes.commitments,
                    changes.progress,
                    changes.closed,
                    changes.other,
                    u8::from(changes.more)
                );
                self.store.set_secret(&visit_changes_key(id), Some(stored.as_bytes()))?;
            }
        }
        self.store.set_secret(&visit_key(id), Some(head.to_string().as_bytes()))?;
        Ok(token)
    }

    /// What changed between the account's previous session and its latest (`None` before its second): counted
    /// when the latest was opened, so a page shows it without reading the log.
    /// By the account's id (what a session gives), so that a page never looks an account up among all of them.
    pub fn since_last_visit(&self, account: Ulid) -> Result<Option<SinceLastVisit>> {
        let Some(stored) = self.store.secret(&visit_changes_key(account))? else {
            return Ok(None);
        };
        let numbers: Vec<u64> = String::from_utf8_lossy(&stored).split(' ').filter_map(|n| n.parse().ok()).collect();
        let [since_seq, replies, commitments, progress, closed, other, more] = numbers[..] else { return Ok(None) };
        let count = |n: u64| n as usize;
        Ok(Some(SinceLastVisit {
            since_seq,
            replies: count(replies),
            commitments: count(commitments),
            progress: count(progress),
            closed: count(closed),
            other: count(other),
            more: more == 1,
        }))
    }

    /// Counts what the log holds after `since_seq` (up to `until_seq`, at most [`SINCE_LAST_VISIT_EVENTS`]) that
    /// `principal` may see.
    fn changes_between(&self, principal: &Principal, since_seq: u64, until_seq: u64) -> Result<SinceLastVisit> {
        let sees = |organs: &[&str]| {
            duban_domain::permits(principal, duban_domain::Action::Read, duban_domain::Target::Item { organs }).is_ok()
        };
        let mut changes = SinceLastVisit { since_seq, ..SinceLastVisit::default() };
        let mut seen: std::collections::HashMap<Ulid, bool> = std::collections::HashMap::new();
        let mut failed = None;
        if until_seq <= since_seq {
            return Ok(changes);
        }
        self.store.scan_log(since_seq + 1, &mut |envelope| {
            if envelope.seq > until_seq {
                return false;
            }
            if envelope.seq > since_seq + SINCE_LAST_VISIT_EVENTS {
                changes.more = true;
                return false;
            }
            let reply = matches!(envelope.event, Event::ReplyRegistered(_));
            let promise = envelope.event.stream_kind() == duban_domain::StreamKind::Commitment;
            if !reply && !promise {
                return true;
            }
            let shown = match seen.get(&envelope.stream) {
                Some(&shown) => shown,
                None => {
                    let shown = if reply {
                        self.store.reply(&envelope.stream).map(|r| r.is_some_and(|r| sees(&[r.organ()])))
                    } else {
                        self.store.commitment(&envelope.stream).map(|c| c.is_some_and(|c| sees(&c.organs())))
                    };
                    match shown {
                        Ok(shown) => *seen.entry(envelope.stream).or_insert(shown),
                        Err(error) => {
                            failed = Some(error);
                            return false;
                        }
                    }
                }
            };
            if shown {
                match envelope.event {
                    Event::ReplyRegistered(_) => changes.replies += 1,
                    Event::CommitmentMade(_) => changes.commitments += 1,
                    Event::ProgressReported(_) => changes.progress += 1,
                    Event::Closed(_) => changes.closed += 1,
                    // Parts of the fact they were appended with (a progress report's file, a registration's review).
                    Event::EvidenceAttached(_) | Event::IntakeReviewed(_) => {}
                    _ => changes.other += 1,
                }
            }
            true
        })?;
        match failed {
            Some(error) => Err(error.into()),
            None => Ok(changes),
        }
    }

    /// The account a token's session belongs to, if the session is open and the account in use.
    pub fn session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<(AccountState, Principal)>> {
        let Some(value) = self.store.secret(&session_key(token))? else { return Ok(None) };
        let value = String::from_utf8_lossy(&value).into_owned();
        let Some((id, expires)) = value.split_once(' ') else { return Ok(None) };
        let (Ok(id), Ok(expires)) = (id.parse::<Ulid>(), DateTime::parse_from_rfc3339(expires)) else {
            return Ok(None);
        };
        if expires < now {
            self.store.set_secret(&session_key(token), None)?;
            return Ok(None);
        }
        let Some(account) = self.store.account(&id)? else { return Ok(None) };
        Ok(account.principal().filter(|principal| !principal.disabled).map(|principal| (account, principal)))
    }

    /// Ends a session.
    pub fn close_session(&self, token: &str) -> Result<()> {
        self.store.set_secret(&session_key(token), None)?;
        Ok(())
    }

    fn end_sessions_of(&self, id: Ulid) -> Result<()> {
        let prefix = format!("{id} ");
        for (key, value) in self.store.secrets_with_prefix("session/")? {
            if value.starts_with(prefix.as_bytes()) {
                self.store.set_secret(&key, None)?;
            }
        }
        Ok(())
    }
}

/// An argon2 hash (with the default parameters) checked against when the account does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(b"duban-no-account").expect("16 bytes encode");
        Argon2::default().hash_password(b"no such account", &salt).map(|hash| hash.to_string()).unwrap_or_default()
    })
}
