//! Where bodies go: a file with no name, or a hidden temporary one, that gets its final
//! name only when the body is complete.
//!
//! A reader of the output directory sees whole files or nothing. Two ways to stage a
//! body, chosen once per run by [`OutputDir::create`]:
//!
//! - **Unnamed** (Linux): the body is written into a file created with `O_TMPFILE`, which
//!   has no name in any directory, and `linkat(2)` gives it its final name after the last
//!   byte. If the process dies, even by `SIGKILL`, the kernel frees the file: nothing is
//!   left behind. Syscalls per small file: `openat`, `write`, `linkat`, `close`.
//! - **Named** (elsewhere, or where the file system or kernel refuses the above): the body
//!   goes into a hidden `.miodl-<pid>-<tag>.part` and one `rename(2)` after the last byte
//!   makes it the final file; a failed or interrupted download removes it
//!   ([`PartFile`]'s `Drop`). Syscalls: `openat`, `write`, `close`, `renameat`.
//!
//! Tiny pieces are coalesced: a body that arrives in pieces smaller than
//! [`SMALL_PIECE`] (a server sending 1-byte chunks) gathers them in a buffer of
//! [`BUFFER_SIZE`] bytes written when it fills, and not one `write(2)` per piece. The
//! buffer is made only for such a body: the first piece, a large piece and a piece that
//! ends the body go straight to the file, so a body in one piece allocates nothing.
//!
//! Either way the file is created lazily at the first body byte, so an answer that turns
//! out to be an error or a redirect never touches the disk, and every path is resolved
//! relative to one descriptor of the output directory, opened once: the kernel looks up
//! one name per call, not the whole path. On tmpfs, `O_TMPFILE` + `linkat` costs about
//! 3 µs less per file than a named temporary and an absolute `rename`
//! (`cargo bench --bench staging`; docs/performance.md, section 2).
//!
//! Layer: `output`; may use `protocol`, `model` and `policy` (see `src/output/mod.rs`).

use std::ffi::{CStr, CString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::output::partial;
use crate::output::record::{self, Identity, SavedEntry, RECORD_NAME};

/// How this run stages a body before it gets its name (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// An `O_TMPFILE` file, named by `linkat(2)` when complete.
    Unnamed,
    /// A hidden temporary, renamed when complete.
    Named,
}

/// The output directory, opened once, and its path (for messages): shared by every
/// staged file (one reference count per file, nothing else).
#[derive(Debug)]
struct Directory {
    fd: OwnedFd,
    path: PathBuf,
    /// The record of saved files, open for appending, with `--skip-existing` only
    /// ([`OutputDir::open_record`]).
    record: Option<File>,
    /// Staged files open now, each a descriptor ([`OutputDir::staged_open`]).
    staged_open: AtomicUsize,
}

/// The output directory of a run.
#[derive(Debug, Clone)]
pub struct OutputDir {
    /// The directory, opened once; every file is created and named relative to it.
    dir: Arc<Directory>,
    staging: Staging,
    /// This process's id, part of every temporary's name (read once: `getpid` is a syscall).
    pid: u32,
}

impl OutputDir {
    /// Uses `path`, creating it (and its parents) if missing, and picks the staging this
    /// directory supports.
    pub fn create(path: &Path) -> io::Result<OutputDir> {
        let mut dir = OutputDir::create_named(path)?;
        if unnamed_files_work(&dir.dir.fd) {
            dir.staging = Staging::Unnamed;
        }
        Ok(dir)
    }

    /// Like [`OutputDir::create`], but always stages with named temporaries (the
    /// portable way; for tests of that path).
    pub fn create_named(path: &Path) -> io::Result<OutputDir> {
        fs::create_dir_all(path)?;
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(OutputDir {
            dir: Arc::new(Directory {
                fd: OwnedFd::from(dir),
                path: path.to_path_buf(),
                record: None,
                staged_open: AtomicUsize::new(0),
            }),
            staging: Staging::Named,
            pid: std::process::id(),
        })
    }

