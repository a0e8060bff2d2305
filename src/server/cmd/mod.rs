//! Command handlers, one file per group. Each is an `impl Session` block: handlers read
//! already-validated arguments (name known, arity checked, client authorised) and append
//! their replies with `Session::reply`.

mod client;
mod command;
mod connection;
mod core;
mod info;
mod pubsub;

/// A status-string array, as Redis's `addReplyHelp` sends.
fn help(lines: &[&str]) -> crate::resp::Value {
    crate::resp::Value::Array(lines.iter().map(|l| crate::resp::Value::simple(*l)).collect())
}

mod acl;

/// Per-connection state of `ACL`/`AUTH` and the newer `CLIENT` subcommands, kept apart
/// from the session's core fields.
#[derive(Debug)]
pub(crate) struct ClientExt {
    /// The authenticated user (`default` until `AUTH user pass`).
    pub user: String,
    /// `CLIENT REPLY OFF`.
    pub reply_off: bool,
    /// `CLIENT REPLY SKIP`: drop the next command's reply.
    pub skip_next: bool,
    /// Set by `CLIENT REPLY ON`: its `+OK` is always sent.
    pub reply_on_now: bool,
    /// `CLIENT TRACKING ON` options; `None` when off.
    pub tracking: Option<Tracking>,
    /// `CLIENT CACHING yes|no`, until the next non-`CLIENT` command.
    pub caching: Option<bool>,
}

impl Default for ClientExt {
    fn default() -> ClientExt {
        ClientExt {
            user: "default".into(),
            reply_off: false,
            skip_next: false,
            reply_on_now: false,
            tracking: None,
            caching: None,
        }
    }
}

/// `CLIENT TRACKING ON` options. A sentinel has no keys, so no invalidation is ever sent.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tracking {
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Vec<u8>>,
}
