//! Provider-neutral paging: the positions a unified cursor carries and the checks on what a
//! provider answers, for the four kinds providers use.
//!
//! - **Page numbers** ([`PageNumber`]): `page`/`per_page`, the next page announced in a `Link`
//!   header or the body. A next page must be exactly the page after this one (one that goes
//!   back loops, one that jumps ahead skips rows) and within [`unidir_core::WalkLimits`]'
//!   `max_pages`, so neither a cursor nor the provider can make us ask for page 4294967295.
//! - **Relay cursors** ([`RelayPosition`]): GraphQL `first`/`after`, `last`/`before` and
//!   `pageInfo`. A provider cursor travels inside the unified cursor, so it must be plain
//!   (see [`plain_relay_cursor`]) and never hold the token; a page that says "more" without a
//!   cursor, or hands back the cursor it was given, is a `ContractViolation`, never a loop.
//! - **Offsets** ([`Offset`]): a window over a list held whole.
//! - **Opaque tokens** ([`PageToken`]): `after`/`before` tokens (see [`plain_token`]); a next
//!   token that repeats the current one is a `ContractViolation`.
//!
//! The positions serialise to short fields (`p`, `n`, `a`, `b`, `o`, `t`) and are meant to be
//! the state of a [`unidir_core::CursorBinding`], which binds them to their query; wrap them
//! in a provider enum (`#[serde(tag = "...")]`) when one list mixes kinds. Unknown fields
//! are refused, so a checksummed cursor holding state no adapter wrote is `InvalidCursor`
//! when the binding decodes it. Errors here carry
//! no provider or operation: the adapter adds its own.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use unidir_core::{Error, Result};

/// Longest Relay (GraphQL connection) cursor carried in a unified cursor.
pub const MAX_RELAY_CURSOR: usize = 512;

/// Longest opaque pagination token carried in a unified cursor.
pub const MAX_PAGE_TOKEN: usize = 1024;

/// The `InvalidCursor` for a well-formed cursor whose position this list cannot resume.
pub fn not_a_page() -> Error {
    Error::invalid_cursor("cursor is not a page of this list")
}

/// Whether `page` is a page a walk bounded by `max_pages` may ask for.
pub fn page_in_bounds(page: u32, max_pages: u64) -> bool {
    page >= 1 && u64::from(page) <= max_pages
}

/// Page `page` of size `size` (serialised as `{"p":…,"n":…}`). The size travels in the
/// cursor so a caller changing `limit` mid-walk cannot skip or repeat rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageNumber {
    /// The page, from 1.
    #[serde(rename = "p")]
    pub page: u32,
    /// Items per page.
    #[serde(rename = "n")]
    pub size: u32,
}

impl PageNumber {
    /// The first page with `size` items.
    pub fn first(size: u32) -> Self {
        Self { page: 1, size }
    }

    /// This position as read back from a caller's cursor: `InvalidCursor` unless the page is
    /// within `max_pages` and the size within `1..=max_size`.
    pub fn resume(self, max_size: u32, max_pages: u64) -> Result<Self> {
        if page_in_bounds(self.page, max_pages) && (1..=max_size).contains(&self.size) {
            Ok(self)
        } else {
            Err(not_a_page())
        }
    }

    /// The page before this one, if any.
    pub fn prev(self) -> Option<Self> {
        (self.page > 1).then(|| Self {
            page: self.page - 1,
            size: self.size,
        })
    }

    /// The page after this one, from the provider's announced `next` page number: `None`
    /// when it announces none. A `next` that is not exactly `page + 1`, or past `max_pages`,
    /// is a `ContractViolation`; `source` names where the number came from for the message
    /// (e.g. "the Link header's").
    pub fn next(self, next: Option<u32>, max_pages: u64, source: &str) -> Result<Option<Self>> {
        let Some(next) = next else {
            return Ok(None);
        };
        let page = self.page;
        if Some(next) != page.checked_add(1) {
            return Err(Error::contract(format!(
                "{source} next page ({next}) is not the page after page {page}"
            )));
        }
        if !page_in_bounds(next, max_pages) {
            return Err(Error::contract(format!(
                "the list goes on past {max_pages} pages (WalkLimits::max_pages); stopping"
            )));
        }
        Ok(Some(Self {
            page: next,
            size: self.size,
        }))
    }
}

