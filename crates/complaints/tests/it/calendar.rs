//! The calendar as data (provisional years replaced by the official one), inspection handovers with their
//! own deadline, and evidence on closed cases.

use kernel::calendar::YearStatus;
use workcal::model::{CalendarDay, DayKind, YearInput};

use super::*;

fn day(date: &str, kind: DayKind, name: &str) -> CalendarDay {
    CalendarDay {
        date: date.into(),
        kind,
        name: name.into(),
    }
}

/// A made-up official 2027 (the real notice is not out): 元旦 01-01…03, a Spring Festival break
/// 02-05…02-11 with make-up Sunday 01-31 and Saturday 02-20, and the fixed-date holidays.
fn official_2027() -> YearInput {
    let mut days = vec![
        day("2027-01-01", DayKind::Rest, "元旦"),
        day("2027-01-02", DayKind::Rest, "元旦"),
        day("2027-01-03", DayKind::Rest, "元旦"),
        day("2027-01-31", DayKind::Work, "春节调休上班"),
        day("2027-02-20", DayKind::Work, "春节调休上班"),
        day("2027-05-03", DayKind::Rest, "劳动节"),
        day("2027-10-01", DayKind::Rest, "国庆节"),
    ];
    for d in 5..=11 {
        days.push(day(&format!("2027-02-{d:02}"), DayKind::Rest, "春节"));
    }
    YearInput {
        status: YearStatus::Official,
        notice: "国务院办公厅关于2027年部分节假日安排的通知（测试数据）".into(),
        notice_date: Some("2026-11-20".into()),
        note: String::new(),
        days,
        version: None,
    }
}

async fn event_notes(db: &Db, id: i64, kind: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT note FROM complaint_events WHERE complaint_id = $1 AND kind = $2 ORDER BY id",
    )
    .bind(id)
    .bind(kind)
    .fetch_all(db.pool())
    .await
    .unwrap()
}

testkit::db_test!(deadlines_across_the_2026_2027_new_year, |db| {
    let (a, _) = streets(&db).await;
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    // The database's calendar: 2023–2026 official (seeded), 2027 provisional by rule.
    let cal = workcal::service::calendar(&db).await.unwrap();
    let acceptance = |channel, day| service::acceptance_due(&cal, channel, day, None);
    // 12369 on Wednesday 2026-12-30: 3 个工作日 → 12-31, (元旦 Friday 01-01, weekend) 01-04, 01-05.
    let due = acceptance(Channel::Hotline12369, d(2026, 12, 30));
    assert_eq!(due.date.as_deref(), Some("2027-01-05"));
    assert!(due.provisional && !due.gap);
    // 12345 on Thursday 2026-12-31: 1 个工作日 skips 元旦 and the weekend → Monday 01-04.
    assert_eq!(
        acceptance(Channel::Citizen12345, d(2026, 12, 31))
            .date
            .as_deref(),
        Some("2027-01-04")
    );
    // A letter on 2026-12-17: 15 日 end on 元旦 → the next working day, Monday 01-04.
    assert_eq!(
        acceptance(Channel::Letter, d(2026, 12, 17)).date.as_deref(),
        Some("2027-01-04")
    );
    // Entirely inside 2026: official, not provisional.
    let early = acceptance(Channel::Citizen12345, d(2026, 12, 28));
    assert_eq!(early.date.as_deref(), Some("2026-12-29"));
    assert!(!early.provisional);
    // A stored case: received 2026-11-30, accepted 2026-12-30 → 60 日 end Sunday 2027-02-28 → Monday 03-01.
    let hotline = file(
        &db,
        new_case(
            Channel::Hotline12369,
            "odour",
            Some(a),
            cst(2026, 11, 30, 10, 0),
        ),
    )
    .await;
    assert_eq!(hotline.acceptance_due.as_deref(), Some("2026-12-03"));
    assert!(!hotline.calendar_provisional);
    let petition = principal(Role::Petition, None);
    let accepted = act(
        &db,
        &petition,
        hotline.id,
        CaseAction::Accept { note: None },
        cst(2026, 12, 30, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(accepted.handling_due.as_deref(), Some("2027-03-01"));
    assert!(accepted.calendar_provisional);
    // The list filter finds it.
    let provisional = complaints::model::ComplaintFilter {
        due: Some("provisional".into()),
        ..Default::default()
    };
    let listed = service::list(
        &db,
        &petition,
        &provisional,
        &kernel::PageQuery::default(),
        d(2026, 12, 30),
    )
    .await
    .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|v| v.complaint.id)
            .collect::<Vec<_>>(),
        vec![hotline.id]
    );
    // The API and the timeline say so.
    let view = service::case_file(&db, &petition, hotline.id, d(2026, 12, 30))
        .await
        .unwrap();
    assert!(view.case.clock_status.provisional);
    assert_eq!(view.case.clock_status.due.as_deref(), Some("2027-03-01"));
    let notes = event_notes(&db, hotline.id, "transition").await;
    assert!(
        notes[0].contains("2027-03-01（暂定，待国务院通知）"),
        "{notes:?}"
    );
});

