use std::cell::RefCell;
use std::collections::HashMap;

use super::*;

/// A keyring in memory.
#[derive(Default)]
struct Memory(RefCell<HashMap<String, String>>);

impl Keyring for Memory {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, KeyringError> {
        Ok(self.0.borrow().get(account).cloned().map(Zeroizing::new))
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), KeyringError> {
        self.0.borrow_mut().insert(account.into(), secret.into());
        Ok(())
    }
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.into())
}

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("data");
    let db = dir.join("glasshouse.db");
    (t, dir, db)
}

#[test]
fn a_passphrase_gives_the_same_key_every_time_and_a_wrong_one_is_refused() {
    let (_t, dir, db) = dirs();
    assert_eq!(state(&dir, &db).unwrap(), KeyState::New);
    let first = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    assert!(first.created);
    assert_eq!(first.source, Source::Passphrase);
    assert_eq!(state(&dir, &db).unwrap(), KeyState::Passphrase);
    let again = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    assert!(!again.created);
    assert_eq!(again.key.as_bytes(), first.key.as_bytes());
    let err = unlock(&dir, &db, Some(&pass("correct horsE")), &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase { .. }), "{err}");
    assert!(err.to_string().contains("nothing was changed"));
    let err = unlock(&dir, &db, None, &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::NeedPassphrase { .. }), "{err}");
}

#[test]
fn the_key_file_holds_no_key_and_is_private() {
    let (_t, dir, db) = dirs();
    let u = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    let text = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap();
    let key_hex = keyfile::hex(u.key.as_bytes());
    assert!(!text.contains(&key_hex), "{text}");
    assert!(!text.contains("correct horse"));
    assert!(text.contains("argon2id"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn two_folders_with_one_passphrase_get_different_keys() {
    let (_t, dir, db) = dirs();
    let (_t2, dir2, db2) = dirs();
    let a = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    let b = unlock(&dir2, &db2, Some(&pass("correct horse")), &NoKeyring).unwrap();
    assert_ne!(a.key.as_bytes(), b.key.as_bytes(), "salts must differ");
}

#[test]
fn short_passphrases_are_refused_for_new_keys() {
    let (_t, dir, db) = dirs();
    let err = unlock(&dir, &db, Some(&pass("short")), &NoKeyring).unwrap_err();
    assert!(
        matches!(err, VaultError::WeakPassphrase { min: 8 }),
        "{err}"
    );
    assert!(!dir.join(KEY_FILE).exists());
}

#[test]
fn without_keyring_or_passphrase_there_is_no_key() {
    let (_t, dir, db) = dirs();
    let err = unlock(&dir, &db, None, &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::NoKeyring { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("never stores your input unencrypted")
    );
    assert!(!dir.join(KEY_FILE).exists());
}

#[test]
fn the_keyring_keeps_a_random_key() {
    let (_t, dir, db) = dirs();
    let ring = Memory::default();
    let first = unlock(&dir, &db, None, &ring).unwrap();
    assert_eq!(first.source, Source::Keyring);
    assert_eq!(state(&dir, &db).unwrap(), KeyState::Keyring);
    let again = unlock(&dir, &db, None, &ring).unwrap();
    assert_eq!(again.key.as_bytes(), first.key.as_bytes());
    // The key is in the keyring, not in the folder.
    let text = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap();
    assert!(!text.contains(&keyfile::hex(first.key.as_bytes())));
    // A keyring that lost the entry, or another keyring, is a clear error.
    let err = unlock(&dir, &db, None, &Memory::default()).unwrap_err();
    assert!(
        matches!(err, VaultError::KeyringEntryMissing { .. }),
        "{err}"
    );
    let err = unlock(&dir, &db, None, &NoKeyring).unwrap_err();
    assert!(
        matches!(err, VaultError::KeyringUnavailable { .. }),
        "{err}"
    );
    let other = Memory::default();
    other
        .set(&keyring_store_account(&dir), &"11".repeat(32))
        .unwrap();
    let err = unlock(&dir, &db, None, &other).unwrap_err();
    assert!(matches!(err, VaultError::KeyringMismatch { .. }), "{err}");
}

fn keyring_store_account(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_given_passphrase_wins_over_the_keyring_for_a_new_folder() {
    let (_t, dir, db) = dirs();
    let ring = Memory::default();
    let u = unlock(&dir, &db, Some(&pass("correct horse")), &ring).unwrap();
    assert_eq!(u.source, Source::Passphrase);
    assert!(ring.0.borrow().is_empty());
}

#[test]
fn an_encrypted_database_without_its_key_file_is_not_given_a_new_key() {
    let (_t, dir, db) = dirs();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&db, vec![0x5a; 4096]).unwrap();
    let err = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::KeyFileMissing { .. }), "{err}");
    assert!(!dir.join(KEY_FILE).exists());
    // An unencrypted database of an earlier version does get one (the store encrypts it).
    let mut plain = b"SQLite format 3\0".to_vec();
    plain.resize(4096, 0);
    std::fs::write(&db, plain).unwrap();
    unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
}

#[test]
fn a_tampered_key_file_is_refused_with_bounds() {
    let (_t, dir, db) = dirs();
    unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let huge = text.replace("\"memory_kib\": 19456", "\"memory_kib\": 100000000");
    assert_ne!(huge, text);
    std::fs::write(&path, huge).unwrap();
    let err = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::BadKeyFile { .. }), "{err}");
    std::fs::write(&path, "{not json").unwrap();
    let err = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap_err();
    assert!(err.to_string().contains("key.json"), "{err}");
}

