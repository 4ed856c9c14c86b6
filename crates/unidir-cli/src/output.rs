//! Everything printed on stdout: tables, JSON, NDJSON and plain lines.
//!
//! Writes go through one buffered, locked stdout; a closed pipe (`unidir users | head`)
//! surfaces as an I/O error of kind `BrokenPipe` that `exit::report` turns into a quiet
//! success (so serialization errors keep their I/O kind, never `io::Error::other`).
//!
//! Text meant for a person (table cells, lines, notes, error lines) goes through [`safe`]:
//! names come from the provider, and a name holding ESC, CR/LF or a bidi override must not
//! drive the terminal. JSON and NDJSON stay byte-exact (serde escapes what JSON requires).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufWriter, StdoutLock, Write};

use comfy_table::presets;
use serde::Serialize;
use unidir_core::text::escape_unsafe;
use unidir_core::{GroupAssignment, RoleScope, Timestamp, User};

use crate::cli::Format;
use crate::secret_guard::{self, Guarded};

/// The command's stdout (the token removed from every byte: `secret_guard`).
pub(crate) struct Out {
    writer: Guarded<BufWriter<StdoutLock<'static>>>,
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
            writer: secret_guard::guard(BufWriter::new(io::stdout().lock())),
            format,
        }
    }

    /// Pretty JSON, then a newline.
    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        // `io::Error::from` keeps the kind of a write error (`BrokenPipe`).
        serde_json::to_writer_pretty(&mut self.writer, value).map_err(io::Error::from)?;
        self.writer.write_all(b"\n")
    }

    /// One compact JSON line.
    pub(crate) fn ndjson<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.writer, value).map_err(io::Error::from)?;
        self.writer.write_all(b"\n")
    }

    /// Starts a JSON array written element by element (see [`JsonArray`]).
    pub(crate) fn json_array(&mut self) -> JsonArray {
        JsonArray { written: 0 }
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

    /// A line of text, with unsafe characters escaped.
    pub(crate) fn line(&mut self, text: impl fmt::Display) -> io::Result<()> {
        writeln!(self.writer, "{}", safe(&text.to_string()))
    }

    /// Flushes what is buffered.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// A JSON array streamed element by element, byte-identical to `serde_json`'s pretty
/// printing of the whole `Vec` (so a long list never has to be held in memory). Nothing is
/// written before the first element or `finish`, so a list whose first page fails leaves
/// stdout empty.
#[derive(Debug)]
pub(crate) struct JsonArray {
    written: usize,
}

impl JsonArray {
    /// Appends one element.
    pub(crate) fn push<T: Serialize + ?Sized>(
        &mut self,
        out: &mut Out,
        item: &T,
    ) -> io::Result<()> {
        self.push_to(&mut out.writer, item)
    }

    /// Closes the array (and the line).
    pub(crate) fn finish(self, out: &mut Out) -> io::Result<()> {
        self.finish_to(&mut out.writer)
    }

    fn push_to<T: Serialize + ?Sized>(&mut self, w: &mut impl Write, item: &T) -> io::Result<()> {
        let pretty = serde_json::to_vec_pretty(item).map_err(io::Error::from)?;
        w.write_all(if self.written == 0 {
            b"[\n  "
        } else {
            b",\n  "
        })?;
        // A pretty-printed string never holds a raw newline (JSON escapes it), so every
        // newline is structural: indenting after each one nests the element one level.
        for (i, line) in pretty.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                w.write_all(b"\n  ")?;
            }
            w.write_all(line)?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish_to(self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })
    }
}

/// `text` safe to put on a terminal: C0/C1 controls (ESC, CR, LF, ...), bidi embeddings,
/// overrides, isolates and marks written as visible `\u{..}` escapes. The one function
/// every table cell, line, note and error line goes through.
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    escape_unsafe(text)
}

/// A plain-ASCII table (no color codes, no terminal detection) whose every cell goes
/// through [`safe`]: the inner table is private, so no cell can skip it.
pub(crate) struct Table(comfy_table::Table);

impl Table {
    /// Appends a row.
    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.0.add_row(
            cells
                .into_iter()
                .map(|c| safe(c.as_ref()).into_owned())
                .collect::<Vec<_>>(),
        );
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A table with `headers`.
pub(crate) fn table(headers: &[&str]) -> Table {
    let mut table = comfy_table::Table::new();
    table.load_style(presets::ASCII_FULL_CONDENSED);
    table.set_header(
        headers
            .iter()
            .map(|h| safe(h).into_owned())
            .collect::<Vec<_>>(),
    );
    Table(table)
}

/// A two-column FIELD/VALUE table.
pub(crate) fn key_values(rows: Vec<(&str, String)>) -> Table {
    let mut table = table(&["FIELD", "VALUE"]);
    for (key, value) in rows {
        table.row([key, value.as_str()]);
    }
    table
}

/// A line on stderr (notes, hints, progress summaries); never mixed into stdout.
pub(crate) fn note(text: impl fmt::Display) {
    let text = text.to_string();
    let _ = writeln!(
        io::stderr(),
        "unidir: {}",
        safe(&secret_guard::scrub(&text))
    );
}

/// `-` for a missing value.
pub(crate) fn opt<T: fmt::Display>(value: Option<T>) -> String {
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
        t.row(["1", "Ada"]);
        let text = t.to_string();
        assert!(text.is_ascii());
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("| ID | NAME |"), "{text}");
    }

    #[test]
    fn cells_escape_controls_and_bidi() {
        let mut t = table(&["NAME"]);
        t.row(["\u{1b}[31mred\r\nnext\u{202E}txt.exe\u{2066}\u{200F}\u{061C}\u{9b}"]);
        let text = t.to_string();
        assert!(
            text.contains(
                "\\u{1b}[31mred\\u{d}\\u{a}next\\u{202e}txt.exe\\u{2066}\\u{200f}\\u{61c}\\u{9b}"
            ),
            "{text}"
        );
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{text:?}"
        );
        // Ordinary non-ASCII names are kept as they are.
        assert_eq!(safe("Zoë 山田"), "Zoë 山田");
    }

    #[test]
    fn streamed_arrays_match_serde_pretty_printing() {
        let items = [
            serde_json::json!({"id": "a", "groups": [], "nested": {"x": [1, {"y": "l1\nl2"}]}, "empty": {}}),
            serde_json::json!({"id": "b\u{1b}", "rtl": "\u{202e}"}),
        ];
        for n in 0..=items.len() {
            let mut bytes = Vec::new();
            let mut array = JsonArray { written: 0 };
            for item in &items[..n] {
                let mut out = Vec::new();
                array.push_to(&mut out, item).expect("push");
                bytes.extend(out);
            }
            let mut end = Vec::new();
            array.finish_to(&mut end).expect("finish");
            bytes.extend(end);
            let mut expected = serde_json::to_vec_pretty(&items[..n]).expect("json");
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(bytes).expect("utf-8"),
                String::from_utf8(expected).expect("utf-8")
            );
        }
    }

    #[test]
    fn roles_are_shortened() {
        assert_eq!(short_role("team:maintainer"), "maintainer");
        assert_eq!(short_role("owner"), "owner");
        assert_eq!(opt(None::<&str>), "-");
        assert_eq!(yes_no(Some(true)), "yes");
    }
}
