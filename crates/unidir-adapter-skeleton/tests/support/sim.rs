//! The toy API served from the provider-neutral simulator harness, seeded from a
//! conformance `World`. A new provider's simulator has the same parts: the world translated
//! into the provider's objects and ids, its routes and wire shapes, its rate-limit headers,
//! and its answers to the faults the harness injects.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Method, Response, StatusCode};
use serde_json::{Value, json};
use unidir_conformance::World;
use unidir_core::{GroupPrivacy, RoleScope};
use unidir_sim_harness::server::{add_headers, json_response};
use unidir_sim_harness::{Budget, Context, LimitScope, Provider, Usage};

/// The toy's `per_page` maximum.
const MAX_PER_PAGE: u64 = 50;

/// A way to break the paging contract, for the adapter's contract checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "built by behaviour.rs only")]
pub(crate) enum Quirk {
    /// `next_page` jumps over a page.
    SkipsPages,
    /// A page holds one item more than `per_page`.
    OversizedPages,
}

/// The toy API over one organization.
#[derive(Debug)]
pub(crate) struct ToySim {
    token: String,
    org: Value,
    /// Index into `users` of the token's user.
    me: usize,
    users: Vec<Value>,
    groups: Vec<Value>,
    /// Per group, in `groups` order.
    members: Vec<Vec<Value>>,
    roles: Vec<Value>,
    budget: Mutex<Budget>,
    quirk: Mutex<Option<Quirk>>,
}

/// The toy's ids: `u_1`, `g_1`, ... in world order.
fn user_id(world: &World, email: &str) -> String {
    let index = world
        .users
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(email))
        .unwrap_or_default();
    format!("u_{}", index + 1)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// GitHub-style headers; the reset is a Unix time.
fn rate_headers(usage: &Usage) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", usage.limit.to_string()),
        ("x-ratelimit-remaining", usage.remaining().to_string()),
        ("x-ratelimit-used", usage.used.to_string()),
        (
            "x-ratelimit-reset",
            (unix_now() + usage.reset_secs).to_string(),
        ),
    ]
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "error": message }))
}

