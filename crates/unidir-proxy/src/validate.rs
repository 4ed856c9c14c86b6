//! Checks on caller input, run before any URL is built or any request leaves.
//!
//! Every check works on the raw caller string, before `url` (or anything else) gets a chance
//! to normalise it: `url` strips CR/LF/TAB, treats `\` as `/` and resolves `%2e%2e`, so
//! validating the parsed form would miss exactly the inputs that matter.
//!
//! Rejection messages describe the rule that was broken and never echo caller input.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue};
use unidir_http::SecretToken;

/// Longest path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 2048;
/// Most query parameters accepted on one request.
pub const MAX_QUERY_PAIRS: usize = 100;
/// Longest query accepted: the sum of the lengths of all names and values, in bytes.
pub const MAX_QUERY_LEN: usize = 8192;
/// Most request headers accepted on one request (forwarded or dropped).
pub const MAX_HEADERS: usize = 64;
/// Longest request header value accepted, in bytes.
pub const MAX_HEADER_VALUE_LEN: usize = 8192;

/// Request headers forwarded upstream for every provider (lowercase), plus the provider's
/// own ([`crate::ProxyRules::with_forwarded_headers`]). Every other header is dropped.
pub const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "if-none-match",
    "if-modified-since",
];

/// Query parameter names that would carry a credential (compared case-insensitively, on the
/// part before any `[`). The proxy authenticates; a caller-supplied credential is refused.
pub const FORBIDDEN_QUERY_NAMES: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "token",
    "auth_token",
    "private_token",
    "oauth_token",
    "bearer",
    "authorization",
];

/// Response headers never returned to the caller (lowercase): hop-by-hop headers, cookies,
/// authentication challenges, the upstream's CORS policy, and `content-length` (the body may
/// have been decompressed or scrubbed; use `body.len()`).
pub const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "set-cookie2",
    "www-authenticate",
    "content-length",
];

/// Why a REST path was refused (a rule, never caller input).
pub(crate) type Reason = Cow<'static, str>;

/// Validates a REST path relative to the API root, which must start with `prefix` (the
/// provider's, e.g. `/v2/`; it starts and ends with `/`).
pub(crate) fn check_path(path: &str, prefix: &str) -> Result<(), Reason> {
    check_raw_path(path).map_err(|reason| {
        if reason == NOT_RELATIVE {
            Cow::Owned(format!("{reason} and start with {prefix}"))
        } else {
            Cow::Borrowed(reason)
        }
    })?;
    if !path.starts_with(prefix) {
        return Err(Cow::Owned(format!("the path must start with {prefix}")));
    }
    Ok(())
}

/// The refusal of a path that does not start with `/`; [`check_path`] adds the prefix.
const NOT_RELATIVE: &str = "the path must be relative to the API root";

/// Every rule of [`check_path`] but the prefix.
fn check_raw_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    if path.len() > MAX_PATH_LEN {
        return Err("the path is longer than 2048 bytes");
    }
    if !path.is_ascii() {
        return Err("the path must be ASCII (percent-encode other characters)");
    }
    if path.bytes().any(|b| b.is_ascii_control()) {
        return Err("the path contains a control character (CR, LF, TAB, NUL, ...)");
    }
    if path.contains('\\') {
        return Err("the path contains a backslash");
    }
    if path.contains('@') {
        return Err("the path contains '@'");
    }
    if path.contains('?') || path.contains('#') {
        return Err("the path contains '?' or '#': pass query parameters separately");
    }
    if path.contains("://") {
        return Err("absolute URLs are not accepted: pass a path relative to the API root");
    }
    if path.starts_with("//") {
        return Err("scheme-relative URLs (//host) are not accepted");
    }
    if !path.starts_with('/') {
        return Err(NOT_RELATIVE);
    }
    if path.contains("//") {
        return Err("the path has an empty segment ('//')");
    }
    if let Some(bad) = path.bytes().find(|b| !allowed_path_byte(*b)) {
        return Err(if bad == b' ' {
            "the path contains a space (percent-encode it as %20)"
        } else {
            "the path contains a character outside A-Z a-z 0-9 - . _ ~ / and %XX escapes"
        });
    }
    check_escapes(path.as_bytes())?;
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            return Err("the path has an empty segment (trailing '/')");
        }
        if segment.bytes().all(|b| b == b'.') {
            return Err("the path contains a dot segment ('.' or '..')");
        }
    }
    Ok(())
}

fn allowed_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b'%')
}

