//! The I/O half of a link: one tokio task that connects (with a deadline), pipelines the
//! preamble, reports `LinkUp`, then writes requests and reads replies until the first
//! error. The stream is generic over `AsyncRead + AsyncWrite` so TLS can be slotted in.
//! It keeps no timer other than the connect deadline: request deadlines are the core's.

use super::wire::{self, Command, Renames, Replies, Routed};
use super::LinkSpec;
use crate::core::{Input, LinkId, LinkKind, Request, AUTH_FAILED};
use crate::resp::{encode_command, Decoder, Value};
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// More replies outstanding than this and the instance is not keeping up: drop the link
/// (like Redis's client output buffer limits) instead of growing without bound.
const MAX_PENDING: usize = 10_000;
/// Bytes written but not yet accepted by the socket before the link is dropped.
const MAX_WRITE_BUF: usize = 4 * 1024 * 1024;
/// Read buffer headroom reserved before a read that continues a partly received reply.
const READ_CHUNK: usize = 16 * 1024;
/// Headroom reserved before a read when nothing is buffered. Most links are idle most of
/// the time (a PONG, a hello), and the read buffer is held while the read waits: 512 bytes
/// instead of 16 KiB per link is what keeps a sentinel of 1,000 masters small (an INFO
/// reply then takes a second read).
const READ_IDLE: usize = 512;

/// Why `serve` ended: our handle went away (no report), or the link failed.
enum End {
    Closed,
    Down(String),
    /// The connection attempt was refused (nothing listens on the port).
    Refused(String),
}

/// The whole life of one link. Reports exactly one `LinkDown` unless closed by its handle.
pub(super) async fn run(
    id: LinkId,
    spec: LinkSpec,
    requests: UnboundedReceiver<(u64, Request)>,
    events: UnboundedSender<Input>,
) {
    let started = tokio::time::Instant::now();
    let end = match connect(&spec).await {
        Ok((stream, local_ip, peer_ip)) => match &spec.tls {
            None => {
                let mut conn = Conn::new(id, &spec, events.clone());
                conn.serve(stream, (local_ip, peer_ip), requests).await
            }
            Some(connector) => match handshake(&spec, connector.0.as_ref(), stream, started).await {
                Ok(stream) => {
                    let mut conn = Conn::new(id, &spec, events.clone());
                    conn.serve(stream, (local_ip, peer_ip), requests).await
                }
                Err(end) => end,
            },
        },
        Err(end) => end,
    };
    let (reason, refused) = match end {
        End::Closed => return,
        End::Down(reason) => (reason, false),
        End::Refused(reason) => (reason, true),
    };
    tracing::debug!(link = id.0, addr = %spec.addr.key(), %reason, "link down");
    let _ = events.send(Input::LinkDown { link: id, reason, refused });
}

/// TCP connect under the spec's deadline (a host name is resolved here, §3.4); returns
/// the stream, our local IP on it (unbracketed for IPv6, as hello field 0 wants it) and
/// the peer's IP.
async fn connect(spec: &LinkSpec) -> Result<(TcpStream, String, String), End> {
    let addr = &spec.addr;
    let attempt = TcpStream::connect((addr.host.as_str(), addr.port));
    let stream = match tokio::time::timeout(spec.connect_timeout, attempt).await {
        Err(_) => {
            return Err(End::Down(format!("connect to {} timed out after {:?}", addr.key(), spec.connect_timeout)))
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(End::Refused(format!("connect to {}: {e}", addr.key())))
        }
        Ok(Err(e)) => return Err(End::Down(format!("connect to {}: {e}", addr.key()))),
        Ok(Ok(stream)) => stream,
    };
    // Small pipelined commands: do not let Nagle delay a PING behind an unacked INFO.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(addr = %addr.key(), error = %e, "set_nodelay failed");
    }
    let local = stream.local_addr().map_err(|e| End::Down(format!("local address: {e}")))?;
    let peer = stream.peer_addr().map_err(|e| End::Down(format!("peer address: {e}")))?;
    Ok((stream, local.ip().to_string(), peer.ip().to_string()))
}

