//! `me` and the organizations the token can see.

use serde_json::json;
use unidir_core::{
    Credential, GetOptions, ListQuery, Me, Organization, OrganizationRef, Page, Resource, Result,
    User, UserStatus, ensure_filters,
};

use super::paging::map_page;
use super::{Buildkite, binding, tag};
use crate::api::check_slug;
use crate::wire::{RestOrganization, RestUser};
use crate::{PROVIDER, map};

impl Buildkite {
    /// `me`: the access token, the token's user and every organization it can see.
    pub(super) async fn read_me(&self, options: &GetOptions) -> Result<Me> {
        const OP: &str = "me";
        let keep = options.include_remote_data;
        let (token, token_raw) = self.access_token(OP).await?;
        let user_rest = self.api.get(OP, &["user"], &[]).await?;
        let user: RestUser = map::decode(OP, "user", &user_rest.body)?;
        let orgs: Vec<RestOrganization> = self.rest_walk(OP, &["organizations"], &[]).await?;
        let mut organizations = Vec::new();
        for org in orgs {
            organizations.push(OrganizationRef::new(org.id, org.name).with_slug(org.slug));
        }
        let unified_user = User::new(user.id)
            .with_name(user.name)
            .with_emails(
                user.email
                    .map(|email| unidir_core::Email::new(email).with_is_primary(true))
                    .into_iter()
                    .collect(),
            )
            .with_status(UserStatus::Active)
            .with_avatar_url(user.avatar_url)
            .with_created_at(user.created_at)
            .with_remote_data(keep.then(|| user_rest.body.clone()));
        Ok(Me::new(unified_user)
            .with_scopes(token.scopes)
            .with_organizations(organizations)
            .with_credential(
                Credential::new()
                    .with_id(token.uuid)
                    .with_description(token.description)
                    .with_created_at(token.created_at)
                    .with_expires_at(token.expires_at),
            )
            .with_remote_data(
                keep.then(|| json!({ "access_token": token_raw, "user": user_rest.body })),
            ))
    }

    /// `list_organizations`: one REST page.
    pub(super) async fn organizations_page(&self, query: &ListQuery) -> Result<Page<Organization>> {
        const OP: &str = "list_organizations";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = binding(Resource::Organizations, query, &[]);
        let page = self
            .rest_page(OP, &["organizations"], &[], query, &binding)
            .await?;
        map_page(
            OP,
            "organization",
            page,
            query.include_remote_data,
            map::organization,
        )
    }

    /// `get_organization` by slug.
    pub(super) async fn organization_by_slug(
        &self,
        id: &str,
        options: &GetOptions,
    ) -> Result<Organization> {
        const OP: &str = "get_organization";
        check_slug(id).map_err(tag(OP))?;
        let rest = self.api.get(OP, &["organizations", id], &[]).await?;
        let (org, raw) = map::with_raw(OP, "organization", rest.body)?;
        Ok(map::organization(
            org,
            raw.filter(|_| options.include_remote_data),
        ))
    }
}
