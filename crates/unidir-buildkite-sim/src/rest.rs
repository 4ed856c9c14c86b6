//! REST v2: routing, paging (`page`/`per_page` + `Link`), JSON objects and writes.
//!
//! Handlers run synchronously under the simulator's lock and return a [`Reply`] or an
//! [`ApiError`]; the server turns either into a response and adds the rate-limit headers.

use std::ops::Range;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use url::form_urlencoded;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::ids::{rest_time, token_time};
use crate::model::{OrgRole, SsoMode, TeamRole};
use crate::state::{State, TeamMembership};

const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

/// The parts of an HTTP request the REST layer looks at.
#[derive(Debug)]
pub(crate) struct RestRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) body: &'a [u8],
}

/// A successful answer: status, optional JSON body, optional `Link` header.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) link: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            link: None,
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            link: None,
        }
    }
}

type Result<T> = std::result::Result<T, ApiError>;

struct Ctx<'a> {
    state: &'a mut State,
    caller: Caller,
    /// Origin of absolute URLs, without a trailing slash.
    base: &'a str,
    path: &'a str,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

/// Answers one authenticated REST request.
pub(crate) fn handle(
    state: &mut State,
    caller: Caller,
    req: &RestRequest<'_>,
    base: &str,
) -> Result<Reply> {
    let relative = req.path.strip_prefix("/v2").unwrap_or(req.path);
    let segments: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
    let mut ctx = Ctx {
        state,
        caller,
        base,
        path: req.path,
        query: form_urlencoded::parse(req.query.as_bytes())
            .into_owned()
            .collect(),
        body: req.body,
    };
    match (req.method, segments.as_slice()) {
        ("GET", ["access-token"]) => Ok(Reply::ok(token_json(ctx.state, caller.token))),
        ("DELETE", ["access-token"]) => {
            ctx.state.revoke_token(caller.token);
            Ok(Reply::no_content())
        }
        ("GET", ["user"]) => {
            ctx.need("read_user")?;
            Ok(Reply::ok(user_json(ctx.state, caller.user)))
        }
        ("GET", ["organizations"]) => {
            ctx.need("read_organizations")?;
            let orgs: Vec<Value> = if ctx.state.is_member(caller.user) {
                vec![org_json(ctx.state, base)]
            } else {
                Vec::new()
            };
            ctx.paged(orgs.len(), |_, range| orgs[range].to_vec())
        }
        (method, ["organizations", slug, rest @ ..]) => ctx.org_route(method, slug, rest),
        _ => Err(ApiError::not_found("Not Found")),
    }
}