/// Whether `b` is an RFC 3986 unreserved character other than `.`: the only bytes a
/// `%XX` escape may stand for.
fn escapable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~')
}

/// Checks `%XX` escapes: each must be well formed and stand for a letter, digit, `-`, `_`
/// or `~`. Everything else is refused: separators and dots (`%2f`, `%5c`, `%2e`), double
/// encoding (`%25`), controls, and every non-ASCII byte, so no escape can turn into a
/// separator after decoding, Unicode normalisation or a lenient UTF-8 decoder (`%c0%ae`,
/// the full-width slash `%EF%BC%8F`, a bidi override `%E2%80%AE`).
fn check_escapes(bytes: &[u8]) -> Result<(), &'static str> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
            return Err("the path has a malformed percent-escape");
        };
        match (hi * 16 + lo) as u8 {
            b if escapable(b) => {}
            b'.' => return Err("the path contains a percent-encoded dot (%2e)"),
            b'/' | b'\\' => {
                return Err("the path contains a percent-encoded slash or backslash (%2f, %5c)");
            }
            b'%' => return Err("the path contains a percent-encoded '%' (double encoding)"),
            b if !b.is_ascii() => {
                return Err(
                    "the path contains a percent-encoded non-ASCII byte (e.g. %EF%BC%8F, a full-width slash): only letters, digits, '-', '_' and '~' may be percent-encoded",
                );
            }
            _ => {
                return Err(
                    "the path contains a percent-escape of a character other than a letter, digit, '-', '_' or '~' (e.g. %20, %3f, %0d)",
                );
            }
        }
        i += 3;
    }
    Ok(())
}

/// Whether `path` is `prefix` itself or lies below it (segment boundary, not string prefix).
pub(crate) fn under_prefix(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Validates query parameters (names and values arrive decoded; they are re-encoded with
/// `query_pairs_mut` when the URL is built).
pub(crate) fn check_query(query: &[(String, String)], reserved: &[&str]) -> Result<(), String> {
    if query.len() > MAX_QUERY_PAIRS {
        return Err(format!(
            "too many query parameters (at most {MAX_QUERY_PAIRS})"
        ));
    }
    let total: usize = query.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_QUERY_LEN {
        return Err(format!("the query is longer than {MAX_QUERY_LEN} bytes"));
    }
    for (name, value) in query {
        if name.is_empty() {
            return Err("a query parameter has an empty name".into());
        }
        if name.chars().chain(value.chars()).any(char::is_control) {
            return Err(
                "a query parameter contains a control character (CR, LF, TAB, NUL, ...)".into(),
            );
        }
        let base = name
            .split('[')
            .next()
            .unwrap_or(name)
            .trim()
            .to_ascii_lowercase();
        if let Some(forbidden) = FORBIDDEN_QUERY_NAMES.iter().find(|f| **f == base) {
            return Err(format!(
                "the query parameter '{forbidden}' is not accepted: the proxy supplies the credential"
            ));
        }
        if let Some(taken) = reserved.iter().find(|r| **r == base) {
            return Err(format!(
                "the query parameter '{taken}' is set by the proxy when listing: use the cursor and limit"
            ));
        }
    }
    Ok(())
}

/// The outcome of filtering caller headers.
#[derive(Debug, Default)]
pub(crate) struct FilteredHeaders {
    /// What goes upstream.
    pub(crate) forward: HeaderMap,
    /// Lowercase names of the headers that were dropped (values are never kept).
    pub(crate) dropped: Vec<String>,
}

/// Validates every caller header, then keeps only the allow-listed ones
/// ([`FORWARDED_REQUEST_HEADERS`] and the provider's `extra`, lowercase) that are not named
/// in a `Connection` header. Malformed names or values are an error (never a panic); headers
/// outside the allow-list — `Authorization`, `Cookie`, `Host`, `Proxy-*`, hop-by-hop,
/// `X-Forwarded-*`, `Forwarded`, `X-Real-IP` and everything else — are dropped.
pub(crate) fn filter_headers(
    headers: &[(String, String)],
    extra: &[String],
) -> Result<FilteredHeaders, String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!("too many request headers (at most {MAX_HEADERS})"));
    }
    let mut parsed = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| "a request header name is not a valid HTTP token".to_owned())?;
        if value.len() > MAX_HEADER_VALUE_LEN {
            return Err(format!(
                "a request header value is longer than {MAX_HEADER_VALUE_LEN} bytes"
            ));
        }
        if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(
                "a request header value contains CR, LF, NUL, TAB, another control or a non-ASCII character"
                    .into(),
            );
        }
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| "a request header value is not valid".to_owned())?;
        parsed.push((name, value));
    }
    // Headers named in `Connection` are hop-by-hop for this request, whatever their name.
    let hop_by_hop: Vec<String> = parsed
        .iter()
        .filter(|(name, _)| name == http::header::CONNECTION)
        .filter_map(|(_, value)| value.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect();
    let mut out = FilteredHeaders::default();
    for (name, value) in parsed {
        let lower = name.as_str();
        let allowed = (FORWARDED_REQUEST_HEADERS.contains(&lower)
            || extra.iter().any(|e| e == lower))
            && !hop_by_hop.iter().any(|h| h == lower);
        if !allowed {
            if !out.dropped.iter().any(|d| d == lower) {
                out.dropped.push(lower.to_owned());
            }
            continue;
        }
        if out.forward.contains_key(&name) {
            return Err(format!(
                "the request header '{lower}' is given more than once"
            ));
        }
        out.forward.insert(name, value);
    }
    Ok(out)
}

