//! The keys a walk has emitted, as 16-byte digests: in memory while few, then in an open
//! addressing table in an unlinked temporary file, so a walk of any size holds a bounded
//! amount of memory (the page cache holds the table, not the process).
//!
//! The file holds digests only (never an id), is created unlinked with mode 0600 where the
//! platform allows, and disappears when the set is dropped, on success or error. When no
//! temporary file can be created the set stays in memory: deduplication never fails for
//! want of a disk.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Digests kept in memory before the set moves to disk (a table of ≈ 70 KB).
pub(crate) const DEFAULT_MEMORY_KEYS: usize = 2048;

/// A 128-bit digest of a key: two SipHash passes under keys drawn once per process, so an
/// upstream cannot choose ids whose digests collide (which would drop a record as a repeat);
/// a digest is never kept past the process. The walker de-duplicates by it; an adapter keying
/// its own sets or indexes by provider id can use it too, so an id is held as 16 bytes.
pub fn key_digest(key: &str) -> u128 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    static KEYS: OnceLock<[RandomState; 2]> = OnceLock::new();
    let [high, low] = KEYS.get_or_init(|| [RandomState::new(), RandomState::new()]);
    (u128::from(high.hash_one(key)) << 64) | u128::from(low.hash_one(key))
}

/// Keys seen so far in one walk.
#[derive(Debug)]
pub(crate) struct SeenKeys {
    memory: HashSet<u128>,
    disk: Option<DiskTable>,
    /// Most digests in memory before moving to disk.
    memory_keys: usize,
    /// Where the table file goes (the system's temporary directory when `None`).
    dir: Option<PathBuf>,
    /// Moving to disk failed once: stay in memory.
    disk_failed: bool,
}

impl Default for SeenKeys {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_KEYS, None)
    }
}

impl SeenKeys {
    pub(crate) fn new(memory_keys: usize, dir: Option<PathBuf>) -> Self {
        Self {
            memory: HashSet::new(),
            disk: None,
            memory_keys,
            dir,
            disk_failed: false,
        }
    }

    /// Records `key`; `true` when it was not seen before.
    pub(crate) fn insert(&mut self, key: &str) -> bool {
        let digest = key_digest(key);
        if let Some(disk) = &mut self.disk {
            match disk.insert(digest) {
                Ok(fresh) => return fresh,
                Err(_) => self.back_to_memory(),
            }
        }
        let fresh = self.memory.insert(digest);
        if fresh && self.memory.len() > self.memory_keys && !self.disk_failed {
            self.spill();
        }
        fresh
    }

    /// Whether the set is on disk now.
    #[cfg(test)]
    pub(crate) fn on_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// Moves every digest to a new table file; on failure the set stays in memory.
    fn spill(&mut self) {
        let result =
            DiskTable::create(self.dir.as_ref(), self.memory.len() * 4).and_then(|mut table| {
                for &digest in &self.memory {
                    table.insert(digest)?;
                }
                Ok(table)
            });
        match result {
            Ok(table) => {
                self.disk = Some(table);
                self.memory = HashSet::new();
            }
            // No temporary file: the set grows in memory instead.
            Err(_) => self.disk_failed = true,
        }
    }

    /// A read or write of the table failed: read every digest back into memory.
    fn back_to_memory(&mut self) {
        self.disk_failed = true;
        if let Some(mut disk) = self.disk.take() {
            // What cannot be read back is lost; the set then only risks letting a repeated
            // key through, never dropping a fresh one.
            let _ = disk.for_each(|digest| {
                self.memory.insert(digest);
            });
        }
    }
}

/// Slots per block read at once (4 KiB).
const BLOCK_SLOTS: u64 = 256;
const SLOT_BYTES: u64 = 16;

/// Linear probing over 16-byte slots in a file; 0 marks an empty slot (the digest 0 is kept
/// in a flag).
#[derive(Debug)]
struct DiskTable {
    file: File,
    slots: u64,
    len: u64,
    has_zero: bool,
    dir: Option<PathBuf>,
    block: Vec<u8>,
}

