//! Zero-copy bodies: `splice(2)` from the socket into a pipe and from the pipe into the
//! file, so a large body never crosses into user space.
//!
//! ```text
//!   socket ──splice──► pipe ──splice──► staged file           (Linux, plain HTTP,
//!   socket ──read────► shared buffer ──► answer ──► write ──►    Content-Length ≥ 256 KiB)
//!                                                  (everything else: the portable path)
//! ```
//!
//! A read copies every byte from the kernel into our buffer and a write copies it back;
//! splice moves page references instead, which halves the memory traffic of a large
//! download and the CPU it costs. It applies only where the bytes need no looking at: a
//! plain (not TLS) body of known length going to a file. The head, chunked and
//! close-delimited bodies, pages and small bodies take the ordinary path.
//!
//! One pipe serves the whole reactor, and each disk thread ([`super::disk`]) has its own:
//! each transfer empties its pipe before the next begins.
//! If writing to the file fails (a full disk) the bytes left in the pipe are thrown away
//! with the pipe, and a new one is made.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::io;

pub use imp::Pipe;

/// Bodies at least this long (still to come) go through the pipe.
pub const SPLICE_MIN: u64 = 256 << 10;
/// The most moved in one step: the pipe's capacity.
const PIPE_SIZE: usize = 1 << 20;

/// Which end of a transfer failed.
#[derive(Debug)]
pub enum SpliceError {
    /// Reading the socket (reset, ...).
    Socket(io::Error),
    /// Writing the file (disk full, ...).
    File(io::Error),
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};

    use rustix::pipe::{fcntl_setpipe_size, pipe_with, splice, PipeFlags, SpliceFlags};

    use super::{SpliceError, PIPE_SIZE};

    /// The reactor's pipe.
    #[derive(Debug)]
    pub struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
    }

    impl Pipe {
        /// A new pipe, enlarged to 1 MiB where the system allows.
        pub fn new() -> io::Result<Pipe> {
            let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
            // The default is 64 KiB; a larger pipe means fewer syscalls per megabyte. If the
            // system refuses, the default works too.
            let _ = fcntl_setpipe_size(&write, PIPE_SIZE);
            Ok(Pipe { read, write })
        }

        /// Moves up to `max` bytes from `socket` into `file`. `Ok(0)` is the peer's EOF;
        /// `WouldBlock` (as `SpliceError::Socket`) means the socket has nothing now.
        pub fn socket_to_file(
            &mut self,
            socket: impl AsFd,
            file: &File,
            max: u64,
        ) -> Result<usize, SpliceError> {
            let len = usize::try_from(max).unwrap_or(usize::MAX).min(PIPE_SIZE);
            let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
            let moved = splice(&socket, None, &self.write, None, len, flags)
                .map_err(|e| SpliceError::Socket(e.into()))?;
            let mut left = moved;
            while left > 0 {
                match splice(&self.read, None, file, None, left, SpliceFlags::MOVE) {
                    Ok(0) => return Err(self.lost(io::ErrorKind::WriteZero.into())),
                    Ok(n) => left -= n,
                    Err(e) if e == rustix::io::Errno::INTR => continue,
                    Err(e) => return Err(self.lost(e.into())),
                }
            }
            Ok(moved)
        }

        /// The file side failed with bytes still in the pipe: start over with a new pipe.
        fn lost(&mut self, error: io::Error) -> SpliceError {
            match Pipe::new() {
                Ok(fresh) => *self = fresh,
                Err(e) => return SpliceError::File(e),
            }
            SpliceError::File(error)
        }
    }
}

/// Elsewhere there is no splice: [`Pipe::new`] says so, the reactor keeps none, and every
/// body takes the portable path.
#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::File;
    use std::io;

    use super::SpliceError;

    /// No pipe on this system.
    #[derive(Debug)]
    pub struct Pipe(());

    impl Pipe {
        /// Always `Unsupported`.
        pub fn new() -> io::Result<Pipe> {
            Err(io::ErrorKind::Unsupported.into())
        }

        /// Never called: no `Pipe` can be made.
        pub fn socket_to_file(
            &mut self,
            _socket: impl std::os::fd::AsFd,
            _file: &File,
            _max: u64,
        ) -> Result<usize, SpliceError> {
            Err(SpliceError::Socket(io::ErrorKind::Unsupported.into()))
        }
    }
}
