//! ECS operations beyond the tutorial's, as AWS answers them: tags kept
//! from every Create/Register/Run call and managed by Tag/Untag/List,
//! `include` on Describe calls, List calls that page, cluster settings,
//! DeregisterContainerInstance and DeleteTaskDefinitions. In memory: fast.

mod common;

use std::time::Duration;

use common::Api;

use serde_json::{json, Value};

async fn start() -> (emulator::Running, Api, tempfile::TempDir) {
    let (running, ep, dir) = common::in_process(|c| c.resync = Duration::from_millis(50)).await;
    let api = Api::new(&ep, "AmazonEC2ContainerServiceV20141113");
    (running, api, dir)
}

fn tags(v: &Value) -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["key"].as_str().unwrap().to_string(),
                        t["value"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn tags_are_kept_managed_and_described_on_request() {
    let (running, api, _dir) = start().await;
    let c = api
        .ok(
            "CreateCluster",
            json!({"clusterName": "c", "tags": [{"key": "team", "value": "a"}],
                   "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        )
        .await;
    let cluster_arn = c["cluster"]["clusterArn"].as_str().unwrap().to_string();
    assert!(c["cluster"].get("tags").is_none(), "tags only when asked");
    let d = api
        .ok(
            "DescribeClusters",
            json!({"clusters": ["c"], "include": ["TAGS", "SETTINGS"]}),
        )
        .await;
    assert_eq!(tags(&d["clusters"][0]["tags"]), kv(&[("team", "a")]));
    assert_eq!(d["clusters"][0]["settings"][0]["value"], "enabled");
    let d = api.ok("DescribeClusters", json!({"clusters": ["c"]})).await;
    assert!(d["clusters"][0].get("tags").is_none() && d["clusters"][0].get("settings").is_none());

    api.ok(
        "TagResource",
        json!({"resourceArn": cluster_arn, "tags": [{"key": "env", "value": "dev"}]}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"resourceArn": cluster_arn, "tagKeys": ["team"]}),
    )
    .await;
    let l = api
        .ok("ListTagsForResource", json!({"resourceArn": cluster_arn}))
        .await;
    assert_eq!(tags(&l["tags"]), kv(&[("env", "dev")]));
    api.err(
        "TagResource",
        json!({"resourceArn": cluster_arn, "tags": [{"key": "aws:x", "value": "1"}]}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "ListTagsForResource",
        json!({"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/nope"}),
        "ClusterNotFoundException",
    )
    .await;
    api.err(
        "ListTagsForResource",
        json!({"resourceArn": "arn:aws:ecs:us-east-1:000000000000:task/c/nope"}),
        // ListTagsForResource declares no ResourceNotFoundException.
        "InvalidParameterException",
    )
    .await;

    // A task definition registered with tags answers them, and describes
    // them when asked.
    let td = api
        .ok(
            "RegisterTaskDefinition",
            json!({"family": "web", "tags": [{"key": "app", "value": "web"}],
                   "containerDefinitions": [{"name": "app", "image": "img", "memory": 32}]}),
        )
        .await;
    assert_eq!(tags(&td["tags"]), kv(&[("app", "web")]));
    let d = api
        .ok(
            "DescribeTaskDefinition",
            json!({"taskDefinition": "web", "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(tags(&d["tags"]), kv(&[("app", "web")]));
    assert!(d["taskDefinition"].get("tags").is_none());

    // A task: its own tags, the definition's (propagated) and ECS's.
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.small"}),
    )
    .await;
    let run = api
        .ok(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "web", "tags": [{"key": "run", "value": "1"}],
                   "propagateTags": "TASK_DEFINITION", "enableECSManagedTags": true}),
        )
        .await;
    let task = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let d = api
        .ok(
            "DescribeTasks",
            json!({"cluster": "c", "tasks": [task], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(
        tags(&d["tasks"][0]["tags"]),
        kv(&[("app", "web"), ("aws:ecs:clusterName", "c"), ("run", "1")])
    );
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn list_calls_page_and_bad_tokens_are_refused() {
    let (running, api, _dir) = start().await;
    for _ in 0..5 {
        api.ok(
            "RegisterTaskDefinition",
            json!({"family": "p", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
        )
        .await;
    }
    let mut token: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut body = json!({"familyPrefix": "p", "maxResults": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let v = api.ok("ListTaskDefinitions", body).await;
        pages += 1;
        seen.extend(
            v["taskDefinitionArns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string()),
        );
        match v["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5, "no revision twice");
    api.err(
        "ListTaskDefinitions",
        json!({"nextToken": "bogus"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "ListClusters",
        json!({"maxResults": 0}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "ListClusters",
        json!({"maxResults": 101}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn cluster_settings_instances_and_task_definitions_can_be_changed_and_removed() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let u = api
        .ok(
            "UpdateClusterSettings",
            json!({"cluster": "c", "settings": [{"name": "containerInsights", "value": "enhanced"}]}),
        )
        .await;
    assert_eq!(u["cluster"]["clusterName"], "c");
    let d = api
        .ok(
            "DescribeClusters",
            json!({"clusters": ["c"], "include": ["SETTINGS"]}),
        )
        .await;
    assert_eq!(d["clusters"][0]["settings"][0]["value"], "enhanced");
    api.err(
        "UpdateCluster",
        json!({"cluster": "c", "settings": [{"name": "containerInsights", "value": "loud"}]}),
        "InvalidParameterException",
    )
    .await;

    let ci = api
        .ok(
            "RegisterContainerInstance",
            json!({"cluster": "c", "instanceType": "t2.small"}),
        )
        .await;
    let ci_arn = ci["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    api.ok("RunTask", json!({"cluster": "c", "taskDefinition": "w"}))
        .await;
    // An instance with tasks goes only when forced; then it is gone.
    api.err(
        "DeregisterContainerInstance",
        json!({"cluster": "c", "containerInstance": ci_arn}),
        "InvalidParameterException",
    )
    .await;
    let d = api
        .ok(
            "DeregisterContainerInstance",
            json!({"cluster": "c", "containerInstance": ci_arn, "force": true}),
        )
        .await;
    assert_eq!(d["containerInstance"]["status"], "INACTIVE");
    let l = api
        .ok("ListContainerInstances", json!({"cluster": "c"}))
        .await;
    assert_eq!(l["containerInstanceArns"], json!([]));

    // An ACTIVE revision cannot be deleted; a deregistered one can.
    let v = api
        .ok("DeleteTaskDefinitions", json!({"taskDefinitions": ["w:1"]}))
        .await;
    assert_eq!(v["taskDefinitions"], json!([]));
    assert!(v["failures"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("ACTIVE"));
    api.ok("DeregisterTaskDefinition", json!({"taskDefinition": "w:1"}))
        .await;
    let v = api
        .ok("DeleteTaskDefinitions", json!({"taskDefinitions": ["w:1"]}))
        .await;
    assert_eq!(v["taskDefinitions"][0]["status"], "DELETE_IN_PROGRESS");
    api.err(
        "DescribeTaskDefinition",
        json!({"taskDefinition": "w:1"}),
        "ClientException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn account_settings_attributes_and_capacity_providers() {
    let (running, api, _dir) = start().await;
    // Effective settings: AWS's defaults until one is set.
    let v = api
        .ok(
            "ListAccountSettings",
            json!({"name": "containerInsights", "effectiveSettings": true}),
        )
        .await;
    assert_eq!(v["settings"][0]["value"], "disabled");
    assert_eq!(v["settings"][0]["type"], "aws_managed");
    api.ok(
        "PutAccountSettingDefault",
        json!({"name": "containerInsights", "value": "enabled"}),
    )
    .await;
    let v = api
        .ok(
            "ListAccountSettings",
            json!({"name": "containerInsights", "effectiveSettings": true}),
        )
        .await;
    assert_eq!(v["settings"][0]["value"], "enabled");
    assert_eq!(v["settings"][0]["type"], "user");
    api.err(
        "PutAccountSetting",
        json!({"name": "nope", "value": "enabled"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "PutAccountSetting",
        json!({"name": "taskLongArnFormat", "value": "maybe"}),
        "InvalidParameterException",
    )
    .await;
    let v = api
        .ok("DeleteAccountSetting", json!({"name": "containerInsights"}))
        .await;
    assert_eq!(v["setting"]["value"], "enabled");
    // Paging over the settings: 10 known (the model's SettingName values
    // with a default), 10 per page at most.
    let v = api
        .ok("ListAccountSettings", json!({"effectiveSettings": true}))
        .await;
    assert_eq!(v["settings"].as_array().unwrap().len(), 10);
    assert!(v.get("nextToken").is_none(), "{v}");
    let v = api
        .ok(
            "ListAccountSettings",
            json!({"effectiveSettings": true, "maxResults": 4}),
        )
        .await;
    assert_eq!(v["settings"].as_array().unwrap().len(), 4);
    assert!(v["nextToken"].is_string());

    // Attributes on container instances, found by ListAttributes, usable
    // by placement constraints (memberOf attribute:...).
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let ci = api
        .ok(
            "RegisterContainerInstance",
            json!({"cluster": "c", "instanceType": "t2.small"}),
        )
        .await;
    let arn = ci["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        "PutAttributes",
        json!({"cluster": "c", "attributes": [{"name": "stack", "value": "blue", "targetType": "container-instance", "targetId": arn}]}),
    )
    .await;
    let v = api
        .ok(
            "ListAttributes",
            json!({"cluster": "c", "targetType": "container-instance", "attributeName": "stack"}),
        )
        .await;
    assert_eq!(v["attributes"][0]["value"], "blue");
    assert_eq!(v["attributes"][0]["targetId"], json!(arn));
    api.ok(
        "DeleteAttributes",
        json!({"cluster": "c", "attributes": [{"name": "stack", "targetId": arn}]}),
    )
    .await;
    let v = api
        .ok(
            "ListAttributes",
            json!({"cluster": "c", "targetType": "container-instance", "attributeName": "stack"}),
        )
        .await;
    assert_eq!(v["attributes"], json!([]));
    // An attribute for an instance that does not exist: ECS's own error.
    api.err(
        "PutAttributes",
        json!({"cluster": "c", "attributes": [{"name": "stack", "value": "x", "targetId": "0123456789abcdef0123456789abcdef"}]}),
        "TargetNotFoundException",
    )
    .await;

    let v = api.ok("DescribeCapacityProviders", json!({})).await;
    let names: Vec<&str> = v["capacityProviders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["FARGATE", "FARGATE_SPOT"]);
    let v = api
        .ok(
            "DescribeCapacityProviders",
            json!({"capacityProviders": ["mine"]}),
        )
        .await;
    assert_eq!(v["failures"][0]["reason"], "MISSING");
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn services_keep_tags_propagate_them_and_page() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.large"}),
    )
    .await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    for i in 0..12 {
        api.ok(
            "CreateService",
            json!({"cluster": "c", "serviceName": format!("s{i:02}"), "taskDefinition": "w",
                   "desiredCount": if i == 0 { 1 } else { 0 },
                   "tags": [{"key": "svc", "value": format!("s{i:02}")}],
                   "propagateTags": "SERVICE", "enableECSManagedTags": true}),
        )
        .await;
    }
    // ECS pages services by 10 unless asked.
    let v = api.ok("ListServices", json!({"cluster": "c"})).await;
    assert_eq!(v["serviceArns"].as_array().unwrap().len(), 10);
    let v2 = api
        .ok(
            "ListServices",
            json!({"cluster": "c", "nextToken": v["nextToken"]}),
        )
        .await;
    assert_eq!(v2["serviceArns"].as_array().unwrap().len(), 2);
    assert!(v2.get("nextToken").is_none());
    let d = api
        .ok(
            "DescribeServices",
            json!({"cluster": "c", "services": ["s00"], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(tags(&d["services"][0]["tags"]), kv(&[("svc", "s00")]));
    assert_eq!(d["services"][0]["propagateTags"], "SERVICE");
    // The service's task carries the service's tags and ECS's own.
    let mut task = None;
    for _ in 0..100 {
        let l = api
            .ok("ListTasks", json!({"cluster": "c", "serviceName": "s00"}))
            .await;
        if let Some(t) = l["taskArns"][0].as_str() {
            task = Some(t.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let task = task.expect("the service started its task");
    let d = api
        .ok(
            "DescribeTasks",
            json!({"cluster": "c", "tasks": [task], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(
        tags(&d["tasks"][0]["tags"]),
        kv(&[
            ("aws:ecs:clusterName", "c"),
            ("aws:ecs:serviceName", "s00"),
            ("svc", "s00")
        ])
    );
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn definitions_that_could_never_start_are_refused_up_front() {
    let (running, api, _dir) = start().await;
    let c = |name: &str| json!({"name": name, "image": "i", "memory": 8});
    let many: Vec<Value> = (0..11).map(|i| c(&format!("c{i}"))).collect();
    let cases = vec![
        (
            "11 containers",
            json!({"family": "f", "containerDefinitions": many}),
        ),
        (
            "a bad container name",
            json!({"family": "f", "containerDefinitions": [c("no spaces")]}),
        ),
        (
            "an environment name with =",
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8,
                "environment": [{"name": "A=B", "value": "1"}]}]}),
        ),
        (
            "links in a cycle",
            json!({"family": "f", "containerDefinitions": [
                {"name": "a", "image": "i", "memory": 8, "links": ["b"]},
                {"name": "b", "image": "i", "memory": 8, "dependsOn": [{"containerName": "a", "condition": "START"}]}]}),
        ),
        (
            "more than 64 KiB",
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8,
                "environment": [{"name": "BIG", "value": "x".repeat(70_000)}]}]}),
        ),
    ];
    for (what, td) in cases {
        let (s, v) = api.call("RegisterTaskDefinition", td).await;
        assert_eq!(s, 400, "{what}: {v}");
        assert_eq!(v["__type"], "ClientException", "{what}: {v}");
    }
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_task_stopped_before_its_containers_started_shows_them_stopped() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.small"}),
    )
    .await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "nopull", "containerDefinitions": [{"name": "x", "image": "missing/img", "memory": 8}]}),
    )
    .await;
    let run = api
        .ok(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "nopull"}),
        )
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    assert!(
        run["tasks"][0]["containers"][0].get("essential").is_none(),
        "not in ECS's Container shape"
    );
    let mut task = Value::Null;
    for _ in 0..100 {
        let d = api
            .ok("DescribeTasks", json!({"cluster": "c", "tasks": [arn]}))
            .await;
        task = d["tasks"][0].clone();
        if task["lastStatus"] == "STOPPED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(task["lastStatus"], "STOPPED", "{task:#}");
    assert_eq!(task["containers"][0]["lastStatus"], "STOPPED", "{task:#}");
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_service_needs_a_target_group_a_load_balancer_uses() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8,
            "portMappings": [{"containerPort": 3000}]}]}),
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/", api.ep))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", common::AUTH)
        .body("Action=CreateTargetGroup&Version=2015-12-01&Name=lonely&Port=3000&Protocol=HTTP")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tg = r
        .split("<TargetGroupArn>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();
    let (s, v) = api
        .call(
            "CreateService",
            json!({"cluster": "c", "serviceName": "s", "taskDefinition": "w", "desiredCount": 1,
                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "a", "containerPort": 3000}]}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["__type"], "InvalidParameterException");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("does not have an associated load balancer"),
        "{v}"
    );
    running.stop(Duration::from_secs(5)).await;
}

/// The ECS agent's call: zone, instance type and id come from the
/// instance identity document.
#[tokio::test]
async fn a_container_instance_is_described_by_its_identity_document() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let doc = json!({"availabilityZone": "us-east-1c", "instanceType": "t2.large",
                     "instanceId": "i-0abc123def4567890", "region": "us-east-1"});
    let v = api
        .ok(
            "RegisterContainerInstance",
            json!({"cluster": "c", "instanceIdentityDocument": doc.to_string(),
                   "instanceIdentityDocumentSignature": "sig"}),
        )
        .await;
    let ci = &v["containerInstance"];
    assert_eq!(ci["ec2InstanceId"], "i-0abc123def4567890");
    let attr = |name: &str| {
        ci["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["value"].clone())
    };
    assert_eq!(attr("ecs.availability-zone"), Some(json!("us-east-1c")));
    assert_eq!(attr("ecs.instance-type"), Some(json!("t2.large")));
    api.err(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceIdentityDocument": "{not json"}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn other_clusters_tasks_and_desired_counts_above_the_quota_are_refused() {
    let (running, api, _dir) = start().await;
    for c in ["a", "b"] {
        api.ok("CreateCluster", json!({"clusterName": c})).await;
        api.ok(
            "RegisterContainerInstance",
            json!({"cluster": c, "instanceType": "t2.small"}),
        )
        .await;
    }
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    let run = api
        .ok("RunTask", json!({"cluster": "a", "taskDefinition": "w"}))
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let d = api
        .ok("DescribeTasks", json!({"cluster": "b", "tasks": [arn]}))
        .await;
    assert_eq!(d["tasks"], json!([]));
    assert_eq!(d["failures"][0]["reason"], "MISSING");
    api.err(
        "StopTask",
        json!({"cluster": "b", "task": arn}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "CreateService",
        json!({"cluster": "a", "serviceName": "s", "taskDefinition": "w", "desiredCount": 5001}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn task_protection_is_set_read_and_bounded() {
    let (running, api, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    api.ok(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.small"}),
    )
    .await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    let run = api
        .ok("RunTask", json!({"cluster": "c", "taskDefinition": "w"}))
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let v = api
        .ok(
            "UpdateTaskProtection",
            json!({"cluster": "c", "tasks": [arn, "nope"], "protectionEnabled": true, "expiresInMinutes": 60}),
        )
        .await;
    assert_eq!(v["protectedTasks"][0]["protectionEnabled"], true);
    assert!(v["protectedTasks"][0]["expirationDate"].is_number());
    assert_eq!(v["failures"][0]["reason"], "MISSING");
    let v = api
        .ok("GetTaskProtection", json!({"cluster": "c", "tasks": [arn]}))
        .await;
    assert_eq!(v["protectedTasks"][0]["protectionEnabled"], true);
    let d = api
        .ok("DescribeTasks", json!({"cluster": "c", "tasks": [arn]}))
        .await;
    assert!(
        d["tasks"][0].get("protectedUntil").is_none(),
        "not in ECS's Task shape"
    );
    api.err(
        "UpdateTaskProtection",
        json!({"cluster": "c", "tasks": [arn], "protectionEnabled": true, "expiresInMinutes": 3000}),
        "InvalidParameterException",
    )
    .await;
    api.ok(
        "UpdateTaskProtection",
        json!({"cluster": "c", "tasks": [arn], "protectionEnabled": false}),
    )
    .await;
    let v = api
        .ok("GetTaskProtection", json!({"cluster": "c", "tasks": [arn]}))
        .await;
    assert_eq!(v["protectedTasks"][0]["protectionEnabled"], false);
    running.stop(Duration::from_secs(5)).await;
}
