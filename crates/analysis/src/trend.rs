//! Are we improving (我们在改善吗?): the Theil–Sen trend of monthly means with the Mann–Kendall test (openair
//! `TheilSen`).
//!
//! - **Monthly means** of the hourly values by CST calendar month; a month counts when at least
//!   [`MIN_MONTH_COVERAGE`] of its hours have a valid value (openair's `data.thresh`, whose default is 0).
//! - **Deseasonalised** (optional): each month's mean minus the mean of its calendar month over the period, plus
//!   the overall mean (classical monthly anomalies; openair uses an STL decomposition instead).
//! - **Sen's slope**: the median of the slopes of all pairs of months, time in years, so the slope is per year.
//!   The line's intercept is median(y) − slope × median(t) (Conover). **% per year** is 100 × slope over the line's
//!   value at the start of the period (openair's convention).
//! - **Interval**: the exact distribution-free 95 % interval of Sen's slope from the Mann–Kendall variance
//!   (Gilbert 1987, §16.5; Sen 1968): with C = z₀.₉₇₅·√Var(S) and N′ pair slopes, the lower limit is the
//!   (N′ − C)/2-th smallest slope and the upper the ((N′ + C)/2 + 1)-th, interpolated between neighbours. openair
//!   bootstraps blocks of months instead, which also allows for autocorrelation; this interval does not.
//! - **Mann–Kendall**: S = Σ sign(xⱼ − xᵢ) over i < j, Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18 with t the sizes
//!   of tied groups, Z = (S − sign S)/√Var(S) (continuity correction), two-sided p = 2(1 − Φ(|Z|)).

use serde::Serialize;

use crate::stats::{self, normal_cdf, normal_quantile};

/// A month counts in the trend with at least this share of its hours valid.
pub const MIN_MONTH_COVERAGE: f64 = 0.5;

/// The mean of one calendar month.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthMean {
    pub year: i32,
    pub month: u32,
    /// Decimal year of the month's middle (2024.042 for January 2024).
    pub t: f64,
    /// Valid hours and hours in the month.
    pub n: usize,
    pub expected: usize,
    pub mean: Option<f64>,
    /// The deseasonalised mean, when asked for.
    pub adjusted: Option<f64>,
    /// Enough hours to count.
    pub used: bool,
}

/// The Mann–Kendall test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MannKendall {
    pub n: usize,
    pub s: i64,
    pub var_s: f64,
    pub z: f64,
    pub p_value: f64,
    /// Kendall's tau-a, S / (n(n−1)/2).
    pub tau: f64,
}

/// Sen's slope with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SenSlope {
    /// Per unit of t (per year here).
    pub slope: f64,
    /// The 95 % interval; `None` when the series is too short for it (fewer than about 6 points).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub intercept: f64,
    pub pairs: usize,
}

/// The trend result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = TrendResult)]
pub struct Trend {
    pub months: Vec<MonthMean>,
    pub deseasonalised: bool,
    /// Months used.
    pub n: usize,
    /// Sen's slope per year and its interval (units of the factor per year).
    pub slope: Option<SenSlope>,
    /// % per year relative to the trend line at the start, with the interval's bounds on the same base.
    pub percent_per_year: Option<f64>,
    pub percent_lower: Option<f64>,
    pub percent_upper: Option<f64>,
    pub mann_kendall: Option<MannKendall>,
    /// The trend line at the first and the last month used, for drawing.
    pub line: Vec<(f64, f64)>,
    /// What the trend may be said to show ([`verdict`]).
    pub verdict: TrendVerdict,
    /// The share of the used monthly means' variance that their calendar months explain (0–1), when every
    /// calendar month among them occurs at least twice; of the series the trend was fitted to.
    pub seasonal_share: Option<f64>,
}

/// What a trend of monthly means may be said to show. Concentrations follow the seasons (heating season
/// high, summer low): a slope over less than two full years, or over a raw series the seasons dominate, shows
/// the season, and the Mann–Kendall test on it would call the season a "significant trend". So significance
/// is claimed only on a series covering every calendar month twice that is deseasonalised or not dominated by
/// its seasonal cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrendVerdict {
    /// Fewer than 3 usable months: no trend at all.
    TooFewMonths,
    /// Less than two full years (some calendar month used fewer than twice), not deseasonalised: the slope
    /// mostly shows the season; no significance is claimed.
    ShorterThanTwoYears,
    /// Two years or more, not deseasonalised, and the calendar months explain at least
    /// [`SEASON_DOMINATES`] of the variance: no significance is claimed.
    SeasonDominates,
    /// Mann–Kendall p < 0.05 on a series fit for it.
    Significant,
    /// p ≥ 0.05 on a series fit for it.
    NotSignificant,
}

