//! The fast route of GraphQL answers: a clean body decoded straight into typed data.
//!
//! It must refuse exactly what the `Value` route refuses, or an answer would be accepted or
//! refused depending on which fields the caller selected. serde's `IgnoredAny` skips
//! unselected fields without checking them: on bytes, serde_json validates UTF-8 only in the
//! strings it decodes, and never pairs the surrogate escapes of the strings it skips
//! (`"\ud800"` alone). So the body is checked as UTF-8 and for lone surrogate escapes first;
//! such a body goes to the `Value` route, which refuses it as it always has.

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

/// The `data` of a GraphQL body decoded straight into `T`, when the body is a clean answer:
/// valid UTF-8 without lone surrogate escapes, no `errors` entry, `data` present and of that
/// shape. Anything else is `None`, for the `Value` route and its precise errors.
pub(crate) fn clean_data<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    match typed::<Envelope<T>>(body)? {
        Envelope {
            data: Some(data),
            errors: None,
        } => Some(data),
        _ => None,
    }
}

/// `body` decoded straight into `T` (a GraphQL envelope, a REST page), when it is valid
/// UTF-8 without lone surrogate escapes and of that shape; `None` sends the caller to the
/// `Value` route, so both routes accept the same bodies.
pub(crate) fn typed<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let text = std::str::from_utf8(body).ok()?;
    if has_lone_surrogate(text) {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Whether `body` holds a surrogate escape that is not half of a pair: a `\uD800`–`\uDBFF`
/// not followed at once by a `\uDC00`–`\uDFFF`, or the latter alone.
fn has_lone_surrogate(text: &str) -> bool {
    let body = text.as_bytes();
    let escape_at = |i: usize| -> Option<u16> {
        let hex = body.get(i..i + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut i = 0;
    // `str::find` of one byte is a memchr: bodies of megabytes without escapes cost little.
    while let Some(at) = text.get(i..).and_then(|rest| rest.find('\\')) {
        i += at;
        match escape_at(i) {
            Some(0xD800..=0xDBFF) => match escape_at(i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => return true,
            },
            Some(0xDC00..=0xDFFF) => return true,
            Some(_) => i += 6,
            // Any other escape is two bytes (`\\` included, so its second byte is skipped).
            None => i += 2,
        }
    }
    false
}

/// A GraphQL answer as the fast route decodes it: `errors` is only looked at for presence.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    errors: Option<IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Selected {
        #[allow(dead_code)]
        name: String,
    }

    /// The `Value` route's verdict on a body (as `Api::graphql` parses it).
    fn value_route_accepts(body: &[u8]) -> bool {
        serde_json::from_slice::<Value>(body).is_ok()
    }

    #[test]
    fn both_routes_refuse_what_either_refuses_in_unselected_fields() {
        let refused: &[(&str, Vec<u8>)] = &[
            (
                "invalid UTF-8 in an unselected field",
                b"{\"data\":{\"name\":\"a\",\"other\":\"\xff\xfe\"}}".to_vec(),
            ),
            (
                "a lone leading surrogate in an unselected field",
                br#"{"data":{"name":"a","other":"\ud800"}}"#.to_vec(),
            ),
            (
                "a lone trailing surrogate in an unselected field",
                br#"{"data":{"name":"a","other":"x\uDC00y"}}"#.to_vec(),
            ),
            (
                "a reversed pair in an unselected field",
                br#"{"data":{"name":"a","other":"\udc00\ud800"}}"#.to_vec(),
            ),
        ];
        for (what, body) in refused {
            assert!(!value_route_accepts(body), "the Value route refuses {what}");
            assert!(
                clean_data::<Selected>(body).is_none(),
                "the fast route leaves {what} to the Value route"
            );
        }
    }

    #[test]
    fn rest_pages_decode_typed_only_where_the_value_route_agrees() {
        let lone = br#"[{"name":"a","other":"\udfff"}]"#;
        assert!(!value_route_accepts(lone));
        assert!(typed::<Vec<Selected>>(lone).is_none());
        let bad = b"[{\"name\":\"a\",\"other\":\"\xc3\"}]";
        assert!(!value_route_accepts(bad));
        assert!(typed::<Vec<Selected>>(bad).is_none());
        let fine = br#"[{"name":"a","other":"\ud83d\ude00"}]"#;
        assert!(typed::<Vec<Selected>>(fine).is_some());
    }

    #[test]
    fn clean_answers_still_take_the_fast_route() {
        let clean = br#"{"data":{"name":"Zo\u00e9 \u2603","other":[1,{"x":null}]}}"#;
        assert!(value_route_accepts(clean));
        assert!(clean_data::<Selected>(clean).is_some());
        // A valid pair, and an escaped backslash before a `u`, are fine for both.
        let pair = br#"{"data":{"name":"a","other":"\ud83d\ude00 \\ud800"}}"#;
        assert!(value_route_accepts(pair));
        assert!(clean_data::<Selected>(pair).is_some());
        assert!(clean_data::<Selected>(br#"{"data":{"name":"a"},"errors":[]}"#).is_none());
    }
}
