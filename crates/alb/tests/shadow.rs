//! A shadow balancer (`Alb::shadow`): the imperative API with its
//! validation but no I/O, and `Alb::export`, which turns its configuration
//! (or a live balancer's) into a `Desired` document that round-trips
//! through `apply_desired`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use alb::{
    Action, Alb, Condition, Desired, DesiredTarget, FixedResponseConfig, HealthCheckConfig,
    HealthProbe, ListenerError, LoadBalancerAttributes, LoadBalancingAlgorithm, Matcher,
    ProbeOutcome, ProbeRequest, RuleConfig, Target, TargetGroupAttributes, TargetGroupConfig,
    TargetGroupError, TargetHealthState, WeightedTargetGroup,
};

/// Every probe passes at once: a live balancer's health stays put.
struct Passing;

impl HealthProbe for Passing {
    fn probe(&self, _: ProbeRequest) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send>> {
        Box::pin(async { ProbeOutcome::Status(200) })
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(local(0)).expect("bind");
    l.local_addr().expect("addr").port()
}

/// Drive a future that must complete without waiting (a shadow balancer
/// never waits on I/O or timers), with no runtime at all.
fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a shadow balancer call waited"),
    }
}

fn rule(priority: u32, conditions: Vec<Condition>, action: Action) -> RuleConfig {
    RuleConfig {
        priority,
        conditions,
        action,
    }
}

fn state(alb: &Alb, tg: &str, id: &str, port: u16) -> Option<TargetHealthState> {
    let tg = alb.target_group(tg).expect("target group");
    tg.describe_target_health(None)
        .into_iter()
        .find(|d| d.target.id == id && d.target.port == port)
        .map(|d| d.health.state)
}

/// The emulator's kind of configuration, built with the imperative API on
/// `alb`; its first listener on `busy` (a port some other socket holds).
async fn configure(alb: &Alb, busy: u16) {
    let web = alb
        .create_target_group("arn:tg/web", TargetGroupConfig::new(8080))
        .expect("web");
    web.register_targets(&[Target::new("10.0.0.1", 8080), Target::new("10.0.0.2", 8080)])
        .expect("register");
    web.register_targets_healthy(&[Target::new("10.0.0.3", 8080)])
        .expect("register healthy");
    web.modify_health_check(HealthCheckConfig {
        path: "/healthz".into(),
        interval: Duration::from_secs(7),
        timeout: Duration::from_secs(3),
        healthy_threshold: 3,
        unhealthy_threshold: 4,
        matcher: Matcher::parse("200-299").expect("matcher"),
        ..HealthCheckConfig::default()
    })
    .expect("health check");
    web.set_attributes(TargetGroupAttributes {
        deregistration_delay: Duration::from_secs(30),
        algorithm: LoadBalancingAlgorithm::LeastOutstandingRequests,
        passive_retry: true,
    })
    .expect("attributes");
    let api = alb
        .create_target_group("arn:tg/api", TargetGroupConfig::new(9000))
        .expect("api");
    api.register_targets(&[Target::with_host("i-1", "127.0.0.1", 9000)])
        .expect("register");

    let lb = alb
        .create_load_balancer(
            "arn:lb/app",
            LoadBalancerAttributes {
                idle_timeout: Duration::from_secs(30),
                ..LoadBalancerAttributes::default()
            },
        )
        .expect("lb");
    let main = lb
        .create_listener(
            "arn:listener/main",
            local(busy),
            Action::forward("arn:tg/web"),
        )
        .await
        .expect("listener on a busy port");
    main.create_rule(
        "arn:rule/api",
        rule(
            10,
            vec![Condition::PathPattern(vec!["/api/*".into()])],
            Action::forward("arn:tg/api"),
        ),
    )
    .expect("rule");
    main.create_rule(
        "arn:rule/maintenance",
        rule(
            20,
            vec![Condition::HostHeader(vec!["down.example.com".into()])],
            Action::FixedResponse(FixedResponseConfig {
                status_code: 503,
                content_type: Some("text/plain".into()),
                message_body: Some("maintenance".into()),
            }),
        ),
    )
    .expect("rule");
    main.set_rule_priorities(&[
        ("arn:rule/api".into(), 30),
        ("arn:rule/maintenance".into(), 5),
    ])
    .expect("priorities");
    main.modify_rule(
        "arn:rule/api",
        None,
        Some(Action::Forward(vec![
            WeightedTargetGroup {
                target_group_arn: "arn:tg/api".into(),
                weight: 3,
            },
            WeightedTargetGroup {
                target_group_arn: "arn:tg/web".into(),
                weight: 1,
            },
        ])),
    )
    .expect("modify rule");
    let admin = lb
        .create_listener("arn:listener/any", local(0), Action::forward("arn:tg/api"))
        .await
        .expect("listener on port 0");
    admin
        .set_default_action(Action::forward("arn:tg/web"))
        .expect("default action");
}

