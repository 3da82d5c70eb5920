//! The declarative desired state and the admin API over real sockets on
//! 127.0.0.1: `PUT /desired` creates, changes and deletes, re-applying
//! changes nothing, failures stay per resource, and the read-only
//! endpoints report what the balancer does. The last test runs the `alb`
//! binary in admin mode.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use alb::admin::{Removals, TargetGroupCounts};
use alb::{
    Action, Alb, ApplyReport, Condition, Desired, DesiredListener, DesiredLoadBalancer,
    DesiredTarget, DesiredTargetGroup, HealthCheckConfig, LoadBalancerAttributes, Matcher,
    RuleConfig, Target, TargetGroupConfig, TargetHealthDescription,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use support::{client, get, Backend};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// The admin API of one balancer, and a client for it.
struct Admin {
    addr: SocketAddr,
    http: Client<HttpConnector, Full<Bytes>>,
    task: JoinHandle<()>,
}

impl Admin {
    async fn start(alb: &Alb) -> Admin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(alb::admin::serve(
            alb.clone(),
            listener,
            std::future::pending::<()>(),
        ));
        Admin {
            addr,
            http: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            task,
        }
    }

    async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Bytes) {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let resp = self.http.request(req).await.expect("admin request");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, body)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let (status, body) = self.send("GET", path, Vec::new()).await;
        assert_eq!(
            status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("json answer")
    }

    async fn put(&self, desired: &Desired) -> ApplyReport {
        let (status, body) = self
            .send(
                "PUT",
                "/desired",
                serde_json::to_vec(desired).expect("json"),
            )
            .await;
        assert_eq!(
            status,
            200,
            "PUT /desired: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("report")
    }

    async fn health(&self) -> BTreeMap<String, Vec<TargetHealthDescription>> {
        self.get("/health").await
    }

    /// `(state, request_count)` of target `id` in group `tg`.
    async fn target_state(&self, tg: &str, id: &str) -> Option<(String, u64)> {
        let health = self.health().await;
        let row = health.get(tg)?.iter().find(|r| r.target.id == id)?.clone();
        Some((row.health.state.to_string(), row.request_count))
    }
}

fn health_check(interval_ms: u64) -> HealthCheckConfig {
    HealthCheckConfig {
        path: "/health".into(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(interval_ms.min(1000) * 4 / 5),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: Matcher::parse("200").expect("matcher"),
        ..HealthCheckConfig::default()
    }
}

fn target(b: &Backend) -> Target {
    Target::with_host(b.name.clone(), "127.0.0.1", b.port())
}

fn group(health: HealthCheckConfig, targets: Vec<DesiredTarget>) -> DesiredTargetGroup {
    let mut config = TargetGroupConfig::new(80);
    config.health_check = health;
    config.attributes.deregistration_delay = Duration::from_secs(5);
    DesiredTargetGroup { config, targets }
}

fn listener(addr: SocketAddr, default_action: Action) -> DesiredListener {
    DesiredListener {
        addr,
        default_action,
        rules: BTreeMap::new(),
    }
}

/// One load balancer `lb` with the given listeners, and the given groups.
fn desired(
    groups: Vec<(&str, DesiredTargetGroup)>,
    listeners: Vec<(&str, DesiredListener)>,
) -> Desired {
    Desired {
        target_groups: groups
            .into_iter()
            .map(|(arn, g)| (arn.to_owned(), g))
            .collect(),
        load_balancers: BTreeMap::from([(
            "lb".to_owned(),
            DesiredLoadBalancer {
                attributes: LoadBalancerAttributes::default(),
                listeners: listeners
                    .into_iter()
                    .map(|(arn, l)| (arn.to_owned(), l))
                    .collect(),
            },
        )]),
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Whether a new listening socket could take `addr` (with `SO_REUSEADDR`,
/// so connections of the old one in TIME_WAIT do not count).
fn can_bind(addr: SocketAddr) -> bool {
    let s = TcpSocket::new_v4().expect("socket");
    s.set_reuseaddr(true).expect("reuseaddr");
    s.bind(addr).is_ok() && s.listen(8).is_ok()
}

/// Poll an async condition every 20 ms, failing after `within`.
async fn until<F, Fut>(within: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn put_desired_serves_and_the_same_again_changes_nothing() {
    let a = Backend::start("a").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let addr = local(free_port());
    let want = desired(
        vec![(
            "tg",
            group(health_check(100), vec![DesiredTarget::new(target(&a))]),
        )],
        vec![("l", listener(addr, Action::forward("tg")))],
    );
    let (status, body) = admin.send("GET", "/desired", Vec::new()).await;
    assert_eq!((status, &body[..]), (200, &b"null"[..]));

    let report = admin.put(&want).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.listeners, BTreeMap::from([("l".to_owned(), addr)]));
    until(Duration::from_secs(5), "target healthy", || async {
        admin
            .target_state("tg", "a")
            .await
            .is_some_and(|(s, _)| s == "healthy")
    })
    .await;
    let c = client();
    assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));

    // A slow request in flight while the same state is applied again.
    let in_flight = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/slow?ms=600").await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let again = admin.put(&want).await;
    assert_eq!(again, report, "same listeners, no errors");
    let (state, requests) = admin.target_state("tg", "a").await.expect("registered");
    assert_eq!(state, "healthy", "health not reset");
    assert_eq!(requests, 2, "same registration: its request count kept");
    assert_eq!(in_flight.await.expect("join"), (200, "a".to_owned()));
    assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));
    assert_eq!(admin.get::<Option<Desired>>("/desired").await, Some(want));
}

