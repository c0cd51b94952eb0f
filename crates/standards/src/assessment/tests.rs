use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn x(text: &str) -> Exact {
    Exact::parse_decimal(text).unwrap()
}

/// A day with clean gases and the given PM2.5 (µg/m³) and O3 8-h.
fn day(on: NaiveDate, pm25: Option<i64>, o3_8h: i64) -> DailyValues {
    DailyValues {
        date: on,
        values: [
            Some(x("8")),
            Some(x("30")),
            Some(x("40")),
            pm25.map(Exact::from_int),
            Some(x("0.8")),
            Some(Exact::from_int(o3_8h)),
        ],
        o3_max_1h: None,
        support: [24; 6],
    }
}

#[test]
fn good_days_levels_and_heavy_days() {
    // PM2.5 (2012 table): 30 → 43 一级, 60 → 82 二级, 100 → 132 三级, 140 → 186 四级, 200 → 250 五级, 300 → 350 六级.
    let pm = [30, 60, 100, 140, 200, 300];
    let days: Vec<_> = pm
        .iter()
        .enumerate()
        .map(|(i, &v)| day(date(2016, 1, 1 + i as u32), Some(v), 50))
        .collect();
    let a = assess_period(
        &days,
        date(2016, 1, 1),
        date(2016, 1, 6),
        &AirSettings::default(),
    );
    assert_eq!(a.days_per_level, [1, 1, 1, 1, 1, 1]);
    assert_eq!(
        (a.valid_days, a.good_days, a.heavy_pollution_days),
        (6, 2, 2)
    );
    assert_eq!(a.good_day_ratio_percent, Some(x("33.3")));
    assert_eq!(a.aqi_standards, vec![AqiStandard::Hj633_2012]);
    assert_eq!(a.limits, Gb3095::Edition2012);
}

#[test]
fn daily_aqi_follows_the_date_across_the_2026_switch() {
    // PM2.5 70: 2012 → 94 (良), 2026 → 110 (轻度污染).
    let days = vec![
        day(date(2026, 2, 28), Some(70), 50),
        day(date(2026, 3, 1), Some(70), 50),
    ];
    let a = assess_period(
        &days,
        date(2026, 2, 28),
        date(2026, 3, 1),
        &AirSettings::default(),
    );
    assert_eq!(
        a.aqi_standards,
        vec![AqiStandard::Hj633_2012, AqiStandard::Hj633_2026]
    );
    assert_eq!(
        (a.good_days, a.days_per_level[1], a.days_per_level[2]),
        (1, 1, 1)
    );
    assert_eq!(daily_aqi(&days[0]).aqi, Some(94));
    assert_eq!(daily_aqi(&days[1]).aqi, Some(110));
    assert_eq!(
        a.limits,
        Gb3095::Edition2026Transition,
        "default: limits in force at the end of the period"
    );
    let start = AirSettings {
        limits_selection: LimitsSelection::InForceAtPeriodStart,
        ..AirSettings::default()
    };
    assert_eq!(
        assess_period(&days, date(2026, 2, 28), date(2026, 3, 1), &start).limits,
        Gb3095::Edition2012
    );
}

#[test]
fn days_with_a_missing_pollutant_follow_the_day_validity_setting() {
    let days = vec![
        day(date(2026, 4, 1), None, 50),
        day(date(2026, 4, 2), Some(20), 50),
    ];
    let mut heavy_gas = day(date(2026, 4, 3), None, 300);
    heavy_gas.values[Pollutant::Pm10.index()] = None;
    let days: Vec<_> = days.into_iter().chain([heavy_gas]).collect();
    let strict = assess_period(
        &days,
        date(2026, 4, 1),
        date(2026, 4, 3),
        &AirSettings::default(),
    );
    assert_eq!(strict.valid_days, 1);
    let publishable = AirSettings {
        day_validity: DayValidity::PublishableAqi,
        ..AirSettings::default()
    };
    let lenient = assess_period(&days, date(2026, 4, 1), date(2026, 4, 3), &publishable);
    // Day 3 has AQI > 100 from O3 alone, so HJ 633-2026 §5.3.1 publishes it; day 1 (AQI ≤ 100) is not.
    assert_eq!((lenient.valid_days, lenient.good_days), (2, 1));
}

