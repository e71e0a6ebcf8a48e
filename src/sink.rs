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

    /// A body on its way into this directory. `tag` makes the temporary's name unique
    /// within the run. One allocation: the temporary's path.
    pub fn part_file(&self, tag: usize) -> PartFile {
        let dir = self.path.as_os_str();
        let mut temp_path = PathBuf::with_capacity(dir.len() + 48);
        temp_path.push(dir);
        let name = temp_path.as_mut_os_string();
        name.push(std::path::MAIN_SEPARATOR_STR);
        name.push(".miodl-");
        push_decimal(name, u64::from(self.pid));
        name.push("-");
        push_decimal(name, tag as u64);
        name.push(".part");
        PartFile {
            temp_path,
            temp: Temp::NotCreated,
            written: 0,
        }
    }

    /// Sets `path` to the final path of `name` in this directory, reusing its buffer.
    pub fn final_path_into(&self, name: &str, path: &mut PathBuf) {
        path.as_mut_os_string().clear();
        path.push(&self.path);
        path.push(name);
    }
}

/// Appends `n` in decimal, without a `format!` allocation.
fn push_decimal(out: &mut std::ffi::OsString, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push(std::str::from_utf8(&digits[start..]).unwrap_or("0"));
}

/// A body being written: a temporary file, renamed into place by [`PartFile::commit`].
/// Dropped without a commit, it removes the temporary.
#[derive(Debug)]
pub struct PartFile {
    temp_path: PathBuf,
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

    /// The open temporary, created if needed, for bytes written by other means
    /// (`splice(2)`); report them with [`PartFile::moved`].
    pub fn file(&mut self) -> io::Result<&File> {
        self.write(&[])?;
        match &self.temp {
            Temp::Open(file) => Ok(file),
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }

    /// `n` bytes were written to [`PartFile::file`] directly.
    pub fn moved(&mut self, n: u64) {
        self.written += n;
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Closes the temporary and renames it to `final_path` (an empty body still makes
    /// an empty file). Returns the size.
    pub fn commit(mut self, final_path: &Path) -> io::Result<u64> {
        self.write(&[])?;
        // Closing before the rename: the file is whole when it gets its name.
        self.temp = Temp::Closed;
        fs::rename(&self.temp_path, final_path)?;
        self.temp = Temp::Renamed;
        Ok(self.written)
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

        let mut final_path = PathBuf::new();
        out.final_path_into("done.txt", &mut final_path);
        let mut part = out.part_file(1);
        part.write(b"hello ").unwrap();
        part.write(b"world").unwrap();
        assert_eq!(part.commit(&final_path).unwrap(), 11);
        assert_eq!(
            fs::read(out.path().join("done.txt")).unwrap(),
            b"hello world"
        );

        let mut part = out.part_file(2);
        part.write(b"half").unwrap();
        drop(part);

        out.final_path_into("empty.txt", &mut final_path);
        assert_eq!(out.part_file(3).commit(&final_path).unwrap(), 0);
        assert_eq!(
            out.part_file(12345).temp_path,
            out.path()
                .join(format!(".miodl-{}-12345.part", std::process::id()))
        );
        let names: Vec<_> = fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporaries left: {names:?}");
    }
}
