//! Codec tests: exact spellings, Redis error texts, incremental decoding, and property
//! tests (round trips, arbitrary bytes never panic, chunking never changes the outcome).

use super::*;
use proptest::prelude::*;

fn enc(v: &Value, proto: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(v, proto, &mut out);
    out.to_vec()
}

fn dec(bytes: &[u8]) -> Result<Option<Value>, ProtocolError> {
    Decoder::default().decode_value(&mut BytesMut::from(bytes))
}

fn req(bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
    Decoder::default().decode_request(&mut BytesMut::from(bytes))
}

fn words(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn err(text: &str) -> ProtocolError {
    ProtocolError(text.to_string())
}

#[test]
fn resp2_spellings() {
    use Protocol::Resp2 as P;
    assert_eq!(enc(&Value::simple("OK"), P), b"+OK\r\n");
    assert_eq!(enc(&Value::error("ERR x\r\ny"), P), b"-ERR x  y\r\n");
    assert_eq!(enc(&Value::Int(-7), P), b":-7\r\n");
    assert_eq!(enc(&Value::bulk("ab"), P), b"$2\r\nab\r\n");
    assert_eq!(enc(&Value::Null, P), b"$-1\r\n");
    assert_eq!(enc(&Value::NullArray, P), b"*-1\r\n");
    assert_eq!(enc(&Value::str_map([("a", "1")]), P), b"*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(enc(&Value::Push(vec![Value::Int(1)]), P), b"*1\r\n:1\r\n");
    assert_eq!(enc(&Value::Set(vec![]), P), b"*0\r\n");
    assert_eq!(enc(&Value::Bool(true), P), b":1\r\n");
    assert_eq!(enc(&Value::Bool(false), P), b":0\r\n");
    assert_eq!(enc(&Value::Double(1.5), P), b"$3\r\n1.5\r\n");
    assert_eq!(enc(&Value::Verbatim("txt".into(), b"hi".to_vec()), P), b"$2\r\nhi\r\n");
}

#[test]
fn resp3_spellings() {
    use Protocol::Resp3 as P;
    assert_eq!(enc(&Value::Null, P), b"_\r\n");
    assert_eq!(enc(&Value::NullArray, P), b"_\r\n");
    assert_eq!(enc(&Value::str_map([("a", "1")]), P), b"%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(enc(&Value::Push(vec![Value::Int(1)]), P), b">1\r\n:1\r\n");
    assert_eq!(enc(&Value::Set(vec![Value::Int(1)]), P), b"~1\r\n:1\r\n");
    assert_eq!(enc(&Value::Bool(true), P), b"#t\r\n");
    assert_eq!(enc(&Value::Double(-2.0), P), b",-2\r\n");
    assert_eq!(enc(&Value::Double(f64::INFINITY), P), b",inf\r\n");
    assert_eq!(enc(&Value::Double(f64::NEG_INFINITY), P), b",-inf\r\n");
    assert_eq!(enc(&Value::Verbatim("txt".into(), b"hi".to_vec()), P), b"=6\r\ntxt:hi\r\n");
    assert_eq!(enc(&Value::Verbatim("bad-fmt".into(), b"".to_vec()), P), b"=4\r\ntxt:\r\n");
}

#[test]
fn command_encoding() {
    let mut out = BytesMut::new();
    encode_command(&["SENTINEL", "masters"], &mut out);
    assert_eq!(&out[..], b"*2\r\n$8\r\nSENTINEL\r\n$7\r\nmasters\r\n");
}

#[test]
fn decodes_every_reply_type() {
    assert_eq!(dec(b"$-1\r\n"), Ok(Some(Value::Null)));
    assert_eq!(dec(b"*-1\r\n"), Ok(Some(Value::NullArray)));
    assert_eq!(dec(b"_\r\n"), Ok(Some(Value::Null)));
    assert_eq!(dec(b"#f\r\n"), Ok(Some(Value::Bool(false))));
    assert_eq!(dec(b",nan\r\n").map(|v| matches!(v, Some(Value::Double(d)) if d.is_nan())), Ok(true));
    assert_eq!(dec(b"(12345678901234567890\r\n"), Ok(Some(Value::bulk("12345678901234567890"))));
    assert_eq!(dec(b"!5\r\nERR x\r\n"), Ok(Some(Value::error("ERR x"))));
    assert_eq!(dec(b"=8\r\ntxt:abcd\r\n"), Ok(Some(Value::Verbatim("txt".into(), b"abcd".to_vec()))));
    assert_eq!(dec(b"|1\r\n+k\r\n+v\r\n:3\r\n"), Ok(Some(Value::Int(3))));
    let nested = b"*2\r\n%1\r\n+a\r\n~1\r\n:1\r\n>1\r\n$0\r\n\r\n";
    let want = Value::Array(vec![
        Value::Map(vec![(Value::simple("a"), Value::Set(vec![Value::Int(1)]))]),
        Value::Push(vec![Value::bulk("")]),
    ]);
    assert_eq!(dec(nested), Ok(Some(want)));
}

#[test]
fn incomplete_value_consumes_nothing_and_pipelines() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n"[..]);
    let mut d = Decoder::default();
    assert_eq!(d.decode_value(&mut buf), Ok(None));
    assert_eq!(buf.len(), 13);
    buf.extend_from_slice(b":1\r\n+OK\r\n");
    assert_eq!(d.decode_value(&mut buf), Ok(Some(Value::Array(vec![Value::bulk("foo"), Value::Int(1)]))));
    assert_eq!(d.decode_value(&mut buf), Ok(Some(Value::ok())));
    assert!(buf.is_empty());
}

#[test]
fn reply_limits_and_errors() {
    assert_eq!(dec(b"$67108865\r\n"), Err(err("Protocol error: invalid bulk length")));
    assert_eq!(dec(b"$67108864\r\n"), Ok(None));
    assert_eq!(dec(b"$-2\r\n"), Err(err("Protocol error: invalid bulk length")));
    assert_eq!(dec(b"$3\r\nabcXY"), Err(err("Protocol error: bulk string not terminated by CRLF")));
    assert!(dec(b"?\r\n").is_err());
    assert!(dec(b":x\r\n").is_err());
    assert!(dec(&[b'+'; MAX_INLINE + 10]).is_err());
    let deep: Vec<u8> = b"*1\r\n".repeat(MAX_REPLY_DEPTH + 2);
    assert!(dec(&deep).is_err());
    let attrs: Vec<u8> = b"|0\r\n".repeat(MAX_REPLY_DEPTH + 2);
    assert!(dec(&attrs).is_err());
}

#[test]
fn multibulk_requests() {
    assert_eq!(req(b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"), Ok(Some(words(&["PING", "hi"]))));
    assert_eq!(req(b"*0\r\n"), Ok(Some(vec![])));
    assert_eq!(req(b"*2\r\n$4\r\nPING\r\n"), Ok(None));
    assert_eq!(req(b"*1\r\n$4\r\nPI"), Ok(None));
    assert_eq!(req(b"*1\r"), Ok(None));
}

#[test]
fn request_errors_have_redis_texts() {
    let e = |t: &str| Err(err(t));
    assert_eq!(req(b"*x\r\n"), e("Protocol error: invalid multibulk length"));
    // Redis 7.0: more than INT_MAX arguments, or a bulk beyond proto-max-bulk-len.
    assert_eq!(req(b"*2147483648\r\n"), e("Protocol error: invalid multibulk length"));
    assert_eq!(req(b"*2147483647\r\n"), Ok(None));
    assert_eq!(req(b"*1\r\n$536870913\r\n"), e("Protocol error: invalid bulk length"));
    assert_eq!(req(b"*1\r\n$536870912\r\n"), Ok(None));
    assert_eq!(req(b"*1\r\n$1073741825\r\n"), e("Protocol error: invalid bulk length"));
    assert_eq!(req(b"*1\r\n$-1\r\n"), e("Protocol error: invalid bulk length"));
    assert_eq!(req(b"*1\r\n$01\r\n"), e("Protocol error: invalid bulk length"));
    assert_eq!(req(b"*1\r\n:1\r\n"), e("Protocol error: expected '$', got ':'"));
    assert_eq!(req(&[b'x'; MAX_INLINE + 1]), e("Protocol error: too big inline request"));
    assert_eq!(req(b"PING \"a\n"), e("Protocol error: unbalanced quotes in request"));
    assert_eq!(req(b"PING \"a\"b\n"), e("Protocol error: unbalanced quotes in request"));
    assert_eq!(req(b"PING 'a\n"), e("Protocol error: unbalanced quotes in request"));
    let mut long = b"*1\r\n$".to_vec();
    long.extend(std::iter::repeat_n(b'1', MAX_INLINE + 1));
    assert_eq!(req(&long), e("Protocol error: too big bulk count string"));
}

#[test]
fn limits_configured_and_unauthenticated() {
    let limits = RequestLimits { max_bulk: 1024 * 1024, max_args: MAX_REQUEST_ARGS };
    let run = |bytes: &[u8], authed: bool| {
        Decoder::default().decode_request_limited(&mut BytesMut::from(bytes), &limits, authed)
    };
    let e = |t: &str| Err(err(t));
    assert_eq!(run(b"*1\r\n$1048577\r\n", true), e("Protocol error: invalid bulk length"));
    assert_eq!(run(b"*1\r\n$1048576\r\n", true), Ok(None));
    assert_eq!(run(b"*11\r\n", false), e("Protocol error: unauthenticated multibulk length"));
    assert_eq!(run(b"*10\r\n", false), Ok(None));
    assert_eq!(run(b"*1\r\n$16385\r\n", false), e("Protocol error: unauthenticated bulk length"));
    assert_eq!(run(b"*1\r\n$16384\r\n", false), Ok(None));
}

#[test]
fn a_long_request_is_consumed_argument_by_argument() {
    let mut d = Decoder::default();
    let mut buf = BytesMut::from(&b"*3\r\n$1\r\na\r\n$2\r\nbb"[..]);
    assert_eq!(d.decode_request(&mut buf), Ok(None));
    // The complete argument left the buffer; the partial one is still there.
    assert_eq!(&buf[..], b"$2\r\nbb");
    assert_eq!(d.pending_bytes(), 1 + std::mem::size_of::<Vec<u8>>());
    buf.extend_from_slice(b"\r\n$1\r\nc\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(d.decode_request(&mut buf), Ok(Some(words(&["a", "bb", "c"]))));
    assert_eq!(d.pending_bytes(), 0);
    assert_eq!(d.decode_request(&mut buf), Ok(Some(words(&["PING"]))));
}

#[test]
fn inline_requests_split_like_sdssplitargs() {
    assert_eq!(req(b"PING\r\n"), Ok(Some(words(&["PING"]))));
    assert_eq!(req(b"  set  a   b \n"), Ok(Some(words(&["set", "a", "b"]))));
    assert_eq!(req(b"\r\n"), Ok(Some(vec![])));
    assert_eq!(req(b"PING"), Ok(None));
    assert_eq!(req(b"a \"x y\\n\\x41\\\"\" 'it\\'s' \"\"\n"), Ok(Some(words(&["a", "x y\nA\"", "it's", ""]))));
    assert_eq!(req(b"a\"b c\"\n"), Ok(Some(words(&["ab c"]))));
    assert_eq!(req(b"a \\xZZ\n"), Ok(Some(words(&["a", "\\xZZ"]))));
    assert_eq!(req(b"a\0b c\n"), Ok(Some(words(&["a"]))));
    let mut buf = BytesMut::from(&b"PING\nPING x\n"[..]);
    let mut d = Decoder::default();
    assert_eq!(d.decode_request(&mut buf), Ok(Some(words(&["PING"]))));
    assert_eq!(d.decode_request(&mut buf), Ok(Some(words(&["PING", "x"]))));
    assert_eq!(d.decode_request(&mut buf), Ok(None));
}

// ----- properties -------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 :_.-]{0,12}"
}

fn leaf3() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::Simple),
        text().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bulk),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_filter("nan is not equal to itself", |d| !d.is_nan()).prop_map(Value::Double),
        ("[a-z]{3}", proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(f, t)| Value::Verbatim(f, t)),
    ]
}