#[test]
fn sand_dust_conventions() {
    // Ten days: eight good, two sand-dust days with PM10 400 (2012 → 五级) and clean gases.
    let mut days: Vec<_> = (1..=10)
        .map(|d| day(date(2016, 5, d), Some(20), 50))
        .collect();
    for sand in [8, 9] {
        days[sand].values[Pollutant::Pm10.index()] = Some(x("400"));
    }
    let sand_dates = vec![date(2016, 5, 9), date(2016, 5, 10)];
    let settings = |sand_dust| AirSettings {
        sand_dust,
        sand_dust_dates: sand_dates.clone(),
        ..AirSettings::default()
    };
    let (from, to) = (date(2016, 5, 1), date(2016, 5, 10));
    let none = assess_period(&days, from, to, &settings(SandDustConvention::None));
    assert_eq!(
        (none.valid_days, none.good_days, none.good_day_ratio_percent),
        (10, 8, Some(x("80.0")))
    );
    assert_eq!(none.heavy_pollution_days, 2);
    let excluded = assess_period(
        &days,
        from,
        to,
        &settings(SandDustConvention::ExcludeFromDenominator),
    );
    assert_eq!(
        (
            excluded.valid_days,
            excluded.good_days,
            excluded.sand_dust_days_adjusted
        ),
        (8, 8, 2)
    );
    assert_eq!(excluded.good_day_ratio_percent, Some(x("100.0")));
    let reevaluated = assess_period(
        &days,
        from,
        to,
        &settings(SandDustConvention::ReevaluateWithoutPm),
    );
    assert_eq!(
        (
            reevaluated.valid_days,
            reevaluated.good_days,
            reevaluated.heavy_pollution_days
        ),
        (10, 10, 0)
    );
}

#[test]
fn attainment_and_exceedance_multiples() {
    // 30 days; PM2.5 40 every day except one at 100; O3 8-h at 162 on 4 days and 100 otherwise.
    let days: Vec<_> = (1..=30)
        .map(|d| {
            day(
                date(2016, 6, d),
                Some(if d == 15 { 100 } else { 40 }),
                if d <= 4 { 162 } else { 100 },
            )
        })
        .collect();
    let a = assess_period(
        &days,
        date(2016, 6, 1),
        date(2016, 6, 30),
        &AirSettings::default(),
    );
    let stats = |p: Pollutant| {
        a.pollutants
            .iter()
            .find(|s| s.pollutant == p)
            .unwrap()
            .clone()
    };
    let pm25 = stats(Pollutant::Pm25);
    // Mean (29·40 + 100)/30 = 42 → above 35: exceedance (42 − 35)/35 = 0.20.
    assert_eq!(
        (pm25.mean, pm25.mean_exceedance_multiple),
        (Some(x("42")), Some(x("0.20")))
    );
    // P95: k = 1 + 29·0.95 = 28.55 → X(28) + 0.55·(X(29) − X(28)) = 40.
    assert_eq!(pm25.percentile_value, Some(x("40")));
    assert_eq!((pm25.attains, pm25.days_over_daily_limit), (Some(false), 1));
    // 29 of 30 days within 75: 96.7 %.
    assert_eq!(pm25.daily_attainment_rate_percent, Some(x("96.7")));
    assert_eq!(pm25.statistics_valid, Some(true));
    let o3 = stats(Pollutant::O3);
    // P90: k = 1 + 29·0.9 = 27.1 → X(27) + 0.1·(X(28) − X(27)) = 162 (sorted: 26 × 100, 4 × 162).
    assert_eq!(
        (o3.percentile_value, o3.percentile_exceedance_multiple),
        (Some(x("162")), Some(x("0.01")))
    );
    assert_eq!((o3.mean, o3.attains), (None, Some(false)));
    assert_eq!(stats(Pollutant::So2).attains, Some(true));
    assert_eq!(a.attains_all, Some(false));
    assert_eq!(a.validity_rule, Some("calendar month: ≥ 27 daily values"));
    // Composite: 8/60 + 30/40 + 40/70 + 42/35 + 0.8/4 + 162/160 = 3.8673… → 3.87.
    assert_eq!(a.composite_index.unwrap().value, x("3.87"));
}

