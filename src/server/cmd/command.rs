//! `COMMAND` introspection over the sentinel-mode table (§11.1).

use super::help;
use crate::glob::glob_match;
use crate::resp::Value;
use crate::server::dispatch::lower;
use crate::server::session::Session;
use crate::server::table::{self, Spec, TABLE};

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

impl Session {
    pub(crate) fn command(&mut self, args: &[Vec<u8>]) {
        let Some(sub) = args.get(1) else {
            return self.reply(Value::Array(TABLE.iter().map(command_info).collect()));
        };
        match lower(sub).as_str() {
            "count" => self.reply(Value::Int(TABLE.len() as i64)),
            "list" => self.command_list(&args[2..]),
            "info" if args.len() == 2 => self.reply(Value::Array(TABLE.iter().map(command_info).collect())),
            "info" => {
                let infos = args[2..].iter().map(|n| table::lookup(n).map_or(Value::Null, command_info));
                self.reply(Value::Array(infos.collect()));
            }
            "docs" => {
                let specs: Vec<&Spec> = if args.len() == 2 {
                    TABLE.iter().collect()
                } else {
                    args[2..].iter().filter_map(|n| table::lookup(n)).collect()
                };
                self.reply(Value::Map(specs.into_iter().map(|s| (Value::bulk(s.name), command_docs(s))).collect()));
            }
            "getkeys" | "getkeysandflags" => match table::lookup(&args[2]) {
                None => self.reply_err("Invalid command specified"),
                Some(s) if !s.arity_ok(args.len() - 2) => {
                    self.reply_err("Invalid number of arguments specified for command")
                }
                Some(_) => self.reply_err("The command has no key arguments"),
            },
            _ => self.reply(help(COMMAND_HELP)),
        }
    }

    /// `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`.
    fn command_list(&mut self, opts: &[Vec<u8>]) {
        // Redis tests a container and each of its subcommands separately, each with its
        // own name (`client|kill`) and ACL categories.
        let keep: Box<ListFilter> = match opts {
            [] => Box::new(|_, _| true),
            [f, kind, value] if lower(f) == "filterby" => match lower(kind).as_str() {
                "module" => Box::new(|_, _| false),
                "aclcat" => {
                    let cat = format!("@{}", lower(value));
                    Box::new(move |_, acl| acl.contains(&cat.as_str()))
                }
                "pattern" => {
                    let pattern = value.clone();
                    Box::new(move |name, _| glob_match(&pattern, name.as_bytes(), true))
                }
                _ => return self.reply_err("syntax error"),
            },
            _ => return self.reply_err("syntax error"),
        };
        let mut names = Vec::new();
        for spec in TABLE.iter() {
            if keep(spec.name, spec.acl) {
                names.push(Value::bulk(spec.name));
            }
            for sub in visible_subs(spec) {
                let full = format!("{}|{}", spec.name, sub.name);
                if keep(&full, sub.acl) {
                    names.push(Value::bulk(full));
                }
            }
        }
        self.reply(Value::Array(names));
    }
}

/// What we accept beyond Redis 7.0.15 stays out of the `COMMAND` replies, so that a client
/// asking Redis's questions gets Redis's answers (issue 9, item 7): `CLIENT SETINFO`
/// (7.2) works but is not listed, and `SENTINEL CONFIG` shows 7.0's arity (−3) although it
/// takes 7.2's several `SET` pairs.
const NOT_LISTED: &[(&str, &str)] = &[("client", "setinfo")];
const SENTINEL_CONFIG_70_ARITY: i64 = -3;

/// A `COMMAND LIST FILTERBY` test on a (full name, ACL categories) pair.
type ListFilter = dyn Fn(&str, &[&str]) -> bool;

fn visible_subs(spec: &'static Spec) -> impl Iterator<Item = &'static crate::server::table::Sub> {
    spec.subs.iter().filter(move |sub| !NOT_LISTED.contains(&(spec.name, sub.name)))
}

fn status_set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|s| Value::simple(*s)).collect())
}

/// Redis 7.0 `COMMAND INFO` entry: name, arity, flags, first/last key, step, ACL
/// categories, tips, key specs, subcommands.
fn command_info(spec: &'static Spec) -> Value {
    let subs = visible_subs(spec).map(|sub| {
        let name = format!("{}|{}", spec.name, sub.name);
        let arity = if name == "sentinel|config" { SENTINEL_CONFIG_70_ARITY } else { sub.arity };
        info_entry(&name, arity, sub.flags, sub.acl, sub.tips, vec![])
    });
    info_entry(spec.name, spec.arity, spec.flags, spec.acl, spec.tips, subs.collect())
}

fn info_entry(name: &str, arity: i64, flags: &[&str], acl: &[&str], tips: &[&str], subs: Vec<Value>) -> Value {
    Value::Array(vec![
        Value::bulk(name),
        Value::Int(arity),
        status_set(flags),
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        status_set(acl),
        Value::Set(tips.iter().map(Value::bulk).collect()),
        // Redis: key specs are always a set; subcommands an array, or an empty set when
        // the command has none (visible in RESP3).
        Value::Set(vec![]),
        if subs.is_empty() { Value::Set(vec![]) } else { Value::Array(subs) },
    ])
}

/// Redis 7.0.15's `COMMAND DOCS` reply for every sentinel-mode command (RESP3, captured
/// by scripts/gen-command-table.py), decoded once.
fn all_docs() -> &'static [(Value, Value)] {
    static DOCS: std::sync::OnceLock<Vec<(Value, Value)>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        let mut buf = bytes::BytesMut::from(&include_bytes!("../command_docs.resp")[..]);
        match crate::resp::Decoder::default().decode_value(&mut buf) {
            Ok(Some(Value::Map(pairs))) => pairs,
            _ => Vec::new(),
        }
    })
}

/// The `COMMAND DOCS` entry of one command (a minimal one if Redis 7.0 has none).
fn command_docs(spec: &Spec) -> Value {
    all_docs()
        .iter()
        .find(|(k, _)| k.as_text() == Some(spec.name.as_bytes()))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| Value::Map(vec![]))
}
