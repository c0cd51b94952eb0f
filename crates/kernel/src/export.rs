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

/// Widest a fitted spreadsheet column gets (Excel character units); longer text wraps.
pub const MAX_COLUMN_WIDTH: f64 = 60.0;

/// How many Excel character units `text` takes: a CJK or other East Asian wide character counts two, the
/// rest one (Excel measures in the width of the default font's digit, and a Chinese character is about two).
pub fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            // Hangul Jamo; CJK radicals … Yi (punctuation, kana, ideographs); Hangul syllables; CJK
            // compatibility ideographs; vertical and compatibility forms; fullwidth forms; ideographs beyond
            // the BMP.
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// The width that fits a column's cells (header included): the widest cell plus a margin, at least 6 units
/// and at most [`MAX_COLUMN_WIDTH`].
pub fn column_width<'a>(cells: impl IntoIterator<Item = &'a str>) -> f64 {
    let widest = cells.into_iter().map(display_width).max().unwrap_or(0);
    (widest as f64 + 2.0).clamp(6.0, MAX_COLUMN_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_characters_count_double() {
        assert_eq!(display_width("PM2.5"), 5);
        assert_eq!(display_width("张贵庄街道"), 10);
        assert_eq!(display_width("PM2.5（μg/m³）"), 5 + 2 + 5 + 2);
        assert_eq!(column_width(["排名", "1"]), 6.0);
        assert_eq!(column_width(["街道", "东丽湖街道"]), 12.0);
        assert_eq!(column_width([&*"很长".repeat(100)]), MAX_COLUMN_WIDTH);
        assert_eq!(column_width(std::iter::empty::<&str>()), 6.0);
    }
}
