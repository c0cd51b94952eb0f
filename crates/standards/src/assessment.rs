//! Period assessment of a station or an area (HJ 663-2013, GB 3095, HJ 633): daily AQI, good days,
//! heavy-pollution days, period means, percentiles, attainment, exceedance multiples, composite index.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::aggregate::{DailyValues, percentile, sort_exact};
use crate::aqi::{
    AqiInputError, AqiLevel, AqiResult, AqiStandard, Indicator, ReportKind, compute_aqi,
};
use crate::composite::{CompositeIndex, composite_index};
use crate::exact::Exact;
use crate::limits::Gb3095;
use crate::pollutant::Pollutant;
use crate::settings::{AirSettings, DayValidity, LimitsSelection, SandDustConvention};

/// Unverified: the text of HJ 663-2026 could not be read; its statistics are assumed unchanged from HJ 663-2013.
pub const ASSESSMENT_METHOD: &str = "HJ 663-2013 (HJ 663-2026 assumed identical) / GB 3095 Table 4";

/// The percentile of the period statistic (HJ 663-2013 Table 1; the SO2/NO2 98th is unverified).
pub const fn assessment_percentile(pollutant: Pollutant) -> u32 {
    match pollutant {
        Pollutant::So2 | Pollutant::No2 => 98,
        Pollutant::Pm10 | Pollutant::Pm25 | Pollutant::Co => 95,
        Pollutant::O3 => 90,
    }
}

/// Whether the period mean is an assessment statistic (SO2, NO2, PM10, PM2.5; not CO or O3).
pub const fn has_period_mean(pollutant: Pollutant) -> bool {
    !matches!(pollutant, Pollutant::Co | Pollutant::O3)
}

/// The daily AQI (日报) of a station or area under the edition in force on that day.
pub fn daily_aqi(values: &DailyValues) -> AqiResult {
    daily_aqi_without(values, &[])
}

fn daily_aqi_without(values: &DailyValues, left_out: &[Pollutant]) -> AqiResult {
    let standard = AqiStandard::for_date(values.date);
    // At most 7 indicators: a fixed array avoids an allocation per day.
    let mut concentrations = [(Indicator::So2Daily, Exact::ZERO); 7];
    let mut given = 0;
    let indicator = |p: Pollutant| match p {
        Pollutant::So2 => Indicator::So2Daily,
        Pollutant::No2 => Indicator::No2Daily,
        Pollutant::Pm10 => Indicator::Pm10Daily,
        Pollutant::Pm25 => Indicator::Pm25Daily,
        Pollutant::Co => Indicator::CoDaily,
        Pollutant::O3 => Indicator::O3EightHour,
    };
    for pollutant in Pollutant::ALL {
        if let Some(value) = values
            .value(pollutant)
            .filter(|_| !left_out.contains(&pollutant))
        {
            concentrations[given] = (indicator(pollutant), value);
            given += 1;
        }
    }
    if standard == AqiStandard::Hj633_2012
        && let Some(max_1h) = values.o3_max_1h
    {
        concentrations[given] = (Indicator::O3Hourly, max_1h);
        given += 1;
    }
    match compute_aqi(standard, ReportKind::Daily, &concentrations[..given]) {
        Ok(result) => result,
        // Daily values come from validated non-negative hours; a negative one is a caller bug, reported as no AQI.
        Err(AqiInputError::Negative(_)) => {
            // Cannot fail: no concentration, none negative.
            compute_aqi(standard, ReportKind::Daily, &[]).expect("empty input is valid")
        }
    }
}