#[tokio::test]
async fn a_shadow_export_round_trips_through_a_live_balancer() {
    // Some other socket holds this port: a shadow balancer does not care.
    let busy = std::net::TcpListener::bind(local(0)).expect("bind");
    let busy_port = busy.local_addr().expect("addr").port();
    let shadow = Alb::shadow();
    assert!(shadow.is_shadow());
    configure(&shadow, busy_port).await;

    let lb = shadow.load_balancer("arn:lb/app").expect("lb");
    let main = lb.listener("arn:listener/main").expect("main");
    assert_eq!(main.local_addr(), local(busy_port));
    let any = lb.listener("arn:listener/any").expect("any");
    assert_eq!(any.local_addr(), local(0), "port 0 stays as given");
    // Describe calls work: the state machine's first state, no checks run.
    let initial = Some(TargetHealthState::Initial);
    assert_eq!(state(&shadow, "arn:tg/web", "10.0.0.1", 8080), initial);
    assert_eq!(state(&shadow, "arn:tg/api", "i-1", 9000), initial);
    let healthy = Some(TargetHealthState::Healthy);
    assert_eq!(state(&shadow, "arn:tg/web", "10.0.0.3", 8080), healthy);
    assert_eq!(
        main.describe_rules()
            .iter()
            .map(|r| r.priority)
            .collect::<Vec<_>>(),
        [Some(5), Some(30), None]
    );

    let exported = shadow.export();
    let web = &exported.target_groups["arn:tg/web"];
    assert_eq!(web.config.health_check.path, "/healthz");
    assert_eq!(web.config.health_check.unhealthy_threshold, 4);
    assert_eq!(
        web.config.attributes.algorithm,
        LoadBalancingAlgorithm::LeastOutstandingRequests
    );
    assert_eq!(
        web.targets,
        [
            DesiredTarget::new(Target::new("10.0.0.1", 8080)),
            DesiredTarget::new(Target::new("10.0.0.2", 8080)),
            DesiredTarget::healthy(Target::new("10.0.0.3", 8080)),
        ]
    );
    assert_eq!(
        exported.target_groups["arn:tg/api"].targets,
        [DesiredTarget::new(Target::with_host(
            "i-1",
            "127.0.0.1",
            9000
        ))]
    );
    let app = &exported.load_balancers["arn:lb/app"];
    assert_eq!(app.attributes.idle_timeout, Duration::from_secs(30));
    let l = &app.listeners["arn:listener/main"];
    assert_eq!(l.addr, local(busy_port));
    assert_eq!(l.default_action, Action::forward("arn:tg/web"));
    assert_eq!(l.rules["arn:rule/maintenance"].priority, 5);
    assert_eq!(l.rules["arn:rule/api"].priority, 30);
    assert!(matches!(&l.rules["arn:rule/api"].action, Action::Forward(w) if w.len() == 2));
    let l = &app.listeners["arn:listener/any"];
    assert_eq!(l.addr, local(0));
    assert_eq!(l.default_action, Action::forward("arn:tg/web"));
    assert!(l.rules.is_empty());
    // It is what the admin API's `PUT /desired` takes.
    let json = serde_json::to_string(&exported).expect("json");
    assert_eq!(
        serde_json::from_str::<Desired>(&json).expect("parse"),
        exported
    );

    // Another shadow applies it as is, busy port and port 0 included.
    let twin = Alb::shadow();
    let report = twin.apply_desired(&exported).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.listeners["arn:listener/main"], local(busy_port));
    assert_eq!(twin.export(), exported);

    // A live balancer, with the listener moved to a free port.
    let mut desired = exported.clone();
    desired
        .load_balancers
        .get_mut("arn:lb/app")
        .expect("lb")
        .listeners
        .get_mut("arn:listener/main")
        .expect("main")
        .addr = local(0);
    let live = Alb::builder().health_probe(Arc::new(Passing)).build();
    assert!(!live.is_shadow());
    let report = live.apply_desired(&desired).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_ne!(report.listeners["arn:listener/main"].port(), 0);
    assert_eq!(live.export(), desired);
    // Let the health checks run: a passing check changes no export.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        state(&live, "arn:tg/web", "10.0.0.1", 8080),
        Some(TargetHealthState::Healthy)
    );
    assert_eq!(live.export(), desired);
    // Applying the same again changes nothing; exporting after a
    // re-configuration of the live one follows it.
    assert!(live.apply_desired(&desired).await.is_ok());
    assert_eq!(live.export(), desired);
    live.shutdown(Duration::from_secs(1)).await;
    assert_eq!(live.export(), Desired::default());
    drop(busy);
}

