//! A provider-neutral conformance [`World`] as a Buildkite organization (feature
//! `conformance`).
//!
//! World users become organization members (in world order), world groups become teams with
//! the world's slugs, and role keys map to Buildkite's two axes: organization `admin` or
//! `member`, team `maintainer` or `member`. A world role Buildkite does not have, or a world
//! group without roles, is an [`SimError::InvalidConfig`], never a silent substitute.

use unidir_conformance::World;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::model::{OrgRole, TeamRole};
use crate::spec::{MemberSpec, OrgSpec, TeamSpec};

fn invalid(message: String) -> SimError {
    SimError::InvalidConfig(message)
}

fn org_role(key: &str) -> Result<OrgRole, SimError> {
    OrgRole::from_rest(key).ok_or_else(|| {
        invalid(format!(
            "world organization role {key:?} has no Buildkite equivalent (admin, member)"
        ))
    })
}

fn team_role(key: &str) -> Result<TeamRole, SimError> {
    TeamRole::from_rest(key).ok_or_else(|| {
        invalid(format!(
            "world group role {key:?} has no Buildkite equivalent (maintainer, member)"
        ))
    })
}

impl OrgSpec {
    /// The organization of `world`: its users as members (UUIDs from the seed), its groups
    /// as teams. Fails when the world does not validate or uses a role Buildkite lacks.
    pub fn from_world(world: &World) -> Result<Self, SimError> {
        world
            .validate()
            .map_err(|e| invalid(format!("invalid world: {e}")))?;
        for role in &world.roles {
            match role.scope {
                unidir_core::RoleScope::Organization => org_role(&role.key).map(drop)?,
                _ => team_role(&role.key).map(drop)?,
            }
        }
        let members = world
            .users
            .iter()
            .map(|u| Ok(MemberSpec::new(&u.name, &u.email, org_role(&u.org_role)?)))
            .collect::<Result<_, SimError>>()?;
        let teams = world
            .groups
            .iter()
            .map(|g| {
                let mut team = TeamSpec::new(&g.name).with_slug(&g.slug);
                if let Some(description) = &g.description {
                    team = team.with_description(description);
                }
                if g.privacy == unidir_core::GroupPrivacy::Secret {
                    team = team.secret();
                }
                if !g.has_roles {
                    return Err(invalid(format!(
                        "world group {:?} has no roles; Buildkite teams always have them",
                        g.name
                    )));
                }
                for m in &g.members {
                    let role = m.role.as_deref().unwrap_or_default();
                    team = team.with_member(&m.email, team_role(role)?);
                }
                Ok(team)
            })
            .collect::<Result<_, SimError>>()?;
        Ok(Self {
            uuid: None,
            members,
            teams,
        })
    }
}

impl SimConfig {
    /// Serves `world`: its organization name and slug, its members and teams, and every
    /// configured token belonging to the world's credential user ([`World::me`]; the first
    /// user when the world names none).
    ///
    /// ```
    /// use unidir_buildkite_sim::SimConfig;
    /// use unidir_conformance::World;
    ///
    /// let config = SimConfig::unlimited().with_world(&World::small()).expect("valid world");
    /// assert_eq!(config.org_slug, "conformance-org");
    /// ```
    pub fn with_world(mut self, world: &World) -> Result<Self, SimError> {
        let spec = OrgSpec::from_world(world)?;
        let me = world
            .me
            .as_deref()
            .and_then(|me| {
                world
                    .users
                    .iter()
                    .position(|u| u.email.eq_ignore_ascii_case(me))
            })
            .unwrap_or(0);
        for token in &mut self.tokens {
            token.user_index = me;
        }
        Ok(self
            .with_org_slug(&world.organization.slug)
            .with_org_name(&world.organization.name)
            .with_spec(spec))
    }
}

#[cfg(test)]
mod tests {
    use unidir_conformance::WorldGroup;

    use super::*;

    #[test]
    fn the_small_world_maps_onto_buildkite_roles_and_teams() {
        let world = World::small();
        let config = SimConfig::unlimited()
            .with_world(&world)
            .expect("valid world");
        assert_eq!(config.org_name, "Conformance Org");
        assert_eq!(config.tokens[0].user_index, 0, "Ada is me");
        let spec = config.spec.expect("a spec");
        assert_eq!(spec.members.len(), 5);
        assert_eq!(spec.members[0].role, OrgRole::Admin);
        let security = &spec.teams[1];
        assert_eq!(security.slug.as_deref(), Some("security"));
        assert_eq!(security.privacy, crate::TeamPrivacy::Secret);
        assert_eq!(security.members[1].role, TeamRole::Maintainer);
    }

    #[test]
    fn a_role_buildkite_lacks_is_refused() {
        let world = World::small()
            .with_role("owner", unidir_core::RoleScope::Group)
            .with_group(
                WorldGroup::new("Ops", "ops").with_member("eve@conformance.example", "owner"),
            );
        let err = SimConfig::unlimited()
            .with_world(&world)
            .expect_err("no owner role on Buildkite");
        assert!(err.to_string().contains("\"owner\""), "{err}");
    }

    #[test]
    fn a_group_without_roles_is_refused() {
        let err = SimConfig::unlimited()
            .with_world(&World::mixed())
            .expect_err("Buildkite teams always have roles");
        assert!(err.to_string().contains("\"Guild\" has no roles"), "{err}");
    }
}
