//! Complaints: clocks on the official calendar, the state machine, extensions, repeats, escalation, duty
//! routing (service level, on SQLite and PostgreSQL), and street scoping, masking and evidence over HTTP.

mod app;
mod calendar;

#[allow(unused_imports)]
use accounts as _;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use complaints::model::{CaseAction, NewComplaint, Satisfaction};
use complaints::service::{self, Caller};
use complaints::{Channel, State};
use kernel::auth::AuthMethod;
use kernel::time::{cst_local_to_ts, now_ts};
use kernel::{AppError, Db, Principal, Role};

use app::TestApp;

/// A CST wall-clock instant.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    cst_local_to_ts(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: format!("t-{}", role.as_str()),
        display_name: "测试".into(),
        role,
        street_id,
        department_id: None,
        method: AuthMethod::Token,
    }
}

async fn streets(db: &Db) -> (i64, i64) {
    sqlx::query("INSERT INTO district (code, name, city) VALUES ('120110', '东丽区', '天津市')")
        .execute(db.pool())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (code, name) in [("zgz", "张贵庄街道"), ("hm", "华明街道")] {
        ids.push(
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, '120110', 0) RETURNING id",
            )
            .bind(code)
            .bind(name)
            .fetch_one(db.pool())
            .await
            .unwrap(),
        );
    }
    (ids[0], ids[1])
}

fn new_case(
    channel: Channel,
    category: &str,
    street: Option<i64>,
    received_at: i64,
) -> NewComplaint {
    NewComplaint {
        channel: channel.as_str().into(),
        category: category.into(),
        title: "饭店油烟直排".into(),
        description: "每天晚上油烟很大".into(),
        street_id: street,
        lon: Some(117.30),
        lat: Some(39.10),
        reporter_name: Some("张三丰".into()),
        reporter_phone: Some("13812345678".into()),
        received_at: Some(received_at),
        ..Default::default()
    }
}

async fn file(db: &Db, new: NewComplaint) -> complaints::Complaint {
    service::file_complaint(db, Caller::System("test"), new, false)
        .await
        .unwrap()
}

async fn act(
    db: &Db,
    who: &Principal,
    id: i64,
    action: CaseAction,
    at: i64,
) -> Result<complaints::Complaint, AppError> {
    service::act(db, Caller::User(who), id, action, at).await
}

