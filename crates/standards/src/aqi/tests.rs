use proptest::prelude::*;

use super::*;

fn d(text: &str) -> Exact {
    Exact::parse_decimal(text).unwrap()
}

fn daily(standard: AqiStandard, values: &[(Indicator, &str)]) -> AqiResult {
    let values: Vec<_> = values.iter().map(|(i, c)| (*i, d(c))).collect();
    compute_aqi(standard, ReportKind::Daily, &values).unwrap()
}

fn single(standard: AqiStandard, indicator: Indicator, concentration: &str) -> Option<u32> {
    iaqi_from_column(breakpoints(standard, indicator).unwrap(), d(concentration))
}

const BOTH: [AqiStandard; 2] = [AqiStandard::Hj633_2012, AqiStandard::Hj633_2026];

#[test]
fn edition_switches_on_2026_03_01() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(
        AqiStandard::for_date(date(2026, 2, 28)),
        AqiStandard::Hj633_2012
    );
    assert_eq!(
        AqiStandard::for_date(date(2026, 3, 1)),
        AqiStandard::Hj633_2026
    );
    assert_eq!(
        AqiStandard::for_date(date(2013, 3, 1)),
        AqiStandard::Hj633_2012
    );
}

#[test]
fn only_the_pm_columns_differ_between_editions() {
    for indicator in Indicator::ALL {
        let old = breakpoints(AqiStandard::Hj633_2012, indicator);
        let new = breakpoints(AqiStandard::Hj633_2026, indicator);
        match indicator {
            Indicator::Pm10Daily => assert_eq!((old.unwrap()[2], new.unwrap()[2]), (150, 120)),
            Indicator::Pm25Daily => assert_eq!((old.unwrap()[2], new.unwrap()[2]), (75, 60)),
            Indicator::Pm10Hourly | Indicator::Pm25Hourly => {
                assert!(old.is_none() && new.is_some())
            }
            _ => assert_eq!(old, new, "{indicator:?}"),
        }
    }
    assert_eq!(
        breakpoints(AqiStandard::Hj633_2026, Indicator::Pm25Hourly),
        breakpoints(AqiStandard::Hj633_2026, Indicator::Pm25Daily)
    );
}

