//! Buildkite objects → unified objects.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use unidir_core::{
    Email, Group, GroupAssignment, GroupMembership, GroupPrivacy, GroupType, Organization, Result,
    Timestamp, User, UserStatus,
};

use crate::api::contract;
use crate::roles;
use crate::wire::{
    GqlMember, GqlTeamMembership, RestMember, RestOrganization, RestTeam, RestTeamMember,
};

/// Buildkite writes ISO 8601 (`2023-03-14T00:45:16.215Z`) almost everywhere and
/// `2025-07-16 06:07:42 UTC` on access tokens; both are accepted.
pub(crate) fn time(raw: Option<&str>) -> Option<Timestamp> {
    let raw = raw?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S UTC") {
        return Some(t.and_utc());
    }
    tracing::warn!("unparseable Buildkite timestamp left null (kept in remote_data)");
    None
}

/// A membership's join time to the whole second. GraphQL gives `createdAt` to the second
/// and REST `created_at` to the millisecond for the same membership; the full read reads
/// each team through whichever API is free, so the common precision wins and a user's
/// `joined_at` does not depend on which API read the team.
pub(crate) fn joined_at(at: Option<Timestamp>) -> Option<Timestamp> {
    at.and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
}

/// Decodes one provider object, naming the field that broke and the type it should have
/// had, never the value (which may be megabytes long, or hold the token).
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &'static str,
    what: &str,
    value: &Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        // Path segments can be map keys chosen by the provider: bound and escape them.
        let path = unidir_core::text::bounded(&e.path().to_string(), 100);
        let detail = describe(&e.inner().to_string());
        contract(
            operation,
            format!("unexpected {what} shape from Buildkite: field `{path}`: {detail}"),
        )
    })
}

/// serde's message without the offending value: "invalid type: string \"...\", expected
/// u64" becomes "expected u64, got a string".
fn describe(message: &str) -> String {
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, e)| unidir_core::text::bounded(e, 100));
    if let Some(unexpected) = message.strip_prefix("invalid type: ") {
        let kind = unexpected.split([' ', ',']).next().unwrap_or("value");
        let kind = match kind {
            "string" | "integer" | "map" | "sequence" | "boolean" | "null" | "floating"
            | "unit" | "char" | "bytes" | "option" => kind,
            _ => "value",
        };
        return match expected {
            Some(e) => format!("expected {e}, got a {kind}"),
            None => format!("unexpected {kind}"),
        };
    }
    if message.starts_with("missing field `") {
        // The field name is ours (from the wire type), never the provider's.
        return unidir_core::text::bounded(message, 100);
    }
    let what = if message.starts_with("unknown variant") {
        "unknown value"
    } else if message.starts_with("invalid length") {
        "wrong number of elements"
    } else {
        "invalid value"
    };
    match expected {
        Some(e) => format!("{what}, expected {e}"),
        None => what.to_owned(),
    }
}

/// The elements of a JSON array answer, taken without copying.
pub(crate) fn into_array(operation: &'static str, body: Value) -> Result<Vec<Value>> {
    match body {
        Value::Array(items) => Ok(items),
        _ => Err(contract(
            operation,
            "Buildkite answered with an object where a list was expected",
        )),
    }
}