    /// Reads the record of saved files (`crate::output::record`) and opens it for
    /// appending: from now on each commit with a key adds its line. Returns the lines
    /// whose file is still there, unchanged. Call it before the directory is shared
    /// (before the run clones it).
    pub fn open_record(&mut self) -> io::Result<Vec<SavedEntry>> {
        let name = c".miodl-saved";
        debug_assert_eq!(name.to_str(), Ok(RECORD_NAME));
        let entries = match open_at(&self.dir.fd, name, libc::O_RDONLY | libc::O_CLOEXEC) {
            Ok(file) => record::valid_entries(&record::read_text(file)?, &self.dir.path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
        let file = open_at(&self.dir.fd, name, flags)?;
        let dir = Arc::get_mut(&mut self.dir).ok_or_else(|| {
            io::Error::other("the record of saved files must be opened before the run starts")
        })?;
        dir.record = Some(file);
        Ok(entries)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// How bodies are staged here.
    pub fn staging(&self) -> Staging {
        self.staging
    }

    /// How many staged files of this directory hold a descriptor now: those created and
    /// not yet dropped (named or given up), every engine's thread counted. The reactor
    /// holds a socket back when this reaches the open-file limit's share for files
    /// (`crate::engine::answer::Landing`).
    pub fn staged_open(&self) -> usize {
        self.dir.staged_open.load(Ordering::Relaxed)
    }

    /// A body on its way into this directory. `tag` makes a named temporary unique
    /// within the run. Allocates nothing.
    pub fn part_file(&self, tag: usize) -> PartFile {
        PartFile {
            dir: Arc::clone(&self.dir),
            staging: self.staging,
            pid: self.pid,
            tag,
            temp: Temp::NotCreated,
            written: 0,
            pending: Vec::new(),
            kept: None,
        }
    }

    /// `-C`: a body kept in `.NAME.miodl-part` (`crate::output::partial`) for the final
    /// name `name`, opened now, so that its description is on disk before the first body
    /// byte; kept, not removed, when it is dropped without a commit. `Err` with
    /// `InvalidInput` when `name` is too long for a part's name.
    pub fn kept_part(&self, tag: usize, name: &str, keep: Keep<'_>) -> io::Result<PartFile> {
        let too_long = || io::Error::from(io::ErrorKind::InvalidInput);
        let names = KeptNames {
            part: c_name(partial::part_name(name).ok_or_else(too_long)?)?,
            meta: c_name(partial::meta_name(name).ok_or_else(too_long)?)?,
            progress: None,
        };
        let mut part = self.part_file(tag);
        let fd = &self.dir.fd;
        let file = match keep {
            Keep::Fresh { meta } => {
                // The old bytes go first: a description never stands beside bytes of
                // another answer, whenever the process dies.
                let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
                let file = open_at(fd, &names.part, flags)?;
                let mut described = open_at(fd, &names.meta, flags)?;
                described.write_all(meta.as_bytes())?;
                file
            }
            Keep::Append { at } => {
                let mut file = open_at(fd, &names.part, libc::O_WRONLY | libc::O_CLOEXEC)?;
                let len = file.metadata()?.len();
                if len < at {
                    // Never pad with zeros: the part lost bytes since it was read.
                    return Err(io::Error::other(format!(
                        "the part of {name} has {len} bytes, not the {at} it was resumed from"
                    )));
                }
                if len > at {
                    file.set_len(at)?;
                }
                file.seek(SeekFrom::Start(at))?;
                part.written = at;
                file
            }
            Keep::Whole => {
                let file = open_at(fd, &names.part, libc::O_WRONLY | libc::O_CLOEXEC)?;
                part.written = file.metadata()?.len();
                file
            }
        };
        part.temp = Temp::Kept(file);
        self.dir.staged_open.fetch_add(1, Ordering::Relaxed);
        part.kept = Some(Box::new(names));
        Ok(part)
    }

    /// `-C`: removes the part kept for the final name `name` and its description, if
    /// they are there (best effort: a body that cannot be kept replaces them).
    pub fn remove_part(&self, name: &str) {
        for hidden in [partial::part_name(name), partial::meta_name(name)] {
            if let Some(hidden) = hidden.and_then(|n| CString::new(n).ok()) {
                let _ = unlink_at(&self.dir.fd, &hidden);
            }
        }
    }

    /// Sets `path` to the final path of `name` in this directory, reusing its buffer.
    pub fn final_path_into(&self, name: &str, path: &mut PathBuf) {
        path.as_mut_os_string().clear();
        path.push(&self.dir.path);
        path.push(name);
    }
}

/// A body being written, named by [`PartFile::commit`]. Dropped without a commit, it
/// leaves nothing: an unnamed file is freed by the kernel, a named temporary is removed.
#[derive(Debug)]
pub struct PartFile {
    /// The output directory, and its path for the errors (shared, not copied).
    dir: Arc<Directory>,
    staging: Staging,
    /// What names the hidden temporary, when there is one: `.miodl-<pid>-<tag>.part`
    /// (built only then, see [`TempName`]).
    pid: u32,
    tag: usize,
    temp: Temp,
    /// Body bytes so far, those still in `pending` included.
    written: u64,
    /// Small pieces not written yet (see [`PartFile::write`]); no capacity until a body
    /// needs it.
    pending: Vec<u8>,
    /// `-C`: the names of the kept part and its description ([`OutputDir::kept_part`]);
    /// `None` for every other body (one pointer, nothing to build).
    kept: Option<Box<KeptNames>>,
}

/// How a kept part (`-C`) starts: see [`OutputDir::kept_part`].
#[derive(Debug, Clone, Copy)]
pub enum Keep<'a> {
    /// From byte 0: any old part is emptied, then `meta` (the description's text,
    /// `crate::output::partial::meta_text`) is written.
    Fresh {
        /// The description.
        meta: &'a str,
    },
    /// The rest of the body goes after the part's first `at` bytes.
    Append {
        /// Bytes already in the part.
        at: u64,
    },
    /// The part is already the whole body: nothing is written, the commit names it.
    Whole,
}

/// The names of a kept part and its description, NUL-terminated, and where its size
/// goes when it is dropped ([`PartFile::track`]).
#[derive(Debug)]
struct KeptNames {
    part: CString,
    meta: CString,
    progress: Option<Arc<AtomicU64>>,
}

fn c_name(name: String) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Pieces smaller than this may wait in a [`PartFile`]'s buffer; larger ones are
/// written at once.
pub const SMALL_PIECE: usize = 4096;

/// The size of the buffer small pieces wait in: written when full.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// The staged file's life: not there yet, open (with or without a name), or done.
#[derive(Debug)]
enum Temp {
    NotCreated,
    /// Open, in no directory: nothing to clean up.
    Unnamed(File),
    /// Open under the hidden temporary name: removed unless committed.
    Named(File),
    /// Closed, still under the hidden temporary name (between close and rename).
    NamedClosed,
    /// `-C`: open under `.NAME.miodl-part`, kept when the body is cut.
    Kept(File),
    /// Named with its final name, or given up by a failed `commit`: nothing is left to
    /// clean up.
    Committed,
}

impl PartFile {
    /// Appends body bytes, creating the staged file on the first call. `last` says the
    /// body ends with them, when that is known.
    ///
    /// A small piece ([`SMALL_PIECE`]) that is neither the first nor `last` waits in a
    /// buffer, written when it fills, before a large piece, and before anything else
    /// touches the file ([`PartFile::file`], [`PartFile::commit`]); everything else is
    /// written at once, without a copy.
    pub fn write(&mut self, bytes: &[u8], last: bool) -> io::Result<()> {
        let first = self.written == 0;
        self.written += bytes.len() as u64;
        if bytes.len() < SMALL_PIECE && !first && !(last && self.pending.is_empty()) {
            if self.pending.len() + bytes.len() > BUFFER_SIZE {
                self.flush()?;
            }
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(BUFFER_SIZE);
            }
            self.pending.extend_from_slice(bytes);
            return if last { self.flush() } else { Ok(()) };
        }
        self.flush()?;
        self.open()?.write_all(bytes)
    }

    /// Writes what waits in the buffer (nothing, for almost every file: inline).
    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.write_pending()
    }

