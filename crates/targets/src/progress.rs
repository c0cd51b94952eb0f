//! The progress of each target, computed from the district's area days (air) and the sections' period results
//! (water) with the `standards` engine. Pure: the service fetches the data and calls these functions, so every
//! rule here is tested on constructed data. The rules are documented in docs/targets.md.
//!
//! The period "so far" runs from 1 January to the last complete CST day (yesterday in the current year, 31
//! December for a past year); the rest of the year is every calendar day after it, each assumed to be valid.

use chrono::{Datelike, Days, NaiveDate};
use standards::aggregate::DailyValues;
use standards::assessment::{PeriodAssessment, assess_period, calendar_months};
use standards::exact::Exact;
use standards::pollutant::Pollutant;
use standards::settings::AirSettings;
use standards::water::{WaterClass, class_shares};

use crate::model::{Comparison, Indicator, Projection, Status, Target, TargetStatus, Trend};

/// The part of a year that has data, and what is left of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YearWindow {
    pub year: i32,
    pub from: NaiveDate,
    pub year_end: NaiveDate,
    /// The last complete day counted; `None` when no day of the year is complete yet.
    pub through: Option<NaiveDate>,
    /// Whether the year has begun (today is in it or after it).
    pub started: bool,
}

impl YearWindow {
    /// The window of `year` seen on `today` (CST). `None` for a year chrono cannot represent.
    pub fn new(year: i32, today: NaiveDate) -> Option<YearWindow> {
        let from = NaiveDate::from_ymd_opt(year, 1, 1)?;
        let year_end = NaiveDate::from_ymd_opt(year, 12, 31)?;
        let through = if today > year_end {
            Some(year_end)
        } else {
            today.pred_opt().filter(|d| *d >= from)
        };
        Some(YearWindow {
            year,
            from,
            year_end,
            through,
            started: today >= from,
        })
    }

    /// Calendar days after `through` to the end of the year (the whole year when nothing is complete).
    pub fn remaining_days(&self) -> u32 {
        let last = self
            .through
            .unwrap_or(self.from.pred_opt().unwrap_or(self.from));
        u32::try_from((self.year_end - last).num_days()).unwrap_or(0)
    }

    /// Days counted so far.
    pub fn elapsed_days(&self) -> u32 {
        self.through
            .map(|t| u32::try_from((t - self.from).num_days() + 1).unwrap_or(0))
            .unwrap_or(0)
    }
}

/// One year back (29 February becomes 28 February).
pub fn year_back(date: NaiveDate) -> NaiveDate {
    date.with_year(date.year() - 1)
        .or_else(|| date.pred_opt().and_then(|d| d.with_year(d.year() - 1)))
        .unwrap_or(date)
}

/// The outcome of one water section over a period, as the targets need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionOutcome {
    pub class: WaterClass,
    /// Whether the section meets its target class; `None` when it has none.
    pub meets_target: Option<bool>,
    /// A national (国控) or municipal (市控) section: the ones the good-water share is assessed on.
    pub assessment_section: bool,
}

/// What one computation produced, before it is joined with its target.
struct Progress {
    value: Option<Exact>,
    decimals: u32,
    basis: Option<u32>,
    last_year: Option<Exact>,
    projection: Option<Projection>,
    status: Status,
    reason: String,
}

impl Progress {
    fn empty(status: Status, reason: impl Into<String>) -> Progress {
        Progress {
            value: None,
            decimals: 0,
            basis: None,
            last_year: None,
            projection: None,
            status,
            reason: reason.into(),
        }
    }
}

fn text(value: Option<Exact>, decimals: u32, unit: &str) -> String {
    value.map_or_else(
        || "—".to_string(),
        |v| format!("{}{unit}", v.to_decimal_string(decimals)),
    )
}

fn f(value: Exact, decimals: u32) -> f64 {
    value.round_half_even(decimals).to_f64()
}

fn trend(
    indicator: Indicator,
    comparison: Comparison,
    now: Option<Exact>,
    before: Option<Exact>,
) -> Trend {
    let (Some(now), Some(before)) = (now, before) else {
        return Trend::Unknown;
    };
    if !indicator.is_computed() {
        return Trend::Unknown;
    }
    let lower_is_better = comparison == Comparison::Le;
    match now.cmp(&before) {
        std::cmp::Ordering::Equal => Trend::Same,
        std::cmp::Ordering::Less if lower_is_better => Trend::Better,
        std::cmp::Ordering::Greater if !lower_is_better => Trend::Better,
        _ => Trend::Worse,
    }
}

