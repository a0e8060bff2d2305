//! Commands the core answers (`SENTINEL ...`, `ROLE`, `PUBLISH`): queued on the session
//! and sent to the core as one [`ToCore::Commands`] per run of pipelined requests; the
//! replies are written back unchanged (only their spelling depends on the client's
//! protocol at the time each command was read).

use crate::server::session::Session;
use crate::server::ToCore;
use tokio::sync::oneshot;

/// Most commands sent to the core in one message; a longer pipeline is split (bounds the
/// time the core spends on one client before others get a turn).
pub(crate) const MAX_BATCH: usize = 512;

impl Session {
    /// Queues a core command; its reply is written by [`Session::settle`], in order.
    pub(crate) async fn forward(&mut self, args: Vec<Vec<u8>>) {
        self.queue_for_core(args);
        if self.batch.len() >= MAX_BATCH {
            self.settle().await;
        }
    }

    /// Sends the queued core commands and writes every reply held back meanwhile, in
    /// request order. Exactly one reply per queued command is written, whatever happens
    /// to the core (an error if it is gone or answered fewer values).
    pub(crate) async fn settle(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.publish_changed_entry();
        let commands = std::mem::take(&mut self.batch);
        let expected = commands.len();
        let (reply, answer) = oneshot::channel();
        let request = ToCore::Commands { client: self.id, commands, reply };
        let values = match self.shared.ctx.to_core.send(request).await {
            Ok(()) => answer.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if values.len() != expected {
            tracing::warn!(client = self.id.0, expected, got = values.len(), "core answered a batch short");
        }
        self.write_held(values);
    }

    /// The `# Sentinel` INFO section from the core; `None` if the core is gone. Commands
    /// queued before the INFO reach the core first.
    pub(crate) async fn core_info_section(&mut self) -> Option<String> {
        self.settle().await;
        self.publish_changed_entry();
        let (reply, answer) = oneshot::channel();
        self.shared.ctx.to_core.send(ToCore::InfoSection { reply }).await.ok()?;
        answer.await.ok()
    }
}
