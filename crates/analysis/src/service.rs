//! The rules around the computations: who may analyse which point, what the parameters mean and their bounds,
//! which hours each analysis reads, and the plain-language notes (no wind data, too few months …).

use chrono::{Datelike, Months, NaiveDate};
use kernel::{Action, AppError, Db, Principal};
use readings::factors;
use readings::points::{self, PointInfo};
use registry::model::PointKind;

use crate::calendar::{self, Calendar};
use crate::compare::{self, BeforeAfter, MIN_HOURS_PER_DAY};
use crate::model::*;
use crate::repo;
use crate::trend::{self, Trend};
use crate::variation::{self, Variation};
use crate::wind::{self, PolarSettings, SECTOR_CHOICES, WindHour};

/// The district's national station, the default point.
pub const DEFAULT_POINT_CODE: &str = "1021A";
pub const DEFAULT_FACTOR: &str = "a34004";
pub const WIND_DIRECTION: &str = "a01008";
pub const WIND_SPEED: &str = "a01007";
/// The longest period one request may analyse (hourly data of ten years).
pub const MAX_SPAN_DAYS: i64 = 3_660;

pub const QUESTION_ROSE: &str = "来源在哪里？各风向来的污染占多少";
pub const QUESTION_POLAR: &str =
    "来源在哪里？哪个风向、多大风速时浓度最高（近处低矮源还是远处高架源）";
pub const QUESTION_VARIATION: &str = "是交通还是工业？浓度随一天中的小时、星期、月份怎样变化";
pub const QUESTION_CALENDAR: &str = "哪些天空气质量好，哪些天污染？全年每日 AQI";
pub const QUESTION_TREND: &str = "我们在改善吗？月均浓度的长期趋势";
pub const QUESTION_BEFORE_AFTER: &str = "整治见效了吗？某一日期前后的浓度对比";

fn today() -> NaiveDate {
    kernel::time::cst_day(kernel::time::now_ts())
}

fn parse_day(field: &str, text: &str) -> Result<NaiveDate, AppError> {
    kernel::time::parse_date(text).ok_or_else(|| AppError::validation(field, "a date YYYY-MM-DD"))
}

/// The point the caller asked for (or the default), if they may see it; 404 otherwise (existence not revealed).
pub async fn choose_point(
    db: &Db,
    principal: &Principal,
    id: Option<i64>,
) -> Result<PointInfo, AppError> {
    principal.require(readings::READING, Action::Read)?;
    if let Some(id) = id {
        return match points::get(db, id).await? {
            Some(p) if points::visible_to(principal, &p) => Ok(p),
            _ => Err(AppError::not_found("monitoring point not found")),
        };
    }
    if let Some(p) = points::by_code(db, DEFAULT_POINT_CODE).await?
        && points::visible_to(principal, &p)
    {
        return Ok(p);
    }
    visible_points(db, principal)
        .await?
        .into_iter()
        .min_by_key(|p| (p.kind != PointKind::AirStation, p.id))
        .ok_or_else(|| AppError::not_found("no monitoring point visible to you"))
}

/// Every point the caller may analyse.
pub async fn visible_points(db: &Db, principal: &Principal) -> Result<Vec<PointInfo>, AppError> {
    principal.require(readings::READING, Action::Read)?;
    Ok(points::all(db)
        .await?
        .into_iter()
        .filter(|p| points::visible_to(principal, p))
        .collect())
}

/// The factors the caller may choose at a point: those it has data for, else those its kind is catalogued
/// with (`readings::service::point_factors`).
pub async fn point_factors(
    db: &Db,
    principal: &Principal,
    point: Option<i64>,
) -> Result<Vec<FactorRef>, AppError> {
    let point = choose_point(db, principal, point).await?;
    Ok(readings::service::point_factors(db, &point)
        .await?
        .into_iter()
        .map(|f| factor_ref(f.code))
        .collect())
}

fn factor_ref(code: &str) -> FactorRef {
    match factors::by_code(code) {
        Some(f) => FactorRef {
            code: f.code.into(),
            name: f.name.into(),
            unit: f.unit.into(),
        },
        None => FactorRef {
            code: code.into(),
            name: code.into(),
            unit: String::new(),
        },
    }
}