/// A Relay cursor unidir will carry: 1 to [`MAX_RELAY_CURSOR`] printable ASCII characters.
/// The same rule checks cursors arriving from the provider and coming back from a caller.
pub fn plain_relay_cursor(cursor: &str) -> bool {
    !cursor.is_empty()
        && cursor.len() <= MAX_RELAY_CURSOR
        && cursor.bytes().all(|c| c.is_ascii_graphic())
}

/// Checks the cursors of a `pageInfo` as they arrive: one that is not plain or for which
/// `holds_token` is true (usually [`crate::SecretToken::appears_in`]) is `provider`'s
/// `ContractViolation` here, rather than the caller's invalid cursor on the next call.
pub fn check_relay_cursors<'a>(
    provider: &str,
    cursors: impl IntoIterator<Item = &'a str>,
    holds_token: impl Fn(&str) -> bool,
) -> Result<()> {
    for cursor in cursors {
        if !plain_relay_cursor(cursor) || holds_token(cursor) {
            return Err(Error::contract(format!(
                "{provider} returned a page cursor that is empty, too long, not printable \
                 ASCII or holds the token"
            )));
        }
    }
    Ok(())
}

/// The cursor to continue a forward walk after a page read `after` `given`: `None` when
/// the page has no next page. A next page without an `endCursor`, or the `endCursor` it was
/// given, is `provider`'s `ContractViolation`.
pub fn relay_next(
    provider: &str,
    has_next_page: bool,
    end_cursor: Option<String>,
    given: Option<&str>,
) -> Result<Option<String>> {
    if !has_next_page {
        return Ok(None);
    }
    match end_cursor {
        Some(end) if Some(end.as_str()) == given => Err(Error::contract(format!(
            "{provider} returned the same endCursor it was given; stopping instead of looping"
        ))),
        Some(end) => Ok(Some(end)),
        None => Err(Error::contract(format!(
            "{provider} says there is a next page but gives no endCursor"
        ))),
    }
}

/// A walk over a nested Relay connection, refusing any `endCursor` it has already followed
/// (a cycle longer than one page too).
#[derive(Debug, Default)]
pub struct RelayWalk {
    seen: HashSet<String>,
}

impl RelayWalk {
    /// A walk that has followed nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cursor to follow after a page of `what` (e.g. "a member's team list"): `None` at
    /// the end; a next page without an `endCursor`, or one already followed, is a
    /// `ContractViolation`.
    pub fn advance(
        &mut self,
        what: &str,
        has_next_page: bool,
        end_cursor: Option<&str>,
    ) -> Result<Option<String>> {
        if !has_next_page {
            return Ok(None);
        }
        let end = end_cursor
            .ok_or_else(|| Error::contract(format!("{what} has a next page but no endCursor")))?;
        if !self.seen.insert(end.to_owned()) {
            return Err(Error::contract(format!("{what} repeated its endCursor")));
        }
        Ok(Some(end.to_owned()))
    }
}

/// A Relay position: forward `after` `a` or backward `before` `b` (serialised as
/// `{"a":…,"b":…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayPosition {
    /// Forward from this cursor.
    pub a: Option<String>,
    /// Backward from this cursor.
    pub b: Option<String>,
}

impl RelayPosition {
    /// Forward from `cursor`.
    pub fn after(cursor: String) -> Self {
        Self {
            a: Some(cursor),
            b: None,
        }
    }

    /// Backward from `cursor`.
    pub fn before(cursor: String) -> Self {
        Self {
            a: None,
            b: Some(cursor),
        }
    }

