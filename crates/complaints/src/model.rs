//! Channels with their clocks, categories, the state machine, and the records the rest of the crate passes
//! around.

use kernel::calendar::Period;
use serde::{Deserialize, Serialize};

/// Declares a closed list stored as snake_case text, with its Chinese label. `$code` is a `tt`, not a `literal`:
/// a `literal` fragment reaches the derives wrapped in an invisible group, which utoipa does not read, so the
/// OpenAPI document listed `hotline12369` (the variant name in snake case) instead of `hotline_12369`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:tt, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $code)] $variant,)+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The codes, for validation messages.
            pub fn codes() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }
    };
}

text_enum!(
    /// Where a case came in.
    Channel {
        Hotline12369 = "hotline_12369", "12369环保热线";
        Wechat12369 = "wechat_12369", "12369微信举报";
        Citizen12345 = "citizen_12345", "12345便民热线";
        Letter = "letter", "来信";
        Visit = "visit", "来访";
        CentralInspection = "central_inspection", "中央督察交办";
        MunicipalInspection = "municipal_inspection", "市级督察交办";
        GridOfficer = "grid_officer", "网格员上报";
        Patrol = "patrol", "巡查发现";
    }
);

text_enum!(
    /// What the case is about. Noise is split into the four sources of the Noise Law (噪声污染防治法).
    Category {
        NoiseTraffic = "noise_traffic", "交通运输噪声";
        NoiseConstruction = "noise_construction", "建筑施工噪声";
        NoiseIndustrial = "noise_industrial", "工业噪声";
        NoiseSocial = "noise_social", "社会生活噪声";
        CateringFumes = "catering_fumes", "餐饮油烟";
        Odour = "odour", "异味";
        Dust = "dust", "扬尘";
        Water = "water", "水污染";
        Waste = "waste", "固体废物/危险废物";
        Radiation = "radiation", "辐射";
        Ecology = "ecology", "生态破坏";
        Other = "other", "其他";
    }
);

text_enum!(
    /// Where a case is in its life.
    State {
        Received = "received", "已登记";
        Accepted = "accepted", "已受理";
        NotAccepted = "not_accepted", "不予受理";
        Assigned = "assigned", "已交办";
        InHandling = "in_handling", "办理中";
        Replied = "replied", "已答复";
        Closed = "closed", "已办结";
        Reopened = "reopened", "重新办理";
    }
);

text_enum!(
    /// The reporter's evaluation at closing (回访).
    Satisfaction {
        Satisfied = "satisfied", "满意";
        Basically = "basically", "基本满意";
        Unsatisfied = "unsatisfied", "不满意";
    }
);

text_enum!(
    /// A person's place on the duty roster (带班领导, 值班员 and 备勤, as local governments' duty rules have them).
    DutyRole {
        Leader = "leader", "带班领导";
        Officer = "officer", "值班员";
        Standby = "standby", "备勤";
    }
);

/// The statutory clocks of a channel, with where each comes from.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct ChannelClocks {
    /// From receipt to acceptance (or not) and telling the reporter.
    pub acceptance: Period,
    /// From acceptance to the reply (the written 处理意见 is due by this day).
    pub handling: Period,
    /// At most one extension of this many calendar days.
    pub max_extension_days: u32,
    /// The rule and how sure we are of it ([V] read in the text, [V2] secondary, [P] provincial example,
    /// [M] default to be checked).
    pub basis: &'static str,
}

