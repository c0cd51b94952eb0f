//! The bulk functions the demo generator calls: a district-sized batch, fast, in one transaction.

use std::time::Instant;

use registry::model::*;
use registry::service::{self, SeedEnterprise, SeedOutlet};

use crate::support::*;

testkit::db_test!(seeds_a_district_quickly, |db| {
    let f = seed(&db).await;
    let started = Instant::now();
    let mut tx = db.pool().begin().await.unwrap();
    let batch: Vec<SeedEnterprise> = (0..300)
        .map(|n| SeedEnterprise {
            enterprise: enterprise_input(
                1000 + n,
                if n % 2 == 0 { f.street_a } else { f.street_b },
            ),
            identifiers: vec![IdentifierInput {
                program: Program::Permit,
                identifier: format!("{}001P", uscc(1000 + n)),
                note: String::new(),
            }],
            sites: vec![SiteInput {
                name: "厂区".into(),
                address: "东丽区".into(),
                ..Default::default()
            }],
            outlets: vec![SeedOutlet {
                site_index: Some(0),
                outlet: OutletInput {
                    site_id: None,
                    code: "DA001".into(),
                    name: "排放口".into(),
                    medium: Medium::Gas,
                    kind: OutletKind::General,
                    lon: None,
                    lat: None,
                    online_monitored: true,
                },
            }],
        })
        .collect();
    let seeded = service::seed_enterprises(&mut tx, ACTOR, true, &batch)
        .await
        .unwrap();
    let points: Vec<PointInput> = (0..400)
        .map(|n| {
            if n < 300 {
                PointInput {
                    kind: PointKind::Outlet,
                    level: PointLevel::Enterprise,
                    street_id: None,
                    outlet_id: Some(seeded[n].outlet_ids[0]),
                    ..air_station_input(&format!("P{n:04}"), f.street_a)
                }
            } else {
                air_station_input(&format!("P{n:04}"), f.street_b)
            }
        })
        .collect();
    let point_ids = service::seed_points(&mut tx, ACTOR, true, &points)
        .await
        .unwrap();
    let devices: Vec<DeviceInput> = point_ids[..300]
        .iter()
        .enumerate()
        .map(|(n, &point)| device_input(&format!("MN{n:012}"), point))
        .collect();
    service::seed_devices(&mut tx, ACTOR, &devices)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "{:?}: 300 enterprises, 400 points, 300 devices in {elapsed:?}",
        db.backend()
    );
    if db.backend() == kernel::Backend::Sqlite {
        assert!(elapsed.as_secs_f64() < 5.0, "too slow: {elapsed:?}");
    }
    let admin = principal(kernel::Role::Admin, None);
    let list = get(&db, &admin, "/api/v1/enterprises?per_page=1")
        .await
        .json();
    assert_eq!(list["total"], 302);
    let simulated = get(
        &db,
        &admin,
        &format!("/api/v1/enterprises/{}", seeded[0].id),
    )
    .await
    .json();
    assert_eq!(simulated["simulated"], true);
    // Outlet points took the street of their enterprise.
    let point = get(&db, &admin, &format!("/api/v1/points/{}", point_ids[1]))
        .await
        .json();
    assert_eq!(point["street_id"], f.street_b);
});

testkit::db_test!(a_bad_record_names_its_place_in_the_batch, |db| {
    let f = seed(&db).await;
    let mut tx = db.pool().begin().await.unwrap();
    let mut bad = enterprise_input(2000, f.street_a);
    bad.uscc = "91120110MA20000000".into();
    let batch = [
        SeedEnterprise {
            enterprise: enterprise_input(2001, f.street_a),
            ..Default::default()
        },
        SeedEnterprise {
            enterprise: bad,
            ..Default::default()
        },
    ];
    let err = service::seed_enterprises(&mut tx, ACTOR, true, &batch)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string().split(':').next(),
        Some("enterprises[1].uscc")
    );
});
