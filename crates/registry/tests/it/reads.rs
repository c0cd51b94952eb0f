//! What other areas use: the read API (no principal; the calling area scopes) and registering a point met
//! elsewhere (an imported station, a simulated logger), checked and audited like any other registry write.

use kernel::audit::{AuditFilter, search};
use kernel::{AppError, PageQuery};
use registry::model::*;
use registry::service;

use crate::support::*;

fn registration(code: &str, kind: PointKind, level: PointLevel) -> PointRegistration {
    PointRegistration {
        code: code.into(),
        name: format!("导入站 {code}"),
        kind,
        level,
        street_id: None,
        lon: None,
        lat: None,
        owner: "导入 imported by test".into(),
        simulated: false,
    }
}

async fn point_entries(db: &kernel::Db, id: Option<i64>) -> Vec<kernel::audit::AuditRecord> {
    let filter = AuditFilter {
        entity: Some("monitoring_point".into()),
        entity_id: id.map(|id| id.to_string()),
        ..Default::default()
    };
    search(db, &filter, &PageQuery::default())
        .await
        .unwrap()
        .items
}

/// A refused registration is a 4xx naming the field, and stores neither a point nor an audit entry.
fn assert_refused(err: AppError, field: &str) {
    assert!(err.status().is_client_error(), "{err:?}");
    match err {
        AppError::Validation { field: named, .. } => assert_eq!(named, field),
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

testkit::db_test!(a_registered_point_is_checked_and_audited, |db| {
    let f = seed(&db).await;
    let entries_before = point_entries(&db, None).await.len();

    let outlet_national = registration("IMP-1", PointKind::Outlet, PointLevel::National);
    let err = service::register_point(&db, "qingshan import", &outlet_national)
        .await
        .unwrap_err();
    assert_refused(err, "level");
    let micro_section = registration("IMP-1", PointKind::WaterSection, PointLevel::Micro);
    let err = service::register_point(&db, "qingshan import", &micro_section)
        .await
        .unwrap_err();
    assert_refused(err, "level");
    let spaced = registration("IMP 1", PointKind::AirStation, PointLevel::District);
    let err = service::register_point(&db, "qingshan import", &spaced)
        .await
        .unwrap_err();
    assert_refused(err, "code");
    let nowhere = PointRegistration {
        street_id: Some(f.street_b + 1000),
        ..registration("IMP-1", PointKind::AirStation, PointLevel::District)
    };
    let err = service::register_point(&db, "qingshan import", &nowhere)
        .await
        .unwrap_err();
    assert_refused(err, "street_id");
    let off_the_map = PointRegistration {
        lat: Some(95.0),
        lon: Some(117.0),
        ..registration("IMP-1", PointKind::AirStation, PointLevel::District)
    };
    let err = service::register_point(&db, "qingshan import", &off_the_map)
        .await
        .unwrap_err();
    assert_refused(err, "lat");
    let taken = registration("1021A", PointKind::AirStation, PointLevel::National);
    let err = service::register_point(&db, "qingshan import", &taken)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(message) if message.starts_with("code:")),
        "{err:?}"
    );
    assert!(
        service::point_by_code(&db, "IMP-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(point_entries(&db, None).await.len(), entries_before);

    // What a file names without a street or a water body is registered, for the registry to complete.
    let station = PointRegistration {
        street_id: Some(f.street_a),
        ..registration("IMP-1", PointKind::AirStation, PointLevel::District)
    };
    let point = service::register_point(&db, "qingshan import", &station)
        .await
        .unwrap();
    assert_eq!(
        (point.kind, point.level, point.street_id, point.active),
        (
            PointKind::AirStation,
            PointLevel::District,
            Some(f.street_a),
            true
        )
    );
    let section = registration("IMP-2", PointKind::WaterSection, PointLevel::District);
    let outlet = registration("IMP-3", PointKind::Outlet, PointLevel::Enterprise);
    let mut tx = db.begin_write().await.unwrap();
    let section = service::register_point_in(&mut tx, "qingshan import", &section)
        .await
        .unwrap();
    let outlet = service::register_point_in(&mut tx, "qingshan import", &outlet)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((section.water_body, outlet.outlet_id), (None, None));

    let entries = point_entries(&db, Some(point.id)).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str(), entry.actor_id),
        ("create", "qingshan import", None)
    );
    assert_eq!(entry.after.as_ref().unwrap()["code"], "IMP-1");
    assert_eq!(entry.after.as_ref().unwrap()["kind"], "air_station");
    assert_eq!(point_entries(&db, None).await.len(), entries_before + 3);
});

