//! The busy list: sockets that used their whole read budget in one turn of the loop and
//! may still have bytes.
//!
//! Registration is edge-triggered, so a socket left with unread bytes gets no new event
//! for them: the reactor must come back to it on its own. It does so in the next turn,
//! after a `poll` that does not sleep (new events are taken first, so a socket that
//! never pauses waits its turn behind them instead of ahead of them):
//!
//! ```text
//!  turn t:    events ─► socket A reads READ_BUDGET, still has bytes ─► mark(A) in t
//!  turn t+1:  poll(0) ─► events (B, C ...) ─► serve A (marked in t) ─► maybe mark(A) in t+1
//! ```
//!
//! A socket served by an event in turn t+1 before its busy entry comes up is not
//! served twice: the entry only counts if the socket's mark still says turn t
//! ([`Conn`](super::conn::Conn) clears its mark whenever it is served). Entries name
//! the socket's serial too, since a closed socket's slab slot may be taken by a new one.
//!
//! Layer: `engine`; may use `model` (see `src/engine/mod.rs`).

use crate::model::job::ConnId;

/// A socket on the list: its slab slot and its serial.
pub type Entry = (ConnId, u64);

/// The sockets to serve again without an edge, by the turn they were marked in.
#[derive(Debug, Default)]
pub struct BusyList {
    /// The turn being served (0 before the first).
    turn: u64,
    /// Marked in this turn: served in the next one.
    marked: Vec<Entry>,
    /// Marked in the turn before: served in this one (kept to reuse its allocation).
    due: Vec<Entry>,
}

impl BusyList {
    /// Whether the next turn has sockets to serve (then `poll` must not sleep).
    pub fn has_marked(&self) -> bool {
        !self.marked.is_empty()
    }

    /// The turn being served: what a socket marked now records.
    pub fn turn(&self) -> u64 {
        self.turn
    }

    /// Puts a socket on the list for the next turn. The caller checks the socket's own
    /// mark first, so a socket is listed at most once per turn.
    pub fn mark(&mut self, entry: Entry) {
        self.marked.push(entry);
    }

    /// Starts a new turn: the sockets marked in the last one become due. Returns them
    /// with the turn they must have been marked in; hand the vector back with
    /// [`BusyList::done`].
    pub fn begin_turn(&mut self) -> (Vec<Entry>, u64) {
        let marked_in = self.turn;
        self.turn += 1;
        std::mem::swap(&mut self.marked, &mut self.due);
        (std::mem::take(&mut self.due), marked_in)
    }

    /// The due sockets were served: keeps the vector's allocation for the next turn.
    pub fn done(&mut self, mut due: Vec<Entry>) {
        due.clear();
        self.due = due;
    }
}
