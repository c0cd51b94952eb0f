//! The alarm area's rules around the pure crate: the worker that runs every rule over the stored outlet data,
//! the lifecycle of stored alarms (who may do what, audited), lists, statistics, inspection leads and the
//! outlets' permits. No HTTP types here.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kernel::audit::{self, AuditEntry};
use kernel::{Action as Permission, AppError, AppResult, Db, Page, PageQuery, Principal};
use readings::model::Period as StorePeriod;
use registry::model::MonitoredOutlet;

use crate::model::{
    AlarmActionBody, AlarmFilter, AlarmRecord, DataGap, EnterpriseMonthStats, EvaluationSummary,
    EvidencePoint, Lead, LeadCandidate, NewLead, OpenSummary, OutletPermit, RuleCount,
};
use crate::repo;
use crate::{
    Action, Alarm, AlarmState, Averaging, ClockCheck, CrcTally, DataFlag, DetectionLimit,
    EmissionLimit, Finding, InstrumentRange, KnownFinding, LifecycleError, Outcome, OutletContext,
    Period, PointInput, RuleId, Sample, Series, Settings, Severity, Step, Verdict, Verification,
    Window,
};

/// Who the worker is in the audit log.
pub const WORKER: &str = "alarm-worker";
/// A manual run (`qingshan alarms evaluate --from --to`) judges at most this span at once.
pub const MAX_MANUAL_SPAN_S: i64 = 92 * 86_400;
/// Exceedance alarms of one enterprise in one month (not dismissed as false positives) from which the
/// enterprise-month becomes a lead candidate.
pub const REPEATED_EXCEEDANCES: usize = 3;

/// The rules that point at falsified or manipulated data (篡改、伪造, 环发〔2015〕175号): their alarms verified as true are
/// lead candidates.
pub fn is_falsification_rule(rule: RuleId) -> bool {
    matches!(
        rule,
        RuleId::ConstantValue
            | RuleId::LowVariation
            | RuleId::DetectionLimitPinned
            | RuleId::NarrowBand
            | RuleId::StepThenFlat
            | RuleId::HoveringUnderLimit
            | RuleId::ReflaggedExceedance
            | RuleId::OxygenContradictsOperation
            | RuleId::TemperatureAtAmbient
    )
}

/// The settings the platform runs with (`Settings::default()`, every threshold documented in docs/alarms.md).
pub fn settings() -> Settings {
    Settings::default()
}

// --- The worker ----------------------------------------------------------------------------------------------

/// Judges every monitored outlet point whose watermark is behind the last whole hour before `now`: the window
/// is `[max(to − lookback, first reading), to)` with `to` that hour, so block rules see whole blocks and late
/// data inside the lookback are judged again; reconciling against the stored alarms keeps a rerun from
/// storing anything twice. The periodic job calls this every minute; a point is judged once per hour.
pub async fn evaluate_due(db: &Db, now: i64) -> anyhow::Result<EvaluationSummary> {
    let _one_at_a_time = WORKER_LOCK.lock().await;
    let settings = settings();
    let to = now - now.rem_euclid(3600);
    let points = registry::service::monitored_outlets(db).await?;
    let mut summary = EvaluationSummary {
        points: points.len(),
        ..EvaluationSummary::default()
    };
    for point in &points {
        if repo::watermark(db, point.point_id)
            .await?
            .is_some_and(|wm| wm >= to)
        {
            continue;
        }
        let Some(first) = repo::first_reading(db, point.point_id).await? else {
            continue;
        };
        let from = first.max(to - settings.lookback_s());
        evaluate_point(db, point, from, to, now, &settings, true, &mut summary).await?;
    }
    Ok(summary)
}

/// Judges `[from, to)` for every monitored outlet point (or one), whatever the watermarks say (a manual
/// rerun; watermarks are left as they are). Idempotent like the periodic run.
pub async fn evaluate_range(
    db: &Db,
    from: i64,
    to: i64,
    point_id: Option<i64>,
    now: i64,
) -> AppResult<EvaluationSummary> {
    if to <= from {
        return Err(AppError::validation("to", "must be after from"));
    }
    if to.saturating_sub(from) > MAX_MANUAL_SPAN_S {
        return Err(AppError::validation(
            "to",
            format!("at most {} days at once", MAX_MANUAL_SPAN_S / 86_400),
        ));
    }
    let _one_at_a_time = WORKER_LOCK.lock().await;
    let settings = settings();
    let points: Vec<MonitoredOutlet> = registry::service::monitored_outlets(db)
        .await?
        .into_iter()
        .filter(|p| point_id.is_none_or(|id| id == p.point_id))
        .collect();
    if let Some(id) = point_id
        && points.is_empty()
    {
        return Err(AppError::validation(
            "point",
            format!("{id} is not an active outlet monitoring point"),
        ));
    }
    let mut summary = EvaluationSummary {
        points: points.len(),
        ..EvaluationSummary::default()
    };
    for point in &points {
        let Some(first) = repo::first_reading(db, point.point_id).await? else {
            continue;
        };
        evaluate_point(
            db,
            point,
            from.max(first),
            to,
            now,
            &settings,
            false,
            &mut summary,
        )
        .await?;
    }
    Ok(summary)
}

