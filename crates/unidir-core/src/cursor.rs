//! Opaque, versioned page cursors bound to the query that produced them.
//!
//! A cursor is `base64url(JSON)` of
//! `{"v":1,"p":<provider>,"r":<kind>,"q":<query fingerprint>,"s":<adapter state>,"c":<checksum>}`.
//!
//! - `r` says what is listed: a unified [`Resource`] (`users`), or, for lists outside the
//!   unified model such as a passthrough proxy's raw provider lists, `list:<name>`
//!   ([`CursorBinding::for_list`]). The two never match each other.
//! - `s` is whatever the adapter needs to resume (a page number, a provider cursor). It never
//!   holds a URL: adapters rebuild requests from their configured base URL, so a forged
//!   cursor cannot point the credential at another host. Encoding and decoding both refuse
//!   state that contains a URL.
//! - `q` fingerprints the filters and the scope (for example the group whose members are
//!   listed), so a cursor replayed against another query fails with `InvalidCursor` instead
//!   of silently returning the wrong rows.
//! - `l` (optional) is the page size the walk was started with, so a cursor keeps it: a page
//!   read at a cursor without a limit has the cursor's size, and a different limit is
//!   refused naming both numbers ([`ListQuery::page_size`](crate::ListQuery::page_size)).
//!   Cursors without `l` (written before it existed) take the query's limit or the default.
//! - `c` is a checksum over the rest, so corrupted or hand-edited cursors are rejected. It is
//!   not a signature: cursors are not secret and carry nothing a caller may not see.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::capabilities::Resource;
use crate::error::{Error, Result};
use crate::page::Filters;

/// The cursor format version this build writes and reads.
pub const CURSOR_VERSION: u64 = 1;

/// Longest cursor accepted, so a hostile cursor cannot make us decode megabytes.
pub const MAX_CURSOR_LEN: usize = 4096;

/// An opaque page cursor. Treat it as a string to store and pass back; its content is not
/// part of the API.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor string received from a caller (validated when it is used).
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The cursor string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The page size this cursor's walk was started with (`l`), read without checking the
    /// rest: [`CursorBinding::decode`] validates the cursor, its checksum covering `l`.
    /// `None` for a cursor without one, or one that is no cursor at all.
    pub fn page_size(&self) -> Option<u32> {
        if self.0.is_empty() || self.0.len() > MAX_CURSOR_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let size = value.get("l")?.as_u64()?;
        Some(u32::try_from(size).unwrap_or(u32::MAX))
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u64,
    p: String,
    r: String,
    q: String,
    s: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<u32>,
    c: String,
}

/// What a cursor is bound to: provider, what is listed and query fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorBinding {
    provider: String,
    kind: Kind,
    fingerprint: String,
    page_size: Option<u32>,
}

/// What a cursor's list is: a unified resource, or a named list outside the unified model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Resource(Resource),
    List(String),
}

/// The prefix of `r` for lists outside the unified model (resource names hold no `:`).
const LIST_PREFIX: &str = "list:";

impl Kind {
    fn wire(&self) -> String {
        match self {
            Self::Resource(r) => r.as_str().to_owned(),
            Self::List(name) => format!("{LIST_PREFIX}{name}"),
        }
    }

    /// How a message names it: a resource by name; a list by name only when it is ours
    /// (`ours`), since a decoded list name is caller input and never echoed.
    fn describe(&self, ours: bool) -> String {
        match self {
            Self::Resource(r) => r.as_str().to_owned(),
            Self::List(name) if ours => format!("the {name} list"),
            Self::List(_) => "another list".to_owned(),
        }
    }
}

/// Parses a wire `r`: a known resource name, or `list:` and a well-formed name.
fn parse_kind(wire: &str) -> Option<Kind> {
    if let Some(name) = wire.strip_prefix(LIST_PREFIX) {
        return is_name(name).then(|| Kind::List(name.to_owned()));
    }
    Resource::ALL
        .iter()
        .find(|r| r.as_str() == wire)
        .map(|r| Kind::Resource(*r))
}

