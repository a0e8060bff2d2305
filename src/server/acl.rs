//! The sentinel's own users (§11.1, §17): Redis 7.0's ACL model restricted to what a
//! sentinel has — per-user on/off, passwords (kept as SHA-256), command rules over the
//! sentinel-mode command table (`+@cat`, `-@cat`, `+cmd`, `-cmd`, `+cmd|sub`), key
//! patterns (shown, never used: a sentinel has no keys) and Pub/Sub channel patterns.
//!
//! Rules are kept as Redis keeps them — one allow bit per command and subcommand plus the
//! "future commands" bit set by `+@all` — and described back (`ACL LIST`, `GETUSER`) with
//! Redis's best-fit algorithm (`ACLDescribeSelectorCommandRules`), so the text matches
//! Redis's up to the order of single-command rules (Redis's order is its hash table's,
//! random per process).
//!
//! Not supported (rare, and refused with an error rather than ignored): selectors
//! `(...)`, first-argument rules on plain commands (`+select|0`), `%R~`/`%W~` key
//! permissions. Passwords never appear in logs; `ACL LIST` shows only their hashes.

use super::table;
use crate::glob::glob_match;
use std::collections::BTreeMap;

/// Category names in Redis 7.0's order (`ACL CAT`, and the best-fit search order).
pub(crate) const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// One user.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// SHA-256 of each password, lower-case hex, in insertion order.
    pub passwords: Vec<String>,
    /// One bit per entry of [`commands`].
    allowed: Vec<bool>,
    /// Redis's reserved "future commands" bit: set by `+@all`, cleared only by `-@all`.
    all_commands: bool,
    /// `sanitize-payload` (set by `reset`, so on `default` and config-reset users).
    sanitize_payload: bool,
    all_keys: bool,
    keys: Vec<String>,
    all_channels: bool,
    channels: Vec<String>,
}

/// Every command and subcommand (`client|id`), with its categories; bit positions.
fn commands() -> &'static [(String, &'static [&'static str])] {
    static ALL: std::sync::OnceLock<Vec<(String, &'static [&'static str])>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| table::all_commands().collect())
}

fn index_of(full: &str) -> Option<usize> {
    commands().iter().position(|(n, _)| n == full)
}

/// Indices of a command and, for a container, of all its subcommands.
fn with_subs(name: &str) -> Vec<usize> {
    let prefix = format!("{name}|");
    commands().iter().enumerate().filter(|(_, (n, _))| n == name || n.starts_with(&prefix)).map(|(i, _)| i).collect()
}

/// Why a command is refused.
#[derive(Debug, PartialEq)]
pub(crate) enum Denied {
    /// Full command name (`sentinel|set`).
    Command(String),
    /// The channel (or pattern) refused.
    Channel(String),
}