/// One worker at a time in this process (the periodic job and a request never interleave their reconciles).
static WORKER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[allow(clippy::too_many_arguments)]
async fn evaluate_point(
    db: &Db,
    point: &MonitoredOutlet,
    from: i64,
    to: i64,
    now: i64,
    settings: &Settings,
    advance: bool,
    summary: &mut EvaluationSummary,
) -> anyhow::Result<()> {
    if from >= to {
        return Ok(());
    }
    let (series, samples) = load_series(db, point.point_id, from, to).await?;
    summary.samples += samples;
    let context = context_of(db, point.outlet_id, &series).await?;
    let (clock_checks, crc_tallies) = device_health(db, point.point_id, from, to).await?;
    let input = PointInput {
        window: Window { from, to },
        series,
        clock_checks,
        crc_tallies,
    };
    let mut findings = crate::evaluate(&input, &context, settings);
    // Values the devices re-sent differently after they were stored: an exceedance re-sent as stopped,
    // maintenance or manual is judged against the series as first received (which is what the store kept).
    let resends = readings::store::resends(db, point.point_id, from, to).await?;
    if resends.iter().any(|r| !r.flag.is_normal()) {
        let later = PointInput {
            series: with_resends(&input.series, &resends),
            ..input.clone()
        };
        findings.extend(crate::evaluate_reflagging(
            &input, &later, &context, settings,
        ));
    }
    let simulated = point.simulated;
    let mut tx = db.begin_write().await?;
    // Reconcile inside the write transaction, so that what is stored cannot change in between.
    let stored = repo::touching(db, point.point_id, from, to).await?;
    let known: Vec<KnownFinding> = stored
        .iter()
        .filter_map(|r| {
            Some(KnownFinding {
                finding: finding_of(r)?,
                open: r.state != "closed",
            })
        })
        .collect();
    let stored_ids: Vec<i64> = stored
        .iter()
        .filter(|r| finding_of(r).is_some())
        .map(|r| r.id)
        .collect();
    for outcome in crate::reconcile(&known, findings) {
        match outcome {
            Outcome::Extend { index, finding } => {
                let id = stored_ids[index];
                repo::extend(&mut tx, id, &finding, now).await?;
                audit::record(
                    &mut *tx,
                    &AuditEntry::system(WORKER, "update", "alarm", id)
                        .summary(format!("报警持续：{}", finding.evidence))
                        .before(&known[index].finding)
                        .after(&finding),
                )
                .await?;
                summary.extended += 1;
            }
            Outcome::Raise { finding } => {
                let id = repo::insert(
                    &mut tx,
                    &repo::NewAlarm {
                        enterprise_id: point.enterprise_id,
                        outlet_id: Some(point.outlet_id),
                        point_id: point.point_id,
                        finding: &finding,
                        raised_at: now,
                        simulated,
                    },
                )
                .await?;
                audit::record(
                    &mut *tx,
                    &AuditEntry::system(WORKER, "create", "alarm", id)
                        .summary(format!("{}：{}", finding.rule.name_zh(), finding.evidence))
                        .after(&finding),
                )
                .await?;
                summary.raised += 1;
            }
        }
    }
    if advance {
        repo::advance_watermark(&mut tx, point.point_id, to, now).await?;
    }
    tx.commit().await?;
    summary.evaluated += 1;
    Ok(())
}

