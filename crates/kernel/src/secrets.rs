//! Secrets the platform must read back — the SM4 keys of HJ 212-2025 devices — are stored sealed with SM4-GCM
//! (RFC 8998; SM4 because the devices' own encryption is SM4 and national rules favour it) under a master key
//! that is not in the database: a copy or backup of the database alone does not reveal them.
//!
//! The master key is 16 bytes, given as 32 hex digits in `QINGSHAN_MASTER_KEY`, else read from
//! `<data dir>/secrets/master.key`, else generated there on first use (file mode 0600 on Unix). Losing it
//! makes the sealed keys unreadable: the file belongs in the backup of the data directory, apart from the
//! database's. A sealed value is `sm4gcm1:` + base64(12-byte nonce ‖ ciphertext ‖ 16-byte tag); the
//! associated data names what is sealed (e.g. `hj212_keys`), so a sealed value cannot be moved to another use.

use std::path::{Path, PathBuf};

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::generic_array::typenum::U12;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{AesGcm, KeyInit};
use base64::Engine;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

const PREFIX: &str = "sm4gcm1:";
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 16;
/// The environment variable holding the master key (32 hex digits).
pub const MASTER_KEY_ENV: &str = "QINGSHAN_MASTER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 32 hexadecimal digits")]
    BadMasterKey,
    #[error("not a sealed value")]
    NotSealed,
    #[error("the sealed value does not open with this master key (another key, or altered)")]
    DoesNotOpen,
    #[error("master key file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The key that seals stored secrets.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Sm4Gcm,
    fingerprint: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl MasterKey {
    pub fn from_bytes(key: &[u8; KEY_LEN]) -> MasterKey {
        use sha2::{Digest, Sha256};
        MasterKey {
            cipher: Sm4Gcm::new(GenericArray::from_slice(key)),
            fingerprint: hex::encode(&Sha256::digest(key)[..8]),
        }
    }

    pub fn from_hex(text: &str) -> Result<MasterKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadMasterKey)?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| SecretError::BadMasterKey)?;
        Ok(MasterKey::from_bytes(&key))
    }

    /// The first 16 hex digits of the key's SHA-256: which key is in use, without the key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `QINGSHAN_MASTER_KEY`, else `<data_dir>/secrets/master.key`, else a new key written there.
    pub fn load_or_create(data_dir: &Path) -> Result<MasterKey, SecretError> {
        if let Ok(text) = std::env::var(MASTER_KEY_ENV)
            && !text.trim().is_empty()
        {
            return MasterKey::from_hex(&text);
        }
        let path = data_dir.join("secrets").join("master.key");
        let file_error = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => MasterKey::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(file_error)?;
                }
                write_private(&path, &format!("{}\n", hex::encode(key))).map_err(file_error)?;
                tracing::info!(
                    "created the master key {} that seals device keys; back it up apart from the database",
                    path.display()
                );
                Ok(MasterKey::from_bytes(&key))
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// Seals `plaintext` for the use named by `purpose`.
    pub fn seal(&self, plaintext: &[u8], purpose: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        // Encryption into a Vec cannot fail for inputs far below GCM's length limit.
        let sealed = self
            .cipher
            .encrypt(
                GenericArray::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// Opens a value sealed by [`MasterKey::seal`] for the same `purpose`.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, SecretError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SecretError::NotSealed)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SecretError::DoesNotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::DoesNotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                GenericArray::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SecretError::DoesNotOpen)
    }
}

/// Whether a stored value is sealed (else it is a value stored in clear before sealing was introduced).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(PREFIX)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8998 Appendix A.1 (SM4-GCM), checked here against OpenSSL through Python's `cryptography`.
    #[test]
    fn sm4_gcm_reproduces_rfc_8998() {
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let cipher = Sm4Gcm::new(GenericArray::from_slice(&key));
        let out = cipher
            .encrypt(
                GenericArray::from_slice(&hex::decode("00001234567800000000ABCD").unwrap()),
                Payload {
                    msg: &hex::decode("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA").unwrap(),
                    aad: &hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap(),
                },
            )
            .unwrap();
        assert_eq!(
            hex::encode_upper(out),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D83DE3541E4C2B58177E065A9BF7B62EC"
        );
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        let key = MasterKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        let sealed = key.seal(b"k3Y!x9Qa7Lm2Pz0W", "hj212_keys");
        assert!(is_sealed(&sealed) && !sealed.contains("k3Y"));
        assert_ne!(
            sealed,
            key.seal(b"k3Y!x9Qa7Lm2Pz0W", "hj212_keys"),
            "a fresh nonce each time"
        );
        assert_eq!(
            key.open(&sealed, "hj212_keys").unwrap(),
            b"k3Y!x9Qa7Lm2Pz0W"
        );
        assert!(matches!(
            key.open(&sealed, "other"),
            Err(SecretError::DoesNotOpen)
        ));
        let other = MasterKey::from_hex("0f0e0d0c0b0a09080706050403020100").unwrap();
        assert!(matches!(
            other.open(&sealed, "hj212_keys"),
            Err(SecretError::DoesNotOpen)
        ));
        let mut altered = sealed.clone();
        altered.replace_range(20..21, if &sealed[20..21] == "A" { "B" } else { "A" });
        assert!(key.open(&altered, "hj212_keys").is_err());
        assert!(matches!(
            key.open("k3Y!x9Qa7Lm2Pz0W", "hj212_keys"),
            Err(SecretError::NotSealed)
        ));
        assert!(matches!(
            MasterKey::from_hex("abc"),
            Err(SecretError::BadMasterKey)
        ));
    }

    #[test]
    fn a_master_key_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        // The environment variable would take precedence; this test relies on it being unset.
        if std::env::var(MASTER_KEY_ENV).is_ok() {
            eprintln!("skipped: {MASTER_KEY_ENV} is set");
            return;
        }
        let first = MasterKey::load_or_create(dir.path()).unwrap();
        let again = MasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.fingerprint(), again.fingerprint());
        let sealed = first.seal(b"secret", "test");
        assert_eq!(again.open(&sealed, "test").unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets/master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
