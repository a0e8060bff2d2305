//! The listener in-process on 127.0.0.1:0 with a fake core task, checked with raw bytes.

use super::{run, ServerCtx, ToCore};
use crate::core::{Event, Level};
use crate::resp::{encode_command, Decoder, Value};
use bytes::BytesMut;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot};

struct Harness {
    addr: std::net::SocketAddr,
    events: broadcast::Sender<Event>,
    shutdown_rx: mpsc::Receiver<()>,
    stop: Option<oneshot::Sender<()>>,
}

/// The fake core: `ROLE` → `["sentinel", ["m"]]`, `SENTINEL x` → `+core x`, anything
/// else echoed as an array of bulks; the INFO section is fixed.
async fn fake_core(mut rx: mpsc::Receiver<ToCore>) {
    while let Some(msg) = rx.recv().await {
        match msg {
            ToCore::Commands { commands, reply, .. } => {
                let values = commands
                    .into_iter()
                    .map(|args| match args[0].to_ascii_lowercase().as_slice() {
                        b"role" => Value::Array(vec![Value::bulk("sentinel"), Value::Array(vec![Value::bulk("m")])]),
                        b"sentinel" if args[1] == b"null" => Value::Null,
                        b"sentinel" => Value::simple(format!("core {}", String::from_utf8_lossy(&args[1]))),
                        _ => Value::Array(args.into_iter().map(Value::Bulk).collect()),
                    })
                    .collect();
                let _ = reply.send(values);
            }
            ToCore::InfoSection { reply } => {
                let _ = reply.send("# Sentinel\r\nsentinel_masters:0\r\n".into());
            }
        }
    }
}

async fn start(requirepass: Option<&str>) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (to_core, core_rx) = mpsc::channel(16);
    let (events, _) = broadcast::channel(16);
    let (shutdown, shutdown_rx) = mpsc::channel(1);
    let ctx = ServerCtx {
        to_core,
        events: events.clone(),
        port: addr.port(),
        requirepass: requirepass.map(str::to_string),
        users: Vec::new(),
        config_file: "/tmp/test.conf".into(),
        shutdown,
        limits: Default::default(),
        acl: Default::default(),
        aclfile: None,
        registry: Default::default(),
    };
    tokio::spawn(fake_core(core_rx));
    let (stop, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(run(listener, ctx, async move {
        let _ = stop_rx.await;
    }));
    Harness { addr, events, shutdown_rx, stop: Some(stop) }
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    async fn connect(h: &Harness) -> Client {
        Client { stream: TcpStream::connect(h.addr).await.expect("connect"), buf: BytesMut::new() }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    async fn cmd(&mut self, args: &[&str]) {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.send_raw(&out).await;
    }

    /// Exactly `want.len()` bytes, compared to `want`.
    async fn expect(&mut self, want: &[u8]) {
        while self.buf.len() < want.len() {
            let read = tokio::time::timeout(Duration::from_secs(5), self.stream.read_buf(&mut self.buf)).await;
            let n = read.expect("reply timed out").expect("read");
            assert!(n > 0, "closed early; got {:?}", String::from_utf8_lossy(&self.buf));
        }
        let got = self.buf.split_to(want.len());
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }

    async fn value(&mut self) -> Value {
        loop {
            if let Some(v) = Decoder::default().decode_value(&mut self.buf).expect("valid reply") {
                return v;
            }
            let read = tokio::time::timeout(Duration::from_secs(5), self.stream.read_buf(&mut self.buf)).await;
            assert!(read.expect("reply timed out").expect("read") > 0, "closed early");
        }
    }

    async fn expect_closed(&mut self) {
        let read = tokio::time::timeout(Duration::from_secs(5), self.stream.read_buf(&mut self.buf)).await;
        assert_eq!(read.expect("close timed out").expect("read"), 0, "{:?}", self.buf);
    }
}

fn event(name: &'static str, message: &str) -> Event {
    Event { level: Level::Warning, name, message: message.into(), master: None }
}

#[tokio::test]
async fn ping_inline_pipelining_and_echo() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.send_raw(b"PING\r\n*2\r\n$4\r\nping\r\n$2\r\nhi\r\nping \"a b\"\n\r\n").await;
    c.expect(b"+PONG\r\n$2\r\nhi\r\n$3\r\na b\r\n").await;
    c.cmd(&["PING", "a", "b"]).await;
    c.expect(b"-ERR wrong number of arguments for 'ping' command\r\n").await;
}

