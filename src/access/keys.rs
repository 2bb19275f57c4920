//! API keys made through the keys API.
//!
//! A key's secret is `vk_<id>_<mac>`, where `mac` is HMAC-SHA256 of the id under the store's
//! master secret (`DATA_DIR/access/master.secret`, made on first use, readable by its owner
//! only). The store (`DATA_DIR/access/keys.json`) keeps each key's id, name, actions, indexes,
//! expiry and the SHA-256 of its secret — never the secret, which is shown once, when the key is
//! made. The server can still re-derive a key's secret from the master secret: that is what
//! verifies the shopper tokens the key signs (as Meilisearch derives its keys from the master
//! key). A deleted key's secret still carries a valid mac, so it is told apart as revoked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::grant::{AccessError, Action, Grant};

/// The prefix of every secret the store makes.
const SECRET_PREFIX: &str = "vk_";
/// The longest name a key may have.
const MAX_NAME_CHARS: usize = 200;
/// The most index patterns one key may list.
const MAX_INDEX_PATTERNS: usize = 100;

/// A key as stored and listed (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub actions: Vec<Action>,
    /// Index patterns it reaches.
    pub indexes: Vec<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The first characters of its secret, to recognise it by.
    pub prefix: String,
    /// SHA-256 of its secret, hex.
    pub secret_sha256: String,
}

impl KeyRecord {
    fn grant(&self) -> Grant {
        Grant { key_id: self.id.clone(), actions: self.actions.clone(), indexes: self.indexes.clone() }
    }

    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// `POST /v1/keys`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub actions: Vec<Action>,
    /// Index patterns: names, `prefix*`, or `*`.
    pub indexes: Vec<String>,
    /// When it stops working (RFC 3339), if ever.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The keys made through the keys API.
#[derive(Debug)]
pub struct KeyStore {
    folder: PathBuf,
    master: [u8; 32],
    keys: RwLock<BTreeMap<String, KeyRecord>>,
    writes: Mutex<()>,
}

impl KeyStore {
    /// The store in `folder`: its keys file (if any) is read, its master secret read or made.
    ///
    /// # Errors
    /// The folder, the master secret or the keys file cannot be read or made.
    pub fn open(folder: &Path) -> Result<KeyStore, AccessError> {
        let store_error = |what: &str, error: &dyn std::fmt::Display| {
            AccessError::Store(format!("{what} in {}: {error}", folder.display()))
        };
        std::fs::create_dir_all(folder).map_err(|error| store_error("cannot make the folder", &error))?;
        let master_path = folder.join("master.secret");
        let master_hex = match std::fs::read_to_string(&master_path) {
            Ok(text) => text.trim().to_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let fresh = fresh_secret();
                write_private(&master_path, &fresh)
                    .map_err(|error| store_error("cannot write master.secret", &error))?;
                fresh
            }
            Err(error) => return Err(store_error("cannot read master.secret", &error)),
        };
        let mut master = [0_u8; 32];
        hex::decode_to_slice(&master_hex, &mut master)
            .map_err(|error| store_error("master.secret is not 64 hex digits", &error))?;
        let keys = match std::fs::read(folder.join("keys.json")) {
            Ok(bytes) => {
                let records: Vec<KeyRecord> =
                    serde_json::from_slice(&bytes).map_err(|error| store_error("keys.json is not valid", &error))?;
                records.into_iter().map(|record| (record.id.clone(), record)).collect()
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => return Err(store_error("cannot read keys.json", &error)),
        };
        Ok(KeyStore { folder: folder.to_owned(), master, keys: RwLock::new(keys), writes: Mutex::new(()) })
    }

    /// HMAC-SHA256 of `message` under the master secret, hex.
    pub(super) fn derive(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.master).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn secret_of(&self, id: &str) -> String {
        format!("{SECRET_PREFIX}{id}_{}", self.derive(&format!("key:{id}")))
    }

