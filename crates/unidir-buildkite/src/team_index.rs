//! Every team, and the teams (with roles) of every user: what REST needs to give a member
//! their groups, since only team member lists carry team roles.
//!
//! Compact, because a read of a large organization holds it: each team's id, name and slug
//! once; per membership one 40-byte entry (a 16-byte digest of the user id, the team's
//! position, an interned role and the join time) in a vector sorted by user, not a
//! `GroupAssignment` of owned strings. A full read builds it [`TeamIndexBuilder::spilling`]:
//! past a bound the memberships go to partition files ([`crate::spill`]) and the member rows
//! follow them there, to be joined partition by partition ([`DiskJoin`]), so its memory does
//! not grow with the organization.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::DateTime;
use unidir_core::{GroupAssignment, Timestamp};

use crate::spill::{self, PartitionReader, Partitions, SpillConfig};

/// A team as the index names it.
#[derive(Debug, Clone)]
pub(crate) struct TeamEntry {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
}

/// Longest team name or slug kept (bytes). Each is held once per team and copied into every
/// membership of the team, so an upstream that lists names of megabytes would make the read
/// hoard them; such a team list is refused as a contract violation, never cut short.
pub(crate) const MAX_TEAM_TEXT: usize = 1024;

impl TeamEntry {
    /// A listed team, its name and slug within [`MAX_TEAM_TEXT`].
    pub(crate) fn checked(
        operation: &'static str,
        id: String,
        name: String,
        slug: Option<String>,
    ) -> unidir_core::Result<Self> {
        for (what, text) in [("name", Some(&name)), ("slug", slug.as_ref())] {
            if text.is_some_and(|t| t.len() > MAX_TEAM_TEXT) {
                return Err(crate::api::contract(
                    operation,
                    format!(
                        "Buildkite listed a team whose {what} is longer than {MAX_TEAM_TEXT} bytes"
                    ),
                ));
            }
        }
        Ok(Self { id, name, slug })
    }
}

/// No role (an interned role's index otherwise). Interned roles are `0..NO_ROLE`: a role
/// table can never reach it, since each new role comes with a membership and a walk's
/// memberships are bounded (`WalkLimits`) far below 2³² (see [`Roles::intern`]).
const NO_ROLE: u32 = u32::MAX;

/// The distinct role ids of an index, interned: each role string once, looked up by hash
/// (Buildkite has two team roles, but an upstream may name any number; a linear search
/// would make 70,000 invented names quadratic, and a 16-bit index would wrap them onto
/// "no role").
#[derive(Debug, Default)]
struct Roles {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Roles {
    /// The index of `role`, interning it on first sight. Never [`NO_ROLE`]: the table
    /// would need 2³² − 1 distinct names (hundreds of gigabytes of memberships) first, and
    /// then the role is refused by panicking rather than silently read as another.
    fn intern(&mut self, role: String) -> u32 {
        if let Some(&at) = self.index.get(&role) {
            return at;
        }
        let at = u32::try_from(self.names.len())
            .ok()
            .filter(|&at| at < NO_ROLE)
            .expect("fewer than 2^32 - 1 distinct team roles");
        self.names.push(role.clone());
        self.index.insert(role, at);
        at
    }

    /// The role table, without its lookup map (a finished index only reads it).
    fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// One membership: the user's digest (as two halves, so the entry is 8-aligned), the team
/// position, the role (index into the interned roles) and the join time.
#[derive(Debug, Clone, Copy)]
struct Entry {
    user: [u64; 2],
    team: u32,
    role: u32,
    joined_at: Option<Timestamp>,
}

// A 32-bit role fits in what was padding: an entry stays 40 bytes.
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

/// Bytes of an [`Entry`] on disk after its digest: team, role, a flag, seconds, nanoseconds.
const ENTRY_BYTES: usize = 4 + 4 + 1 + 8 + 4;

impl Entry {
    fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[..4].copy_from_slice(&self.team.to_le_bytes());
        out[4..8].copy_from_slice(&self.role.to_le_bytes());
        if let Some(t) = self.joined_at {
            out[8] = 1;
            out[9..17].copy_from_slice(&t.timestamp().to_le_bytes());
            out[17..21].copy_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
        }
        out
    }

