//! Secrets at rest (signing keys, upstream client secrets, TOTP seeds) are
//! sealed with the master key: AES-256-GCM with a random nonce, the row's
//! identity as associated data (a sealed value copied to another row does
//! not open there).
//!
//! The master key comes from ONEAUTH_MASTER_KEY (32 bytes, base64) or from a
//! key file, created with mode 0600 on first use.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("ONEAUTH_MASTER_KEY must be 32 bytes encoded as base64.")]
    BadKey,
    #[error("Could not read or create the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("The master key file {0} does not hold a 32-byte base64 key.")]
    BadKeyFile(String),
    #[error(
        "A sealed secret could not be opened: wrong master key, or the value was tampered with."
    )]
    Open,
}

#[derive(Clone)]
pub struct Vault {
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(***)")
    }
}

fn decode_key(text: &str) -> Option<[u8; KEY_LEN]> {
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()?;
    bytes.try_into().ok()
}

impl Vault {
    /// The vault from an explicit key (ONEAUTH_MASTER_KEY) or the key file.
    pub fn load(explicit: Option<&str>, key_file: &Path) -> Result<Self, VaultError> {
        if let Some(text) = explicit {
            return decode_key(text)
                .map(|key| Self { key })
                .ok_or(VaultError::BadKey);
        }
        let io = |source| VaultError::KeyFile {
            path: key_file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => decode_key(&text)
                .map(|key| Self { key })
                .ok_or_else(|| VaultError::BadKeyFile(key_file.display().to_string())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut key = [0u8; KEY_LEN];
                openssl::rand::rand_bytes(&mut key).expect("the OS random source works");
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(key_file) {
                    Ok(mut file) => {
                        file.write_all(STANDARD.encode(key).as_bytes())
                            .map_err(io)?;
                        tracing::info!(path = %key_file.display(), "created a new master key file");
                        Ok(Self { key })
                    }
                    // Another process created it first: use theirs.
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load(None, key_file)
                    }
                    Err(err) => Err(io(err)),
                }
            }
            Err(err) => Err(io(err)),
        }
    }

    /// A vault with a fresh random key (tests).
    pub fn random() -> Self {
        let mut key = [0u8; KEY_LEN];
        openssl::rand::rand_bytes(&mut key).expect("the OS random source works");
        Self { key }
    }

    /// The key as base64, to hand to another process (tests).
    pub fn export_key(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// Encrypt `plaintext`, bound to `context` (e.g. "signing_key:{kid}").
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce).expect("the OS random source works");
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            context.as_bytes(),
            plaintext,
            &mut tag,
        )
        .expect("AES-256-GCM with a 32-byte key and 12-byte nonce cannot fail");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(&tag);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// A key of its own for `purpose` (the audit chain's MAC, signed
    /// cookies), derived from the master key with HMAC-SHA-256 so that none
    /// of them reveals the master key or another derived key.
    pub fn derive(&self, purpose: &str) -> DerivedKey {
        DerivedKey(mac(
            &self.key,
            format!("1auth-derive-v1:{purpose}").as_bytes(),
        ))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, VaultError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .filter(|b| b.len() >= NONCE_LEN + TAG_LEN)
            .ok_or(VaultError::Open)?;
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            context.as_bytes(),
            ciphertext,
            tag,
        )
        .map_err(|_| VaultError::Open)
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A key derived from the master key for one purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct DerivedKey([u8; KEY_LEN]);

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey(***)")
    }
}

impl DerivedKey {
    /// HMAC-SHA-256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        mac(&self.0, data)
    }

    /// The MAC as base64url, for cookies and query values.
    pub fn sign(&self, data: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(data.as_bytes()))
    }

    /// Whether `signature` is `sign(data)`, compared in constant time.
    pub fn verify(&self, data: &str, signature: &str) -> bool {
        super::secrets::constant_time_eq(&self.sign(data), signature)
    }

    /// A value that identifies the key without revealing it (stored, so a
    /// process with another master key notices).
    pub fn check_value(&self) -> String {
        hex::encode(self.mac(b"1auth-key-check-v1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let vault = Vault::random();
        let sealed = vault.seal("signing_key:a", b"secret");
        assert!(!sealed.contains("secret"));
        assert_eq!(vault.open("signing_key:a", &sealed).unwrap(), b"secret");
        assert!(
            vault.open("signing_key:b", &sealed).is_err(),
            "bound to its row"
        );
        assert!(
            Vault::random().open("signing_key:a", &sealed).is_err(),
            "bound to its key"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(vault.open("signing_key:a", &tampered).is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_master_key() {
        let vault = Vault::random();
        let audit = vault.derive("audit-chain");
        assert_eq!(audit, vault.derive("audit-chain"));
        assert_ne!(audit, vault.derive("device-cookie"));
        assert_ne!(audit, Vault::random().derive("audit-chain"));
        let signature = audit.sign("data");
        assert!(audit.verify("data", &signature));
        assert!(!audit.verify("datA", &signature));
        assert!(!vault.derive("device-cookie").verify("data", &signature));
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let first = Vault::load(None, &path).unwrap();
        let second = Vault::load(None, &path).unwrap();
        assert_eq!(first.export_key(), second.export_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(Vault::load(Some("too short"), &path).is_err());
        let explicit = Vault::load(Some(&first.export_key()), Path::new("/nonexistent")).unwrap();
        assert_eq!(explicit.export_key(), first.export_key());
    }
}
