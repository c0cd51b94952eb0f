//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 iterations), the password policy, and random
//! secrets for sessions and API tokens, stored only as SHA-256 digests.
//!
//! Argon2 is deliberately slow (tens of milliseconds of one core). Async code hashes and verifies through
//! [`hash`] and [`verify`], which run it on tokio's blocking threads behind a process-wide semaphore: on the
//! async threads a burst of logins stalled every other request (issue 12: `/healthz` took 2.5 s during 40
//! logins), and without a bound the burst would take every core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes synchronously: for code that is not on an async thread (tests, one-off tools). Async code calls
/// [`hash`].
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches. Synchronous:
/// async code calls [`verify`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that the answer takes as long either way.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

static HASHING: OnceLock<Arc<Semaphore>> = OnceLock::new();
static VERIFYING: AtomicUsize = AtomicUsize::new(0);

/// Sets how many argon2 computations may run at once in this process (`0`: one per CPU). The first call wins
/// (the semaphore is created once; `AppState::new` calls this with `AppConfig::password_hash_concurrency`).
pub fn set_concurrency(permits: usize) {
    let _ = HASHING.get_or_init(|| Arc::new(Semaphore::new(resolve_concurrency(permits))));
}

/// `0` means one per CPU: argon2 is CPU-bound, so more at once only queue inside the kernel's scheduler
/// while holding their memory (19 MiB each).
fn resolve_concurrency(permits: usize) -> usize {
    if permits > 0 {
        permits
    } else {
        std::thread::available_parallelism().map_or(2, usize::from)
    }
}

fn hashing_permits() -> Arc<Semaphore> {
    HASHING
        .get_or_init(|| Arc::new(Semaphore::new(resolve_concurrency(0))))
        .clone()
}

/// Runs `work` on a blocking thread once a hashing permit is free.
async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let permit = hashing_permits()
        .acquire_owned()
        .await
        .map_err(|e| anyhow::anyhow!("password hashing is shut down: {e}"))?;
    let result = tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await;
    result.map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Hashes `password` on a blocking thread (see the module documentation).
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    off_the_async_threads(move || hash_password(&password)).await?
}

/// Verifies `password` against `stored` on a blocking thread; `None` verifies against [`dummy_hash`] (an
/// unknown user), which never matches.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_string();
    let stored = stored.map(str::to_string);
    VERIFYING.fetch_add(1, Ordering::SeqCst);
    let result = off_the_async_threads(move || match stored {
        Some(stored) => verify_password(&password, &stored),
        None => {
            let _ = verify_password(&password, dummy_hash());
            false
        }
    })
    .await;
    VERIFYING.fetch_sub(1, Ordering::SeqCst);
    result
}

/// How many [`verify`] calls are under way in this process (waiting for a permit or computing): for tests
/// that check a verification leaves the async threads free, and for diagnostics.
pub fn verifications_in_progress() -> usize {
    VERIFYING.load(Ordering::SeqCst)
}

/// 32 random bytes, URL-safe base64: session ids, CSRF tokens, API tokens.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored in place of a secret.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The most common passwords of at least [`MIN_PASSWORD_LEN`] characters, lowercased, most frequent first
/// (source and licence: `data/common-passwords.README.md`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn is_common(password: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect());
    set.contains(password.to_lowercase().as_str())
}

/// A password that is one short unit repeated (`aaaaaaaa`, `abababab`, `123123123`) or one run of consecutive
/// characters (`12345678`, `abcdefgh`, `87654321`): guessed first, whatever its length.
fn is_trivial(password: &str) -> bool {
    let chars: Vec<char> = password.to_lowercase().chars().collect();
    let repeated = (1..=3).any(|unit| {
        chars.len() > unit && chars.iter().enumerate().all(|(i, c)| *c == chars[i % unit])
    });
    let run = |step: i64| {
        chars
            .windows(2)
            .all(|w| i64::from(u32::from(w[1])) - i64::from(u32::from(w[0])) == step)
    };
    repeated || run(1) || run(-1)
}

/// The password policy (NIST SP 800-63B, 5.1.1.2): at least [`MIN_PASSWORD_LEN`] characters, not on the list
/// of common passwords, not the username (nor containing it), not trivially repetitive or sequential. The
/// message is shown on pages as it is, so it is Chinese first.
pub fn check_password_policy(password: &str, username: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "密码至少需要 {MIN_PASSWORD_LEN} 个字符 (must be at least {MIN_PASSWORD_LEN} characters)"
        ));
    }
    let lower = password.to_lowercase();
    let user = username.trim().to_lowercase();
    // Short usernames (`li`) are common substrings of good passwords; from 4 characters on a password that
    // contains the username is one of the first guesses.
    if !user.is_empty() && (lower == user || (user.chars().count() >= 4 && lower.contains(&user))) {
        return Err("密码不能包含用户名 (must not contain the username)".to_string());
    }
    if is_trivial(password) {
        return Err(
            "密码过于简单：不能是重复或连续的字符 (must not be one repeated or consecutive sequence)"
                .to_string(),
        );
    }
    if is_common(password) {
        return Err(
            "密码过于常见，容易被猜中，请换一个 (is on the list of commonly used passwords)"
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("correct horse", "garbage"));
    }

    #[test]
    fn the_policy_refuses_short_common_personal_and_trivial_passwords() {
        for (password, username) in [
            ("short", "zhang"),
            ("password", "zhang"),
            ("Password1", "zhang"),
            ("qwertyuiop", "zhang"),
            ("woaini1314", "zhang"),
            ("zhangsan-2026", "zhangsan"),
            ("ZHANGSAN", "zhangsan"),
            ("aaaaaaaaaa", "zhang"),
            ("abcabcabcabc", "zhang"),
            ("23456789", "zhang"),
            ("hgfedcba", "zhang"),
        ] {
            assert!(
                check_password_policy(password, username).is_err(),
                "{password:?} for {username:?} was accepted"
            );
        }
        // The demo's password and those of the tests stay valid.
        for password in [
            "qingshan-demo",
            "correct-horse-battery",
            "long-enough-1",
            "longenough1",
        ] {
            assert_eq!(
                check_password_policy(password, "admin"),
                Ok(()),
                "{password}"
            );
        }
        assert!(
            check_password_policy("password", "x")
                .unwrap_err()
                .contains("常见")
        );
    }

    #[test]
    fn the_common_list_is_the_documented_one() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() > 8000, "{}", lines.len());
        assert!(lines.iter().all(|l| l.chars().count() >= MIN_PASSWORD_LEN));
        assert_eq!(lines[0], "123456789");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_and_verifying_run_on_blocking_threads() {
        let hash = hash("correct horse").await.unwrap();
        assert!(verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
    }

    #[test]
    fn secrets_are_random_and_digested() {
        let s = random_secret();
        assert_ne!(s, random_secret());
        assert_eq!(secret_digest(&s).len(), 64);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