/// Many core commands in one write (more than one batch), then a mix with local commands
/// (PING, INFO, errors, HELLO switching the protocol): one reply each, in request order.
#[tokio::test]
async fn pipelined_core_and_local_commands_answer_in_order() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    let mut out = BytesMut::new();
    for i in 0..1000 {
        encode_command(&["SENTINEL", &format!("c{i}")], &mut out);
    }
    c.send_raw(&out).await;
    for i in 0..1000 {
        assert_eq!(c.value().await, Value::simple(format!("core c{i}")), "reply {i}");
    }

    let mut out = BytesMut::new();
    for i in 0..300 {
        encode_command(&["SENTINEL", &format!("a{i}")], &mut out);
        match i % 6 {
            0 => encode_command(&["PING", &format!("p{i}")], &mut out),
            1 => encode_command(&["ROLE"], &mut out),
            2 => encode_command(&["NOSUCH", &format!("n{i}")], &mut out),
            3 => encode_command(&["INFO", "sentinel"], &mut out),
            4 => encode_command(&["ROLE", "extra"], &mut out),
            _ => {}
        }
    }
    // The protocol in force when a core command was read spells its reply.
    encode_command(&["SENTINEL", "null"], &mut out);
    encode_command(&["HELLO", "3"], &mut out);
    encode_command(&["SENTINEL", "null"], &mut out);
    encode_command(&["PING", "last"], &mut out);
    c.send_raw(&out).await;
    let role = Value::Array(vec![Value::bulk("sentinel"), Value::Array(vec![Value::bulk("m")])]);
    for i in 0..300 {
        assert_eq!(c.value().await, Value::simple(format!("core a{i}")), "reply to SENTINEL a{i}");
        let got = match i % 6 {
            0 => c.value().await,
            1 => c.value().await,
            2..=4 => c.value().await,
            _ => continue,
        };
        match i % 6 {
            0 => assert_eq!(got, Value::bulk(format!("p{i}"))),
            1 => assert_eq!(got, role),
            2 => assert!(matches!(&got, Value::Error(e) if e.contains(&format!("'n{i}'"))), "{got:?}"),
            3 => assert!(matches!(&got, Value::Bulk(b) if b.starts_with(b"# Sentinel")), "{got:?}"),
            _ => assert!(matches!(&got, Value::Error(e) if e.contains("'role'")), "{got:?}"),
        }
    }
    c.expect(b"$-1\r\n").await;
    assert!(matches!(c.value().await, Value::Map(_)));
    c.expect(b"_\r\n$4\r\nlast\r\n").await;
}

#[tokio::test]
async fn hello_3_map_and_resp3_replies() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["HELLO", "3"]).await;
    let Value::Map(fields) = c.value().await else { panic!("HELLO 3 must reply with a map") };
    let keys: Vec<String> = fields.iter().filter_map(|(k, _)| k.as_string()).collect();
    assert_eq!(keys, ["server", "version", "proto", "id", "mode", "modules"]);
    assert_eq!(fields[1].1, Value::bulk("7.0.15"));
    assert_eq!(fields[2].1, Value::Int(3));
    assert_eq!(fields[4].1, Value::bulk("sentinel"));
    assert_eq!(fields[5].1, Value::Array(vec![]));
    c.cmd(&["CLIENT", "GETNAME"]).await;
    c.expect(b"_\r\n").await;
    c.cmd(&["HELLO", "4"]).await;
    c.expect(b"-NOPROTO unsupported protocol version\r\n").await;
    c.cmd(&["HELLO", "2", "SETNAME", "x y"]).await;
    c.expect(b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n").await;
}

#[tokio::test]
async fn unknown_commands_and_subcommands() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["CONFIG", "GET", "*"]).await;
    c.expect(b"-ERR unknown command 'CONFIG', with args beginning with: 'GET' '*' \r\n").await;
    c.cmd(&["quit"]).await;
    c.expect(b"-ERR unknown command 'quit', with args beginning with: \r\n").await;
    c.cmd(&["CLIENT", "NO-TOUCH", "on"]).await;
    c.expect(b"-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n").await;
    c.cmd(&["client", "id", "x"]).await;
    c.expect(b"-ERR wrong number of arguments for 'client|id' command\r\n").await;
    c.cmd(&["ROLE", "x"]).await;
    c.expect(b"-ERR wrong number of arguments for 'role' command\r\n").await;
    c.cmd(&["PING"]).await;
    c.expect(b"+PONG\r\n").await;
}