    #[cold]
    #[inline(never)]
    fn write_pending(&mut self) -> io::Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let written = self.open()?.write_all(&pending);
        pending.clear();
        self.pending = pending;
        written
    }

    /// The open staged file, created if needed, with every byte given to
    /// [`PartFile::write`] in it, for bytes written by other means (`splice(2)`); report
    /// them with [`PartFile::moved`].
    pub fn file(&mut self) -> io::Result<&File> {
        self.flush()?;
        self.open().map(|file| &*file)
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if let Temp::NotCreated = self.temp {
            self.temp = match self.staging {
                Staging::Unnamed => Temp::Unnamed(open_unnamed(&self.dir.fd)?),
                Staging::Named => {
                    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
                    Temp::Named(open_at(&self.dir.fd, self.temp_name().as_c_str(), flags)?)
                }
            };
            self.dir.staged_open.fetch_add(1, Ordering::Relaxed);
        }
        match &mut self.temp {
            Temp::Unnamed(file) | Temp::Named(file) | Temp::Kept(file) => Ok(file),
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }

    /// The hidden temporary's name. Made on demand: an unnamed file never needs one.
    fn temp_name(&self) -> TempName {
        TempName::new(self.pid, self.tag)
    }

    /// The path of the directory the body is written into (what a failed write names).
    pub fn dir_path(&self) -> &Path {
        &self.dir.path
    }

    /// `n` bytes were written to [`PartFile::file`] directly.
    pub fn moved(&mut self, n: u64) {
        debug_assert!(self.pending.is_empty(), "file() wrote the buffer first");
        self.written += n;
    }

    /// Whether its staged file is open now (created, not yet named or given up).
    pub fn holds_descriptor(&self) -> bool {
        matches!(self.temp, Temp::Unnamed(_) | Temp::Named(_) | Temp::Kept(_))
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Gives the body its final `name` in the directory, replacing a file of that name
    /// (an empty body still makes an empty file). Returns the size.
    pub fn commit(mut self, name: &str) -> io::Result<u64> {
        self.flush()?;
        self.open()?;
        let name = FileName::new(name)?;
        match std::mem::replace(&mut self.temp, Temp::Committed) {
            Temp::Unnamed(file) => match link_at(&file, &self.dir.fd, name.as_c_str()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // A file of that name exists: `linkat` never replaces one, `rename`
                    // does. Name the body as a temporary, then rename it over the old file.
                    link_at(&file, &self.dir.fd, self.temp_name().as_c_str())?;
                    drop(file);
                    self.temp = Temp::NamedClosed;
                    rename_at(&self.dir.fd, self.temp_name().as_c_str(), name.as_c_str())?;
                    self.temp = Temp::Committed;
                }
                Err(e) => return Err(e),
            },
            Temp::Kept(file) => {
                drop(file);
                let names = self.kept.as_deref().expect("a kept part has its names");
                rename_at(&self.dir.fd, &names.part, name.as_c_str())?;
                // Best effort: a description left alone describes no part and is ignored.
                let _ = unlink_at(&self.dir.fd, &names.meta);
            }
            Temp::Named(file) => {
                // Closed before the rename: the file is whole when it gets its name.
                drop(file);
                self.temp = Temp::NamedClosed;
                rename_at(&self.dir.fd, self.temp_name().as_c_str(), name.as_c_str())?;
                self.temp = Temp::Committed;
            }
            _ => unreachable!("open() made the staged file"),
        }
        Ok(self.written)
    }
}

