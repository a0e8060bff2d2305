//! The sentinel-mode command table (§11.1): names, arities, flags and docs, as Redis 7.0
//! declares them. It drives the generic arity check and the `COMMAND` replies, so the two
//! cannot disagree. Pure data.

/// One top-level command.
pub(crate) struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum if negative (the name counts).
    pub arity: i64,
    pub flags: &'static [&'static str],
    pub acl: &'static [&'static str],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// Allowed before authentication.
    pub no_auth: bool,
    /// Allowed in a RESP2 subscribed context.
    pub in_pubsub: bool,
    /// Has subcommands (its full name in errors is `name|sub`).
    pub container: bool,
}

impl Spec {
    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        arity_ok(self.arity, argc)
    }
}

const CONN: &[&str] = &["@fast", "@connection"];
const PUBSUB_FLAGS: &[&str] = &["pubsub", "noscript", "loading", "stale", "sentinel"];
const PUBSUB_ACL: &[&str] = &["@pubsub", "@slow"];

/// The base of every entry: all boolean properties off.
const NO_FLAGS: Spec = Spec {
    name: "", arity: 0, flags: &[], acl: &[], group: "", since: "", summary: "",
    no_auth: false, in_pubsub: false, container: false,
};

macro_rules! spec {
    ($name:literal, $arity:literal, $flags:expr, $acl:expr, $group:literal, $since:literal, $summary:literal
     $(, $field:ident)*) => {
        Spec {
            name: $name, arity: $arity, flags: $flags, acl: $acl, group: $group, since: $since,
            summary: $summary, $($field: true,)* ..NO_FLAGS
        }
    };
}

/// Every command a sentinel answers, in `COMMAND LIST` order.
pub(crate) static TABLE: &[Spec] = &[
    spec!("acl", -2, &["sentinel"], &["@slow"], "server", "6.0.0", "A container for Access List Control commands", container),
    spec!("auth", -2, &["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], CONN,
        "connection", "1.0.0", "Authenticate to the server", no_auth),
    spec!("client", -2, &["sentinel"], &["@slow"], "connection", "2.4.0", "A container for client connection commands", container),
    spec!("command", -1, &["loading", "stale", "sentinel"], &["@slow", "@connection"], "server", "2.8.13",
        "Get array of Redis command details", container),
    spec!("hello", -1, &["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], CONN,
        "connection", "6.0.0", "Handshake with Redis", no_auth),
    spec!("info", -1, &["loading", "stale", "sentinel"], &["@slow", "@dangerous"], "server", "1.0.0",
        "Get information and statistics about the server"),
    spec!("ping", -1, &["fast", "sentinel"], CONN, "connection", "1.0.0", "Ping the server", in_pubsub),
    spec!("psubscribe", -2, PUBSUB_FLAGS, PUBSUB_ACL, "pubsub", "2.0.0",
        "Listen for messages published to channels matching the given patterns", in_pubsub),
    spec!("publish", 3, &["pubsub", "loading", "stale", "fast", "sentinel"], &["@pubsub", "@fast"],
        "pubsub", "2.0.0", "Post a message to a channel"),
    spec!("punsubscribe", -1, PUBSUB_FLAGS, PUBSUB_ACL, "pubsub", "2.0.0",
        "Stop listening for messages posted to channels matching the given patterns", in_pubsub),
    spec!("role", 1, &["noscript", "loading", "stale", "fast", "sentinel"], &["@admin", "@fast", "@dangerous"], "server",
        "2.8.12", "Return the role of the instance in the context of replication"),
    spec!("sentinel", -2, &["admin", "sentinel", "only_sentinel"], &["@admin", "@slow", "@dangerous"], "sentinel",
        "2.8.4", "A container for Sentinel commands", container),
    spec!("shutdown", -1, &["admin", "noscript", "loading", "stale", "no_multi", "sentinel", "allow_busy"],
        &["@admin", "@slow", "@dangerous"], "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server"),
    spec!("subscribe", -2, PUBSUB_FLAGS, PUBSUB_ACL, "pubsub", "2.0.0", "Listen for messages published to the given channels", in_pubsub),
    spec!("unsubscribe", -1, PUBSUB_FLAGS, PUBSUB_ACL, "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", in_pubsub),
];

/// Subcommands handled here, with their Redis arity (the container name counts). Empty
/// for `sentinel`, whose subcommands the core checks.
pub(crate) fn subcommands(container: &str) -> &'static [(&'static str, i64)] {
    match container {
        "client" => &[
            ("getname", 2), ("getredir", 2), ("help", 2), ("id", 2), ("info", 2), ("kill", -3), ("list", -2),
            ("no-evict", 3), ("setinfo", 4), ("setname", 3),
        ],
        "command" => &[
            ("count", 2), ("docs", -2), ("getkeys", -4), ("getkeysandflags", -4), ("help", 2), ("info", -2), ("list", -2),
        ],
        "acl" => &[("help", 2), ("users", 2), ("whoami", 2)],
        _ => &[],
    }
}

/// `SENTINEL` subcommands with their arities (§11.4), for `COMMAND INFO/LIST` only: the
/// core validates them, so it can add subcommands without touching the listener.
pub(crate) const SENTINEL_SUBCOMMANDS: &[(&str, i64)] = &[
    ("ckquorum", 3), ("config", -4), ("debug", -2), ("failover", 3), ("flushconfig", 2),
    ("get-master-addr-by-name", 3), ("help", 2), ("info-cache", -3), ("is-master-down-by-addr", 6),
    ("master", 3), ("masters", 2), ("monitor", 6), ("myid", 2), ("pending-scripts", 2), ("remove", 3),
    ("replicas", 3), ("reset", 3), ("sentinels", 3), ("set", -5), ("simulate-failure", -3), ("slaves", 3),
];

/// Subcommands shown by `COMMAND`, including the core's.
pub(crate) fn listed_subcommands(container: &str) -> &'static [(&'static str, i64)] {
    match container {
        "sentinel" => SENTINEL_SUBCOMMANDS,
        other => subcommands(other),
    }
}

/// Whether `argc` satisfies a Redis arity.
pub(crate) fn arity_ok(arity: i64, argc: usize) -> bool {
    let argc = argc as i64;
    if arity >= 0 { argc == arity } else { argc >= -arity }
}

/// The spec of a command by name, case-insensitively.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_arity() {
        assert_eq!(lookup(b"PiNg").map(|s| s.name), Some("ping"));
        assert!(lookup(b"config").is_none());
        let role = lookup(b"role").expect("role");
        assert!(role.arity_ok(1) && !role.arity_ok(2));
        let sub = lookup(b"subscribe").expect("subscribe");
        assert!(!sub.arity_ok(1) && sub.arity_ok(2) && sub.arity_ok(9));
        let names: Vec<_> = TABLE.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