/// The share of variance explained by the calendar months from which a raw (not deseasonalised) series counts
/// as dominated by its seasonal cycle: half.
pub const SEASON_DOMINATES: f64 = 0.5;

/// The significance level of the Mann–Kendall test.
pub const SIGNIFICANCE: f64 = 0.05;

/// Whether the used months cover every calendar month at least twice (two full years, gaps allowed).
pub fn two_full_years(months: &[MonthMean]) -> bool {
    let mut count = [0usize; 12];
    for m in months.iter().filter(|m| m.used && m.mean.is_some()) {
        count[(m.month - 1) as usize] += 1;
    }
    count.iter().all(|&c| c >= 2)
}

/// The share of the variance of `(calendar month, value)` that the calendar months' means explain (η²), when
/// every calendar month present occurs at least twice; `None` otherwise or without variance.
pub fn seasonal_share(values: &[(u32, f64)]) -> Option<f64> {
    let mut by_month = [(0usize, 0.0f64); 12];
    for &(month, v) in values {
        let slot = by_month.get_mut(month.checked_sub(1)? as usize)?;
        slot.0 += 1;
        slot.1 += v;
    }
    if values.len() < 3 || by_month.iter().any(|&(n, _)| n == 1) {
        return None;
    }
    let mean = values.iter().map(|v| v.1).sum::<f64>() / values.len() as f64;
    let total: f64 = values.iter().map(|v| (v.1 - mean).powi(2)).sum();
    if total <= f64::EPSILON {
        return None;
    }
    let between: f64 = by_month
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, sum)| n as f64 * (sum / n as f64 - mean).powi(2))
        .sum();
    Some((between / total).clamp(0.0, 1.0))
}

/// The verdict on a fitted trend (see [`TrendVerdict`]).
pub fn verdict(
    months: &[MonthMean],
    deseasonalised: bool,
    mann_kendall: Option<&MannKendall>,
    seasonal_share: Option<f64>,
) -> TrendVerdict {
    let Some(mk) = mann_kendall else {
        return TrendVerdict::TooFewMonths;
    };
    if !deseasonalised {
        if !two_full_years(months) {
            return TrendVerdict::ShorterThanTwoYears;
        }
        if seasonal_share.is_some_and(|share| share >= SEASON_DOMINATES) {
            return TrendVerdict::SeasonDominates;
        }
    }
    if mk.p_value < SIGNIFICANCE {
        TrendVerdict::Significant
    } else {
        TrendVerdict::NotSignificant
    }
}

/// Hours in a calendar month.
fn hours_in_month(year: i32, month: u32) -> usize {
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days() as usize * 24,
        _ => 0,
    }
}

/// Monthly means of hourly values `(ts, value)` for every month from `first` to `last` (year, month) inclusive.
pub fn monthly_means(values: &[(i64, f64)], first: (i32, u32), last: (i32, u32)) -> Vec<MonthMean> {
    use chrono::Datelike;
    let index = |y: i32, m: u32| i64::from(y) * 12 + i64::from(m) - 1;
    let (start, end) = (index(first.0, first.1), index(last.0, last.1));
    if end < start || end - start > 12 * 200 {
        return Vec::new();
    }
    let len = (end - start + 1) as usize;
    let mut sums = vec![(0usize, 0.0f64); len];
    for &(ts, v) in values.iter().filter(|(_, v)| v.is_finite()) {
        let d = kernel::time::cst_day(ts);
        let k = index(d.year(), d.month()) - start;
        if (0..len as i64).contains(&k) {
            let s = &mut sums[k as usize];
            s.0 += 1;
            s.1 += v;
        }
    }
    sums.iter()
        .enumerate()
        .map(|(k, &(n, sum))| {
            let i = start + k as i64;
            let (year, month) = ((i.div_euclid(12)) as i32, (i.rem_euclid(12)) as u32 + 1);
            let expected = hours_in_month(year, month);
            MonthMean {
                year,
                month,
                t: f64::from(year) + (f64::from(month) - 0.5) / 12.0,
                n,
                expected,
                mean: (n > 0).then(|| sum / n as f64),
                adjusted: None,
                used: n > 0 && n as f64 >= MIN_MONTH_COVERAGE * expected as f64,
            }
        })
        .collect()
}