    /// This position as read back from a caller's cursor: `InvalidCursor` unless exactly
    /// one direction is set and its cursor is plain.
    pub fn resume(self) -> Result<Self> {
        let plain = |c: &Option<String>| c.as_deref().is_none_or(plain_relay_cursor);
        if self.a.is_some() != self.b.is_some() && plain(&self.a) && plain(&self.b) {
            Ok(self)
        } else {
            Err(not_a_page())
        }
    }
}

/// An offset into a list held whole (serialised as `{"o":…}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    /// Items before the page.
    #[serde(rename = "o")]
    pub o: usize,
}

/// One page cut out of a list of `len` items by offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetWindow {
    /// First item of the page.
    pub start: usize,
    /// One past the last item of the page.
    pub end: usize,
    /// Where the next page starts, if there is one.
    pub next: Option<Offset>,
    /// Where the previous page starts, if there is one.
    pub prev: Option<Offset>,
}

impl OffsetWindow {
    /// The page of `size` items at `from` (the first page when `None`) over `len` items;
    /// an offset past the end is `InvalidCursor`.
    pub fn new(len: usize, from: Option<Offset>, size: usize) -> Result<Self> {
        let start = from.map_or(0, |o| o.o);
        if start > len {
            return Err(not_a_page());
        }
        let end = start.saturating_add(size).min(len);
        Ok(Self {
            start,
            end,
            next: (end < len).then_some(Offset { o: end }),
            prev: (start > 0).then(|| Offset {
                o: start.saturating_sub(size),
            }),
        })
    }
}

/// An opaque pagination token unidir will carry: 1 to [`MAX_PAGE_TOKEN`] printable ASCII
/// characters and no URL (a token never aims a request elsewhere).
pub fn plain_token(token: &str) -> bool {
    (1..=MAX_PAGE_TOKEN).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_graphic())
        && !token.contains("://")
}

/// A token position: token `t`, page size `n` (serialised as `{"t":…,"n":…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageToken {
    /// The provider's token.
    pub t: String,
    /// Items per page.
    pub n: u32,
}

impl PageToken {
    /// This position as read back from a caller's cursor: `InvalidCursor` unless the token
    /// is plain and the size within `1..=max_size`.
    pub fn resume(self, max_size: u32) -> Result<Self> {
        if plain_token(&self.t) && (1..=max_size).contains(&self.n) {
            Ok(self)
        } else {
            Err(not_a_page())
        }
    }

