//! The pure half of a link: which RESP commands a typed [`Request`] becomes (§3.2, §8.2),
//! the rename-command hook (§3.3), and how the replies that come back in order are matched
//! to tags. No sockets and no clock, so every rule here is unit-tested byte for byte.

use crate::core::monitor::hello::CHANNEL as HELLO_CHANNEL;
use crate::core::{Auth, LinkKind, Request};
use crate::resp::Value;
use std::collections::{BTreeMap, VecDeque};

/// One command as its arguments (the first is the command name).
pub type Command = Vec<Vec<u8>>;

/// `rename-command` map of the master a link belongs to (§3.3). Lookups are
/// case-insensitive; renaming a command to itself removes the mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Renames {
    map: BTreeMap<String, String>,
}

impl Renames {
    /// Builds the map from `(command, new name)` pairs (as in `MasterSnapshot`).
    pub fn new<I, K, V>(pairs: I) -> Renames
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut map = BTreeMap::new();
        for (old, new) in pairs {
            let (old, new) = (old.as_ref().to_ascii_lowercase(), new.as_ref());
            if old.eq_ignore_ascii_case(new) {
                map.remove(&old);
            } else {
                map.insert(old, new.to_string());
            }
        }
        Renames { map }
    }

    /// The name to send for `name` (e.g. `"PING"`): the renamed one, or `name` itself.
    pub fn command_name<'a>(&'a self, name: &'a str) -> &'a str {
        match self.map.get(&name.to_ascii_lowercase()) {
            Some(renamed) => renamed,
            None => name,
        }
    }

    /// A command whose first word goes through the map and whose arguments do not.
    fn cmd(&self, name: &str, args: &[&[u8]]) -> Command {
        let mut out = Vec::with_capacity(args.len() + 1);
        out.push(self.command_name(name).as_bytes().to_vec());
        out.extend(args.iter().map(|a| a.to_vec()));
        out
    }
}

/// What is pipelined on a fresh connection, replies ignored (§3.2): `AUTH`, `CLIENT
/// SETNAME`, and for Pub/Sub links `SUBSCRIBE __sentinel__:hello`. The initial `PING` of a
/// command link is the core's decision, not part of the preamble.
pub fn preamble(kind: LinkKind, auth: Option<&Auth>, client_name: &str, r: &Renames) -> Vec<Command> {
    let mut out = Vec::new();
    if let Some(auth) = auth {
        let pass = auth.pass.as_bytes();
        out.push(match &auth.user {
            Some(user) => r.cmd("AUTH", &[user.as_bytes(), pass]),
            None => r.cmd("AUTH", &[pass]),
        });
    }
    out.push(r.cmd("CLIENT", &[b"SETNAME", client_name.as_bytes()]));
    if kind == LinkKind::PubSub {
        out.push(r.cmd("SUBSCRIBE", &[HELLO_CHANNEL.as_bytes()]));
    }
    out
}

/// The commands a request becomes. All of them produce one reply each; the link reports
/// a single `Reply` for the whole list (see [`Replies`]).
pub fn request_commands(request: &Request, r: &Renames) -> Vec<Command> {
    match request {
        Request::Ping => vec![r.cmd("PING", &[])],
        Request::Info => vec![r.cmd("INFO", &[])],
        Request::Publish { channel, payload } => {
            vec![r.cmd("PUBLISH", &[channel.as_bytes(), payload.as_bytes()])]
        }
        Request::IsMasterDownByAddr { addr, epoch, runid } => {
            let (port, epoch) = (addr.port.to_string(), epoch.0.to_string());
            let runid = runid.as_deref().unwrap_or("*");
            let args: [&[u8]; 5] =
                [b"is-master-down-by-addr", addr.host.as_bytes(), port.as_bytes(), epoch.as_bytes(), runid.as_bytes()];
            vec![r.cmd("SENTINEL", &args)]
        }
        Request::ReplicaOf(target) => replicaof_transaction(target.as_ref(), r),
        Request::ScriptKill => vec![r.cmd("SCRIPT", &[b"KILL"])],
        Request::ConfigSet { pairs, rewrite } => {
            let mut args: Vec<&[u8]> = vec![b"SET"];
            for (k, v) in pairs {
                args.extend([k.as_bytes(), v.as_bytes()]);
            }
            let mut out = vec![r.cmd("CONFIG", &args)];
            if *rewrite {
                out.push(r.cmd("CONFIG", &[b"REWRITE"]));
            }
            out
        }
        Request::SentinelMaster { name } => vec![r.cmd("SENTINEL", &[b"MASTER", name.as_bytes()])],
        Request::Failover { to, timeout_ms } => {
            let (port, timeout) = (to.port.to_string(), timeout_ms.to_string());
            vec![r.cmd("FAILOVER", &[b"TO", to.host.as_bytes(), port.as_bytes(), b"TIMEOUT", timeout.as_bytes()])]
        }
    }
}

