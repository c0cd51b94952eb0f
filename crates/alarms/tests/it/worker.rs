//! The worker over stored data.

use alarms::service;
use testkit::db_test;

use super::*;

/// Planted demo history of 8 outlets (3 days from DAY0 − 3 days to DAY0 + 10:30), judged up to DAY0 11:00.
async fn planted(db: &Db) -> Vec<(i64, i64, i64)> {
    let streets = seed_streets(db, 8).await;
    let outlets = seed_outlets(db, &streets).await;
    let until = DAY0 + 10 * 3600 + 1800;
    let summary = alarms::demo::simulate_outlet_history(db, 7, until)
        .await
        .unwrap();
    assert_eq!((summary.permits, summary.outlets), (8, 8), "{summary}");
    outlets
}

fn describe(db_alarms: &[alarms::model::AlarmRecord], points: &[(i64, i64, i64)]) -> Vec<String> {
    let mut out: Vec<String> = db_alarms
        .iter()
        .map(|a| {
            let index = points.iter().position(|p| p.2 == a.point_id).unwrap();
            format!(
                "{index} {} {} {}h+{}m",
                a.rule,
                a.factor.as_deref().unwrap_or("-"),
                (a.from_ts - (DAY0 - 3 * 86_400)) / 3600,
                (a.to_ts - a.from_ts) / 60
            )
        })
        .collect();
    out.sort();
    out
}

async fn all_alarms(db: &Db) -> Vec<alarms::model::AlarmRecord> {
    alarms::repo::all(db, &Default::default(), None, None)
        .await
        .unwrap()
}

/// What the demo plants (alarms::demo::PLANTS), as the worker must find it: outlet index, rule, factor, start in
/// hours after the history's first midnight, length. Outlets 5–7 are clean and raise nothing.
const EXPECTED: [&str; 8] = [
    "0 exceedance a21026 26h+120m",
    "0 exceedance a21026 2h+120m",
    "0 exceedance a21026 50h+120m",
    "1 constant_value a21002 33h+360m",
    // A zero line is constant and, after a normal level, a step to a flat line: one cause, two rules.
    "2 constant_value a34013 37h+300m",
    "2 step_then_flat a34013 37h+300m",
    "3 offline - 20h+120m",
    "4 step_then_flat a21026 58h+180m",
];

db_test!(
    worker_finds_exactly_the_planted_patterns_and_reruns_store_nothing,
    |db| {
        let points = planted(&db).await;
        let now = DAY0 + 11 * 3600 + 120;
        let first = service::evaluate_due(&db, now).await.unwrap();
        assert_eq!(
            (first.points, first.evaluated, first.raised, first.extended),
            (8, 8, 8, 0)
        );
        let stored = all_alarms(&db).await;
        assert_eq!(describe(&stored, &points), EXPECTED);
        assert!(
            stored
                .iter()
                .all(|a| a.state == "raised" && a.simulated && a.raised_at == now)
        );
        // The exceedances quote hourly converted values above the limit.
        let exceedance = stored.iter().find(|a| a.rule == "exceedance").unwrap();
        assert_eq!(exceedance.values.len(), 2);
        assert!(
            exceedance.values.iter().all(|v| v.value > 50.0),
            "{:?}",
            exceedance.values
        );
        assert_eq!(exceedance.severity, "high");

        // The same hour again: the watermarks say done.
        let again = service::evaluate_due(&db, now + 600).await.unwrap();
        assert_eq!((again.evaluated, again.raised, again.extended), (0, 0, 0));
        // A manual rerun of the whole span, twice: nothing new.
        for _ in 0..2 {
            let rerun =
                service::evaluate_range(&db, DAY0 - 3 * 86_400, DAY0 + 11 * 3600, None, now + 900)
                    .await
                    .unwrap();
            assert_eq!((rerun.evaluated, rerun.raised, rerun.extended), (8, 0, 0));
        }
        // The next hour has no data yet (the history stops at 10:30): only the gap since then, which is under the
        // offline threshold when judged at 12:00 (90 minutes — so offline from 10:30), is new.
        let next = service::evaluate_due(&db, DAY0 + 12 * 3600 + 60)
            .await
            .unwrap();
        assert_eq!(next.evaluated, 8);
        let after = all_alarms(&db).await;
        let new: Vec<_> = after
            .iter()
            .filter(|a| a.raised_at == DAY0 + 12 * 3600 + 60)
            .collect();
        assert_eq!(
            new.len(),
            8,
            "every outlet is offline since 10:30: {:?}",
            describe(&after, &points)
        );
        assert!(
            new.iter()
                .all(|a| a.rule == "offline" && a.from_ts == DAY0 + 10 * 3600 + 1800)
        );
        assert_eq!(describe(&after, &points).len(), EXPECTED.len() + 8);
        // And the hour after extends those eight, raising nothing.
        let later = service::evaluate_due(&db, DAY0 + 13 * 3600 + 60)
            .await
            .unwrap();
        assert_eq!((later.raised, later.extended), (0, 8));
        let offline = alarms::repo::get(&db, new[0].id).await.unwrap().unwrap();
        assert_eq!(offline.to_ts, DAY0 + 13 * 3600);
    }
);

