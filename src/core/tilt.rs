//! TILT (§13): a gap between two ticks longer than `tilt-trigger` means this process was
//! stalled, so its timers cannot be trusted: act on nothing for `tilt-period`.

use super::io::Io;
use super::{Global, Level, Millis};

/// Called at the start of every tick.
pub(crate) fn check(g: &mut Global, io: &mut Io, now: Millis) {
    if let Some(last) = g.last_tick {
        if now.saturating_sub(last) > g.timing.tilt_trigger {
            g.tilt = true;
            g.tilt_since = now;
            io.event(Level::Warning, "+tilt", None, "#tilt mode entered".into());
        }
    }
    g.last_tick = Some(now);
    if g.tilt && now.saturating_sub(g.tilt_since) >= g.timing.tilt_period {
        g.tilt = false;
        io.event(Level::Warning, "-tilt", None, "#tilt mode exited".into());
    }
}