#[tokio::test]
async fn auth_flow() {
    let h = start(Some("s3cret")).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["PING"]).await;
    c.expect(b"-NOAUTH Authentication required.\r\n").await;
    c.cmd(&["SENTINEL", "masters"]).await;
    c.expect(b"-NOAUTH Authentication required.\r\n").await;
    c.cmd(&["HELLO", "3"]).await;
    let reply = c.value().await;
    assert!(
        matches!(&reply, Value::Error(e) if e.starts_with("NOAUTH HELLO must be called with the client already authenticated, otherwise")),
        "{reply:?}"
    );
    c.cmd(&["AUTH", "wrong"]).await;
    c.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n").await;
    c.cmd(&["AUTH", "default", "s3cret"]).await;
    c.expect(b"+OK\r\n").await;
    c.cmd(&["SENTINEL", "masters"]).await;
    c.expect(b"+core masters\r\n").await;

    let mut d = Client::connect(&h).await;
    d.cmd(&["HELLO", "2", "AUTH", "default", "s3cret"]).await;
    assert!(matches!(d.value().await, Value::Array(a) if a.len() == 12));
    d.cmd(&["ROLE"]).await;
    d.expect(b"*2\r\n$8\r\nsentinel\r\n*1\r\n$1\r\nm\r\n").await;

    let none = start(None).await;
    let mut e = Client::connect(&none).await;
    e.cmd(&["AUTH", "x"]).await;
    e.expect(b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n").await;
}

#[tokio::test]
async fn subscribe_and_event_delivery_resp2() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["SUBSCRIBE", "+sdown", "+odown"]).await;
    c.expect(b"*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$6\r\n+odown\r\n:2\r\n").await;
    h.events.send(event("+sdown", "master m 127.0.0.1 6379")).expect("a subscriber");
    h.events.send(event("+tilt", "#tilt mode entered")).expect("a subscriber");
    c.expect(b"*3\r\n$7\r\nmessage\r\n$6\r\n+sdown\r\n$23\r\nmaster m 127.0.0.1 6379\r\n").await;
    c.cmd(&["INFO"]).await;
    c.expect(b"-ERR Can't execute 'info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n").await;
    c.cmd(&["PING"]).await;
    c.expect(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n").await;
    c.cmd(&["UNSUBSCRIBE"]).await;
    c.expect(b"*3\r\n$11\r\nunsubscribe\r\n$6\r\n+odown\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$6\r\n+sdown\r\n:0\r\n")
        .await;
    c.cmd(&["UNSUBSCRIBE"]).await;
    c.expect(b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n").await;
    c.cmd(&["PING"]).await;
    c.expect(b"+PONG\r\n").await;
}

#[tokio::test]
async fn psubscribe_star_resp3_pushes() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["HELLO", "3"]).await;
    let _ = c.value().await;
    c.cmd(&["PSUBSCRIBE", "*"]).await;
    c.expect(b">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n").await;
    h.events.send(Event { level: Level::Debug, ..event("+dbg", "x") }).expect("a subscriber");
    h.events.send(event("+switch-master", "m 1.1.1.1 1 2.2.2.2 2")).expect("a subscriber");
    c.expect(b">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n$21\r\nm 1.1.1.1 1 2.2.2.2 2\r\n").await;
    c.cmd(&["INFO", "sentinel"]).await;
    c.expect(b"$32\r\n# Sentinel\r\nsentinel_masters:0\r\n\r\n").await;
}

#[tokio::test]
async fn lagged_subscriber_survives() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["SUBSCRIBE", "+x"]).await;
    c.expect(b"*3\r\n$9\r\nsubscribe\r\n$2\r\n+x\r\n:1\r\n").await;
    for i in 0..40 {
        h.events.send(event("+x", &format!("{i:02}"))).expect("a subscriber");
    }
    let mut last = 0;
    while last != 39 {
        let Value::Array(frame) = c.value().await else { panic!("message expected") };
        last = frame[2].as_string().and_then(|s| s.parse().ok()).expect("number");
    }
    c.cmd(&["PING", "alive"]).await;
    c.expect(b"*2\r\n$4\r\npong\r\n$5\r\nalive\r\n").await;
}

