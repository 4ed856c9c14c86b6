//! Records partitioned by user-id digest into a fixed number of temporary files: the two
//! sides of the full read's grace hash join (team memberships, member rows) when an
//! organization is too large to join in memory.
//!
//! Every file is created unlinked (mode 0600) with [`tempfile`], so nothing is ever listed
//! in the directory and the data is gone when the partitions are dropped: after the join,
//! after an error, or when the caller stops reading.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Partitions of each side: a partition holds ≈ 1/32 of the memberships and members.
pub(crate) const PARTITIONS: usize = 32;
/// Write buffer per partition file (32 × 2 sides × 2 KiB in memory while writing).
const BUFFER: usize = 2048;

/// How large a full read joins in memory, and where it spills beyond that.
#[derive(Debug, Clone)]
pub(crate) struct SpillConfig {
    /// Team memberships (≈ 40 bytes each) held in memory before both sides of the join go
    /// to disk.
    pub(crate) memberships_in_memory: usize,
    /// GraphQL member rows a `Full` read holds while REST is still reading teams, before
    /// the rest wait in a temporary file (`full_read/parked.rs`).
    pub(crate) rows_in_memory: usize,
    /// Directory of the temporary files (the system's temporary directory when `None`).
    pub(crate) dir: Option<PathBuf>,
}

impl Default for SpillConfig {
    fn default() -> Self {
        Self {
            memberships_in_memory: 4096,
            // Two pages of `UnidirMembersLite` (≈ 0.5 MB without `remote_data`).
            rows_in_memory: 1000,
            dir: None,
        }
    }
}

/// The partition of a user-id digest.
pub(crate) fn partition_of(digest: u128) -> usize {
    // The high half: the low bits already pick hash-table slots.
    ((digest >> 64) as u64 % PARTITIONS as u64) as usize
}

/// Partition files being written: each record is the user digest, a length and the bytes.
#[derive(Debug)]
pub(crate) struct Partitions {
    files: Vec<BufWriter<File>>,
    /// Records per partition, so a reader can size its buffers exactly.
    counts: Vec<usize>,
}

/// An unlinked temporary file (mode 0600) in the configured directory.
pub(crate) fn temp_file(config: &SpillConfig) -> io::Result<File> {
    match &config.dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    }
}

impl Partitions {
    pub(crate) fn create(config: &SpillConfig) -> io::Result<Self> {
        let files = (0..PARTITIONS)
            .map(|_| Ok(BufWriter::with_capacity(BUFFER, temp_file(config)?)))
            .collect::<io::Result<_>>()?;
        Ok(Self {
            files,
            counts: vec![0; PARTITIONS],
        })
    }

    /// Appends one record for `digest` to its partition.
    pub(crate) fn write(&mut self, digest: u128, record: &[u8]) -> io::Result<()> {
        let len = u32::try_from(record.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))?;
        let partition = partition_of(digest);
        self.counts[partition] += 1;
        let file = &mut self.files[partition];
        file.write_all(&digest.to_le_bytes())?;
        file.write_all(&len.to_le_bytes())?;
        file.write_all(record)
    }

    /// Flushes every partition for reading.
    pub(crate) fn finish(self) -> io::Result<Finished> {
        let files = self
            .files
            .into_iter()
            .map(|writer| {
                let mut file = writer
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)?;
                file.seek(SeekFrom::Start(0))?;
                Ok(Some(file))
            })
            .collect::<io::Result<_>>()?;
        Ok(Finished {
            files,
            counts: self.counts,
        })
    }
}

/// Written partitions, each read once.
#[derive(Debug)]
pub(crate) struct Finished {
    files: Vec<Option<File>>,
    counts: Vec<usize>,
}

impl Finished {
    /// Records written to partition `index`.
    pub(crate) fn count(&self, index: usize) -> usize {
        self.counts.get(index).copied().unwrap_or(0)
    }

    /// The records of partition `index` in the order written; the file is closed (and its
    /// space freed) when the reader is dropped.
    pub(crate) fn read(&mut self, index: usize) -> PartitionReader {
        PartitionReader {
            file: self
                .files
                .get_mut(index)
                .and_then(Option::take)
                .map(|f| BufReader::with_capacity(BUFFER, f)),
            record: Vec::new(),
        }
    }
}

/// Reads one partition record by record.
#[derive(Debug)]
pub(crate) struct PartitionReader {
    file: Option<BufReader<File>>,
    record: Vec<u8>,
}

impl PartitionReader {
    /// The next record (digest and bytes), `None` at the end.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<(u128, &[u8])>> {
        let Some(file) = &mut self.file else {
            return Ok(None);
        };
        let mut digest = [0u8; 16];
        match file.read_exact(&mut digest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut len = [0u8; 4];
        file.read_exact(&mut len)?;
        self.record.resize(u32::from_le_bytes(len) as usize, 0);
        file.read_exact(&mut self.record)?;
        Ok(Some((u128::from_le_bytes(digest), &self.record)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_by_partition_in_write_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let config = SpillConfig {
            memberships_in_memory: 0,
            rows_in_memory: 0,
            dir: Some(dir.path().to_owned()),
        };
        let mut parts = Partitions::create(&config)?;
        let digests: Vec<u128> = (0..200u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15 << 64))
            .collect();
        for (i, d) in digests.iter().enumerate() {
            parts.write(*d, format!("record {i}").as_bytes())?;
        }
        // Unlinked: the directory lists nothing while the files are open.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        let mut done = parts.finish()?;
        let mut seen = 0;
        for p in 0..PARTITIONS {
            let mut reader = done.read(p);
            let mut last = None;
            while let Some((digest, bytes)) = reader.next_record()? {
                assert_eq!(partition_of(digest), p);
                let i: usize = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.strip_prefix("record "))
                    .and_then(|s| s.parse().ok())
                    .expect("record");
                assert_eq!(digests[i], digest);
                assert!(last < Some(i), "write order kept");
                last = Some(i);
                seen += 1;
            }
        }
        assert_eq!(seen, 200);
        Ok(())
    }
}
