//! The progress rules on constructed area days and section outcomes, every expected figure computed by hand.

use chrono::{Datelike, Days, NaiveDate};
use standards::aggregate::DailyValues;
use standards::exact::Exact;
use standards::settings::AirSettings;
use standards::water::WaterClass;
use targets::model::{Comparison, Indicator, Status, Target, Trend};
use targets::progress::{SectionOutcome, YearWindow, air_status, reported_status, water_status};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn target(indicator: Indicator, comparison: Comparison, threshold: Option<f64>) -> Target {
    Target {
        id: 1,
        year: 2025,
        code: indicator.as_str().to_string(),
        title: indicator.label().to_string(),
        indicator,
        comparison,
        threshold,
        unit: indicator.unit().to_string(),
        owner: "大气环境科".to_string(),
        plan_wording: String::new(),
        note: String::new(),
        reported_value: None,
        evidence: String::new(),
        reported_at: None,
        reported_by: None,
        seeded: false,
        position: 0,
        created_at: 0,
        updated_at: 0,
    }
}

/// An area day with all six pollutants: PM2.5 as given, the others low (so PM2.5 sets the AQI).
fn day(d: NaiveDate, pm25: i64) -> DailyValues {
    let v = |x: i64| Some(Exact::from_int(x));
    DailyValues {
        date: d,
        // SO2, NO2, PM10, PM2.5, CO, O3-8h
        values: [
            v(5),
            v(20),
            v(pm25),
            v(pm25),
            Some(Exact::new(5, 10)),
            v(60),
        ],
        o3_max_1h: v(70),
        support: [1; 6],
    }
}

/// `count` consecutive days from `start`, PM2.5 given by `pm25(i)`.
fn days(start: NaiveDate, count: u64, pm25: impl Fn(u64) -> i64) -> Vec<DailyValues> {
    (0..count)
        .map(|i| day(start.checked_add_days(Days::new(i)).unwrap(), pm25(i)))
        .collect()
}

fn pm25_target(threshold: Option<f64>) -> Target {
    target(Indicator::Pm25AnnualMean, Comparison::Le, threshold)
}

/// 2025, seen on 20 July: 1 January – 19 July is day 1–200; 165 days remain.
fn july_window() -> YearWindow {
    let w = YearWindow::new(2025, date(2025, 7, 20)).unwrap();
    assert_eq!(w.through, Some(date(2025, 7, 19)));
    assert_eq!((w.elapsed_days(), w.remaining_days()), (200, 165));
    w
}

#[test]
fn windows() {
    let past = YearWindow::new(2024, date(2026, 12, 1)).unwrap();
    assert_eq!(past.through, Some(date(2024, 12, 31)));
    assert_eq!((past.elapsed_days(), past.remaining_days()), (366, 0));
    let first_day = YearWindow::new(2026, date(2026, 1, 1)).unwrap();
    assert_eq!(first_day.through, None);
    assert!(first_day.started);
    assert_eq!(first_day.remaining_days(), 365);
    let future = YearWindow::new(2027, date(2026, 12, 1)).unwrap();
    assert!(!future.started);
}

#[test]
fn pm25_required_mean_of_the_remaining_days() {
    let w = july_window();
    // 200 days at 45: mean 45. Remaining mean m: (45·200 + 165·m)/365 = 39 → m = (14235 − 9000)/165 = 31.727…
    let mut data = days(date(2025, 1, 1), 200, |_| 45);
    // Last year's rest (20 July – 31 December 2024, 165 days) at 30; August–December are full months at 30.
    data.extend(days(date(2024, 7, 20), 165, |_| 30));
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.value, Some(45.0));
    assert_eq!(s.basis, Some(200));
    let p = s.projection.clone().unwrap();
    assert_eq!(p.remaining_days, 165);
    assert_eq!(p.required, Some(31.7));
    assert_eq!(p.last_year_rest, Some(30.0));
    assert_eq!(p.best_plausible, Some(30.0));
    // 31.7 ≥ last year's 30: the rest of the year may be worse than last year's and still reach 39.
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    // No data for 1 January – 19 July 2024: no same-period value, no trend.
    assert_eq!(s.last_year_value, None);
    assert_eq!(s.trend, Trend::Unknown);

    // Last year's rest at 35: the remaining days must beat it (31.7 < 35) → at risk, since last year's cleanest
    // full month (January 2024 at 25) shows it can be done.
    let mut data = days(date(2025, 1, 1), 200, |_| 45);
    data.extend(days(date(2024, 7, 20), 165, |_| 35));
    data.extend(days(date(2024, 1, 1), 31, |_| 25));
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
}

