//! Finding a secret in text or bytes in any form an upstream or a serializer may have written
//! it: raw, percent-encoded (any byte, either hex case, fully or in part), JSON-escaped
//! (`\u005f` in either case, `\"`, `\\`, `\/`), or broken across lines (CR/LF, `\n`/`\r`
//! escapes, `%0A`/`%0D`) between any two of its characters.
//!
//! Each form is a way to write one byte of the secret, so the matcher walks the secret byte
//! by byte and keeps every position the text could have reached (a small set: a `%` in the
//! secret may be itself or the start of `%25`), instead of listing whole encodings, which
//! cannot cover a secret encoded in part.

use std::ops::Range;

/// The longest one byte of the secret can be written (`\u005f`).
const MAX_BYTE_FORM: usize = 6;
/// Line breaks allowed between two bytes of the secret (`\r\n`, as `%0D%0A` or `\r\n`).
const MAX_BREAKS: usize = 2;
/// The longest a line break can be written (`%0A`).
const MAX_BREAK_FORM: usize = 3;

/// The longest text one occurrence of a secret of `len` bytes can take.
pub(crate) fn max_form_len(len: usize) -> usize {
    len * MAX_BYTE_FORM + len.saturating_sub(1) * MAX_BREAKS * MAX_BREAK_FORM
}

/// The spans of `hay` that spell `secret`, in order and not overlapping. Every span is made
/// of ASCII bytes only, so in UTF-8 text its ends are character boundaries.
pub(crate) fn find_all(secret: &[u8], hay: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let Some(&first) = secret.first() else {
        return found;
    };
    let mut at = 0;
    while at < hay.len() {
        // Only a byte that can begin a form of the first byte starts a match.
        let starts = hay[at] == first || hay[at] == b'%' || hay[at] == b'\\';
        match starts.then(|| match_at(secret, hay, at)).flatten() {
            Some(end) => {
                found.push(at..end);
                at = end;
            }
            None => at += 1,
        }
    }
    found
}