impl PartFile {
    /// `-C`: a kept part stores its size in `progress` when it is dropped without a
    /// commit (the scheduler's retry asks for the rest from there). Nothing for others.
    pub fn track(&mut self, progress: Arc<AtomicU64>) {
        if let Some(kept) = self.kept.as_deref_mut() {
            kept.progress = Some(progress);
        }
    }

    /// [`PartFile::commit`], then, when `key` is given (`--skip-existing`) and the
    /// record is open, the record's line for the file: `key`, `name` and the file's
    /// identity (one `fstat` before the commit, one `write` after it).
    #[inline]
    pub fn commit_recorded(mut self, name: &str, key: Option<&str>) -> io::Result<u64> {
        let Some(key) = key.filter(|_| self.dir.record.is_some()) else {
            return self.commit(name);
        };
        let identity = Identity::of(&self.file()?.metadata()?);
        let dir = Arc::clone(&self.dir);
        let bytes = self.commit(name)?;
        if let Some(record) = &dir.record {
            record::append(record, key, name, identity)?;
        }
        Ok(bytes)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !matches!(self.temp, Temp::NotCreated) {
            // Its descriptor is closed now, or with this drop.
            self.dir.staged_open.fetch_sub(1, Ordering::Relaxed);
        }
        if let Temp::Kept(_) = self.temp {
            // `-C`: the part stays, with every byte received (best effort), and its size
            // as the disk has it goes to the scheduler for a retry.
            let _ = self.flush();
            let progress = self.kept.as_deref().and_then(|k| k.progress.as_ref());
            if let (Temp::Kept(file), Some(progress)) = (&self.temp, progress) {
                if let Ok(meta) = file.metadata() {
                    progress.store(meta.len(), Ordering::Release);
                }
            }
            return;
        }
        if let Temp::Named(_) | Temp::NamedClosed = self.temp {
            self.temp = Temp::Committed;
            // Best effort: nothing else can be done about a failing unlink here.
            let _ = unlink_at(&self.dir.fd, self.temp_name().as_c_str());
        }
    }
}

/// A file with no name until it is whole, in any directory: `--failed FILE` writes its
/// list into one, so a run killed even by SIGKILL leaves no temporary beside FILE (the
/// kernel frees an unnamed file with its last descriptor).
#[derive(Debug)]
pub struct UnnamedFile {
    dir: OwnedFd,
    file: File,
}

