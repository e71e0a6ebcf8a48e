//! `--failed FILE`: the URLs of the files that failed, one a line, so that
//! `miodl get -i FILE` tries just those again.
//!
//! A file's URL is written as it fails for good (after its retries), as first given
//! (before redirects), to a file beside FILE that has no name yet (`O_TMPFILE`, where
//! the file system has it; else a hidden temporary); at the end of the run it is
//! flushed, synced, named and renamed to FILE, and a run killed by SIGKILL leaves no
//! temporary behind (where there is no `O_TMPFILE`, the hidden one stays). So FILE is
//! always whole: the list of the last run that ended (an empty file when nothing failed), never half of one,
//! and an interrupted run (SIGINT, SIGTERM) still writes the failures it saw. List pages
//! and lines of input that were not URLs are not in it (they are not files to retry).
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::ffi::{CString, OsString};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::model::event::{Event, Observer};
use crate::output::sink::UnnamedFile;

/// The `--failed` observer.
pub struct FailedList {
    /// Where the list goes at the end.
    path: PathBuf,
    /// The hidden name beside FILE that the list has (or gets, just before the rename).
    temporary: PathBuf,
    out: Temporary,
    /// The first write error, said at the end.
    error: Option<io::Error>,
}

/// Where the list is written as the run goes.
enum Temporary {
    /// A file with no name (Linux, a file system with `O_TMPFILE`): named at the end,
    /// so a killed run leaves nothing.
    Unnamed(BufWriter<UnnamedFile>),
    /// The hidden temporary, created now (elsewhere); a SIGKILL leaves it behind.
    Named(BufWriter<File>),
}

impl FailedList {
    /// Creates the list's file beside `path` (so a directory that cannot hold FILE is
    /// an error before anything is downloaded).
    pub fn create(path: &Path) -> io::Result<FailedList> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut hidden = OsString::from(".");
        hidden.push(name);
        hidden.push(format!(".miodl-{}", std::process::id()));
        let temporary = path.with_file_name(hidden);
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let out = match UnnamedFile::create_in(parent)? {
            Some(file) => Temporary::Unnamed(BufWriter::new(file)),
            None => Temporary::Named(BufWriter::new(File::create(&temporary)?)),
        };
        Ok(FailedList {
            path: path.to_path_buf(),
            temporary,
            out,
            error: None,
        })
    }

    /// Flushes, syncs and renames the list to FILE.
    fn commit(&mut self) -> io::Result<()> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        match &mut self.out {
            Temporary::Unnamed(out) => {
                out.flush()?;
                let temporary = file_name_of(&self.temporary)?;
                out.get_ref().commit(&temporary, &file_name_of(&self.path)?)
            }
            Temporary::Named(out) => {
                out.flush()?;
                out.get_ref().sync_all()?;
                fs::rename(&self.temporary, &self.path)
            }
        }
    }

    fn write_line(&mut self, url: &dyn std::fmt::Display) -> io::Result<()> {
        match &mut self.out {
            Temporary::Unnamed(out) => writeln!(out, "{url}"),
            Temporary::Named(out) => writeln!(out, "{url}"),
        }
    }
}

/// The last component of `path` as a C string (a name relative to its directory).
fn file_name_of(path: &Path) -> io::Result<CString> {
    let name = path.file_name().unwrap_or_default().as_bytes();
    CString::new(name).map_err(|_| io::ErrorKind::InvalidInput.into())
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
                if let Err(error) = self.write_line(url) {
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
