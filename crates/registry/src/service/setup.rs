//! Setting up an installation for its district (`qingshan init`, the `/setup` page, `POST /api/v1/district`).
//! An installation serves one district for good: setting the same district again changes nothing, and a
//! different one is refused, because streets, enterprises, USCC checks and every statistic hang off it.

use kernel::audit::{self, Actor};
use kernel::{Action, AppError, AppResult, Db};
use serde::Serialize;
use sqlx::AnyConnection;

use super::org_import::{self, ImportMode, OrgImportReport, OrgSource};
use crate::model::{District, DistrictInput};
use crate::repo;

/// What setting the district did.
#[derive(Debug, Clone, Serialize)]
pub enum DistrictSetup {
    /// The installation had no district; it has this one now.
    Created(District),
    /// The installation already had exactly this district: nothing changed.
    Unchanged(District),
}

impl DistrictSetup {
    pub fn district(&self) -> &District {
        match self {
            DistrictSetup::Created(d) | DistrictSetup::Unchanged(d) => d,
        }
    }

    pub fn created(&self) -> bool {
        matches!(self, DistrictSetup::Created(_))
    }
}

/// Why a different district is refused, in Chinese and English (the CLI prints it, the page and the API's 409
/// show it).
pub fn different_district_message(existing: &District, asked: &District) -> String {
    let (e, a) = (existing, asked);
    format!(
        "本系统已初始化为 {}{}（{}），不能改为 {}{}（{}）；如需服务另一个区县，请另建一个数据库。\
         This installation is already set up for {} {} ({}) and cannot be changed to {} {} ({}); use a new \
         database for another district.",
        e.city,
        e.name,
        e.code,
        a.city,
        a.name,
        a.code,
        e.city,
        e.name,
        e.code,
        a.city,
        a.name,
        a.code,
    )
}

/// Sets the installation's district (the administrator; the command line). Idempotent for the same code, name
/// and city; 409 for any other.
pub async fn set_up_district(
    db: &Db,
    actor: Actor<'_>,
    input: &DistrictInput,
) -> AppResult<DistrictSetup> {
    actor.require(crate::ORGANISATION, Action::Create)?;
    let district = input.parse()?;
    let mut tx = db.begin_write().await?;
    let outcome = set_up_district_in(&mut tx, actor, &district).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// [`set_up_district`] in the caller's transaction, with a checked district.
pub async fn set_up_district_in(
    conn: &mut AnyConnection,
    actor: Actor<'_>,
    district: &District,
) -> AppResult<DistrictSetup> {
    match repo::district(conn).await? {
        Some(existing) => same_or_refused(existing, district),
        None => {
            repo::upsert_district(conn, district).await?;
            audit::record(
                &mut *conn,
                &actor
                    .entry("create", "district", &district.code)
                    .summary(format!(
                        "初始化辖区 {}{}（{}）",
                        district.city, district.name, district.code
                    ))
                    .after(district),
            )
            .await?;
            Ok(DistrictSetup::Created(district.clone()))
        }
    }
}

fn same_or_refused(existing: District, asked: &District) -> AppResult<DistrictSetup> {
    if existing.code == asked.code && existing.name == asked.name && existing.city == asked.city {
        Ok(DistrictSetup::Unchanged(existing))
    } else {
        Err(AppError::Conflict(format!(
            "district: {}",
            different_district_message(&existing, asked)
        )))
    }
}

/// What `qingshan init` did (or, in preview, would do).
#[derive(Debug, Clone)]
pub struct Initialised {
    pub district: DistrictSetup,
    pub import: Option<OrgImportReport>,
}

/// `qingshan init`: the district and, from the bureau's files, its streets and departments, in one
/// transaction — a file with a bad row, or a different district, leaves the database as it was. In
/// [`ImportMode::Preview`] nothing is written at all.
pub async fn initialise(
    db: &Db,
    actor: Actor<'_>,
    input: &DistrictInput,
    sources: &[OrgSource],
    mode: ImportMode,
) -> AppResult<Initialised> {
    actor.require(crate::ORGANISATION, Action::Create)?;
    let district = input.parse()?;
    let mut tx = db.begin_write().await?;
    let setup = match repo::district(&mut tx).await? {
        Some(existing) => same_or_refused(existing, &district)?,
        None if mode == ImportMode::Preview => DistrictSetup::Created(district.clone()),
        None => set_up_district_in(&mut tx, actor, &district).await?,
    };
    let import = if sources.is_empty() {
        None
    } else {
        Some(org_import::import_in(&mut tx, actor, &district.code, sources, mode).await?)
    };
    let clean = import.as_ref().is_none_or(|r| r.errors.is_empty());
    if mode == ImportMode::Apply && clean {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(Initialised {
        district: setup,
        import,
    })
}
