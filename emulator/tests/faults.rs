//! Faults and hostile input on real Docker: what must be refused or
//! survived without an outage.

mod common;

use std::time::Duration;

use common::{docker_or_skip, Emulator};
use serde_json::json;

const T: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two tasks asking for the same fixed host port: the second is not
/// placed (RESOURCE:PORTS), rather than placed and failing at Docker.
#[tokio::test]
async fn a_fixed_host_port_in_use_is_a_placement_failure() {
    if !docker_or_skip("a_fixed_host_port_in_use_is_a_placement_failure") {
        return;
    }
    let emu = Emulator::up(&["--no-stack"]).await;
    emu.cluster("c").await;
    let port = free_port();
    emu.ok(
        "RegisterTaskDefinition",
        json!({"family": "fixed", "containerDefinitions": [{
            "name": "web", "image": "pingpong-node:latest", "memoryReservation": 32,
            "environment": [{"name": "PEERS", "value": ""}],
            "portMappings": [{"containerPort": 3000, "hostPort": port}]
        }]}),
    )
    .await;
    let first = emu
        .ok(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "fixed"}),
        )
        .await;
    let arn = first["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu.wait_task("c", &arn, "RUNNING", T).await;
    let second = emu
        .ok(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "fixed"}),
        )
        .await;
    assert_eq!(second["tasks"].as_array().unwrap().len(), 0, "{second:#}");
    assert_eq!(
        second["failures"][0]["reason"], "RESOURCE:PORTS",
        "{second:#}"
    );
    // The first task is untouched and serves on its port.
    let body = reqwest::get(format!("http://127.0.0.1:{port}/ping"))
        .await
        .unwrap();
    assert!(body.status().is_success());
    // Once it is stopped, the port is free to take again.
    emu.ok("StopTask", json!({"cluster": "c", "task": arn}))
        .await;
    emu.wait_task("c", &arn, "STOPPED", T).await;
    let third = emu
        .ok(
            "RunTask",
            json!({"cluster": "c", "taskDefinition": "fixed"}),
        )
        .await;
    let arn3 = third["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu.wait_task("c", &arn3, "RUNNING", T).await;
}
