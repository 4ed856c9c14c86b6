//! Every team, and the teams (with roles) of every user: what REST needs to give a member
//! their groups, since only team member lists carry team roles.
//!
//! Compact, because a read of a large organization holds it whole: each team's id, name and
//! slug once; per user a 16-byte digest of the id and, per membership, the team's position, an
//! interned role and the join time (≈ 30 bytes), not a `GroupAssignment` of owned strings.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Instant;

use unidir_core::{GroupAssignment, Timestamp};

/// A team as the index names it.
#[derive(Debug, Clone)]
pub(crate) struct TeamEntry {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
}

/// One membership: team position, role (index into the interned roles), join time.
#[derive(Debug, Clone, Copy)]
struct Slot {
    team: u32,
    role: Option<u16>,
    joined_at: Option<Timestamp>,
}

/// A 128-bit digest of an id (two SipHash passes with distinct prefixes).
pub(crate) fn digest(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        salt.hash(&mut hasher);
        id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// Collects memberships in any order (from REST and GraphQL at once); [`Self::finish`]
/// orders each user's teams by team position.
#[derive(Debug, Default)]
pub(crate) struct TeamIndexBuilder {
    teams: Vec<TeamEntry>,
    roles: Vec<String>,
    by_user: HashMap<u128, Vec<Slot>>,
}

impl TeamIndexBuilder {
    /// Adds a team; its position is the order of these calls.
    pub(crate) fn team(&mut self, team: TeamEntry) -> u32 {
        self.teams.push(team);
        u32::try_from(self.teams.len() - 1).unwrap_or(u32::MAX)
    }

    /// Records that `user_id` is in the team at `team` with `role_id`.
    pub(crate) fn add(
        &mut self,
        team: u32,
        user_id: &str,
        role_id: Option<String>,
        joined_at: Option<Timestamp>,
    ) {
        let role = role_id.map(|role| match self.roles.iter().position(|r| *r == role) {
            Some(at) => at,
            None => {
                self.roles.push(role);
                self.roles.len() - 1
            }
        });
        self.by_user.entry(digest(user_id)).or_default().push(Slot {
            team,
            role: role.and_then(|r| u16::try_from(r).ok()),
            joined_at,
        });
    }

    /// The finished index.
    pub(crate) fn finish(mut self) -> TeamIndex {
        for slots in self.by_user.values_mut() {
            slots.sort_by_key(|slot| slot.team);
            slots.shrink_to_fit();
        }
        self.by_user.shrink_to_fit();
        let ids = self.teams.iter().map(|t| t.id.clone()).collect();
        TeamIndex {
            ids,
            teams: self.teams,
            roles: self.roles,
            by_user: self.by_user,
            last_used: Mutex::new(Instant::now()),
        }
    }
}

/// The finished index; see the module documentation.
#[derive(Debug)]
pub(crate) struct TeamIndex {
    ids: HashSet<String>,
    teams: Vec<TeamEntry>,
    roles: Vec<String>,
    by_user: HashMap<u128, Vec<Slot>>,
    pub(crate) last_used: Mutex<Instant>,
}

impl TeamIndex {
    /// Whether a team with this id was listed.
    pub(crate) fn has_team(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The teams of `user_id`, with roles, in team-list order.
    pub(crate) fn groups_of(&self, user_id: &str) -> Vec<GroupAssignment> {
        let Some(slots) = self.by_user.get(&digest(user_id)) else {
            return Vec::new();
        };
        slots
            .iter()
            .filter_map(|slot| {
                let team = self.teams.get(slot.team as usize)?;
                Some(
                    GroupAssignment::new(team.id.clone())
                        .with_name(team.name.clone())
                        .with_slug(team.slug.clone())
                        .with_role_id(
                            slot.role
                                .and_then(|r| self.roles.get(usize::from(r)))
                                .cloned(),
                        )
                        .with_joined_at(slot.joined_at),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(id: &str) -> TeamEntry {
        TeamEntry {
            id: id.to_owned(),
            name: format!("Team {id}"),
            slug: Some(id.to_owned()),
        }
    }

    #[test]
    fn memberships_come_back_in_team_order_with_roles() {
        let mut b = TeamIndexBuilder::default();
        let a = b.team(team("a"));
        let z = b.team(team("z"));
        // Added out of order, as two workers would.
        b.add(z, "u1", Some("team:maintainer".into()), None);
        b.add(a, "u1", Some("team:member".into()), None);
        b.add(a, "u2", None, None);
        let index = b.finish();
        let groups = index.groups_of("u1");
        let got: Vec<_> = groups
            .iter()
            .map(|g| (g.id.as_str(), g.role_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![("a", Some("team:member")), ("z", Some("team:maintainer"))]
        );
        assert_eq!(index.groups_of("u2")[0].role_id, None);
        assert!(index.groups_of("nobody").is_empty());
        assert!(index.has_team("z") && !index.has_team("y"));
        assert_eq!(groups[1].name.as_deref(), Some("Team z"));
    }
}