/// Every breakpoint of every column of both editions gives exactly its IAQI row; a hair above gives one more
/// (rounded up) and a hair below gives the row itself.
#[test]
fn every_breakpoint_of_every_column_is_exact() {
    let hair = Exact::new(1, 1000);
    let mut checked = 0;
    for standard in BOTH {
        for indicator in Indicator::ALL {
            let Some(column) = breakpoints(standard, indicator) else {
                continue;
            };
            for (row, &bp) in column.iter().enumerate() {
                let at = Exact::from_int(bp);
                assert_eq!(
                    iaqi_from_column(column, at),
                    Some(IAQI_ROWS[row] as u32),
                    "{standard:?} {indicator:?} at {bp}"
                );
                if row > 0 {
                    assert_eq!(
                        iaqi_from_column(column, at - hair),
                        Some(IAQI_ROWS[row] as u32),
                        "{indicator:?} below {bp}"
                    );
                }
                if row + 1 < column.len() {
                    assert_eq!(
                        iaqi_from_column(column, at + hair),
                        Some(IAQI_ROWS[row] as u32 + 1),
                        "{indicator:?} above {bp}"
                    );
                } else {
                    assert_eq!(
                        iaqi_from_column(column, at + hair),
                        None,
                        "{indicator:?} above the top {bp}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        (8 * 8 + 5 + 6) + (10 * 8 + 5 + 6),
        "all columns of both editions visited"
    );
}

/// HJ 633 rounds up: the f64 formula gives 7.000000000000001 and 55.00000000000001; the exact values are 7 and 55.
#[test]
fn floating_point_traps_of_section_1_2() {
    assert_eq!(
        single(AqiStandard::Hj633_2012, Indicator::Pm25Daily, "4.9"),
        Some(7)
    );
    assert_eq!(
        single(AqiStandard::Hj633_2012, Indicator::CoDaily, "2.2"),
        Some(55)
    );
    // The float formula really does fail on these (the reason for exact arithmetic).
    assert_eq!(
        ((50.0f64 - 0.0) / (35.0 - 0.0) * (4.9 - 0.0) + 0.0).ceil(),
        8.0
    );
}

/// At 0.1 µg/m³ resolution the exact IAQI matches an all-integer evaluation of 式 1 for every PM2.5 value
/// 0–500 (2012 and 2026), and the count of float failures (8 for PM2.5) is reproduced.
#[test]
fn pm25_tenths_match_integer_formula() {
    for standard in BOTH {
        let column = breakpoints(standard, Indicator::Pm25Daily).unwrap();
        let mut float_failures = 0;
        for tenths in 0..=5000i64 {
            let upper = column.iter().position(|&bp| tenths <= bp * 10).unwrap();
            let expected = if upper == 0 {
                0
            } else {
                let (lo, hi) = (column[upper - 1], column[upper]);
                let (ilo, ihi) = (IAQI_ROWS[upper - 1], IAQI_ROWS[upper]);
                // ceil(ilo + (ihi-ilo)(t/10 - lo)/(hi-lo)) with integers only.
                let numerator = ilo * 10 * (hi - lo) + (ihi - ilo) * (tenths - lo * 10);
                let denominator = 10 * (hi - lo);
                (numerator + denominator - 1) / denominator
            };
            let exact = iaqi_from_column(column, Exact::new(tenths.into(), 10)).unwrap();
            assert_eq!(i64::from(exact), expected, "PM2.5 {}", tenths as f64 / 10.0);
            if upper > 0 {
                let (lo, hi) = (column[upper - 1] as f64, column[upper] as f64);
                let (ilo, ihi) = (IAQI_ROWS[upper - 1] as f64, IAQI_ROWS[upper] as f64);
                let float = ((ihi - ilo) / (hi - lo) * (tenths as f64 / 10.0 - lo) + ilo).ceil();
                if float as i64 != expected {
                    float_failures += 1;
                }
            }
        }
        if standard == AqiStandard::Hj633_2012 {
            assert_eq!(
                float_failures, 8,
                "the f64 formula fails 8 times for PM2.5 (2012)"
            );
        }
    }
}

#[test]
fn known_oracle_disagreements_of_section_0() {
    // aqi-hub uses the 1-h table for SO2 24-h and gets 58; the standard gives 108.
    assert_eq!(
        single(AqiStandard::Hj633_2012, Indicator::So2Daily, "200"),
        Some(108)
    );
    // python-aqi truncates and gets 0; the standard gives 15.
    assert_eq!(
        single(AqiStandard::Hj633_2012, Indicator::CoDaily, "0.6"),
        Some(15)
    );
}

#[test]
fn pm_breakpoints_move_in_2026() {
    use AqiStandard::*;
    assert_eq!(single(Hj633_2012, Indicator::Pm25Daily, "75"), Some(100));
    assert_eq!(single(Hj633_2026, Indicator::Pm25Daily, "75"), Some(114));
    assert_eq!(single(Hj633_2012, Indicator::Pm25Daily, "60"), Some(82));
    assert_eq!(single(Hj633_2026, Indicator::Pm25Daily, "60"), Some(100));
    assert_eq!(single(Hj633_2012, Indicator::Pm10Daily, "120"), Some(85));
    assert_eq!(single(Hj633_2026, Indicator::Pm10Daily, "120"), Some(100));
    assert_eq!(single(Hj633_2026, Indicator::Pm10Daily, "150"), Some(112));
}

#[test]
fn hj633_2026_rounds_concentrations_half_to_even_first() {
    // 74.5 → 74 (even), 75.5 → 76.
    let r = daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "74.5")]);
    assert_eq!(r.sub_indices[0].concentration, d("74"));
    assert_eq!(r.aqi, Some(113));
    let r = daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "75.5")]);
    assert_eq!(r.aqi, Some(115));
    // CO to one decimal: 2.25 → 2.2 → 55; 2.35 → 2.4 → 60.
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::CoDaily, "2.25")]).aqi,
        Some(55)
    );
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::CoDaily, "2.35")]).aqi,
        Some(60)
    );
    // HJ 633-2012 states no rounding: the exact value is used.
    let r = daily(AqiStandard::Hj633_2012, &[(Indicator::Pm25Daily, "4.9")]);
    assert_eq!((r.sub_indices[0].concentration, r.aqi), (d("4.9"), Some(7)));
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "4.9")]).aqi,
        Some(8)
    );
}

