//! `qingshan assess air|water`: assessment reports from data files.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use air::assessment::{
    AirReport, AssessedUnit, build_air_report, read_station_days, same_period_last_year,
};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use standards::assessment::PeriodAssessment;
use standards::exact::Exact;
use standards::settings::{
    AirSettings, CompositeIndexVariant, DayValidity, SandDustConvention, WaterSettings,
};
use water::assessment::{PeriodReport, WaterReport, build_water_report};
use water::samples::read_samples_file;

#[derive(Debug, Args)]
pub struct AssessArgs {
    #[command(subcommand)]
    pub target: AssessTarget,
}

#[derive(Debug, Subcommand)]
pub enum AssessTarget {
    /// Air: the area formed by the stations — valid days, good days, levels, heavy-pollution days, period
    /// means, percentiles, attainment, composite index, for the period and per month.
    Air(AssessAirArgs),
    /// Water: section classes (GB 3838 single-factor), main pollutants, class shares and CWQI, for the whole
    /// file and per month.
    Water(AssessWaterArgs),
}

#[derive(Debug, Args)]
pub struct AssessWaterArgs {
    /// Section sample CSV with the header section,water_body,date,item,value (see docs/standards-engine.md).
    #[arg(long)]
    pub input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SandDustArg {
    None,
    ExcludeFromDenominator,
    ReevaluateWithoutPm,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DayValidityArg {
    AllSixPollutants,
    PublishableAqi,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompositeArg {
    Ranking2018,
    WeightedUnverified2026,
}

#[derive(Debug, Args)]
pub struct AssessAirArgs {
    /// Hourly station data files (UCI Beijing or CNEMC long format).
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day of the period (YYYY-MM-DD), inclusive.
    #[arg(long)]
    pub to: NaiveDate,
    /// Stations forming the area (names or codes as in the files); default: every station in the files.
    #[arg(long, value_delimiter = ',')]
    pub stations: Option<Vec<String>>,
    /// Also report each station on its own.
    #[arg(long)]
    pub per_station: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Sand-and-dust deduction convention (环办监测〔2016〕120号; the bureau's is unknown); needs --sand-dust-dates.
    #[arg(long, value_enum, default_value = "none")]
    pub sand_dust: SandDustArg,
    /// Dates of sand-and-dust days, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub sand_dust_dates: Vec<NaiveDate>,
    /// Which days count as valid for the good-day ratio.
    #[arg(long, value_enum, default_value = "all-six-pollutants")]
    pub day_validity: DayValidityArg,
    /// Composite index variant (the weighted 2026 variant is unverified).
    #[arg(long, value_enum, default_value = "ranking2018")]
    pub composite: CompositeArg,
}

pub fn run(args: AssessArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        AssessTarget::Air(air_args) => run_air(air_args),
        AssessTarget::Water(water_args) => run_water(water_args),
    }
}

fn air_settings(args: &AssessAirArgs) -> AirSettings {
    AirSettings {
        sand_dust: match args.sand_dust {
            SandDustArg::None => SandDustConvention::None,
            SandDustArg::ExcludeFromDenominator => SandDustConvention::ExcludeFromDenominator,
            SandDustArg::ReevaluateWithoutPm => SandDustConvention::ReevaluateWithoutPm,
        },
        sand_dust_dates: args.sand_dust_dates.clone(),
        day_validity: match args.day_validity {
            DayValidityArg::AllSixPollutants => DayValidity::AllSixPollutants,
            DayValidityArg::PublishableAqi => DayValidity::PublishableAqi,
        },
        composite: match args.composite {
            CompositeArg::Ranking2018 => CompositeIndexVariant::Ranking2018,
            CompositeArg::WeightedUnverified2026 => CompositeIndexVariant::WeightedUnverified2026,
        },
        ..AirSettings::default()
    }
}

fn run_air(args: AssessAirArgs) -> anyhow::Result<ExitCode> {
    if args.from > args.to {
        anyhow::bail!("--from {} is after --to {}", args.from, args.to);
    }
    let settings = air_settings(&args);
    // The year before is read too, for the year-on-year comparison.
    let (before_from, _) = same_period_last_year(args.from, args.to);
    let days = read_station_days(&args.input, before_from, args.to, &settings)?;
    let stations: Option<Vec<String>> = args.stations.as_ref().map(|list| {
        list.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let report = build_air_report(
        &days,
        stations.as_deref(),
        args.from,
        args.to,
        args.per_station,
        &settings,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_air(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn show(value: Option<Exact>, decimals: u32) -> String {
    value.map_or("—".to_string(), |v| v.to_decimal_string(decimals))
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    }
}

fn render_air(report: &AirReport) -> String {
    let mut out = String::new();
    render_unit(&mut out, &report.area);
    for station in report.per_station.iter().flatten() {
        out.push('\n');
        render_unit(&mut out, station);
    }
    if let Some(ranking) = &report.station_ranking {
        let _ = writeln!(
            out,
            "\nstation ranking by composite index (ascending) and by its change on the year before:"
        );
        for r in ranking {
            let change_rank = r.change_rank.map_or("—".to_string(), |n| n.to_string());
            let _ = writeln!(
                out,
                "{:>3}. {:<16} {:>6}   change {:>6} %  (change rank {change_rank})",
                r.rank,
                r.station,
                r.composite_index.to_decimal_string(2),
                show(r.composite_change_percent, 1),
            );
        }
    }
    out
}

fn render_unit(out: &mut String, unit: &AssessedUnit) {
    let _ = writeln!(out, "== {} — {}", unit.name, unit.stations.join(", "));
    render_period(out, &unit.period);
    if let Some(before) = &unit.same_period_last_year {
        let _ = writeln!(
            out,
            "same period last year ({} … {}): composite {} (change {} %), PM2.5 {} (change {} %), good-day ratio {} % ({} points)",
            before.from,
            before.to,
            show(before.composite_index, 2),
            show(before.composite_change_percent, 1),
            show(before.pm25_mean, 0),
            show(before.pm25_change_percent, 1),
            show(before.good_day_ratio_percent, 1),
            show(before.good_day_ratio_change_points, 1),
        );
    }
    let _ = writeln!(out, "\nper month:");
    let _ = writeln!(
        out,
        "{:<8} {:>5} {:>5} {:>6} {:>5} {:>4} {:>4} {:>5} {:>5} {:>6} {:>6} {:>9}",
        "month",
        "valid",
        "good",
        "good%",
        "heavy",
        "SO2",
        "NO2",
        "PM10",
        "PM2.5",
        "CO-P95",
        "O3-P90",
        "composite"
    );
    for month in &unit.months {
        let stat = |i: usize, mean: bool| {
            let p = &month.pollutants[i];
            show(
                if mean { p.mean } else { p.percentile_value },
                p.pollutant.reporting_decimals(),
            )
        };
        let _ = writeln!(
            out,
            "{:<8} {:>5} {:>5} {:>6} {:>5} {:>4} {:>4} {:>5} {:>5} {:>6} {:>6} {:>9}",
            month.from.format("%Y-%m"),
            month.valid_days,
            month.good_days,
            show(month.good_day_ratio_percent, 1),
            month.heavy_pollution_days,
            stat(0, true),
            stat(1, true),
            stat(2, true),
            stat(3, true),
            stat(4, false),
            stat(5, false),
            show(month.composite_index.as_ref().map(|c| c.value), 2),
        );
    }
}

fn render_period(out: &mut String, period: &PeriodAssessment) {
    let standards: Vec<&str> = period.aqi_standards.iter().map(|s| s.code()).collect();
    let _ = writeln!(
        out,
        "period {} … {} ({} days); AQI {}; limits {} (Class 2 by default); validity rule: {}",
        period.from,
        period.to,
        period.days_in_period,
        standards.join(" + "),
        period.limits.code(),
        period.validity_rule.unwrap_or("none for this period")
    );
    let _ = writeln!(
        out,
        "valid days {}; good days 优良天数 {} ({} %); heavy-pollution days 重污染天数 {} ({} %)",
        period.valid_days,
        period.good_days,
        show(period.good_day_ratio_percent, 1),
        period.heavy_pollution_days,
        show(period.heavy_pollution_ratio_percent, 1)
    );
    let levels: Vec<String> = standards::aqi::AqiLevel::ALL
        .iter()
        .zip(period.days_per_level)
        .map(|(level, days)| format!("{} {} {days}", level.name(), level.category()))
        .collect();
    let _ = writeln!(out, "days per level: {}", levels.join(" | "));
    if period.sand_dust_days > 0 {
        let _ = writeln!(
            out,
            "sand-dust days {} ({:?}: {} adjusted)",
            period.sand_dust_days, period.sand_dust_convention, period.sand_dust_days_adjusted
        );
    }
    let _ = writeln!(
        out,
        "{:<6} {:<6} {:>5} {:>6} {:>6} {:>9} {:>8} {:>6} {:>7}  exceedance ×",
        "", "unit", "days", "mean", "limit", "pctl", "value", "limit", "attains"
    );
    for p in &period.pollutants {
        let decimals = p.pollutant.reporting_decimals();
        let multiples: Vec<String> = [p.mean_exceedance_multiple, p.percentile_exceedance_multiple]
            .iter()
            .flatten()
            .map(|m| m.to_decimal_string(2))
            .collect();
        let _ = writeln!(
            out,
            "{:<6} {:<6} {:>5} {:>6} {:>6} {:>9} {:>8} {:>6} {:>7}  {}",
            p.pollutant.code(),
            p.unit,
            p.valid_days,
            show(p.mean, decimals),
            show(p.annual_limit, 0),
            format!("P{}", p.percentile),
            show(p.percentile_value, decimals),
            p.daily_limit.to_string(),
            yes_no(p.attains),
            multiples.join(" / ")
        );
    }
    let _ = writeln!(out, "all six attain: {}", yes_no(period.attains_all));
    match &period.composite_index {
        Some(index) => {
            let worst: Vec<&str> = index
                .max_index_pollutants
                .iter()
                .map(|p| p.code())
                .collect();
            let _ = writeln!(
                out,
                "composite index 综合指数 {} ({:?}; largest single index: {})",
                index.value.to_decimal_string(2),
                index.variant,
                worst.join(", ")
            );
        }
        None => {
            let _ = writeln!(out, "composite index: — (a statistic is missing)");
        }
    }
}

fn run_water(args: AssessWaterArgs) -> anyhow::Result<ExitCode> {
    let samples = read_samples_file(&args.input)?;
    let report = build_water_report(&samples, &WaterSettings::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_water(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn render_water(report: &WaterReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "水质评价 water assessment — {}", report.standard);
    render_water_period(&mut out, &report.whole);
    for month in &report.months {
        out.push('\n');
        render_water_period(&mut out, month);
    }
    out
}

fn render_water_period(out: &mut String, period: &PeriodReport) {
    let _ = writeln!(
        out,
        "== {} ({} … {}), {} section(s)",
        period.period,
        period.from,
        period.to,
        period.sections.len()
    );
    let _ = writeln!(
        out,
        "{:<20} {:<6} {:>7} {:<5} {:<8} {:>7}  main pollutants (× over III)",
        "section", "body", "values", "class", "level", "CWQI"
    );
    for section in &period.sections {
        let a = &section.assessment;
        let main: Vec<String> = a
            .main_pollutants
            .iter()
            .map(|m| {
                format!(
                    "{} {} ({})",
                    m.item.code(),
                    m.class.label(),
                    m.exceedance_multiple.to_decimal_string(2)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<20} {:<6} {:>7} {:<5} {:<8} {:>7}  {}",
            section.section,
            format!("{:?}", a.body).to_lowercase(),
            section.measurements,
            a.class.map_or("—", |c| c.label()),
            a.quality.map_or("—", |q| q.name()),
            show(a.cwqi, 2),
            main.join(", ")
        );
        if let Some(trophic) = &section.trophic_state {
            let _ = writeln!(
                out,
                "{:<20} trophic state TLI(Σ) {:.1} {}",
                "", trophic.tli, trophic.state
            );
        }
        if !a.missing_items.is_empty() {
            let _ = writeln!(
                out,
                "{:<20} assessed on {} of 21 items",
                "",
                21 - a.missing_items.len()
            );
        }
    }
    let shares = &period.shares;
    let _ = writeln!(
        out,
        "I–III share {} %, 劣V share {} %; per class I/II/III/IV/V/劣V: {:?}",
        show(shares.good_share_percent, 1),
        show(shares.worse_than_v_share_percent, 1),
        shares.per_class
    );
    let _ = writeln!(
        out,
        "level ({}): {}",
        period.level_method,
        period.level.map_or("—", |l| l.name())
    );
    let _ = writeln!(
        out,
        "CWQI rivers {}, lakes {}, area {}",
        show(period.river_cwqi, 2),
        show(period.lake_cwqi, 2),
        show(period.area_cwqi, 2)
    );
    let ranking: Vec<String> = period
        .cwqi_ranking
        .iter()
        .map(|r| format!("{}. {} {}", r.rank, r.section, r.cwqi.to_decimal_string(2)))
        .collect();
    let _ = writeln!(out, "CWQI ranking: {}", ranking.join("; "));
    if let Some(change) = &period.change_on_last_year {
        let ranking: Vec<String> = change
            .section_ranking
            .iter()
            .map(|r| {
                format!(
                    "{}. {} {} %",
                    r.rank,
                    r.section,
                    r.change_percent.to_decimal_string(1)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "ΔCWQI on {}: area {} %; sections: {}",
            change.base_period,
            show(change.area_change_percent, 1),
            ranking.join("; ")
        );
    }
}

#[cfg(test)]
mod tests {
    use air::assessment::StationHours;
    use clap::Parser;
    use readings::station_files::HourlyRecord;
    use standards::aggregate::HOURLY_UNIT;
    use water::samples::read_samples;

    use super::*;

    #[derive(Parser)]
    struct Harness {
        #[command(subcommand)]
        target: AssessTarget,
    }

    fn air_args(line: &str) -> AssessAirArgs {
        let words = ["assess", "air"].into_iter().chain(line.split_whitespace());
        match Harness::try_parse_from(words).unwrap().target {
            AssessTarget::Air(args) => args,
            AssessTarget::Water(_) => unreachable!("parsed an air command"),
        }
    }

    #[test]
    fn settings_flags_map_to_engine_settings() {
        let args = air_args(
            "--input x.csv --from 2016-01-01 --to 2016-12-31 --sand-dust reevaluate-without-pm \
             --sand-dust-dates 2016-03-04,2016-04-05 --day-validity publishable-aqi --composite weighted-unverified2026",
        );
        let settings = air_settings(&args);
        assert_eq!(settings.sand_dust, SandDustConvention::ReevaluateWithoutPm);
        assert_eq!(settings.sand_dust_dates.len(), 2);
        assert_eq!(settings.day_validity, DayValidity::PublishableAqi);
        assert_eq!(
            settings.composite,
            CompositeIndexVariant::WeightedUnverified2026
        );
        let defaults = air_settings(&air_args("--input x.csv --from 2016-01-01 --to 2016-01-31"));
        assert_eq!(defaults, AirSettings::default());
    }

    #[test]
    fn air_text_report_shows_missing_statistics_as_dashes() {
        // One station, one day with PM2.5 only: most statistics are missing and must render, not panic.
        let mut hours = StationHours::default();
        let date = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
        for hour in 0..24 {
            let mut values = [None; 6];
            values[3] = Some(80 * HOURLY_UNIT as i32);
            hours.insert(&HourlyRecord {
                station: "S".into(),
                date,
                hour,
                values,
            });
        }
        let settings = AirSettings::default();
        let report = build_air_report(
            &hours.daily_values(&settings),
            None,
            date,
            date,
            true,
            &settings,
        )
        .unwrap();
        let text = render_air(&report);
        assert!(text.contains("valid days 0"), "{text}");
        assert!(text.contains("composite index: —"), "{text}");
        assert!(text.contains("2016-01"), "{text}");
    }

    #[test]
    fn water_text_report() {
        let csv = "section,water_body,date,item,value\nA,river,2024-01-10,NH3-N,2.5\nA,river,2024-01-10,pH,7\n";
        let samples = read_samples(std::path::Path::new("t.csv"), csv.as_bytes()).unwrap();
        let report = build_water_report(&samples, &WaterSettings::default()).unwrap();
        let text = render_water(&report);
        assert!(text.contains("劣V"), "{text}");
        assert!(text.contains("NH3-N 劣V (1.50)"), "{text}");
    }
}
