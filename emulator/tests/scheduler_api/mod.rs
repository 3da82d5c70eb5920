//! What the service scheduler's API tests (service deployments, task sets)
//! share: an in-process emulator on the fake runtime, reconciling services
//! every 50 ms, and what its services run.

use std::time::Duration;

use super::common::Api;
use serde_json::json;

/// The emulator (ELBv2 listeners on free ports) and an ECS client.
pub async fn start() -> (emulator::Running, Api, tempfile::TempDir) {
    let (running, ep, dir) = super::common::in_process(|c| {
        super::common::free_listeners(c);
        c.resync = Duration::from_millis(50);
        c.service_interval = Duration::from_millis(50);
    })
    .await;
    (
        running,
        Api::new(&ep, "AmazonEC2ContainerServiceV20141113"),
        dir,
    )
}

/// The task definitions of the RUNNING tasks of service `service` in
/// cluster `c` that are to keep running, sorted.
pub async fn running_definitions(api: &Api, service: &str) -> Vec<String> {
    let l = api
        .ok(
            "ListTasks",
            json!({"cluster": "c", "serviceName": service, "desiredStatus": "RUNNING"}),
        )
        .await;
    let arns = l["taskArns"].as_array().unwrap().clone();
    if arns.is_empty() {
        return vec![];
    }
    let d = api
        .ok("DescribeTasks", json!({"cluster": "c", "tasks": arns}))
        .await;
    let mut tds: Vec<String> = d["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["lastStatus"] == "RUNNING")
        .map(|t| t["taskDefinitionArn"].as_str().unwrap().to_string())
        .collect();
    tds.sort();
    tds
}
