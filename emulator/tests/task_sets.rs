//! Task sets of a service with the EXTERNAL deployment controller, through
//! the API on the fake runtime: the service itself starts nothing; each
//! task set runs ceil(desiredCount x scale%) tasks of its own task
//! definition, in its own target group; the primary task set gives the
//! service its task definition; a deleted task set's tasks stop.

mod common;
mod scheduler_api;

use std::time::{Duration, Instant};

use common::{Api, AUTH};
use scheduler_api::{running_definitions, start};
use serde_json::{json, Value};

/// An ELBv2 Query call that must succeed; the text of its first `tag`.
async fn elb(api: &Api, form: &str, tag: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/", api.ep))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", AUTH)
        .body(format!("Version=2015-12-01&{form}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{form}");
    let body = resp.text().await.unwrap();
    let from = body.find(&format!("<{tag}>")).map(|i| i + tag.len() + 2);
    from.map(|i| body[i..i + body[i..].find('<').unwrap()].to_string())
        .unwrap_or(body)
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

/// A target group behind a listener, draining at once.
async fn target_group(api: &Api) -> String {
    let tg = elb(
        api,
        "Action=CreateTargetGroup&Name=ext&Protocol=HTTP&Port=80&VpcId=vpc-1",
        "TargetGroupArn",
    )
    .await;
    let lb = elb(api, "Action=CreateLoadBalancer&Name=ext", "LoadBalancerArn").await;
    elb(api, &format!("Action=CreateListener&LoadBalancerArn={}&Protocol=HTTP&Port=8124&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={}", enc(&lb), enc(&tg)), "ListenerArn").await;
    elb(api, &format!("Action=ModifyTargetGroupAttributes&TargetGroupArn={}&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=0", enc(&tg)), "Key").await;
    tg
}

async fn targets(api: &Api, tg: &str) -> usize {
    let body = elb(
        api,
        &format!("Action=DescribeTargetHealth&TargetGroupArn={}", enc(tg)),
        "none",
    )
    .await;
    body.matches("<Target>").count()
}

async fn until_running(api: &Api, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = running_definitions(api, "ext").await;
        if r.len() == n {
            return r;
        }
        assert!(Instant::now() < deadline, "not {n} running: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn task_sets(api: &Api, sets: Option<Vec<&Value>>) -> Value {
    let mut body = json!({"cluster": "c", "service": "ext"});
    if let Some(s) = sets {
        body["taskSets"] = json!(s);
    }
    api.ok("DescribeTaskSets", body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn task_sets_run_their_share_register_targets_and_stop_when_deleted() {
    let (running_emu, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.large"}),
    )
    .await;
    for image in ["img:1", "img:2"] {
        api.ok(
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": image,
                   "memoryReservation": 64, "portMappings": [{"containerPort": 3000}]}]}),
        )
        .await;
    }
    let tg = target_group(&api).await;
    let svc = api
        .ok(
            "CreateService",
            json!({"cluster": "c", "serviceName": "ext", "desiredCount": 4,
                   "deploymentController": {"type": "EXTERNAL"}}),
        )
        .await;
    assert_eq!(svc["service"]["deploymentController"]["type"], "EXTERNAL");
    assert_eq!(svc["service"]["deployments"], json!([]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        running_definitions(&api, "ext").await.is_empty(),
        "the service starts nothing"
    );
    // A service without task sets has no service deployments either.
    let l = api
        .ok(
            "ListServiceDeployments",
            json!({"cluster": "c", "service": "ext"}),
        )
        .await;
    assert_eq!(l["serviceDeployments"], json!([]));

    let created = api
        .ok(
            "CreateTaskSet",
            json!({"cluster": "c", "service": "ext", "taskDefinition": "web:1", "externalId": "blue",
                   "scale": {"value": 50, "unit": "PERCENT"},
                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "app", "containerPort": 3000}],
                   "tags": [{"key": "color", "value": "blue"}]}),
        )
        .await["taskSet"]
        .clone();
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["computedDesiredCount"], 2);
    assert_eq!(created["externalId"], "blue");
    assert!(created["id"].as_str().unwrap().starts_with("ecs-svc/"));
    let blue_arn = created["taskSetArn"].clone();
    assert!(blue_arn
        .as_str()
        .unwrap()
        .contains(":task-set/c/ext/ecs-svc/"));
    let r = until_running(&api, 2).await;
    assert!(r.iter().all(|t| t.ends_with("web:1")));
    let deadline = Instant::now() + Duration::from_secs(10);
    while targets(&api, &tg).await != 2 {
        assert!(Instant::now() < deadline, "task set tasks not registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = task_sets(&api, None).await;
    let blue = &d["taskSets"][0];
    assert_eq!(
        (blue["runningCount"].as_u64(), blue["pendingCount"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(blue["stabilityStatus"], "STEADY_STATE");
    assert!(blue.get("tags").is_none(), "tags only when asked");
    let d = api
        .ok(
            "DescribeTaskSets",
            json!({"cluster": "c", "service": "ext", "taskSets": [blue_arn, "ecs-svc/1"], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(d["taskSets"][0]["tags"][0]["value"], "blue");
    assert_eq!(d["failures"][0]["arn"], "ecs-svc/1");
    assert_eq!(d["failures"][0]["reason"], "MISSING");

    // Scale to 100%: 4 tasks.
    let u = api
        .ok(
            "UpdateTaskSet",
            json!({"cluster": "c", "service": "ext", "taskSet": blue_arn, "scale": {"value": 100, "unit": "PERCENT"}}),
        )
        .await;
    assert_eq!(u["taskSet"]["computedDesiredCount"], 4);
    until_running(&api, 4).await;

    // The primary task set gives the service its task definition.
    let p = api
        .ok(
            "UpdateServicePrimaryTaskSet",
            json!({"cluster": "c", "service": "ext", "primaryTaskSet": blue_arn}),
        )
        .await;
    assert_eq!(p["taskSet"]["status"], "PRIMARY");
    let green = api
        .ok(
            "CreateTaskSet",
            json!({"cluster": "c", "service": "ext", "taskDefinition": "web:2",
                   "scale": {"value": 25, "unit": "PERCENT"}}),
        )
        .await["taskSet"]
        .clone();
    let r = until_running(&api, 5).await;
    assert_eq!(r.iter().filter(|t| t.ends_with("web:2")).count(), 1);
    api.ok(
        "UpdateServicePrimaryTaskSet",
        json!({"cluster": "c", "service": "ext", "primaryTaskSet": green["id"]}),
    )
    .await;
    let s = api
        .ok(
            "DescribeServices",
            json!({"cluster": "c", "services": ["ext"]}),
        )
        .await["services"][0]
        .clone();
    assert!(s["taskDefinition"].as_str().unwrap().ends_with("web:2"));
    let sets = s["taskSets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    let status = |arn: &Value| {
        sets.iter()
            .find(|t| &t["taskSetArn"] == arn)
            .map(|t| t["status"].clone())
    };
    assert_eq!(status(&blue_arn), Some(json!("ACTIVE")));
    assert_eq!(status(&green["taskSetArn"]), Some(json!("PRIMARY")));

    // The service's desired count rescales every task set: 2 x 100% + 2 x 25%.
    api.ok(
        "UpdateService",
        json!({"cluster": "c", "service": "ext", "desiredCount": 2}),
    )
    .await;
    until_running(&api, 3).await;

    // Deleting a task set still scaled needs force; its tasks stop and
    // leave the target group, then it goes.
    api.err(
        "DeleteTaskSet",
        json!({"cluster": "c", "service": "ext", "taskSet": blue_arn}),
        "InvalidParameterException",
    )
    .await;
    let del = api
        .ok(
            "DeleteTaskSet",
            json!({"cluster": "c", "service": "ext", "taskSet": blue_arn, "force": true}),
        )
        .await;
    assert_eq!(del["taskSet"]["status"], "DRAINING");
    let r = until_running(&api, 1).await;
    assert!(r[0].ends_with("web:2"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = task_sets(&api, None).await;
        if d["taskSets"].as_array().unwrap().len() == 1 && targets(&api, &tg).await == 0 {
            assert_eq!(d["taskSets"][0]["id"], green["id"]);
            break;
        }
        assert!(Instant::now() < deadline, "blue not gone: {d:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.err(
        "UpdateTaskSet",
        json!({"cluster": "c", "service": "ext", "taskSet": blue_arn, "scale": {"value": 10, "unit": "PERCENT"}}),
        "TaskSetNotFoundException",
    )
    .await;
    running_emu.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn task_set_operations_refuse_what_ecs_refuses() {
    let (running_emu, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "i", "memory": 8}]}),
    )
    .await;
    api.ok(
        "CreateService",
        json!({"cluster": "c", "serviceName": "ecs", "taskDefinition": "web"}),
    )
    .await;
    api.ok(
        "CreateService",
        json!({"cluster": "c", "serviceName": "ext", "deploymentController": {"type": "EXTERNAL"}}),
    )
    .await;
    api.err(
        "CreateService",
        json!({"cluster": "c", "serviceName": "nodef"}),
        "InvalidParameterException",
    )
    .await;
    let ts = api
        .ok(
            "CreateTaskSet",
            json!({"cluster": "c", "service": "ext", "taskDefinition": "web"}),
        )
        .await["taskSet"]["id"]
        .clone();
    let cases = [
        (
            "CreateTaskSet",
            json!({"service": "ecs", "taskDefinition": "web"}),
            "InvalidParameterException",
        ),
        (
            "DescribeTaskSets",
            json!({"service": "ecs"}),
            "InvalidParameterException",
        ),
        (
            "UpdateTaskSet",
            json!({"service": "ecs", "taskSet": ts, "scale": {"value": 1}}),
            "InvalidParameterException",
        ),
        (
            "DeleteTaskSet",
            json!({"service": "ecs", "taskSet": ts}),
            "InvalidParameterException",
        ),
        (
            "UpdateServicePrimaryTaskSet",
            json!({"service": "ecs", "primaryTaskSet": ts}),
            "InvalidParameterException",
        ),
        (
            "CreateTaskSet",
            json!({"service": "nope", "taskDefinition": "web"}),
            "ServiceNotFoundException",
        ),
        (
            "CreateTaskSet",
            json!({"service": "ext", "taskDefinition": "nope"}),
            "ClientException",
        ),
        (
            "CreateTaskSet",
            json!({"service": "ext", "taskDefinition": "web", "scale": {"value": 150, "unit": "PERCENT"}}),
            "InvalidParameterException",
        ),
        (
            "UpdateTaskSet",
            json!({"service": "ext", "taskSet": ts, "scale": {"value": -1, "unit": "PERCENT"}}),
            "InvalidParameterException",
        ),
        (
            "UpdateTaskSet",
            json!({"service": "ext", "taskSet": "ecs-svc/1", "scale": {"value": 1}}),
            "TaskSetNotFoundException",
        ),
        (
            "DeleteTaskSet",
            json!({"service": "ext", "taskSet": "ecs-svc/1"}),
            "TaskSetNotFoundException",
        ),
        (
            "UpdateServicePrimaryTaskSet",
            json!({"service": "ext", "primaryTaskSet": "ecs-svc/1"}),
            "TaskSetNotFoundException",
        ),
        (
            "UpdateService",
            json!({"service": "ext", "taskDefinition": "web"}),
            "InvalidParameterException",
        ),
        (
            "UpdateService",
            json!({"service": "ext", "forceNewDeployment": true}),
            "InvalidParameterException",
        ),
        (
            "CreateService",
            json!({"serviceName": "cd", "taskDefinition": "web", "deploymentController": {"type": "CODE_DEPLOY"}}),
            "InvalidParameterException",
        ),
    ];
    for (op, mut body, error) in cases {
        body["cluster"] = json!("c");
        api.err(op, body, error).await;
    }
    // A deleted service's task sets are not managed any more.
    api.ok(
        "DeleteService",
        json!({"cluster": "c", "service": "ext", "force": true}),
    )
    .await;
    api.err(
        "DescribeTaskSets",
        json!({"cluster": "c", "service": "ext"}),
        "ServiceNotActiveException",
    )
    .await;
    running_emu.stop(Duration::from_secs(5)).await;
}
