//! Ctrl-C and SIGTERM: stop cleanly, once; a second Ctrl-C stops at once.
//!
//! A signal handler may do almost nothing, so it only stores the signal's number in an
//! atomic ([`signal_hook::flag`]). The engines look at it after every wait (the reactor
//! after each `poll`, which a signal interrupts; the blocking engines between reads) and
//! then close their sockets, remove temporary files and let the summary print. The exit
//! status is 128 + the signal: 130 for SIGINT, 143 for SIGTERM.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The stop request of a run, shared with the signal handlers.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    signal: Arc<AtomicUsize>,
    seen: Arc<AtomicBool>,
}

impl Stop {
    /// A stop that only [`Stop::request`] can trigger.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Routes SIGINT and SIGTERM here. A second SIGINT while stopping exits at once
    /// with status 130.
    pub fn install_signal_handlers(&self) -> io::Result<()> {
        // Registered first, so it sees the flag of the earlier signal: exit on the second.
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&self.seen))?;
        for signal in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(signal, Arc::clone(&self.signal), signal as usize)?;
            signal_hook::flag::register(signal, Arc::clone(&self.seen))?;
        }
        Ok(())
    }

    /// Asks the run to stop as if `signal` had arrived.
    pub fn request(&self, signal: i32) {
        self.signal.store(signal as usize, Ordering::SeqCst);
        self.seen.store(true, Ordering::SeqCst);
    }

    /// The signal that asked to stop, if any.
    pub fn requested(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal as i32),
        }
    }
}
