//! A cluster of two Docker engines: the local one and a second engine of
//! the test's own in a network namespace (another "host", see
//! `common/second_engine.rs`). The tutorial's stack spread over both serves
//! `/start`; the second engine stopping under load loses no request, its
//! instance disconnects, its task stops as on a terminated host and the
//! service is whole again on the first engine; the engine's return
//! reconnects the instance and removes what was left there; a restart of
//! the emulator adopts the containers of both engines.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::second_engine::{second_engine_or_skip, SecondEngine};
use common::stack::{self, Load, Stack, CLUSTER, NODE, NODE_TD};
use common::{docker_or_skip, START_BODY};
use pingpong_tests::webdriver::eventually;
use serde_json::{json, Value};

const DOCKER_HOST: &str = "emulator.docker-host";
const LABEL: &str = "com.pingpong.emulator.instance";
const FAMILY: &str = "com.pingpong.emulator.task-definition";

/// The cluster's instances (DescribeContainerInstances).
async fn instances(s: &Stack) -> Vec<Value> {
    let arns = s
        .emu
        .ok("ListContainerInstances", json!({"cluster": CLUSTER}))
        .await["containerInstanceArns"]
        .clone();
    s.emu
        .ok(
            "DescribeContainerInstances",
            json!({"cluster": CLUSTER, "containerInstances": arns}),
        )
        .await["containerInstances"]
        .as_array()
        .unwrap()
        .clone()
}

