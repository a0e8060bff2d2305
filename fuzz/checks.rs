//! The properties every parser target checks, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/*.rs`) and the proptest/corpus tests (`tests/parsers_fuzz.rs`).
//! Each `check_*` takes arbitrary bytes and panics (with a message) when a property fails;
//! returning normally means the input was handled as it should be.

#![allow(dead_code)]

use bytes::BytesMut;
use sentinel::core::monitor::{hello::Hello, info};
use sentinel::resp::{encode, Decoder, Protocol, RequestLimits, Value};
use std::path::Path;

/// A property over arbitrary input bytes; panics when it does not hold.
pub type Check = fn(&[u8]);

/// All targets, by the name used for corpus directories and fuzz binaries.
pub const TARGETS: &[(&str, Check)] = &[
    ("resp_value", check_resp_value),
    ("resp_request", check_resp_request),
    ("hello", check_hello),
    ("info", check_info),
    ("sentinel_conf", check_sentinel_conf),
    ("sentinel_toml", check_sentinel_toml),
    ("state_file", check_state_file),
];

/// Equality that treats NaN as equal to NaN (a double read back from `nan`).
pub fn same(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (Double(x), Double(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Array(x), Array(y)) | (Set(x), Set(y)) | (Push(x), Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Map(x), Map(y)) => x.len() == y.len() && x.iter().zip(y).all(|((k, v), (l, w))| same(k, l) && same(v, w)),
        _ => a == b,
    }
}

/// What decoding `v` spelled in `proto` must give back: RESP3 loses only the difference
/// between the two nulls; RESP2 spells maps, sets, pushes as arrays, booleans as integers,
/// doubles and verbatim strings as bulks.
pub fn expected_after(v: &Value, proto: Protocol) -> Value {
    use Value::*;
    let v3 = proto == Protocol::Resp3;
    let all = |items: &[Value]| items.iter().map(|i| expected_after(i, proto)).collect::<Vec<_>>();
    match v {
        NullArray if v3 => Null,
        Array(items) => Array(all(items)),
        Set(items) if v3 => Set(all(items)),
        Push(items) if v3 => Push(all(items)),
        Set(items) | Push(items) => Array(all(items)),
        Map(pairs) if v3 => {
            Map(pairs.iter().map(|(k, v)| (expected_after(k, proto), expected_after(v, proto))).collect())
        }
        Map(pairs) => {
            Array(pairs.iter().flat_map(|(k, v)| [expected_after(k, proto), expected_after(v, proto)]).collect())
        }
        Bool(b) if !v3 => Int(i64::from(*b)),
        Double(d) if !v3 => Bulk(format_double(*d).into_bytes()),
        Verbatim(f, t) if v3 => Verbatim(if f.len() == 3 { f.clone() } else { "txt".into() }, t.clone()),
        Verbatim(_, t) => Bulk(t.clone()),
        Simple(s) => Simple(s.replace(['\r', '\n'], " ")),
        Error(s) => Error(s.replace(['\r', '\n'], " ")),
        other => other.clone(),
    }
}

fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{d}")
    }
}

/// Encode → decode: the value comes back (as `expected_after` says), the whole encoding
/// is consumed, and feeding it one byte at a time gives the same value at the last byte.
pub fn check_round_trip(v: &Value, proto: Protocol) {
    let mut wire = BytesMut::new();
    encode(v, proto, &mut wire);
    let bytes = wire.to_vec();
    let want = expected_after(v, proto);
    let got = Decoder::default().decode_value(&mut wire).expect("own encoding decodes").expect("complete frame");
    assert!(same(&got, &want), "round trip {proto:?}: {v:?} -> {:?} -> {got:?}", String::from_utf8_lossy(&bytes));
    assert!(wire.is_empty(), "round trip left {} bytes", wire.len());
    // Every strict prefix is incomplete (never an error, never a value).
    let mut dec = Decoder::default();
    for cut in [0, 1, bytes.len() / 2, bytes.len().saturating_sub(1)] {
        if cut >= bytes.len() {
            continue;
        }
        let mut part = BytesMut::from(&bytes[..cut]);
        assert_eq!(
            dec.decode_value(&mut part),
            Ok(None),
            "prefix of {cut} bytes of {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(part.len(), cut, "an incomplete frame consumed bytes");
    }
}

/// Arbitrary bytes as replies: never a panic; an error or `None` consumes nothing; a value
/// consumes exactly its own frame (the consumed prefix alone decodes to the same value,
/// and the bytes after it are untouched); the value re-encodes and decodes to itself.
pub fn check_resp_value(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    let mut dec = Decoder::default();
    loop {
        let before = buf.to_vec();
        match dec.decode_value(&mut buf) {
            Ok(Some(v)) => {
                let used = before.len() - buf.len();
                assert!(used > 0, "a value from no bytes");
                assert_eq!(&before[used..], &buf[..], "bytes after the frame changed");
                let mut alone = BytesMut::from(&before[..used]);
                let again = Decoder::default().decode_value(&mut alone);
                assert!(
                    matches!(&again, Ok(Some(w)) if same(w, &v)) && alone.is_empty(),
                    "the frame alone decodes differently: {again:?} vs {v:?}"
                );
                check_round_trip(&v, Protocol::Resp3);
                check_round_trip(&v, Protocol::Resp2);
            }
            Ok(None) => {
                assert_eq!(&before[..], &buf[..], "an incomplete frame consumed bytes");
                return;
            }
            Err(e) => {
                assert_eq!(&before[..], &buf[..], "an error consumed bytes");
                assert!(e.0.starts_with("Protocol error: "), "error text: {}", e.0);
                return;
            }
        }
    }
}

/// Arbitrary bytes as client requests, with small limits so that limit paths are hit:
/// never a panic; the same requests and the same outcome whether the bytes arrive at once
/// or in chunks (the first byte picks the chunk size); requests respect the limits.
pub fn check_resp_request(data: &[u8]) {
    let Some((&sel, data)) = data.split_first() else { return };
    let limits = RequestLimits { max_bulk: 64, max_args: 8 };
    let authed = sel & 0x80 == 0;
    let chunk = usize::from(sel & 0x7f).max(1);
    let whole = requests(data, data.len().max(1), &limits, authed);
    let chunked = requests(data, chunk, &limits, authed);
    assert_eq!(whole, chunked, "chunks of {chunk} bytes change the outcome");
    // The limits apply to multibulk requests (an inline line is bounded by its length
    // only, as in Redis).
    for (r, multibulk) in &whole.0 {
        if *multibulk {
            assert!(r.len() as i64 <= limits.max_args, "{} args > limit", r.len());
            assert!(r.iter().all(|a| a.len() as i64 <= limits.max_bulk), "an argument over max_bulk");
            if !authed {
                assert!(r.len() <= 10, "unauthenticated request with {} args", r.len());
            }
        }
    }
}

/// Requests, each with whether it was a multibulk (`*`) one, and the error, if any.
type Outcome = (Vec<(Vec<Vec<u8>>, bool)>, Option<String>);

/// Feeds `data` in `chunk`-byte pieces; returns the requests and the error, if any.
fn requests(data: &[u8], chunk: usize, limits: &RequestLimits, authed: bool) -> Outcome {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut first = None;
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let len = buf.len();
            first = first.or(buf.first().copied());
            match dec.decode_request_limited(&mut buf, limits, authed) {
                Ok(Some(r)) => out.push((r, first.take() == Some(b'*'))),
                Ok(None) => break,
                Err(e) => return (out, Some(e.0)),
            }
            assert!(buf.len() < len || buf.is_empty(), "a request from no bytes");
            if buf.is_empty() {
                break;
            }
        }
    }
    (out, None)
}

