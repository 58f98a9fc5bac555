//! Bytes to document and back: zstd (one frame, with content size and checksum) around compact
//! JSON, and the readable view.

use std::io::Read;

use serde::Deserialize;

use crate::{BatchError, Document, FORMAT, MAX_COMPRESSED_BYTES, MAX_DOCUMENT_BYTES, VERSION};

/// The four bytes every zstd frame starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The largest back-reference window a batch may use: 2^24 = 16 MiB (levels up to 19 use at most
/// 8 MiB). It bounds the decoder's memory whatever a frame header asks for.
const WINDOW_LOG_MAX: u32 = 24;

/// Compresses the JSON document: one frame, deterministic for a given zstd version and level.
pub(crate) fn compress(json: &[u8], level: i32) -> Result<Vec<u8>, BatchError> {
    let fail = |e: std::io::Error| BatchError::Compress(e.to_string());
    let mut c = zstd::bulk::Compressor::new(level).map_err(fail)?;
    c.include_checksum(true).map_err(fail)?;
    c.include_contentsize(true).map_err(fail)?;
    c.compress(json).map_err(fail)
}

/// Decompresses with every bound applied: input size, one frame, window size, output size.
pub(crate) fn decompress(bytes: &[u8]) -> Result<Vec<u8>, BatchError> {
    if bytes.len() > MAX_COMPRESSED_BYTES {
        return Err(BatchError::TooLarge { size: bytes.len() });
    }
    if !bytes.starts_with(&ZSTD_MAGIC) {
        return Err(BatchError::NotZstd);
    }
    // A frame that declares a size over the bound is refused before any work; one that declares
    // none (streamed) is stopped when its output passes the bound.
    let declared = zstd::zstd_safe::get_frame_content_size(bytes)
        .map_err(|_| BatchError::Corrupt("its frame header is invalid".into()))?;
    if declared.is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
        return Err(BatchError::DocumentTooLarge);
    }
    let corrupt = |e: std::io::Error| BatchError::Corrupt(e.to_string());
    let mut decoder = zstd::stream::read::Decoder::with_buffer(bytes)
        .map_err(corrupt)?
        .single_frame();
    decoder.window_log_max(WINDOW_LOG_MAX).map_err(corrupt)?;
    // Trust the declared size only as far as the input could plausibly expand.
    let mut out =
        Vec::with_capacity(declared.map_or(0, |n| n.min(bytes.len() as u64 * 64) as usize));
    (&mut decoder)
        .take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() > MAX_DOCUMENT_BYTES {
        return Err(BatchError::DocumentTooLarge);
    }
    if !decoder.finish().is_empty() {
        return Err(BatchError::TrailingBytes);
    }
    Ok(out)
}

/// Decompresses (bounded), parses and validates a batch; every malformed input is an `Err`, never
/// a panic.
pub fn decode(bytes: &[u8]) -> Result<Document, BatchError> {
    parse(&decompress(bytes)?)
}

/// Parses and validates the decompressed JSON document.
///
/// The answer is always [`parse_probing`]'s, in less time: what `build` writes is read by
/// [`crate::fast`], other objects by serde_json in one pass. A JSON object that serde_json reads
/// as a [`Document`] is one whose probe reads the same `format` and `version`, and
/// [`Document::validate`] starts with the probe's checks, so [`parse_probing`] is needed only
/// for the error of what serde_json refuses (and for anything but an object: serde would read a
/// `Document` from an array too, the probe not).
pub(crate) fn parse(json: &[u8]) -> Result<Document, BatchError> {
    let object = json
        .iter()
        .find(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
        .is_some_and(|&b| b == b'{');
    let doc = match crate::fast::parse(json) {
        Some(doc) => doc,
        None if object => match serde_json::from_slice::<Document>(json) {
            Ok(doc) => doc,
            Err(_) => return parse_probing(json),
        },
        None => return parse_probing(json),
    };
    doc.validate()?;
    Ok(doc)
}

/// Parses and validates the decompressed JSON document, reading `format` and `version` first so
/// that another format or a newer version gets its own error rather than a complaint about a
/// field it does not have.
fn parse_probing(json: &[u8]) -> Result<Document, BatchError> {
    /// What identifies a batch, read first so that another format or a newer version gets its
    /// own error rather than a complaint about a field it does not have.
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
        version: Option<u32>,
    }
    let probe: Probe =
        serde_json::from_slice(json).map_err(|e| BatchError::NotJson(e.to_string()))?;
    match probe.format.as_deref() {
        Some(FORMAT) => {}
        other => {
            return Err(BatchError::WrongFormat {
                found: other.unwrap_or("").to_owned(),
            });
        }
    }
    match probe.version {
        Some(VERSION) => {}
        Some(found) => return Err(BatchError::UnsupportedVersion { found }),
        None => return Err(BatchError::NotJson("the `version` field is missing".into())),
    }
    let doc: Document =
        serde_json::from_slice(json).map_err(|e| BatchError::NotJson(e.to_string()))?;
    doc.validate()?;
    Ok(doc)
}

