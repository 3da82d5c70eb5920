//! What the service scheduler's API tests (service deployments, task sets)
//! share: an in-process emulator on the fake runtime, reconciling services
//! every 50 ms, and what its services run.

use std::sync::Arc;
use std::time::Duration;

use super::common::Api;
use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::json;

/// The emulator (ELBv2 listeners on free ports) and an ECS client.
pub async fn start() -> (emulator::Running, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.alb_addr = "127.0.0.1:0".parse().unwrap();
    config.ephemeral_listeners = true;
    config.resync = Duration::from_millis(50);
    config.service_interval = Duration::from_millis(50);
    let running = start_with_runtime(config, Arc::new(FakeRuntime::new()))
        .await
        .unwrap();
    let api = Api::new(
        &format!("http://{}", running.api_addr),
        "AmazonEC2ContainerServiceV20141113",
    );
    (running, api, dir)
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