testkit::db_test!(an_official_year_replaces_the_provisional_one, |db| {
    let (a, _) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let admin = principal(Role::Admin, None);
    // A letter accepted on 2026-12-10: 60 日 end Monday 2027-02-08, a working day on the provisional rules.
    let letter = file(
        &db,
        new_case(Channel::Letter, "odour", Some(a), cst(2026, 11, 20, 10, 0)),
    )
    .await;
    let accepted = act(
        &db,
        &petition,
        letter.id,
        CaseAction::Accept { note: None },
        cst(2026, 12, 10, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(accepted.handling_due.as_deref(), Some("2027-02-08"));
    assert!(accepted.calendar_provisional);
    // Another accepted on 2026-10-09: 60 日 end 2026-12-08, not touched by 2027.
    let older = file(
        &db,
        new_case(Channel::Letter, "dust", Some(a), cst(2026, 10, 8, 10, 0)),
    )
    .await;
    let older = act(
        &db,
        &petition,
        older.id,
        CaseAction::Accept { note: None },
        cst(2026, 10, 9, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(older.handling_due.as_deref(), Some("2026-12-08"));
    // Only administrators enter a year.
    let refused = workcal::service::save_year(&db, &petition, 2027, official_2027()).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    // The notice is entered: 02-08 is now inside the Spring Festival break → the next working day, 02-12.
    let (saved, created) = workcal::service::save_year(&db, &admin, 2027, official_2027())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(saved.summary.status, YearStatus::Official);
    let today = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();
    let now = service::case_file(&db, &petition, letter.id, today)
        .await
        .unwrap();
    let c = &now.case.complaint;
    assert_eq!(c.handling_due.as_deref(), Some("2027-02-12"));
    assert_eq!(c.clock_due.as_deref(), Some("2027-02-12"));
    assert!(!c.calendar_provisional);
    assert!(!now.case.clock_status.provisional);
    let notes = event_notes(&db, letter.id, "calendar").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("2027-02-08") && notes[0].contains("2027-02-12"),
        "{notes:?}"
    );
    // The untouched case got no entry.
    assert!(event_notes(&db, older.id, "calendar").await.is_empty());
    // Recomputing again changes nothing (the fingerprint is stored).
    service::case_file(&db, &petition, letter.id, today)
        .await
        .unwrap();
    assert_eq!(event_notes(&db, letter.id, "calendar").await.len(), 1);
    // A stale version is a conflict; the change is audited.
    let mut stale = official_2027();
    stale.version = Some(0);
    let conflict = workcal::service::save_year(&db, &admin, 2027, stale).await;
    assert!(
        matches!(conflict, Err(AppError::Conflict(_))),
        "{conflict:?}"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'working_calendar_year' AND entity_id = '2027'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Turning the year back to provisional (with the same days) marks the dates provisional again.
    let mut back = official_2027();
    back.status = YearStatus::Provisional;
    back.version = Some(saved.summary.version);
    workcal::service::save_year(&db, &admin, 2027, back)
        .await
        .unwrap();
    let now = service::case_file(&db, &petition, letter.id, today)
        .await
        .unwrap();
    assert!(now.case.complaint.calendar_provisional);
    assert_eq!(
        now.case.complaint.handling_due.as_deref(),
        Some("2027-02-12")
    );
});

testkit::db_test!(handovers_carry_their_own_deadline, |db| {
    let (a, _) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let handler = principal(Role::Enforcement, None);
    let received = cst(2026, 11, 2, 10, 0);
    let handover = |deadline: Option<&str>, reference: Option<&str>| NewComplaint {
        handover_deadline: deadline.map(str::to_string),
        handover_ref: reference.map(str::to_string),
        ..new_case(Channel::CentralInspection, "odour", Some(a), received)
    };
    let field = |r: Result<complaints::Complaint, AppError>| match r {
        Err(AppError::Validation { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    let system = Caller::System("test");
    // Required for a handover, a date, not before receipt, not over a year ahead.
    for bad in [
        None,
        Some("15 days"),
        Some("2026-11-01"),
        Some("2028-01-01"),
    ] {
        assert_eq!(
            field(service::file_complaint(&db, system, handover(bad, None), false).await),
            "handover_deadline",
            "{bad:?}"
        );
    }
    // Other channels carry none.
    let mut letter = new_case(Channel::Letter, "odour", Some(a), received);
    letter.handover_deadline = Some("2026-11-20".into());
    assert_eq!(
        field(service::file_complaint(&db, system, letter, false).await),
        "handover_deadline"
    );
    let case = file(&db, handover(Some("2026-11-16"), Some("D3SX202611020018"))).await;
    assert_eq!(case.handover_deadline.as_deref(), Some("2026-11-16"));
    assert_eq!(case.handover_ref, "D3SX202611020018");
    // Acceptance: 1 个工作日 → 11-03.
    assert_eq!(case.acceptance_due.as_deref(), Some("2026-11-03"));
    // A same-day deadline caps the acceptance clock.
    let urgent = file(&db, handover(Some("2026-11-02"), None)).await;
    assert_eq!(urgent.acceptance_due.as_deref(), Some("2026-11-02"));
    // Accepted: the handling due date is the handing body's, not 60 日.
    let accepted = act(
        &db,
        &petition,
        case.id,
        CaseAction::Accept { note: None },
        cst(2026, 11, 3, 9, 0),
    )
    .await
    .unwrap();
    assert_eq!(accepted.handling_due.as_deref(), Some("2026-11-16"));
    assert_eq!(accepted.clock_due.as_deref(), Some("2026-11-16"));
    // No extension by the bureau.
    let extension = act(
        &db,
        &handler,
        case.id,
        CaseAction::RequestExtension {
            days: 10,
            reason: "需要监测".into(),
        },
        cst(2026, 11, 4, 9, 0),
    )
    .await;
    assert!(
        matches!(extension, Err(AppError::Conflict(_))),
        "{extension:?}"
    );
    // Due soon on 11-12 (3 working days: 11-13, 11-16), overdue from 11-17, and escalated then.
    let filter = |due: &str| complaints::model::ComplaintFilter {
        due: Some(due.into()),
        ..Default::default()
    };
    let page = kernel::PageQuery::default();
    let ids = |p: kernel::Page<complaints::model::ComplaintView>| {
        p.items.iter().map(|v| v.complaint.id).collect::<Vec<_>>()
    };
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let soon = service::list(&db, &petition, &filter("due_soon"), &page, d(11, 12))
        .await
        .unwrap();
    assert!(ids(soon).contains(&case.id));
    // A deadline on a Saturday (11-14): on Tuesday 11-10 three working days are left (11-11…11-13), so it is
    // due soon in the list as on the case.
    let saturday = file(&db, handover(Some("2026-11-14"), None)).await;
    let saturday = act(
        &db,
        &petition,
        saturday.id,
        CaseAction::Accept { note: None },
        cst(2026, 11, 3, 9, 0),
    )
    .await
    .unwrap();
    let listed = service::list(&db, &petition, &filter("due_soon"), &page, d(11, 10))
        .await
        .unwrap();
    let flagged = listed
        .items
        .iter()
        .find(|v| v.complaint.id == saturday.id)
        .map(|v| (v.clock_status.due_soon, v.clock_status.working_days_left));
    assert_eq!(flagged, Some((true, Some(3))));
    let listed = service::list(&db, &petition, &filter("due_soon"), &page, d(11, 9))
        .await
        .unwrap();
    assert!(!ids(listed).contains(&saturday.id));
    let overdue = service::list(&db, &petition, &filter("overdue"), &page, d(11, 16))
        .await
        .unwrap();
    assert!(!ids(overdue).contains(&case.id));
    let overdue = service::list(&db, &petition, &filter("overdue"), &page, d(11, 17))
        .await
        .unwrap();
    assert!(ids(overdue).contains(&case.id));
    let escalated = service::escalate_overdue(&db, system, cst(2026, 11, 16, 20, 0))
        .await
        .unwrap();
    assert!(!escalated.contains(&case.id));
    let escalated = service::escalate_overdue(&db, system, cst(2026, 11, 17, 8, 0))
        .await
        .unwrap();
    assert!(escalated.contains(&case.id));
    // Reopened after a reply, the handover keeps its deadline.
    for (action, at) in [
        (
            CaseAction::Assign {
                street_id: Some(a),
                department_id: None,
                note: None,
            },
            cst(2026, 11, 17, 9, 0),
        ),
        (
            CaseAction::StartHandling { note: None },
            cst(2026, 11, 17, 10, 0),
        ),
        (
            CaseAction::Reply {
                result: "已整改".into(),
                measures: "停产整治".into(),
                penalty_case_ref: None,
            },
            cst(2026, 11, 18, 10, 0),
        ),
        (
            CaseAction::Reopen {
                reason: "群众不满意".into(),
            },
            cst(2026, 11, 19, 10, 0),
        ),
    ] {
        act(&db, &petition, case.id, action, at).await.unwrap();
    }
    let reopened = service::case_file(&db, &petition, case.id, d(11, 19))
        .await
        .unwrap();
    assert_eq!(
        reopened.case.complaint.clock_due.as_deref(),
        Some("2026-11-16")
    );
    assert!(reopened.case.clock_status.overdue);
    // The handing body grants more time: the petition office records the new deadline.
    let change = |deadline: &str| CaseAction::ChangeHandoverDeadline {
        deadline: deadline.into(),
        note: Some("督察组同意延至12月20日".into()),
    };
    let at = cst(2026, 11, 19, 11, 0);
    let refused = act(&db, &handler, case.id, change("2026-12-20"), at).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    for bad in ["12-20", "2026-11-01"] {
        let r = act(&db, &petition, case.id, change(bad), at).await;
        assert!(
            matches!(&r, Err(AppError::Validation { field, .. }) if field == "deadline"),
            "{bad}: {r:?}"
        );
    }
    let not_handover = file(&db, new_case(Channel::Letter, "odour", Some(a), received)).await;
    let r = act(&db, &petition, not_handover.id, change("2026-12-20"), at).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "{r:?}");
    let changed = act(&db, &petition, case.id, change("2026-12-20"), at)
        .await
        .unwrap();
    assert_eq!(changed.handover_deadline.as_deref(), Some("2026-12-20"));
    assert_eq!(changed.handling_due.as_deref(), Some("2026-12-20"));
    assert_eq!(changed.clock_due.as_deref(), Some("2026-12-20"));
    assert_eq!(changed.state, State::Reopened);
    let notes = event_notes(&db, case.id, "handover_deadline").await;
    assert!(notes[0].contains("2026-11-16 → 2026-12-20"), "{notes:?}");
});

testkit::db_test!(closed_cases_take_no_new_evidence, |db| {
    let (a, _) = streets(&db).await;
    let petition = principal(Role::Petition, None);
    let case = file(
        &db,
        new_case(Channel::Letter, "odour", Some(a), cst(2026, 3, 2, 10, 0)),
    )
    .await;
    let steps = [
        CaseAction::Accept { note: None },
        CaseAction::Assign {
            street_id: Some(a),
            department_id: None,
            note: None,
        },
        CaseAction::StartHandling { note: None },
        CaseAction::Reply {
            result: "已处理".into(),
            measures: "责令整改".into(),
            penalty_case_ref: None,
        },
    ];
    for (i, step) in steps.into_iter().enumerate() {
        act(
            &db,
            &petition,
            case.id,
            step,
            cst(2026, 3, 3 + i as u32, 10, 0),
        )
        .await
        .unwrap();
        // Every open state, replied included, takes evidence.
        service::require_case_taking_evidence(&db, &petition, case.id)
            .await
            .unwrap();
    }
    act(
        &db,
        &petition,
        case.id,
        CaseAction::Close {
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
        cst(2026, 3, 10, 10, 0),
    )
    .await
    .unwrap();
    let refused = service::require_case_taking_evidence(&db, &petition, case.id).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    // Reading it stays possible.
    service::require_case(&db, &petition, case.id, kernel::Action::Read)
        .await
        .unwrap();
});
