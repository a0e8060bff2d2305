//! Our outgoing connections to Redis masters, replicas and peer sentinels: turns the
//! core's typed [`crate::core::Request`]s into RESP commands and replies back into
//! [`crate::core::Input`]s. Never decides anything.
//!
//! One tokio task per link. It owns the socket, the preamble (§3.2), the command spelling
//! (§8.2) and FIFO reply matching; it reports `LinkUp`, then one `Reply` per request (or
//! `PubSub` frames on a Pub/Sub link), and at most one `LinkDown`, after which it ends.
//! Its only timer is the connect deadline: when a request is too slow is for the core to
//! decide (it closes the link). Dropping the [`LinkHandle`] ends the task at once and
//! nothing more is reported for it.

mod task;
mod wire;

#[cfg(test)]
pub(crate) mod tests;

pub use wire::{preamble, request_commands, Command, Renames};

use crate::core::{Addr, Auth, Input, LinkId, LinkKind, Request};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Everything needed to open one link (the fields of `Output::Connect`, plus the
/// rename map and the connect deadline).
#[derive(Clone, Debug)]
pub struct LinkSpec {
    pub addr: Addr,
    pub kind: LinkKind,
    pub auth: Option<Auth>,
    /// Sent as `CLIENT SETNAME`.
    pub client_name: String,
    /// `rename-command` map of the master concerned (§3.3).
    pub renames: Renames,
    /// Deadline for the TCP connect; a miss is reported as `LinkDown`.
    pub connect_timeout: Duration,
    /// `tls-replication yes`: the handshake to make after connecting (within the same
    /// deadline).
    pub tls: Option<crate::tls::Connector>,
}

/// The owner's end of a link task. Dropping it (or [`LinkHandle::close`]) ends the task
/// without reporting `LinkDown`; facts already reported stay in the channel.
#[derive(Debug)]
pub struct LinkHandle {
    id: LinkId,
    requests: mpsc::UnboundedSender<(u64, Request)>,
    task: JoinHandle<()>,
}

/// Starts the task for link `id`. It reports to `events`: `LinkUp`, then `Reply`/`PubSub`,
/// and finally `LinkDown` once (unless closed first). Must be called inside a tokio runtime.
pub fn spawn(id: LinkId, spec: LinkSpec, events: mpsc::UnboundedSender<Input>) -> LinkHandle {
    let (requests, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(task::run(id, spec, rx, events));
    LinkHandle { id, requests, task }
}

impl LinkHandle {
    /// The link this handle drives.
    pub fn id(&self) -> LinkId {
        self.id
    }

    /// Queues a request; its reply comes back as `Input::Reply` with the same `tag`.
    /// Requests sent before the link is up go out right after the preamble. If the link
    /// has already failed, its `LinkDown` is (or will be) in the channel instead.
    pub fn send(&self, tag: u64, request: Request) {
        let _ = self.requests.send((tag, request));
    }

    /// Ends the link now; no `LinkDown` is reported.
    pub fn close(self) {}
}

impl Drop for LinkHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