impl ToySim {
    /// The world as the toy API holds it, reachable with `token`.
    pub(crate) fn from_world(world: &World, token: &str) -> Self {
        let users = world
            .users
            .iter()
            .map(|u| {
                let groups: Vec<Value> = world
                    .groups_of(&u.email)
                    .map(|(g, role)| {
                        let index = world.groups.iter().position(|x| x == g).unwrap_or_default();
                        json!({ "id": format!("g_{}", index + 1), "role": role })
                    })
                    .collect();
                json!({
                    "id": user_id(world, &u.email),
                    "name": u.name,
                    "email": u.email,
                    "state": "enabled",
                    "role": u.org_role,
                    "groups": groups,
                })
            })
            .collect();
        let groups = world
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let visibility = if g.privacy == GroupPrivacy::Secret {
                    "private"
                } else {
                    "public"
                };
                json!({
                    "id": format!("g_{}", i + 1),
                    "name": g.name,
                    "slug": g.slug,
                    "description": g.description,
                    "visibility": visibility,
                })
            })
            .collect();
        let members = world
            .groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .map(|m| {
                        let user = world.user(&m.email);
                        json!({
                            "user_id": user_id(world, &m.email),
                            "role": m.role,
                            "name": user.map(|u| u.name.clone()),
                            "email": m.email,
                        })
                    })
                    .collect()
            })
            .collect();
        let roles = world
            .roles
            .iter()
            .map(|r| {
                let scope = if r.scope == RoleScope::Organization {
                    "org"
                } else {
                    "group"
                };
                json!({ "key": r.key, "scope": scope, "name": r.key })
            })
            .collect();
        let me = world
            .me
            .as_deref()
            .and_then(|me| {
                world
                    .users
                    .iter()
                    .position(|u| u.email.eq_ignore_ascii_case(me))
            })
            .unwrap_or_default();
        Self {
            token: token.to_owned(),
            org: json!({
                "id": "o_1",
                "name": world.organization.name,
                "slug": world.organization.slug,
            }),
            me,
            users,
            groups,
            members,
            roles,
            // Generous: the conformance suite never meets a limit; the tests inject them.
            budget: Mutex::new(Budget::new(100_000, 100_000, Duration::from_secs(60))),
            quirk: Mutex::new(None),
        }
    }

    /// Breaks (or, with `None`, restores) the paging contract.
    #[allow(dead_code, reason = "used by behaviour.rs, not by conformance.rs")]
    pub(crate) fn set_quirk(&self, quirk: Option<Quirk>) {
        *self.quirk.lock().unwrap_or_else(PoisonError::into_inner) = quirk;
    }

    fn quirk(&self) -> Option<Quirk> {
        *self.quirk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `items` cut to the page `query` asks for, in the toy's envelope.
    fn page<'a>(
        &self,
        items: impl IntoIterator<Item = &'a Value>,
        query: &[(String, String)],
    ) -> Response<Body> {
        let number = |name: &str, default: u64| -> Option<u64> {
            match query.iter().find(|(k, _)| k == name) {
                None => Some(default),
                Some((_, v)) => v.parse::<u64>().ok().filter(|n| *n >= 1),
            }
        };
        let (Some(page), Some(per_page)) = (number("page", 1), number("per_page", 20)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "page and per_page are positive integers",
            );
        };
        let per_page = per_page.min(MAX_PER_PAGE);
        let items: Vec<&Value> = items.into_iter().collect();
        let start = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
        let mut take = usize::try_from(per_page).unwrap_or(usize::MAX);
        if self.quirk() == Some(Quirk::OversizedPages) {
            take += 1;
        }
        let slice: Vec<&Value> = items.iter().skip(start).take(take).copied().collect();
        let more = start.saturating_add(slice.len()) < items.len();
        let next = match self.quirk() {
            Some(Quirk::SkipsPages) if more => Some(page + 2),
            _ if more => Some(page + 1),
            _ => None,
        };
        json_response(
            StatusCode::OK,
            &json!({ "items": slice, "next_page": next }),
        )
    }

    fn find<'a>(items: &'a [Value], id: &str) -> Option<(usize, &'a Value)> {
        items.iter().enumerate().find(|(_, v)| v["id"] == id)
    }

    /// The answer to an authorized, counted `GET`.
    fn answer(&self, parts: &Parts) -> Response<Body> {
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let path: Vec<&str> = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        let not_found = || error(StatusCode::NOT_FOUND, "not found");
        match path.as_slice() {
            ["api", "org"] => json_response(StatusCode::OK, &self.org),
            ["api", "me"] => json_response(
                StatusCode::OK,
                &json!({ "user": self.users[self.me], "scopes": ["read"] }),
            ),
            ["api", "users"] => {
                let email = query.iter().find(|(k, _)| k == "email").map(|(_, v)| v);
                let matching = self.users.iter().filter(|u| {
                    email.is_none_or(|e| {
                        u["email"]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(e))
                    })
                });
                self.page(matching, &query)
            }
            ["api", "users", id] => match Self::find(&self.users, id) {
                Some((_, user)) => json_response(StatusCode::OK, user),
                None => not_found(),
            },
            ["api", "groups"] => self.page(&self.groups, &query),
            ["api", "groups", id] => match Self::find(&self.groups, id) {
                Some((_, group)) => json_response(StatusCode::OK, group),
                None => not_found(),
            },
            ["api", "groups", id, "members"] => match Self::find(&self.groups, id) {
                Some((index, _)) => self.page(&self.members[index], &query),
                None => not_found(),
            },
            ["api", "roles"] => self.page(&self.roles, &query),
            _ => not_found(),
        }
    }
}

impl Provider for ToySim {
    const NAME: &'static str = "toy";
    const APIS: &'static [&'static str] = &["rest"];

    fn api(&self, _path: &str) -> usize {
        0
    }

    fn route(&self, _ctx: &Context<'_>, parts: &Parts, _body: &Bytes) -> Response<Body> {
        let bearer = format!("Bearer {}", self.token);
        let authorized = parts
            .headers
            .get("authorization")
            .is_some_and(|v| v.as_bytes() == bearer.as_bytes());
        if !authorized {
            return error(StatusCode::UNAUTHORIZED, "bad credentials");
        }
        if parts.method != Method::GET {
            return error(StatusCode::METHOD_NOT_ALLOWED, "the toy API is read-only");
        }
        let (_, usage) = self
            .budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(0, 1, Instant::now());
        let mut resp = if usage.exceeded() {
            error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded")
        } else {
            self.answer(parts)
        };
        add_headers(&mut resp, &rate_headers(&usage));
        resp
    }

    fn rate_limited(&self, _parts: &Parts, reset_secs: u64, _scope: LimitScope) -> Response<Body> {
        let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
        add_headers(&mut resp, &rate_headers(&Usage::tripped(5_000, reset_secs)));
        resp
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        error(status, message)
    }

    fn state(&self) -> Result<Value, String> {
        Ok(json!({ "users": self.users.len(), "groups": self.groups.len() }))
    }
}
