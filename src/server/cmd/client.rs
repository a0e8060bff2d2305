//! `CLIENT` subcommands: names, ids, `INFO`/`LIST` lines in Redis 7.0 format, `KILL`.
//!
//! Reads the shared registry for other connections; changes only this connection's own
//! state, except `KILL`, which only signals the victim's task.

use super::{help, Tracking};
use crate::resp::Value;
use crate::server::dispatch::lower;
use crate::server::session::Session;
use crate::server::shared::ClientEntry;
use std::time::Instant;

/// Redis 7.0.15's text, verbatim (`SETINFO`, a 7.2 addition we accept, is not listed).
const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
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
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// A filter of `CLIENT KILL` / `CLIENT LIST`.
#[derive(Default)]
struct Filter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<Kind>,
    user: Option<String>,
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
        self.id.is_none_or(|id| id == e.id.0)
            && self.addr.as_ref().is_none_or(|a| *a == e.addr.to_string())
            && self.laddr.as_ref().is_none_or(|a| *a == e.laddr.to_string())
            && self.kind.is_none_or(|k| k == kind)
            && self.user.as_ref().is_none_or(|u| *u == e.user)
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
            "getredir" => {
                let redir = self.ext.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
                self.reply(Value::Int(redir));
            }
            "no-evict" => match lower(&args[2]).as_str() {
                "on" | "off" => {
                    self.entry.no_evict = lower(&args[2]) == "on";
                    self.reply(Value::ok());
                }
                _ => self.reply_err("syntax error"),
            },
            "reply" => match lower(&args[2]).as_str() {
                "on" => {
                    self.ext.reply_off = false;
                    self.ext.skip_next = false;
                    self.ext.reply_on_now = true;
                    self.reply(Value::ok());
                }
                "off" => self.ext.reply_off = true,
                "skip" => self.ext.skip_next = !self.ext.reply_off,
                _ => self.reply_err("syntax error"),
            },
            "pause" => self.client_pause(args),
            "unpause" => {
                *self.shared.pause.lock().unwrap_or_else(|p| p.into_inner()) = None;
                self.shared.unpaused.notify_waiters();
                self.reply(Value::ok());
            }
            "unblock" => self.client_unblock(args),
            "tracking" => self.client_tracking(args),
            "trackinginfo" => self.client_trackinginfo(),
            "caching" => self.client_caching(&args[2]),
            _ => self.reply(help(CLIENT_HELP)),
        }
    }

    /// `CLIENT PAUSE <ms> [WRITE|ALL]`: later commands of every client wait (§11.1).
    fn client_pause(&mut self, args: &[Vec<u8>]) {
        if args.len() > 4 {
            return self.reply_err("unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.");
        }
        let Some(ms) = std::str::from_utf8(&args[2]).ok().and_then(|s| s.parse::<i64>().ok()) else {
            return self.reply_err("timeout is not an integer or out of range");
        };
        if ms < 0 {
            return self.reply_err("timeout is negative");
        }
        let all = match args.get(3).map(|a| lower(a)) {
            None => true,
            Some(m) if m == "all" => true,
            Some(m) if m == "write" => false,
            Some(_) => return self.reply_err("CLIENT PAUSE mode must be WRITE or ALL"),
        };
        let until = Instant::now() + std::time::Duration::from_millis(ms as u64);
        let mut pause = self.shared.pause.lock().unwrap_or_else(|p| p.into_inner());
        // Redis keeps the longer pause, and ALL over WRITE.
        let (until, all) = match *pause {
            Some((u, a)) if u > Instant::now() => (u.max(until), a || all),
            _ => (until, all),
        };
        *pause = Some((until, all));
        drop(pause);
        self.reply(Value::ok());
    }

    /// `CLIENT UNBLOCK <id> [TIMEOUT|ERROR]`: no sentinel command blocks, so always 0.
    fn client_unblock(&mut self, args: &[Vec<u8>]) {
        if std::str::from_utf8(&args[2]).ok().and_then(|s| s.parse::<i64>().ok()).is_none() {
            return self.reply_err("value is not an integer or out of range");
        }
        match args.get(3).map(|a| lower(a)) {
            _ if args.len() > 4 => self.reply_err("syntax error"),
            Some(r) if r != "timeout" && r != "error" => {
                self.reply_err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
            _ => self.reply(Value::Int(0)),
        }
    }

    /// `CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT]
    /// [NOLOOP]`, validated as Redis 7.0 does. A sentinel has no keys, so tracking never
    /// produces an invalidation; it only changes what `TRACKINGINFO` and `CLIENT LIST` show.
    fn client_tracking(&mut self, args: &[Vec<u8>]) {
        let mut t = Tracking::default();
        let mut i = 3;
        while i < args.len() {
            let more = args.len() - i - 1;
            match lower(&args[i]).as_str() {
                "redirect" if more >= 1 => {
                    if t.redirect != 0 {
                        return self.reply_err("A client can only redirect to a single other client");
                    }
                    let Some(id) = std::str::from_utf8(&args[i + 1]).ok().and_then(|s| s.parse::<i64>().ok()) else {
                        return self.reply_err("value is not an integer or out of range");
                    };
                    let exists = id > 0 && self.shared.clients().keys().any(|c| c.0 == id as u64);
                    if !exists {
                        return self.reply_err("The client ID you want redirect to does not exist");
                    }
                    t.redirect = id as u64;
                    i += 1;
                }
                "bcast" => t.bcast = true,
                "optin" => t.optin = true,
                "optout" => t.optout = true,
                "noloop" => t.noloop = true,
                "prefix" if more >= 1 => {
                    t.prefixes.push(args[i + 1].clone());
                    i += 1;
                }
                _ => return self.reply_err("syntax error"),
            }
            i += 1;
        }
        match lower(&args[2]).as_str() {
            "on" => {
                if !t.prefixes.is_empty() && !t.bcast {
                    return self.reply_err("PREFIX option requires BCAST mode to be enabled");
                }
                if let Some(old) = &self.ext.tracking {
                    if old.bcast != t.bcast {
                        return self.reply_err("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
                    }
                }
                if t.optin && t.optout {
                    return self.reply_err("You can't use both OPTIN and OPTOUT at the same time");
                }
                if (t.optin || t.optout) && t.bcast {
                    return self.reply_err("OPTIN and OPTOUT are not compatible with BCAST");
                }
                if let Some(old) = &self.ext.tracking {
                    if (old.optin && t.optout) || (old.optout && t.optin) {
                        return self.reply_err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
                    }
                }
                let mut prefixes = self.ext.tracking.take().map(|o| o.prefixes).unwrap_or_default();
                for p in t.prefixes.drain(..) {
                    if !prefixes.contains(&p) {
                        prefixes.push(p);
                    }
                }
                t.prefixes = prefixes;
                self.entry.tracking = Some(t.redirect);
                self.ext.tracking = Some(t);
                self.reply(Value::ok());
            }
            "off" => {
                self.ext.tracking = None;
                self.ext.caching = None;
                self.entry.tracking = None;
                self.reply(Value::ok());
            }
            _ => self.reply_err("syntax error"),
        }
    }

    fn client_trackinginfo(&mut self) {
        let mut flags = Vec::new();
        let (redirect, prefixes) = match &self.ext.tracking {
            None => {
                flags.push("off");
                (-1, vec![])
            }
            Some(t) => {
                flags.push("on");
                for (on, name) in [(t.bcast, "bcast"), (t.optin, "optin"), (t.optout, "optout")] {
                    if on {
                        flags.push(name);
                    }
                }
                match self.ext.caching {
                    Some(true) if t.optin => flags.push("caching-yes"),
                    Some(false) if t.optout => flags.push("caching-no"),
                    _ => {}
                }
                if t.noloop {
                    flags.push("noloop");
                }
                (t.redirect as i64, t.prefixes.iter().map(Value::bulk).collect())
            }
        };
        self.reply(Value::Map(vec![
            (Value::bulk("flags"), Value::Set(flags.into_iter().map(Value::bulk).collect())),
            (Value::bulk("redirect"), Value::Int(redirect)),
            (Value::bulk("prefixes"), Value::Array(prefixes)),
        ]));
    }

    fn client_caching(&mut self, arg: &[u8]) {
        let Some(t) = self.ext.tracking.as_ref().filter(|t| t.optin || t.optout) else {
            return self.reply_err(
                "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            );
        };
        match lower(arg).as_str() {
            "yes" if t.optin => self.ext.caching = Some(true),
            "yes" => return self.reply_err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
            "no" if t.optout => self.ext.caching = Some(false),
            "no" => return self.reply_err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
            _ => return self.reply_err("syntax error"),
        }
        self.reply(Value::ok());
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
                    Err(_) => return self.reply_err("Invalid client ID"),
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
            .filter(|e| filter.matches(e) && ids.as_ref().is_none_or(|ids| ids.contains(&e.id.0)))
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
            let acl = self.shared.clone();
            match parse_kill_filter(opts, |u| acl.acl().users.contains_key(u)) {
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

fn parse_kill_filter(opts: &[Vec<u8>], user_exists: impl Fn(&str) -> bool) -> Result<Filter, String> {
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
            "user" if user_exists(&value) => f.user = Some(value),
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
