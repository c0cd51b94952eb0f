//! The water assessment report: each section by the single-factor method, for the whole file and per month;
//! class shares, the basin level (proportion method for ≥ 5 sections, else averaged concentrations) and the
//! CWQI per section and per area (concentration first, 环办监测〔2017〕51号).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use standards::composite::{change_percent, rank_ascending};
use standards::exact::Exact;
use standards::settings::WaterSettings;
use standards::water::{
    ClassShares, QualityLevel, SectionAssessment, TrophicState, WATER_STANDARDS, WaterBody,
    WaterClass, WaterItem, assess_section, class_shares, mean_of_samples, proportion_method_level,
    trophic_state,
};

use crate::samples::{Sample, SampleItem};

#[derive(Debug, thiserror::Error)]
pub enum WaterAssessmentError {
    #[error("section {section:?} is recorded both as a river and as a lake")]
    ConflictingBody { section: String },
    #[error("the file has no samples")]
    NoSamples,
}

/// One section over one period.
#[derive(Clone, Debug, Serialize)]
pub struct SectionPeriod {
    pub section: String,
    /// Measured values read for this section in the period (all items).
    pub measurements: usize,
    pub assessment: SectionAssessment,
    /// Lake trophic state TLI(Σ), when chla, TP, TN, SD and CODMn were all measured [M].
    pub trophic_state: Option<TrophicState>,
}

/// Rank of a section by CWQI (ascending: smaller is better; ties share a rank).
#[derive(Clone, Debug, Serialize)]
pub struct CwqiRank {
    pub section: String,
    pub rank: usize,
    pub cwqi: Exact,
}

/// All sections over one period (the whole file or one month).
#[derive(Clone, Debug, Serialize)]
pub struct PeriodReport {
    /// "all" or "YYYY-MM".
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sections: Vec<SectionPeriod>,
    pub shares: ClassShares,
    /// "proportion method (≥ N sections)" or "averaged concentrations (< N sections)".
    pub level_method: String,
    pub level: Option<QualityLevel>,
    /// Concentration-first CWQI of the river sections, of the lake sections, and of the area weighted by section
    /// counts [M].
    pub river_cwqi: Option<Exact>,
    pub lake_cwqi: Option<Exact>,
    pub area_cwqi: Option<Exact>,
    pub cwqi_ranking: Vec<CwqiRank>,
    /// For a month: the change on the same month a year earlier, when the file has it.
    pub change_on_last_year: Option<CwqiChange>,
}

