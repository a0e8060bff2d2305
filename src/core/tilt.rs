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
            g.total_tilt += 1;
            io.event(Level::Warning, "+tilt", None, "#tilt mode entered".into());
        }
    }
    g.last_tick = Some(now);
    if g.tilt && now.saturating_sub(g.tilt_since) >= g.timing.tilt_period {
        g.tilt = false;
        io.event(Level::Warning, "-tilt", None, "#tilt mode exited".into());
    }
}

#[cfg(test)]
mod tests {
    use crate::core::{Addr, MasterSnapshot, Options, Sentinel, Snapshot, Timing};

    fn field(core: &Sentinel, now: u64, name: &str) -> String {
        let info = core.info_section(now);
        let line = info.split("\r\n").find(|l| l.starts_with(&format!("{name}:"))).expect(name).to_string();
        line[name.len() + 1..].to_string()
    }

    /// `sentinel_total_tilt` (Redis 7.2) counts TILT entries and survives their exit.
    #[test]
    fn total_tilt_counts_every_entry() {
        let mut snap = Snapshot::new("a".repeat(40));
        snap.masters.push(MasterSnapshot::new("m", Addr::new("127.0.0.1", 6379), 1));
        let timing = Timing::default();
        let opts = Options { port: 26379, seed: 1, timing: timing.clone(), requirepass: None };
        let mut core = Sentinel::new(snap, opts, 0);
        core.handle_timeout(100);
        assert_eq!(field(&core, 100, "sentinel_total_tilt"), "0");
        let mut now = 100;
        for expected in ["1", "2"] {
            now += timing.tilt_trigger + 1; // a stall
            core.handle_timeout(now);
            assert_eq!(field(&core, now, "sentinel_tilt"), "1");
            assert_eq!(field(&core, now, "sentinel_total_tilt"), expected);
            while field(&core, now, "sentinel_tilt") == "1" {
                now += 100;
                core.handle_timeout(now);
            }
        }
        assert_eq!(field(&core, now, "sentinel_total_tilt"), "2");
    }
}
