//! The team list a caller just walked (`list_groups` from its first page to its last,
//! unfiltered), kept briefly so that a full read started right after it (`unidir export`
//! lists the groups, then reads the users) does not list the teams a second time.
//!
//! Only what the full read needs is kept (id, slug, name: no descriptions), for at most
//! [`FRESH_FOR`], and the first full read takes it (a later one lists again). A walk whose
//! pages do not follow each other (another walk interleaved, a cursor from elsewhere) keeps
//! nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use unidir_core::{Cursor, Group, ListQuery, Page};

use super::Buildkite;

/// How long a walked team list stands in for the full read's own listing.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// A team as the full read lists it.
#[derive(Debug, Clone)]
pub(crate) struct ListedTeam {
    pub(crate) id: String,
    pub(crate) slug: Option<String>,
    pub(crate) name: String,
}

#[derive(Debug, Default)]
pub(crate) struct TeamList {
    /// The walk under way: its teams so far and the cursor its next page must come with.
    walking: Option<(Vec<ListedTeam>, Cursor)>,
    /// The last complete walk, and when it ended.
    complete: Option<(Vec<ListedTeam>, Instant)>,
}

impl Buildkite {
    /// Records one page of an unfiltered `list_groups` walk.
    pub(super) fn saw_team_page(&self, query: &ListQuery, page: &Page<Group>) {
        let mut list = self.team_list.lock().unwrap_or_else(|e| e.into_inner());
        let mut teams = match (&query.cursor, list.walking.take()) {
            (None, _) => Vec::new(),
            (Some(cursor), Some((teams, expected))) if *cursor == expected => teams,
            _ => return,
        };
        teams.extend(page.result.iter().map(|g| ListedTeam {
            id: g.id.clone(),
            slug: g.slug.clone(),
            name: g.name.clone(),
        }));
        match &page.next_cursor {
            Some(next) => list.walking = Some((teams, next.clone())),
            None => list.complete = Some((teams, Instant::now())),
        }
    }

    /// The team list of a walk that ended within [`FRESH_FOR`], taken (once).
    pub(crate) fn take_walked_teams(&self) -> Option<Vec<ListedTeam>> {
        let mut list = self.team_list.lock().unwrap_or_else(|e| e.into_inner());
        let (teams, at) = list.complete.take()?;
        (at.elapsed() < FRESH_FOR).then_some(teams)
    }
}

/// The walk state, for the directory (see the module documentation).
pub(super) fn new() -> Mutex<TeamList> {
    Mutex::new(TeamList::default())
}