testkit::db_test!(deadlines_land_on_the_right_working_day, |db| {
    let (a, _) = streets(&db).await;
    // A letter on Monday 2024-09-16: 15 日 end on 10-01 (National Day) → the next working day, 10-08.
    let letter = file(
        &db,
        new_case(
            Channel::Letter,
            "catering_fumes",
            Some(a),
            cst(2024, 9, 16, 10, 0),
        ),
    )
    .await;
    assert_eq!(letter.acceptance_due.as_deref(), Some("2024-10-08"));
    assert_eq!(letter.clock_due.as_deref(), Some("2024-10-08"));
    // 12345 on Friday 2024-09-13: one working day → Saturday 09-14, a 调休 working day.
    let ticket = file(
        &db,
        new_case(
            Channel::Citizen12345,
            "dust",
            Some(a),
            cst(2024, 9, 13, 11, 0),
        ),
    )
    .await;
    assert_eq!(ticket.acceptance_due.as_deref(), Some("2024-09-14"));
    // 12369 on Thursday 2024-02-08: three working days → 02-09 (除夕, working in 2024), 02-18 (Sunday
    // make-up day), 02-19.
    let hotline = file(
        &db,
        new_case(
            Channel::Hotline12369,
            "odour",
            Some(a),
            cst(2024, 2, 8, 9, 0),
        ),
    )
    .await;
    assert_eq!(hotline.acceptance_due.as_deref(), Some("2024-02-19"));
    // 12369 WeChat on Monday 2025-01-27: two working days; 01-28…02-04 off (除夕 now a holiday) → 02-05, 02-06.
    let wechat = file(
        &db,
        new_case(
            Channel::Wechat12369,
            "odour",
            Some(a),
            cst(2025, 1, 27, 9, 0),
        ),
    )
    .await;
    assert_eq!(wechat.acceptance_due.as_deref(), Some("2025-02-06"));
    // Acceptance on 2025-09-26 starts 60 日: 11-25 (a Tuesday).
    let petition = principal(Role::Petition, None);
    let accepted = act(
        &db,
        &petition,
        letter.id,
        CaseAction::Accept { note: None },
        cst(2025, 9, 26, 9, 0),
    )
    .await;
    // The letter was received in 2024; acceptance whenever it happens starts the handling clock.
    let accepted = accepted.unwrap();
    assert_eq!(accepted.handling_due.as_deref(), Some("2025-11-25"));
    assert_eq!(accepted.clock_due.as_deref(), Some("2025-11-25"));
    // 60 日 from 2026-08-03 end on 10-02 (National Day) → 10-08.
    let late = act(
        &db,
        &petition,
        ticket.id,
        CaseAction::Accept { note: None },
        cst(2026, 8, 3, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(late.handling_due.as_deref(), Some("2026-10-08"));
    // A clock that runs into a year without the State Council's notice (2027 as of 2026-12) is computed on the
    // provisional rules and flagged so: 60 日 from 2026-11-30 end on Friday 2027-01-29.
    let provisional = act(
        &db,
        &petition,
        hotline.id,
        CaseAction::Accept { note: None },
        cst(2026, 11, 30, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(provisional.handling_due.as_deref(), Some("2027-01-29"));
    assert!(provisional.calendar_provisional);
    assert!(!provisional.calendar_gap);
});

testkit::db_test!(full_state_machine_and_illegal_steps, |db| {
    let (a, b) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let officer = principal(Role::StreetOfficer, Some(a));
    let other_officer = principal(Role::StreetOfficer, Some(b));
    let leader = principal(Role::Leader, None);
    let t0 = cst(2024, 5, 6, 9, 0);
    let case = file(
        &db,
        new_case(Channel::Hotline12369, "catering_fumes", None, t0),
    )
    .await;
    assert_eq!(case.state, State::Received);
    assert!(case.case_no.starts_with("XF2024-"));
    // Illegal from received.
    for action in [
        CaseAction::Reply {
            result: "x".into(),
            measures: "y".into(),
            penalty_case_ref: None,
        },
        CaseAction::Close {
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
        CaseAction::StartHandling { note: None },
    ] {
        let err = act(&db, &petition, case.id, action, t0 + 60)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    }
    // Only the petition office accepts; a street officer cannot (and cannot see an unassigned case at all).
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::Accept { note: None },
        t0 + 60,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    let err = act(
        &db,
        &leader,
        case.id,
        CaseAction::Accept { note: None },
        t0 + 60,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Accept { note: None },
        t0 + 3600,
    )
    .await
    .unwrap();
    let err = act(
        &db,
        &petition,
        case.id,
        CaseAction::Assign {
            street_id: None,
            department_id: None,
            note: None,
        },
        t0 + 7200,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { .. }));
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Assign {
            street_id: Some(a),
            department_id: None,
            note: None,
        },
        t0 + 7200,
    )
    .await
    .unwrap();
    // Now street A handles it; street B cannot see it.
    let err = act(
        &db,
        &other_officer,
        case.id,
        CaseAction::StartHandling { note: None },
        t0 + 8000,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)));
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::SiteCheck {
            checked_at: None,
            inspectors: "甲".into(),
            findings: "属实".into(),
            violation_found: true,
        },
        t0 + 8000,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, AppError::Conflict(_)),
        "site checks need the handling state"
    );
    act(
        &db,
        &officer,
        case.id,
        CaseAction::StartHandling { note: None },
        t0 + 9000,
    )
    .await
    .unwrap();
    act(
        &db,
        &officer,
        case.id,
        CaseAction::SiteCheck {
            checked_at: Some(t0 + 9500),
            inspectors: "甲、乙".into(),
            findings: "油烟净化器未开启".into(),
            violation_found: true,
        },
        t0 + 10_000,
    )
    .await
    .unwrap();
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::Reply {
            result: "".into(),
            measures: "y".into(),
            penalty_case_ref: None,
        },
        t0 + 11_000,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "result"));
    let replied = act(
        &db,
        &officer,
        case.id,
        CaseAction::Reply {
            result: "责令整改".into(),
            measures: "安装并开启净化器".into(),
            penalty_case_ref: Some("津东环罚〔2024〕1号".into()),
        },
        t0 + 12_000,
    )
    .await
    .unwrap();
    assert_eq!(replied.state, State::Replied);
    assert_eq!(replied.clock_due, None);
    assert_eq!(replied.findings.as_deref(), Some("油烟净化器未开启"));
    // Reopen once, then the second objection is refused.
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Reopen {
            reason: "仍有油烟".into(),
        },
        t0 + 86_400,
    )
    .await
    .unwrap();
    act(
        &db,
        &officer,
        case.id,
        CaseAction::StartHandling { note: None },
        t0 + 90_000,
    )
    .await
    .unwrap();
    act(
        &db,
        &officer,
        case.id,
        CaseAction::Reply {
            result: "复查已整改".into(),
            measures: "复查".into(),
            penalty_case_ref: None,
        },
        t0 + 100_000,
    )
    .await
    .unwrap();
    let err = act(
        &db,
        &petition,
        case.id,
        CaseAction::Reopen {
            reason: "again".into(),
        },
        t0 + 110_000,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
    let closed = act(
        &db,
        &petition,
        case.id,
        CaseAction::Close {
            satisfaction: Satisfaction::Basically,
            note: None,
        },
        t0 + 120_000,
    )
    .await
    .unwrap();
    assert_eq!(closed.state, State::Closed);
    assert_eq!(closed.satisfaction, Some(Satisfaction::Basically));
    let err = act(
        &db,
        &petition,
        case.id,
        CaseAction::Reopen { reason: "x".into() },
        t0 + 130_000,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
    // Every step is in the timeline and the audit log.
    let file = service::case_file(
        &db,
        &petition,
        case.id,
        NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
    )
    .await
    .unwrap();
    let transitions = file
        .timeline
        .iter()
        .filter(|e| e.kind == "transition")
        .count();
    assert_eq!(transitions, 8, "{:#?}", file.timeline);
    assert_eq!(file.site_checks.len(), 1);
    let audited: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'complaint' AND entity_id = $1")
        .bind(case.id.to_string())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(audited, 10); // create + 8 transitions + 1 site check
    let leaked: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE after_json LIKE '%13812345678%' OR before_json LIKE '%13812345678%'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(leaked, 0, "audit snapshots never hold the reporter's phone");
    // Not accepted is final.
    let refused = file_refused(&db, &petition, a).await;
    assert_eq!(refused.state, State::NotAccepted);
    let err = act(
        &db,
        &petition,
        refused.id,
        CaseAction::Accept { note: None },
        now_ts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
});

async fn file_refused(db: &Db, petition: &Principal, street: i64) -> complaints::Complaint {
    let case = file(
        db,
        new_case(
            Channel::Citizen12345,
            "other",
            Some(street),
            cst(2024, 7, 1, 10, 0),
        ),
    )
    .await;
    let err = act(
        db,
        petition,
        case.id,
        CaseAction::NotAccept { reason: " ".into() },
        cst(2024, 7, 1, 11, 0),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "reason"));
    act(
        db,
        petition,
        case.id,
        CaseAction::NotAccept {
            reason: "属于住建部门职责".into(),
        },
        cst(2024, 7, 1, 11, 0),
    )
    .await
    .unwrap()
}

