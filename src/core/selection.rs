//! Which replica to promote (§9): pure exclusion rules and ranking over plain views, so
//! the rules are table-tested without a sentinel around them.

use super::monitor::info::Role;
use super::monitor::Master;
use super::{Millis, Timing};
use std::cmp::Ordering;

/// What selection reads of one replica.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaView {
    pub key: String,
    pub down: bool,
    pub connected: bool,
    /// ms since the last valid PING reply.
    pub since_ok_ping: Millis,
    /// ms since the last INFO; `None` if never.
    pub since_info: Option<Millis>,
    pub priority: u32,
    pub master_link_down_ms: i64,
    pub repl_offset: u64,
    pub runid: Option<String>,
    /// Ours: its last INFO says `role:master` (a restarted old master, or a replica
    /// promoted by someone else): it does not replicate our master.
    pub says_master: bool,
}

/// What selection reads of the master.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterCtx {
    pub sdown: bool,
    /// ms since the master entered SDOWN (0 if not down).
    pub sdown_for: Millis,
    pub down_after: Millis,
    /// Ours: the best replication offset known (the master's last `master_repl_offset`,
    /// or any replica's), and the bound `max-lag-on-failover` (0 = none).
    pub best_offset: u64,
    pub max_lag: u64,
}

/// Whether a replica may be promoted at all (§9 exclusions).
pub fn eligible(r: &ReplicaView, m: &MasterCtx, t: &Timing) -> bool {
    exclusion(r, m, t).is_none()
}

/// Why a replica may not be promoted (§9 exclusions, then ours), or `None`.
pub fn exclusion(r: &ReplicaView, m: &MasterCtx, t: &Timing) -> Option<String> {
    let info_validity = if m.sdown { 5 * t.ping_period } else { 3 * t.info_period };
    let max_link_down = m.down_after.saturating_mul(10) + if m.sdown { m.sdown_for } else { 0 };
    if r.down {
        Some("down".into())
    } else if !r.connected {
        Some("disconnected".into())
    } else if r.since_ok_ping > 5 * t.ping_period {
        Some(format!("no PING reply for {} ms", r.since_ok_ping))
    } else if r.priority == 0 {
        Some("replica-priority 0".into())
    } else if r.since_info.is_none_or(|age| age > info_validity) {
        Some(match r.since_info {
            Some(age) => format!("INFO {age} ms old (> {info_validity})"),
            None => "no INFO yet".into(),
        })
    } else if r.master_link_down_ms > max_link_down as i64 {
        Some(format!("link to the master down {} ms (> {max_link_down})", r.master_link_down_ms))
    } else if !within_lag(r, m) {
        Some(format!("lag {} bytes (> max-lag-on-failover {})", m.best_offset.saturating_sub(r.repl_offset), m.max_lag))
    } else if r.says_master && !cfg!(feature = "planted-promote-says-master") {
        // Planted bug "promote-says-master" (issue 10.6; sim seed 5189): an entry saying
        // role:master (an empty restarted old master) may be promoted.
        Some("says role:master".into())
    } else {
        None
    }
}

/// Ours (issue 12.7): the choice in words, for the `+replica-selection` event: the chosen
/// replica (if any) with what ranked it first, then every other one with why it was
/// excluded or ranked lower.
pub fn explain(replicas: &[ReplicaView], m: &MasterCtx, t: &Timing) -> String {
    let chosen = best(replicas, m, t);
    let mut parts = vec![match chosen {
        Some(c) => format!("chose {} (priority {}, offset {})", c.key, c.priority, c.repl_offset),
        None => "none eligible".to_string(),
    }];
    for r in replicas.iter().filter(|r| chosen.is_none_or(|c| c.key != r.key)) {
        let why = match (exclusion(r, m, t), chosen) {
            (Some(why), _) => format!("excluded: {why}"),
            (None, Some(c)) if c.priority < r.priority => format!("ranked lower: priority {}", r.priority),
            (None, Some(c)) if c.repl_offset > r.repl_offset => format!("ranked lower: offset {}", r.repl_offset),
            (None, _) => "ranked lower: run id".to_string(),
        };
        parts.push(format!("{} {why}", r.key));
    }
    parts.join("; ")
}

