//! The core as a state machine (issue 10, item 7), in the style of openraft's engine
//! tests: build a `Sentinel`, feed it inputs at given times, and assert the exact
//! sequence of outputs it orders (rendered one line each). No sockets, no clock: the
//! test plays the shell.

use sentinel::core::{
    Addr, ClientId, Input, KnownSentinel, MasterSnapshot, Options, Output, Request, Sentinel, Snapshot, Timing,
};
use sentinel::resp::Value;

const ME: &str = "1111111111111111111111111111111111111111";
const PEER: &str = "2222222222222222222222222222222222222222";

fn core_with(peers: &[(&str, u16)], quorum: u32, now: u64) -> Sentinel {
    let mut snap = Snapshot::new(ME.into());
    let mut m = MasterSnapshot::new("m", Addr::new("10.0.0.1", 6379), quorum);
    m.down_after_ms = 1000;
    m.known_sentinels = peers
        .iter()
        .map(|(id, port)| KnownSentinel { addr: Addr::new("10.0.0.9", *port), runid: (*id).into() })
        .collect();
    snap.masters.push(m);
    let opts = Options { port: 26379, seed: 7, timing: Timing::default(), requirepass: None };
    Sentinel::new(snap, opts, now)
}

fn show(v: &Value) -> String {
    match v {
        Value::Simple(s) => format!("+{s}"),
        Value::Error(s) => format!("-{s}"),
        Value::Int(i) => i.to_string(),
        Value::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Value::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
        other => format!("{other:?}"),
    }
}

/// One line per output; `Persist` shows what the write protects (epochs and votes).
fn render(o: &Output) -> String {
    match o {
        Output::Event(e) => format!("event {} {}", e.name, e.message),
        Output::Persist(s) => {
            let votes: Vec<String> =
                s.masters.iter().map(|m| format!("{}:leader-epoch={}", m.name, m.leader_epoch.0)).collect();
            format!("persist current-epoch={} {}", s.current_epoch.0, votes.join(" "))
        }
        Output::Reply { client, value } => format!("reply {} {}", client.0, show(value)),
        Output::Connect { link, addr, kind, .. } => format!("connect {} {kind:?} {}:{}", link.0, addr.host, addr.port),
        Output::Send { link, request, .. } => format!("send {} {request:?}", link.0),
        Output::Close { link } => format!("close {}", link.0),
        other => format!("{other:?}"),
    }
}

fn drain(s: &mut Sentinel) -> Vec<String> {
    std::iter::from_fn(|| s.poll_output()).map(|o| render(&o)).collect()
}

fn command(s: &mut Sentinel, now: u64, args: &[&str]) -> Vec<String> {
    s.handle(now, Input::Command { client: ClientId(1), args: args.iter().map(|a| a.as_bytes().to_vec()).collect() });
    drain(s)
}

/// Drops the housekeeping traffic (PING, INFO, hello PUBLISH), whose cadence is tested
/// elsewhere, so that a scenario states the decisions exactly.
fn decisions(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().filter(|l| !(l.ends_with(" Ping") || l.ends_with(" Info") || l.contains(" Publish {"))).collect()
}

/// How a peer sentinel of [`run_with`] behaves.
#[derive(Clone, Copy)]
enum Peer {
    /// Its link never comes up.
    Unreachable,
    /// Answers PING, says the master is down and votes for whoever asks.
    Votes,
    /// Answers PING, says the master is down, but has voted for someone else in the epoch.
    VotedElsewhere,
}

const ELSEWHERE: &str = "9999999999999999999999999999999999999999";

/// Plays the shell for one master (links 1 and 2, never answering: it is dead) and one
/// peer sentinel (link 3) that answers PING and says the master is down, voting for
/// whoever asks. Runs the tick every 100 ms from `from` to `to`; returns the decisions
/// made at each time, in order.
fn run(s: &mut Sentinel, from: u64, to: u64) -> Vec<(u64, Vec<String>)> {
    run_with(s, from, to, &[(26380, Peer::Votes)])
}

