//! `qingshan aqi`: the AQI of one day or hour from concentrations, under the HJ 633 edition of the date.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;
use standards::aqi::{AqiResult, AqiStandard, Indicator, ReportKind, compute_aqi};
use standards::exact::Exact;

/// Computes IAQI per pollutant, AQI, level, category, colour and primary pollutants (HJ 633-2012 before
/// 2026-03-01, HJ 633-2026 from then). Units µg/m³, CO mg/m³. Missing pollutants may be omitted.
///
/// Daily report: --so2/--no2/--pm10/--pm25/--co are 24-h means, --o3-8h the daily max 8-h, --o3-1h the
/// daily max 1-h (used by HJ 633-2012 only). Real-time report (--hourly): --no2/--co/--o3-1h are 1-h
/// values; --so2 is the 1-h value, or the 24-h value when --so2-1h is also given (HJ 633-2012 reports the
/// 24-h IAQI when SO2 1-h > 800); --pm25/--pm10 are 1-h values under HJ 633-2026 (daily breakpoints) and the
/// 24-h moving averages under HJ 633-2012; --o3-8h is the 8-h moving average (HJ 633-2012 only).
#[derive(Debug, Args)]
pub struct AqiArgs {
    /// Date of the data (YYYY-MM-DD); chooses the edition of HJ 633.
    #[arg(long)]
    pub date: NaiveDate,
    /// Real-time (hourly) report instead of the daily report.
    #[arg(long)]
    pub hourly: bool,
    #[arg(long, value_parser = parse_concentration)]
    pub pm25: Option<Exact>,
    #[arg(long, value_parser = parse_concentration)]
    pub pm10: Option<Exact>,
    #[arg(long, value_parser = parse_concentration)]
    pub so2: Option<Exact>,
    #[arg(long, value_parser = parse_concentration)]
    pub no2: Option<Exact>,
    /// mg/m³.
    #[arg(long, value_parser = parse_concentration)]
    pub co: Option<Exact>,
    #[arg(long = "o3-8h", value_parser = parse_concentration)]
    pub o3_8h: Option<Exact>,
    #[arg(long = "o3-1h", value_parser = parse_concentration)]
    pub o3_1h: Option<Exact>,
    #[arg(long = "so2-1h", value_parser = parse_concentration)]
    pub so2_1h: Option<Exact>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_concentration(text: &str) -> Result<Exact, String> {
    let value = Exact::parse_decimal(text).map_err(|e| format!("{text:?}: {e}"))?;
    if value.is_negative() {
        return Err(format!("{text:?}: a concentration cannot be negative"));
    }
    Ok(value)
}

#[derive(Serialize)]
struct AqiOutput<'a> {
    date: NaiveDate,
    #[serde(flatten)]
    result: &'a AqiResult,
}

/// The indicators the arguments stand for in a report of an edition.
fn indicators(args: &AqiArgs, standard: AqiStandard) -> anyhow::Result<Vec<(Indicator, Exact)>> {
    let mut values = Vec::new();
    let mut push = |indicator, value: Option<Exact>| {
        if let Some(v) = value {
            values.push((indicator, v));
        }
    };
    if args.hourly {
        if args.so2_1h.is_some() {
            push(Indicator::So2Hourly, args.so2_1h);
            push(Indicator::So2Daily, args.so2);
        } else {
            push(Indicator::So2Hourly, args.so2);
        }
        push(Indicator::No2Hourly, args.no2);
        push(Indicator::CoHourly, args.co);
        push(Indicator::O3Hourly, args.o3_1h);
        push(Indicator::O3EightHour, args.o3_8h);
        let (pm25, pm10) = match standard {
            AqiStandard::Hj633_2012 => (Indicator::Pm25Daily, Indicator::Pm10Daily),
            AqiStandard::Hj633_2026 => (Indicator::Pm25Hourly, Indicator::Pm10Hourly),
        };
        push(pm25, args.pm25);
        push(pm10, args.pm10);
    } else {
        push(Indicator::So2Daily, args.so2);
        push(Indicator::So2Hourly, args.so2_1h);
        push(Indicator::No2Daily, args.no2);
        push(Indicator::CoDaily, args.co);
        push(Indicator::O3EightHour, args.o3_8h);
        push(Indicator::O3Hourly, args.o3_1h);
        push(Indicator::Pm25Daily, args.pm25);
        push(Indicator::Pm10Daily, args.pm10);
    }
    if values.is_empty() {
        bail!(
            "no concentrations given: pass at least one of --pm25 --pm10 --so2 --no2 --co --o3-8h --o3-1h --so2-1h"
        );
    }
    Ok(values)
}

pub fn run(args: AqiArgs) -> anyhow::Result<ExitCode> {
    let standard = AqiStandard::for_date(args.date);
    let report = if args.hourly {
        ReportKind::Hourly
    } else {
        ReportKind::Daily
    };
    let values = indicators(&args, standard)?;
    let result = compute_aqi(standard, report, &values).context("cannot compute the AQI")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&AqiOutput {
                date: args.date,
                result: &result
            })?
        );
    } else {
        print!("{}", render_text(args.date, &result));
    }
    Ok(ExitCode::SUCCESS)
}

