//! The air crate's SQL, and the only place it lives: the stored station days (`air_station_days`). Portable
//! across SQLite and PostgreSQL: `$n` placeholders, flags as BIGINT 0/1, exact values as BIGINT fractions.

use chrono::NaiveDate;
use kernel::Db;
use kernel::db::{BulkStatement, MAX_PARAMETERS, SqlBuilder, flag};
use sqlx::Row;
use sqlx::any::AnyRow;
use standards::aggregate::DailyValues;
use standards::aqi::AqiResult;
use standards::exact::Exact;

type SqlResult<T> = Result<T, sqlx::Error>;

/// The six pollutants' column prefixes, in the order of `standards::pollutant::Pollutant::ALL`.
const POLLUTANTS: [&str; 6] = ["so2", "no2", "pm10", "pm25", "co", "o3"];

/// One stored station day as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDay {
    pub point_id: i64,
    /// The daily values; meaningful only when `has_hours`.
    pub values: DailyValues,
    /// False: the station had no hour that day (the day is not listed).
    pub has_hours: bool,
    /// The day's version in the readings' stale marks when its hours were read.
    pub source_version: i64,
    /// The version of the computation that produced it (`service::METHOD`).
    pub method: i64,
}

/// A station day to store, with the AQI summary kept beside the values (for reading the table directly; the
/// service rebuilds the full AQI from the values, which gives the same result by construction).
pub struct NewDay<'a> {
    pub point_id: i64,
    pub values: &'a DailyValues,
    pub has_hours: bool,
    pub aqi: &'a AqiResult,
    pub valid: bool,
    pub source_version: i64,
    pub method: i64,
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn decode_error(column: &str, text: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value {text:?}").into(),
    }
}

/// `(num, den)` when both fit a BIGINT; a value that does not is not stored (the day is then recomputed on
/// every read, which gives the same figures, only slower).
fn fraction(value: Option<Exact>) -> Option<Option<(i64, i64)>> {
    match value {
        None => Some(None),
        Some(v) => Some(Some((
            i64::try_from(v.numerator()).ok()?,
            i64::try_from(v.denominator()).ok()?,
        ))),
    }
}

fn exact_of(row: &AnyRow, prefix: &str) -> SqlResult<Option<Exact>> {
    let num: Option<i64> = row.try_get(format!("{prefix}_num").as_str())?;
    let den: Option<i64> = row.try_get(format!("{prefix}_den").as_str())?;
    match (num, den) {
        (Some(num), Some(den)) if den > 0 => Ok(Some(Exact::new(num.into(), den.into()))),
        (None, None) => Ok(None),
        _ => Err(decode_error(
            &format!("{prefix}_den"),
            &format!("{num:?}/{den:?}"),
        )),
    }
}

fn day_from_row(row: &AnyRow) -> SqlResult<StoredDay> {
    let date: String = row.try_get("date")?;
    let date = kernel::time::parse_date(&date).ok_or_else(|| decode_error("date", &date))?;
    let mut values = [None; 6];
    let mut support = [0u16; 6];
    for (i, prefix) in POLLUTANTS.iter().enumerate() {
        values[i] = exact_of(row, prefix)?;
        let column = format!("{prefix}_support");
        let n: i64 = row.try_get(column.as_str())?;
        support[i] = u16::try_from(n).map_err(|_| decode_error(&column, &n.to_string()))?;
    }
    Ok(StoredDay {
        point_id: row.try_get("point_id")?,
        values: DailyValues {
            date,
            values,
            o3_max_1h: exact_of(row, "o3_max_1h")?,
            support,
        },
        has_hours: row.try_get::<i64, _>("has_hours")? != 0,
        source_version: row.try_get("source_version")?,
        method: row.try_get("method")?,
    })
}