impl Ctx<'_> {
    fn need(&self, scope: &str) -> Result<()> {
        if auth::has_scope(self.state, self.caller, scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                auth::missing_scope(scope),
            ))
        }
    }

    fn org_route(&mut self, method: &str, slug: &str, rest: &[&str]) -> Result<Reply> {
        let scope = match (method, rest) {
            ("GET", [] | ["members", ..]) => "read_organizations",
            ("PATCH" | "DELETE", ["members", _]) => "write_organizations",
            ("GET", ["teams", ..]) => "read_teams",
            ("POST", ["teams", _, "members"])
            | ("PATCH" | "DELETE", ["teams", _, "members", _]) => "write_teams",
            _ => return Err(ApiError::not_found("Not Found")),
        };
        self.need(scope)?;
        // A token whose user left the organization no longer sees it (404, like Buildkite).
        if slug != self.state.org.slug || !self.state.is_member(self.caller.user) {
            return Err(ApiError::not_found("No organization found"));
        }
        match (method, rest) {
            ("GET", []) => Ok(Reply::ok(org_json(self.state, self.base))),
            ("GET", ["members"]) => {
                let viewer = self.caller.user;
                let members = self.state.members_created();
                self.paged(members.len(), |state, range| {
                    members[range]
                        .iter()
                        .map(|&u| member_json(state, viewer, u))
                        .collect()
                })
            }
            ("GET", ["members", uuid]) => {
                let user = self.member(uuid)?;
                Ok(Reply::ok(member_json(self.state, self.caller.user, user)))
            }
            ("PATCH", ["members", uuid]) => self.update_member(uuid),
            ("DELETE", ["members", uuid]) => self.remove_member(uuid),
            ("GET", ["teams"]) => self.list_teams(),
            ("GET", ["teams", uuid]) => {
                let team = self.team(uuid)?;
                Ok(Reply::ok(team_json(self.state, team)))
            }
            ("GET", ["teams", uuid, "members"]) => {
                let team = self.team(uuid)?;
                let ids = self.state.team_membership_ids(team);
                self.paged(ids.len(), |state, range| {
                    ids[range]
                        .iter()
                        .filter_map(|&id| state.membership(id))
                        .map(|tm| team_member_json(state, tm))
                        .collect()
                })
            }
            ("GET", ["teams", uuid, "members", user]) => {
                let team = self.team(uuid)?;
                let id = self.team_membership(team, user)?;
                self.team_member_reply(id, StatusCode::OK)
            }
            ("POST", ["teams", uuid, "members"]) => self.add_team_member(uuid),
            ("PATCH", ["teams", uuid, "members", user]) => self.update_team_member(uuid, user),
            ("DELETE", ["teams", uuid, "members", user]) => {
                let team = self.team(uuid)?;
                let id = self.team_membership(team, user)?;
                self.manage(team)?;
                self.state.remove_team_membership(id);
                Ok(Reply::no_content())
            }
            _ => Err(ApiError::not_found("Not Found")),
        }
    }

    // ---- lookups -----------------------------------------------------------------------

    fn member(&self, uuid: &str) -> Result<usize> {
        self.state
            .member_by_uuid(uuid)
            .ok_or_else(|| ApiError::not_found("No member found"))
    }

    /// A team the caller may see (secret teams of others answer 404, as if absent).
    fn team(&self, uuid: &str) -> Result<usize> {
        self.state
            .team_by_uuid(uuid)
            .filter(|&t| self.state.can_see_team(self.caller.user, t))
            .ok_or_else(|| ApiError::not_found("No team found"))
    }

    fn team_membership(&self, team: usize, user_uuid: &str) -> Result<usize> {
        self.state
            .member_by_uuid(user_uuid)
            .and_then(|u| self.state.pair(team, u))
            .ok_or_else(|| ApiError::not_found("No team member found"))
    }

    fn manage(&self, team: usize) -> Result<()> {
        if self.state.can_manage_team(self.caller.user, team) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    // ---- paging ------------------------------------------------------------------------

    /// Validates `page`/`per_page`, slices `total` items and adds the `Link` header.
    fn paged(
        &self,
        total: usize,
        items: impl FnOnce(&State, Range<usize>) -> Vec<Value>,
    ) -> Result<Reply> {
        let paging = Paging::parse(&self.query)?;
        let range = paging.range(total);
        Ok(Reply {
            status: StatusCode::OK,
            body: Some(Value::Array(items(self.state, range))),
            link: paging.link(self.base, self.path, &self.query, total),
        })
    }

    // ---- members -----------------------------------------------------------------------

    fn update_member(&mut self, uuid: &str) -> Result<Reply> {
        let user = self.member(uuid)?;
        if !self.state.is_admin(self.caller.user) || user == self.caller.user {
            return Err(ApiError::forbidden());
        }
        let body = json_object(self.body)?;
        let role = optional_enum(&body, "role", OrgRole::from_rest, "Role")?;
        let sso = optional_enum(&body, "sso_mode", SsoMode::from_rest, "SSO mode")?;
        if role.is_none() && sso.is_none() {
            return Err(ApiError::unprocessable(
                "Validation failed: role or sso_mode must be given",
            ));
        }
        self.state.update_member(user, role, sso);
        Ok(Reply::ok(member_json(self.state, self.caller.user, user)))
    }

    fn remove_member(&mut self, uuid: &str) -> Result<Reply> {
        let user = self.member(uuid)?;
        if !self.state.is_admin(self.caller.user) || user == self.caller.user {
            return Err(ApiError::forbidden());
        }
        self.state
            .remove_member(user)
            .map_err(ApiError::unprocessable)?;
        Ok(Reply::no_content())
    }

    // ---- teams -------------------------------------------------------------------------

    fn list_teams(&self) -> Result<Reply> {
        let viewer = self.caller.user;
        // `Some(None)`: filtering by an unknown user, who simply has no teams.
        let filter_user = self
            .query
            .iter()
            .rev()
            .find(|(k, _)| k == "user_id")
            .map(|(_, uuid)| self.state.member_by_uuid(uuid));
        let teams: Vec<usize> = self
            .state
            .teams_by_name()
            .iter()
            .copied()
            .filter(|&t| self.state.can_see_team(viewer, t))
            .filter(|&t| match filter_user {
                None => true,
                Some(None) => false,
                Some(Some(u)) => self.state.pair(t, u).is_some(),
            })
            .collect();
        self.paged(teams.len(), |state, range| {
            teams[range].iter().map(|&t| team_json(state, t)).collect()
        })
    }

    fn team_member_reply(&self, id: usize, status: StatusCode) -> Result<Reply> {
        let tm = self
            .state
            .membership(id)
            .ok_or_else(|| ApiError::not_found("No team member found"))?;
        Ok(Reply {
            status,
            body: Some(team_member_json(self.state, tm)),
            link: None,
        })
    }

    fn add_team_member(&mut self, uuid: &str) -> Result<Reply> {
        let team = self.team(uuid)?;
        self.manage(team)?;
        let body = json_object(self.body)?;
        let user_uuid = match body.get("user_id") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            Some(Value::Null | Value::String(_)) | None => {
                return Err(ApiError::validation("User can't be blank"));
            }
            Some(_) => return Err(ApiError::validation("User is invalid")),
        };
        let role = optional_enum(&body, "role", TeamRole::from_rest, "Role")?
            .unwrap_or(self.state.teams[team].default_member_role);
        let user = self
            .state
            .member_by_uuid(user_uuid)
            .ok_or_else(|| ApiError::validation("User must be a member of the organization"))?;
        let id = self
            .state
            .add_team_member(team, user, role, chrono::Utc::now())
            .map_err(ApiError::validation)?;
        self.team_member_reply(id, StatusCode::CREATED)
    }

    fn update_team_member(&mut self, uuid: &str, user_uuid: &str) -> Result<Reply> {
        let team = self.team(uuid)?;
        let id = self.team_membership(team, user_uuid)?;
        self.manage(team)?;
        let body = json_object(self.body)?;
        let role = optional_enum(&body, "role", TeamRole::from_rest, "Role")?
            .ok_or_else(|| ApiError::validation("Role can't be blank"))?;
        self.state.set_team_role(id, role);
        self.team_member_reply(id, StatusCode::OK)
    }
}