impl Channel {
    /// The clocks of this channel: 《信访工作条例》 (2022) for petitions, 《环保举报热线工作管理办法》 with a
    /// provincial example for 12369, Tianjin's 12345 实施细则; each `basis` names its source and how sure it is.
    pub fn clocks(self) -> ChannelClocks {
        use Period::*;
        match self {
            Channel::Letter | Channel::Visit => ChannelClocks {
                acceptance: CalendarDays(15),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "《信访工作条例》（2022）第二十二、二十三条：15日内登记转送或告知；第三十四条：60日内办结，延期不超过30日",
            },
            Channel::Hotline12369 => ChannelClocks {
                acceptance: WorkingDays(3),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "电话举报3个工作日内决定是否受理（参照福建省2018年12369举报办理规程）；办理60日、延期不超过30日，参照《信访工作条例》（平台暂定，待局里确认）",
            },
            Channel::Wechat12369 => ChannelClocks {
                acceptance: WorkingDays(2),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "微信举报2个工作日内决定是否受理（参照福建省2018年12369举报办理规程）；办理60日、延期不超过30日，参照《信访工作条例》（平台暂定，待局里确认）",
            },
            Channel::Citizen12345 => ChannelClocks {
                acceptance: WorkingDays(1),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "一般工单1个工作日内签收（天津市12345热线实施细则）；办理时限分级未查到正式规定，暂按60日、延期不超过30日（平台暂定，待局里确认）",
            },
            Channel::CentralInspection | Channel::MunicipalInspection => ChannelClocks {
                acceptance: WorkingDays(1),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "督察交办件的办理期限以交办通知为准（登记时录入交办期限，不得自行延期）；签收默认1个工作日（平台暂定）",
            },
            Channel::GridOfficer | Channel::Patrol => ChannelClocks {
                acceptance: WorkingDays(1),
                handling: CalendarDays(60),
                max_extension_days: 30,
                basis: "内部发现的线索：1个工作日内受理、60日内办结（平台暂定，待局里确认）",
            },
        }
    }
}

/// The Noise Law's four sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseSource {
    Traffic,
    Construction,
    Industrial,
    SocialLife,
}

impl Category {
    pub fn noise_source(self) -> Option<NoiseSource> {
        match self {
            Category::NoiseTraffic => Some(NoiseSource::Traffic),
            Category::NoiseConstruction => Some(NoiseSource::Construction),
            Category::NoiseIndustrial => Some(NoiseSource::Industrial),
            Category::NoiseSocial => Some(NoiseSource::SocialLife),
            _ => None,
        }
    }

    /// Who is competent, when it is not (only) the bureau (噪声污染防治法 第七十四至八十四条). A department
    /// that receives a report it does not own transfers it and tells the reporter (Art. 31).
    pub fn competent_body(self) -> &'static str {
        match self {
            Category::NoiseIndustrial => "生态环境部门（噪声法第74–76条）",
            Category::NoiseConstruction => {
                "工程所在地人民政府指定的部门（噪声法第77–78条；天津实践为住建部门）"
            }
            Category::NoiseTraffic => {
                "公安交管（机动车）或交通、铁路、民航等部门（噪声法第79–80条）"
            }
            Category::NoiseSocial => {
                "先由居委会、业委会、物业劝阻调解，再由政府指定的部门处理；屡劝不改由公安治安处罚（噪声法第70、81–87条）"
            }
            Category::CateringFumes => "生态环境部门或城管部门（按本地职责分工）",
            _ => "生态环境部门",
        }
    }
}

/// The steps that move a case; each is one edge of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Accept,
    NotAccept,
    Assign,
    StartHandling,
    Reply,
    Close,
    Reopen,
}

impl Transition {
    pub fn label(self) -> &'static str {
        match self {
            Transition::Accept => "受理",
            Transition::NotAccept => "不予受理",
            Transition::Assign => "交办",
            Transition::StartHandling => "开始办理",
            Transition::Reply => "答复",
            Transition::Close => "办结",
            Transition::Reopen => "重新办理",
        }
    }
}

impl State {
    /// The state after `transition`, or `None` when the step is not allowed from here.
    pub fn after(self, transition: Transition) -> Option<State> {
        use State::*;
        use Transition::*;
        match (self, transition) {
            (Received, Accept) => Some(Accepted),
            (Received, NotAccept) => Some(NotAccepted),
            // A reassignment (wrong street or department) is a new assignment.
            (Accepted | Assigned | Reopened, Assign) => Some(Assigned),
            (Assigned | Reopened, StartHandling) => Some(InHandling),
            (InHandling, Reply) => Some(Replied),
            (Replied, Close) => Some(Closed),
            (Replied, Reopen) => Some(Reopened),
            _ => None,
        }
    }

    /// Whether the handling clock runs in this state.
    pub fn handling_clock_runs(self) -> bool {
        matches!(
            self,
            State::Accepted | State::Assigned | State::InHandling | State::Reopened
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::NotAccepted)
    }
}