impl DiskTable {
    fn create(dir: Option<&PathBuf>, at_least: usize) -> io::Result<Self> {
        let slots = (at_least as u64).max(BLOCK_SLOTS).next_power_of_two();
        let file = match dir {
            Some(dir) => tempfile::tempfile_in(dir)?,
            None => tempfile::tempfile()?,
        };
        // Sparse: unwritten slots read as zero.
        file.set_len(slots * SLOT_BYTES)?;
        Ok(Self {
            file,
            slots,
            len: 0,
            has_zero: false,
            dir: dir.cloned(),
            block: vec![0; (BLOCK_SLOTS * SLOT_BYTES) as usize],
        })
    }

    fn insert(&mut self, digest: u128) -> io::Result<bool> {
        if digest == 0 {
            return Ok(!std::mem::replace(&mut self.has_zero, true));
        }
        if (self.len + 1) * 2 > self.slots {
            self.grow()?;
        }
        let mask = self.slots - 1;
        // The low bits pick the slot: the digest is uniformly distributed.
        let mut slot = (digest as u64) & mask;
        loop {
            // Tables have at least one block of slots, a power of two.
            let start = slot - slot % BLOCK_SLOTS;
            let count = BLOCK_SLOTS;
            self.read_block(start, count)?;
            for at in slot..start + count {
                let offset = ((at - start) * SLOT_BYTES) as usize;
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&self.block[offset..offset + 16]);
                match u128::from_le_bytes(bytes) {
                    0 => {
                        self.file.seek(SeekFrom::Start(at * SLOT_BYTES))?;
                        self.file.write_all(&digest.to_le_bytes())?;
                        self.len += 1;
                        return Ok(true);
                    }
                    existing if existing == digest => return Ok(false),
                    _ => {}
                }
            }
            // The table is at most half full, so an empty slot comes.
            slot = (start + count) & mask;
        }
    }

    fn read_block(&mut self, start: u64, count: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(start * SLOT_BYTES))?;
        self.file
            .read_exact(&mut self.block[..(count * SLOT_BYTES) as usize])
    }

    /// Calls `each` with every digest in the table.
    fn for_each(&mut self, mut each: impl FnMut(u128)) -> io::Result<()> {
        if self.has_zero {
            each(0);
        }
        let count = BLOCK_SLOTS;
        let mut start = 0;
        while start < self.slots {
            self.read_block(start, count)?;
            for chunk in self.block[..(count * SLOT_BYTES) as usize].chunks_exact(16) {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(chunk);
                let digest = u128::from_le_bytes(bytes);
                if digest != 0 {
                    each(digest);
                }
            }
            start += count;
        }
        Ok(())
    }

    /// Doubles the table into a new file; the old one is closed (and so gone).
    fn grow(&mut self) -> io::Result<()> {
        let mut bigger = Self::create(self.dir.as_ref(), (self.slots * 2) as usize)?;
        let mut result = Ok(());
        self.for_each(|digest| {
            if result.is_ok() {
                result = bigger.insert(digest).map(|_| ());
            }
        })?;
        result?;
        *self = bigger;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_within_the_process_and_tell_keys_apart() {
        assert_eq!(key_digest("user-1"), key_digest("user-1"));
        let digests: HashSet<u128> = (0..10_000).map(|n| key_digest(&format!("u{n}"))).collect();
        assert_eq!(digests.len(), 10_000);
        let d = key_digest("user-1");
        assert_ne!(
            d >> 64,
            d & u128::from(u64::MAX),
            "the halves use different keys"
        );
    }

    /// Open files of this process whose target lies under `dir`.
    #[cfg(target_os = "linux")]
    fn open_files_under(dir: &std::path::Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .expect("fd dir")
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.starts_with(dir))
            .count()
    }

    #[test]
    fn a_large_set_moves_to_disk_and_still_answers_exactly() {
        let dir = tempfile::tempdir().expect("dir");
        let mut seen = SeenKeys::new(100, Some(dir.path().to_owned()));
        for i in 0..5_000 {
            assert!(seen.insert(&format!("user-{i}")), "first sight of {i}");
        }
        assert!(seen.on_disk(), "past 100 keys the set is on disk");
        for i in (0..5_000).step_by(7) {
            assert!(!seen.insert(&format!("user-{i}")), "{i} again");
        }
        assert!(seen.insert("someone new"));
        // The table file is unlinked: nothing is listed in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
        #[cfg(target_os = "linux")]
        {
            assert_eq!(open_files_under(dir.path()), 1, "one table file open");
            drop(seen);
            assert_eq!(open_files_under(dir.path()), 0, "closed on drop");
        }
    }

    #[test]
    fn the_set_moves_to_disk_exactly_past_its_memory_keys() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut seen = SeenKeys::new(4, Some(dir.path().to_owned()));
        for key in ["a", "b", "c", "d"] {
            assert!(seen.insert(key));
            assert!(!seen.on_disk(), "{key}: still within the bound");
        }
        // A repeat at the bound neither counts nor moves the set.
        assert!(!seen.insert("a"));
        assert!(!seen.on_disk());
        assert!(seen.insert("e"));
        assert!(seen.on_disk(), "the fifth key is past the bound");
        assert!(seen.memory.is_empty(), "the digests moved, not copied");
        for key in ["a", "b", "c", "d", "e"] {
            assert!(!seen.insert(key), "{key} is still known on disk");
        }
        Ok(())
    }

    #[test]
    fn a_spilled_table_is_sized_for_growth_and_stays_at_most_half_full() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut seen = SeenKeys::new(1_000, Some(dir.path().to_owned()));
        for i in 0..=1_000 {
            assert!(seen.insert(&i.to_string()));
        }
        let table = seen.disk.as_ref().expect("on disk");
        // Room for four times the keys moved, so the table does not grow at once.
        assert!(table.slots >= 4 * 1_001, "{} slots", table.slots);
        for i in 1_001..20_000 {
            assert!(seen.insert(&i.to_string()));
        }
        let table = seen.disk.as_ref().expect("on disk");
        assert_eq!(table.len, 20_000);
        assert!(table.slots.is_power_of_two(), "{} slots", table.slots);
        assert!(
            table.len * 2 <= table.slots,
            "{} of {}",
            table.len,
            table.slots
        );
        Ok(())
    }

    #[test]
    fn both_halves_of_a_digest_carry_the_key() {
        let digests: Vec<u128> = (0..64).map(|i| key_digest(&format!("k{i}"))).collect();
        let highs: HashSet<u64> = digests.iter().map(|d| (d >> 64) as u64).collect();
        let lows: HashSet<u64> = digests.iter().map(|d| *d as u64).collect();
        assert_eq!(highs.len(), 64, "the high half tells keys apart");
        assert_eq!(lows.len(), 64, "the low half tells keys apart");
        // Two passes under different keys: the halves are not one hash twice.
        assert!(digests.iter().all(|d| (d >> 64) as u64 != *d as u64));
    }

    #[test]
    fn without_a_usable_directory_the_set_stays_in_memory() {
        let mut seen = SeenKeys::new(10, Some(PathBuf::from("/nonexistent/unidir-seen")));
        for i in 0..100 {
            assert!(seen.insert(&i.to_string()));
        }
        assert!(!seen.on_disk());
        assert!(!seen.insert("42"));
    }

    #[test]
    fn the_zero_digest_and_growth_are_handled() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut table = DiskTable::create(Some(&dir.path().to_owned()), 4)?;
        assert!(table.insert(0)?);
        assert!(!table.insert(0)?);
        // Colliding low bits: every digest wants slot 0.
        for i in 1..=1_000u128 {
            assert!(table.insert(i << 64)?);
        }
        for i in 1..=1_000u128 {
            assert!(!table.insert(i << 64)?);
        }
        let mut count = 0;
        table.for_each(|_| count += 1)?;
        assert_eq!(count, 1_001);
        Ok(())
    }
}
