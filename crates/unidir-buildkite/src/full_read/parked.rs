//! GraphQL member pages a `Full` read has read before REST is done (they can only be sent
//! joined with every team's memberships): the first [`SpillConfig::rows_in_memory`] rows in
//! memory, the rest in one unlinked temporary file (mode 0600, see [`crate::spill`]), read
//! back page by page in the order they came. So a slow REST side costs disk, never memory:
//! GraphQL keeps reading at its own pace and no budget idles.
//!
//! Where no temporary file can be made the rows stay in memory, as the disk join does.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use serde_json::Value;

use crate::spill::{SpillConfig, temp_file};
use crate::wire::GqlMember;

/// A member and, when the caller keeps `remote_data`, its raw node.
pub(super) type Row = (GqlMember, Option<Value>);

/// Write buffer of the file.
const BUFFER: usize = 8 * 1024;

/// The pages waiting for REST.
#[derive(Debug)]
pub(super) struct Parked {
    config: SpillConfig,
    memory: VecDeque<Vec<Row>>,
    /// Rows in `memory`.
    rows: usize,
    /// Pages past the bound, once the first one went there (later pages follow it, so the
    /// order is kept).
    file: Option<BufWriter<File>>,
    on_disk: usize,
    /// Creating the file failed once: stay in memory.
    no_disk: bool,
}

impl Parked {
    pub(super) fn new(config: &SpillConfig) -> Self {
        Self {
            config: config.clone(),
            memory: VecDeque::new(),
            rows: 0,
            file: None,
            on_disk: 0,
            no_disk: false,
        }
    }

    /// Parks one page.
    pub(super) fn push(&mut self, page: Vec<Row>) -> io::Result<()> {
        if page.is_empty() {
            return Ok(());
        }
        if self.file.is_none()
            && !self.no_disk
            && self.rows + page.len() > self.config.rows_in_memory
        {
            match temp_file(&self.config) {
                Ok(file) => self.file = Some(BufWriter::with_capacity(BUFFER, file)),
                Err(_) => self.no_disk = true,
            }
        }
        let Some(file) = &mut self.file else {
            self.rows += page.len();
            self.memory.push_back(page);
            return Ok(());
        };
        let bytes = serde_json::to_vec(&page).map_err(io::Error::other)?;
        let len = u64::try_from(bytes.len()).map_err(io::Error::other)?;
        file.write_all(&len.to_le_bytes())?;
        file.write_all(&bytes)?;
        self.on_disk += 1;
        Ok(())
    }

    /// Rows held in memory now.
    #[cfg(test)]
    pub(super) fn rows_in_memory(&self) -> usize {
        self.rows
    }

    /// Pages in the file.
    pub(super) fn pages_on_disk(&self) -> usize {
        self.on_disk
    }

    /// Whether a page is waiting.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.on_disk == 0
    }

    /// The parked pages in the order they came; this empties the parking.
    pub(super) fn drain(&mut self) -> io::Result<Drain> {
        let file = match self.file.take() {
            Some(writer) => {
                let mut file = writer
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)?;
                file.seek(SeekFrom::Start(0))?;
                Some(BufReader::with_capacity(BUFFER, file))
            }
            None => None,
        };
        self.rows = 0;
        Ok(Drain {
            memory: std::mem::take(&mut self.memory),
            file,
            left: std::mem::take(&mut self.on_disk),
        })
    }
}

/// Parked pages coming back; the file is gone when this is dropped.
#[derive(Debug)]
pub(super) struct Drain {
    memory: VecDeque<Vec<Row>>,
    file: Option<BufReader<File>>,
    left: usize,
}

impl Drain {
    /// The next page, `None` after the last.
    pub(super) fn next_page(&mut self) -> io::Result<Option<Vec<Row>>> {
        if let Some(page) = self.memory.pop_front() {
            return Ok(Some(page));
        }
        let Some(file) = &mut self.file else {
            return Ok(None);
        };
        if self.left == 0 {
            self.file = None;
            return Ok(None);
        }
        self.left -= 1;
        let mut len = [0u8; 8];
        file.read_exact(&mut len)?;
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(io::Error::other)?;
        let mut bytes = vec![0u8; len];
        file.read_exact(&mut bytes)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32) -> Row {
        let node = serde_json::json!({
            "uuid": format!("m-{n}"), "role": if n.is_multiple_of(2) { "MEMBER" } else { "Odd-Role" },
            "createdAt": "2024-05-03T11:00:02.123456Z", "lastSeenAt": null,
            "sso": { "mode": "REQUIRED" }, "security": { "twoFactorEnabled": true },
            "user": { "uuid": format!("u-{n}"), "name": "Ünïcode \u{1F600}", "email": null,
                      "avatar": { "url": "https://a.example/x" }, "bot": false,
                      "machineUser": null },
        });
        let member: GqlMember = serde_json::from_value(node.clone()).expect("decodes");
        (member, n.is_multiple_of(3).then_some(node))
    }

    fn text(rows: &[Row]) -> String {
        format!("{rows:?}")
    }

    #[test]
    fn past_the_bound_pages_go_to_an_unlinked_file_and_come_back_in_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let config = SpillConfig {
            rows_in_memory: 5,
            dir: Some(dir.path().to_owned()),
            ..SpillConfig::default()
        };
        let mut parked = Parked::new(&config);
        let pages: Vec<Vec<Row>> = (0..10)
            .map(|p| (0..3).map(|i| row(p * 3 + i)).collect())
            .collect();
        let expected: Vec<String> = pages.iter().map(|p| text(p)).collect();
        for page in pages {
            parked.push(page)?;
            // Never more than the bound in memory: one page of 3, the rest on disk.
            assert!(parked.rows_in_memory() <= 5);
        }
        assert_eq!(parked.rows_in_memory(), 3);
        assert_eq!(parked.pages_on_disk(), 9);
        // Unlinked: nothing listed.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        let mut drain = parked.drain()?;
        assert!(parked.is_empty());
        let mut got = Vec::new();
        while let Some(page) = drain.next_page()? {
            got.push(text(&page));
        }
        // Every field (timestamps to the microsecond, odd roles, raw nodes) as it was read.
        assert_eq!(got, expected);
        Ok(())
    }

    #[test]
    fn within_the_bound_nothing_touches_the_disk() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let config = SpillConfig {
            dir: Some(dir.path().join("missing")),
            ..SpillConfig::default()
        };
        let mut parked = Parked::new(&config);
        parked.push(vec![row(1), row(2)])?;
        assert_eq!((parked.rows_in_memory(), parked.pages_on_disk()), (2, 0));
        let mut drain = parked.drain()?;
        assert_eq!(drain.next_page()?.map(|p| p.len()), Some(2));
        assert!(drain.next_page()?.is_none());
        Ok(())
    }
}