/// The TLS handshake (`tls-replication yes`) within what is left of the connect deadline.
/// The server's chain is checked against the CA, not its name (as Redis does).
async fn handshake(
    spec: &LinkSpec,
    connector: Option<&tokio_rustls::TlsConnector>,
    stream: TcpStream,
    started: tokio::time::Instant,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, End> {
    let addr = &spec.addr;
    let connector = connector.ok_or_else(|| End::Down(format!("TLS to {}: no TLS configuration", addr.key())))?;
    let name = crate::tls::server_name(&addr.host).map_err(|e| End::Down(format!("TLS to {}: {e}", addr.key())))?;
    let deadline = started + spec.connect_timeout;
    match tokio::time::timeout_at(deadline, connector.connect(name, stream)).await {
        Err(_) => Err(End::Down(format!("TLS handshake with {} timed out", addr.key()))),
        Ok(Err(e)) => Err(End::Down(format!("TLS handshake with {} failed: {e}", addr.key()))),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// `-NOAUTH ...` / `-WRONGPASS ...`: the instance refuses our credentials (none, or wrong).
/// Nothing on this link can work then; the core is told through the `LinkDown` reason.
fn auth_error(frame: &Value) -> Option<String> {
    let Value::Error(text) = frame else { return None };
    (text.starts_with("NOAUTH") || text.starts_with("WRONGPASS")).then(|| text.clone())
}

/// Connection state shared by the reading and writing sides of the loop.
struct Conn {
    id: LinkId,
    kind: LinkKind,
    renames: Renames,
    events: UnboundedSender<Input>,
    replies: Replies,
    decoder: Decoder,
    wbuf: BytesMut,
    rbuf: BytesMut,
}

impl Conn {
    fn new(id: LinkId, spec: &LinkSpec, events: UnboundedSender<Input>) -> Conn {
        let mut conn = Conn {
            id,
            kind: spec.kind,
            renames: spec.renames.clone(),
            events,
            replies: Replies::default(),
            decoder: Decoder::default(),
            wbuf: BytesMut::new(),
            rbuf: BytesMut::new(),
        };
        let preamble = wire::preamble(spec.kind, spec.auth.as_ref(), &spec.client_name, &spec.renames);
        // SUBSCRIBE's confirmation is Pub/Sub traffic (§5.4): it is forwarded, not awaited.
        let ignored = preamble.len() - usize::from(spec.kind == LinkKind::PubSub);
        for cmd in &preamble {
            encode_command(cmd, &mut conn.wbuf);
        }
        for _ in 0..ignored {
            conn.replies.expect(None, 1);
        }
        conn
    }

    /// Writes the preamble, reports `LinkUp`, then pumps requests and replies. Requests
    /// queued before the link was up are waiting in `requests` and go out first.
    async fn serve<S>(
        &mut self,
        stream: S,
        ips: (String, String),
        mut requests: UnboundedReceiver<(u64, Request)>,
    ) -> End
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut rd, mut wr) = tokio::io::split(stream);
        if let Err(e) = wr.write_all_buf(&mut self.wbuf).await {
            return End::Down(format!("write: {e}"));
        }
        let (local_ip, peer_ip) = ips;
        self.report(Input::LinkUp { link: self.id, local_ip, peer_ip });
        loop {
            self.rbuf.reserve(if self.rbuf.is_empty() { READ_IDLE } else { READ_CHUNK });
            let step = tokio::select! {
                read = rd.read_buf(&mut self.rbuf) => match read {
                    Ok(0) => Err("connection closed by peer".to_string()),
                    Ok(_) => self.drain_frames(),
                    Err(e) => Err(format!("read: {e}")),
                },
                next = requests.recv() => match next {
                    Some((tag, request)) => self.queue_request(tag, &request),
                    None => return End::Closed,
                },
                written = wr.write_buf(&mut self.wbuf), if !self.wbuf.is_empty() => match written {
                    Ok(0) => Err("write: connection closed".to_string()),
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("write: {e}")),
                },
            };
            if let Err(reason) = step {
                return End::Down(reason);
            }
        }
    }

    /// Encodes a request; the reply will be matched to `tag` in order.
    fn queue_request(&mut self, tag: u64, request: &Request) -> Result<(), String> {
        if self.kind == LinkKind::PubSub {
            // A subscribed connection only accepts (P)SUBSCRIBE/PING/QUIT/RESET, and its
            // replies could not be told apart from messages: refuse, keeping the contract
            // of exactly one Reply per Send.
            tracing::warn!(link = self.id.0, ?request, "request on a pub/sub link refused");
            let reply = Value::error("ERR requests cannot be sent on a pub/sub link");
            self.report(Input::Reply { link: self.id, tag, reply });
            return Ok(());
        }
        let cmds: Vec<Command> = wire::request_commands(request, &self.renames);
        for cmd in &cmds {
            encode_command(cmd, &mut self.wbuf);
        }
        self.replies.expect(Some(tag), cmds.len());
        if self.replies.len() > MAX_PENDING {
            return Err(format!("more than {MAX_PENDING} replies pending"));
        }
        if self.wbuf.len() > MAX_WRITE_BUF {
            return Err(format!("more than {MAX_WRITE_BUF} bytes waiting to be written"));
        }
        Ok(())
    }

    /// Decodes and routes every complete frame in the read buffer.
    fn drain_frames(&mut self) -> Result<(), String> {
        loop {
            let frame = match self.decoder.decode_value(&mut self.rbuf) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    if self.rbuf.is_empty() && self.rbuf.capacity() > READ_IDLE {
                        // Consumed bytes stay allocated behind a `BytesMut`'s view.
                        self.rbuf = BytesMut::new();
                    }
                    return Ok(());
                }
                Err(e) => return Err(format!("protocol error: {e}")),
            };
            if let Some(refused) = auth_error(&frame) {
                return Err(format!("{AUTH_FAILED}: {refused}"));
            }
            match self.replies.on_frame(frame) {
                Routed::Ignored => {}
                Routed::Reply(tag, reply) => self.report(Input::Reply { link: self.id, tag, reply }),
                Routed::Unsolicited(frame) if self.kind == LinkKind::PubSub => {
                    self.report(Input::PubSub { link: self.id, frame })
                }
                Routed::Unsolicited(frame) => return Err(format!("unexpected reply {frame:?}")),
            }
        }
    }

    /// Sends a fact to the daemon. If the daemon is gone the process is ending anyway.
    fn report(&self, input: Input) {
        let _ = self.events.send(input);
    }
}
