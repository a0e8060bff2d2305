//! Connection commands: `PING`, `AUTH`, `HELLO`, `SHUTDOWN`.
//!
//! Authentication checks the sentinel's users (`server::acl`, §17); it never talks to
//! the core.

use crate::resp::{Protocol, Value};
use crate::server::dispatch::lower;
use crate::server::session::Session;

const NO_PASSWORD: &str = "AUTH <password> called without any password configured for the default user. \
Are you sure your configuration is correct?";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
version at the same time";

/// Outcome of checking credentials.
enum AuthCheck {
    Ok,
    Wrong,
    NoPassword,
}

impl Session {
    pub(crate) fn ping(&mut self, args: &[Vec<u8>]) {
        if args.len() > 2 {
            self.reply_err("wrong number of arguments for 'ping' command");
        } else if self.proto == Protocol::Resp2 && self.subscribed() {
            let msg = args.get(1).cloned().unwrap_or_default();
            self.reply(Value::Array(vec![Value::bulk("pong"), Value::Bulk(msg)]));
        } else if let Some(msg) = args.get(1) {
            self.reply(Value::bulk(msg));
        } else {
            self.reply(Value::simple("PONG"));
        }
    }

    pub(crate) fn auth(&mut self, args: &[Vec<u8>]) {
        let check = match args {
            [_, pass] => self.check_auth(None, pass),
            [_, user, pass] => self.check_auth(Some(user), pass),
            _ => return self.reply_err("syntax error"),
        };
        self.finish_auth(check);
    }

    /// Applies an auth outcome; replies only on success (`+OK`) or failure. Returns
    /// whether it succeeded.
    fn finish_auth(&mut self, check: AuthCheck) -> bool {
        match check {
            AuthCheck::Ok => {
                self.authed = true;
                self.reply(Value::ok());
                true
            }
            AuthCheck::Wrong => {
                self.reply(Value::error(WRONGPASS));
                false
            }
            AuthCheck::NoPassword => {
                self.reply_err(NO_PASSWORD);
                false
            }
        }
    }

    /// Checks credentials against the users (§17); on success remembers the user.
    /// `AUTH <pass>` is `AUTH default <pass>`, refused when `default` is nopass.
    fn check_auth(&mut self, user: Option<&[u8]>, pass: &[u8]) -> AuthCheck {
        let name = user.map_or_else(|| "default".to_string(), |u| String::from_utf8_lossy(u).into_owned());
        let acl = self.shared.acl();
        let Some(u) = acl.users.get(&name) else { return AuthCheck::Wrong };
        if user.is_none() && u.nopass {
            return AuthCheck::NoPassword;
        }
        if !u.enabled || !u.password_ok(pass) {
            return AuthCheck::Wrong;
        }
        drop(acl);
        self.ext.user = name.clone();
        self.entry.user = name;
        AuthCheck::Ok
    }

    /// `HELLO [protover [AUTH user pass] [SETNAME name]]` (§11.1: six-field map).
    pub(crate) fn hello(&mut self, args: &[Vec<u8>]) {
        let mut proto = self.proto;
        if let Some(ver) = args.get(1) {
            proto = match std::str::from_utf8(ver).ok().and_then(|v| v.parse::<i64>().ok()) {
                None => return self.reply_err("Protocol version is not an integer or out of range"),
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                Some(_) => return self.reply(Value::error("NOPROTO unsupported protocol version")),
            };
        }
        let (mut credentials, mut setname) = (None, None);
        let mut i = 2;
        while i < args.len() {
            let more = args.len() - i - 1;
            match lower(&args[i]).as_str() {
                "auth" if more >= 2 => {
                    credentials = Some((&args[i + 1], &args[i + 2]));
                    i += 3;
                }
                "setname" if more >= 1 => {
                    setname = Some(&args[i + 1]);
                    i += 2;
                }
                _ => {
                    let opt = String::from_utf8_lossy(&args[i]).into_owned();
                    return self.reply_err(format!("Syntax error in HELLO option '{opt}'"));
                }
            }
        }
        if let Some((user, pass)) = credentials {
            match self.check_auth(Some(user), pass) {
                AuthCheck::Ok => self.authed = true,
                other => {
                    self.finish_auth(other);
                    return;
                }
            }
        }
        if !self.authed {
            return self.reply(Value::error(HELLO_NOAUTH));
        }
        if let Some(name) = setname {
            if !self.set_name(name) {
                return;
            }
        }
        self.proto = proto;
        self.reply(self.hello_map());
    }

    fn hello_map(&self) -> Value {
        let proto = if self.proto == Protocol::Resp3 { 3 } else { 2 };
        Value::Map(vec![
            (Value::bulk("server"), Value::bulk("redis")),
            (Value::bulk("version"), Value::bulk(crate::server::REDIS_VERSION)),
            (Value::bulk("proto"), Value::Int(proto)),
            (Value::bulk("id"), Value::Int(self.id.0 as i64)),
            (Value::bulk("mode"), Value::bulk("sentinel")),
            (Value::bulk("modules"), Value::Array(vec![])),
        ])
    }

    /// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: saving is moot in sentinel mode.
    /// On success the connection closes without a reply, as Redis's does when it exits.
    pub(crate) async fn shutdown(&mut self, args: &[Vec<u8>]) {
        let opts: Vec<String> = args[1..].iter().map(|a| lower(a)).collect();
        if opts.iter().any(|o| !matches!(o.as_str(), "nosave" | "save" | "now" | "force" | "abort")) {
            return self.reply_err("syntax error");
        }
        if opts.iter().any(|o| o == "abort") {
            if opts.len() > 1 {
                return self.reply_err("syntax error");
            }
            return self.reply_err("No shutdown in progress.");
        }
        tracing::warn!(client = self.id.0, "SHUTDOWN requested by a client");
        if self.shared.ctx.shutdown.send(()).await.is_err() {
            return self.reply_err("Errors trying to SHUTDOWN. Check logs.");
        }
        self.close = true;
    }
}
