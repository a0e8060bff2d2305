//! Commands the core answers (`SENTINEL ...`, `ROLE`, `PUBLISH`): forwarded as
//! [`ToCore::Command`] and the reply written back unchanged (only its spelling depends on
//! the client's protocol).

use crate::server::session::Session;
use crate::server::ToCore;
use tokio::sync::oneshot;

impl Session {
    pub(crate) async fn forward(&mut self, args: &[Vec<u8>]) {
        let (reply, answer) = oneshot::channel();
        let request = ToCore::Command { client: self.id, args: args.to_vec(), reply };
        let value = match self.shared.ctx.to_core.send(request).await {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        match value {
            Some(value) => self.reply(value),
            None => self.reply_err("sentinel is shutting down"),
        }
    }

    /// The `# Sentinel` INFO section from the core; `None` if the core is gone.
    pub(crate) async fn core_info_section(&self) -> Option<String> {
        let (reply, answer) = oneshot::channel();
        self.shared.ctx.to_core.send(ToCore::InfoSection { reply }).await.ok()?;
        answer.await.ok()
    }
}