/// A case as stored. The reporter's fields are masked by [`crate::service`] before they leave the crate's
/// service layer for anyone who may not see them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Complaint {
    pub id: i64,
    /// 案件编号, e.g. `XF2024-000123`.
    pub case_no: String,
    pub channel: Channel,
    pub category: Category,
    pub state: State,
    pub title: String,
    pub description: String,
    pub enterprise_id: Option<i64>,
    pub enterprise_name: Option<String>,
    /// The site or object complained about, when it is not a registered enterprise.
    pub object_name: String,
    pub address: String,
    pub street_id: Option<i64>,
    pub street_name: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Masked (张*) for roles that may not see it; "匿名" for an anonymous reporter.
    pub reporter_name: Option<String>,
    /// Masked (138****5678) for roles that may not see it; absent for an anonymous reporter.
    pub reporter_phone: Option<String>,
    pub anonymous: bool,
    /// Whether `reporter_*` are shown in full to this caller.
    pub reporter_visible: bool,
    /// Unix seconds (UTC).
    pub received_at: i64,
    /// Last day (CST date) to accept or refuse.
    pub acceptance_due: Option<String>,
    pub accepted_at: Option<i64>,
    pub not_accepted_reason: Option<String>,
    /// Last day (CST date) to reply, extensions included.
    pub handling_due: Option<String>,
    pub extension_days: i64,
    pub assigned_at: Option<i64>,
    pub findings: Option<String>,
    pub replied_at: Option<i64>,
    pub reply_result: Option<String>,
    pub reply_measures: Option<String>,
    /// 处罚决定书 or 立案 number, when the case led to one.
    pub penalty_case_ref: Option<String>,
    pub closed_at: Option<i64>,
    pub satisfaction: Option<Satisfaction>,
    pub reopen_count: i64,
    pub is_repeat: bool,
    pub repeat_root_id: Option<i64>,
    /// How many earlier cases this one is linked to.
    pub repeat_count: i64,
    /// Received outside office hours (routed to the officer on duty).
    pub after_hours: bool,
    pub duty_shift_id: Option<i64>,
    pub escalated_at: Option<i64>,
    /// The running clock's last day (CST date); absent when no clock runs.
    pub clock_due: Option<String>,
    /// The official calendar lacks a year needed for a due date: the date is unknown, not guessed.
    pub calendar_gap: bool,
    /// The due date relies on a provisional calendar year (暂定，待国务院通知): it may move when the notice is
    /// entered, and is recomputed then.
    pub calendar_provisional: bool,
    /// An inspection handover's deadline set by the handing body (CST date): the handling due date.
    pub handover_deadline: Option<String>,
    /// The handover's reference (交办编号 or batch), when given.
    pub handover_ref: String,
    /// The day the running handling period counts from (acceptance or reopening), CST date.
    pub handling_start: Option<String>,
    /// Extension days granted on the running handling period.
    pub handling_extension_days: i64,
    pub simulated: bool,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The clock of a case on a given day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClockStatus {
    /// `acceptance`, `handling` or `none`.
    pub clock: &'static str,
    pub due: Option<String>,
    /// Working days from today to the due day (negative: overdue by that many).
    pub working_days_left: Option<i64>,
    pub due_soon: bool,
    pub overdue: bool,
    pub calendar_gap: bool,
    /// The due date relies on a provisional calendar year (暂定，待国务院通知).
    pub provisional: bool,
}

/// A case with its clock, as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintView {
    #[serde(flatten)]
    pub complaint: Complaint,
    pub clock_status: ClockStatus,
    pub channel_label: &'static str,
    pub category_label: &'static str,
    pub state_label: &'static str,
}

/// A filed case (API body, intake form, demo).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewComplaint {
    pub channel: String,
    pub category: String,
    pub title: String,
    pub description: String,
    pub enterprise_id: Option<i64>,
    #[serde(default)]
    pub object_name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// When the case came in (Unix seconds); default now. Letters carry their date of receipt.
    pub received_at: Option<i64>,
    /// Inspection handovers only, and required for them: the deadline the handing body set (`YYYY-MM-DD`).
    #[serde(default)]
    pub handover_deadline: Option<String>,
    /// Inspection handovers only: the handover's reference (交办编号), optional.
    #[serde(default)]
    pub handover_ref: Option<String>,
}

