//! ECS service deployments over the scheduler's rolling deployments, as a
//! user sees them through the API: every CreateService/UpdateService that
//! starts a deployment is listed (IN_PROGRESS, then SUCCESSFUL) with its
//! source and target revisions, revisions describe what ran, and
//! StopServiceDeployment ROLLBACK brings the previous task definition's
//! tasks back. In memory (fake runtime): fast.
//!
//! A deployment is held IN_PROGRESS by capacity: `web:2` reserves 5000 MiB,
//! so a t2.large (8192 MiB) holds one such task beside the `web:1` ones.

mod common;
mod scheduler_api;

use std::time::{Duration, Instant};

use common::Api;
use scheduler_api::{running_definitions, start};
use serde_json::{json, Value};

/// Cluster `c` with one t2.large, `web:1` (100 MiB) and `web:2` (5000
/// MiB), and service `web` running 2 tasks of `web:1`, its first
/// deployment SUCCESSFUL (returned). The circuit breaker is on; it rolls
/// back when `rollback`.
async fn service(api: &Api, rollback: bool) -> Value {
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.large"}),
    )
    .await;
    for (image, mem) in [("img:1", 100), ("img:2", 5000)] {
        api.ok(
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": image,
                   "memoryReservation": mem, "portMappings": [{"containerPort": 3000}]}]}),
        )
        .await;
    }
    api.ok(
        "CreateService",
        json!({"cluster": "c", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2,
               "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": rollback}}}),
    )
    .await;
    let list = until(api, "the first deployment succeeds", |api| async move {
        let l = list(&api, json!({})).await;
        (l.len() == 1 && l[0]["status"] == "SUCCESSFUL").then_some(l)
    })
    .await;
    list[0].clone()
}

async fn list(api: &Api, filter: Value) -> Vec<Value> {
    let mut body = json!({"cluster": "c", "service": "web"});
    for (k, v) in filter.as_object().unwrap() {
        body[k] = v.clone();
    }
    api.ok("ListServiceDeployments", body).await["serviceDeployments"]
        .as_array()
        .unwrap()
        .clone()
}

async fn describe(api: &Api, arn: &Value) -> Value {
    let v = api
        .ok(
            "DescribeServiceDeployments",
            json!({"serviceDeploymentArns": [arn]}),
        )
        .await;
    v["serviceDeployments"][0].clone()
}

async fn until<T, F, Fut>(api: &Api, what: &str, f: F) -> T
where
    F: Fn(Api) -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f(Api::new(&api.ep, api.prefix)).await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// UpdateService to `web:2`, then waits until it holds: one `web:2` task