impl CursorBinding {
    /// Binds cursors to `provider`, `resource`, the `filters` and any extra `scope` values
    /// that select the list (for example the group id of a member list).
    pub fn new(provider: &str, resource: Resource, filters: &Filters, scope: &[&str]) -> Self {
        Self::bind(provider, Kind::Resource(resource), filters, scope)
    }

    /// Binds cursors to `provider`, the list named `list` (one that is no unified
    /// [`Resource`], such as a passthrough proxy's raw provider list), the `filters` and the
    /// `scope` values that select it. Such cursors and resource cursors refuse each other.
    ///
    /// `list` follows the provider name rules (1 to 32 lowercase ASCII letters, digits, `-`
    /// or `_`); another name makes [`CursorBinding::encode`] fail.
    pub fn for_list(provider: &str, list: &str, filters: &Filters, scope: &[&str]) -> Self {
        Self::bind(provider, Kind::List(list.to_owned()), filters, scope)
    }

    fn bind(provider: &str, kind: Kind, filters: &Filters, scope: &[&str]) -> Self {
        let material = json!({ "filters": filters, "scope": scope });
        Self {
            provider: provider.to_owned(),
            kind,
            fingerprint: short_hash(material.to_string().as_bytes()),
            page_size: None,
        }
    }

    /// Writes page size `size` into the cursors it encodes, so a walk continued from one
    /// keeps its page size ([`Cursor::page_size`]). Adapters pass the size they chose from
    /// the query ([`ListQuery::page_size`](crate::ListQuery::page_size)); `None` writes none.
    pub fn with_page_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.page_size = size.into();
        self
    }

    /// Encodes adapter `state` into a cursor bound to this query.
    pub fn encode<S: Serialize>(&self, state: &S) -> Result<Cursor> {
        // What is written must decode: a bad list name is the caller's bug, caught here.
        if matches!(&self.kind, Kind::List(name) if !is_name(name)) {
            return Err(Error::contract(
                "a cursor list name must be 1 to 32 lowercase letters, digits, - or _",
            ));
        }
        let state = serde_json::to_value(state)
            .map_err(|e| Error::contract(format!("cursor state does not serialise: {e}")))?;
        if holds_url(&state) {
            return Err(Error::contract("refusing to put a URL into a cursor"));
        }
        // What is written obeys the rules `decode` enforces, so a provider's odd page token
        // (control characters, megabytes) fails here as the provider's fault, not on the
        // next call as the caller's invalid cursor.
        if !state_is_plain(&state, 0) {
            return Err(Error::contract(
                "the provider's paging state cannot be carried in a cursor \
                 (too long, nested too deep, or holding control or non-ASCII characters)",
            ));
        }
        let checksum = self.checksum(&state, self.page_size);
        let wire = Wire {
            v: CURSOR_VERSION,
            p: self.provider.clone(),
            r: self.kind.wire(),
            q: self.fingerprint.clone(),
            s: state,
            l: self.page_size,
            c: checksum,
        };
        let bytes = serde_json::to_vec(&wire)
            .map_err(|e| Error::contract(format!("cursor does not serialise: {e}")))?;
        Ok(Cursor(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Decodes a cursor, checking version, binding and checksum.
    pub fn decode<S: DeserializeOwned>(&self, cursor: &Cursor) -> Result<S> {
        let raw = cursor.as_str();
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(Error::invalid_cursor(format!(
                "cursor must be 1 to {MAX_CURSOR_LEN} characters long"
            )));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| Error::invalid_cursor("cursor is not valid base64url"))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| Error::invalid_cursor("cursor is not a unidir cursor"))?;
        match value.get("v").and_then(Value::as_u64) {
            Some(CURSOR_VERSION) => {}
            Some(other) => {
                return Err(Error::invalid_cursor(format!(
                    "cursor version {other} is not supported (this build reads version {CURSOR_VERSION})"
                )));
            }
            None => return Err(Error::invalid_cursor("cursor is not a unidir cursor")),
        }
        let wire: Wire = serde_json::from_value(value)
            .map_err(|_| Error::invalid_cursor("cursor is not a unidir cursor"))?;
        // Every decoded field is checked for shape before anything else looks at it, and
        // none is ever echoed: a cursor is caller input, and its checksum is not a signature
        // (anyone can recompute it), so it proves nothing about where the cursor came from.
        let kind = parse_kind(&wire.r);
        let well_formed = is_name(&wire.p)
            && kind.is_some()
            && is_hex16(&wire.q)
            && is_hex16(&wire.c)
            && state_is_plain(&wire.s, 0);
        if !well_formed {
            return Err(Error::invalid_cursor("cursor is not a unidir cursor"));
        }
        if wire.l == Some(0) {
            return Err(Error::invalid_cursor("cursor is not a unidir cursor"));
        }
        if wire.c != checksum_of(&wire.p, &wire.r, &wire.q, &wire.s, wire.l) {
            return Err(Error::invalid_cursor(
                "cursor checksum does not match: it was altered or corrupted",
            ));
        }
        if wire.p != self.provider {
            return Err(Error::invalid_cursor(format!(
                "cursor was issued by another provider, not {}",
                self.provider
            )));
        }
        if let Some(kind) = kind.filter(|k| *k != self.kind) {
            // Names a decoded resource (a known constant), never a decoded list name.
            return Err(Error::invalid_cursor(format!(
                "cursor was issued for {}, not {}",
                kind.describe(false),
                self.kind.describe(true)
            )));
        }
        if wire.q != self.fingerprint {
            return Err(Error::invalid_cursor(
                "cursor was issued for a different query: keep filters and scope unchanged while paging",
            ));
        }
        if holds_url(&wire.s) {
            return Err(Error::invalid_cursor("cursor must not contain a URL"));
        }
        serde_json::from_value(wire.s)
            .map_err(|_| Error::invalid_cursor("cursor state is not valid for this adapter"))
    }

    fn checksum(&self, state: &Value, page_size: Option<u32>) -> String {
        checksum_of(
            &self.provider,
            &self.kind.wire(),
            &self.fingerprint,
            state,
            page_size,
        )
    }
}

