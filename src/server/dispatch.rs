//! Routing one request: Redis's generic checks, in `processCommand` order, then the
//! handler of its command group.
//!
//! Order (Redis 7.0 `processCommand`): unknown command → wrong arity → `NOAUTH` →
//! RESP2 subscribed-context restriction. So an unknown command gets "unknown command"
//! even before AUTH, exactly as a real sentinel answers.

use super::acl::Denied;
use super::session::Session;
use super::shared::Stats;
use super::table::{self, Spec};
use crate::resp::{Protocol, Value};

/// Redis shows at most this many bytes of the command and of the argument list.
const SHOWN_ARGS: usize = 128;

impl Session {
    /// `CLIENT PAUSE`: waits while a pause covers this command (ALL: every command but
    /// `CLIENT UNPAUSE`-free paths; WRITE: `PUBLISH`, the only may-replicate command here).
    async fn wait_unpaused(&mut self, spec: &Spec) {
        loop {
            let until = match *self.shared.pause.lock().unwrap_or_else(|p| p.into_inner()) {
                Some((until, all)) if (all || spec.name == "publish") && until > std::time::Instant::now() => until,
                _ => return,
            };
            // The commands queued before this one ran before the pause reached it.
            self.settle().await;
            let unpaused = self.shared.unpaused.notified();
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = unpaused => {}
            }
        }
    }

    pub(crate) async fn execute(&mut self, args: Vec<Vec<u8>>) {
        let Some(spec) = table::lookup(&args[0]) else {
            self.reply_err(unknown_command(&args));
            return;
        };
        if !spec.arity_ok(args.len()) {
            self.reply_err(format!("wrong number of arguments for '{}' command", spec.name));
            return;
        }
        if let Err(error) = check_subcommand(spec, &args) {
            self.reply_err(error);
            return;
        }
        if !self.authed && !spec.no_auth {
            self.reply(Value::error("NOAUTH Authentication required."));
            return;
        }
        let full = table::full_name(spec, &args, std::mem::take(&mut self.spare));
        // Redis 7.0 checks ACLs right after authentication.
        let denied = self.shared.acl().users.get(&self.ext.user).map_or(Ok(()), |u| u.check(&args));
        if let Err(denied) = denied {
            self.reply(Value::error(match denied {
                Denied::Command(name) => format!("NOPERM this user has no permissions to run the '{name}' command"),
                Denied::Channel(_) => {
                    "NOPERM this user has no permissions to access one of the channels used as arguments".into()
                }
            }));
            return;
        }
        if self.proto == Protocol::Resp2 && self.subscribed() && !spec.in_pubsub {
            self.reply_err(format!(
                "Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ));
            return;
        }
        self.wait_unpaused(spec).await;
        Stats::add(&self.shared.ctx.limits.counters.commands_processed, 1);
        self.spare = std::mem::replace(&mut self.entry.cmd, full);
        // CLIENT REPLY OFF|SKIP: the command runs, its reply is dropped (§11.1).
        let skip_this = std::mem::take(&mut self.ext.skip_next);
        if self.ext.reply_off || skip_this {
            self.settle().await; // so that only this command's reply is dropped
        }
        let mark = self.reply_mark();
        self.ext.reply_on_now = false;
        self.route(spec, args).await;
        if (self.ext.reply_off || skip_this) && !self.ext.reply_on_now {
            self.drop_replies_since(mark);
        }
        if spec.name != "client" {
            self.ext.caching = None;
        }
        self.entry_changed = true; // published before the session next yields
    }

    async fn route(&mut self, spec: &Spec, owned: Vec<Vec<u8>>) {
        let args = &owned[..];
        match spec.name {
            "ping" => self.ping(args),
            "auth" => self.auth(args),
            "hello" => self.hello(args),
            "client" => self.client(args),
            "command" => self.command(args),
            "acl" => self.acl(args),
            "info" => self.info(args).await,
            "shutdown" => {
                self.settle().await; // the commands before it still reach the core
                self.shutdown(args).await
            }
            "subscribe" => self.subscribe(args),
            "psubscribe" => self.psubscribe(args),
            "unsubscribe" => self.unsubscribe(args),
            "punsubscribe" => self.punsubscribe(args),
            // sentinel, role, publish: the core's business.
            _ => self.forward(owned).await,
        }
    }
}

/// `unknown command '<cmd>', with args beginning with: '<a1>' '<a2>' ` as Redis 7.0
/// builds it: the name cut to 128 bytes; arguments appended while the list is shorter
/// than 128 bytes, each cut to what is left of those 128.
pub(crate) fn unknown_command(args: &[Vec<u8>]) -> String {
    let name = &args[0][..args[0].len().min(SHOWN_ARGS)];
    let mut shown: Vec<u8> = Vec::new();
    for arg in &args[1..] {
        if shown.len() >= SHOWN_ARGS {
            break;
        }
        let room = SHOWN_ARGS - shown.len();
        shown.push(b'\'');
        shown.extend_from_slice(&arg[..arg.len().min(room)]);
        shown.extend_from_slice(b"' ");
    }
    format!(
        "unknown command '{}', with args beginning with: {}",
        String::from_utf8_lossy(name),
        String::from_utf8_lossy(&shown)
    )
}

/// Unknown subcommand or subcommand arity, checked before auth as Redis does.
fn check_subcommand(spec: &Spec, args: &[Vec<u8>]) -> Result<(), String> {
    let subs = table::subcommands(spec.name);
    let Some(sub) = args.get(1).filter(|_| !subs.is_empty()) else { return Ok(()) };
    match subs.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub)).map(|s| (s.name, s.arity)) {
        None => Err(format!(
            "unknown subcommand '{}'. Try {} HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(SHOWN_ARGS)]),
            spec.name.to_uppercase()
        )),
        Some((name, arity)) if !crate::core::arity_ok(arity, args.len()) => {
            Err(format!("wrong number of arguments for '{}|{name}' command", spec.name))
        }
        Some(_) => Ok(()),
    }
}

/// Lower-cased argument as text, for subcommand and option matching.
pub(crate) fn lower(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::unknown_command;

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn unknown_command_text() {
        assert_eq!(unknown_command(&args(&["foo"])), "unknown command 'foo', with args beginning with: ");
        assert_eq!(
            unknown_command(&args(&["CONFIG", "get", "*"])),
            "unknown command 'CONFIG', with args beginning with: 'get' '*' "
        );
        let long = "x".repeat(200);
        let text = unknown_command(&args(&["foo", &long, "next"]));
        assert_eq!(text, format!("unknown command 'foo', with args beginning with: '{}' ", "x".repeat(128)));
        let text = unknown_command(&args(&["foo", &"a".repeat(100), &"b".repeat(100)]));
        assert!(text.ends_with(&format!("'{}' '{}' ", "a".repeat(100), "b".repeat(25))), "{text}");
    }
}
