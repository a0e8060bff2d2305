//! RESP2/RESP3 encoding and incremental decoding.
//!
//! Owns the byte spelling of [`Value`] in both protocol versions and the two parsers:
//! [`Decoder::decode_value`] for replies (every RESP2 and RESP3 type) and
//! [`Decoder::decode_request`] for what a Redis server accepts from clients (multibulk or
//! an inline line split like `sdssplitargs`). It never touches a socket and never
//! allocates from an untrusted length before the bytes are there: a parser walks a borrowed
//! buffer and consumes nothing until one whole frame is present.
//!
//! Error texts are Redis's own (`networking.c`), without the `ERR ` code, because the
//! listener writes them back verbatim before closing the connection.

use super::Value;
use bytes::{Buf, BufMut, BytesMut};

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

impl ProtocolError {
    fn new(text: &str) -> ProtocolError {
        ProtocolError(format!("Protocol error: {text}"))
    }
}

/// Longest inline request / header line Redis accepts (`PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE: usize = 64 * 1024;
/// Most arguments in one multibulk request (Redis 7.0: `INT_MAX`).
pub const MAX_REQUEST_ARGS: i64 = i32::MAX as i64;
/// Largest bulk argument in a request by default (`proto-max-bulk-len`, 512mb).
pub const DEFAULT_PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// Most arguments a client that must still authenticate may send in one request.
pub const UNAUTH_MAX_ARGS: i64 = 10;
/// Largest bulk a client that must still authenticate may send.
pub const UNAUTH_MAX_BULK: i64 = 16384;

/// The request limits Redis applies in `processMultibulkBuffer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`: a longer bulk is `invalid bulk length`.
    pub max_bulk: i64,
    /// More arguments than this is `invalid multibulk length`.
    pub max_args: i64,
}