impl User {
    /// A new user as `ACL SETUSER` creates it: off, no passwords, no commands, no keys, no
    /// channels (Redis 7's `acl-pubsub-default resetchannels`).
    pub(crate) fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            allowed: vec![false; commands().len()],
            all_commands: false,
            sanitize_payload: false,
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }

    /// The built-in `default` user: `on nopass ~* &* +@all`.
    pub(crate) fn default_user() -> User {
        let mut u = User::new("default");
        for op in ["on", "nopass", "~*", "&*", "+@all"] {
            u.apply(op).expect("default user rules");
        }
        u
    }

    fn set_category(&mut self, cat: &str, on: bool) {
        let prefix_hits: Vec<String> = commands()
            .iter()
            .filter(|(n, cats)| !n.contains('|') && cats.contains(&cat))
            .map(|(n, _)| n.clone())
            .collect();
        // Redis: a container in the category carries all its subcommands along; then
        // each subcommand in the category on its own.
        for name in prefix_hits {
            for i in with_subs(&name) {
                self.allowed[i] = on;
            }
        }
        for (i, (n, cats)) in commands().iter().enumerate() {
            if n.contains('|') && cats.contains(&cat) {
                self.allowed[i] = on;
            }
        }
    }

    /// Applies one `ACL SETUSER` rule; the error is Redis's reason text.
    pub(crate) fn apply(&mut self, op: &str) -> Result<(), &'static str> {
        const UNKNOWN: &str = "Unknown command or category name in ACL";
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "allkeys" => return self.apply("~*"),
            "resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            "allchannels" => return self.apply("&*"),
            "resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            "allcommands" => return self.apply("+@all"),
            "nocommands" => return self.apply("-@all"),
            "sanitize-payload" => self.sanitize_payload = true,
            "skip-sanitize-payload" => self.sanitize_payload = false,
            "reset" => {
                for op in ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "-@all"] {
                    self.apply(op)?;
                }
            }
            "+@all" | "-@all" => {
                let on = lower.starts_with('+');
                self.all_commands = on;
                self.allowed.iter_mut().for_each(|b| *b = on);
            }
            _ => return self.apply_prefixed(op, UNKNOWN),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, op: &str, unknown: &'static str) -> Result<(), &'static str> {
        let (first, rest) = op.split_at(op.chars().next().map_or(0, char::len_utf8));
        match first {
            ">" => {
                let hash = sha256_hex(rest.as_bytes());
                if !self.passwords.contains(&hash) {
                    self.passwords.push(hash);
                }
                self.nopass = false;
            }
            "<" => {
                let hash = sha256_hex(rest.as_bytes());
                let before = self.passwords.len();
                self.passwords.retain(|h| *h != hash);
                if before == self.passwords.len() {
                    return Err("The password you are trying to remove from the user does not exist");
                }
            }
            "#" => {
                if rest.len() != 64 || !rest.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
                    return Err("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
                }
                if !self.passwords.iter().any(|h| h == rest) {
                    self.passwords.push(rest.to_string());
                }
                self.nopass = false;
            }
            "!" => {
                let before = self.passwords.len();
                self.passwords.retain(|h| h != rest);
                if before == self.passwords.len() {
                    return Err("The password you are trying to remove from the user does not exist");
                }
            }
            "~" => {
                if self.all_keys {
                    return Err("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns");
                }
                if rest == "*" {
                    self.all_keys = true;
                    self.keys.clear();
                } else if !self.keys.iter().any(|k| k == rest) {
                    self.keys.push(rest.to_string());
                }
            }
            "&" => {
                if self.all_channels {
                    return Err("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels");
                }
                if rest == "*" {
                    self.all_channels = true;
                    self.channels.clear();
                } else if !self.channels.iter().any(|k| k == rest) {
                    self.channels.push(rest.to_string());
                }
            }
            "+" | "-" => {
                let on = first == "+";
                let name = rest.to_ascii_lowercase();
                if let Some(cat) = name.strip_prefix('@') {
                    let cat = CATEGORIES.iter().find(|c| **c == cat).ok_or(unknown)?;
                    let tagged = format!("@{cat}");
                    let tagged: &'static str = CAT_TAGS.iter().find(|t| **t == tagged).copied().ok_or(unknown)?;
                    self.set_category(tagged, on);
                } else if let Some((cmd, sub)) = name.split_once('|') {
                    let spec = table::lookup(cmd.as_bytes()).ok_or(unknown)?;
                    if !spec.container() {
                        return Err("Allowing first-arg of a subcommand is not supported");
                    }
                    let i = index_of(&format!("{cmd}|{sub}")).ok_or(unknown)?;
                    self.allowed[i] = on;
                } else {
                    table::lookup(name.as_bytes()).ok_or(unknown)?;
                    for i in with_subs(&name) {
                        self.allowed[i] = on;
                    }
                }
            }
            "(" => return Err("Selectors are not supported by this sentinel"),
            _ => return Err("Syntax error"),
        }
        Ok(())
    }

    /// Whether `pass` is one of the user's passwords (or the user is `nopass`).
    pub(crate) fn password_ok(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let hash = sha256_hex(pass);
        // Compare every hash fully, so the time does not depend on which one matched.
        self.passwords.iter().fold(false, |acc, h| acc | constant_time_eq(h.as_bytes(), hash.as_bytes()))
    }

    /// Redis's `ACLSelectorCheckCmd`: the command (the subcommand for containers) must be
    /// allowed, unless it is a `no_auth` command; Pub/Sub channels must match.
    pub(crate) fn check(&self, args: &[Vec<u8>]) -> Result<(), Denied> {
        let Some(spec) = table::lookup(&args[0]) else { return Ok(()) };
        // Fast path (every command, every time): a user allowed everything needs no lookup.
        if !spec.no_auth && !self.allowed.iter().all(|&a| a) {
            let full = acl_name(spec, args);
            let allowed = index_of(&full).or_else(|| index_of(spec.name)).is_none_or(|i| self.allowed[i]);
            if !allowed {
                return Err(Denied::Command(full));
            }
        }
        if self.all_channels {
            return Ok(());
        }
        let channels: &[Vec<u8>] = match spec.name {
            "publish" => &args[1..2],
            "subscribe" => &args[1..],
            "psubscribe" => &args[1..],
            _ => &[],
        };
        let literal = spec.name == "psubscribe";
        for ch in channels {
            let ok = self.channels.iter().any(|p| {
                if literal {
                    p.as_bytes() == &ch[..]
                } else {
                    glob_match(p.as_bytes(), ch, false)
                }
            });
            if !ok {
                return Err(Denied::Channel(String::from_utf8_lossy(ch).into_owned()));
            }
        }
        Ok(())
    }

    /// `on|off [nopass] [#hash ...]`, the flags part of `ACL LIST`.
    fn describe_flags(&self) -> Vec<String> {
        self.flags().into_iter().map(String::from).collect()
    }

    pub(crate) fn keys_text(&self) -> String {
        if self.all_keys {
            "~*".into()
        } else {
            self.keys.iter().map(|k| format!("~{k}")).collect::<Vec<_>>().join(" ")
        }
    }

    pub(crate) fn channels_text(&self) -> String {
        if self.all_channels {
            "&*".into()
        } else {
            self.channels.iter().map(|k| format!("&{k}")).collect::<Vec<_>>().join(" ")
        }
    }

    /// The command rules as Redis 7.0 describes them (best fit over categories, then the
    /// single commands that still differ).
    pub(crate) fn commands_text(&self) -> String {
        let additive = !self.all_commands;
        let mut rules = vec![if additive { "-@all" } else { "+@all" }.to_string()];
        let mut fake = User::new("");
        fake.apply(if additive { "-@all" } else { "+@all" }).expect("rule");
        let mut temp = self.clone();
        let mut applied = [false; 21];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, cat) in CAT_TAGS.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (mut on, mut off) = (0, 0);
                for (i, (_, cats)) in commands().iter().enumerate() {
                    if cats.contains(cat) {
                        if temp.allowed[i] {
                            on += 1
                        } else {
                            off += 1
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            let cat = CAT_TAGS[j];
            fake.set_category(cat, additive);
            temp.set_category(cat, !additive);
            rules.push(format!("{}{cat}", if additive { '+' } else { '-' }));
            applied[j] = true;
        }
        // Single commands, a container before its subcommands; a container's rule
        // carries its subcommands along (Redis's `ACLChangeSelectorPerm`).
        for (i, (name, _)) in commands().iter().enumerate() {
            if self.allowed[i] != fake.allowed[i] {
                rules.push(format!("{}{name}", if self.allowed[i] { '+' } else { '-' }));
                if !name.contains('|') {
                    for j in with_subs(name) {
                        fake.allowed[j] = self.allowed[i];
                    }
                }
            }
        }
        rules.join(" ")
    }

    /// One `ACL LIST` line (also the config-file form).
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec![format!("user {}", self.name)];
        parts.extend(self.describe_flags());
        parts.extend(self.passwords.iter().map(|h| format!("#{h}")));
        let keys = self.keys_text();
        if !keys.is_empty() {
            parts.push(keys);
        }
        if self.all_channels {
            parts.push("&*".into());
        } else {
            parts.push("resetchannels".into());
            parts.extend(self.channels.iter().map(|c| format!("&{c}")));
        }
        parts.push(self.commands_text());
        parts.join(" ")
    }

    /// The flags `ACL GETUSER` lists.
    pub(crate) fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        if self.sanitize_payload {
            f.push("sanitize-payload");
        }
        f
    }
}