/// Whether the used months can be deseasonalised: every calendar month among them occurs at least twice (with a
/// single January, "January's mean" is that January, and its anomaly would be zero by construction).
pub fn can_deseasonalise(months: &[MonthMean]) -> bool {
    let mut count = [0usize; 12];
    for m in months.iter().filter(|m| m.used && m.mean.is_some()) {
        count[(m.month - 1) as usize] += 1;
    }
    count.iter().any(|&c| c > 0) && count.iter().all(|&c| c == 0 || c >= 2)
}

/// Fills `adjusted` of the used months with their deseasonalised means.
pub fn deseasonalise(months: &mut [MonthMean]) {
    let mut by_month = [(0usize, 0.0f64); 12];
    let (mut n, mut sum) = (0usize, 0.0);
    for m in months.iter().filter(|m| m.used) {
        if let Some(v) = m.mean {
            let slot = &mut by_month[(m.month - 1) as usize];
            slot.0 += 1;
            slot.1 += v;
            n += 1;
            sum += v;
        }
    }
    if n == 0 {
        return;
    }
    let overall = sum / n as f64;
    for m in months.iter_mut().filter(|m| m.used) {
        let (count, total) = by_month[(m.month - 1) as usize];
        m.adjusted = m.mean.map(|v| v - total / count as f64 + overall);
    }
}