/// ΔCWQI = (now − base)/base × 100 %, 1 decimal; negative means improved (环办监测〔2017〕51号).
#[derive(Clone, Debug, Serialize)]
pub struct CwqiChange {
    /// The base period ("YYYY-MM").
    pub base_period: String,
    pub area_change_percent: Option<Exact>,
    /// Sections ranked ascending by ΔCWQI; sections of class I–II in both periods are left out [V2].
    pub section_ranking: Vec<SectionChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SectionChange {
    pub section: String,
    pub rank: usize,
    pub change_percent: Exact,
}

fn cwqi_change(now: &PeriodReport, base: &PeriodReport) -> CwqiChange {
    let good = |class: Option<WaterClass>| class.is_some_and(|c| c <= WaterClass::II);
    let changes: Vec<(String, Exact)> = now
        .sections
        .iter()
        .filter_map(|section| {
            let before = base
                .sections
                .iter()
                .find(|b| b.section == section.section)?;
            if good(section.assessment.class) && good(before.assessment.class) {
                return None;
            }
            let change = change_percent(section.assessment.cwqi?, before.assessment.cwqi?)?;
            Some((section.section.clone(), change))
        })
        .collect();
    CwqiChange {
        base_period: base.period.clone(),
        area_change_percent: now
            .area_cwqi
            .zip(base.area_cwqi)
            .and_then(|(a, b)| change_percent(a, b)),
        section_ranking: rank_ascending(&changes)
            .into_iter()
            .map(|(section, rank, change_percent)| SectionChange {
                section,
                rank,
                change_percent,
            })
            .collect(),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct WaterReport {
    pub standard: &'static str,
    pub settings: WaterSettings,
    pub whole: PeriodReport,
    pub months: Vec<PeriodReport>,
}

/// One section's period means.
struct SectionMeans {
    body: WaterBody,
    measurements: usize,
    items: Vec<(WaterItem, Exact)>,
    chlorophyll: Option<Exact>,
    transparency: Option<Exact>,
}

impl SectionMeans {
    fn item(&self, wanted: WaterItem) -> Option<Exact> {
        self.items
            .iter()
            .find(|(item, _)| *item == wanted)
            .map(|(_, v)| *v)
    }

    /// TLI(Σ) when the lake section has all five parameters.
    fn trophic_state(&self) -> Option<TrophicState> {
        if self.body != WaterBody::Lake {
            return None;
        }
        trophic_state(
            self.chlorophyll?.to_f64(),
            self.item(WaterItem::TotalPhosphorus)?.to_f64(),
            self.item(WaterItem::TotalNitrogen)?.to_f64(),
            self.transparency?.to_f64(),
            self.item(WaterItem::PermanganateIndex)?.to_f64(),
        )
    }
}

fn arithmetic_mean(values: &[Exact]) -> Option<Exact> {
    (!values.is_empty())
        .then(|| values.iter().copied().sum::<Exact>() / Exact::from_int(values.len() as i64))
}

/// Raw values of one section: water body, number of measurements, values per item.
type SectionValues = (WaterBody, usize, BTreeMap<SampleItem, Vec<Exact>>);

fn section_means(samples: &[&Sample], settings: &WaterSettings) -> BTreeMap<String, SectionMeans> {
    let mut grouped: BTreeMap<&str, SectionValues> = BTreeMap::new();
    for sample in samples {
        let entry = grouped
            .entry(&sample.section)
            .or_insert_with(|| (sample.body, 0, BTreeMap::new()));
        entry.1 += 1;
        entry.2.entry(sample.item).or_default().push(sample.value);
    }
    grouped
        .into_iter()
        .map(|(section, (body, measurements, values))| {
            let items = values
                .iter()
                .filter_map(|(item, v)| match item {
                    SampleItem::Standard(item) => {
                        Some((*item, mean_of_samples(*item, v, settings)?))
                    }
                    _ => None,
                })
                .collect();
            let parameter =
                |wanted: SampleItem| values.get(&wanted).and_then(|v| arithmetic_mean(v));
            let means = SectionMeans {
                body,
                measurements,
                items,
                chlorophyll: parameter(SampleItem::Chlorophyll),
                transparency: parameter(SampleItem::Transparency),
            };
            (section.to_string(), means)
        })
        .collect()
}

/// Averages item values over sections (each section's period mean counts once).
fn averaged_over_sections<'a>(
    sections: impl Iterator<Item = &'a Vec<(WaterItem, Exact)>>,
    settings: &WaterSettings,
) -> Vec<(WaterItem, Exact)> {
    let mut per_item: BTreeMap<WaterItem, Vec<Exact>> = BTreeMap::new();
    for values in sections {
        for (item, value) in values {
            per_item.entry(*item).or_default().push(*value);
        }
    }
    per_item
        .into_iter()
        .filter_map(|(item, v)| Some((item, mean_of_samples(item, &v, settings)?)))
        .collect()
}

fn period_report(
    label: String,
    from: NaiveDate,
    to: NaiveDate,
    samples: &[&Sample],
    settings: &WaterSettings,
) -> PeriodReport {
    let means = section_means(samples, settings);
    let sections: Vec<SectionPeriod> = means
        .iter()
        .map(|(section, means)| SectionPeriod {
            section: section.clone(),
            measurements: means.measurements,
            assessment: assess_section(&means.items, means.body),
            trophic_state: means.trophic_state(),
        })
        .collect();
    let classes: Vec<_> = sections.iter().filter_map(|s| s.assessment.class).collect();
    let shares = class_shares(&classes);

    let body_cwqi = |body: WaterBody| {
        let group: Vec<&Vec<(WaterItem, Exact)>> = means
            .values()
            .filter(|m| m.body == body)
            .map(|m| &m.items)
            .collect();
        let count = group.len();
        let averaged = averaged_over_sections(group.into_iter(), settings);
        (count, assess_section(&averaged, body))
    };
    let (river_count, river) = body_cwqi(WaterBody::River);
    let (lake_count, lake) = body_cwqi(WaterBody::Lake);
    let (river_cwqi, lake_cwqi) = (
        river.cwqi.filter(|_| river_count > 0),
        lake.cwqi.filter(|_| lake_count > 0),
    );
    let weighted = [(river_cwqi, river_count), (lake_cwqi, lake_count)];
    let counted: Vec<(Exact, usize)> = weighted
        .iter()
        .filter_map(|(c, n)| c.map(|c| (c, *n)))
        .collect();
    let total: usize = counted.iter().map(|(_, n)| n).sum();
    let area_cwqi = (total > 0).then(|| {
        let sum: Exact = counted
            .iter()
            .map(|(c, n)| *c * Exact::from_int(*n as i64))
            .sum();
        (sum / Exact::from_int(total as i64)).round_half_even(2)
    });

    let minimum = settings.proportion_method_min_sections;
    let (level_method, level) = if sections.len() >= minimum {
        (
            format!("proportion method (≥ {minimum} sections)"),
            proportion_method_level(&shares, settings),
        )
    } else {
        // Fewer sections: average each item over the sections and apply the single-factor method; with both
        // rivers and lakes the worse of the two levels is reported.
        let levels = [(river_count, &river), (lake_count, &lake)];
        let level = levels
            .iter()
            .filter(|(n, _)| *n > 0)
            .filter_map(|(_, a)| a.quality)
            .max();
        (
            format!("averaged concentrations (< {minimum} sections)"),
            level,
        )
    };
    let cwqi_values: Vec<(String, Exact)> = sections
        .iter()
        .filter_map(|s| Some((s.section.clone(), s.assessment.cwqi?)))
        .collect();
    let cwqi_ranking = rank_ascending(&cwqi_values)
        .into_iter()
        .map(|(section, rank, cwqi)| CwqiRank {
            section,
            rank,
            cwqi,
        })
        .collect();
    PeriodReport {
        period: label,
        from,
        to,
        sections,
        shares,
        level_method,
        level,
        river_cwqi,
        lake_cwqi,
        area_cwqi,
        cwqi_ranking,
        change_on_last_year: None,
    }
}

/// Builds the report over all samples and per calendar month.
pub fn build_water_report(
    samples: &[Sample],
    settings: &WaterSettings,
) -> Result<WaterReport, WaterAssessmentError> {
    let mut bodies: BTreeMap<&str, WaterBody> = BTreeMap::new();
    for sample in samples {
        if *bodies.entry(&sample.section).or_insert(sample.body) != sample.body {
            return Err(WaterAssessmentError::ConflictingBody {
                section: sample.section.clone(),
            });
        }
    }
    let from = samples
        .iter()
        .map(|s| s.date)
        .min()
        .ok_or(WaterAssessmentError::NoSamples)?;
    let to = samples
        .iter()
        .map(|s| s.date)
        .max()
        .ok_or(WaterAssessmentError::NoSamples)?;
    let all: Vec<&Sample> = samples.iter().collect();
    let whole = period_report("all".into(), from, to, &all, settings);
    let mut by_month: BTreeMap<(i32, u32), Vec<&Sample>> = BTreeMap::new();
    for sample in samples {
        by_month
            .entry((sample.date.year(), sample.date.month()))
            .or_default()
            .push(sample);
    }
    let months = by_month
        .into_iter()
        .map(|((year, month), month_samples)| {
            let first = month_samples.iter().map(|s| s.date).min().unwrap_or(from);
            let last = month_samples.iter().map(|s| s.date).max().unwrap_or(to);
            period_report(
                format!("{year:04}-{month:02}"),
                first,
                last,
                &month_samples,
                settings,
            )
        })
        .collect::<Vec<PeriodReport>>();
    let base_of = |report: &PeriodReport| {
        let (year, month) = (report.from.year(), report.from.month());
        months
            .iter()
            .find(|m| m.from.year() == year - 1 && m.from.month() == month)
            .map(|base| cwqi_change(report, base))
    };
    let changes: Vec<Option<CwqiChange>> = months.iter().map(base_of).collect();
    let months = months
        .into_iter()
        .zip(changes)
        .map(|(report, change)| PeriodReport {
            change_on_last_year: change,
            ..report
        })
        .collect();
    Ok(WaterReport {
        standard: WATER_STANDARDS,
        settings: settings.clone(),
        whole,
        months,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::read_samples;

    fn x(t: &str) -> Exact {
        Exact::parse_decimal(t).unwrap()
    }

    const SAMPLE_FILE: &str = "section,water_body,date,item,value
A,river,2024-01-10,NH3-N,0.4
A,river,2024-02-10,NH3-N,0.8
A,river,2024-01-10,COD,18
B,river,2024-01-10,NH3-N,2.5
B,river,2024-01-10,COD,45
L,lake,2024-01-12,TP,0.04
L,lake,2024-01-12,NH3-N,0.3
";

    #[test]
    fn sections_months_shares_and_cwqi() {
        let samples = read_samples(std::path::Path::new("t.csv"), SAMPLE_FILE.as_bytes()).unwrap();
        let report = build_water_report(&samples, &WaterSettings::default()).unwrap();
        let whole = &report.whole;
        let class_of = |name: &str| {
            whole
                .sections
                .iter()
                .find(|s| s.section == name)
                .unwrap()
                .assessment
                .class
        };
        // A: NH3-N mean 0.6 (III), COD 18 (III) → III. B: NH3-N 2.5 → 劣V. L: lake TP 0.04 → III.
        assert_eq!(class_of("A"), Some(WaterClass::III));
        assert_eq!(class_of("B"), Some(WaterClass::WorseThanV));
        assert_eq!(class_of("L"), Some(WaterClass::III));
        assert_eq!(whole.shares.good_share_percent, Some(x("66.7")));
        assert_eq!(whole.level_method, "averaged concentrations (< 5 sections)");
        // Rivers averaged: NH3-N (0.6 + 2.5)/2 = 1.55 (V), COD (18 + 45)/2 = 31.5 (V) → 中度污染.
        assert_eq!(whole.level, Some(QualityLevel::ModeratelyPolluted));
        // River CWQI: 1.55/1 + 31.5/20 = 3.125 → 3.12; lake: 0.04/0.05 + 0.3/1 = 1.1; area (3.125·2 + 1.1)/3.
        assert_eq!(whole.river_cwqi, Some(x("3.12")));
        assert_eq!(whole.lake_cwqi, Some(x("1.10")));
        assert_eq!(whole.area_cwqi, Some(x("2.45")));
        assert_eq!(whole.cwqi_ranking[0].section, "L");
        assert_eq!(
            report
                .months
                .iter()
                .map(|m| m.period.as_str())
                .collect::<Vec<_>>(),
            ["2024-01", "2024-02"]
        );
        assert_eq!(report.months[1].sections.len(), 1);
    }

    #[test]
    fn lake_trophic_state_needs_all_five_parameters() {
        let text = "section,water_body,date,item,value
L,lake,2024-07-01,chla,10
L,lake,2024-07-01,TP,0.05
L,lake,2024-07-01,TN,1.0
L,lake,2024-07-01,SD,1.0
L,lake,2024-07-01,CODMn,5
R,river,2024-07-01,TP,0.05
";
        let samples = read_samples(std::path::Path::new("t.csv"), text.as_bytes()).unwrap();
        let report = build_water_report(&samples, &WaterSettings::default()).unwrap();
        let lake = &report.whole.sections[0];
        let state = lake.trophic_state.as_ref().unwrap();
        // Partial indices 50.0, 45.7, 54.5, 51.2, 43.9 weighted by r²: TLI ≈ 49.11 (independent Python check) → 中营养.
        assert!((state.tli - 49.107).abs() < 0.001, "{}", state.tli);
        assert_eq!(state.state, "中营养");
        assert!(report.whole.sections[1].trophic_state.is_none());
    }

    #[test]
    fn month_change_on_last_year_and_ranking() {
        let text = "section,water_body,date,item,value
A,river,2023-05-10,COD,20
A,river,2024-05-10,COD,30
B,river,2023-05-10,COD,40
B,river,2024-05-10,COD,30
C,river,2023-05-10,COD,10
C,river,2024-05-10,COD,12
";
        let samples = read_samples(std::path::Path::new("t.csv"), text.as_bytes()).unwrap();
        let report = build_water_report(&samples, &WaterSettings::default()).unwrap();
        assert!(report.months[0].change_on_last_year.is_none());
        let change = report.months[1].change_on_last_year.as_ref().unwrap();
        assert_eq!(change.base_period, "2023-05");
        // A: 1.5 vs 1.0 → +50.0 %; B: 1.5 vs 2.0 → −25.0 %; C is class I in both years and is left out.
        let ranking: Vec<_> = change
            .section_ranking
            .iter()
            .map(|c| (c.section.as_str(), c.rank, c.change_percent))
            .collect();
        assert_eq!(ranking, vec![("B", 1, x("-25.0")), ("A", 2, x("50.0"))]);
        // Area (rivers averaged): COD 24 vs 23.3 (reported to 1 decimal) → CWQI 1.20 vs 1.165 → 1.16 (half to
        // even) → (1.20 − 1.16)/1.16 = +3.4 %.
        assert_eq!(change.area_change_percent, Some(x("3.4")));
    }

    #[test]
    fn conflicting_water_body_is_an_error() {
        let text = "section,water_body,date,item,value\nA,river,2024-01-10,COD,1\nA,lake,2024-01-11,COD,1\n";
        let samples = read_samples(std::path::Path::new("t.csv"), text.as_bytes()).unwrap();
        assert!(matches!(
            build_water_report(&samples, &WaterSettings::default()),
            Err(WaterAssessmentError::ConflictingBody { .. })
        ));
        assert!(matches!(
            build_water_report(&[], &WaterSettings::default()),
            Err(WaterAssessmentError::NoSamples)
        ));
    }
}
