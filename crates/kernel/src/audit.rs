//! The audit log: every change to every record, with who, when, what, and the record before → after.
//! Written in the same transaction as the change it describes, so that neither exists without the other.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor, Row};

use crate::auth::Principal;
use crate::db::{Db, SqlBuilder};
use crate::page::{Page, PageQuery};
use crate::time::now_ts;

/// One entry to write.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor_id: Option<i64>,
    pub actor: String,
    /// `create`, `update`, `delete`, `login`, `login_failed`, `logout`, `password`, `token_create`, …
    pub action: String,
    /// The table-level name of the record kind: `enterprise`, `monitoring_point`, `user`, …
    pub entity: String,
    pub entity_id: String,
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl AuditEntry {
    pub fn by(principal: &Principal, action: &str, entity: &str, entity_id: impl ToString) -> Self {
        AuditEntry {
            actor_id: Some(principal.user_id),
            actor: principal.username.clone(),
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            summary: String::new(),
            before: None,
            after: None,
        }
    }

    /// For changes made from the command line or by the system itself.
    pub fn system(actor: &str, action: &str, entity: &str, entity_id: impl ToString) -> Self {
        AuditEntry {
            actor_id: None,
            actor: actor.to_string(),
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            summary: String::new(),
            before: None,
            after: None,
        }
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    pub fn before<T: Serialize>(mut self, value: &T) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after<T: Serialize>(mut self, value: &T) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// Who makes a change: a signed-in user, held to the resource's policy, or the command line, which whoever runs
/// it on the server may use for everything and which the log names `cli`.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Principal(&'a Principal),
    Cli,
}

impl Actor<'_> {
    /// The audit entry of a change this actor makes.
    pub fn entry(&self, action: &str, entity: &str, id: impl ToString) -> AuditEntry {
        match self {
            Actor::Principal(p) => AuditEntry::by(p, action, entity, id),
            Actor::Cli => AuditEntry::system("cli", action, entity, id),
        }
    }

    /// 403 unless a principal's role may do `action` on `resource`; the command line always may.
    pub fn require(
        &self,
        resource: crate::auth::Resource,
        action: crate::auth::Action,
    ) -> Result<(), crate::error::AppError> {
        match self {
            Actor::Principal(p) => p.require(resource, action),
            Actor::Cli => Ok(()),
        }
    }
}

/// Writes one entry through any executor (a transaction, normally).
pub async fn record<'e, E>(executor: E, entry: &AuditEntry) -> Result<(), sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, summary, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now_ts())
    .bind(entry.actor_id)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.entity)
    .bind(&entry.entity_id)
    .bind(&entry.summary)
    .bind(entry.before.as_ref().map(|v| v.to_string()))
    .bind(entry.after.as_ref().map(|v| v.to_string()))
    .execute(executor)
    .await?;
    Ok(())
}

/// The audit version: how many entries the log has received, bumped in the transaction of each (by the
/// `audit_log_bumps_version` trigger of migration 21). Every change is audited, so a figure computed while the
/// version was v — and the readings' data version unchanged — is current while the version is still v.
pub async fn version(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM audit_version WHERE id = 1")
        .fetch_one(db.pool())
        .await
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    /// Unix seconds, UTC.
    pub at: i64,
    /// The same instant in China Standard Time.
    pub at_cst: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub summary: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Search filters; each is optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Username of the actor.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Text contained in the summary or the before/after values.
    pub q: Option<String>,
    /// From this instant (Unix seconds, inclusive).
    pub from: Option<i64>,
    /// Until this instant (Unix seconds, exclusive).
    pub to: Option<i64>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn search(
    db: &Db,
    filter: &AuditFilter,
    page: &PageQuery,
) -> Result<Page<AuditRecord>, sqlx::Error> {
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(" FROM audit_log WHERE 1=1");
        if let Some(actor) = non_empty(&filter.actor) {
            b.push(" AND actor = ").push_bind(actor.to_string());
        }
        if let Some(action) = non_empty(&filter.action) {
            b.push(" AND action = ").push_bind(action.to_string());
        }
        if let Some(entity) = non_empty(&filter.entity) {
            b.push(" AND entity = ").push_bind(entity.to_string());
        }
        if let Some(entity_id) = non_empty(&filter.entity_id) {
            b.push(" AND entity_id = ").push_bind(entity_id.to_string());
        }
        if let Some(q) = non_empty(&filter.q) {
            let pattern = format!("%{}%", q.replace(['%', '_'], ""));
            b.push(" AND (summary LIKE ").push_bind(pattern.clone());
            b.push(" OR COALESCE(before_json, '') LIKE ")
                .push_bind(pattern.clone());
            b.push(" OR COALESCE(after_json, '') LIKE ")
                .push_bind(pattern);
            b.push(")");
        }
        if let Some(from) = filter.from {
            b.push(" AND at >= ").push_bind(from);
        }
        if let Some(to) = filter.to {
            b.push(" AND at < ").push_bind(to);
        }
        b
    };
    let total: i64 = build("SELECT CAST(COUNT(*) AS BIGINT)")
        .build_scalar()
        .fetch_one(db.pool())
        .await?;
    let mut list = build(
        "SELECT id, at, actor_id, actor, action, entity, entity_id, summary, before_json, after_json",
    );
    list.push(" ORDER BY id DESC LIMIT ")
        .push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(db.pool()).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let at: i64 = row.try_get("at")?;
            let parse = |column: &str| -> Result<Option<serde_json::Value>, sqlx::Error> {
                let text: Option<String> = row.try_get(column)?;
                Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
            };
            Ok(AuditRecord {
                id: row.try_get("id")?,
                at,
                at_cst: crate::time::format_cst(at),
                actor_id: row.try_get("actor_id")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                entity: row.try_get("entity")?,
                entity_id: row.try_get("entity_id")?,
                summary: row.try_get("summary")?,
                before: parse("before_json")?,
                after: parse("after_json")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page::new(items, page, total))
}
