//! `COMMAND` introspection over the sentinel-mode table (§11.1), and the small part of
//! `ACL` that makes sense with only the `default` user.

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
    "    Print this help.",
];

const ACL_HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
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
        let keep: Box<dyn Fn(&Spec) -> bool> = match opts {
            [] => Box::new(|_| true),
            [f, kind, value] if lower(f) == "filterby" => match lower(kind).as_str() {
                "module" => Box::new(|_| false),
                "aclcat" => {
                    let cat = format!("@{}", lower(value));
                    Box::new(move |s| s.acl.contains(&cat.as_str()))
                }
                "pattern" => {
                    let pattern = value.clone();
                    Box::new(move |s| glob_match(&pattern, s.name.as_bytes(), true))
                }
                _ => return self.reply_err("syntax error"),
            },
            _ => return self.reply_err("syntax error"),
        };
        let mut names = Vec::new();
        for spec in TABLE.iter().filter(|s| keep(s)) {
            names.push(Value::bulk(spec.name));
            let subs = table::listed_subcommands(spec.name);
            names.extend(subs.iter().map(|(sub, _)| Value::bulk(format!("{}|{sub}", spec.name))));
        }
        self.reply(Value::Array(names));
    }

    pub(crate) fn acl(&mut self, args: &[Vec<u8>]) {
        match lower(&args[1]).as_str() {
            "whoami" => self.reply(Value::bulk("default")),
            "users" => self.reply(Value::Array(vec![Value::bulk("default")])),
            _ => self.reply(help(ACL_HELP)),
        }
    }
}

fn status_set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|s| Value::simple(*s)).collect())
}

/// Command flags as `COMMAND INFO` shows them: Redis never lists the sentinel-mode flags.
fn shown_flags(flags: &[&str]) -> Value {
    let shown: Vec<&str> = flags.iter().copied().filter(|f| !matches!(*f, "sentinel" | "only_sentinel")).collect();
    status_set(&shown)
}

/// Redis 7.0 `COMMAND INFO` entry: name, arity, flags, first/last key, step, ACL
/// categories, tips, key specs, subcommands.
fn command_info(spec: &Spec) -> Value {
    let subs = table::listed_subcommands(spec.name).iter().map(|(sub, arity)| {
        info_entry(&format!("{}|{sub}", spec.name), *arity, spec.flags, spec.acl, vec![])
    });
    info_entry(spec.name, spec.arity, spec.flags, spec.acl, subs.collect())
}

fn info_entry(name: &str, arity: i64, flags: &[&str], acl: &[&str], subs: Vec<Value>) -> Value {
    Value::Array(vec![
        Value::bulk(name),
        Value::Int(arity),
        shown_flags(flags),
        Value::Int(0),
        Value::Int(0),
        Value::Int(0),
        status_set(acl),
        Value::Set(vec![]),
        Value::Array(vec![]),
        Value::Array(subs),
    ])
}

/// A minimal but valid `COMMAND DOCS` entry (what redis-cli reads for its help).
fn command_docs(spec: &Spec) -> Value {
    Value::str_map([("summary", spec.summary), ("since", spec.since), ("group", spec.group)])
}
