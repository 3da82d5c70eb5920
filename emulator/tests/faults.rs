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

/// Outcomes of requests through the listener, by kind.
#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    /// Answers 5xx from the balancer: what a restart must not cause.
    server_errors: u64,
    /// Connections refused or reset: the listener was away.
    refused: u64,
}

/// SIGKILL of the emulator 1.5 s into a rolling deployment under load,
/// and a restart: the deployment goes on as if nothing happened. The
/// listeners live in the balancer process, which the killed emulator
/// leaves running and the new one adopts, so no connection is refused;
/// adopted tasks keep their targets healthy and no task is stopped before
/// its replacement is healthy, so no request gets a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_during_a_rolling_deployment_fails_no_request() {
    use common::stack::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    if !docker_or_skip("a_restart_during_a_rolling_deployment_fails_no_request") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut stack: serde_json::Value =
        serde_json::from_str(emulator::model::stack::DEFAULT_STACK).unwrap();
    for i in stack["cluster"]["containerInstances"]
        .as_array_mut()
        .unwrap()
    {
        i["instanceType"] = json!("t2.large");
    }
    let path = dir.path().join("stack.json");
    std::fs::write(&path, stack.to_string()).unwrap();
    let port = free_port();
    let alb = format!("127.0.0.1:{port}");
    let args = [
        "--stack",
        path.to_str().unwrap(),
        "--alb-addr",
        &alb,
        "--service-interval-ms",
        "200",
    ];
    let emu = Emulator::up(&args).await;
    let s = Stack {
        emu,
        listener: format!("http://{alb}"),
        args: args.iter().map(|a| a.to_string()).collect(),
        _dir: dir,
    };
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    s.steady(NODE, 2).await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (tally, stop, url) = (tally.clone(), stop.clone(), format!("{}/ping", s.listener));
        load.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let r = http.get(&url).send().await;
                {
                    let mut t = tally.lock().unwrap();
                    match r {
                        Ok(resp) if resp.status().is_success() => t.ok += 1,
                        Ok(_) => t.server_errors += 1,
                        Err(_) => t.refused += 1,
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let td = node_revision(&s, |c| {
        c["environment"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "REV", "value": "2"}))
    })
    .await;
    s.update(json!({"service": NODE, "taskDefinition": td}))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut s = s;
    s.emu.kill();
    let data_dir = s.emu.data_dir.clone();
    let mut again = Emulator::start_on(&data_dir, &args).await;
    s.emu.child = again.child.take();
    s.emu.endpoint = again.endpoint.clone();
    again.data_dir = std::path::PathBuf::new();
    drop(again);
    // The deployment completes: two tasks of the new revision, old gone.
    s.wait(NODE, "the deployment completed after the restart", |v| {
        let d = v["deployments"].as_array().unwrap();
        d.len() == 1
            && d[0]["taskDefinition"] == json!(td)
            && d[0]["rolloutState"] == "COMPLETED"
            && v["runningCount"] == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let t = tally.lock().unwrap();
    eprintln!("through the restart: {t:?}");
    assert!(t.ok > 100, "the load ran: {t:?}");
    assert_eq!(t.server_errors, 0, "5xx answers around the restart: {t:?}");
    assert_eq!(
        t.refused, 0,
        "connections refused around the restart: {t:?}"
    );
}
