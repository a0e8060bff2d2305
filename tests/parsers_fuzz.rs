//! Structure-aware property tests for the parsers that read untrusted bytes (issue 13.3),
//! and the replay of the kept fuzz corpus (`tests/fuzz-corpus/<target>/*`) through every
//! target. The properties live in `fuzz/checks.rs`, shared with the libFuzzer targets
//! (docs/fuzzing.md).

#[path = "../fuzz/checks.rs"]
mod checks;

use bytes::BytesMut;
use checks::*;
use proptest::prelude::*;
use sentinel::resp::{encode, encode_command, Decoder, Protocol, Value};
use std::path::Path;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 :_-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("a\r\nb".to_string()),
    ]
}

fn blob() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..24), Just(b"\r\n$3\r\n*1\r\n".to_vec())]
}

/// Any value, nested a few levels deep.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::Simple),
        text().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        blob().prop_map(Value::Bulk),
        Just(Value::Null),
        Just(Value::NullArray),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e300)
        ]
        .prop_map(Value::Double),
        (prop_oneof!["[a-z]{3}", "[a-z]{0,5}", "é[a-z]"], blob()).prop_map(|(f, t)| Value::Verbatim(f, t)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Push),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
}

/// RESP-looking bytes: well-formed frames with mutations (a byte changed, inserted,
/// removed, the frame truncated or followed by another), so the parser's error paths are
/// hit far more often than by uniform bytes.
fn resp_bytes() -> impl Strategy<Value = Vec<u8>> {
    let frame = (value(), any::<bool>()).prop_map(|(v, v3)| {
        let mut out = BytesMut::new();
        encode(&v, if v3 { Protocol::Resp3 } else { Protocol::Resp2 }, &mut out);
        out.to_vec()
    });
    let header = prop_oneof![
        Just(b"$-2\r\n".to_vec()),
        Just(b"*-1\r\n".to_vec()),
        Just(b"*99999999999\r\n".to_vec()),
        Just(b"$67108865\r\n".to_vec()),
        Just(b"$3\r\nabcXY".to_vec()),
        Just(b"=3\r\ntxt\r\n".to_vec()),
        Just(b"|1\r\n+a\r\n+b\r\n:1\r\n".to_vec()),
        Just(b"(-\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        "[-+:$*%~>|=!(,#_0-9a-z\r\n]{0,16}".prop_map(String::into_bytes),
    ];
    let piece = prop_oneof![3 => frame, 1 => header];
    (proptest::collection::vec(piece, 1..4), any::<u8>(), any::<usize>(), 0u8..5).prop_map(|(pieces, b, at, how)| {
        let mut v: Vec<u8> = pieces.concat();
        if !v.is_empty() {
            let i = at % v.len();
            match how {
                0 => v[i] = b,
                1 => v.insert(i, b),
                2 => {
                    v.remove(i);
                }
                3 => v.truncate(i),
                _ => {}
            }
        }
        v
    })
}

/// Client-request-looking bytes: multibulk commands and inline lines, mutated.
fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    let cmd = proptest::collection::vec(blob(), 0..12).prop_map(|args| {
        let mut out = BytesMut::new();
        encode_command(&args, &mut out);
        out.to_vec()
    });
    let inline = prop_oneof![
        "[a-z \"'\\\\x0-9]{0,20}\r?\n".prop_map(String::into_bytes),
        Just(b"set \"a\\x4G\" 'b\\'c'\n".to_vec()),
        Just(b"*3\r\n$1\r\na\r\n".to_vec()),
        Just(b"*1\r\n:1\r\n".to_vec()),
        Just(b"*1\r\n$100\r\n".to_vec()),
        Just(b"*-5\r\n".to_vec()),
        Just(b"*+1\r\n".to_vec()),
        Just(b"*01\r\n".to_vec()),
    ];
    let piece = prop_oneof![2 => cmd, 1 => inline];
    (any::<u8>(), proptest::collection::vec(piece, 1..4), any::<u8>(), any::<usize>(), 0u8..4).prop_map(
        |(sel, pieces, b, at, how)| {
            let mut v = vec![sel];
            v.extend(pieces.concat());
            let i = 1 + at % v.len().max(2).saturating_sub(1);
            match how {
                0 if i < v.len() => v[i] = b,
                1 => v.insert(i.min(v.len()), b),
                2 => v.truncate(i),
                _ => {}
            }
            v
        },
    )
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}(\\.[0-9]{1,3}){3}",
        "::1",
        "[a-z0-9.-]{0,12}",
        any::<String>().prop_map(|s| s.replace(',', ""))
    ]
}

