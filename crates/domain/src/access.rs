//! Who may do what: every permission is decided here, by one pure function of the account, the action and the item
//! (issue 18). The server asks it before every use case; nothing else grants or refuses.
//!
//! Roles, as offices divide the work: 管理员 (`admin`) manages accounts and may do everything; 督办人员 (`liaison`)
//! does everything about proposals, replies and promises; 承办单位 (`organ`) sees its own organs' items and reports
//! progress and notes on them — a promise it reports at 100 % waits for a liaison to close it; 查阅人员 (`viewer`)
//! reads. A disabled account may do nothing.

use serde::{Deserialize, Serialize};

/// An account's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Liaison,
    Organ,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Liaison, Role::Organ, Role::Viewer];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Liaison => "liaison",
            Role::Organ => "organ",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Liaison => "督办人员",
            Role::Organ => "承办单位",
            Role::Viewer => "查阅人员",
        }
    }

    /// Accepts the code or the label.
    pub fn parse(text: &str) -> Option<Role> {
        let text = text.trim();
        Role::ALL.into_iter().find(|role| text == role.code() || text == role.label())
    }
}

/// What an account asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See an item (a promise, a reply, a proposal) or a list, report or statistic of items.
    Read,
    /// Read the raw log (auditors): every item's facts, so never an organ's.
    ReadLog,
    ReportProgress,
    AddNote,
    Close,
    Reopen,
    SetDue,
    Reassign,
    Dismiss,
    Amend,
    /// Record a proposer's evaluation of a reply.
    Evaluate,
    /// Register a reply, import documents, record a promise.
    Register,
    /// 交办 and the rest of a proposal's handling.
    HandleProposal,
    /// Create, disable and change accounts.
    ManageAccounts,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::Read,
        Action::ReadLog,
        Action::ReportProgress,
        Action::AddNote,
        Action::Close,
        Action::Reopen,
        Action::SetDue,
        Action::Reassign,
        Action::Dismiss,
        Action::Amend,
        Action::Evaluate,
        Action::Register,
        Action::HandleProposal,
        Action::ManageAccounts,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Action::Read => "查看",
            Action::ReadLog => "查看日志",
            Action::ReportProgress => "报告进展",
            Action::AddNote => "添加备注",
            Action::Close => "办结",
            Action::Reopen => "重新打开",
            Action::SetDue => "设定期限",
            Action::Reassign => "调整责任单位",
            Action::Dismiss => "撤销",
            Action::Amend => "更正",
            Action::Evaluate => "记录评价",
            Action::Register => "登记答复和承诺",
            Action::HandleProposal => "交办和办理建议提案",
            Action::ManageAccounts => "管理账户",
        }
    }
}

/// What the action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The register as a whole (a new record, an account, the log).
    Register,
    /// One item, known by the organs responsible for it (a promise's owner and co-handlers, a reply's organ, a
    /// proposal's lead and co-handlers).
    Item { organs: &'a [&'a str] },
}

/// The account asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// For `organ` accounts: the organs they act for.
    pub organs: Vec<String>,
    pub disabled: bool,
}

impl Principal {
    /// Whether the item is one of this account's organs'.
    fn owns(&self, organs: &[&str]) -> bool {
        organs.iter().any(|organ| self.organs.iter().any(|own| crate::fold(own) == crate::fold(organ)))
    }
}

/// Why an action was refused, in the words shown to the user (the server answers 403 with it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("账户 {name} 已停用")]
    Disabled { name: String },
    #[error("{role}（{name}）无权{action}")]
    Role { name: String, role: &'static str, action: &'static str },
    #[error("{name} 只能{action}本单位（{}）的事项", organs.join("、"))]
    OtherOrgan { name: String, action: &'static str, organs: Vec<String> },
}