impl Default for RequestLimits {
    fn default() -> RequestLimits {
        RequestLimits { max_bulk: DEFAULT_PROTO_MAX_BULK_LEN, max_args: MAX_REQUEST_ARGS }
    }
}
/// Largest bulk string in a reply (INFO from a big Redis can be large).
pub const MAX_REPLY_BULK: i64 = 64 * 1024 * 1024;
/// Most elements in one reply aggregate.
pub const MAX_REPLY_AGGREGATE: i64 = 16 * 1024 * 1024;
/// Deepest nesting of reply aggregates (guards the stack against hostile input).
pub const MAX_REPLY_DEPTH: usize = 128;

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Appends `value` spelled in `proto` to `out`.
pub fn encode(value: &Value, proto: Protocol, out: &mut BytesMut) {
    let v3 = proto == Protocol::Resp3;
    match value {
        Value::Simple(s) => put_line(out, b'+', s),
        Value::Error(s) => put_line(out, b'-', s),
        Value::Int(n) => put_header(out, b':', *n),
        Value::Bulk(b) => put_bulk(out, b),
        Value::Null if v3 => out.put_slice(b"_\r\n"),
        Value::Null => out.put_slice(b"$-1\r\n"),
        Value::NullArray if v3 => out.put_slice(b"_\r\n"),
        Value::NullArray => out.put_slice(b"*-1\r\n"),
        Value::Array(items) => put_aggregate(out, b'*', items, proto),
        Value::Set(items) => put_aggregate(out, if v3 { b'~' } else { b'*' }, items, proto),
        Value::Push(items) => put_aggregate(out, if v3 { b'>' } else { b'*' }, items, proto),
        Value::Map(pairs) => {
            if v3 {
                put_header(out, b'%', pairs.len() as i64);
            } else {
                put_header(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Value::Bool(b) if v3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Value::Bool(b) => put_header(out, b':', i64::from(*b)),
        Value::Double(d) if v3 => put_line(out, b',', &format_double(*d)),
        Value::Double(d) => put_bulk(out, format_double(*d).as_bytes()),
        Value::Verbatim(format, text) if v3 => {
            // The format is exactly three bytes on the wire; anything else becomes `txt`.
            let format = if format.len() == 3 { format.as_str() } else { "txt" };
            put_header(out, b'=', (text.len() + 4) as i64);
            out.put_slice(format.as_bytes());
            out.put_u8(b':');
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
        Value::Verbatim(_, text) => put_bulk(out, text),
    }
}

/// Appends a command (a multibulk of bulk strings) to `out`.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    put_header(out, b'*', args.len() as i64);
    for arg in args {
        put_bulk(out, arg.as_ref());
    }
}

/// Spells a double the way RESP3 wants it (`inf`, `-inf`, `nan`, shortest round-trip).
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{d}")
    }
}

fn put_header(out: &mut BytesMut, tag: u8, n: i64) {
    // Spelled on the stack: this runs for every reply and every bulk in it.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.reserve(digits.len() - at + 4);
    out.put_u8(tag);
    if n < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(&digits[at..]);
    out.put_slice(b"\r\n");
}

/// A one-line reply; CR and LF inside would break framing, so they become spaces (as
/// Redis does for error texts).
fn put_line(out: &mut BytesMut, tag: u8, text: &str) {
    out.put_u8(tag);
    out.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.put_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, bytes: &[u8]) {
    put_header(out, b'$', bytes.len() as i64);
    out.put_slice(bytes);
    out.put_slice(b"\r\n");
}

fn put_aggregate(out: &mut BytesMut, tag: u8, items: &[Value], proto: Protocol) {
    put_header(out, tag, items.len() as i64);
    for item in items {
        encode(item, proto, out);
    }
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// `Ok(None)`: the frame is not complete yet.
type Step<T> = Result<Option<T>, ProtocolError>;

/// Incremental decoder with size limits.
///
/// Replies are decoded statelessly: each call re-walks the unconsumed front of the
/// buffer. A multibulk request is consumed argument by argument as they arrive (like
/// Redis's `processMultibulkBuffer`), so a request with a million arguments costs one
/// walk, not one per read; the arguments read so far are held in the decoder. Either
/// way a caller may feed bytes in any chunking and gets the same frames and the same
/// errors, as long as it keeps using the same decoder.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Option<PendingRequest>,
}

/// A multibulk request whose header has been read.
#[derive(Debug)]
struct PendingRequest {
    remaining: usize,
    args: Vec<Vec<u8>>,
    bytes: usize,
}

impl Decoder {
    /// Decodes one reply (any RESP2/RESP3 type) from the front of `buf`, consuming it;
    /// `Ok(None)` when more bytes are needed.
    pub fn decode_value(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, ProtocolError> {
        let mut cur = Cursor { buf, pos: 0 };
        let value = cur.value(0)?;
        if value.is_some() {
            let used = cur.pos;
            buf.advance(used);
        }
        Ok(value)
    }

    /// Decodes one client request (multibulk, or an inline telnet-style line) from the
    /// front of `buf` with the default limits, for an authenticated client.
    pub fn decode_request(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        self.decode_request_limited(buf, &RequestLimits::default(), true)
    }

    /// Decodes one client request from the front of `buf`, consuming what it has read;
    /// `Ok(None)` when more bytes are needed. An empty inline line (or `*0`, `*-1`)
    /// yields `Some(vec![])`, which the caller skips. `authed`: false while the client
    /// must still authenticate, which limits it to 10 arguments of 16 KiB (Redis's
    /// `unauthenticated multibulk length` / `bulk length`).
    pub fn decode_request_limited(
        &mut self,
        buf: &mut BytesMut,
        limits: &RequestLimits,
        authed: bool,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let r = self.request(buf, limits, authed);
        if r.is_err() {
            self.pending = None;
        }
        r
    }

    /// Bytes of the arguments of the request being read (Redis counts them against
    /// `client-query-buffer-limit` along with the unparsed input).
    pub fn pending_bytes(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| p.bytes + p.args.len() * std::mem::size_of::<Vec<u8>>())
    }

    fn request(
        &mut self,
        buf: &mut BytesMut,
        limits: &RequestLimits,
        authed: bool,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        if self.pending.is_none() {
            let Some(&first) = buf.first() else { return Ok(None) };
            let mut cur = Cursor { buf, pos: 0 };
            if first != b'*' {
                let args = cur.inline()?;
                if args.is_some() {
                    let used = cur.pos;
                    buf.advance(used);
                }
                return Ok(args);
            }
            let Some(line) = cur.redis_line("too big mbulk count string")? else { return Ok(None) };
            let count = match parse_strict_i64(&line[1..]) {
                Some(n) if n <= limits.max_args => n,
                _ => return Err(ProtocolError::new("invalid multibulk length")),
            };
            if count > UNAUTH_MAX_ARGS && !authed {
                return Err(ProtocolError::new("unauthenticated multibulk length"));
            }
            let used = cur.pos;
            buf.advance(used);
            if count <= 0 {
                return Ok(Some(Vec::new()));
            }
            // Redis presizes at most 1024 slots too: the count is the client's word only.
            let args = Vec::with_capacity((count as usize).min(1024));
            self.pending = Some(PendingRequest { remaining: count as usize, args, bytes: 0 });
        }
        let pending = self.pending.as_mut().expect("set above");
        while pending.remaining > 0 {
            let mut cur = Cursor { buf, pos: 0 };
            let Some(line) = cur.redis_line("too big bulk count string")? else { return Ok(None) };
            if line.first() != Some(&b'$') {
                // Redis prints the byte where the `$` should be; an empty line has `\r` there.
                let got = char::from(line.first().copied().unwrap_or(b'\r'));
                return Err(ProtocolError(format!("Protocol error: expected '$', got '{got}'")));
            }
            let len = match parse_strict_i64(&line[1..]) {
                Some(n) if (0..=limits.max_bulk).contains(&n) => n,
                _ => return Err(ProtocolError::new("invalid bulk length")),
            };
            if len > UNAUTH_MAX_BULK && !authed {
                return Err(ProtocolError::new("unauthenticated bulk length"));
            }
            let len = len as usize;
            // Like Redis, the two bytes after the payload are skipped, not checked.
            let rest = cur.rest();
            if (rest.len() as u64) < len as u64 + 2 {
                return Ok(None);
            }
            pending.args.push(rest[..len].to_vec());
            pending.bytes += len;
            pending.remaining -= 1;
            let used = cur.pos + len + 2;
            buf.advance(used);
        }
        Ok(self.pending.take().map(|p| p.args))
    }
}

/// A read position over a borrowed buffer; nothing is consumed until a frame completes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The next line without its terminator (`\r\n`), advancing past it. A line longer
    /// than [`MAX_INLINE`] is an error whether or not its end has arrived, so the outcome
    /// does not depend on how the bytes were chunked.
    fn crlf_line(&mut self, too_big: &str) -> Step<&'a [u8]> {
        let rest = self.rest();
        let end = rest.windows(2).position(|w| w == b"\r\n");
        match end {
            Some(n) if n <= MAX_INLINE => {
                self.pos += n + 2;
                Ok(Some(&rest[..n]))
            }
            None if rest.len() <= MAX_INLINE + 1 => Ok(None),
            _ => Err(ProtocolError::new(too_big)),
        }
    }

    /// `n` payload bytes followed by `\r\n`.
    fn payload(&mut self, n: usize) -> Step<&'a [u8]> {
        let rest = self.rest();
        if rest.len() < n + 2 {
            return Ok(None);
        }
        if &rest[n..n + 2] != b"\r\n" {
            return Err(ProtocolError::new("bulk string not terminated by CRLF"));
        }
        self.pos += n + 2;
        Ok(Some(&rest[..n]))
    }

    /// A header line as Redis finds it in a request: up to the first `\r`, which must be
    /// followed by one more byte (skipped unchecked, as Redis does).
    fn redis_line(&mut self, too_big: &str) -> Step<&'a [u8]> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == b'\r') {
            Some(n) if n > MAX_INLINE => Err(ProtocolError::new(too_big)),
            Some(n) if n + 1 < rest.len() => {
                self.pos += n + 2;
                Ok(Some(&rest[..n]))
            }
            Some(_) => Ok(None),
            None if rest.len() > MAX_INLINE => Err(ProtocolError::new(too_big)),
            None => Ok(None),
        }
    }

    /// Server side, `processInlineBuffer`: one `\n`-terminated line split like
    /// `sdssplitargs`.
    fn inline(&mut self) -> Step<Vec<Vec<u8>>> {
        let rest = self.rest();
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() > MAX_INLINE {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(None);
        };
        if n > MAX_INLINE {
            return Err(ProtocolError::new("too big inline request"));
        }
        let mut line = &rest[..n];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        let args = split_args(line).ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
        self.pos += n + 1;
        Ok(Some(args))
    }

    /// One reply value of any type.
    fn value(&mut self, depth: usize) -> Step<Value> {
        if depth > MAX_REPLY_DEPTH {
            return Err(ProtocolError::new("reply nested too deeply"));
        }
        let start = self.pos;
        let Some(line) = self.crlf_line("too big reply line")? else { return Ok(None) };
        let Some((&tag, text)) = line.split_first() else {
            return Err(ProtocolError::new("empty reply line"));
        };
        let result = match tag {
            b'+' => Ok(Some(Value::Simple(lossy(text)))),
            b'-' => Ok(Some(Value::Error(lossy(text)))),
            b':' => int(text).map(|n| Some(Value::Int(n))),
            b'_' => Ok(Some(Value::Null)),
            b'#' => match text {
                b"t" => Ok(Some(Value::Bool(true))),
                b"f" => Ok(Some(Value::Bool(false))),
                _ => Err(ProtocolError::new("invalid boolean")),
            },
            b',' => double(text).map(|d| Some(Value::Double(d))),
            b'(' => big_number(text).map(|b| Some(Value::Bulk(b))),
            b'$' | b'!' | b'=' => self.blob(tag, text),
            b'*' | b'~' | b'>' => self.sequence(tag, text, depth),
            b'%' => self.map(text, depth),
            b'|' => self.attribute_then_value(text, depth),
            other => Err(ProtocolError(format!(
                "Protocol error: invalid reply type byte '{}'",
                char::from(other).escape_default()
            ))),
        };
        if !matches!(result, Ok(Some(_))) {
            self.pos = start;
        }
        result
    }

    /// `$` bulk, `!` blob error, `=` verbatim string.
    fn blob(&mut self, tag: u8, text: &[u8]) -> Step<Value> {
        let len = int(text)?;
        if len == -1 && tag == b'$' {
            return Ok(Some(Value::Null));
        }
        if !(0..=MAX_REPLY_BULK).contains(&len) {
            return Err(ProtocolError::new("invalid bulk length"));
        }
        let Some(bytes) = self.payload(len as usize)? else { return Ok(None) };
        Ok(Some(match tag {
            b'!' => Value::Error(lossy(bytes)),
            b'=' => match bytes.get(3) {
                Some(b':') => Value::Verbatim(lossy(&bytes[..3]), bytes[4..].to_vec()),
                _ => return Err(ProtocolError::new("invalid verbatim string")),
            },
            _ => Value::Bulk(bytes.to_vec()),
        }))
    }

    /// `*` array, `~` set, `>` push.
    fn sequence(&mut self, tag: u8, text: &[u8], depth: usize) -> Step<Value> {
        let count = aggregate_len(text)?;
        if count < 0 {
            return Ok(Some(if tag == b'*' { Value::NullArray } else { Value::Null }));
        }
        let mut items = Vec::new();
        for _ in 0..count {
            let Some(item) = self.value(depth + 1)? else { return Ok(None) };
            items.push(item);
        }
        Ok(Some(match tag {
            b'~' => Value::Set(items),
            b'>' => Value::Push(items),
            _ => Value::Array(items),
        }))
    }

    fn map(&mut self, text: &[u8], depth: usize) -> Step<Value> {
        let count = aggregate_len(text)?;
        let mut pairs = Vec::new();
        for _ in 0..count.max(0) {
            let Some(k) = self.value(depth + 1)? else { return Ok(None) };
            let Some(v) = self.value(depth + 1)? else { return Ok(None) };
            pairs.push((k, v));
        }
        Ok(Some(Value::Map(pairs)))
    }

    /// RESP3 attributes are out-of-band metadata: skipped, the value after them returned.
    fn attribute_then_value(&mut self, text: &[u8], depth: usize) -> Step<Value> {
        if self.map(text, depth)?.is_none() {
            return Ok(None);
        }
        self.value(depth + 1)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn int(text: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()).ok_or_else(|| ProtocolError::new("invalid integer"))
}

