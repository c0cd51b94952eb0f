//! Is it traffic or industry (是交通还是工业?): the time variation of a concentration (openair
//! `timeVariation`) — mean and 95 % interval by hour of day, day of week, month, and hour within each weekday,
//! all in China Standard Time. Traffic shows two rush-hour peaks on working days and a lower weekend; a
//! continuous industrial source shows little weekly rhythm, and heating shows in the winter months.
//!
//! The interval is the Student t interval of the mean of the hourly values in the group (openair bootstraps the
//! mean instead; with hundreds of hours per group the two agree closely). Hours are autocorrelated, so the
//! interval is narrower than an independent-sample reading of it suggests.

use chrono::{Datelike, Timelike};
use serde::Serialize;

use crate::stats::{self, Summary};

/// One group of the time variation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    /// Hour 0–23, weekday 1 (Monday) – 7 (Sunday), or month 1–12.
    pub key: u32,
    /// For hour × weekday: the weekday of the hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekday: Option<u32>,
    pub label: String,
    pub n: usize,
    pub mean: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Hour of day, day of week, month and hour × weekday profiles.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Variation {
    pub hours: usize,
    pub by_hour: Vec<Group>,
    pub by_weekday: Vec<Group>,
    pub by_month: Vec<Group>,
    /// 7 × 24 groups, Monday 0 h first.
    pub by_hour_weekday: Vec<Group>,
    /// Mean of working days (Mon–Fri) over the mean of weekends (Sat–Sun), when both exist.
    pub weekday_weekend_ratio: Option<f64>,
}

pub const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

fn group(key: u32, weekday: Option<u32>, label: String, values: &[f64]) -> Group {
    let s: Option<Summary> = stats::summary(values);
    Group {
        key,
        weekday,
        label,
        n: values.len(),
        mean: s.map(|s| s.mean),
        lower: s.and_then(|s| s.lower),
        upper: s.and_then(|s| s.upper),
    }
}

