//! ECS services on real Docker, through the embedded load balancer: desired
//! count and spread, self-healing after SIGKILL, zero-downtime rolling
//! deployments under load, the circuit breaker's rollback, manual and
//! cluster scaling, target tracking, and the real AWS CLI.
//!
//! Each test runs its own emulator process on the default stack (its
//! instances made t2.large so several node tasks fit), with ephemeral API
//! and listener ports and short reconcile/evaluation intervals.

mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use common::docker_or_skip;
use common::stack::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn stack_services_answer_and_scale_by_api_and_cli_spread_over_zones() {
    if !docker_or_skip("stack_services_answer_and_scale_by_api_and_cli_spread_over_zones") {
        return;
    }
    let s = up().await;
    s.steady(CLIENT, 1).await;
    let node = s.steady(NODE, 1).await;
    let msgs = messages(&node);
    assert!(
        msgs.iter().any(|m| m.starts_with(&format!(
            "(service {NODE}) registered 1 targets in (target-group arn:aws:elasticloadbalancing:"
        ))),
        "{msgs:#?}"
    );
    assert!(msgs.iter().any(|m| m
        .starts_with(&format!("(service {NODE}) has started 1 tasks: (task "))
        && m.ends_with(").")));
    let body = reqwest::get(format!("{}/start", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, common::START_BODY);
    let ping = reqwest::get(format!("{}/ping", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ping, "pong");
    // The balancer reaches the task at node-john's address on the engine's
    // bridge, not through the published host port's userland proxy; ELBv2
    // still names the target by instance id and host port.
    let task = &s.tasks(&node).await[0];
    let john = task["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "node-john")
        .unwrap();
    let ip = std::process::Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        ])
        .arg(john["runtimeId"].as_str().unwrap())
        .output()
        .unwrap();
    let ip = String::from_utf8_lossy(&ip.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let record: Value =
        serde_json::from_slice(&std::fs::read(s.emu.data_dir.join("balancer")).unwrap()).unwrap();
    let desired: Value = reqwest::get(format!(
        "http://{}/desired",
        record["admin"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let host_port = john["networkBindings"][0]["hostPort"].as_u64().unwrap();
    let targets: Vec<&Value> = desired["target_groups"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|tg| tg["targets"].as_array().unwrap())
        .filter(|t| t["port"].as_u64() == Some(host_port))
        .collect();
    assert_eq!(targets.len(), 1, "{desired}");
    assert_eq!(targets[0]["dial"], format!("{ip}:3000"), "{desired}");
    assert!(
        john.get("runtimeAddress").is_none(),
        "not in ECS's shape: {john}"
    );
    let page = reqwest::get(format!("{}/", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html"), "{page}");

    // Desired 3: three running, healthy in the group, over both zones.
    s.update(json!({"service": NODE, "desiredCount": 3})).await;
    let node = s.steady(NODE, 3).await;
    let tasks = s.tasks(&node).await;
    assert_eq!(tasks.len(), 3);
    let zones: BTreeSet<&str> = tasks
        .iter()
        .map(|t| t["availabilityZone"].as_str().unwrap())
        .collect();
    assert_eq!(zones.len(), 2, "{zones:?}");
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;
    assert_eq!(s.target_states(&tg).await, vec!["healthy"; 3]);
    assert!(messages(&node)
        .iter()
        .any(|m| m.starts_with(&format!("(service {NODE}) has started 2 tasks: (task "))));

    // Scale in by the CLI: drained, deregistered, stopped, in ECS words.
    let out = s.cli(&["scale", NODE, "1"]);
    assert!(out.contains("desired count 3 -> 1"), "{out}");
    let node = s.steady(NODE, 1).await;
    let msgs = messages(&node);
    for needle in [
        "has begun draining connections on 1 tasks.".to_string(),
        format!("deregistered 1 targets in (target-group {tg})"),
        "has stopped 1 running tasks: (task ".to_string(),
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(&needle)),
            "{needle}: {msgs:#?}"
        );
    }
    // Newest first.
    assert!(msgs[0].ends_with("has reached a steady state."));
    assert_eq!(s.target_states(&tg).await, vec!["healthy"]);

    // And up again by the API; the CLI lists and tells.
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    s.steady(NODE, 2).await;
    let out = s.cli(&["services"]);
    assert!(out.contains(NODE) && out.contains(CLIENT), "{out}");
    let out = s.cli(&["events", NODE]);
    assert!(out.contains("has reached a steady state."), "{out}");
    // `emulator stats` reads the real containers' counters: every node
    // container of both tasks, with memory in use.
    let out = s.cli(&["stats"]);
    let john: Vec<&str> = out.lines().filter(|l| l.contains("node-john")).collect();
    assert_eq!(john.len(), 2, "{out}");
    assert!(
        john.iter()
            .all(|l| l.contains(" / 300 MiB") && !l.contains(" 0 B / 300 MiB")),
        "{out}"
    );
    assert!(out.contains(&format!("service:{NODE}")), "{out}");

    // ListServices, and DeleteService refuses a service scaled above 0.
    let list = s.emu.ok("ListServices", json!({"cluster": CLUSTER})).await;
    assert_eq!(list["serviceArns"].as_array().unwrap().len(), 2);
    // ListTasks by service: that service's tasks only.
    let mine = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": CLIENT}),
        )
        .await;
    assert_eq!(mine["taskArns"].as_array().unwrap().len(), 1, "{mine}");
    let mine = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": NODE}),
        )
        .await;
    assert_eq!(mine["taskArns"].as_array().unwrap().len(), 2, "{mine}");
    let (status, err) = s
        .emu
        .call(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": "nope"}),
        )
        .await;
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ServiceNotFoundException"))
    );
    let (status, err) = s
        .emu
        .call(
            "DeleteService",
            json!({"cluster": CLUSTER, "service": CLIENT}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "InvalidParameterException");
    // A load balancer naming a container port the definition lacks.
    let (status, err) = s
        .emu
        .call(
            "CreateService",
            json!({"cluster": CLUSTER, "serviceName": "bad", "taskDefinition": NODE_TD, "desiredCount": 1,
                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "node-john", "containerPort": 4000}]}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("container port 4000"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkilled_task_is_replaced_and_clients_see_no_errors() {
    if !docker_or_skip("sigkilled_task_is_replaced_and_clients_see_no_errors") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let before = s.tasks(&node).await;
    let victim = before[0]["taskArn"].as_str().unwrap().to_string();
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;

    let load = Load::start(format!("{}/ping", s.listener), 4, "pong");
    load.reached(50).await;
    let out = s.cli(&["kill", &victim]);
    assert!(out.contains("sent SIGKILL"), "{out}");
    let t = s.emu.wait_task(CLUSTER, &victim, "STOPPED", T).await;
    // The container's death is the cause, even when under load the
    // balancer sees the target fail before the engine sees the exit.
    assert_eq!(t["stopCode"], "EssentialContainerExited", "{t:#}");
    assert_eq!(
        t["stoppedReason"], "Essential container in task exited",
        "{t:#}"
    );
    let node = s
        .wait(NODE, "replacement", |v| {
            v["runningCount"] == 2
                && messages(v)
                    .first()
                    .is_some_and(|m| m.ends_with("has reached a steady state."))
                && messages(v)
                    .iter()
                    .filter(|m| m.contains("has started 1 tasks"))
                    .count()
                    >= 1
        })
        .await;
    // Keep the load on the healed service for a while.
    load.reached(load.total() + 200).await;
    let (ok, failed, errors) = load.finish().await;
    assert!(ok > 250, "the load ran: {ok}");
    assert_eq!(failed, 0, "client errors during self-healing: {errors:?}");
    let after: BTreeSet<String> = s
        .tasks(&node)
        .await
        .iter()
        .map(|t| t["taskArn"].as_str().unwrap().to_string())
        .collect();
    assert!(!after.contains(&victim));
    assert_eq!(after.len(), 2);
    // The target group followed: two healthy targets, the dead one gone.
    assert_eq!(s.target_states(&tg).await, vec!["healthy"; 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_deployment_under_load_fails_no_request() {
    if !docker_or_skip("rolling_deployment_under_load_fails_no_request") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let old: Vec<String> = s
        .tasks(&node)
        .await
        .iter()
        .map(|t| t["taskArn"].as_str().unwrap().to_string())
        .collect();
    let rev2 = node_revision(&s, |john| {
        john["environment"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "RELEASE", "value": "2"}));
    })
    .await;

    let load = Load::start(format!("{}/ping", s.listener), 6, "pong");
    load.reached(50).await;
    let started = Instant::now();
    let before = load.total();
    let up = s
        .update(json!({"service": NODE, "taskDefinition": rev2}))
        .await;
    assert_eq!(up["deployments"][0]["status"], "PRIMARY");
    assert_eq!(up["deployments"][0]["rolloutState"], "IN_PROGRESS");
    assert_eq!(up["deployments"][1]["status"], "ACTIVE");
    let done = s
        .wait(NODE, "rollout COMPLETED", |v| {
            v["deployments"].as_array().unwrap().len() == 1
                && v["deployments"][0]["taskDefinition"] == rev2.as_str()
                && v["deployments"][0]["rolloutState"] == "COMPLETED"
                && v["runningCount"] == 2
        })
        .await;
    let took = started.elapsed();
    let during = load.total() - before;
    assert!(during > 0, "no request during the deployment");
    load.reached(5000).await;
    let (ok, failed, errors) = load.finish().await;
    eprintln!(
        "rolling deployment took {took:?} ({during} requests meanwhile); {ok} requests ok, {failed} failed"
    );
    assert!(ok >= 5000);
    assert_eq!(
        failed, 0,
        "failed requests during the deployment: {errors:?}"
    );
    for arn in &old {
        let t = s.emu.wait_task(CLUSTER, arn, "STOPPED", T).await;
        assert_eq!(t["stopCode"], "ServiceSchedulerInitiated");
    }
    let msgs = messages(&s.steady(NODE, 2).await);
    let completed = msgs
        .iter()
        .position(|m| m.contains("deployment completed."))
        .expect("completed event");
    let steady = msgs
        .iter()
        .position(|m| m.ends_with("has reached a steady state."))
        .unwrap();
    assert!(
        steady < completed,
        "steady state after completion: {msgs:#?}"
    );
    assert!(
        msgs.iter()
            .filter(|m| m.contains("has begun draining connections on 1 tasks."))
            .count()
            >= 2
    );
    assert_eq!(done["taskDefinition"], rev2.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_deployment_trips_the_circuit_breaker_and_rolls_back() {
    if !docker_or_skip("failing_deployment_trips_the_circuit_breaker_and_rolls_back") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let good = node["taskDefinition"].as_str().unwrap().to_string();
    // node-john listens on another port: the target group's check fails.
    let bad = node_revision(&s, |john| {
        john["environment"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "BIND_ADDR", "value": "0.0.0.0:3001"}));
    })
    .await;
    let load = Load::start(format!("{}/ping", s.listener), 3, "pong");
    s.update(json!({"service": NODE, "taskDefinition": bad}))
        .await;
    let back = s
        .wait(NODE, "rollback", |v| {
            messages(v)
                .iter()
                .any(|m| m.contains("rolling back to deployment"))
                && v["deployments"][0]["taskDefinition"] == good.as_str()
                && v["deployments"][0]["rolloutState"] == "COMPLETED"
                && v["runningCount"] == 2
        })
        .await;
    let (ok, failed, errors) = load.finish().await;
    assert!(ok > 50);
    assert_eq!(failed, 0, "the service must answer throughout: {errors:?}");
    let msgs = messages(&back);
    assert!(
        msgs.iter()
            .any(|m| m.contains("deployment failed: tasks failed to start.")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("failed ELB health checks")),
        "{msgs:#?}"
    );
    assert_eq!(back["taskDefinition"], good.as_str());
    // Only tasks of the good revision remain.
    let tasks = s.tasks(&back).await;
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    for t in tasks {
        assert_eq!(t["taskDefinitionArn"], good.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn draining_instance_loses_its_service_tasks_to_the_other() {
    if !docker_or_skip("draining_instance_loses_its_service_tasks_to_the_other") {
        return;
    }
    let s = up().await;
    s.steady(CLIENT, 1).await;
    let node = s.steady(NODE, 1).await;
    let task = s.tasks(&node).await[0].clone();
    let instance = task["containerInstanceArn"].as_str().unwrap().to_string();
    let load = Load::start(format!("{}/ping", s.listener), 2, "pong");
    let v = s
        .emu
        .ok(
            "UpdateContainerInstancesState",
            json!({"cluster": CLUSTER, "containerInstances": [instance], "status": "DRAINING"}),
        )
        .await;
    assert_eq!(v["containerInstances"][0]["status"], "DRAINING");
    let node = s
        .wait(NODE, "moved", |v| {
            v["runningCount"] == 1
                && messages(v)
                    .first()
                    .is_some_and(|m| m.ends_with("has reached a steady state."))
                && messages(v)
                    .iter()
                    .any(|m| m.contains("has stopped 1 running tasks"))
        })
        .await;
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    let moved = s.tasks(&node).await;
    assert_eq!(moved.len(), 1);
    assert_ne!(moved[0]["containerInstanceArn"], instance.as_str());
    // The client service's task (if it was there) moves too.
    s.steady(CLIENT, 1).await;
    let left_running = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "containerInstance": instance}),
        )
        .await;
    assert!(
        left_running["taskArns"].as_array().unwrap().is_empty(),
        "{left_running}"
    );
}