testkit::db_test!(one_extension_of_at_most_thirty_days_with_approval, |db| {
    let (a, _) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let officer = principal(Role::StreetOfficer, Some(a));
    let leader = principal(Role::Leader, None);
    let case = file(
        &db,
        new_case(
            Channel::Visit,
            "noise_construction",
            Some(a),
            cst(2024, 3, 1, 10, 0),
        ),
    )
    .await;
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Accept { note: None },
        cst(2024, 3, 4, 10, 0),
    )
    .await
    .unwrap();
    // 60 日 from 2024-03-04: 05-03 is a holiday (劳动节) → 05-06.
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::RequestExtension {
            days: 31,
            reason: "需监测".into(),
        },
        cst(2024, 4, 1, 10, 0),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "days"));
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::DecideExtension {
            approve: true,
            note: None,
        },
        cst(2024, 4, 1, 10, 0),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    act(
        &db,
        &officer,
        case.id,
        CaseAction::RequestExtension {
            days: 30,
            reason: "需第三方监测".into(),
        },
        cst(2024, 4, 1, 10, 0),
    )
    .await
    .unwrap();
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::RequestExtension {
            days: 10,
            reason: "再延".into(),
        },
        cst(2024, 4, 2, 10, 0),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
    let before = service::case_file(
        &db,
        &leader,
        case.id,
        NaiveDate::from_ymd_opt(2024, 4, 2).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        before.case.complaint.handling_due.as_deref(),
        Some("2024-05-06")
    );
    let extended = act(
        &db,
        &leader,
        case.id,
        CaseAction::DecideExtension {
            approve: true,
            note: Some("同意".into()),
        },
        cst(2024, 4, 2, 10, 0),
    )
    .await
    .unwrap();
    // 90 日 from 2024-03-04 → 06-02 (Sunday) → 06-03.
    assert_eq!(extended.handling_due.as_deref(), Some("2024-06-03"));
    assert_eq!(extended.extension_days, 30);
    let err = act(
        &db,
        &officer,
        case.id,
        CaseAction::RequestExtension {
            days: 5,
            reason: "再延".into(),
        },
        cst(2024, 4, 3, 10, 0),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, AppError::Conflict(_)),
        "only one extension per case"
    );
    let err = act(
        &db,
        &leader,
        case.id,
        CaseAction::DecideExtension {
            approve: true,
            note: None,
        },
        cst(2024, 4, 3, 10, 0),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "nothing pending");
});

testkit::db_test!(repeats_are_linked_and_counted, |db| {
    let (a, _) = streets(&db).await;
    let first = file(
        &db,
        new_case(
            Channel::Hotline12369,
            "catering_fumes",
            Some(a),
            cst(2024, 6, 1, 10, 0),
        ),
    )
    .await;
    assert!(!first.is_repeat);
    // ~111 m north, same category, 10 days later.
    let mut near = new_case(
        Channel::Citizen12345,
        "catering_fumes",
        Some(a),
        cst(2024, 6, 11, 10, 0),
    );
    near.lat = Some(39.101);
    let second = file(&db, near).await;
    assert!(second.is_repeat);
    assert_eq!(second.repeat_count, 1);
    assert_eq!(second.repeat_root_id, Some(first.id));
    let third = file(
        &db,
        new_case(
            Channel::Letter,
            "catering_fumes",
            Some(a),
            cst(2024, 6, 20, 10, 0),
        ),
    )
    .await;
    assert_eq!(third.repeat_count, 2);
    assert_eq!(third.repeat_root_id, Some(first.id));
    // Another category at the same place, a place 2 km away, or a case outside the 90-day window: no link.
    let other = file(
        &db,
        new_case(
            Channel::Letter,
            "noise_social",
            Some(a),
            cst(2024, 6, 21, 10, 0),
        ),
    )
    .await;
    assert!(!other.is_repeat);
    let mut far = new_case(
        Channel::Letter,
        "catering_fumes",
        Some(a),
        cst(2024, 6, 22, 10, 0),
    );
    far.lat = Some(39.12);
    assert!(!file(&db, far).await.is_repeat);
    let late = file(
        &db,
        new_case(
            Channel::Letter,
            "catering_fumes",
            Some(a),
            cst(2024, 12, 1, 10, 0),
        ),
    )
    .await;
    assert!(!late.is_repeat);
    let petition = principal(Role::Petition, None);
    let case_file = service::case_file(
        &db,
        &petition,
        first.id,
        NaiveDate::from_ymd_opt(2024, 7, 1).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        case_file.links.len(),
        2,
        "the first case shows both later repeats"
    );
    // Three cases at one place make it a persistent source.
    let sources = service::persistent_sources(&db, &petition, cst(2024, 12, 2, 0, 0))
        .await
        .unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s.root_case_id == Some(first.id) && s.cases >= 3),
        "{sources:#?}"
    );
    let repeats = service::list(
        &db,
        &petition,
        &complaints::model::ComplaintFilter {
            repeat: Some("1".into()),
            ..Default::default()
        },
        &Default::default(),
        NaiveDate::from_ymd_opt(2024, 12, 2).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(repeats.total, 2);
});