/// [`run`] with the peer sentinels `peers` (by port, each behaving as given).
fn run_with(s: &mut Sentinel, from: u64, to: u64, peers: &[(u16, Peer)]) -> Vec<(u64, Vec<String>)> {
    let mut steps = Vec::new();
    let mut links: std::collections::BTreeMap<u64, Peer> = std::collections::BTreeMap::new();
    let mut t = from;
    while t <= to {
        s.handle_timeout(t);
        let mut lines = Vec::new();
        let mut queue: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
        while !queue.is_empty() {
            for o in std::mem::take(&mut queue) {
                lines.push(render(&o));
                match o {
                    Output::Connect { link, addr, .. } => {
                        let peer = peers.iter().find(|(port, _)| *port == addr.port).map(|(_, p)| *p);
                        if let Some(p) = peer {
                            links.insert(link.0, p);
                        }
                        if !matches!(peer, Some(Peer::Unreachable)) {
                            s.handle(t, Input::LinkUp { link, local_ip: "10.0.0.5".into(), peer_ip: "10.0.0.9".into() })
                        }
                    }
                    Output::Send { link, tag, request } if links.contains_key(&link.0) => {
                        let peer = links[&link.0];
                        let reply = match request {
                            Request::Ping => Value::simple("PONG"),
                            Request::IsMasterDownByAddr { runid, epoch, .. } => {
                                let leader = match (peer, runid) {
                                    (_, None) => "*".to_string(),
                                    (Peer::VotedElsewhere, Some(_)) => ELSEWHERE.to_string(),
                                    (_, Some(r)) => r,
                                };
                                Value::Array(vec![Value::Int(1), Value::bulk(leader), Value::Int(epoch.0 as i64)])
                            }
                            _ => Value::ok(),
                        };
                        s.handle(t, Input::Reply { link, tag, reply });
                    }
                    _ => {}
                }
                queue.extend(std::iter::from_fn(|| s.poll_output()));
            }
        }
        let lines = decisions(lines);
        if !lines.is_empty() {
            steps.push((t, lines));
        }
        t += 100;
    }
    steps
}

/// The events of a run, with their times.
fn events(steps: &[(u64, Vec<String>)]) -> Vec<(u64, String)> {
    steps.iter().flat_map(|(t, l)| l.iter().filter(|x| x.starts_with("event ")).map(|x| (*t, x.clone()))).collect()
}

fn first(events: &[(u64, String)], name: &str) -> Option<u64> {
    events.iter().find(|(_, e)| e.starts_with(&format!("event {name} "))).map(|(t, _)| *t)
}

