//! The container agent's operations as a user of the emulator sees them:
//! DiscoverPollEndpoint names this emulator; state reports change what
//! DescribeTasks shows (and stop what they say stopped); attachments the
//! emulator's tasks do not have are refused; UpdateContainerAgent updates
//! an old agent and refuses as ECS refuses; ListServicesByNamespace lists
//! the services of the namespace's clusters. In memory, on the fake
//! runtime; every answer checked against botocore's output shape.

mod common;
mod ecs_support;

use std::time::Duration;

use common::Api;
use ecs_support::{ok, start};
use serde_json::{json, Value};

/// Describes task `arn` of cluster `c` until `done` holds (5 s at most).
async fn wait_task(api: &Api, arn: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let d = api
            .ok("DescribeTasks", json!({"cluster": "c", "tasks": [arn]}))
            .await;
        let t = d["tasks"][0].clone();
        if done(&t) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task never got there: {t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_running(api: &Api) -> String {
    let run = api
        .ok("RunTask", json!({"cluster": "c", "taskDefinition": "w"}))
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    wait_task(api, &arn, |t| t["lastStatus"] == "RUNNING").await;
    arn
}

fn container<'a>(task: &'a Value, name: &str) -> &'a Value {
    task["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn discover_poll_endpoint_names_this_emulator() {
    let (running, api, _fake, _dir) = start().await;
    let ci = ecs_support::cluster(
        &api,
        json!({}),
        json!([{"name": "a", "image": "i", "memory": 8}]),
    )
    .await;
    let ci = ci["containerInstanceArn"].as_str().unwrap();
    let v = ok(
        &api,
        "DiscoverPollEndpoint",
        json!({"cluster": "c", "containerInstance": ci}),
    )
    .await;
    let own = format!("http://{}/", running.api_addr);
    assert_eq!(v["endpoint"], own);
    assert_eq!(v["telemetryEndpoint"], own);
    assert_eq!(v["serviceConnectEndpoint"], own);
    api.err(
        "DiscoverPollEndpoint",
        json!({"cluster": "c", "containerInstance": "0123456789abcdef"}),
        "ClientException",
    )
    .await;
    api.err(
        "DiscoverPollEndpoint",
        json!({"cluster": "nope"}),
        "ClientException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn state_reports_change_what_describe_tasks_shows() {
    let (running, api, _fake, _dir) = start().await;
    ecs_support::cluster(
        &api,
        json!({}),
        json!([{"name": "app", "image": "i", "memory": 8},
               {"name": "side", "image": "i", "memory": 8, "essential": false}]),
    )
    .await;
    let arn = run_running(&api).await;

    // A non-essential container the agent saw stop: stopped, with the
    // agent's reason; the task runs on.
    let ack = ok(
        &api,
        "SubmitContainerStateChange",
        json!({"cluster": "c", "task": arn, "containerName": "side", "status": "STOPPED",
               "exitCode": 3, "reason": "side finished its batch"}),
    )
    .await;
    assert_eq!(ack, json!({"acknowledgment": "ACK"}));
    let t = wait_task(&api, &arn, |t| {
        container(t, "side")["lastStatus"] == "STOPPED"
    })
    .await;
    assert_eq!(container(&t, "side")["reason"], "side finished its batch");
    assert_eq!(t["lastStatus"], "RUNNING");
    assert_eq!(t["desiredStatus"], "RUNNING");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = wait_task(&api, &arn, |_| true).await;
    assert_eq!(container(&t, "side")["lastStatus"], "STOPPED", "{t}");

    // The task reported STOPPED: it stops, with the agent's reason.
    let ack = ok(
        &api,
        "SubmitTaskStateChange",
        json!({"cluster": "c", "task": arn, "status": "STOPPED", "reason": "instance lost its disk",
               "containers": [{"containerName": "app", "status": "STOPPED", "exitCode": 137}]}),
    )
    .await;
    assert_eq!(ack["acknowledgment"], "ACK");
    let t = wait_task(&api, &arn, |t| t["lastStatus"] == "STOPPED").await;
    assert_eq!(t["desiredStatus"], "STOPPED");
    assert_eq!(t["stoppedReason"], "instance lost its disk");
    assert_eq!(t["stopCode"], "EssentialContainerExited");

    // An essential container reported stopped stops its task as ECS does.
    let other = run_running(&api).await;
    ok(
        &api,
        "SubmitTaskStateChange",
        json!({"cluster": "c", "task": other, "status": "RUNNING",
               "containers": [{"containerName": "app", "status": "STOPPED", "exitCode": 1}]}),
    )
    .await;
    let t = wait_task(&api, &other, |t| t["lastStatus"] == "STOPPED").await;
    assert_eq!(t["stoppedReason"], "Essential container in task exited");

    // Unknown clusters, tasks, containers and statuses.
    api.err(
        "SubmitTaskStateChange",
        json!({"cluster": "nope", "task": arn, "status": "RUNNING"}),
        "ClusterNotFoundException",
    )
    .await;
    api.err(
        "SubmitTaskStateChange",
        json!({"cluster": "c", "task": "0123456789abcdef0123456789abcdef", "status": "RUNNING"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "SubmitTaskStateChange",
        json!({"cluster": "c", "task": arn, "status": "SLEEPING"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "SubmitContainerStateChange",
        json!({"cluster": "c", "task": arn, "containerName": "ghost", "status": "RUNNING"}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn attachments_the_tasks_do_not_have_are_refused() {
    let (running, api, _fake, _dir) = start().await;
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let eni = "arn:aws:ecs:us-east-1:000000000000:attachment/7f3e2d1c-0000-4000-8000-000000000000";
    let msg = api
        .err(
            "SubmitAttachmentStateChanges",
            json!({"cluster": "c", "attachments": [{"attachmentArn": eni, "status": "ATTACHED"}]}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("was not found"), "{msg}");
    api.err(
        "SubmitAttachmentStateChanges",
        json!({"cluster": "c", "attachments": [{"attachmentArn": eni, "status": "GLUED"}]}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "SubmitAttachmentStateChanges",
        json!({"cluster": "c", "attachments": []}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "SubmitAttachmentStateChanges",
        json!({"cluster": "nope", "attachments": [{"attachmentArn": eni, "status": "ATTACHED"}]}),
        "ClusterNotFoundException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn update_container_agent_updates_an_old_agent_once() {
    let (running, api, _fake, _dir) = start().await;
    let old = ecs_support::cluster(
        &api,
        json!({"versionInfo": {"agentVersion": "1.70.0", "agentHash": "abc", "dockerVersion": "25.0"}}),
        json!([{"name": "a", "image": "i", "memory": 8}]),
    )
    .await;
    let old = old["containerInstanceArn"].as_str().unwrap().to_string();
    let bare = api
        .ok(
            "RegisterContainerInstance",
            json!({"cluster": "c", "instanceType": "t3.small"}),
        )
        .await;
    let bare = bare["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string();
    let newest = api
        .ok(
            "RegisterContainerInstance",
            json!({"cluster": "c", "instanceType": "t3.small",
                   "versionInfo": {"agentVersion": "1.89.0"}}),
        )
        .await;
    let newest = newest["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string();

    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": bare}),
        "MissingVersionException",
    )
    .await;
    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": newest}),
        "NoUpdateAvailableException",
    )
    .await;
    let u = ok(
        &api,
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": old}),
    )
    .await;
    assert_eq!(u["containerInstance"]["agentUpdateStatus"], "PENDING");
    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": old}),
        "UpdateInProgressException",
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let updated = loop {
        let d = ok(
            &api,
            "DescribeContainerInstances",
            json!({"cluster": "c", "containerInstances": [old]}),
        )
        .await;
        let i = d["containerInstances"][0].clone();
        if i["agentUpdateStatus"] == "UPDATED" {
            break i;
        }
        assert!(tokio::time::Instant::now() < deadline, "never updated: {i}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(updated["versionInfo"]["agentVersion"], "1.89.0");
    assert_eq!(updated["versionInfo"]["dockerVersion"], "25.0");
    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": old}),
        "NoUpdateAvailableException",
    )
    .await;
    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "c", "containerInstance": "0123456789abcdef"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "UpdateContainerAgent",
        json!({"cluster": "nope", "containerInstance": old}),
        "ClusterNotFoundException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn list_services_by_namespace_lists_the_namespace_clusters_services() {
    let (running, api, _fake, _dir) = start().await;
    let c = ok(
        &api,
        "CreateCluster",
        json!({"clusterName": "c", "serviceConnectDefaults": {"namespace": "shop"}}),
    )
    .await;
    let ns = c["cluster"]["serviceConnectDefaults"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ns.starts_with("arn:aws:servicediscovery:us-east-1:"),
        "{ns}"
    );
    assert!(ns.contains(":namespace/ns-"), "{ns}");
    api.ok("CreateCluster", json!({"clusterName": "other"}))
        .await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    for i in 0..12 {
        api.ok(
            "CreateService",
            json!({"cluster": "c", "serviceName": format!("s{i:02}"), "taskDefinition": "w", "desiredCount": 0}),
        )
        .await;
    }
    api.ok(
        "CreateService",
        json!({"cluster": "other", "serviceName": "elsewhere", "taskDefinition": "w", "desiredCount": 0}),
    )
    .await;
    let first = ok(
        &api,
        "ListServicesByNamespace",
        json!({"namespace": "shop"}),
    )
    .await;
    assert_eq!(first["serviceArns"].as_array().unwrap().len(), 10);
    let token = first["nextToken"].as_str().unwrap();
    let second = ok(
        &api,
        "ListServicesByNamespace",
        json!({"namespace": ns, "nextToken": token}),
    )
    .await;
    let rest = second["serviceArns"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest
        .iter()
        .all(|a| a.as_str().unwrap().contains(":service/c/")));
    assert!(second.get("nextToken").is_none());

    // The namespace follows the cluster: UpdateCluster moves it.
    ok(
        &api,
        "UpdateCluster",
        json!({"cluster": "other", "serviceConnectDefaults": {"namespace": "shop"}}),
    )
    .await;
    let all = ok(
        &api,
        "ListServicesByNamespace",
        json!({"namespace": "shop", "maxResults": 100}),
    )
    .await;
    assert_eq!(all["serviceArns"].as_array().unwrap().len(), 13);

    api.err(
        "ListServicesByNamespace",
        json!({"namespace": "nobody-uses-this"}),
        "NamespaceNotFoundException",
    )
    .await;
    api.err(
        "ListServicesByNamespace",
        json!({"namespace": "shop", "maxResults": 101}),
        "InvalidParameterException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}
