//! The classic per-team REST pattern, written the way a typical client does it: one request at
//! a time, `per_page=100`, following `Link: rel="next"`; the member list, the team list, then
//! every team's member list. On a 429 it sleeps for `Retry-After`, else the `RateLimit-*-Reset`
//! of the exhausted budget, and asks again. It never looks at the budget headers otherwise.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::keys::{Outcome, TeamKey, UserKey};

/// Most 429s in a row for one page before giving up.
const MAX_REFUSALS: u32 = 1_000;

#[derive(Deserialize)]
struct Member {
    id: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    sso_mode: Option<String>,
}

#[derive(Deserialize)]
struct Team {
    id: String,
    name: String,
    slug: Option<String>,
}

#[derive(Deserialize)]
struct TeamMember {
    user_id: String,
    role: Option<String>,
}

/// What the baseline did besides reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaselineStats {
    /// 429 answers received.
    pub rate_limited: u64,
    /// Time spent sleeping on them.
    pub slept: Duration,
}

/// A per-team REST reader of one organization.
#[derive(Debug)]
pub struct PerTeamRest {
    client: reqwest::Client,
    rest_url: Url,
    org: String,
    token: String,
    stats: BaselineStats,
}

impl PerTeamRest {
    /// A reader of `org` at `rest_url` (the REST root, paths start with `/v2/`).
    pub fn new(rest_url: Url, org: &str, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            rest_url,
            org: org.to_owned(),
            token: token.to_owned(),
            stats: BaselineStats::default(),
        }
    }

    /// 429s and sleeps so far.
    pub fn stats(&self) -> BaselineStats {
        self.stats
    }

    /// Reads users, teams and every team's members, and joins them.
    pub async fn run(&mut self) -> Result<Outcome, String> {
        let org = self.org.clone();
        let members: Vec<Member> = self
            .list(&format!("v2/organizations/{org}/members"))
            .await?;
        let teams: Vec<Team> = self.list(&format!("v2/organizations/{org}/teams")).await?;
        let mut by_user: HashMap<String, Vec<(String, Option<String>)>> = HashMap::new();
        for team in &teams {
            let rows: Vec<TeamMember> = self
                .list(&format!("v2/organizations/{org}/teams/{}/members", team.id))
                .await?;
            for row in rows {
                let role = row.role.map(|r| format!("team:{}", r.to_ascii_lowercase()));
                by_user
                    .entry(row.user_id)
                    .or_default()
                    .push((team.id.clone(), role));
            }
        }
        let users = members
            .into_iter()
            .map(|m| {
                let mut teams = by_user.remove(&m.id).unwrap_or_default();
                teams.sort();
                let org_role = m.role.map(|r| format!("org:{}", r.to_ascii_lowercase()));
                let mut roles: Vec<_> = org_role.iter().map(|r| (r.clone(), None)).collect();
                roles.extend(
                    teams
                        .iter()
                        .filter_map(|(team, role)| Some((role.clone()?, Some(team.clone())))),
                );
                roles.sort();
                UserKey {
                    id: m.id,
                    name: m.name,
                    email: m.email,
                    org_role,
                    sso_required: m.sso_mode.map(|s| s.eq_ignore_ascii_case("required")),
                    teams,
                    roles,
                }
            })
            .collect();
        let teams = teams
            .into_iter()
            .map(|t| TeamKey {
                id: t.id,
                name: t.name,
                slug: t.slug,
            })
            .collect();
        Ok(Outcome::new(users, Some(teams)))
    }

    /// Every page of a list.
    async fn list<T: DeserializeOwned>(&mut self, path: &str) -> Result<Vec<T>, String> {
        let mut url = self
            .rest_url
            .join(path)
            .map_err(|e| format!("bad path {path}: {e}"))?;
        url.query_pairs_mut().append_pair("per_page", "100");
        let mut all = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let (items, link) = self.page::<T>(&url).await?;
            all.extend(items);
            next = link;
        }
        Ok(all)
    }

    /// One page, asked again after every 429.
    async fn page<T: DeserializeOwned>(
        &mut self,
        url: &Url,
    ) -> Result<(Vec<T>, Option<Url>), String> {
        for _ in 0..=MAX_REFUSALS {
            let resp = self
                .client
                .get(url.clone())
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| format!("GET {}: {e}", url.path()))?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_wait(resp.headers());
                self.stats.rate_limited += 1;
                self.stats.slept += wait;
                tokio::time::sleep(wait).await;
                continue;
            }
            if !status.is_success() {
                return Err(format!("GET {}: HTTP {status}", url.path()));
            }
            let next = next_link(resp.headers());
            let items = resp
                .json::<Vec<T>>()
                .await
                .map_err(|e| format!("GET {}: {e}", url.path()))?;
            return Ok((items, next));
        }
        Err(format!(
            "GET {}: still refused after {MAX_REFUSALS} 429s",
            url.path()
        ))
    }
}

fn header_secs(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After`, else the reset of every exhausted budget (the later one), else the later
/// reset, else one second; at most an hour.
pub fn retry_wait(headers: &HeaderMap) -> Duration {
    let secs = header_secs(headers, "retry-after").or_else(|| {
        let budgets = [
            ("ratelimit-remaining", "ratelimit-reset"),
            ("ratelimit-user-remaining", "ratelimit-user-reset"),
        ];
        let exhausted = budgets
            .iter()
            .filter(|(remaining, _)| header_secs(headers, remaining) == Some(0))
            .filter_map(|(_, reset)| header_secs(headers, reset))
            .max();
        exhausted.or_else(|| {
            budgets
                .iter()
                .filter_map(|(_, reset)| header_secs(headers, reset))
                .max()
        })
    });
    Duration::from_secs(secs.unwrap_or(1).clamp(1, 3_600))
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<Url> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).expect("valid"));
        }
        h
    }

    #[test]
    fn waits_for_the_exhausted_budget() {
        let h = headers(&[
            ("ratelimit-remaining", "120"),
            ("ratelimit-reset", "50"),
            ("ratelimit-user-remaining", "0"),
            ("ratelimit-user-reset", "7"),
        ]);
        assert_eq!(retry_wait(&h), Duration::from_secs(7));
        let h = headers(&[("retry-after", "3"), ("ratelimit-user-reset", "9")]);
        assert_eq!(retry_wait(&h), Duration::from_secs(3));
        assert_eq!(retry_wait(&HeaderMap::new()), Duration::from_secs(1));
    }

    #[test]
    fn follows_only_rel_next() {
        let h = headers(&[(
            "link",
            "<http://127.0.0.1:1/v2/x?page=3&per_page=100>; rel=\"last\", <http://127.0.0.1:1/v2/x?page=2&per_page=100>; rel=\"next\"",
        )]);
        assert_eq!(
            next_link(&h).map(|u| u.to_string()),
            Some("http://127.0.0.1:1/v2/x?page=2&per_page=100".to_owned())
        );
        let last_only = headers(&[("link", "<http://127.0.0.1:1/v2/x?page=3>; rel=\"last\"")]);
        assert_eq!(next_link(&last_only), None);
    }
}