/// The minimum number of valid days for a period statistic, when the period is a calendar year or month
/// (GB 3095 Table 4: ≥ 324 a year; ≥ 27 a month, ≥ 25 in February).
pub fn minimum_valid_days(from: NaiveDate, to: NaiveDate) -> Option<(&'static str, u32)> {
    let year_start = NaiveDate::from_ymd_opt(from.year(), 1, 1)?;
    let year_end = NaiveDate::from_ymd_opt(from.year(), 12, 31)?;
    if from == year_start && to == year_end {
        return Some(("calendar year: ≥ 324 daily values", 324));
    }
    let (next_year, next_month) = if from.month() == 12 {
        (from.year() + 1, 1)
    } else {
        (from.year(), from.month() + 1)
    };
    let month_end = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
    if from.day() == 1 && to == month_end {
        return Some(if from.month() == 2 {
            ("calendar month (February): ≥ 25 daily values", 25)
        } else {
            ("calendar month: ≥ 27 daily values", 27)
        });
    }
    None
}

/// The calendar months overlapping `from..=to`, each clipped to the range.
pub fn calendar_months(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut months = Vec::new();
    let mut start = from;
    while start <= to {
        let (y, m) = if start.month() == 12 {
            (start.year() + 1, 1)
        } else {
            (start.year(), start.month() + 1)
        };
        let Some(next) = NaiveDate::from_ymd_opt(y, m, 1) else {
            break;
        };
        let end = next.pred_opt().map_or(to, |e| e.min(to));
        months.push((start, end));
        start = next;
    }
    months
}

/// Period statistics of one pollutant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PollutantStatistics {
    pub pollutant: Pollutant,
    pub unit: &'static str,
    pub valid_days: u32,
    /// Period mean of the daily means, rounded for reporting; only SO2, NO2, PM10, PM2.5.
    pub mean: Option<Exact>,
    /// Which percentile is the assessment statistic (98, 95 or 90).
    pub percentile: u32,
    /// The percentile of the daily values (O3: daily max 8-h), rounded for reporting.
    pub percentile_value: Option<Exact>,
    /// Whether there are enough valid days for the period statistics (`None`: no rule for this period).
    pub statistics_valid: Option<bool>,
    pub annual_limit: Option<Exact>,
    pub daily_limit: Exact,
    /// Days whose daily value exceeds the 24-h (O3: 8-h) limit.
    pub days_over_daily_limit: u32,
    /// 达标率: days within the 24-h (O3: 8-h) limit / valid days × 100 %, 1 decimal [M].
    pub daily_attainment_rate_percent: Option<Exact>,
    /// (C − S)/S, 2 decimals, only when the mean exceeds the annual limit.
    pub mean_exceedance_multiple: Option<Exact>,
    /// (C − S)/S, 2 decimals, only when the percentile exceeds the 24-h limit.
    pub percentile_exceedance_multiple: Option<Exact>,
    /// Attains when the mean (where there is one) and the percentile both meet their limits [M].
    pub attains: Option<bool>,
}

/// The assessment of a station or area over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodAssessment {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days_in_period: u32,
    /// The HJ 633 editions that produced the daily AQIs (both when the period spans 2026-03-01).
    pub aqi_standards: Vec<AqiStandard>,
    /// The GB 3095 limits the period is judged against.
    pub limits: Gb3095,
    /// The assessment method: statistics, validity and percentiles of HJ 663.
    pub method_standard: &'static str,
    /// The validity rule applied to the period statistics, if the period is a calendar year or month.
    pub validity_rule: Option<&'static str>,
    /// Days with a valid daily AQI (per the `day_validity` setting), after any sand-dust exclusion.
    pub valid_days: u32,
    pub good_days: u32,
    /// 优良天数比例, percent, 1 decimal.
    pub good_day_ratio_percent: Option<Exact>,
    /// Days per AQI level 一级 … 六级.
    pub days_per_level: [u32; 6],
    /// 重污染天数: AQI > 200 (levels 五级 and 六级).
    pub heavy_pollution_days: u32,
    pub heavy_pollution_ratio_percent: Option<Exact>,
    pub sand_dust_convention: SandDustConvention,
    /// Sand-dust days in the period (from the settings), and how many were excluded or re-evaluated.
    pub sand_dust_days: u32,
    pub sand_dust_days_adjusted: u32,
    pub pollutants: Vec<PollutantStatistics>,
    /// All six pollutants attain.
    pub attains_all: Option<bool>,
    pub composite_index: Option<CompositeIndex>,
}

