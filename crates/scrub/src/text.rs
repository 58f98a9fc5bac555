//! Small helpers on byte positions of a `&str`.

/// The character just before byte `at` (which must be a char boundary), if any.
pub(crate) fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

/// The character starting at byte `at` (which must be a char boundary), if any.
pub(crate) fn char_at(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

/// Whether `c` continues a word: letters and digits of any script, and `_`.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// No word character immediately before `start` nor immediately after `end`. The start and the
/// end of the input count as boundaries.
pub(crate) fn word_bounded(text: &str, start: usize, end: usize) -> bool {
    !char_before(text, start).is_some_and(is_word) && !char_at(text, end).is_some_and(is_word)
}

/// Whether `needle` (lowercase ASCII) occurs, ASCII-case-insensitively, in the `window` bytes
/// before `at`. Works on bytes, so it never slices inside a character.
pub(crate) fn mentioned_before(text: &str, at: usize, window: usize, needles: &[&str]) -> bool {
    let bytes = text.as_bytes();
    let from = at.saturating_sub(window);
    let hay = &bytes[from..at];
    needles.iter().any(|needle| {
        let n = needle.as_bytes();
        hay.len() >= n.len() && hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    })
}