fn aggregate_len(text: &[u8]) -> Result<i64, ProtocolError> {
    match int(text) {
        Ok(n) if (-1..=MAX_REPLY_AGGREGATE).contains(&n) => Ok(n),
        _ => Err(ProtocolError::new("invalid multibulk length")),
    }
}

fn double(text: &[u8]) -> Result<f64, ProtocolError> {
    std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()).ok_or_else(|| ProtocolError::new("invalid double"))
}

/// RESP3 big numbers have no variant of their own: kept as their decimal text.
fn big_number(text: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ProtocolError::new("invalid big number"));
    }
    Ok(text.to_vec())
}

/// Redis `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, fits in i64.
fn parse_strict_i64(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let valid = match digits {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !valid {
        return None;
    }
    // Digits only from here; accumulate negatively so that i64::MIN fits.
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if digits.len() == text.len() {
        n.checked_neg()
    } else {
        Some(n)
    }
}

/// Redis `sdscatrepr`: always quoted, printable ASCII as is, `\\ \" \n \r \t \a \b`
/// and `\xHH` for the rest; [`split_args`] reads it back. Used for `announce-ip` in a
/// rewritten config and by `sentinel-cli` to show bulk strings as redis-cli does.
pub fn repr(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Redis `sdssplitargs`: whitespace-separated words, `"..."` with `\n \r \t \b \a \xHH`
/// escapes, `'...'` with `\'`; a closing quote must be followed by a space or the end.
/// `None` means unbalanced quotes. A NUL byte ends the line (it is a C string there).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(n) => &line[..n],
        None => line,
    };
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Some(args);
        }
        let (word, next) = split_one(line, p)?;
        args.push(word);
        p = next;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// One word of `sdssplitargs` starting at `p`; returns it and the position after it.
