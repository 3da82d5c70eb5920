//! ELBv2 Query API over a real socket, on the fake container runtime: every
//! operation, XML shapes, AWS errors, live routing through a real listener
//! to real local HTTP backends (`ip` targets), and restoring after restart.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;

const NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

struct Api {
    running: Option<emulator::Running>,
    ep: String,
}

async fn start(dir: &std::path::Path) -> Api {
    let mut config = Config::new(dir.to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.alb_addr = "127.0.0.1:0".parse().unwrap();
    config.ephemeral_listeners = true;
    config.resync = Duration::from_millis(100);
    let running = start_with_runtime(config, Arc::new(FakeRuntime::new()))
        .await
        .unwrap();
    let ep = format!("http://{}", running.api_addr);
    Api {
        running: Some(running),
        ep,
    }
}

impl Api {
    async fn raw(&self, form: &str) -> (u16, String) {
        let resp = reqwest::Client::new()
            .post(format!("{}/", self.ep))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", common::AUTH)
            .body(format!("Version=2015-12-01&{form}"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn ok(&self, form: &str) -> String {
        let (s, body) = self.raw(form).await;
        assert_eq!(s, 200, "{form}: {body}");
        let action = form
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap();
        assert!(
            body.starts_with(&format!(
                "<{action}Response xmlns=\"{NS}\"><{action}Result>"
            )),
            "{body}"
        );
        assert!(body.contains("<ResponseMetadata><RequestId>"), "{body}");
        body
    }

    async fn err(&self, form: &str, code: &str) {
        let (s, body) = self.raw(form).await;
        assert_eq!(s, 400, "{form}: {body}");
        assert!(
            body.starts_with(&format!("<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>")),
            "{form}: wanted {code}, got {body}"
        );
        assert!(body.contains("<RequestId>"), "{body}");
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop(Duration::from_secs(5)).await;
        }
    }
}

fn between<'a>(text: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {text}"))
        + open.len();
    let end = text[start..].find(&format!("</{tag}>")).unwrap() + start;
    &text[start..end]
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

/// A backend answering every path with `name path`.
async fn backend(name: &'static str) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(move |uri: axum::http::Uri| async move { format!("{name} {}", uri.path()) });
    tokio::spawn(async move { axum::serve(l, app).await });
    port
}

async fn get(addr: &str, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn wait_healthy(api: &Api, tg: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let b = api
            .ok(&format!(
                "Action=DescribeTargetHealth&TargetGroupArn={}",
                enc(tg)
            ))
            .await;
        if b.contains("<State>healthy</State>") {
            return;
        }
        assert!(Instant::now() < deadline, "never healthy: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn listener_addr(api: &Api, arn: &str) -> String {
    let v: serde_json::Value = reqwest::get(format!("{}/_emulator/listeners", api.ep))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v[arn].as_str().expect("listener bound").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_works_and_changes_live_traffic_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let api = start(dir.path()).await;
    let (pa, pb) = (backend("A").await, backend("B").await);

    let b = api
        .ok("Action=CreateTargetGroup&Name=tg-a&Protocol=HTTP&Port=80&VpcId=vpc-1&TargetType=ip&HealthCheckPath=%2Fhealth&HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2&HealthyThresholdCount=2&Matcher.HttpCode=200-299")
        .await;
    let tg_a = between(&b, "TargetGroupArn").to_string();
    assert!(
        tg_a.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg-a/")
    );
    assert_eq!(between(&b, "HttpCode"), "200-299");
    assert_eq!(between(&b, "HealthCheckPath"), "/health");
    let b = api.ok("Action=CreateTargetGroup&Name=tg-b&Port=80&TargetType=ip&HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2").await;
    let tg_b = between(&b, "TargetGroupArn").to_string();

    let b = api
        .ok("Action=CreateLoadBalancer&Name=web&Type=application")
        .await;
    let lb = between(&b, "LoadBalancerArn").to_string();
    assert!(lb.contains(":loadbalancer/app/web/"));
    assert_eq!(between(&b, "Code"), "active");

    let b = api
        .ok(&format!("Action=CreateListener&LoadBalancerArn={}&Protocol=HTTP&Port=8123&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={}", enc(&lb), enc(&tg_a)))
        .await;
    let listener = between(&b, "ListenerArn").to_string();
    assert!(listener.contains(":listener/app/web/"));
    let addr = listener_addr(&api, &listener).await;

    api.ok(&format!(
        "Action=RegisterTargets&TargetGroupArn={}&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port={pa}",
        enc(&tg_a)
    ))
    .await;
    api.ok(&format!(
        "Action=RegisterTargets&TargetGroupArn={}&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port={pb}",
        enc(&tg_b)
    ))
    .await;
    wait_healthy(&api, &tg_a).await;
    // No listener forwards to tg-b yet: its target is unused, as in AWS.
    let b = api
        .ok(&format!(
            "Action=DescribeTargetHealth&TargetGroupArn={}",
            enc(&tg_b)
        ))
        .await;
    assert_eq!(between(&b, "State"), "unused", "{b}");
    assert_eq!(between(&b, "Reason"), "Target.NotInUse", "{b}");
    assert!(b.contains("<Description>Target group is not configured to receive traffic from the load balancer</Description>"), "{b}");
    assert_eq!(get(&addr, "/x").await, (200, "A /x".into()));

    let b = api
        .ok(&format!("Action=CreateRule&ListenerArn={}&Priority=10&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fb%2A&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={}", enc(&listener), enc(&tg_b)))
        .await;
    let rule = between(&b, "RuleArn").to_string();
    assert!(rule.contains(":listener-rule/app/web/"));
    wait_healthy(&api, &tg_b).await;
    assert_eq!(get(&addr, "/bee").await.1, "B /bee");
    assert_eq!(get(&addr, "/x").await.1, "A /x");

    // ModifyRule changes live routing.
    api.ok(&format!("Action=ModifyRule&RuleArn={}&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2Fx", enc(&rule)))
        .await;
    assert_eq!(get(&addr, "/x").await.1, "B /x");
    assert_eq!(get(&addr, "/bee").await.1, "A /bee");
    api.ok(&format!("Action=ModifyRule&RuleArn={}&Actions.member.1.Type=fixed-response&Actions.member.1.FixedResponseConfig.StatusCode=418&Actions.member.1.FixedResponseConfig.MessageBody=teapot", enc(&rule)))
        .await;
    assert_eq!(get(&addr, "/x").await, (418, "teapot".into()));

    let b = api
        .ok(&format!(
            "Action=DescribeRules&ListenerArn={}",
            enc(&listener)
        ))
        .await;
    assert!(b.contains("<Priority>10</Priority>"), "{b}");
    assert!(b.contains("<Priority>default</Priority>"), "{b}");
    assert!(b.contains("<IsDefault>true</IsDefault>"), "{b}");
    assert!(
        b.contains("<PathPatternConfig><Values><member>/x</member></Values></PathPatternConfig>"),
        "{b}"
    );

    // A second rule, then swap priorities.
    let b = api
        .ok(&format!("Action=CreateRule&ListenerArn={}&Priority=20&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2Fx&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={}", enc(&listener), enc(&tg_b)))
        .await;
    let rule2 = between(&b, "RuleArn").to_string();
    api.err(&format!("Action=CreateRule&ListenerArn={}&Priority=20&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2Fy&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={}", enc(&listener), enc(&tg_b)), "PriorityInUse").await;
    api.ok(&format!("Action=SetRulePriorities&RulePriorities.member.1.RuleArn={}&RulePriorities.member.1.Priority=30&RulePriorities.member.2.RuleArn={}&RulePriorities.member.2.Priority=5", enc(&rule), enc(&rule2)))
        .await;
    assert_eq!(get(&addr, "/x").await.1, "B /x");

    // ModifyListener: the default action, live; then a new port keeps the
    // rules and leaves the old socket.
    assert_eq!(get(&addr, "/elsewhere").await.1, "A /elsewhere");
    let b = api
        .ok(&format!("Action=ModifyListener&ListenerArn={}&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={}", enc(&listener), enc(&tg_b)))
        .await;
    assert!(b.contains("<Port>8123</Port>"), "{b}");
    assert_eq!(get(&addr, "/elsewhere").await.1, "B /elsewhere");
    api.ok(&format!("Action=ModifyListener&ListenerArn={}&Port=8124&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={}", enc(&listener), enc(&tg_a)))
        .await;
    let moved = listener_addr(&api, &listener).await;
    assert_ne!(moved, addr);
    assert!(
        reqwest::get(format!("http://{addr}/x")).await.is_err(),
        "old socket closed"
    );
    assert_eq!(get(&moved, "/x").await.1, "B /x");
    assert_eq!(get(&moved, "/elsewhere").await.1, "A /elsewhere");
    let b = api
        .ok(&format!(
            "Action=DescribeListeners&ListenerArns.member.1={}",
            enc(&listener)
        ))
        .await;
    assert!(b.contains("<Port>8124</Port>"), "{b}");
    api.err(
        &format!(
            "Action=ModifyListener&ListenerArn={}&Protocol=HTTPS",
            enc(&listener)
        ),
        "ValidationError",
    )
    .await;

    // The metrics count what went through, per load balancer and group.
    let metrics = reqwest::get(format!("{}/metrics", api.ep))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        common::metric_max(&metrics, "aws_applicationelb_requests_total").unwrap_or(0.0) >= 8.0,
        "{metrics}"
    );
    assert!(
        common::metric_max(&metrics, "aws_applicationelb_healthy_hosts").unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );

    // Target group attributes and health check changes.
    let b = api.ok(&format!("Action=ModifyTargetGroupAttributes&TargetGroupArn={}&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=1&Attributes.member.2.Key=load_balancing.algorithm.type&Attributes.member.2.Value=least_outstanding_requests", enc(&tg_a))).await;
    assert!(
        b.contains("<Key>deregistration_delay.timeout_seconds</Key><Value>1</Value>"),
        "{b}"
    );
    let b = api
        .ok(&format!(
            "Action=DescribeTargetGroupAttributes&TargetGroupArn={}",
            enc(&tg_a)
        ))
        .await;
    assert!(
        b.contains("<Value>least_outstanding_requests</Value>"),
        "{b}"
    );
    let b = api
        .ok(&format!(
            "Action=ModifyTargetGroup&TargetGroupArn={}&HealthCheckPath=%2Fother",
            enc(&tg_a)
        ))
        .await;
    assert_eq!(between(&b, "HealthCheckPath"), "/other");
    let b = api
        .ok(&format!(
            "Action=DescribeTargetGroups&LoadBalancerArn={}",
            enc(&lb)
        ))
        .await;
    assert!(b.contains("tg-a") && b.contains("tg-b"), "{b}");
    let b = api
        .ok("Action=DescribeTargetGroups&Names.member.1=tg-b")
        .await;
    assert!(
        b.contains(&format!(
            "<LoadBalancerArns><member>{lb}</member></LoadBalancerArns>"
        )),
        "{b}"
    );
    let b = api
        .ok("Action=DescribeLoadBalancers&Names.member.1=web")
        .await;
    assert_eq!(between(&b, "LoadBalancerName"), "web");
    let b = api
        .ok(&format!(
            "Action=DescribeListeners&LoadBalancerArn={}",
            enc(&lb)
        ))
        .await;
    assert_eq!(between(&b, "Port"), "8124");

    // Restart on the same data directory: everything comes back.
    api.stop().await;
    let api = start(dir.path()).await;
    let addr = listener_addr(&api, &listener).await;
    wait_healthy(&api, &tg_b).await;
    assert_eq!(get(&addr, "/x").await.1, "B /x");
    let b = api
        .ok(&format!(
            "Action=DescribeTargetHealth&TargetGroupArn={}",
            enc(&tg_a)
        ))
        .await;
    assert!(
        b.contains(&format!(
            "<Target><Id>127.0.0.1</Id><Port>{pa}</Port></Target>"
        )),
        "{b}"
    );

    // Deletions.
    api.err(
        &format!("Action=DeleteTargetGroup&TargetGroupArn={}", enc(&tg_b)),
        "ResourceInUse",
    )
    .await;
    api.ok(&format!("Action=DeregisterTargets&TargetGroupArn={}&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port={pb}", enc(&tg_b))).await;
    let b = api
        .ok(&format!(
            "Action=DescribeTargetHealth&TargetGroupArn={}",
            enc(&tg_b)
        ))
        .await;
    assert!(
        b.contains("<State>draining</State>") || !b.contains("<member>"),
        "{b}"
    );
    api.ok(&format!("Action=DeleteRule&RuleArn={}", enc(&rule)))
        .await;
    api.ok(&format!("Action=DeleteRule&RuleArn={}", enc(&rule2)))
        .await;
    api.ok(&format!(
        "Action=DeleteTargetGroup&TargetGroupArn={}",
        enc(&tg_b)
    ))
    .await;
    api.ok(&format!(
        "Action=DeleteListener&ListenerArn={}",
        enc(&listener)
    ))
    .await;
    assert!(
        reqwest::get(format!("http://{addr}/")).await.is_err(),
        "listener unbound"
    );
    api.ok(&format!(
        "Action=DeleteLoadBalancer&LoadBalancerArn={}",
        enc(&lb)
    ))
    .await;
    let b = api.ok("Action=DescribeLoadBalancers").await;
    assert!(!b.contains("<member>"), "{b}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_get_aws_xml_errors_and_the_emulator_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let api = start(dir.path()).await;
    let b = api.ok("Action=CreateTargetGroup&Name=t&Port=80&HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2").await;
    let tg = enc(between(&b, "TargetGroupArn"));
    let b = api.ok("Action=CreateLoadBalancer&Name=lb").await;
    let lb = enc(between(&b, "LoadBalancerArn"));
    let b = api.ok(&format!("Action=CreateListener&LoadBalancerArn={lb}&Port=81&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={tg}")).await;
    let listener = enc(between(&b, "ListenerArn"));
    let default_rule = {
        let b = api
            .ok(&format!("Action=DescribeRules&ListenerArn={listener}"))
            .await;
        enc(between(&b, "RuleArn"))
    };
    let missing_tg = enc("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1");
    let cases: Vec<(String, &str)> = vec![
        ("Action=CreateTargetGroup&Port=80".into(), "ValidationError"),
        ("Action=CreateTargetGroup&Name=bad_name&Port=80".into(), "ValidationError"),
        // The same name with other settings (the same ones again are the
        // same group: elb_parity.rs).
        ("Action=CreateTargetGroup&Name=t&Port=81&HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2".into(), "DuplicateTargetGroupName"),
        ("Action=CreateTargetGroup&Name=u&Port=80&HealthCheckIntervalSeconds=4".into(), "ValidationError"),
        ("Action=CreateTargetGroup&Name=u&Port=80&Matcher.HttpCode=99".into(), "ValidationError"),
        ("Action=CreateTargetGroup&Name=u&Port=eighty".into(), "ValidationError"),
        ("Action=CreateLoadBalancer&Name=lb&Scheme=internal".into(), "DuplicateLoadBalancerName"),
        (format!("Action=DescribeTargetHealth&TargetGroupArn={missing_tg}"), "TargetGroupNotFound"),
        ("Action=DescribeLoadBalancers&Names.member.1=nope".into(), "LoadBalancerNotFound"),
        ("Action=DescribeListeners&ListenerArns.member.1=nope".into(), "ListenerNotFound"),
        ("Action=DeleteRule&RuleArn=nope".into(), "RuleNotFound"),
        (format!("Action=CreateListener&LoadBalancerArn={lb}&Port=81&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={tg}"), "DuplicateListener"),
        (format!("Action=CreateListener&LoadBalancerArn={lb}&Port=82&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={missing_tg}"), "TargetGroupNotFound"),
        (format!("Action=RegisterTargets&TargetGroupArn={tg}&Targets.member.1.Id=i-nothere"), "InvalidTarget"),
        (format!("Action=DeregisterTargets&TargetGroupArn={tg}&Targets.member.1.Id=i-nothere"), "InvalidTarget"),
        (format!("Action=DeleteTargetGroup&TargetGroupArn={tg}"), "ResourceInUse"),
        (format!("Action=ModifyTargetGroupAttributes&TargetGroupArn={tg}&Attributes.member.1.Key=nope&Attributes.member.1.Value=1"), "ValidationError"),
        (format!("Action=ModifyTargetGroupAttributes&TargetGroupArn={tg}&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=4000"), "ValidationError"),
        (format!("Action=CreateRule&ListenerArn={listener}&Priority=0&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2F&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}"), "ValidationError"),
        (format!("Action=CreateRule&ListenerArn={listener}&Priority=1&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}"), "ValidationError"),
        (format!("Action=CreateRule&ListenerArn={listener}&Priority=1&Conditions.member.1.Field=bogus&Conditions.member.1.Values.member.1=x&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}"), "ValidationError"),
        (format!("Action=DeleteRule&RuleArn={default_rule}"), "OperationNotPermitted"),
        // A control character in a path pattern (it would make every
        // later DescribeRules answer invalid XML).
        (format!("Action=CreateRule&ListenerArn={listener}&Priority=2&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2Fa%01b&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}"), "ValidationError"),
        (format!("Action=CreateRule&ListenerArn={listener}&Priority=2&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=%2Fa%20b&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}"), "ValidationError"),
        ("Action=CreateTargetGroup&Name=v&Port=80&Version=2010-01-01".into(), "ValidationError"),
        ("Action=NoSuchThing".into(), "InvalidAction"),
        ("Version=2015-12-01".into(), "ValidationError"),
    ];
    for (form, code) in &cases {
        api.err(form, code).await;
    }
    // A malformed body (bad percent-encoding) is still an XML error.
    let resp = reqwest::Client::new()
        .post(format!("{}/", api.ep))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", common::AUTH)
        .body("Action=%ZZ&&=")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    assert!(resp.text().await.unwrap().contains("<ErrorResponse"));
    // Still serving, and JSON ECS requests still go to ECS.
    api.ok("Action=DescribeTargetGroups").await;
    let ecs = reqwest::Client::new()
        .post(format!("{}/", api.ep))
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", common::AUTH)
        .header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(ecs.status().as_u16(), 200);
    api.stop().await;
}
