//! `CLIENT` subcommands: names, ids, `INFO`/`LIST` lines in Redis 7.0 format, `KILL`.
//!
//! Reads the shared registry for other connections; changes only this connection's own
//! state, except `KILL`, which only signals the victim's task.

use super::help;
use crate::resp::Value;
use crate::server::dispatch::lower;
use crate::server::session::Session;
use crate::server::shared::ClientEntry;
use std::time::Instant;

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs only.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "HELP",
    "    Print this help.",
];

/// A filter of `CLIENT KILL` / `CLIENT LIST`.
#[derive(Default)]
struct Filter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<Kind>,
    skipme: bool,
}

/// `TYPE` of a client. Masters and replicas never connect to a sentinel as clients, so
/// those types match nobody.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Normal,
    PubSub,
    Nobody,
}

impl Filter {
    fn matches(&self, e: &ClientEntry) -> bool {
        let kind = if e.sub + e.psub > 0 { Kind::PubSub } else { Kind::Normal };
        self.id.map_or(true, |id| id == e.id.0)
            && self.addr.as_ref().map_or(true, |a| *a == e.addr.to_string())
            && self.laddr.as_ref().map_or(true, |a| *a == e.laddr.to_string())
            && self.kind.map_or(true, |k| k == kind)
    }
}

impl Session {
    pub(crate) fn client(&mut self, args: &[Vec<u8>]) {
        match lower(&args[1]).as_str() {
            "id" => self.reply(Value::Int(self.id.0 as i64)),
            "getname" if self.name.is_empty() => self.reply(Value::Null),
            "getname" => self.reply(Value::bulk(self.name.clone())),
            "setname" => {
                if self.set_name(&args[2]) {
                    self.reply(Value::ok());
                }
            }
            "setinfo" => self.client_setinfo(&args[2], &args[3]),
            "info" => {
                self.publish_entry();
                let line = self.entry.line(Instant::now());
                self.reply(Value::Verbatim("txt".into(), line.into_bytes()));
            }
            "list" => self.client_list(&args[2..]),
            "kill" => self.client_kill(&args[2..]),
            "getredir" => self.reply(Value::Int(-1)),
            "no-evict" => match lower(&args[2]).as_str() {
                "on" | "off" => self.reply(Value::ok()),
                _ => self.reply_err("syntax error"),
            },
            _ => self.reply(help(CLIENT_HELP)),
        }
    }

    /// Sets (or with an empty name clears) the connection name; replies with the error
    /// and returns false when the name is invalid (Redis `validateClientName`).
    pub(crate) fn set_name(&mut self, name: &[u8]) -> bool {
        if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
            self.reply_err("Client names cannot contain spaces, newlines or special characters.");
            return false;
        }
        self.name = String::from_utf8_lossy(name).into_owned();
        true
    }

    fn client_setinfo(&mut self, attr: &[u8], value: &[u8]) {
        let attr = lower(attr);
        if attr != "lib-name" && attr != "lib-ver" {
            return self.reply_err(format!("Unrecognized option '{attr}'"));
        }
        if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
            return self.reply_err(format!("{attr} cannot contain spaces, newlines or special characters."));
        }
        self.reply(Value::ok());
    }

    /// `CLIENT LIST [TYPE t] [ID id ...]`.
    fn client_list(&mut self, opts: &[Vec<u8>]) {
        let mut filter = Filter::default();
        let mut ids: Option<Vec<u64>> = None;
        match opts {
            [] => {}
            [opt, t] if lower(opt) == "type" => match parse_type(t) {
                Ok(k) => filter.kind = Some(k),
                Err(e) => return self.reply_err(e),
            },
            [opt, list @ ..] if lower(opt) == "id" && !list.is_empty() => {
                match list.iter().map(|a| parse_id(a)).collect::<Result<Vec<_>, _>>() {
                    Ok(list) => ids = Some(list),
                    Err(e) => return self.reply_err(e),
                }
            }
            _ => return self.reply_err("syntax error"),
        }
        self.publish_entry();
        let now = Instant::now();
        let text: String = self
            .shared
            .clients()
            .values()
            .filter(|e| filter.matches(e) && ids.as_ref().map_or(true, |ids| ids.contains(&e.id.0)))
            .map(|e| e.line(now))
            .collect();
        self.reply(Value::Verbatim("txt".into(), text.into_bytes()));
    }

    /// `CLIENT KILL addr` (old form: `+OK`) or `CLIENT KILL <filter> <value> ...`
    /// (new form: number killed; `SKIPME yes` by default).
    fn client_kill(&mut self, opts: &[Vec<u8>]) {
        let old_form = opts.len() == 1;
        let filter = if old_form {
            Filter { addr: Some(String::from_utf8_lossy(&opts[0]).into_owned()), ..Filter::default() }
        } else {
            match parse_kill_filter(opts) {
                Ok(f) => f,
                Err(e) => return self.reply_err(e),
            }
        };
        let victims: Vec<ClientEntry> = self
            .shared
            .clients()
            .values()
            .filter(|e| filter.matches(e) && !(filter.skipme && e.id == self.id))
            .cloned()
            .collect();
        for victim in &victims {
            if victim.id == self.id {
                self.close = true;
            } else {
                victim.kill.notify_one();
            }
        }
        match (old_form, victims.len()) {
            (true, 0) => self.reply_err("No such client"),
            (true, _) => self.reply(Value::ok()),
            (false, n) => self.reply(Value::Int(n as i64)),
        }
    }
}

fn parse_kill_filter(opts: &[Vec<u8>]) -> Result<Filter, String> {
    if opts.len() % 2 != 0 {
        return Err("syntax error".into());
    }
    let mut f = Filter { skipme: true, ..Filter::default() };
    for pair in opts.chunks(2) {
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        match lower(&pair[0]).as_str() {
            "id" => f.id = Some(parse_id(&pair[1])?),
            "type" => f.kind = Some(parse_type(&pair[1])?),
            "addr" => f.addr = Some(value),
            "laddr" => f.laddr = Some(value),
            "user" if value == "default" => {}
            "user" => return Err(format!("No such user '{value}'")),
            "skipme" => match value.to_ascii_lowercase().as_str() {
                "yes" => f.skipme = true,
                "no" => f.skipme = false,
                _ => return Err("syntax error".into()),
            },
            _ => return Err("syntax error".into()),
        }
    }
    Ok(f)
}

fn parse_id(arg: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| "client-id should be greater than 0".into())
}

fn parse_type(arg: &[u8]) -> Result<Kind, String> {
    match lower(arg).as_str() {
        "normal" => Ok(Kind::Normal),
        "pubsub" => Ok(Kind::PubSub),
        "master" | "replica" | "slave" => Ok(Kind::Nobody),
        _ => Err(format!("Unknown client type '{}'", String::from_utf8_lossy(arg))),
    }
}