#[test]
fn pm25_on_the_boundary_and_lost() {
    let w = july_window();
    // 200 days at 39, last year's rest at 39: required exactly 39, equal to the yardstick → on track.
    let mut data = days(date(2025, 1, 1), 200, |_| 39);
    data.extend(days(date(2024, 7, 20), 165, |_| 39));
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.projection.as_ref().unwrap().required, Some(39.0));
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    // Last year's rest at 40 and a January at 25: required 39 < 40 → at risk.
    let mut data = days(date(2025, 1, 1), 200, |_| 39);
    data.extend(days(date(2024, 7, 20), 165, |_| 40));
    let mut with_clean_january = data.clone();
    with_clean_january.extend(days(date(2024, 1, 1), 31, |_| 25));
    let s = air_status(
        &pm25_target(Some(39.0)),
        &w,
        &with_clean_january,
        &AirSettings::default(),
    );
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
    // Without it, 39 is below every full month of last year (all at 40) → lost.
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.projection.as_ref().unwrap().best_plausible, Some(40.0));
    assert_eq!(s.status, Status::Lost, "{}", s.reason);

    // 200 days at 60: m = (14235 − 12000)/165 = 13.545…, below last year's cleanest full month (20) → lost.
    let mut data = days(date(2025, 1, 1), 200, |_| 60);
    data.extend(days(date(2024, 7, 20), 165, |_| 20));
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.projection.as_ref().unwrap().required, Some(13.5));
    assert_eq!(s.status, Status::Lost, "{}", s.reason);
    // Without last year: the yardstick is the mean so far (60); 13.5 < 60 → at risk, not lost.
    let data = days(date(2025, 1, 1), 200, |_| 60);
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
    // 200 days at 80: 14235 − 16000 < 0: not even a rest of zeros reaches 39 → lost.
    let data = days(date(2025, 1, 1), 200, |_| 80);
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.status, Status::Lost, "{}", s.reason);
}

#[test]
fn pm25_whole_year_met_or_missed_exactly_on_target() {
    let w = YearWindow::new(2025, date(2026, 1, 5)).unwrap();
    assert_eq!(w.remaining_days(), 0);
    // 365 days at exactly 39.
    let data = days(date(2025, 1, 1), 365, |_| 39);
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!((s.value, s.status), (Some(39.0), Status::Met));
    // 364 days at 39 and one at 40: mean 39.0027… rounds to 39 (reported figure, HJ 663) → met.
    let data = days(date(2025, 1, 1), 365, |i| if i == 0 { 40 } else { 39 });
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!((s.value, s.status), (Some(39.0), Status::Met));
    // Half the year at 39, half at 41 (183 × 41 + 182 × 39 = 14,601 → 40.0027) → 40 → missed.
    let data = days(date(2025, 1, 1), 365, |i| if i < 183 { 41 } else { 39 });
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!((s.value, s.status), (Some(40.0), Status::Missed));
}

#[test]
fn pm25_trend_and_missing_threshold() {
    let w = july_window();
    let mut data = days(date(2025, 1, 1), 200, |_| 45);
    data.extend(days(date(2024, 1, 1), 200, |_| 50));
    let s = air_status(&pm25_target(None), &w, &data, &AirSettings::default());
    assert_eq!(s.value, Some(45.0));
    assert_eq!(s.last_year_value, Some(50.0));
    assert_eq!(s.trend, Trend::Better);
    assert_eq!(s.status, Status::AwaitingThreshold);
    assert_eq!(s.requirement, "待市下达");
    assert!(s.projection.is_none());
    // Nothing this year yet.
    let s = air_status(&pm25_target(Some(39.0)), &w, &[], &AirSettings::default());
    assert_eq!((s.value, s.status), (None, Status::NoData));
    // A year that has not begun.
    let w = YearWindow::new(2027, date(2026, 12, 1)).unwrap();
    let s = air_status(&pm25_target(Some(39.0)), &w, &data, &AirSettings::default());
    assert_eq!(s.status, Status::NotStarted);
}

/// 2025 seen on 11 April: 1 January – 10 April is 100 days; 265 remain.
fn april_window() -> YearWindow {
    let w = YearWindow::new(2025, date(2025, 4, 11)).unwrap();
    assert_eq!((w.elapsed_days(), w.remaining_days()), (100, 265));
    w
}