#[test]
fn period_validity_rules() {
    assert_eq!(
        minimum_valid_days(date(2015, 1, 1), date(2015, 12, 31)).map(|r| r.1),
        Some(324)
    );
    assert_eq!(
        minimum_valid_days(date(2016, 2, 1), date(2016, 2, 29)).map(|r| r.1),
        Some(25)
    );
    assert_eq!(
        minimum_valid_days(date(2016, 12, 1), date(2016, 12, 31)).map(|r| r.1),
        Some(27)
    );
    assert_eq!(
        minimum_valid_days(date(2016, 12, 2), date(2016, 12, 31)),
        None
    );
    let few: Vec<_> = (1..=26)
        .map(|d| day(date(2016, 3, d), Some(20), 50))
        .collect();
    let a = assess_period(
        &few,
        date(2016, 3, 1),
        date(2016, 3, 31),
        &AirSettings::default(),
    );
    assert_eq!(a.pollutants[0].statistics_valid, Some(false));
    assert_eq!(a.days_in_period, 31);
}

#[test]
fn months_are_clipped_to_the_range() {
    let months = calendar_months(date(2016, 11, 15), date(2017, 2, 3));
    assert_eq!(
        months,
        vec![
            (date(2016, 11, 15), date(2016, 11, 30)),
            (date(2016, 12, 1), date(2016, 12, 31)),
            (date(2017, 1, 1), date(2017, 1, 31)),
            (date(2017, 2, 1), date(2017, 2, 3)),
        ]
    );
}

#[test]
fn hj633_2012_daily_report_uses_o3_max_1h() {
    let mut d = day(date(2016, 7, 1), Some(20), 150);
    d.o3_max_1h = Some(x("250"));
    assert_eq!(daily_aqi(&d).aqi, Some(125));
    // HJ 633-2026 drops the O3 1-h from the daily report: O3 8-h 150 → 92.
    d.date = date(2026, 7, 1);
    assert_eq!(daily_aqi(&d).aqi, Some(92));
}

#[test]
fn monthly_means_round_half_to_even_and_count_only_valid_days() {
    let days = vec![
        // Outside the range: not counted.
        day(date(2015, 12, 31), Some(300), 50),
        // January: PM2.5 34.5 → 34 (half to even); the day without PM2.5 is no valid day: 2 good of 2.
        day(date(2016, 1, 20), Some(34), 50),
        day(date(2016, 1, 21), Some(35), 50),
        day(date(2016, 1, 22), None, 50),
        // February: 231 / 3 = 77; PM2.5 160 is above IAQI 100: 2 good of 3 → 66.7 %.
        day(date(2016, 2, 1), Some(35), 50),
        day(date(2016, 2, 2), Some(36), 50),
        day(date(2016, 2, 29), Some(160), 50),
        // April: 35.5 → 36 (half to even).
        day(date(2016, 4, 9), Some(35), 50),
        day(date(2016, 4, 10), Some(36), 50),
        // After the range: not counted.
        day(date(2016, 4, 11), Some(300), 50),
    ];
    let months = monthly_means(
        &days,
        date(2016, 1, 15),
        date(2016, 4, 10),
        &AirSettings::default(),
    );
    let got: Vec<(i32, u32, Option<Exact>, Option<Exact>)> = months
        .iter()
        .map(|m| (m.year, m.month, m.pm25_mean, m.good_day_ratio_percent))
        .collect();
    assert_eq!(
        got,
        vec![
            (2016, 1, Some(x("34")), Some(x("100"))),
            (2016, 2, Some(x("77")), Some(x("66.7"))),
            (2016, 3, None, None),
            (2016, 4, Some(x("36")), Some(x("100"))),
        ]
    );
}

#[test]
fn a_month_of_days_without_pm25_has_a_ratio_but_no_mean() {
    let mut only_gases = day(date(2024, 5, 1), None, 50);
    only_gases.values[Pollutant::Pm25.index()] = None;
    let months = monthly_means(
        &[only_gases],
        date(2024, 5, 1),
        date(2024, 5, 31),
        &AirSettings {
            day_validity: crate::settings::DayValidity::PublishableAqi,
            ..AirSettings::default()
        },
    );
    assert_eq!(months.len(), 1);
    assert_eq!(months[0].pm25_mean, None);
    assert_eq!(months[0].good_day_ratio_percent, Some(x("100")));
}