fn finish(target: &Target, window: &YearWindow, progress: Progress) -> TargetStatus {
    let unit = target.unit.as_str();
    let trend = trend(
        target.indicator,
        target.comparison,
        progress.value,
        progress.last_year,
    );
    TargetStatus {
        indicator_label: target.indicator.label(),
        computation: target.indicator.computation(),
        requirement: target.requirement(),
        from: window.started.then_some(window.from),
        through: window.through,
        value: progress.value.map(|v| f(v, progress.decimals)),
        value_text: text(progress.value, progress.decimals, unit),
        basis: progress.basis,
        last_year_value: progress.last_year.map(|v| f(v, progress.decimals)),
        last_year_text: text(progress.last_year, progress.decimals, unit),
        trend,
        trend_label: trend.label(),
        projection: progress.projection,
        status: progress.status,
        status_label: progress.status.label(),
        reason: progress.reason,
        target: target.clone(),
    }
}

/// The status of a target whose year has not begun, or with nothing complete yet.
fn not_yet(window: &YearWindow) -> Option<Progress> {
    if !window.started {
        return Some(Progress::empty(Status::NotStarted, "年度尚未开始。"));
    }
    window
        .through
        .is_none()
        .then(|| Progress::empty(Status::NoData, "本年度尚无完整的一天。"))
}

/// The progress of an air target from the area days (any dates: those of this year so far and of last year are
/// used; the rest is ignored).
pub fn air_status(
    target: &Target,
    window: &YearWindow,
    area_days: &[DailyValues],
    settings: &AirSettings,
) -> TargetStatus {
    let progress = not_yet(window).unwrap_or_else(|| {
        let through = window.through.unwrap_or(window.from);
        let now = assess_period(area_days, window.from, through, settings);
        let (ly_from, ly_through) = (year_back(window.from), year_back(through));
        let last = assess_period(area_days, ly_from, ly_through, settings);
        let rest_last_year = through
            .checked_add_days(Days::new(1))
            .filter(|d| *d <= window.year_end)
            .map(|start| {
                assess_period(
                    area_days,
                    year_back(start),
                    year_back(window.year_end),
                    settings,
                )
            });
        match target.indicator {
            Indicator::Pm25AnnualMean => pm25(
                target,
                window,
                area_days,
                &now,
                &last,
                rest_last_year.as_ref(),
                settings,
            ),
            Indicator::GoodDayRatio => {
                good_days(target, window, &now, &last, rest_last_year.as_ref())
            }
            _ => heavy_days(target, window, &now, &last, rest_last_year.as_ref()),
        }
    });
    finish(target, window, progress)
}

fn pm25_mean(assessment: &PeriodAssessment) -> Option<Exact> {
    assessment
        .pollutants
        .iter()
        .find(|p| p.pollutant == Pollutant::Pm25)
        .and_then(|p| p.mean)
}

/// What every computed target checks first: a threshold (else 待市下达), a value so far (else `no_data`), days
/// left (else met or missed). `Ok` carries the threshold and the value on to the projection.
fn checked(
    target: &Target,
    window: &YearWindow,
    value: Option<Exact>,
    no_data: &str,
) -> Result<(Exact, Exact), Box<Progress>> {
    let Some(threshold) = target.threshold_exact() else {
        return Err(Box::new(awaiting_threshold()));
    };
    let Some(value) = value else {
        return Err(Box::new(Progress::empty(Status::NoData, no_data)));
    };
    match final_status(target, window, value) {
        Some(p) => Err(Box::new(p)),
        None => Ok((threshold, value)),
    }
}

/// Met or missed at the end of the year; `None` while days remain.
fn final_status(target: &Target, window: &YearWindow, value: Exact) -> Option<Progress> {
    if window.remaining_days() > 0 {
        return None;
    }
    let threshold = target.threshold_exact()?;
    let met = target.comparison.holds(value, threshold);
    Some(Progress::empty(
        if met { Status::Met } else { Status::Missed },
        if met {
            "全年结果达到目标。"
        } else {
            "全年结果未达到目标。"
        },
    ))
}

fn with_values(
    mut progress: Progress,
    value: Option<Exact>,
    decimals: u32,
    basis: u32,
    last_year: Option<Exact>,
) -> Progress {
    progress.value = value;
    progress.decimals = decimals;
    progress.basis = Some(basis);
    progress.last_year = last_year;
    progress
}

fn awaiting_threshold() -> Progress {
    Progress::empty(
        Status::AwaitingThreshold,
        "目标值尚未录入（待市下达），录入后计算所需进度。",
    )
}