testkit::db_test!(other_areas_read_through_the_service, |db| {
    let f = seed(&db).await;
    let streets = service::streets(&db).await.unwrap();
    assert_eq!(
        streets.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![f.street_a, f.street_b]
    );
    for text in ["丰年村街道", "120110002"] {
        let found = service::find_street(&db, text).await.unwrap().unwrap();
        assert_eq!(found.id, f.street_b);
    }
    assert!(
        service::find_street(&db, "无此街道")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        service::the_district(&db).await.unwrap().unwrap().name,
        "东丽区"
    );

    assert_eq!(
        service::enterprise_ids_of_street(&db, f.street_a)
            .await
            .unwrap(),
        vec![f.steel_a]
    );
    let named = service::enterprises_by_ids(&db, &[f.other_b, f.steel_a, 999_999])
        .await
        .unwrap();
    assert_eq!(
        named.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![f.steel_a, f.other_b]
    );
    assert!(
        service::enterprises_by_ids(&db, &[])
            .await
            .unwrap()
            .is_empty()
    );

    let air = service::active_points(&db, PointKind::AirStation)
        .await
        .unwrap();
    assert_eq!(
        air.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![f.air_station]
    );
    assert_eq!(
        service::point_by_code(&db, "WR-DA001")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(f.outlet_point)
    );
    let outlets = service::monitored_outlets(&db).await.unwrap();
    assert_eq!(outlets.len(), 1);
    let outlet = &outlets[0];
    assert_eq!(
        (
            outlet.point_id,
            outlet.enterprise_id,
            outlet.street_id,
            outlet.medium,
            outlet.industry_code.as_str(),
            outlet.simulated
        ),
        (
            f.outlet_point,
            f.steel_a,
            f.street_a,
            Medium::Gas,
            "C3120",
            true
        )
    );
    assert_eq!(
        service::device_ids_of_point(&db, f.outlet_point)
            .await
            .unwrap(),
        vec![f.device]
    );

    let counts = service::counts(&db).await.unwrap();
    assert_eq!(
        counts,
        RegistryCounts {
            streets: 2,
            enterprises: 2,
            outlets: 1,
            points: 2,
            devices: 1,
        }
    );
    let per_street = service::street_counts(&db).await.unwrap();
    assert_eq!(
        per_street
            .iter()
            .map(|s| (
                s.street_id,
                s.enterprises,
                s.key_dischargers,
                s.air_stations,
                s.water_sections
            ))
            .collect::<Vec<_>>(),
        vec![(f.street_a, 1, 1, 1, 0), (f.street_b, 1, 0, 0, 0)]
    );
});

#[test]
fn point_kinds_are_the_stored_names() {
    for (kind, text) in [
        (PointKind::AirStation, "air_station"),
        (PointKind::WaterSection, "water_section"),
        (PointKind::Outlet, "outlet"),
    ] {
        assert_eq!(kind.as_str(), text);
        assert_eq!(text.parse::<PointKind>(), Ok(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), text);
    }
    // The API document lists the names the API reads and writes.
    let schema = serde_json::to_value(<PointKind as utoipa::PartialSchema>::schema()).unwrap();
    assert_eq!(
        schema["enum"],
        serde_json::json!(["air_station", "water_section", "outlet"])
    );
}
