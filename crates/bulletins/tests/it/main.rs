//! Rankings and bulletins on SQLite and PostgreSQL: the ranking of a constructed district worked out by hand
//! (ties, streets without data), the weighting setting, and over HTTP the roles, bad months, the XLSX re-read
//! with calamine and the PDF parsed with lopdf.

mod fixture;
mod http;
mod issue;

use bulletins::model::{AirWeights, Month, SettingsUpdate, WaterWeights};
use bulletins::service;
use kernel::{AppError, Principal, Role};

use fixture::date;

pub fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: format!("t-{}", role.as_str()),
        display_name: "测试".into(),
        role,
        street_id,
        department_id: None,
        method: kernel::auth::AuthMethod::Token,
    }
}

fn march() -> Month {
    Month::parse("2025-03").unwrap()
}

testkit::db_test!(ranks_the_constructed_district_by_hand, |db| {
    let f = fixture::build(&db).await;
    let leader = principal(Role::Leader, None);
    let r = service::ranking(&db, &leader, march(), date(2025, 6, 1))
        .await
        .unwrap();
    assert_eq!(r.month, "2025-03");
    assert!(!r.period.partial);
    assert_eq!(r.air_method.preset, "tianjin_2021");

    // Air (PM2.5 30 %, PM2.5 change 30 %, good-day ratio 40 %): 甲 and 戊 PM2.5 30 (−25.0 %), 乙 45 (0.0 %);
    // all good days. 甲 = 戊 = 0.3·1 + 0.3·1 + 0.4·1 = 1.00, 乙 = 0.3·3 + 0.3·3 + 0.4·1 = 2.20.
    let air: Vec<_> = r
        .air
        .iter()
        .map(|a| (a.street_id, a.placing.rank, a.placing.tied, a.placing.score))
        .collect();
    assert_eq!(
        air[..3],
        [
            (f.a, Some(1), true, Some(1.0)),
            (f.e, Some(1), true, Some(1.0)),
            (f.b, Some(3), false, Some(2.2)),
        ]
    );
    let a = &r.air[0];
    assert_eq!(a.stations, 1);
    assert_eq!((a.now.valid_days, a.now.good_days), (31, 31));
    assert_eq!(a.now.good_ratio, Some(100.0));
    assert_eq!(a.now.pm25, Some(30.0));
    assert_eq!(a.last_year.pm25, Some(40.0));
    assert_eq!(a.pm25_change, Some(-25.0));
    // 10/60 + 30/40 + 60/70 + 30/35 + 1.0/4 + 100/160 = 589/168 = 3.5059… → 3.51; last year 637/168 → 3.79.
    assert_eq!(a.now.composite, Some(3.51));
    assert_eq!(a.last_year.composite, Some(3.79));
    // (3.51 − 3.79)/3.79 = −7.39 % → −7.4.
    assert_eq!(a.composite_change, Some(-7.4));
    assert_eq!(a.now.days_per_level, [0, 31, 0, 0, 0, 0]);
    let b = &r.air[2];
    assert_eq!(b.stations, 2);
    // Area mean of 40 and 50; 661/168 = 3.934… → 3.93.
    assert_eq!(
        (b.now.pm25, b.now.composite, b.pm25_change),
        (Some(45.0), Some(3.93), Some(0.0))
    );
    let positions: Vec<_> = b
        .placing
        .positions
        .iter()
        .map(|p| (p.criterion, p.weight, p.position))
        .collect();
    assert_eq!(
        positions,
        [
            ("pm25", 30, Some(3)),
            ("pm25_change", 30, Some(3)),
            ("good_ratio", 40, Some(1))
        ]
    );
    let unranked = |id: i64| {
        r.air
            .iter()
            .find(|a| a.street_id == id)
            .map(|a| (a.placing.rank, a.placing.unranked_reason.clone().unwrap()))
            .unwrap()
    };
    assert_eq!(unranked(f.c), (None, "街道内无空气微站".to_string()));
    let (rank, why) = unranked(f.d);
    assert_eq!(rank, None);
    assert!(why.contains("10 天") && why.contains("27 天"), "{why}");

    // Water (CWQI 50 %, its change 50 %): 甲 = mean of S1 (20, 0.5, 0.1) and S2 (30, 1.5, 0.3) =
    // 25/20 + 1.0/1.0 + 0.2/0.2 = 3.25; last year 3.75 → −13.3 %. 乙 = S3 40/20 + 1 + 1 = 4.00, 0.0 %.
    let w: Vec<_> = r
        .water
        .iter()
        .map(|w| {
            (
                w.street_id,
                w.placing.rank,
                w.now.cwqi,
                w.cwqi_change,
                w.now.compliance,
            )
        })
        .collect();
    assert_eq!(
        w[..2],
        [
            (f.a, Some(1), Some(3.25), Some(-13.3), Some(100.0)),
            (f.b, Some(2), Some(4.0), Some(0.0), Some(0.0)),
        ]
    );
    let reason = |id: i64| {
        r.water
            .iter()
            .find(|w| w.street_id == id)
            .and_then(|w| w.placing.unranked_reason.clone())
    };
    assert_eq!(reason(f.c).as_deref(), Some("街道内无水质断面"));
    assert_eq!(reason(f.d).as_deref(), Some("本月各断面无监测数据"));
    assert_eq!(reason(f.e).as_deref(), Some("街道内无水质断面"));
    let classes: Vec<_> = r
        .sections
        .iter()
        .map(|s| (s.class.clone(), s.meets_target, s.cwqi))
        .collect();
    assert_eq!(
        classes,
        [
            (Some("III".to_string()), Some(true), Some(2.0)),
            (Some("IV".to_string()), Some(true), Some(4.5)),
            (Some("V".to_string()), Some(false), Some(4.0)),
            (None, None, None),
        ]
    );
});

