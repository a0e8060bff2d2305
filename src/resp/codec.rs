//! RESP2/RESP3 encoding and incremental decoding (stub: being written on branch `resp`).

use super::Value;
use bytes::BytesMut;

/// Which protocol a connection speaks (`HELLO 3` switches a client to RESP3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

/// A framing error. `Display` is the Redis text without the `ERR ` code, e.g.
/// `Protocol error: invalid bulk length`. After one, the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

/// Appends `value` spelled in `proto` to `out`.
pub fn encode(value: &Value, proto: Protocol, out: &mut BytesMut) {
    let _ = (value, proto, out);
}

/// Appends a command (a multibulk of bulk strings) to `out`.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    let _ = (args, out);
}

/// Incremental decoder with size limits.
#[derive(Debug, Default)]
pub struct Decoder {}

impl Decoder {
    /// Decodes one reply (any RESP2/RESP3 type) from the front of `buf`, consuming it;
    /// `Ok(None)` when more bytes are needed.
    pub fn decode_value(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, ProtocolError> {
        let _ = buf;
        Ok(None)
    }

    /// Decodes one client request (multibulk, or an inline telnet-style line) from the
    /// front of `buf`, consuming it; `Ok(None)` when more bytes are needed. An empty
    /// inline line yields `Some(vec![])`, which the caller skips.
    pub fn decode_request(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let _ = buf;
        Ok(None)
    }
}