#[tokio::test]
async fn protocol_errors_close_the_connection() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.send_raw(b"PING\r\n*1\r\n$999999999\r\n").await;
    c.expect(b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n").await;
    c.expect_closed().await;
    let mut d = Client::connect(&h).await;
    d.send_raw(b"*1\r\n+PING\r\n").await;
    d.expect(b"-ERR Protocol error: expected '$', got '+'\r\n").await;
    d.expect_closed().await;
    let mut e = Client::connect(&h).await;
    e.send_raw(b"PING \"x\r\n").await;
    e.expect(b"-ERR Protocol error: unbalanced quotes in request\r\n").await;
    e.expect_closed().await;
}

#[tokio::test]
async fn info_sections_in_fixed_order() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["INFO"]).await;
    let text = c.value().await.as_string().expect("bulk");
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    // Redis 7.0 order (stats before cpu), as redis-sentinel prints it.
    assert_eq!(heads, ["# Server", "# Clients", "# Stats", "# CPU", "# Sentinel"]);
    assert!(text.contains("redis_mode:sentinel\r\n") && text.contains("\r\n\r\n# Clients\r\n"));
    assert!(text.contains(&format!("tcp_port:{}\r\n", h.addr.port())));
    c.cmd(&["INFO", "STATS", "server", "memory"]).await;
    let text = c.value().await.as_string().expect("bulk");
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(heads, ["# Server", "# Stats"]);
}

#[tokio::test]
async fn client_list_kill_and_shutdown() {
    let mut h = start(None).await;
    let mut a = Client::connect(&h).await;
    let mut b = Client::connect(&h).await;
    b.cmd(&["CLIENT", "SETNAME", "bee"]).await;
    b.expect(b"+OK\r\n").await;
    b.cmd(&["CLIENT", "ID"]).await;
    let Value::Int(b_id) = b.value().await else { panic!("id") };
    a.cmd(&["CLIENT", "LIST"]).await;
    let list = a.value().await.as_string().expect("text");
    let line = list.lines().find(|l| l.contains("name=bee")).expect("b listed");
    assert!(line.starts_with(&format!("id={b_id} addr=127.0.0.1:")), "{line}");
    assert!(line.contains(" db=0 sub=0 psub=0 ") && line.ends_with(" resp=2"), "{line}");
    a.cmd(&["CLIENT", "KILL", "ID", &b_id.to_string()]).await;
    a.expect(b":1\r\n").await;
    b.expect_closed().await;
    a.cmd(&["SHUTDOWN", "NOSAVE"]).await;
    a.expect_closed().await;
    assert_eq!(h.shutdown_rx.recv().await, Some(()));
    if let Some(stop) = h.stop.take() {
        let _ = stop.send(());
    }
}

#[tokio::test]
async fn command_docs_and_count() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["COMMAND", "COUNT"]).await;
    c.expect(b":15\r\n").await;
    c.cmd(&["COMMAND", "DOCS", "ping"]).await;
    // Redis 7.0.15's full docs: summary, since, group, complexity, arguments.
    c.expect(b"*2\r\n$4\r\nping\r\n*10\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n").await;
    for _ in 0..8 {
        let _ = c.value().await;
    }
    c.cmd(&["COMMAND", "INFO", "get"]).await;
    c.expect(b"*1\r\n$-1\r\n").await;
}

#[tokio::test]
async fn listener_stops_on_shutdown_future() {
    let mut h = start(None).await;
    let mut c = Client::connect(&h).await;
    c.cmd(&["PING"]).await;
    c.expect(b"+PONG\r\n").await;
    if let Some(stop) = h.stop.take() {
        let _ = stop.send(());
    }
    c.expect_closed().await;
}

/// `CLIENT REPLY SKIP|OFF` drop exactly the replies of the commands they cover, core
/// commands included, when everything arrives in one pipelined write.
#[tokio::test]
async fn client_reply_skip_and_off_inside_a_pipeline() {
    let h = start(None).await;
    let mut c = Client::connect(&h).await;
    let mut out = BytesMut::new();
    for cmd in [
        &["SENTINEL", "a"][..],
        &["CLIENT", "REPLY", "SKIP"],
        &["SENTINEL", "b"],
        &["SENTINEL", "c"],
        &["CLIENT", "REPLY", "OFF"],
        &["SENTINEL", "d"],
        &["PING"],
        &["CLIENT", "REPLY", "ON"],
        &["SENTINEL", "e"],
    ] {
        encode_command(cmd, &mut out);
    }
    c.send_raw(&out).await;
    c.expect(b"+core a\r\n+core c\r\n+OK\r\n+core e\r\n").await;
}
