//! The simulated Dongli District (东丽区) demo: generated deterministically from a seed, loaded through the
//! same services the platform uses, and flagged `simulated` everywhere it lands. What it holds: the district,
//! its 11 streets and the departments; 300 enterprises with sites, outlets, permits and online-monitoring
//! devices; the air stations and water sections; a user of every role; hourly air data of every station and a
//! year and more of complaints (both 2024-01-01 to today), with the complaints' duty roster.

pub mod district;
pub mod generate;
mod repo;
pub mod water_samples;

use accounts::http::{DEMO_PASSWORD, DEMO_USERS};
use accounts::service::Actor;
use kernel::Db;

/// The seed of the published demo.
pub const DEFAULT_SEED: u64 = 20240101;
/// Enterprises in the demo district.
pub const ENTERPRISES: usize = 300;
const DISTRICT_CODE: &str = "120110";

/// How much simulated monitoring history the demo writes.
#[derive(Debug, Clone, Copy)]
pub enum History {
    /// From 2024-01-01 to now: what `qingshan demo` shows.
    UntilNow,
    /// From 2024-01-01 to this instant (Unix seconds): for tests, which need only a few days.
    Until(i64),
}

/// A step of creating the demo district, reported as it starts and as it ends, so that the first start (which
/// writes the whole history) can show its progress.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Started {
        step: usize,
        of: usize,
        label: &'a str,
    },
    Finished {
        step: usize,
        of: usize,
        label: &'a str,
        summary: &'a str,
        seconds: f64,
    },
}

/// Creates the demo district in an empty database, or leaves an existing one as it is. Returns a summary.
pub async fn ensure(db: &Db, seed: u64, history: History) -> anyhow::Result<String> {
    ensure_with_progress(db, seed, history, &|_| {}).await
}

/// [`ensure`], telling `progress` of each step while the district is created.
pub async fn ensure_with_progress(
    db: &Db,
    seed: u64,
    history: History,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> anyhow::Result<String> {
    let present = registry::service::the_district(db)
        .await?
        .is_some_and(|district| district.code == DISTRICT_CODE);
    let created = if present {
        false
    } else {
        load(db, seed, history, progress).await?;
        true
    };
    let counts = registry::service::counts(db).await?;
    let summary = [
        ("streets", counts.streets),
        ("enterprises", counts.enterprises),
        ("monitoring points", counts.points),
        ("devices", counts.devices),
        ("users", repo::users(db).await?),
    ]
    .iter()
    .map(|(label, n)| format!("{n} {label}"))
    .collect::<Vec<_>>()
    .join(", ");
    Ok(format!(
        "{} the simulated Dongli District demo (seed {seed}): {summary}. Demo users: {}; password {DEMO_PASSWORD}",
        if created { "created" } else { "reopened" },
        DEMO_USERS
            .iter()
            .map(|u| u.0)
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// Runs one step of the creation between its two progress reports.
async fn step<F>(
    progress: &(dyn Fn(Progress<'_>) + Sync),
    (step, of): (usize, usize),
    label: &str,
    work: F,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<String>>,
{
    progress(Progress::Started { step, of, label });
    let started = std::time::Instant::now();
    let summary = work.await.map_err(|e| e.context(label.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!("demo step {step}/{of} {label} in {seconds:.1} s: {summary}");
    progress(Progress::Finished {
        step,
        of,
        label,
        summary: &summary,
        seconds,
    });
    Ok(())
}

async fn load(
    db: &Db,
    seed: u64,
    history: History,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let area_steps: Vec<_> = areas::ALL
        .iter()
        .filter_map(|area| Some((area.label, area.demo?)))
        .collect();
    let of = 3 + area_steps.len();
    let until = match history {
        History::UntilNow => kernel::time::now_ts(),
        History::Until(ts) => ts,
    };
    let mut streets = Vec::new();
    step(progress, (1, of), "组织机构、企业和点位", async {
        let district = generate::generate(seed, ENTERPRISES);
        streets = registry_load::organisation(db, DISTRICT_CODE).await?;
        registry_load::enterprises_and_points(db, &district, &streets).await?;
        Ok(format!(
            "{} streets, {} enterprises",
            streets.len(),
            district.enterprises.len()
        ))
    })
    .await?;
    step(progress, (2, of), "演示用户", async {
        for (username, name, role, street) in DEMO_USERS {
            let street_id = street
                .and_then(|s| streets.iter().find(|(_, n, _)| n == s))
                .map(|(id, ..)| *id);
            accounts::service::create_user(
                db,
                Actor::Cli,
                accounts::NewUser {
                    username: (*username).to_string(),
                    display_name: (*name).to_string(),
                    password: DEMO_PASSWORD.to_string(),
                    role: *role,
                    street_id,
                    department_id: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("demo user {username}: {}", e.public_message()))?;
        }
        Ok(format!("{} users", DEMO_USERS.len()))
    })
    .await?;
    step(progress, (3, of), "水质断面样品", async {
        let values =
            water_samples::simulate_water_samples(db, seed, kernel::time::cst_day(until)).await?;
        Ok(format!("{values} sample values"))
    })
    .await?;
    // Each area's own part of the district (complaints, air history, outlets and alarms, …), in list order.
    let context = kernel::area::DemoContext {
        db: db.clone(),
        seed,
        until,
        today: kernel::time::cst_day(until),
    };
    for (index, (label, demo_step)) in area_steps.into_iter().enumerate() {
        step(progress, (4 + index, of), label, demo_step(context.clone())).await?;
    }
    tracing::info!("demo district loaded in {:?}", started.elapsed());
    Ok(())
}

mod registry_load;
