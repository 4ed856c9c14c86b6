//! Builds the initial [`State`] from a [`SimConfig`]: either the seeded generator or an
//! [`OrgSpec`].
//!
//! Each aspect (users, teams, memberships, tokens) draws from its own forked stream, so the
//! first N users of a seed stay the same whatever the team count.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::config::SimConfig;
use crate::error::SimError;
use crate::ids::{Rng, graphql_id, slugify};
use crate::model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};
use crate::spec::OrgSpec;
use crate::state::{Membership, Org, Parts, State, Team, TeamMembership, Token, User};

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yasmin", "Zoe",
    "Aisha", "Bruno", "Chen", "Diego", "Elif", "Fatima", "Gustavo", "Hana", "Ingrid", "Jamal",
    "Kenji", "Leila", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sanjay", "Tomasz",
    "Uma", "Vikram", "Wen", "Ximena", "Yusuf", "Zara", "Amara", "Bjorn", "Camila", "Dmitri",
    "Esther", "Farah", "Goran", "Hiro", "Isla", "Joao", "Kofi", "Lucia", "Marek",
];

const LAST_NAMES: &[&str] = &[
    "Anderson",
    "Brown",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Virtanen",
    "Walker",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Abbott",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Ferreira",
    "Gupta",
    "Hansen",
    "Ibrahim",
    "Johansson",
    "Kim",
    "Larsen",
    "Moreau",
    "Novak",
    "Olsen",
    "Petrov",
    "Reyes",
    "Silva",
    "Thompson",
    "Usman",
    "Vargas",
    "Weber",
    "Young",
    "Zimmerman",
    "Alvarez",
    "Bianchi",
    "Cohen",
    "Dlamini",
    "Edwards",
    "Fontaine",
    "Grant",
    "Horvat",
    "Iyer",
    "Jovanovic",
];

const TEAM_NAMES: &[(&str, &str)] = &[
    ("Platform", "Platform engineering"),
    ("Security", "Security and compliance"),
    ("Mobile", "iOS and Android apps"),
    ("Web", "Web frontend"),
    ("Data", "Data engineering and analytics"),
    ("Infrastructure", "Clusters, networks and build agents"),
    ("Payments", "Billing and payment flows"),
    ("Search", "Search and discovery"),
    ("Growth", "Experiments and onboarding"),
    ("Identity", "Sign-in, SSO and accounts"),
    ("Release", "Release engineering"),
    ("Observability", "Metrics, logs and tracing"),
    ("Design Systems", "Shared UI components"),
    ("QA", "Quality assurance"),
    ("Support Tools", "Internal support tooling"),
    ("Developer Experience", "Build and CI tooling"),
];

const EMAIL_DOMAIN: &str = "acme.example";

// Stream tags for `Rng::fork`.
const USERS: u64 = 1;
const TEAMS: u64 = 2;
const MEMBERSHIPS: u64 = 3;
const TOKENS: u64 = 4;
const ORG: u64 = 5;
const RUNTIME: u64 = 6;