/// Validates the common parameters: point, factor and period.
pub async fn select(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Selection, AppError> {
    let asked = q.factor.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let factor = asked.unwrap_or(DEFAULT_FACTOR);
    if !factors::is_plausible_code(factor) {
        return Err(AppError::validation(
            "factor",
            "an HJ 212 factor code such as a34004",
        ));
    }
    let to = match q.to.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => parse_day("to", t)?,
        None => today(),
    };
    let from = match q.from.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(f) => parse_day("from", f)?,
        None => to
            .checked_sub_months(Months::new(12))
            .and_then(|d| d.succ_opt())
            .ok_or_else(|| AppError::validation("to", "out of range"))?,
    };
    if from > to {
        return Err(AppError::validation("from", "must not be after `to`"));
    }
    if (to - from).num_days() >= MAX_SPAN_DAYS {
        return Err(AppError::validation(
            "from",
            "the period may span at most ten years",
        ));
    }
    let point = choose_point(db, principal, q.point).await?;
    // Without a factor asked for, the point's own: PM2.5 at an air station, its first item elsewhere.
    let factor = match asked {
        Some(f) => f.to_string(),
        None => {
            let own = readings::service::point_factors(db, &point).await?;
            own.iter()
                .find(|f| f.code == DEFAULT_FACTOR)
                .or(own.first())
                .map_or(DEFAULT_FACTOR, |f| f.code)
                .to_string()
        }
    };
    let factor = factor.as_str();
    Ok(Selection {
        point: PointRef {
            id: point.id,
            code: point.code,
            name: point.name,
            kind: point.kind,
        },
        factor: factor_ref(factor),
        from,
        to,
    })
}

fn envelope<T>(
    s: &Selection,
    question: &'static str,
    method: &'static str,
    notes: Vec<String>,
    result: T,
) -> Analysis<T> {
    Analysis {
        point: s.point.clone(),
        factor: s.factor.clone(),
        from: s.from,
        to: s.to,
        question,
        method,
        notes,
        result,
    }
}

/// The factor's valid hourly values in the selection.
async fn factor_hours(db: &Db, s: &Selection) -> Result<Vec<(i64, f64)>, AppError> {
    let (from, to) = s.span();
    Ok(
        repo::hourly(db, s.point.id, &[s.factor.code.as_str()], from, to)
            .await?
            .into_iter()
            .filter_map(|(ts, v)| v[0].map(|v| (ts, v)))
            .collect(),
    )
}

fn no_data_note(s: &Selection, n: usize) -> Option<String> {
    (n == 0).then(|| {
        format!(
            "{} 在 {} 至 {} 没有 {} 的有效小时数据。",
            s.point.name, s.from, s.to, s.factor.name
        )
    })
}

/// The factor's hours with wind.
async fn wind_hours(db: &Db, s: &Selection) -> Result<(Vec<WindHour>, usize, bool), AppError> {
    let (from, to) = s.span();
    let table = repo::hourly(
        db,
        s.point.id,
        &[s.factor.code.as_str(), WIND_DIRECTION, WIND_SPEED],
        from,
        to,
    )
    .await?;
    let with_value = table.values().filter(|v| v[0].is_some()).count();
    let any_direction = table.values().any(|v| v[1].is_some());
    let hours = table
        .values()
        .filter_map(|v| match (v[0], v[1]) {
            (Some(value), Some(direction)) => Some(WindHour {
                value,
                direction,
                speed: v[2],
            }),
            _ => None,
        })
        .collect();
    Ok((hours, with_value, any_direction))
}

fn no_wind_note(s: &Selection) -> String {
    format!(
        "{} 在所选时段没有风向数据（a01008），无法按风向分析来源。可选择有气象参数的空气站。",
        s.point.name
    )
}

