//! The registry's SQL, and the only place it lives. Portable across SQLite and PostgreSQL: `$n` placeholders,
//! flags as BIGINT 0/1, aggregates cast, times as Unix seconds. Every function takes a connection, so the
//! service can run several of them (and the audit entry) in one transaction.

use std::str::FromStr;

use kernel::db::{SqlBuilder, flag};
use kernel::{Page, PageQuery};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::model::*;

type Conn = AnyConnection;
type SqlResult<T> = Result<T, sqlx::Error>;

/// Decodes a text column into one of the closed lists; an unknown value is a decoding error, not a panic.
fn text_enum<T: FromStr>(row: &AnyRow, column: &str) -> SqlResult<T> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value {text:?}").into(),
    })
}

fn opt_text_enum<T: FromStr>(row: &AnyRow, column: &str) -> SqlResult<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        t.parse().map_err(|_| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: format!("unexpected value {t:?}").into(),
        })
    })
    .transpose()
}

fn boolean(row: &AnyRow, column: &str) -> SqlResult<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// `%text%` for LIKE, without the caller's wildcards.
fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.trim().replace(['%', '_'], ""))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------------------------
// District, streets, departments
// ---------------------------------------------------------------------------------------------------------------

pub async fn upsert_district(conn: &mut Conn, d: &District) -> SqlResult<()> {
    sqlx::query(
        "INSERT INTO district (code, name, city, center_lon, center_lat, simulated) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, city = excluded.city, \
         center_lon = excluded.center_lon, center_lat = excluded.center_lat, simulated = excluded.simulated",
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(&d.city)
    .bind(d.center_lon)
    .bind(d.center_lat)
    .bind(flag(d.simulated))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn district_codes(conn: &mut Conn) -> SqlResult<Vec<String>> {
    sqlx::query_scalar("SELECT code FROM district ORDER BY code")
        .fetch_all(conn)
        .await
}

pub async fn district(conn: &mut Conn) -> SqlResult<Option<District>> {
    let row = sqlx::query(
        "SELECT code, name, city, center_lon, center_lat, simulated FROM district ORDER BY code LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(District {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            city: row.try_get("city")?,
            center_lon: row.try_get("center_lon")?,
            center_lat: row.try_get("center_lat")?,
            simulated: boolean(&row, "simulated")?,
        })
    })
    .transpose()
}

const STREET_COLUMNS: &str = "id, code, name, district_code, center_lon, center_lat, created_at";

