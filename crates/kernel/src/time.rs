//! Time at the edges. Everything is stored as UTC (Unix seconds in workflow tables); China Standard Time
//! (UTC+8, no daylight saving since 1991) appears only when parsing input and rendering output, and daily
//! statistics bucket by the CST calendar day.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// China Standard Time, a fixed UTC+8 offset. Never use `Local`: servers often run in UTC.
pub const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// Seconds in one day.
pub const DAY_SECONDS: i64 = 86_400;
const CST_OFFSET_SECONDS: i64 = 8 * 3600;

/// Now, as Unix seconds (UTC).
pub fn now_ts() -> i64 {
    Utc::now().timestamp()
}

/// The CST calendar day an instant falls on.
pub fn cst_day(ts: i64) -> NaiveDate {
    to_cst(ts).date_naive()
}

/// The day bucket used by statistics: days since 1970-01-01 in CST.
pub fn cst_day_number(ts: i64) -> i64 {
    (ts + CST_OFFSET_SECONDS).div_euclid(DAY_SECONDS)
}

/// An instant rendered in CST.
pub fn to_cst(ts: i64) -> DateTime<FixedOffset> {
    Utc.timestamp_opt(ts, 0)
        .single()
        .unwrap_or_default()
        .with_timezone(&CST)
}

/// `2024-01-31 08:00` in CST, the way pages show times.
pub fn format_cst(ts: i64) -> String {
    to_cst(ts).format("%Y-%m-%d %H:%M").to_string()
}

/// `2024-01-31T08:00:00+08:00`, the way the API carries CST alongside UTC.
pub fn format_cst_rfc3339(ts: i64) -> String {
    to_cst(ts).to_rfc3339()
}

/// `2024-01-31T00:00:00Z`.
pub fn format_utc_rfc3339(ts: i64) -> String {
    Utc.timestamp_opt(ts, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The UTC instant at which a CST calendar day starts.
pub fn cst_day_start(day: NaiveDate) -> i64 {
    cst_local_to_ts(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// A CST wall-clock time as Unix seconds. CST has no gaps or folds, so this is total.
pub fn cst_local_to_ts(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp() - CST_OFFSET_SECONDS
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Says yes at most once per `period`: for a warning that a flood would otherwise repeat on every packet or
/// connection (a connection limit reached, a per-address limit).
#[derive(Debug, Clone, Copy)]
pub struct AtMostEvery {
    period: std::time::Duration,
    last: Option<std::time::Instant>,
}

impl AtMostEvery {
    pub const fn new(period: std::time::Duration) -> Self {
        AtMostEvery { period, last: None }
    }

    /// Whether the period has passed since the last yes (and if so, this is the new last yes).
    pub fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|t| t.elapsed() > self.period);
        if due {
            self.last = Some(std::time::Instant::now());
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cst_day_boundary_is_16_utc() {
        // 2024-01-01 15:59:59 UTC is 23:59:59 CST on 2024-01-01; one second later is 2024-01-02 in CST.
        let before = Utc
            .with_ymd_and_hms(2024, 1, 1, 15, 59, 59)
            .unwrap()
            .timestamp();
        assert_eq!(
            cst_day(before),
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        );
        assert_eq!(
            cst_day(before + 1),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()
        );
        assert_eq!(cst_day_number(before) + 1, cst_day_number(before + 1));
    }

    #[test]
    fn day_start_round_trips() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let start = cst_day_start(day);
        assert_eq!(cst_day(start), day);
        assert_eq!(cst_day(start - 1), day.pred_opt().unwrap());
        assert_eq!(format_cst(start), "2026-03-01 00:00");
        assert_eq!(format_utc_rfc3339(start), "2026-02-28T16:00:00Z");
    }

    #[test]
    fn negative_instants_bucket_downwards() {
        assert_eq!(cst_day_number(-CST_OFFSET_SECONDS - 1), -1);
        assert_eq!(cst_day_number(-CST_OFFSET_SECONDS), 0);
    }
}