fn ratio_percent(part: u32, whole: u32) -> Option<Exact> {
    (whole > 0).then(|| {
        (Exact::from_int(part.into()) * Exact::from_int(100) / Exact::from_int(whole.into()))
            .round_half_even(1)
    })
}

fn exceedance_multiple(value: Exact, limit: Exact) -> Option<Exact> {
    (value > limit).then(|| ((value - limit) / limit).round_half_even(2))
}

/// Whether a day counts as a valid day of the period figures (good-day ratio, days per level, heavy-pollution
/// days) under `settings.day_validity`: the one rule that [`assess_period`] applies, for pages that show single
/// days beside those counts. A day whose AQI lies beyond the table (> 500) has level 六级 and counts like any
/// other (HJ 633: 严重污染).
pub fn is_valid_day(values: &DailyValues, aqi: &AqiResult, settings: &AirSettings) -> bool {
    aqi.level.is_some() && valid_day_without(values, aqi, settings, &[])
}

fn valid_day_without(
    values: &DailyValues,
    aqi: &AqiResult,
    settings: &AirSettings,
    left_out: &[Pollutant],
) -> bool {
    match settings.day_validity {
        DayValidity::AllSixPollutants => Pollutant::ALL
            .iter()
            .all(|p| left_out.contains(p) || values.value(*p).is_some()),
        DayValidity::PublishableAqi => aqi.publishable,
    }
}