db_test!(bad_manual_spans_are_refused, |db| {
    assert!(matches!(
        service::evaluate_range(&db, 100, 100, None, 0).await,
        Err(kernel::AppError::Validation { ref field, .. }) if field == "to"
    ));
    assert!(matches!(
        service::evaluate_range(&db, 0, 200 * 86_400, None, 0).await,
        Err(kernel::AppError::Validation { ref field, .. }) if field == "to"
    ));
    assert!(matches!(
        service::evaluate_range(&db, i64::MIN, i64::MAX, None, 0).await,
        Err(kernel::AppError::Validation { ref field, .. }) if field == "to"
    ));
    assert!(matches!(
        service::evaluate_range(&db, 0, 86_400, Some(999), 0).await,
        Err(kernel::AppError::Validation { ref field, .. }) if field == "point"
    ));
});

/// A CST `YYYYMMDDhhmmss000` QN for a UTC instant.
fn qn(ts: i64) -> String {
    kernel::time::to_cst(ts)
        .format("%Y%m%d%H%M%S000")
        .to_string()
}

db_test!(
    device_clock_and_crc_failures_from_the_gateway_raise_device_alarms,
    |db| {
        let points = planted(&db).await;
        let clean = points[5].2;
        let device: i64 = sqlx::query_scalar(
        "INSERT INTO devices (mn, password, protocol, crc_mode, point_id, created_at, updated_at) \
         VALUES ('MN-TEST-5', '123456', '2017', 'strict', $1, 0, 0) RETURNING id",
    )
    .bind(clean)
    .fetch_one(db.pool())
    .await
    .unwrap();
        // Ten packets between 08:00 and 08:10 whose QN runs 20 minutes ahead of our clock.
        for i in 0..10 {
            let received = DAY0 + 8 * 3600 + i * 60;
            sqlx::query(
            "INSERT INTO hj212_packets (received_at, peer, mn, device_id, point_id, cn, qn, data_time, packet, \
             encoding, crc, dedup_key, values_count) VALUES ($1, 'test', 'MN-TEST-5', $2, $3, 2051, $4, NULL, \
             '##', 'utf8', 'ok', $5, 6)",
        )
        .bind(received)
        .bind(device)
        .bind(clean)
        .bind(qn(received + 1200))
        .bind(format!("clock-{i}"))
        .execute(db.pool())
        .await
        .unwrap();
        }
        // Six packets with a bad CRC quarantined between 09:00 and 10:00.
        for i in 0..6 {
            sqlx::query(
            "INSERT INTO hj212_quarantine (received_at, peer, mn, device_id, reason, detail, packet, encoding, \
             dedup_key) VALUES ($1, 'test', 'MN-TEST-5', $2, 'bad_crc', 'CRC', '##', 'utf8', $3)",
        )
        .bind(DAY0 + 9 * 3600 + i * 300)
        .bind(device)
        .bind(format!("crc-{i}"))
        .execute(db.pool())
        .await
        .unwrap();
        }
        let run = service::evaluate_due(&db, DAY0 + 11 * 3600 + 120)
            .await
            .unwrap();
        assert_eq!(run.raised, EXPECTED.len() + 2);
        let at_clean: Vec<_> = all_alarms(&db)
            .await
            .into_iter()
            .filter(|a| a.point_id == clean)
            .collect();
        let mut rules: Vec<&str> = at_clean.iter().map(|a| a.rule.as_str()).collect();
        rules.sort();
        assert_eq!(rules, ["clock_drift", "crc_failures"]);
        let crc = at_clean.iter().find(|a| a.rule == "crc_failures").unwrap();
        assert_eq!(
            (crc.from_ts, crc.to_ts, crc.factor.as_deref()),
            (DAY0 + 9 * 3600, DAY0 + 10 * 3600, None)
        );
        let drift = at_clean.iter().find(|a| a.rule == "clock_drift").unwrap();
        assert!(
            drift.evidence.contains("1200") || drift.evidence.contains("20"),
            "{}",
            drift.evidence
        );
        assert_eq!(service::qn_time("20261125080000123"), Some(DAY0 + 8 * 3600));
        assert_eq!(service::qn_time("2026-11-20 08:00"), None);
        assert_eq!(service::qn_time("2026"), None);
    }
);

