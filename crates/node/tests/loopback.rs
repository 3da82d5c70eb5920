//! Four real node servers on loopback sockets, no Docker: the `/start` body
//! in both modes, and the failure modes within the timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pingpong_node::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A node server on 127.0.0.1:0; stops when dropped.
struct Node {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn node(pairs: &[(&str, String)]) -> Node {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let lookup = move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let config = Config::from_lookup(&lookup).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(pingpong_node::run(listener, config, async {
        let _ = stopped.await;
    }));
    Node { addr, _stop: stop }
}

/// john plus three leaf nodes; john's peers are the leaves unless given.
async fn cluster(mode: &str, timeout_ms: u64, peers: Option<Vec<String>>) -> (Node, Vec<Node>) {
    let mut leaves = Vec::new();
    for _ in 0..3 {
        leaves.push(node(&[("PEERS", String::new())]).await);
    }
    let peers = peers.unwrap_or_else(|| leaves.iter().map(|n| n.addr.to_string()).collect());
    let john = node(&[
        ("PEERS", peers.join(",")),
        ("MODE", mode.to_string()),
        ("PEER_TIMEOUT_MS", timeout_ms.to_string()),
    ])
    .await;
    (john, leaves)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let res = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn start_gives_the_meows_in_order_in_both_modes() {
    for mode in ["chain", "fanout"] {
        let (john, leaves) = cluster(mode, 2000, None).await;
        let expected = format!(
            r#"["meow from {}","meow from {}","meow from {}"]"#,
            leaves[0].addr, leaves[1].addr, leaves[2].addr
        );
        for _ in 0..3 {
            // Repeated: the pooled connections are reused, the answer stays.
            assert_eq!(
                get(john.addr, "/start").await,
                (200, expected.clone()),
                "{mode}"
            );
        }
    }
}

#[tokio::test]
async fn a_stopped_peer_makes_start_answer_502_naming_it_within_the_timeout() {
    for mode in ["chain", "fanout"] {
        let (john, mut leaves) = cluster(mode, 1000, None).await;
        let george = leaves.remove(1);
        let george_addr = george.addr;
        drop(george);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let (status, body) = get(john.addr, "/start").await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1000), "{mode}: took {took:?}");
        assert_eq!(status, 502, "{mode}");
        assert_eq!(
            body,
            format!(r#"{{"error":"{george_addr}: connection refused"}}"#),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn a_peer_that_never_answers_makes_start_answer_502_within_the_timeout() {
    // Accepts connections, then neither reads nor answers.
    let hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_addr = hole.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = hole.accept().await {
            held.push(sock);
        }
    });
    for mode in ["chain", "fanout"] {
        let (_, leaves) = cluster(mode, 2000, None).await;
        // john -> paul -> george -> the hole.
        let peers = vec![
            leaves[0].addr.to_string(),
            leaves[1].addr.to_string(),
            hole_addr.to_string(),
        ];
        let (john, _others) = cluster(mode, 400, Some(peers)).await;
        let started = Instant::now();
        let (status, body) = get(john.addr, "/start").await;
        let took = started.elapsed();
        // Within the 400 ms timeout, give or take the scheduling of one call.
        assert!(took < Duration::from_millis(550), "{mode}: took {took:?}");
        assert_eq!(status, 502, "{mode}");
        let prefix = format!(r#"{{"error":"{hole_addr}: timed out after "#);
        assert!(body.starts_with(&prefix), "{mode}: {body}");
    }
    holder.abort();
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    // A slow peer keeps john's /start in flight while john is told to stop.
    let slow = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_addr = slow.local_addr().unwrap();
    let slow_server = tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/meow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                axum::Json("meow from slow")
            }),
        );
        axum::serve(slow, app).await
    });
    let owned = [
        ("PEERS".to_string(), slow_addr.to_string()),
        ("MODE".to_string(), "fanout".to_string()),
    ];
    let lookup = move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let config = Config::from_lookup(&lookup).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(pingpong_node::run(listener, config, async {
        let _ = stopped.await;
    }));
    let in_flight = tokio::spawn(get(addr, "/start"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    assert_eq!(
        in_flight.await.unwrap(),
        (200, r#"["meow from slow"]"#.into())
    );
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stops once in-flight work is done")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    slow_server.abort();
}

#[tokio::test]
async fn a_peer_closing_kept_alive_connections_causes_no_502() {
    // Answers one request per connection as if keeping it alive, then
    // closes it, as a restarting peer does with its idle connections.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut sock, _)) = peer.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let body = r#""meow from closer""#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    let (john, _leaves) = cluster("fanout", 1000, Some(vec![peer_addr.to_string()])).await;
    for _ in 0..5 {
        let (status, body) = get(john.addr, "/start").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, r#"["meow from closer"]"#);
    }
    server.abort();
}