/// `@`-prefixed category names, in [`CATEGORIES`] order (static strings for lookups).
const CAT_TAGS: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// `client|list` for containers (with a known or unknown subcommand), else the name;
/// Valkey's aliases of SENTINEL subcommands are the same commands (§18), so named as Redis
/// names them (the alias list is the core's, `core::sentinel_alias_of`).
fn acl_name(spec: &table::Spec, args: &[Vec<u8>]) -> String {
    match args.get(1).and_then(|sub| crate::core::sentinel_alias_of(sub)) {
        Some(name) if spec.container() => format!("{}|{}", spec.name, name.to_ascii_lowercase()),
        _ => table::full_name(spec, args, String::new()),
    }
}

/// The users of one sentinel.
#[derive(Debug)]
pub(crate) struct Acl {
    pub users: BTreeMap<String, User>,
}

impl Acl {
    /// Users at startup: `default` (with `requirepass` as its password, §17), then the
    /// config's `user` lines in order (a `default` line starts from `reset`, as Redis).
    pub(crate) fn from_config(requirepass: Option<&str>, lines: &[Vec<String>]) -> Result<Acl, String> {
        let mut default = User::default_user();
        if let Some(pw) = requirepass {
            default.apply("resetpass").expect("rule");
            default.apply(&format!(">{pw}")).expect("rule");
        }
        let mut acl = Acl { users: BTreeMap::from([("default".to_string(), default)]) };
        let mut seen = Vec::new();
        for line in lines {
            let Some((name, ops)) = line.split_first() else { return Err("wrong number of arguments".into()) };
            if seen.contains(name) {
                return Err(format!("Duplicate user '{name}' found"));
            }
            seen.push(name.clone());
            let mut user = User::new(name);
            if name == "default" {
                user = acl.users["default"].clone();
                user.apply("reset").expect("rule");
            }
            for op in ops {
                user.apply(op).map_err(|e| format!("Error in user declaration '{op}': {e}"))?;
            }
            acl.users.insert(name.clone(), user);
        }
        Ok(acl)
    }

