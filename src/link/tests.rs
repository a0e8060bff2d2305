//! Links against real `redis-server` processes on loopback (installed on the build host).

use super::*;
use crate::core::monitor::hello::CHANNEL as HELLO_CHANNEL;
use crate::core::AUTH_FAILED;
use crate::resp::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command as Proc, Stdio};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(5);

/// A `redis-server` child on a free loopback port, killed on drop.
pub(crate) struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        let port = free_port();
        let child = Proc::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let redis = Redis { port, child };
        let deadline = std::time::Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub fn addr(&self) -> Addr {
        Addr::new("127.0.0.1", self.port)
    }

    /// Runs `redis-cli -p port args...` and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Proc::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    l.local_addr().expect("addr").port()
}

pub(crate) fn spec(addr: Addr, kind: LinkKind) -> LinkSpec {
    LinkSpec {
        addr,
        kind,
        auth: None,
        client_name: "sentinel-test-cmd".into(),
        renames: Renames::default(),
        connect_timeout: Duration::from_millis(500),
        tls: None,
    }
}

async fn next(rx: &mut UnboundedReceiver<Input>) -> Input {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(input)) => input,
        Ok(None) => panic!("event channel closed"),
        Err(_) => panic!("no event within {WAIT:?}"),
    }
}

async fn expect_up(rx: &mut UnboundedReceiver<Input>, id: LinkId) {
    match next(rx).await {
        Input::LinkUp { link, local_ip, .. } => {
            assert_eq!(link, id);
            assert_eq!(local_ip, "127.0.0.1");
        }
        other => panic!("expected LinkUp, got {other:?}"),
    }
}

