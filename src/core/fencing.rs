//! Fencing of an old master (ours; SENTINEL-SPEC §20.2–§20.3 describe the gap it closes).
//!
//! A known replica that reports `role:master` while the master we follow looks sane is a
//! rogue master: typically the old master, back from a partition or a restart, still
//! taking writes from clients that never re-resolved it. Redis Sentinel waits 8 s (§12.1)
//! before demoting it, so that a newer configuration naming it as master can arrive by
//! hello first; every write it accepts meanwhile is discarded by the resync that
//! follows the demotion. We keep that wait for the demotion, but stop the writes at
//! once with `CLIENT PAUSE <FENCE_PAUSE> WRITE` (Redis ≥ 6.2), renewed at every INFO
//! while the instance still says master: clients block instead of losing their
//! writes, and are released (and disconnected) by the demotion. Should the instance
//! really be a newer master we have not heard of yet, the pause lapses within
//! [`FENCE_PAUSE`] once we stop renewing it. Owns no timer: it acts on INFO replies.

use super::io::{Io, ReqKind};
use super::links::send;
use super::monitor::Master;
use super::{details, Level, Millis, Request};

/// How long one `CLIENT PAUSE ... WRITE` lasts.
pub const FENCE_PAUSE: Millis = 2000;

/// A pause is renewed when it is at least this old (INFO comes every second).
pub const FENCE_RENEW: Millis = 500;

/// Pauses writes on the rogue master `key` of `m` (first time: `+fence-rogue-master`).
pub(crate) fn fence(io: &mut Io, m: &mut Master, key: &str, now: Millis) {
    let name = m.name().to_string();
    let d = m.replicas.get(key).map(|r| details(m, r)).unwrap_or_default();
    let Some(r) = m.replicas.get_mut(key) else { return };
    if r.fenced_at.is_some_and(|at| now.saturating_sub(at) < FENCE_RENEW) {
        return;
    }
    let Some(link) = r.cc.as_ref().filter(|l| l.up).map(|l| l.id) else { return };
    send(io, r, link, ReqKind::Fence, Request::PauseWrites { ms: FENCE_PAUSE });
    if r.fenced_at.is_none() {
        io.event(Level::Warning, "+fence-rogue-master", Some(&name), d);
    }
    r.fenced_at = Some(now);
}
