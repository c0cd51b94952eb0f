//! Who is asking and what they may do. Authentication (sessions, tokens) happens in the web layer, which puts
//! a [`Principal`] into the request; every handler then asks [`Principal::require`] and, for street-owned
//! records, [`Principal::street_scope`]. The matrix below is the single place where roles meet resources.

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

/// What is being acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Streets, departments, the district itself.
    Organisation,
    Enterprise,
    MonitoringPoint,
    Device,
    User,
    AuditLog,
    /// 信访投诉: complaints and petitions (street-scoped for street officers).
    Complaint,
    /// 值班表: the 24-hour duty roster.
    DutyRoster,
    /// Monitoring data (readings, roll-ups, exports); the point's kind and street narrow it further.
    Reading,
    /// 数据审核: corrections of readings and month confirmation.
    DataAudit,
    /// 在线监控报警: online-monitoring alarms, their handling and the inspection leads drawn from them.
    Alarm,
    /// 年度目标: the year's targets, their progress and the dashboard built on them.
    Target,
    /// 排名与通报: monthly street rankings and bulletins.
    Bulletin,
    /// 工作日历: the official working-day calendar (holidays and make-up working days) statutory clocks count by.
    WorkingCalendar,
}

impl Resource {
    pub const ALL: [Resource; 14] = [
        Resource::Organisation,
        Resource::Enterprise,
        Resource::MonitoringPoint,
        Resource::Device,
        Resource::User,
        Resource::AuditLog,
        Resource::Complaint,
        Resource::DutyRoster,
        Resource::Reading,
        Resource::DataAudit,
        Resource::Alarm,
        Resource::Target,
        Resource::Bulletin,
        Resource::WorkingCalendar,
    ];
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
}