impl UnnamedFile {
    /// An unnamed file in `dir`, or `None` where the directory cannot hold one that can
    /// be named later (see [`OutputDir::create`]).
    pub fn create_in(dir: &Path) -> io::Result<Option<UnnamedFile>> {
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir)?;
        let dir = OwnedFd::from(dir);
        if !unnamed_files_work(&dir) {
            return Ok(None);
        }
        let file = open_unnamed(&dir)?;
        Ok(Some(UnnamedFile { dir, file }))
    }

    /// Syncs it and gives it the name `name` in its directory, replacing a file of
    /// that name: linked as `temporary` first, then renamed (a link never replaces).
    pub fn commit(&self, temporary: &CStr, name: &CStr) -> io::Result<()> {
        self.file.sync_all()?;
        link_at(&self.file, &self.dir, temporary)?;
        rename_at(&self.dir, temporary, name).inspect_err(|_| {
            let _ = unlink_at(&self.dir, temporary);
        })
    }
}

impl Write for UnnamedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Can this directory hold unnamed files that `linkat(AT_EMPTY_PATH)` names later? It
/// needs Linux with `O_TMPFILE` support in the file system (tmpfs, ext4, xfs, btrfs, …)
/// and, before Linux 6.10, the CAP_DAC_READ_SEARCH capability for the link. Asked by
/// linking a fresh unnamed file onto `.`: `EEXIST` means the link was allowed (and
/// nothing was made), `ENOENT` that it was not.
#[cfg(target_os = "linux")]
fn unnamed_files_work(dir: &OwnedFd) -> bool {
    let Ok(file) = open_unnamed(dir) else {
        return false;
    };
    let refused = link_at(&file, dir, c".");
    matches!(refused, Err(e) if e.kind() == io::ErrorKind::AlreadyExists)
}

#[cfg(not(target_os = "linux"))]
fn unnamed_files_work(_dir: &OwnedFd) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn open_unnamed(dir: &OwnedFd) -> io::Result<File> {
    // No O_EXCL: that would make the file impossible to link.
    open_at(
        dir,
        c".",
        libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
    )
}

#[cfg(not(target_os = "linux"))]
fn open_unnamed(_dir: &OwnedFd) -> io::Result<File> {
    Err(io::ErrorKind::Unsupported.into())
}

/// `openat(dir, name, flags, 0666)`: the process's umask applies, as for any new file.
fn open_at(dir: &OwnedFd, name: &CStr, flags: libc::c_int) -> io::Result<File> {
    let mode: libc::c_uint = 0o666;
    // SAFETY: `name` is NUL-terminated; the returned descriptor is new and owned here.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `linkat(file, "", dir, name, AT_EMPTY_PATH)`: gives an open file a name.
#[cfg(target_os = "linux")]
fn link_at(file: &File, dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: both paths are NUL-terminated; the descriptors are open.
    let r = unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn link_at(_file: &File, _dir: &OwnedFd, _name: &CStr) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

fn rename_at(dir: &OwnedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    let dir = dir.as_raw_fd();
    // SAFETY: both names are NUL-terminated; `dir` is open.
    if unsafe { libc::renameat(dir, from.as_ptr(), dir, to.as_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn unlink_at(dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; `dir` is open.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A final file name as a C string, on the stack: names are at most 255 bytes
/// ([`crate::policy::names`]), so no allocation.
struct FileName {
    bytes: [u8; 256],
    len: usize,
}

impl FileName {
    fn new(name: &str) -> io::Result<FileName> {
        if name.len() >= 256 {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        if name.is_empty() || name.contains(['\0', '/']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a file name: {name:?}"),
            ));
        }
        let mut bytes = [0u8; 256];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(FileName {
            bytes,
            len: name.len() + 1,
        })
    }

    fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.bytes[..self.len]).expect("one NUL, at the end")
    }
}

/// `.miodl-<pid>-<tag>.part`, NUL-terminated, on the stack.
#[derive(Debug)]
struct TempName {
    bytes: [u8; 64],
    len: usize,
}

impl TempName {
    fn new(pid: u32, tag: usize) -> TempName {
        let mut name = TempName {
            bytes: [0; 64],
            len: 0,
        };
        name.push(b".miodl-");
        name.push_decimal(u64::from(pid));
        name.push(b"-");
        name.push_decimal(tag as u64);
        name.push(b".part\0");
        name
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `n` in decimal, without a `format!` allocation.
    fn push_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.push(crate::protocol::http::decimal(n, &mut digits));
    }

    fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.bytes[..self.len]).expect("one NUL, at the end")
    }
}

#[cfg(test)]
mod tests;