/// 100 days of which `good` are good (PM2.5 30 → AQI 43) and the rest not (PM2.5 120 → AQI 157).
fn good_bad(good: u64) -> Vec<DailyValues> {
    days(date(2025, 1, 1), 100, |i| if i < good { 30 } else { 120 })
}

#[test]
fn good_day_ratio_projection_and_edges() {
    let w = april_window();
    let t = |threshold| target(Indicator::GoodDayRatio, Comparison::Ge, Some(threshold));
    // 60 of 100 good: 60.0 %. Needed: 0.7 × 365 − 60 = 195.5 → 196 of 265 (73.96… → 74.0 %).
    let s = air_status(&t(70.0), &w, &good_bad(60), &AirSettings::default());
    assert_eq!(s.value, Some(60.0));
    let p = s.projection.clone().unwrap();
    assert_eq!(p.required, Some(74.0));
    assert!(p.text.contains("196"), "{}", p.text);
    // No last year: the yardstick is 60.0 % so far; 74.0 % > 60.0 % → at risk.
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
    // Last year's rest all good (100 %): 74 % ≤ 100 % → on track.
    let mut data = good_bad(60);
    data.extend(days(date(2024, 4, 11), 265, |_| 30));
    let s = air_status(&t(70.0), &w, &data, &AirSettings::default());
    assert_eq!(s.projection.as_ref().unwrap().last_year_rest, Some(100.0));
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    // 80 %: 292 − 27 = 265 good days needed of 265: still possible (at risk); with 26 good: 266 > 265 → lost.
    let s = air_status(&t(80.0), &w, &good_bad(27), &AirSettings::default());
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
    assert_eq!(s.projection.as_ref().unwrap().required, Some(100.0));
    let s = air_status(&t(80.0), &w, &good_bad(26), &AirSettings::default());
    assert_eq!(s.status, Status::Lost, "{}", s.reason);
}

#[test]
fn heavy_pollution_days_allowance() {
    let w = april_window();
    let t = |threshold| {
        target(
            Indicator::HeavyPollutionDays,
            Comparison::Le,
            Some(threshold),
        )
    };
    // PM2.5 200 → AQI 250: heavy. `heavy` heavy days among 100.
    let data = |heavy: u64| {
        days(
            date(2025, 1, 1),
            100,
            move |i| if i < heavy { 200 } else { 30 },
        )
    };
    // 3 heavy days, target 5: 2 left; at the rate so far 3 × 265/100 = 7.95 expected → at risk.
    let s = air_status(&t(5.0), &w, &data(3), &AirSettings::default());
    assert_eq!(s.value, Some(3.0));
    assert_eq!(s.projection.as_ref().unwrap().required, Some(2.0));
    assert_eq!(s.status, Status::AtRisk, "{}", s.reason);
    // None so far: 5 left, 0 expected → on track.
    let s = air_status(&t(5.0), &w, &data(0), &AirSettings::default());
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    // Exactly 5: none left, but none expected either by last year's rest (no heavy day) → on track.
    let mut d = data(5);
    d.extend(days(date(2024, 4, 11), 265, |_| 30));
    let s = air_status(&t(5.0), &w, &d, &AirSettings::default());
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    // 6: already over → lost.
    let s = air_status(&t(5.0), &w, &data(6), &AirSettings::default());
    assert_eq!(s.status, Status::Lost, "{}", s.reason);
    // A whole year with exactly 5 → met; 6 → missed.
    let year = YearWindow::new(2025, date(2026, 2, 1)).unwrap();
    let whole = |heavy: u64| {
        days(
            date(2025, 1, 1),
            365,
            move |i| if i < heavy { 200 } else { 30 },
        )
    };
    assert_eq!(
        air_status(&t(5.0), &year, &whole(5), &AirSettings::default()).status,
        Status::Met
    );
    assert_eq!(
        air_status(&t(5.0), &year, &whole(6), &AirSettings::default()).status,
        Status::Missed
    );
}

fn sections(classes: &[WaterClass], meets: &[Option<bool>]) -> Vec<SectionOutcome> {
    classes
        .iter()
        .zip(meets)
        .map(|(class, meets_target)| SectionOutcome {
            class: *class,
            meets_target: *meets_target,
            assessment_section: true,
        })
        .collect()
}

