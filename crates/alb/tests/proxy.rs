//! The balancer over real sockets on 127.0.0.1: routing, health, draining,
//! retries, errors, headers and limits.

mod support;

use std::time::Duration;

use alb::{
    Action, Alb, Condition, HealthCheckConfig, ListenerHandle, LoadBalancerAttributes,
    LoadBalancingAlgorithm, Matcher, RedirectConfig, RedirectStatus, RuleConfig, Target,
    TargetGroupConfig, TargetGroupHandle, TargetHealthReason, TargetHealthState,
};
use support::{client, eventually, get, get_with, Backend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn fast_health() -> HealthCheckConfig {
    HealthCheckConfig {
        path: "/health".into(),
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(40),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: Matcher::parse("200").expect("matcher"),
        ..HealthCheckConfig::default()
    }
}

fn tg_config(health: HealthCheckConfig) -> TargetGroupConfig {
    let mut c = TargetGroupConfig::new(80);
    c.health_check = health;
    c.attributes.deregistration_delay = Duration::from_secs(5);
    c
}

fn target(b: &Backend) -> Target {
    Target::with_host(b.name.clone(), "127.0.0.1", b.port())
}

fn key(b: &Backend) -> (String, u16) {
    (b.name.clone(), b.port())
}

fn state_of(
    tg: &TargetGroupHandle,
    b: &Backend,
) -> (TargetHealthState, Option<TargetHealthReason>) {
    let d = tg.describe_target_health(Some(&[key(b)]));
    (d[0].health.state, d[0].health.reason)
}

async fn listener(alb: &Alb, attrs: LoadBalancerAttributes, default: Action) -> ListenerHandle {
    let lb = alb.create_load_balancer("lb", attrs).expect("lb");
    lb.create_listener("listener", "127.0.0.1:0".parse().expect("addr"), default)
        .await
        .expect("listener")
}

async fn wait_healthy(tg: &TargetGroupHandle, n: u64) {
    eventually(Duration::from_secs(5), "targets healthy", || {
        tg.healthy_host_count() == n
    })
    .await;
}

#[tokio::test]
async fn routes_by_path_rules_fixed_response_and_redirect() {
    let alb = Alb::new();
    let (node, page) = (Backend::start("node").await, Backend::start("client").await);
    let node_tg = alb
        .create_target_group("tg-node", tg_config(fast_health()))
        .expect("tg");
    let page_tg = alb
        .create_target_group("tg-client", tg_config(fast_health()))
        .expect("tg");
    node_tg
        .register_targets(&[target(&node)])
        .expect("register");
    page_tg
        .register_targets(&[target(&page)])
        .expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg-client"),
    )
    .await;
    l.create_rule(
        "r-node",
        RuleConfig {
            priority: 10,
            conditions: vec![Condition::PathPattern(vec![
                "/start".into(),
                "/ping".into(),
            ])],
            action: Action::forward("tg-node"),
        },
    )
    .expect("rule");
    l.create_rule(
        "r-fixed",
        RuleConfig {
            priority: 5,
            conditions: vec![Condition::PathPattern(vec!["/teapot".into()])],
            action: Action::fixed_response(418, "short and stout"),
        },
    )
    .expect("rule");
    l.create_rule(
        "r-redirect",
        RuleConfig {
            priority: 6,
            conditions: vec![Condition::PathPattern(vec!["/old".into()])],
            action: Action::Redirect(RedirectConfig {
                protocol: None,
                host: None,
                port: None,
                path: Some("/new".into()),
                query: None,
                status_code: RedirectStatus::Http301,
            }),
        },
    )
    .expect("rule");
    wait_healthy(&node_tg, 1).await;
    let c = client();
    let addr = l.local_addr();
    assert_eq!(get(&c, addr, "/start").await, (200, "node".into()));
    assert_eq!(get(&c, addr, "/ping?x=1").await, (200, "node".into()));
    assert_eq!(get(&c, addr, "/").await, (200, "client".into()));
    assert_eq!(get(&c, addr, "/start/more").await, (200, "client".into()));
    assert_eq!(
        get(&c, addr, "/teapot").await,
        (418, "short and stout".into())
    );
    let req = hyper::Request::get(format!("http://{addr}/old?a=b"))
        .header("host", "example.com")
        .body(http_body_util::Empty::new())
        .expect("req");
    let resp = c.request(req).await.expect("redirect");
    assert_eq!(resp.status(), 301);
    let port = addr.port();
    assert_eq!(
        resp.headers()["location"],
        format!("http://example.com:{port}/new?a=b").as_str()
    );
    let rules = l.describe_rules();
    assert_eq!(
        rules.iter().map(|r| r.priority).collect::<Vec<_>>(),
        vec![Some(5), Some(6), Some(10), None]
    );
    // A target group in use cannot be deleted.
    assert!(alb.delete_target_group("tg-node").is_err());
    let metrics = alb.render_prometheus();
    assert!(
        metrics
            .contains("aws_applicationelb_httpcode_target_2xx_total{target_group=\"tg-node\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_applicationelb_http_fixed_responses_total{load_balancer=\"lb\"} 1"),
        "{metrics}"
    );
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn targets_going_up_and_down_and_fail_open() {
    let alb = Alb::new();
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let tg = alb
        .create_target_group("tg", tg_config(fast_health()))
        .expect("tg");
    tg.register_targets(&[target(&a), target(&b)])
        .expect("register");
    assert_eq!(state_of(&tg, &a).0, TargetHealthState::Initial);
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 2).await;
    let c = client();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        seen.insert(get(&c, l.local_addr(), "/").await.1);
    }
    assert_eq!(seen.len(), 2, "round robin reaches both targets: {seen:?}");

    // a goes down: after 2 failed checks all traffic goes to b.
    a.set_health(500);
    eventually(Duration::from_secs(5), "a unhealthy", || {
        state_of(&tg, &a)
            == (
                TargetHealthState::Unhealthy,
                Some(TargetHealthReason::ResponseCodeMismatch),
            )
    })
    .await;
    let desc = tg.describe_target_health(Some(&[key(&a)]));
    assert_eq!(
        desc[0].health.description.as_deref(),
        Some("Health checks failed with these codes: [500]")
    );
    assert_eq!((tg.healthy_host_count(), tg.unhealthy_host_count()), (1, 1));
    for _ in 0..6 {
        assert_eq!(get(&c, l.local_addr(), "/").await, (200, "b".into()));
    }
    // Both down: fail open, both still get traffic.
    b.set_health(503);
    eventually(Duration::from_secs(5), "b unhealthy", || {
        tg.healthy_host_count() == 0
    })
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let (status, body) = get(&c, l.local_addr(), "/").await;
        assert_eq!(status, 200);
        seen.insert(body);
    }
    assert_eq!(seen.len(), 2, "fail open sends to all: {seen:?}");
    // a recovers after healthy_threshold passes.
    a.set_health(200);
    eventually(Duration::from_secs(5), "a healthy again", || {
        state_of(&tg, &a).0 == TargetHealthState::Healthy
    })
    .await;
    for _ in 0..4 {
        assert_eq!(get(&c, l.local_addr(), "/").await, (200, "a".into()));
    }
    // Unknown target: unused / Target.NotRegistered.
    let d = tg.describe_target_health(Some(&[("nobody".into(), 1)]));
    assert_eq!(d[0].health.state, TargetHealthState::Unused);
    assert_eq!(d[0].health.reason, Some(TargetHealthReason::NotRegistered));
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn elb_errors_503_502_504() {
    let alb = Alb::new();
    let slow = Backend::start("slow").await;
    alb.create_target_group("empty", tg_config(fast_health()))
        .expect("tg");
    let dead = alb
        .create_target_group("dead", tg_config(fast_health()))
        .expect("tg");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }; // closed again: connections are refused
    dead.register_targets(&[Target::new("127.0.0.1", port)])
        .expect("register");
    let slow_tg = alb
        .create_target_group("slow", tg_config(fast_health()))
        .expect("tg");
    slow_tg
        .register_targets(&[target(&slow)])
        .expect("register");
    let attrs = LoadBalancerAttributes {
        target_timeout: Duration::from_millis(150),
        ..LoadBalancerAttributes::default()
    };
    let l = listener(&alb, attrs, Action::forward("empty")).await;
    for (prio, path, tg) in [(1, "/dead", "dead"), (2, "/slow", "slow")] {
        l.create_rule(
            format!("r{prio}"),
            RuleConfig {
                priority: prio,
                conditions: vec![Condition::PathPattern(vec![path.into()])],
                action: Action::forward(tg),
            },
        )
        .expect("rule");
    }
    let c = client();
    let addr = l.local_addr();
    assert_eq!(
        get(&c, addr, "/").await,
        (503, "503 Service Unavailable\n".into())
    );
    assert_eq!(
        get(&c, addr, "/dead").await,
        (502, "502 Bad Gateway\n".into())
    );
    assert_eq!(
        get(&c, addr, "/slow?ms=1000").await,
        (504, "504 Gateway Timeout\n".into())
    );
    assert_eq!(get(&c, addr, "/slow?ms=10").await, (200, "slow".into()));
    let counts = alb.load_balancer("lb").expect("lb").counts();
    assert_eq!(
        (
            counts.http_code_elb_502,
            counts.http_code_elb_503,
            counts.http_code_elb_504
        ),
        (1, 1, 1)
    );
    assert_eq!(counts.http_code_elb_5xx, 3);
    assert!(counts.target_connection_error_count >= 1);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

