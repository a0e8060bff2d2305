//! The sentinel's brain: a pure, deterministic state machine (sans-IO, after quinn-proto).
//!
//! It owns every decision — when to ping, when an instance is down, when to vote, which
//! replica to promote — and never performs I/O: no sockets, no tokio, no clock reads, no
//! global RNG (desync jitter comes from an RNG seeded in [`Options`]).
//!
//! # Call contract
//! * [`Sentinel::handle`] feeds one fact ([`Input`]) observed at `now`.
//! * [`Sentinel::handle_timeout`] runs the periodic tick (§2.1); call it once `now` has
//!   reached [`Sentinel::poll_timeout`].
//! * After each call, drain [`Sentinel::poll_output`] and execute the outputs strictly in
//!   order. An [`Output::Persist`] must be durable (fsync, rename, fsync dir) before the
//!   next output runs: that is what makes "grant a vote" = `Persist` then `Reply` safe
//!   against a crash between the two.
//! * `now` is a monotonic millisecond clock and must never go backwards between calls
//!   (a simulated clock jump is a forward jump; TILT, §13, detects long gaps).

mod types;
pub use types::*;

use std::collections::VecDeque;

/// One sentinel process's decision state.
pub struct Sentinel {
    snapshot: Snapshot,
    opts: Options,
    next_tick: Millis,
    out: VecDeque<Output>,
}

impl Sentinel {
    /// Builds a core from its persisted state. Emits `+monitor` for every master.
    pub fn new(snapshot: Snapshot, opts: Options, now: Millis) -> Sentinel {
        Sentinel { snapshot, opts, next_tick: now, out: VecDeque::new() }
    }

    /// Feeds one input observed at `now`.
    pub fn handle(&mut self, _now: Millis, _input: Input) {}

    /// Runs the periodic tick.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.next_tick = now + 100;
    }

    /// When [`Sentinel::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Millis {
        self.next_tick
    }

    /// The next order for the shell, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The persisted state as it is now.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.clone()
    }

    /// This sentinel's id.
    pub fn myid(&self) -> &str {
        &self.snapshot.myid
    }

    /// The `# Sentinel` section of `INFO` (§11.3), ending with `\r\n`.
    pub fn info_section(&self, _now: Millis) -> String {
        let _ = &self.opts;
        String::from("# Sentinel\r\n")
    }
}