fn checksum_of(
    provider: &str,
    resource: &str,
    fingerprint: &str,
    state: &Value,
    page_size: Option<u32>,
) -> String {
    // Without a page size the material is what cursors written before `l` existed used.
    let material = match page_size {
        None => json!([CURSOR_VERSION, provider, resource, fingerprint, state]),
        Some(size) => json!([CURSOR_VERSION, provider, resource, fingerprint, state, size]),
    };
    short_hash(material.to_string().as_bytes())
}

fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Provider and list names: 1 to 32 lowercase ASCII letters, digits, `-` or `_`.
fn is_name(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_hex16(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Longest string accepted inside a cursor's state.
const MAX_STATE_STRING: usize = 1024;

/// Adapter state is small: objects, arrays, non-negative integers, booleans, null, and
/// strings of printable ASCII, nested at most four deep.
fn state_is_plain(value: &Value, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    match value {
        Value::Null | Value::Bool(_) => true,
        Value::Number(n) => n.is_u64(),
        Value::String(s) => {
            s.len() <= MAX_STATE_STRING && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        }
        Value::Array(items) => items.iter().all(|v| state_is_plain(v, depth + 1)),
        Value::Object(map) => map
            .iter()
            .all(|(k, v)| k.len() <= 32 && is_name(k) && state_is_plain(v, depth + 1)),
    }
}

/// Whether any string inside `value` looks like a URL (absolute or scheme-relative).
fn holds_url(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("://") || s.starts_with("//") || s.contains(":\\\\"),
        Value::Array(items) => items.iter().any(holds_url),
        Value::Object(map) => map.values().any(holds_url),
        _ => false,
    }
}
