//! Everything printed on stdout: tables, JSON, NDJSON and plain lines.
//!
//! Writes go through one buffered, locked stdout; a closed pipe (`unidir users | head`)
//! surfaces as an I/O error that `exit::report` turns into a quiet success.

use std::io::{self, BufWriter, StdoutLock, Write};

use comfy_table::{Table, presets};
use serde::Serialize;
use unidir_core::{GroupAssignment, RoleScope, Timestamp, User};

use crate::cli::Format;

/// The command's stdout.
pub(crate) struct Out {
    writer: BufWriter<StdoutLock<'static>>,
    /// The chosen format.
    pub(crate) format: Format,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out").field("format", &self.format).finish()
    }
}

impl Out {
    /// Locks stdout for the rest of the command.
    pub(crate) fn new(format: Format) -> Self {
        Self {
            writer: BufWriter::new(io::stdout().lock()),
            format,
        }
    }

    /// Pretty JSON, then a newline.
    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.writer, value).map_err(io::Error::other)?;
        self.writer.write_all(b"\n")
    }

    /// One compact JSON line.
    pub(crate) fn ndjson<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.writer, value).map_err(io::Error::other)?;
        self.writer.write_all(b"\n")
    }

    /// Every item as `--json` (one array) or `--ndjson` (one per line) says.
    pub(crate) fn items<T: Serialize>(&mut self, items: &[T]) -> io::Result<()> {
        match self.format {
            Format::Ndjson => {
                for item in items {
                    self.ndjson(item)?;
                }
                Ok(())
            }
            _ => self.json(items),
        }
    }

    /// A table.
    pub(crate) fn table(&mut self, table: &Table) -> io::Result<()> {
        writeln!(self.writer, "{table}")
    }

    /// A line of text.
    pub(crate) fn line(&mut self, text: impl std::fmt::Display) -> io::Result<()> {
        writeln!(self.writer, "{text}")
    }

    /// Flushes what is buffered.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// A table with `headers`, in plain ASCII (no color codes, no terminal detection).
pub(crate) fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::ASCII_FULL_CONDENSED);
    table.set_header(headers.to_vec());
    table
}

/// A two-column FIELD/VALUE table.
pub(crate) fn key_values(rows: Vec<(&str, String)>) -> Table {
    let mut table = table(&["FIELD", "VALUE"]);
    for (key, value) in rows {
        table.add_row(vec![key.to_owned(), value]);
    }
    table
}

/// A line on stderr (notes, hints, progress summaries); never mixed into stdout.
pub(crate) fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "unidir: {text}");
}

/// `-` for a missing value.
pub(crate) fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `yes`/`no`/`-`.
pub(crate) fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "-".to_owned(),
    }
}

/// A date (`2024-03-05`), or `-`.
pub(crate) fn date(value: Option<&Timestamp>) -> String {
    value.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d").to_string())
}

/// A UTC time to the minute (`2024-03-05 14:02 UTC`), or `-`.
pub(crate) fn time(value: Option<&Timestamp>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// The part of a role id after its scope (`team:maintainer` → `maintainer`).
pub(crate) fn short_role(role_id: &str) -> &str {
    role_id.split_once(':').map_or(role_id, |(_, name)| name)
}

/// A user's organization-level roles, short (`admin`).
pub(crate) fn org_roles(user: &User) -> String {
    let roles: Vec<&str> = user
        .roles
        .iter()
        .filter(|r| r.scope == RoleScope::Organization)
        .map(|r| short_role(&r.id))
        .collect();
    if roles.is_empty() {
        "-".to_owned()
    } else {
        roles.join(",")
    }
}

/// `slug:role` of one group assignment.
pub(crate) fn group_label(group: &GroupAssignment) -> String {
    let name = group
        .slug
        .as_deref()
        .or(group.name.as_deref())
        .unwrap_or(&group.id);
    match &group.role_id {
        Some(role) => format!("{name}:{}", short_role(role)),
        None => name.to_owned(),
    }
}

/// A user's groups as `slug:role` separated by spaces.
pub(crate) fn groups_of(user: &User) -> String {
    if user.groups.is_empty() {
        return "-".to_owned();
    }
    let mut labels: Vec<String> = user.groups.iter().map(group_label).collect();
    labels.sort();
    labels.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_plain_ascii() {
        let mut t = table(&["ID", "NAME"]);
        t.add_row(vec!["1", "Ada"]);
        let text = t.to_string();
        assert!(text.is_ascii());
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("| ID | NAME |"), "{text}");
    }

    #[test]
    fn roles_are_shortened() {
        assert_eq!(short_role("team:maintainer"), "maintainer");
        assert_eq!(short_role("owner"), "owner");
        assert_eq!(opt(None::<&str>), "-");
        assert_eq!(yes_no(Some(true)), "yes");
    }
}
