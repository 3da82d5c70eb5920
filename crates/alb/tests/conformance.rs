//! Where the balancer must behave like AWS's Application Load Balancer and
//! HTTP/1.1 (RFC 9112) at the edges: the idle timeout while bodies stream,
//! requests it refuses before routing, rule values it refuses, and kept-alive
//! target connections the target closed while they sat in the pool. Real
//! sockets on 127.0.0.1, raw TCP where a well-behaved client cannot say it.

mod support;

use std::time::Duration;

use alb::{
    Action, Alb, Condition, HealthCheckConfig, ListenerError, ListenerHandle,
    LoadBalancerAttributes, RuleConfig, RuleError, Target, TargetGroupConfig,
};
use support::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// Health checks off: targets take traffic at once.
fn tg_config() -> TargetGroupConfig {
    let mut c = TargetGroupConfig::new(80);
    c.health_check = HealthCheckConfig {
        enabled: false,
        ..HealthCheckConfig::default()
    };
    c
}

async fn listener(alb: &Alb, attrs: LoadBalancerAttributes, port: u16) -> ListenerHandle {
    let tg = alb.create_target_group("tg", tg_config()).expect("tg");
    tg.register_targets(&[Target::new("127.0.0.1", port)])
        .expect("register");
    let lb = alb.create_load_balancer("lb", attrs).expect("lb");
    lb.create_listener(
        "listener",
        "127.0.0.1:0".parse().expect("addr"),
        Action::forward("tg"),
    )
    .await
    .expect("listener")
}

/// Read until `needle` shows up (or the peer closes), within 5 s.
async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    let _ = timeout(Duration::from_secs(5), async {
        while !String::from_utf8_lossy(&got).contains(needle) {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

/// How long until the peer closes `s` (EOF or reset), reading and
/// discarding whatever else comes; fails after `within`.
async fn closed_within(s: &mut TcpStream, within: Duration, what: &str) -> Duration {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    timeout(within, async {
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} still open after {within:?}"));
    started.elapsed()
}

/// A target that answers the head of `/stall` with a 100-byte response of
/// which it sends only `hello`, and reads `/upload`'s body without ever
/// answering. Either way it then waits for the balancer to close the
/// connection, and reports on `closed` when it did.
async fn stalling_target(closed: mpsc::UnboundedSender<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let which = if head.starts_with(b"GET /stall ") {
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello";
                    if sock.write_all(reply).await.is_err() {
                        return;
                    }
                    "stall"
                } else {
                    "upload"
                };
                while let Ok(n) = sock.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = closed.send(which);
            });
        }
    });
    port
}

