//! The forms a token can take in upstream text, and an independent check that none is
//! left in an output: the output is decoded (JSON string escapes, `%XX` in either case,
//! line breaks removed, twice, for a form escaped inside another) and searched for the raw
//! token. Independent of `SecretToken::redact`, which it checks.

/// The forms of `token` an upstream may write inside a JSON string of a raw body: raw,
/// JSON-escaped in part and fully, percent-encoded in either case and fully, after `Bearer`,
/// and broken across lines.
pub fn forms(token: &str) -> Vec<(&'static str, String)> {
    let json_escaped: String = token.bytes().map(|b| format!("\\u{b:04x}")).collect();
    let percent_upper: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    let (head, tail) = token.split_at(token.len() / 2);
    vec![
        ("raw", token.to_owned()),
        ("JSON-escaped '_'", token.replace('_', "\\u005f")),
        ("fully JSON-escaped", json_escaped),
        ("percent-encoded '_' (upper)", token.replace('_', "%5F")),
        ("percent-encoded '_' (lower)", token.replace('_', "%5f")),
        ("fully percent-encoded", percent_upper),
        ("after Bearer", format!("Bearer {token}")),
        ("split across lines", format!("{head}\\n{tail}")),
        (
            "split across CRLF, percent-encoded",
            format!("{head}%0D%0A{tail}"),
        ),
    ]
}

/// `text` with what could hide the token undone: JSON `\uXXXX` and short escapes, `%XX`
/// in either case, and line breaks (raw or escaped).
pub fn decoded(text: &str) -> String {
    let mut s = text.to_owned();
    // Twice: a form may be escaped inside another (`\u0025` is `%`).
    for _ in 0..2 {
        s = unescape_json(&s);
        s = percent_decode(&s);
    }
    s.replace(['\r', '\n'], "")
}

fn unescape_json(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => out.push_str(&format!("\\u{hex}")),
                }
            }
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Panics, naming `what`, when `token` can be read back from `text`.
pub fn assert_free(token: &str, what: &str, text: &str) {
    assert!(
        !decoded(text).contains(token),
        "{what}: the token can be read back from:\n{text}"
    );
}