testkit::db_test!(overdue_cases_are_listed_and_escalated_once, |db| {
    let (a, _) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let leader = principal(Role::Leader, None);
    let old = file(
        &db,
        new_case(Channel::Letter, "dust", Some(a), cst(2024, 1, 8, 10, 0)),
    )
    .await;
    act(
        &db,
        &petition,
        old.id,
        CaseAction::Accept { note: None },
        cst(2024, 1, 9, 10, 0),
    )
    .await
    .unwrap();
    // A fresh 12345 ticket: its acceptance clock (1 working day) is due soon.
    let fresh = file(
        &db,
        new_case(Channel::Citizen12345, "water", Some(a), now_ts() - 60),
    )
    .await;
    let today = kernel::time::cst_day(now_ts());
    let filter = |due: &str| complaints::model::ComplaintFilter {
        due: Some(due.into()),
        ..Default::default()
    };
    let overdue = service::list(&db, &leader, &filter("overdue"), &Default::default(), today)
        .await
        .unwrap();
    assert_eq!(
        overdue
            .items
            .iter()
            .map(|v| v.complaint.id)
            .collect::<Vec<_>>(),
        vec![old.id]
    );
    assert!(overdue.items[0].clock_status.overdue);
    let soon = service::list(
        &db,
        &leader,
        &filter("due_soon"),
        &Default::default(),
        today,
    )
    .await
    .unwrap();
    assert!(
        soon.items
            .iter()
            .any(|v| v.complaint.id == fresh.id && v.clock_status.due_soon),
        "{soon:#?}"
    );
    // A street officer may not run the sweep; the leader may, once.
    let officer = principal(Role::StreetOfficer, Some(a));
    assert!(
        service::escalate_overdue(&db, Caller::User(&officer), now_ts())
            .await
            .is_err()
    );
    let escalated = service::escalate_overdue(&db, Caller::User(&leader), now_ts())
        .await
        .unwrap();
    assert_eq!(escalated, vec![old.id]);
    assert!(
        service::escalate_overdue(&db, Caller::User(&leader), now_ts())
            .await
            .unwrap()
            .is_empty()
    );
    let listed = service::list(
        &db,
        &leader,
        &filter("escalated"),
        &Default::default(),
        today,
    )
    .await
    .unwrap();
    assert_eq!(listed.total, 1);
    let file = service::case_file(&db, &leader, old.id, today)
        .await
        .unwrap();
    assert!(file.timeline.iter().any(|e| e.kind == "escalation"));
});