#[tokio::test]
async fn changes_rules_targets_and_listeners() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let addr = local(free_port());
    let hc = health_check(100);
    let rule = |path: &str, body: &str| RuleConfig {
        priority: 1,
        conditions: vec![Condition::PathPattern(vec![path.into()])],
        action: Action::fixed_response(418, body),
    };
    let mut l = listener(addr, Action::forward("tg"));
    l.rules.insert("r1".into(), rule("/fixed", "one"));
    let mut want = desired(
        vec![(
            "tg",
            group(hc.clone(), vec![DesiredTarget::healthy(target(&a))]),
        )],
        vec![("l", l.clone())],
    );
    assert!(admin.put(&want).await.is_ok());
    let c = client();
    assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));
    assert_eq!(get(&c, addr, "/fixed").await, (418, "one".to_owned()));

    // Change the rule and add a second target.
    l.rules.insert("r1".into(), rule("/fixed2", "two"));
    want.load_balancers.get_mut("lb").expect("lb").listeners = BTreeMap::from([("l".into(), l)]);
    want.target_groups.get_mut("tg").expect("tg").targets = vec![
        DesiredTarget::healthy(target(&a)),
        DesiredTarget::healthy(target(&b)),
    ];
    let report = admin.put(&want).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.listeners["l"], addr, "not re-bound");
    let (status, name) = get(&c, addr, "/fixed").await;
    assert!(
        status == 200 && (name == "a" || name == "b"),
        "default action now"
    );
    assert_eq!(get(&c, addr, "/fixed2").await, (418, "two".to_owned()));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        seen.insert(get(&c, addr, "/").await.1);
    }
    assert_eq!(
        seen,
        ["a".to_owned(), "b".to_owned()].into(),
        "both targets used"
    );
    let counts: BTreeMap<String, TargetGroupCounts> = admin.get("/counts").await;
    let per_target: BTreeMap<(String, u16), u64> = counts["tg"]
        .targets
        .iter()
        .map(|t| ((t.id.clone(), t.port), t.request_count))
        .collect();
    assert_eq!(per_target.len(), 2);
    assert!(per_target.values().all(|n| *n >= 1), "{per_target:?}");
    assert!(counts["tg"].request_count >= per_target.values().sum::<u64>());

    // Remove target a: it drains while a request is in flight, then leaves.
    let slow = {
        let c = c.clone();
        tokio::spawn(async move {
            let mut last = (0, String::new());
            // Round robin: one of two requests lands on a.
            for _ in 0..2 {
                last = get(&c, addr, "/slow?ms=500").await;
                if last.1 == "a" {
                    break;
                }
            }
            last
        })
    };
    until(
        Duration::from_secs(3),
        "a request in flight on a",
        || async {
            admin
                .get::<BTreeMap<String, Vec<TargetHealthDescription>>>("/health")
                .await["tg"]
                .iter()
                .any(|r| r.target.id == "a" && r.in_flight == 1)
        },
    )
    .await;
    want.target_groups.get_mut("tg").expect("tg").targets =
        vec![DesiredTarget::healthy(target(&b))];
    assert!(admin.put(&want).await.is_ok());
    let (state, _) = admin.target_state("tg", "a").await.expect("still listed");
    assert_eq!(state, "draining");
    for _ in 0..4 {
        assert_eq!(get(&c, addr, "/").await, (200, "b".to_owned()));
    }
    assert_eq!(
        slow.await.expect("join"),
        (200, "a".to_owned()),
        "drained, not cut"
    );
    until(Duration::from_secs(3), "a removed", || async {
        admin.target_state("tg", "a").await.is_none()
    })
    .await;

    // Remove the listener: its port is free once the PUT answers.
    want.load_balancers
        .get_mut("lb")
        .expect("lb")
        .listeners
        .clear();
    let report = admin.put(&want).await;
    assert!(report.is_ok() && report.listeners.is_empty(), "{report:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "nothing listens");
    assert!(can_bind(addr), "port free");

    // And an empty state deletes everything.
    assert!(admin.put(&Desired::default()).await.is_ok());
    assert!(alb.load_balancers().is_empty() && alb.target_groups().is_empty());
}

