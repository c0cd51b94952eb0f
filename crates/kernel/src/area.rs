//! What a business area tells the platform about itself, in one place in its own crate: its routes (pages and
//! `/api/v1`), its OpenAPI document, its resources with what each role may do with them, its navigation
//! entries, its background jobs, what it does when the server starts, and its step of the demo district.
//!
//! Each area crate has `pub const AREA: kernel::area::Area`; the `areas` crate lists them, `web` builds the
//! router, the OpenAPI document and the navigation from that list, and `qingshan` starts the jobs and the
//! start-up steps and fills the demo from it. Adding an area is its crate, its line in that list and its
//! migrations (ARCHITECTURE.md, "Adding an area").

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;

use crate::auth::{Action, Resource};
use crate::db::Db;
use crate::state::AppState;

/// A boxed future, so that an area can hand an `async fn` to the platform through a plain `fn` pointer.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An area's start-up step.
pub type StartStep = fn(Db) -> BoxFuture<anyhow::Result<()>>;

/// An area's demo step; its `String` is a line for the log.
pub type DemoStep = fn(DemoContext) -> BoxFuture<anyhow::Result<String>>;

/// One business area's self-description. Build it from [`Area::named`] with struct-update syntax, filling in
/// only what the area has:
///
/// ```ignore
/// pub const AREA: Area = Area {
///     routes: http::routes,
///     api_doc: http::api_doc,
///     resources: &[COMPLAINT],
///     ..Area::named("complaints", "信访投诉")
/// };
/// ```
#[derive(Clone, Copy)]
pub struct Area {
    /// The crate's name, in logs and test messages.
    pub name: &'static str,
    /// Its name for users.
    pub label: &'static str,
    /// Pages and `/api/v1` routes, merged into the one router; authentication runs in front of them.
    pub routes: fn() -> Router<AppState>,
    /// The area's part of `/api/v1/openapi.json`.
    pub api_doc: fn() -> utoipa::openapi::OpenApi,
    /// What the area's handlers protect; each carries its role policy.
    pub resources: &'static [Resource],
    /// Main-navigation entries (shown to roles that may read their resource), placed by [`NavItem::order`].
    pub nav: &'static [NavItem],
    /// Work repeated while the server runs.
    pub jobs: &'static [Job],
    /// Run once when the server starts, before it listens (e.g. seeding the year's rows).
    pub on_start: Option<StartStep>,
    /// The area's part of the simulated district, run in the order of the area list after the registry and
    /// the users are loaded; returns a line for the log.
    pub demo: Option<DemoStep>,
    /// Which of its GET answers `web` may keep and serve again while nothing they show has changed.
    pub kept_answers: KeptAnswers,
}

impl Area {
    /// An area with nothing yet but its names.
    pub const fn named(name: &'static str, label: &'static str) -> Area {
        Area {
            name,
            label,
            routes: Router::new,
            api_doc: utoipa::openapi::OpenApi::default,
            resources: &[],
            nav: &[],
            jobs: &[],
            on_start: None,
            demo: None,
            kept_answers: KeptAnswers::NONE,
        }
    }
}

/// GET routes of an area whose answers `web` keeps per caller and serves again until what they show changes
/// (its page cache: ARCHITECTURE.md, "Kept answers"). A route may be listed only when its answer depends on
/// nothing but
/// - records changed through audited writes (every audited change bumps the audit version in its own
///   transaction: `kernel::audit::version`),
/// - the readings (every write and correction bumps their data version in its roll-up),
/// - the caller (the session, hence user, role, street and CSRF token), the path and query, and
/// - the clock to the minute (deadlines, "today"),
/// - and, when `version` is given, what that counter counts (bumped by this process when it changes, such as
///   the gateway's view of its devices; another process's changes show within the minute).
///
/// Answers that stream (exports), set cookies or are not 200 are never kept.
#[derive(Debug, Clone, Copy)]
pub struct KeptAnswers {
    /// Route paths exactly as the area's router writes them (`"/api/v1/alarms"`, `"/alarms/{id}"`).
    pub routes: &'static [&'static str],
    pub version: Option<fn() -> u64>,
}

impl KeptAnswers {
    pub const NONE: KeptAnswers = KeptAnswers {
        routes: &[],
        version: None,
    };

    /// Routes whose answers depend only on audited records, the readings, the caller and the minute.
    pub const fn of(routes: &'static [&'static str]) -> KeptAnswers {
        KeptAnswers {
            routes,
            version: None,
        }
    }
}

impl std::fmt::Debug for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Area")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One entry of the main navigation.
#[derive(Debug, Clone, Copy)]
pub struct NavItem {
    pub path: &'static str,
    pub label: &'static str,
    /// Shown only to roles that may do `action` on it; `None`: to everyone logged in.
    pub resource: Option<Resource>,
    /// What a role must be allowed on `resource` to see the entry: [`Action::Read`] for pages everyone with
    /// access reads; a write action for pages only those who keep the records use.
    pub action: Action,
    /// Place in the menu, smallest first, in the order a bureau user works: 0 the overview, 10–19 targets
    /// and indicators, 20–39 monitoring and analysis, 40–49 rankings, 50–59 alarms, 60–69 the registry and
    /// devices, 70–89 the workflows (complaints, …), 90–99 administration.
    pub order: u16,
}

impl NavItem {
    /// An entry shown to the roles that may read `resource`.
    pub const fn reading(
        path: &'static str,
        label: &'static str,
        resource: Resource,
        order: u16,
    ) -> NavItem {
        NavItem {
            path,
            label,
            resource: Some(resource),
            action: Action::Read,
            order,
        }
    }
}

/// Background work an area repeats while the server runs. The first run is at start; a failed run is logged
/// with the job's name and the next one comes at the next interval.
#[derive(Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    pub run: fn(AppState) -> BoxFuture<anyhow::Result<()>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

/// What an area's demo step is given.
#[derive(Debug, Clone)]
pub struct DemoContext {
    pub db: Db,
    /// The district's seed: the same seed gives the same data.
    pub seed: u64,
    /// Simulated history runs from 2024-01-01 up to this instant (Unix seconds).
    pub until: i64,
    /// Today in China Standard Time.
    pub today: chrono::NaiveDate,
}

/// The navigation of all `areas`, in menu order.
pub fn navigation(areas: &[Area]) -> Vec<NavItem> {
    let mut items: Vec<NavItem> = areas.iter().flat_map(|a| a.nav.iter().copied()).collect();
    items.sort_by_key(|item| item.order);
    items
}

/// Starts every area's jobs on the current tokio runtime; abort the handles to stop them.
pub fn spawn_jobs(state: &AppState, areas: &[Area]) -> Vec<tokio::task::JoinHandle<()>> {
    areas
        .iter()
        .flat_map(|area| area.jobs.iter().map(move |job| (area.name, *job)))
        .map(|(area, job)| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(job.every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = (job.run)(state.clone()).await {
                        tracing::warn!("{area}: {} failed: {e:#}", job.name);
                    }
                }
            })
        })
        .collect()
}

/// Runs every area's start-up step, in list order.
pub async fn run_on_start(db: &Db, areas: &[Area]) -> anyhow::Result<()> {
    for area in areas {
        if let Some(on_start) = area.on_start {
            on_start(db.clone())
                .await
                .map_err(|e| e.context(format!("starting area {}", area.name)))?;
        }
    }
    Ok(())
}