    /// Makes a key; answers its record and its secret (shown this once).
    ///
    /// # Errors
    /// A blank or long name, no actions, bad index patterns, an expiry in the past, or the store
    /// cannot be written.
    pub fn create(&self, new: NewKey, now: DateTime<Utc>) -> Result<(KeyRecord, String), String> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("`name` must be 1 to {MAX_NAME_CHARS} characters"));
        }
        if new.actions.is_empty() {
            return Err("`actions` must name at least one action".to_owned());
        }
        if new.indexes.is_empty() || new.indexes.len() > MAX_INDEX_PATTERNS {
            return Err(format!("`indexes` must list 1 to {MAX_INDEX_PATTERNS} index names or patterns"));
        }
        for pattern in &new.indexes {
            let name = pattern.strip_suffix('*').unwrap_or(pattern);
            let valid = name.is_empty()
                || name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') && name.len() <= 64;
            if !valid {
                return Err(format!("`{pattern}` is not an index name or a pattern like `shop-*`"));
            }
        }
        if new.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err("`expires_at` is in the past".to_owned());
        }
        let mut actions = new.actions;
        actions.sort();
        actions.dedup();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = self.secret_of(&id);
        let record = KeyRecord {
            id: id.clone(),
            name: name.to_owned(),
            actions,
            indexes: new.indexes,
            expires_at: new.expires_at,
            created_at: now,
            prefix: secret.chars().take(SECRET_PREFIX.len() + 8).collect(),
            secret_sha256: sha256_hex(&secret),
        };
        self.change(|keys| {
            keys.insert(id, record.clone());
        })
        .map_err(|error| error.to_string())?;
        Ok((record, secret))
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<KeyRecord> {
        let mut keys: Vec<KeyRecord> = self.keys.read().expect("key store lock").values().cloned().collect();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        keys
    }

    /// The key `id`.
    pub fn get(&self, id: &str) -> Option<KeyRecord> {
        self.keys.read().expect("key store lock").get(id).cloned()
    }

    /// Deletes (revokes) the key `id`; whether it existed.
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn delete(&self, id: &str) -> Result<bool, AccessError> {
        let mut existed = false;
        self.change(|keys| existed = keys.remove(id).is_some())?;
        Ok(existed)
    }

    /// The grant of a presented secret.
    pub(super) fn verify(&self, presented: &str, now: DateTime<Utc>) -> Result<Grant, AccessError> {
        let id = key_id_of(presented).ok_or(AccessError::InvalidKey)?;
        let record = self.get(id);
        match record {
            Some(record) if bool::from(sha256_hex(presented).as_bytes().ct_eq(record.secret_sha256.as_bytes())) => {
                if record.expired(now) {
                    Err(AccessError::Expired(record.id))
                } else {
                    Ok(record.grant())
                }
            }
            None if same_secret(&self.secret_of(id), presented) => Err(AccessError::Revoked(id.to_owned())),
            _ => Err(AccessError::InvalidKey),
        }
    }

    /// The secret and grant of the live key `id`.
    pub(super) fn signing_secret(&self, id: &str, now: DateTime<Utc>) -> Result<Option<(String, Grant)>, AccessError> {
        match self.get(id) {
            Some(record) if record.expired(now) => Err(AccessError::Expired(record.id)),
            Some(record) => Ok(Some((self.secret_of(id), record.grant()))),
            None => Ok(None),
        }
    }

    /// Applies `change` to the keys and writes them (to a temporary file, then renamed).
    fn change(&self, change: impl FnOnce(&mut BTreeMap<String, KeyRecord>)) -> Result<(), AccessError> {
        let _writing = self.writes.lock().expect("key store write lock");
        let mut keys = self.keys.read().expect("key store lock").clone();
        change(&mut keys);
        let records: Vec<&KeyRecord> = keys.values().collect();
        let text = serde_json::to_vec_pretty(&records).map_err(|error| AccessError::Store(error.to_string()))?;
        let path = self.folder.join("keys.json");
        let temporary = self.folder.join("keys.json.tmp");
        write_private(&temporary, &String::from_utf8_lossy(&text))
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| AccessError::Store(format!("cannot write {}: {error}", path.display())))?;
        *self.keys.write().expect("key store lock") = keys;
        Ok(())
    }
}

/// The id inside a secret `vk_<id>_<mac>`.
fn key_id_of(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(SECRET_PREFIX)?;
    let (id, mac) = rest.split_once('_')?;
    let hex32 = |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
    (hex32(id, 32) && hex32(mac, 64)).then_some(id)
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub(crate) fn same_secret(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// 32 random bytes (two v4 UUIDs' 244 random bits from the OS, hashed), hex.
fn fresh_secret() -> String {
    let mut hasher = Sha256::new();
    hasher.update(uuid::Uuid::new_v4().as_bytes());
    hasher.update(uuid::Uuid::new_v4().as_bytes());
    hex::encode(hasher.finalize())
}

/// Writes `text` to `path`, readable and writable by the owner only (on Unix).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_key(actions: Vec<Action>) -> NewKey {
        NewKey { name: "storefront".into(), actions, indexes: vec!["retail".into()], expires_at: None }
    }

    #[test]
    fn keys_verify_by_their_secret_which_is_not_stored_and_revoked_keys_are_told_apart() {
        let folder = tempfile::tempdir().expect("temp dir");
        let store = KeyStore::open(folder.path()).expect("store");
        let now = Utc::now();
        let (record, secret) = store.create(new_key(vec![Action::Search]), now).expect("made");
        let stored = std::fs::read_to_string(folder.path().join("keys.json")).expect("keys file");
        assert!(!stored.contains(&secret), "the secret is never stored");
        assert_eq!(store.verify(&secret, now).expect("verifies").actions, vec![Action::Search]);

        let reopened = KeyStore::open(folder.path()).expect("reopened");
        assert_eq!(reopened.verify(&secret, now).expect("survives a restart").key_id, record.id);
        // Change the last hex digit to a different one (a fixed '0' would
        // leave one secret in sixteen unchanged).
        let last = if secret.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &secret[..secret.len() - 1]);
        assert_ne!(forged, secret);
        assert_eq!(reopened.verify(&forged, now), Err(AccessError::InvalidKey));
        assert!(reopened.delete(&record.id).expect("deleted"));
        assert_eq!(reopened.verify(&secret, now), Err(AccessError::Revoked(record.id)));
    }

    #[test]
    fn expired_keys_and_bad_requests_are_refused() {
        let folder = tempfile::tempdir().expect("temp dir");
        let store = KeyStore::open(folder.path()).expect("store");
        let now = Utc::now();
        let mut soon = new_key(vec![Action::Search]);
        soon.expires_at = Some(now + chrono::Duration::seconds(10));
        let (record, secret) = store.create(soon, now).expect("made");
        let later = now + chrono::Duration::seconds(11);
        assert_eq!(store.verify(&secret, later), Err(AccessError::Expired(record.id)));
        assert!(store.create(new_key(vec![]), now).is_err());
        let mut bad_index = new_key(vec![Action::Search]);
        bad_index.indexes = vec!["../etc".into()];
        assert!(store.create(bad_index, now).is_err());
    }
}