fn street_from_row(row: &AnyRow) -> SqlResult<Street> {
    Ok(Street {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        district_code: row.try_get("district_code")?,
        center_lon: row.try_get("center_lon")?,
        center_lat: row.try_get("center_lat")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn list_streets(conn: &mut Conn) -> SqlResult<Vec<Street>> {
    let sql = format!("SELECT {STREET_COLUMNS} FROM streets ORDER BY code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(street_from_row).collect()
}

pub async fn get_street(conn: &mut Conn, id: i64) -> SqlResult<Option<Street>> {
    let sql = format!("SELECT {STREET_COLUMNS} FROM streets WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(street_from_row).transpose()
}

pub async fn insert_street(
    conn: &mut Conn,
    s: &StreetInput,
    district_code: &str,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO streets (code, name, district_code, center_lon, center_lat, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&s.code)
    .bind(&s.name)
    .bind(district_code)
    .bind(s.center_lon)
    .bind(s.center_lat)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn update_street(
    conn: &mut Conn,
    id: i64,
    s: &StreetInput,
    district_code: &str,
) -> SqlResult<u64> {
    let done = sqlx::query(
        "UPDATE streets SET code = $1, name = $2, district_code = $3, center_lon = $4, center_lat = $5 WHERE id = $6",
    )
    .bind(&s.code)
    .bind(&s.name)
    .bind(district_code)
    .bind(s.center_lon)
    .bind(s.center_lat)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

fn department_from_row(row: &AnyRow) -> SqlResult<Department> {
    Ok(Department {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: text_enum(row, "kind")?,
        duties: row.try_get("duties")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn list_departments(conn: &mut Conn) -> SqlResult<Vec<Department>> {
    let rows = sqlx::query(
        "SELECT id, code, name, kind, duties, created_at FROM departments ORDER BY kind, code",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(department_from_row).collect()
}

pub async fn get_department(conn: &mut Conn, id: i64) -> SqlResult<Option<Department>> {
    let row = sqlx::query(
        "SELECT id, code, name, kind, duties, created_at FROM departments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(department_from_row).transpose()
}

pub async fn insert_department(conn: &mut Conn, d: &DepartmentInput, now: i64) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO departments (code, name, kind, duties, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(d.kind.as_str())
    .bind(&d.duties)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn update_department(conn: &mut Conn, id: i64, d: &DepartmentInput) -> SqlResult<u64> {
    let done = sqlx::query(
        "UPDATE departments SET code = $1, name = $2, kind = $3, duties = $4 WHERE id = $5",
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(d.kind.as_str())
    .bind(&d.duties)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------------------------------------------

const ENTERPRISE_SELECT: &str = "SELECT e.id, e.uscc, e.name, e.industry_code, e.industry_name, e.street_id, \
     s.name AS street_name, e.address, e.lon, e.lat, e.legal_representative, e.contact_phone, e.key_discharger, \
     e.key_categories, e.status, e.simulated, e.version, e.created_at, e.updated_at";

fn enterprise_from_row(row: &AnyRow) -> SqlResult<Enterprise> {
    let categories: String = row.try_get("key_categories")?;
    Ok(Enterprise {
        id: row.try_get("id")?,
        uscc: row.try_get("uscc")?,
        name: row.try_get("name")?,
        industry_code: row.try_get("industry_code")?,
        industry_name: row.try_get("industry_name")?,
        street_id: row.try_get("street_id")?,
        street_name: row.try_get("street_name")?,
        address: row.try_get("address")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        legal_representative: row.try_get("legal_representative")?,
        contact_phone: row.try_get("contact_phone")?,
        key_discharger: boolean(row, "key_discharger")?,
        key_categories: categories
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect(),
        status: text_enum(row, "status")?,
        simulated: boolean(row, "simulated")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn categories_text(categories: &[KeyCategory]) -> String {
    categories
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Lists enterprises; `scope` restricts to one street (street officers).
pub async fn list_enterprises(
    conn: &mut Conn,
    filter: &EnterpriseFilter,
    scope: Option<i64>,
    page: &PageQuery,
) -> SqlResult<Page<Enterprise>> {
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(" FROM enterprises e JOIN streets s ON s.id = e.street_id WHERE 1=1");
        if let Some(street) = scope {
            b.push(" AND e.street_id = ").push_bind(street);
        }
        if let Some(street) = filter.street_id {
            b.push(" AND e.street_id = ").push_bind(street);
        }
        if let Some(code) = non_empty(&filter.industry_code) {
            b.push(" AND e.industry_code LIKE ").push_bind(format!(
                "{}%",
                code.to_ascii_uppercase().replace(['%', '_'], "")
            ));
        }
        if let Some(key) = filter.key_discharger {
            b.push(" AND e.key_discharger = ").push_bind(flag(key));
        }
        if let Some(status) = filter.status {
            b.push(" AND e.status = ")
                .push_bind(status.as_str().to_string());
        }
        if let Some(q) = non_empty(&filter.q) {
            let pattern = contains_pattern(q);
            b.push(" AND (e.name LIKE ").push_bind(pattern.clone());
            b.push(" OR e.uscc LIKE ")
                .push_bind(pattern.to_ascii_uppercase());
            b.push(")");
        }
        b
    };
    let total: i64 = build("SELECT CAST(COUNT(*) AS BIGINT)")
        .build_scalar()
        .fetch_one(&mut *conn)
        .await?;
    let mut list = build(ENTERPRISE_SELECT);
    list.push(" ORDER BY e.id LIMIT ").push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(enterprise_from_row)
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

pub async fn get_enterprise(conn: &mut Conn, id: i64) -> SqlResult<Option<Enterprise>> {
    let sql = format!(
        "{ENTERPRISE_SELECT} FROM enterprises e JOIN streets s ON s.id = e.street_id WHERE e.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(enterprise_from_row).transpose()
}

pub async fn find_enterprise_by_uscc(conn: &mut Conn, uscc: &str) -> SqlResult<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM enterprises WHERE uscc = $1")
        .bind(uscc)
        .fetch_optional(conn)
        .await
}

pub async fn insert_enterprise(
    conn: &mut Conn,
    e: &EnterpriseDraft,
    status: EnterpriseStatus,
    simulated: bool,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO enterprises (uscc, name, industry_code, industry_name, street_id, address, lon, lat, \
         legal_representative, contact_phone, key_discharger, key_categories, status, simulated, version, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15) RETURNING id",
    )
    .bind(e.uscc.as_str())
    .bind(&e.name)
    .bind(e.industry_code.as_str())
    .bind(&e.industry_name)
    .bind(e.street_id)
    .bind(&e.address)
    .bind(e.lon)
    .bind(e.lat)
    .bind(&e.legal_representative)
    .bind(&e.contact_phone)
    .bind(flag(e.key_discharger))
    .bind(categories_text(&e.key_categories))
    .bind(status.as_str())
    .bind(flag(simulated))
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Updates the editable fields if the stored version is `version`; returns whether a row changed.
pub async fn update_enterprise(
    conn: &mut Conn,
    id: i64,
    version: i64,
    e: &EnterpriseDraft,
    now: i64,
) -> SqlResult<bool> {
    let done = sqlx::query(
        "UPDATE enterprises SET uscc = $1, name = $2, industry_code = $3, industry_name = $4, street_id = $5, \
         address = $6, lon = $7, lat = $8, legal_representative = $9, contact_phone = $10, key_discharger = $11, \
         key_categories = $12, version = version + 1, updated_at = $13 WHERE id = $14 AND version = $15",
    )
    .bind(e.uscc.as_str())
    .bind(&e.name)
    .bind(e.industry_code.as_str())
    .bind(&e.industry_name)
    .bind(e.street_id)
    .bind(&e.address)
    .bind(e.lon)
    .bind(e.lat)
    .bind(&e.legal_representative)
    .bind(&e.contact_phone)
    .bind(flag(e.key_discharger))
    .bind(categories_text(&e.key_categories))
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_enterprise_status(
    conn: &mut Conn,
    id: i64,
    version: i64,
    status: EnterpriseStatus,
    now: i64,
) -> SqlResult<bool> {
    let done = sqlx::query(
        "UPDATE enterprises SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_status(
    conn: &mut Conn,
    enterprise_id: i64,
    status: EnterpriseStatus,
    effective_date: &str,
    note: &str,
    changed_by: &str,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO enterprise_status_history (enterprise_id, status, effective_date, note, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(enterprise_id)
    .bind(status.as_str())
    .bind(effective_date)
    .bind(note)
    .bind(changed_by)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn status_history(conn: &mut Conn, enterprise_id: i64) -> SqlResult<Vec<StatusRecord>> {
    let rows = sqlx::query(
        "SELECT id, enterprise_id, status, effective_date, note, changed_by, changed_at \
         FROM enterprise_status_history WHERE enterprise_id = $1 ORDER BY id DESC",
    )
    .bind(enterprise_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StatusRecord {
                id: row.try_get("id")?,
                enterprise_id: row.try_get("enterprise_id")?,
                status: text_enum(row, "status")?,
                effective_date: row.try_get("effective_date")?,
                note: row.try_get("note")?,
                changed_by: row.try_get("changed_by")?,
                changed_at: row.try_get("changed_at")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Identifiers, sites, outlets
// ---------------------------------------------------------------------------------------------------------------

fn identifier_from_row(row: &AnyRow) -> SqlResult<Identifier> {
    Ok(Identifier {
        id: row.try_get("id")?,
        enterprise_id: row.try_get("enterprise_id")?,
        program: text_enum(row, "program")?,
        identifier: row.try_get("identifier")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn identifiers(conn: &mut Conn, enterprise_id: i64) -> SqlResult<Vec<Identifier>> {
    let rows = sqlx::query(
        "SELECT id, enterprise_id, program, identifier, note, created_at FROM enterprise_identifiers \
         WHERE enterprise_id = $1 ORDER BY program, identifier",
    )
    .bind(enterprise_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(identifier_from_row).collect()
}

pub async fn insert_identifier(
    conn: &mut Conn,
    enterprise_id: i64,
    i: &IdentifierInput,
    now: i64,
) -> SqlResult<Identifier> {
    let row = sqlx::query(
        "INSERT INTO enterprise_identifiers (enterprise_id, program, identifier, note, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, enterprise_id, program, identifier, note, created_at",
    )
    .bind(enterprise_id)
    .bind(i.program.as_str())
    .bind(&i.identifier)
    .bind(&i.note)
    .bind(now)
    .fetch_one(conn)
    .await?;
    identifier_from_row(&row)
}

/// Removes one identifier of an enterprise; `None` when the enterprise has no such identifier.
pub async fn delete_identifier(
    conn: &mut Conn,
    enterprise_id: i64,
    id: i64,
) -> SqlResult<Option<Identifier>> {
    let row = sqlx::query(
        "DELETE FROM enterprise_identifiers WHERE id = $1 AND enterprise_id = $2 \
         RETURNING id, enterprise_id, program, identifier, note, created_at",
    )
    .bind(id)
    .bind(enterprise_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(identifier_from_row).transpose()
}

/// The enterprise holding `identifier` in `program`.
pub async fn enterprise_by_identifier(
    conn: &mut Conn,
    program: Program,
    identifier: &str,
) -> SqlResult<Option<i64>> {
    sqlx::query_scalar(
        "SELECT enterprise_id FROM enterprise_identifiers WHERE program = $1 AND identifier = $2",
    )
    .bind(program.as_str())
    .bind(identifier)
    .fetch_optional(conn)
    .await
}

/// The enterprise whose outlet is monitored by the device `mn`.
pub async fn enterprise_by_device_mn(conn: &mut Conn, mn: &str) -> SqlResult<Option<i64>> {
    sqlx::query_scalar(
        "SELECT o.enterprise_id FROM devices d JOIN monitoring_points p ON p.id = d.point_id \
         JOIN outlets o ON o.id = p.outlet_id WHERE d.mn = $1",
    )
    .bind(mn)
    .fetch_optional(conn)
    .await
}

fn site_from_row(row: &AnyRow) -> SqlResult<Site> {
    Ok(Site {
        id: row.try_get("id")?,
        enterprise_id: row.try_get("enterprise_id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        street_id: row.try_get("street_id")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn sites(conn: &mut Conn, enterprise_id: i64) -> SqlResult<Vec<Site>> {
    let rows = sqlx::query(
        "SELECT id, enterprise_id, name, address, street_id, lon, lat, created_at FROM sites \
         WHERE enterprise_id = $1 ORDER BY id",
    )
    .bind(enterprise_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(site_from_row).collect()
}

pub async fn insert_site(
    conn: &mut Conn,
    enterprise_id: i64,
    s: &SiteInput,
    street_id: i64,
    now: i64,
) -> SqlResult<Site> {
    let row = sqlx::query(
        "INSERT INTO sites (enterprise_id, name, address, street_id, lon, lat, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING id, enterprise_id, name, address, street_id, lon, lat, created_at",
    )
    .bind(enterprise_id)
    .bind(&s.name)
    .bind(&s.address)
    .bind(street_id)
    .bind(s.lon)
    .bind(s.lat)
    .bind(now)
    .fetch_one(conn)
    .await?;
    site_from_row(&row)
}

pub async fn update_site(
    conn: &mut Conn,
    id: i64,
    s: &SiteInput,
    street_id: i64,
) -> SqlResult<Option<Site>> {
    let row = sqlx::query(
        "UPDATE sites SET name = $1, address = $2, street_id = $3, lon = $4, lat = $5 WHERE id = $6 \
         RETURNING id, enterprise_id, name, address, street_id, lon, lat, created_at",
    )
    .bind(&s.name)
    .bind(&s.address)
    .bind(street_id)
    .bind(s.lon)
    .bind(s.lat)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(site_from_row).transpose()
}

const OUTLET_COLUMNS: &str =
    "id, enterprise_id, site_id, code, name, medium, kind, lon, lat, online_monitored, created_at";

fn outlet_from_row(row: &AnyRow) -> SqlResult<Outlet> {
    Ok(Outlet {
        id: row.try_get("id")?,
        enterprise_id: row.try_get("enterprise_id")?,
        site_id: row.try_get("site_id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        medium: text_enum(row, "medium")?,
        kind: text_enum(row, "kind")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        online_monitored: boolean(row, "online_monitored")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn outlets(conn: &mut Conn, enterprise_id: i64) -> SqlResult<Vec<Outlet>> {
    let sql =
        format!("SELECT {OUTLET_COLUMNS} FROM outlets WHERE enterprise_id = $1 ORDER BY code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(enterprise_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(outlet_from_row).collect()
}

/// Outlets with their enterprise, for pickers: those matching `filter`, in the caller's street (`scope`).
pub async fn search_outlets(
    conn: &mut Conn,
    filter: &OutletFilter,
    scope: Option<i64>,
    page: &PageQuery,
) -> SqlResult<Page<OutletChoice>> {
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(" FROM outlets o JOIN enterprises e ON e.id = o.enterprise_id WHERE 1=1");
        if let Some(street) = scope {
            b.push(" AND e.street_id = ").push_bind(street);
        }
        if let Some(enterprise) = filter.enterprise_id {
            b.push(" AND o.enterprise_id = ").push_bind(enterprise);
        }
        if let Some(q) = non_empty(&filter.q) {
            let pattern = contains_pattern(q);
            b.push(" AND (o.code LIKE ").push_bind(pattern.clone());
            b.push(" OR o.name LIKE ").push_bind(pattern.clone());
            b.push(" OR e.name LIKE ").push_bind(pattern);
            b.push(")");
        }
        b
    };
    let total: i64 = build("SELECT CAST(COUNT(*) AS BIGINT)")
        .build_scalar()
        .fetch_one(&mut *conn)
        .await?;
    let mut list = build(
        "SELECT o.id, o.code, o.name, o.medium, o.online_monitored, o.enterprise_id, e.name AS enterprise_name",
    );
    list.push(" ORDER BY e.name, o.code, o.id LIMIT ")
        .push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|row| {
            let enterprise_name: String = row.try_get("enterprise_name")?;
            let code: String = row.try_get("code")?;
            let name: String = row.try_get("name")?;
            Ok(OutletChoice {
                id: row.try_get("id")?,
                label: OutletChoice::label_of(&enterprise_name, &code, &name),
                code,
                name,
                medium: text_enum(row, "medium")?,
                enterprise_id: row.try_get("enterprise_id")?,
                enterprise_name,
                online_monitored: boolean(row, "online_monitored")?,
            })
        })
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

pub async fn get_outlet(conn: &mut Conn, id: i64) -> SqlResult<Option<Outlet>> {
    let sql = format!("SELECT {OUTLET_COLUMNS} FROM outlets WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(outlet_from_row).transpose()
}

pub async fn insert_outlet(
    conn: &mut Conn,
    enterprise_id: i64,
    o: &OutletInput,
    now: i64,
) -> SqlResult<Outlet> {
    let sql = format!(
        "INSERT INTO outlets (enterprise_id, site_id, code, name, medium, kind, lon, lat, online_monitored, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {OUTLET_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(enterprise_id)
        .bind(o.site_id)
        .bind(&o.code)
        .bind(&o.name)
        .bind(o.medium.as_str())
        .bind(o.kind.as_str())
        .bind(o.lon)
        .bind(o.lat)
        .bind(flag(o.online_monitored))
        .bind(now)
        .fetch_one(conn)
        .await?;
    outlet_from_row(&row)
}

pub async fn update_outlet(conn: &mut Conn, id: i64, o: &OutletInput) -> SqlResult<Option<Outlet>> {
    let sql = format!(
        "UPDATE outlets SET site_id = $1, code = $2, name = $3, medium = $4, kind = $5, lon = $6, lat = $7, \
         online_monitored = $8 WHERE id = $9 RETURNING {OUTLET_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(o.site_id)
        .bind(&o.code)
        .bind(&o.name)
        .bind(o.medium.as_str())
        .bind(o.kind.as_str())
        .bind(o.lon)
        .bind(o.lat)
        .bind(flag(o.online_monitored))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(outlet_from_row).transpose()
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring points
// ---------------------------------------------------------------------------------------------------------------

const POINT_SELECT: &str = "SELECT p.id, p.code, p.name, p.kind, p.level, p.street_id, s.name AS street_name, \
     p.lon, p.lat, p.owner, p.water_body, p.water_kind, p.target_class, p.outlet_id, o.enterprise_id, p.active, \
     p.simulated, p.version, p.created_at, p.updated_at";
const POINT_FROM: &str = " FROM monitoring_points p LEFT JOIN streets s ON s.id = p.street_id LEFT JOIN outlets o ON o.id = p.outlet_id";

fn point_from_row(row: &AnyRow) -> SqlResult<MonitoringPoint> {
    Ok(MonitoringPoint {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: text_enum(row, "kind")?,
        level: text_enum(row, "level")?,
        street_id: row.try_get("street_id")?,
        street_name: row.try_get("street_name")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        owner: row.try_get("owner")?,
        water_body: row.try_get("water_body")?,
        water_kind: opt_text_enum(row, "water_kind")?,
        target_class: row.try_get("target_class")?,
        outlet_id: row.try_get("outlet_id")?,
        enterprise_id: row.try_get("enterprise_id")?,
        active: boolean(row, "active")?,
        simulated: boolean(row, "simulated")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Who may see which points: everything, only the public kinds, or the public kinds plus one street's outlets.
#[derive(Debug, Clone, Copy)]
pub enum PointVisibility {
    All,
    PublicKinds,
    PublicKindsAndStreet(i64),
}

/// `p.kind IN (…)` of the kinds the public may see.
fn push_public_kinds(b: &mut SqlBuilder) {
    b.push("p.kind IN (");
    let public = PointKind::ALL.iter().filter(|kind| kind.is_public());
    for (i, kind) in public.enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push_bind(kind.as_str().to_string());
    }
    b.push(")");
}

fn push_point_visibility(b: &mut SqlBuilder, visibility: PointVisibility) {
    match visibility {
        PointVisibility::All => {}
        PointVisibility::PublicKinds => {
            b.push(" AND ");
            push_public_kinds(b);
        }
        PointVisibility::PublicKindsAndStreet(street) => {
            b.push(" AND (");
            push_public_kinds(b);
            b.push(" OR p.street_id = ").push_bind(street).push(")");
        }
    }
}

pub async fn list_points(
    conn: &mut Conn,
    filter: &PointFilter,
    visibility: PointVisibility,
    page: &PageQuery,
) -> SqlResult<Page<MonitoringPoint>> {
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(POINT_FROM).push(" WHERE 1=1");
        push_point_visibility(&mut b, visibility);
        if let Some(kind) = filter.kind {
            b.push(" AND p.kind = ")
                .push_bind(kind.as_str().to_string());
        }
        if let Some(level) = filter.level {
            b.push(" AND p.level = ")
                .push_bind(level.as_str().to_string());
        }
        if let Some(street) = filter.street_id {
            b.push(" AND p.street_id = ").push_bind(street);
        }
        if let Some(q) = non_empty(&filter.q) {
            let pattern = contains_pattern(q);
            b.push(" AND (p.name LIKE ").push_bind(pattern.clone());
            b.push(" OR p.code LIKE ").push_bind(pattern);
            b.push(")");
        }
        b
    };
    let total: i64 = build("SELECT CAST(COUNT(*) AS BIGINT)")
        .build_scalar()
        .fetch_one(&mut *conn)
        .await?;
    let mut list = build(POINT_SELECT);
    list.push(" ORDER BY p.kind, p.code LIMIT ")
        .push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(point_from_row)
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

pub async fn get_point(conn: &mut Conn, id: i64) -> SqlResult<Option<MonitoringPoint>> {
    let sql = format!("{POINT_SELECT}{POINT_FROM} WHERE p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(point_from_row).transpose()
}

/// The points monitoring an enterprise's outlets.
pub async fn points_of_enterprise(
    conn: &mut Conn,
    enterprise_id: i64,
) -> SqlResult<Vec<MonitoringPoint>> {
    let sql = format!("{POINT_SELECT}{POINT_FROM} WHERE o.enterprise_id = $1 ORDER BY p.code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(enterprise_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(point_from_row).collect()
}

pub async fn insert_point(
    conn: &mut Conn,
    p: &PointInput,
    simulated: bool,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO monitoring_points (code, name, kind, level, street_id, lon, lat, owner, water_body, water_kind, \
         target_class, outlet_id, active, simulated, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15) RETURNING id",
    )
    .bind(&p.code)
    .bind(&p.name)
    .bind(p.kind.as_str())
    .bind(p.level.as_str())
    .bind(p.street_id)
    .bind(p.lon)
    .bind(p.lat)
    .bind(&p.owner)
    .bind(&p.water_body)
    .bind(p.water_kind.map(|k| k.as_str()))
    .bind(p.target_class)
    .bind(p.outlet_id)
    .bind(flag(p.active.unwrap_or(true)))
    .bind(flag(simulated))
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn update_point(
    conn: &mut Conn,
    id: i64,
    version: i64,
    p: &PointInput,
    now: i64,
) -> SqlResult<bool> {
    let done = sqlx::query(
        "UPDATE monitoring_points SET code = $1, name = $2, kind = $3, level = $4, street_id = $5, lon = $6, \
         lat = $7, owner = $8, water_body = $9, water_kind = $10, target_class = $11, outlet_id = $12, active = $13, \
         version = version + 1, updated_at = $14 WHERE id = $15 AND version = $16",
    )
    .bind(&p.code)
    .bind(&p.name)
    .bind(p.kind.as_str())
    .bind(p.level.as_str())
    .bind(p.street_id)
    .bind(p.lon)
    .bind(p.lat)
    .bind(&p.owner)
    .bind(&p.water_body)
    .bind(p.water_kind.map(|k| k.as_str()))
    .bind(p.target_class)
    .bind(p.outlet_id)
    .bind(flag(p.active.unwrap_or(true)))
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------------------------

const DEVICE_SELECT: &str = "SELECT d.id, d.mn, d.password, d.protocol, d.crc_mode, d.point_id, p.name AS point_name, \
     d.model, d.active, d.version, d.created_at, d.updated_at FROM devices d JOIN monitoring_points p ON p.id = d.point_id";

fn device_from_row(row: &AnyRow) -> SqlResult<Device> {
    Ok(Device {
        id: row.try_get("id")?,
        mn: row.try_get("mn")?,
        password: row.try_get("password")?,
        protocol: text_enum(row, "protocol")?,
        crc_mode: text_enum(row, "crc_mode")?,
        point_id: row.try_get("point_id")?,
        point_name: row.try_get("point_name")?,
        model: row.try_get("model")?,
        active: boolean(row, "active")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn list_devices(
    conn: &mut Conn,
    filter: &DeviceFilter,
    page: &PageQuery,
) -> SqlResult<Page<Device>> {
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(" WHERE 1=1");
        if let Some(point) = filter.point_id {
            b.push(" AND d.point_id = ").push_bind(point);
        }
        if let Some(q) = non_empty(&filter.q) {
            let pattern = contains_pattern(q);
            b.push(" AND (d.mn LIKE ").push_bind(pattern.clone());
            b.push(" OR d.model LIKE ").push_bind(pattern);
            b.push(")");
        }
        b
    };
    let total: i64 = build(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM devices d JOIN monitoring_points p ON p.id = d.point_id",
    )
    .build_scalar()
    .fetch_one(&mut *conn)
    .await?;
    let mut list = build(DEVICE_SELECT);
    list.push(" ORDER BY d.mn LIMIT ").push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(device_from_row)
        .collect::<SqlResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

pub async fn get_device(conn: &mut Conn, id: i64) -> SqlResult<Option<Device>> {
    let sql = format!("{DEVICE_SELECT} WHERE d.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(device_from_row).transpose()
}

/// The devices feeding the points of an enterprise's outlets.
pub async fn devices_of_enterprise(conn: &mut Conn, enterprise_id: i64) -> SqlResult<Vec<Device>> {
    let sql = format!(
        "{DEVICE_SELECT} JOIN outlets o ON o.id = p.outlet_id WHERE o.enterprise_id = $1 ORDER BY d.mn"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(enterprise_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(device_from_row).collect()
}

pub async fn insert_device(
    conn: &mut Conn,
    d: &DeviceDraft,
    password: &str,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO devices (mn, password, protocol, crc_mode, point_id, model, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
    )
    .bind(&d.mn)
    .bind(password)
    .bind(d.protocol.as_str())
    .bind(d.crc_mode.as_str())
    .bind(d.point_id)
    .bind(&d.model)
    .bind(flag(d.active))
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn update_device(
    conn: &mut Conn,
    id: i64,
    version: i64,
    d: &DeviceDraft,
    password: &str,
    now: i64,
) -> SqlResult<bool> {
    let done = sqlx::query(
        "UPDATE devices SET mn = $1, password = $2, protocol = $3, crc_mode = $4, point_id = $5, model = $6, \
         active = $7, version = version + 1, updated_at = $8 WHERE id = $9 AND version = $10",
    )
    .bind(&d.mn)
    .bind(password)
    .bind(d.protocol.as_str())
    .bind(d.crc_mode.as_str())
    .bind(d.point_id)
    .bind(&d.model)
    .bind(flag(d.active))
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------------------------
// Reads for other areas (see the service's read API)
// ---------------------------------------------------------------------------------------------------------------

pub async fn streets_by_id(conn: &mut Conn) -> SqlResult<Vec<Street>> {
    let sql = format!("SELECT {STREET_COLUMNS} FROM streets ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(street_from_row).collect()
}

/// The street with this name or code.
pub async fn find_street(conn: &mut Conn, name_or_code: &str) -> SqlResult<Option<Street>> {
    let sql = format!(
        "SELECT {STREET_COLUMNS} FROM streets WHERE name = $1 OR code = $1 ORDER BY id LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name_or_code)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(street_from_row).transpose()
}

pub async fn departments_by_id(conn: &mut Conn) -> SqlResult<Vec<Department>> {
    let rows =
        sqlx::query("SELECT id, code, name, kind, duties, created_at FROM departments ORDER BY id")
            .fetch_all(conn)
            .await?;
    rows.iter().map(department_from_row).collect()
}

const ENTERPRISE_FROM: &str = " FROM enterprises e JOIN streets s ON s.id = e.street_id";

/// Every enterprise, by id.
pub async fn all_enterprises(conn: &mut Conn) -> SqlResult<Vec<Enterprise>> {
    let sql = format!("{ENTERPRISE_SELECT}{ENTERPRISE_FROM} ORDER BY e.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(enterprise_from_row).collect()
}

/// The enterprises with these ids, by id (unknown ids are left out).
pub async fn enterprises_by_ids(conn: &mut Conn, ids: &[i64]) -> SqlResult<Vec<Enterprise>> {
    let mut b = SqlBuilder::new(ENTERPRISE_SELECT);
    b.push(ENTERPRISE_FROM).push(" WHERE ");
    b.push_id_in("e.id", ids).push(" ORDER BY e.id");
    let rows = b.build().fetch_all(conn).await?;
    rows.iter().map(enterprise_from_row).collect()
}

pub async fn enterprise_ids_of_street(conn: &mut Conn, street_id: i64) -> SqlResult<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM enterprises WHERE street_id = $1 ORDER BY id")
        .bind(street_id)
        .fetch_all(conn)
        .await
}

/// The outlets with these ids, by id.
pub async fn outlets_by_ids(conn: &mut Conn, ids: &[i64]) -> SqlResult<Vec<Outlet>> {
    let mut b = SqlBuilder::new(&format!("SELECT {OUTLET_COLUMNS} FROM outlets WHERE "));
    b.push_id_in("id", ids).push(" ORDER BY id");
    let rows = b.build().fetch_all(conn).await?;
    rows.iter().map(outlet_from_row).collect()
}

/// Every point, by id.
pub async fn all_points(conn: &mut Conn) -> SqlResult<Vec<MonitoringPoint>> {
    let sql = format!("{POINT_SELECT}{POINT_FROM} ORDER BY p.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(point_from_row).collect()
}

/// The points with these ids, by id.
pub async fn points_by_ids(conn: &mut Conn, ids: &[i64]) -> SqlResult<Vec<MonitoringPoint>> {
    let mut b = SqlBuilder::new(POINT_SELECT);
    b.push(POINT_FROM).push(" WHERE ");
    b.push_id_in("p.id", ids).push(" ORDER BY p.id");
    let rows = b.build().fetch_all(conn).await?;
    rows.iter().map(point_from_row).collect()
}

pub async fn point_by_code(conn: &mut Conn, code: &str) -> SqlResult<Option<MonitoringPoint>> {
    let sql = format!("{POINT_SELECT}{POINT_FROM} WHERE p.code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(point_from_row).transpose()
}

/// The active points of one kind, by id.
pub async fn active_points(conn: &mut Conn, kind: PointKind) -> SqlResult<Vec<MonitoringPoint>> {
    let sql =
        format!("{POINT_SELECT}{POINT_FROM} WHERE p.kind = $1 AND p.active = 1 ORDER BY p.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(point_from_row).collect()
}

/// Active outlet points linked to a registered outlet, by point id.
pub async fn monitored_outlets(conn: &mut Conn) -> SqlResult<Vec<MonitoredOutlet>> {
    let rows = sqlx::query(
        "SELECT p.id AS point_id, o.id AS outlet_id, o.medium, e.id AS enterprise_id, e.street_id, \
         e.industry_code, e.simulated FROM monitoring_points p JOIN outlets o ON o.id = p.outlet_id \
         JOIN enterprises e ON e.id = o.enterprise_id WHERE p.kind = $1 AND p.active = 1 ORDER BY p.id",
    )
    .bind(PointKind::Outlet.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MonitoredOutlet {
                point_id: row.try_get("point_id")?,
                outlet_id: row.try_get("outlet_id")?,
                medium: text_enum(row, "medium")?,
                enterprise_id: row.try_get("enterprise_id")?,
                street_id: row.try_get("street_id")?,
                industry_code: row.try_get("industry_code")?,
                simulated: boolean(row, "simulated")?,
            })
        })
        .collect()
}

/// Every device, by id.
pub async fn all_devices(conn: &mut Conn) -> SqlResult<Vec<Device>> {
    let sql = format!("{DEVICE_SELECT} ORDER BY d.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(device_from_row).collect()
}

pub async fn device_by_mn(conn: &mut Conn, mn: &str) -> SqlResult<Option<Device>> {
    let sql = format!("{DEVICE_SELECT} WHERE d.mn = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(mn)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(device_from_row).transpose()
}

pub async fn device_ids_of_point(conn: &mut Conn, point_id: i64) -> SqlResult<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM devices WHERE point_id = $1 ORDER BY id")
        .bind(point_id)
        .fetch_all(conn)
        .await
}

pub async fn counts(conn: &mut Conn) -> SqlResult<RegistryCounts> {
    let row = sqlx::query(
        "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM streets) AS streets, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises) AS enterprises, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM outlets) AS outlets, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points) AS points, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM devices) AS devices",
    )
    .fetch_one(conn)
    .await?;
    Ok(RegistryCounts {
        streets: row.try_get("streets")?,
        enterprises: row.try_get("enterprises")?,
        outlets: row.try_get("outlets")?,
        points: row.try_get("points")?,
        devices: row.try_get("devices")?,
    })
}

/// Per street, by id: its enterprises, key dischargers, air stations and water sections.
pub async fn street_counts(conn: &mut Conn) -> SqlResult<Vec<StreetCounts>> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises e WHERE e.street_id = s.id) AS enterprises, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises e WHERE e.street_id = s.id AND e.key_discharger = 1) AS key_dischargers, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points p WHERE p.street_id = s.id AND p.kind = $1) AS air_stations, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points p WHERE p.street_id = s.id AND p.kind = $2) AS water_sections \
         FROM streets s ORDER BY s.id",
    )
    .bind(PointKind::AirStation.as_str())
    .bind(PointKind::WaterSection.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StreetCounts {
                street_id: row.try_get("id")?,
                name: row.try_get("name")?,
                enterprises: row.try_get("enterprises")?,
                key_dischargers: row.try_get("key_dischargers")?,
                air_stations: row.try_get("air_stations")?,
                water_sections: row.try_get("water_sections")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Batched reads for the workbook import and export (service::workbook): one query per kind and batch of keys
// ---------------------------------------------------------------------------------------------------------------

/// Keys per `IN (…)` list: far below SQLite's and PostgreSQL's limits on bound parameters.
const KEYS_PER_QUERY: usize = 500;

/// Appends `{column} IN ($n, …)` for texts (callers pass a non-empty chunk).
fn push_text_in(b: &mut SqlBuilder, column: &str, values: &[String]) {
    b.push(column).push(" IN (");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push_bind(value.clone());
    }
    b.push(")");
}

/// The enterprises with these USCCs.
pub async fn enterprises_by_usccs(conn: &mut Conn, usccs: &[String]) -> SqlResult<Vec<Enterprise>> {
    let mut out = Vec::new();
    for chunk in usccs.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(ENTERPRISE_SELECT);
        b.push(ENTERPRISE_FROM).push(" WHERE ");
        push_text_in(&mut b, "e.uscc", chunk);
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(enterprise_from_row(row)?);
        }
    }
    Ok(out)
}

/// The enterprises of a street (`Some`) or all (`None`), by USCC.
pub async fn enterprises_in_scope(
    conn: &mut Conn,
    street: Option<i64>,
) -> SqlResult<Vec<Enterprise>> {
    let mut b = SqlBuilder::new(ENTERPRISE_SELECT);
    b.push(ENTERPRISE_FROM);
    if let Some(street) = street {
        b.push(" WHERE e.street_id = ").push_bind(street);
    }
    b.push(" ORDER BY e.uscc");
    let rows = b.build().fetch_all(conn).await?;
    rows.iter().map(enterprise_from_row).collect()
}

/// The sites of these enterprises, by enterprise and id.
pub async fn sites_of_enterprises(conn: &mut Conn, ids: &[i64]) -> SqlResult<Vec<Site>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(
            "SELECT id, enterprise_id, name, address, street_id, lon, lat, created_at FROM sites WHERE ",
        );
        b.push_id_in("enterprise_id", chunk)
            .push(" ORDER BY enterprise_id, id");
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(site_from_row(row)?);
        }
    }
    Ok(out)
}

/// The outlets of these enterprises, by enterprise and code.
pub async fn outlets_of_enterprises(conn: &mut Conn, ids: &[i64]) -> SqlResult<Vec<Outlet>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(&format!("SELECT {OUTLET_COLUMNS} FROM outlets WHERE "));
        b.push_id_in("enterprise_id", chunk)
            .push(" ORDER BY enterprise_id, code");
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(outlet_from_row(row)?);
        }
    }
    Ok(out)
}

/// The identifiers of these enterprises, by enterprise, program and identifier.
pub async fn identifiers_of_enterprises(
    conn: &mut Conn,
    ids: &[i64],
) -> SqlResult<Vec<Identifier>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(
            "SELECT id, enterprise_id, program, identifier, note, created_at FROM enterprise_identifiers WHERE ",
        );
        b.push_id_in("enterprise_id", chunk)
            .push(" ORDER BY enterprise_id, program, identifier");
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(identifier_from_row(row)?);
        }
    }
    Ok(out)
}

/// The stored identifiers equal to any of these texts (in any program, of any enterprise).
pub async fn identifiers_by_values(
    conn: &mut Conn,
    values: &[String],
) -> SqlResult<Vec<Identifier>> {
    let mut out = Vec::new();
    for chunk in values.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(
            "SELECT id, enterprise_id, program, identifier, note, created_at FROM enterprise_identifiers WHERE ",
        );
        push_text_in(&mut b, "identifier", chunk);
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(identifier_from_row(row)?);
        }
    }
    Ok(out)
}

/// The points with these codes.
pub async fn points_by_codes(conn: &mut Conn, codes: &[String]) -> SqlResult<Vec<MonitoringPoint>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(POINT_SELECT);
        b.push(POINT_FROM).push(" WHERE ");
        push_text_in(&mut b, "p.code", chunk);
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(point_from_row(row)?);
        }
    }
    Ok(out)
}

/// Every point the visibility allows, by kind and code.
pub async fn points_visible(
    conn: &mut Conn,
    visibility: PointVisibility,
) -> SqlResult<Vec<MonitoringPoint>> {
    let mut b = SqlBuilder::new(POINT_SELECT);
    b.push(POINT_FROM).push(" WHERE 1=1");
    push_point_visibility(&mut b, visibility);
    b.push(" ORDER BY p.kind, p.code");
    let rows = b.build().fetch_all(conn).await?;
    rows.iter().map(point_from_row).collect()
}

/// The devices with these MNs.
pub async fn devices_by_mns(conn: &mut Conn, mns: &[String]) -> SqlResult<Vec<Device>> {
    let mut out = Vec::new();
    for chunk in mns.chunks(KEYS_PER_QUERY) {
        let mut b = SqlBuilder::new(DEVICE_SELECT);
        b.push(" WHERE ");
        push_text_in(&mut b, "d.mn", chunk);
        let rows = b.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            out.push(device_from_row(row)?);
        }
    }
    Ok(out)
}

/// Every device, by MN.
pub async fn devices_by_mn_order(conn: &mut Conn) -> SqlResult<Vec<Device>> {
    let sql = format!("{DEVICE_SELECT} ORDER BY d.mn");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(device_from_row).collect()
}
