//! Who did it, as a page says it: areas store the username of whoever acted (a timeline's actor, a record's
//! `created_by`, the audit log's actor) and pages show the person's name instead. The accounts area owns the
//! users; the registry sits below it and cannot call it, so `web::app` puts the accounts lookup in the state
//! ([`crate::AppState::with_people`]) and every area resolves the names it shows through [`names`], one query
//! per page for all the usernames on it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use crate::{AppResult, AppState, Db};

/// What the lookup answers: `(username, display name)` of those asked for that are users.
pub type Answer<'a> = Pin<Box<dyn Future<Output = AppResult<Vec<(String, String)>>> + Send + 'a>>;

/// The accounts area's lookup.
pub type Lookup = for<'a> fn(&'a Db, Vec<String>) -> Answer<'a>;

/// The actors that are not people: the platform's own jobs, the command line, the demo generator. Their
/// usernames are in the code (`AuditEntry::system` callers), never shown as such.
pub const SYSTEM_ACTORS: &[(&str, &str)] = &[
    ("system", "系统"),
    ("cli", "命令行"),
    ("demo", "演示数据生成"),
    ("alarm-worker", "报警判定程序"),
    ("hj212-gateway", "HJ 212 接入网关"),
];

/// The names behind a page's usernames.
#[derive(Debug, Clone, Default)]
pub struct PersonNames(HashMap<String, String>);

impl PersonNames {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        PersonNames(pairs.into_iter().collect())
    }

    /// The person's name (姓名); the platform's own actors in Chinese; else the stored text (a deleted user,
    /// a name typed on a form).
    pub fn name(&self, username: &str) -> String {
        if let Some(name) = self.0.get(username).filter(|n| !n.trim().is_empty()) {
            return name.clone();
        }
        system_label(username).map_or_else(|| username.to_string(), str::to_string)
    }

    /// The name with the username beside it, where telling two people of one name apart matters (the audit
    /// log): 张三（zhangsan）.
    pub fn name_and_username(&self, username: &str) -> String {
        match self.0.get(username).filter(|n| !n.trim().is_empty()) {
            Some(name) if name != username => format!("{name}（{username}）"),
            _ => self.name(username),
        }
    }
}

/// The Chinese name of one of the platform's own actors.
pub fn system_label(actor: &str) -> Option<&'static str> {
    SYSTEM_ACTORS
        .iter()
        .find(|(code, _)| *code == actor)
        .map(|(_, label)| *label)
}

/// The names of `usernames` (duplicates and empties are fine), through the accounts area when the application
/// has one (a state without it — a unit test — shows the usernames). The usernames are gathered before the
/// returned future runs, so that it holds no borrow of the caller's records.
pub fn names<'u>(
    state: &AppState,
    usernames: impl IntoIterator<Item = &'u str>,
) -> impl Future<Output = AppResult<PersonNames>> + Send + 'static {
    let mut wanted: Vec<String> = usernames
        .into_iter()
        .filter(|u| !u.is_empty() && system_label(u).is_none())
        .map(str::to_string)
        .collect();
    wanted.sort();
    wanted.dedup();
    let (db, lookup) = (state.db.clone(), state.people);
    async move {
        match lookup {
            Some(lookup) if !wanted.is_empty() => {
                Ok(PersonNames::from_pairs(lookup(&db, wanted).await?))
            }
            _ => Ok(PersonNames::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fall_back_to_system_labels_then_the_stored_text() {
        let names = PersonNames::from_pairs([("zhang".to_string(), "张三".to_string())]);
        assert_eq!(names.name("zhang"), "张三");
        assert_eq!(names.name_and_username("zhang"), "张三（zhang）");
        assert_eq!(names.name("alarm-worker"), "报警判定程序");
        assert_eq!(names.name("former-user"), "former-user");
    }
}
