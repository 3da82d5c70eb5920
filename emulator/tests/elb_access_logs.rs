//! ALB access logs end to end, in process (fake container runtime, real
//! listener and backend sockets): enabled with ModifyLoadBalancerAttributes
//! as on AWS (and refused as AWS refuses), written by the balancer under the
//! data directory in AWS's S3 key layout, read back with CloudWatch Logs
//! (DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents)
//! and with `emulator logs --load-balancer`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::stack::{between, elb_query, enc};
use common::{Api, BIN};
use serde_json::json;

async fn elb_ok(ep: &str, form: &str) -> String {
    let (s, body) = elb_query(ep, form).await;
    assert_eq!(s, 200, "{form}: {body}");
    body
}

/// A call AWS refuses with `code`; the message.
async fn elb_err(ep: &str, form: &str, code: &str) -> String {
    let (s, body) = elb_query(ep, form).await;
    assert_eq!(s, 400, "{form}: {body}");
    assert!(
        body.contains(&format!("<Code>{code}</Code>")),
        "{form}: {body}"
    );
    between(&body, "Message").replace("&apos;", "'")
}

/// `emulator logs --load-balancer web`, run as a user would.
async fn cli_logs(ep: &str) -> std::process::Output {
    let ep = ep.to_string();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["--endpoint", &ep, "logs", "--load-balancer", "web"])
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn attrs(arn: &str, pairs: &[(&str, &str)]) -> String {
    let mut f = format!(
        "Action=ModifyLoadBalancerAttributes&LoadBalancerArn={}",
        enc(arn)
    );
    for (i, (k, v)) in pairs.iter().enumerate() {
        let n = i + 1;
        f.push_str(&format!(
            "&Attributes.member.{n}.Key={k}&Attributes.member.{n}.Value={}",
            enc(v)
        ));
    }
    f
}