/// Hello payloads: the eight fields, each well-formed or replaced by junk, joined by
/// commas, sometimes with a field more or fewer.
fn hello_bytes() -> impl Strategy<Value = Vec<u8>> {
    let num = prop_oneof![
        any::<u16>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("9223372036854775808".to_string()),
        "[-+0-9 a-z]{0,6}",
    ];
    (host(), num.clone(), "[0-9a-f]{40}|[a-z,]{0,5}", num.clone(), "[a-z,]{0,8}", host(), num.clone(), num, 0u8..3)
        .prop_map(|(h, p, id, e, name, mh, mp, ce, extra)| {
            let mut s = format!("{h},{p},{id},{e},{name},{mh},{mp},{ce}");
            match extra {
                0 => s.push_str(",x"),
                1 => {
                    s.truncate(s.rfind(',').unwrap_or(0));
                }
                _ => {}
            }
            s.into_bytes()
        })
}

/// INFO text: section headers, the lines §4.2 reads (well-formed or not), any line
/// ending, in any order.
fn info_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just("# Replication".to_string()),
        "role:(master|slave|sentinel|)[a-z]{0,3}",
        "run_id:[0-9a-fé]{0,50}",
        "slave[0-9]{0,2}:(ip=[0-9.:a-z]{0,15},port=[-0-9a-z]{0,6},state=online|[0-9.]{0,9},[0-9]{0,6},online|[=,:a-z]{0,12})",
        "master_(host|port|link_status|link_down_since_seconds|replid|replid2|repl_offset):[-0-9a-z]{0,20}",
        "(slave_priority|slave_repl_offset|replica_announced):[-0-9a-z]{0,22}",
        any::<String>(),
    ];
    let eol = prop_oneof![Just("\r\n"), Just("\n"), Just("\r"), Just("")];
    proptest::collection::vec((line, eol), 0..16)
        .prop_map(|ls| ls.into_iter().flat_map(|(l, e)| [l, e.to_string()]).collect::<String>().into_bytes())
}

/// sentinel.conf lines: real directives with good and bad arguments, quotes, comments.
fn conf_bytes() -> impl Strategy<Value = Vec<u8>> {
    let arg = prop_oneof![
        "[a-z0-9.]{1,10}",
        Just("mymaster".to_string()),
        Just("127.0.0.1".to_string()),
        "-?[0-9]{1,12}",
        "\"[a-z \\\\x0-9]{0,8}\"?",
        "'[a-z ]{0,5}'?",
        Just("yes".to_string()),
        Just("\"\"".to_string()),
    ];
    let name = prop_oneof![
        Just("sentinel monitor"),
        Just("sentinel down-after-milliseconds"),
        Just("sentinel failover-timeout"),
        Just("sentinel parallel-syncs"),
        Just("sentinel auth-pass"),
        Just("sentinel known-replica"),
        Just("sentinel known-sentinel"),
        Just("sentinel config-epoch"),
        Just("sentinel leader-epoch"),
        Just("sentinel current-epoch"),
        Just("sentinel myid"),
        Just("sentinel notification-script"),
        Just("sentinel rename-command"),
        Just("sentinel announce-port"),
        Just("sentinel"),
        Just("port"),
        Just("bind"),
        Just("maxclients"),
        Just("timeout"),
        Just("client-output-buffer-limit"),
        Just("proto-max-bulk-len"),
        Just("loglevel"),
        Just("user"),
        Just("save"),
        Just("# comment"),
        Just(""),
        Just("bogus-directive"),
    ];
    let line = (name, proptest::collection::vec(arg, 0..6), prop_oneof![Just("\n"), Just("\r\n"), Just("  \n")])
        .prop_map(|(n, args, eol)| format!("{n} {}{eol}", args.join(" ")));
    proptest::collection::vec(line, 0..10).prop_map(|ls| ls.concat().into_bytes())
}

