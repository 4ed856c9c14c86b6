//! The decoding and mapping of a GraphQL members page, callable without HTTP, so the
//! `normalize` benchmark can time normalization alone (the adapter runs the same functions
//! on every `UnidirMembers` page it reads). Not a stable API.

use unidir_core::{Result, User};

use crate::api::{clean_data, contract};
use crate::directory::{Buildkite, team_groups};
use crate::map;
use crate::wire::{GqlMember, OrgMembers};

const OP: &str = "list_users";

/// The users of one `UnidirMembers` response body, as a list page maps them (without
/// `remote_data`). A member whose teams continue past the nested page is an error here: the
/// adapter would read the rest with another request.
pub fn users_from_members_body(directory: &Buildkite, body: &[u8]) -> Result<Vec<User>> {
    let data: OrgMembers<GqlMember> =
        clean_data(body).ok_or_else(|| contract(OP, "not a clean UnidirMembers answer"))?;
    let (_, members) = directory.members_of(OP, data)?;
    members
        .into_iter()
        .map(|mut member| {
            let mut teams = member.teams.take();
            if teams
                .as_ref()
                .and_then(|t| t.page_info.as_ref())
                .is_some_and(|p| p.has_next_page)
            {
                return Err(contract(OP, "a member's teams continue on another page"));
            }
            let groups = match teams.as_mut() {
                Some(teams) => team_groups(OP, teams.nodes()),
                None => Vec::new(),
            };
            Ok(map::graphql_user(member, groups, None))
        })
        .collect()
}