    fn decode(digest: u128, bytes: &[u8]) -> io::Result<Self> {
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a spilled membership is corrupt",
            )
        };
        let bytes: &[u8; ENTRY_BYTES] = bytes.try_into().map_err(|_| bad())?;
        let joined_at = if bytes[8] == 1 {
            let secs = i64::from_le_bytes(bytes[9..17].try_into().map_err(|_| bad())?);
            let nanos = u32::from_le_bytes(bytes[17..21].try_into().map_err(|_| bad())?);
            Some(DateTime::from_timestamp(secs, nanos).ok_or_else(bad)?)
        } else {
            None
        };
        Ok(Self {
            user: halves(digest),
            team: u32::from_le_bytes(bytes[..4].try_into().map_err(|_| bad())?),
            role: u32::from_le_bytes(bytes[4..8].try_into().map_err(|_| bad())?),
            joined_at,
        })
    }

    fn digest(&self) -> u128 {
        (u128::from(self.user[0]) << 64) | u128::from(self.user[1])
    }
}

fn halves(digest: u128) -> [u64; 2] {
    [(digest >> 64) as u64, digest as u64]
}

/// A 128-bit digest of an id ([`unidir_core::key_digest`]).
pub(crate) use unidir_core::key_digest as digest;

/// What [`sort_entries`] dropped.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Dropped {
    /// Memberships read twice, kept once.
    pub(crate) repeats: u64,
    /// Of those, the ones whose second reading gave another role (the first is kept).
    pub(crate) role_conflicts: u64,
}

/// Sorts by user, then team (stably: of a membership read twice, the first is kept: one
/// deterministic rule, whatever the roles say), and drops the repeats, counting them.
fn sort_entries(entries: &mut Vec<Entry>) -> Dropped {
    entries.sort_by_key(|e| (e.user, e.team));
    let mut dropped = Dropped::default();
    entries.dedup_by(|later, earlier| {
        let same = later.user == earlier.user && later.team == earlier.team;
        if same {
            dropped.repeats += 1;
            if later.role != earlier.role {
                dropped.role_conflicts += 1;
            }
        }
        same
    });
    dropped
}

/// The starts of each user's run of (sorted) entries.
fn user_starts(entries: &[Entry]) -> impl Iterator<Item = usize> + '_ {
    (0..entries.len()).filter(|&i| i == 0 || entries[i].user != entries[i - 1].user)
}

/// Marks the user whose run starts at `start` as found in a member list.
fn mark(found: &[AtomicU64], start: usize) {
    if let Some(word) = found.get(start / 64) {
        word.fetch_or(1 << (start % 64), Ordering::Relaxed);
    }
}

fn is_marked(found: &[AtomicU64], start: usize) -> bool {
    found
        .get(start / 64)
        .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (start % 64)) != 0)
}

/// A bit per entry, all clear.
fn bits(entries: &[Entry]) -> Vec<AtomicU64> {
    (0..entries.len().div_ceil(64))
        .map(|_| AtomicU64::new(0))
        .collect()
}

/// The group assignments of one user's (sorted) entries.
fn assignments(teams: &[TeamEntry], roles: &[String], entries: &[Entry]) -> Vec<GroupAssignment> {
    entries
        .iter()
        .filter_map(|entry| {
            let team = teams.get(entry.team as usize)?;
            Some(
                GroupAssignment::new(team.id.clone())
                    .with_name(team.name.clone())
                    .with_slug(team.slug.clone())
                    .with_role_id(
                        (entry.role != NO_ROLE)
                            .then(|| roles.get(entry.role as usize).cloned())
                            .flatten(),
                    )
                    .with_joined_at(entry.joined_at),
            )
        })
        .collect()
}

/// The entries of `user` in a vector sorted by [`sort_entries`], and where they start.
fn entries_of(entries: &[Entry], user: u128) -> (usize, &[Entry]) {
    let key = halves(user);
    let start = entries.partition_point(|e| e.user < key);
    let end = start + entries[start..].partition_point(|e| e.user == key);
    (start, &entries[start..end])
}