/// Every value RESP3 can spell unambiguously (NullArray and Null are both `_`).
fn value3() -> impl Strategy<Value = Value> {
    leaf3().prop_recursive(4, 40, 6, |inner| {
        let list = proptest::collection::vec(inner.clone(), 0..6);
        prop_oneof![
            list.clone().prop_map(Value::Array),
            list.clone().prop_map(Value::Set),
            list.prop_map(Value::Push),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
}

/// The RESP2 subset that survives a round trip (no maps, pushes, bools, doubles...).
fn value2() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::Simple),
        text().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bulk),
        Just(Value::Null),
        Just(Value::NullArray),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| proptest::collection::vec(inner, 0..6).prop_map(Value::Array))
}

/// Feeds `bytes` split at `cut` through a decoder; all frames and the first error.
fn feed<T>(
    bytes: &[u8],
    cut: usize,
    mut step: impl FnMut(&mut BytesMut) -> Result<Option<T>, ProtocolError>,
) -> (Vec<T>, Option<ProtocolError>) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in [&bytes[..cut], &bytes[cut..]] {
        buf.extend_from_slice(chunk);
        loop {
            match step(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

proptest! {
    #[test]
    fn resp3_round_trip(v in value3()) {
        let bytes = enc(&v, Protocol::Resp3);
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(Decoder::default().decode_value(&mut buf), Ok(Some(v)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn resp2_round_trip(v in value2()) {
        let bytes = enc(&v, Protocol::Resp2);
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(Decoder::default().decode_value(&mut buf), Ok(Some(v)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn command_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 0..8)) {
        let mut buf = BytesMut::new();
        encode_command(&args, &mut buf);
        prop_assert_eq!(Decoder::default().decode_request(&mut buf), Ok(Some(args)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn every_split_of_a_value_decodes_the_same(v in value3()) {
        let bytes = enc(&v, Protocol::Resp3);
        for cut in 0..=bytes.len() {
            let mut d = Decoder::default();
            let (frames, error) = feed(&bytes, cut, |b| d.decode_value(b));
            prop_assert_eq!(error, None);
            prop_assert_eq!(frames, vec![v.clone()]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_chunking_is_invisible(
        bytes in proptest::collection::vec(
            prop_oneof![Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'"'), Just(b'1'), any::<u8>()],
            0..64,
        )
    ) {
        // A fresh decoder per feed: a request decoder keeps a partial request's state.
        let whole_v = feed(&bytes, bytes.len(), |b| Decoder::default().decode_value(b));
        let mut d = Decoder::default();
        let whole_r = feed(&bytes, bytes.len(), |b| d.decode_request(b));
        for cut in 0..=bytes.len() {
            let split_v = feed(&bytes, cut, |b| Decoder::default().decode_value(b));
            prop_assert_eq!(&format!("{split_v:?}"), &format!("{whole_v:?}"));
            let mut d = Decoder::default();
            prop_assert_eq!(&feed(&bytes, cut, |b| d.decode_request(b)), &whole_r);
        }
    }
}

#[test]
fn integer_headers_at_the_limits() {
    for n in [0i64, 7, -7, 10, -10, 1234567890, i64::MAX, i64::MIN] {
        let mut out = BytesMut::new();
        encode(&Value::Int(n), Protocol::Resp2, &mut out);
        assert_eq!(&out[..], format!(":{n}\r\n").as_bytes());
    }
}

#[test]
fn strict_integers_as_redis_string2ll() {
    use super::parse_strict_i64 as p;
    assert_eq!(p(b"0"), Some(0));
    assert_eq!(p(b"42"), Some(42));
    assert_eq!(p(b"-42"), Some(-42));
    assert_eq!(p(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(p(b"-9223372036854775808"), Some(i64::MIN));
    for bad in
        [&b""[..], b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"9223372036854775808", b"-9223372036854775809", b"1a"]
    {
        assert_eq!(p(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}