/// Ours: not further behind the best known offset than `max-lag-on-failover` allows.
pub fn within_lag(r: &ReplicaView, m: &MasterCtx) -> bool {
    m.max_lag == 0 || r.repl_offset.saturating_add(m.max_lag) >= m.best_offset
}

/// §9 ordering: lower priority, then higher offset, then smaller run id (unknown last).
pub fn compare(a: &ReplicaView, b: &ReplicaView) -> Ordering {
    a.priority.cmp(&b.priority).then(b.repl_offset.cmp(&a.repl_offset)).then_with(|| match (&a.runid, &b.runid) {
        (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    })
}

/// The best eligible replica's key.
pub fn best<'a>(replicas: &'a [ReplicaView], m: &MasterCtx, t: &Timing) -> Option<&'a ReplicaView> {
    replicas.iter().filter(|r| eligible(r, m, t)).min_by(|a, b| compare(a, b))
}

/// Views of a master's replicas at `now`.
pub(crate) fn views(m: &Master, now: Millis) -> (Vec<ReplicaView>, MasterCtx) {
    let rs: Vec<ReplicaView> = m
        .replicas
        .values()
        .map(|r| ReplicaView {
            key: r.name.clone(),
            down: r.sdown,
            connected: r.connected(),
            since_ok_ping: now.saturating_sub(r.last_avail),
            since_info: r.info_refresh.map(|at| now.saturating_sub(at)),
            priority: r.slave_priority,
            master_link_down_ms: r.master_link_down_ms,
            repl_offset: r.repl_offset,
            runid: r.runid.clone(),
            says_master: r.role_reported == Some(Role::Master),
        })
        .collect();
    let best_offset = rs.iter().map(|r| r.repl_offset).chain([m.inst.master_repl_offset]).max().unwrap_or(0);
    let ctx = MasterCtx {
        sdown: m.inst.sdown,
        sdown_for: m.inst.sdown_since.map_or(0, |at| now.saturating_sub(at)),
        down_after: m.down_after,
        best_offset,
        max_lag: if m.ignore_lag { 0 } else { m.max_lag_on_failover },
    };
    (rs, ctx)
}

/// Replicas that would be eligible but for `max-lag-on-failover`, with their lag in bytes.
pub(crate) fn lagging(m: &Master, t: &Timing, now: Millis) -> Vec<(String, u64)> {
    let (rs, ctx) = views(m, now);
    let unbounded = MasterCtx { max_lag: 0, ..ctx.clone() };
    rs.into_iter()
        .filter(|r| !within_lag(r, &ctx) && eligible(r, &unbounded, t))
        .map(|r| (r.key, ctx.best_offset.saturating_sub(r.repl_offset)))
        .collect()
}

/// [`explain`] for a master's replicas now.
pub(crate) fn explain_now(m: &Master, t: &Timing, now: Millis) -> String {
    let (rs, ctx) = views(m, now);
    explain(&rs, &ctx, t)
}

/// The replica `select_slave` would pick now.
pub(crate) fn select(m: &Master, t: &Timing, now: Millis) -> Option<String> {
    let (rs, ctx) = views(m, now);
    best(&rs, &ctx, t).map(|r| r.key.clone())
}