/// The role × resource × action matrix. Street scoping comes on top of it: a street officer who may update
/// enterprises may update only those of their street.
pub fn role_allows(role: Role, resource: Resource, action: Action) -> bool {
    use Action::*;
    use Resource::*;
    use Role::*;
    match (role, resource) {
        (Admin, _) => true,
        (_, User) | (_, AuditLog) => false,
        (Public, Organisation | MonitoringPoint) => action == Read,
        // Complaints: the petition office runs intake and replies, handlers (enforcement, street officers of
        // the case's street) handle; nobody deletes a petition record. Leaders read (extension approval is a
        // service rule of its own). Monitoring has no part in them.
        (Petition | Enforcement | StreetOfficer, Complaint) => action != Delete,
        (SolidWaste, Complaint) => action == Read,
        (Monitoring, Complaint) => false,
        // The duty roster is kept by the petition office; everyone inside the bureau may see who is on duty.
        (Petition, DutyRoster) => true,
        (Public, Complaint | DutyRoster) => false,
        // The public reads air-station and water-section data only (the readings area checks the kind).
        (Public, Reading) => action == Read,
        // The public sees the published indicators (targets' progress), not alarms or internal bulletins.
        (Public, Target) => action == Read,
        (Public, _) => false,
        // The calendar is entered by the administrator (the State Council's notice each year); all read it.
        (_, WorkingCalendar) => action == Read,
        // Targets and bulletins: the monitoring department keeps the targets and issues the bulletins; every
        // bureau role reads them (street officers their street's part).
        (Monitoring, Target | Bulletin) => action != Delete,
        (_, Target | Bulletin) => action == Read,
        // Alarms: the monitoring department confirms and closes them, enforcement handles the leads; the other
        // bureau roles read (street officers their street's enterprises).
        (Monitoring | Enforcement, Alarm) => action != Delete,
        (_, Alarm) => action == Read,
        (_, DutyRoster) => action == Read,
        (_, Organisation) => action == Read,
        (Leader, _) => action == Read,
        // Monitoring data: the monitoring department pushes, corrects and confirms; the other bureau roles read
        // (street officers only their street's points); nobody deletes readings.
        (Monitoring, Reading | DataAudit) => action != Delete,
        (_, Reading) => action == Read,
        (_, DataAudit) => false,
        (Monitoring, MonitoringPoint | Device) => action != Delete,
        (Monitoring, Enterprise) => action == Read,
        (Enforcement | SolidWaste, Enterprise) => action != Delete,
        (Enforcement | SolidWaste, MonitoringPoint | Device) => action == Read,
        (Petition, Enterprise | MonitoringPoint) => action == Read,
        (Petition, Device) => false,
        (StreetOfficer, Enterprise) => matches!(action, Read | Create | Update),
        (StreetOfficer, MonitoringPoint) => action == Read,
        (StreetOfficer, Device) => false,
    }
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
            Err(AppError::forbidden(format!(
                "role {} may not {:?} {:?}",
                self.role.as_str(),
                action,
                resource
            )))
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

    /// 404 (not 403: we do not reveal that the record exists) for a record outside the caller's street.
    pub fn require_street(&self, street_id: Option<i64>, what: &str) -> Result<(), AppError> {
        if self.sees_street(street_id) {
            Ok(())
        } else {
            Err(AppError::not_found(format!("{what} not found")))
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
    fn only_admin_touches_users_and_audit() {
        for role in Role::ALL {
            for action in Action::ALL {
                assert_eq!(
                    role_allows(role, Resource::User, action),
                    role == Role::Admin
                );
                assert_eq!(
                    role_allows(role, Resource::AuditLog, action),
                    role == Role::Admin
                );
            }
        }
    }

    #[test]
    fn public_and_leader_never_write() {
        for resource in Resource::ALL {
            for action in [Action::Create, Action::Update, Action::Delete] {
                assert!(!role_allows(Role::Public, resource, action));
                assert!(!role_allows(Role::Leader, resource, action));
            }
        }
        assert!(!role_allows(
            Role::Public,
            Resource::Enterprise,
            Action::Read
        ));
        assert!(!role_allows(Role::Public, Resource::Device, Action::Read));
    }

    #[test]
    fn complaints_matrix() {
        use Action::*;
        assert!(role_allows(Role::Petition, Resource::Complaint, Create));
        assert!(role_allows(
            Role::StreetOfficer,
            Resource::Complaint,
            Update
        ));
        assert!(role_allows(Role::Enforcement, Resource::Complaint, Update));
        assert!(role_allows(Role::Leader, Resource::Complaint, Read));
        assert!(!role_allows(Role::Leader, Resource::Complaint, Update));
        assert!(!role_allows(Role::Monitoring, Resource::Complaint, Read));
        assert!(!role_allows(Role::Public, Resource::Complaint, Read));
        for role in [Role::Petition, Role::Enforcement, Role::StreetOfficer] {
            assert!(!role_allows(role, Resource::Complaint, Delete));
        }
        assert!(role_allows(Role::Petition, Resource::DutyRoster, Create));
        assert!(role_allows(Role::StreetOfficer, Resource::DutyRoster, Read));
        assert!(!role_allows(
            Role::StreetOfficer,
            Resource::DutyRoster,
            Create
        ));
        assert!(!role_allows(Role::Public, Resource::DutyRoster, Read));
    }

    #[test]
    fn readings_matrix() {
        use Action::*;
        for action in [Read, Create, Update] {
            assert!(role_allows(Role::Monitoring, Resource::Reading, action));
            assert!(role_allows(Role::Monitoring, Resource::DataAudit, action));
            assert!(role_allows(Role::Admin, Resource::DataAudit, action));
        }
        for role in [
            Role::Leader,
            Role::Enforcement,
            Role::Petition,
            Role::StreetOfficer,
            Role::Public,
        ] {
            assert!(role_allows(role, Resource::Reading, Read), "{role:?}");
            assert!(!role_allows(role, Resource::Reading, Create), "{role:?}");
            assert!(!role_allows(role, Resource::DataAudit, Update), "{role:?}");
        }
        assert!(role_allows(Role::Leader, Resource::DataAudit, Read));
        assert!(!role_allows(Role::Public, Resource::DataAudit, Read));
        assert!(!role_allows(Role::StreetOfficer, Resource::DataAudit, Read));
        assert!(!role_allows(Role::Monitoring, Resource::Reading, Delete));
    }

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
}
