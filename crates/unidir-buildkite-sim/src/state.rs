//! The mutable organization: records, lookup indexes and the write operations.
//!
//! Everything a request needs is reachable through a hash index or a pre-sorted list, so
//! one request costs at most O(members) (filters), never O(members²). Users are never
//! removed from `users` (removing a member only drops its membership), which keeps every
//! index stable.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::ids::{Rng, graphql_id};
use crate::model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};
use crate::snapshot::{MemberSnapshot, OrgSnapshot, SimSnapshot, TeamMemberSnapshot, TeamSnapshot};

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) uuid: String,
    pub(crate) graphql_id: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) uuid: String,
    pub(crate) graphql_id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) avatar_url: String,
    pub(crate) created_at: DateTime<Utc>,
    /// `None` once the user was removed from the organization.
    pub(crate) membership: Option<Membership>,
}

#[derive(Debug, Clone)]
pub(crate) struct Membership {
    pub(crate) uuid: String,
    pub(crate) graphql_id: String,
    pub(crate) role: OrgRole,
    pub(crate) sso_mode: SsoMode,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_seen_at: Option<DateTime<Utc>>,
    /// When the member last signed in through SSO (their latest `SSOAuthorization`).
    pub(crate) last_sso_sign_in_at: Option<DateTime<Utc>>,
    pub(crate) two_factor: bool,
    pub(crate) password_protected: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub(crate) uuid: String,
    pub(crate) graphql_id: String,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) description: Option<String>,
    pub(crate) privacy: TeamPrivacy,
    pub(crate) is_default: bool,
    pub(crate) default_member_role: TeamRole,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) created_by: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct TeamMembership {
    pub(crate) uuid: String,
    pub(crate) graphql_id: String,
    pub(crate) team: usize,
    pub(crate) user: usize,
    pub(crate) role: TeamRole,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) secret: String,
    pub(crate) uuid: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) user: usize,
    pub(crate) description: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) revoked: bool,
}

/// Raw material from the generator; [`State::assemble`] builds the indexes.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) org: Org,
    pub(crate) users: Vec<User>,
    pub(crate) teams: Vec<Team>,
    pub(crate) team_memberships: Vec<TeamMembership>,
    pub(crate) tokens: Vec<Token>,
    /// Stream for identifiers minted at run time (new team memberships).
    pub(crate) rng: Rng,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) org: Org,
    pub(crate) users: Vec<User>,
    pub(crate) teams: Vec<Team>,
    pub(crate) tokens: Vec<Token>,
    /// Team memberships by id; `None` marks a removed one (ids stay stable).
    memberships: Vec<Option<TeamMembership>>,
    /// Membership ids of each team, in insertion order.
    by_team: Vec<Vec<usize>>,
    /// Membership ids of each user, in insertion order.
    by_user: Vec<Vec<usize>>,
    by_pair: HashMap<(usize, usize), usize>,
    user_by_uuid: HashMap<String, usize>,
    user_by_membership: HashMap<String, usize>,
    user_by_email: HashMap<String, usize>,
    team_by_uuid: HashMap<String, usize>,
    team_by_slug: HashMap<String, usize>,
    /// Current members in creation order (the REST list order).
    members_created: Vec<usize>,
    /// Current members ordered by name (GraphQL `order: NAME`).
    members_by_name: Vec<usize>,
    /// Teams ordered by name (the REST list order).
    teams_by_name: Vec<usize>,
    rng: Rng,
}

impl State {
    pub(crate) fn assemble(parts: Parts) -> Self {
        let Parts {
            org,
            users,
            teams,
            team_memberships,
            tokens,
            rng,
        } = parts;
        let mut state = Self {
            by_team: vec![Vec::new(); teams.len()],
            by_user: vec![Vec::new(); users.len()],
            user_by_uuid: HashMap::with_capacity(users.len()),
            user_by_membership: HashMap::with_capacity(users.len()),
            user_by_email: HashMap::with_capacity(users.len()),
            team_by_uuid: HashMap::with_capacity(teams.len()),
            team_by_slug: HashMap::with_capacity(teams.len()),
            members_created: Vec::with_capacity(users.len()),
            members_by_name: Vec::new(),
            teams_by_name: (0..teams.len()).collect(),
            memberships: Vec::with_capacity(team_memberships.len()),
            by_pair: HashMap::with_capacity(team_memberships.len()),
            org,
            users,
            teams,
            tokens,
            rng,
        };
        for (idx, user) in state.users.iter().enumerate() {
            state.user_by_uuid.insert(user.uuid.clone(), idx);
            state.user_by_email.insert(user.email.to_lowercase(), idx);
            if let Some(m) = &user.membership {
                state.user_by_membership.insert(m.uuid.clone(), idx);
                state.members_created.push(idx);
            }
        }
        for (idx, team) in state.teams.iter().enumerate() {
            state.team_by_uuid.insert(team.uuid.clone(), idx);
            state.team_by_slug.insert(team.slug.clone(), idx);
        }
        for tm in team_memberships {
            state.insert_membership(tm);
        }
        state.members_by_name = state.members_created.clone();
        let users = &state.users;
        state.members_by_name.sort_by(|&a, &b| {
            (&users[a].name, &users[a].uuid).cmp(&(&users[b].name, &users[b].uuid))
        });
        let teams = &state.teams;
        state.teams_by_name.sort_by(|&a, &b| {
            (&teams[a].name, &teams[a].uuid).cmp(&(&teams[b].name, &teams[b].uuid))
        });
        state
    }

