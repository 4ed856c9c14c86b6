//! What two reads of one organization must agree on: the users with their organization role,
//! SSO requirement, team memberships and roles, and (for whole-directory reads) the teams.

use unidir_core::{Group, RoleScope, User};

/// One user as every read must report them. Role ids are unified (`org:admin`,
/// `team:maintainer`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserKey {
    /// User UUID.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Organization role id.
    pub org_role: Option<String>,
    /// Whether SSO is required.
    pub sso_required: Option<bool>,
    /// `(team id, team role id)`, sorted.
    pub teams: Vec<(String, Option<String>)>,
    /// `(role id, team id)` of every role held, sorted.
    pub roles: Vec<(String, Option<String>)>,
}

impl UserKey {
    /// The key of a unified user.
    pub fn of(user: &User) -> Self {
        let mut teams: Vec<_> = user
            .groups
            .iter()
            .map(|g| (g.id.clone(), g.role_id.clone()))
            .collect();
        teams.sort();
        let mut roles: Vec<_> = user
            .roles
            .iter()
            .map(|r| (r.id.clone(), r.group_id.clone()))
            .collect();
        roles.sort();
        Self {
            id: user.id.clone(),
            name: user.name.clone(),
            email: user.primary_email().map(str::to_owned),
            org_role: user
                .roles
                .iter()
                .find(|r| r.scope == RoleScope::Organization)
                .map(|r| r.id.clone()),
            sso_required: user.is_sso_required,
            teams,
            roles,
        }
    }
}

/// One team.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TeamKey {
    /// Team UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: Option<String>,
}

impl TeamKey {
    /// The key of a unified group.
    pub fn of(group: &Group) -> Self {
        Self {
            id: group.id.clone(),
            name: group.name.clone(),
            slug: group.slug.clone(),
        }
    }
}

/// The comparable result of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Users, sorted by id.
    pub users: Vec<UserKey>,
    /// Teams, sorted by id, when the read lists them.
    pub teams: Option<Vec<TeamKey>>,
}

impl Outcome {
    /// Builds an outcome (sorting is done here).
    pub fn new(mut users: Vec<UserKey>, teams: Option<Vec<TeamKey>>) -> Self {
        users.sort();
        Self {
            users,
            teams: teams.map(|mut t| {
                t.sort();
                t
            }),
        }
    }

    /// Team memberships over all users.
    pub fn memberships(&self) -> usize {
        self.users.iter().map(|u| u.teams.len()).sum()
    }

    /// `None` when `self` reports the same users (and teams, when both list them) as
    /// `expected`; otherwise what differs.
    pub fn difference(&self, expected: &Outcome) -> Option<String> {
        let mut problems = Vec::new();
        if self.users != expected.users {
            let (mut missing, mut extra, mut changed) = (0, 0, 0);
            let mut first = None;
            let (mut i, mut j) = (0, 0);
            while i < expected.users.len() || j < self.users.len() {
                let (e, s) = (expected.users.get(i), self.users.get(j));
                match (e, s) {
                    (Some(e), Some(s)) if e.id == s.id => {
                        if e != s {
                            changed += 1;
                            first.get_or_insert_with(|| describe(e, s));
                        }
                        i += 1;
                        j += 1;
                    }
                    (Some(e), Some(s)) if e.id < s.id => {
                        missing += 1;
                        i += 1;
                    }
                    (Some(_), None) => {
                        missing += 1;
                        i += 1;
                    }
                    _ => {
                        extra += 1;
                        j += 1;
                    }
                }
            }
            let mut text = format!("users: {missing} missing, {extra} extra, {changed} differ");
            if let Some(first) = first {
                text.push_str(&format!(" (first: {first})"));
            }
            problems.push(text);
        }
        if let (Some(mine), Some(theirs)) = (&self.teams, &expected.teams)
            && mine != theirs
        {
            problems.push(format!(
                "teams: {} listed, {} expected or different",
                mine.len(),
                theirs.len()
            ));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// Which fields of one user differ.
fn describe(expected: &UserKey, got: &UserKey) -> String {
    let mut fields = Vec::new();
    if expected.name != got.name {
        fields.push("name");
    }
    if expected.email != got.email {
        fields.push("email");
    }
    if expected.org_role != got.org_role {
        fields.push("org role");
    }
    if expected.sso_required != got.sso_required {
        fields.push("sso");
    }
    if expected.teams != got.teams {
        fields.push("teams");
    }
    if expected.roles != got.roles {
        fields.push("roles");
    }
    format!("user {} differs in {}", expected.id, fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, team_role: &str) -> UserKey {
        UserKey {
            id: id.to_owned(),
            name: Some(format!("User {id}")),
            email: None,
            org_role: Some("org:member".to_owned()),
            sso_required: Some(false),
            teams: vec![("t1".to_owned(), Some(team_role.to_owned()))],
            roles: vec![],
        }
    }

    #[test]
    fn identical_reads_have_no_difference_whatever_the_order() {
        let a = Outcome::new(vec![key("b", "team:member"), key("a", "team:member")], None);
        let b = Outcome::new(vec![key("a", "team:member"), key("b", "team:member")], None);
        assert_eq!(a.difference(&b), None);
        assert_eq!(a.memberships(), 2);
    }

    #[test]
    fn differences_are_counted_and_named() {
        let expected = Outcome::new(
            vec![
                key("a", "team:member"),
                key("b", "team:member"),
                key("c", "team:member"),
            ],
            Some(vec![]),
        );
        let got = Outcome::new(
            vec![
                key("a", "team:maintainer"),
                key("c", "team:member"),
                key("d", "team:member"),
            ],
            Some(vec![TeamKey {
                id: "t1".to_owned(),
                name: "T".to_owned(),
                slug: None,
            }]),
        );
        let text = got.difference(&expected).expect("differs");
        assert!(
            text.starts_with(
                "users: 1 missing, 1 extra, 1 differ (first: user a differs in teams)"
            ),
            "{text}"
        );
        assert!(text.contains("teams: 1 listed, 0 expected"), "{text}");
    }
}
