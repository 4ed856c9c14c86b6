//! The one way provider text enters an error message or a log line.
//!
//! Upstream text (a REST `message`, a GraphQL `errors[].message`, a header) is untrusted: it
//! may echo the token, carry terminal escapes, or be megabytes long. [`upstream_text`]
//! removes every form of the token, escapes control and bidi characters and bounds the
//! length; adapters and the proxy call it for every piece of provider text they keep.

use unidir_core::text::display_safe;

use crate::secret::SecretToken;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// `text` made safe to put in an [`unidir_core::Error`] message: `token` removed (raw,
/// inside `Bearer ...`, percent-encoded), any other `Bearer` credential removed, control and
/// bidi characters escaped, and at most [`unidir_core::text::MAX_UNTRUSTED_CHARS`]
/// characters kept.
pub fn upstream_text(text: &str, token: Option<&SecretToken>) -> String {
    let scrubbed = match token {
        Some(token) => token.redact(text),
        None => text.to_owned(),
    };
    display_safe(&redact_bearer(&scrubbed))
}

/// Replaces the credential after every `Bearer ` (any case) with [`REDACTED`].
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("bearer") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("bearer") {
        let start = search + found;
        let after = start + "bearer".len();
        let value_start = after + text[after..].len() - text[after..].trim_start().len();
        let value_len = text[value_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .unwrap_or(text.len() - value_start);
        if value_start > after && value_len > 0 && !text[value_start..].starts_with(REDACTED) {
            out.push_str(&text[rest..value_start]);
            out.push_str(REDACTED);
            rest = value_start + value_len;
        }
        search = after.max(rest);
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> SecretToken {
        SecretToken::new("bkua_0123456789abcdef").expect("valid token")
    }

    #[test]
    fn removes_every_form_of_the_token() {
        let t = token();
        for text in [
            "token bkua_0123456789abcdef is invalid",
            "Authorization: Bearer bkua_0123456789abcdef",
            "bkua_0123456789abcdefbkua_0123456789abcdef",
            "{\"token\":\"bkua_0123456789abcdef\"}",
        ] {
            let out = upstream_text(text, Some(&t));
            assert!(!out.contains("0123456789abcdef"), "{text} -> {out}");
            assert!(out.contains(REDACTED), "{out}");
        }
        // A token after the length bound is not half-printed: scrubbing comes first.
        let long = format!("{}bkua_0123456789abcdef", "x".repeat(290));
        let out = upstream_text(&long, Some(&t));
        assert!(!out.contains("bkua_0123"), "{out}");
    }

    #[test]
    fn removes_other_bearer_credentials() {
        assert_eq!(
            upstream_text("sent bearer abc.def, then", None),
            "sent bearer [REDACTED], then"
        );
        assert_eq!(
            upstream_text("BEARER\tx", None),
            "BEARER\t[REDACTED]".replace('\t', "\\u{9}")
        );
        assert_eq!(upstream_text("bearer", None), "bearer");
        assert_eq!(upstream_text("bearers of news", None), "bearers of news");
        // A credential that runs to the end of the text is removed whole.
        assert_eq!(
            upstream_text("header was Bearer xyz123", None),
            "header was Bearer [REDACTED]"
        );
        // Nothing after `Bearer ` but a separator: there is no credential to remove.
        assert_eq!(upstream_text("bearer , next", None), "bearer , next");
        assert_eq!(upstream_text("Bearer \"x\"", None), "Bearer \"x\"");
    }

    #[test]
    fn escapes_and_bounds() {
        let out = upstream_text(&format!("\x1b[2J{}", "y".repeat(5_000_000)), None);
        assert!(out.starts_with("\\u{1b}[2J"));
        // 300 characters of the original, the ESC spelled out, and the ellipsis.
        assert_eq!(out.chars().count(), 300 + 5 + 1);
    }
}