/// The time variation of hourly values `(ts, value)` (Unix seconds UTC).
pub fn time_variation(values: &[(i64, f64)]) -> Variation {
    let mut hour: Vec<Vec<f64>> = vec![Vec::new(); 24];
    let mut weekday: Vec<Vec<f64>> = vec![Vec::new(); 7];
    let mut month: Vec<Vec<f64>> = vec![Vec::new(); 12];
    let mut both: Vec<Vec<f64>> = vec![Vec::new(); 7 * 24];
    let mut used = 0;
    for &(ts, v) in values.iter().filter(|(_, v)| v.is_finite()) {
        let local = kernel::time::to_cst(ts);
        let h = local.hour() as usize;
        let w = local.weekday().num_days_from_monday() as usize;
        hour[h].push(v);
        weekday[w].push(v);
        month[local.month0() as usize].push(v);
        both[w * 24 + h].push(v);
        used += 1;
    }
    let working: Vec<f64> = weekday[..5].iter().flatten().copied().collect();
    let weekend: Vec<f64> = weekday[5..].iter().flatten().copied().collect();
    let ratio = match (stats::summary(&working), stats::summary(&weekend)) {
        (Some(a), Some(b)) if b.mean != 0.0 => Some(a.mean / b.mean),
        _ => None,
    };
    Variation {
        hours: used,
        by_hour: (0..24)
            .map(|h| group(h as u32, None, format!("{h}时"), &hour[h]))
            .collect(),
        by_weekday: (0..7)
            .map(|w| group(w as u32 + 1, None, WEEKDAYS[w].to_string(), &weekday[w]))
            .collect(),
        by_month: (0..12)
            .map(|m| group(m as u32 + 1, None, format!("{}月", m + 1), &month[m]))
            .collect(),
        by_hour_weekday: (0..7 * 24)
            .map(|i| {
                let (w, h) = (i / 24, i % 24);
                group(
                    h as u32,
                    Some(w as u32 + 1),
                    format!("{} {h}时", WEEKDAYS[w]),
                    &both[i],
                )
            })
            .collect(),
        weekday_weekend_ratio: ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use kernel::rng::SplitMix64;

    /// 2024-01-01 00:00 CST, a Monday.
    fn monday() -> i64 {
        kernel::time::cst_day_start(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
    }

    #[test]
    fn rush_hours_and_weekends_show_where_they_were_planted() {
        // A year of hours: base 30 ± noise; +40 at 07–08 and 17–18 h on working days only.
        let mut mix = SplitMix64::new(11);
        let start = monday();
        let values: Vec<(i64, f64)> = (0..366 * 24)
            .map(|i| {
                let ts = start + i * 3600;
                let local = kernel::time::to_cst(ts);
                let rush = matches!(local.hour(), 7 | 8 | 17 | 18)
                    && local.weekday().num_days_from_monday() < 5;
                (
                    ts,
                    30.0 + 4.0 * mix.approximately_normal() + if rush { 40.0 } else { 0.0 },
                )
            })
            .collect();
        let v = time_variation(&values);
        assert_eq!(v.hours, 366 * 24);
        let peak = v
            .by_hour
            .iter()
            .max_by(|a, b| a.mean.unwrap().total_cmp(&b.mean.unwrap()))
            .unwrap();
        assert!([7, 8, 17, 18].contains(&peak.key), "{peak:?}");
        // Hour 8 on working days: 70 on average; on Sunday: 30.
        let tue8 = &v.by_hour_weekday[24 + 8];
        assert_eq!((tue8.weekday, tue8.key), (Some(2), 8));
        assert!((tue8.mean.unwrap() - 70.0).abs() < 2.0, "{tue8:?}");
        let sun8 = &v.by_hour_weekday[6 * 24 + 8];
        assert!((sun8.mean.unwrap() - 30.0).abs() < 2.0, "{sun8:?}");
        // The 95 % intervals of the 168 hour × weekday groups cover their true means about 95 % of the time.
        let covered = v
            .by_hour_weekday
            .iter()
            .filter(|g| {
                let rush = matches!(g.key, 7 | 8 | 17 | 18) && g.weekday.unwrap() <= 5;
                let truth = if rush { 70.0 } else { 30.0 };
                g.lower.unwrap() < truth && truth < g.upper.unwrap()
            })
            .count();
        assert!((150..=168).contains(&covered), "{covered} of 168");
        let night = &v.by_hour[3];
        assert!((night.mean.unwrap() - 30.0).abs() < 1.5);
        assert!(v.weekday_weekend_ratio.unwrap() > 1.1);
        assert_eq!(v.by_weekday[6].label, "周日");
        assert_eq!(v.by_month.len(), 12);
        assert!(v.by_month.iter().all(|m| m.n > 0));
    }

    #[test]
    fn groups_by_hand_in_china_standard_time() {
        // 16:00 UTC on Sunday 2023-12-31 is 00:00 CST on Monday 2024-01-01.
        let ts = monday();
        let v = time_variation(&[
            (ts, 10.0),
            (ts + 3600, 20.0),
            (ts + 7 * 86_400, 30.0),
            (ts, f64::NAN),
        ]);
        assert_eq!(v.hours, 3);
        assert_eq!((v.by_hour[0].n, v.by_hour[0].mean), (2, Some(20.0)));
        assert_eq!(v.by_weekday[0].n, 3);
        assert_eq!(v.by_month[0].mean, Some(20.0));
        // Two values 10 and 30: mean 20, sd √200, t(0.975; 1) = 12.706.
        let half = 12.706_2 * 200f64.sqrt() / 2f64.sqrt();
        assert!((v.by_hour[0].upper.unwrap() - (20.0 + half)).abs() < 1e-2);
        assert_eq!(v.by_hour[1].lower, None, "one value has no interval");
        assert_eq!(v.weekday_weekend_ratio, None);
        assert_eq!(time_variation(&[]).by_hour_weekday.len(), 168);
    }
}
