//! Capacity providers as ECS has them: created, updated, associated with
//! clusters (PutClusterCapacityProviders, CreateCluster), in the way of
//! their own deletion while associated, named in RunTask strategies, paged
//! by DescribeCapacityProviders, tagged. In memory, on the fake runtime;
//! every answer checked against botocore's output shape.

mod common;
mod ecs_support;

use std::time::Duration;

use ecs_support::{ok, start};
use serde_json::{json, Value};

fn asg(name: &str) -> Value {
    json!({"autoScalingGroupArn": format!(
        "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/{name}"
    )})
}

fn names(v: &Value) -> Vec<String> {
    v["capacityProviders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_provider_in_use_by_a_cluster_cannot_be_deleted_until_detached() {
    let (running, api, _fake, _dir) = start().await;
    let cp = ok(
        &api,
        "CreateCapacityProvider",
        json!({"name": "cp1", "autoScalingGroupProvider": asg("g1"),
               "tags": [{"key": "team", "value": "a"}]}),
    )
    .await;
    let p = &cp["capacityProvider"];
    assert_eq!(p["status"], "ACTIVE");
    assert_eq!(p["type"], "EC2_AUTOSCALING");
    assert_eq!(
        p["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"],
        100
    );
    let arn = p["capacityProviderArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(":capacity-provider/cp1"), "{arn}");

    // Same name again, same group again: refused.
    let msg = api
        .err(
            "CreateCapacityProvider",
            json!({"name": "cp1", "autoScalingGroupProvider": asg("other")}),
            "ClientException",
        )
        .await;
    assert!(msg.contains("already exists"), "{msg}");
    api.err(
        "CreateCapacityProvider",
        json!({"name": "cp2", "autoScalingGroupProvider": asg("g1")}),
        "ClientException",
    )
    .await;
    for bad in ["awsThing", "ecs-x", "FARGATE_X", "bad name", ""] {
        api.err(
            "CreateCapacityProvider",
            json!({"name": bad, "autoScalingGroupProvider": asg("g9")}),
            "InvalidParameterException",
        )
        .await;
    }

    // Tags through the common tag operations.
    let tags = api
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "a"}]));
    api.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "env", "value": "dev"}]}),
    )
    .await;
    let d = ok(
        &api,
        "DescribeCapacityProviders",
        json!({"capacityProviders": ["cp1"], "include": ["TAGS"]}),
    )
    .await;
    assert_eq!(
        d["capacityProviders"][0]["tags"].as_array().unwrap().len(),
        2
    );

    // Associated with a cluster, with a default strategy.
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let put = ok(
        &api,
        "PutClusterCapacityProviders",
        json!({"cluster": "c", "capacityProviders": ["cp1", "FARGATE"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "cp1", "weight": 1, "base": 1}]}),
    )
    .await;
    assert_eq!(
        put["cluster"]["capacityProviders"],
        json!(["cp1", "FARGATE"])
    );
    let dc = ok(&api, "DescribeClusters", json!({"clusters": ["c"]})).await;
    assert_eq!(
        dc["clusters"][0]["defaultCapacityProviderStrategy"],
        json!([{"capacityProvider": "cp1", "weight": 1, "base": 1}])
    );
    let msg = api
        .err(
            "DeleteCapacityProvider",
            json!({"capacityProvider": "cp1"}),
            "ClientException",
        )
        .await;
    assert!(msg.contains("in use by cluster 'c'"), "{msg}");

    // A strategy naming a provider the cluster does not have is refused.
    let msg = api
        .err(
            "PutClusterCapacityProviders",
            json!({"cluster": "c", "capacityProviders": ["cp1"],
                   "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("not associated with the cluster"), "{msg}");

    // Detached: it can go; it answers DELETE_IN_PROGRESS, then is INACTIVE
    // and no longer listed.
    ok(
        &api,
        "PutClusterCapacityProviders",
        json!({"cluster": "c", "capacityProviders": [], "defaultCapacityProviderStrategy": []}),
    )
    .await;
    let del = ok(
        &api,
        "DeleteCapacityProvider",
        json!({"capacityProvider": arn}),
    )
    .await;
    assert_eq!(
        del["capacityProvider"]["updateStatus"],
        "DELETE_IN_PROGRESS"
    );
    let d = ok(
        &api,
        "DescribeCapacityProviders",
        json!({"capacityProviders": ["cp1"]}),
    )
    .await;
    assert_eq!(d["capacityProviders"][0]["status"], "INACTIVE");
    assert_eq!(d["capacityProviders"][0]["updateStatus"], "DELETE_COMPLETE");
    let all = ok(&api, "DescribeCapacityProviders", json!({})).await;
    assert_eq!(names(&all), ["FARGATE", "FARGATE_SPOT"]);
    api.err(
        "DeleteCapacityProvider",
        json!({"capacityProvider": "cp1"}),
        "ClientException",
    )
    .await;
    api.err(
        "ListTagsForResource",
        json!({"resourceArn": arn}),
        // ListTagsForResource declares no ResourceNotFoundException.
        "InvalidParameterException",
    )
    .await;
    api.err(
        "DeleteCapacityProvider",
        json!({"capacityProvider": "FARGATE"}),
        "InvalidParameterException",
    )
    .await;
    // An INACTIVE name may be taken again.
    ok(
        &api,
        "CreateCapacityProvider",
        json!({"name": "cp1", "autoScalingGroupProvider": asg("g1")}),
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn update_changes_managed_scaling_and_unknown_providers_are_refused() {
    let (running, api, _fake, _dir) = start().await;
    ok(
        &api,
        "CreateCapacityProvider",
        json!({"name": "cp", "autoScalingGroupProvider": asg("g")}),
    )
    .await;
    let u = ok(
        &api,
        "UpdateCapacityProvider",
        json!({"name": "cp", "autoScalingGroupProvider": {
            "managedScaling": {"status": "ENABLED", "targetCapacity": 75},
            "managedTerminationProtection": "ENABLED"}}),
    )
    .await;
    let p = &u["capacityProvider"];
    assert_eq!(p["updateStatus"], "UPDATE_COMPLETE");
    assert_eq!(
        p["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"],
        75
    );
    assert_eq!(
        p["autoScalingGroupProvider"]["managedScaling"]["status"],
        "ENABLED"
    );
    // What was not named keeps its value.
    assert_eq!(
        p["autoScalingGroupProvider"]["managedScaling"]["instanceWarmupPeriod"],
        300
    );
    let d = ok(
        &api,
        "DescribeCapacityProviders",
        json!({"capacityProviders": ["cp", "nope"]}),
    )
    .await;
    assert_eq!(
        d["capacityProviders"][0]["autoScalingGroupProvider"]["managedTerminationProtection"],
        "ENABLED"
    );
    assert_eq!(d["failures"], json!([{"arn": "nope", "reason": "MISSING"}]));
    api.err(
        "UpdateCapacityProvider",
        json!({"name": "cp", "autoScalingGroupProvider": {"managedScaling": {"targetCapacity": 101}}}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "UpdateCapacityProvider",
        json!({"name": "nope", "autoScalingGroupProvider": {}}),
        "ClientException",
    )
    .await;
    api.err(
        "PutClusterCapacityProviders",
        json!({"cluster": "nope", "capacityProviders": [], "defaultCapacityProviderStrategy": []}),
        "ClusterNotFoundException",
    )
    .await;
    api.err(
        "CreateCapacityProvider",
        json!({"name": "mi", "managedInstancesProvider": {
            "infrastructureRoleArn": "arn:aws:iam::000000000000:role/r",
            "instanceLaunchTemplate": {"ec2InstanceProfileArn": "p", "networkConfiguration": {}}}}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn run_task_strategies_name_providers_of_the_cluster() {
    let (running, api, _fake, _dir) = start().await;
    ecs_support::cluster(
        &api,
        json!({}),
        json!([{"name": "a", "image": "i", "memory": 8}]),
    )
    .await;
    ok(
        &api,
        "CreateCapacityProvider",
        json!({"name": "cp", "autoScalingGroupProvider": asg("g")}),
    )
    .await;
    // Without a strategy, a cluster without providers runs as before.
    let plain = ok(
        &api,
        "RunTask",
        json!({"cluster": "c", "taskDefinition": "w"}),
    )
    .await;
    assert_eq!(plain["tasks"][0]["launchType"], "EC2");
    assert!(plain["tasks"][0].get("capacityProviderName").is_none());

    let strategy = json!([{"capacityProvider": "cp", "weight": 1}]);
    let msg = api
        .err(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "w", "capacityProviderStrategy": strategy}),
            "InvalidParameterException",
        )
        .await;
    assert_eq!(
        msg,
        "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
    );
    api.err(
        "RunTask",
        json!({"cluster": "c", "taskDefinition": "w",
               "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}),
        "InvalidParameterException",
    )
    .await;

    ok(
        &api,
        "PutClusterCapacityProviders",
        json!({"cluster": "c", "capacityProviders": ["cp"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}),
    )
    .await;
    let msg = api
        .err(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "w", "launchType": "EC2",
                   "capacityProviderStrategy": strategy}),
            "InvalidParameterException",
        )
        .await;
    assert!(
        msg.contains("both a launch type and capacity provider strategy"),
        "{msg}"
    );
    let run = ok(
        &api,
        "RunTask",
        json!({"cluster": "c", "taskDefinition": "w", "capacityProviderStrategy": strategy}),
    )
    .await;
    assert_eq!(run["tasks"][0]["capacityProviderName"], "cp");
    // The cluster's default strategy, when the call names none.
    let run = ok(
        &api,
        "RunTask",
        json!({"cluster": "c", "taskDefinition": "w"}),
    )
    .await;
    let task = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    assert_eq!(run["tasks"][0]["capacityProviderName"], "cp");
    let d = ok(
        &api,
        "DescribeTasks",
        json!({"cluster": "c", "tasks": [task.clone()]}),
    )
    .await;
    assert_eq!(d["tasks"][0]["capacityProviderName"], "cp");

    // The cluster's tasks use it: it cannot be removed from the cluster.
    let msg = api
        .err(
            "PutClusterCapacityProviders",
            json!({"cluster": "c", "capacityProviders": [], "defaultCapacityProviderStrategy": []}),
            "ResourceInUseException",
        )
        .await;
    assert!(msg.contains("in use"), "{msg}");

    // CreateCluster validates the same way.
    api.err(
        "CreateCluster",
        json!({"clusterName": "d", "capacityProviders": ["nope"]}),
        "InvalidParameterException",
    )
    .await;
    let c2 = ok(
        &api,
        "CreateCluster",
        json!({"clusterName": "d", "capacityProviders": ["FARGATE_SPOT"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 2}]}),
    )
    .await;
    assert_eq!(c2["cluster"]["capacityProviders"], json!(["FARGATE_SPOT"]));
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn describe_capacity_providers_pages_by_ten_at_most() {
    let (running, api, _fake, _dir) = start().await;
    for i in 0..12 {
        api.ok(
            "CreateCapacityProvider",
            json!({"name": format!("p{i:02}"), "autoScalingGroupProvider": asg(&format!("g{i}"))}),
        )
        .await;
    }
    let first = ok(&api, "DescribeCapacityProviders", json!({})).await;
    assert_eq!(first["capacityProviders"].as_array().unwrap().len(), 10);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"maxResults": 5});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = ok(&api, "DescribeCapacityProviders", body).await;
        seen.extend(names(&page));
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 14, "{seen:?}");
    assert_eq!(seen[..2], ["FARGATE", "FARGATE_SPOT"]);
    api.err(
        "DescribeCapacityProviders",
        json!({"maxResults": 11}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "DescribeCapacityProviders",
        json!({"nextToken": "garbage"}),
        "InvalidParameterException",
    )
    .await;
    // Per cluster: only the providers it has.
    api.ok(
        "CreateCluster",
        json!({"clusterName": "c", "capacityProviders": ["p03"]}),
    )
    .await;
    let d = ok(&api, "DescribeCapacityProviders", json!({"cluster": "c"})).await;
    assert_eq!(names(&d), ["p03"]);
    running.stop(Duration::from_secs(5)).await;
}