/// One step on a case (API body of `POST /api/v1/complaints/{id}/actions`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CaseAction {
    Accept {
        note: Option<String>,
    },
    NotAccept {
        reason: String,
    },
    Assign {
        street_id: Option<i64>,
        department_id: Option<i64>,
        note: Option<String>,
    },
    StartHandling {
        note: Option<String>,
    },
    SiteCheck {
        /// Unix seconds; default now.
        checked_at: Option<i64>,
        inspectors: String,
        findings: String,
        #[serde(default)]
        violation_found: bool,
    },
    Reply {
        result: String,
        measures: String,
        penalty_case_ref: Option<String>,
    },
    Close {
        satisfaction: Satisfaction,
        note: Option<String>,
    },
    Reopen {
        reason: String,
    },
    RequestExtension {
        days: i64,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        note: Option<String>,
    },
    /// An inspection handover's deadline changed by its handing body (it granted more time, or asked for
    /// sooner): `deadline` is `YYYY-MM-DD`.
    ChangeHandoverDeadline {
        deadline: String,
        note: Option<String>,
    },
}

/// One line of a case's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    pub id: i64,
    pub at: i64,
    pub at_cst: String,
    pub actor: String,
    /// `intake`, `transition`, `site_check`, `extension_request`, `extension_decision`, `escalation`,
    /// `duty_routing`, `repeat_link`, `evidence`, `calendar` (due dates recomputed on a new calendar),
    /// `handover_deadline`.
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteCheck {
    pub id: i64,
    pub checked_at: i64,
    pub inspectors: String,
    pub findings: String,
    pub violation_found: bool,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Extension {
    pub id: i64,
    pub days: i64,
    pub reason: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
}

/// An earlier (or later) case linked as a repeat.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RepeatLink {
    pub complaint_id: i64,
    pub earlier_id: i64,
    pub other_case_no: String,
    pub other_received_at: i64,
    /// `enterprise` or `location`.
    pub reason: String,
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub id: i64,
    pub complaint_id: i64,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

/// Everything on a case page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseFile {
    pub case: ComplaintView,
    pub timeline: Vec<TimelineEvent>,
    pub site_checks: Vec<SiteCheck>,
    pub extensions: Vec<Extension>,
    /// Earlier cases this one repeats, and later ones that repeat it.
    pub links: Vec<RepeatLink>,
    pub evidence: Vec<Evidence>,
    pub competent_body: &'static str,
    pub clock_basis: &'static str,
}

/// List filters (query string of the list page, the API and the export). Each is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintFilter {
    // Texts, not the enums and numbers they are, because the list page's filter form sends them empty; the
    // service parses them (a 422 naming the parameter). The document shows what they take.
    #[param(value_type = Option<State>)]
    pub state: Option<String>,
    #[param(value_type = Option<Channel>)]
    pub channel: Option<String>,
    #[param(value_type = Option<Category>)]
    pub category: Option<String>,
    #[param(value_type = Option<i64>)]
    pub street_id: Option<String>,
    /// `due_soon`, `overdue`, `escalated`, `calendar_gap` or `provisional` (the due date relies on a
    /// provisional calendar year).
    #[param(schema_with = due_filter_schema)]
    pub due: Option<String>,
    /// `1` or `true`: only repeats.
    pub repeat: Option<String>,
    /// `YYYY-MM` (CST month of receipt).
    pub month: Option<String>,
    /// Text in the case number, title, address or object.
    pub q: Option<String>,
    #[param(value_type = Option<i64>)]
    pub enterprise_id: Option<String>,
}

