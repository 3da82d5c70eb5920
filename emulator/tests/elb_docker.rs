//! The load balancer in the emulator, on real Docker, driven through the
//! real AWS CLI as a user would: a node task's host port registered in a
//! target group answers `/start` through the listener, DescribeTargetHealth
//! shows it healthy, and a target group whose health path fails marks the
//! same target unhealthy with `Target.ResponseCodeMismatch`.

mod common;

use std::time::{Duration, Instant};

use common::{aws_cli, docker_or_skip, have_aws_cli, host_port, node_task_definition, Emulator};
use serde_json::{json, Value};

/// `aws --endpoint-url <emulator> elbv2 ...`, parsed as JSON.
fn aws(endpoint: &str, args: &[&str]) -> Value {
    let mut all = vec!["elbv2"];
    all.extend_from_slice(args);
    aws_cli(endpoint, &all)
}

/// Polls DescribeTargetHealth until the one target has `state`.
async fn wait_target_state(endpoint: &str, tg: &str, state: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let v = aws(
            endpoint,
            &["describe-target-health", "--target-group-arn", tg],
        );
        let t = v["TargetHealthDescriptions"][0].clone();
        if t["TargetHealth"]["State"] == state {
            return t;
        }
        assert!(
            started.elapsed() < within,
            "target did not become {state}: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_behind_the_listener_answers_and_health_follows_the_path() {
    let test = "a_task_behind_the_listener_answers_and_health_follows_the_path";
    if !docker_or_skip(test) || !have_aws_cli(test) {
        return;
    }
    let emu = Emulator::up(&["--no-stack", "--alb-addr", "127.0.0.1:0"]).await;
    let ep = emu.endpoint.clone();
    let cluster = "elb-docker";
    emu.cluster(cluster).await;
    // node-john logs each request (the services' opt-in `ACCESS_LOG`);
    // paul, george and ringo keep the default: no line per request.
    let mut td = node_task_definition("elb-node");
    for c in td["containerDefinitions"].as_array_mut().unwrap() {
        if c["name"] == "node-john" {
            c["environment"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "ACCESS_LOG", "value": "on"}));
        }
    }
    emu.ok("RegisterTaskDefinition", td).await;
    let run = emu
        .ok(
            "RunTask",
            json!({"cluster": cluster, "taskDefinition": "elb-node"}),
        )
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let task = emu
        .wait_task(cluster, &arn, "RUNNING", Duration::from_secs(300))
        .await;
    let port = host_port(&task, "node-john").to_string();
    let ci = emu
        .ok(
            "DescribeContainerInstances",
            json!({"cluster": cluster, "containerInstances": [task["containerInstanceArn"]]}),
        )
        .await;
    let instance = ci["containerInstances"][0]["ec2InstanceId"]
        .as_str()
        .unwrap()
        .to_string();

    let tg = |name: &str, path: &str| -> String {
        let v = aws(
            &ep,
            &[
                "create-target-group",
                "--name",
                name,
                "--protocol",
                "HTTP",
                "--port",
                "3000",
                "--vpc-id",
                "vpc-local",
                "--health-check-path",
                path,
                "--health-check-interval-seconds",
                "5",
                "--health-check-timeout-seconds",
                "2",
                "--healthy-threshold-count",
                "2",
                "--unhealthy-threshold-count",
                "2",
            ],
        );
        v["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let node_tg = tg("node-tg", "/ping");
    let broken_tg = tg("broken-tg", "/no-such-health-path");
    let lb = aws(
        &ep,
        &[
            "create-load-balancer",
            "--name",
            "elb-docker",
            "--subnets",
            "subnet-a",
            "subnet-b",
        ],
    );
    let lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let listener = aws(
        &ep,
        &[
            "create-listener",
            "--load-balancer-arn",
            &lb_arn,
            "--protocol",
            "HTTP",
            "--port",
            "80",
            "--default-actions",
            &format!("Type=forward,TargetGroupArn={node_tg}"),
        ],
    );
    let listener_arn = listener["Listeners"][0]["ListenerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let target = format!("Id={instance},Port={port}");
    aws(
        &ep,
        &[
            "register-targets",
            "--target-group-arn",
            &node_tg,
            "--targets",
            &target,
        ],
    );
    aws(
        &ep,
        &[
            "register-targets",
            "--target-group-arn",
            &broken_tg,
            "--targets",
            &target,
        ],
    );

    // Healthy after the first passing check, as AWS documents.
    let healthy = wait_target_state(&ep, &node_tg, "healthy", Duration::from_secs(20)).await;
    assert_eq!(healthy["Target"]["Id"], instance.as_str());
    assert_eq!(
        healthy["Target"]["Port"].as_u64(),
        Some(port.parse().unwrap())
    );

    let addrs: Value = reqwest::get(format!("{ep}/_emulator/listeners"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let addr = addrs[&listener_arn]
        .as_str()
        .expect("listener bound")
        .to_string();
    let get = |path: &'static str| {
        let url = format!("http://{addr}{path}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/start").await, (200, common::START_BODY.to_string()));
    assert_eq!(get("/ping").await, (200, "pong".to_string()));

    // The request is in node-john's log (and in no other container's):
    // through `emulator logs` and through CloudWatch Logs (the stack's
    // awslogs group, ECS stream name).
    let task_id = arn.rsplit('/').next().unwrap().to_string();
    let stream = format!("ecs/node-john/{task_id}");
    let started = Instant::now();
    loop {
        let out = std::process::Command::new(common::BIN)
            .args(["--endpoint", &ep, "logs", &task_id])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let found = text.lines().any(|l| {
            l.starts_with(&format!("node-john/{task_id}")) && l.contains(r#"path="/start""#)
        });
        let events = aws_cli(
            &ep,
            &[
                "logs",
                "filter-log-events",
                "--log-group-name",
                "microservice-ping-pong-node",
                "--log-stream-names",
                &stream,
                "--filter-pattern",
                "\"/start\"",
            ],
        );
        let shipped = events["events"].as_array().is_some_and(|e| !e.is_empty());
        if found && shipped {
            let others = text
                .lines()
                .filter(|l| !l.starts_with("node-john/") && l.contains("path="))
                .collect::<Vec<_>>();
            assert!(
                others.is_empty(),
                "request lines without ACCESS_LOG: {others:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no /start line: emulator logs:\n{text}\nfilter-log-events: {events}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A rule added through the CLI changes live routing; deleting it undoes it.
    let rule = aws(
        &ep,
        &[
            "create-rule", "--listener-arn", &listener_arn, "--priority", "10",
            "--conditions", "Field=path-pattern,Values=/ping",
            "--actions",
            "Type=fixed-response,FixedResponseConfig={StatusCode=418,ContentType=text/plain,MessageBody=teapot}",
        ],
    );
    let rule_arn = rule["Rules"][0]["RuleArn"].as_str().unwrap().to_string();
    assert_eq!(get("/ping").await, (418, "teapot".to_string()));
    assert_eq!(get("/start").await, (200, common::START_BODY.to_string()));
    aws(&ep, &["delete-rule", "--rule-arn", &rule_arn]);
    assert_eq!(get("/ping").await, (200, "pong".to_string()));

    // The same container behind a group whose health path answers 404:
    // unused while no rule forwards to it, then checked and unhealthy.
    let unused = wait_target_state(&ep, &broken_tg, "unused", Duration::from_secs(5)).await;
    assert_eq!(unused["TargetHealth"]["Reason"], "Target.NotInUse");
    aws(
        &ep,
        &[
            "create-rule",
            "--listener-arn",
            &listener_arn,
            "--priority",
            "20",
            "--conditions",
            "Field=path-pattern,Values=/broken/*",
            "--actions",
            &format!("Type=forward,TargetGroupArn={broken_tg}"),
        ],
    );
    let bad = wait_target_state(&ep, &broken_tg, "unhealthy", Duration::from_secs(30)).await;
    assert_eq!(bad["TargetHealth"]["Reason"], "Target.ResponseCodeMismatch");
    let description = bad["TargetHealth"]["Description"]
        .as_str()
        .unwrap_or_default();
    assert!(description.contains("404"), "{description}");

    // The metrics endpoint counts what went through.
    let metrics = reqwest::get(format!("{ep}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let requests = common::metric_max(&metrics, "aws_applicationelb_requests_total").unwrap_or(0.0);
    let ok =
        common::metric_max(&metrics, "aws_applicationelb_httpcode_target_2xx_total").unwrap_or(0.0);
    // At least the /start and /ping requests above went through.
    assert!(requests >= 4.0 && ok >= 4.0, "{metrics}");
}
