//! One client socket as a stream of requests and a buffer of replies.
//!
//! Owns the read and write buffers and request framing; it knows nothing about commands.
//! Replies are appended to [`Connection::out`] and written in one go by
//! [`Connection::flush`], so pipelined requests are answered in order with few writes.

use crate::resp::{Decoder, ProtocolError};
use bytes::BytesMut;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A client socket: TCP, or the `unixsocket`.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Room made in the read buffer before every read. Without it the spare capacity left
/// behind consumed requests shrinks read after read, until a read takes only part of a
/// client's pipeline and its replies need two writes.
const READ_CHUNK: usize = 16 * 1024;

/// Largest unparsed input kept for one client; beyond it the client is dropped (Redis's
/// `client-query-buffer-limit`, much smaller here because sentinel commands are tiny).
pub(crate) const MAX_QUERY_BUFFER: usize = 8 * 1024 * 1024;

pub(crate) struct Connection {
    stream: Box<dyn Stream>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: Decoder,
}

impl Connection {
    pub(crate) fn new(stream: Box<dyn Stream>) -> Connection {
        Connection {
            stream,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(4096),
            decoder: Decoder::default(),
        }
    }

    /// The next complete request already buffered, without I/O.
    pub(crate) fn next_request(&mut self) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        self.decoder.decode_request(&mut self.rbuf)
    }

    /// Reads more bytes; `Ok(0)` on end of stream. Cancel-safe (used in `select!`).
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        if self.rbuf.len() > MAX_QUERY_BUFFER {
            return Err(io::Error::other("query buffer limit reached"));
        }
        // Reclaims the space of consumed requests (moving a partial one to the front)
        // when it can, instead of growing the buffer.
        self.rbuf.reserve(READ_CHUNK);
        self.stream.read_buf(&mut self.rbuf).await
    }

    /// Where replies are spelled before [`Connection::flush`].
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.wbuf
    }

    /// Writes every buffered reply; returns how many bytes went out.
    pub(crate) async fn flush(&mut self) -> io::Result<usize> {
        let n = self.wbuf.len();
        if n > 0 {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
        }
        Ok(n)
    }
}
