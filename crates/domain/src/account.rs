//! Accounts of the people who use a shared register (issue 18): who was created, with which role and organs, when
//! and by whom — facts in the log like any other. Secrets are not facts: a password's hash, sessions and tokens are
//! kept apart by the store and never enter the log or an export; the log records only that a password was set.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::access::{Principal, Role};
use crate::error::DomainError;
use crate::event::Event;

/// The longest account name (32 Chinese characters).
pub const MAX_ACCOUNT_NAME_BYTES: usize = 96;

/// Opens an account stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreated {
    /// The login name, unique in the register; also the actor of every fact the account records.
    pub name: String,
    pub role: Role,
    /// For `organ` accounts: the organs they act for.
    pub organs: Vec<String>,
}

/// A new role or set of organs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChanged {
    pub role: Role,
    pub organs: Vec<String>,
}

/// Disabled (`true`) or enabled again (`false`), with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDisabled {
    pub disabled: bool,
    pub reason: String,
}

/// A password was set (its hash is kept apart, never here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSet {}

/// An account as its events describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: Option<Ulid>,
    pub version: u32,
    pub name: String,
    pub role: Option<Role>,
    pub organs: Vec<String>,
    pub disabled: bool,
    pub created_on: Option<NaiveDate>,
    pub password_set_on: Option<NaiveDate>,
    #[serde(skip)]
    pub number: u64,
}

impl AccountState {
    pub fn apply(&mut self, envelope: &crate::Envelope) {
        self.id.get_or_insert(envelope.stream);
        self.version = envelope.version;
        if envelope.version == 1 {
            self.number = envelope.seq;
        }
        match &envelope.event {
            Event::AccountCreated(created) => {
                self.name.clone_from(&created.name);
                self.role = Some(created.role);
                self.organs.clone_from(&created.organs);
                self.created_on = Some(envelope.occurred_on);
            }
            Event::AccountChanged(changed) => {
                self.role = Some(changed.role);
                self.organs.clone_from(&changed.organs);
            }
            Event::AccountDisabled(disabled) => self.disabled = disabled.disabled,
            Event::PasswordSet(_) => self.password_set_on = Some(envelope.occurred_on),
            _ => {}
        }
    }

    pub fn fold<'a>(events: impl IntoIterator<Item = &'a crate::Envelope>) -> Self {
        let mut state = Self::default();
        for envelope in events {
            state.apply(envelope);
        }
        state
    }

    /// The account as permissions see it.
    pub fn principal(&self) -> Option<Principal> {
        Some(Principal {
            name: self.name.clone(),
            role: self.role?,
            organs: self.organs.clone(),
            disabled: self.disabled,
        })
    }
}

/// Checks a fact about an account before it is appended. `name_taken`: whether another account has the name.
pub fn check_account_event(account: &AccountState, event: &Event, name_taken: bool) -> Result<(), DomainError> {
    use crate::validate::check_actor;
    let check_organs = |role: Role, organs: &[String]| -> Result<(), DomainError> {
        for organ in organs {
            crate::validate::check_text("单位", organ)?;
        }
        match (role, organs.is_empty()) {
            (Role::Organ, true) => Err(DomainError::OrganAccountNeedsOrgan),
            (Role::Organ, false) | (_, true) => Ok(()),
            (_, false) => Err(DomainError::OrgansOnlyForOrganAccounts { role: role.label() }),
        }
    };
    if let Event::AccountCreated(created) = event {
        if account.role.is_some() {
            return Err(DomainError::AlreadyRegistered { id: account.id.unwrap_or_default() });
        }
        check_actor(&created.name)?;
        if created.name.len() > MAX_ACCOUNT_NAME_BYTES || created.name.trim() != created.name {
            return Err(DomainError::BadAccountName { name: created.name.clone() });
        }
        if name_taken {
            return Err(DomainError::AccountExists { name: created.name.clone() });
        }
        return check_organs(created.role, &created.organs);
    }
    if account.role.is_none() {
        return Err(DomainError::WrongStream { event: event.tag(), expected: "已建立的账户" });
    }
    match event {
        Event::AccountChanged(changed) => {
            if Some(changed.role) == account.role && changed.organs == account.organs {
                return Err(DomainError::AmendsNothing { id: account.id.unwrap_or_default() });
            }
            check_organs(changed.role, &changed.organs)
        }
        Event::AccountDisabled(disabled) => {
            if disabled.disabled == account.disabled {
                return Err(DomainError::AccountAlready {
                    name: account.name.clone(),
                    state: if account.disabled { "已停用" } else { "在用" },
                });
            }
            crate::validate::check_text("理由", &disabled.reason)
        }
        Event::PasswordSet(_) => Ok(()),
        _ => Err(DomainError::WrongStream { event: event.tag(), expected: "账户" }),
    }
}