#[tokio::test]
async fn a_port_in_use_fails_only_that_listener() {
    let a = Backend::start("a").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let taken = TcpListener::bind("127.0.0.1:0").await.expect("occupy");
    let busy = taken.local_addr().expect("addr");
    let want = desired(
        vec![(
            "tg",
            group(health_check(100), vec![DesiredTarget::healthy(target(&a))]),
        )],
        vec![
            ("busy", listener(busy, Action::forward("tg"))),
            ("free", listener(local(0), Action::forward("tg"))),
        ],
    );
    let report = admin.put(&want).await;
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert_eq!(report.errors[0].arn, "busy");
    assert!(report.errors[0].message.contains("bind"), "{report:?}");
    assert_eq!(report.listeners.keys().collect::<Vec<_>>(), ["free"]);
    let free = report.listeners["free"];
    assert_ne!(free.port(), 0);
    let c = client();
    assert_eq!(get(&c, free, "/").await, (200, "a".to_owned()));

    // Once the port is released, applying again binds it; the port-0
    // listener stays where it is.
    drop(taken);
    let report = admin.put(&want).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        report.listeners,
        BTreeMap::from([("busy".to_owned(), busy), ("free".to_owned(), free)])
    );
    assert_eq!(get(&c, busy, "/").await, (200, "a".to_owned()));
}

