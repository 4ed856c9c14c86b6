//! Buildkite's identifier, cursor and timestamp formats; the seeded generator and slugs are
//! the harness's ([`unidir_sim_harness::ids`]).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, STANDARD_NO_PAD_INDIFFERENT};
use chrono::{DateTime, SecondsFormat, Utc};
pub(crate) use unidir_sim_harness::ids::{Rng, slugify};

/// GraphQL node id as observed on Buildkite: padded standard base64 of `<Type>---<uuid>`.
pub(crate) fn graphql_id(type_name: &str, uuid: &str) -> String {
    STANDARD.encode(format!("{type_name}---{uuid}"))
}

/// Relay cursor: unpadded base64 of the 1-based position in the connection (`2` → `Mg`).
pub(crate) fn encode_cursor(position: usize) -> String {
    STANDARD_NO_PAD.encode(position.to_string())
}

/// Inverse of [`encode_cursor`]; accepts padded input too. `None` for anything else.
pub(crate) fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD_NO_PAD_INDIFFERENT.decode(cursor.trim()).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

/// REST timestamps: ISO 8601 UTC with milliseconds (`2023-03-14T00:45:16.215Z`).
pub(crate) fn rest_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// GraphQL `DateTime`: ISO 8601 UTC to the second (`2021-06-01T09:12:44Z`).
pub(crate) fn graphql_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The access-token endpoint's documented form (`2026-08-01 10:15:00 UTC`).
pub(crate) fn token_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(encode_cursor(2), "Mg");
        assert_eq!(encode_cursor(5), "NQ");
        assert_eq!(decode_cursor("Mg"), Some(2));
        assert_eq!(decode_cursor("Mg=="), Some(2));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor("YWJj"), None);
        for n in [1, 9, 10, 99, 12345] {
            assert_eq!(decode_cursor(&encode_cursor(n)), Some(n));
        }
    }

    #[test]
    fn graphql_ids_match_reference_encoding() {
        assert_eq!(
            graphql_id("User", "018f2b6e-1c3d-4e5f-8a9b-0c1d2e3f4a51"),
            "VXNlci0tLTAxOGYyYjZlLTFjM2QtNGU1Zi04YTliLTBjMWQyZTNmNGE1MQ=="
        );
    }
}
