//! The registry's rules: who may read and change what (the role matrix plus street scoping), what a valid record
//! is, optimistic concurrency, and an audit entry (before → after) in the same transaction as every change.
//! No HTTP types here; the `seed_*` functions at the end let the demo generator create a district in bulk.

use kernel::audit::{self, AuditEntry};
use kernel::time::{cst_day, now_ts};
use kernel::{Action, AppError, AppResult, Db, Page, PageQuery, Principal, Role, validate};
use serde::Serialize;
use sqlx::AnyConnection;

use crate::model::*;
use crate::repo::{self, PointVisibility};

pub mod org_import;
pub mod setup;
pub mod workbook;

async fn conn(db: &Db) -> AppResult<sqlx::pool::PoolConnection<sqlx::Any>> {
    Ok(db.pool().acquire().await?)
}

fn today_cst() -> String {
    cst_day(now_ts()).format("%Y-%m-%d").to_string()
}

/// 409 when the client sent a version and it is not the stored one.
fn check_version(sent: Option<i64>, stored: i64) -> AppResult<i64> {
    match sent {
        Some(v) if v != stored => Err(AppError::Conflict(format!(
            "version: the record has changed (now version {stored}, you sent {v}); reload and try again"
        ))),
        _ => Ok(stored),
    }
}

fn stale() -> AppError {
    AppError::Conflict(
        "version: the record was changed by someone else meanwhile; reload and try again".into(),
    )
}

/// Whether the caller may see device passwords (they configure the gateway and the loggers).
pub fn sees_device_passwords(principal: &Principal) -> bool {
    matches!(principal.role, Role::Admin | Role::Monitoring)
}

// ---------------------------------------------------------------------------------------------------------------
// Streets and departments
// ---------------------------------------------------------------------------------------------------------------

pub async fn district(db: &Db, principal: &Principal) -> AppResult<Option<District>> {
    principal.require(crate::ORGANISATION, Action::Read)?;
    Ok(repo::district(&mut *conn(db).await?).await?)
}

pub async fn list_streets(db: &Db, principal: &Principal) -> AppResult<Vec<Street>> {
    principal.require(crate::ORGANISATION, Action::Read)?;
    Ok(repo::list_streets(&mut *conn(db).await?).await?)
}

pub async fn get_street(db: &Db, principal: &Principal, id: i64) -> AppResult<Street> {
    principal.require(crate::ORGANISATION, Action::Read)?;
    repo::get_street(&mut *conn(db).await?, id)
        .await?
        .ok_or_else(|| AppError::not_found("street not found"))
}

/// The district a street belongs to: the one named, or the only one there is.
async fn street_district(conn: &mut AnyConnection, named: Option<&str>) -> AppResult<String> {
    let codes = repo::district_codes(conn).await?;
    match named {
        Some(code) if codes.iter().any(|c| c == code) => Ok(code.to_string()),
        Some(_) => Err(AppError::validation("district_code", "no such district")),
        None => codes
            .into_iter()
            .next()
            .ok_or_else(|| AppError::validation("district_code", "no district is configured yet")),
    }
}

