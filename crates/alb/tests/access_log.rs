//! Access logs over real sockets: a line per request in AWS's format,
//! written by the balancer to files named like AWS's S3 keys; none when
//! off; switched on and off through the desired state.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alb::access_log::files;
use alb::{
    AccessLogConfig, Action, Alb, Condition, Desired, FixedResponseConfig, LoadBalancerAttributes,
    RedirectConfig, RedirectStatus, RuleConfig, Target, TargetGroupConfig,
};
use support::{client, eventually, get_with, Backend};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alb-access-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every line written below the test's directory `dir`.
fn lines(dir: &Path) -> Vec<String> {
    files(&config(dir).dir)
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The space-separated fields of a line, a quoted field as one.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn config(dir: &Path) -> AccessLogConfig {
    AccessLogConfig::new(
        dir.join("AWSLogs/000000000000/elasticloadbalancing/us-east-1"),
        "app/web/50dc6c495c0c9188",
        "000000000000_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188",
    )
}

#[tokio::test]
async fn every_request_gets_an_aws_formatted_line() {
    let dir = temp_dir("lines");
    let backend = Backend::start("b1").await;
    let alb = Alb::new();
    let tg = alb
        .create_target_group("arn:tg/web", TargetGroupConfig::new(80))
        .expect("tg");
    tg.register_targets_healthy(&[Target::with_host("b1", "127.0.0.1", backend.port())])
        .expect("register");
    let attrs = LoadBalancerAttributes {
        access_log: Some(config(&dir)),
        ..LoadBalancerAttributes::default()
    };
    let lb = alb.create_load_balancer("arn:lb/web", attrs).expect("lb");
    let l = lb
        .create_listener(
            "arn:listener/80",
            "127.0.0.1:0".parse().expect("addr"),
            Action::forward("arn:tg/web"),
        )
        .await
        .expect("listener");
    l.create_rule(
        "arn:rule/fixed",
        RuleConfig {
            priority: 5,
            conditions: vec![Condition::PathPattern(vec!["/fixed".into()])],
            action: Action::FixedResponse(FixedResponseConfig {
                status_code: 418,
                content_type: Some("text/plain".into()),
                message_body: Some("teapot".into()),
            }),
        },
    )
    .expect("rule");
    l.create_rule(
        "arn:rule/moved",
        RuleConfig {
            priority: 7,
            conditions: vec![Condition::PathPattern(vec!["/old".into()])],
            action: Action::Redirect(RedirectConfig {
                protocol: None,
                host: Some("example.com".into()),
                port: None,
                path: Some("/new".into()),
                query: None,
                status_code: RedirectStatus::Http301,
            }),
        },
    )
    .expect("rule");
    let addr = l.local_addr();
    let c = client();
    let (s, _) = get_with(
        &c,
        addr,
        "/hello?x=1",
        &[
            ("user-agent", "tester \"quoted\""),
            ("x-amzn-trace-id", "Root=1-aaa-bbb"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(get_with(&c, addr, "/fixed", &[]).await.0, 418);
    assert_eq!(get_with(&c, addr, "/old", &[]).await.0, 301);
    eventually(Duration::from_secs(5), "three lines", || {
        lines(&dir).len() == 3
    })
    .await;

    let all = lines(&dir);
    let f: Vec<Vec<String>> = all.iter().map(|l| fields(l)).collect();
    for (line, f) in all.iter().zip(&f) {
        assert_eq!(f.len(), 30, "{line}");
        assert_eq!(f[0], "http");
        assert_eq!(f[2], "app/web/50dc6c495c0c9188");
        assert!(f[3].starts_with("127.0.0.1:"), "{line}");
        assert!(f[29].starts_with("TID_"), "{line}");
        assert!(f[1].ends_with('Z') && f[1].len() == 27, "{line}");
    }
    let fwd = &f[0];
    assert_eq!(fwd[4], format!("127.0.0.1:{}", backend.port()));
    assert_eq!(fwd[5], "0.000");
    assert_ne!(fwd[6], "-1");
    assert_eq!((fwd[8].as_str(), fwd[9].as_str()), ("200", "200"));
    assert_eq!(
        fwd[12],
        format!("GET http://127.0.0.1:{}/hello?x=1 HTTP/1.1", addr.port())
    );
    assert_eq!(fwd[13], "tester \"quoted\"");
    assert!(all[0].contains(r#""tester \"quoted\"""#), "{}", all[0]);
    assert_eq!(fwd[16], "arn:tg/web");
    assert_eq!(fwd[17], "Root=1-aaa-bbb");
    assert_eq!(fwd[20], "0");
    assert_eq!(fwd[22], "forward");
    assert_eq!(fwd[25], fwd[4]);
    assert_eq!(fwd[26], "200");

    let fixed = &f[1];
    assert_eq!(
        (fixed[4].as_str(), fixed[6].as_str(), fixed[7].as_str()),
        ("-", "-1", "-1")
    );
    assert_eq!((fixed[8].as_str(), fixed[9].as_str()), ("418", "-"));
    assert_eq!((fixed[16].as_str(), fixed[20].as_str()), ("-", "5"));
    assert_eq!(fixed[22], "fixed-response");
    assert!(
        fixed[17].starts_with("Root=1-"),
        "the balancer made a trace id"
    );

    let moved = &f[2];
    assert_eq!((moved[8].as_str(), moved[20].as_str()), ("301", "7"));
    assert_eq!(moved[22], "redirect");
    assert!(moved[23].starts_with("http://example.com"), "{}", all[2]);

    // AWS's key layout: .../<region>/YYYY/MM/DD/<prefix>_<end>_<ip>_<random>.log
    let file = &files(&config(&dir).dir)[0];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("000000000000_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_"),
        "{name}"
    );
    assert!(
        name.contains("_127.0.0.1_") && name.ends_with(".log"),
        "{name}"
    );
    alb.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn switched_through_the_desired_state_and_silent_when_off() {
    let dir = temp_dir("desired");
    let backend = Backend::start("b1").await;
    let alb = Alb::new();
    let doc = |log: Option<AccessLogConfig>| -> Desired {
        let mut json = serde_json::json!({
            "target_groups": {"arn:tg/web": {"config": {"port": 80},
                "targets": [{"id": "b1", "host": "127.0.0.1", "port": backend.port(), "healthy": true}]}},
            "load_balancers": {"arn:lb/web": {"listeners": {"arn:listener/80": {
                "addr": "127.0.0.1:0",
                "default_action": {"forward": [{"target_group_arn": "arn:tg/web"}]}}}}}
        });
        if let Some(c) = log {
            json["load_balancers"]["arn:lb/web"]["attributes"] =
                serde_json::json!({"access_log": serde_json::to_value(c).expect("json")});
        }
        serde_json::from_value(json).expect("desired")
    };
    let report = alb.apply_desired(&doc(None)).await;
    assert!(report.is_ok(), "{report:?}");
    let addr = report.listeners["arn:listener/80"];
    let c = client();
    assert_eq!(get_with(&c, addr, "/off", &[]).await.0, 200);

    alb.apply_desired(&doc(Some(config(&dir)))).await;
    assert_eq!(
        alb.export().load_balancers["arn:lb/web"]
            .attributes
            .access_log,
        Some(config(&dir)),
        "exported for a balancer process"
    );
    assert_eq!(get_with(&c, addr, "/on", &[]).await.0, 200);
    eventually(Duration::from_secs(5), "one line", || {
        lines(&dir).len() == 1
    })
    .await;

    alb.apply_desired(&doc(None)).await;
    assert_eq!(get_with(&c, addr, "/off-again", &[]).await.0, 200);
    // The line for /on is there, and only it: off logs nothing.
    let all = lines(&dir);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("/on HTTP/1.1"), "{}", all[0]);
    alb.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_shadow_balancer_writes_nothing() {
    let dir = temp_dir("shadow");
    let alb = Alb::shadow();
    let attrs = LoadBalancerAttributes {
        access_log: Some(config(&dir)),
        ..LoadBalancerAttributes::default()
    };
    let lb = alb.create_load_balancer("arn:lb/web", attrs).expect("lb");
    assert_eq!(lb.attributes().access_log, Some(config(&dir)));
    assert!(!dir.exists());
}