#[test]
fn so2_hourly_above_800() {
    let hourly = |standard, so2_1h: &str, so2_24h: Option<&str>| {
        let mut values = vec![(Indicator::So2Hourly, d(so2_1h))];
        if let Some(v) = so2_24h {
            values.push((Indicator::So2Daily, d(v)));
        }
        compute_aqi(standard, ReportKind::Hourly, &values).unwrap()
    };
    // At 800 the table applies in both editions.
    assert_eq!(hourly(AqiStandard::Hj633_2012, "800", None).aqi, Some(200));
    assert_eq!(hourly(AqiStandard::Hj633_2026, "800", None).aqi, Some(200));
    // 2012: reported from the 24-h value.
    let r = hourly(AqiStandard::Hj633_2012, "801", Some("200"));
    assert_eq!(
        (r.aqi, r.sub_indices[0].note),
        (Some(108), Some(SubIndexNote::So2HourlyAbove800UsesDaily))
    );
    let r = hourly(AqiStandard::Hj633_2012, "900", None);
    assert_eq!(
        (r.aqi, r.sub_indices[0].note),
        (None, Some(SubIndexNote::So2HourlyAbove800DailyMissing))
    );
    assert!(!r.beyond_table);
    // 2026: counts as 200. 800.4 rounds to 800 first and is in the table.
    let r = hourly(AqiStandard::Hj633_2026, "5000", None);
    assert_eq!(
        (r.aqi, r.sub_indices[0].note),
        (Some(200), Some(SubIndexNote::So2HourlyAbove800Is200))
    );
    assert_eq!(
        hourly(AqiStandard::Hj633_2026, "800.4", None).sub_indices[0].note,
        None
    );
    // The SO2 24-h substitute may itself be above its table.
    let r = hourly(AqiStandard::Hj633_2012, "900", Some("3000"));
    assert_eq!((r.aqi, r.beyond_table), (None, true));
}

#[test]
fn o3_eight_hour_above_800() {
    let r = daily(
        AqiStandard::Hj633_2012,
        &[
            (Indicator::O3EightHour, "801"),
            (Indicator::O3Hourly, "300"),
        ],
    );
    let o3_8h = r
        .sub_indices
        .iter()
        .find(|s| s.indicator == Indicator::O3EightHour)
        .unwrap();
    assert_eq!(
        (o3_8h.iaqi, o3_8h.note),
        (Some(150), Some(SubIndexNote::O3EightHourAbove800UsesHourly))
    );
    let r = daily(AqiStandard::Hj633_2012, &[(Indicator::O3EightHour, "801")]);
    assert_eq!(
        r.sub_indices[0].note,
        Some(SubIndexNote::O3EightHourAbove800HourlyMissing)
    );
    assert_eq!(r.aqi, None);
    let r = daily(AqiStandard::Hj633_2026, &[(Indicator::O3EightHour, "801")]);
    assert_eq!(
        (r.aqi, r.sub_indices[0].note),
        (Some(300), Some(SubIndexNote::O3EightHourAbove800Is300))
    );
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::O3EightHour, "800")]).aqi,
        Some(300)
    );
}