fn codes(indicators: &[Indicator]) -> String {
    if indicators.is_empty() {
        "—".to_string()
    } else {
        indicators
            .iter()
            .map(|i| i.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn render_text(date: NaiveDate, result: &AqiResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let kind = match result.report {
        ReportKind::Daily => "日报 daily report",
        ReportKind::Hourly => "实时报 real-time report",
    };
    let _ = writeln!(out, "AQI {kind}, {date} — {}", result.standard.code());
    let _ = writeln!(
        out,
        "{:<11} {:>14} {:>6}  note",
        "indicator", "concentration", "IAQI"
    );
    for sub in &result.sub_indices {
        let unit = sub.indicator.pollutant().unit();
        let iaqi = sub.iaqi.map_or("—".to_string(), |v| v.to_string());
        let note = sub.note.map_or("", |n| n.description());
        let concentration = format!("{} {unit}", sub.concentration);
        let _ = writeln!(
            out,
            "{:<11} {:>14} {:>6}  {note}",
            sub.indicator.code(),
            concentration,
            iaqi
        );
    }
    match (result.aqi, result.level) {
        (Some(aqi), Some(level)) => {
            let _ = writeln!(
                out,
                "AQI {aqi} — {} {} {} {}",
                level.name(),
                level.category(),
                level.colour(),
                level.hex()
            );
        }
        (None, Some(level)) => {
            let _ = writeln!(
                out,
                "AQI beyond the table (> 500, not defined by the standard) — {} {} {} {}",
                level.name(),
                level.category(),
                level.colour(),
                level.hex()
            );
        }
        _ => {
            let _ = writeln!(out, "AQI not computable from the values given");
        }
    }
    let _ = writeln!(
        out,
        "primary pollutants 首要污染物: {}",
        codes(&result.primary_pollutants)
    );
    if let Some(exceeding) = &result.exceeding_pollutants {
        let _ = writeln!(
            out,
            "exceeding pollutants 超标污染物 (IAQI > 100): {}",
            codes(exceeding)
        );
    }
    if !result.missing.is_empty() {
        let _ = writeln!(out, "missing: {}", codes(&result.missing));
    }
    if !result.not_used.is_empty() {
        let _ = writeln!(
            out,
            "not part of this report in {}: {}",
            result.standard.code(),
            codes(&result.not_used)
        );
    }
    if !result.publishable {
        let _ = writeln!(
            out,
            "not publishable: a pollutant is missing and AQI ≤ 100 (HJ 633-2026 §5.3.1): publish the IAQIs, mark AQI NA"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        args: AqiArgs,
    }

    fn args(line: &str) -> AqiArgs {
        Harness::try_parse_from(std::iter::once("aqi").chain(line.split_whitespace()))
            .unwrap()
            .args
    }

    fn result(line: &str) -> AqiResult {
        let a = args(line);
        let standard = AqiStandard::for_date(a.date);
        let report = if a.hourly {
            ReportKind::Hourly
        } else {
            ReportKind::Daily
        };
        compute_aqi(standard, report, &indicators(&a, standard).unwrap()).unwrap()
    }

    #[test]
    fn daily_report_by_date() {
        let r = result("--date 2016-01-01 --pm25 4.9 --co 2.2");
        assert_eq!((r.standard, r.aqi), (AqiStandard::Hj633_2012, Some(55)));
        assert_eq!(r.primary_pollutants, vec![Indicator::CoDaily]);
        let r = result("--date 2026-03-01 --pm25 75");
        assert_eq!((r.standard, r.aqi), (AqiStandard::Hj633_2026, Some(114)));
        let text = render_text(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), &r);
        assert!(
            text.contains("AQI 114 — 三级 轻度污染 橙色 #FF7E00"),
            "{text}"
        );
        assert!(text.contains("HJ 633-2026"));
    }

    #[test]
    fn hourly_so2_maps_to_1h_or_24h() {
        // --so2 alone is the 1-h value.
        let r = result("--date 2016-01-01 --hourly --so2 900");
        assert_eq!(r.sub_indices[0].indicator, Indicator::So2Hourly);
        assert_eq!(r.aqi, None, "2012: SO2 1-h > 800 needs the 24-h value");
        // With --so2-1h, --so2 is the 24-h value that HJ 633-2012 reports instead.
        let r = result("--date 2016-01-01 --hourly --so2-1h 900 --so2 200");
        assert_eq!(r.aqi, Some(108));
        let r = result("--date 2026-06-01 --hourly --so2-1h 900 --so2 200");
        assert_eq!(
            (r.aqi, r.not_used.clone()),
            (Some(200), vec![Indicator::So2Daily])
        );
        // PM in the real-time report: 2026 1-h on the daily column; 2012 the 24-h moving average.
        assert_eq!(
            result("--date 2026-06-01 --hourly --pm25 60").sub_indices[0].indicator,
            Indicator::Pm25Hourly
        );
        assert_eq!(
            result("--date 2016-06-01 --hourly --pm25 60").sub_indices[0].indicator,
            Indicator::Pm25Daily
        );
    }

    #[test]
    fn bad_input_is_rejected() {
        let parse = |line: &str| {
            Harness::try_parse_from(std::iter::once("aqi").chain(line.split_whitespace()))
                .map(|_| ())
        };
        assert!(parse("--date 2016-01-01 --pm25 -3").is_err());
        assert!(parse("--date 2016-13-01 --pm25 3").is_err());
        assert!(parse("--date 2016-01-01 --pm25 1e3").is_err());
        let a = args("--date 2016-01-01");
        assert!(indicators(&a, AqiStandard::Hj633_2012).is_err());
    }

    #[test]
    fn beyond_the_table_is_reported_not_invented() {
        let r = result("--date 2016-01-01 --pm25 600");
        let text = render_text(NaiveDate::from_ymd_opt(2016, 1, 1).unwrap(), &r);
        assert!(text.contains("beyond the table"), "{text}");
    }
}