// Multi-thread: the connection is served on the balancer's own I/O threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_stalling_mid_body_is_cut_off_after_the_idle_timeout() {
    let alb = Alb::new();
    let (tx, mut closed) = mpsc::unbounded_channel();
    let port = stalling_target(tx).await;
    let attrs = LoadBalancerAttributes {
        idle_timeout: Duration::from_secs(1),
        ..LoadBalancerAttributes::default()
    };
    let l = listener(&alb, attrs, port).await;

    let mut c = TcpStream::connect(l.local_addr()).await.expect("connect");
    c.write_all(b"GET /stall HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let got = read_until(&mut c, "hello").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
    assert!(got.ends_with("hello"), "{got:?}");
    let after = closed_within(&mut c, Duration::from_secs(5), "client connection").await;
    assert!(
        after >= Duration::from_millis(800),
        "closed after {after:?}, before the idle timeout"
    );
    let which = timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("target connection still open");
    assert_eq!(which, Some("stall"));
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_client_stalling_mid_upload_is_cut_off_after_the_idle_timeout() {
    let alb = Alb::new();
    let (tx, mut closed) = mpsc::unbounded_channel();
    let port = stalling_target(tx).await;
    let attrs = LoadBalancerAttributes {
        idle_timeout: Duration::from_secs(1),
        ..LoadBalancerAttributes::default()
    };
    let l = listener(&alb, attrs, port).await;

    let mut c = TcpStream::connect(l.local_addr()).await.expect("connect");
    c.write_all(b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc")
        .await
        .expect("write");
    let got = read_until(&mut c, "\r\n\r\n").await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
    closed_within(&mut c, Duration::from_secs(5), "client connection").await;
    let which = timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("target connection still open");
    assert_eq!(which, Some("upload"));
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

/// Send `request` on a new connection; the whole answer, which must end
/// with the connection closed within 5 s.
async fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("connection left open after {request:?}"));
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn requests_http_1_1_forbids_are_refused_before_routing() {
    let alb = Alb::new();
    let be = Backend::start("be").await;
    let l = listener(&alb, LoadBalancerAttributes::default(), be.port()).await;
    let addr = l.local_addr();
    let hits = || be.hits.load(std::sync::atomic::Ordering::SeqCst);

    let refused = [
        ("GET / HTTP/1.1\r\n\r\n", "400", "no Host"),
        (
            "GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n",
            "400",
            "two Host headers",
        ),
        (
            "GET / HTTP/1.1\r\nhost: a b\r\n\r\n",
            "400",
            "an invalid Host",
        ),
        (
            "GET echo HTTP/1.1\r\nhost: x\r\n\r\n",
            "400",
            "a target without a leading slash",
        ),
        (
            "GET ?q=1 HTTP/1.1\r\nhost: x\r\n\r\n",
            "400",
            "a target that is only a query",
        ),
        (
            "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n",
            "405",
            "CONNECT",
        ),
    ];
    for (request, status, what) in refused {
        let got = exchange(addr, request).await;
        assert!(
            got.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {got:?}"
        );
        assert!(
            got.to_ascii_lowercase().contains("connection: close"),
            "{what}: {got:?}"
        );
        assert_eq!(hits(), 0, "{what} reached the target");
    }
    let got = exchange(
        addr,
        "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 400 "),
        "malformed chunked body: {got:?}"
    );

    // What HTTP/1.1 allows still goes through.
    let ok = [
        (
            "GET http://x/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "absolute-form",
        ),
        ("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host"),
        (
            "GET / HTTP/1.1\r\nhost: [::1]:80\r\nconnection: close\r\n\r\n",
            "an IPv6 Host",
        ),
    ];
    for (request, what) in ok {
        let got = exchange(addr, request).await;
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        assert!(
            got.starts_with("HTTP/1.1 200 ") || got.starts_with("HTTP/1.0 200 "),
            "{what}: {got:?}"
        );
        assert!(got.ends_with("be"), "{what}: {got:?}");
    }
    let got = exchange(
        addr,
        "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 "), "chunked body: {got:?}");
    assert!(got.ends_with("abc"), "chunked body: {got:?}");
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn path_patterns_take_only_the_characters_aws_allows() {
    let alb = Alb::new();
    let l = alb
        .create_load_balancer("lb", LoadBalancerAttributes::default())
        .expect("lb")
        .create_listener(
            "listener",
            "127.0.0.1:0".parse().expect("addr"),
            Action::fixed_response(404, "none"),
        )
        .await
        .expect("listener");
    let rule = |pattern: &str, priority| RuleConfig {
        priority,
        conditions: vec![Condition::PathPattern(vec![pattern.to_owned()])],
        action: Action::fixed_response(200, "ok"),
    };
    let every_allowed = "/AZaz09_-.$/~\"'@:+&*?";
    l.create_rule("ok", rule(every_allowed, 1))
        .expect("every allowed character");
    let long = format!("/{}", "a".repeat(127));
    l.create_rule("long", rule(&long, 2))
        .expect("128 characters");
    let refused = [
        "/a\u{7}b",
        "/a\nb",
        "/a\tb",
        "/a b",
        "/a%20b",
        "/a#b",
        "/a;b",
        "/a<b>",
        "/a\\b",
        "/caf\u{e9}",
        "/a|b",
        "/a=b",
        "/a,b",
        "/(a)",
        "/[a]",
        "/{a}",
        "/a!b",
        "/a^b",
        "/a`b",
    ];
    for (i, bad) in refused.iter().enumerate() {
        match l.create_rule(format!("bad-{i}"), rule(bad, 10 + i as u32)) {
            Err(ListenerError::Rule {
                source:
                    RuleError::InvalidConditionValue {
                        condition: "path-pattern",
                        ..
                    },
                ..
            }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let too_long = format!("/{}", "a".repeat(128));
    assert!(l.create_rule("too-long", rule(&too_long, 3)).is_err());
    // A valid rule's pattern can be modified into an invalid one: no.
    assert!(l
        .modify_rule(
            "ok",
            Some(vec![Condition::PathPattern(vec!["/a b".into()])]),
            None
        )
        .is_err());
    assert_eq!(l.describe_rules().len(), 3);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

/// A target that answers each request on a connection with keep-alive
/// (no `connection: close`), then closes that connection politely a moment
/// later, like a server with a short keep-alive timeout. Counts connections.
async fn keep_alive_closing_target(conns: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            conns.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let got = read_until(&mut sock, "hello").await;
                if got.contains("hello") {
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    let _ = sock.write_all(reply).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                // Dropping the socket sends FIN.
            });
        }
    });
    port
}

#[tokio::test]
async fn a_pooled_connection_the_target_closed_is_not_used_for_the_next_request() {
    // Upstream connections have no task of their own while pooled: the
    // checkout must notice the target's FIN, or a POST (never retried)
    // would be written to a dead connection and answered 502.
    let conns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let port = keep_alive_closing_target(conns.clone()).await;
    let alb = Alb::new();
    let l = listener(&alb, LoadBalancerAttributes::default(), port).await;
    let mut client = TcpStream::connect(l.local_addr()).await.expect("connect");
    let post = "POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello";
    for round in 0..3 {
        client.write_all(post.as_bytes()).await.expect("write");
        let resp = read_until(&mut client, "ok").await;
        assert!(resp.starts_with("HTTP/1.1 200"), "round {round}: {resp:?}");
        // Let the target close the connection the balancer just pooled.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}