#[test]
fn water_shares_against_their_targets() {
    use WaterClass::*;
    let w = july_window();
    let nine = [III, IV, IV, V, V, IV, IV, V, IV];
    let meets = [Some(true); 9];
    // 1 of 9 at III: 11.1 % (1/9 = 11.11… rounded half-even to 1 decimal) ≥ 11.1 → on track.
    let good = target(Indicator::WaterGoodShare, Comparison::Ge, Some(11.1));
    let s = water_status(&good, &w, &sections(&nine, &meets), &[]);
    assert_eq!((s.value, s.basis), (Some(11.1), Some(9)));
    assert_eq!(s.status, Status::OnTrack, "{}", s.reason);
    assert_eq!(s.projection.as_ref().unwrap().required, Some(1.0));
    // A district-level section counts for 劣V and compliance, not for the national/municipal share.
    let mut with_district = sections(&nine, &meets);
    with_district.push(SectionOutcome {
        class: II,
        meets_target: Some(true),
        assessment_section: false,
    });
    let s = water_status(&good, &w, &with_district, &[]);
    assert_eq!((s.value, s.basis), (Some(11.1), Some(9)));
    // None at III: 0 % → at risk while the year runs, missed at its end.
    let none = [IV; 9];
    let s = water_status(
        &good,
        &w,
        &sections(&none, &meets),
        &sections(&nine, &meets),
    );
    assert_eq!((s.value, s.status), (Some(0.0), Status::AtRisk));
    assert_eq!((s.last_year_value, s.trend), (Some(11.1), Trend::Worse));
    let year_over = YearWindow::new(2025, date(2026, 3, 1)).unwrap();
    let s = water_status(&good, &year_over, &sections(&none, &meets), &[]);
    assert_eq!(s.status, Status::Missed);
    let s = water_status(&good, &year_over, &sections(&nine, &meets), &[]);
    assert_eq!(s.status, Status::Met);

    // 劣V: one section → at risk, then missed; none → met.
    let worse = target(
        Indicator::WaterWorseThanVSections,
        Comparison::Le,
        Some(0.0),
    );
    let mut with_worse = nine;
    with_worse[8] = WorseThanV;
    let s = water_status(&worse, &w, &sections(&with_worse, &meets), &[]);
    assert_eq!((s.value, s.status), (Some(1.0), Status::AtRisk));
    assert_eq!(
        water_status(&worse, &year_over, &sections(&with_worse, &meets), &[]).status,
        Status::Missed
    );
    assert_eq!(
        water_status(&worse, &year_over, &sections(&nine, &meets), &[]).status,
        Status::Met
    );

    // Function zones: 8 of the 9 sections with a target meet it (one has none): 8/8 = 100 %; then 7/8 = 87.5 %.
    let zones = target(
        Indicator::WaterTargetCompliance,
        Comparison::Ge,
        Some(100.0),
    );
    let mut m = [Some(true); 9];
    m[0] = None;
    let s = water_status(&zones, &w, &sections(&nine, &m), &[]);
    assert_eq!(
        (s.value, s.basis, s.status),
        (Some(100.0), Some(8), Status::OnTrack)
    );
    m[1] = Some(false);
    let s = water_status(&zones, &w, &sections(&nine, &m), &[]);
    assert_eq!((s.value, s.status), (Some(87.5), Status::AtRisk));
    // No section assessed yet.
    assert_eq!(water_status(&zones, &w, &[], &[]).status, Status::NoData);
}

#[test]
fn reported_targets() {
    let w = july_window();
    let mut t = target(Indicator::Reported, Comparison::Ge, None);
    t.unit = "%".to_string();
    assert_eq!(reported_status(&t, &w).status, Status::AwaitingThreshold);
    t.threshold = Some(100.0);
    assert_eq!(reported_status(&t, &w).status, Status::AwaitingReport);
    t.reported_value = Some(92.5);
    let s = reported_status(&t, &w);
    assert_eq!(
        (s.value, s.value_text.as_str(), s.status),
        (Some(92.5), "92.5%", Status::AtRisk)
    );
    t.reported_value = Some(100.0);
    assert_eq!(reported_status(&t, &w).status, Status::OnTrack);
    let year_over = YearWindow::new(2025, date(2026, 1, 2)).unwrap();
    assert_eq!(reported_status(&t, &year_over).status, Status::Met);
    t.comparison = Comparison::Eq;
    t.reported_value = Some(99.0);
    assert_eq!(reported_status(&t, &year_over).status, Status::Missed);
    assert_eq!(date(2025, 1, 1).year(), 2025);
}
