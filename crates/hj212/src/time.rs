//! HJ 212 timestamps are China Standard Time (fixed UTC+8, no daylight saving), written as digits.

use chrono::{DateTime, Duration, NaiveDate, Utc};

const CST_OFFSET_HOURS: i64 = 8;

fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |acc, &digit| {
        digit
            .is_ascii_digit()
            .then(|| acc * 10 + u32::from(digit - b'0'))
    })
}

/// `YYYYMMDDhhmmss` (14 digits) or `YYYYMMDDhhmmsszzz` (17 digits, as in QN and some DataTimes), CST → UTC.
pub fn parse_cst(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() != 14 && bytes.len() != 17 {
        return None;
    }
    let year = i32::try_from(digits(&bytes[0..4])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(&bytes[4..6])?, digits(&bytes[6..8])?)?;
    let millis = if bytes.len() == 17 {
        digits(&bytes[14..17])?
    } else {
        0
    };
    let local = date.and_hms_milli_opt(
        digits(&bytes[8..10])?,
        digits(&bytes[10..12])?,
        digits(&bytes[12..14])?,
        millis,
    )?;
    Some(local.and_utc() - Duration::hours(CST_OFFSET_HOURS))
}

/// A QN: 17-digit CST timestamp per the standard, or 13-digit Unix epoch milliseconds as some devices send.
pub fn parse_qn(text: &str) -> Option<DateTime<Utc>> {
    if text.len() == 13 {
        let millis = i64::from(digits(&text.as_bytes()[..4])?) * 1_000_000_000
            + i64::from(digits(&text.as_bytes()[4..])?);
        return DateTime::from_timestamp_millis(millis);
    }
    parse_cst(text)
}

/// `YYYYMMDDhhmmss` in CST.
pub fn format_cst(time: DateTime<Utc>) -> String {
    (time + Duration::hours(CST_OFFSET_HOURS))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// `YYYYMMDDhhmmsszzz` in CST: the QN form.
pub fn format_cst_millis(time: DateTime<Utc>) -> String {
    (time + Duration::hours(CST_OFFSET_HOURS))
        .format("%Y%m%d%H%M%S%3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cst_is_utc_plus_eight() {
        let time = parse_cst("20160801084000").unwrap();
        assert_eq!(time.to_rfc3339(), "2016-08-01T00:40:00+00:00");
        assert_eq!(format_cst(time), "20160801084000");
        let early = parse_cst("20200101050000").unwrap();
        assert_eq!(early.to_rfc3339(), "2019-12-31T21:00:00+00:00");
    }

    #[test]
    fn qn_forms() {
        let standard = parse_qn("20160801085857223").unwrap();
        assert_eq!(standard.to_rfc3339(), "2016-08-01T00:58:57.223+00:00");
        assert_eq!(format_cst_millis(standard), "20160801085857223");
        let epoch = parse_qn("1617936069734").unwrap();
        assert_eq!(epoch.to_rfc3339(), "2021-04-09T02:41:09.734+00:00");
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_cst("20160231084000").is_none());
        assert!(parse_cst("2016080108400").is_none());
        assert!(parse_cst("2016080108400x").is_none());
        assert!(parse_cst("20160801246000").is_none());
    }
}