pub async fn rose(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<RoseResult>, AppError> {
    let sectors = q.sectors.unwrap_or(16);
    if !SECTOR_CHOICES.contains(&sectors) {
        return Err(AppError::validation("sectors", "one of 4, 8, 12, 16, 36"));
    }
    let s = select(db, principal, q).await?;
    let (hours, with_value, wind) = wind_hours(db, &s).await?;
    let mut notes: Vec<String> = no_data_note(&s, with_value).into_iter().collect();
    if !wind {
        notes.push(no_wind_note(&s));
    }
    let rose = wind::pollution_rose(&hours, sectors);
    if let Some(d) = &rose.dominant {
        notes.push(format!("浓度贡献最大的来风方向：{d}。"));
    }
    Ok(envelope(
        &s,
        QUESTION_ROSE,
        "各风向扇区的小时浓度之和占全部浓度之和的比例（静风 < 0.5 m/s 单列）",
        notes,
        RoseResult { wind, rose },
    ))
}

pub async fn polar(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<PolarResult>, AppError> {
    let bandwidth = q.bandwidth.unwrap_or(1.0);
    if !(0.0..=5.0).contains(&bandwidth) {
        return Err(AppError::validation("bandwidth", "between 0 and 5 m/s"));
    }
    let min_count = q.min_count.unwrap_or(3);
    if !(1..=100).contains(&min_count) {
        return Err(AppError::validation("min_count", "between 1 and 100"));
    }
    let s = select(db, principal, q).await?;
    let (hours, with_value, direction) = wind_hours(db, &s).await?;
    let wind = direction && hours.iter().any(|h| h.speed.is_some());
    let mut notes: Vec<String> = no_data_note(&s, with_value).into_iter().collect();
    if !wind {
        notes.push(no_wind_note(&s));
    }
    let settings = PolarSettings {
        bandwidth,
        min_count,
        ..PolarSettings::default()
    };
    let polar = wind::polar_plot(&hours, &settings);
    if let Some(p) = &polar.peak {
        notes.push(format!(
            "浓度最高出现在来风方向约 {:.0}°、风速约 {:.1} m/s 时（{:.1} {}）。",
            p.direction, p.speed, p.value, s.factor.unit
        ));
    }
    Ok(envelope(
        &s,
        QUESTION_POLAR,
        "按风向（10°）× 风速分格求小时浓度均值（每格至少 min_count 小时），再在风矢量平面上做高斯核平滑；openair 用 GAM 平滑",
        notes,
        PolarResult { wind, polar },
    ))
}

pub async fn variation(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<Variation>, AppError> {
    let s = select(db, principal, q).await?;
    let hours = factor_hours(db, &s).await?;
    let notes = no_data_note(&s, hours.len()).into_iter().collect();
    Ok(envelope(
        &s,
        QUESTION_VARIATION,
        "按北京时间的小时、星期、月份及星期×小时分组，求小时浓度均值及其 95% t 置信区间",
        notes,
        variation::time_variation(&hours),
    ))
}

pub async fn calendar(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<Calendar>, AppError> {
    let mut s = select(db, principal, q).await?;
    let year = q.year.unwrap_or(s.to.year());
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(year, 1, 1).filter(|_| (2000..=2100).contains(&year)),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(AppError::validation("year", "a year between 2000 and 2100"));
    };
    s.from = first;
    s.to = last;
    let days: Vec<_> = air::service::station_days(db, &[s.point.id], first, last)
        .await?
        .into_iter()
        .map(|d| (d.values, d.aqi))
        .collect();
    let factor = factor_hours(db, &s).await?;
    let cal = calendar::calendar(year, &days, &factor);
    let mut notes = Vec::new();
    if cal.days_with_aqi == 0 {
        notes.push(format!(
            "{} 在 {year} 年没有可计算日 AQI 的六项污染物数据；日历显示所选因子的日均值。",
            s.point.name
        ));
    } else {
        let c = &cal.counts;
        notes.push(format!(
            "{year} 年六项污染物均有效、计入统计的 {} 天中，优良 {} 天，超标（AQI > 100）{} 天，重污染（AQI > 200，含严重污染）{} 天；未计入统计 {} 天（有效小时不足或缺项）。AQI 超过 500 的日子为严重污染，显示为“>500”。",
            c.valid_days, c.good_days, c.exceedance_days, c.heavy_days, c.days_not_counted
        ));
    }
    Ok(envelope(
        &s,
        QUESTION_CALENDAR,
        "GB 3095 日均值（≥ 20 个有效小时，O3 日最大 8 小时），按当日施行的 HJ 633 版本计算日 AQI 与级别颜色",
        notes,
        cal,
    ))
}

pub async fn trend(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<Trend>, AppError> {
    let s = select(db, principal, q).await?;
    let hours = factor_hours(db, &s).await?;
    let months = trend::monthly_means(
        &hours,
        (s.from.year(), s.from.month()),
        (s.to.year(), s.to.month()),
    );
    let asked = q.deseasonalise.unwrap_or(false);
    let result = trend::trend(months, asked);
    let mut notes: Vec<String> = no_data_note(&s, hours.len()).into_iter().collect();
    if asked && !result.deseasonalised {
        notes.push("所选时段不足以去季节化（每个月份需至少出现两次，即约两年以上），下面是原始月均值的趋势。".into());
    }
    notes.extend(trend_notes(&result, &s.factor.unit));
    Ok(envelope(
        &s,
        QUESTION_TREND,
        "月均值的 Theil-Sen 斜率，Gilbert (1987) 精确置信区间与 Mann-Kendall 检验；openair 用分块自助法",
        notes,
        result,
    ))
}

/// The plain-language reading of a trend: the slope, and whether it may be called significant by the rule of
/// [`trend::verdict`] (never for less than two full years of raw monthly means: that is the season).
pub fn trend_notes(result: &Trend, unit: &str) -> Vec<String> {
    use trend::TrendVerdict::*;
    let (Some(slope), Some(mk)) = (&result.slope, &result.mann_kendall) else {
        return vec![format!(
            "有效月份只有 {} 个（每月需至少 {:.0}% 的小时有效），至少需要 3 个月才能估计趋势；请选择更长的时段。",
            result.n,
            100.0 * trend::MIN_MONTH_COVERAGE
        )];
    };
    let direction = if slope.slope < 0.0 {
        "下降"
    } else {
        "上升"
    };
    let basis = if result.deseasonalised {
        "去季节化后月均值"
    } else {
        "月均值"
    };
    let mut notes = Vec::new();
    match result.verdict {
        ShorterThanTwoYears => notes.push(format!(
            "所选时段不足两个完整年份：{basis}的 Sen 斜率为 {:.2} {unit}/年，但这主要反映季节变化（采暖季高、夏季低），不代表长期趋势，因此不作显著性判断。判断是否改善，请选择两年以上的时段。",
            slope.slope
        )),
        SeasonDominates => notes.push(format!(
            "{basis}的 Sen 斜率为 {:.2} {unit}/年，但季节变化占月均值差异的 {:.0}%，未去季节化的趋势不作显著性判断；请去季节化后再看。",
            slope.slope,
            100.0 * result.seasonal_share.unwrap_or(0.0)
        )),
        Significant => notes.push(format!(
            "{basis}的 Sen 斜率 {:.2} {unit}/年（{direction}），Mann-Kendall p = {:.3}，在 0.05 水平上显著。",
            slope.slope, mk.p_value
        )),
        NotSignificant => notes.push(format!(
            "{basis}的 Sen 斜率 {:.2} {unit}/年（{direction}），Mann-Kendall p = {:.3}，不显著：数据还不足以说明浓度在{direction}。",
            slope.slope, mk.p_value
        )),
        TooFewMonths => {}
    }
    if slope.lower.is_none() {
        notes.push("月份太少，无法给出斜率的置信区间。".into());
    }
    notes
}

pub async fn before_after(
    db: &Db,
    principal: &Principal,
    q: &AnalysisQuery,
) -> Result<Analysis<BeforeAfter>, AppError> {
    let date = match q.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => parse_day("date", d)?,
        None => {
            return Err(AppError::validation(
                "date",
                "required: the date of the change, YYYY-MM-DD",
            ));
        }
    };
    let days = q.days.unwrap_or(90);
    if !(7..=365).contains(&days) {
        return Err(AppError::validation("days", "between 7 and 365"));
    }
    let window = chrono::Days::new(u64::from(days));
    let (Some(from), Some(to)) = (
        date.checked_sub_months(Months::new(12))
            .and_then(|d| d.checked_sub_days(window)),
        date.checked_add_days(window).and_then(|d| d.pred_opt()),
    ) else {
        return Err(AppError::validation("date", "out of range"));
    };
    let q = AnalysisQuery {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        ..q.clone()
    };
    let s = select(db, principal, &q).await?;
    let hours = factor_hours(db, &s).await?;
    let daily = compare::daily_means(&hours, MIN_HOURS_PER_DAY);
    let result = compare::before_after(&daily, date, days)
        .ok_or_else(|| AppError::validation("date", "out of range"))?;
    let mut notes: Vec<String> = no_data_note(&s, hours.len()).into_iter().collect();
    if let Some(d) = &result.main.difference {
        let verdict = if d.upper < 0.0 {
            "显著下降"
        } else if d.lower > 0.0 {
            "显著上升"
        } else {
            "无显著变化"
        };
        notes.push(format!(
            "之后比之前 {:+.1} {}（95% 区间 {:.1} ~ {:.1}），{verdict}。",
            d.estimate, s.factor.unit, d.lower, d.upper
        ));
    } else {
        notes.push("前后窗口的有效日数不足（各需至少 2 天），无法比较。".into());
    }
    match (&result.control, &result.net) {
        (Some(_), Some(net)) => notes.push(format!(
            "扣除上一年同期的变化（对照）后，净变化 {:+.1} {}（95% 区间 {:.1} ~ {:.1}）。",
            net.estimate, s.factor.unit, net.lower, net.upper
        )),
        _ => notes.push("上一年同期没有足够数据，无法用对照扣除季节和气象的影响。".into()),
    }
    Ok(envelope(
        &s,
        QUESTION_BEFORE_AFTER,
        "日均值（≥ 20 个有效小时）前后窗口均值之差，Welch t 区间；上一年同期窗口为对照，净变化为差中差",
        notes,
        result,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{MonthMean, TrendVerdict};

    fn months(count: i32, values: impl Fn(i32) -> f64) -> Vec<MonthMean> {
        (0..count)
            .map(|k| {
                let (year, month) = (2025 + k / 12, (k % 12) as u32 + 1);
                MonthMean {
                    year,
                    month,
                    t: f64::from(year) + (f64::from(month) - 0.5) / 12.0,
                    n: 720,
                    expected: 720,
                    mean: Some(values(k)),
                    adjusted: None,
                    used: true,
                }
            })
            .collect()
    }

    #[test]
    fn a_short_trend_says_it_shows_the_season_and_claims_no_significance() {
        // Nine months falling steadily from winter into summer: Mann–Kendall p is tiny.
        let result = trend::trend(months(9, |k| 90.0 - 6.0 * f64::from(k)), true);
        assert_eq!(result.verdict, TrendVerdict::ShorterThanTwoYears);
        let text = trend_notes(&result, "µg/m³").join(" ");
        assert!(text.contains("不作显著性判断"), "{text}");
        assert!(text.contains("季节"), "{text}");
        assert!(
            !text.contains("显著。") && !text.contains("显著，"),
            "{text}"
        );
    }

    #[test]
    fn a_long_deseasonalised_fall_is_called_significant() {
        let result = trend::trend(
            months(36, |k| {
                let season = if k % 12 < 3 || k % 12 > 9 { 20.0 } else { 0.0 };
                80.0 - 0.5 * f64::from(k) + season
            }),
            true,
        );
        assert_eq!(result.verdict, TrendVerdict::Significant);
        let text = trend_notes(&result, "µg/m³").join(" ");
        assert!(
            text.contains("在 0.05 水平上显著") && text.contains("下降"),
            "{text}"
        );
    }
}
