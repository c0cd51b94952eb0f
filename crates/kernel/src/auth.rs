//! Who is asking and what they may do. Authentication (sessions, tokens) happens in the web layer, which puts
//! a [`Principal`] into the request; every handler then asks [`Principal::require`] and, for street-owned
//! records, [`Principal::street_scope`]. What a role may do with a resource is the resource's own policy,
//! declared by the area that owns it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员: users, master data, audit log.
    Admin,
    /// 局领导: sees everything, changes little.
    Leader,
    /// 监测科: monitoring points, devices, data.
    Monitoring,
    /// 执法支队: enterprises, inspections, cases.
    Enforcement,
    /// 固废科: hazardous waste, enterprises' waste identifiers.
    SolidWaste,
    /// 信访办: complaints and petitions, sees reporters' personal data.
    Petition,
    /// 街道干部: only the records of their own street.
    StreetOfficer,
    /// 公众: read-only public information.
    Public,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Leader,
        Role::Monitoring,
        Role::Enforcement,
        Role::SolidWaste,
        Role::Petition,
        Role::StreetOfficer,
        Role::Public,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Monitoring => "monitoring",
            Role::Enforcement => "enforcement",
            Role::SolidWaste => "solid_waste",
            Role::Petition => "petition",
            Role::StreetOfficer => "street_officer",
            Role::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Leader => "局领导",
            Role::Monitoring => "监测科",
            Role::Enforcement => "执法支队",
            Role::SolidWaste => "固废科",
            Role::Petition => "信访办",
            Role::StreetOfficer => "街道干部",
            Role::Public => "公众",
        }
    }
}

/// What is being acted on. Each area declares its own (`pub const COMPLAINT: Resource = Resource::new(…)` in
/// its crate, listed in its `kernel::area::Area`), with the policy saying what each role may do with it: the
/// role matrix is the union of the areas' policies, and a role-matrix test writes it out as a table.
#[derive(Clone, Copy)]
pub struct Resource {
    /// Stable snake_case name, unique across the areas (messages, tests).
    pub name: &'static str,
    /// Its name for users.
    pub label: &'static str,
    policy: fn(Role, Action) -> bool,
}

impl Resource {
    /// A resource whose `policy` says whether a role may do an action on it (street scoping comes on top:
    /// a street officer who may update enterprises may update only those of their street).
    pub const fn new(
        name: &'static str,
        label: &'static str,
        policy: fn(Role, Action) -> bool,
    ) -> Resource {
        Resource {
            name,
            label,
            policy,
        }
    }
}

impl PartialEq for Resource {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Resource {}

impl std::hash::Hash for Resource {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Create, Action::Update, Action::Delete];

    /// Its verb for users, as in "局领导无权修改监测设备".
    pub fn label(self) -> &'static str {
        match self {
            Action::Read => "查看",
            Action::Create => "新建",
            Action::Update => "修改",
            Action::Delete => "删除",
        }
    }
}

/// The 403 for a role that may not do something, in the words users read on pages and in the API's `detail`:
/// `refused(Role::Leader, "修改监测设备")` says "局领导无权修改监测设备". Every permission refusal is built
/// here, so that none reaches a user in English or with internal names.
pub fn refused(role: Role, doing: &str) -> AppError {
    AppError::forbidden(format!("{}无权{doing}", role.label()))
}

/// Whether `role` may do `action` on `resource`: the resource's own policy.
pub fn role_allows(role: Role, resource: Resource, action: Action) -> bool {
    (resource.policy)(role, action)
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A browser session; unsafe methods must carry this CSRF token.
    Session { csrf_token: String },
    /// An API bearer token (machine clients): no CSRF, no cookies.
    Token,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The street a street officer belongs to.
    pub street_id: Option<i64>,
    pub department_id: Option<i64>,
    pub method: AuthMethod,
}

impl Principal {
    pub fn can(&self, resource: Resource, action: Action) -> bool {
        role_allows(self.role, resource, action)
    }

    /// 403 unless the role may do `action` on `resource`.
    pub fn require(&self, resource: Resource, action: Action) -> Result<(), AppError> {
        if self.can(resource, action) {
            Ok(())
        } else {
            Err(refused(
                self.role,
                &format!("{}{}", action.label(), resource.label),
            ))
        }
    }

    /// `Some(street)` when the caller may see only one street's records. A street officer without a street
    /// sees nothing (street id 0 never exists).
    pub fn street_scope(&self) -> Option<i64> {
        (self.role == Role::StreetOfficer).then(|| self.street_id.unwrap_or(0))
    }

    /// Whether a record of `street_id` is inside the caller's scope.
    pub fn sees_street(&self, street_id: Option<i64>) -> bool {
        match self.street_scope() {
            None => true,
            Some(own) => street_id == Some(own),
        }
    }

    /// 404 (not 403: we do not reveal that the record exists) for a record outside the caller's street;
    /// `what` names the record for users ("报警", "企业").
    pub fn require_street(&self, street_id: Option<i64>, what: &str) -> Result<(), AppError> {
        if self.sees_street(street_id) {
            Ok(())
        } else {
            Err(AppError::not_found(format!("未找到该{what}")))
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.method {
            AuthMethod::Session { csrf_token } => Some(csrf_token),
            AuthMethod::Token => None,
        }
    }

    pub fn is_public(&self) -> bool {
        self.role == Role::Public
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(AppError::Unauthorized)
    }
}

/// The caller, if any: for pages that anonymous visitors may also see (the login page).
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn street_officer_is_scoped() {
        let p = Principal {
            user_id: 1,
            username: "x".into(),
            display_name: "x".into(),
            role: Role::StreetOfficer,
            street_id: Some(3),
            department_id: None,
            method: AuthMethod::Token,
        };
        assert!(p.sees_street(Some(3)));
        assert!(!p.sees_street(Some(4)));
        assert!(!p.sees_street(None));
        let lost = Principal {
            street_id: None,
            ..p.clone()
        };
        assert!(!lost.sees_street(Some(3)));
        let leader = Principal {
            role: Role::Leader,
            ..p
        };
        assert!(leader.sees_street(Some(4)));
        assert!(leader.street_scope().is_none());
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_policy_decides() {
        const ONLY_READ: Resource =
            Resource::new("thing", "东西", |_, action| action == Action::Read);
        assert!(role_allows(Role::Public, ONLY_READ, Action::Read));
        assert!(!role_allows(Role::Admin, ONLY_READ, Action::Delete));
        assert_eq!(format!("{ONLY_READ:?}"), "thing");
    }

    #[test]
    fn refusals_are_in_chinese() {
        const DEVICE: Resource = Resource::new("device", "监测设备", |_, _| false);
        let leader = Principal {
            user_id: 1,
            username: "leader".into(),
            display_name: "王局长".into(),
            role: Role::Leader,
            street_id: None,
            department_id: None,
            method: AuthMethod::Token,
        };
        let err = leader.require(DEVICE, Action::Update).unwrap_err();
        assert_eq!(err.to_string(), "局领导无权修改监测设备");
        assert!(matches!(err, AppError::Forbidden(_)));
    }
}
