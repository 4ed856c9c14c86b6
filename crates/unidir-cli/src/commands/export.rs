//! `unidir export`: every organization, user, group, role and group membership to files.
//!
//! Each resource is written to a temporary file next to its target and renamed into place
//! only when the whole export succeeded, so a failed export never leaves a half-written
//! `users.ndjson` that looks complete. Every record is written exactly once: an object the
//! provider returns again on a later page is dropped, counted and reported on stderr.
//!
//! Memberships are taken from the users' groups as the users are written (the adapter
//! already read them, with roles), so the groups' member lists are not read a second time.
//! With `--remote-data` they are read per group instead, since only those answers hold the
//! provider's raw membership objects. Memory holds neither the users nor the groups (with
//! `--remote-data`, the groups' ids): the walker's seen keys move to a temporary file past a
//! few thousand, so an export's memory does not grow with the organization.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt;
use futures::stream::{BoxStream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use unidir_core::{Detail, ListQuery, Page, Result, User, UserField, Walker};

use crate::cli::{ExportFormat, Format};
use crate::connect::Connection;
use crate::exit::{CliResult, Failure};
use crate::output::{self, Out};
use crate::secret_guard::{self, Guarded};

/// One output file being written.
struct Sink {
    resource: &'static str,
    path: PathBuf,
    partial: PathBuf,
    writer: Option<Guarded<BufWriter<File>>>,
    format: ExportFormat,
    records: usize,
}

impl Sink {
    fn create(dir: &Path, resource: &'static str, format: ExportFormat) -> CliResult<Self> {
        let name = match format {
            ExportFormat::Ndjson => format!("{resource}.ndjson"),
            ExportFormat::Json => format!("{resource}.json"),
        };
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let file = File::create(&partial)
            .map_err(|e| Failure::Io(format!("could not create {}", partial.display()), e))?;
        let mut sink = Self {
            resource,
            path,
            partial,
            writer: Some(secret_guard::guard(BufWriter::new(file))),
            format,
            records: 0,
        };
        if format == ExportFormat::Json {
            sink.raw(b"[")?;
        }
        Ok(sink)
    }

    fn raw(&mut self, bytes: &[u8]) -> CliResult {
        let partial = &self.partial;
        match self.writer.as_mut() {
            Some(w) => w
                .write_all(bytes)
                .map_err(|e| Failure::Io(format!("could not write {}", partial.display()), e)),
            None => Ok(()),
        }
    }

    /// Writes one record.
    fn write<T: Serialize>(&mut self, item: &T) -> CliResult {
        let line = serde_json::to_vec(item).map_err(|e| {
            Failure::Io("could not encode a record".to_owned(), io::Error::other(e))
        })?;
        let separator: &[u8] = match (self.format, self.records) {
            (ExportFormat::Ndjson, _) => b"",
            (ExportFormat::Json, 0) => b"\n",
            (ExportFormat::Json, _) => b",\n",
        };
        self.raw(separator)?;
        self.raw(&line)?;
        if self.format == ExportFormat::Ndjson {
            self.raw(b"\n")?;
        }
        self.records += 1;
        Ok(())
    }

    /// Closes the file and moves it into place.
    fn finish(mut self) -> CliResult<(PathBuf, usize)> {
        if self.format == ExportFormat::Json {
            self.raw(if self.records == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        let writer = self.writer.take();
        let partial = self.partial.clone();
        let io = |e| Failure::Io(format!("could not write {}", partial.display()), e);
        if let Some(writer) = writer {
            let buffered = writer.into_inner().map_err(io)?;
            let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
        }
        fs::rename(&self.partial, &self.path).map_err(io)?;
        Ok((self.path.clone(), self.records))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Not finished: remove the partial file.
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// One line of the summary.
#[derive(Debug, Serialize)]
struct Written {
    resource: &'static str,
    records: usize,
    path: String,
}

#[derive(Serialize)]
struct Summary<'a> {
    directory: String,
    format: &'static str,
    organization: Option<&'a str>,
    simulated: bool,
    files: &'a [Written],
}

fn progress() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>12} {pos:>7} records  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Starts counting a new resource.
fn phase(bar: &ProgressBar, name: &'static str) {
    bar.set_position(0);
    bar.set_message("");
    bar.set_prefix(name);
}

/// A second sink and how to derive its records from each item of the first.
type Derived<'a, T> = Option<(&'a mut Sink, &'a dyn Fn(&T, &mut Sink) -> CliResult)>;

/// Drains every page of `items` into `sink` (each object once), ticking `bar`; with a
/// second sink, `also` derives more records from each item into it.
async fn drain<T: Serialize>(
    sink: &mut Sink,
    bar: &ProgressBar,
    walker: &Walker,
    mut pages: BoxStream<'_, Result<Page<T>>>,
    mut also: Derived<'_, T>,
) -> CliResult {
    while let Some(page) = pages.try_next().await? {
        for item in &page.result {
            sink.write(item)?;
            if let Some((other, derive)) = also.as_mut() {
                derive(item, other)?;
            }
            bar.inc(1);
        }
    }
    crate::notice::warn_duplicates(sink.resource, walker.stats().duplicates());
    Ok(())
}

/// Makes sure `--out` names a directory, creating it when missing. The rule: export writes
/// one file per resource into a directory and replaces only those files, so an existing path
/// that is not a directory is refused by name, before anything is read.
fn out_dir(dir: &Path) -> CliResult {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Failure::Usage(format!(
            "--out {} exists and is not a directory; export writes one file per resource into a directory (created when missing): give a directory",
            dir.display()
        ))),
        Err(_) => fs::create_dir_all(dir).map_err(|e| {
            Failure::Io(
                format!("could not create the directory {}", dir.display()),
                e,
            )
        }),
    }
}

/// `unidir export --out DIR [--format ndjson|json]`.
pub(crate) async fn export(
    conn: &Connection,
    out: &mut Out,
    dir: &Path,
    format: ExportFormat,
    detail: Detail,
    fields: &[UserField],
    remote_data: bool,
) -> CliResult {
    out_dir(dir)?;
    let directory = &conn.directory;
    let query = || ListQuery::new().with_remote_data(remote_data);
    let walker = || Walker::new(directory.walk_limits());
    let bar = progress();
    let mut sinks = Vec::new();

    phase(&bar, "organizations");
    let mut sink = Sink::create(dir, "organizations", format)?;
    let w = walker();
    let pages = w.pages(query(), |q| async move {
        directory.list_organizations(&q).await
    });
    drain(&mut sink, &bar, &w, pages, None).await?;
    sinks.push(sink);

    phase(&bar, "roles");
    let mut sink = Sink::create(dir, "roles", format)?;
    let w = walker();
    let pages = w.pages(query(), |q| async move { directory.list_roles(&q).await });
    drain(&mut sink, &bar, &w, pages, None).await?;
    sinks.push(sink);

    phase(&bar, "groups");
    let mut sink = Sink::create(dir, "groups", format)?;
    // Written as they arrive; only `--remote-data`, which reads each group's members
    // afterwards, keeps their ids and labels.
    let mut groups: Vec<(String, String)> = Vec::new();
    // Through a walker of our own, whose count of repeats dropped is reported below.
    let w = walker();
    let mut stream = w.items(query(), |q| async move { directory.list_groups(&q).await });
    while let Some(group) = stream.try_next().await? {
        sink.write(&group)?;
        bar.inc(1);
        if remote_data {
            let label = group.slug.clone().unwrap_or_else(|| group.name.clone());
            groups.push((group.id, label));
        }
    }
    drop(stream);
    crate::notice::warn_duplicates(sink.resource, w.stats().duplicates());
    sinks.push(sink);

    phase(&bar, "users");
    let mut users = Sink::create(dir, "users", format)?;
    let mut memberships = Sink::create(dir, "group_memberships", format)?;
    let w = walker();
    // A full read, which the adapter may plan as a whole.
    let pages = w
        .batches(
            directory.read_users(
                fields
                    .iter()
                    .fold(query().with_detail(detail), |q, &f| q.with_field(f)),
            ),
        )
        .map_ok(Page::complete)
        .boxed();
    if remote_data {
        drain(&mut users, &bar, &w, pages, None).await?;
        phase(&bar, "memberships");
        for (index, (id, label)) in groups.iter().enumerate() {
            bar.set_message(format!(
                "group {}/{}: {}",
                index + 1,
                groups.len(),
                output::safe(label)
            ));
            let w = walker();
            let id = id.as_str();
            let pages = w.pages(query(), |q| async move {
                directory.list_group_members(id, &q).await
            });
            drain(&mut memberships, &bar, &w, pages, None).await?;
        }
    } else {
        let derive = |user: &User, sink: &mut Sink| -> CliResult {
            for membership in user.group_memberships() {
                sink.write(&membership)?;
            }
            Ok(())
        };
        drain(
            &mut users,
            &bar,
            &w,
            pages,
            Some((&mut memberships, &derive)),
        )
        .await?;
    }
    sinks.push(users);
    sinks.push(memberships);
    bar.finish_and_clear();

    let mut written = Vec::new();
    for sink in sinks {
        let resource = sink.resource;
        let (path, records) = sink.finish()?;
        written.push(Written {
            resource,
            records,
            path: path.display().to_string(),
        });
    }
    match out.format {
        Format::Json => out.json(&Summary {
            directory: dir.display().to_string(),
            format: match format {
                ExportFormat::Ndjson => "ndjson",
                ExportFormat::Json => "json",
            },
            organization: conn.org.as_deref(),
            simulated: conn.is_simulated(),
            files: &written,
        })?,
        Format::Ndjson => {
            for file in &written {
                out.ndjson(file)?;
            }
        }
        Format::Table => {
            let mut table = output::table(&["RESOURCE", "RECORDS", "FILE"]);
            for file in &written {
                table.row(vec![
                    file.resource.to_owned(),
                    file.records.to_string(),
                    file.path.clone(),
                ]);
            }
            out.table(&table)?;
            out.line(format!(
                "Exported {} records to {}",
                written.iter().map(|w| w.records).sum::<usize>(),
                dir.display()
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("unidir-export-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn json_files_are_valid_arrays_and_unfinished_files_are_removed() {
        let dir = temp_dir("sink");
        let mut sink = Sink::create(&dir, "things", ExportFormat::Json).expect("create");
        sink.write(&serde_json::json!({"id": "a"})).expect("a");
        sink.write(&serde_json::json!({"id": "b"})).expect("b");
        let (path, records) = sink.finish().expect("finish");
        assert_eq!(records, 2);
        let parsed: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(path).expect("read")).expect("json");
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));

        let unfinished = Sink::create(&dir, "dropped", ExportFormat::Ndjson).expect("create");
        drop(unfinished);
        assert!(!dir.join(".dropped.ndjson.partial").exists());
        assert!(!dir.join("dropped.ndjson").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