async fn expect_reply(rx: &mut UnboundedReceiver<Input>, id: LinkId, want_tag: u64) -> Value {
    match next(rx).await {
        Input::Reply { link, tag, reply } if link == id && tag == want_tag => reply,
        other => panic!("expected Reply tag {want_tag}, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    v.as_string().unwrap_or_else(|| panic!("not text: {v:?}"))
}

#[tokio::test]
async fn ping_and_info_queued_before_link_up_are_answered_in_order() {
    let redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(redis.addr(), LinkKind::Command), tx);
    link.send(10, Request::Ping);
    link.send(11, Request::Info);
    expect_up(&mut rx, LinkId(1)).await;
    assert_eq!(expect_reply(&mut rx, LinkId(1), 10).await, Value::simple("PONG"));
    let info = text(&expect_reply(&mut rx, LinkId(1), 11).await);
    assert!(info.contains("role:master"), "{info}");
    // Larger than the idle read buffer (task.rs READ_IDLE): the reply spans reads.
    assert!(info.len() > 4 * 512, "{}", info.len());
    assert!(redis.cli(&["client", "list"]).contains("name=sentinel-test-cmd"));
}

#[tokio::test]
async fn auth_is_sent_in_the_preamble() {
    let redis = Redis::start(&["--requirepass", "pw"]);
    let (tx, mut rx) = unbounded_channel();
    let mut with = spec(redis.addr(), LinkKind::Command);
    with.auth = Some(Auth { user: None, pass: "pw".into() });
    let authed = spawn(LinkId(1), with, tx.clone());
    expect_up(&mut rx, LinkId(1)).await;
    authed.send(1, Request::Ping);
    assert_eq!(expect_reply(&mut rx, LinkId(1), 1).await, Value::simple("PONG"));

    // Without the password, the first -NOAUTH (to the preamble's CLIENT SETNAME) ends the
    // link, with a reason the core recognises.
    let _bare = spawn(LinkId(2), spec(redis.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(2)).await;
    match next(&mut rx).await {
        Input::LinkDown { link: LinkId(2), reason, .. } => {
            assert!(reason.starts_with(&format!("{AUTH_FAILED}: NOAUTH")), "{reason}")
        }
        other => panic!("expected the link to go down, got {other:?}"),
    }
}

#[tokio::test]
async fn pubsub_link_forwards_subscribe_confirmation_and_hellos() {
    let redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let _sub = spawn(LinkId(1), spec(redis.addr(), LinkKind::PubSub), tx.clone());
    expect_up(&mut rx, LinkId(1)).await;
    let confirm = Value::Array(vec![Value::bulk("subscribe"), Value::bulk(HELLO_CHANNEL), Value::Int(1)]);
    assert_eq!(next(&mut rx).await, Input::PubSub { link: LinkId(1), frame: confirm });

    let cmd = spawn(LinkId(2), spec(redis.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(2)).await;
    cmd.send(5, Request::Publish { channel: HELLO_CHANNEL.into(), payload: "hello,world".into() });
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(next(&mut rx).await);
    }
    let msg = Value::Array(vec![Value::bulk("message"), Value::bulk(HELLO_CHANNEL), Value::bulk("hello,world")]);
    assert!(got.contains(&Input::Reply { link: LinkId(2), tag: 5, reply: Value::Int(1) }), "{got:?}");
    assert!(got.contains(&Input::PubSub { link: LinkId(1), frame: msg }), "{got:?}");
}

#[tokio::test]
async fn replicaof_transaction_reconfigures_and_reports_exec_reply() {
    let master = Redis::start(&[]);
    let replica = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(replica.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(1)).await;
    link.send(1, Request::ReplicaOf(Some(master.addr())));
    let exec = expect_reply(&mut rx, LinkId(1), 1).await;
    let Value::Array(items) = &exec else { panic!("EXEC reply not an array: {exec:?}") };
    assert_eq!(items.len(), 4, "{exec:?}");
    assert_eq!(items[0], Value::ok());
    // No config file: CONFIG REWRITE fails inside the transaction, harmlessly (§8.2).
    assert!(matches!(&items[1], Value::Error(_)), "{exec:?}");
    assert!(replica.cli(&["role"]).starts_with("slave"), "{}", replica.cli(&["role"]));

    link.send(2, Request::ReplicaOf(None));
    assert!(matches!(expect_reply(&mut rx, LinkId(1), 2).await, Value::Array(_)));
    assert!(replica.cli(&["role"]).starts_with("master"));
    link.send(3, Request::Ping);
    assert_eq!(expect_reply(&mut rx, LinkId(1), 3).await, Value::simple("PONG"), "our link survives CLIENT KILL");
}

#[tokio::test]
async fn is_master_down_by_addr_is_sent_as_a_sentinel_subcommand() {
    // A plain redis-server rejects it; the error text shows the exact spelling sent.
    let redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(redis.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(1)).await;
    let req = Request::IsMasterDownByAddr { addr: redis.addr(), epoch: crate::core::Epoch(3), runid: None };
    link.send(1, req);
    let reply = expect_reply(&mut rx, LinkId(1), 1).await;
    let spelled =
        format!("'SENTINEL', with args beginning with: 'is-master-down-by-addr' '127.0.0.1' '{}' '3' '*'", redis.port);
    assert!(matches!(&reply, Value::Error(e) if e.contains(&spelled)), "{reply:?}");
}

#[tokio::test]
async fn link_down_once_when_the_server_dies() {
    let mut redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let _link = spawn(LinkId(4), spec(redis.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(4)).await;
    redis.kill();
    assert!(matches!(next(&mut rx).await, Input::LinkDown { link: LinkId(4), .. }));
    let after = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
    assert!(matches!(after, Ok(None)), "nothing after LinkDown, and the task ended: {after:?}");
}

#[tokio::test]
async fn connect_refused_is_reported_as_link_down() {
    let port = free_port();
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(Addr::new("127.0.0.1", port), LinkKind::Command), tx);
    link.send(1, Request::Ping);
    match next(&mut rx).await {
        Input::LinkDown { link, reason, refused } => {
            assert_eq!(link, LinkId(1));
            assert!(refused && reason.contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connect_deadline_is_enforced() {
    // A listener with a full accept queue drops further SYNs, so connects hang.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("bind");
    let listener = socket.listen(0).expect("listen");
    let target = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let attempt = tokio::net::TcpStream::connect(target);
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(200), attempt).await {
            fillers.push(s);
        }
    }
    let (tx, mut rx) = unbounded_channel();
    let started = tokio::time::Instant::now();
    let _link = spawn(LinkId(1), spec(Addr::new("127.0.0.1", target.port()), LinkKind::Command), tx);
    match next(&mut rx).await {
        Input::LinkDown { reason, .. } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn closing_a_link_reports_nothing_and_disconnects() {
    let redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(redis.addr(), LinkKind::Command), tx);
    expect_up(&mut rx, LinkId(1)).await;
    link.close();
    let after = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
    assert!(matches!(after, Ok(None)), "no LinkDown after close: {after:?}");
    let deadline = std::time::Instant::now() + WAIT;
    while redis.cli(&["client", "list"]).contains("sentinel-test-cmd") {
        assert!(std::time::Instant::now() < deadline, "the connection was not closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn requests_on_a_pubsub_link_get_an_error_reply() {
    let redis = Redis::start(&[]);
    let (tx, mut rx) = unbounded_channel();
    let link = spawn(LinkId(1), spec(redis.addr(), LinkKind::PubSub), tx);
    expect_up(&mut rx, LinkId(1)).await;
    let _confirmation = next(&mut rx).await;
    link.send(7, Request::Ping);
    assert!(matches!(expect_reply(&mut rx, LinkId(1), 7).await, Value::Error(_)));
}

#[tokio::test]
async fn renamed_commands_are_sent_under_their_new_names() {
    let redis = Redis::start(&["--rename-command", "PING", "XPING", "--rename-command", "CLIENT", "XCLIENT"]);
    let (tx, mut rx) = unbounded_channel();
    let mut renamed = spec(redis.addr(), LinkKind::Command);
    renamed.renames = Renames::new([("ping", "XPING"), ("client", "XCLIENT")]);
    let link = spawn(LinkId(1), renamed, tx);
    expect_up(&mut rx, LinkId(1)).await;
    link.send(1, Request::Ping);
    assert_eq!(expect_reply(&mut rx, LinkId(1), 1).await, Value::simple("PONG"));
    assert!(redis.cli(&["xclient", "list"]).contains("name=sentinel-test-cmd"), "SETNAME went through the map");
}