testkit::db_test!(
    the_bulletin_has_the_district_figures_and_the_best_and_worst,
    |db| {
        fixture::build(&db).await;
        let b = service::bulletin(
            &db,
            &principal(Role::StreetOfficer, Some(1)),
            march(),
            date(2025, 6, 1),
        )
        .await
        .unwrap();
        assert_eq!(b.title, "东丽区2025年3月街道环境质量排名通报");
        let d = &b.district;
        assert_eq!(d.air_stations, 1);
        assert_eq!(
            (d.now.pm25, d.now.composite, d.now.good_days),
            (Some(30.0), Some(3.51), 31)
        );
        assert_eq!(
            (d.pm25_change, d.composite_change),
            (Some(-25.0), Some(-7.4))
        );
        assert_eq!(d.sections_per_class, [0, 0, 1, 1, 1, 0]);
        assert_eq!(
            (d.sections_with_data, d.sections_meeting, d.good_water_share),
            (3, 2, Some(33.3))
        );
        let names = |s: &Option<bulletins::model::Standing>| {
            s.as_ref().map(|s| (s.rank, s.streets.clone()))
        };
        assert_eq!(
            names(&b.air_best),
            Some((1, vec!["甲街道".to_string(), "戊街道".to_string()]))
        );
        assert_eq!(names(&b.air_worst), Some((3, vec!["乙街道".to_string()])));
        assert_eq!(names(&b.water_best), Some((1, vec!["甲街道".to_string()])));
        assert_eq!(names(&b.water_worst), Some((2, vec!["乙街道".to_string()])));
        // No targets entered for 2025 in this district: the section says so.
        assert!(b.targets.is_empty());
        assert!(b.targets_note.contains("未录入"), "{}", b.targets_note);
        // With the 2024 plan seeded into 2025, the bulletin lists the targets as of 31 March.
        targets::service::ensure_seeded(&db, 2025).await.unwrap();
        let b = service::bulletin(
            &db,
            &principal(Role::Leader, None),
            march(),
            date(2025, 6, 1),
        )
        .await
        .unwrap();
        assert!(!b.targets.is_empty());
        assert!(b.targets_note.contains("2025-03-31"), "{}", b.targets_note);
        let pm25 = b
            .targets
            .iter()
            .find(|t| t.title.contains("PM2.5"))
            .expect("a PM2.5 target");
        assert!(pm25.value.contains("30"), "{pm25:?}");
    }
);