#[test]
fn above_the_table_is_flagged_not_invented() {
    let r = daily(
        AqiStandard::Hj633_2012,
        &[(Indicator::Pm25Daily, "500.1"), (Indicator::No2Daily, "30")],
    );
    assert_eq!(
        (r.aqi, r.level, r.beyond_table),
        (None, Some(AqiLevel::Six), true)
    );
    assert_eq!(
        r.sub_indices
            .iter()
            .find(|s| s.indicator == Indicator::Pm25Daily)
            .unwrap()
            .note,
        Some(SubIndexNote::AboveTable)
    );
    assert_eq!(r.primary_pollutants, vec![Indicator::Pm25Daily]);
    // 2026 rounds 500.5 to 500 (even) first, which is in the table; 501.5 → 502 is not.
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "500.5")]).aqi,
        Some(500)
    );
    assert!(daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "501.5")]).beyond_table);
}

#[test]
fn primary_pollutants_tie_and_need_aqi_above_50() {
    let r = daily(
        AqiStandard::Hj633_2012,
        &[
            (Indicator::Pm10Daily, "150"),
            (Indicator::Pm25Daily, "75"),
            (Indicator::So2Daily, "10"),
        ],
    );
    assert_eq!(r.aqi, Some(100));
    assert_eq!(
        r.primary_pollutants,
        vec![Indicator::Pm10Daily, Indicator::Pm25Daily]
    );
    assert_eq!(r.exceeding_pollutants, Some(vec![]));
    let r = daily(
        AqiStandard::Hj633_2012,
        &[(Indicator::Pm25Daily, "35"), (Indicator::Pm10Daily, "50")],
    );
    assert_eq!((r.aqi, r.primary_pollutants.len()), (Some(50), 0));
    let r = daily(AqiStandard::Hj633_2012, &[(Indicator::Pm25Daily, "76")]);
    assert_eq!(r.exceeding_pollutants, Some(vec![Indicator::Pm25Daily]));
    assert_eq!(
        daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "76")]).exceeding_pollutants,
        None
    );
}

#[test]
fn levels_categories_and_colours() {
    let cases = [
        (0, 1, "优", "#00E400"),
        (50, 1, "优", "#00E400"),
        (51, 2, "良", "#FFFF00"),
        (100, 2, "良", "#FFFF00"),
        (101, 3, "轻度污染", "#FF7E00"),
        (150, 3, "轻度污染", "#FF7E00"),
        (151, 4, "中度污染", "#FF0000"),
        (200, 4, "中度污染", "#FF0000"),
        (201, 5, "重度污染", "#99004C"),
        (300, 5, "重度污染", "#99004C"),
        (301, 6, "严重污染", "#7E0023"),
        (500, 6, "严重污染", "#7E0023"),
    ];
    for (aqi, number, category, hex) in cases {
        let level = AqiLevel::for_aqi(aqi);
        assert_eq!(
            (level.number(), level.category(), level.hex().as_str()),
            (number, category, hex),
            "AQI {aqi}"
        );
    }
    assert_eq!(AqiLevel::Five.colour(), "紫色");
}

#[test]
fn report_membership_and_missing_pollutants() {
    let all_2026 = [
        (Indicator::So2Daily, "10"),
        (Indicator::No2Daily, "20"),
        (Indicator::Pm10Daily, "50"),
        (Indicator::Pm25Daily, "30"),
        (Indicator::CoDaily, "0.5"),
        (Indicator::O3EightHour, "90"),
        (Indicator::O3Hourly, "250"),
    ];
    let r = daily(AqiStandard::Hj633_2026, &all_2026);
    assert_eq!(
        r.not_used,
        vec![Indicator::O3Hourly],
        "2026 daily report has no O3 1-h"
    );
    assert!(r.missing.is_empty() && r.publishable);
    assert_eq!(r.aqi, Some(50));
    let r = daily(AqiStandard::Hj633_2012, &all_2026);
    assert_eq!(
        r.aqi,
        Some(125),
        "2012 daily report includes the O3 daily max 1-h"
    );
    // HJ 633-2026 §5.3.1: with a pollutant missing, publish only when AQI > 100.
    let r = daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "100")]);
    assert_eq!(
        (r.aqi, r.publishable, r.missing.len()),
        (Some(137), true, 5)
    );
    let r = daily(AqiStandard::Hj633_2026, &[(Indicator::Pm25Daily, "30")]);
    assert!(!r.publishable);
    assert!(
        compute_aqi(
            AqiStandard::Hj633_2026,
            ReportKind::Daily,
            &[(Indicator::CoDaily, d("-0.1"))]
        )
        .is_err()
    );
}