/// The gateway's view of the point's devices: the device clock (QN) against the receive time of the packets of
/// the window's last day (drift is about now), and the packets and CRC failures per hour of the whole window.
async fn device_health(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> anyhow::Result<(Vec<ClockCheck>, Vec<CrcTally>)> {
    let mut clocks = Vec::new();
    let mut tallies = Vec::new();
    for device in registry::service::device_ids_of_point(db, point_id).await? {
        for (qn, received_ts) in repo::packet_clocks(db, device, from.max(to - 86_400), to).await? {
            if let Some(device_ts) = qn_time(&qn) {
                clocks.push(ClockCheck {
                    device_ts,
                    received_ts,
                });
            }
        }
        for (hour, packets, failures) in repo::crc_by_hour(db, device, from, to).await? {
            tallies.push(CrcTally {
                from_ts: hour,
                to_ts: hour + 3600,
                packets: u32::try_from(packets).unwrap_or(u32::MAX),
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
            });
        }
    }
    Ok((clocks, tallies))
}

/// The instant of a QN (`YYYYMMDDhhmmss` and optional milliseconds, China Standard Time), UTC seconds.
pub fn qn_time(qn: &str) -> Option<i64> {
    let digits = qn.get(..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S")
        .ok()
        .map(kernel::time::cst_local_to_ts)
}

/// The audited minute and hour data of a point as the rules' series: one per factor, minute data where the
/// point has them, else hourly. A value the audit marked invalid is missing; a corrected one counts as normal.
async fn load_series(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> anyhow::Result<(Vec<Series>, usize)> {
    let rows = readings::store::rows(
        db,
        point_id,
        &[StorePeriod::Minute, StorePeriod::Hour],
        from,
        to,
    )
    .await?;
    let corrections = readings::audit::latest_corrections(db, point_id, from, to).await?;
    let mut by_factor: BTreeMap<(String, u8), (Period, Vec<Sample>)> = BTreeMap::new();
    let mut count = 0;
    for row in &rows {
        let period = match row.period {
            StorePeriod::Minute => Period::Minute,
            StorePeriod::Hour => Period::Hour,
            _ => continue,
        };
        for (code, cell) in row.iter() {
            let audited = corrections.apply(row.period, row.ts, code, cell);
            let flag = if audited.corrected && audited.value.is_some() {
                DataFlag::N
            } else {
                cell.flag
            };
            by_factor
                .entry((code.to_string(), u8::from(period == Period::Hour)))
                .or_insert_with(|| (period, Vec::new()))
                .1
                .push(Sample {
                    ts: row.ts,
                    value: audited.value,
                    flag,
                });
            count += 1;
        }
    }
    let mut series: Vec<Series> = Vec::new();
    for ((factor, _), (period, samples)) in by_factor {
        // Minute data first (key 0 before 1): the rules keep the first series of a factor.
        if series.iter().any(|s| s.factor == factor) {
            continue;
        }
        series.push(Series {
            factor,
            period,
            samples,
        });
    }
    Ok((series, count))
}

/// The series as the device would have it now: each re-sent cell replaces the sample it re-sent (the latest
/// arrival wins).
fn with_resends(series: &[Series], resends: &[readings::store::Resend]) -> Vec<Series> {
    let mut out = series.to_vec();
    for r in resends {
        let period = match r.period {
            StorePeriod::Minute => Period::Minute,
            StorePeriod::Hour => Period::Hour,
            _ => continue,
        };
        let Some(s) = out
            .iter_mut()
            .find(|s| s.factor == r.factor && s.period == period)
        else {
            continue;
        };
        if let Some(sample) = s.samples.iter_mut().find(|x| x.ts == r.ts) {
            sample.value = r.value;
            sample.flag = r.flag;
        }
    }
    out
}

/// What the rules know of the outlet: its permit's limits and analysers (no permit: nothing is judged against
/// a limit, the other rules still run).
async fn context_of(db: &Db, outlet_id: i64, series: &[Series]) -> anyhow::Result<OutletContext> {
    let permit = repo::permit(db, outlet_id).await?;
    let minute = series.iter().any(|s| s.period == Period::Minute);
    let mut context = OutletContext {
        limits: Vec::new(),
        reference_oxygen: None,
        ranges: Vec::new(),
        detection_limits: Vec::new(),
        reporting_interval_s: if minute || series.is_empty() {
            60
        } else {
            3600
        },
        rated_flow: None,
        ambient_temperature: None,
    };
    let Some(permit) = permit else {
        return Ok(context);
    };
    context.reference_oxygen = permit.reference_oxygen;
    context.rated_flow = permit.rated_flow;
    for l in permit.limits {
        if let Some(value) = l.limit {
            context.limits.push(EmissionLimit {
                factor: l.factor.clone(),
                value,
                averaging: if l.averaging == "day" {
                    Averaging::Day
                } else {
                    Averaging::Hour
                },
                on_converted: l.on_converted,
            });
        }
        if let (Some(low), Some(high)) = (l.range_low, l.range_high) {
            context.ranges.push(InstrumentRange {
                factor: l.factor.clone(),
                low,
                high,
            });
        }
        if let Some(value) = l.detection_limit {
            context.detection_limits.push(DetectionLimit {
                factor: l.factor.clone(),
                value,
            });
        }
    }
    Ok(context)
}

// --- Stored alarm ⇄ pure alarm --------------------------------------------------------------------------------

fn severity_of(code: &str) -> Option<Severity> {
    Some(match code {
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        _ => return None,
    })
}

fn verdict_of(code: &str) -> Option<Verdict> {
    Some(match code {
        "true" => Verdict::True,
        "equipment_fault" => Verdict::EquipmentFault,
        "false_positive" => Verdict::FalsePositive,
        _ => return None,
    })
}

fn verdict_code(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::True => "true",
        Verdict::EquipmentFault => "equipment_fault",
        Verdict::FalsePositive => "false_positive",
    }
}

fn state_code(state: AlarmState) -> &'static str {
    match state {
        AlarmState::Raised => "raised",
        AlarmState::Verified => "verified",
        AlarmState::Handled => "handled",
        AlarmState::Closed => "closed",
    }
}

/// 中文 labels of the stored codes.
pub fn state_label(code: &str) -> &'static str {
    match code {
        "raised" => "待核实",
        "verified" => "已核实",
        "handled" => "已处置",
        "closed" => "已关闭",
        _ => "未知",
    }
}

pub fn verdict_label(code: &str) -> &'static str {
    verdict_of(code).map_or("未知", Verdict::name_zh)
}

pub fn severity_label(code: &str) -> &'static str {
    match code {
        "low" => "低",
        "medium" => "中",
        "high" => "高",
        _ => "未知",
    }
}

fn finding_of(r: &AlarmRecord) -> Option<Finding> {
    Some(Finding {
        rule: RuleId::parse(&r.rule)?,
        factor: r.factor.clone(),
        from_ts: r.from_ts,
        to_ts: r.to_ts,
        severity: severity_of(&r.severity)?,
        evidence: r.evidence.clone(),
        values: r
            .values
            .iter()
            .map(|v| crate::EvidenceValue {
                ts: v.ts,
                value: v.value,
            })
            .collect(),
    })
}

fn step_of(by: &Option<String>, at: Option<i64>, note: &Option<String>) -> Option<Step> {
    Some(Step {
        by: by.clone()?,
        at: at?,
        note: note.clone().unwrap_or_default(),
    })
}