testkit::db_test!(
    the_weighting_is_a_setting_the_monitoring_department_keeps,
    |db| {
        let f = fixture::build(&db).await;
        let monitor = principal(Role::Monitoring, None);
        let today = date(2025, 6, 1);
        let custom = |air: AirWeights, water: WaterWeights| SettingsUpdate {
            air_preset: "custom".into(),
            air_weights: Some(air),
            water_preset: "custom".into(),
            water_weights: Some(water),
            number_format: None,
        };
        let composite_only = AirWeights {
            composite: 100,
            composite_change: 0,
            pm25: 0,
            pm25_change: 0,
            good_ratio: 0,
        };
        let compliance_only = WaterWeights {
            cwqi: 0,
            cwqi_change: 0,
            compliance: 100,
        };
        // Only the monitoring department (and nobody else in the matrix) changes it.
        for role in [
            Role::Leader,
            Role::StreetOfficer,
            Role::Enforcement,
            Role::Public,
        ] {
            let err = service::update_settings(
                &db,
                &principal(role, None),
                custom(composite_only, compliance_only),
            )
            .await
            .unwrap_err();
            assert!(matches!(err, AppError::Forbidden(_)), "{role:?}: {err}");
        }
        // Weights must sum to 100; presets must exist.
        let mut bad = composite_only;
        bad.pm25 = 10;
        let err = service::update_settings(&db, &monitor, custom(bad, compliance_only))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Validation { ref field, .. } if field == "air_weights"),
            "{err}"
        );
        let err = service::update_settings(
            &db,
            &monitor,
            SettingsUpdate {
                air_preset: "nonsense".into(),
                air_weights: None,
                water_preset: "cwqi_status".into(),
                water_weights: None,
                number_format: None,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::Validation { ref field, .. } if field == "air_preset"),
            "{err}"
        );

        let saved =
            service::update_settings(&db, &monitor, custom(composite_only, compliance_only))
                .await
                .unwrap();
        assert_eq!(service::settings(&db).await.unwrap(), saved);
        let audits: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'ranking_settings'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(audits, 1);

        // Composite only: 甲 = 戊 = 3.51 tie at 1, 乙 3.93 third. Compliance only: 甲 100 %, 乙 0 %.
        let r = service::ranking(&db, &monitor, march(), today)
            .await
            .unwrap();
        let air: Vec<_> = r
            .air
            .iter()
            .take(3)
            .map(|a| (a.street_id, a.placing.rank, a.placing.score))
            .collect();
        assert_eq!(
            air,
            [
                (f.a, Some(1), Some(1.0)),
                (f.e, Some(1), Some(1.0)),
                (f.b, Some(3), Some(3.0))
            ]
        );
        let water: Vec<_> = r
            .water
            .iter()
            .take(2)
            .map(|w| (w.street_id, w.placing.rank))
            .collect();
        assert_eq!(water, [(f.a, Some(1)), (f.b, Some(2))]);
        assert_eq!(r.air_method.label, "自定义权重");

        // A preset takes its own weights whatever is sent with it.
        let preset = service::update_settings(
            &db,
            &monitor,
            SettingsUpdate {
                air_preset: "tianjin_2017".into(),
                air_weights: Some(composite_only),
                water_preset: "cwqi_status".into(),
                water_weights: None,
                number_format: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (
                preset.air_weights.composite,
                preset.air_weights.composite_change
            ),
            (50, 50)
        );
        // Composite 50 % + its change 50 %: 甲 and 戊 (3.51, −7.4 %) 1 and 1 → 1.00; 乙 (3.93, 0.0 %) 3 and 3.
        let r = service::ranking(&db, &monitor, march(), today)
            .await
            .unwrap();
        let air: Vec<_> = r
            .air
            .iter()
            .take(3)
            .map(|a| (a.street_id, a.placing.rank))
            .collect();
        assert_eq!(air, [(f.a, Some(1)), (f.e, Some(1)), (f.b, Some(3))]);
    }
);

testkit::db_test!(a_month_without_last_years_data_is_shown_not_ranked, |db| {
    let f = fixture::build(&db).await;
    // April 2025 has no data at all; March 2024's last year (March 2023) has none either.
    let r = service::ranking(
        &db,
        &principal(Role::Leader, None),
        Month::parse("2024-03").unwrap(),
        date(2025, 6, 1),
    )
    .await
    .unwrap();
    let a = r.air.iter().find(|a| a.street_id == f.a).unwrap();
    assert_eq!(a.now.pm25, Some(40.0));
    assert_eq!(a.placing.rank, None);
    assert!(
        a.placing
            .unranked_reason
            .as_deref()
            .unwrap()
            .contains("去年同期"),
        "{a:?}"
    );
    assert!(r.air.iter().all(|a| a.placing.rank.is_none()));
    let err = service::ranking(
        &db,
        &principal(Role::Leader, None),
        Month::parse("2025-07").unwrap(),
        date(2025, 6, 1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "month"));
    let r = service::ranking(
        &db,
        &principal(Role::Leader, None),
        Month::parse("2025-04").unwrap(),
        date(2025, 6, 1),
    )
    .await
    .unwrap();
    assert!(
        r.air
            .iter()
            .chain(r.air.iter())
            .all(|a| a.placing.rank.is_none())
    );
    assert!(
        r.water
            .iter()
            .all(|w| w.placing.rank.is_none() && w.placing.unranked_reason.is_some())
    );
});