/// The end of the longest match of `secret` starting exactly at `start`.
fn match_at(secret: &[u8], hay: &[u8], start: usize) -> Option<usize> {
    let mut positions = vec![start];
    for (i, &byte) in secret.iter().enumerate() {
        if i > 0 {
            positions = with_breaks(hay, positions);
        }
        let mut next = Vec::new();
        for &p in &positions {
            for end in byte_forms(hay, p, byte) {
                if !next.contains(&end) {
                    next.push(end);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        positions = next;
    }
    positions.into_iter().max()
}

/// `positions` and every position reached from one by up to [`MAX_BREAKS`] line breaks.
fn with_breaks(hay: &[u8], mut positions: Vec<usize>) -> Vec<usize> {
    let mut frontier = positions.clone();
    for _ in 0..MAX_BREAKS {
        let mut more = Vec::new();
        for &p in &frontier {
            for end in byte_forms(hay, p, b'\n').chain(byte_forms(hay, p, b'\r')) {
                if !positions.contains(&end) && !more.contains(&end) {
                    more.push(end);
                }
            }
        }
        if more.is_empty() {
            break;
        }
        positions.extend_from_slice(&more);
        frontier = more;
    }
    positions
}

/// Where each form of `byte` written at `p` ends.
fn byte_forms(hay: &[u8], p: usize, byte: u8) -> impl Iterator<Item = usize> {
    let rest = hay.get(p..).unwrap_or_default();
    let literal = (rest.first() == Some(&byte)).then_some(p + 1);
    let percent =
        (rest.first() == Some(&b'%') && hex_byte(rest.get(1..3)) == Some(byte)).then_some(p + 3);
    let unicode = (rest.get(..2) == Some(b"\\u".as_slice())
        && rest.get(2..4).is_some_and(|h| h == b"00")
        && hex_byte(rest.get(4..6)) == Some(byte))
    .then_some(p + 6);
    let short = (rest.first() == Some(&b'\\')
        && short_escape(byte).is_some_and(|letter| rest.get(1) == Some(&letter)))
    .then_some(p + 2);
    [literal, percent, unicode, short].into_iter().flatten()
}

/// The letter after `\` that JSON may use for `byte`.
fn short_escape(byte: u8) -> Option<u8> {
    match byte {
        b'"' | b'\\' | b'/' => Some(byte),
        b'\n' => Some(b'n'),
        b'\r' => Some(b'r'),
        _ => None,
    }
}

/// Two hex digits, in either case, as a byte.
fn hex_byte(digits: Option<&[u8]>) -> Option<u8> {
    let digits = digits?;
    let high = digits.first()?.to_ascii_lowercase();
    let low = digits.get(1)?.to_ascii_lowercase();
    Some(hex(high)? << 4 | hex(low)?)
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &[u8] = b"bkua_0123abcDEF";

    fn percent_all(text: &[u8], upper: bool) -> String {
        text.iter()
            .map(|b| {
                if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    fn json_unicode_all(text: &[u8], upper: bool) -> String {
        text.iter()
            .map(|b| {
                if upper {
                    format!("\\u{b:04X}")
                } else {
                    format!("\\u{b:04x}")
                }
            })
            .collect()
    }

    /// Every form the matcher must find, embedded in other text.
    fn forms() -> Vec<(&'static str, String)> {
        let t = std::str::from_utf8(TOKEN).unwrap();
        vec![
            ("raw", t.to_owned()),
            ("percent-encoded '_' upper", t.replace('_', "%5F")),
            ("percent-encoded '_' lower", t.replace('_', "%5f")),
            ("fully percent-encoded upper", percent_all(TOKEN, true)),
            ("fully percent-encoded lower", percent_all(TOKEN, false)),
            ("JSON \\u escape of '_'", t.replace('_', "\\u005f")),
            ("JSON \\u escape of '_' upper", t.replace('_', "\\u005F")),
            ("fully JSON-escaped", json_unicode_all(TOKEN, false)),
            ("split by LF", format!("{}\n{}", &t[..6], &t[6..])),
            ("split by CRLF", format!("{}\r\n{}", &t[..6], &t[6..])),
            (
                "split by an escaped \\n",
                format!("{}\\n{}", &t[..6], &t[6..]),
            ),
            ("split by %0A", format!("{}%0A{}", &t[..6], &t[6..])),
            ("mixed", "bk%75a\\u005f0123abc%44EF".to_owned()),
        ]
    }

    #[test]
    fn every_form_is_found_exactly() {
        for (name, form) in forms() {
            let text = format!("before {form} after");
            let spans = find_all(TOKEN, text.as_bytes());
            assert_eq!(
                spans,
                std::iter::once(7..7 + form.len()).collect::<Vec<_>>(),
                "{name}: {text:?}"
            );
            assert!(form.len() <= max_form_len(TOKEN.len()), "{name}");
        }
    }

    #[test]
    fn near_misses_are_not_found() {
        for text in [
            "bkua_0123abcDE",
            "bkua_0123abcDEf",
            "bkua_0123 abcDEF",
            "bkua_0123abc%4",
            "%5g",
            "\\u005",
            "bkua_0123\n\n\nabcDEF",
            "",
        ] {
            assert!(find_all(TOKEN, text.as_bytes()).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn repeats_and_secrets_holding_escape_bytes_are_found() {
        let text = b"bkua_0123abcDEFbkua_0123abcDEF";
        assert_eq!(find_all(TOKEN, text), [0..15, 15..30]);
        // A secret with `%` and `\` in it: written as itself, or escaped.
        let odd = br#"a%2\b"#;
        for text in [&br#"a%2\b"#[..], br#"a%252\\b"#, br#"a%25%32%5Cb"#] {
            assert_eq!(
                find_all(odd, text),
                std::iter::once(0..text.len()).collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