    /// Checks the provider's next token after a page read at `current` (`None` on the first
    /// page or from a page number): a repeat of the current token is a `ContractViolation`.
    pub fn check_next(current: Option<&str>, next: &str) -> Result<()> {
        if current == Some(next) {
            return Err(Error::contract(
                "the Link header's next token repeats the current one",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unidir_core::ErrorKind;

    fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
        r.expect_err("an error").kind()
    }

    #[test]
    fn page_number_resume_checks_bounds_and_size() {
        let ok = PageNumber { page: 3, size: 50 };
        assert_eq!(ok.resume(100, 3).expect("in bounds"), ok);
        for bad in [
            PageNumber { page: 0, size: 50 },
            PageNumber { page: 4, size: 50 },
            PageNumber {
                page: u32::MAX,
                size: 50,
            },
            PageNumber { page: 1, size: 0 },
            PageNumber { page: 1, size: 101 },
        ] {
            assert_eq!(
                kind(bad.resume(100, 3)),
                ErrorKind::InvalidCursor,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn next_page_must_be_the_page_after_and_within_the_walk() {
        let at = PageNumber { page: 2, size: 10 };
        assert_eq!(at.next(None, 5, "the Link header's").expect("end"), None);
        assert_eq!(
            at.next(Some(3), 5, "the Link header's").expect("next"),
            Some(PageNumber { page: 3, size: 10 })
        );
        for next in [1, 2, 4, u32::MAX] {
            let err = at
                .next(Some(next), 5, "the Link header's")
                .expect_err("not next");
            assert_eq!(err.kind(), ErrorKind::ContractViolation);
            assert!(
                err.message().contains(&format!(
                    "the Link header's next page ({next}) is not the page after page 2"
                )),
                "{err}"
            );
        }
        let err = at.next(Some(3), 2, "x").expect_err("past the bound");
        assert_eq!(err.kind(), ErrorKind::ContractViolation);
        assert!(err.message().contains("past 2 pages"), "{err}");
        // The last representable page has no next page.
        let last = PageNumber {
            page: u32::MAX,
            size: 1,
        };
        assert_eq!(
            kind(last.next(Some(u32::MAX), u64::MAX, "x")),
            ErrorKind::ContractViolation
        );
    }

    #[test]
    fn prev_page_stops_at_one() {
        assert_eq!(PageNumber::first(7).prev(), None);
        assert_eq!(
            PageNumber { page: 4, size: 7 }.prev(),
            Some(PageNumber { page: 3, size: 7 })
        );
    }

    #[test]
    fn relay_cursors_are_plain_ascii_without_the_token() {
        let holds = |text: &str| text.contains("bkua_secret");
        assert!(plain_relay_cursor("Y3Vyc29y=="));
        assert!(plain_relay_cursor(&"a".repeat(MAX_RELAY_CURSOR)));
        for bad in [
            "",
            "a b",
            "caf\u{e9}",
            "a\nb",
            &"a".repeat(MAX_RELAY_CURSOR + 1),
        ] {
            assert!(!plain_relay_cursor(bad), "{bad:?}");
            assert_eq!(
                kind(check_relay_cursors("Acme", [bad], holds)),
                ErrorKind::ContractViolation
            );
        }
        let err = check_relay_cursors("Acme", ["ok", "xbkua_secretx"], holds)
            .expect_err("holds the token");
        assert_eq!(err.kind(), ErrorKind::ContractViolation);
        assert!(err.message().starts_with("Acme returned a page cursor"));
        assert!(!err.message().contains("bkua_secret"));
        check_relay_cursors("Acme", ["ok", "fine"], holds).expect("plain");
    }

    #[test]
    fn relay_next_refuses_a_missing_or_repeated_cursor() {
        assert_eq!(relay_next("P", false, None, None).expect("end"), None);
        assert_eq!(
            relay_next("P", false, Some("x".into()), Some("x")).expect("end"),
            None
        );
        assert_eq!(
            relay_next("P", true, Some("y".into()), Some("x")).expect("next"),
            Some("y".into())
        );
        let err = relay_next("P", true, None, Some("x")).expect_err("no cursor");
        assert_eq!(err.kind(), ErrorKind::ContractViolation);
        assert_eq!(
            err.message(),
            "P says there is a next page but gives no endCursor"
        );
        let err = relay_next("P", true, Some("x".into()), Some("x")).expect_err("same cursor");
        assert_eq!(
            err.message(),
            "P returned the same endCursor it was given; stopping instead of looping"
        );
    }

    #[test]
    fn relay_walk_refuses_any_cursor_already_followed() {
        let mut walk = RelayWalk::new();
        assert_eq!(
            walk.advance("w", true, Some("a")).expect("a"),
            Some("a".into())
        );
        assert_eq!(
            walk.advance("w", true, Some("b")).expect("b"),
            Some("b".into())
        );
        let err = walk.advance("w", true, Some("a")).expect_err("cycle");
        assert_eq!(err.message(), "w repeated its endCursor");
        let err = walk.advance("w", true, None).expect_err("missing");
        assert_eq!(err.message(), "w has a next page but no endCursor");
        assert_eq!(walk.advance("w", false, Some("a")).expect("end"), None);
    }

    #[test]
    fn relay_position_resumes_one_plain_direction() {
        let after = RelayPosition::after("abc".into());
        assert_eq!(after.clone().resume().expect("after"), after);
        RelayPosition::before("abc".into())
            .resume()
            .expect("before");
        for bad in [
            RelayPosition { a: None, b: None },
            RelayPosition {
                a: Some("a".into()),
                b: Some("b".into()),
            },
            RelayPosition::after(String::new()),
            RelayPosition::before("a b".into()),
            RelayPosition::after("x".repeat(MAX_RELAY_CURSOR + 1)),
        ] {
            assert_eq!(kind(bad.resume()), ErrorKind::InvalidCursor);
        }
    }

    #[test]
    fn offset_windows_cover_the_list_once() {
        let first = OffsetWindow::new(5, None, 2).expect("first");
        assert_eq!((first.start, first.end), (0, 2));
        assert_eq!(first.next, Some(Offset { o: 2 }));
        assert_eq!(first.prev, None);
        let last = OffsetWindow::new(5, Some(Offset { o: 4 }), 2).expect("last");
        assert_eq!((last.start, last.end, last.next), (4, 5, None));
        assert_eq!(last.prev, Some(Offset { o: 2 }));
        let past = OffsetWindow::new(5, Some(Offset { o: 5 }), 2).expect("at the end");
        assert_eq!((past.start, past.end, past.next), (5, 5, None));
        assert_eq!(
            kind(OffsetWindow::new(5, Some(Offset { o: 6 }), 2)),
            ErrorKind::InvalidCursor
        );
        let huge = OffsetWindow::new(5, Some(Offset { o: 1 }), usize::MAX).expect("huge");
        assert_eq!((huge.end, huge.prev), (5, Some(Offset { o: 0 })));
    }

    #[test]
    fn tokens_are_plain_and_never_repeat() {
        assert!(plain_token("Y3Vyc29yMg"));
        for bad in [
            "",
            "a b",
            "https://evil.example/",
            &"a".repeat(MAX_PAGE_TOKEN + 1),
        ] {
            assert!(!plain_token(bad), "{bad:?}");
            let position = PageToken {
                t: bad.to_owned(),
                n: 1,
            };
            assert_eq!(kind(position.resume(10)), ErrorKind::InvalidCursor);
        }
        for n in [0, 11] {
            let position = PageToken { t: "a".into(), n };
            assert_eq!(kind(position.resume(10)), ErrorKind::InvalidCursor);
        }
        PageToken::check_next(None, "a").expect("first");
        PageToken::check_next(Some("a"), "b").expect("moves");
        assert_eq!(
            kind(PageToken::check_next(Some("a"), "a")),
            ErrorKind::ContractViolation
        );
    }

    #[test]
    fn positions_refuse_unknown_fields_inside_a_tagged_enum_too() {
        #[derive(Debug, Deserialize)]
        #[serde(tag = "m")]
        enum Tagged {
            #[serde(rename = "p")]
            Page(PageNumber),
        }
        let read = |json: &str| serde_json::from_str::<Tagged>(json);
        assert!(matches!(
            read(r#"{"m":"p","p":2,"n":3}"#),
            Ok(Tagged::Page(PageNumber { page: 2, size: 3 }))
        ));
        assert!(read(r#"{"m":"p","p":2,"n":3,"x":1}"#).is_err());
        assert!(serde_json::from_str::<Offset>(r#"{"o":1,"u":"x"}"#).is_err());
    }

    #[test]
    fn positions_serialise_to_their_short_fields() {
        fn json<T: Serialize>(value: &T) -> String {
            serde_json::to_string(value).expect("serialise")
        }
        assert_eq!(json(&PageNumber { page: 2, size: 3 }), r#"{"p":2,"n":3}"#);
        assert_eq!(
            json(&RelayPosition::after("c".into())),
            r#"{"a":"c","b":null}"#
        );
        assert_eq!(json(&Offset { o: 4 }), r#"{"o":4}"#);
        assert_eq!(
            json(&PageToken {
                t: "t".into(),
                n: 5
            }),
            r#"{"t":"t","n":5}"#
        );
    }
}
