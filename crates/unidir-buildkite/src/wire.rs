//! Buildkite's JSON, as far as unidir reads it. Unknown fields are ignored here and kept in
//! `remote_data`; optional fields are optional because older tenants and non-admin tokens
//! omit them.

use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use unidir_core::Timestamp;

/// An enum-like string (a role, an SSO mode): Buildkite's known spellings are kept without
/// allocating, any other value as it came (the mapping decides what it means).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Word {
    Known(&'static str),
    Other(String),
}

/// The values of the role and SSO-mode fields unidir reads, as Buildkite spells them.
const KNOWN_WORDS: [&str; 10] = [
    "MEMBER",
    "ADMIN",
    "MAINTAINER",
    "member",
    "admin",
    "maintainer",
    "REQUIRED",
    "OPTIONAL",
    "required",
    "optional",
];

impl std::ops::Deref for Word {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Word::Known(word) => word,
            Word::Other(word) => word,
        }
    }
}

/// Written as the string it was read from (a parked member row, see
/// `full_read/parked.rs`).
impl Serialize for Word {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Word;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Word, E> {
                Ok(KNOWN_WORDS
                    .into_iter()
                    .find(|known| *known == text)
                    .map_or_else(|| Word::Other(text.to_owned()), Word::Known))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// A field that may be absent (`#[serde(default)]` gives `None`) but never `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A Buildkite timestamp or null, parsed as it is decoded so no string is kept for it
/// ([`crate::map::time`] says which forms are accepted; others become `None`).
fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    struct Time;
    impl<'de> Visitor<'de> for Time {
        type Value = Option<Timestamp>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a timestamp string or null")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(crate::map::time(Some(text)))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_str(Time)
        }
    }
    deserializer.deserialize_option(Time)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestOrganization {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
    pub(crate) web_url: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestUser {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) avatar_url: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestAccessToken {
    pub(crate) uuid: Option<String>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    pub(crate) description: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) expires_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestMember {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) sso_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestCreatedBy {
    pub(crate) id: Option<String>,
}

/// A listed team as the full read keeps it: what a membership names, nothing else (a
/// description of a megabyte is skipped as it is decoded, never held).
#[derive(Debug, Deserialize)]
pub(crate) struct RestTeamRef {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestTeam {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) privacy: Option<String>,
    pub(crate) default: Option<bool>,
    pub(crate) default_member_role: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
    pub(crate) created_by: Option<RestCreatedBy>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestTeamMember {
    pub(crate) user_id: String,
    pub(crate) user_name: Option<String>,
    pub(crate) role: Option<Word>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    #[serde(default)]
    pub(crate) has_next_page: bool,
    #[serde(default)]
    pub(crate) has_previous_page: bool,
    pub(crate) start_cursor: Option<String>,
    pub(crate) end_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Url {
    pub(crate) url: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlUser {
    pub(crate) uuid: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) avatar: Option<Url>,
    pub(crate) bot: Option<bool>,
    /// Absent when the server's schema lacks the field and the query dropped it (drift.rs).
    #[serde(default)]
    pub(crate) machine_user: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct GqlSso {
    /// Absent from `UnidirMembersLite` (REST says the SSO mode there).
    pub(crate) mode: Option<Word>,
    /// Only when the read selects `last_sign_in_at` (`authorizations(first: 1)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) authorizations: Option<GqlSsoAuthorizations>,
}

impl GqlSso {
    /// The latest sign-in among the authorizations read (see `src/fields.rs`).
    pub(crate) fn last_sign_in_at(&self) -> Option<Timestamp> {
        self.authorizations
            .as_ref()?
            .edges
            .iter()
            .flatten()
            .filter_map(|edge| edge.node.as_ref()?.created_at)
            .max()
    }
}

/// `OrganizationMemberSSO.authorizations`, as selected (kept through a parked page).
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct GqlSsoAuthorizations {
    pub(crate) edges: Option<Vec<GqlSsoEdge>>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct GqlSsoEdge {
    pub(crate) node: Option<GqlSsoAuthorization>,
}

/// An `SSOAuthorization`: a sign-in through SSO.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlSsoAuthorization {
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlSecurity {
    pub(crate) two_factor_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GqlTeamRef {
    pub(crate) uuid: String,
    pub(crate) slug: Option<String>,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlTeamMembership {
    pub(crate) role: Word,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
    pub(crate) team: Option<GqlTeamRef>,
}

/// A `TeamMember` node of `UnidirTeamMembers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlTeamMember {
    pub(crate) role: Word,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
    pub(crate) user: Option<GqlUserRef>,
}

/// A team of `UnidirTeamSizes`.
#[derive(Debug, Deserialize)]
pub(crate) struct GqlTeamSize {
    pub(crate) uuid: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) members: GqlCount,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GqlCount {
    pub(crate) count: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GqlUserRef {
    pub(crate) uuid: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlMember {
    /// The membership's own UUID (`organizationMember(slug: "org/uuid")` reads it again).
    pub(crate) uuid: Option<String>,
    pub(crate) role: Word,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) last_seen_at: Option<Timestamp>,
    pub(crate) sso: Option<GqlSso>,
    pub(crate) security: Option<GqlSecurity>,
    pub(crate) user: GqlUser,
    /// The first page of the member's teams (`UnidirMembers`; absent from the lite query).
    /// Absent is `None`; `null` is refused (it would read as "in no team").
    #[serde(default, deserialize_with = "present", skip_serializing)]
    pub(crate) teams: Option<Connection<GqlTeamMembership>>,
}

/// A Relay connection as unidir selects it. Everything is optional here so that a missing
/// part is reported by the code that needs it, with the message it has always had.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection<N> {
    pub(crate) count: Option<u64>,
    pub(crate) page_info: Option<PageInfo>,
    pub(crate) edges: Option<Vec<Edge<N>>>,
}

impl<N> Connection<N> {
    /// The edges' nodes; `None` for an edge without one.
    pub(crate) fn nodes(&mut self) -> impl ExactSizeIterator<Item = Option<N>> + use<N> {
        self.edges
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.node)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Edge<N> {
    pub(crate) node: Option<N>,
}

/// `data` of `UnidirMembers`, `UnidirMembersLite` and `UnidirOrgSize`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrgMembers<N> {
    pub(crate) organization: Option<Members<N>>,
}

/// An object with a `members` connection (an organization, a team).
#[derive(Debug, Deserialize)]
pub(crate) struct Members<N> {
    /// The organization's UUID (selected on organizations only; it fills `organization_id`).
    #[serde(default)]
    pub(crate) uuid: Option<String>,
    pub(crate) members: Option<Connection<N>>,
}

/// `data` of `UnidirTeamMembers`.
#[derive(Debug, Deserialize)]
pub(crate) struct TeamMembers {
    pub(crate) team: Option<Members<GqlTeamMember>>,
}

/// `data` of `UnidirTeamSizes`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrgTeams {
    pub(crate) organization: Option<Teams<GqlTeamSize>>,
}

/// An object with a `teams` connection (an organization, an organization member).
#[derive(Debug, Deserialize)]
pub(crate) struct Teams<N> {
    pub(crate) teams: Option<Connection<N>>,
}

/// `data` of `UnidirMemberTeams`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberTeams<N> {
    pub(crate) organization_member: Option<Teams<N>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_known_spellings_and_any_other_value() {
        let words: Vec<Word> =
            serde_json::from_str(r#"["MAINTAINER", "required", "Billing_Manager", "admin"]"#)
                .expect("decodes");
        assert_eq!(words[0], Word::Known("MAINTAINER"));
        assert_eq!(&*words[1], "required");
        assert_eq!(words[2], Word::Other("Billing_Manager".to_owned()));
        assert_eq!(&*words[3], "admin");
        let err = serde_json::from_str::<Word>("7").expect_err("not a string");
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn timestamps_decode_in_both_forms_and_leave_garbage_null() {
        let member: RestTeamMember = serde_json::from_value(serde_json::json!({
            "user_id": "u-1", "created_at": "2025-07-16 06:07:42 UTC"
        }))
        .expect("decodes");
        assert_eq!(
            member.created_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-07-16T06:07:42+00:00")
        );
        for raw in [serde_json::json!(null), serde_json::json!("yesterday")] {
            let member: RestTeamMember =
                serde_json::from_value(serde_json::json!({ "user_id": "u-1", "created_at": raw }))
                    .expect("decodes");
            assert_eq!(member.created_at, None);
        }
        let missing: RestTeamMember =
            serde_json::from_str(r#"{ "user_id": "u-1" }"#).expect("decodes");
        assert_eq!(missing.created_at, None);
        serde_json::from_str::<RestTeamMember>(r#"{ "user_id": "u-1", "created_at": 7 }"#)
            .expect_err("a number is not a timestamp");
    }

    #[test]
    fn a_member_with_null_teams_is_refused_not_read_as_teamless() {
        let base = serde_json::json!({
            "role": "MEMBER", "user": { "uuid": "u-1" }
        });
        let absent: GqlMember = serde_json::from_value(base.clone()).expect("absent is fine");
        assert!(absent.teams.is_none());
        let mut null = base;
        null["teams"] = serde_json::Value::Null;
        serde_json::from_value::<GqlMember>(null).expect_err("null teams");
    }

    /// A parked page (written to disk while REST is slow) keeps the member's sign-ins.
    #[test]
    fn the_last_sign_in_survives_a_parked_page() {
        let member: GqlMember = serde_json::from_value(serde_json::json!({
            "role": "MEMBER", "user": { "uuid": "u-1" },
            "sso": { "authorizations": { "edges": [
                { "node": { "createdAt": "2026-01-02T03:04:05Z" } },
                { "node": { "createdAt": "2026-03-02T03:04:05Z" } },
                { "node": null },
            ] } }
        }))
        .expect("decodes");
        let want = member.sso.as_ref().and_then(GqlSso::last_sign_in_at);
        assert_eq!(
            want.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-03-02T03:04:05+00:00")
        );
        let parked = serde_json::to_vec(&member).expect("serialises");
        let back: GqlMember = serde_json::from_slice(&parked).expect("reads back");
        assert_eq!(back.sso.as_ref().and_then(GqlSso::last_sign_in_at), want);
    }

    #[test]
    fn a_user_without_machine_user_decodes() {
        // What an older schema answers once drift.rs has dropped `machineUser`.
        let user: GqlUser = serde_json::from_value(serde_json::json!({
            "id": "VXNlci0tLTE=", "uuid": "u-1", "name": "Bot", "email": "bot@acme.example",
            "avatar": { "url": null }, "bot": true
        }))
        .expect("decodes");
        assert_eq!(user.machine_user, None);
        assert_eq!(user.bot, Some(true));
    }
}