db_test!(
    an_exceedance_resent_as_maintenance_is_a_reflagging_alarm,
    |db| {
        let points = planted(&db).await;
        let now = DAY0 + 11 * 3600 + 120;
        service::evaluate_due(&db, now).await.unwrap();
        // Outlet 0's first exceedance (2 h from 02:00 of the history's first day): the device re-sends those SO2
        // minutes with the same values flagged M (maintenance), as if it had not been running normally.
        let point = points[0].2;
        let from = DAY0 - 3 * 86_400 + 2 * 3600;
        let to = from + 2 * 3600;
        let rows = readings::store::rows(&db, point, &[readings::model::Period::Minute], from, to)
            .await
            .unwrap();
        let resent: Vec<readings::model::Reading> = rows
            .iter()
            .filter_map(|row| {
                let cell = row.get("a21026")?;
                Some(readings::model::Reading {
                    point_id: point,
                    factor: "a21026".into(),
                    ts: row.ts,
                    period: readings::model::Period::Minute,
                    value: cell.value,
                    flag: readings::model::DataFlag::parse("M").unwrap(),
                })
            })
            .collect();
        assert!(resent.len() >= 100, "{} minutes", resent.len());
        let source = readings::store::create_source(
            &db,
            &readings::store::NewSource {
                kind: "api",
                name: "re-sent minutes".into(),
                checksum: None,
                received_by: "test".into(),
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
        let outcome = readings::store::write(&db, source, &resent).await.unwrap();
        assert_eq!(
            outcome.conflicts as usize,
            resent.len(),
            "the stored values stay"
        );
        assert_eq!(outcome.values_written, 0);
        let kept = readings::store::resends(&db, point, from, to)
            .await
            .unwrap();
        assert_eq!(kept.len(), resent.len(), "every re-sent cell is kept");

        let rerun = service::evaluate_range(&db, from - 3600, to + 3600, Some(point), now + 60)
            .await
            .unwrap();
        assert_eq!(rerun.raised, 1, "{rerun:?}");
        let reflagged: Vec<_> = all_alarms(&db)
            .await
            .into_iter()
            .filter(|a| a.rule == "reflagged_exceedance")
            .collect();
        assert_eq!(reflagged.len(), 1);
        assert_eq!(reflagged[0].point_id, point);
        assert_eq!(reflagged[0].factor.as_deref(), Some("a21026"));
        assert!(
            reflagged[0].from_ts >= from && reflagged[0].to_ts <= to,
            "{:?}",
            reflagged[0]
        );
        // A second rerun stores nothing new.
        let again = service::evaluate_range(&db, from - 3600, to + 3600, Some(point), now + 120)
            .await
            .unwrap();
        assert_eq!(again.raised, 0);
    }
);