/// PM2.5: the mean the remaining days must hold, m = (T·(n + R) − S) / R, with S the sum and n the count of the
/// valid area days so far and R the remaining calendar days.
fn pm25(
    target: &Target,
    window: &YearWindow,
    area_days: &[DailyValues],
    now: &PeriodAssessment,
    last: &PeriodAssessment,
    rest_last_year: Option<&PeriodAssessment>,
    settings: &AirSettings,
) -> Progress {
    let value = pm25_mean(now);
    let through = window.through.unwrap_or(window.from);
    let so_far: Vec<Exact> = area_days
        .iter()
        .filter(|d| d.date >= window.from && d.date <= through)
        .filter_map(|d| d.value(Pollutant::Pm25))
        .collect();
    let n = so_far.len() as u32;
    let done = |p: Progress| with_values(p, value, 0, n, pm25_mean(last));
    let (threshold, value) =
        match checked(target, window, value, "本年度尚无有效的 PM2.5 区域日均值。") {
            Ok(pair) => pair,
            Err(p) => return done(*p),
        };
    let remaining = window.remaining_days();
    let sum: Exact = so_far.iter().copied().sum();
    let r = Exact::from_int(remaining.into());
    let required = (threshold * (Exact::from_int(n.into()) + r) - sum) / r;
    let last_rest = rest_last_year.and_then(pm25_mean);
    // The cleanest calendar month of last year, a month with enough valid days (GB 3095 Table 4).
    let ly_start = year_back(window.from);
    let ly_end = year_back(window.year_end);
    let best = calendar_months(ly_start, ly_end)
        .into_iter()
        .filter_map(|(from, to)| {
            let month = assess_period(area_days, from, to, settings);
            month
                .pollutants
                .iter()
                .find(|p| p.pollutant == Pollutant::Pm25)
                .filter(|p| p.statistics_valid == Some(true))
                .and_then(|p| p.mean)
        })
        .min();
    let yardstick = last_rest.unwrap_or(value);
    let against = if last_rest.is_some() {
        "去年同期（剩余时段）均值"
    } else {
        "今年以来均值"
    };
    let (status, reason) = if required <= Exact::ZERO {
        (
            Status::Lost,
            "即使剩余每天均为 0，年均值也无法降到目标值。".to_string(),
        )
    } else if let Some(best) = best.filter(|b| required < *b) {
        (
            Status::Lost,
            format!(
                "剩余 {remaining} 天须均值 ≤ {}，低于去年最清洁月份均值 {}。",
                required.to_decimal_string(1),
                best.to_decimal_string(0)
            ),
        )
    } else if required < yardstick {
        (
            Status::AtRisk,
            format!(
                "剩余 {remaining} 天须均值 ≤ {}，低于{} {}。",
                required.to_decimal_string(1),
                against,
                yardstick.to_decimal_string(0)
            ),
        )
    } else {
        (
            Status::OnTrack,
            format!(
                "剩余 {remaining} 天均值不高于 {} 即可达标，不低于{} {}。",
                required.to_decimal_string(1),
                against,
                yardstick.to_decimal_string(0)
            ),
        )
    };
    let projection = Projection {
        remaining_days: remaining,
        required: Some(f(required, 1)),
        last_year_rest: last_rest.map(|v| f(v, 0)),
        best_plausible: best.map(|v| f(v, 0)),
        text: format!(
            "剩余 {remaining} 天 PM2.5 日均值的平均须不高于 {} µg/m³",
            required.max(Exact::ZERO).to_decimal_string(1)
        ),
    };
    let mut p = done(Progress::empty(status, reason));
    p.projection = Some(projection);
    p
}