async fn backend() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(|uri: axum::http::Uri| async move { format!("hi {}", uri.path()) });
    tokio::spawn(async move { axum::serve(l, app).await });
    port
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every `.log` file below `dir`.
fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "log") {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn access_logs_are_written_and_read_through_cloudwatch_logs_and_the_cli() {
    let (running, ep, dir) = common::in_process(common::free_listeners).await;
    let port = backend().await;
    let tg = elb_ok(
        &ep,
        "Action=CreateTargetGroup&Name=web-tg&Protocol=HTTP&Port=80&TargetType=ip&VpcId=vpc-1\
         &HealthCheckIntervalSeconds=5&HealthCheckTimeoutSeconds=2&HealthyThresholdCount=2",
    )
    .await;
    let tg = between(&tg, "TargetGroupArn").to_string();
    elb_ok(
        &ep,
        &format!(
            "Action=RegisterTargets&TargetGroupArn={}&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port={port}",
            enc(&tg)
        ),
    )
    .await;
    let lb = elb_ok(
        &ep,
        "Action=CreateLoadBalancer&Name=web&Subnets.member.1=subnet-a&Subnets.member.2=subnet-b",
    )
    .await;
    let lb = between(&lb, "LoadBalancerArn").to_string();
    let l = elb_ok(
        &ep,
        &format!(
            "Action=CreateListener&LoadBalancerArn={}&Protocol=HTTP&Port=80\
             &DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={}",
            enc(&lb),
            enc(&tg)
        ),
    )
    .await;
    let listener_arn = between(&l, "ListenerArn").to_string();
    let addr = running.listener_addrs()[&listener_arn];

    // As AWS refuses them.
    let m = elb_err(
        &ep,
        &attrs(&lb, &[("access_logs.s3.enabled", "true")]),
        "ValidationError",
    )
    .await;
    assert_eq!(m, "The value of 'access_logs.s3.bucket' cannot be empty");
    elb_err(
        &ep,
        &attrs(
            &lb,
            &[
                ("access_logs.s3.enabled", "true"),
                ("access_logs.s3.bucket", "Not_A_Bucket"),
            ],
        ),
        "InvalidConfigurationRequest",
    )
    .await;
    elb_err(
        &ep,
        &attrs(
            &lb,
            &[
                ("access_logs.s3.enabled", "true"),
                ("access_logs.s3.bucket", "logs"),
                ("access_logs.s3.prefix", "../up"),
            ],
        ),
        "ValidationError",
    )
    .await;
    elb_err(
        &ep,
        &attrs(&lb, &[("access_logs.s3.enabled", "yes")]),
        "ValidationError",
    )
    .await;

    // Nothing is written while off.
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("http://{addr}{path}"))
                .header("user-agent", "access-log-test")
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    eventually("the target serves", async || {
        (get("/before").await.0 == 200).then_some(())
    })
    .await;
    let root = dir.path().join("access-logs");
    assert!(log_files(&root).is_empty());

    let on = elb_ok(
        &ep,
        &attrs(
            &lb,
            &[
                ("access_logs.s3.enabled", "true"),
                ("access_logs.s3.bucket", "my-logs"),
                ("access_logs.s3.prefix", "team/web"),
            ],
        ),
    )
    .await;
    assert!(
        on.contains("<Key>access_logs.s3.bucket</Key><Value>my-logs</Value>"),
        "{on}"
    );
    let described = elb_ok(
        &ep,
        &format!(
            "Action=DescribeLoadBalancerAttributes&LoadBalancerArn={}",
            enc(&lb)
        ),
    )
    .await;
    assert!(
        described.contains("<Key>access_logs.s3.enabled</Key><Value>true</Value>"),
        "{described}"
    );

    for path in ["/one", "/two", "/three"] {
        assert_eq!(get(path).await, (200, format!("hi {path}")));
    }

    // The files, where AWS's S3 keys would put them.
    let dir_of_region =
        root.join("my-logs/team/web/AWSLogs/000000000000/elasticloadbalancing/us-east-1");
    let lb_id = lb.rsplit('/').next().unwrap().to_string();
    let files = eventually("a log file with three lines", async || {
        let files = log_files(&dir_of_region);
        let lines: usize = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
            .sum();
        (lines == 3).then_some(files)
    })
    .await;
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!(
            "000000000000_elasticloadbalancing_us-east-1_app.web.{lb_id}_"
        )),
        "{name}"
    );
    let rel = files[0].strip_prefix(&dir_of_region).unwrap();
    assert_eq!(rel.components().count(), 4, "YYYY/MM/DD/file: {rel:?}");

    // CloudWatch Logs.
    let logs = Api::new(&ep, "Logs_20140328");
    let group = "/aws/elasticloadbalancing/app/web/access-logs";
    let groups = logs
        .ok(
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": "/aws/elasticloadbalancing/"}),
        )
        .await;
    assert_eq!(groups["logGroups"][0]["logGroupName"], group, "{groups}");
    let streams = logs
        .ok("DescribeLogStreams", json!({"logGroupName": group}))
        .await;
    assert_eq!(
        streams["logStreams"][0]["logStreamName"],
        name.as_str(),
        "{streams}"
    );
    assert!(
        streams["logStreams"][0]["lastEventTimestamp"]
            .as_i64()
            .is_some(),
        "{streams}"
    );
    let got = logs
        .ok(
            "GetLogEvents",
            json!({"logGroupName": group, "logStreamName": name, "startFromHead": true}),
        )
        .await;
    let messages: Vec<&str> = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{got}");
    let first = messages[0];
    assert!(first.starts_with("http 20"), "{first}");
    assert!(
        first.contains(&format!(" app/web/{lb_id} 127.0.0.1:")),
        "{first}"
    );
    assert!(
        first.contains(&format!(" 127.0.0.1:{port} 0.000 ")),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "\"GET http://127.0.0.1:{}/one HTTP/1.1\" \"access-log-test\" - - {tg} \"Root=1-",
            addr.port()
        )),
        "{first}"
    );
    assert!(first.contains(" 200 200 "), "{first}");
    assert!(first.contains(" \"forward\" \"-\" \"-\" "), "{first}");
    let filtered = logs
        .ok(
            "FilterLogEvents",
            json!({"logGroupName": group, "filterPattern": "\"/two\""}),
        )
        .await;
    let found = filtered["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{filtered}");
    assert_eq!(found[0]["logStreamName"], name.as_str());
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("GET http://"),
        "{filtered}"
    );

    // `emulator logs --load-balancer`.
    let out = cli_logs(&ep).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in ["/one", "/two", "/three"] {
        assert!(stdout.contains(&format!("{path} HTTP/1.1\"")), "{stdout}");
    }
    assert!(stdout.lines().all(|l| l.starts_with(&name)), "{stdout}");

    // Off again: no more lines, and the group is gone; the CLI says why.
    elb_ok(&ep, &attrs(&lb, &[("access_logs.s3.enabled", "false")])).await;
    get("/after").await;
    let groups = logs
        .ok(
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": "/aws/elasticloadbalancing/"}),
        )
        .await;
    assert_eq!(groups["logGroups"], json!([]), "{groups}");
    let out = cli_logs(&ep).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("writes no access log"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: usize = log_files(&root)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    assert_eq!(lines, 3);
    running.stop(Duration::from_secs(5)).await;
}