/// The `due` filters `service::list` understands.
fn due_filter_schema() -> utoipa::openapi::schema::Object {
    kernel::web::text_choice(
        "Cases due soon, overdue, escalated, with a due date beyond the calendar, or relying on a provisional calendar year",
        &[
            "due_soon",
            "overdue",
            "escalated",
            "calendar_gap",
            "provisional",
        ],
    )
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DutyShift {
    pub id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub starts_cst: String,
    pub ends_cst: String,
    pub duty_role: DutyRole,
    pub user_id: Option<i64>,
    pub person_name: String,
    pub phone: String,
    pub note: String,
    pub simulated: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDutyShift {
    pub starts_at: i64,
    pub ends_at: i64,
    pub duty_role: DutyRole,
    pub user_id: Option<i64>,
    pub person_name: String,
    pub phone: String,
    #[serde(default)]
    pub note: String,
}

/// Settings of the area; each has a default marked [M] (to be confirmed by the bureau).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// Cases within this many days of each other can be repeats.
    pub repeat_window_days: i64,
    /// Cases at most this far apart (metres) are about the same place.
    pub repeat_distance_m: f64,
    /// A running clock with at most this many working days left is "due soon".
    pub due_soon_working_days: i64,
    /// Office hours on working days, minutes after CST midnight; outside them intake goes to the duty officer.
    pub office_start_minute: i64,
    pub office_end_minute: i64,
    /// A source with at least this many cases in the persistent-sources window is persistent.
    pub persistent_min_cases: i64,
    pub persistent_window_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            repeat_window_days: 90,
            repeat_distance_m: 200.0,
            due_soon_working_days: 3,
            office_start_minute: 8 * 60 + 30,
            office_end_minute: 17 * 60 + 30,
            persistent_min_cases: 3,
            persistent_window_days: 365,
        }
    }
}

/// A source that keeps coming back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersistentSource {
    /// `enterprise` or `place` (a chain of repeats without a registered enterprise).
    pub kind: String,
    pub enterprise_id: Option<i64>,
    pub root_case_id: Option<i64>,
    pub label: String,
    pub street_name: Option<String>,
    pub category: Category,
    pub cases: i64,
    pub open_cases: i64,
    pub last_received_at: i64,
}

/// A count under a key (street, category, channel, month).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoiseSurveyRow {
    pub street: String,
    pub traffic: i64,
    pub construction: i64,
    pub industrial: i64,
    pub social_life: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Statistics {
    pub year: i32,
    pub total: i64,
    pub by_street: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_channel: Vec<Count>,
    pub by_month: Vec<Count>,
    pub by_state: Vec<Count>,
    /// 噪声源摸排: noise cases by street and the Noise Law's four sources.
    pub noise_survey: Vec<NoiseSurveyRow>,
    pub repeats: i64,
    pub overdue_open: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MapPoint {
    pub id: i64,
    pub case_no: String,
    pub lon: f64,
    pub lat: f64,
    pub category: Category,
    pub month: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(*s));
        }
        assert_eq!(State::parse("lost"), None);
    }

    #[test]
    fn state_machine_edges() {
        use State::*;
        use Transition::*;
        assert_eq!(Received.after(Accept), Some(Accepted));
        assert_eq!(Received.after(NotAccept), Some(NotAccepted));
        assert_eq!(Accepted.after(Assign), Some(Assigned));
        assert_eq!(Assigned.after(StartHandling), Some(InHandling));
        assert_eq!(InHandling.after(Reply), Some(Replied));
        assert_eq!(Replied.after(Close), Some(Closed));
        assert_eq!(Replied.after(Reopen), Some(Reopened));
        assert_eq!(Reopened.after(StartHandling), Some(InHandling));
        // Illegal edges.
        assert_eq!(Received.after(Reply), None);
        assert_eq!(Accepted.after(Close), None);
        assert_eq!(NotAccepted.after(Accept), None);
        assert_eq!(Closed.after(Reopen), None);
        for t in [
            Accept,
            NotAccept,
            Assign,
            StartHandling,
            Reply,
            Close,
            Reopen,
        ] {
            assert_eq!(Closed.after(t), None);
            assert_eq!(NotAccepted.after(t), None);
        }
    }

    #[test]
    fn petitions_follow_the_regulation() {
        let clocks = Channel::Letter.clocks();
        assert_eq!(clocks.acceptance, Period::CalendarDays(15));
        assert_eq!(clocks.handling, Period::CalendarDays(60));
        assert_eq!(clocks.max_extension_days, 30);
        assert_eq!(
            Channel::Citizen12345.clocks().acceptance,
            Period::WorkingDays(1)
        );
    }
}