#[tokio::test]
async fn a_deregistered_target_leaves_the_shadow_export_at_once() {
    let shadow = Alb::shadow();
    configure(&shadow, free_port()).await;
    let web = shadow.target_group("arn:tg/web").expect("web");
    let mut removals = shadow.removals();
    let tg_removals = web.removals();
    // A 30 s deregistration delay, and no drain happens.
    let found = web.deregister_targets(&[("10.0.0.2".into(), 8080), ("10.0.0.3".into(), 8080)]);
    assert_eq!(found, 2);
    assert_eq!(
        shadow.export().target_groups["arn:tg/web"].targets,
        [DesiredTarget::new(Target::new("10.0.0.1", 8080))]
    );
    assert_eq!(state(&shadow, "arn:tg/web", "10.0.0.2", 8080), None);
    let unused = web.describe_target_health(Some(&[("10.0.0.3".into(), 8080)]));
    assert_eq!(unused[0].health.state, TargetHealthState::Unused);
    // Each removal counts, as a finished drain would.
    assert!(removals.has_changed().expect("watch"));
    assert_eq!(*removals.borrow_and_update(), 2);
    assert!(tg_removals.has_changed().expect("watch"));
    assert_eq!(web.deregister_targets(&[("10.0.0.2".into(), 8080)]), 0);
    // Registered again: back in the export, `initial` again.
    web.register_targets(&[Target::new("10.0.0.2", 8080)])
        .expect("register");
    assert_eq!(
        state(&shadow, "arn:tg/web", "10.0.0.2", 8080),
        Some(TargetHealthState::Initial)
    );
    assert_eq!(shadow.export().target_groups["arn:tg/web"].targets.len(), 2);
}