#[test]
fn startup_events_are_stamped_with_now() {
    let mut s = core_with(&[], 1, 5000);
    assert_eq!(drain(&mut s), ["event +monitor master m 10.0.0.1 6379 quorum 1"]);
    // `[ms ago, event, message]`: 0 ms ago at start-up, 2000 ms ago two seconds later.
    assert_eq!(
        command(&mut s, 5000, &["SENTINEL", "TIMELINE", "m"]),
        [r#"reply 1 [["0", "+monitor", "master m 10.0.0.1 6379 quorum 1"]]"#]
    );
    assert_eq!(
        command(&mut s, 7000, &["SENTINEL", "TIMELINE", "m"]),
        [r#"reply 1 [["2000", "+monitor", "master m 10.0.0.1 6379 quorum 1"]]"#]
    );
}

#[test]
fn a_vote_is_persisted_before_it_is_announced_or_replied() {
    let mut s = core_with(&[(PEER, 26380)], 2, 0);
    drain(&mut s);
    let ask = |epoch: &str, who: &str| -> Vec<String> {
        vec![
            "SENTINEL".into(),
            "IS-MASTER-DOWN-BY-ADDR".into(),
            "10.0.0.1".into(),
            "6379".into(),
            epoch.into(),
            who.into(),
        ]
    };
    let call = |s: &mut Sentinel, now, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        command(s, now, &args)
    };
    // A new epoch: the epoch and the vote are on disk before anyone hears of them.
    assert_eq!(
        call(&mut s, 1000, ask("5", PEER)),
        [
            "persist current-epoch=5 m:leader-epoch=5".to_string(),
            "event +new-epoch 5".into(),
            "persist current-epoch=5 m:leader-epoch=5".into(),
            format!("event +vote-for-leader {PEER} 5"),
            format!(r#"reply 1 [0, "{PEER}", 5]"#),
        ]
    );
    // Another candidate in the same epoch gets the vote already cast, and nothing is written.
    let other = "3333333333333333333333333333333333333333";
    assert_eq!(call(&mut s, 1100, ask("5", other)), [format!(r#"reply 1 [0, "{PEER}", 5]"#)]);
    // An older epoch changes nothing either.
    assert_eq!(call(&mut s, 1200, ask("4", other)), [format!(r#"reply 1 [0, "{PEER}", 5]"#)]);
    // A plain down-state query (`*`) votes for nobody.
    assert_eq!(call(&mut s, 1300, ask("0", "*")), [r#"reply 1 [0, "*", 0]"#.to_string()]);
    assert_eq!(s.current_epoch().0, 5);
}

#[test]
fn sdown_odown_election_and_abort_without_replicas() {
    let mut s = core_with(&[(PEER, 26380)], 2, 0);
    drain(&mut s);
    let steps = run(&mut s, 0, 3000);
    let at = |t: u64| steps.iter().find(|(at, _)| *at == t).map(|(_, l)| l.clone()).unwrap_or_default();
    let ask = |epoch: u64, runid: Option<&str>| {
        format!(
            "send 3 IsMasterDownByAddr {{ addr: Addr {{ host: \"10.0.0.1\", port: 6379 }}, epoch: Epoch({epoch}), runid: {} }}",
            runid.map_or("None".to_string(), |r| format!("Some(\"{r}\")"))
        )
    };
    // The peer link asks the peer's view of the master at once (proof before fencing,
    // docs/fencing.md).
    assert_eq!(
        at(0),
        [
            "connect 1 Command 10.0.0.1:6379",
            "connect 2 PubSub 10.0.0.1:6379",
            "connect 3 Command 10.0.0.9:26380",
            r#"send 3 SentinelMaster { name: "m" }"#
        ]
    );
    // Nothing but housekeeping until down-after (1000 ms) has passed without a reply.
    let first_decision = steps.iter().map(|(t, _)| *t).find(|&t| t > 0);
    assert_eq!(first_decision, Some(1100), "{steps:#?}");
    // SDOWN, the peer is asked, says down: ODOWN; the failover epoch is on disk before
    // it is announced or sent, and so is our own vote. The peer's vote is acted on as it
    // arrives: elected, and with no replica to promote the attempt is aborted.
    assert_eq!(
        at(1100),
        [
            "event +sdown master m 10.0.0.1 6379".to_string(),
            ask(0, None),
            "event +odown master m 10.0.0.1 6379 #quorum 2/2".into(),
            "persist current-epoch=1 m:leader-epoch=1".into(),
            "event +new-epoch 1".into(),
            "event +try-failover master m 10.0.0.1 6379".into(),
            ask(1, Some(ME)),
            "persist current-epoch=1 m:leader-epoch=1".into(),
            format!("event +vote-for-leader {ME} 1"),
            "event +elected-leader master m 10.0.0.1 6379".into(),
            "event +failover-state-select-slave master m 10.0.0.1 6379".into(),
            "event +replica-selection master m 10.0.0.1 6379 none eligible".into(),
            "event -failover-abort-no-good-slave master m 10.0.0.1 6379".into(),
        ]
    );
    let t = &1100;
    // Nothing else decided after the abort within the run: no promotion, no switch.
    let after: Vec<String> = steps
        .iter()
        .filter(|(at, _)| at > t)
        .flat_map(|(_, l)| l.iter().filter(|x| x.starts_with("event ")).cloned())
        .collect();
    assert!(after.is_empty(), "{after:#?}");
}

const PEER3: &str = "3333333333333333333333333333333333333333";
const PEER4: &str = "4444444444444444444444444444444444444444";
const PEER5: &str = "5555555555555555555555555555555555555555";

/// Five sentinels, quorum 2: the quorum says the master is down (ODOWN 2/2), but a leader
/// needs a majority of all the sentinels (3) too (§7.3). With only one peer reachable the
/// election fails and times out; with two voting peers it succeeds.
#[test]
fn a_leader_needs_a_majority_even_when_the_quorum_agrees() {
    let peers = [(PEER, 26380), (PEER3, 26381), (PEER4, 26382), (PEER5, 26383)];
    let mut s = core_with(&peers, 2, 0);
    drain(&mut s);
    let one =
        [(26380, Peer::Votes), (26381, Peer::Unreachable), (26382, Peer::Unreachable), (26383, Peer::Unreachable)];
    let ev = events(&run_with(&mut s, 0, 25_000, &one));
    assert!(first(&ev, "+odown").is_some(), "{ev:#?}");
    assert_eq!(first(&ev, "+try-failover"), Some(1100), "{ev:#?}");
    // Two votes of five (ours and the peer's) reach the quorum, not the majority.
    assert_eq!(first(&ev, "+elected-leader"), None, "{ev:#?}");
    let abort = first(&ev, "-failover-abort-not-elected").expect("the election times out");
    assert!(abort > 1100, "{ev:#?}");

    let mut s = core_with(&peers, 2, 0);
    drain(&mut s);
    let two = [(26380, Peer::Votes), (26381, Peer::Votes), (26382, Peer::Unreachable), (26383, Peer::Unreachable)];
    let ev = events(&run_with(&mut s, 0, 3_000, &two));
    assert_eq!(first(&ev, "+elected-leader"), Some(1100), "{ev:#?}");
    assert_eq!(first(&ev, "-failover-abort-not-elected"), None, "{ev:#?}");
}

/// Three sentinels, quorum 3: all three say the master is down (ODOWN 3/3) and two of
/// three vote for us, a majority, but fewer than the quorum (§7.3: max(quorum, majority)).
#[test]
fn a_leader_needs_the_quorum_even_with_a_majority() {
    let peers = [(PEER, 26380), (PEER3, 26381)];
    let mut s = core_with(&peers, 3, 0);
    drain(&mut s);
    let split = [(26380, Peer::Votes), (26381, Peer::VotedElsewhere)];
    let ev = events(&run_with(&mut s, 0, 25_000, &split));
    assert!(ev.iter().any(|(_, e)| e.starts_with("event +odown") && e.ends_with("#quorum 3/3")), "{ev:#?}");
    assert!(first(&ev, "+try-failover").is_some(), "{ev:#?}");
    assert_eq!(first(&ev, "+elected-leader"), None, "{ev:#?}");
    assert!(first(&ev, "-failover-abort-not-elected").is_some(), "{ev:#?}");

    let mut s = core_with(&peers, 3, 0);
    drain(&mut s);
    let all = [(26380, Peer::Votes), (26381, Peer::Votes)];
    let ev = events(&run_with(&mut s, 0, 3_000, &all));
    assert_eq!(first(&ev, "+elected-leader"), Some(1100), "{ev:#?}");
}

/// An election that cannot be won is given up after min(election timeout, failover-timeout)
/// from the attempt's start (§8.2; the start carries up to 1 s of desync), and the next
/// attempt waits for twice the failover-timeout after that start (§7.1).
#[test]
fn an_unwinnable_election_is_aborted_at_the_failover_timeout_and_retried_after_twice_it() {
    let peers = [(PEER, 26380), (PEER3, 26381), (PEER4, 26382), (PEER5, 26383)];
    let mut s = core_with(&peers, 2, 0);
    drain(&mut s);
    s.handle(
        0,
        Input::Command {
            client: ClientId(1),
            args: ["SENTINEL", "SET", "m", "failover-timeout", "3000"].iter().map(|a| a.as_bytes().to_vec()).collect(),
        },
    );
    drain(&mut s);
    let one =
        [(26380, Peer::Votes), (26381, Peer::Unreachable), (26382, Peer::Unreachable), (26383, Peer::Unreachable)];
    let ev = events(&run_with(&mut s, 0, 12_000, &one));
    let tries: Vec<u64> = ev.iter().filter(|(_, e)| e.starts_with("event +try-failover ")).map(|(t, _)| *t).collect();
    let aborts: Vec<u64> =
        ev.iter().filter(|(_, e)| e.starts_with("event -failover-abort-not-elected ")).map(|(t, _)| *t).collect();
    assert_eq!(tries.first(), Some(&1100), "{ev:#?}");
    let (start, abort) = (tries[0], aborts.first().copied().expect("aborted"));
    // After failover-timeout (3 s, below the 10 s election timeout), not before.
    assert!((start + 3_000..=start + 4_100).contains(&abort), "abort at {abort}: {ev:#?}");
    assert_eq!(first(&ev, "+elected-leader"), None, "{ev:#?}");
    // The next attempt no sooner than 2 × failover-timeout after the first one's start.
    let next = tries.get(1).copied().expect("tried again");
    assert!((start + 6_000..=start + 7_200).contains(&next), "retry at {next}: {ev:#?}");
}
