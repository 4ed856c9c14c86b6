//! What the Buildkite adapter can do with a token.
//!
//! [`NEEDS`] is the one place that says which token scopes each operation uses (Buildkite's
//! endpoint → scope table, `GET /v2/access-token` itself needing none). `capabilities()`
//! judges it against the token's scopes, read once per directory and cached; the write
//! pre-checks read it too, and `unidir check` renders `capabilities()`.

use unidir_core::{
    Capabilities, FilterField, Operation, Resource, ResourceSupport, ScopeRequirement,
};

use crate::PROVIDER;
use crate::config::GraphqlMode;

use Operation::{Add, ChangeRole, Get, List, Remove};

const GRAPHQL: &str = "graphql";

/// What happens to user reads without GraphQL.
const REST_USERS: &str = "users are read over REST, without join date, last activity, 2FA or bot flags; team roles come from walking every team; e-mail lookup reads every member";

/// The scopes some operations of a resource use.
struct Need {
    resource: Resource,
    operations: &'static [Operation],
    /// Needed whichever API serves the call.
    scopes: &'static [&'static str],
    /// The call reads users: over GraphQL it needs `graphql`, over REST `rest_scopes`. In
    /// `Auto` mode a missing `graphql` only degrades it (REST serves it).
    users: Option<UserScopes>,
}

struct UserScopes {
    /// Used over GraphQL only by some calls: (scope, what fails without it).
    graphql_optional: &'static [(&'static str, &'static str)],
    rest_scopes: &'static [&'static str],
}

/// Scope by operation. Writes read the team, the member and the membership first, so they
/// need the read scopes too (`write_teams` first: it is the one a read-only token lacks).
const NEEDS: &[Need] = &[
    // GET /v2/user, then every page of GET /v2/organizations.
    Need {
        resource: Resource::Me,
        operations: &[Get],
        scopes: &["read_user", "read_organizations"],
        users: None,
    },
    Need {
        resource: Resource::Organizations,
        operations: &[List, Get],
        scopes: &["read_organizations"],
        users: None,
    },
    // GraphQL organization.members; REST /members + the /teams walk for team roles.
    Need {
        resource: Resource::Users,
        operations: &[List],
        scopes: &[],
        users: Some(UserScopes {
            graphql_optional: &[(
                "read_teams",
                "the group_id filter fails (it reads the team)",
            )],
            rest_scopes: &["read_organizations", "read_teams"],
        }),
    },
    // GET /members/{id}, then GraphQL members(email:) or REST /teams?user_id=.
    Need {
        resource: Resource::Users,
        operations: &[Get],
        scopes: &["read_organizations"],
        users: Some(UserScopes {
            graphql_optional: &[],
            rest_scopes: &["read_teams"],
        }),
    },
    Need {
        resource: Resource::Groups,
        operations: &[List, Get],
        scopes: &["read_teams"],
        users: None,
    },
    // The four roles are fixed: no request.
    Need {
        resource: Resource::Roles,
        operations: &[List, Get],
        scopes: &[],
        users: None,
    },
    Need {
        resource: Resource::GroupMembers,
        operations: &[List],
        scopes: &["read_teams"],
        users: None,
    },
    Need {
        resource: Resource::GroupMembers,
        operations: &[Add, ChangeRole, Remove],
        scopes: &["write_teams", "read_teams", "read_organizations"],
        users: None,
    },
    Need {
        resource: Resource::UserGroups,
        operations: &[List],
        scopes: &["read_teams"],
        users: None,
    },
];

/// The first scope `operation` on `resource` cannot do without that `scopes` lacks.
pub(crate) fn first_missing(
    scopes: &[String],
    resource: Resource,
    operation: Operation,
) -> Option<&'static str> {
    NEEDS
        .iter()
        .filter(|n| n.resource == resource && n.operations.contains(&operation))
        .flat_map(|n| n.scopes)
        .find(|s| !scopes.iter().any(|t| t == *s))
        .copied()
}

fn filters(resource: Resource) -> &'static [FilterField] {
    match resource {
        Resource::Users => &[
            FilterField::Email,
            FilterField::GroupId,
            FilterField::RoleId,
            FilterField::Status,
        ],
        Resource::GroupMembers => &[FilterField::RoleId],
        _ => &[],
    }
}