/// The stored alarm as the pure lifecycle's [`Alarm`]; `None` for a row the code does not know (a rule or
/// state written by a later version).
pub fn to_alarm(r: &AlarmRecord) -> Option<Alarm> {
    let state = match r.state.as_str() {
        "raised" => AlarmState::Raised,
        "verified" => AlarmState::Verified,
        "handled" => AlarmState::Handled,
        "closed" => AlarmState::Closed,
        _ => return None,
    };
    let verification = match (
        &r.verdict,
        step_of(&r.verified_by, r.verified_at, &r.verify_note),
    ) {
        (Some(v), Some(step)) => Some(Verification {
            verdict: verdict_of(v)?,
            step,
        }),
        _ => None,
    };
    Some(Alarm {
        id: r.id,
        enterprise_id: r.enterprise_id,
        point_id: r.point_id,
        finding: finding_of(r)?,
        raised_at: r.raised_at,
        state,
        verification,
        handling: step_of(&r.handled_by, r.handled_at, &r.handle_note),
        closure: step_of(&r.closed_by, r.closed_at, &r.close_note),
    })
}

/// Fills the deadline and overdue fields by the settings' deadlines.
fn with_deadline(mut r: AlarmRecord, now: i64) -> AlarmRecord {
    if let Some(alarm) = to_alarm(&r) {
        let deadlines = settings().deadlines;
        r.deadline = alarm.deadline(&deadlines);
        r.overdue = alarm.is_overdue(now, &deadlines);
    }
    r
}

// --- Reading and acting -------------------------------------------------------------------------------------

fn month_span_of(month: Option<&str>) -> AppResult<Option<(i64, i64)>> {
    let Some(month) = month else { return Ok(None) };
    readings::audit::parse_month(month)
        .and_then(|(y, m)| readings::audit::month_span(y, m))
        .map(Some)
        .ok_or_else(|| AppError::validation("month", "must be YYYY-MM"))
}

fn check_filter(filter: &AlarmFilter) -> AppResult<Option<(i64, i64)>> {
    if let Some(state) = filter.state.as_deref()
        && !["open", "raised", "verified", "handled", "closed"].contains(&state)
    {
        return Err(AppError::validation(
            "state",
            "must be open, raised, verified, handled or closed",
        ));
    }
    if let Some(rule) = filter.rule.as_deref()
        && RuleId::parse(rule).is_none()
    {
        return Err(AppError::validation("rule", "unknown rule code"));
    }
    month_span_of(filter.month.as_deref())
}

/// The enterprises a street asked for and the caller's street scope leave (`None`: no street is asked for).
/// Alarms belong to the street of their enterprise.
async fn street_enterprises(
    db: &Db,
    street: Option<i64>,
    scope: Option<i64>,
) -> AppResult<Option<Vec<i64>>> {
    match (street, scope) {
        (None, None) => Ok(None),
        (Some(asked), Some(own)) if asked != own => Ok(Some(Vec::new())),
        (Some(street), _) | (None, Some(street)) => Ok(Some(
            registry::service::enterprise_ids_of_street(db, street).await?,
        )),
    }
}