pub async fn create_street(
    db: &Db,
    principal: &Principal,
    input: &StreetInput,
) -> AppResult<Street> {
    principal.require(crate::ORGANISATION, Action::Create)?;
    let street = input.parse()?;
    let mut tx = db.begin_write().await?;
    let district = street_district(&mut tx, street.district_code.as_deref()).await?;
    let id = repo::insert_street(&mut tx, &street, &district, now_ts())
        .await
        .map_err(|e| duplicate(e, "code", "a street with this code or name already exists"))?;
    let created = repo::get_street(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("street"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "street", id)
            .summary(format!("新增街道 {}", created.name))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn update_street(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &StreetInput,
) -> AppResult<Street> {
    principal.require(crate::ORGANISATION, Action::Update)?;
    let street = input.parse()?;
    let mut tx = db.begin_write().await?;
    let before = repo::get_street(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("street not found"))?;
    let district = street_district(
        &mut tx,
        street
            .district_code
            .as_deref()
            .or(Some(&before.district_code)),
    )
    .await?;
    repo::update_street(&mut tx, id, &street, &district)
        .await
        .map_err(|e| duplicate(e, "code", "a street with this code or name already exists"))?;
    let after = repo::get_street(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("street"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "street", id)
            .summary(format!("修改街道 {}", after.name))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn list_departments(db: &Db, principal: &Principal) -> AppResult<Vec<Department>> {
    principal.require(crate::ORGANISATION, Action::Read)?;
    Ok(repo::list_departments(&mut *conn(db).await?).await?)
}

pub async fn get_department(db: &Db, principal: &Principal, id: i64) -> AppResult<Department> {
    principal.require(crate::ORGANISATION, Action::Read)?;
    repo::get_department(&mut *conn(db).await?, id)
        .await?
        .ok_or_else(|| AppError::not_found("department not found"))
}

pub async fn create_department(
    db: &Db,
    principal: &Principal,
    input: &DepartmentInput,
) -> AppResult<Department> {
    principal.require(crate::ORGANISATION, Action::Create)?;
    let department = input.parse()?;
    let mut tx = db.begin_write().await?;
    let id = repo::insert_department(&mut tx, &department, now_ts())
        .await
        .map_err(|e| duplicate(e, "code", "a department with this code already exists"))?;
    let created = repo::get_department(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("department"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "department", id)
            .summary(format!("新增部门 {}", created.name))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn update_department(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &DepartmentInput,
) -> AppResult<Department> {
    principal.require(crate::ORGANISATION, Action::Update)?;
    let department = input.parse()?;
    let mut tx = db.begin_write().await?;
    let before = repo::get_department(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("department not found"))?;
    repo::update_department(&mut tx, id, &department)
        .await
        .map_err(|e| duplicate(e, "code", "a department with this code already exists"))?;
    let after = repo::get_department(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("department"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "department", id)
            .summary(format!("修改部门 {}", after.name))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A unique violation becomes a 409 that names the field; anything else converts as usual.
fn duplicate(err: sqlx::Error, field: &str, message: &str) -> AppError {
    if kernel::db::is_unique_violation(&err) {
        AppError::Conflict(format!("{field}: {message}"))
    } else {
        err.into()
    }
}

async fn require_street_exists(
    conn: &mut AnyConnection,
    field: &str,
    street_id: i64,
) -> AppResult<()> {
    match repo::get_street(conn, street_id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::validation(
            field,
            format!("no street with id {street_id}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------------------------------------------

pub async fn list_enterprises(
    db: &Db,
    principal: &Principal,
    filter: &EnterpriseFilter,
    page: &PageQuery,
) -> AppResult<Page<Enterprise>> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    Ok(repo::list_enterprises(
        &mut *conn(db).await?,
        filter,
        principal.street_scope(),
        page,
    )
    .await?)
}

/// The enterprise if it exists and lies in the caller's street; 404 otherwise (never revealing which).
async fn visible_enterprise(
    conn: &mut AnyConnection,
    principal: &Principal,
    id: i64,
) -> AppResult<Enterprise> {
    let enterprise = repo::get_enterprise(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("enterprise not found"))?;
    principal.require_street(Some(enterprise.street_id), "企业")?;
    Ok(enterprise)
}

/// A connection for reading what hangs off enterprise `id`, once the caller may see that enterprise.
async fn enterprise_reader(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> AppResult<sqlx::pool::PoolConnection<sqlx::Any>> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    let mut conn = conn(db).await?;
    visible_enterprise(&mut conn, principal, id).await?;
    Ok(conn)
}

pub async fn get_enterprise(db: &Db, principal: &Principal, id: i64) -> AppResult<Enterprise> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    visible_enterprise(&mut *conn(db).await?, principal, id).await
}

/// A street officer may place a record only in their own street.
fn require_own_street(principal: &Principal, street_id: i64) -> AppResult<()> {
    match principal.street_scope() {
        Some(own) if own != street_id => Err(AppError::forbidden(
            "街道干部只能登记本街道的记录（street_id）",
        )),
        _ => Ok(()),
    }
}

pub async fn create_enterprise(
    db: &Db,
    principal: &Principal,
    input: &EnterpriseInput,
) -> AppResult<Enterprise> {
    principal.require(crate::ENTERPRISE, Action::Create)?;
    let draft = input.parse()?;
    require_own_street(principal, draft.street_id)?;
    let mut tx = db.begin_write().await?;
    let created = insert_enterprise(&mut tx, &draft, false, &principal.username).await?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "enterprise", created.id)
            .summary(format!("新增企业 {} ({})", created.name, created.uscc))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Checks the street and the USCC's uniqueness, stores the enterprise and its first status entry.
async fn insert_enterprise(
    conn: &mut AnyConnection,
    draft: &EnterpriseDraft,
    simulated: bool,
    actor: &str,
) -> AppResult<Enterprise> {
    require_street_exists(conn, "street_id", draft.street_id).await?;
    if repo::find_enterprise_by_uscc(conn, draft.uscc.as_str())
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "uscc: an enterprise with this unified social credit code is already registered".into(),
        ));
    }
    let now = now_ts();
    let status = draft.status.unwrap_or(EnterpriseStatus::Operating);
    let id = repo::insert_enterprise(conn, draft, status, simulated, now).await?;
    repo::insert_status(conn, id, status, &today_cst(), "登记", actor, now).await?;
    repo::get_enterprise(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("enterprise"))
}

pub async fn update_enterprise(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &EnterpriseInput,
) -> AppResult<Enterprise> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let mut tx = db.begin_write().await?;
    let before = visible_enterprise(&mut tx, principal, id).await?;
    let draft = input.parse()?;
    require_own_street(principal, draft.street_id)?;
    if let Some(status) = draft.status
        && status != before.status
    {
        return Err(AppError::validation(
            "status",
            "change the status with POST /api/v1/enterprises/{id}/status, which keeps the history",
        ));
    }
    let version = check_version(input.version, before.version)?;
    require_street_exists(&mut tx, "street_id", draft.street_id).await?;
    if let Some(other) = repo::find_enterprise_by_uscc(&mut tx, draft.uscc.as_str()).await?
        && other != id
    {
        return Err(AppError::Conflict(
            "uscc: another enterprise is registered with this unified social credit code".into(),
        ));
    }
    if !repo::update_enterprise(&mut tx, id, version, &draft, now_ts()).await? {
        return Err(stale());
    }
    let after = repo::get_enterprise(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("enterprise"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "enterprise", id)
            .summary(format!("修改企业 {}", after.name))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn change_status(
    db: &Db,
    principal: &Principal,
    id: i64,
    change: &StatusChange,
) -> AppResult<Enterprise> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let (effective_date, note) = change.parse()?;
    let mut tx = db.begin_write().await?;
    let before = visible_enterprise(&mut tx, principal, id).await?;
    let version = check_version(change.version, before.version)?;
    let now = now_ts();
    if !repo::set_enterprise_status(&mut tx, id, version, change.status, now).await? {
        return Err(stale());
    }
    repo::insert_status(
        &mut tx,
        id,
        change.status,
        &effective_date,
        &note,
        &principal.username,
        now,
    )
    .await?;
    let after = repo::get_enterprise(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("enterprise"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "status", "enterprise", id)
            .summary(format!(
                "企业 {} 状态 {} → {}（{} 起）",
                after.name,
                before.status.label(),
                after.status.label(),
                effective_date
            ))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn status_history(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> AppResult<Vec<StatusRecord>> {
    let mut conn = enterprise_reader(db, principal, id).await?;
    Ok(repo::status_history(&mut conn, id).await?)
}

pub async fn list_identifiers(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> AppResult<Vec<Identifier>> {
    let mut conn = enterprise_reader(db, principal, id).await?;
    Ok(repo::identifiers(&mut conn, id).await?)
}

pub async fn add_identifier(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &IdentifierInput,
) -> AppResult<Identifier> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let identifier = input.parse()?;
    let mut tx = db.begin_write().await?;
    let enterprise = visible_enterprise(&mut tx, principal, id).await?;
    let created = insert_identifier(&mut tx, id, &identifier).await?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "enterprise_identifier", created.id)
            .summary(format!(
                "企业 {} 登记{} {}",
                enterprise.name,
                created.program.label(),
                created.identifier
            ))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Removes an identifier registered by mistake (it would otherwise block the right enterprise from it).
/// Changing an enterprise's links is an update of the enterprise, so the update right suffices.
pub async fn remove_identifier(
    db: &Db,
    principal: &Principal,
    id: i64,
    identifier_id: i64,
) -> AppResult<Identifier> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let mut tx = db.begin_write().await?;
    let enterprise = visible_enterprise(&mut tx, principal, id).await?;
    let removed = repo::delete_identifier(&mut tx, id, identifier_id)
        .await?
        .ok_or_else(|| AppError::not_found("identifier not found"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "delete", "enterprise_identifier", removed.id)
            .summary(format!(
                "企业 {} 删除{} {}",
                enterprise.name,
                removed.program.label(),
                removed.identifier
            ))
            .before(&removed),
    )
    .await?;
    tx.commit().await?;
    Ok(removed)
}

async fn insert_identifier(
    conn: &mut AnyConnection,
    enterprise_id: i64,
    identifier: &IdentifierInput,
) -> AppResult<Identifier> {
    repo::insert_identifier(conn, enterprise_id, identifier, now_ts())
        .await
        .map_err(|e| {
            duplicate(
                e,
                "identifier",
                "this identifier is already registered for an enterprise in this program",
            )
        })
}

/// The program names [`lookup`] accepts besides [`Program`]'s.
pub const LOOKUP_USCC: &str = "uscc";
pub const LOOKUP_DEVICE_MN: &str = "device_mn";

/// Finds the enterprise holding `identifier` in `program` (`uscc`, `device_mn` or a [`Program`]).
pub async fn lookup(
    db: &Db,
    principal: &Principal,
    program: &str,
    identifier: &str,
) -> AppResult<Enterprise> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    let identifier = identifier.trim();
    if identifier.is_empty() {
        return Err(AppError::validation("identifier", "is required"));
    }
    let mut conn = conn(db).await?;
    let found = match program.trim() {
        LOOKUP_USCC => {
            repo::find_enterprise_by_uscc(&mut conn, &identifier.to_ascii_uppercase()).await?
        }
        LOOKUP_DEVICE_MN => repo::enterprise_by_device_mn(&mut conn, identifier).await?,
        other => {
            let program = other.parse::<Program>().map_err(|_| {
                AppError::validation(
                    "program",
                    format!(
                        "must be one of {LOOKUP_USCC}, {LOOKUP_DEVICE_MN}, {}",
                        Program::texts().join(", ")
                    ),
                )
            })?;
            repo::enterprise_by_identifier(&mut conn, program, &identifier.to_ascii_uppercase())
                .await?
        }
    };
    let id = found.ok_or_else(|| AppError::not_found("no enterprise holds this identifier"))?;
    visible_enterprise(&mut conn, principal, id).await
}

pub async fn list_sites(db: &Db, principal: &Principal, id: i64) -> AppResult<Vec<Site>> {
    let mut conn = enterprise_reader(db, principal, id).await?;
    Ok(repo::sites(&mut conn, id).await?)
}

pub async fn add_site(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &SiteInput,
) -> AppResult<Site> {
    save_site(db, principal, id, None, input).await
}

/// Replaces a site's fields; a site without `street_id` lies in the enterprise's street.
pub async fn update_site(
    db: &Db,
    principal: &Principal,
    id: i64,
    site_id: i64,
    input: &SiteInput,
) -> AppResult<Site> {
    save_site(db, principal, id, Some(site_id), input).await
}

/// Creates (`site_id` = `None`) or updates a site of enterprise `id`.
async fn save_site(
    db: &Db,
    principal: &Principal,
    id: i64,
    site_id: Option<i64>,
    input: &SiteInput,
) -> AppResult<Site> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let site = input.parse()?;
    let mut tx = db.begin_write().await?;
    let enterprise = visible_enterprise(&mut tx, principal, id).await?;
    let street_id = site.street_id.unwrap_or(enterprise.street_id);
    require_own_street(principal, street_id)?;
    require_street_exists(&mut tx, "street_id", street_id).await?;
    let now = now_ts();
    let (saved, entry) = match site_id {
        None => {
            let created = repo::insert_site(&mut tx, id, &site, street_id, now).await?;
            let entry = AuditEntry::by(principal, "create", "site", created.id)
                .summary(format!(
                    "企业 {} 新增厂区 {}",
                    enterprise.name, created.name
                ))
                .after(&created);
            (created, entry)
        }
        Some(site_id) => {
            let before = repo::sites(&mut tx, id)
                .await?
                .into_iter()
                .find(|s| s.id == site_id)
                .ok_or_else(|| AppError::not_found("site not found"))?;
            let after = repo::update_site(&mut tx, site_id, &site, street_id)
                .await?
                .ok_or_else(|| AppError::not_found("site not found"))?;
            let entry = AuditEntry::by(principal, "update", "site", site_id)
                .summary(format!("企业 {} 修改厂区 {}", enterprise.name, after.name))
                .before(&before)
                .after(&after);
            (after, entry)
        }
    };
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn list_outlets(db: &Db, principal: &Principal, id: i64) -> AppResult<Vec<Outlet>> {
    let mut conn = enterprise_reader(db, principal, id).await?;
    Ok(repo::outlets(&mut conn, id).await?)
}

/// Outlets with their enterprise, for pickers: matching `filter`, in the caller's street.
pub async fn search_outlets(
    db: &Db,
    principal: &Principal,
    filter: &OutletFilter,
    page: &PageQuery,
) -> AppResult<Page<OutletChoice>> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    Ok(repo::search_outlets(
        &mut *conn(db).await?,
        filter,
        principal.street_scope(),
        page,
    )
    .await?)
}

// ---------------------------------------------------------------------------------------------------------------
// Choosing by name (pickers)
// ---------------------------------------------------------------------------------------------------------------

/// What a form's picker sent: the id its list filled in (the browser chose an entry), else the text typed.
#[derive(Debug, Clone, Default)]
pub struct Picked {
    /// The hidden id field.
    pub id: Option<String>,
    /// The visible text field: a name, a code, a USCC or the list's label.
    pub text: Option<String>,
}

impl Picked {
    pub fn new(id: Option<String>, text: Option<String>) -> Picked {
        let clean = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Picked {
            id: clean(id),
            text: clean(text),
        }
    }

    /// The id the browser filled in, when it is a number.
    fn id(&self, field: &str) -> AppResult<Option<i64>> {
        self.id
            .as_deref()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| AppError::validation(field, "请从列表中选择"))
            })
            .transpose()
    }

    /// The searches that find what was typed: the whole text, then its parts (a label `编号 名称` or
    /// `企业 · 编号 名称` is not a substring of any one column).
    fn queries(&self) -> Vec<String> {
        let Some(text) = &self.text else {
            return Vec::new();
        };
        let mut out = vec![text.clone()];
        for part in text.split([' ', '·', '　']).filter(|p| !p.is_empty()) {
            if !out.iter().any(|q| q == part) && out.len() < 4 {
                out.push(part.to_string());
            }
        }
        out
    }
}

/// The one candidate whose keys (its label first, then name, code …) equal the typed text, or else the only
/// candidate the searches found at all; a Chinese message naming `what` (and, when several fit, the first
/// few by label, so that a browser without the script can still tell them apart) otherwise.
fn the_one<T>(
    field: &str,
    what: &str,
    text: &str,
    candidates: Vec<T>,
    id: impl Fn(&T) -> i64,
    keys: impl Fn(&T) -> Vec<String>,
) -> AppResult<i64> {
    let mut unique: Vec<(i64, Vec<String>)> = Vec::new();
    for c in &candidates {
        if !unique.iter().any(|(i, _)| *i == id(c)) {
            unique.push((id(c), keys(c)));
        }
    }
    let exact: Vec<i64> = unique
        .iter()
        .filter(|(_, keys)| keys.iter().any(|k| k == text))
        .map(|(i, _)| *i)
        .collect();
    match (exact.as_slice(), unique.as_slice()) {
        ([one], _) | ([], [(one, _)]) => Ok(*one),
        ([], []) => Err(AppError::validation(
            field,
            format!("没有找到“{text}”对应的{what}，请输入名称后从列表中选择"),
        )),
        _ => {
            let shown: Vec<&str> = unique
                .iter()
                .filter_map(|(_, keys)| keys.first().map(String::as_str))
                .take(5)
                .collect();
            Err(AppError::validation(
                field,
                format!(
                    "“{text}”对应多个{what}（{}{}），请从列表中选择或输入完整名称",
                    shown.join("、"),
                    if unique.len() > shown.len() {
                        "等"
                    } else {
                        ""
                    }
                ),
            ))
        }
    }
}

/// How many candidates each search of a picker's text considers.
const PICK_CANDIDATES: u32 = 50;

fn pick_page() -> PageQuery {
    PageQuery {
        page: Some(1),
        per_page: Some(PICK_CANDIDATES),
    }
}

/// The record a picker's hidden id names, when it still matches the text beside it (without the script the id
/// of an edit form stays while the text is changed: the text wins then). `Ok(None)`: resolve the text.
fn chosen<T>(
    field: &str,
    what: &str,
    picked: &Picked,
    found: AppResult<T>,
    keys: impl Fn(&T) -> Vec<String>,
) -> AppResult<Option<T>> {
    match found {
        Ok(record) => {
            let matches = picked
                .text
                .as_deref()
                .is_none_or(|text| keys(&record).iter().any(|k| k == text));
            Ok(matches.then_some(record))
        }
        Err(AppError::NotFound(_) | AppError::Forbidden(_)) if picked.text.is_none() => Err(
            AppError::validation(field, format!("所选{what}不存在或不在您的辖区")),
        ),
        Err(AppError::NotFound(_) | AppError::Forbidden(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn enterprise_keys(e: &Enterprise) -> Vec<String> {
    vec![e.name.clone(), e.uscc.clone()]
}

fn point_keys(p: &MonitoringPoint) -> Vec<String> {
    vec![p.picker_label(), p.code.clone(), p.name.clone()]
}

fn outlet_keys(o: &OutletChoice) -> Vec<String> {
    vec![o.label.clone(), o.code.clone(), o.name.clone()]
}

/// A kind of record a picker chooses: what it is called, its id, and the keys its picker text may be.
type PickKind<'a, T> = (&'a str, fn(&T) -> i64, fn(&T) -> Vec<String>);

/// Resolves a picker to one record of a kind (`what`, its id and the keys its text may be): the hidden id when
/// it still matches the text, else the one candidate the text's searches find.
async fn pick<T, Found, Searched>(
    field: &str,
    picked: &Picked,
    (what, id_of, keys): PickKind<'_, T>,
    by_id: impl FnOnce(i64) -> Found,
    search: impl Fn(String) -> Searched,
) -> AppResult<Option<i64>>
where
    Found: Future<Output = AppResult<T>>,
    Searched: Future<Output = AppResult<Vec<T>>>,
{
    if let Some(id) = picked.id(field)?
        && let Some(record) = chosen(field, what, picked, by_id(id).await, keys)?
    {
        return Ok(Some(id_of(&record)));
    }
    let Some(text) = picked.text.as_deref() else {
        return Ok(None);
    };
    let mut candidates = Vec::new();
    for q in picked.queries() {
        candidates.extend(search(q).await?);
    }
    the_one(field, what, text, candidates, id_of, keys).map(Some)
}

/// The enterprise a picker names (by id, or by name or USCC), among those the caller may see; `None` when
/// the picker is empty.
pub async fn pick_enterprise(
    db: &Db,
    principal: &Principal,
    field: &str,
    picked: &Picked,
) -> AppResult<Option<i64>> {
    pick(
        field,
        picked,
        ("企业", |e: &Enterprise| e.id, enterprise_keys),
        |id| get_enterprise(db, principal, id),
        move |q| async move {
            let filter = EnterpriseFilter {
                q: Some(q),
                ..Default::default()
            };
            Ok(list_enterprises(db, principal, &filter, &pick_page())
                .await?
                .items)
        },
    )
    .await
}

/// The monitoring point a picker names (by id, or by `编号 名称`, code or name), among those the caller may
/// see; `None` when the picker is empty.
pub async fn pick_point(
    db: &Db,
    principal: &Principal,
    field: &str,
    picked: &Picked,
) -> AppResult<Option<i64>> {
    pick(
        field,
        picked,
        ("监测点位", |p: &MonitoringPoint| p.id, point_keys),
        |id| get_point(db, principal, id),
        move |q| async move {
            let filter = PointFilter {
                q: Some(q),
                ..Default::default()
            };
            Ok(list_points(db, principal, &filter, &pick_page())
                .await?
                .items)
        },
    )
    .await
}

/// One outlet with its enterprise, if the caller may see it.
pub async fn outlet_choice(db: &Db, principal: &Principal, id: i64) -> AppResult<OutletChoice> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    let mut conn = conn(db).await?;
    let outlet = repo::get_outlet(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("outlet not found"))?;
    let enterprise = visible_enterprise(&mut conn, principal, outlet.enterprise_id).await?;
    Ok(OutletChoice {
        id: outlet.id,
        label: OutletChoice::label_of(&enterprise.name, &outlet.code, &outlet.name),
        code: outlet.code,
        name: outlet.name,
        medium: outlet.medium,
        enterprise_id: enterprise.id,
        enterprise_name: enterprise.name,
        online_monitored: outlet.online_monitored,
    })
}

/// The outlet a picker names (by id, or by `企业 · 编号 名称`), among those the caller may see; `None` when
/// the picker is empty.
pub async fn pick_outlet(
    db: &Db,
    principal: &Principal,
    field: &str,
    picked: &Picked,
) -> AppResult<Option<i64>> {
    pick(
        field,
        picked,
        ("排放口", |o: &OutletChoice| o.id, outlet_keys),
        |id| outlet_choice(db, principal, id),
        move |q| async move {
            let filter = OutletFilter {
                q: Some(q),
                ..Default::default()
            };
            Ok(search_outlets(db, principal, &filter, &pick_page())
                .await?
                .items)
        },
    )
    .await
}

pub async fn add_outlet(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &OutletInput,
) -> AppResult<Outlet> {
    save_outlet(db, principal, id, None, input).await
}

pub async fn update_outlet(
    db: &Db,
    principal: &Principal,
    id: i64,
    outlet_id: i64,
    input: &OutletInput,
) -> AppResult<Outlet> {
    save_outlet(db, principal, id, Some(outlet_id), input).await
}

/// Creates (`outlet_id` = `None`) or updates an outlet of enterprise `id`.
async fn save_outlet(
    db: &Db,
    principal: &Principal,
    id: i64,
    outlet_id: Option<i64>,
    input: &OutletInput,
) -> AppResult<Outlet> {
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let outlet = input.parse()?;
    let mut tx = db.begin_write().await?;
    let enterprise = visible_enterprise(&mut tx, principal, id).await?;
    let (saved, entry) = match outlet_id {
        None => {
            let created = insert_outlet(&mut tx, id, &outlet).await?;
            let entry = AuditEntry::by(principal, "create", "outlet", created.id)
                .summary(format!(
                    "企业 {} 新增排放口 {}",
                    enterprise.name, created.code
                ))
                .after(&created);
            (created, entry)
        }
        Some(outlet_id) => {
            let before = repo::get_outlet(&mut tx, outlet_id)
                .await?
                .filter(|o| o.enterprise_id == id)
                .ok_or_else(|| AppError::not_found("outlet not found"))?;
            check_site(&mut tx, id, outlet.site_id).await?;
            let after = repo::update_outlet(&mut tx, outlet_id, &outlet)
                .await
                .map_err(|e| {
                    duplicate(
                        e,
                        "code",
                        "this enterprise already has an outlet with this code",
                    )
                })?
                .ok_or_else(|| AppError::not_found("outlet not found"))?;
            let entry = AuditEntry::by(principal, "update", "outlet", outlet_id)
                .summary(format!(
                    "企业 {} 修改排放口 {}",
                    enterprise.name, after.code
                ))
                .before(&before)
                .after(&after);
            (after, entry)
        }
    };
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(saved)
}

/// 422 unless `site_id` (when given) is a site of the enterprise.
async fn check_site(
    conn: &mut AnyConnection,
    enterprise_id: i64,
    site_id: Option<i64>,
) -> AppResult<()> {
    if let Some(site_id) = site_id
        && !repo::sites(conn, enterprise_id)
            .await?
            .iter()
            .any(|s| s.id == site_id)
    {
        return Err(AppError::validation(
            "site_id",
            "is not a site of this enterprise",
        ));
    }
    Ok(())
}

async fn insert_outlet(
    conn: &mut AnyConnection,
    enterprise_id: i64,
    outlet: &OutletInput,
) -> AppResult<Outlet> {
    check_site(conn, enterprise_id, outlet.site_id).await?;
    repo::insert_outlet(conn, enterprise_id, outlet, now_ts())
        .await
        .map_err(|e| {
            duplicate(
                e,
                "code",
                "this enterprise already has an outlet with this code",
            )
        })
}

/// The ECHO-style profile: the enterprise and every record and identifier that links to it.
pub async fn profile(db: &Db, principal: &Principal, id: i64) -> AppResult<EnterpriseProfile> {
    principal.require(crate::ENTERPRISE, Action::Read)?;
    let mut conn = conn(db).await?;
    let enterprise = visible_enterprise(&mut conn, principal, id).await?;
    let street = repo::get_street(&mut conn, enterprise.street_id)
        .await?
        .ok_or_else(|| AppError::not_found("street"))?;
    let registered = repo::identifiers(&mut conn, id).await?;
    let devices = repo::devices_of_enterprise(&mut conn, id).await?;
    let mut identifiers: Vec<ProgramIdentifier> = vec![ProgramIdentifier {
        id: None,
        program: LOOKUP_USCC.to_string(),
        program_label: "统一社会信用代码".to_string(),
        identifier: enterprise.uscc.clone(),
        note: String::new(),
        source: "registered".to_string(),
    }];
    identifiers.extend(registered.into_iter().map(|i| ProgramIdentifier {
        id: Some(i.id),
        program: i.program.as_str().to_string(),
        program_label: i.program.label().to_string(),
        identifier: i.identifier,
        note: i.note,
        source: "registered".to_string(),
    }));
    identifiers.extend(devices.iter().map(|d| ProgramIdentifier {
        id: None,
        program: LOOKUP_DEVICE_MN.to_string(),
        program_label: "在线监测设备 MN".to_string(),
        identifier: d.mn.clone(),
        note: d.point_name.clone(),
        source: "derived".to_string(),
    }));
    let devices = if principal.can(crate::DEVICE, Action::Read) {
        devices.into_iter().map(Device::masked).collect()
    } else {
        Vec::new()
    };
    Ok(EnterpriseProfile {
        street,
        status_history: repo::status_history(&mut conn, id).await?,
        identifiers,
        sites: repo::sites(&mut conn, id).await?,
        outlets: repo::outlets(&mut conn, id).await?,
        points: repo::points_of_enterprise(&mut conn, id).await?,
        devices,
        enterprise,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring points
// ---------------------------------------------------------------------------------------------------------------

fn point_visibility(principal: &Principal) -> PointVisibility {
    if principal.is_public() {
        PointVisibility::PublicKinds
    } else if let Some(street) = principal.street_scope() {
        PointVisibility::PublicKindsAndStreet(street)
    } else {
        PointVisibility::All
    }
}

/// Air stations and water sections are public; outlet points are enterprise data and follow street scoping.
fn sees_point(principal: &Principal, point: &MonitoringPoint) -> bool {
    match point_visibility(principal) {
        PointVisibility::All => true,
        PointVisibility::PublicKinds => point.kind.is_public(),
        PointVisibility::PublicKindsAndStreet(street) => {
            point.kind.is_public() || point.street_id == Some(street)
        }
    }
}

pub async fn list_points(
    db: &Db,
    principal: &Principal,
    filter: &PointFilter,
    page: &PageQuery,
) -> AppResult<Page<MonitoringPoint>> {
    principal.require(crate::MONITORING_POINT, Action::Read)?;
    Ok(repo::list_points(
        &mut *conn(db).await?,
        filter,
        point_visibility(principal),
        page,
    )
    .await?)
}

async fn visible_point(
    conn: &mut AnyConnection,
    principal: &Principal,
    id: i64,
) -> AppResult<MonitoringPoint> {
    repo::get_point(conn, id)
        .await?
        .filter(|p| sees_point(principal, p))
        .ok_or_else(|| AppError::not_found("monitoring point not found"))
}

pub async fn get_point(db: &Db, principal: &Principal, id: i64) -> AppResult<MonitoringPoint> {
    principal.require(crate::MONITORING_POINT, Action::Read)?;
    visible_point(&mut *conn(db).await?, principal, id).await
}

/// Checks the references of a parsed point; an outlet point takes its enterprise's street.
async fn resolve_point(conn: &mut AnyConnection, mut point: PointInput) -> AppResult<PointInput> {
    if let Some(outlet_id) = point.outlet_id {
        let outlet = repo::get_outlet(conn, outlet_id).await?.ok_or_else(|| {
            AppError::validation("outlet_id", format!("no outlet with id {outlet_id}"))
        })?;
        let enterprise = repo::get_enterprise(conn, outlet.enterprise_id)
            .await?
            .ok_or_else(|| {
                AppError::validation("outlet_id", "the outlet's enterprise is missing")
            })?;
        point.street_id = Some(enterprise.street_id);
    } else if let Some(street_id) = point.street_id {
        require_street_exists(conn, "street_id", street_id).await?;
    }
    Ok(point)
}

pub async fn create_point(
    db: &Db,
    principal: &Principal,
    input: &PointInput,
) -> AppResult<MonitoringPoint> {
    principal.require(crate::MONITORING_POINT, Action::Create)?;
    let point = input.parse()?;
    let mut tx = db.begin_write().await?;
    let created = insert_point(&mut tx, point, false).await?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "monitoring_point", created.id)
            .summary(format!("新增监测点位 {} {}", created.code, created.name))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

async fn insert_point(
    conn: &mut AnyConnection,
    point: PointInput,
    simulated: bool,
) -> AppResult<MonitoringPoint> {
    let point = resolve_point(conn, point).await?;
    let id = repo::insert_point(conn, &point, simulated, now_ts())
        .await
        .map_err(|e| {
            duplicate(
                e,
                "code",
                "a monitoring point with this code already exists",
            )
        })?;
    repo::get_point(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("monitoring point"))
}

pub async fn update_point(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &PointInput,
) -> AppResult<MonitoringPoint> {
    principal.require(crate::MONITORING_POINT, Action::Update)?;
    let point = input.parse()?;
    let mut tx = db.begin_write().await?;
    let before = visible_point(&mut tx, principal, id).await?;
    let version = check_version(input.version, before.version)?;
    let point = resolve_point(&mut tx, point).await?;
    let changed = repo::update_point(&mut tx, id, version, &point, now_ts())
        .await
        .map_err(|e| {
            duplicate(
                e,
                "code",
                "a monitoring point with this code already exists",
            )
        })?;
    if !changed {
        return Err(stale());
    }
    let after = repo::get_point(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("monitoring point"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "monitoring_point", id)
            .summary(format!("修改监测点位 {} {}", after.code, after.name))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Registers a point another area met and the registry does not know (a station of an imported file, a
/// simulated logger), in its own transaction; see [`register_point_in`].
pub async fn register_point(
    db: &Db,
    actor: &str,
    point: &PointRegistration,
) -> AppResult<MonitoringPoint> {
    let mut tx = db.begin_write().await?;
    let registered = register_point_in(&mut tx, actor, point).await?;
    tx.commit().await?;
    Ok(registered)
}

/// Registers a point in the caller's transaction: checked as [`PointRegistration::parse`] says, the code
/// unique, the street existing, with an audit entry by `actor` (a command or a worker: no user) in the same
/// transaction.
pub async fn register_point_in(
    conn: &mut AnyConnection,
    actor: &str,
    point: &PointRegistration,
) -> AppResult<MonitoringPoint> {
    let input = point.parse()?;
    let registered = insert_point(conn, input, point.simulated).await?;
    audit::record(
        conn,
        &AuditEntry::system(actor, "create", "monitoring_point", registered.id)
            .summary(format!(
                "登记监测点位 {} {}",
                registered.code, registered.name
            ))
            .after(&registered),
    )
    .await?;
    Ok(registered)
}

// ---------------------------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------------------------

fn shown(principal: &Principal, device: Device) -> Device {
    if sees_device_passwords(principal) {
        device
    } else {
        device.masked()
    }
}

pub async fn list_devices(
    db: &Db,
    principal: &Principal,
    filter: &DeviceFilter,
    page: &PageQuery,
) -> AppResult<Page<Device>> {
    principal.require(crate::DEVICE, Action::Read)?;
    let page = repo::list_devices(&mut *conn(db).await?, filter, page).await?;
    Ok(page.map(|d| shown(principal, d)))
}

pub async fn get_device(db: &Db, principal: &Principal, id: i64) -> AppResult<Device> {
    principal.require(crate::DEVICE, Action::Read)?;
    let device = repo::get_device(&mut *conn(db).await?, id)
        .await?
        .ok_or_else(|| AppError::not_found("device not found"))?;
    Ok(shown(principal, device))
}

pub async fn create_device(
    db: &Db,
    principal: &Principal,
    input: &DeviceInput,
) -> AppResult<Device> {
    principal.require(crate::DEVICE, Action::Create)?;
    let draft = input.parse()?;
    let mut tx = db.begin_write().await?;
    let created = insert_device(&mut tx, &draft).await?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "device", created.id)
            .summary(format!(
                "新增设备 MN {}（点位 {}）",
                created.mn, created.point_name
            ))
            // Passwords stay out of the audit log.
            .after(&created.clone().masked()),
    )
    .await?;
    tx.commit().await?;
    Ok(shown(principal, created))
}

/// Registers the device of a simulated data logger (`qingshan simulate`) in the caller's transaction, with an
/// audit entry by `actor`. The simulator's MNs (`QS-SIM-0001`…) carry hyphens, which keep them apart from any
/// real logger's MN (letters and digits, as the API checks) and which the API therefore refuses; everything
/// else is checked as the API checks it.
pub async fn register_simulated_device_in(
    conn: &mut AnyConnection,
    actor: &str,
    input: &DeviceInput,
) -> AppResult<Device> {
    let without_hyphens = DeviceInput {
        mn: input.mn.replace('-', ""),
        ..input.clone()
    };
    let draft = DeviceDraft {
        mn: validate::required("mn", &input.mn, 24)?,
        ..without_hyphens.parse()?
    };
    let created = insert_device(conn, &draft).await?;
    audit::record(
        conn,
        &AuditEntry::system(actor, "create", "device", created.id)
            .summary(format!(
                "登记模拟设备 MN {}（点位 {}）",
                created.mn, created.point_name
            ))
            // Passwords stay out of the audit log.
            .after(&created.clone().masked()),
    )
    .await?;
    Ok(created)
}

async fn insert_device(conn: &mut AnyConnection, draft: &DeviceDraft) -> AppResult<Device> {
    let password = draft
        .password
        .as_deref()
        .ok_or_else(|| AppError::validation("password", "is required for a new device"))?;
    if repo::get_point(conn, draft.point_id).await?.is_none() {
        return Err(AppError::validation(
            "point_id",
            format!("no monitoring point with id {}", draft.point_id),
        ));
    }
    let id = repo::insert_device(conn, draft, password, now_ts())
        .await
        .map_err(|e| duplicate(e, "mn", "a device with this MN is already registered"))?;
    repo::get_device(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("device"))
}

pub async fn update_device(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &DeviceInput,
) -> AppResult<Device> {
    principal.require(crate::DEVICE, Action::Update)?;
    let draft = input.parse()?;
    let mut tx = db.begin_write().await?;
    let before = repo::get_device(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("device not found"))?;
    let version = check_version(input.version, before.version)?;
    if repo::get_point(&mut tx, draft.point_id).await?.is_none() {
        return Err(AppError::validation(
            "point_id",
            format!("no monitoring point with id {}", draft.point_id),
        ));
    }
    let password = draft
        .password
        .clone()
        .unwrap_or_else(|| before.password.clone());
    let changed = repo::update_device(&mut tx, id, version, &draft, &password, now_ts())
        .await
        .map_err(|e| duplicate(e, "mn", "a device with this MN is already registered"))?;
    if !changed {
        return Err(stale());
    }
    let after = repo::get_device(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("device"))?;
    let password_note = if after.password != before.password {
        "，已更换密码"
    } else {
        ""
    };
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "device", id)
            .summary(format!("修改设备 MN {}{password_note}", after.mn))
            .before(&before.clone().masked())
            .after(&after.clone().masked()),
    )
    .await?;
    tx.commit().await?;
    Ok(shown(principal, after))
}

// ---------------------------------------------------------------------------------------------------------------
// Reads for other areas
// ---------------------------------------------------------------------------------------------------------------
//
// Other areas read the registry's records through these functions, never its tables. They take no principal:
// the calling area decides what its caller may see of them (street scoping, the public's point kinds), as it
// did when it read the tables itself. Lists come in id order. The `…_in` functions run in the caller's
// transaction, for checks made while it writes.

/// The district of this installation (there is one), if it has been set up.
pub async fn the_district(db: &Db) -> AppResult<Option<District>> {
    Ok(repo::district(&mut *conn(db).await?).await?)
}

/// Every street, by id.
pub async fn streets(db: &Db) -> AppResult<Vec<Street>> {
    streets_in(&mut *conn(db).await?).await
}

pub async fn streets_in(conn: &mut AnyConnection) -> AppResult<Vec<Street>> {
    Ok(repo::streets_by_id(conn).await?)
}

/// The street with this name or code (command-line arguments, import files).
pub async fn find_street(db: &Db, name_or_code: &str) -> AppResult<Option<Street>> {
    Ok(repo::find_street(&mut *conn(db).await?, name_or_code).await?)
}

pub async fn street_exists_in(conn: &mut AnyConnection, id: i64) -> AppResult<bool> {
    Ok(repo::get_street(conn, id).await?.is_some())
}

/// Every department and external agency, by id.
pub async fn departments(db: &Db) -> AppResult<Vec<Department>> {
    departments_in(&mut *conn(db).await?).await
}

pub async fn departments_in(conn: &mut AnyConnection) -> AppResult<Vec<Department>> {
    Ok(repo::departments_by_id(conn).await?)
}

pub async fn department_exists_in(conn: &mut AnyConnection, id: i64) -> AppResult<bool> {
    Ok(repo::get_department(conn, id).await?.is_some())
}

/// Every enterprise, by id.
pub async fn enterprises(db: &Db) -> AppResult<Vec<Enterprise>> {
    Ok(repo::all_enterprises(&mut *conn(db).await?).await?)
}

/// The enterprises with these ids (unknown ids are left out), by id.
pub async fn enterprises_by_ids(db: &Db, ids: &[i64]) -> AppResult<Vec<Enterprise>> {
    enterprises_by_ids_in(&mut *conn(db).await?, ids).await
}

pub async fn enterprises_by_ids_in(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> AppResult<Vec<Enterprise>> {
    Ok(repo::enterprises_by_ids(conn, ids).await?)
}

pub async fn enterprise_in(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Enterprise>> {
    Ok(repo::get_enterprise(conn, id).await?)
}

/// The ids of a street's enterprises: for an area filtering its own records (alarms, leads) by street.
pub async fn enterprise_ids_of_street(db: &Db, street_id: i64) -> AppResult<Vec<i64>> {
    Ok(repo::enterprise_ids_of_street(&mut *conn(db).await?, street_id).await?)
}

pub async fn outlet(db: &Db, id: i64) -> AppResult<Option<Outlet>> {
    Ok(repo::get_outlet(&mut *conn(db).await?, id).await?)
}

/// The outlets with these ids (unknown ids are left out), by id.
pub async fn outlets_by_ids(db: &Db, ids: &[i64]) -> AppResult<Vec<Outlet>> {
    Ok(repo::outlets_by_ids(&mut *conn(db).await?, ids).await?)
}

pub async fn point(db: &Db, id: i64) -> AppResult<Option<MonitoringPoint>> {
    Ok(repo::get_point(&mut *conn(db).await?, id).await?)
}

pub async fn point_by_code(db: &Db, code: &str) -> AppResult<Option<MonitoringPoint>> {
    Ok(repo::point_by_code(&mut *conn(db).await?, code).await?)
}

/// Every monitoring point, active or not, by id.
pub async fn points(db: &Db) -> AppResult<Vec<MonitoringPoint>> {
    Ok(repo::all_points(&mut *conn(db).await?).await?)
}

/// The points with these ids (unknown ids are left out), by id.
pub async fn points_by_ids(db: &Db, ids: &[i64]) -> AppResult<Vec<MonitoringPoint>> {
    Ok(repo::points_by_ids(&mut *conn(db).await?, ids).await?)
}

/// The active points of one kind, by id.
pub async fn active_points(db: &Db, kind: PointKind) -> AppResult<Vec<MonitoringPoint>> {
    Ok(repo::active_points(&mut *conn(db).await?, kind).await?)
}

/// Active outlet points linked to a registered outlet, with the outlet's medium and its enterprise.
pub async fn monitored_outlets(db: &Db) -> AppResult<Vec<MonitoredOutlet>> {
    Ok(repo::monitored_outlets(&mut *conn(db).await?).await?)
}

/// Every device with its password (the gateway checks it), by id.
pub async fn devices(db: &Db) -> AppResult<Vec<Device>> {
    Ok(repo::all_devices(&mut *conn(db).await?).await?)
}

pub async fn device_by_mn(db: &Db, mn: &str) -> AppResult<Option<Device>> {
    Ok(repo::device_by_mn(&mut *conn(db).await?, mn).await?)
}

pub async fn device_in(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Device>> {
    Ok(repo::get_device(conn, id).await?)
}

/// The ids of the devices feeding a point.
pub async fn device_ids_of_point(db: &Db, point_id: i64) -> AppResult<Vec<i64>> {
    Ok(repo::device_ids_of_point(&mut *conn(db).await?, point_id).await?)
}

/// How many streets, enterprises, outlets, points and devices there are.
pub async fn counts(db: &Db) -> AppResult<RegistryCounts> {
    Ok(repo::counts(&mut *conn(db).await?).await?)
}

/// Per street: its enterprises, key dischargers, air stations and water sections.
pub async fn street_counts(db: &Db) -> AppResult<Vec<StreetCounts>> {
    Ok(repo::street_counts(&mut *conn(db).await?).await?)
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk creation for the demo generator (and future importers)
// ---------------------------------------------------------------------------------------------------------------

/// An enterprise with everything that hangs off it, for [`seed_enterprises`].
#[derive(Debug, Clone, Default)]
pub struct SeedEnterprise {
    pub enterprise: EnterpriseInput,
    pub identifiers: Vec<IdentifierInput>,
    pub sites: Vec<SiteInput>,
    /// Outlets; `site_index` points into `sites` (their ids are not known before the call).
    pub outlets: Vec<SeedOutlet>,
}

#[derive(Debug, Clone)]
pub struct SeedOutlet {
    pub site_index: Option<usize>,
    pub outlet: OutletInput,
}

/// The ids [`seed_enterprises`] created for one enterprise, in the order of the input.
#[derive(Debug, Clone, Serialize)]
pub struct SeededEnterprise {
    pub id: i64,
    pub site_ids: Vec<i64>,
    pub outlet_ids: Vec<i64>,
}

/// Prefixes a field error with the position of the record in a batch, e.g. `enterprises[3].uscc`.
fn in_batch(kind: &'static str, index: usize) -> impl Fn(AppError) -> AppError {
    move |err| match err {
        AppError::Validation { field, message } => AppError::Validation {
            field: format!("{kind}[{index}].{field}"),
            message,
        },
        AppError::Conflict(message) => AppError::Conflict(format!("{kind}[{index}].{message}")),
        other => other,
    }
}

async fn record_batch(
    conn: &mut AnyConnection,
    actor: &str,
    entity: &str,
    ids: &[i64],
    summary: String,
) -> AppResult<()> {
    let entry = AuditEntry::system(actor, "create", entity, "batch")
        .summary(summary)
        .after(&serde_json::json!({ "count": ids.len(), "ids": ids }));
    audit::record(conn, &entry).await?;
    Ok(())
}

/// Creates or replaces the district (there is one per installation).
pub async fn seed_district(
    conn: &mut AnyConnection,
    actor: &str,
    district: &District,
) -> AppResult<()> {
    repo::upsert_district(conn, district).await?;
    let entry = AuditEntry::system(actor, "create", "district", &district.code)
        .summary(format!("设置辖区 {}", district.name))
        .after(district);
    audit::record(conn, &entry).await?;
    Ok(())
}

/// Creates streets (after [`seed_district`]); returns their ids in input order.
pub async fn seed_streets(
    conn: &mut AnyConnection,
    actor: &str,
    streets: &[StreetInput],
) -> AppResult<Vec<i64>> {
    let now = now_ts();
    let mut ids = Vec::with_capacity(streets.len());
    for (index, input) in streets.iter().enumerate() {
        let street = input.parse().map_err(in_batch("streets", index))?;
        let district = street_district(conn, street.district_code.as_deref())
            .await
            .map_err(in_batch("streets", index))?;
        let id = repo::insert_street(conn, &street, &district, now)
            .await
            .map_err(|e| in_batch("streets", index)(duplicate(e, "code", "duplicate street")))?;
        ids.push(id);
    }
    record_batch(
        conn,
        actor,
        "street",
        &ids,
        format!("批量新增街道 {} 个", ids.len()),
    )
    .await?;
    Ok(ids)
}

pub async fn seed_departments(
    conn: &mut AnyConnection,
    actor: &str,
    departments: &[DepartmentInput],
) -> AppResult<Vec<i64>> {
    let now = now_ts();
    let mut ids = Vec::with_capacity(departments.len());
    for (index, input) in departments.iter().enumerate() {
        let department = input.parse().map_err(in_batch("departments", index))?;
        let id = repo::insert_department(conn, &department, now)
            .await
            .map_err(|e| {
                in_batch("departments", index)(duplicate(e, "code", "duplicate department"))
            })?;
        ids.push(id);
    }
    record_batch(
        conn,
        actor,
        "department",
        &ids,
        format!("批量新增部门 {} 个", ids.len()),
    )
    .await?;
    Ok(ids)
}

/// Creates enterprises with their identifiers, sites and outlets, checked as the API checks them.
/// `simulated` marks generated demo data.
pub async fn seed_enterprises(
    conn: &mut AnyConnection,
    actor: &str,
    simulated: bool,
    batch: &[SeedEnterprise],
) -> AppResult<Vec<SeededEnterprise>> {
    let now = now_ts();
    let mut out = Vec::with_capacity(batch.len());
    for (index, seed) in batch.iter().enumerate() {
        let at = in_batch("enterprises", index);
        let draft = seed.enterprise.parse().map_err(&at)?;
        let enterprise = insert_enterprise(conn, &draft, simulated, actor)
            .await
            .map_err(&at)?;
        for identifier in &seed.identifiers {
            let identifier = identifier.parse().map_err(&at)?;
            insert_identifier(conn, enterprise.id, &identifier)
                .await
                .map_err(&at)?;
        }
        let mut site_ids = Vec::with_capacity(seed.sites.len());
        for site in &seed.sites {
            let site = site.parse().map_err(&at)?;
            let street_id = site.street_id.unwrap_or(enterprise.street_id);
            site_ids.push(
                repo::insert_site(conn, enterprise.id, &site, street_id, now)
                    .await?
                    .id,
            );
        }
        let mut outlet_ids = Vec::with_capacity(seed.outlets.len());
        for seed_outlet in &seed.outlets {
            let mut outlet = seed_outlet.outlet.parse().map_err(&at)?;
            outlet.site_id = match seed_outlet.site_index {
                None => None,
                Some(i) => Some(*site_ids.get(i).ok_or_else(|| {
                    at(AppError::validation("site_index", "points past the sites"))
                })?),
            };
            outlet_ids.push(
                insert_outlet(conn, enterprise.id, &outlet)
                    .await
                    .map_err(&at)?
                    .id,
            );
        }
        out.push(SeededEnterprise {
            id: enterprise.id,
            site_ids,
            outlet_ids,
        });
    }
    let ids: Vec<i64> = out.iter().map(|e| e.id).collect();
    record_batch(
        conn,
        actor,
        "enterprise",
        &ids,
        format!("批量新增企业 {} 家", ids.len()),
    )
    .await?;
    Ok(out)
}

/// Creates monitoring points; an outlet point names its outlet by `outlet_id` (from [`seed_enterprises`]).
pub async fn seed_points(
    conn: &mut AnyConnection,
    actor: &str,
    simulated: bool,
    points: &[PointInput],
) -> AppResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(points.len());
    for (index, input) in points.iter().enumerate() {
        let at = in_batch("points", index);
        let point = input.parse().map_err(&at)?;
        ids.push(insert_point(conn, point, simulated).await.map_err(&at)?.id);
    }
    record_batch(
        conn,
        actor,
        "monitoring_point",
        &ids,
        format!("批量新增监测点位 {} 个", ids.len()),
    )
    .await?;
    Ok(ids)
}

pub async fn seed_devices(
    conn: &mut AnyConnection,
    actor: &str,
    devices: &[DeviceInput],
) -> AppResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(devices.len());
    for (index, input) in devices.iter().enumerate() {
        let at = in_batch("devices", index);
        let draft = input.parse().map_err(&at)?;
        ids.push(insert_device(conn, &draft).await.map_err(&at)?.id);
    }
    record_batch(
        conn,
        actor,
        "device",
        &ids,
        format!("批量新增监测设备 {} 台", ids.len()),
    )
    .await?;
    Ok(ids)
}
