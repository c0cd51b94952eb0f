//! The 24-hour duty roster (值班表): who takes intake outside office hours.

use kernel::audit::{self, AuditEntry};
use kernel::time::{DAY_SECONDS, now_ts};
use kernel::{Action, AppError, AppResult, Db, Principal, validate};

use super::Caller;
use crate::model::*;
use crate::repo;

pub async fn add_shift(
    db: &Db,
    caller: Caller<'_>,
    new: NewDutyShift,
    simulated: bool,
) -> AppResult<DutyShift> {
    if let Some(p) = caller.principal() {
        p.require(crate::DUTY_ROSTER, Action::Create)?;
    }
    if new.ends_at <= new.starts_at {
        return Err(AppError::validation("ends_at", "must be after starts_at"));
    }
    // Saturating: times near i64::MIN or MAX (the fuzzer sent them) must be refused, not overflow.
    if new.ends_at.saturating_sub(new.starts_at) > 7 * DAY_SECONDS {
        return Err(AppError::validation(
            "ends_at",
            "a shift lasts at most 7 days",
        ));
    }
    let name = validate::required("person_name", &new.person_name, 64)?;
    let phone = validate::required("phone", &new.phone, 32)?;
    let note = validate::optional("note", Some(new.note.as_str()), 500)?.unwrap_or_default();
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let id = repo::insert_shift(
        &mut tx,
        new.starts_at,
        new.ends_at,
        new.duty_role,
        new.user_id,
        &name,
        &phone,
        &note,
        simulated,
        &caller.name(),
        now,
    )
    .await?;
    let shift = repo::get_shift(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("shift {id} vanished")))?;
    let entry = match caller {
        Caller::User(p) => AuditEntry::by(p, "create", "duty_shift", id),
        Caller::System(name) => AuditEntry::system(name, "create", "duty_shift", id),
    }
    .summary(format!(
        "值班 {} {} {}–{}",
        shift.duty_role.label(),
        shift.person_name,
        shift.starts_cst,
        shift.ends_cst
    ))
    .after(&shift);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(shift)
}

pub async fn delete_shift(db: &Db, principal: &Principal, id: i64) -> AppResult<()> {
    principal.require(crate::DUTY_ROSTER, Action::Delete)?;
    let mut tx = db.begin_write().await?;
    let shift = repo::get_shift(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("duty shift not found"))?;
    if !repo::delete_shift(&mut tx, id).await? {
        return Err(AppError::Conflict(
            "this shift received cases; it stays on the record".to_string(),
        ));
    }
    let entry = AuditEntry::by(principal, "delete", "duty_shift", id).before(&shift);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn shifts(
    db: &Db,
    principal: &Principal,
    from: i64,
    to: i64,
) -> AppResult<Vec<DutyShift>> {
    principal.require(crate::DUTY_ROSTER, Action::Read)?;
    Ok(repo::shifts(db, from, to).await?)
}
