//! `--failed FILE`: the URLs of the files that failed, one a line, so that
//! `miodl get -i FILE` tries just those again.
//!
//! A file's URL is written as it fails for good (after its retries), as first given
//! (before redirects), to a hidden temporary file beside FILE; at the end of the run the
//! temporary is flushed, synced and renamed to FILE. So FILE is always whole: the list
//! of the last run that ended (an empty file when nothing failed), never half of one,
//! and an interrupted run (SIGINT, SIGTERM) still writes the failures it saw. List pages
//! and lines of input that were not URLs are not in it (they are not files to retry).
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::model::event::{Event, Observer};

/// The `--failed` observer.
pub struct FailedList {
    /// Where the list goes at the end.
    path: PathBuf,
    /// The temporary it is written to as the run goes.
    temporary: PathBuf,
    out: BufWriter<File>,
    /// The first write error, said at the end.
    error: Option<io::Error>,
}

impl FailedList {
    /// Creates the temporary beside `path` (so a directory that cannot hold FILE is
    /// an error before anything is downloaded).
    pub fn create(path: &Path) -> io::Result<FailedList> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut hidden = std::ffi::OsString::from(".");
        hidden.push(name);
        hidden.push(format!(".miodl-{}", std::process::id()));
        let temporary = path.with_file_name(hidden);
        let file = File::create(&temporary)?;
        Ok(FailedList {
            path: path.to_path_buf(),
            temporary,
            out: BufWriter::new(file),
            error: None,
        })
    }

    /// Flushes, syncs and renames the temporary to FILE.
    fn commit(&mut self) -> io::Result<()> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        fs::rename(&self.temporary, &self.path)
    }
}

impl Observer for FailedList {
    fn on_event(&mut self, event: &Event<'_>, _now: Instant) {
        if let Event::Failed {
            url,
            is_page: false,
            ..
        } = event
        {
            if self.error.is_none() {
                if let Err(error) = writeln!(self.out, "{url}") {
                    self.error = Some(error);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Err(error) = self.commit() {
            let _ = fs::remove_file(&self.temporary);
            eprintln!(
                "miodl: cannot write --failed {}: {error}",
                self.path.display()
            );
        }
    }
}