/// running, one `web:1` left. Returns the new deployment.
async fn stuck_update(api: &Api) -> Value {
    api.ok(
        "UpdateService",
        json!({"cluster": "c", "service": "web", "taskDefinition": "web:2"}),
    )
    .await;
    until(api, "one task of each revision", |api| async move {
        let l = list(&api, json!({})).await;
        let d = describe(&api, &l[0]["serviceDeploymentArn"]).await;
        let held = d["targetServiceRevision"]["runningTaskCount"] == 1
            && d["sourceServiceRevisions"][0]["runningTaskCount"] == 1;
        held.then_some(d)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_is_listed_in_progress_then_successful_with_its_revisions() {
    let (running, api, _dir) = start().await;
    let first = service(&api, false).await;
    let service_arn = first["serviceArn"].as_str().unwrap().to_string();
    assert!(first["serviceDeploymentArn"]
        .as_str()
        .unwrap()
        .contains(":service-deployment/c/web/"));
    let rev1 = first["targetServiceRevisionArn"].clone();
    assert!(rev1.as_str().unwrap().contains(":service-revision/c/web/"));
    assert!(first["finishedAt"].as_f64().is_some(), "{first}");

    let d = stuck_update(&api).await;
    assert_eq!(d["status"], "IN_PROGRESS", "{d:#}");
    assert_eq!(d["serviceArn"], service_arn.as_str());
    assert_eq!(d["sourceServiceRevisions"][0]["arn"], rev1);
    assert_eq!(d["targetServiceRevision"]["requestedTaskCount"], 2);
    assert_eq!(d["deploymentCircuitBreaker"]["status"], "MONITORING");
    assert_eq!(d["deploymentCircuitBreaker"]["threshold"], 3);
    assert_eq!(d["deploymentConfiguration"]["maximumPercent"], 200);
    assert!(d.get("finishedAt").is_none() && d.get("deploymentId").is_none());
    let rev2 = d["targetServiceRevision"]["arn"].clone();

    // Newest first; filters on status and creation time.
    let all = list(&api, json!({})).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["status"], "IN_PROGRESS");
    assert_eq!(all[0]["targetServiceRevisionArn"], rev2);
    let l = list(&api, json!({"status": ["IN_PROGRESS"]})).await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["serviceDeploymentArn"], d["serviceDeploymentArn"]);
    let l = list(&api, json!({"status": ["SUCCESSFUL", "STOPPED"]})).await;
    assert_eq!(l[0]["serviceDeploymentArn"], first["serviceDeploymentArn"]);
    let created = d["createdAt"].as_f64().unwrap();
    let l = list(&api, json!({"createdAt": {"after": created}})).await;
    assert_eq!(l.len(), 1);
    let l = list(&api, json!({"createdAt": {"before": created - 0.001}})).await;
    assert_eq!(l[0]["serviceDeploymentArn"], first["serviceDeploymentArn"]);

    // What each revision runs.
    let v = api
        .ok(
            "DescribeServiceRevisions",
            json!({"serviceRevisionArns": [rev1, rev2, "arn:aws:ecs:us-east-1:000000000000:service-revision/c/web/1"]}),
        )
        .await;
    let revs = v["serviceRevisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2);
    assert!(revs[0]["taskDefinition"]
        .as_str()
        .unwrap()
        .ends_with("task-definition/web:1"));
    assert!(revs[1]["taskDefinition"]
        .as_str()
        .unwrap()
        .ends_with("task-definition/web:2"));
    assert_eq!(revs[1]["containerImages"][0]["image"], "img:2");
    assert_eq!(revs[1]["launchType"], "EC2");
    assert_eq!(revs[1]["serviceArn"], service_arn.as_str());
    assert_eq!(v["failures"][0]["reason"], "MISSING");

    // Room for the second new task: the deployment finishes.
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.large"}),
    )
    .await;
    let arn = d["serviceDeploymentArn"].clone();
    let done = until(&api, "the update succeeds", |api| {
        let arn = arn.clone();
        async move {
            let d = describe(&api, &arn).await;
            (d["status"] == "SUCCESSFUL").then_some(d)
        }
    })
    .await;
    assert!(done["finishedAt"].as_f64().unwrap() >= created);
    assert_eq!(
        done["deploymentCircuitBreaker"]["status"],
        "MONITORING_COMPLETE"
    );
    let tds = running_definitions(&api, "web").await;
    assert_eq!(tds.len(), 2);
    assert!(tds.iter().all(|t| t.ends_with("web:2")), "{tds:?}");
    // A finished deployment cannot be stopped.
    api.err(
        "StopServiceDeployment",
        json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
        "ConflictException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_a_deployment_with_rollback_brings_the_previous_tasks_back() {
    let (running, api, _dir) = start().await;
    let first = service(&api, false).await;
    let d = stuck_update(&api).await;
    let arn = d["serviceDeploymentArn"].clone();
    assert_eq!(
        running_definitions(&api, "web").await.len(),
        2,
        "one task of each definition"
    );
    api.err(
        "StopServiceDeployment",
        json!({"serviceDeploymentArn": arn, "stopType": "ABORT"}),
        "InvalidParameterException",
    )
    .await;
    let v = api
        .ok(
            "StopServiceDeployment",
            json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
        )
        .await;
    assert_eq!(v, json!({"serviceDeploymentArn": arn}));
    let d = describe(&api, &arn).await;
    assert!(
        ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"].contains(&d["status"].as_str().unwrap()),
        "{d:#}"
    );
    assert_eq!(
        d["rollback"]["serviceRevisionArn"],
        first["targetServiceRevisionArn"]
    );
    assert!(d["rollback"]["startedAt"].as_f64().is_some());
    // Only an IN_PROGRESS deployment can be stopped.
    api.err(
        "StopServiceDeployment",
        json!({"serviceDeploymentArn": arn}),
        "ConflictException",
    )
    .await;

    until(&api, "the rollback succeeds", |api| {
        let arn = arn.clone();
        async move { (describe(&api, &arn).await["status"] == "ROLLBACK_SUCCESSFUL").then_some(()) }
    })
    .await;
    let tds = until(&api, "two tasks of web:1 again", |api| async move {
        let tds = running_definitions(&api, "web").await;
        (tds.len() == 2).then_some(tds)
    })
    .await;
    assert!(tds.iter().all(|t| t.ends_with("web:1")), "{tds:?}");
    let s = api
        .ok(
            "DescribeServices",
            json!({"cluster": "c", "services": ["web"]}),
        )
        .await;
    assert!(s["services"][0]["taskDefinition"]
        .as_str()
        .unwrap()
        .ends_with("web:1"));
    // No new deployment: the stopped one rolled back.
    assert_eq!(list(&api, json!({})).await.len(), 2);
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deployments_page_and_refuse_what_ecs_refuses() {
    let (running, api, _dir) = start().await;
    service(&api, false).await;
    stuck_update(&api).await;
    api.ok(
        "UpdateService",
        json!({"cluster": "c", "service": "web", "forceNewDeployment": true}),
    )
    .await;
    let all = list(&api, json!({})).await;
    assert_eq!(all.len(), 3);
    // A new deployment stops the one under way.
    assert_eq!(all[1]["status"], "STOPPED", "{all:#?}");
    assert!(all[1]["statusReason"]
        .as_str()
        .unwrap()
        .contains("superseded"));
    let created: Vec<f64> = all
        .iter()
        .map(|d| d["createdAt"].as_f64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let mut seen = Vec::new();
    let mut token: Option<Value> = None;
    loop {
        let mut body = json!({"cluster": "c", "service": "web", "maxResults": 2});
        if let Some(t) = &token {
            body["nextToken"] = t.clone();
        }
        let v = api.ok("ListServiceDeployments", body).await;
        seen.extend(v["serviceDeployments"].as_array().unwrap().clone());
        match v.get("nextToken") {
            Some(t) => token = Some(t.clone()),
            None => break,
        }
    }
    assert_eq!(seen, all);

    let refused = [
        (json!({"maxResults": 101}), "InvalidParameterException"),
        (json!({"maxResults": 0}), "InvalidParameterException"),
        (json!({"nextToken": "garbage"}), "InvalidParameterException"),
        (json!({"status": ["DONE"]}), "InvalidParameterException"),
        (json!({"service": "nope"}), "ServiceNotFoundException"),
        (json!({"cluster": "nope"}), "ClusterNotFoundException"),
    ];
    for (change, error) in refused {
        let mut body = json!({"cluster": "c", "service": "web"});
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        api.err("ListServiceDeployments", body, error).await;
    }
    api.err(
        "DescribeServiceDeployments",
        json!({"serviceDeploymentArns": []}),
        "InvalidParameterException",
    )
    .await;
    let unknown = "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/web/1";
    let v = api
        .ok(
            "DescribeServiceDeployments",
            json!({"serviceDeploymentArns": [unknown]}),
        )
        .await;
    assert_eq!(v["serviceDeployments"], json!([]));
    assert_eq!(v["failures"][0]["arn"], unknown);
    for op in ["StopServiceDeployment", "ContinueServiceDeployment"] {
        api.err(
            op,
            json!({"serviceDeploymentArn": unknown, "hookId": "h"}),
            "ServiceDeploymentNotFoundException",
        )
        .await;
    }
    // No deployment here waits at a lifecycle hook.
    api.err(
        "ContinueServiceDeployment",
        json!({"serviceDeploymentArn": all[0]["serviceDeploymentArn"], "hookId": "h"}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tripped_circuit_breaker_shows_as_a_rollback_of_the_deployment() {
    let (running, api, _dir) = start().await;
    let first = service(&api, true).await;
    // web:3's image cannot be pulled: every task fails to start.
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "missing/img",
               "memoryReservation": 100, "portMappings": [{"containerPort": 3000}]}]}),
    )
    .await;
    api.ok(
        "UpdateService",
        json!({"cluster": "c", "service": "web", "taskDefinition": "web:3"}),
    )
    .await;
    let d = until(&api, "the breaker rolls back", |api| async move {
        let l = list(&api, json!({})).await;
        let d = describe(&api, &l[0]["serviceDeploymentArn"]).await;
        (d["status"] == "ROLLBACK_SUCCESSFUL").then_some(d)
    })
    .await;
    assert_eq!(
        d["deploymentCircuitBreaker"]["status"], "TRIGGERED",
        "{d:#}"
    );
    assert!(
        d["deploymentCircuitBreaker"]["failureCount"]
            .as_u64()
            .unwrap()
            >= 3
    );
    assert_eq!(
        d["rollback"]["serviceRevisionArn"],
        first["targetServiceRevisionArn"]
    );
    assert!(d["rollback"]["reason"]
        .as_str()
        .unwrap()
        .contains("circuit breaker"));
    let tds = running_definitions(&api, "web").await;
    assert_eq!(tds.len(), 2);
    assert!(tds.iter().all(|t| t.ends_with("web:1")), "{tds:?}");
    running.stop(Duration::from_secs(5)).await;
}
