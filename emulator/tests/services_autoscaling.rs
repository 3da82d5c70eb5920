//! Application Auto Scaling on real Docker: target tracking on request
//! counts and on real container CPU, through the API and the real AWS CLI.

mod common;

use std::time::{Duration, Instant};

use common::stack::*;
use common::{aws_cli, docker_or_skip, have_aws_cli};
use serde_json::{json, Value};

async fn autoscaling(s: &Stack, op: &str, body: Value) -> Value {
    let (status, v) = common::raw_call(
        &s.emu.endpoint,
        Some(&format!("AnyScaleFrontendService.{op}")),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{op}: {v}");
    v
}

/// Registers the node service as a scalable target (1..=`max`) with one
/// target-tracking policy on `metric` (cooldowns out/in in seconds);
/// returns the resource id.
async fn track(
    s: &Stack,
    policy: &str,
    max: u32,
    metric: &str,
    target: f64,
    (out_cd, in_cd): (u32, u32),
) -> String {
    let rid = format!("service/{CLUSTER}/{NODE}");
    autoscaling(
        s,
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": max}),
    )
    .await;
    autoscaling(
        s,
        "PutScalingPolicy",
        json!({"PolicyName": policy, "ServiceNamespace": "ecs", "ResourceId": rid,
               "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
               "TargetTrackingScalingPolicyConfiguration": {"TargetValue": target,
                 "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                 "ScaleOutCooldown": out_cd, "ScaleInCooldown": in_cd}}),
    )
    .await;
    rid
}

#[tokio::test(flavor = "multi_thread")]
async fn target_tracking_scales_out_under_load_and_back_in() {
    if !docker_or_skip("target_tracking_scales_out_under_load_and_back_in") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    let rid = track(&s, "requests", 3, "ALBRequestCountPerTarget", 600.0, (1, 3)).await;
    // Hundreds of requests a second: far above 600 a minute per target.
    let load = Load::start(format!("{}/ping", s.listener), 4, "pong");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = s.service(NODE).await;
        let d = v["desiredCount"].as_u64().unwrap();
        assert!(d <= 3, "desired count above the maximum: {d}");
        if d == 3 && v["runningCount"] == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not scale out: {:#}",
            brief(&v)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    // No load: back to the minimum.
    s.wait(NODE, "scale in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
    let acts = autoscaling(
        &s,
        "DescribeScalingActivities",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid}),
    )
    .await;
    let descs: Vec<&str> = acts["ScalingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Description"].as_str().unwrap())
        .collect();
    assert!(descs.contains(&"Setting desired count to 1."), "{descs:?}");
    assert!(
        descs.contains(&"Setting desired count to 3.")
            || descs.contains(&"Setting desired count to 2."),
        "no scale-out activity: {descs:?}"
    );
    let pol = autoscaling(
        &s,
        "DescribeScalingPolicies",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid}),
    )
    .await;
    assert_eq!(pol["ScalingPolicies"][0]["PolicyName"], "requests");
}

fn aws(s: &Stack, args: &[&str]) -> Value {
    aws_cli(&s.emu.endpoint, args)
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_drives_services_and_cpu_target_tracking() {
    if !docker_or_skip("aws_cli_drives_services_and_cpu_target_tracking") {
        return;
    }
    if !have_aws_cli("aws_cli_drives_services_and_cpu_target_tracking") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;
    let lb = format!("targetGroupArn={tg},containerName=node-john,containerPort=3000");
    let v = aws(&s, &["ecs", "create-service", "--cluster", CLUSTER, "--service-name", "cli-svc",
        "--task-definition", NODE_TD, "--desired-count", "1", "--load-balancers", &lb,
        "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}"]);
    assert_eq!(v["service"]["serviceName"], "cli-svc");
    assert_eq!(
        v["service"]["deployments"][0]["rolloutState"],
        "IN_PROGRESS"
    );
    s.steady("cli-svc", 1).await;
    let v = aws(
        &s,
        &[
            "ecs",
            "update-service",
            "--cluster",
            CLUSTER,
            "--service",
            "cli-svc",
            "--desired-count",
            "2",
        ],
    );
    assert_eq!(v["service"]["desiredCount"], 2);
    s.steady("cli-svc", 2).await;
    let v = aws(
        &s,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            CLUSTER,
            "--services",
            "cli-svc",
        ],
    );
    assert_eq!(v["services"][0]["runningCount"], 2);
    assert_eq!(
        v["services"][0]["loadBalancers"][0]["containerName"],
        "node-john"
    );

    // CPU target tracking: idle tasks are far under 50%, so it scales in.
    let rid = format!("service/{CLUSTER}/cli-svc");
    aws(
        &s,
        &[
            "application-autoscaling",
            "register-scalable-target",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
            "--scalable-dimension",
            "ecs:service:DesiredCount",
            "--min-capacity",
            "1",
            "--max-capacity",
            "3",
        ],
    );
    let cfg = r#"{"TargetValue": 50.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 1, "ScaleInCooldown": 1}"#;
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "put-scaling-policy",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
            "--scalable-dimension",
            "ecs:service:DesiredCount",
            "--policy-name",
            "cpu50",
            "--policy-type",
            "TargetTrackingScaling",
            "--target-tracking-scaling-policy-configuration",
            cfg,
        ],
    );
    assert!(v["PolicyARN"]
        .as_str()
        .unwrap()
        .contains("policyName/cpu50"));
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "describe-scaling-policies",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
        ],
    );
    assert_eq!(v["ScalingPolicies"][0]["PolicyName"], "cpu50");
    assert_eq!(
        v["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        50.0
    );
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "describe-scalable-targets",
            "--service-namespace",
            "ecs",
        ],
    );
    assert_eq!(v["ScalableTargets"][0]["MaxCapacity"], 3);
    s.wait("cli-svc", "CPU scale-in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
    aws(
        &s,
        &[
            "ecs",
            "delete-service",
            "--cluster",
            CLUSTER,
            "--service",
            "cli-svc",
            "--force",
        ],
    );
    s.wait("cli-svc", "INACTIVE", |v| v["status"] == "INACTIVE")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cpu_target_tracking_scales_out_on_real_container_stats() {
    if !docker_or_skip("cpu_target_tracking_scales_out_on_real_container_stats") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    // A busy node-john uses well over 2% of a vCPU.
    track(&s, "cpu", 2, "ECSServiceAverageCPUUtilization", 2.0, (1, 2)).await;
    let load = Load::start(format!("{}/start", s.listener), 4, common::START_BODY);
    s.wait(NODE, "CPU scale-out to 2", |v| {
        v["desiredCount"] == 2 && v["runningCount"] == 2
    })
    .await;
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    s.wait(NODE, "CPU scale-in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
}
