//! One station of the real UCI Beijing multi-site data (hourly, with wind), imported through `readings::import`,
//! analysed, and the rose and the monthly means checked against an independent reading of the file: one year
//! from the repository (`fixtures/beijing`, Dongsi 2015), and the whole station file (2013-03 – 2017-02) from the
//! shared research data (`testkit::shared_data`, which fails when it is missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kernel::Role;
use readings::import::{self, Format, ImportRequest, PointsMap};

use crate::support::principal;

/// Monthly PM2.5 means (by the file's own Beijing-time year and month) straight from the CSV.
fn independent_monthly_pm25(path: &Path) -> BTreeMap<(i32, u32), (usize, f64)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (y, m, pm) = (col("year"), col("month"), col("PM2.5"));
    let mut out: BTreeMap<(i32, u32), (usize, f64)> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        if let Ok(v) = r[pm].parse::<f64>() {
            let e = out
                .entry((r[y].parse().unwrap(), r[m].parse().unwrap()))
                .or_default();
            e.0 += 1;
            e.1 += v;
        }
    }
    out
}

/// Share (%) of the total PM2.5 of the non-calm hours by the file's wind-direction name.
fn independent_rose_shares(path: &Path) -> BTreeMap<String, f64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (pm, wd, ws) = (col("PM2.5"), col("wd"), col("WSPM"));
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        if let (Ok(v), Ok(speed)) = (r[pm].parse::<f64>(), r[ws].parse::<f64>())
            && r[wd] != *"NA"
            && speed >= 0.5
        {
            *sums.entry(r[wd].to_string()).or_default() += v;
        }
    }
    let total: f64 = sums.values().sum();
    sums.into_iter()
        .map(|(k, v)| (k, 100.0 * v / total))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dongsi_rose_and_trend_on_one_year_of_real_data() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/beijing/PRSA_Data_Dongsi_2015.csv");
    rose_and_trend_agree_with_the_file(&file, ("2015-01-01", "2015-12-31"), 12, 8_500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dongsi_rose_and_trend_on_four_years_of_real_data() {
    let Some(dir) = testkit::shared_data("beijing-multisite") else {
        return;
    };
    let file = dir.join("PRSA_Data_Dongsi_20130301-20170228.csv");
    rose_and_trend_agree_with_the_file(&file, ("2013-03-01", "2017-02-28"), 48, 30_000).await;
}

/// Imports the Dongsi file, then checks the PM2.5 rose and the monthly trend over `from..=to` against an
/// independent reading of the file: every one of its `months` months, and more than `min_hours` hours with
/// PM2.5 and wind.
async fn rose_and_trend_agree_with_the_file(
    file: &Path,
    (from, to): (&str, &str),
    months: usize,
    min_hours: usize,
) {
    let test_db = testkit::TestDb::sqlite().await;
    let db = test_db.db.clone();
    let request = ImportRequest {
        files: vec![file.to_path_buf()],
        format: Format::Uci,
        points_map: PointsMap::default(),
        skip_bad: false,
        strict: false,
        actor: "test".into(),
    };
    import::run(&db, &request, &mut |_, _| {}).await.unwrap();
    let point = readings::points::by_code(&db, "Dongsi")
        .await
        .unwrap()
        .unwrap();
    let leader = principal(Role::Leader, None);
    let q = analysis::model::AnalysisQuery {
        point: Some(point.id),
        from: Some(from.into()),
        to: Some(to.into()),
        ..Default::default()
    };

    let rose = analysis::service::rose(&db, &leader, &q).await.unwrap();
    assert!(rose.result.wind);
    let r = &rose.result.rose;
    assert!(r.hours > min_hours, "{} hours with PM2.5 and wind", r.hours);
    let shares: f64 = r.sectors.iter().map(|s| s.share_percent).sum();
    assert!((shares - 100.0).abs() < 1e-6);
    // The file's own 16-point wind names, read independently: the same shares by sector (calm: WSPM < 0.5).
    let independent = independent_rose_shares(file);
    for sector in &r.sectors {
        let expected = independent
            .get(sector.label.as_str())
            .copied()
            .unwrap_or(0.0);
        assert!(
            (sector.share_percent - expected).abs() < 1e-6,
            "{}: {} vs {expected}",
            sector.label,
            sector.share_percent
        );
    }
    eprintln!(
        "Dongsi PM2.5 rose: {} hours, {} calm, dominant {:?}",
        r.hours, r.calm_hours, r.dominant
    );

    let trend = analysis::service::trend(&db, &leader, &q).await.unwrap();
    let t = &trend.result;
    // Every month of the file has its hours (some months have gaps, all above half coverage).
    let expected = independent_monthly_pm25(file);
    assert_eq!(t.months.len(), months);
    for m in &t.months {
        let (n, sum) = expected[&(m.year, m.month)];
        assert_eq!(m.n, n, "{}-{}", m.year, m.month);
        assert!(
            (m.mean.unwrap() - sum / n as f64).abs() < 1e-9,
            "{}-{}",
            m.year,
            m.month
        );
    }
    let slope = t.slope.unwrap();
    let (lower, upper) = (slope.lower.unwrap(), slope.upper.unwrap());
    assert!(lower <= slope.slope && slope.slope <= upper, "{slope:?}");
    eprintln!(
        "Dongsi PM2.5 trend {from}..{to} ({} months): {:.2} µg/m³/yr [{lower:.2}, {upper:.2}], {:.1} %/yr, MK p = {:.4}",
        t.n,
        slope.slope,
        t.percent_per_year.unwrap(),
        t.mann_kendall.unwrap().p_value
    );
}