/// Collects memberships in any order (from REST and GraphQL at once); finishing orders each
/// user's teams by team position.
#[derive(Debug, Default)]
pub(crate) struct TeamIndexBuilder {
    teams: Vec<TeamEntry>,
    roles: Roles,
    entries: Vec<Entry>,
    /// Where memberships go past the in-memory bound (only for [`Self::spilling`]).
    spill: Option<SpillConfig>,
    disk: Option<Partitions>,
    /// The first write to the partitions that failed, reported by [`Self::finish_join`].
    error: Option<io::Error>,
}

/// A finished index: in memory, or on disk waiting for the member rows to join.
#[derive(Debug)]
pub(crate) enum Built {
    Memory(TeamIndex),
    Disk(DiskJoin),
}

impl TeamIndexBuilder {
    /// A builder that moves the memberships to partition files past
    /// `config.memberships_in_memory` (where no temporary file can be made, it stays in
    /// memory).
    pub(crate) fn spilling(config: SpillConfig) -> Self {
        Self {
            spill: Some(config),
            ..Self::default()
        }
    }

    /// The id and slug of the team at `position` (the full read's queue keeps neither).
    pub(crate) fn id_and_slug(&self, position: u32) -> Option<(String, Option<String>)> {
        let team = self.teams.get(position as usize)?;
        Some((team.id.clone(), team.slug.clone()))
    }

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
        let role = role_id.map_or(NO_ROLE, |role| self.roles.intern(role));
        let entry = Entry {
            user: halves(digest(user_id)),
            team,
            role,
            joined_at: crate::map::joined_at(joined_at),
        };
        if self.disk.is_none()
            && self
                .spill
                .as_ref()
                .is_some_and(|c| self.entries.len() >= c.memberships_in_memory)
        {
            // Moved before the vector outgrows the bound, so it never doubles past it.
            self.move_to_disk();
        }
        if let Some(disk) = &mut self.disk {
            if self.error.is_none()
                && let Err(e) = disk.write(entry.digest(), &entry.encode())
            {
                self.error = Some(e);
            }
            return;
        }
        self.entries.push(entry);
    }

    fn move_to_disk(&mut self) {
        let Some(config) = &self.spill else {
            return;
        };
        let mut disk = match Partitions::create(config) {
            Ok(disk) => disk,
            Err(_) => {
                // No temporary files here: join in memory, as a small organization does.
                self.spill = None;
                return;
            }
        };
        for entry in std::mem::take(&mut self.entries) {
            if let Err(e) = disk.write(entry.digest(), &entry.encode()) {
                self.error = Some(e);
                break;
            }
        }
        self.disk = Some(disk);
    }

    /// The finished index, in memory (a builder made with `default`).
    pub(crate) fn finish(self) -> TeamIndex {
        let Self {
            teams,
            roles,
            mut entries,
            ..
        } = self;
        let dropped = sort_entries(&mut entries);
        entries.shrink_to_fit();
        let ids = teams.iter().map(|t| digest(&t.id)).collect();
        TeamIndex {
            ids,
            teams,
            roles: roles.into_names(),
            found: bits(&entries),
            entries,
            dropped,
            last_used: Mutex::new(Instant::now()),
        }
    }

    /// The finished index, in memory or (past the bound) on disk.
    pub(crate) fn finish_join(mut self) -> io::Result<Built> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let (Some(disk), Some(config)) = (self.disk.take(), self.spill.clone()) else {
            return Ok(Built::Memory(self.finish()));
        };
        Ok(Built::Disk(DiskJoin {
            teams: self.teams,
            roles: self.roles.into_names(),
            memberships: disk.finish()?,
            members: Partitions::create(&config)?,
        }))
    }
}

/// The finished index; see the module documentation.
#[derive(Debug)]
pub(crate) struct TeamIndex {
    /// Digests of the team ids (16 bytes a team, not a second copy of each id).
    ids: HashSet<u128>,
    teams: Vec<TeamEntry>,
    roles: Vec<String>,
    /// Sorted by [`sort_entries`].
    entries: Vec<Entry>,
    /// A bit per entry, set at the start of each user's run once a member list held them.
    found: Vec<AtomicU64>,
    /// Memberships read twice, kept once.
    dropped: Dropped,
    pub(crate) last_used: Mutex<Instant>,
}

impl TeamIndex {
    /// Whether a team with this id was listed.
    pub(crate) fn has_team(&self, id: &str) -> bool {
        self.ids.contains(&digest(id))
    }

