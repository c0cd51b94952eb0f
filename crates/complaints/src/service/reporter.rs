//! Masking of the reporter's personal data (see the parent module for who sees what).

use kernel::Role;

use crate::model::*;

/// Whether a role sees the reporter's name and phone in full.
pub fn sees_reporter(role: Role) -> bool {
    matches!(role, Role::Petition | Role::Admin)
}

/// `张三` → `张*`, `欧阳娜娜` → `欧***`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// `13812345678` → `138****5678`; anything shorter than 8 characters is hidden entirely.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    if chars.len() < 8 {
        return "****".to_string();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The case as `role` may see it.
pub fn mask_for(mut complaint: Complaint, role: Option<Role>) -> Complaint {
    let full = role.is_none_or(sees_reporter);
    complaint.reporter_visible = full;
    if !full {
        if complaint.anonymous {
            complaint.reporter_name = Some("匿名".to_string());
            complaint.reporter_phone = None;
        } else {
            complaint.reporter_name = complaint.reporter_name.as_deref().map(mask_name);
            complaint.reporter_phone = complaint.reporter_phone.as_deref().map(mask_phone);
        }
    }
    complaint
}

/// The case without the reporter's data, for audit snapshots.
pub(super) fn audit_snapshot(complaint: &Complaint) -> Complaint {
    let mut snapshot = complaint.clone();
    snapshot.reporter_name = snapshot.reporter_name.as_ref().map(|_| "***".to_string());
    snapshot.reporter_phone = snapshot.reporter_phone.as_ref().map(|_| "***".to_string());
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("022-2439"), "022****2439");
        assert_eq!(mask_phone("12369"), "****");
    }
}