/// The same document as pretty-printed JSON: the "readable view" shown to the employee next to
/// the exact bytes. Objects are indented; arrays of plain values are written a line at a time.
/// Parsing it gives the same [`Document`] as [`decode`].
pub fn readable(bytes: &[u8]) -> Result<String, BatchError> {
    let json = decompress(bytes)?;
    parse(&json)?;
    // Valid JSON is UTF-8; the document was just parsed from it.
    let text = String::from_utf8(json).map_err(|e| BatchError::NotJson(e.to_string()))?;
    Ok(pretty(&text))
}

/// Line width after which an array of plain values continues on the next line.
const WIDTH: usize = 100;

/// Whether the object whose contents start `rest` holds only plain values (it is then written on
/// one line).
fn flat_object(rest: &[u8]) -> bool {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'"' => {
                i += 1;
                while i < rest.len() && rest[i] != b'"' {
                    i += if rest[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => return false,
            b'}' => return true,
            _ => {}
        }
        i += 1;
    }
    true
}

/// Re-indents compact JSON (as serde_json writes it: no whitespace outside strings).
fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    // Per open container: whether it is written one element per line (objects holding objects or
    // arrays, and arrays of objects or arrays) or flowing (anything holding only plain values).
    let mut stack: Vec<bool> = Vec::new();
    let mut line_start = 0usize;
    let newline = |out: &mut String, depth: usize, line_start: &mut usize| {
        out.push('\n');
        *line_start = out.len();
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let bytes = json.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' => {
                // Copy the whole string, escapes included.
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push_str(&json[start..i]);
                continue;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = bytes.get(i + 1).copied();
                out.push(char::from(c));
                if next == Some(close) {
                    out.push(char::from(close));
                    i += 2;
                    continue;
                }
                let by_line = if c == b'{' {
                    !flat_object(&bytes[i + 1..])
                } else {
                    matches!(next, Some(b'{' | b'['))
                };
                stack.push(by_line);
                if by_line {
                    newline(&mut out, stack.len(), &mut line_start);
                }
            }
            b'}' | b']' => {
                if stack.pop() == Some(true) {
                    newline(&mut out, stack.len(), &mut line_start);
                }
                out.push(char::from(c));
            }
            b',' => {
                out.push(',');
                match stack.last() {
                    Some(true) => newline(&mut out, stack.len(), &mut line_start),
                    _ if out.len() - line_start > WIDTH => {
                        newline(&mut out, stack.len(), &mut line_start);
                    }
                    _ => out.push(' '),
                }
            }
            b':' => out.push_str(": "),
            // Whitespace between tokens (a document `decode` accepts need not be compact): the
            // layout is made here, so it goes; left in, the number branch below would read on
            // into the next string and split it at its colons.
            b' ' | b'\n' | b'\t' | b'\r' => {}
            _ => {
                // A number, `true`, `false` or `null`: ASCII up to the next delimiter.
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b',' | b']' | b'}' | b':') {
                    i += 1;
                }
                out.push_str(&json[start..i]);
                continue;
            }
        }
        i += 1;
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_the_document() {
        let json = r#"{"a":[1,2,3],"b":{"c":"x,\"y\"]","d":[]},"e":[{"f":null},{"g":[true,false]}],"h":{}}"#;
        let p = pretty(json);
        let a: serde_json::Value = serde_json::from_str(json).unwrap();
        let b: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(a, b);
        assert!(p.contains("\"a\": [1, 2, 3]"), "{p}");
        assert!(p.contains("\"e\": [\n    {\"f\": null},\n    {\n"), "{p}");
    }

    #[test]
    fn pretty_keeps_a_document_that_was_not_compact() {
        // Found by glasshouse-fuzz: whitespace before a string made the colons inside the
        // string look like separators ("10:00:00Z" became "10: 00: 00Z").
        let json = "{\"window\": {\"end\": \"2026-03-02T10:00:00Z\",\n  \"n\" : [1 , 2]},\t\"t\":\r\n\"a: b, c\"}";
        let p = pretty(json);
        let a: serde_json::Value = serde_json::from_str(json).unwrap();
        let b: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(a, b, "{p}");
        assert!(p.contains("\"2026-03-02T10:00:00Z\""), "{p}");
    }

    #[test]
    fn long_plain_arrays_wrap() {
        let json = format!("{{\"a\":[{}]}}", vec!["12345"; 100].join(","));
        let p = pretty(&json);
        assert!(p.lines().all(|l| l.len() <= WIDTH + 10), "{p}");
        let a: serde_json::Value = serde_json::from_str(&json).unwrap();
        let b: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(a, b);
    }
}