/// sentinel.toml documents: keys of the schema with values of the right and wrong types,
/// `[masters.x]` tables, broken syntax.
fn toml_bytes() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        "-?[0-9]{1,21}".prop_map(|s| s),
        "\"[a-z0-9 .:/]{0,10}\"",
        Just("true".to_string()),
        Just("[\"127.0.0.1\"]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("\"unterminated".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("".to_string()),
    ];
    let key = prop_oneof![
        Just("port"),
        Just("bind"),
        Just("data-dir"),
        Just("loglevel"),
        Just("log-format"),
        Just("maxclients"),
        Just("timeout"),
        Just("client-output-buffer-limit"),
        Just("announce-port"),
        Just("http-port"),
        Just("host"),
        Just("quorum"),
        Just("down-after-ms"),
        Just("failover-timeout-ms"),
        Just("parallel-syncs"),
        Just("notification-script"),
        Just("auth-pass"),
        Just("unknown-key"),
    ];
    let line = prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}\n")),
        1 => "\\[masters\\.[a-z ]{0,6}\\]\n",
        1 => Just("[masters]\n".to_string()),
        1 => "[\\[\\]=\"a-z ]{0,10}\n",
    ];
    proptest::collection::vec(line, 0..12).prop_map(|ls| ls.concat().into_bytes())
}

/// State files: a format_version and checksum line (right, wrong or missing), then the
/// schema's keys with good and bad values.
fn state_bytes() -> impl Strategy<Value = Vec<u8>> {
    let head = prop_oneof![
        Just("format_version = 1\n".to_string()),
        Just("format_version = 2\n".to_string()),
        Just("format_version = \"1\"\n".to_string()),
        Just("".to_string()),
    ];
    let sum = prop_oneof![
        Just("".to_string()),
        Just("checksum = \"fnv1a64:0000000000000000\"\n".to_string()),
        Just("checksum = 5\n".to_string()),
    ];
    let body_line = prop_oneof![
        "myid = \"[0-9a-f]{38,42}\"\n",
        "current_epoch = -?[0-9]{1,20}\n",
        Just("[[masters]]\n".to_string()),
        "name = \"[a-z]{0,3}\"\n",
        "host = \"[0-9.]{0,9}\"\n",
        "port = -?[0-9]{1,6}\n",
        "quorum = [0-9]{1,3}\n",
        "[a-z_=\\[\\]\" ]{0,12}\n",
    ];
    (head, sum, proptest::collection::vec(body_line, 0..10)).prop_map(|(h, s, b)| {
        let body = b.concat();
        // Half of the checksum lines are right for the body that follows.
        let s = if s.starts_with("checksum = \"") && body.len() % 2 == 0 {
            format!("checksum = \"fnv1a64:{:016x}\"\n", fnv1a64(body.as_bytes()))
        } else {
            s
        };
        format!("{h}{s}{body}").into_bytes()
    })
}