    fn insert_membership(&mut self, tm: TeamMembership) -> usize {
        let id = self.memberships.len();
        self.by_team[tm.team].push(id);
        self.by_user[tm.user].push(id);
        self.by_pair.insert((tm.team, tm.user), id);
        self.memberships.push(Some(tm));
        id
    }

    // ---- reads -------------------------------------------------------------------------

    pub(crate) fn membership_of(&self, user: usize) -> Option<&Membership> {
        self.users.get(user).and_then(|u| u.membership.as_ref())
    }

    pub(crate) fn is_member(&self, user: usize) -> bool {
        self.membership_of(user).is_some()
    }

    pub(crate) fn is_admin(&self, user: usize) -> bool {
        self.membership_of(user)
            .is_some_and(|m| m.role == OrgRole::Admin)
    }

    /// Current member with this user UUID.
    pub(crate) fn member_by_uuid(&self, uuid: &str) -> Option<usize> {
        self.user_by_uuid
            .get(uuid)
            .copied()
            .filter(|&u| self.is_member(u))
    }

    pub(crate) fn member_by_membership_uuid(&self, uuid: &str) -> Option<usize> {
        self.user_by_membership
            .get(uuid)
            .copied()
            .filter(|&u| self.is_member(u))
    }

    /// Current member whose primary e-mail equals `email`, ignoring case.
    pub(crate) fn member_by_email(&self, email: &str) -> Option<usize> {
        self.user_by_email
            .get(&email.to_lowercase())
            .copied()
            .filter(|&u| self.is_member(u))
    }

    pub(crate) fn members_created(&self) -> &[usize] {
        &self.members_created
    }

    pub(crate) fn members_by_name(&self) -> &[usize] {
        &self.members_by_name
    }

    pub(crate) fn teams_by_name(&self) -> &[usize] {
        &self.teams_by_name
    }

    pub(crate) fn team_by_uuid(&self, uuid: &str) -> Option<usize> {
        self.team_by_uuid.get(uuid).copied()
    }

    pub(crate) fn team_by_slug(&self, slug: &str) -> Option<usize> {
        self.team_by_slug.get(slug).copied()
    }

    pub(crate) fn membership(&self, id: usize) -> Option<&TeamMembership> {
        self.memberships.get(id).and_then(Option::as_ref)
    }

    /// Membership ids of a team in insertion order.
    pub(crate) fn team_membership_ids(&self, team: usize) -> &[usize] {
        self.by_team.get(team).map_or(&[], Vec::as_slice)
    }

    /// Membership ids of a user in insertion order.
    pub(crate) fn user_membership_ids(&self, user: usize) -> &[usize] {
        self.by_user.get(user).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn pair(&self, team: usize, user: usize) -> Option<usize> {
        self.by_pair.get(&(team, user)).copied()
    }

    /// Secret teams are visible only to admins and to their own members (reference §5.4).
    pub(crate) fn can_see_team(&self, viewer: usize, team: usize) -> bool {
        self.teams
            .get(team)
            .is_some_and(|t| t.privacy == TeamPrivacy::Visible)
            || self.is_admin(viewer)
            || self.pair(team, viewer).is_some()
    }

    /// Admins and the team's maintainers may manage its members.
    pub(crate) fn can_manage_team(&self, viewer: usize, team: usize) -> bool {
        self.is_admin(viewer)
            || self
                .pair(team, viewer)
                .and_then(|id| self.membership(id))
                .is_some_and(|m| m.role == TeamRole::Maintainer)
    }

    pub(crate) fn token_by_secret(&self, secret: &str) -> Option<usize> {
        self.tokens
            .iter()
            .position(|t| !t.revoked && t.secret == secret)
    }

    // ---- writes ------------------------------------------------------------------------

    /// Adds `user` to `team`; the error is the reason for a 422.
    pub(crate) fn add_team_member(
        &mut self,
        team: usize,
        user: usize,
        role: TeamRole,
        now: DateTime<Utc>,
    ) -> Result<usize, &'static str> {
        if !self.is_member(user) {
            return Err("User must be a member of the organization");
        }
        if self.pair(team, user).is_some() {
            return Err("User has already been added to this team");
        }
        let uuid = self.rng.uuid_v4();
        let tm = TeamMembership {
            graphql_id: graphql_id("TeamMember", &uuid),
            uuid,
            team,
            user,
            role,
            created_at: now,
        };
        Ok(self.insert_membership(tm))
    }