/// Many concurrent clients; `count` requests each to `path`; returns the
/// statuses that were not 200.
async fn load(
    addr: std::net::SocketAddr,
    clients: usize,
    count: usize,
    path: &'static str,
) -> Vec<u16> {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut bad = Vec::new();
            for _ in 0..count {
                let (s, _) = get(&c, addr, path).await;
                if s != 200 {
                    bad.push(s);
                }
            }
            bad
        }));
    }
    let mut bad = Vec::new();
    for t in tasks {
        bad.extend(t.await.expect("load task"));
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_under_load_loses_no_request() {
    let alb = Alb::new();
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let tg = alb
        .create_target_group("tg", tg_config(fast_health()))
        .expect("tg");
    tg.register_targets(&[target(&a), target(&b)])
        .expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 2).await;
    let addr = l.local_addr();
    let traffic = tokio::spawn(load(addr, 8, 25, "/slow?ms=20"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(tg.deregister_targets(&[key(&a)]), 1);
    assert_eq!(
        state_of(&tg, &a),
        (
            TargetHealthState::Draining,
            Some(TargetHealthReason::DeregistrationInProgress)
        )
    );
    let hits_at_deregister = a.hits.load(std::sync::atomic::Ordering::SeqCst);
    // Removed once its in-flight requests finish (well before the 5 s delay).
    eventually(Duration::from_secs(2), "a removed", || {
        state_of(&tg, &a).0 == TargetHealthState::Unused
    })
    .await;
    let bad = traffic.await.expect("traffic");
    assert!(bad.is_empty(), "failed requests: {bad:?}");
    let after = a.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        after <= hits_at_deregister + 8,
        "draining target got new requests: {hits_at_deregister} -> {after}"
    );
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_retry_when_a_target_dies_costs_clients_nothing() {
    let alb = Alb::new();
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    // Active checks too slow to notice in time: only passive retry helps.
    let mut health = fast_health();
    health.interval = Duration::from_secs(60);
    health.timeout = Duration::from_secs(5);
    let tg = alb
        .create_target_group("tg", tg_config(health))
        .expect("tg");
    tg.register_targets(&[target(&a), target(&b)])
        .expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 2).await;
    let addr = l.local_addr();
    let traffic = tokio::spawn(load(addr, 8, 40, "/"));
    tokio::time::sleep(Duration::from_millis(30)).await;
    a.stop();
    let bad = traffic.await.expect("traffic");
    assert!(bad.is_empty(), "client errors: {bad:?}");
    // The dead target was marked unhealthy by passive failures.
    assert_eq!(state_of(&tg, &a).0, TargetHealthState::Unhealthy);
    assert_eq!(
        state_of(&tg, &a).1,
        Some(TargetHealthReason::FailedHealthChecks)
    );
    let c = client();
    for _ in 0..5 {
        assert_eq!(get(&c, addr, "/").await, (200, "b".into()));
    }
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

/// A target that answers until `dying` is set, then reads each request and
/// resets the connection without a byte of answer: a container SIGKILLed
/// while requests are in flight on kept-alive connections.
/// A backend that, once `dying` is set, resets each connection after reading
/// a request (counting the resets in `resets`).
async fn dying_backend(
    dying: std::sync::Arc<std::sync::atomic::AtomicBool>,
    resets: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (dying, resets) = (dying.clone(), resets.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if dying.load(std::sync::atomic::Ordering::SeqCst) {
                            resets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let std = sock.into_std().expect("std socket");
                            let sock2 = socket2::Socket::from(std);
                            let _ = sock2.set_linger(Some(Duration::ZERO));
                            drop(sock2); // RST
                            return;
                        }
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nd";
                        if sock.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_target_reset_mid_request_is_retried_for_idempotent_requests() {
    // Found by the emulator's self-healing test: SIGKILL of a task's
    // container reset requests already written to kept-alive connections,
    // and those came back as 502 although another target was healthy.
    let alb = Alb::new();
    let good = Backend::start("good").await;
    let dying = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let resets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let dying_port = dying_backend(dying.clone(), resets.clone()).await;
    let mut health = fast_health();
    health.interval = Duration::from_secs(60);
    health.timeout = Duration::from_secs(5);
    let tg = alb
        .create_target_group("tg", tg_config(health))
        .expect("tg");
    tg.register_targets(&[
        target(&good),
        Target::with_host("dying", "127.0.0.1", dying_port),
    ])
    .expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 2).await;
    let addr = l.local_addr();
    // Warm kept-alive connections to both targets, then kill one.
    assert!(load(addr, 4, 10, "/").await.is_empty());
    dying.store(true, std::sync::atomic::Ordering::SeqCst);
    let bad = load(addr, 4, 50, "/").await;
    assert!(bad.is_empty(), "client errors: {bad:?}");
    // The dying target did get requests mid-flight: they were retried.
    assert!(resets.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn forwarded_headers_are_set_and_hop_by_hop_stripped() {
    let alb = Alb::new();
    let be = Backend::start("be").await;
    let tg = alb
        .create_target_group("tg", tg_config(fast_health()))
        .expect("tg");
    tg.register_targets(&[target(&be)]).expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 1).await;
    let c = client();
    let (status, body) = get_with(
        &c,
        l.local_addr(),
        "/headers",
        &[
            ("host", "app.example.com"),
            ("x-forwarded-for", "203.0.113.9"),
            ("connection", "x-private"),
            ("x-private", "secret"),
            ("proxy-connection", "keep-alive"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let port = l.local_addr().port();
    assert!(body.contains("host: app.example.com\n"), "{body}");
    assert!(
        body.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"),
        "{body}"
    );
    assert!(body.contains("x-forwarded-proto: http\n"), "{body}");
    assert!(
        body.contains(&format!("x-forwarded-port: {port}\n")),
        "{body}"
    );
    assert!(body.contains("x-amzn-trace-id: Root=1-"), "{body}");
    assert!(!body.contains("x-private"), "{body}");
    assert!(!body.contains("proxy-connection"), "{body}");
    // POST bodies are forwarded too.
    let req = hyper::Request::post(format!("http://{}/echo", l.local_addr()))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"hello body",
        )))
        .expect("req");
    let pc = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let resp = pc.request(req).await.expect("post");
    let got = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&got[..], b"hello body");
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn oversized_header_and_slowloris_are_cut_off_while_others_are_served() {
    let alb = Alb::new();
    let be = Backend::start("be").await;
    let tg = alb
        .create_target_group("tg", tg_config(fast_health()))
        .expect("tg");
    tg.register_targets(&[target(&be)]).expect("register");
    let attrs = LoadBalancerAttributes {
        header_read_timeout: Duration::from_millis(300),
        max_header_bytes: 16 * 1024,
        ..LoadBalancerAttributes::default()
    };
    let l = listener(&alb, attrs, Action::forward("tg")).await;
    wait_healthy(&tg, 1).await;
    let addr = l.local_addr();

    // Oversized header: 431 (or a reset while we are still writing).
    let mut big = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "GET / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    let _ = big.write_all(head.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), big.read_to_end(&mut buf))
        .await
        .expect("closed");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );

    // Slowloris: one header byte every 100 ms never completes the head.
    let slow = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let started = tokio::time::Instant::now();
        for b in b"GET / HTTP/1.1\r\nhost: slow\r\nx-a: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await {
                break;
            }
        }
        started.elapsed()
    });
    // Meanwhile a normal client is served.
    let c = client();
    for _ in 0..10 {
        assert_eq!(get(&c, addr, "/").await, (200, "be".into()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cut_after = slow.await.expect("slowloris task");
    assert!(
        cut_after < Duration::from_secs(2),
        "slowloris held the connection for {cut_after:?}"
    );
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn idle_connections_are_closed_and_max_connections_enforced() {
    let alb = Alb::new();
    let attrs = LoadBalancerAttributes {
        idle_timeout: Duration::from_millis(200),
        max_connections: 2,
        ..LoadBalancerAttributes::default()
    };
    let l = listener(&alb, attrs, Action::fixed_response(200, "ok")).await;
    let addr = l.local_addr();
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), idle.read(&mut buf))
        .await
        .expect("closed");
    assert_eq!(n.expect("read"), 0, "idle connection closed");

    let _c1 = TcpStream::connect(addr).await.expect("c1");
    let _c2 = TcpStream::connect(addr).await.expect("c2");
    let lb = alb.load_balancer("lb").expect("lb");
    eventually(Duration::from_secs(2), "two active", || {
        lb.counts().active_connection_count == 2
    })
    .await;
    let mut c3 = TcpStream::connect(addr).await.expect("c3");
    let _ = c3.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), c3.read_to_end(&mut out))
        .await
        .expect("c3 closed");
    assert!(out.is_empty(), "third connection rejected");
    assert_eq!(lb.counts().rejected_connection_count, 1);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_rule_changes_apply_to_live_traffic() {
    let alb = Alb::new();
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let tga = alb
        .create_target_group("tg-a", tg_config(fast_health()))
        .expect("tg");
    let tgb = alb
        .create_target_group("tg-b", tg_config(fast_health()))
        .expect("tg");
    tga.register_targets(&[target(&a)]).expect("register");
    tgb.register_targets(&[target(&b)]).expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::fixed_response(404, "none"),
    )
    .await;
    wait_healthy(&tga, 1).await;
    wait_healthy(&tgb, 1).await;
    let addr = l.local_addr();
    let background = tokio::spawn(load(addr, 4, 50, "/x"));
    let c = client();
    assert_eq!(get(&c, addr, "/x").await.0, 404);
    let rule = |prio, tg: &str| RuleConfig {
        priority: prio,
        conditions: vec![Condition::PathPattern(vec!["/x".into()])],
        action: Action::forward(tg),
    };
    l.create_rule("ra", rule(10, "tg-a")).expect("rule a");
    assert_eq!(get(&c, addr, "/x").await, (200, "a".into()));
    l.create_rule("rb", rule(20, "tg-b")).expect("rule b");
    assert_eq!(get(&c, addr, "/x").await, (200, "a".into()));
    // Priority clash is refused and changes nothing.
    assert!(l.set_rule_priorities(&[("rb".into(), 10)]).is_err());
    l.set_rule_priorities(&[("rb".into(), 5)])
        .expect("reprioritize");
    assert_eq!(get(&c, addr, "/x").await, (200, "b".into()));
    l.modify_rule(
        "rb",
        Some(vec![Condition::PathPattern(vec!["/y".into()])]),
        None,
    )
    .expect("modify");
    assert_eq!(get(&c, addr, "/x").await, (200, "a".into()));
    assert_eq!(get(&c, addr, "/y").await, (200, "b".into()));
    // Weighted forward: both groups get traffic.
    l.modify_rule(
        "ra",
        None,
        Some(Action::Forward(vec![
            alb::WeightedTargetGroup {
                target_group_arn: "tg-a".into(),
                weight: 1,
            },
            alb::WeightedTargetGroup {
                target_group_arn: "tg-b".into(),
                weight: 1,
            },
        ])),
    )
    .expect("weighted");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        seen.insert(get(&c, addr, "/x").await.1);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    l.delete_rule("ra").expect("delete");
    assert_eq!(get(&c, addr, "/x").await.0, 404);
    assert!(l.create_rule("rz", rule(1, "missing")).is_err());
    // Background traffic saw only 404s and 200s: no errors while rules changed.
    let _ = background.await.expect("background");
    let counts = alb.load_balancer("lb").expect("lb").counts();
    assert_eq!(counts.http_code_elb_5xx, 0);
    // Deleting the listener unbinds the port at once.
    alb.load_balancer("lb")
        .expect("lb")
        .delete_listener("listener")
        .await
        .expect("delete");
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_outstanding_requests_avoids_the_busy_target() {
    let alb = Alb::new();
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let mut cfg = tg_config(fast_health());
    cfg.attributes.algorithm = LoadBalancingAlgorithm::LeastOutstandingRequests;
    let tg = alb.create_target_group("tg", cfg).expect("tg");
    tg.register_targets(&[target(&a), target(&b)])
        .expect("register");
    let l = listener(
        &alb,
        LoadBalancerAttributes::default(),
        Action::forward("tg"),
    )
    .await;
    wait_healthy(&tg, 2).await;
    let addr = l.local_addr();
    // Pin one slow request on some target, then fast ones go to the other.
    let slow = tokio::spawn(async move { get(&client(), addr, "/slow?ms=500").await });
    eventually(Duration::from_secs(2), "slow request in flight", || {
        tg.describe_target_health(None)
            .iter()
            .any(|d| d.in_flight == 1)
    })
    .await;
    let busy = tg
        .describe_target_health(None)
        .into_iter()
        .find(|d| d.in_flight == 1)
        .map(|d| d.target.id)
        .expect("busy");
    let c = client();
    for _ in 0..5 {
        let (s, body) = get(&c, addr, "/").await;
        assert_eq!(s, 200);
        assert_ne!(body, busy);
    }
    assert_eq!(slow.await.expect("slow").0, 200);
    let per = tg.request_counts();
    assert_eq!(per.iter().map(|(_, n)| n).sum::<u64>(), 6);
    assert!(alb.shutdown(Duration::from_secs(2)).await);
}
