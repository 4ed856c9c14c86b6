//! Files the CLI reads (desired-state files, `proxy -d @FILE`, `--graphql @FILE`,
//! `--variables @FILE`): read with a size cap before anything parses them, so `/dev/zero`
//! or a runaway file fails at once instead of filling memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::exit::{CliResult, Failure};

/// The largest input file: 16 MiB, far above any desired state or request body.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// The UTF-8 text of `path`, or a usage failure when it cannot be read, is larger than
/// [`MAX_INPUT_BYTES`] or is not UTF-8. A leading byte-order mark (editors on Windows write
/// one) is dropped: it is no part of the JSON.
pub(crate) fn read_capped(path: &Path) -> CliResult<String> {
    read_capped_to(path, MAX_INPUT_BYTES)
}

fn read_capped_to(path: &Path, cap: u64) -> CliResult<String> {
    let shown = path.display();
    let cannot = |e: std::io::Error| Failure::Usage(format!("cannot read {shown}: {e}"));
    let file = File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "larger".
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(Failure::Usage(format!(
            "{shown} is larger than {} MiB; nothing was parsed",
            cap / (1024 * 1024)
        )));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| Failure::Usage(format!("{shown} is not UTF-8 text")))?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_exact_and_endless_files_stop_at_it() {
        let dir = std::env::temp_dir().join(format!("unidir-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("four.json");
        std::fs::write(&file, "[1,2]").expect("write");
        assert_eq!(read_capped_to(&file, 5).expect("at the cap"), "[1,2]");
        let over = read_capped_to(&file, 4).expect_err("over the cap");
        assert!(
            matches!(over, Failure::Usage(ref m) if m.contains("larger than")),
            "{over:?}"
        );
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        assert!(matches!(read_capped_to(&file, 5), Err(Failure::Usage(m)) if m.contains("UTF-8")));
        std::fs::write(&file, "\u{feff}[1]").expect("write");
        assert_eq!(read_capped_to(&file, 16).expect("a BOM"), "[1]");
        let _ = std::fs::remove_dir_all(&dir);
        if Path::new("/dev/zero").exists() {
            let zero = read_capped(Path::new("/dev/zero")).expect_err("endless");
            assert!(matches!(zero, Failure::Usage(ref m) if m.contains("larger than 16 MiB")));
        }
    }
}