#[test]
fn passphrase_files_give_their_first_line() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("pass");
    std::fs::write(&f, "correct horse\n").unwrap();
    let (_t, dir, db) = dirs();
    let a = unlock(
        &dir,
        &db,
        Some(&Passphrase::from_file(&f).unwrap()),
        &NoKeyring,
    )
    .unwrap();
    let b = unlock(&dir, &db, Some(&pass("correct horse")), &NoKeyring).unwrap();
    assert_eq!(a.key.as_bytes(), b.key.as_bytes());
    std::fs::write(&f, "\n").unwrap();
    assert!(matches!(
        Passphrase::from_file(&f).unwrap_err(),
        VaultError::EmptyPassphrase { .. }
    ));
    assert_eq!(format!("{:?}", pass("secret words")), "Passphrase(..)");
}

/// A data folder with a passphrase key and a database holding `canary` in its activity log.
fn recorded(canary: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let (t, dir, db) = dirs();
    let key = unlock(&dir, &db, Some(&pass("old passphrase")), &NoKeyring)
        .unwrap()
        .key;
    let store = glasshouse_store::Store::open(&db, &key).unwrap();
    store
        .log(glasshouse_store::ActivityKind::Settings, canary)
        .unwrap();
    store.close().unwrap();
    (t, dir, db)
}

fn log_of(db: &Path, key: &DbKey) -> String {
    let reader = glasshouse_store::Reader::open(db, key).unwrap();
    format!("{:?}", reader.activity(100).unwrap())
}

/// Every file of the data folder, as the old key decrypts it.
fn readable_with(dir: &Path, key: &DbKey) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        all.extend(std::fs::read(&p).unwrap());
        if p.file_name().is_some_and(|n| n == "glasshouse.db") {
            all.extend(glasshouse_store::raw::decrypted_pages(&p, key).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_changed_passphrase_opens_the_data_and_the_old_one_no_longer_does() {
    let (_t, dir, db) = recorded("CanaryBeforeChange");
    let old_key = unlock(&dir, &db, Some(&pass("old passphrase")), &NoKeyring)
        .unwrap()
        .key;
    assert!(
        contains(&readable_with(&dir, &old_key), "CanaryBeforeChange"),
        "control"
    );

    change_passphrase(&dir, &db, &pass("old passphrase"), &pass("new passphrase")).unwrap();

    let err = unlock(&dir, &db, Some(&pass("old passphrase")), &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase { .. }), "{err}");
    let new_key = unlock(&dir, &db, Some(&pass("new passphrase")), &NoKeyring)
        .unwrap()
        .key;
    assert!(log_of(&db, &new_key).contains("CanaryBeforeChange"));
    // What the old key encrypted is gone: nothing in the folder decrypts with it.
    assert!(!contains(
        &readable_with(&dir, &old_key),
        "CanaryBeforeChange"
    ));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("rekeyed") && !n.ends_with(".new") && !n.ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn a_refused_change_changes_nothing() {
    let (_t, dir, db) = recorded("CanaryRefused");
    let before = (
        std::fs::read(dir.join(KEY_FILE)).unwrap(),
        std::fs::read(&db).unwrap(),
    );
    let err = change_passphrase(
        &dir,
        &db,
        &pass("wrong passphrase"),
        &pass("new passphrase"),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase { .. }), "{err}");
    let err = change_passphrase(&dir, &db, &pass("old passphrase"), &pass("short")).unwrap_err();
    assert!(matches!(err, VaultError::WeakPassphrase { .. }), "{err}");
    let after = (
        std::fs::read(dir.join(KEY_FILE)).unwrap(),
        std::fs::read(&db).unwrap(),
    );
    assert!(before == after, "key.json or the database changed");

    // A key in the keyring has no passphrase to change.
    let (_t2, dir2, db2) = dirs();
    unlock(&dir2, &db2, None, &Memory::default()).unwrap();
    let err = change_passphrase(
        &dir2,
        &db2,
        &pass("old passphrase"),
        &pass("new passphrase"),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::KeyInKeyring { .. }), "{err}");
}