/// The stored days of these stations over `from..=to`.
pub async fn station_days(
    db: &Db,
    point_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> SqlResult<Vec<StoredDay>> {
    let mut b = SqlBuilder::new(
        "SELECT point_id, date, has_hours, so2_num, so2_den, no2_num, no2_den, pm10_num, pm10_den, \
         pm25_num, pm25_den, co_num, co_den, o3_num, o3_den, o3_max_1h_num, o3_max_1h_den, so2_support, \
         no2_support, pm10_support, pm25_support, co_support, o3_support, source_version, method \
         FROM air_station_days WHERE ",
    );
    b.push_id_in("point_id", point_ids);
    b.push(" AND date >= ").push_bind(date_text(from));
    b.push(" AND date <= ").push_bind(date_text(to));
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter().map(day_from_row).collect()
}

/// Columns written per day.
const COLUMNS: usize = 32;

/// Stores (inserts or replaces) these days in one write transaction. Days whose values do not fit the columns
/// are left out; returns how many were stored.
pub async fn store_days(db: &Db, days: &[NewDay<'_>]) -> SqlResult<usize> {
    let now = kernel::time::now_ts();
    let mut storable = Vec::with_capacity(days.len());
    for day in days {
        let fractions: Option<Vec<Option<(i64, i64)>>> = day
            .values
            .values
            .iter()
            .chain(std::iter::once(&day.values.o3_max_1h))
            .map(|v| fraction(*v))
            .collect();
        if let Some(fractions) = fractions {
            storable.push((day, fractions));
        }
    }
    if storable.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    for chunk in storable.chunks(MAX_PARAMETERS / COLUMNS) {
        let mut b = BulkStatement::new(
            db.backend(),
            "INSERT INTO air_station_days (point_id, date, has_hours, so2_num, so2_den, no2_num, no2_den, \
             pm10_num, pm10_den, pm25_num, pm25_den, co_num, co_den, o3_num, o3_den, o3_max_1h_num, \
             o3_max_1h_den, so2_support, no2_support, pm10_support, pm25_support, co_support, o3_support, aqi, \
             aqi_level, aqi_beyond_table, primary_pollutants, aqi_standard, valid, source_version, method, \
             computed_at) VALUES ",
        );
        for (i, (day, fractions)) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(day.point_id).push(", ");
            b.bind(date_text(day.values.date)).push(", ");
            b.bind(flag(day.has_hours));
            for f in fractions {
                b.push(", ").bind(f.map(|f| f.0));
                b.push(", ").bind(f.map(|f| f.1));
            }
            for n in day.values.support {
                b.push(", ").bind(i64::from(n));
            }
            b.push(", ").bind(day.aqi.aqi.map(i64::from));
            b.push(", ")
                .bind(day.aqi.level.map(|l| i64::from(l.number())));
            b.push(", ").bind(flag(day.aqi.beyond_table));
            let primary: Vec<&str> = day
                .aqi
                .primary_pollutants
                .iter()
                .map(|i| i.pollutant().code())
                .collect();
            b.push(", ").bind(primary.join(","));
            b.push(", ").bind(day.aqi.standard.code().to_string());
            b.push(", ").bind(flag(day.valid));
            b.push(", ").bind(day.source_version);
            b.push(", ").bind(day.method);
            b.push(", ").bind(now).push(")");
        }
        b.push(
            " ON CONFLICT (point_id, date) DO UPDATE SET has_hours = excluded.has_hours, \
             so2_num = excluded.so2_num, so2_den = excluded.so2_den, no2_num = excluded.no2_num, \
             no2_den = excluded.no2_den, pm10_num = excluded.pm10_num, pm10_den = excluded.pm10_den, \
             pm25_num = excluded.pm25_num, pm25_den = excluded.pm25_den, co_num = excluded.co_num, \
             co_den = excluded.co_den, o3_num = excluded.o3_num, o3_den = excluded.o3_den, \
             o3_max_1h_num = excluded.o3_max_1h_num, o3_max_1h_den = excluded.o3_max_1h_den, \
             so2_support = excluded.so2_support, no2_support = excluded.no2_support, \
             pm10_support = excluded.pm10_support, pm25_support = excluded.pm25_support, \
             co_support = excluded.co_support, o3_support = excluded.o3_support, aqi = excluded.aqi, \
             aqi_level = excluded.aqi_level, aqi_beyond_table = excluded.aqi_beyond_table, \
             primary_pollutants = excluded.primary_pollutants, aqi_standard = excluded.aqi_standard, \
             valid = excluded.valid, source_version = excluded.source_version, method = excluded.method, \
             computed_at = excluded.computed_at",
        );
        b.execute(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(storable.len())
}