testkit::db_test!(
    intake_outside_office_hours_goes_to_the_officer_on_duty,
    |db| {
        let (a, _) = streets(&db).await;
        let petition = principal(Role::Petition, None);
        let shift = service::add_shift(
            &db,
            Caller::User(&petition),
            complaints::model::NewDutyShift {
                starts_at: cst(2024, 3, 2, 8, 30),
                ends_at: cst(2024, 3, 3, 8, 30),
                duty_role: complaints::model::DutyRole::Officer,
                user_id: None,
                person_name: "孙值班".into(),
                phone: "022-24390002".into(),
                note: String::new(),
            },
            false,
        )
        .await
        .unwrap();
        // Saturday night.
        let night = file(
            &db,
            new_case(
                Channel::Hotline12369,
                "noise_social",
                Some(a),
                cst(2024, 3, 2, 22, 30),
            ),
        )
        .await;
        assert!(night.after_hours);
        assert_eq!(night.duty_shift_id, Some(shift.id));
        // Monday morning: office hours.
        let monday = file(
            &db,
            new_case(
                Channel::Hotline12369,
                "noise_social",
                Some(a),
                cst(2024, 3, 4, 10, 0),
            ),
        )
        .await;
        assert!(!monday.after_hours);
        // Sunday 2024-02-04 is a make-up working day: 10:00 is office hours; a holiday weekday is not.
        let makeup = file(
            &db,
            new_case(
                Channel::Hotline12369,
                "dust",
                Some(a),
                cst(2024, 2, 4, 10, 0),
            ),
        )
        .await;
        assert!(!makeup.after_hours);
        let holiday = file(
            &db,
            new_case(
                Channel::Hotline12369,
                "dust",
                Some(a),
                cst(2024, 2, 14, 10, 0),
            ),
        )
        .await;
        assert!(holiday.after_hours);
        assert_eq!(holiday.duty_shift_id, None, "nobody on the roster then");
        let file = service::case_file(
            &db,
            &petition,
            holiday.id,
            NaiveDate::from_ymd_opt(2024, 2, 14).unwrap(),
        )
        .await
        .unwrap();
        assert!(
            file.timeline
                .iter()
                .any(|e| e.kind == "duty_routing" && e.note.contains("无值班员"))
        );
        // Street officers read the roster but do not write it; a shift that received cases stays.
        let officer = principal(Role::StreetOfficer, Some(a));
        assert!(
            service::shifts(&db, &officer, 0, i64::MAX / 2)
                .await
                .unwrap()
                .len()
                == 1
        );
        assert!(matches!(
            service::delete_shift(&db, &officer, shift.id).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            service::delete_shift(&db, &petition, shift.id).await,
            Err(AppError::Conflict(_))
        ));
    }
);

// --- HTTP ------------------------------------------------------------------------------------------------

async fn http_case(app: &TestApp, street: i64, phone: &str) -> i64 {
    let mut new = new_case(
        Channel::Hotline12369,
        "odour",
        Some(street),
        cst(2024, 8, 5, 10, 0),
    );
    new.reporter_phone = Some(phone.to_string());
    file(&app.state.db, new).await.id
}

testkit::db_test!(street_officers_see_only_their_street, |db| {
    let app = TestApp::new(db).await;
    let own = http_case(&app, app.street_a, "13800000001").await;
    let foreign = http_case(&app, app.street_b, "13800000002").await;
    let token = app.token(Role::StreetOfficer).await;
    let list = app.get_with_token("/api/v1/complaints", &token).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let ids: Vec<i64> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![own]);
    // Filtering for the other street does not widen the scope.
    let probe = app
        .get_with_token(
            &format!("/api/v1/complaints?street_id={}", app.street_b),
            &token,
        )
        .await;
    assert_eq!(probe.json()["total"], 0);
    for path in [
        format!("/api/v1/complaints/{foreign}"),
        format!("/complaints/{foreign}"),
        format!("/api/v1/complaints/{foreign}/evidence/1"),
    ] {
        let reply = app.get_with_token(&path, &token).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!reply.body.contains("13800000002"));
        assert!(!reply.body.contains("饭店油烟"));
    }
    let reply = app
        .json_with_token(
            "POST",
            &format!("/api/v1/complaints/{foreign}/actions"),
            &token,
            r#"{"action":"start_handling"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Its own case it may read; accepting is the petition office's.
    let reply = app
        .get_with_token(&format!("/api/v1/complaints/{own}"), &token)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app
        .json_with_token(
            "POST",
            &format!("/api/v1/complaints/{own}/actions"),
            &token,
            r#"{"action":"accept"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    // The monitoring section and the public have no access at all.
    let reply = app
        .get_with_token("/api/v1/complaints", &app.token(Role::Monitoring).await)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
});