/// Assesses the days of `days` that fall in `from..=to` (each date at most once; others are ignored).
pub fn assess_period(
    days: &[DailyValues],
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> PeriodAssessment {
    let in_period: Vec<&DailyValues> = days
        .iter()
        .filter(|d| d.date >= from && d.date <= to)
        .collect();
    let days_in_period = u32::try_from((to - from).num_days() + 1).unwrap_or(0);
    let limits = Gb3095::for_date(match settings.limits_selection {
        LimitsSelection::InForceAtPeriodEnd => to,
        LimitsSelection::InForceAtPeriodStart => from,
    });
    let validity = minimum_valid_days(from, to);

    let mut aqi_standards = Vec::new();
    let (mut valid_days, mut good_days, mut heavy_days) = (0u32, 0u32, 0u32);
    let mut days_per_level = [0u32; 6];
    let (mut sand_dust_days, mut sand_dust_adjusted) = (0u32, 0u32);
    for day in &in_period {
        let standard = AqiStandard::for_date(day.date);
        if !aqi_standards.contains(&standard) {
            aqi_standards.push(standard);
        }
        let is_sand_dust = settings.sand_dust_dates.contains(&day.date);
        sand_dust_days += u32::from(is_sand_dust);
        let reevaluate =
            is_sand_dust && settings.sand_dust == SandDustConvention::ReevaluateWithoutPm;
        let left_out: &[Pollutant] = if reevaluate {
            &[Pollutant::Pm10, Pollutant::Pm25]
        } else {
            &[]
        };
        let aqi = daily_aqi_without(day, left_out);
        let Some(level) = aqi.level else { continue };
        if !valid_day_without(day, &aqi, settings, left_out) {
            continue;
        }
        if is_sand_dust {
            match settings.sand_dust {
                SandDustConvention::ExcludeFromDenominator if level > AqiLevel::Two => {
                    sand_dust_adjusted += 1;
                    continue;
                }
                SandDustConvention::ReevaluateWithoutPm => sand_dust_adjusted += 1,
                _ => {}
            }
        }
        valid_days += 1;
        days_per_level[level.number() as usize - 1] += 1;
        good_days += u32::from(level <= AqiLevel::Two);
        heavy_days += u32::from(level >= AqiLevel::Five);
    }

    let mut pollutants = Vec::with_capacity(6);
    let mut composite_inputs = [None; 6];
    let mut sorted: Vec<Exact> = Vec::with_capacity(in_period.len());
    for pollutant in Pollutant::ALL {
        sorted.clear();
        sorted.extend(in_period.iter().filter_map(|d| d.value(pollutant)));
        sort_exact(&mut sorted);
        let valid = sorted.len() as u32;
        let daily_limit = limits.daily_limit(pollutant, settings.zone_class);
        let annual_limit = limits.annual_limit(pollutant, settings.zone_class);
        let mean = (has_period_mean(pollutant) && valid > 0).then(|| {
            pollutant.round_for_reporting(
                sorted.iter().copied().sum::<Exact>() / Exact::from_int(valid.into()),
            )
        });
        let percent = assessment_percentile(pollutant);
        let percentile_value =
            percentile(&sorted, percent).map(|v| pollutant.round_for_reporting(v));
        let days_over = sorted
            .iter()
            .rev()
            .take_while(|v| **v > daily_limit)
            .count() as u32;
        let mean_ok = match (mean, annual_limit) {
            (Some(m), Some(limit)) => Some(m <= limit),
            (None, None) => Some(true),
            _ => None,
        };
        let attains = match (mean_ok, percentile_value) {
            (Some(m), Some(p)) => Some(m && p <= daily_limit),
            _ => None,
        };
        composite_inputs[pollutant.index()] = if has_period_mean(pollutant) {
            mean
        } else {
            percentile_value
        };
        pollutants.push(PollutantStatistics {
            pollutant,
            unit: pollutant.unit(),
            valid_days: valid,
            mean,
            percentile: percent,
            percentile_value,
            statistics_valid: validity
                .map(|(_, min)| valid >= min)
                .filter(|_| has_period_mean(pollutant)),
            annual_limit,
            daily_limit,
            days_over_daily_limit: days_over,
            daily_attainment_rate_percent: ratio_percent(valid - days_over, valid),
            mean_exceedance_multiple: mean
                .zip(annual_limit)
                .and_then(|(m, s)| exceedance_multiple(m, s)),
            percentile_exceedance_multiple: percentile_value
                .and_then(|p| exceedance_multiple(p, daily_limit)),
            attains,
        });
    }
    let attains_all = if pollutants.iter().any(|p| p.attains == Some(false)) {
        Some(false)
    } else if pollutants.iter().all(|p| p.attains == Some(true)) {
        Some(true)
    } else {
        None
    };

    PeriodAssessment {
        from,
        to,
        days_in_period,
        aqi_standards,
        limits,
        method_standard: ASSESSMENT_METHOD,
        validity_rule: validity.map(|(rule, _)| rule),
        valid_days,
        good_days,
        good_day_ratio_percent: ratio_percent(good_days, valid_days),
        days_per_level,
        heavy_pollution_days: heavy_days,
        heavy_pollution_ratio_percent: ratio_percent(heavy_days, valid_days),
        sand_dust_convention: settings.sand_dust,
        sand_dust_days,
        sand_dust_days_adjusted: sand_dust_adjusted,
        pollutants,
        attains_all,
        composite_index: composite_index(&composite_inputs, settings.composite),
    }
}

/// One calendar month of a station's or an area's days, for trend charts: the PM2.5 mean and the good-day ratio
/// exactly as the assessment of that month computes them ([`assess_period`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthMeans {
    pub year: i32,
    pub month: u32,
    /// Mean of the month's valid PM2.5 daily values, rounded for reporting (µg/m³, integer).
    pub pm25_mean: Option<Exact>,
    /// 优良天数比例 of the month's valid days, percent, 1 decimal.
    pub good_day_ratio_percent: Option<Exact>,
}

/// The calendar months overlapping `from..=to` (each clipped to the range), oldest first.
pub fn monthly_means(
    days: &[DailyValues],
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> Vec<MonthMeans> {
    calendar_months(from, to)
        .into_iter()
        .map(|(month_from, month_to)| {
            let month = assess_period(days, month_from, month_to, settings);
            MonthMeans {
                year: month_from.year(),
                month: month_from.month(),
                pm25_mean: month
                    .pollutants
                    .iter()
                    .find(|p| p.pollutant == Pollutant::Pm25)
                    .and_then(|p| p.mean),
                good_day_ratio_percent: month.good_day_ratio_percent,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
