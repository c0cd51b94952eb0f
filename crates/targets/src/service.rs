//! The targets' rules: who may read and edit them, validation, audit entries, seeding, and the progress of a
//! year's targets computed from the audited data once per data stamp (`status_for_year`).

use chrono::NaiveDate;
use kernel::audit::{self, AuditEntry};
use kernel::cache::FlightCache;
use kernel::time::{cst_day, now_ts};
use kernel::{Action, AppError, AppResult, Db, Principal};
use standards::aggregate::DailyValues;
use standards::settings::AirSettings;

use crate::model::{
    Indicator, Target, TargetFields, TargetInput, TargetStatus, check_code, check_fields,
};
use crate::progress::{self, SectionOutcome, YearWindow, year_back};
use crate::repo;
use crate::seed::{FIRST_YEAR, PLAN_2024};

/// Years a target may belong to.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn check_year(year: i32) -> AppResult<i32> {
    if YEARS.contains(&year) {
        Ok(year)
    } else {
        Err(AppError::validation(
            "year",
            "must be between 2000 and 2100",
        ))
    }
}

/// The targets of a year, as stored.
pub async fn list(db: &Db, principal: &Principal, year: i32) -> AppResult<Vec<Target>> {
    principal.require(crate::TARGET, Action::Read)?;
    let year = check_year(year)?;
    let mut conn = db.pool().acquire().await?;
    Ok(repo::list(&mut conn, year).await?)
}

/// The years that have targets, newest first.
pub async fn years(db: &Db, principal: &Principal) -> AppResult<Vec<i32>> {
    principal.require(crate::TARGET, Action::Read)?;
    let mut conn = db.pool().acquire().await?;
    Ok(repo::years(&mut conn).await?)
}

pub async fn get(db: &Db, principal: &Principal, id: i64) -> AppResult<Target> {
    principal.require(crate::TARGET, Action::Read)?;
    let mut conn = db.pool().acquire().await?;
    repo::get(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("target not found"))
}

/// A year's targets with their progress, for a caller who may read them.
pub async fn statuses(
    db: &Db,
    principal: &Principal,
    year: i32,
    now: i64,
) -> AppResult<Vec<TargetStatus>> {
    principal.require(crate::TARGET, Action::Read)?;
    let year = check_year(year)?;
    Ok(status_for_year(db, year, now).await?)
}

/// A year's targets with their progress as of `now` (Unix seconds), computed from the audited data: the
/// dashboard's entry point (the caller checks that the user may read targets). Computed once per data stamp and
/// CST day (see [`STATUS_CACHE`]).
pub async fn status_for_year(db: &Db, year: i32, now: i64) -> anyhow::Result<Vec<TargetStatus>> {
    let today = cst_day(now);
    let key: StatusKey = (
        db.url(),
        readings::service::data_stamp(db).await?,
        year,
        today,
    );
    let statuses = STATUS_CACHE
        .get_or_try_compute(key, || compute_status_for_year(db, year, today))
        .await?;
    Ok(statuses.as_ref().clone())
}

/// Database URL, data stamp, year, CST day. The stamp moves with new readings and corrections and with every
/// audited change (targets, the registry's stations and sections), so a figure is reused exactly until one of
/// its inputs changes; the day moves the window. The dashboard, the target page and the bulletins ask for the
/// same year within seconds; the time limit bounds what the stamp cannot see (changes by another process
/// outside the audit log).
type StatusKey = (String, readings::service::DataStamp, i32, NaiveDate);

static STATUS_CACHE: FlightCache<StatusKey, Vec<TargetStatus>> =
    FlightCache::new(std::time::Duration::from_secs(60), 16);

async fn compute_status_for_year(
    db: &Db,
    year: i32,
    today: NaiveDate,
) -> anyhow::Result<Vec<TargetStatus>> {
    let targets = {
        let mut conn = db.pool().acquire().await?;
        repo::list(&mut conn, year).await?
    };
    let Some(window) = YearWindow::new(year, today) else {
        anyhow::bail!("year {year} out of range");
    };
    let needs = |pick: fn(Indicator) -> bool| targets.iter().any(|t| pick(t.indicator));
    let data = fetch_year_data(db, &window, needs(is_air), needs(is_water)).await?;
    let settings = AirSettings::default();
    Ok(targets
        .iter()
        .map(|target| match target.indicator {
            i if is_air(i) => progress::air_status(target, &window, &data.air_days, &settings),
            i if is_water(i) => {
                progress::water_status(target, &window, &data.water_now, &data.water_last)
            }
            _ => progress::reported_status(target, &window),
        })
        .collect())
}

/// The data a year's targets are computed from.
#[derive(Default)]
struct YearData {
    air_days: Vec<DailyValues>,
    water_now: Vec<SectionOutcome>,
    water_last: Vec<SectionOutcome>,
}

async fn fetch_year_data(
    db: &Db,
    window: &YearWindow,
    air: bool,
    water: bool,
) -> anyhow::Result<YearData> {
    let mut data = YearData::default();
    if let Some(through) = window.through {
        if air {
            data.air_days = district_area_days(db, window).await?;
        }
        if water {
            data.water_now = section_outcomes(db, window.from, through).await?;
            data.water_last =
                section_outcomes(db, year_back(window.from), year_back(through)).await?;
        }
    }
    Ok(data)
}