/// Good-day ratio: the good days the remaining days must still bring, x = ⌈T·(v + R)/100 − g⌉, with g good and v
/// valid days so far; lost when x > R.
fn good_days(
    target: &Target,
    window: &YearWindow,
    now: &PeriodAssessment,
    last: &PeriodAssessment,
    rest_last_year: Option<&PeriodAssessment>,
) -> Progress {
    let value = now.good_day_ratio_percent;
    let done = |p: Progress| with_values(p, value, 1, now.valid_days, last.good_day_ratio_percent);
    let (threshold, value) = match checked(target, window, value, "本年度尚无有效的区域日 AQI。")
    {
        Ok(pair) => pair,
        Err(p) => return done(*p),
    };
    let remaining = window.remaining_days();
    let r = Exact::from_int(remaining.into());
    let needed = threshold * (Exact::from_int(now.valid_days.into()) + r) / Exact::from_int(100)
        - Exact::from_int(now.good_days.into());
    let needed_days = needed.ceil().max(0);
    let needed_share = Exact::new(needed_days * 100, i128::from(remaining));
    let last_rest = rest_last_year.and_then(|a| a.good_day_ratio_percent);
    let yardstick = last_rest.unwrap_or(value);
    let against = if last_rest.is_some() {
        "去年同期（剩余时段）比例"
    } else {
        "今年以来比例"
    };
    let (status, reason) = if needed_days > i128::from(remaining) {
        (
            Status::Lost,
            format!("剩余 {remaining} 天须有 {needed_days} 天优良，已不可能。"),
        )
    } else if needed_share > yardstick {
        (
            Status::AtRisk,
            format!(
                "剩余 {remaining} 天须有 {needed_days} 天优良（{}%），高于{} {}%。",
                needed_share.to_decimal_string(1),
                against,
                yardstick.to_decimal_string(1)
            ),
        )
    } else {
        (
            Status::OnTrack,
            format!(
                "剩余 {remaining} 天有 {needed_days} 天优良（{}%）即可达标，不高于{} {}%。",
                needed_share.to_decimal_string(1),
                against,
                yardstick.to_decimal_string(1)
            ),
        )
    };
    let mut p = done(Progress::empty(status, reason));
    p.projection = Some(Projection {
        remaining_days: remaining,
        required: Some(f(needed_share, 1)),
        last_year_rest: last_rest.map(|v| f(v, 1)),
        best_plausible: Some(100.0),
        text: format!(
            "剩余 {remaining} 天中至少 {needed_days} 天优良（{}%）",
            needed_share.to_decimal_string(1)
        ),
    });
    p
}

/// Heavy-pollution days: the allowance left, a = T − h; lost when negative (days only add up).
fn heavy_days(
    target: &Target,
    window: &YearWindow,
    now: &PeriodAssessment,
    last: &PeriodAssessment,
    rest_last_year: Option<&PeriodAssessment>,
) -> Progress {
    let heavy = |a: &PeriodAssessment| {
        (a.valid_days > 0).then(|| Exact::from_int(a.heavy_pollution_days.into()))
    };
    let value = heavy(now);
    let done = |p: Progress| with_values(p, value, 0, now.valid_days, heavy(last));
    let (threshold, value) = match checked(target, window, value, "本年度尚无有效的区域日 AQI。")
    {
        Ok(pair) => pair,
        Err(p) => return done(*p),
    };
    let remaining = window.remaining_days();
    let allowance = threshold - value;
    let last_rest = rest_last_year.and_then(heavy);
    // Without last year's rest: the rate so far over the remaining days.
    let expected = last_rest.unwrap_or_else(|| {
        value * Exact::from_int(remaining.into())
            / Exact::from_int(window.elapsed_days().max(1).into())
    });
    let against = if last_rest.is_some() {
        "去年同期（剩余时段）"
    } else {
        "按今年以来频率预计的"
    };
    let (status, reason) = if allowance < Exact::ZERO {
        (
            Status::Lost,
            format!("已有 {} 天重污染，超过目标 {} 天。", value, threshold),
        )
    } else if allowance < expected {
        (
            Status::AtRisk,
            format!(
                "剩余 {remaining} 天最多还可有 {} 天重污染，少于{} {} 天。",
                allowance.floor(),
                against,
                expected.to_decimal_string(1)
            ),
        )
    } else {
        (
            Status::OnTrack,
            format!(
                "剩余 {remaining} 天最多还可有 {} 天重污染，不少于{} {} 天。",
                allowance.floor(),
                against,
                expected.to_decimal_string(1)
            ),
        )
    };
    let mut p = done(Progress::empty(status, reason));
    p.projection = Some(Projection {
        remaining_days: remaining,
        required: Some(f(allowance.max(Exact::ZERO), 0).floor()),
        last_year_rest: last_rest.map(|v| f(v, 0)),
        best_plausible: Some(0.0),
        text: format!(
            "剩余 {remaining} 天最多还可有 {} 天重污染",
            allowance.max(Exact::ZERO).floor()
        ),
    });
    p
}