fn split_one(line: &[u8], mut p: usize) -> Option<(Vec<u8>, usize)> {
    #[derive(PartialEq)]
    enum Mode {
        Plain,
        Double,
        Single,
    }
    let at = |i: usize| line.get(i).copied();
    let closes = |i: usize| at(i + 1).is_none_or(is_space);
    let mut mode = Mode::Plain;
    let mut word = Vec::new();
    loop {
        let c = at(p);
        match mode {
            Mode::Double => match c? {
                b'\\' if at(p + 1) == Some(b'x') && hex_pair(at(p + 2), at(p + 3)).is_some() => {
                    word.push(hex_pair(at(p + 2), at(p + 3))?);
                    p += 3;
                }
                b'\\' if at(p + 1).is_some() => {
                    p += 1;
                    word.push(match line[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                }
                b'"' if !closes(p) => return None,
                b'"' => return Some((word, p + 1)),
                other => word.push(other),
            },
            Mode::Single => match c? {
                b'\\' if at(p + 1) == Some(b'\'') => {
                    p += 1;
                    word.push(b'\'');
                }
                b'\'' if !closes(p) => return None,
                b'\'' => return Some((word, p + 1)),
                other => word.push(other),
            },
            Mode::Plain => match c {
                None | Some(b' ' | b'\n' | b'\r' | b'\t') => return Some((word, p)),
                Some(b'"') => mode = Mode::Double,
                Some(b'\'') => mode = Mode::Single,
                Some(other) => word.push(other),
            },
        }
        p += 1;
    }
}

fn hex_pair(hi: Option<u8>, lo: Option<u8>) -> Option<u8> {
    let hi = char::from(hi?).to_digit(16)?;
    let lo = char::from(lo?).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

#[cfg(test)]
mod tests;