/// An object decoded from its raw JSON, which is kept for `remote_data`: the route when
/// the caller asked for `remote_data` (otherwise objects are decoded straight from the
/// response bytes, and no `Value` is built).
pub(crate) fn with_raw<W: DeserializeOwned>(
    operation: &'static str,
    what: &str,
    raw: Value,
) -> Result<(W, Option<Value>)> {
    Ok((decode(operation, what, &raw)?, Some(raw)))
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

pub(crate) fn organization(org: RestOrganization, remote: Option<Value>) -> Organization {
    Organization::new(org.id, org.name)
        .with_slug(org.slug)
        .with_web_url(org.web_url)
        .with_created_at(org.created_at)
        .with_remote_data(remote)
}

pub(crate) fn group(team: RestTeam, remote: Option<Value>) -> Group {
    Group::new(team.id, team.name)
        .with_slug(team.slug)
        .with_description(non_empty(team.description))
        .with_group_type(GroupType::Team)
        .with_privacy(
            team.privacy
                .map(|p| GroupPrivacy::parse(&p.to_ascii_lowercase())),
        )
        .with_is_default(team.default)
        .with_default_role_id(team.default_member_role.map(|r| roles::team_role_id(&r)))
        .with_created_by(team.created_by.and_then(|c| c.id))
        .with_created_at(team.created_at)
        .with_remote_data(remote)
}

pub(crate) fn membership(
    group_id: &str,
    member: RestTeamMember,
    remote: Option<Value>,
) -> GroupMembership {
    GroupMembership::new(group_id, member.user_id)
        .with_role_id(member.role.map(|r| roles::team_role_id(&r)))
        .with_user_name(member.user_name)
        .with_created_at(joined_at(member.created_at))
        .with_remote_data(remote)
}

fn primary_email(email: Option<String>) -> Vec<Email> {
    email
        .map(|email| Email::new(email).with_is_primary(true))
        .into_iter()
        .collect()
}

/// Whether Buildkite's SSO mode (REST `sso_mode`, GraphQL `sso.mode`) requires SSO.
pub(crate) fn sso_required(mode: Option<&str>) -> Option<bool> {
    mode.map(|m| m.eq_ignore_ascii_case("required"))
}

/// A user from a REST member row; `groups` are filled by the caller.
pub(crate) fn rest_user(
    member: RestMember,
    remote: Option<Value>,
    groups: Vec<GroupAssignment>,
) -> User {
    let mut roles_held: Vec<_> = member
        .role
        .as_deref()
        .map(|r| roles::assignment(roles::org_role_id(r), None))
        .into_iter()
        .collect();
    add_team_roles(&mut roles_held, &groups);
    User::new(member.id)
        .with_name(member.name)
        .with_emails(primary_email(member.email))
        .with_status(UserStatus::Active)
        .with_roles(roles_held)
        .with_groups(groups)
        .with_is_sso_required(sso_required(member.sso_mode.as_deref()))
        .with_remote_data(remote)
}

fn add_team_roles(roles_held: &mut Vec<unidir_core::RoleAssignment>, groups: &[GroupAssignment]) {
    for g in groups {
        if let Some(role) = &g.role_id {
            roles_held.push(roles::assignment(role.clone(), Some(g.id.clone())));
        }
    }
}

pub(crate) fn team_assignment(membership: GqlTeamMembership) -> Option<GroupAssignment> {
    let team = membership.team?;
    Some(
        GroupAssignment::new(team.uuid)
            .with_name(team.name)
            .with_slug(team.slug)
            .with_role_id(roles::team_role_id(&membership.role))
            .with_joined_at(joined_at(membership.created_at)),
    )
}

/// A user from a GraphQL `OrganizationMember` node and all its team memberships.
pub(crate) fn graphql_user(
    member: GqlMember,
    groups: Vec<GroupAssignment>,
    remote: Option<Value>,
) -> User {
    let mut roles_held = vec![roles::assignment(roles::org_role_id(&member.role), None)];
    add_team_roles(&mut roles_held, &groups);
    let last_sign_in = member.sso.as_ref().and_then(|sso| sso.last_sign_in_at());
    let bot = match (member.user.bot, member.user.machine_user) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    };
    User::new(member.user.uuid)
        .with_name(member.user.name)
        .with_emails(primary_email(member.user.email))
        .with_status(UserStatus::Active)
        .with_roles(roles_held)
        .with_groups(groups)
        .with_avatar_url(member.user.avatar.and_then(|a| a.url))
        .with_is_bot(bot)
        .with_is_2fa_enabled(member.security.and_then(|s| s.two_factor_enabled))
        .with_is_sso_required(sso_required(member.sso.and_then(|s| s.mode).as_deref()))
        .with_created_at(member.created_at)
        .with_last_active_at(member.last_seen_at)
        .with_last_sign_in_at(last_sign_in)
        .with_remote_data(remote)
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use crate::wire::RestTeam;

    #[test]
    fn decode_errors_name_the_field_and_type_never_the_value() {
        let secret = "bkua_shh".to_owned() + &"z".repeat(5_000_000);
        let raw = serde_json::json!({ "id": "t1", "name": 7, "slug": secret });
        let err = decode::<RestTeam>("op", "team", &raw).expect_err("bad shape");
        let text = format!("{err} {err:?}");
        assert!(text.contains("field `name`"), "{text}");
        assert!(
            text.contains("expected a string, got a integer") || text.contains("got a integer"),
            "{text}"
        );
        assert!(!text.contains("bkua_shh"), "{text}");
        assert!(text.len() < 500, "{}", text.len());

        let raw = serde_json::json!({ "id": "t1", "name": "bkua_in_value" , "privacy": ["x"]});
        let err = decode::<RestTeam>("op", "team", &raw).expect_err("bad shape");
        assert!(!err.to_string().contains("bkua_in_value"), "{err}");

        let err = decode::<RestTeam>("op", "team", &serde_json::json!({ "name": "n" }))
            .expect_err("no id");
        assert!(err.to_string().contains("missing field `id`"), "{err}");
    }

    #[test]
    fn describe_drops_values() {
        assert_eq!(
            describe("invalid type: string \"bkua_x\", expected u64"),
            "expected u64, got a string"
        );
        assert_eq!(
            describe("unknown variant `bkua_x`, expected one of `a`, `b`"),
            "unknown value, expected one of `a`, `b`"
        );
        assert_eq!(
            describe("invalid value: string \"bkua_x\", expected a date"),
            "invalid value, expected a date"
        );
        assert_eq!(describe("something else entirely bkua_x"), "invalid value");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_timestamp_forms() {
        let a = time(Some("2023-03-14T00:45:16.215Z")).expect("iso");
        assert_eq!(a.to_rfc3339(), "2023-03-14T00:45:16.215+00:00");
        let b = time(Some("2025-07-16 06:07:42 UTC")).expect("utc form");
        assert_eq!(b.to_rfc3339(), "2025-07-16T06:07:42+00:00");
        assert!(
            time(Some("2012-03-04T56:07:08.910Z")).is_none(),
            "hour 56 is not a time"
        );
        assert!(time(None).is_none());
    }
}