testkit::db_test!(
    reporters_are_masked_for_roles_that_must_not_see_them,
    |db| {
        let app = TestApp::new(db).await;
        let id = http_case(&app, app.street_a, "13912345678").await;
        let mut anonymous = new_case(
            Channel::Letter,
            "dust",
            Some(app.street_a),
            cst(2024, 8, 6, 10, 0),
        );
        anonymous.anonymous = true;
        anonymous.reporter_phone = Some("13700000000".into());
        file(&app.state.db, anonymous).await;
        let petition = app.token(Role::Petition).await;
        let full = app
            .get_with_token(&format!("/api/v1/complaints/{id}"), &petition)
            .await
            .json();
        assert_eq!(full["case"]["reporter_phone"], "13912345678");
        assert_eq!(full["case"]["reporter_name"], "张三丰");
        for role in [Role::Leader, Role::StreetOfficer, Role::Enforcement] {
            let token = app.token(role).await;
            let json = app
                .get_with_token(&format!("/api/v1/complaints/{id}"), &token)
                .await;
            assert_eq!(
                json.json()["case"]["reporter_phone"],
                "139****5678",
                "{role:?}"
            );
            assert_eq!(json.json()["case"]["reporter_name"], "张**");
            let list = app.get_with_token("/api/v1/complaints", &token).await;
            assert!(
                !list.body.contains("13912345678") && !list.body.contains("13700000000"),
                "{role:?}"
            );
            assert!(list.body.contains("匿名"));
            let page = app
                .get_with_token(&format!("/complaints/{id}"), &token)
                .await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(
                page.body.contains("139****5678") && !page.body.contains("13912345678"),
                "{role:?}"
            );
            let export = app
                .send(
                    Request::get("/api/v1/complaints/export.xlsx")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(export.status, StatusCode::OK);
        }
        // The XLSX itself: full for the petition office, masked for the leader.
        let cells = |token: String| {
            let app = &app;
            async move {
                let response = tower::ServiceExt::oneshot(
                    app.router.clone(),
                    Request::get("/api/v1/complaints/export.xlsx")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
                    .await
                    .unwrap();
                use calamine::Reader;
                let mut book: calamine::Xlsx<_> =
                    calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
                let range = book.worksheet_range("信访投诉").unwrap();
                range
                    .rows()
                    .flat_map(|r| r.iter().map(|c| c.to_string()))
                    .collect::<Vec<String>>()
            }
        };
        let petition_cells = cells(petition.clone()).await;
        assert!(petition_cells.contains(&"13912345678".to_string()));
        let leader_cells = cells(app.token(Role::Leader).await).await;
        assert!(
            !leader_cells
                .iter()
                .any(|c| c.contains("13912345678") || c.contains("13700000000"))
        );
        assert!(leader_cells.contains(&"139****5678".to_string()));
        assert!(leader_cells.contains(&"匿名".to_string()));
    }
);

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "qingshan-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

testkit::db_test!(
    evidence_is_checked_by_content_and_served_only_in_scope,
    |db| {
        let app = TestApp::new(db).await;
        let id = http_case(&app, app.street_a, "13800000003").await;
        let token = app.token(Role::Petition).await;
        let upload = |name: &str, bytes: Vec<u8>, token: String, case: i64| {
            let (content_type, body) = multipart(name, &bytes);
            let app = &app;
            async move {
                app.send(
                    Request::post(format!("/api/v1/complaints/{case}/evidence"))
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .header(header::CONTENT_TYPE, content_type)
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
            }
        };
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake but signed".to_vec();
        let stored = upload("../../photo.png", png.clone(), token.clone(), id).await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
        let evidence_id = stored.json()["id"].as_i64().unwrap();
        assert_eq!(stored.json()["original_name"], "photo.png");
        // An executable named .jpg is refused by its content.
        let exe = upload(
            "photo.jpg",
            b"MZ\x90\0\x03\0\0\0 this is not a picture".to_vec(),
            token.clone(),
            id,
        )
        .await;
        assert_eq!(exe.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", exe.body);
        // Too large.
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(7 * 1024 * 1024, 0);
        let large = upload("big.jpg", big, token.clone(), id).await;
        assert!(large.status.is_client_error(), "{}", large.status);
        let files = std::fs::read_dir(app._data.path().join("evidence"))
            .unwrap()
            .count();
        assert_eq!(files, 1, "refused files leave nothing behind");
        // Served to the case's readers, not to another street.
        let path = format!("/api/v1/complaints/{id}/evidence/{evidence_id}");
        let got = app
            .get_with_token(&path, &app.token(Role::StreetOfficer).await)
            .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.content_type(), "image/png");
        assert_eq!(
            got.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff"
        );
        let foreign = http_case(&app, app.street_b, "13800000004").await;
        let stored = upload(
            "b.pdf",
            b"%PDF-1.4 minimal".to_vec(),
            token.clone(),
            foreign,
        )
        .await;
        assert_eq!(stored.status, StatusCode::CREATED);
        let other_id = stored.json()["id"].as_i64().unwrap();
        let probe = app
            .get_with_token(
                &format!("/api/v1/complaints/{foreign}/evidence/{other_id}"),
                &app.token(Role::StreetOfficer).await,
            )
            .await;
        assert_eq!(probe.status, StatusCode::NOT_FOUND);
        // Nor through a case of one's own street with another case's file id.
        let probe = app
            .get_with_token(
                &format!("/api/v1/complaints/{id}/evidence/{other_id}"),
                &app.token(Role::StreetOfficer).await,
            )
            .await;
        assert_eq!(probe.status, StatusCode::NOT_FOUND);
        let anonymous = app
            .send(Request::get(&path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
);

testkit::db_test!(a_case_walked_through_in_the_browser, |db| {
    let app = TestApp::new(db).await;
    let session = app.session(Role::Petition).await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        let cookie = session.cookie.clone();
        let csrf = session.csrf.clone();
        async move {
            let mut pairs = form;
            pairs.push(("_csrf", csrf));
            app.send(
                Request::post(path)
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
                    .unwrap(),
            )
            .await
        }
    };
    let created = post(
        "/complaints/new".into(),
        vec![
            ("channel", "citizen_12345".into()),
            ("category", "noise_construction".into()),
            ("title", "工地夜间施工".into()),
            ("description", "凌晨一点还在打桩".into()),
            ("street_id", app.street_a.to_string()),
            ("reporter_name", "李四".into()),
            ("reporter_phone", "13600000000".into()),
            ("received_at", "2024-10-08T09:00".into()),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let get = |path: String| {
        let app = &app;
        let cookie = session.cookie.clone();
        async move {
            app.send(
                Request::get(path)
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let page = get(location.clone()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("2024-10-09"),
        "12345: one working day after 10-08"
    );
    assert!(page.body.contains("工程所在地人民政府指定的部门"));
    for form in [
        vec![("action", "accept".to_string())],
        vec![
            ("action", "assign".into()),
            ("street_id", app.street_a.to_string()),
        ],
        vec![("action", "start_handling".into())],
        vec![
            ("action", "site_check".into()),
            ("inspectors", "甲".into()),
            ("findings", "属实".into()),
            ("violation_found", "1".into()),
        ],
        vec![
            ("action", "reply".into()),
            ("result", "已责令停止夜间施工".into()),
            ("measures", "责令改正".into()),
        ],
        vec![
            ("action", "close".into()),
            ("satisfaction", "satisfied".into()),
        ],
    ] {
        let reply = post(format!("{location}/action"), form.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{form:?}: {}",
            reply.body
        );
    }
    // An illegal step comes back as the page with a message.
    let reply = post(
        format!("{location}/action"),
        vec![("action", "accept".into())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = get(location.clone()).await;
    assert!(page.body.contains("已办结") && page.body.contains("满意"));
    assert!(page.body.contains("已答复 → 已办结") && page.body.contains("现场核查"));
    for path in [
        "/complaints",
        "/complaints/map",
        "/complaints/stats?year=2024",
        "/complaints/duty",
        "/complaints/new",
    ] {
        let reply = get(path.to_string()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let stats = app
        .get_with_token(
            "/api/v1/complaints/stats?year=2024",
            &app.token(Role::Leader).await,
        )
        .await
        .json();
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["noise_survey"][0]["construction"], 1);
    let doc = app
        .get_with_token("/api/v1/openapi.json", &app.token(Role::Leader).await)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/api/v1/complaints",
        "/api/v1/complaints/{id}/actions",
        "/api/v1/complaints/duty",
    ] {
        assert!(
            doc.json()["paths"].get(path).is_some(),
            "{path} in the OpenAPI document"
        );
    }
    let map = app
        .get_with_token(
            "/api/v1/complaints/map?year=2024",
            &app.token(Role::Leader).await,
        )
        .await;
    assert_eq!(map.status, StatusCode::OK);
    // Settings through the page: a wider repeat distance, office hours 09:00–18:00.
    let reply = post(
        "/complaints/settings".into(),
        vec![
            ("repeat_window_days", "60".into()),
            ("repeat_distance_m", "500".into()),
            ("due_soon_working_days", "2".into()),
            ("office_start", "09:00".into()),
            ("office_end", "18:00".into()),
            ("persistent_min_cases", "4".into()),
            ("persistent_window_days", "180".into()),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let saved = service::settings(&app.state.db).await.unwrap();
    assert_eq!(saved.office_start_minute, 9 * 60);
    assert_eq!(saved.repeat_distance_m, 500.0);
    let reply = post(
        "/complaints/settings".into(),
        vec![
            ("repeat_window_days", "0".into()),
            ("repeat_distance_m", "500".into()),
            ("due_soon_working_days", "2".into()),
            ("office_start", "09:00".into()),
            ("office_end", "18:00".into()),
            ("persistent_min_cases", "4".into()),
            ("persistent_window_days", "180".into()),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The escalation button leads to the escalated list.
    let reply = post("/complaints/escalate".into(), Vec::new()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.headers.get(header::LOCATION).unwrap(),
        "/complaints?due=escalated"
    );
    // Forms without the CSRF token are refused.
    let reply = app
        .send(
            Request::post(format!("{location}/action"))
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("action=reopen&reason=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
});

testkit::db_test!(demo_data_is_deterministic_and_simulated, |db| {
    let (a, _) = streets(&db).await;
    let _ = a;
    let today = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
    let summary = complaints::demo::generate(&db, 7, today).await.unwrap();
    assert!(summary.complaints > 50, "{summary:?}");
    assert!(summary.shifts > 100);
    assert!(summary.repeats > 0, "{summary:?}");
    let real: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM complaints WHERE simulated = 0")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(real, 0);
});

testkit::db_test!(pages_render_with_demo_data, |db| {
    let app = TestApp::new(db).await;
    let today = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    complaints::demo::generate(&app.state.db, 11, today)
        .await
        .unwrap();
    let leader = app.token(Role::Leader).await;
    let first: i64 = sqlx::query_scalar("SELECT CAST(MIN(id) AS BIGINT) FROM complaints")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    for path in [
        "/complaints".to_string(),
        "/complaints?due=overdue".to_string(),
        "/complaints?repeat=1&month=2024-02".to_string(),
        "/complaints/stats?year=2024".to_string(),
        "/complaints/map?year=2024&category=catering_fumes".to_string(),
        "/complaints/duty".to_string(),
        format!("/complaints/{first}"),
        "/api/v1/complaints/persistent".to_string(),
        "/api/v1/complaints/export.xlsx?month=2024-01".to_string(),
    ] {
        let reply = app.get_with_token(&path, &leader).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    // Street officers see only their street's share of the statistics.
    let all = app
        .get_with_token("/api/v1/complaints/stats?year=2024", &leader)
        .await
        .json();
    let own = app
        .get_with_token(
            "/api/v1/complaints/stats?year=2024",
            &app.token(Role::StreetOfficer).await,
        )
        .await
        .json();
    assert!(own["total"].as_i64().unwrap() < all["total"].as_i64().unwrap());
    assert_eq!(own["by_street"].as_array().unwrap().len(), 1);
});

/// The demo's full size (2024-01-01 to 2026-11-30, about 1,500 cases) on SQLite, for timing:
/// `cargo test -p complaints --test it full_demo -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn full_demo_on_sqlite() {
    let test_db = testkit::TestDb::sqlite().await;
    streets(&test_db.db).await;
    let started = std::time::Instant::now();
    let summary = complaints::demo::generate(
        &test_db.db,
        2024,
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    )
    .await
    .unwrap();
    eprintln!("{summary:?} in {:?}", started.elapsed());
    assert!((1_200..=1_800).contains(&summary.complaints), "{summary:?}");
    assert!(summary.escalated > 0 && summary.repeats > 0 && summary.open > 0);
}

/// A registered enterprise in street `street` and a department, through the registry's own functions.
async fn enterprise_and_department(db: &Db, street: i64) -> (i64, i64) {
    use registry::model::{DepartmentInput, DepartmentKind, EnterpriseInput, Uscc};
    let mut tx = db.begin_write().await.unwrap();
    let enterprise = EnterpriseInput {
        uscc: Uscc::with_check_char("91120110MA0000001")
            .unwrap()
            .to_string(),
        name: "东丽测试餐饮有限公司".into(),
        industry_code: "H6210".into(),
        industry_name: "正餐服务".into(),
        street_id: street,
        address: "天津市东丽区测试路1号".into(),
        ..Default::default()
    };
    let enterprises = registry::service::seed_enterprises(
        &mut tx,
        "test",
        false,
        &[registry::service::SeedEnterprise {
            enterprise,
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let departments = registry::service::seed_departments(
        &mut tx,
        "test",
        &[DepartmentInput {
            code: "ZFZD".into(),
            name: "执法支队".into(),
            kind: DepartmentKind::Bureau,
            duties: String::new(),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (enterprises[0].id, departments[0])
}

// Street, enterprise and department names come from the registry: on the case, in its audit entry, in the
// statistics and in the persistent sources.
testkit::db_test!(names_come_from_the_registry, |db| {
    let (a, _) = streets(&db).await;
    let (enterprise, department) = enterprise_and_department(&db, a).await;
    let petition = principal(Role::Petition, None);
    let at = cst(2024, 11, 4, 10, 0);
    let about_enterprise = |n: i64| NewComplaint {
        enterprise_id: Some(enterprise),
        ..new_case(Channel::Hotline12369, "catering_fumes", None, at + n * 3600)
    };
    let case = file(&db, about_enterprise(0)).await;
    assert_eq!(
        (
            case.street_id,
            case.street_name.as_deref(),
            case.enterprise_name.as_deref()
        ),
        (Some(a), Some("张贵庄街道"), Some("东丽测试餐饮有限公司"))
    );
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Accept { note: None },
        at + 60,
    )
    .await
    .unwrap();
    let assigned = act(
        &db,
        &petition,
        case.id,
        CaseAction::Assign {
            street_id: None,
            department_id: Some(department),
            note: None,
        },
        at + 120,
    )
    .await
    .unwrap();
    assert_eq!(assigned.department_name.as_deref(), Some("执法支队"));
    let entries = kernel::audit::search(
        &db,
        &kernel::audit::AuditFilter {
            entity: Some("complaint".into()),
            entity_id: Some(case.id.to_string()),
            action: Some("assign".into()),
            ..Default::default()
        },
        &kernel::PageQuery::default(),
    )
    .await
    .unwrap();
    let after = entries.items[0].after.as_ref().unwrap();
    assert_eq!(
        (&after["street_name"], &after["department_name"]),
        (
            &serde_json::json!("张贵庄街道"),
            &serde_json::json!("执法支队")
        )
    );

    file(&db, about_enterprise(1)).await;
    file(&db, about_enterprise(2)).await;
    file(
        &db,
        new_case(Channel::Letter, "noise_construction", None, at),
    )
    .await;
    let leader = principal(Role::Leader, None);
    let stats = service::statistics(&db, &leader, 2024, cst_day_of(at + 86_400))
        .await
        .unwrap();
    let by_street: Vec<(String, i64)> = stats
        .by_street
        .iter()
        .map(|c| (c.label.clone(), c.count))
        .collect();
    assert_eq!(
        by_street,
        vec![
            ("张贵庄街道".to_string(), 3),
            ("（未定街道）".to_string(), 1)
        ]
    );
    assert_eq!(stats.noise_survey[0].street, "（未定街道）");
    let sources = service::persistent_sources(&db, &petition, at + 86_400)
        .await
        .unwrap();
    let source = sources
        .iter()
        .find(|s| s.enterprise_id == Some(enterprise))
        .expect("the enterprise is a persistent source");
    assert_eq!(
        (
            source.label.as_str(),
            source.street_name.as_deref(),
            source.cases
        ),
        ("东丽测试餐饮有限公司", Some("张贵庄街道"), 3)
    );
});

fn cst_day_of(ts: i64) -> NaiveDate {
    kernel::time::cst_day(ts)
}
