//! Text that came from somewhere unidir does not control (a provider, a cursor, a file),
//! made safe to show: control and bidirectional-override characters escaped, length bounded.
//!
//! Every piece of untrusted text that reaches an [`crate::Error`] message, a log line or a
//! terminal goes through [`display_safe`] (or [`escape_unsafe`] when its length is already
//! bounded), so one function decides what a terminal may receive.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The most characters of untrusted text kept in one message.
pub const MAX_UNTRUSTED_CHARS: usize = 300;

/// Whether `c` can change what a terminal shows beyond its own glyph: C0 and C1 control
/// characters (ESC, CR, LF, BEL, DEL, ...), bidirectional embeddings, overrides and
/// isolates, directional marks, and the line and paragraph separators.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [unsafe character](is_unsafe_char) written as a visible `\u{..}`
/// escape. Borrowed when nothing needed escaping.
pub fn escape_unsafe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_char(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Untrusted text bounded to [`MAX_UNTRUSTED_CHARS`] characters (an ellipsis marks a cut)
/// and with unsafe characters escaped.
pub fn display_safe(text: &str) -> String {
    bounded(text, MAX_UNTRUSTED_CHARS)
}

/// Like [`display_safe`] with a caller-chosen bound (in characters of the original text).
pub fn bounded(text: &str, max_chars: usize) -> String {
    let cut = text.char_indices().nth(max_chars).map(|(at, _)| at);
    let head = cut.map_or(text, |at| &text[..at]);
    let mut out = escape_unsafe(head).into_owned();
    if cut.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(escape_unsafe("plain name"), "plain name");
        assert!(matches!(escape_unsafe("ok"), Cow::Borrowed(_)));
        assert_eq!(escape_unsafe("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(escape_unsafe("l1\r\nl2"), "l1\\u{d}\\u{a}l2");
        assert_eq!(escape_unsafe("x\u{202E}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(escape_unsafe("\u{2066}\u{2069}"), "\\u{2066}\\u{2069}");
        assert_eq!(escape_unsafe("\u{9b}c1"), "\\u{9b}c1");
        // Ordinary non-ASCII text is kept.
        assert_eq!(escape_unsafe("Zoë 山田 🚀"), "Zoë 山田 🚀");
    }

    #[test]
    fn bounds_length_on_char_boundaries() {
        let long = "é".repeat(1000);
        let out = display_safe(&long);
        assert_eq!(out.chars().count(), MAX_UNTRUSTED_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(display_safe("short"), "short");
        let exact = "x".repeat(MAX_UNTRUSTED_CHARS);
        assert_eq!(display_safe(&exact), exact);
        assert_eq!(bounded("abc\x07", 3), "abc…");
    }
}
