//! Cursors a caller could make up: garbage, tampered copies, and forgeries that carry a
//! valid checksum (the checksum is not a signature; anyone can recompute it from the format
//! documented in `unidir_core::cursor`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unidir_core::{CURSOR_VERSION, Cursor, CursorBinding, Filters};

use crate::context::List;

/// Strings that are no cursor at all.
pub(crate) fn garbage() -> Vec<(&'static str, Cursor)> {
    vec![
        ("an empty cursor", Cursor::new("")),
        ("a word", Cursor::new("not-a-cursor")),
        ("non-base64 text", Cursor::new("%%%/..\\?#")),
        (
            "base64 of plain text",
            Cursor::new(URL_SAFE_NO_PAD.encode("hello")),
        ),
        (
            "base64 of another JSON object",
            Cursor::new(URL_SAFE_NO_PAD.encode(r#"{"page":2}"#)),
        ),
        ("a 5,000-character cursor", Cursor::new("A".repeat(5_000))),
    ]
}

/// Copies of a real cursor with a character changed or the end cut off.
pub(crate) fn tampered(cursor: &Cursor) -> Vec<(String, Cursor)> {
    let raw = cursor.as_str();
    let mut out = Vec::new();
    if raw.len() >= 2 {
        out.push((
            "the real cursor cut in half".to_owned(),
            Cursor::new(&raw[..raw.len() / 2]),
        ));
    }
    // Flip one base64 character in the middle (to another valid base64 character).
    let mut bytes = raw.as_bytes().to_vec();
    if let Some(b) = bytes.get_mut(raw.len() / 2) {
        *b = if *b == b'A' { b'B' } else { b'A' };
        if let Ok(flipped) = String::from_utf8(bytes) {
            out.push((
                "the real cursor with one character changed".to_owned(),
                Cursor::new(flipped),
            ));
        }
    }
    out
}

/// A well-formed cursor of another provider for the same list and query.
pub(crate) fn other_provider(list: &List, filters: &Filters) -> Option<Cursor> {
    CursorBinding::new("conformance-other", list.resource(), filters, &list.scope())
        .encode(&json!({ "o": 1 }))
        .ok()
}

fn checksum(p: &Value, r: &Value, q: &Value, s: &Value) -> String {
    let material = json!([CURSOR_VERSION, p, r, q, s]);
    Sha256::digest(material.to_string().as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The wire object of a unidir cursor, when `cursor` is one.
fn decode(cursor: &Cursor) -> Option<serde_json::Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).ok()?;
    let Value::Object(wire) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    ["v", "p", "r", "q", "s", "c"]
        .iter()
        .all(|k| wire.contains_key(*k))
        .then_some(wire)
}

/// `wire` with state `s` and a checksum that matches it.
fn reencode(wire: &serde_json::Map<String, Value>, s: Value) -> Cursor {
    let mut wire = wire.clone();
    let c = checksum(&wire["p"], &wire["r"], &wire["q"], &s);
    wire.insert("s".into(), s);
    wire.insert("c".into(), Value::String(c));
    Cursor::new(URL_SAFE_NO_PAD.encode(Value::Object(wire).to_string()))
}

/// JSON pointers of every number and string inside `value`.
fn leaves(value: &Value, at: String, out: &mut Vec<(String, bool)>) {
    match value {
        Value::Number(_) => out.push((at, true)),
        Value::String(_) => out.push((at, false)),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                leaves(v, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// Forgeries of a real cursor with a valid checksum: the state replaced by one the adapter
/// never wrote, and each number in it set far past any list's end, and each string in it
/// replaced. `None` when `cursor` is not in unidir's cursor format (an adapter may use its
/// own; these probes then do not apply).
pub(crate) fn forgeries(cursor: &Cursor) -> Option<Vec<(String, Cursor)>> {
    let wire = decode(cursor)?;
    let state = wire["s"].clone();
    let mut out = vec![(
        "a checksummed cursor whose state the adapter never wrote".to_owned(),
        reencode(&wire, json!({ "forged": true })),
    )];
    let mut found = Vec::new();
    leaves(&state, String::new(), &mut found);
    for (pointer, number) in found {
        let mut forged = state.clone();
        if let Some(slot) = forged.pointer_mut(&pointer) {
            *slot = if number {
                json!(4_000_000_000u64)
            } else {
                json!("forged")
            };
        }
        let what = if number {
            format!("a checksummed cursor with state {pointer} set to 4000000000")
        } else {
            format!("a checksummed cursor with state {pointer} set to \"forged\"")
        };
        out.push((what, reencode(&wire, forged)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unidir_core::Resource;

    #[test]
    fn forgeries_pass_the_checksum_and_fail_the_adapter_state() {
        let binding = CursorBinding::new("memory", Resource::Users, &Filters::default(), &[]);
        let real = binding.encode(&json!({ "o": 2 })).expect("encode");
        let forged = forgeries(&real).expect("a unidir cursor");
        assert_eq!(forged.len(), 2);
        // The checksum holds, so the binding decodes the forged state: only the adapter's
        // own reading of the state can refuse it.
        let state: Value = binding.decode(&forged[1].1).expect("checksum matches");
        assert_eq!(state, json!({ "o": 4_000_000_000u64 }));
        let state: Value = binding.decode(&forged[0].1).expect("checksum matches");
        assert_eq!(state, json!({ "forged": true }));
        assert!(forgeries(&Cursor::new("opaque-provider-token")).is_none());
    }

    #[test]
    fn tampered_copies_differ_from_the_original() {
        let binding = CursorBinding::new("memory", Resource::Users, &Filters::default(), &[]);
        let real = binding.encode(&json!({ "o": 2 })).expect("encode");
        for (what, cursor) in tampered(&real) {
            assert_ne!(cursor, real, "{what}");
            assert!(binding.decode::<Value>(&cursor).is_err(), "{what}");
        }
    }
}