/// The §8.2 transaction, exactly as Redis Sentinel pipelines it.
fn replicaof_transaction(target: Option<&crate::core::Addr>, r: &Renames) -> Vec<Command> {
    let slaveof = match target {
        Some(addr) => r.cmd("SLAVEOF", &[addr.host.as_bytes(), addr.port.to_string().as_bytes()]),
        None => r.cmd("SLAVEOF", &[b"NO", b"ONE"]),
    };
    vec![
        r.cmd("MULTI", &[]),
        slaveof,
        r.cmd("CONFIG", &[b"REWRITE"]),
        r.cmd("CLIENT", &[b"KILL", b"TYPE", b"normal"]),
        r.cmd("CLIENT", &[b"KILL", b"TYPE", b"pubsub"]),
        r.cmd("EXEC", &[]),
    ]
}

/// Where one received frame goes.
#[derive(Debug, PartialEq)]
pub enum Routed {
    /// A reply to the preamble, or an inner reply of a multi-command request.
    Ignored,
    /// The reply to the request sent with this tag.
    Reply(u64, Value),
    /// Nothing was waiting for it: Pub/Sub traffic on a Pub/Sub link, a protocol
    /// violation on a command link.
    Unsolicited(Value),
}

/// Replies expected, in the order the commands were written (RESP replies are FIFO).
#[derive(Debug, Default)]
pub struct Replies {
    queue: VecDeque<Pending>,
}

#[derive(Debug)]
struct Pending {
    /// `None` for the preamble, whose replies are ignored (§3.2).
    tag: Option<u64>,
    /// Replies still to come for this entry.
    remaining: usize,
    /// The first error among them: a multi-command request reports it instead of the
    /// last reply (e.g. `-NOPERM` on `SLAVEOF` rather than `-EXECABORT`).
    first_error: Option<Value>,
}

impl Replies {
    /// Expects `count` (≥ 1) replies that together answer `tag`.
    pub fn expect(&mut self, tag: Option<u64>, count: usize) {
        assert!(count > 0, "a request always has at least one command");
        self.queue.push_back(Pending { tag, remaining: count, first_error: None });
    }

