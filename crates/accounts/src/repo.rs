//! The only SQL of the accounts area (portable: `$n`, i64 seconds, 0/1 flags).

use kernel::Role;
use kernel::db::{Db, flag};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::model::{ApiToken, User};

const USER_COLUMNS: &str =
    "id, username, display_name, role, street_id, department_id, active, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
        street_id: row.try_get("street_id")?,
        department_id: row.try_get("department_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub street_id: Option<i64>,
    pub department_id: Option<i64>,
    pub active: bool,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_user<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    street_id: Option<i64>,
    department_id: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, street_id, department_id, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(street_id)
    .bind(department_id)
    .bind(now)
    .fetch_one(exec)
    .await
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn user_by_username(db: &Db, username: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    )))
    .bind(username)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn credentials(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, display_name, password_hash, role, street_id, department_id, active FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        let role: String = row.try_get("role")?;
        Ok(UserRow {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            password_hash: row.try_get("password_hash")?,
            role: Role::parse(&role).unwrap_or(Role::Public),
            street_id: row.try_get("street_id")?,
            department_id: row.try_get("department_id")?,
            active: row.try_get::<i64, _>("active")? != 0,
        })
    })
    .transpose()
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(user_from_row).collect()
}

/// `(username, display_name)` of the users among `usernames` (at most a page's worth: one bound parameter
/// each).
pub async fn display_names(
    db: &Db,
    usernames: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let mut b =
        kernel::db::SqlBuilder::new("SELECT username, display_name FROM users WHERE username IN (");
    for (i, name) in usernames.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push_bind(name.clone());
    }
    b.push(")");
    b.build_as::<(String, String)>().fetch_all(db.pool()).await
}

pub async fn update_user<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    user: &User,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET display_name = $1, role = $2, street_id = $3, department_id = $4, active = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&user.display_name)
    .bind(user.role.as_str())
    .bind(user.street_id)
    .bind(user.department_id)
    .bind(flag(user.active))
    .bind(now)
    .bind(user.id)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn set_password_hash<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(())
}

// --- sessions -------------------------------------------------------------------------------------------

pub async fn insert_session(
    db: &Db,
    id_digest: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_digest, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(id_digest)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(db.writer())
    .await?;
    Ok(())
}

pub struct SessionRow {
    pub user_id: i64,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(db: &Db, id_digest: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT user_id, csrf_token, last_seen_at, expires_at FROM sessions WHERE id_digest = $1",
    )
    .bind(id_digest)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(SessionRow {
            user_id: row.try_get("user_id")?,
            csrf_token: row.try_get("csrf_token")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub async fn touch_session(
    db: &Db,
    id_digest: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_digest = $3")
        .bind(now)
        .bind(expires_at)
        .bind(id_digest)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn delete_session(db: &Db, id_digest: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
        .bind(id_digest)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn delete_user_sessions<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(())
}

pub async fn delete_expired_sessions(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(db.writer())
        .await?
        .rows_affected())
}

// --- tokens ---------------------------------------------------------------------------------------------

fn token_from_row(row: &AnyRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub async fn insert_token<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    user_id: i64,
    name: &str,
    digest: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<ApiToken, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, user_id, name, created_at, expires_at, last_used_at, revoked_at",
    )
    .bind(user_id)
    .bind(name)
    .bind(digest)
    .bind(now)
    .bind(expires_at)
    .fetch_one(exec)
    .await?;
    token_from_row(&row)
}

pub async fn token_by_digest(db: &Db, digest: &str) -> Result<Option<ApiToken>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE token_digest = $1",
    )
    .bind(digest)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

pub async fn tokens_of(db: &Db, user_id: i64) -> Result<Vec<ApiToken>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(token_from_row).collect()
}

pub async fn touch_token(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn revoke_token<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(exec)
            .await?
            .rows_affected(),
    )
}

// --- login throttling -----------------------------------------------------------------------------------

/// Reserves a login attempt: a pending failure row written and committed before the password is verified, so
/// that concurrent attempts see each other. A failed verification settles it ([`settle_login_failure`]), a
/// successful login removes it with the username's other failures ([`clear_login_failures`]).
pub async fn reserve_login_attempt(
    db: &Db,
    username: &str,
    client: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (username, client, at, pending) VALUES ($1, $2, $3, 1) RETURNING id",
    )
    .bind(username)
    .bind(client)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Marks a reserved attempt as a failure of its password.
pub async fn settle_login_failure(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_failures SET pending = 0 WHERE id = $1")
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Withdraws a reservation that was refused without verifying (it is no failure of the password).
pub async fn delete_login_attempt(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Failures (and reserved attempts) for this username since `since`: how many, and the oldest one's time.
pub async fn user_failures_since(
    db: &Db,
    username: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(at) AS oldest FROM login_failures WHERE username = $1 AND at >= $2",
    )
    .bind(username)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}

/// Settled failures from this client address since `since` (attempts still being verified do not count):
/// how many, and the latest one's time.
pub async fn client_failures_since(
    db: &Db,
    client: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(at) AS latest FROM login_failures WHERE client = $1 AND at >= $2 AND pending = 0",
    )
    .bind(client)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("n")?, row.try_get("latest")?))
}

pub async fn clear_login_failures(db: &Db, username: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(username)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Removes failures older than `before` (they no longer count in any window).
pub async fn prune_login_failures(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(before)
        .execute(db.writer())
        .await?
        .rows_affected())
}

// --- administrators -------------------------------------------------------------------------------------

/// Locks the rows of the active administrators until the transaction ends (a no-op update: portable, and on
/// PostgreSQL it takes the row locks that `SELECT … FOR UPDATE` would; SQLite's write transaction already
/// excludes every other writer). Two transactions that each remove a different administrator then run one
/// after the other, and the second sees the first's change.
pub async fn lock_active_admins<'e, E: Executor<'e, Database = Any>>(
    exec: E,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET active = active WHERE role = $1 AND active = 1")
        .bind(Role::Admin.as_str())
        .execute(exec)
        .await?;
    Ok(())
}

pub async fn count_active_admins<'e, E: Executor<'e, Database = Any>>(
    exec: E,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE role = $1 AND active = 1")
        .bind(Role::Admin.as_str())
        .fetch_one(exec)
        .await
}