/// Fills in the names the pages show (enterprise, its street, outlet, point) from the registry.
async fn with_names(db: &Db, mut records: Vec<AlarmRecord>) -> AppResult<Vec<AlarmRecord>> {
    if records.is_empty() {
        return Ok(records);
    }
    let ids = |of: fn(&AlarmRecord) -> Option<i64>| -> Vec<i64> {
        let set: BTreeSet<i64> = records.iter().filter_map(of).collect();
        set.into_iter().collect()
    };
    let (enterprise_ids, outlet_ids, point_ids) = (
        ids(|r| Some(r.enterprise_id)),
        ids(|r| r.outlet_id),
        ids(|r| Some(r.point_id)),
    );
    let enterprises: HashMap<i64, registry::model::Enterprise> =
        registry::service::enterprises_by_ids(db, &enterprise_ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let outlets: HashMap<i64, String> = registry::service::outlets_by_ids(db, &outlet_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let points: HashMap<i64, registry::model::MonitoringPoint> =
        registry::service::points_by_ids(db, &point_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    for r in &mut records {
        if let Some(e) = enterprises.get(&r.enterprise_id) {
            r.enterprise_name = e.name.clone();
            r.street_id = Some(e.street_id);
            r.street_name = Some(e.street_name.clone());
        }
        r.outlet_name = r.outlet_id.and_then(|id| outlets.get(&id).cloned());
        if let Some(p) = points.get(&r.point_id) {
            r.point_code = p.code.clone();
            r.point_name = p.name.clone();
        }
    }
    Ok(records)
}

/// Every alarm matching the filter in a street scope, with names (statistics, leads), oldest first.
async fn all_named(
    db: &Db,
    filter: &AlarmFilter,
    street_scope: Option<i64>,
    month_span: Option<(i64, i64)>,
) -> AppResult<Vec<AlarmRecord>> {
    let enterprises = street_enterprises(db, filter.street_id, street_scope).await?;
    let records = repo::all(db, filter, enterprises.as_deref(), month_span).await?;
    with_names(db, records).await
}

/// The enterprises that have alarms (id, name), of one street if scoped: the list page's filter.
pub async fn enterprises_with_alarms(
    db: &Db,
    street_scope: Option<i64>,
) -> AppResult<Vec<(i64, String)>> {
    let enterprises = street_enterprises(db, None, street_scope).await?;
    let ids = repo::enterprises_with_alarms(db, enterprises.as_deref()).await?;
    Ok(registry::service::enterprises_by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect())
}

/// Alarms the caller may see (a street officer: their street's enterprises), newest first.
pub async fn list(
    db: &Db,
    principal: &Principal,
    filter: &AlarmFilter,
    page: &PageQuery,
    now: i64,
) -> AppResult<Page<AlarmRecord>> {
    principal.require(crate::ALARM, Permission::Read)?;
    let span = check_filter(filter)?;
    let enterprises = street_enterprises(db, filter.street_id, principal.street_scope()).await?;
    let (items, total) = repo::list(
        db,
        filter,
        enterprises.as_deref(),
        span,
        page.limit(),
        page.offset(),
    )
    .await?;
    let items = with_names(db, items)
        .await?
        .into_iter()
        .map(|r| with_deadline(r, now))
        .collect();
    Ok(Page::new(items, page, total))
}

/// One alarm (404 outside the caller's street).
pub async fn get(db: &Db, principal: &Principal, id: i64, now: i64) -> AppResult<AlarmRecord> {
    principal.require(crate::ALARM, Permission::Read)?;
    let record = repo::get(db, id)
        .await?
        .ok_or_else(|| AppError::not_found("alarm not found"))?;
    let record = with_names(db, vec![record])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("alarm not found"))?;
    principal.require_street(record.street_id, "报警")?;
    Ok(with_deadline(record, now))
}

/// An officer's step: verify (with a verdict), handle, close. Illegal steps for the state are 409s, a stale
/// version is a 409, an empty note is a 422. Audited with the alarm before and after.
pub async fn act(
    db: &Db,
    principal: &Principal,
    id: i64,
    body: AlarmActionBody,
    now: i64,
) -> AppResult<AlarmRecord> {
    principal.require(crate::ALARM, Permission::Read)?;
    let before = get(db, principal, id, now).await?;
    principal.require(crate::ALARM, Permission::Update)?;
    if let Some(version) = body.version
        && version != before.version
    {
        return Err(AppError::Conflict(format!(
            "the alarm changed meanwhile (version {} now, {version} sent); reload it",
            before.version
        )));
    }
    if body.note.trim().is_empty() {
        return Err(AppError::validation("note", "is required"));
    }
    let step = Step {
        by: principal.username.clone(),
        at: now.max(before.raised_at),
        note: body.note.trim().to_string(),
    };
    let action = match body.action.as_str() {
        "verify" => {
            let verdict = body
                .verdict
                .as_deref()
                .ok_or_else(|| AppError::validation("verdict", "is required to verify"))?;
            let verdict = verdict_of(verdict).ok_or_else(|| {
                AppError::validation("verdict", "must be true, equipment_fault or false_positive")
            })?;
            Action::Verify { verdict, step }
        }
        "handle" => Action::Handle { step },
        "close" => Action::Close { step },
        _ => {
            return Err(AppError::validation(
                "action",
                "must be verify, handle or close",
            ));
        }
    };
    let alarm = to_alarm(&before)
        .ok_or_else(|| AppError::Conflict("this alarm cannot be changed by this version".into()))?;
    let next = alarm.apply(action).map_err(|e| match e {
        LifecycleError::EmptyNote => AppError::validation("note", "is required"),
        LifecycleError::MissingOfficer => AppError::validation("by", "is required"),
        other => AppError::Conflict(lifecycle_message(&other, &before.state)),
    })?;
    let mut after = before.clone();
    after.state = state_code(next.state).to_string();
    if let Some(v) = &next.verification {
        after.verdict = Some(verdict_code(v.verdict).to_string());
        after.verified_by = Some(v.step.by.clone());
        after.verified_at = Some(v.step.at);
        after.verify_note = Some(v.step.note.clone());
    }
    if let Some(s) = &next.handling {
        after.handled_by = Some(s.by.clone());
        after.handled_at = Some(s.at);
        after.handle_note = Some(s.note.clone());
    }
    if let Some(s) = &next.closure {
        after.closed_by = Some(s.by.clone());
        after.closed_at = Some(s.at);
        after.close_note = Some(s.note.clone());
    }
    let mut tx = db.begin_write().await?;
    if !repo::update_lifecycle(&mut tx, &after, before.version, now).await? {
        return Err(AppError::Conflict(
            "the alarm changed meanwhile; reload it".into(),
        ));
    }
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, &body.action, "alarm", id)
            .summary(format!(
                "{} → {}：{}",
                state_label(&before.state),
                state_label(&after.state),
                body.note.trim()
            ))
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id, now).await
}

fn lifecycle_message(err: &LifecycleError, state: &str) -> String {
    match err {
        LifecycleError::IllegalTransition { action, .. } => format!(
            "an alarm that is {state} ({}) cannot be {action}",
            state_label(state)
        ),
        LifecycleError::BeforePreviousStep => "the step is dated before the previous one".into(),
        LifecycleError::NotVerifiedTrue => {
            "only an alarm verified as true can become a lead".into()
        }
        other => other.to_string(),
    }
}

/// Open alarms by rule, for the dashboard: every street, or one (`street_scope`). Callers check the role.
pub async fn open_summary(db: &Db, street_scope: Option<i64>) -> anyhow::Result<OpenSummary> {
    let filter = AlarmFilter {
        state: Some("open".into()),
        ..AlarmFilter::default()
    };
    let enterprises = street_enterprises(db, None, street_scope).await?;
    let open = repo::all(db, &filter, enterprises.as_deref(), None).await?;
    let now = kernel::time::now_ts();
    let deadlines = settings().deadlines;
    let by_rule = repo::open_by_rule(db, enterprises.as_deref())
        .await?
        .into_iter()
        .map(|(rule, count)| RuleCount {
            name: RuleId::parse(&rule).map_or_else(|| rule.clone(), |r| r.name_zh().to_string()),
            rule,
            count,
        })
        .collect();
    Ok(OpenSummary {
        total: open.len() as i64,
        overdue: open
            .iter()
            .filter_map(to_alarm)
            .filter(|a| a.is_overdue(now, &deadlines))
            .count() as i64,
        by_rule,
    })
}

