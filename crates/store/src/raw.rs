//! What is on disk, decrypted page by page: every page of the database file and every frame of
//! its write-ahead log, free and superseded ones included, exactly as SQLCipher encrypted them.
//!
//! SQL only ever shows live rows, so it cannot tell whether deleted input still sits in a free
//! page or an old WAL frame. This can: the tests that promise "deleted means gone" scan its
//! output for the deleted text, as they would scan an unencrypted file. It needs the key, and
//! shows nothing an owner of the key could not read anyway.
//!
//! Layout (SQLCipher 4, raw key): pages of 4096 bytes, each ending in an 80-byte reserve of a
//! 16-byte IV and a 64-byte HMAC; the bytes before the reserve are AES-256-CBC with the raw key
//! (page 1 starts with the file's 16-byte salt, in clear). A WAL frame is a 24-byte header and one
//! such page.
//!
//! [`open_keyed`] is the other way in: a plain SQLite connection to the file with its key, as
//! anyone holding the key could open it (tests edit rows behind the store's back with it).

use std::path::Path;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};

use crate::error::{SqlContext, StoreError};
use crate::key::{DbKey, sibling};

const PAGE: usize = 4096;
const RESERVE: usize = 80;
const SALT: usize = 16;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

type Decryptor = cbc::Decryptor<aes::Aes256>;

/// A read-write SQLite connection to the database at `path`, keyed with `key`, bypassing the
/// store: no schema check, no writer thread, no audit chain.
pub fn open_keyed(path: &Path, key: &DbKey) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path).at(path)?;
    crate::key::apply(&conn, key, path)?;
    Ok(conn)
}

/// Writes an unencrypted copy of the database at `path` (keyed with `key`) to the new file
/// `to`: what a version before encryption left, for the tests of its migration.
pub fn write_unencrypted_copy(path: &Path, key: &DbKey, to: &Path) -> Result<(), StoreError> {
    let conn = open_keyed(path, key)?;
    crate::key::export_to(&conn, path, to, "")
}

/// The plaintext of every page of the database at `path` and of every frame of its `-wal`, in
/// file order (page 1 without its salt; the WAL's headers left out). Pages that do not decrypt
/// (a file not encrypted with `key`) come out as noise, not as an error.
pub fn decrypted_pages(path: &Path, key: &DbKey) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let db = read_if_present(path)?;
    for (i, page) in db.chunks_exact(PAGE).enumerate() {
        decrypt_page(page, i == 0, key, &mut out);
    }
    let wal = read_if_present(&sibling(path, "-wal"))?;
    if wal.len() > WAL_HEADER {
        for frame in wal[WAL_HEADER..].chunks_exact(FRAME_HEADER + PAGE) {
            let page_no = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            decrypt_page(&frame[FRAME_HEADER..], page_no == 1, key, &mut out);
        }
    }
    Ok(out)
}

fn decrypt_page(page: &[u8], first: bool, key: &DbKey, out: &mut Vec<u8>) {
    let start = if first { SALT } else { 0 };
    let end = PAGE - RESERVE;
    let iv = &page[end..end + 16];
    let mut buf = page[start..end].to_vec();
    let decryptor = Decryptor::new(key.as_bytes().into(), iv.into());
    if decryptor.decrypt_padded_mut::<NoPadding>(&mut buf).is_ok() {
        out.extend_from_slice(&buf);
    }
}

fn read_if_present(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