/// Step 1 of a change from "old passphrase" to "new passphrase": the re-encrypted copy.
fn copy_step(dir: &Path, db: &Path) -> (DbKey, DbKey, passphrase::Kdf, std::path::PathBuf) {
    let old_key = unlock(dir, db, Some(&pass("old passphrase")), &NoKeyring)
        .unwrap()
        .key;
    let kdf = passphrase::Kdf::new().unwrap();
    let new_key = passphrase::derive(&pass("new passphrase"), kdf.params(dir).unwrap()).unwrap();
    let staged = dir.join("glasshouse.db.rekeyed");
    glasshouse_store::reencrypt(db, &old_key, &new_key, &staged).unwrap();
    (old_key, new_key, kdf, staged)
}

/// Crashes between the steps: before the change is decided the old passphrase still opens
/// everything (and the next change clears the copy); once decided, the next look at the folder
/// finishes it and the new passphrase opens everything.
#[test]
fn an_interrupted_change_is_dropped_or_finished() {
    // Step 1 done, not decided.
    let (_t, dir, db) = recorded("CanaryUndecided");
    let (_, _, _, staged) = copy_step(&dir, &db);
    assert_eq!(state(&dir, &db).unwrap(), KeyState::Passphrase);
    let again = unlock(&dir, &db, Some(&pass("old passphrase")), &NoKeyring).unwrap();
    assert!(log_of(&db, &again.key).contains("CanaryUndecided"));
    change_passphrase(
        &dir,
        &db,
        &pass("old passphrase"),
        &pass("other passphrase"),
    )
    .unwrap();
    assert!(!staged.exists());
    let k = unlock(&dir, &db, Some(&pass("other passphrase")), &NoKeyring)
        .unwrap()
        .key;
    assert!(log_of(&db, &k).contains("CanaryUndecided"));

    // Steps 1 and 2 done: decided, then a crash.
    let (_t, dir, db) = recorded("CanaryDecided");
    let (old_key, new_key, kdf, staged) = copy_step(&dir, &db);
    assert!(
        contains(&readable_with(&dir, &old_key), "CanaryDecided"),
        "control"
    );
    keyfile::write_as(
        &dir,
        &keyfile::KeyFile::passphrase(&new_key, kdf),
        "key.json.new",
    )
    .unwrap();
    // The next process to look finishes it.
    assert_eq!(state(&dir, &db).unwrap(), KeyState::Passphrase);
    assert!(!staged.exists() && !dir.join("key.json.new").exists());
    let err = unlock(&dir, &db, Some(&pass("old passphrase")), &NoKeyring).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase { .. }), "{err}");
    let k = unlock(&dir, &db, Some(&pass("new passphrase")), &NoKeyring)
        .unwrap()
        .key;
    assert!(log_of(&db, &k).contains("CanaryDecided"));
    assert!(!contains(&readable_with(&dir, &old_key), "CanaryDecided"));
}