    /// Number of requests (and preamble commands) still waiting for replies.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Routes one frame read from the connection.
    pub fn on_frame(&mut self, frame: Value) -> Routed {
        let Some(front) = self.queue.front_mut() else {
            return Routed::Unsolicited(frame);
        };
        front.remaining -= 1;
        if front.remaining > 0 {
            if front.first_error.is_none() && matches!(frame, Value::Error(_)) {
                front.first_error = Some(frame);
            }
            return Routed::Ignored;
        }
        let done = self.queue.pop_front().expect("front exists");
        match done.tag {
            None => Routed::Ignored,
            Some(tag) => Routed::Reply(tag, done.first_error.unwrap_or(frame)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Addr, Epoch};

    fn strs(cmds: &[Command]) -> Vec<String> {
        cmds.iter()
            .map(|c| c.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn preamble_command_link_with_user_and_password() {
        let auth = Auth { user: Some("sentinel".into()), pass: "s3cret".into() };
        let cmds = preamble(LinkKind::Command, Some(&auth), "sentinel-abcdef12-cmd", &Renames::default());
        assert_eq!(strs(&cmds), ["AUTH sentinel s3cret", "CLIENT SETNAME sentinel-abcdef12-cmd"]);
    }

    #[test]
    fn preamble_pubsub_link_password_only_subscribes_to_hello() {
        let auth = Auth { user: None, pass: "pw".into() };
        let cmds = preamble(LinkKind::PubSub, Some(&auth), "sentinel-abcdef12-pubsub", &Renames::default());
        assert_eq!(strs(&cmds), ["AUTH pw", "CLIENT SETNAME sentinel-abcdef12-pubsub", "SUBSCRIBE __sentinel__:hello"]);
    }

    #[test]
    fn preamble_without_auth_sends_no_auth() {
        let cmds = preamble(LinkKind::Command, None, "n", &Renames::default());
        assert_eq!(strs(&cmds), ["CLIENT SETNAME n"]);
    }

    #[test]
    fn requests_spell_the_redis_commands() {
        let r = Renames::default();
        let long = format!("SENTINEL is-master-down-by-addr ::1 6380 8 {}", "f".repeat(40));
        let cases: Vec<(Request, Vec<&str>)> = vec![
            (Request::Ping, vec!["PING"]),
            (Request::Info, vec!["INFO"]),
            (Request::ScriptKill, vec!["SCRIPT KILL"]),
            (
                Request::ConfigSet {
                    pairs: vec![
                        ("min-replicas-to-write".into(), "1".into()),
                        ("min-replicas-max-lag".into(), "2".into()),
                    ],
                    rewrite: false,
                },
                vec!["CONFIG SET min-replicas-to-write 1 min-replicas-max-lag 2"],
            ),
            (
                Request::ConfigSet { pairs: vec![("min-replicas-to-write".into(), "0".into())], rewrite: true },
                vec!["CONFIG SET min-replicas-to-write 0", "CONFIG REWRITE"],
            ),
            (Request::SentinelMaster { name: "mymaster".into() }, vec!["SENTINEL MASTER mymaster"]),
            (
                Request::Failover { to: Addr::new("10.0.0.2", 6380), timeout_ms: 5000 },
                vec!["FAILOVER TO 10.0.0.2 6380 TIMEOUT 5000"],
            ),
            (
                Request::Publish { channel: HELLO_CHANNEL.into(), payload: "a,b,c".into() },
                vec!["PUBLISH __sentinel__:hello a,b,c"],
            ),
            (
                Request::IsMasterDownByAddr { addr: Addr::new("10.0.0.1", 6379), epoch: Epoch(7), runid: None },
                vec!["SENTINEL is-master-down-by-addr 10.0.0.1 6379 7 *"],
            ),
            (
                Request::IsMasterDownByAddr {
                    addr: Addr::new("::1", 6380),
                    epoch: Epoch(8),
                    runid: Some("f".repeat(40)),
                },
                vec![long.as_str()],
            ),
        ];
        for (req, want) in cases {
            assert_eq!(strs(&request_commands(&req, &r)), want, "{req:?}");
        }
    }

    #[test]
    fn replicaof_is_the_section_8_2_transaction() {
        let r = Renames::default();
        let to = request_commands(&Request::ReplicaOf(Some(Addr::new("127.0.0.1", 6380))), &r);
        assert_eq!(
            strs(&to),
            [
                "MULTI",
                "SLAVEOF 127.0.0.1 6380",
                "CONFIG REWRITE",
                "CLIENT KILL TYPE normal",
                "CLIENT KILL TYPE pubsub",
                "EXEC"
            ]
        );
        let none = request_commands(&Request::ReplicaOf(None), &r);
        assert_eq!(strs(&none)[1], "SLAVEOF NO ONE");
        assert_eq!(none.len(), 6);
    }

    #[test]
    fn renames_apply_to_command_names_only() {
        let r = Renames::new([("ping", "x-ping"), ("CONFIG", "cfg"), ("exec", "EXEC")]);
        assert_eq!(r.command_name("PING"), "x-ping");
        assert_eq!(r.command_name("Config"), "cfg");
        assert_eq!(r.command_name("EXEC"), "EXEC", "renaming to itself removes the mapping");
        assert_eq!(r.command_name("INFO"), "INFO");
        let tx = strs(&request_commands(&Request::ReplicaOf(None), &r));
        assert_eq!(tx[2], "cfg REWRITE");
        assert_eq!(strs(&request_commands(&Request::Ping, &r)), ["x-ping"]);
    }

    #[test]
    fn renaming_to_itself_after_a_rename_removes_it() {
        let r = Renames::new([("ping", "p2"), ("ping", "PING")]);
        assert_eq!(r.command_name("PING"), "PING");
    }

    #[test]
    fn replies_are_matched_fifo_and_preamble_replies_ignored() {
        let mut q = Replies::default();
        q.expect(None, 1);
        q.expect(Some(1), 1);
        q.expect(Some(2), 1);
        assert_eq!(q.on_frame(Value::ok()), Routed::Ignored);
        assert_eq!(q.on_frame(Value::simple("PONG")), Routed::Reply(1, Value::simple("PONG")));
        assert_eq!(q.on_frame(Value::bulk("info")), Routed::Reply(2, Value::bulk("info")));
        assert_eq!(q.len(), 0);
        assert_eq!(q.on_frame(Value::Int(1)), Routed::Unsolicited(Value::Int(1)));
    }

    #[test]
    fn transaction_reports_the_exec_reply_once() {
        let mut q = Replies::default();
        q.expect(Some(9), 6);
        for v in [
            Value::ok(),
            Value::simple("QUEUED"),
            Value::simple("QUEUED"),
            Value::simple("QUEUED"),
            Value::simple("QUEUED"),
        ] {
            assert_eq!(q.on_frame(v), Routed::Ignored);
        }
        let exec = Value::Array(vec![Value::ok(), Value::error("ERR no config file"), Value::Int(0), Value::Int(0)]);
        assert_eq!(q.on_frame(exec.clone()), Routed::Reply(9, exec));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn transaction_reports_the_first_error() {
        let mut q = Replies::default();
        q.expect(Some(3), 6);
        let noperm = Value::error("NOPERM this user has no permissions to run the 'slaveof' command");
        let replies =
            [Value::ok(), noperm.clone(), Value::simple("QUEUED"), Value::error("ERR later"), Value::simple("QUEUED")];
        for v in replies {
            assert_eq!(q.on_frame(v), Routed::Ignored);
        }
        let got = q.on_frame(Value::error("EXECABORT Transaction discarded"));
        assert_eq!(got, Routed::Reply(3, noperm));
    }
}
