//! Evidence files (证据材料): photos, videos and documents sent with a case. The type is decided by the
//! file's first bytes, never by its name or the client's content type; files are stored under
//! `data_dir/evidence/` with random names and served only through the case's authorisation.

use std::path::{Path, PathBuf};

use kernel::audit::{self, AuditEntry};
use kernel::{AppError, AppResult, Db, Principal};
use sha2::{Digest, Sha256};

use crate::model::Evidence;
use crate::repo;

/// Largest evidence file. The web layer accepts request bodies up to 8 MiB, and a multipart body carries a
/// little more than the file.
pub const MAX_EVIDENCE_BYTES: usize = 6 * 1024 * 1024;

/// A file type we accept, recognised by its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// Recognises JPEG, PNG, PDF and MP4/MOV (ISO base media) by their magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    let kind = |content_type, extension| {
        Some(FileKind {
            content_type,
            extension,
        })
    };
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        kind("image/jpeg", "jpg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        kind("image/png", "png")
    } else if bytes.starts_with(b"%PDF-") {
        kind("application/pdf", "pdf")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        kind("video/mp4", "mp4")
    } else {
        None
    }
}

pub fn evidence_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("evidence")
}

fn random_name(extension: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{}.{extension}", hex::encode(bytes))
}

/// Checks and stores one file for a case the caller may update (the caller has checked that).
pub async fn store(
    db: &Db,
    data_dir: &Path,
    principal: &Principal,
    complaint_id: i64,
    original_name: &str,
    bytes: &[u8],
) -> AppResult<Evidence> {
    if bytes.is_empty() {
        return Err(AppError::validation("file", "is empty"));
    }
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(AppError::validation(
            "file",
            format!("is larger than {} MiB", MAX_EVIDENCE_BYTES / (1024 * 1024)),
        ));
    }
    let kind = sniff(bytes).ok_or_else(|| {
        AppError::validation(
            "file",
            "is not a JPEG, PNG, PDF or MP4 file (checked by its content)",
        )
    })?;
    // Keep only the last path component of the client's name, for display.
    let shown_name: String = original_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let shown_name = if shown_name.trim().is_empty() {
        format!("evidence.{}", kind.extension)
    } else {
        shown_name
    };
    let dir = evidence_dir(data_dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
    let stored_name = random_name(kind.extension);
    let path = dir.join(&stored_name);
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot write {}: {e}", path.display())))?;
    let digest = hex::encode(Sha256::digest(bytes));
    let now = kernel::time::now_ts();
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let result = async {
        let mut tx = db.begin_write().await?;
        let id = repo::insert_evidence(
            &mut tx,
            complaint_id,
            &shown_name,
            &stored_name,
            kind.content_type,
            size,
            &digest,
            &principal.username,
            now,
        )
        .await?;
        repo::insert_event(
            &mut tx,
            complaint_id,
            now,
            Some(principal.user_id),
            &principal.username,
            "evidence",
            None,
            None,
            &format!(
                "上传证据材料 {shown_name}（{}，{size} 字节）",
                kind.content_type
            ),
        )
        .await?;
        let entry = AuditEntry::by(principal, "evidence_upload", "complaint", complaint_id)
            .summary(format!("证据 {shown_name} sha256 {digest}"));
        audit::record(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok::<i64, sqlx::Error>(id)
    }
    .await;
    match result {
        Ok(id) => Ok(Evidence {
            id,
            complaint_id,
            original_name: shown_name,
            content_type: kind.content_type.to_string(),
            size_bytes: size,
            sha256: digest,
            uploaded_by: principal.username.clone(),
            uploaded_at: now,
        }),
        Err(e) => {
            // No row, no file.
            let _ = tokio::fs::remove_file(&path).await;
            Err(e.into())
        }
    }
}

/// The bytes of one file of a case the caller may read (the caller has checked that).
pub async fn load(
    db: &Db,
    data_dir: &Path,
    complaint_id: i64,
    evidence_id: i64,
) -> AppResult<(Evidence, Vec<u8>)> {
    let (evidence, stored_name) = repo::evidence_file(db, complaint_id, evidence_id)
        .await?
        .ok_or_else(|| AppError::not_found("evidence not found"))?;
    // Stored names are ours (hex + extension); refuse anything else rather than touch the path.
    if !stored_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.')
    {
        return Err(AppError::not_found("evidence not found"));
    }
    let bytes = tokio::fs::read(evidence_dir(data_dir).join(&stored_name))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("evidence {evidence_id}: {e}")))?;
    Ok((evidence, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap().extension,
            "jpg"
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n....").unwrap().content_type,
            "image/png"
        );
        assert_eq!(sniff(b"%PDF-1.7\n").unwrap().extension, "pdf");
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42xxxx").unwrap().extension, "mp4");
        assert!(sniff(b"MZ\x90\0 an exe named photo.jpg").is_none());
        assert!(sniff(b"<html><script>").is_none());
        assert!(sniff(b"").is_none());
    }
}
