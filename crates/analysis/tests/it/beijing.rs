//! One station of the real UCI Beijing multi-site data (2013-03 – 2017-02, hourly, with wind), imported through
//! `readings::import`, analysed, and the monthly means checked against an independent reading of the file.
//! Skipped, with a message, when `/work/shared/data/beijing-multisite` is absent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kernel::Role;
use readings::import::{self, Format, ImportRequest, PointsMap};

use crate::support::principal;

fn station_file() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/beijing-multisite");
    let file = dir.join("PRSA_Data_Dongsi_20130301-20170228.csv");
    file.exists().then_some(file)
}

/// Monthly PM2.5 means (by the file's own Beijing-time year and month) straight from the CSV.
fn independent_monthly_pm25(path: &PathBuf) -> BTreeMap<(i32, u32), (usize, f64)> {
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
fn independent_rose_shares(path: &PathBuf) -> BTreeMap<String, f64> {
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
async fn dongsi_rose_and_trend_on_the_real_data() {
    let Some(file) = station_file() else {
        eprintln!("skipped: /work/shared/data/beijing-multisite is absent");
        return;
    };
    let test_db = testkit::TestDb::sqlite().await;
    let db = test_db.db.clone();
    let request = ImportRequest {
        files: vec![file.clone()],
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
        from: Some("2013-03-01".into()),
        to: Some("2017-02-28".into()),
        ..Default::default()
    };

    let rose = analysis::service::rose(&db, &leader, &q).await.unwrap();
    assert!(rose.result.wind);
    let r = &rose.result.rose;
    assert!(r.hours > 30_000, "{} hours with PM2.5 and wind", r.hours);
    let shares: f64 = r.sectors.iter().map(|s| s.share_percent).sum();
    assert!((shares - 100.0).abs() < 1e-6);
    // The file's own 16-point wind names, read independently: the same shares by sector (calm: WSPM < 0.5).
    let independent = independent_rose_shares(&file);
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
    // Every month of the file's 48 has its hours (some months have gaps, all above half coverage).
    let expected = independent_monthly_pm25(&file);
    assert_eq!(t.months.len(), 48);
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
        "Dongsi PM2.5 trend 2013-03..2017-02 ({} months): {:.2} µg/m³/yr [{lower:.2}, {upper:.2}], {:.1} %/yr, MK p = {:.4}",
        t.n,
        slope.slope,
        t.percent_per_year.unwrap(),
        t.mann_kendall.unwrap().p_value
    );
}
