//! Teams as groups: team lists, one team, a team's members, a user's teams.

use unidir_core::{
    FilterField, GetOptions, Group, GroupMembership, ListQuery, Page, Resource, Result,
    ensure_filters,
};

use super::paging::map_page;
use super::users::check_role_filter;
use super::{Buildkite, binding};
use crate::api::check_id;
use crate::{PROVIDER, map, roles};

impl Buildkite {
    /// `list_groups`: one REST page of teams.
    pub(super) async fn teams_page(&self, query: &ListQuery) -> Result<Page<Group>> {
        const OP: &str = "list_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = binding(Resource::Groups, query, &[]);
        let page = self
            .rest_page(OP, &self.org_path(&["teams"]), &[], query, &binding)
            .await?;
        map_page(OP, "team", page, query.include_remote_data, map::group)
    }

    /// `get_group`: one team.
    pub(super) async fn team_by_id(&self, id: &str, options: &GetOptions) -> Result<Group> {
        const OP: &str = "get_group";
        check_id(OP, "group", id)?;
        let rest = self
            .api
            .get(OP, &self.org_path(&["teams", id]), &[])
            .await?;
        let (team, raw) = map::with_raw(OP, "team", rest.body)?;
        Ok(map::group(
            team,
            raw.filter(|_| options.include_remote_data),
        ))
    }

    /// `list_group_members`: one REST page of a team's members.
    pub(super) async fn team_members_page(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        const OP: &str = "list_group_members";
        ensure_filters(PROVIDER, OP, &query.filters, &[FilterField::RoleId])?;
        check_role_filter(OP, query, &[roles::TEAM_MAINTAINER, roles::TEAM_MEMBER])?;
        check_id(OP, "group", group_id)?;
        let binding = binding(Resource::GroupMembers, query, &[group_id]);
        let page = self
            .rest_page(
                OP,
                &self.org_path(&["teams", group_id, "members"]),
                &[],
                query,
                &binding,
            )
            .await?;
        let mut page = map_page(
            OP,
            "team member",
            page,
            query.include_remote_data,
            |m, raw| map::membership(group_id, m, raw),
        )?;
        if let Some(role) = &query.filters.role_id {
            page.result.retain(|m| m.role_id.as_ref() == Some(role));
        }
        Ok(page)
    }

    /// `list_user_groups`: one REST page of a user's teams.
    pub(super) async fn user_teams_page(
        &self,
        user_id: &str,
        query: &ListQuery,
    ) -> Result<Page<Group>> {
        const OP: &str = "list_user_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        check_id(OP, "user", user_id)?;
        let binding = binding(Resource::UserGroups, query, &[user_id]);
        let page = self
            .rest_page(
                OP,
                &self.org_path(&["teams"]),
                &[("user_id", user_id.to_owned())],
                query,
                &binding,
            )
            .await?;
        map_page(OP, "team", page, query.include_remote_data, map::group)
    }
}
