//! One client socket as a stream of requests and a buffer of replies.
//!
//! Owns the read and write buffers and request framing; it knows nothing about commands.
//! Replies are appended to [`Connection::out`] and written by [`Connection::write_some`]
//! / [`Connection::flush`], so pipelined requests are answered in order with few writes.
//!
//! Memory: an idle connection holds no buffer. Reads go through one scratch buffer per
//! thread and only the bytes received are copied into the connection's input buffer;
//! both buffers are released once empty (Redis frees an idle client's query buffer too),
//! so a connection costs its socket and its session, whatever it sent before.

use crate::resp::{Decoder, ProtocolError, RequestLimits};
use bytes::{Buf, BytesMut};
use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::Poll;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// A client socket: TCP, or the `unixsocket`.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Size of the per-thread scratch buffer one read goes into (Redis's `PROTO_IOBUF_LEN`).
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

/// What [`Connection::step`] did.
pub(crate) enum Io {
    /// Bytes read (0: end of stream).
    Read(usize),
    Wrote(usize),
}

pub(crate) struct Connection {
    stream: Box<dyn Stream>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: Decoder,
}

impl Connection {
    pub(crate) fn new(stream: Box<dyn Stream>) -> Connection {
        Connection { stream, rbuf: BytesMut::new(), wbuf: BytesMut::new(), decoder: Decoder::default() }
    }

    /// The next complete request already buffered, without I/O. `authed`: whether the
    /// client may send large requests (Redis's unauthenticated limits otherwise).
    pub(crate) fn next_request(
        &mut self,
        limits: &RequestLimits,
        authed: bool,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let r = self.decoder.decode_request_limited(&mut self.rbuf, limits, authed);
        if self.rbuf.is_empty() {
            // Consumed bytes stay allocated behind a `BytesMut`'s view: let it all go.
            self.rbuf = BytesMut::new();
        }
        r
    }

    /// Whether input is buffered (a request may be complete).
    pub(crate) fn has_input(&self) -> bool {
        !self.rbuf.is_empty()
    }

    /// Bytes of input held for this client: buffered, plus the arguments of a request
    /// being read (Redis's query buffer length).
    pub(crate) fn query_buffer_len(&self) -> usize {
        self.rbuf.len() + self.decoder.pending_bytes()
    }

    /// Reads more bytes; `Ok(0)` on end of stream. Cancel-safe (used in `select!`): a
    /// read either completes and its bytes are in the buffer, or nothing was read.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        let Connection { stream, rbuf, .. } = self;
        std::future::poll_fn(|cx| {
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let mut buf = ReadBuf::new(&mut scratch[..]);
                match Pin::new(&mut **stream).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) => {
                        rbuf.extend_from_slice(buf.filled());
                        Poll::Ready(Ok(buf.filled().len()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            })
        })
        .await
    }

    /// Writes buffered replies if there are any (some of them), reads otherwise: input
    /// is read only once the replies to the previous input are out, so a client that
    /// does not read its replies stops being read (backpressure). Cancel-safe.
    pub(crate) async fn step(&mut self) -> io::Result<Io> {
        if self.wbuf.is_empty() {
            self.fill().await.map(Io::Read)
        } else {
            self.write_some().await.map(Io::Wrote)
        }
    }

    /// Where replies are spelled before they are written.
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.wbuf
    }

    /// Bytes of replies not written yet (Redis's output buffer length).
    pub(crate) fn pending_output(&self) -> usize {
        self.wbuf.len()
    }

    /// Writes what the socket takes now of the buffered replies (at least one byte).
    /// Cancel-safe: bytes are dropped from the buffer only once written.
    pub(crate) async fn write_some(&mut self) -> io::Result<usize> {
        let n = self.stream.write(&self.wbuf).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.wbuf.advance(n);
        self.release_output();
        Ok(n)
    }

    /// Writes every buffered reply; returns how many bytes went out.
    pub(crate) async fn flush(&mut self) -> io::Result<usize> {
        let n = self.wbuf.len();
        if n > 0 {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
            self.release_output();
        }
        Ok(n)
    }

    fn release_output(&mut self) {
        if self.wbuf.is_empty() {
            self.wbuf = BytesMut::new();
        }
    }
}