fn docker_host(ci: &Value) -> Option<&str> {
    ci["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == DOCKER_HOST)?["value"]
        .as_str()
}

/// The instance on the second engine.
async fn remote_instance(s: &Stack) -> Value {
    instances(s)
        .await
        .into_iter()
        .find(|i| docker_host(i).is_some())
        .expect("an instance on the second engine")
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("the listener answers");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Waits until the second engine's instance shows `agentConnected: want`.
async fn agent_connected(s: &Stack, want: bool) {
    eventually(
        &format!("agentConnected {want}"),
        Duration::from_secs(30),
        || async { (remote_instance(s).await["agentConnected"] == want).then_some(()) },
    )
    .await;
}

/// Starts the second engine again: its instance reconnects and the
/// containers of tasks that stopped meanwhile (`mine`: this emulator's
/// label) are removed.
async fn engine_returns(s: &Stack, engine: &mut SecondEngine, mine: &[&str]) {
    engine.restart().await;
    agent_connected(s, true).await;
    eventually(
        "the strays are removed",
        Duration::from_secs(30),
        || async { engine.containers(mine).is_empty().then_some(()) },
    )
    .await;
}

/// The task ARNs of the node service, by the instance each runs on.
async fn node_tasks(s: &Stack) -> Vec<(String, String)> {
    let node = s.service(NODE).await;
    s.tasks(&node)
        .await
        .iter()
        .filter(|t| t["lastStatus"] == "RUNNING")
        .map(|t| {
            (
                t["taskArn"].as_str().unwrap().to_string(),
                t["containerInstanceArn"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_of_two_engines_serves_fails_over_recovers_and_is_adopted() {
    let name = "a_cluster_of_two_engines_serves_fails_over_recovers_and_is_adopted";
    if !docker_or_skip(name) || !second_engine_or_skip(name) {
        return;
    }
    // Declared first: dropped last, after the emulator's `down` ran on it.
    let mut engine = SecondEngine::start().await;
    let endpoint = engine.endpoint.clone();
    let tls_dir = engine.tls_dir.display().to_string();
    let mut s = stack::up_with(
        |stack| {
            stack["cluster"]["containerInstances"] = json!([
                {"instanceType": "t2.large", "availabilityZone": "us-east-1a"},
                {"availabilityZone": "us-east-1b", "dockerHost": endpoint, "dockerCertPath": tls_dir},
            ]);
            for svc in stack["services"].as_array_mut().unwrap() {
                if svc["serviceName"] == NODE {
                    svc["desiredCount"] = json!(2);
                }
                svc["placementStrategy"] =
                    json!([{"type": "spread", "field": "attribute:ecs.availability-zone"}]);
            }
        },
        &["--instance-check-secs", "0.5", "--instance-grace-secs", "3"],
    )
    .await;
    let label = format!("{LABEL}={}", s.emu.instance());
    let node_label = format!("{FAMILY}={NODE_TD}:1");
    let (mine, node) = ([label.as_str()], [label.as_str(), node_label.as_str()]);

    // The second engine registered what it has, with no instance type.
    let remote = remote_instance(&s).await;
    let remote_arn = remote["containerInstanceArn"].as_str().unwrap().to_string();
    let cpus = std::thread::available_parallelism().unwrap().get() as i64;
    let cpu = remote["registeredResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "CPU")
        .unwrap()["integerValue"]
        .as_i64();
    assert_eq!(cpu, Some(cpus * 1024), "{remote:#}");
    assert_eq!(remote["agentConnected"], true);

    // Spread over both engines: one node task on each, and /start answers
    // from both (the balancer reaches the second engine's host port at its
    // address; its images came from the emulator's registry).
    s.steady(NODE, 2).await;
    let tasks = node_tasks(&s).await;
    let on: BTreeSet<&str> = tasks.iter().map(|(_, i)| i.as_str()).collect();
    assert_eq!(on.len(), 2, "one node task per instance: {tasks:?}");
    assert!(on.contains(remote_arn.as_str()));
    assert_eq!(
        engine.running(&node).len(),
        4,
        "the node task's four containers run on the second engine"
    );
    for _ in 0..6 {
        let (status, body) = get(&format!("{}/start", s.listener)).await;
        assert_eq!((status, body.as_str()), (200, START_BODY));
    }
    let pulled = engine.docker(&["images", "--format", "{{.Repository}}"]);
    let pulled = String::from_utf8_lossy(&pulled.stdout);
    assert!(
        pulled.contains(&format!("{}:", engine.host_ip))
            && pulled.contains("microservice-ping-pong/node"),
        "the second engine pulled from the registry at this host's address: {pulled}"
    );

    // The second engine stops under load (`systemctl stop docker`: its
    // containers stop, then it goes): no request is lost, its instance
    // disconnects, its service task stops (its containers seen exiting, or
    // its health checks failing, or the host lost, whichever comes first),
    // and the service is back at two tasks on the first engine.
    let remote_task = tasks
        .iter()
        .find(|(_, i)| *i == remote_arn)
        .unwrap()
        .0
        .clone();
    let load = Load::start(format!("{}/ping", s.listener), 4, "pong");
    load.reached(100).await;
    let stopped_at = std::time::Instant::now();
    engine.stop();
    agent_connected(&s, false).await;
    let t = s
        .emu
        .wait_task(CLUSTER, &remote_task, "STOPPED", Duration::from_secs(120))
        .await;
    let reason = t["stoppedReason"].as_str().unwrap_or("");
    assert!(
        [
            "Essential container in task exited",
            "Task failed ELB health checks",
            "Host EC2"
        ]
        .iter()
        .any(|r| reason.starts_with(r)),
        "{t:#}"
    );
    eventually("two node tasks on the first engine", stack::T, || async {
        let tasks = node_tasks(&s).await;
        (tasks.len() == 2 && tasks.iter().all(|(_, i)| *i != remote_arn)).then_some(())
    })
    .await;
    let healed = stopped_at.elapsed();
    load.reached(load.total() + 200).await;
    let (ok, failed, errors) = load.finish().await;
    eprintln!(
        "the second engine stopped under load: {ok} requests answered, {failed} failed; \
         two node tasks on the first engine again {healed:.1?} after the stop began"
    );
    assert!(ok > 300, "the load ran: {ok}");
    assert_eq!(
        failed, 0,
        "requests lost when the engine stopped: {errors:?}"
    );
    let (status, body) = get(&format!("{}/start", s.listener)).await;
    assert_eq!((status, body.as_str()), (200, START_BODY));

    // The engine is back: its instance reconnects, and the stopped task's
    // containers (stopped with the engine, still there) are removed.
    let kept = std::fs::read_dir(engine.dir().join("root/containers"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(kept > 0, "the stopped engine kept its containers");
    engine_returns(&s, &mut engine, &mine).await;

    // The host fails (its engine killed: nothing seen exiting, its
    // containers run on unwatched): a task there stops as on a terminated
    // EC2 host after the grace; when the engine is back, its container,
    // of a task that stopped, is removed.
    let standalone = s
        .emu
        .ok(
            "StartTask",
            json!({"cluster": CLUSTER, "taskDefinition": "microservice-ping-pong-client-td",
                   "containerInstances": [remote_arn]}),
        )
        .await["tasks"][0]["taskArn"]
        .as_str()
        .unwrap()
        .to_string();
    s.emu
        .wait_task(CLUSTER, &standalone, "RUNNING", Duration::from_secs(120))
        .await;
    engine.crash();
    let t = s
        .emu
        .wait_task(CLUSTER, &standalone, "STOPPED", Duration::from_secs(60))
        .await;
    let ec2 = remote["ec2InstanceId"].as_str().unwrap();
    assert_eq!(
        t["stoppedReason"],
        format!("Host EC2 (instance {ec2}) stopped/terminated."),
        "{t:#}"
    );
    assert_eq!(t["stopCode"], "TerminationNotice");
    assert_eq!(remote_instance(&s).await["agentConnected"], false);
    engine_returns(&s, &mut engine, &mine).await;

    // A third task goes to the second engine (the spread over zones);
    // then the emulator is killed and started again: it adopts the tasks
    // of both engines, their containers untouched.
    s.update(json!({"service": NODE, "desiredCount": 3})).await;
    s.steady(NODE, 3).await;
    let before: BTreeSet<(String, String)> = node_tasks(&s).await.into_iter().collect();
    assert!(
        before.iter().any(|(_, i)| *i == remote_arn),
        "a task on the second engine again: {before:?}"
    );
    let remote_containers = engine.running(&node);
    assert_eq!(remote_containers.len(), 4);
    let args: Vec<String> = s.args.clone();
    s.emu
        .restart(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    s.listener = stack::listener_of(&s.emu).await;
    s.steady(NODE, 3).await;
    let after: BTreeSet<(String, String)> = node_tasks(&s).await.into_iter().collect();
    assert_eq!(before, after, "the same tasks, adopted");
    assert_eq!(
        engine.running(&node),
        remote_containers,
        "the second engine's containers were adopted, not replaced"
    );
    for _ in 0..6 {
        let (status, body) = get(&format!("{}/start", s.listener)).await;
        assert_eq!((status, body.as_str()), (200, START_BODY));
    }

    // The commands see the second engine's task: where it runs, its
    // counters and its output; and its instance, connected.
    let remote_task = after
        .iter()
        .find(|(_, i)| *i == remote_arn)
        .unwrap()
        .0
        .clone();
    let remote_id = remote_task.rsplit('/').next().unwrap().to_string();
    let ps = s.cli(&["ps"]);
    let row = ps
        .lines()
        .find(|l| l.contains(&remote_id))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(row.contains(&engine.endpoint), "{ps}");
    let stats = s.cli(&["stats"]);
    assert!(stats.contains(&remote_id[..8]), "{stats}");
    let logs = s.cli(&["logs", &remote_id]);
    assert!(logs.contains("listening"), "{logs}");
    let ls = s.cli(&["instance", "ls"]);
    let row = ls
        .lines()
        .find(|l| l.contains(&engine.endpoint))
        .unwrap_or_else(|| panic!("{ls}"));
    assert!(row.contains("connected") && row.contains("ACTIVE"), "{ls}");

    // `instance add` registers another instance on an engine, with what
    // that engine has; an engine that does not answer is refused in one
    // line.
    let added = s.cli(&[
        "instance",
        "add",
        "--docker-host",
        &engine.endpoint,
        "--tls-cert-path",
        &engine.tls_dir.display().to_string(),
        "--zone",
        "us-east-1c",
    ]);
    assert!(
        added.contains("registered") && added.contains(&format!("{} CPU units", cpus * 1024)),
        "{added}"
    );
    let refused = std::process::Command::new(common::BIN)
        .args(["--endpoint", &s.emu.endpoint, "instance", "add"])
        .args(["--docker-host", "tcp://127.0.0.1:9"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("does not answer"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let ci = instances(&s)
        .await
        .into_iter()
        .find(|i| i["attributes"].to_string().contains("us-east-1c"))
        .expect("the added instance");
    let id = ci["containerInstanceArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    s.cli(&["instance", "remove", &id]);

    // Draining the second engine's instance moves its service task.
    let remote_ci = remote_arn.rsplit('/').next().unwrap();
    s.cli(&["instance", "drain", remote_ci]);
    eventually(
        "the task moved off the drained instance",
        stack::T,
        || async {
            let tasks = node_tasks(&s).await;
            (tasks.len() == 3 && tasks.iter().all(|(_, i)| *i != remote_arn)).then_some(())
        },
    )
    .await;
    eventually(
        "its containers are gone",
        Duration::from_secs(60),
        || async { engine.containers(&mine).is_empty().then_some(()) },
    )
    .await;

    // `down` removes what the emulator made on both engines.
    // A rolling deployment across both engines, scaling out to four,
    // under load: no request fails, and the new tasks run on both.
    s.cli(&["instance", "activate", remote_ci]);
    let load = Load::start(format!("{}/start", s.listener), 2, START_BODY);
    load.reached(50).await;
    s.update(json!({"service": NODE, "desiredCount": 4, "forceNewDeployment": true}))
        .await;
    s.steady(NODE, 4).await;
    let (ok, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "requests failed in the deployment: {errors:?}");
    eprintln!("rolling deployment over both engines: {ok} requests answered, {failed} failed");
    let deployed = node_tasks(&s).await;
    assert!(
        deployed.iter().all(|t| !after.contains(t)),
        "every task replaced: {deployed:?}"
    );
    let on: BTreeSet<&str> = deployed.iter().map(|(_, i)| i.as_str()).collect();
    assert_eq!(on.len(), 2, "on both engines: {deployed:?}");
    assert!(!engine.containers(&mine).is_empty());
    // The registry listened on another port after the restart: the
    // local tags of both go too.
    let ports = std::fs::read_to_string(s.emu.data_dir.join("registry/endpoint")).unwrap();
    let ports: Vec<&str> = ports.lines().collect();
    assert_eq!(ports.len(), 2, "{ports:?}");
    let out = std::process::Command::new(common::BIN)
        .args(["--data-dir", s.emu.data_dir.to_str().unwrap(), "down"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        engine.containers(&mine).is_empty(),
        "{:?}",
        engine.containers(&mine)
    );
    assert!(s.emu.containers().is_empty(), "{:?}", s.emu.containers());
    let images = std::process::Command::new("docker")
        .args(["images", "--format", "{{.Repository}}"])
        .output()
        .unwrap();
    let images = String::from_utf8_lossy(&images.stdout);
    for port in ports {
        assert!(
            !images.lines().any(|i| i.starts_with(&format!("{port}/"))),
            "tags of the registry at {port} left: {images}"
        );
    }
}
