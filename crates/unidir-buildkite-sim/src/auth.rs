//! Bearer-token authentication and scope checks.

use axum::http::{HeaderMap, header::AUTHORIZATION};

use crate::state::State;

pub(crate) const REST_UNAUTHENTICATED: &str = "Authentication required. Please supply a valid API Access Token: https://buildkite.com/docs/apis/rest-api#authentication";
pub(crate) const GRAPHQL_UNAUTHENTICATED: &str = "Authentication required. Please supply a valid API Access Token: https://buildkite.com/docs/apis/graphql-api#authentication";

/// The authenticated token and its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) token: usize,
    pub(crate) user: usize,
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller of a request, if its token is known and not revoked.
pub(crate) fn authenticate(state: &State, headers: &HeaderMap) -> Option<Caller> {
    let token = state.token_by_secret(bearer(headers)?)?;
    Some(Caller {
        token,
        user: state.tokens[token].user,
    })
}

pub(crate) fn has_scope(state: &State, caller: Caller, scope: &str) -> bool {
    state
        .tokens
        .get(caller.token)
        .is_some_and(|t| t.scopes.iter().any(|s| s == scope))
}

pub(crate) fn missing_scope(scope: &str) -> String {
    format!("Your access token doesn't have the {scope} scope")
}
