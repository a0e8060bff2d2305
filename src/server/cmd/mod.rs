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