/// Statistics per enterprise and CST month of raising (the pure `monthly_stats`), for the caller's scope.
pub async fn monthly_statistics(
    db: &Db,
    principal: &Principal,
    month: Option<&str>,
    now: i64,
) -> AppResult<Vec<EnterpriseMonthStats>> {
    principal.require(crate::ALARM, Permission::Read)?;
    let span = month_span_of(month)?;
    let records = all_named(db, &AlarmFilter::default(), principal.street_scope(), span).await?;
    let names: BTreeMap<i64, String> = records
        .iter()
        .map(|r| (r.enterprise_id, r.enterprise_name.clone()))
        .collect();
    let alarms: Vec<Alarm> = records.iter().filter_map(to_alarm).collect();
    let rows = crate::monthly_stats(&alarms, now, &settings().deadlines);
    Ok(rows
        .into_iter()
        .map(|row| {
            let count = |v: Verdict| row.by_verdict.get(&v).copied().unwrap_or(0);
            EnterpriseMonthStats {
                enterprise_name: names.get(&row.enterprise_id).cloned().unwrap_or_default(),
                enterprise_id: row.enterprise_id,
                month: row.month.clone(),
                total: row.total,
                by_rule: row
                    .by_rule
                    .iter()
                    .map(|(rule, n)| RuleCount {
                        rule: rule.code().to_string(),
                        name: rule.name_zh().to_string(),
                        count: i64::from(*n),
                    })
                    .collect(),
                verified: row.verified,
                verified_true: count(Verdict::True),
                equipment_fault: count(Verdict::EquipmentFault),
                false_positive: count(Verdict::FalsePositive),
                false_positive_rate: row.false_positive_rate,
                open: row.open,
                overdue: row.overdue,
            }
        })
        .collect())
}

// --- Inspection leads (线索) -------------------------------------------------------------------------------------

fn cst_month(ts: i64) -> String {
    readings::audit::cst_month(ts)
}

/// Leads made so far and the candidates not yet made, in the caller's scope.
pub async fn leads(db: &Db, principal: &Principal) -> AppResult<(Vec<Lead>, Vec<LeadCandidate>)> {
    principal.require(crate::ALARM, Permission::Read)?;
    let enterprises = street_enterprises(db, None, principal.street_scope()).await?;
    let mut made = repo::leads(db, enterprises.as_deref()).await?;
    let lead_enterprises: BTreeSet<i64> = made.iter().map(|l| l.enterprise_id).collect();
    let names: HashMap<i64, String> = registry::service::enterprises_by_ids(
        db,
        &lead_enterprises.into_iter().collect::<Vec<_>>(),
    )
    .await?
    .into_iter()
    .map(|e| (e.id, e.name))
    .collect();
    for lead in &mut made {
        lead.enterprise_name = names.get(&lead.enterprise_id).cloned().unwrap_or_default();
    }
    let keys: HashSet<String> = repo::lead_keys(db).await?.into_iter().collect();
    let records = all_named(db, &AlarmFilter::default(), principal.street_scope(), None).await?;
    let mut candidates = Vec::new();
    for r in &records {
        let falsified = RuleId::parse(&r.rule).is_some_and(is_falsification_rule);
        if falsified
            && r.verdict.as_deref() == Some("true")
            && !keys.contains(&format!("alarm:{}", r.id))
        {
            candidates.push(LeadCandidate {
                kind: "alarm".into(),
                enterprise_id: r.enterprise_id,
                enterprise_name: r.enterprise_name.clone(),
                alarm_id: Some(r.id),
                month: None,
                alarm_ids: vec![r.id],
                summary: format!("{}：{}", r.rule_name, r.evidence),
            });
        }
    }
    for ((enterprise_id, month), group) in repeated_exceedances(&records) {
        if keys.contains(&format!("repeat:{enterprise_id}:{month}")) {
            continue;
        }
        candidates.push(LeadCandidate {
            kind: "repeated_exceedance".into(),
            enterprise_id,
            enterprise_name: group[0].enterprise_name.clone(),
            alarm_id: None,
            summary: repeated_summary(&month, &group),
            alarm_ids: group.iter().map(|r| r.id).collect(),
            month: Some(month),
        });
    }
    Ok((made, candidates))
}

/// Exceedance alarms not dismissed as false positives, grouped by enterprise and CST month of the episode's
/// start, where a group holds at least [`REPEATED_EXCEEDANCES`].
fn repeated_exceedances(records: &[AlarmRecord]) -> BTreeMap<(i64, String), Vec<&AlarmRecord>> {
    let mut groups: BTreeMap<(i64, String), Vec<&AlarmRecord>> = BTreeMap::new();
    for r in records {
        if r.rule == RuleId::Exceedance.code() && r.verdict.as_deref() != Some("false_positive") {
            groups
                .entry((r.enterprise_id, cst_month(r.from_ts)))
                .or_default()
                .push(r);
        }
    }
    groups.retain(|_, g| g.len() >= REPEATED_EXCEEDANCES);
    groups
}

fn repeated_summary(month: &str, group: &[&AlarmRecord]) -> String {
    let mut factors: Vec<String> = group
        .iter()
        .filter_map(|r| r.factor_name.clone().or_else(|| r.factor.clone()))
        .collect();
    factors.sort();
    factors.dedup();
    format!(
        "{month} 超标报警 {} 次（{}）",
        group.len(),
        factors.join("、")
    )
}