/// Whether `principal` may do `action` on `target`: the one place permissions are decided.
pub fn permits(principal: &Principal, action: Action, target: Target) -> Result<(), Denied> {
    if principal.disabled {
        return Err(Denied::Disabled { name: principal.name.clone() });
    }
    let by_role =
        || Denied::Role { name: principal.name.clone(), role: principal.role.label(), action: action.label() };
    match principal.role {
        Role::Admin => Ok(()),
        Role::Liaison if action == Action::ManageAccounts => Err(by_role()),
        Role::Liaison => Ok(()),
        Role::Viewer if matches!(action, Action::Read | Action::ReadLog) => Ok(()),
        Role::Viewer => Err(by_role()),
        Role::Organ => {
            if !matches!(action, Action::Read | Action::ReportProgress | Action::AddNote) {
                return Err(by_role());
            }
            match target {
                // A list or report is allowed, cut to its own organs by the caller (`Principal::organs`).
                Target::Register if action == Action::Read => Ok(()),
                Target::Register => Err(by_role()),
                Target::Item { organs } if principal.owns(organs) => Ok(()),
                Target::Item { .. } => Err(Denied::OtherOrgan {
                    name: principal.name.clone(),
                    action: action.label(),
                    organs: principal.organs.clone(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal { name: "甲".into(), role, organs: vec!["区科委".into()], disabled: false }
    }

    /// Every role × every action × {the register, an own organ's item, another organ's item}, against a table
    /// written out by hand.
    #[test]
    fn every_role_action_and_item_is_decided_as_the_table_says() {
        use Action::*;
        let own = ["区科委", "区财政局"];
        let other = ["区教育局"];
        let targets = [
            ("register", Target::Register),
            ("own", Target::Item { organs: &own }),
            ("other", Target::Item { organs: &other }),
        ];
        let allowed = |role: Role, action: Action, target: &str| -> bool {
            match role {
                Role::Admin => true,
                Role::Liaison => action != ManageAccounts,
                Role::Viewer => matches!(action, Read | ReadLog),
                Role::Organ => match target {
                    "register" => action == Read,
                    "own" => matches!(action, Read | ReportProgress | AddNote),
                    _ => false,
                },
            }
        };
        let mut decided = 0;
        for role in Role::ALL {
            for action in Action::ALL {
                for (name, target) in targets {
                    let decision = permits(&principal(role), action, target);
                    assert_eq!(
                        decision.is_ok(),
                        allowed(role, action, name),
                        "{role:?} {action:?} {name}: {decision:?}"
                    );
                    let mut disabled = principal(role);
                    disabled.disabled = true;
                    assert!(matches!(permits(&disabled, action, target), Err(Denied::Disabled { .. })));
                    decided += 1;
                }
            }
        }
        assert_eq!(decided, 4 * 14 * 3);
    }

    /// The server asks once per request whether a caller may act on an item of no organ, and takes a yes for every
    /// item (a listing does not ask row by row): that holds for every role and action.
    #[test]
    fn an_item_of_no_organ_permitted_means_every_item_is() {
        for role in Role::ALL {
            for action in Action::ALL {
                if permits(&principal(role), action, Target::Item { organs: &[] }).is_ok() {
                    for organs in [&["区科委"][..], &["区教育局"], &["区科委", "区教育局"]] {
                        assert!(
                            permits(&principal(role), action, Target::Item { organs }).is_ok(),
                            "{role:?} {action:?}"
                        );
                    }
                }
            }
        }
        assert!(permits(&principal(Role::Organ), Action::Read, Target::Item { organs: &[] }).is_err());
    }

    #[test]
    fn refusals_say_who_and_why_in_chinese() {
        let organ = principal(Role::Organ);
        let other = permits(&organ, Action::ReportProgress, Target::Item { organs: &["区教育局"] }).unwrap_err();
        assert_eq!(other.to_string(), "甲 只能报告进展本单位（区科委）的事项");
        let close = permits(&organ, Action::Close, Target::Item { organs: &["区科委"] }).unwrap_err();
        assert_eq!(close.to_string(), "承办单位（甲）无权办结");
        // Organ names match as typed elsewhere: folded (full-width, traditional script).
        assert!(permits(&organ, Action::AddNote, Target::Item { organs: &["區科委"] }).is_ok());
        assert_eq!(Role::parse("督办人员"), Some(Role::Liaison));
        assert_eq!(Role::parse("organ"), Some(Role::Organ));
    }
}
