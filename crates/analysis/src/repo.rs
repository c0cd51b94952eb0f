//! The area's reads. It owns no table and writes nothing: hourly values come from the readings store through
//! its own functions (which hold the SQL), in the audited tier.

use std::collections::BTreeMap;

use kernel::Db;
use readings::audit;
use readings::model::Period;
use readings::rollup;
use readings::store;

/// Valid audited hourly values of `factors` at a point in `[from, to)`: by hour start (Unix seconds), one slot
/// per factor in `factors` order.
///
/// An hour is the hour the station (or file) reported, with the latest correction applied, or else the hour the
/// platform rolled up from minute data (≥ 45 valid minutes). Only valid values are kept: flag N (or corrected),
/// inside the factor's plausible range, not marked invalid.
pub async fn hourly(
    db: &Db,
    point_id: i64,
    factors: &[&str],
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, Vec<Option<f64>>>, sqlx::Error> {
    let mut out: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
    let empty = || vec![None; factors.len()];
    for r in rollup::stored(db, point_id, None, Period::Hour, from, to).await? {
        if let Some(k) = factors.iter().position(|f| *f == r.factor) {
            out.entry(r.ts).or_insert_with(empty)[k] = r.mean.filter(|_| r.valid);
        }
    }
    let rows = store::rows(db, point_id, &[Period::Hour], from, to).await?;
    if rows.is_empty() {
        return Ok(out);
    }
    let corrections = audit::latest_corrections(db, point_id, from, to).await?;
    for row in rows {
        for (k, factor) in factors.iter().enumerate() {
            // A reported hour wins over one derived from minutes, valid or not.
            if let Some(cell) = row.get(factor) {
                let audited = corrections.apply(Period::Hour, row.ts, factor, cell);
                out.entry(row.ts).or_insert_with(empty)[k] =
                    audited.value.filter(|_| audited.valid);
            }
        }
    }
    Ok(out)
}