/// The Mann–Kendall test of a series in time order; `None` below 3 values.
pub fn mann_kendall(values: &[f64]) -> Option<MannKendall> {
    let n = values.len();
    if n < 3 {
        return None;
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match values[j].total_cmp(&values[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    let mut sorted = values.to_vec();
    stats::sort(&mut sorted);
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j + 1;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s <= 0.0 {
        0.0
    } else {
        match s {
            0 => 0.0,
            s if s > 0 => (s - 1) as f64 / var_s.sqrt(),
            s => (s + 1) as f64 / var_s.sqrt(),
        }
    };
    Some(MannKendall {
        n,
        s,
        var_s,
        z,
        p_value: (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0),
        tau: s as f64 / (nf * (nf - 1.0) / 2.0),
    })
}

/// The value at 1-based rank `rank` of `sorted`, interpolated between neighbours; `None` outside 1..=len.
fn at_rank(sorted: &[f64], rank: f64) -> Option<f64> {
    if !(1.0..=sorted.len() as f64).contains(&rank) {
        return None;
    }
    let lo = rank.floor() as usize;
    let frac = rank - lo as f64;
    let a = sorted[lo - 1];
    Some(if frac > 0.0 && lo < sorted.len() {
        a + frac * (sorted[lo] - a)
    } else {
        a
    })
}

/// Sen's slope of points `(t, y)` with the Gilbert interval from `var_s` (the Mann–Kendall variance).
pub fn sen_slope(points: &[(f64, f64)], var_s: f64) -> Option<SenSlope> {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            if b.0 != a.0 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    stats::sort(&mut slopes);
    let slope = stats::median_sorted(&slopes)?;
    let pairs = slopes.len() as f64;
    let c = normal_quantile(0.975) * var_s.max(0.0).sqrt();
    let lower = at_rank(&slopes, (pairs - c) / 2.0);
    let upper = at_rank(&slopes, (pairs + c) / 2.0 + 1.0);
    let (lower, upper) = match (lower, upper) {
        (Some(l), Some(u)) => (Some(l), Some(u)),
        _ => (None, None),
    };
    let mut ts: Vec<f64> = points.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    stats::sort(&mut ts);
    stats::sort(&mut ys);
    let intercept = stats::median_sorted(&ys)? - slope * stats::median_sorted(&ts)?;
    Some(SenSlope {
        slope,
        lower,
        upper,
        intercept,
        pairs: slopes.len(),
    })
}

/// The trend of monthly means (already computed, e.g. by [`monthly_means`]). Deseasonalising is done only when
/// [`can_deseasonalise`]; the result's `deseasonalised` says whether it was.
pub fn trend(mut months: Vec<MonthMean>, deseasonalise_asked: bool) -> Trend {
    let deseasonalised = deseasonalise_asked && can_deseasonalise(&months);
    if deseasonalised {
        deseasonalise(&mut months);
    }
    let points: Vec<(f64, f64)> = months
        .iter()
        .filter(|m| m.used)
        .filter_map(|m| {
            let y = if deseasonalised { m.adjusted } else { m.mean };
            y.map(|y| (m.t, y))
        })
        .collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let mk = mann_kendall(&ys);
    let slope = mk.and_then(|mk| sen_slope(&points, mk.var_s));
    let (first, last) = (points.first().map(|p| p.0), points.last().map(|p| p.0));
    let start_value = slope.zip(first).map(|(s, t)| s.intercept + s.slope * t);
    let pct = |v: Option<f64>| match (v, start_value) {
        (Some(v), Some(base)) if base.abs() > f64::EPSILON => Some(100.0 * v / base),
        _ => None,
    };
    let line = match (slope, first, last) {
        (Some(s), Some(a), Some(b)) => vec![
            (a, s.intercept + s.slope * a),
            (b, s.intercept + s.slope * b),
        ],
        _ => Vec::new(),
    };
    let share = seasonal_share(
        &months
            .iter()
            .filter(|m| m.used)
            .filter_map(|m| {
                let y = if deseasonalised { m.adjusted } else { m.mean };
                y.map(|y| (m.month, y))
            })
            .collect::<Vec<_>>(),
    );
    let verdict = verdict(&months, deseasonalised, slope.and(mk.as_ref()), share);
    Trend {
        n: points.len(),
        deseasonalised,
        verdict,
        seasonal_share: share,
        percent_per_year: pct(slope.map(|s| s.slope)),
        percent_lower: pct(slope.and_then(|s| s.lower)),
        percent_upper: pct(slope.and_then(|s| s.upper)),
        slope,
        mann_kendall: mk,
        line,
        months,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::rng::SplitMix64;

    #[test]
    fn mann_kendall_by_hand() {
        // 1..5: S = 10, Var(S) = 5·4·15/18 = 50/3, Z = 9/√(50/3) = 2.2045, p = 0.0275.
        let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(mk.s, 10);
        assert!((mk.var_s - 50.0 / 3.0).abs() < 1e-12);
        assert!((mk.z - 2.204_541).abs() < 1e-5);
        assert!((mk.p_value - 0.027_486).abs() < 1e-4, "{}", mk.p_value);
        assert_eq!(mk.tau, 1.0);
        // With ties: 1, 2, 2, 3 → S = 5 (the tied pair adds 0), Var = [4·3·13 − 2·1·9]/18 = 138/18.
        let mk = mann_kendall(&[1.0, 2.0, 2.0, 3.0]).unwrap();
        assert_eq!(mk.s, 5);
        assert!((mk.var_s - 138.0 / 18.0).abs() < 1e-12);
        let flat = mann_kendall(&[4.0, 4.0, 4.0]).unwrap();
        assert_eq!((flat.s, flat.z, flat.p_value), (0, 0.0, 1.0));
        assert!(mann_kendall(&[1.0, 2.0]).is_none());
    }

    #[test]
    fn mann_kendall_matches_published_examples() {
        // Gilbert (1987), Statistical Methods for Environmental Pollution Monitoring, ch. 16 p. 212: 22 values
        // with ties; the book gives Z = 3.1 (to one decimal: S = 111, Var(S) = 1226.33, Z = 3.14).
        let gilbert = [
            20.0, 20.0, 20.0, 20.0, 15.0, 20.0, 20.0, 30.0, 27.0, 26.0, 23.0, 35.0, 25.0, 28.0,
            70.0, 26.0, 24.0, 34.0, 32.0, 23.0, 50.0, 30.0,
        ];
        let mk = mann_kendall(&gilbert).unwrap();
        assert!((mk.z - 3.1).abs() < 0.05, "{mk:?}");
        assert_eq!(mk.s, 111);
        // MannKendall.jl's test (and pyMannKendall's original_test) on 1..=100: S 4950, Var(S) 112750,
        // Z 14.73869998208331, tau 1.
        let line: Vec<f64> = (1..=100).map(f64::from).collect();
        let mk = mann_kendall(&line).unwrap();
        assert_eq!(mk.s, 4950);
        assert_eq!(mk.var_s, 112_750.0);
        assert!((mk.z - 14.738_699_982_083_31).abs() < 1e-9);
        assert_eq!(mk.tau, 1.0);
        assert!(mk.p_value < 1e-40);
        // A hand-computed one: 10, 15, 14, 20, 23 → 9 rising pairs, 1 falling, S = 8, Z = 7/√(50/3) = 1.7146.
        let mk = mann_kendall(&[10.0, 15.0, 14.0, 20.0, 23.0]).unwrap();
        assert_eq!(mk.s, 8);
        assert!((mk.z - 1.714_643).abs() < 1e-5);
        assert!((mk.p_value - 0.086_411).abs() < 1e-4, "{}", mk.p_value);
    }

    #[test]
    fn a_trend_of_two_per_year_gives_sen_slope_two_with_the_interval_around_it() {
        // Eight years of monthly means: 50 + 2·t + seasonal ± noise.
        let mut mix = SplitMix64::new(3);
        let months: Vec<MonthMean> = (0..96)
            .map(|k| {
                let (year, month) = (2016 + k / 12, (k % 12) as u32 + 1);
                let t = f64::from(year) + (f64::from(month) - 0.5) / 12.0;
                let season = 10.0 * (2.0 * std::f64::consts::PI * f64::from(month) / 12.0).cos();
                MonthMean {
                    year,
                    month,
                    t,
                    n: 700,
                    expected: 720,
                    mean: Some(50.0 + 2.0 * (t - 2016.0) + season + mix.approximately_normal()),
                    adjusted: None,
                    used: true,
                }
            })
            .collect();
        for deseasonalised in [false, true] {
            let tr = trend(months.clone(), deseasonalised);
            let s = tr.slope.unwrap();
            assert!((s.slope - 2.0).abs() < 0.4, "{deseasonalised}: {s:?}");
            assert!(s.lower.unwrap() < 2.0 && 2.0 < s.upper.unwrap(), "{s:?}");
            assert!(tr.mann_kendall.unwrap().p_value < 0.001);
            assert_eq!(tr.n, 96);
            assert_eq!(tr.line.len(), 2);
        }
        let tr = trend(months, true);
        // Deseasonalising narrows the interval of a seasonal series.
        let raw = trend(tr.months.clone(), false);
        let width = |t: &Trend| t.slope.unwrap().upper.unwrap() - t.slope.unwrap().lower.unwrap();
        assert!(width(&tr) < width(&raw));
    }

    #[test]
    fn an_exact_line_has_its_slope_intercept_and_percent() {
        // y = 100 − 5·(t − 2020) monthly for 3 years: slope −5, start value at the first month.
        let months: Vec<MonthMean> = (0..36)
            .map(|k| {
                let (year, month) = (2020 + k / 12, (k % 12) as u32 + 1);
                let t = f64::from(year) + (f64::from(month) - 0.5) / 12.0;
                MonthMean {
                    year,
                    month,
                    t,
                    n: 720,
                    expected: 720,
                    mean: Some(100.0 - 5.0 * (t - 2020.0)),
                    adjusted: None,
                    used: true,
                }
            })
            .collect();
        let tr = trend(months, false);
        let s = tr.slope.unwrap();
        assert!((s.slope + 5.0).abs() < 1e-9);
        assert!((s.lower.unwrap() + 5.0).abs() < 1e-9 && (s.upper.unwrap() + 5.0).abs() < 1e-9);
        let start = 100.0 - 5.0 / 24.0;
        assert!((tr.line[0].1 - start).abs() < 1e-9);
        assert!((tr.percent_per_year.unwrap() - (-500.0 / start)).abs() < 1e-9);
        assert_eq!(s.pairs, 36 * 35 / 2);
    }

    #[test]
    fn one_year_is_not_deseasonalised() {
        let month = |year: i32, month: u32, mean: f64| MonthMean {
            year,
            month,
            t: f64::from(year) + (f64::from(month) - 0.5) / 12.0,
            n: 720,
            expected: 720,
            mean: Some(mean),
            adjusted: None,
            used: true,
        };
        let one_year: Vec<MonthMean> = (1..=12).map(|m| month(2024, m, f64::from(m))).collect();
        let t = trend(one_year.clone(), true);
        assert!(!t.deseasonalised);
        assert!(
            (t.slope.unwrap().slope - 12.0).abs() < 1e-9,
            "the raw months' slope"
        );
        let mut two_years = one_year;
        two_years.extend((1..=12).map(|m| month(2025, m, f64::from(m) + 1.0)));
        let t = trend(two_years, true);
        assert!(t.deseasonalised);
        // Deseasonalised: the 2024 months all sit at −0.5 and the 2025 ones at +0.5 around the overall mean.
        let adjusted: Vec<f64> = t.months.iter().map(|m| m.adjusted.unwrap()).collect();
        assert!(
            (adjusted[0] - (adjusted[5])).abs() < 1e-9
                && (adjusted[12] - adjusted[0] - 1.0).abs() < 1e-9
        );
    }

    #[test]
    fn monthly_means_count_hours_and_coverage() {
        // January 2024 fully covered with 10, February with 40 % of its hours at 20.
        let jan = kernel::time::cst_day_start(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let feb = kernel::time::cst_day_start(chrono::NaiveDate::from_ymd_opt(2024, 2, 1).unwrap());
        let mut values: Vec<(i64, f64)> = (0..744).map(|h| (jan + h * 3600, 10.0)).collect();
        values.extend((0..278).map(|h| (feb + h * 3600, 20.0)));
        let months = monthly_means(&values, (2023, 12), (2024, 3));
        assert_eq!(months.len(), 4);
        assert_eq!((months[0].n, months[0].used), (0, false));
        assert_eq!(
            (months[1].n, months[1].expected, months[1].mean),
            (744, 744, Some(10.0))
        );
        assert!(months[1].used);
        assert_eq!((months[2].expected, months[2].used), (696, false));
        assert!(monthly_means(&values, (2024, 3), (2024, 1)).is_empty());
        let short = trend(months, true);
        assert_eq!((short.n, short.slope), (1, None));
        assert!(
            !short.deseasonalised,
            "one January cannot be deseasonalised"
        );
    }

    /// Monthly means from `first_year`-01 for `count` months: `slope` per year, a cosine season of amplitude
    /// `season` (winter high), noise.
    fn seasonal_months(
        first_year: i32,
        count: i32,
        slope: f64,
        season: f64,
        seed: u64,
    ) -> Vec<MonthMean> {
        let mut mix = SplitMix64::new(seed);
        (0..count)
            .map(|k| {
                let (year, month) = (first_year + k / 12, (k % 12) as u32 + 1);
                let t = f64::from(year) + (f64::from(month) - 0.5) / 12.0;
                let winter =
                    season * (2.0 * std::f64::consts::PI * (f64::from(month) - 1.0) / 12.0).cos();
                MonthMean {
                    year,
                    month,
                    t,
                    n: 700,
                    expected: 720,
                    mean: Some(
                        60.0 + slope * (t - f64::from(first_year))
                            + winter
                            + mix.approximately_normal(),
                    ),
                    adjusted: None,
                    used: true,
                }
            })
            .collect()
    }

    #[test]
    fn a_year_of_monthly_means_is_never_called_significant() {
        // January to September: winter high falling into summer — Mann–Kendall alone calls that a
        // significant fall (p < 0.05), which is the season, not a trend.
        let months = seasonal_months(2025, 9, 0.0, 30.0, 5);
        let tr = trend(months, true);
        assert!(!tr.deseasonalised);
        assert!(
            tr.mann_kendall.unwrap().p_value < 0.05,
            "{:?}",
            tr.mann_kendall
        );
        assert_eq!(tr.verdict, TrendVerdict::ShorterThanTwoYears);
        // Twelve months is still not two years.
        let tr = trend(seasonal_months(2025, 12, -3.0, 30.0, 6), true);
        assert_eq!(tr.verdict, TrendVerdict::ShorterThanTwoYears);
    }

    #[test]
    fn raw_years_dominated_by_the_season_are_not_called_significant_deseasonalised_ones_are() {
        // Three years, a fall of 4 per year under a season of ±30.
        let months = seasonal_months(2022, 36, -4.0, 30.0, 7);
        let raw = trend(months.clone(), false);
        assert!(
            raw.seasonal_share.unwrap() >= SEASON_DOMINATES,
            "{:?}",
            raw.seasonal_share
        );
        assert_eq!(raw.verdict, TrendVerdict::SeasonDominates);
        let adjusted = trend(months, true);
        assert!(adjusted.deseasonalised);
        assert_eq!(adjusted.verdict, TrendVerdict::Significant);
        // No trend at all under the same season: not significant once deseasonalised.
        let flat = trend(seasonal_months(2022, 36, 0.0, 30.0, 8), true);
        assert_eq!(
            flat.verdict,
            TrendVerdict::NotSignificant,
            "{:?}",
            flat.mann_kendall
        );
        // A weak season over a strong trend: significant on the raw series too.
        let strong = trend(seasonal_months(2022, 36, -10.0, 2.0, 9), false);
        assert_eq!(strong.verdict, TrendVerdict::Significant);
        assert!(
            trend(seasonal_months(2022, 2, -10.0, 2.0, 9), false).verdict
                == TrendVerdict::TooFewMonths
        );
    }
}