    /// Users of an `aclfile` (lines checked by [`read_acl_file`]); `default` as Redis
    /// creates it unless the file has it.
    pub(crate) fn from_acl_file(lines: &[Vec<String>]) -> Result<Acl, String> {
        let mut acl = Acl { users: BTreeMap::from([("default".to_string(), User::default_user())]) };
        for line in lines {
            let Some((name, ops)) = line.split_first() else { return Err("wrong number of arguments".into()) };
            acl.users.insert(name.clone(), file_user(name, ops)?);
        }
        Ok(acl)
    }

    /// `ACL SETUSER name op ...`, all or nothing.
    pub(crate) fn set_user(&mut self, name: &str, ops: &[String]) -> Result<(), String> {
        let mut user = self.users.get(name).cloned().unwrap_or_else(|| User::new(name));
        for op in ops {
            user.apply(op).map_err(|e| format!("Error in ACL SETUSER modifier '{op}': {e}"))?;
        }
        self.users.insert(name.to_string(), user);
        Ok(())
    }
}

/// Redis's trailer of every `aclfile` error.
const ACL_FILE_UNCHANGED: &str =
    "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";

/// Reads an `aclfile` (Redis's `ACLLoadFromFile`): one `user <name> <rule> ...` per line,
/// blank lines skipped, no comments. Returns the lines (the arguments after `user`) for
/// [`Acl::from_config`] without `requirepass`: users come from the file alone, and a file
/// without a `default` line leaves `default` as Redis creates it (on, nopass, all
/// commands). Errors are Redis's texts, every bad line named as `<file>:<line>` with the
/// path as configured (`shown`).
pub fn read_acl_file(path: &std::path::Path, shown: &str) -> Result<Vec<Vec<String>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        // Redis prints strerror(3): the text without Rust's "(os error N)".
        let why = e.to_string();
        let why = why.split(" (os error").next().unwrap_or_default().to_string();
        format!("Error loading ACLs, opening file '{shown}': {why}")
    })?;
    let mut errors = String::new();
    let mut lines: Vec<Vec<String>> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let Some(words) = crate::resp::split_args(line.as_bytes()) else {
            errors.push_str(&format!("{shown}:{n}: unbalanced quotes in acl line. "));
            continue;
        };
        let words: Vec<String> = words.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        if words.len() < 2 || words[0] != "user" {
            errors.push_str(&format!("{shown}:{n} should start with user keyword followed by the username. "));
            continue;
        }
        let (name, ops) = (&words[1], &words[2..]);
        if lines.iter().any(|l| &l[0] == name) {
            errors.push_str(&format!("{shown}:{n}: Duplicate user '{name}' found. "));
            continue;
        }
        if let Err(e) = file_user(name, ops) {
            errors.push_str(&format!("{shown}:{n}: {e}. "));
            continue;
        }
        lines.push(words[1..].to_vec());
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(format!("{errors}{ACL_FILE_UNCHANGED}"))
    }
}

/// One user of an `aclfile` line: unlike a config `user` line, it starts fresh (Redis
/// creates every user of the file anew, `default` included, without `reset`).
fn file_user(name: &str, ops: &[String]) -> Result<User, String> {
    let mut user = User::new(name);
    for op in ops {
        user.apply(op).map_err(|e| format!("Error in applying operation '{op}': {e}"))?;
    }
    Ok(user)
}