/// The response headers a caller may see: everything except [`DROPPED_RESPONSE_HEADERS`],
/// `access-control-*`, headers named in the response's `Connection`, and any header whose
/// value contains the token in any form ([`SecretToken::redact_bytes`]).
pub(crate) fn filter_response_headers(
    headers: &HeaderMap,
    token: &SecretToken,
) -> Vec<(String, String)> {
    let hop_by_hop: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(name, value)| {
            let name = name.as_str();
            !DROPPED_RESPONSE_HEADERS.contains(&name)
                && !name.starts_with("access-control-")
                && !hop_by_hop.iter().any(|h| h == name)
                && !token.appears_in_bytes(value.as_bytes())
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;
    use crate::rules::test_rules;

    /// The path prefix of [`test_rules`].
    const V2: &str = "/v2/";

    #[test]
    fn good_paths_pass() {
        for path in [
            "/v2/user",
            "/v2/access-token",
            "/v2/organizations/acme-inc/members",
            "/v2/organizations/acme_inc/pipelines/my.pipeline/builds/12/jobs/0190-ab/log",
            "/v2/organizations/acme/teams/018f2b6e-1c3d-4e5f-8a9b-0c1d2e3f4a51",
            "/v2/organizations/acme/pipelines/%41%7a%30%2D%5f%7E",
        ] {
            assert_eq!(check_path(path, V2), Ok(()), "{path}");
        }
    }

    /// Each rule refuses with its own reason (the caller sees it), checked in this order.
    #[test]
    fn each_path_rule_gives_its_reason() {
        let longest = format!("/v2/{}", "a".repeat(MAX_PATH_LEN - 4));
        assert_eq!(check_path(&longest, V2), Ok(()));
        for (path, reason) in [
            ("", "is empty"),
            (&format!("{longest}b"), "longer than 2048 bytes"),
            ("/v2/caf\u{e9}", "must be ASCII"),
            ("/v2/a\r\nb", "control character"),
            ("/v2/a\\b", "backslash"),
            ("/v2/a@b", "'@'"),
            ("/v2/a?b", "'?' or '#'"),
            ("/v2/a#b", "'?' or '#'"),
            ("https://evil.example/v2/x", "absolute URLs"),
            ("//evil.example/v2/x", "scheme-relative"),
            ("v2/organizations", "relative to the API root"),
            ("/v2//x", "empty segment ('//')"),
            ("/v2/a b", "contains a space"),
            ("/v2/a:b", "outside A-Z"),
            ("/v2/a%4", "malformed percent-escape"),
            ("/v2/a%zz", "malformed percent-escape"),
            ("/v2/x/", "trailing '/'"),
            ("/v2/x/../y", "dot segment"),
            ("/v2/x/./y", "dot segment"),
            ("/v3/organizations", "must start with /v2/"),
            ("/v2/a%2e%2e", "percent-encoded dot"),
            ("/v2/a%2fb", "slash or backslash"),
            ("/v2/a%5Cb", "slash or backslash"),
            ("/v2/a%252e", "double encoding"),
            ("/v2/a%C3%A9", "non-ASCII byte"),
            ("/v2/a%EF%BC%8F", "non-ASCII byte"),
            ("/v2/a%80", "non-ASCII byte"),
            ("/v2/a%20b", "other than a letter"),
            ("/v2/a%3fb", "other than a letter"),
            ("/v2/a%7f", "other than a letter"),
            // The escape after a good one is checked too.
            ("/v2/%41%2e", "percent-encoded dot"),
        ] {
            let got = check_path(path, V2).expect_err(path);
            assert!(got.contains(reason), "{path:?}: {got}");
        }
    }

    #[test]
    fn query_bounds_are_exact() {
        let pairs = |n: usize| -> Vec<(String, String)> {
            (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect()
        };
        assert_eq!(check_query(&pairs(MAX_QUERY_PAIRS), &[]), Ok(()));
        let err = check_query(&pairs(MAX_QUERY_PAIRS + 1), &[]).expect_err("101 pairs");
        assert!(err.contains("too many query parameters"), "{err}");
        // The length bound counts names and values together.
        let one = |value_len: usize| vec![("k".to_owned(), "v".repeat(value_len))];
        assert_eq!(check_query(&one(MAX_QUERY_LEN - 1), &[]), Ok(()));
        let err = check_query(&one(MAX_QUERY_LEN), &[]).expect_err("8193 bytes");
        assert!(err.contains("longer than 8192 bytes"), "{err}");
        let split = vec![
            ("a".repeat(4096), "b".repeat(4096)),
            ("c".to_owned(), String::new()),
        ];
        assert!(check_query(&split, &[]).is_err());
    }

    #[test]
    fn header_bounds_are_exact() {
        let headers = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|i| (format!("x-h{i}"), "v".to_owned()))
                .collect()
        };
        assert!(filter_headers(&headers(MAX_HEADERS), &[]).is_ok());
        let err = filter_headers(&headers(MAX_HEADERS + 1), &[]).expect_err("65 headers");
        assert!(err.contains("too many request headers"), "{err}");
        let value = |len: usize| vec![("accept".to_owned(), "a".repeat(len))];
        let ok = filter_headers(&value(MAX_HEADER_VALUE_LEN), &[]).expect("longest value");
        assert_eq!(ok.forward["accept"].len(), MAX_HEADER_VALUE_LEN);
        let err = filter_headers(&value(MAX_HEADER_VALUE_LEN + 1), &[]).expect_err("8193 bytes");
        assert!(err.contains("longer than 8192 bytes"), "{err}");
    }

    #[test]
    fn escapes_may_only_stand_for_unreserved_ascii() {
        for b in 0..=255u8 {
            let path = format!("/v2/organizations/acme/x%{b:02X}y");
            let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~');
            assert_eq!(check_path(&path, V2).is_ok(), unreserved, "{path}");
            assert_eq!(
                check_path(&path.to_ascii_lowercase(), V2).is_ok(),
                unreserved,
                "{path}"
            );
        }
        for path in [
            "/v2/organizations/acme%EF%BC%8Fmembers",
            "/v2/organizations/acme/pipelines/caf%C3%A9",
            "/v2/organizations/acme/pipelines/with%20space",
        ] {
            assert!(check_path(path, V2).is_err(), "{path}");
        }
    }

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        let p = "/v2/organizations/acme/pipelines";
        assert!(under_prefix(p, p));
        assert!(under_prefix("/v2/organizations/acme/pipelines/x/builds", p));
        assert!(!under_prefix("/v2/organizations/acme/pipelines-secret", p));
        assert!(!under_prefix("/v2/organizations/acme", p));
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let secret = SecretToken::new("SECRET").expect("token");
        let (out, hit) = secret.redact_bytes(b"aSECRETbSECRETSECRET".to_vec());
        assert!(hit);
        assert_eq!(out, b"a[REDACTED]b[REDACTED][REDACTED]");
        let (out, hit) = secret.redact_bytes(b"nothing".to_vec());
        assert!(!hit);
        assert_eq!(out, b"nothing");
        // Not UTF-8 around the secret: every other byte is kept.
        let (out, hit) = secret.redact_bytes(b"\xff\xfeSECRET\x00".to_vec());
        assert!(hit);
        assert_eq!(out, b"\xff\xfe[REDACTED]\x00");
    }

    #[test]
    fn secret_forms_are_raw_and_percent_encoded() {
        let token = SecretToken::new("bkua_a+b/c=").expect("token");
        let (out, hit) = token.redact_bytes(b"x bkua_a%2Bb%2Fc%3D y bkua_a+b/c=".to_vec());
        assert!(hit);
        assert_eq!(out, b"x [REDACTED] y [REDACTED]");
    }

    #[test]
    fn provider_headers_are_forwarded_only_when_named() {
        let headers = vec![("X-Include-Stats".to_owned(), "true".to_owned())];
        let filtered = filter_headers(&headers, &[]).expect("valid");
        assert!(filtered.forward.is_empty());
        assert_eq!(filtered.dropped, ["x-include-stats"]);
        let extra = ["x-include-stats".to_owned()];
        let filtered = filter_headers(&headers, &extra).expect("valid");
        assert_eq!(filtered.forward["x-include-stats"], "true");
        assert!(filtered.dropped.is_empty());
        // A provider header named in `Connection` is hop-by-hop all the same.
        let mut hop = headers.clone();
        hop.push(("Connection".to_owned(), "x-include-stats".to_owned()));
        let filtered = filter_headers(&hop, &extra).expect("valid");
        assert!(filtered.forward.is_empty());
    }

    #[test]
    fn response_headers_are_filtered() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            (
                "link",
                "<https://api.buildkite.com/v2/x?page=2>; rel=\"next\"",
            ),
            ("ratelimit-remaining", "5"),
            ("etag", "\"abc\""),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("trailer", "x-sum"),
            ("upgrade", "h2c"),
            ("proxy-authenticate", "Basic"),
            ("proxy-connection", "keep-alive"),
            ("set-cookie", "a=b"),
            ("www-authenticate", "Bearer"),
            ("access-control-allow-origin", "*"),
            ("content-length", "10"),
            ("x-echo", "Bearer SECRET"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let kept: Vec<String> =
            filter_response_headers(&headers, &SecretToken::new("SECRET").expect("token"))
                .into_iter()
                .map(|(n, _)| n)
                .collect();
        assert_eq!(
            kept,
            ["content-type", "link", "ratelimit-remaining", "etag"]
        );
    }

    #[test]
    fn request_headers_are_filtered() {
        let headers: Vec<(String, String)> = [
            ("Authorization", "Bearer x"),
            ("Host", "evil.example"),
            ("Connection", "Accept"),
            ("Accept", "text/plain"),
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "1.2.3.4"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let filtered = filter_headers(&headers, &[]).expect("valid");
        let names: Vec<&str> = filtered.forward.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type"]);
        assert_eq!(
            filtered.dropped,
            [
                "authorization",
                "host",
                "connection",
                "accept",
                "x-forwarded-for"
            ]
        );
    }

    /// A small deterministic fuzz: whatever the input, the validator either rejects it or the
    /// path is made only of safe characters, starts with /v2/ and has no dot segment.
    #[test]
    fn fuzz_rejects_or_is_safe() {
        const ALPHABET: &[&str] = &[
            "/",
            "//",
            "\\",
            ".",
            "..",
            "%2e",
            "%2E",
            "%2f",
            "%5c",
            "%25",
            "%00",
            "%0d",
            "%c0",
            "%ae",
            "@",
            "?",
            "#",
            ":",
            "v2",
            "/v2/",
            "a",
            "Z",
            "9",
            "-",
            "_",
            "~",
            " ",
            "\r",
            "\n",
            "\t",
            "\0",
            "é",
            "http:",
            "https://",
            "evil.example",
            "%",
            "%4",
            "%41",
            "%2d",
            "%7E",
            "%20",
            "%EF%BC%8F",
            "%ef%bc%8f",
            "%C3%A9",
            "%E2%80%AE",
            "%ff",
            "organizations",
            "acme",
            "/v2/organizations/acme",
        ];
        let rules = test_rules();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let mut path = String::new();
            if next() % 2 == 0 {
                path.push_str("/v2/");
            }
            for _ in 0..len {
                path.push_str(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
            }
            if check_path(&path, V2).is_ok() {
                assert!(path.starts_with("/v2/"), "{path:?}");
                assert!(path.bytes().all(allowed_path_byte), "{path:?}");
                assert!(
                    !path
                        .split('/')
                        .skip(1)
                        .any(|s| s.is_empty() || s.bytes().all(|b| b == b'.')),
                    "{path:?}"
                );
                // Every escape stands for an unreserved ASCII character.
                for (i, _) in path.match_indices('%') {
                    let hex = &path[i + 1..i + 3];
                    let byte = u8::from_str_radix(hex, 16).expect("well-formed escape");
                    assert!(escapable(byte), "{path:?}");
                }
                // Pinned: what passes is inside the organization or an exact identity path.
                if rules.check_pinned(&path, "acme", Method::Get).is_ok() {
                    let inside = rules.organization_roots().iter().any(|root| {
                        let own = format!("{root}/acme");
                        under_prefix(&path, &own)
                    });
                    assert!(inside || rules.identity_paths().contains(&path), "{path:?}");
                }
            }
        }
    }
}
