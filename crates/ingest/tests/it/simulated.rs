//! The simulator's devices in every edition — HJ/T 212-2005 (2005 codes), HJ 212-2017, HJ 212-2025 with its
//! CP SM4-encrypted — are accepted, acknowledged and stored under the 2017 codes, without a version warning.
//! On both backends.

use std::time::{Duration, Instant};

use ingest::simulate::{self, Behaviour, SimProtocol};

use crate::support::*;

testkit::db_test!(simulated_devices_of_every_edition_are_stored, |db| {
    let mut devices = Vec::new();
    for (number, protocol) in [
        (1, SimProtocol::Hj2005),
        (2, SimProtocol::Hj2017),
        (3, SimProtocol::Hj2025),
    ] {
        let device = ingest::devices::register_simulated(&db, number, protocol)
            .await
            .unwrap();
        assert_eq!(device.key.is_some(), protocol == SimProtocol::Hj2025);
        devices.push((number, protocol, device));
    }
    // Registered before the gateway starts: it reads its device directory then.
    let gateway = start(&db, ingest::Config::default()).await;
    let first_minute = kernel::time::now_ts() / 86_400 * 86_400 - 5 * 86_400;
    let behaviour = Behaviour {
        target: gateway.addr,
        rate: 20.0,
        faults: false,
        ack_timeout: Duration::from_secs(10),
        first_minute,
        live: false,
    };
    for (number, protocol, device) in devices {
        let sample = simulate::minute_packet(
            &device,
            "20260101120000000",
            "DataTime=20260101115900;a21026-Avg=1.0,a21026-Flag=N",
        );
        let text = String::from_utf8_lossy(&sample).to_string();
        match protocol {
            SimProtocol::Hj2005 => assert!(
                text.contains("Flag=1;") && text.contains(";02-Avg=1.0"),
                "{text}"
            ),
            SimProtocol::Hj2017 => assert!(
                text.contains("Flag=5;") && text.contains("a21026-Avg"),
                "{text}"
            ),
            SimProtocol::Hj2025 => assert!(
                text.contains("Flag=9;") && !text.contains("a21026-Avg"),
                "encrypted: {text}"
            ),
        }
        // About 40 packets at 20 per second, stopped by the deadline: the test needs a few acknowledged, and a
        // loaded machine (a 150 ms window acknowledged only 2 under a load of 12) must still give them.
        let deadline = Instant::now() + Duration::from_secs(2);
        let stats =
            simulate::run_device(device.clone(), number as u64, behaviour.clone(), deadline).await;
        assert!(stats.acknowledged >= 5, "{protocol:?}: {stats:?}");
        assert_eq!(stats.sent, stats.acknowledged, "{protocol:?}: {stats:?}");

        let point_id: i64 = sqlx::query_scalar("SELECT point_id FROM devices WHERE mn = $1")
            .bind(&device.mn)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let stored: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE point_id = $1 AND period = 'minute' \
             AND a21026 IS NOT NULL AND a34013 IS NOT NULL AND a00000 IS NOT NULL",
        )
        .bind(point_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(
            stored as u64, stats.acknowledged,
            "{protocol:?}: every minute under the 2017 codes"
        );
    }
    gateway.stop().await;
    let warnings = count(
        &db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_device_state WHERE errors > 0",
    )
    .await;
    assert_eq!(
        warnings, 0,
        "no device sends another edition than registered"
    );
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets WHERE key_id IS NOT NULL").await,
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets p JOIN devices d ON d.id = p.device_id WHERE d.protocol = '2025'").await,
    );
});

// A simulated logger's point and device are registered through the registry, each with its audit entry, once.
testkit::db_test!(simulated_devices_are_registered_and_audited_once, |db| {
    let first = ingest::devices::register_simulated(&db, 7, SimProtocol::Hj2017)
        .await
        .unwrap();
    let again = ingest::devices::register_simulated(&db, 7, SimProtocol::Hj2017)
        .await
        .unwrap();
    assert_eq!(
        (first.mn.as_str(), again.mn.as_str()),
        ("QS-SIM-0007", "QS-SIM-0007")
    );
    let device = registry::service::device_by_mn(&db, "QS-SIM-0007")
        .await
        .unwrap()
        .unwrap();
    let point = registry::service::point(&db, device.point_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (point.code.as_str(), point.kind, point.simulated),
        ("SIM-0007", registry::model::PointKind::Outlet, true)
    );
    for (entity, id) in [("monitoring_point", point.id), ("device", device.id)] {
        let entries = kernel::audit::search(
            &db,
            &kernel::audit::AuditFilter {
                entity: Some(entity.into()),
                entity_id: Some(id.to_string()),
                ..Default::default()
            },
            &kernel::PageQuery::default(),
        )
        .await
        .unwrap();
        assert_eq!(entries.total, 1, "{entity}");
        assert_eq!(entries.items[0].actor, "qingshan simulate");
        assert!(
            !entries.items[0]
                .after
                .as_ref()
                .unwrap()
                .to_string()
                .contains("sim-0007"),
            "no password in the audit log"
        );
    }
});