/// `ACL SAVE`: every user as its `ACL LIST` line, written whole or not at all (temporary
/// file, fsync, rename), keeping the file's mode.
pub(crate) fn write_acl_file(acl: &Acl, path: &std::path::Path) -> std::io::Result<()> {
    let text: String = acl.users.values().map(|u| format!("{}\n", u.describe())).collect();
    crate::config::atomic::write_atomic(path, text.as_bytes(), 0o644)
}

/// Validates `user` lines from the config file before anything starts (fatal if wrong).
pub fn check_config_users(lines: &[Vec<String>]) -> Result<(), String> {
    Acl::from_config(None, lines).map(|_| ())
}

/// Compares secrets without an early exit on the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-256 as lower-case hex, Redis's password hash.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// All command names known to the table (for `ACL CAT <cat>`): full names in a category.
pub(crate) fn commands_in(cat: &str) -> Vec<String> {
    let tag = format!("@{cat}");
    commands().iter().filter(|(_, cats)| cats.contains(&tag.as_str())).map(|(n, _)| n.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(ops: &[&str]) -> User {
        let mut u = User::new("u");
        for op in ops {
            u.apply(op).unwrap();
        }
        u
    }

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(sha256_hex(b"pw"), "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn describe_like_redis() {
        assert_eq!(User::default_user().describe(), "user default on nopass ~* &* +@all");
        assert_eq!(User::new("u1").describe(), "user u1 off resetchannels -@all");
        let u = user(&["on", "nopass", "+@all", "~*", "&*", "-sentinel|set", "-info"]);
        assert_eq!(u.describe(), "user u on nopass ~* &* +@all -info -sentinel|set");
        let u = user(&[
            "allchannels",
            "+ping",
            "-ping",
            "+ping",
            "resetchannels",
            "&foo",
            "&bar*",
            "+@connection",
            "-client",
        ]);
        assert_eq!(u.describe(), "user u off resetchannels &foo &bar* -@all +@fast +command -publish -role");
    }

    #[test]
    fn checks() {
        let u = user(&["on", ">pw", "-@all", "+ping", "+sentinel|get-master-addr-by-name", "&__sentinel__:*"]);
        assert!(u.password_ok(b"pw") && !u.password_ok(b"px"));
        assert_eq!(u.check(&args(&["PING"])), Ok(()));
        assert_eq!(u.check(&args(&["AUTH", "x"])), Ok(()));
        assert_eq!(u.check(&args(&["sentinel", "GET-MASTER-ADDR-BY-NAME", "m"])), Ok(()));
        assert_eq!(u.check(&args(&["sentinel", "get-primary-addr-by-name", "m"])), Ok(()));
        assert_eq!(u.check(&args(&["SENTINEL", "SET", "m", "a", "b"])), Err(Denied::Command("sentinel|set".into())));
        assert_eq!(u.check(&args(&["info"])), Err(Denied::Command("info".into())));
        let u = user(&["+@all", "resetchannels", "&__sentinel__:*"]);
        assert_eq!(u.check(&args(&["publish", "__sentinel__:hello", "x"])), Ok(()));
        assert_eq!(u.check(&args(&["subscribe", "+sdown"])), Err(Denied::Channel("+sdown".into())));
        assert_eq!(u.check(&args(&["psubscribe", "__sentinel__:*"])), Ok(()));
    }

    #[test]
    fn errors() {
        let mut u = User::new("u");
        assert_eq!(u.apply("+get"), Err("Unknown command or category name in ACL"));
        assert_eq!(u.apply("+client|nosuch"), Err("Unknown command or category name in ACL"));
        assert_eq!(u.apply("bogus"), Err("Syntax error"));
        let mut acl = Acl::from_config(Some("secret"), &[]).unwrap();
        assert!(acl.users["default"].password_ok(b"secret") && !acl.users["default"].password_ok(b"x"));
        assert!(acl.set_user("x", &["on".into(), "+nosuch".into()]).is_err());
        assert!(!acl.users.contains_key("x"), "SETUSER is all or nothing");
        let lines = vec![
            vec!["default".to_string(), "off".into()],
            vec!["admin".into(), "on".into(), ">a".into(), "+@all".into()],
        ];
        let acl = Acl::from_config(Some("secret"), &lines).unwrap();
        assert!(!acl.users["default"].enabled && acl.users["admin"].password_ok(b"a"));
    }
}