#[tokio::test]
async fn bad_rules_are_reported_and_the_live_version_kept() {
    let a = Backend::start("a").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let rule = |priority, path: &str, action| RuleConfig {
        priority,
        conditions: vec![Condition::PathPattern(vec![path.into()])],
        action,
    };
    let mut l = listener(local(0), Action::forward("tg"));
    l.rules.insert(
        "r1".into(),
        rule(1, "/one", Action::fixed_response(200, "one")),
    );
    let mut want = desired(
        vec![(
            "tg",
            group(health_check(100), vec![DesiredTarget::healthy(target(&a))]),
        )],
        vec![("l", l.clone())],
    );
    let report = admin.put(&want).await;
    assert!(report.is_ok(), "{report:?}");
    let addr = report.listeners["l"];

    // r1 now names a missing group, r2 is fine, r3 has a bad path, and the
    // default action is invalid: r2 applies, the rest stays as it was.
    l.rules
        .insert("r1".into(), rule(1, "/one", Action::forward("nope")));
    l.rules.insert(
        "r2".into(),
        rule(2, "/two", Action::fixed_response(200, "two")),
    );
    l.rules.insert(
        "r3".into(),
        rule(3, "/bad path", Action::fixed_response(200, "3")),
    );
    l.default_action = Action::fixed_response(302, "not 2xx/4xx/5xx");
    want.load_balancers.get_mut("lb").expect("lb").listeners = BTreeMap::from([("l".into(), l)]);
    let report = admin.put(&want).await;
    let mut failed: Vec<&str> = report.errors.iter().map(|e| e.arn.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, ["l", "r1", "r3"], "{report:?}");
    assert_eq!(report.listeners["l"], addr);
    let c = client();
    assert_eq!(get(&c, addr, "/one").await, (200, "one".to_owned()));
    assert_eq!(get(&c, addr, "/two").await, (200, "two".to_owned()));
    assert_eq!(get(&c, addr, "/other").await, (200, "a".to_owned()));

    // Not a desired state at all: 400, nothing changes.
    let (status, body) = admin
        .send("PUT", "/desired", b"{\"load_balancers\": 3}".to_vec())
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert_eq!(get(&c, addr, "/two").await, (200, "two".to_owned()));
    let (status, _) = admin.send("DELETE", "/desired", Vec::new()).await;
    assert_eq!(status, 405);
    let (status, _) = admin.send("GET", "/nothing", Vec::new()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn health_counts_and_metrics_report_the_targets() {
    let a = Backend::start("a").await;
    let sick = Backend::start("sick").await;
    sick.set_health(500);
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let want = desired(
        vec![(
            "tg",
            group(
                health_check(100),
                vec![
                    DesiredTarget::new(target(&a)),
                    DesiredTarget::new(target(&sick)),
                ],
            ),
        )],
        vec![("l", listener(local(0), Action::forward("tg")))],
    );
    let addr = admin.put(&want).await.listeners["l"];
    until(
        Duration::from_secs(5),
        "one healthy, one unhealthy",
        || async {
            admin
                .target_state("tg", "a")
                .await
                .is_some_and(|(s, _)| s == "healthy")
                && admin
                    .target_state("tg", "sick")
                    .await
                    .is_some_and(|(s, _)| s == "unhealthy")
        },
    )
    .await;
    // The JSON as a client without these types sees it.
    let raw: serde_json::Value = admin.get("/health").await;
    let rows = raw["tg"].as_array().expect("rows");
    let sick_row = rows.iter().find(|r| r["id"] == "sick").expect("sick");
    assert_eq!(sick_row["port"], sick.port());
    assert_eq!(sick_row["state"], "unhealthy");
    assert_eq!(sick_row["reason"], "Target.ResponseCodeMismatch");
    assert!(sick_row["description"]
        .as_str()
        .is_some_and(|d| d.contains("500")));
    let a_row = rows.iter().find(|r| r["id"] == "a").expect("a");
    assert_eq!(a_row["state"], "healthy");
    assert_eq!(a_row["reason"], serde_json::Value::Null);

    let c = client();
    for _ in 0..3 {
        assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));
    }
    let counts: serde_json::Value = admin.get("/counts").await;
    let a_count = counts["tg"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["id"] == "a")
        .expect("a")["request_count"]
        .clone();
    assert_eq!(a_count, 3);
    let (status, text) = admin.send("GET", "/metrics", Vec::new()).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("aws_applicationelb_healthy_hosts{target_group=\"tg\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn removals_long_poll_wakes_when_a_target_leaves() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let both = desired(
        vec![(
            "tg",
            group(
                health_check(100),
                vec![
                    DesiredTarget::healthy(target(&a)),
                    DesiredTarget::healthy(target(&b)),
                ],
            ),
        )],
        vec![],
    );
    assert!(admin.put(&both).await.is_ok());
    let Removals { generation } = admin.get("/removals").await;
    let quick: Removals = admin
        .get(&format!("/removals?after={generation}&timeout_ms=50"))
        .await;
    assert_eq!(
        quick.generation, generation,
        "nothing left: answered at the timeout"
    );

    let started = tokio::time::Instant::now();
    let poll = {
        let (addr, path) = (admin.addr, format!("/removals?after={generation}"));
        tokio::spawn(async move {
            let c = client();
            get(&c, addr, &path).await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "waits for a removal");
    let mut one = both.clone();
    one.target_groups.get_mut("tg").expect("tg").targets = vec![DesiredTarget::healthy(target(&b))];
    assert!(admin.put(&one).await.is_ok());
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("woken")
        .expect("join");
    assert_eq!(status, 200);
    let woke: Removals = serde_json::from_str(&body).expect("json");
    assert!(woke.generation > generation);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_target_known_healthy_takes_traffic_at_once() {
    // Health checks fail for both and run only every 30 s: `old` is
    // healthy because it was declared so, `new` stays initial.
    let old = Backend::start("old").await;
    let new = Backend::start("new").await;
    old.set_health(500);
    new.set_health(500);
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let want = desired(
        vec![(
            "tg",
            group(
                health_check(30_000),
                vec![
                    DesiredTarget::healthy(target(&old)),
                    DesiredTarget::new(target(&new)),
                ],
            ),
        )],
        vec![("l", listener(local(0), Action::forward("tg")))],
    );
    let addr = admin.put(&want).await.listeners["l"];
    assert_eq!(
        admin
            .target_state("tg", "old")
            .await
            .map(|s| s.0)
            .as_deref(),
        Some("healthy")
    );
    assert_eq!(
        admin
            .target_state("tg", "new")
            .await
            .map(|s| s.0)
            .as_deref(),
        Some("initial")
    );
    let c = client();
    for _ in 0..6 {
        assert_eq!(get(&c, addr, "/").await, (200, "old".to_owned()));
    }
    // Applying again does not re-register `new` healthy, nor `old` initial.
    let mut flipped = want.clone();
    for t in &mut flipped.target_groups.get_mut("tg").expect("tg").targets {
        t.healthy = !t.healthy;
    }
    assert!(admin.put(&flipped).await.is_ok());
    assert_eq!(
        admin
            .target_state("tg", "old")
            .await
            .map(|s| s.0)
            .as_deref(),
        Some("healthy")
    );
    assert_eq!(
        admin
            .target_state("tg", "new")
            .await
            .map(|s| s.0)
            .as_deref(),
        Some("initial")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_shutdown_stops_the_api_and_leaves_the_balancer_running() {
    let a = Backend::start("a").await;
    let alb = Alb::new();
    let admin = Admin::start(&alb).await;
    let want = desired(
        vec![(
            "tg",
            group(health_check(100), vec![DesiredTarget::healthy(target(&a))]),
        )],
        vec![("l", listener(local(0), Action::forward("tg")))],
    );
    let addr = admin.put(&want).await.listeners["l"];
    // A long poll in progress does not hold the shutdown up.
    let poll = {
        let admin_addr = admin.addr;
        tokio::spawn(async move { get(&client(), admin_addr, "/removals?after=99").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = admin.send("POST", "/shutdown", Vec::new()).await;
    assert_eq!((status, &body[..]), (200, &b"{\"stopping\":true}"[..]));
    tokio::time::timeout(Duration::from_secs(3), admin.task)
        .await
        .expect("serve returned")
        .expect("join");
    assert_eq!(poll.await.expect("join").0, 200);
    assert!(
        TcpStream::connect(admin.addr).await.is_err(),
        "admin closed"
    );
    let c = client();
    assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));
    assert!(alb.shutdown(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn the_binary_serves_the_admin_api_and_drains_on_sigterm() {
    use tokio::io::AsyncBufReadExt;

    let a = Backend::start("a").await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_alb"))
        .args(["--admin", "127.0.0.1:0", "--grace", "5"])
        .env("RUST_LOG", "warn")
        .env_remove("ALB_ROUTES")
        .env_remove("ALB_DEFAULT")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn alb");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("alb started")
        .expect("read")
        .expect("a line");
    let line: serde_json::Value = serde_json::from_str(&first).expect("json line");
    let admin_addr: SocketAddr = line["admin"]
        .as_str()
        .expect("admin")
        .parse()
        .expect("addr");
    let admin = Admin {
        addr: admin_addr,
        http: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        task: tokio::spawn(async {}),
    };
    let want = desired(
        vec![(
            "tg",
            group(health_check(100), vec![DesiredTarget::healthy(target(&a))]),
        )],
        vec![("l", listener(local(0), Action::forward("tg")))],
    );
    let report = admin.put(&want).await;
    assert!(report.is_ok(), "{report:?}");
    let addr = report.listeners["l"];
    let c = client();
    assert_eq!(get(&c, addr, "/").await, (200, "a".to_owned()));

    // SIGTERM while a request is in flight: it completes, then alb exits 0.
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/slow?ms=500").await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(slow.await.expect("join"), (200, "a".to_owned()));
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("alb exited")
        .expect("wait");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_api_is_served_on_a_unix_socket_too() {
    let path = std::env::temp_dir().join(format!("alb-admin-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let alb = Alb::new();
    let listener = tokio::net::UnixListener::bind(&path).expect("bind unix");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(alb::admin::serve_unix(alb.clone(), listener, stopped));
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let body = serde_json::to_vec(&Desired::default()).expect("json");
    let req = Request::put("http://alb/desired")
        .header("host", "alb")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let report: ApplyReport =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body").to_bytes())
            .expect("report");
    assert!(report.is_ok() && report.listeners.is_empty());
    assert_eq!(alb.desired().await, Some(Desired::default()));
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .expect("serve returned")
        .expect("join");
    let _ = std::fs::remove_file(&path);
}