fn via(resource: Resource, graphql: bool) -> &'static str {
    match resource {
        Resource::Me => "REST /v2/access-token, /v2/user, /v2/organizations",
        Resource::Organizations => "REST /v2/organizations",
        Resource::Users if graphql => {
            "GraphQL organization.members (+ REST for e-mail of a single user)"
        }
        Resource::Users => "REST /members + /teams walk",
        Resource::Groups => "REST /teams",
        Resource::Roles => "fixed: org admin/member, team maintainer/member",
        Resource::GroupMembers => "REST /teams/{id}/members",
        Resource::UserGroups => "REST /teams?user_id=",
        // A resource added to the unified model later, which this adapter does not serve.
        _ => "not served",
    }
}

/// What the adapter can do with a token holding `scopes`. `graphql_enabled` is false once
/// the directory has switched to REST (mode `Disabled`, or GraphQL refused in `Auto`).
pub(crate) fn report(scopes: &[String], mode: GraphqlMode, graphql_enabled: bool) -> Capabilities {
    let has = |s: &str| scopes.iter().any(|t| t == s);
    // Mirrors `Buildkite::use_graphql`: in `Auto` a token without `graphql` uses REST.
    let graphql = match mode {
        GraphqlMode::Disabled => false,
        GraphqlMode::Required => true,
        GraphqlMode::Auto => graphql_enabled && has(GRAPHQL),
    };
    let judge = |need: &Need| -> Vec<ScopeRequirement> {
        let mut list: Vec<ScopeRequirement> = need
            .scopes
            .iter()
            .map(|s| ScopeRequirement::required(*s, has(s)))
            .collect();
        let Some(users) = &need.users else {
            return list;
        };
        if graphql {
            list.push(ScopeRequirement::required(GRAPHQL, has(GRAPHQL)));
            list.extend(
                users
                    .graphql_optional
                    .iter()
                    .map(|(s, effect)| ScopeRequirement::optional(*s, has(s), *effect)),
            );
        } else {
            list.extend(
                users
                    .rest_scopes
                    .iter()
                    .filter(|s| !need.scopes.contains(s))
                    .map(|s| ScopeRequirement::required(*s, has(s))),
            );
            // `Auto` would use GraphQL once granted; `Disabled` never does.
            if mode == GraphqlMode::Auto {
                list.push(ScopeRequirement::optional(
                    GRAPHQL,
                    has(GRAPHQL),
                    REST_USERS,
                ));
            }
        }
        list
    };

    // One entry per resource, in table order, with every operation of its rows.
    let mut resources: Vec<ResourceSupport> = Vec::new();
    for need in NEEDS {
        if resources.iter().any(|r| r.resource == need.resource) {
            continue;
        }
        let rows: Vec<&Need> = NEEDS
            .iter()
            .filter(|n| n.resource == need.resource)
            .collect();
        let operations: Vec<Operation> = rows.iter().flat_map(|n| n.operations).copied().collect();
        let entry = rows.iter().fold(
            ResourceSupport::new(need.resource, &operations)
                .with_filters(filters(need.resource))
                .via(via(need.resource, graphql)),
            |entry, row| entry.with_scopes(row.operations, &judge(row)),
        );
        resources.push(entry);
    }

    let mut notes = Vec::new();
    if !graphql {
        notes.push(format!(
            "GraphQL is not available to this token (or disabled): {REST_USERS}"
        ));
    }
    notes.push(
        "Buildkite members are always active; a status filter other than active returns nothing"
            .to_owned(),
    );
    let writes_lack: Vec<&str> = NEEDS
        .iter()
        .filter(|n| n.operations.contains(&Add))
        .flat_map(|n| n.scopes)
        .copied()
        .filter(|s| !has(s))
        .collect();
    if !writes_lack.is_empty() {
        notes.push(format!(
            "provisioning (add, change role, remove team members) needs the {} scope{}, which this token lacks",
            writes_lack.join(", "),
            if writes_lack.len() == 1 { "" } else { "s" }
        ));
    }
    Capabilities::new(PROVIDER, resources).with_notes(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    const FULL: &[&str] = &[
        "read_user",
        "read_organizations",
        "read_teams",
        "write_teams",
        "graphql",
    ];

    #[test]
    fn a_full_token_can_do_everything_the_adapter_implements() {
        let caps = report(&scopes(FULL), GraphqlMode::Auto, true);
        for r in &caps.resources {
            assert!(r.available, "{:?}", r.resource);
            assert!(r.missing_scopes.is_empty(), "{:?}", r.resource);
            for op in &r.operations {
                assert!(r.usable(*op), "{:?} {op:?}", r.resource);
                assert!(
                    r.scopes_of(*op).is_some(),
                    "every operation reports its scopes"
                );
            }
        }
        assert!(caps.supports(Resource::GroupMembers, Remove));
        assert_eq!(caps.notes.len(), 1, "{:?}", caps.notes);
    }

    #[test]
    fn a_read_only_token_lists_writes_it_cannot_use() {
        let caps = report(
            &scopes(&["read_user", "read_organizations", "read_teams", "graphql"]),
            GraphqlMode::Auto,
            true,
        );
        let members = caps.resource(Resource::GroupMembers).expect("members");
        assert_eq!(members.operations, [List, Add, ChangeRole, Remove]);
        assert!(members.available && members.usable(List));
        assert!(!caps.supports(Resource::GroupMembers, Add));
        assert!(!caps.supports(Resource::GroupMembers, ChangeRole));
        assert_eq!(members.missing_scopes, ["write_teams"]);
        assert!(caps.notes.iter().any(|n| n.contains("write_teams scope,")));
    }

    #[test]
    fn users_over_graphql_need_only_graphql_to_list() {
        let caps = report(&scopes(&["graphql"]), GraphqlMode::Auto, true);
        let users = caps.resource(Resource::Users).expect("users");
        assert!(users.usable(List));
        assert!(!users.usable(Get), "get reads GET /members/{{id}} first");
        assert_eq!(users.missing_scopes, ["read_organizations"]);
        assert!(!caps.supports(Resource::Groups, List));
    }

    #[test]
    fn without_graphql_users_need_read_teams_and_say_why_graphql_helps() {
        let caps = report(
            &scopes(&["read_user", "read_organizations"]),
            GraphqlMode::Auto,
            true,
        );
        let users = caps.resource(Resource::Users).expect("users");
        assert!(!users.available);
        assert_eq!(users.missing_scopes, ["read_teams"]);
        let list = users.scopes_of(List).expect("list");
        let hint = list
            .scopes
            .iter()
            .find(|s| s.scope == GRAPHQL)
            .expect("hint");
        assert!(!hint.granted && hint.degraded_without.is_some());
        assert_eq!(users.via.as_deref(), Some("REST /members + /teams walk"));
        assert!(caps.notes[0].starts_with("GraphQL is not available"));
    }

    #[test]
    fn graphql_mode_decides_whether_graphql_is_required_optional_or_absent() {
        let held = scopes(&["read_user", "read_organizations", "read_teams"]);
        let graphql_of = |mode, enabled| {
            let caps = report(&held, mode, enabled);
            let users = caps.resource(Resource::Users).expect("users").clone();
            users
                .scopes_of(List)
                .expect("list")
                .scopes
                .iter()
                .find(|s| s.scope == GRAPHQL)
                .cloned()
        };
        assert!(graphql_of(GraphqlMode::Required, true).is_some_and(|s| s.blocks()));
        assert!(graphql_of(GraphqlMode::Auto, true).is_some_and(|s| !s.blocks()));
        assert!(graphql_of(GraphqlMode::Disabled, false).is_none());
        // Granted but refused at run time: REST, with the scope shown as held.
        let caps = report(&scopes(FULL), GraphqlMode::Auto, false);
        assert!(caps.notes[0].starts_with("GraphQL is not available"));
        assert!(caps.supports(Resource::Users, List));
    }

    #[test]
    fn the_write_pre_check_names_write_teams_first() {
        let none: Vec<String> = Vec::new();
        assert_eq!(
            first_missing(&none, Resource::GroupMembers, Add),
            Some("write_teams")
        );
        assert_eq!(
            first_missing(&scopes(&["write_teams"]), Resource::GroupMembers, Remove),
            Some("read_teams")
        );
        assert_eq!(
            first_missing(&scopes(FULL), Resource::GroupMembers, ChangeRole),
            None
        );
        assert_eq!(first_missing(&none, Resource::Roles, List), None);
    }
}
