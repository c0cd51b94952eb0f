//! Did it work (整治见效了吗?): a before/after comparison around a date, e.g. a retrofit (提标改造) or a
//! road closure.
//!
//! The unit is the **daily mean** (CST day, valid with at least [`MIN_HOURS_PER_DAY`] valid hours, GB 3095's
//! daily rule), which removes most of the diurnal autocorrelation of hourly data. The windows are the `days` days
//! before the date and the `days` days from it. The difference after − before has Welch's 95 % t interval. The
//! same calendar windows one year earlier are the control: weather and season change the concentration too, so the
//! net effect is (after − before) − (control after − control before), with a Welch–Satterthwaite interval over
//! the four independent means. Days are still autocorrelated (episodes last several days), so the intervals are
//! somewhat too narrow; a large difference whose control moved the same way is weather, not the measure.

use chrono::NaiveDate;
use serde::Serialize;

use crate::stats::{self, Difference, Summary};

/// A day counts with at least this many valid hours (GB 3095-2012 Table 4).
pub const MIN_HOURS_PER_DAY: usize = standards::aggregate::MIN_HOURS_PER_DAY as usize;

/// Daily means of hourly values `(ts, value)`, CST days with at least `min_hours` values, in date order.
pub fn daily_means(values: &[(i64, f64)], min_hours: usize) -> Vec<(NaiveDate, usize, f64)> {
    let mut days: std::collections::BTreeMap<NaiveDate, (usize, f64)> = Default::default();
    for &(ts, v) in values.iter().filter(|(_, v)| v.is_finite()) {
        let d = days.entry(kernel::time::cst_day(ts)).or_default();
        d.0 += 1;
        d.1 += v;
    }
    days.into_iter()
        .filter(|(_, (n, _))| *n >= min_hours.max(1))
        .map(|(date, (n, sum))| (date, n, sum / n as f64))
        .collect()
}

/// One window of days.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Window {
    /// First day and the day after the last (CST).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Valid days in the window and their summary.
    pub days: usize,
    pub summary: Option<Summary>,
}

/// A before/after pair of windows.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pair {
    pub before: Window,
    pub after: Window,
    /// after − before with Welch's interval (needs two valid days on each side with some spread).
    pub difference: Option<Difference>,
    /// 100 × (after − before) / before.
    pub percent_change: Option<f64>,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BeforeAfter {
    pub date: NaiveDate,
    pub window_days: u32,
    pub main: Pair,
    /// The same calendar windows one year earlier, when they hold data.
    pub control: Option<Pair>,
    /// (after − before) − (control after − control before), when the control exists.
    pub net: Option<Difference>,
}

fn window(daily: &[(NaiveDate, usize, f64)], from: NaiveDate, to: NaiveDate) -> Window {
    let values: Vec<f64> = daily
        .iter()
        .filter(|(d, _, _)| *d >= from && *d < to)
        .map(|(_, _, v)| *v)
        .collect();
    Window {
        from,
        to,
        days: values.len(),
        summary: stats::summary(&values),
    }
}

fn pair(daily: &[(NaiveDate, usize, f64)], date: NaiveDate, days: u32) -> Option<Pair> {
    let span = chrono::Days::new(u64::from(days));
    let before = window(daily, date.checked_sub_days(span)?, date);
    let after = window(daily, date, date.checked_add_days(span)?);
    let difference = match (&before.summary, &after.summary) {
        (Some(b), Some(a)) => stats::welch(b, a),
        _ => None,
    };
    let percent_change = match (&before.summary, &after.summary) {
        (Some(b), Some(a)) if b.mean.abs() > f64::EPSILON => {
            Some(100.0 * (a.mean - b.mean) / b.mean)
        }
        _ => None,
    };
    Some(Pair {
        before,
        after,
        difference,
        percent_change,
    })
}

/// Compares the `days` days before `date` with the `days` days from it, on daily means.
pub fn before_after(
    daily: &[(NaiveDate, usize, f64)],
    date: NaiveDate,
    days: u32,
) -> Option<BeforeAfter> {
    let main = pair(daily, date, days)?;
    let control = date
        .checked_sub_months(chrono::Months::new(12))
        .and_then(|earlier| pair(daily, earlier, days))
        .filter(|c| c.before.days >= 2 && c.after.days >= 2);
    let net = match (&main.before.summary, &main.after.summary, &control) {
        (Some(b), Some(a), Some(c)) => match (&c.before.summary, &c.after.summary) {
            (Some(cb), Some(ca)) => {
                stats::welch_combination(&[(-1.0, b), (1.0, a), (1.0, cb), (-1.0, ca)])
            }
            _ => None,
        },
        _ => None,
    };
    Some(BeforeAfter {
        date,
        window_days: days,
        main,
        control,
        net,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::rng::SplitMix64;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Daily values from 2023-01-01 to 2024-12-31: 60 ± noise, −15 from 2024-06-01 on (a retrofit), and a
    /// seasonal +10 in both years' summers so that the control sees the season too.
    fn series() -> Vec<(NaiveDate, usize, f64)> {
        let mut mix = SplitMix64::new(5);
        let mut out = Vec::new();
        let mut d = day(2023, 1, 1);
        while d <= day(2024, 12, 31) {
            let summer = (6..=8).contains(&chrono::Datelike::month(&d));
            let retrofit = d >= day(2024, 6, 1);
            let v = 60.0 + 5.0 * mix.approximately_normal() + if summer { 10.0 } else { 0.0 }
                - if retrofit { 15.0 } else { 0.0 };
            out.push((d, 24, v));
            d = d.succ_opt().unwrap();
        }
        out
    }

    #[test]
    fn a_planted_step_is_found_and_the_control_removes_the_season() {
        let r = before_after(&series(), day(2024, 6, 1), 60).unwrap();
        assert_eq!((r.main.before.days, r.main.after.days), (60, 60));
        assert_eq!(r.main.before.from, day(2024, 4, 2));
        let d = r.main.difference.unwrap();
        // Raw difference: −15 + (summer share of the after window) ≈ −15 + 10.
        assert!(d.estimate < 0.0 && d.upper < 0.0, "{d:?}");
        let net = r.net.unwrap();
        assert!(net.lower < -15.0 && -15.0 < net.upper, "{net:?}");
        let control = r.control.unwrap();
        assert_eq!(control.before.from, day(2023, 4, 2));
        assert!(control.difference.unwrap().estimate > 0.0);
    }

    #[test]
    fn no_control_without_last_years_data_and_daily_means_by_hand() {
        let only_2024: Vec<_> = series()
            .into_iter()
            .filter(|(d, _, _)| *d >= day(2024, 1, 1))
            .collect();
        let r = before_after(&only_2024, day(2024, 6, 1), 30).unwrap();
        assert!(r.control.is_none() && r.net.is_none());
        assert!(r.main.percent_change.unwrap() < 0.0);
        let empty = before_after(&[], day(2024, 6, 1), 30).unwrap();
        assert_eq!((empty.main.before.days, empty.main.difference), (0, None));
        // Hours: 2024-01-01 CST gets 20 values of 5 → valid; 2024-01-02 only 19 → not.
        let start = kernel::time::cst_day_start(day(2024, 1, 1));
        let mut hours: Vec<(i64, f64)> = (0..20).map(|h| (start + h * 3600, 5.0)).collect();
        hours.extend((0..19).map(|h| (start + 86_400 + h * 3600, 7.0)));
        hours.push((start + 3600, f64::NAN));
        assert_eq!(
            daily_means(&hours, MIN_HOURS_PER_DAY),
            vec![(day(2024, 1, 1), 20, 5.0)]
        );
    }
}