/// Replicas excluded only because their INFO is too old: a fresh INFO may make them
/// eligible.
pub(crate) fn stale_only(m: &Master, t: &Timing, now: Millis) -> Vec<String> {
    let (rs, ctx) = views(m, now);
    rs.into_iter()
        .filter(|r| !eligible(r, &ctx, t) && eligible(&ReplicaView { since_info: Some(0), ..r.clone() }, &ctx, t))
        .map(|r| r.key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(key: &str, prio: u32, off: u64, runid: Option<&str>) -> ReplicaView {
        ReplicaView {
            key: key.into(),
            down: false,
            connected: true,
            since_ok_ping: 100,
            since_info: Some(500),
            priority: prio,
            master_link_down_ms: 0,
            repl_offset: off,
            runid: runid.map(str::to_string),
            says_master: false,
        }
    }

    fn ctx() -> MasterCtx {
        MasterCtx { sdown: true, sdown_for: 2000, down_after: 1000, best_offset: 0, max_lag: 0 }
    }

    #[test]
    fn priority_then_offset_then_runid() {
        let t = Timing::default();
        let rs = vec![r("a", 100, 10, Some("b")), r("b", 50, 1, Some("c")), r("c", 50, 1, Some("A"))];
        assert_eq!(best(&rs, &ctx(), &t).unwrap().key, "c");
        let rs = vec![r("a", 100, 10, None), r("b", 100, 20, None)];
        assert_eq!(best(&rs, &ctx(), &t).unwrap().key, "b");
        let rs = vec![r("a", 100, 10, None), r("b", 100, 10, Some("z"))];
        assert_eq!(best(&rs, &ctx(), &t).unwrap().key, "b");
    }

    #[test]
    fn exclusions() {
        let t = Timing::default();
        let c = ctx();
        let mut x = r("x", 0, 1, None);
        assert!(!eligible(&x, &c, &t), "priority 0 is never promoted");
        x = r("x", 1, 1, None);
        x.down = true;
        assert!(!eligible(&x, &c, &t));
        x = r("x", 1, 1, None);
        x.connected = false;
        assert!(!eligible(&x, &c, &t));
        x = r("x", 1, 1, None);
        x.since_ok_ping = 5001;
        assert!(!eligible(&x, &c, &t));
        x = r("x", 1, 1, None);
        x.since_info = Some(5001);
        assert!(!eligible(&x, &c, &t), "INFO older than 5 s while the master is down");
        assert!(eligible(&x, &MasterCtx { sdown: false, ..c.clone() }, &t));
        x.since_info = None;
        assert!(!eligible(&x, &c, &t));
        x = r("x", 1, 1, None);
        x.master_link_down_ms = 12_001;
        assert!(!eligible(&x, &c, &t), "link down longer than 10 × down-after + sdown time");
        x.master_link_down_ms = 12_000;
        assert!(eligible(&x, &c, &t));
        x = r("x", 1, 1, None);
        x.says_master = true;
        assert!(!eligible(&x, &c, &t), "an entry whose INFO says role:master does not replicate the master");
    }

    #[test]
    fn the_choice_in_words() {
        let t = Timing::default();
        let mut down = r("d", 100, 99, None);
        down.down = true;
        let rs = vec![
            r("a", 100, 10, Some("a")),
            r("b", 50, 5, Some("b")),
            down,
            r("z", 0, 7, None),
            r("c", 100, 10, Some("c")),
        ];
        assert_eq!(
            explain(&rs, &ctx(), &t),
            "chose b (priority 50, offset 5); a ranked lower: priority 100; d excluded: down; \
             z excluded: replica-priority 0; c ranked lower: priority 100"
        );
        let rs = vec![r("a", 100, 10, Some("a")), r("c", 100, 20, Some("c")), r("e", 100, 20, Some("e"))];
        assert_eq!(
            explain(&rs, &ctx(), &t),
            "chose c (priority 100, offset 20); a ranked lower: offset 10; e ranked lower: run id"
        );
        let lag = MasterCtx { best_offset: 1000, max_lag: 100, ..ctx() };
        assert_eq!(explain(&rs[..1], &lag, &t), "none eligible; a excluded: lag 990 bytes (> max-lag-on-failover 100)");
    }
}