/// Makes a lead: from one alarm verified as true (any rule), or from an enterprise's month with repeated
/// exceedance alarms. A lead is made once (409 after).
pub async fn create_lead(
    db: &Db,
    principal: &Principal,
    new: NewLead,
    now: i64,
) -> AppResult<Lead> {
    principal.require(crate::ALARM, Permission::Update)?;
    let note = new.note.trim().to_string();
    if note.is_empty() {
        return Err(AppError::validation("note", "is required"));
    }
    let (lead, key) = match new.kind.as_str() {
        "alarm" => {
            let id = new
                .alarm_id
                .ok_or_else(|| AppError::validation("alarm_id", "is required for kind alarm"))?;
            let record = get(db, principal, id, now).await?;
            let alarm = to_alarm(&record)
                .ok_or_else(|| AppError::Conflict("this alarm cannot become a lead".into()))?;
            let lead = alarm
                .inspection_lead()
                .map_err(|e| AppError::Conflict(lifecycle_message(&e, &record.state)))?;
            (
                Lead {
                    id: 0,
                    kind: "alarm".into(),
                    enterprise_id: record.enterprise_id,
                    enterprise_name: record.enterprise_name.clone(),
                    alarm_id: Some(id),
                    month: None,
                    alarm_ids: vec![id],
                    summary: format!(
                        "{}（{}，核实人 {}：{}）",
                        lead.summary, record.point_name, lead.verified_by, lead.verification_note
                    ),
                    note,
                    created_by: principal.username.clone(),
                    created_at: now,
                },
                format!("alarm:{id}"),
            )
        }
        "repeated_exceedance" => {
            let enterprise_id = new.enterprise_id.ok_or_else(|| {
                AppError::validation("enterprise_id", "is required for kind repeated_exceedance")
            })?;
            let month = new.month.as_deref().ok_or_else(|| {
                AppError::validation("month", "is required for kind repeated_exceedance")
            })?;
            month_span_of(Some(month))?;
            let filter = AlarmFilter {
                enterprise_id: Some(enterprise_id),
                rule: Some(RuleId::Exceedance.code().into()),
                ..AlarmFilter::default()
            };
            let records = all_named(db, &filter, principal.street_scope(), None).await?;
            let groups = repeated_exceedances(&records);
            let Some(group) = groups.get(&(enterprise_id, month.to_string())) else {
                return Err(AppError::validation(
                    "month",
                    format!(
                        "the enterprise has fewer than {REPEATED_EXCEEDANCES} exceedance alarms (not false positives) in {month}"
                    ),
                ));
            };
            (
                Lead {
                    id: 0,
                    kind: "repeated_exceedance".into(),
                    enterprise_id,
                    enterprise_name: group[0].enterprise_name.clone(),
                    alarm_id: None,
                    month: Some(month.to_string()),
                    alarm_ids: group.iter().map(|r| r.id).collect(),
                    summary: repeated_summary(month, group),
                    note,
                    created_by: principal.username.clone(),
                    created_at: now,
                },
                format!("repeat:{enterprise_id}:{month}"),
            )
        }
        _ => {
            return Err(AppError::validation(
                "kind",
                "must be alarm or repeated_exceedance",
            ));
        }
    };
    let mut tx = db.begin_write().await?;
    let id = match repo::insert_lead(&mut tx, &lead, &key).await {
        Ok(id) => id,
        Err(e) if kernel::db::is_unique_violation(&e) => {
            return Err(AppError::Conflict("this lead has been made already".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let lead = Lead { id, ..lead };
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "alarm_lead", id)
            .summary(lead.summary.clone())
            .after(&lead),
    )
    .await?;
    tx.commit().await?;
    Ok(lead)
}

// --- Outlet permits -------------------------------------------------------------------------------------------

/// The permit of an outlet (404 when the outlet is outside the caller's street or unknown; `None` when no
/// permit is recorded).
pub async fn permit(
    db: &Db,
    principal: &Principal,
    outlet_id: i64,
) -> AppResult<Option<OutletPermit>> {
    principal.require(crate::ALARM, Permission::Read)?;
    let outlet = registry::service::outlet(db, outlet_id)
        .await?
        .ok_or_else(|| AppError::not_found("outlet not found"))?;
    let street = registry::service::enterprises_by_ids(db, &[outlet.enterprise_id])
        .await?
        .first()
        .map(|e| e.street_id)
        .ok_or_else(|| AppError::not_found("outlet not found"))?;
    principal.require_street(Some(street), "排放口")?;
    Ok(repo::permit(db, outlet_id).await?)
}

/// Checks a permit: known factor codes once each, positive finite limits, `hour|day`, O2 in [0, 21),
/// ranges low < high.
pub fn check_permit(permit: &OutletPermit) -> AppResult<()> {
    let positive = |v: Option<f64>, field: String| match v {
        Some(x) if !x.is_finite() || x <= 0.0 => {
            Err(AppError::validation(field, "must be a positive number"))
        }
        _ => Ok(()),
    };
    if let Some(o2) = permit.reference_oxygen
        && !(0.0..21.0).contains(&o2)
    {
        return Err(AppError::validation(
            "reference_oxygen",
            "must be in [0, 21) %",
        ));
    }
    positive(permit.rated_flow, "rated_flow".into())?;
    if permit.basis.trim().is_empty() {
        return Err(AppError::validation("basis", "is required"));
    }
    let mut seen = HashSet::new();
    for (i, l) in permit.limits.iter().enumerate() {
        if !readings::factors::is_plausible_code(&l.factor) {
            return Err(AppError::validation(
                format!("limits[{i}].factor"),
                "is not an HJ 212 factor code",
            ));
        }
        if !seen.insert(l.factor.clone()) {
            return Err(AppError::validation(
                format!("limits[{i}].factor"),
                "is listed twice",
            ));
        }
        if l.averaging != "hour" && l.averaging != "day" {
            return Err(AppError::validation(
                format!("limits[{i}].averaging"),
                "must be hour or day",
            ));
        }
        positive(l.limit, format!("limits[{i}].limit"))?;
        positive(l.detection_limit, format!("limits[{i}].detection_limit"))?;
        match (l.range_low, l.range_high) {
            (Some(low), Some(high)) if !(low.is_finite() && high.is_finite() && low < high) => {
                return Err(AppError::validation(
                    format!("limits[{i}].range_high"),
                    "the range needs low < high",
                ));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(AppError::validation(
                    format!("limits[{i}].range_high"),
                    "give both ends of the range or neither",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Records (replaces) the permit of an outlet; audited with before and after.
pub async fn put_permit(
    db: &Db,
    principal: &Principal,
    permit: OutletPermit,
) -> AppResult<OutletPermit> {
    let before = self::permit(db, principal, permit.outlet_id).await?;
    principal.require(crate::ALARM, Permission::Update)?;
    check_permit(&permit)?;
    let mut tx = db.begin_write().await?;
    repo::put_permit(
        &mut tx,
        &permit,
        &principal.username,
        kernel::time::now_ts(),
    )
    .await?;
    let mut entry = AuditEntry::by(principal, "update", "outlet_permit", permit.outlet_id)
        .summary(permit.basis.clone())
        .after(&permit);
    if let Some(before) = &before {
        entry = entry.before(before);
    }
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(repo::permit(db, permit.outlet_id).await?.unwrap_or(permit))
}

/// Records a permit without a user (the demo's loader): checked and audited like [`put_permit`].
pub async fn seed_permit(db: &Db, actor: &str, permit: &OutletPermit) -> AppResult<()> {
    check_permit(permit)?;
    let mut tx = db.begin_write().await?;
    repo::put_permit(&mut tx, permit, actor, kernel::time::now_ts()).await?;
    audit::record(
        &mut *tx,
        &AuditEntry::system(actor, "create", "outlet_permit", permit.outlet_id)
            .summary(permit.basis.clone())
            .after(permit),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What an offline alarm's evidence is: the gap itself. When the point's data arrived around it (two hours
/// either side; minute records where there are any, else hourly), the last arrival before the gap and the first
/// after it; with the times of the arrivals, at most [`MAX_ARRIVALS`], for the page's timeline. An empty
/// evidence chart (an offline alarm has no factor) told the officer nothing.
pub async fn data_gap(db: &Db, record: &AlarmRecord) -> AppResult<DataGap> {
    let from = record.from_ts.saturating_sub(2 * 3600);
    let to = record.to_ts.saturating_add(2 * 3600);
    let mut arrivals = Vec::new();
    for period in [StorePeriod::Minute, StorePeriod::Hour] {
        let rows = readings::store::rows(db, record.point_id, &[period], from, to).await?;
        arrivals = rows.into_iter().map(|row| row.ts).collect::<Vec<_>>();
        if !arrivals.is_empty() {
            break;
        }
    }
    arrivals.sort_unstable();
    arrivals.dedup();
    let last_before = arrivals
        .iter()
        .rev()
        .find(|&&ts| ts < record.from_ts)
        .copied();
    let first_after = arrivals.iter().find(|&&ts| ts >= record.to_ts).copied();
    let step = arrivals.len().div_ceil(MAX_ARRIVALS).max(1);
    Ok(DataGap {
        from_ts: record.from_ts,
        to_ts: record.to_ts,
        hours: record.to_ts.saturating_sub(record.from_ts) as f64 / 3600.0,
        last_before,
        first_after,
        arrivals: arrivals.into_iter().step_by(step).collect(),
    })
}

/// At most this many arrival times are drawn on an offline alarm's timeline.
pub const MAX_ARRIVALS: usize = 600;

/// The factor's stored series around the alarm (two hours either side, minute data where there are any, at
/// most 5,000 values), and the limit when one applies: what the alarm page charts next to the evidence.
pub async fn series_around(
    db: &Db,
    record: &AlarmRecord,
) -> AppResult<(Vec<EvidencePoint>, Option<f64>)> {
    let Some(factor) = record.factor.as_deref() else {
        return Ok((Vec::new(), None));
    };
    let from = record.from_ts.saturating_sub(2 * 3600);
    let to = record.to_ts.saturating_add(2 * 3600);
    let mut points = Vec::new();
    for period in [StorePeriod::Minute, StorePeriod::Hour] {
        let (cells, _) = readings::store::factor_series(
            db,
            record.point_id,
            factor,
            &[period],
            from,
            to,
            5_000,
            0,
        )
        .await?;
        points = cells
            .into_iter()
            .filter_map(|(_, ts, cell)| cell.value.map(|value| EvidencePoint { ts, value }))
            .collect();
        if !points.is_empty() {
            break;
        }
    }
    let limit = match record.outlet_id {
        Some(outlet) => repo::permit(db, outlet)
            .await?
            .and_then(|p| p.limits.into_iter().find(|l| l.factor == factor))
            .and_then(|l| l.limit),
        None => None,
    };
    Ok((points, limit))
}