fn is_air(indicator: Indicator) -> bool {
    matches!(
        indicator,
        Indicator::Pm25AnnualMean | Indicator::GoodDayRatio | Indicator::HeavyPollutionDays
    )
}

fn is_water(indicator: Indicator) -> bool {
    matches!(
        indicator,
        Indicator::WaterGoodShare
            | Indicator::WaterWorseThanVSections
            | Indicator::WaterTargetCompliance
    )
}

/// The district's area days (HJ 663 over the assessment stations) from 1 January last year to the last
/// complete day of the window: this year so far, and all of last year for the yardsticks.
pub async fn district_area_days(db: &Db, window: &YearWindow) -> anyhow::Result<Vec<DailyValues>> {
    let Some(through) = window.through else {
        return Ok(Vec::new());
    };
    let stations: Vec<i64> = air::service::assessment_stations(db)
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    if stations.is_empty() {
        return Ok(Vec::new());
    }
    let days = air::service::area_days(db, &stations, year_back(window.from), through).await?;
    Ok(days.into_iter().map(|d| d.values).collect())
}

/// Every active section's class over `from..=to` (sections without a valid sample are left out).
pub async fn section_outcomes(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<SectionOutcome>> {
    Ok(water::service::section_results(db, from, to)
        .await?
        .into_iter()
        .filter_map(|s| {
            Some(SectionOutcome {
                class: s.class()?,
                meets_target: s.meets_target,
                assessment_section: matches!(s.section.level.as_str(), "national" | "municipal"),
            })
        })
        .collect())
}

/// Creates a target (monitoring department, administrators).
pub async fn create(db: &Db, principal: &Principal, input: &TargetInput) -> AppResult<Target> {
    principal.require(crate::TARGET, Action::Create)?;
    let year = check_year(
        input
            .year
            .ok_or_else(|| AppError::validation("year", "is required"))?,
    )?;
    let code = check_code(input.code.as_deref().unwrap_or(""))?;
    let indicator = input
        .indicator
        .ok_or_else(|| AppError::validation("indicator", "is required"))?;
    let fields = check_fields(indicator, input)?;
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let position = repo::next_position(&mut tx, year).await?;
    let id = repo::insert(
        &mut tx,
        year,
        &code,
        indicator,
        &fields,
        false,
        position,
        Some(&principal.username),
        now,
    )
    .await
    .map_err(|e| {
        if kernel::db::is_unique_violation(&e) {
            AppError::Conflict(format!("code: {year} already has a target {code:?}"))
        } else {
            e.into()
        }
    })?;
    let created = repo::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("target"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "target", id)
            .summary(format!("新增{}年度目标 {}", year, created.title))
            .after(&created),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Edits a target's definition, or reports a value with its evidence (reported indicators).
pub async fn update(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &TargetInput,
) -> AppResult<Target> {
    principal.require(crate::TARGET, Action::Update)?;
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let before = repo::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("target not found"))?;
    let fields: TargetFields = check_fields(before.indicator, input)?;
    let reported =
        fields.reported_value != before.reported_value || fields.evidence != before.evidence;
    let report = reported.then_some((now, principal.username.as_str()));
    repo::update(&mut tx, id, &fields, report, now).await?;
    let after = repo::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("target"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "update", "target", id)
            .summary(format!("修改{}年度目标 {}", after.year, after.title))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Seeds the 2024 plan's targets into every year from 2024 to `through_year` that has none (marked `seeded`).
/// Returns the years seeded. Run at start (`qingshan serve`, `qingshan demo`).
pub async fn ensure_seeded(db: &Db, through_year: i32) -> anyhow::Result<Vec<i32>> {
    let mut seeded = Vec::new();
    for year in FIRST_YEAR..=through_year.min(*YEARS.end()) {
        let mut tx = db.begin_write().await?;
        if repo::count_of_year(&mut tx, year).await? > 0 {
            continue;
        }
        let now = now_ts();
        for (position, seed) in PLAN_2024.iter().enumerate() {
            let fields = TargetFields {
                title: seed.title.to_string(),
                comparison: seed.comparison,
                threshold: seed.threshold,
                unit: seed.unit.to_string(),
                owner: seed.owner.to_string(),
                plan_wording: seed.plan_wording.to_string(),
                note: seed.note.to_string(),
                reported_value: None,
                evidence: String::new(),
            };
            repo::insert(
                &mut tx,
                year,
                seed.code,
                seed.indicator,
                &fields,
                true,
                position as i64,
                None,
                now,
            )
            .await?;
        }
        audit::record(
            &mut *tx,
            &AuditEntry::system("system", "seed", "target", year).summary(format!(
                "按2024年工作要点（二、主要目标）预置{year}年度目标"
            )),
        )
        .await?;
        tx.commit().await?;
        seeded.push(year);
    }
    Ok(seeded)
}