/// The value of a water indicator over a set of section outcomes, with the count of sections it rests on: the
/// good-water share over the national and municipal sections, 劣V over every section ("无劣V类水体断面"),
/// compliance over every section with a target class.
fn water_value(indicator: Indicator, sections: &[SectionOutcome]) -> (Option<Exact>, u32) {
    let classes: Vec<WaterClass> = sections
        .iter()
        .filter(|s| s.assessment_section || indicator != Indicator::WaterGoodShare)
        .map(|s| s.class)
        .collect();
    let shares = class_shares(&classes);
    match indicator {
        Indicator::WaterGoodShare => (shares.good_share_percent, shares.sections as u32),
        Indicator::WaterWorseThanVSections => (
            (shares.sections > 0).then(|| Exact::from_int(shares.per_class[5] as i64)),
            shares.sections as u32,
        ),
        _ => {
            let judged: Vec<bool> = sections.iter().filter_map(|s| s.meets_target).collect();
            let met = judged.iter().filter(|m| **m).count();
            let share = (!judged.is_empty()).then(|| {
                (Exact::from_int(met as i64 * 100) / Exact::from_int(judged.len() as i64))
                    .round_half_even(1)
            });
            (share, judged.len() as u32)
        }
    }
}

/// The progress of a water target from the sections' results this year so far and in the same period last year.
/// Annual classes come from the mean of all the year's samples, so a section can still change class until the
/// last sample: a water target is at risk (never lost) while the year runs.
pub fn water_status(
    target: &Target,
    window: &YearWindow,
    this_year: &[SectionOutcome],
    last_year: &[SectionOutcome],
) -> TargetStatus {
    let progress = not_yet(window).unwrap_or_else(|| {
        let (value, basis) = water_value(target.indicator, this_year);
        let (before, _) = water_value(target.indicator, last_year);
        let decimals = if target.indicator == Indicator::WaterWorseThanVSections {
            0
        } else {
            1
        };
        let done = |p: Progress| with_values(p, value, decimals, basis, before);
        let (threshold, value) =
            match checked(target, window, value, "本年度尚无可评价的断面样品。") {
                Ok(pair) => pair,
                Err(p) => return done(*p),
            };
        let holds = target.comparison.holds(value, threshold);
        let required = match target.indicator {
            // How many sections must be of class III or better / meet their target.
            Indicator::WaterGoodShare | Indicator::WaterTargetCompliance => {
                (threshold * Exact::from_int(basis.into()) / Exact::from_int(100)).ceil()
            }
            _ => threshold.floor(),
        };
        let text = match target.indicator {
            Indicator::WaterGoodShare => {
                format!("{basis} 个断面中须至少 {required} 个达到 III 类或更好")
            }
            Indicator::WaterTargetCompliance => {
                format!("{basis} 个断面中须至少 {required} 个达到水质目标")
            }
            _ => format!("劣V类断面须不超过 {required} 个"),
        };
        let mut p = done(Progress::empty(
            if holds {
                Status::OnTrack
            } else {
                Status::AtRisk
            },
            if holds {
                "按今年以来样品均值评价已达到目标；年度类别以全年样品均值为准。"
            } else {
                "按今年以来样品均值评价尚未达到目标，须后续样品改善。"
            },
        ));
        p.projection = Some(Projection {
            remaining_days: window.remaining_days(),
            required: Some(required as f64),
            last_year_rest: None,
            best_plausible: None,
            text,
        });
        p
    });
    finish(target, window, progress)
}

/// The progress of a target its owner reports.
pub fn reported_status(target: &Target, window: &YearWindow) -> TargetStatus {
    let value = target.reported_value.and_then(Exact::from_f64_shortest);
    let mut progress = not_yet(window).unwrap_or_else(|| match (target.threshold_exact(), value) {
        (None, _) => awaiting_threshold(),
        (_, None) => Progress::empty(Status::AwaitingReport, "责任部门尚未报送数值与佐证材料。"),
        (Some(threshold), Some(v)) => {
            let holds = target.comparison.holds(v, threshold);
            let over = window.remaining_days() == 0;
            match (holds, over) {
                (true, true) => Progress::empty(Status::Met, "报送值达到目标。"),
                (false, true) => Progress::empty(Status::Missed, "报送值未达到目标。"),
                (true, false) => Progress::empty(Status::OnTrack, "最新报送值达到目标。"),
                (false, false) => Progress::empty(Status::AtRisk, "最新报送值尚未达到目标。"),
            }
        }
    });
    progress.value = value;
    progress.decimals = value.map_or(0, decimals_of);
    finish(target, window, progress)
}

/// Decimal places of an exact decimal (at most 9).
fn decimals_of(value: Exact) -> u32 {
    (0..=9u32)
        .find(|d| (value * Exact::from_int(10i64.pow(*d))).denominator() == 1)
        .unwrap_or(9)
}
