//! The alarm area's SQL (and only here): outlet permits and limits, alarms, watermarks, leads. What it needs of the
//! registry (outlets, their points and enterprises, names, streets) comes through `registry::service`.

use kernel::Db;
use kernel::db::SqlBuilder;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::model::{AlarmFilter, AlarmRecord, EvidencePoint, Lead, OutletLimit, OutletPermit};

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The first two columns of every row.
fn pairs<A, B>(rows: &[AnyRow]) -> Result<Vec<(A, B)>, sqlx::Error>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    B: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The first minute or hour reading of a point (its commissioning, as far as the data know).
pub async fn first_reading(db: &Db, point_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut first: Option<i64> = None;
    for period in ["minute", "hour"] {
        let ts: Option<i64> =
            sqlx::query_scalar("SELECT MIN(ts) FROM readings WHERE point_id = $1 AND period = $2")
                .bind(point_id)
                .bind(period)
                .fetch_one(db.pool())
                .await?;
        first = match (first, ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(first)
}

pub async fn watermark(db: &Db, point_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT evaluated_to FROM alarm_watermarks WHERE point_id = $1")
        .bind(point_id)
        .fetch_optional(db.pool())
        .await
}

/// Moves a point's watermark forward (never back).
pub async fn advance_watermark(
    tx: &mut Tx,
    point_id: i64,
    to: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alarm_watermarks (point_id, evaluated_to, evaluated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (point_id) DO UPDATE SET evaluated_to = CASE WHEN excluded.evaluated_to > \
         alarm_watermarks.evaluated_to THEN excluded.evaluated_to ELSE alarm_watermarks.evaluated_to END, \
         evaluated_at = excluded.evaluated_at",
    )
    .bind(point_id)
    .bind(to)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The permit of an outlet with its limits, if one is recorded.
pub async fn permit(db: &Db, outlet_id: i64) -> Result<Option<OutletPermit>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT reference_oxygen, rated_flow, basis, simulated FROM outlet_permits WHERE outlet_id = $1",
    )
    .bind(outlet_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let limits = sqlx::query(
        "SELECT factor, limit_value, averaging, on_converted, range_low, range_high, detection_limit \
         FROM outlet_limits WHERE outlet_id = $1 ORDER BY factor",
    )
    .bind(outlet_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(OutletLimit {
            factor: r.try_get(0)?,
            limit: r.try_get(1)?,
            averaging: r.try_get(2)?,
            on_converted: r.try_get::<i64, _>(3)? != 0,
            range_low: r.try_get(4)?,
            range_high: r.try_get(5)?,
            detection_limit: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(OutletPermit {
        outlet_id,
        reference_oxygen: row.try_get(0)?,
        rated_flow: row.try_get(1)?,
        basis: row.try_get(2)?,
        simulated: row.try_get::<i64, _>(3)? != 0,
        limits,
    }))
}

/// Replaces an outlet's permit and limits.
pub async fn put_permit(
    tx: &mut Tx,
    permit: &OutletPermit,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    // The permit row first, as an upsert: on PostgreSQL it locks the row, so a concurrent replacement of the
    // same outlet's permit waits for this one instead of failing on the key (seen: 409s under concurrent PUTs),
    // and its DELETE of the limits below then sees the limits this one wrote.
    sqlx::query(
        "INSERT INTO outlet_permits (outlet_id, reference_oxygen, rated_flow, basis, simulated, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (outlet_id) DO UPDATE SET reference_oxygen = excluded.reference_oxygen, \
         rated_flow = excluded.rated_flow, basis = excluded.basis, simulated = excluded.simulated, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(permit.outlet_id)
    .bind(permit.reference_oxygen)
    .bind(permit.rated_flow)
    .bind(&permit.basis)
    .bind(kernel::db::flag(permit.simulated))
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM outlet_limits WHERE outlet_id = $1")
        .bind(permit.outlet_id)
        .execute(&mut **tx)
        .await?;
    for l in &permit.limits {
        sqlx::query(
            "INSERT INTO outlet_limits (outlet_id, factor, limit_value, averaging, on_converted, range_low, \
             range_high, detection_limit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(permit.outlet_id)
        .bind(&l.factor)
        .bind(l.limit)
        .bind(&l.averaging)
        .bind(kernel::db::flag(l.on_converted))
        .bind(l.range_low)
        .bind(l.range_high)
        .bind(l.detection_limit)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The alarm's own columns; the names of its enterprise, street, outlet and point come from the registry
/// (`service::with_names`).
const SELECT: &str = "SELECT a.id, a.enterprise_id, a.outlet_id, a.point_id, a.rule, a.factor, a.from_ts, a.to_ts, \
     a.severity, a.evidence, a.values_json, a.state, a.verdict, a.verified_by, a.verified_at, a.verify_note, \
     a.handled_by, a.handled_at, a.handle_note, a.closed_by, a.closed_at, a.close_note, a.raised_at, a.updated_at, \
     a.simulated, a.version FROM alarms a";

fn decode(r: &AnyRow) -> Result<AlarmRecord, sqlx::Error> {
    let rule: String = r.try_get("rule")?;
    let factor: Option<String> = r.try_get("factor")?;
    let values: String = r.try_get("values_json")?;
    Ok(AlarmRecord {
        id: r.try_get("id")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: String::new(),
        street_id: None,
        street_name: None,
        outlet_id: r.try_get("outlet_id")?,
        outlet_name: None,
        point_id: r.try_get("point_id")?,
        point_code: String::new(),
        point_name: String::new(),
        rule_name: crate::RuleId::parse(&rule)
            .map_or_else(|| rule.clone(), |id| id.name_zh().to_string()),
        rule,
        factor_name: factor
            .as_deref()
            .and_then(readings::factors::by_code)
            .map(|f| f.name.to_string()),
        factor,
        from_ts: r.try_get("from_ts")?,
        to_ts: r.try_get("to_ts")?,
        severity: r.try_get("severity")?,
        evidence: r.try_get("evidence")?,
        values: serde_json::from_str::<Vec<EvidencePoint>>(&values).unwrap_or_default(),
        state: r.try_get("state")?,
        verdict: r.try_get("verdict")?,
        verified_by: r.try_get("verified_by")?,
        verified_at: r.try_get("verified_at")?,
        verify_note: r.try_get("verify_note")?,
        handled_by: r.try_get("handled_by")?,
        handled_at: r.try_get("handled_at")?,
        handle_note: r.try_get("handle_note")?,
        closed_by: r.try_get("closed_by")?,
        closed_at: r.try_get("closed_at")?,
        close_note: r.try_get("close_note")?,
        raised_at: r.try_get("raised_at")?,
        updated_at: r.try_get("updated_at")?,
        deadline: None,
        overdue: false,
        simulated: r.try_get::<i64, _>("simulated")? != 0,
        version: r.try_get("version")?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Option<AlarmRecord>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The filter as SQL conditions; `month` is given as its UTC span, a street (the filter's, the caller's scope)
/// as the ids of its enterprises (`None`: any enterprise).
fn conditions(
    b: &mut SqlBuilder,
    filter: &AlarmFilter,
    enterprises: Option<&[i64]>,
    month_span: Option<(i64, i64)>,
) {
    b.push(" WHERE 1 = 1");
    match filter.state.as_deref() {
        Some("open") => {
            b.push(" AND a.state <> 'closed'");
        }
        Some(state) => {
            b.push(" AND a.state = ").push_bind(state.to_string());
        }
        None => {}
    }
    if let Some(rule) = &filter.rule {
        b.push(" AND a.rule = ").push_bind(rule.clone());
    }
    if let Some(id) = filter.enterprise_id {
        b.push(" AND a.enterprise_id = ").push_bind(id);
    }
    if let Some(id) = filter.point_id {
        b.push(" AND a.point_id = ").push_bind(id);
    }
    if let Some(ids) = enterprises {
        b.push(" AND ").push_id_in("a.enterprise_id", ids);
    }
    if let Some((from, to)) = month_span {
        b.push(" AND a.raised_at >= ").push_bind(from);
        b.push(" AND a.raised_at < ").push_bind(to);
    }
}

/// One page of alarms, newest first, with the total.
pub async fn list(
    db: &Db,
    filter: &AlarmFilter,
    enterprises: Option<&[i64]>,
    month_span: Option<(i64, i64)>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AlarmRecord>, i64), sqlx::Error> {
    let mut count = SqlBuilder::new("SELECT CAST(COUNT(*) AS BIGINT) FROM alarms a");
    conditions(&mut count, filter, enterprises, month_span);
    let total: i64 = count.build_scalar().fetch_one(db.pool()).await?;
    let mut b = SqlBuilder::new(SELECT);
    conditions(&mut b, filter, enterprises, month_span);
    b.push(" ORDER BY a.raised_at DESC, a.id DESC LIMIT ")
        .push_bind(limit);
    b.push(" OFFSET ").push_bind(offset);
    let rows = b.build().fetch_all(db.pool()).await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

/// Every alarm matching the filter (statistics, leads), oldest first.
pub async fn all(
    db: &Db,
    filter: &AlarmFilter,
    enterprises: Option<&[i64]>,
    month_span: Option<(i64, i64)>,
) -> Result<Vec<AlarmRecord>, sqlx::Error> {
    let mut b = SqlBuilder::new(SELECT);
    conditions(&mut b, filter, enterprises, month_span);
    b.push(" ORDER BY a.raised_at, a.id");
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter().map(decode).collect()
}

/// Alarms of a point whose span touches `[from, to]`, for reconciling a fresh run.
pub async fn touching(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<AlarmRecord>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE a.point_id = $1 AND a.to_ts >= $2 AND a.from_ts <= $3 ORDER BY a.id"
    )))
    .bind(point_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

/// A new alarm as the worker raises it.
pub struct NewAlarm<'a> {
    pub enterprise_id: i64,
    pub outlet_id: Option<i64>,
    pub point_id: i64,
    pub finding: &'a crate::Finding,
    pub raised_at: i64,
    pub simulated: bool,
}

fn severity_code(severity: crate::Severity) -> &'static str {
    match severity {
        crate::Severity::Low => "low",
        crate::Severity::Medium => "medium",
        crate::Severity::High => "high",
    }
}

fn values_json(finding: &crate::Finding) -> String {
    serde_json::to_string(&finding.values).unwrap_or_else(|_| "[]".to_string())
}

pub async fn insert(tx: &mut Tx, new: &NewAlarm<'_>) -> Result<i64, sqlx::Error> {
    let f = new.finding;
    sqlx::query_scalar(
        "INSERT INTO alarms (enterprise_id, outlet_id, point_id, rule, factor, from_ts, to_ts, severity, evidence, \
         values_json, state, raised_at, updated_at, simulated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'raised', $11, $11, $12) RETURNING id",
    )
    .bind(new.enterprise_id)
    .bind(new.outlet_id)
    .bind(new.point_id)
    .bind(f.rule.code())
    .bind(&f.factor)
    .bind(f.from_ts)
    .bind(f.to_ts)
    .bind(severity_code(f.severity))
    .bind(&f.evidence)
    .bind(values_json(f))
    .bind(new.raised_at)
    .bind(kernel::db::flag(new.simulated))
    .fetch_one(&mut **tx)
    .await
}

/// Replaces the finding of an alarm whose episode went on.
pub async fn extend(
    tx: &mut Tx,
    id: i64,
    finding: &crate::Finding,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE alarms SET from_ts = $1, to_ts = $2, severity = $3, evidence = $4, values_json = $5, \
         updated_at = $6, version = version + 1 WHERE id = $7",
    )
    .bind(finding.from_ts)
    .bind(finding.to_ts)
    .bind(severity_code(finding.severity))
    .bind(&finding.evidence)
    .bind(values_json(finding))
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the lifecycle columns of `after` if the alarm is still at `version`; false when it was not.
pub async fn update_lifecycle(
    tx: &mut Tx,
    after: &AlarmRecord,
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE alarms SET state = $1, verdict = $2, verified_by = $3, verified_at = $4, verify_note = $5, \
         handled_by = $6, handled_at = $7, handle_note = $8, closed_by = $9, closed_at = $10, close_note = $11, \
         updated_at = $12, version = version + 1 WHERE id = $13 AND version = $14",
    )
    .bind(&after.state)
    .bind(&after.verdict)
    .bind(&after.verified_by)
    .bind(after.verified_at)
    .bind(&after.verify_note)
    .bind(&after.handled_by)
    .bind(after.handled_at)
    .bind(&after.handle_note)
    .bind(&after.closed_by)
    .bind(after.closed_at)
    .bind(&after.close_note)
    .bind(now)
    .bind(after.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open alarms by rule (and how many of each), optionally of some enterprises (a street's).
pub async fn open_by_rule(
    db: &Db,
    enterprises: Option<&[i64]>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT a.rule, CAST(COUNT(*) AS BIGINT) FROM alarms a WHERE a.state <> 'closed'",
    );
    if let Some(ids) = enterprises {
        b.push(" AND ").push_id_in("a.enterprise_id", ids);
    }
    b.push(" GROUP BY a.rule ORDER BY a.rule");
    let rows = b.build().fetch_all(db.pool()).await?;
    pairs(&rows)
}

/// The lead's own columns; the enterprise's name comes from the registry.
const LEAD_SELECT: &str = "SELECT l.id, l.kind, l.enterprise_id, l.alarm_id, l.month, l.alarm_ids, l.summary, \
     l.note, l.created_by, l.created_at FROM alarm_leads l";

fn decode_lead(r: &AnyRow) -> Result<Lead, sqlx::Error> {
    let ids: String = r.try_get(5)?;
    Ok(Lead {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        enterprise_id: r.try_get(2)?,
        enterprise_name: String::new(),
        alarm_id: r.try_get(3)?,
        month: r.try_get(4)?,
        alarm_ids: serde_json::from_str(&ids).unwrap_or_default(),
        summary: r.try_get(6)?,
        note: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

/// Leads, newest first, optionally of some enterprises (a street's).
pub async fn leads(db: &Db, enterprises: Option<&[i64]>) -> Result<Vec<Lead>, sqlx::Error> {
    let mut b = SqlBuilder::new(LEAD_SELECT);
    if let Some(ids) = enterprises {
        b.push(" WHERE ").push_id_in("l.enterprise_id", ids);
    }
    b.push(" ORDER BY l.created_at DESC, l.id DESC");
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter().map(decode_lead).collect()
}

/// Dedup keys of the leads already made.
pub async fn lead_keys(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT dedup_key FROM alarm_leads")
        .fetch_all(db.pool())
        .await
}

pub async fn insert_lead(tx: &mut Tx, lead: &Lead, dedup_key: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO alarm_leads (kind, enterprise_id, alarm_id, month, alarm_ids, summary, note, created_by, \
         created_at, dedup_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&lead.kind)
    .bind(lead.enterprise_id)
    .bind(lead.alarm_id)
    .bind(&lead.month)
    .bind(serde_json::to_string(&lead.alarm_ids).unwrap_or_else(|_| "[]".into()))
    .bind(&lead.summary)
    .bind(&lead.note)
    .bind(&lead.created_by)
    .bind(lead.created_at)
    .bind(dedup_key)
    .fetch_one(&mut **tx)
    .await
}

/// The enterprises that have alarms, by id, optionally among some (a street's).
pub async fn enterprises_with_alarms(
    db: &Db,
    enterprises: Option<&[i64]>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut b = SqlBuilder::new("SELECT DISTINCT a.enterprise_id FROM alarms a");
    if let Some(ids) = enterprises {
        b.push(" WHERE ").push_id_in("a.enterprise_id", ids);
    }
    b.push(" ORDER BY a.enterprise_id");
    b.build_scalar().fetch_all(db.pool()).await
}

/// Whether a reading source of this kind and name exists (the demo's history is written once).
pub async fn source_exists(db: &Db, kind: &str, name: &str) -> Result<bool, sqlx::Error> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM reading_sources WHERE kind = $1 AND name = $2")
            .bind(kind)
            .bind(name)
            .fetch_optional(db.pool())
            .await?;
    Ok(id.is_some())
}

/// (QN, receive time) of a device's stored packets received in `[from, to)`: the device's clock against ours.
pub async fn packet_clocks(
    db: &Db,
    device_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT qn, received_at FROM hj212_packets WHERE device_id = $1 AND received_at >= $2 \
         AND received_at < $3 AND qn IS NOT NULL ORDER BY received_at",
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    pairs(&rows)
}

/// Per hour of receipt in `[from, to)`: (hour start, packets, CRC failures) of a device — stored packets (a
/// device in CRC mode `ignore` keeps its bad ones) plus the packets quarantined for a bad CRC.
pub async fn crc_by_hour(
    db: &Db,
    device_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let stored = sqlx::query(
        "SELECT CAST(received_at / 3600 AS BIGINT), CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN crc = 'bad' THEN 1 ELSE 0 END) AS BIGINT) FROM hj212_packets \
         WHERE device_id = $1 AND received_at >= $2 AND received_at < $3 GROUP BY received_at / 3600",
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let quarantined = sqlx::query(
        "SELECT CAST(received_at / 3600 AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine \
         WHERE device_id = $1 AND reason = 'bad_crc' AND received_at >= $2 AND received_at < $3 \
         GROUP BY received_at / 3600",
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut hours: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
    for r in &stored {
        let e = hours.entry(r.try_get(0)?).or_default();
        e.0 += r.try_get::<i64, _>(1)?;
        e.1 += r.try_get::<i64, _>(2)?;
    }
    for r in &quarantined {
        let n: i64 = r.try_get(1)?;
        let e = hours.entry(r.try_get(0)?).or_default();
        e.0 += n;
        e.1 += n;
    }
    Ok(hours
        .into_iter()
        .map(|(h, (packets, failures))| (h * 3600, packets, failures))
        .collect())
}