/// Arbitrary payloads on `__sentinel__:hello`: never a panic; a parsed hello re-encodes
/// to a payload that parses to the same hello.
pub fn check_hello(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(h) = Hello::decode(&text) {
        let again = Hello::decode(&h.encode());
        assert_eq!(again.as_ref(), Some(&h), "hello round trip of {text:?}");
        assert!(h.current_epoch.0 <= i64::MAX as u64 && h.config_epoch.0 <= i64::MAX as u64);
    }
}

/// Arbitrary INFO text: never a panic; a run id is at most 40 characters; replica fields
/// are only read once `role:slave` was seen.
pub fn check_info(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let i = info::parse(&text);
    if let Some(id) = &i.run_id {
        assert!(id.chars().count() <= 40, "run id {id:?}");
    }
    if i.master_host.is_some() || i.master_port.is_some() {
        assert!(text.contains("role:slave"), "replica fields without role:slave");
    }
}

/// The line number an error message gives after `prefix` (`<file>:<n>: ...`), if any.
fn line_after(msg: &str, prefix: &str) -> Option<usize> {
    let rest = msg.strip_prefix(prefix)?.strip_prefix(':')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

const CONF: &str = "/nonexistent-fuzz-dir/sentinel.conf";
const TOML: &str = "/nonexistent-fuzz-dir/sentinel.toml";
const STATE: &str = "/nonexistent-fuzz-dir/sentinel-state.toml";

/// Arbitrary sentinel.conf text: never a panic; every error names the file and a line
/// that exists. Inputs with `include` are skipped (it reads other files, which could be
/// anything on this machine, `/dev/stdin` included).
pub fn check_sentinel_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.to_ascii_lowercase().contains("include") {
        return;
    }
    let lines = text.split('\n').count();
    match sentinel::config::fuzzing::sentinel_conf(Path::new(CONF), text, Path::new("/nonexistent-fuzz-dir")) {
        Err(e) => {
            let n = line_after(&e.0, CONF).unwrap_or_else(|| panic!("error without file and line: {}", e.0));
            assert!((1..=lines).contains(&n), "line {n} of {lines}: {}", e.0);
        }
        Ok(mut snap) => {
            // What was read can be saved as a state file, and that file reads back.
            if snap.myid.len() != 40 {
                snap.myid = "0".repeat(40);
            }
            // sentinel.conf takes numbers as C's strtoull does (up to u64::MAX, like Redis),
            // which TOML integers (i64) cannot hold: that must be an error, not a panic
            // (found by fuzzing; see docs/fuzzing.md).
            let saved = match sentinel::config::fuzzing::state_text(&snap) {
                Ok(saved) => saved,
                Err(e) if e.contains("out-of-range value") => return,
                Err(e) => panic!("the state of a loaded config does not encode: {e}"),
            };
            let read = sentinel::config::fuzzing::state_file(Path::new(STATE), &saved).map_err(|e| e.0);
            assert_eq!(read, Ok(Vec::new()), "the state file written for {text:?} does not read back:\n{saved}");
        }
    }
}

/// Arbitrary sentinel.toml text: never a panic; every error names the file and a line
/// that exists.
pub fn check_sentinel_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.split('\n').count();
    if let Err(e) = sentinel::config::fuzzing::sentinel_toml(Path::new(TOML), text) {
        let n = line_after(&e.0, TOML).unwrap_or_else(|| panic!("error without file and line: {}", e.0));
        assert!((1..=lines).contains(&n), "line {n} of {lines}: {}", e.0);
    }
}

/// Arbitrary state files: never a panic; every error names the file.
pub fn check_state_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = sentinel::config::fuzzing::state_file(Path::new(STATE), text) {
        assert!(e.0.starts_with(&format!("{STATE}: ")), "error without the file: {}", e.0);
    }
}
