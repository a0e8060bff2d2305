//! `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE` on the event channels (§10.1).
//!
//! Replies are Redis's exact confirmation frames (`[kind, channel, count]`, count =
//! channels + patterns), sent as RESP3 pushes when negotiated. The session starts
//! receiving core events at the first subscription and stops after the last.

use crate::resp::Value;
use crate::server::session::Session;

impl Session {
    pub(crate) fn subscribe(&mut self, args: &[Vec<u8>]) {
        for channel in &args[1..] {
            self.channels.insert(channel.clone());
            self.confirm("subscribe", Value::Bulk(channel.clone()));
        }
        self.sync_receiver();
    }

    pub(crate) fn psubscribe(&mut self, args: &[Vec<u8>]) {
        for pattern in &args[1..] {
            self.patterns.insert(pattern.clone());
            self.confirm("psubscribe", Value::Bulk(pattern.clone()));
        }
        self.sync_receiver();
    }

    pub(crate) fn unsubscribe(&mut self, args: &[Vec<u8>]) {
        let names = if args.len() > 1 { args[1..].to_vec() } else { self.channels.iter().cloned().collect() };
        if names.is_empty() {
            self.confirm("unsubscribe", Value::Null);
        }
        for channel in names {
            self.channels.remove(&channel);
            self.confirm("unsubscribe", Value::Bulk(channel));
        }
        self.sync_receiver();
    }

    pub(crate) fn punsubscribe(&mut self, args: &[Vec<u8>]) {
        let names = if args.len() > 1 { args[1..].to_vec() } else { self.patterns.iter().cloned().collect() };
        if names.is_empty() {
            self.confirm("punsubscribe", Value::Null);
        }
        for pattern in names {
            self.patterns.remove(&pattern);
            self.confirm("punsubscribe", Value::Bulk(pattern));
        }
        self.sync_receiver();
    }

    fn confirm(&mut self, kind: &str, name: Value) {
        let count = (self.channels.len() + self.patterns.len()) as i64;
        self.reply(Value::Push(vec![Value::bulk(kind), name, Value::Int(count)]));
    }

    /// Listens to core events exactly while something is subscribed.
    fn sync_receiver(&mut self) {
        if !self.subscribed() {
            self.events = None;
        } else if self.events.is_none() {
            self.events = Some(self.shared.ctx.events.subscribe());
        }
    }
}