#[test]
fn real_time_pm_uses_daily_column_in_2026_and_moving_average_in_2012() {
    let r = compute_aqi(
        AqiStandard::Hj633_2026,
        ReportKind::Hourly,
        &[(Indicator::Pm25Hourly, d("60"))],
    )
    .unwrap();
    assert_eq!(r.aqi, Some(100));
    let r = compute_aqi(
        AqiStandard::Hj633_2012,
        ReportKind::Hourly,
        &[
            (Indicator::Pm25Hourly, d("60")),
            (Indicator::Pm25Daily, d("75")),
        ],
    )
    .unwrap();
    assert_eq!(
        (r.aqi, r.not_used.clone()),
        (Some(100), vec![Indicator::Pm25Hourly])
    );
}

fn column_strategy() -> impl Strategy<Value = (AqiStandard, Indicator)> {
    (
        prop::sample::select(BOTH.to_vec()),
        prop::sample::select(Indicator::ALL.to_vec()),
    )
        .prop_filter("column defined", |(s, i)| breakpoints(*s, *i).is_some())
}

proptest! {
    #[test]
    fn iaqi_is_monotone_in_concentration((standard, indicator) in column_strategy(), a in 0i64..40_000_000, b in 0i64..40_000_000) {
        let column = breakpoints(standard, indicator).unwrap();
        let (lo, hi) = (Exact::new(a.min(b).into(), 10_000), Exact::new(a.max(b).into(), 10_000));
        match (iaqi_from_column(column, lo), iaqi_from_column(column, hi)) {
            (Some(x), Some(y)) => prop_assert!(x <= y),
            (None, Some(_)) => prop_assert!(false, "lower concentration above table but higher not"),
            _ => {}
        }
    }

    #[test]
    fn iaqi_is_continuous_at_breakpoints((standard, indicator) in column_strategy(), row in 1usize..8, micro in 1i64..1000) {
        let column = breakpoints(standard, indicator).unwrap();
        prop_assume!(row < column.len());
        let bp = Exact::from_int(column[row]);
        let eps = Exact::new(micro.into(), 1_000_000);
        let below = iaqi_from_column(column, bp - eps).unwrap();
        let at = iaqi_from_column(column, bp).unwrap();
        prop_assert_eq!(at, IAQI_ROWS[row] as u32);
        prop_assert_eq!(below, at, "approaching from below rounds up to the row value");
        if let Some(above) = iaqi_from_column(column, bp + eps) {
            prop_assert_eq!(above, at + 1);
        }
    }

    /// Rounding up never moves a value out of its level: exact IAQI in (50k, 50k+50] gives an AQI of the same level.
    #[test]
    fn rounding_up_never_loses_a_level((standard, indicator) in column_strategy(), tenthousandths in 1i64..40_000_000) {
        let column = breakpoints(standard, indicator).unwrap();
        let c = Exact::new(tenthousandths.into(), 10_000);
        if let Some(iaqi) = iaqi_from_column(column, c) {
            let upper = column.iter().position(|&bp| c <= Exact::from_int(bp)).unwrap();
            let (bp_lo, bp_hi) = (column[upper - 1], column[upper]);
            let (ilo, ihi) = (IAQI_ROWS[upper - 1], IAQI_ROWS[upper]);
            let exact = Exact::from_int(ilo) + Exact::from_int(ihi - ilo) * (c - Exact::from_int(bp_lo)) / Exact::from_int(bp_hi - bp_lo);
            let exact_level_top = [50, 100, 150, 200, 300, 500].into_iter().find(|&top| exact <= Exact::from_int(top)).unwrap();
            prop_assert_eq!(AqiLevel::for_aqi(iaqi), AqiLevel::for_aqi(exact_level_top as u32));
            prop_assert!(Exact::from_int(iaqi.into()) >= exact && Exact::from_int(iaqi.into()) - exact < Exact::ONE);
        }
    }
}
