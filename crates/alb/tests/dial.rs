//! A target registered as `(id, port)` but reached at another address
//! (`Target::dial`): how the emulator reaches a task's container on the
//! engine's bridge instead of through the published host port.

mod support;

use std::time::Duration;

use alb::{
    Action, Alb, HealthCheckConfig, LoadBalancerAttributes, Matcher, Target, TargetGroupConfig,
};
use support::{client, eventually, get, Backend};

#[tokio::test]
async fn traffic_and_health_checks_go_to_the_dial_address_and_aws_sees_id_and_port() {
    let alb = Alb::new();
    let backend = Backend::start("container").await;
    // The registered port answers nothing: only the dial address serves.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = TargetGroupConfig::new(80);
    config.health_check = HealthCheckConfig {
        path: "/health".into(),
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(40),
        healthy_threshold: 2,
        matcher: Matcher::parse("200").expect("matcher"),
        ..HealthCheckConfig::default()
    };
    let tg = alb.create_target_group("tg", config).expect("tg");
    let dial = format!("127.0.0.1:{}", backend.port()).parse().unwrap();
    tg.register_targets(&[
        Target::with_host("i-0abc", "127.0.0.1", host_port).dialed_at(Some(dial))
    ])
    .expect("register");
    let lb = alb
        .create_load_balancer("lb", LoadBalancerAttributes::default())
        .expect("lb");
    let l = lb
        .create_listener("l", "127.0.0.1:0".parse().unwrap(), Action::forward("tg"))
        .await
        .expect("listener");
    eventually(
        Duration::from_secs(5),
        "target healthy via its dial address",
        || tg.healthy_host_count() == 1,
    )
    .await;
    let (status, body) = get(&client(), l.local_addr(), "/").await;
    assert_eq!((status, body.as_str()), (200, "container"));
    let d = tg.describe_target_health(None);
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].target.id.as_str(), d[0].target.port),
        ("i-0abc", host_port)
    );
}