// ---- request bodies ------------------------------------------------------------------------

/// The body as a JSON object; an empty body counts as `{}`.
fn json_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(_) => Err(ApiError::bad_request("Problems parsing JSON")),
    }
}

/// An optional enum field in REST spelling; `null` counts as absent.
fn optional_enum<T>(
    body: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    label: &str,
) -> Result<Option<T>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("{label} is not included in the list"))),
        Some(_) => Err(ApiError::validation(format!(
            "{label} is not included in the list"
        ))),
    }
}

// ---- paging --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Paging {
    page: usize,
    per_page: usize,
}

impl Paging {
    fn parse(query: &[(String, String)]) -> Result<Self> {
        // Rails semantics: the last occurrence of a repeated parameter wins.
        let get = |key: &str| {
            query
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim())
        };
        let page = match get("page") {
            None => 1,
            Some(v) => v.parse::<usize>().ok().filter(|&p| p >= 1).ok_or_else(|| {
                ApiError::bad_request("page must be an integer greater than or equal to 1")
            })?,
        };
        let per_page = match get("per_page") {
            None => DEFAULT_PER_PAGE,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "per_page must be an integer between 1 and {MAX_PER_PAGE}"
                    ))
                })?,
        };
        Ok(Self { page, per_page })
    }

    fn last_page(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }

    fn range(&self, total: usize) -> Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        start..start.saturating_add(self.per_page).min(total)
    }

    /// `first`/`prev`/`next`/`last` links keeping the request's other parameters; `None`
    /// when everything fits on one page.
    fn link(
        &self,
        base: &str,
        path: &str,
        query: &[(String, String)],
        total: usize,
    ) -> Option<String> {
        let last = self.last_page(total);
        if last <= 1 {
            return None;
        }
        let url = |page: usize| {
            let page = page.to_string();
            let mut out = form_urlencoded::Serializer::new(String::new());
            let mut placed = false;
            if !query.iter().any(|(k, _)| k == "page") {
                out.append_pair("page", &page);
                placed = true;
            }
            for (k, v) in query {
                if k != "page" {
                    out.append_pair(k, v);
                } else if !placed {
                    out.append_pair("page", &page);
                    placed = true;
                }
            }
            format!("{base}{path}?{}", out.finish())
        };
        let mut rels = Vec::with_capacity(4);
        if self.page > 1 {
            rels.push((url(1), "first"));
            rels.push((url((self.page - 1).min(last)), "prev"));
        }
        if self.page < last {
            rels.push((url(self.page + 1), "next"));
            rels.push((url(last), "last"));
        }
        Some(
            rels.iter()
                .map(|(u, rel)| format!("<{u}>; rel=\"{rel}\""))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

// ---- JSON objects ----------------------------------------------------------------------------

fn token_json(state: &State, token: usize) -> Value {
    let Some(t) = state.tokens.get(token) else {
        return Value::Null;
    };
    let user = &state.users[t.user];
    json!({
        "uuid": t.uuid,
        "scopes": t.scopes,
        "description": t.description,
        "created_at": token_time(t.created_at),
        "expires_at": t.expires_at.map(token_time),
        "user": { "email": user.email, "name": user.name },
    })
}

pub(crate) fn user_json(state: &State, user: usize) -> Value {
    let u = &state.users[user];
    json!({
        "id": u.uuid,
        "graphql_id": u.graphql_id,
        "name": u.name,
        "email": u.email,
        "avatar_url": u.avatar_url,
        "created_at": rest_time(u.created_at),
    })
}

fn org_json(state: &State, base: &str) -> Value {
    let o = &state.org;
    let api = format!("{base}/v2/organizations/{}", o.slug);
    json!({
        "id": o.uuid,
        "graphql_id": o.graphql_id,
        "url": api,
        "web_url": format!("{base}/{}", o.slug),
        "name": o.name,
        "slug": o.slug,
        "pipelines_url": format!("{api}/pipelines"),
        "agents_url": format!("{api}/agents"),
        "emojis_url": format!("{api}/emojis"),
        "created_at": rest_time(o.created_at),
    })
}

/// `sso_mode` is shown only to admins and to the member itself (reference §4.1).
fn member_json(state: &State, viewer: usize, user: usize) -> Value {
    let u = &state.users[user];
    let Some(m) = &u.membership else {
        return Value::Null;
    };
    let mut obj = json!({
        "id": u.uuid,
        "name": u.name,
        "email": u.email,
        "role": m.role.as_rest(),
    });
    if (viewer == user || state.is_admin(viewer))
        && let Some(map) = obj.as_object_mut()
    {
        map.insert("sso_mode".into(), m.sso_mode.as_rest().into());
    }
    obj
}

fn team_json(state: &State, team: usize) -> Value {
    let t = &state.teams[team];
    json!({
        "id": t.uuid,
        "graphql_id": t.graphql_id,
        "name": t.name,
        "slug": t.slug,
        "description": t.description,
        "privacy": t.privacy.as_rest(),
        "default": t.is_default,
        "default_member_role": t.default_member_role.as_rest(),
        "members_can_create_pipelines": true,
        "members_can_create_suites": true,
        "members_can_create_registries": true,
        "members_can_destroy_registries": false,
        "members_can_destroy_packages": false,
        "created_at": rest_time(t.created_at),
        "created_by": user_json(state, t.created_by),
    })
}

fn team_member_json(state: &State, tm: &TeamMembership) -> Value {
    json!({
        "role": tm.role.as_rest(),
        "created_at": rest_time(tm.created_at),
        "user_id": state.users[tm.user].uuid,
        "user_name": state.users[tm.user].name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn paging_bounds() {
        assert_eq!(
            Paging::parse(&q(&[])),
            Ok(Paging {
                page: 1,
                per_page: 30
            })
        );
        assert!(Paging::parse(&q(&[("per_page", "101")])).is_err());
        assert!(Paging::parse(&q(&[("per_page", "0")])).is_err());
        assert!(Paging::parse(&q(&[("page", "0")])).is_err());
        assert!(Paging::parse(&q(&[("page", "x")])).is_err());
        assert!(Paging::parse(&q(&[("page", "-1")])).is_err());
        let p = Paging::parse(&q(&[("page", "99999999999999999"), ("per_page", "100")]))
            .expect("huge pages are just empty");
        assert_eq!(p.range(10), 10..10);
    }

    #[test]
    fn links_match_the_reference_example() {
        let query = q(&[("page", "2"), ("per_page", "2")]);
        let p = Paging::parse(&query).expect("valid");
        let link = p
            .link(
                "https://api.buildkite.com",
                "/v2/organizations/acme-inc/members",
                &query,
                5,
            )
            .expect("three pages");
        assert_eq!(
            link,
            "<https://api.buildkite.com/v2/organizations/acme-inc/members?page=1&per_page=2>; rel=\"first\", \
             <https://api.buildkite.com/v2/organizations/acme-inc/members?page=1&per_page=2>; rel=\"prev\", \
             <https://api.buildkite.com/v2/organizations/acme-inc/members?page=3&per_page=2>; rel=\"next\", \
             <https://api.buildkite.com/v2/organizations/acme-inc/members?page=3&per_page=2>; rel=\"last\""
        );
        assert_eq!(p.link("b", "/p", &query, 2), None);
        let no_page = q(&[("per_page", "2"), ("user_id", "u")]);
        let p = Paging::parse(&no_page).expect("valid");
        assert_eq!(
            p.link("b", "/p", &no_page, 3).as_deref(),
            Some(
                "<b/p?page=2&per_page=2&user_id=u>; rel=\"next\", <b/p?page=2&per_page=2&user_id=u>; rel=\"last\""
            )
        );
    }
}
