//! The sentinel-mode command table (§11.1): names, arities, flags and docs, as Redis 7.0
//! declares them. It drives the generic arity check and the `COMMAND` replies, so the two
//! cannot disagree. Pure data, generated from redis-sentinel 7.0.15 by
//! scripts/gen-command-table.py into table_data.rs.

/// One top-level command.
pub(crate) struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum if negative (the name counts).
    pub arity: i64,
    /// Flags as `COMMAND INFO` shows them (Redis hides `sentinel` / `only_sentinel`).
    pub flags: &'static [&'static str],
    /// ACL categories (`@slow`, ...).
    pub acl: &'static [&'static str],
    /// `COMMAND INFO` tips.
    pub tips: &'static [&'static str],
    /// Allowed before authentication.
    pub no_auth: bool,
    /// Allowed in a RESP2 subscribed context.
    pub in_pubsub: bool,
    /// Subcommands (its full name in errors is `name|sub`); empty for plain commands.
    pub subs: &'static [Sub],
}

/// One subcommand of a container command.
pub(crate) struct Sub {
    pub name: &'static str,
    /// Redis arity; the container name counts.
    pub arity: i64,
    pub flags: &'static [&'static str],
    pub acl: &'static [&'static str],
    pub tips: &'static [&'static str],
}

impl Spec {
    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        crate::core::arity_ok(self.arity, argc)
    }

    pub(crate) fn container(&self) -> bool {
        !self.subs.is_empty()
    }
}

#[path = "table_data.rs"]
mod table_data;
pub(crate) use table_data::TABLE;

/// Subcommands checked by the listener (unknown subcommand, arity) before auth. Empty
/// for `sentinel`, whose subcommands (and their Valkey aliases) the core validates.
pub(crate) fn subcommands(container: &str) -> &'static [Sub] {
    match container {
        "sentinel" => &[],
        other => lookup(other.as_bytes()).map_or(&[], |s| s.subs),
    }
}

/// Every command and subcommand: `(full name, ACL categories)`, in table order; what ACL
/// category rules apply to.
pub(crate) fn all_commands() -> impl Iterator<Item = (String, &'static [&'static str])> {
    TABLE.iter().flat_map(|spec| {
        std::iter::once((spec.name.to_string(), spec.acl))
            .chain(spec.subs.iter().map(move |sub| (format!("{}|{}", spec.name, sub.name), sub.acl)))
    })
}

/// The lower-case full name Redis shows (`client|list`) for container commands, the
/// subcommand as typed, ASCII-lower-cased (Redis's `sdstolower`); spelled in `buf`
/// (reused: the dispatcher runs this for every command).
pub(crate) fn full_name(spec: &Spec, args: &[Vec<u8>], mut buf: String) -> String {
    buf.clear();
    buf.push_str(spec.name);
    if let Some(sub) = args.get(1).filter(|_| spec.container()) {
        buf.push('|');
        let start = buf.len();
        buf.push_str(&String::from_utf8_lossy(sub));
        buf[start..].make_ascii_lowercase();
    }
    buf
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