fn org_created() -> DateTime<Utc> {
    // 2019-02-11T04:31:07.552Z, the reference's example organization.
    Utc.timestamp_millis_opt(1_549_859_467_552)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn last_seen_base() -> DateTime<Utc> {
    // 2026-08-01T00:00:00Z
    Utc.timestamp_opt(1_785_542_400, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn latest_signup() -> DateTime<Utc> {
    // 2026-06-30T00:00:00Z
    Utc.timestamp_opt(1_782_777_600, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// Builds the initial state, validating the configuration.
pub(crate) fn build(config: &SimConfig) -> Result<State, SimError> {
    if config.org_slug.is_empty() || config.org_slug.contains('/') {
        return Err(SimError::InvalidConfig(format!(
            "organization slug {:?} must be non-empty and contain no '/'",
            config.org_slug
        )));
    }
    let mut parts = match &config.spec {
        Some(spec) => from_spec(config, spec)?,
        None => generate(config),
    };
    parts.tokens = tokens(config, &parts.users)?;
    Ok(State::assemble(parts))
}

fn org(config: &SimConfig, uuid: Option<&str>) -> Org {
    let uuid = uuid.map_or_else(|| Rng::fork(config.seed, ORG).uuid_v4(), str::to_owned);
    Org {
        graphql_id: graphql_id("Organization", &uuid),
        uuid,
        slug: config.org_slug.clone(),
        name: config.org_name.clone(),
        created_at: org_created(),
    }
}

/// Fills in the parts of a user and membership that no spec or generator chooses.
struct UserFactory {
    rng: Rng,
    clock: DateTime<Utc>,
    max_gap_ms: u64,
}

impl UserFactory {
    fn new(seed: u64, count: usize) -> Self {
        // Spread account creation over about seven years after the organization was created.
        let span_ms: u64 = 7 * 365 * 24 * 3600 * 1000;
        Self {
            rng: Rng::fork(seed, USERS),
            clock: org_created(),
            max_gap_ms: (span_ms * 2 / count.max(1) as u64).max(2),
        }
    }

    fn make(
        &mut self,
        name: String,
        email: String,
        role: OrgRole,
        sso_mode: Option<SsoMode>,
        uuid: Option<String>,
        membership_uuid: Option<String>,
    ) -> User {
        let rng = &mut self.rng;
        // Monotonic, but never later than the last-seen dates below.
        self.clock = (self.clock + Duration::milliseconds(1 + rng.below(self.max_gap_ms) as i64))
            .min(latest_signup());
        let uuid = uuid.unwrap_or_else(|| rng.uuid_v4());
        let membership_uuid = membership_uuid.unwrap_or_else(|| rng.uuid_v4());
        let avatar_url = format!("https://www.gravatar.com/avatar/{}", rng.hex32());
        let sso_mode = sso_mode.unwrap_or(if role == OrgRole::Admin || rng.percent(40) {
            SsoMode::Optional
        } else {
            SsoMode::Required
        });
        let last_seen_at = rng
            .percent(85)
            .then(|| last_seen_base() + Duration::seconds(rng.below(20 * 86_400) as i64));
        // Members who must use SSO signed in through it, some minutes before they were last
        // seen; derived without drawing from `rng`, so every other generated value (and
        // every seed's organization) is as before.
        let last_sso_sign_in_at = last_seen_at
            .filter(|_| sso_mode == SsoMode::Required)
            .map(|t| {
                t - Duration::seconds(60 * i64::from(self.clock.timestamp_subsec_millis() % 600))
            });
        let membership = Membership {
            graphql_id: graphql_id("OrganizationMember", &membership_uuid),
            uuid: membership_uuid,
            role,
            sso_mode,
            created_at: self.clock,
            last_seen_at,
            last_sso_sign_in_at,
            two_factor: rng.percent(60),
            password_protected: rng.percent(90),
        };
        User {
            graphql_id: graphql_id("User", &uuid),
            uuid,
            name,
            email,
            avatar_url,
            created_at: self.clock,
            membership: Some(membership),
        }
    }
}

fn team_created(org_created: DateTime<Utc>, index: usize) -> DateTime<Utc> {
    org_created + Duration::days(1) + Duration::hours(37 * index as i64)
}

fn membership_time(rng: &mut Rng, user: &User, team: &Team) -> DateTime<Utc> {
    user.created_at.max(team.created_at) + Duration::seconds(1 + rng.below(90 * 86_400) as i64)
}

fn generate(config: &SimConfig) -> Parts {
    let user_count = config.users.max(1);
    let team_count = config.teams.max(1);
    let org = org(config, None);

    let mut factory = UserFactory::new(config.seed, user_count);
    let mut seen_emails: HashMap<String, u32> = HashMap::new();
    let mut users = Vec::with_capacity(user_count);
    for index in 0..user_count {
        let first = FIRST_NAMES[factory.rng.index(FIRST_NAMES.len())];
        let last = LAST_NAMES[factory.rng.index(LAST_NAMES.len())];
        let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let n = seen_emails.entry(base.clone()).or_insert(0);
        *n += 1;
        let email = if *n == 1 {
            format!("{base}@{EMAIL_DOMAIN}")
        } else {
            format!("{base}{n}@{EMAIL_DOMAIN}")
        };
        let role = if index == 0 || factory.rng.percent(10) {
            OrgRole::Admin
        } else {
            OrgRole::Member
        };
        users.push(factory.make(format!("{first} {last}"), email, role, None, None, None));
    }

    let mut rng = Rng::fork(config.seed, TEAMS);
    let mut teams = Vec::with_capacity(team_count);
    for index in 0..team_count {
        let (name, description) = if index == 0 {
            (
                "Everyone".to_owned(),
                Some(format!("All members of {}", config.org_name)),
            )
        } else {
            let (base, description) = TEAM_NAMES[(index - 1) % TEAM_NAMES.len()];
            let round = (index - 1) / TEAM_NAMES.len();
            let name = if round == 0 {
                base.to_owned()
            } else {
                format!("{base} {}", round + 1)
            };
            (name, rng.percent(85).then(|| description.to_owned()))
        };
        let uuid = rng.uuid_v4();
        let privacy = if index > 0 && rng.percent(20) {
            TeamPrivacy::Secret
        } else {
            TeamPrivacy::Visible
        };
        teams.push(Team {
            graphql_id: graphql_id("Team", &uuid),
            uuid,
            slug: slugify(&name),
            name,
            description,
            privacy,
            is_default: index == 0,
            default_member_role: TeamRole::Member,
            created_at: team_created(org.created_at, index),
            created_by: 0,
        });
    }
    // At least one secret team whenever there is more than `Everyone`.
    if team_count > 1
        && teams.iter().all(|t| t.privacy == TeamPrivacy::Visible)
        && let Some(last) = teams.last_mut()
    {
        last.privacy = TeamPrivacy::Secret;
    }

    let mut rng = Rng::fork(config.seed, MEMBERSHIPS);
    let mut memberships = Vec::new();
    let mut push = |rng: &mut Rng, team: usize, user: usize, role: TeamRole| {
        let uuid = rng.uuid_v4();
        memberships.push(TeamMembership {
            graphql_id: graphql_id("TeamMember", &uuid),
            uuid,
            team,
            user,
            role,
            created_at: membership_time(rng, &users[user], &teams[team]),
        });
    };
    // The last user stays in no team at all: the "member without teams" case.
    for user in 0..user_count - 1 {
        push(&mut rng, 0, user, TeamRole::Member);
        let wanted = (rng.below(4) as usize).min(team_count - 1);
        let mut chosen: Vec<usize> = Vec::with_capacity(wanted);
        while chosen.len() < wanted {
            let team = 1 + rng.index(team_count - 1);
            if !chosen.contains(&team) {
                chosen.push(team);
            }
        }
        for team in chosen {
            let role = if rng.percent(20) {
                TeamRole::Maintainer
            } else {
                TeamRole::Member
            };
            push(&mut rng, team, user, role);
        }
    }
    // Every populated team (other than Everyone) gets a maintainer: promote its first member.
    let mut first_member: HashMap<usize, usize> = HashMap::new();
    let mut has_maintainer: HashSet<usize> = HashSet::new();
    for (i, tm) in memberships.iter().enumerate() {
        first_member.entry(tm.team).or_insert(i);
        if tm.role == TeamRole::Maintainer {
            has_maintainer.insert(tm.team);
        }
    }
    for (team, first) in first_member {
        if team != 0 && !has_maintainer.contains(&team) {
            memberships[first].role = TeamRole::Maintainer;
        }
    }

    Parts {
        org,
        users,
        teams,
        team_memberships: memberships,
        tokens: Vec::new(),
        rng: Rng::fork(config.seed, RUNTIME),
    }
}

fn from_spec(config: &SimConfig, spec: &OrgSpec) -> Result<Parts, SimError> {
    let invalid = |msg: String| SimError::InvalidConfig(msg);
    if spec.members.is_empty() {
        return Err(invalid("an OrgSpec needs at least one member".into()));
    }
    let org = org(config, spec.uuid.as_deref());
    let mut factory = UserFactory::new(config.seed, spec.members.len());
    let mut by_email = HashMap::new();
    let mut uuids = HashSet::new();
    let mut users = Vec::with_capacity(spec.members.len());
    for (index, m) in spec.members.iter().enumerate() {
        if by_email.insert(m.email.to_lowercase(), index).is_some() {
            return Err(invalid(format!("duplicate member e-mail {}", m.email)));
        }
        let user = factory.make(
            m.name.clone(),
            m.email.clone(),
            m.role,
            m.sso_mode,
            m.uuid.clone(),
            m.membership_uuid.clone(),
        );
        if !uuids.insert(user.uuid.clone()) {
            return Err(invalid(format!("duplicate user UUID {}", user.uuid)));
        }
        users.push(user);
    }

    let mut rng = Rng::fork(config.seed, TEAMS);
    let mut teams = Vec::with_capacity(spec.teams.len());
    let mut slugs = HashSet::new();
    let mut memberships = Vec::new();
    for (index, t) in spec.teams.iter().enumerate() {
        let uuid = t.uuid.clone().unwrap_or_else(|| rng.uuid_v4());
        let slug = t.slug.clone().unwrap_or_else(|| slugify(&t.name));
        if !slugs.insert(slug.clone()) || !uuids.insert(uuid.clone()) {
            return Err(invalid(format!(
                "duplicate team slug or UUID for {}",
                t.name
            )));
        }
        teams.push(Team {
            graphql_id: graphql_id("Team", &uuid),
            uuid,
            slug,
            name: t.name.clone(),
            description: t.description.clone(),
            privacy: t.privacy,
            is_default: t.default,
            default_member_role: t.default_member_role,
            created_at: team_created(org.created_at, index),
            created_by: 0,
        });
        let mut seen = HashSet::new();
        for tm in &t.members {
            let Some(&user) = by_email.get(&tm.email.to_lowercase()) else {
                return Err(invalid(format!(
                    "team {} lists {}, who is not a member",
                    t.name, tm.email
                )));
            };
            if !seen.insert(user) {
                return Err(invalid(format!("team {} lists {} twice", t.name, tm.email)));
            }
            let uuid = rng.uuid_v4();
            memberships.push(TeamMembership {
                graphql_id: graphql_id("TeamMember", &uuid),
                uuid,
                team: index,
                user,
                role: tm.role,
                created_at: membership_time(&mut rng, &users[user], &teams[index]),
            });
        }
    }
    Ok(Parts {
        org,
        users,
        teams,
        team_memberships: memberships,
        tokens: Vec::new(),
        rng: Rng::fork(config.seed, RUNTIME),
    })
}

fn tokens(config: &SimConfig, users: &[User]) -> Result<Vec<Token>, SimError> {
    if config.tokens.is_empty() {
        return Err(SimError::InvalidConfig(
            "at least one token is required".into(),
        ));
    }
    let mut rng = Rng::fork(config.seed, TOKENS);
    let created_at = last_seen_base() + Duration::hours(10) + Duration::minutes(15);
    let mut seen = HashSet::new();
    config
        .tokens
        .iter()
        .map(|t| {
            if t.user_index >= users.len() {
                return Err(SimError::InvalidConfig(format!(
                    "token {:?} belongs to user {} but there are only {} users",
                    t.token,
                    t.user_index,
                    users.len()
                )));
            }
            if t.token.is_empty() || !seen.insert(t.token.clone()) {
                return Err(SimError::InvalidConfig(format!(
                    "token {:?} is empty or listed twice",
                    t.token
                )));
            }
            Ok(Token {
                secret: t.token.clone(),
                uuid: rng.uuid_v4(),
                scopes: t.scopes.clone(),
                user: t.user_index,
                description: "unidir simulator".into(),
                created_at,
                expires_at: Some(created_at + Duration::days(731)),
                revoked: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_org_invariants() {
        let state = build(&SimConfig::default()).expect("default config builds");
        let users = state.members_created();
        assert_eq!(users.len(), 25);
        assert!(state.is_admin(0));
        let last = users.len() - 1;
        assert!(state.user_membership_ids(last).is_empty());
        for u in 0..last {
            let everyone = state.pair(0, u).expect("in Everyone");
            assert_eq!(
                state.membership(everyone).map(|m| m.role),
                Some(TeamRole::Member)
            );
            assert!(state.user_membership_ids(u).len() <= 4);
        }
        assert!(state.teams.iter().any(|t| t.privacy == TeamPrivacy::Secret));
        for team in 1..state.teams.len() {
            let ids = state.team_membership_ids(team);
            if !ids.is_empty() {
                assert!(ids.iter().any(|&id| {
                    state
                        .membership(id)
                        .is_some_and(|m| m.role == TeamRole::Maintainer)
                }));
            }
        }
        let emails: HashSet<_> = state.users.iter().map(|u| &u.email).collect();
        assert_eq!(emails.len(), state.users.len());
    }

    #[test]
    fn rejects_bad_token_user() {
        let config = SimConfig::default()
            .with_users(3)
            .with_tokens(vec![crate::SimToken::new("t", ["graphql"], 3)]);
        assert!(matches!(build(&config), Err(SimError::InvalidConfig(_))));
    }

    #[test]
    fn spec_must_name_known_members() {
        let spec = OrgSpec {
            uuid: None,
            members: vec![crate::MemberSpec::new(
                "A",
                "a@acme.example",
                OrgRole::Admin,
            )],
            teams: vec![crate::TeamSpec::new("T").with_member("b@acme.example", TeamRole::Member)],
        };
        assert!(matches!(
            build(&SimConfig::default().with_spec(spec)),
            Err(SimError::InvalidConfig(_))
        ));
    }
}