    pub(crate) fn set_team_role(&mut self, id: usize, role: TeamRole) {
        if let Some(Some(tm)) = self.memberships.get_mut(id) {
            tm.role = role;
        }
    }

    pub(crate) fn remove_team_membership(&mut self, id: usize) {
        let Some(tm) = self.memberships.get_mut(id).and_then(Option::take) else {
            return;
        };
        self.by_team[tm.team].retain(|&m| m != id);
        self.by_user[tm.user].retain(|&m| m != id);
        self.by_pair.remove(&(tm.team, tm.user));
    }

    pub(crate) fn update_member(
        &mut self,
        user: usize,
        role: Option<OrgRole>,
        sso: Option<SsoMode>,
    ) {
        if let Some(m) = self.users.get_mut(user).and_then(|u| u.membership.as_mut()) {
            if let Some(role) = role {
                m.role = role;
            }
            if let Some(sso) = sso {
                m.sso_mode = sso;
            }
        }
    }

    /// Removes a member from the organization and from all its teams. The error is the
    /// reason for a 422.
    pub(crate) fn remove_member(&mut self, user: usize) -> Result<(), &'static str> {
        if self.is_admin(user)
            && self
                .members_created
                .iter()
                .filter(|&&u| self.is_admin(u))
                .count()
                == 1
        {
            return Err("Organizations must have at least one admin");
        }
        for id in self.user_membership_ids(user).to_vec() {
            self.remove_team_membership(id);
        }
        if let Some(m) = self.users.get_mut(user).and_then(|u| u.membership.take()) {
            self.user_by_membership.remove(&m.uuid);
        }
        self.members_created.retain(|&u| u != user);
        self.members_by_name.retain(|&u| u != user);
        Ok(())
    }

    pub(crate) fn revoke_token(&mut self, token: usize) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    // ---- snapshot ----------------------------------------------------------------------

    pub(crate) fn snapshot(&self) -> SimSnapshot {
        let members = self
            .members_created
            .iter()
            .filter_map(|&u| {
                let user = &self.users[u];
                let m = user.membership.as_ref()?;
                Some(MemberSnapshot {
                    user_uuid: user.uuid.clone(),
                    user_graphql_id: user.graphql_id.clone(),
                    membership_uuid: m.uuid.clone(),
                    membership_graphql_id: m.graphql_id.clone(),
                    name: user.name.clone(),
                    email: user.email.clone(),
                    role: m.role,
                    sso_mode: m.sso_mode,
                })
            })
            .collect();
        let teams = self
            .teams_by_name
            .iter()
            .map(|&t| {
                let team = &self.teams[t];
                TeamSnapshot {
                    uuid: team.uuid.clone(),
                    graphql_id: team.graphql_id.clone(),
                    slug: team.slug.clone(),
                    name: team.name.clone(),
                    privacy: team.privacy,
                    default: team.is_default,
                    default_member_role: team.default_member_role,
                }
            })
            .collect();
        let team_members = self
            .teams_by_name
            .iter()
            .flat_map(|&t| self.team_membership_ids(t).iter())
            .filter_map(|&id| self.membership(id))
            .map(|tm| TeamMemberSnapshot {
                uuid: tm.uuid.clone(),
                graphql_id: tm.graphql_id.clone(),
                team_uuid: self.teams[tm.team].uuid.clone(),
                team_slug: self.teams[tm.team].slug.clone(),
                user_uuid: self.users[tm.user].uuid.clone(),
                role: tm.role,
            })
            .collect();
        SimSnapshot {
            org: OrgSnapshot {
                uuid: self.org.uuid.clone(),
                graphql_id: self.org.graphql_id.clone(),
                slug: self.org.slug.clone(),
                name: self.org.name.clone(),
            },
            members,
            teams,
            team_members,
        }
    }
}
