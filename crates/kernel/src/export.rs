//! Downloads built from many records (workbooks, bulk CSV). Two rules keep one user's export from slowing
//! everybody else's pages: at most [`crate::state::AppConfig::export_concurrency`] exports are built at once across the whole
//! server (the next waits up to `export_wait_seconds`, then gets a 429 with Retry-After), and a workbook is built on a
//! blocking thread ([`build_off_thread`]), never on the async threads that serve requests. Measured before: four
//! concurrent month workbooks took the server to 1.5 GB and stalled `/healthz` for 2.4 s.

use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A slot held for the whole time an export is built or streamed.
pub struct ExportSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Waits for one of the server's export slots ([`AppState::exports`]); 429 (retry after the wait) when none
/// frees up within `export_wait_seconds`.
pub async fn slot(state: &AppState) -> AppResult<ExportSlot> {
    let wait = Duration::from_secs(state.config.export_wait_seconds);
    match tokio::time::timeout(wait, state.exports.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(ExportSlot(permit)),
        // Timed out, or (never: the semaphore is not closed) closed.
        _ => Err(AppError::TooManyRequests {
            retry_after_seconds: state.config.export_wait_seconds.max(1),
        }),
    }
}

/// Runs CPU-heavy building (a workbook, a PDF) on tokio's blocking threads.
pub async fn build_off_thread<T, F>(build: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> AppResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(build)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("export builder stopped: {e}")))?
}