/// The state file's checksum (src/config/state.rs), so that generated files get past it.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn resp_round_trip_resp3(v in value()) {
        check_round_trip(&v, Protocol::Resp3);
    }

    #[test]
    fn resp_round_trip_resp2(v in value()) {
        check_round_trip(&v, Protocol::Resp2);
    }

    #[test]
    fn resp_value_structured(data in resp_bytes()) {
        check_resp_value(&data);
    }

    #[test]
    fn resp_value_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_resp_value(&data);
    }

    #[test]
    fn resp_request_structured(data in request_bytes()) {
        check_resp_request(&data);
    }

    #[test]
    fn hello_structured(data in hello_bytes()) {
        check_hello(&data);
    }

    #[test]
    fn info_structured(data in info_bytes()) {
        check_info(&data);
    }

    #[test]
    fn sentinel_conf_structured(data in conf_bytes()) {
        check_sentinel_conf(&data);
    }

    #[test]
    fn sentinel_toml_structured(data in toml_bytes()) {
        check_sentinel_toml(&data);
    }

    #[test]
    fn state_file_structured(data in state_bytes()) {
        check_state_file(&data);
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// A well-formed frame followed by junk: the frame decodes alone and the junk is left
    /// exactly as it was (a frame never consumes beyond itself).
    #[test]
    fn resp_frame_never_consumes_the_next(v in value(), junk in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut buf = BytesMut::new();
        encode(&v, Protocol::Resp3, &mut buf);
        buf.extend_from_slice(&junk);
        let got = Decoder::default().decode_value(&mut buf).unwrap().unwrap();
        prop_assert!(same(&got, &expected_after(&v, Protocol::Resp3)));
        prop_assert_eq!(&buf[..], &junk[..]);
    }

    /// A malformed frame before a good one: the decoder returns an error (never a value
    /// made of both) and consumes nothing.
    #[test]
    fn resp_malformed_frame_is_an_error_and_consumes_nothing(
        bad in prop_oneof![
            Just(&b"$-2\r\n"[..]),
            Just(&b"$3\r\nabcXY"[..]),
            Just(&b":x\r\n"[..]),
            Just(&b"#x\r\n"[..]),
            Just(&b",1.2.3\r\n"[..]),
            Just(&b"=2\r\nab\r\n"[..]),
            Just(&b"*2\r\n:1\r\n?\r\n"[..]),
            Just(&b"%1\r\n:1\r\n$-3\r\n"[..]),
            Just(&b"*16777217\r\n"[..]),
            Just(&b"\r\n"[..]),
        ],
        v in value(),
    ) {
        let mut buf = BytesMut::from(bad);
        encode(&v, Protocol::Resp3, &mut buf);
        let before = buf.to_vec();
        let r = Decoder::default().decode_value(&mut buf);
        prop_assert!(r.is_err(), "{:?} gave {:?}", String::from_utf8_lossy(bad), r);
        prop_assert_eq!(&buf[..], &before[..]);
    }
}

#[test]
fn config_errors_name_the_line() {
    // Fixed cases next to the generated ones: the line of the bad directive, not another.
    let e = sentinel::config::fuzzing::sentinel_conf(
        Path::new("/x/sentinel.conf"),
        "port 1\n\n# c\nsentinel monitor m 127.0.0.1 6379 0\n",
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(e.0.starts_with("/x/sentinel.conf:4: "), "{}", e.0);
    let e = sentinel::config::fuzzing::sentinel_toml(Path::new("/x/sentinel.toml"), "port = 1\nloglevel = \"loud\"\n")
        .unwrap_err();
    assert!(e.0.starts_with("/x/sentinel.toml:2: "), "{}", e.0);
}

/// Every file kept under `tests/fuzz-corpus/<target>/` (the interesting inputs the
/// coverage-guided runs found, minimized, and every crash fixed) goes through every
/// target, not only its own: the properties must hold for any bytes.
#[test]
fn corpus_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files = Vec::new();
    for (name, _) in TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            files.push(entry.unwrap().path());
        }
    }
    assert!(files.len() >= TARGETS.len(), "the corpus has {} files", files.len());
    for file in &files {
        let data = std::fs::read(file).unwrap();
        for (name, check) in TARGETS {
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "target {name} fails on {}", file.display());
        }
    }
}
