//! `organization_id` on every user and group: the id of the organization this directory
//! reads (its [`unidir_core::Organization::id`], Buildkite's organization UUID), so records
//! join with `list_organizations` without the caller knowing the slug.
//!
//! GraphQL answers carry it for free (`organization { uuid }` in the members and size
//! queries); neither REST members nor teams do, so a read that saw no GraphQL answer reads it
//! once per directory (`GET /v2/organizations/{slug}`, the request `get_organization` makes)
//! and keeps it. When that
//! read fails the field stays `null` (the provider did not say) and the lists go on: a
//! missing join key is no reason to fail a read.

use unidir_core::{Group, User};

use super::Buildkite;
use crate::map;
use crate::wire::RestOrganization;

impl Buildkite {
    /// The organization's id, read on first use and kept (also when the read failed).
    pub(super) async fn organization_id(&self) -> Option<&str> {
        const OP: &str = "get_organization";
        self.organization_id
            .get_or_init(|| async {
                let read = async {
                    let rest = self.api.get(OP, &self.org_path(&[]), &[]).await?;
                    map::decode::<RestOrganization>(OP, "organization", &rest.body)
                };
                match read.await {
                    Ok(org) => Some(org.id),
                    Err(e) => {
                        tracing::info!(error = %e, "organization id unread; organization_id stays null");
                        None
                    }
                }
            })
            .await
            .as_deref()
    }

    /// Keeps the organization UUID a GraphQL answer carried (the first one wins; a later
    /// answer naming another is the same organization by slug, so it is not asked again).
    pub(crate) fn learn_organization_id(&self, uuid: Option<&str>) {
        if let Some(uuid) =
            uuid.filter(|u| crate::api::check_id("list_users", "organization", u).is_ok())
        {
            let _ = self.organization_id.set(Some(uuid.to_owned()));
        }
    }

    /// Sets `organization_id` on users that lack it.
    pub(super) async fn stamp_users(&self, users: &mut [User]) {
        if users.iter().all(|u| u.organization_id.is_some()) {
            return;
        }
        if let Some(id) = self.organization_id().await {
            for user in users.iter_mut().filter(|u| u.organization_id.is_none()) {
                user.organization_id = Some(id.to_owned());
            }
        }
    }

    /// Sets `organization_id` on groups that lack it.
    pub(super) async fn stamp_groups(&self, groups: &mut [Group]) {
        if groups.iter().all(|g| g.organization_id.is_some()) {
            return;
        }
        if let Some(id) = self.organization_id().await {
            for group in groups.iter_mut().filter(|g| g.organization_id.is_none()) {
                group.organization_id = Some(id.to_owned());
            }
        }
    }
}
