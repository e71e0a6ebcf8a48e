//! Where bodies go: a hidden temporary file that becomes the final file only when the
//! body is complete.
//!
//! A file appears under its final name by one `rename(2)`, after its last byte was
//! written, so a reader of the output directory sees whole files or nothing; a failed or
//! interrupted download removes its temporary ([`PartFile`]'s `Drop`). The temporary is
//! created lazily at the first body byte, so an answer that turns out to be an error or a
//! redirect never touches the disk.
//!
//! Syscalls per small file: `openat` (create), `write`, `close`, `rename`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The output directory of a run.
#[derive(Debug, Clone)]
pub struct OutputDir {
    path: PathBuf,
    /// This process's id, part of every temporary's name (read once: `getpid` is a syscall).
    pid: u32,
}

impl OutputDir {
    /// Uses `path`, creating it (and its parents) if missing.
    pub fn create(path: &Path) -> io::Result<OutputDir> {
        fs::create_dir_all(path)?;
        Ok(OutputDir {
            path: path.to_path_buf(),
            pid: std::process::id(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A body on its way to `final_name` (a safe single file name) in this directory.
    /// `tag` makes the temporary's name unique within the run.
    pub fn part_file(&self, final_name: &str, tag: usize) -> PartFile {
        PartFile {
            temp_path: self.path.join(format!(".miodl-{}-{tag}.part", self.pid)),
            final_path: self.path.join(final_name),
            temp: Temp::NotCreated,
            written: 0,
        }
    }
}

/// A body being written: a temporary file, renamed into place by [`PartFile::commit`].
/// Dropped without a commit, it removes the temporary.
#[derive(Debug)]
pub struct PartFile {
    temp_path: PathBuf,
    final_path: PathBuf,
    temp: Temp,
    written: u64,
}

/// The temporary's life: not there yet, open, closed, or renamed away.
#[derive(Debug)]
enum Temp {
    NotCreated,
    Open(File),
    Closed,
    Renamed,
}

impl PartFile {
    /// Appends body bytes, creating the temporary on the first call.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Temp::NotCreated = self.temp {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.temp_path)?;
            self.temp = Temp::Open(file);
        }
        if let Temp::Open(file) = &mut self.temp {
            file.write_all(bytes)?;
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The name the file will have.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Closes the temporary and renames it to the final name (an empty body still makes
    /// an empty file). Returns the size and the final path.
    pub fn commit(mut self) -> io::Result<(u64, PathBuf)> {
        self.write(&[])?;
        // Closing before the rename: the file is whole when it gets its name.
        self.temp = Temp::Closed;
        fs::rename(&self.temp_path, &self.final_path)?;
        self.temp = Temp::Renamed;
        Ok((self.written, std::mem::take(&mut self.final_path)))
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if matches!(self.temp, Temp::Open(_) | Temp::Closed) {
            self.temp = Temp::Closed;
            // Best effort: nothing else can be done about a failing unlink here.
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_renames_and_drop_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::create(&tmp.path().join("a/b")).unwrap();

        let mut part = out.part_file("done.txt", 1);
        part.write(b"hello ").unwrap();
        part.write(b"world").unwrap();
        let (size, path) = part.commit().unwrap();
        assert_eq!((size, path), (11, out.path().join("done.txt")));
        assert_eq!(
            fs::read(out.path().join("done.txt")).unwrap(),
            b"hello world"
        );

        let mut part = out.part_file("lost.txt", 2);
        part.write(b"half").unwrap();
        drop(part);
        assert!(!out.path().join("lost.txt").exists());

        let empty = out.part_file("empty.txt", 3);
        assert_eq!(empty.commit().unwrap().0, 0);
        let names: Vec<_> = fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporaries left: {names:?}");
    }
}