    /// The teams of `user_id`, with roles, in team-list order.
    pub(crate) fn groups_of(&self, user_id: &str) -> Vec<GroupAssignment> {
        let (start, entries) = entries_of(&self.entries, digest(user_id));
        if !entries.is_empty() {
            mark(&self.found, start);
        }
        assignments(&self.teams, &self.roles, entries)
    }

    /// Users with memberships whose groups were never asked for: in no member list read.
    pub(crate) fn orphan_users(&self) -> u64 {
        user_starts(&self.entries)
            .filter(|&start| !is_marked(&self.found, start))
            .count() as u64
    }

    /// Memberships read twice (kept once).
    pub(crate) fn dropped(&self) -> Dropped {
        self.dropped
    }
}

/// The memberships of a large organization in partition files, and the member rows as they
/// are read, to be joined partition by partition: a grace hash join. Its memory is the
/// teams, the write buffers, and one partition's memberships at a time.
#[derive(Debug)]
pub(crate) struct DiskJoin {
    teams: Vec<TeamEntry>,
    roles: Vec<String>,
    memberships: spill::Finished,
    members: Partitions,
}

impl DiskJoin {
    /// Stores a member row (`record`, the caller's encoding) of `user_id` for the join.
    pub(crate) fn push(&mut self, user_id: &str, record: &[u8]) -> io::Result<()> {
        self.members.write(digest(user_id), record)
    }

    /// Joins, one partition at a time.
    pub(crate) fn into_partitions(self) -> io::Result<JoinedPartitions> {
        Ok(JoinedPartitions {
            teams: self.teams,
            roles: self.roles,
            memberships: self.memberships,
            members: self.members.finish()?,
            next: 0,
        })
    }
}

/// The join's partitions, in order.
#[derive(Debug)]
pub(crate) struct JoinedPartitions {
    teams: Vec<TeamEntry>,
    roles: Vec<String>,
    memberships: spill::Finished,
    members: spill::Finished,
    next: usize,
}

impl JoinedPartitions {
    /// The next partition: its memberships loaded, its member rows to read.
    pub(crate) fn next_partition(&mut self) -> io::Result<Option<Partition<'_>>> {
        if self.next >= spill::PARTITIONS {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let mut entries = Vec::with_capacity(self.memberships.count(index));
        let mut reader = self.memberships.read(index);
        while let Some((digest, bytes)) = reader.next_record()? {
            entries.push(Entry::decode(digest, bytes)?);
        }
        drop(reader);
        let dropped = sort_entries(&mut entries);
        Ok(Some(Partition {
            teams: &self.teams,
            roles: &self.roles,
            found: bits(&entries),
            entries,
            dropped,
            members: self.members.read(index),
        }))
    }
}

/// One partition of the join.
#[derive(Debug)]
pub(crate) struct Partition<'a> {
    teams: &'a [TeamEntry],
    roles: &'a [String],
    entries: Vec<Entry>,
    /// As [`TeamIndex`]'s.
    found: Vec<AtomicU64>,
    dropped: Dropped,
    members: PartitionReader,
}

