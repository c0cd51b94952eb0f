//! Users and tokens as the rest of the platform sees them (never with their secrets).

use kernel::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The street of a street officer.
    pub street_id: Option<i64>,
    pub department_id: Option<i64>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What creating a user takes (API body, CLI and demo).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub street_id: Option<i64>,
    pub department_id: Option<i64>,
}

/// A change to a user (API body); absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `null` leaves the street; use `clear_street` to remove it.
    pub street_id: Option<i64>,
    #[serde(default)]
    pub clear_street: bool,
    pub department_id: Option<i64>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: i64,
    /// When it stops working (Unix seconds). Every token issued now has one; `null` only for tokens issued
    /// before lifetimes existed and not yet given one.
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A token as handed out once, at creation; only its digest is stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub name: String,
    /// Lifetime in days (default 90; at most 365 unless the server is configured otherwise).
    pub days: Option<i64>,
}