#[tokio::test]
async fn a_shadow_listener_binds_nothing() {
    let port = free_port();
    let shadow = Alb::shadow();
    configure(&shadow, port).await;
    let lb = shadow.load_balancer("arn:lb/app").expect("lb");
    assert_eq!(
        lb.listener("arn:listener/main").expect("main").local_addr(),
        local(port)
    );
    let refused = tokio::net::TcpStream::connect(local(port))
        .await
        .expect_err("nothing listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The port is still free for anyone.
    let taker = tokio::net::TcpListener::bind(local(port))
        .await
        .expect("port still free");
    drop(taker);
    // Shutdown is immediate, nothing to drain.
    let started = std::time::Instant::now();
    assert!(shadow.shutdown(Duration::from_secs(30)).await);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(shadow.load_balancers().is_empty());
    assert!(shadow.target_groups().is_empty());
}

#[test]
fn a_shadow_needs_no_runtime_and_validates_like_a_live_one() {
    let shadow = Alb::shadow();
    let port = free_port();
    now(configure(&shadow, port));
    let lb = shadow.load_balancer("arn:lb/app").expect("lb");

    // The same address again, in this or another load balancer: refused,
    // as the bind would be; port 0 never clashes.
    let other = shadow
        .create_load_balancer("arn:lb/other", LoadBalancerAttributes::default())
        .expect("lb");
    let clash = now(other.create_listener(
        "arn:listener/clash",
        SocketAddr::from(([0, 0, 0, 0], port)),
        Action::forward("arn:tg/web"),
    ));
    assert!(
        matches!(&clash, Err(ListenerError::Bind { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse),
        "{clash:?}"
    );
    now(other.create_listener("arn:listener/zero", local(0), Action::forward("arn:tg/web")))
        .expect("a second port 0");
    assert!(matches!(
        now(lb.create_listener("arn:listener/main", local(0), Action::forward("arn:tg/web"))),
        Err(ListenerError::Exists(_))
    ));
    // Rules and actions are checked against the target groups.
    assert!(matches!(
        now(lb.create_listener("arn:listener/x", local(0), Action::forward("arn:tg/nope"))),
        Err(ListenerError::Rule { .. })
    ));
    let main = lb.listener("arn:listener/main").expect("main");
    let taken = main.create_rule(
        "arn:rule/again",
        rule(
            5,
            vec![Condition::PathPattern(vec!["/x".into()])],
            Action::forward("arn:tg/web"),
        ),
    );
    assert!(matches!(taken, Err(ListenerError::Rule { .. })));
    assert!(matches!(
        shadow.delete_target_group("arn:tg/api"),
        Err(TargetGroupError::InUse { .. })
    ));
    let web = shadow.target_group("arn:tg/web").expect("web");
    let bad = HealthCheckConfig {
        path: "no-slash".into(),
        ..HealthCheckConfig::default()
    };
    assert!(matches!(
        web.modify_health_check(bad),
        Err(TargetGroupError::HealthCheck { .. })
    ));
    assert!(matches!(
        web.register_targets(&[Target::with_host("bad", "not a host", 80)]),
        Err(TargetGroupError::InvalidTarget { .. })
    ));

    // Deleting frees the address for another listener.
    now(lb.delete_listener("arn:listener/main")).expect("delete");
    now(other.create_listener(
        "arn:listener/clash",
        SocketAddr::from(([0, 0, 0, 0], port)),
        Action::forward("arn:tg/web"),
    ))
    .expect("address free again");
    now(shadow.delete_load_balancer("arn:lb/app")).expect("delete lb");
    shadow
        .delete_target_group("arn:tg/api")
        .expect("no longer used");
    let exported = shadow.export();
    assert_eq!(
        exported.load_balancers.keys().collect::<Vec<_>>(),
        ["arn:lb/other"]
    );
    assert_eq!(
        exported.target_groups.keys().collect::<Vec<_>>(),
        ["arn:tg/web"]
    );
    assert!(now(shadow.shutdown(Duration::from_secs(5))));
}

#[tokio::test]
async fn the_export_reports_the_configured_address_the_last_apply_kept() {
    let alb = Alb::builder().health_probe(Arc::new(Passing)).build();
    alb.create_target_group("arn:tg/web", TargetGroupConfig::new(80))
        .expect("tg");
    let lb = alb
        .create_load_balancer("arn:lb/app", LoadBalancerAttributes::default())
        .expect("lb");
    let l = lb
        .create_listener("arn:listener/a", local(0), Action::forward("arn:tg/web"))
        .await
        .expect("listener");
    let bound = l.local_addr();
    assert_ne!(bound.port(), 0);
    assert_eq!(l.addr(), local(0));
    let mut desired = alb.export();
    assert_eq!(
        desired.load_balancers["arn:lb/app"].listeners["arn:listener/a"].addr,
        local(0)
    );
    // Naming the port it got keeps the listener where it is, and the
    // export now says that port.
    desired
        .load_balancers
        .get_mut("arn:lb/app")
        .expect("lb")
        .listeners
        .get_mut("arn:listener/a")
        .expect("listener")
        .addr = bound;
    let report = alb.apply_desired(&desired).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.listeners["arn:listener/a"], bound);
    assert_eq!(alb.export(), desired);
    alb.shutdown(Duration::from_secs(1)).await;
}