impl Partition<'_> {
    /// The next member row of the partition with the member's teams.
    pub(crate) fn next_member(&mut self) -> io::Result<Option<(&[u8], Vec<GroupAssignment>)>> {
        let Some((digest, record)) = self.members.next_record()? else {
            return Ok(None);
        };
        let (start, entries) = entries_of(&self.entries, digest);
        if !entries.is_empty() {
            mark(&self.found, start);
        }
        let groups = assignments(self.teams, self.roles, entries);
        Ok(Some((record, groups)))
    }

    /// Once every member is read: users of this partition with memberships and no row.
    pub(crate) fn orphan_users(&self) -> u64 {
        user_starts(&self.entries)
            .filter(|&start| !is_marked(&self.found, start))
            .count() as u64
    }

    /// Memberships of this partition read twice (kept once).
    pub(crate) fn dropped(&self) -> Dropped {
        self.dropped
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

    /// An upstream inventing 70,000 team role names: each membership keeps its own, through
    /// index 65,535 (once taken for "no role") and past 2¹⁶ (once read as no role), in
    /// memory and through the disk join.
    #[test]
    fn seventy_thousand_invented_roles_are_each_kept() -> io::Result<()> {
        const ROLES: usize = 70_000;
        let dir = tempfile::tempdir()?;
        let fill = |b: &mut TeamIndexBuilder| {
            let t = b.team(team("t"));
            for u in 0..ROLES {
                b.add(
                    t,
                    &format!("u{u}"),
                    Some(format!("team:invented-{u}")),
                    None,
                );
            }
            b.add(t, "none", None, None);
        };
        let role_of = |groups: Vec<GroupAssignment>| groups[0].role_id.clone();
        let mut memory = TeamIndexBuilder::default();
        fill(&mut memory);
        let memory = memory.finish();
        for u in [0, 65_534, 65_535, 65_536, ROLES - 1] {
            assert_eq!(
                role_of(memory.groups_of(&format!("u{u}"))).as_deref(),
                Some(format!("team:invented-{u}").as_str()),
                "user {u}"
            );
        }
        assert_eq!(role_of(memory.groups_of("none")), None);

        let mut spilling = TeamIndexBuilder::spilling(SpillConfig {
            memberships_in_memory: 1_000,
            rows_in_memory: 0,
            dir: Some(dir.path().to_owned()),
        });
        fill(&mut spilling);
        let Built::Disk(mut join) = spilling.finish_join()? else {
            panic!("past 1,000 memberships the index is on disk");
        };
        for u in 0..ROLES {
            join.push(&format!("u{u}"), format!("u{u}").as_bytes())?;
        }
        let mut partitions = join.into_partitions()?;
        let mut checked = 0;
        while let Some(mut partition) = partitions.next_partition()? {
            while let Some((record, groups)) = partition.next_member()? {
                let id = std::str::from_utf8(record).expect("id").to_owned();
                let want = format!("team:invented-{}", &id[1..]);
                assert_eq!(role_of(groups).as_deref(), Some(want.as_str()), "{id}");
                checked += 1;
            }
        }
        assert_eq!(checked, ROLES);
        Ok(())
    }

    #[test]
    fn the_disk_join_gives_each_user_the_in_memory_groups() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let fill = |b: &mut TeamIndexBuilder| {
            let teams: Vec<u32> = (0..5).map(|i| b.team(team(&format!("t{i}")))).collect();
            let at = chrono::DateTime::from_timestamp(1_700_000_000, 123_000_000);
            for u in 0..60 {
                for (k, t) in teams.iter().enumerate().rev() {
                    if (u + k) % 3 != 0 {
                        let role = (k % 2 == 0).then(|| "team:maintainer".to_owned());
                        b.add(*t, &format!("u{u}"), role, at.filter(|_| u % 2 == 0));
                    }
                }
            }
            // Read twice (rows shifting between pages): kept once.
            b.add(teams[1], "u1", Some("team:member".to_owned()), None);
        };
        let mut memory = TeamIndexBuilder::default();
        fill(&mut memory);
        let memory = memory.finish();
        let mut spilling = TeamIndexBuilder::spilling(SpillConfig {
            memberships_in_memory: 10,
            rows_in_memory: 0,
            dir: Some(dir.path().to_owned()),
        });
        fill(&mut spilling);
        let Built::Disk(mut join) = spilling.finish_join()? else {
            panic!("past 10 memberships the index is on disk");
        };
        for u in 0..61 {
            join.push(&format!("u{u}"), format!("u{u}").as_bytes())?;
        }
        let mut partitions = join.into_partitions()?;
        let mut users = 0;
        while let Some(mut partition) = partitions.next_partition()? {
            while let Some((record, groups)) = partition.next_member()? {
                let id = std::str::from_utf8(record).expect("id").to_owned();
                assert_eq!(groups, memory.groups_of(&id), "{id}");
                users += 1;
            }
        }
        assert_eq!(users, 61);
        // u1 is in t0, t1, t3 and t4, in team order; of t1 read twice the first is kept.
        let u1 = memory.groups_of("u1");
        let ids: Vec<&str> = u1.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["t0", "t1", "t3", "t4"]);
        assert_eq!(u1[1].role_id, None);
        assert_eq!(u1[0].role_id.as_deref(), Some("team:maintainer"));
        assert!(memory.groups_of("u60").is_empty());
        Ok(())
    }
}
