//! The emulator on real Docker: tasks, links, failures, adoption, `down`,
//! the AWS CLI. Each test runs its own emulator process (own data
//! directory, own instance id, free API port) and removes everything it
//! made, also on failure (the `Emulator` guard runs `emulator down`).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{docker_or_skip, host_port, node_task_definition, Emulator};
use serde_json::json;

// Generous: the first task may have to build the project images.
const T: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread")]
async fn register_run_gives_dynamic_ports_and_links_work() {
    if !docker_or_skip("register_run_gives_dynamic_ports_and_links_work") {
        return;
    }
    let emu = Emulator::up(&["--no-stack"]).await;
    emu.cluster("c1").await;
    // awslogs delivery modes: node-paul asks for blocking, node-ringo for a
    // bigger buffer; the others take the account's default (non-blocking).
    let mut def = node_task_definition("node-links");
    for c in def["containerDefinitions"].as_array_mut().unwrap() {
        let name = c["name"].as_str().unwrap().to_string();
        let options = &mut c["logConfiguration"]["options"];
        match name.as_str() {
            "node-paul" => options["mode"] = json!("blocking"),
            "node-ringo" => options["max-buffer-size"] = json!("4m"),
            _ => {}
        }
    }
    let td = emu.ok("RegisterTaskDefinition", def).await;
    assert_eq!(td["taskDefinition"]["revision"], 1);
    let run = emu
        .ok(
            "RunTask",
            json!({"cluster": "c1", "taskDefinition": "node-links"}),
        )
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let task = emu.wait_task("c1", &arn, "RUNNING", T).await;
    let port = host_port(&task, "node-john");
    assert_ne!(port, 3000, "dynamic host port");
    assert_eq!(
        task["containers"][0]["networkBindings"][0]["bindIP"],
        "127.0.0.1"
    );
    let body = reqwest::get(format!("http://127.0.0.1:{port}/start"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, common::START_BODY);
    let log_config = |name: &str| {
        let c = task["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let out = std::process::Command::new("docker")
            .args(["inspect", "-f", "{{json .HostConfig.LogConfig}}"])
            .arg(c["runtimeId"].as_str().unwrap())
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let john = log_config("node-john");
    assert_eq!(john["Config"]["mode"], "non-blocking", "{john}");
    assert!(
        !john["Type"].as_str().unwrap().is_empty(),
        "the engine's default driver: {john}"
    );
    assert_eq!(log_config("node-paul")["Config"]["mode"], "blocking");
    let ringo = log_config("node-ringo");
    assert_eq!(
        (
            &ringo["Config"]["mode"],
            &ringo["Config"]["max-buffer-size"]
        ),
        (&json!("non-blocking"), &json!("4m")),
        "{ringo}"
    );

    // A task that does not fit: not placed, with ECS's reason.
    let mut big = node_task_definition("too-big");
    big["containerDefinitions"][0]["memoryReservation"] = json!(4000);
    emu.ok("RegisterTaskDefinition", big).await;
    let run = emu
        .ok(
            "RunTask",
            json!({"cluster": "c1", "taskDefinition": "too-big"}),
        )
        .await;
    assert_eq!(run["tasks"].as_array().unwrap().len(), 0);
    assert_eq!(run["failures"][0]["reason"], "RESOURCE:MEMORY");
    let detail = run["failures"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("no container instance met all of its requirements"),
        "{detail}"
    );
    assert!(detail.contains("insufficient memory available"), "{detail}");

    // An image nobody can pull: CannotPullContainerError naming it.
    emu.ok(
        "RegisterTaskDefinition",
        json!({"family": "nopull", "containerDefinitions": [{"name": "x", "image": "no-such-image:1", "memory": 32}]}),
    )
    .await;
    let run = emu
        .ok(
            "RunTask",
            json!({"cluster": "c1", "taskDefinition": "nopull"}),
        )
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let t = emu.wait_task("c1", &arn, "STOPPED", T).await;
    let reason = t["stoppedReason"].as_str().unwrap();
    assert!(
        reason.starts_with("CannotPullContainerError") && reason.contains("no-such-image:1"),
        "{reason}"
    );
    assert_eq!(t["stopCode"], "TaskFailedToStart");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_of_an_essential_container_stops_the_task() {
    if !docker_or_skip("sigkill_of_an_essential_container_stops_the_task") {
        return;
    }
    let emu = Emulator::up(&["--no-stack"]).await;
    emu.cluster("c2").await;
    emu.ok("RegisterTaskDefinition", node_task_definition("node-kill"))
        .await;
    let run = emu
        .ok(
            "RunTask",
            json!({"cluster": "c2", "taskDefinition": "node-kill"}),
        )
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu.wait_task("c2", &arn, "RUNNING", T).await;
    let paul = common::task_container(&arn, "node-paul");
    assert!(!paul.is_empty());
    let killed_at = std::time::Instant::now();
    assert!(Command::new("docker")
        .args(["kill", "-s", "KILL", &paul])
        .status()
        .unwrap()
        .success());
    let t = emu.wait_task("c2", &arn, "STOPPED", T).await;
    eprintln!("task STOPPED {:?} after SIGKILL", killed_at.elapsed());
    assert_eq!(t["stoppedReason"], "Essential container in task exited");
    assert_eq!(t["stopCode"], "EssentialContainerExited");
    let paul = t["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "node-paul")
        .unwrap();
    assert_eq!(paul["exitCode"], 137);
    assert_eq!(paul["lastStatus"], "STOPPED");
    assert!(emu.containers().is_empty(), "the other containers are gone");
    assert!(emu.networks().is_empty(), "the task network is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_of_the_emulator_then_restart_adopts_and_down_removes_everything() {
    if !docker_or_skip("sigkill_of_the_emulator_then_restart_adopts_and_down_removes_everything") {
        return;
    }
    let mut emu = Emulator::up(&[]).await; // the default stack
    let cluster = "microservice-ping-pong-cluster";
    let list = emu.ok("ListTasks", json!({"cluster": cluster})).await;
    let arns: Vec<String> = list["taskArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(arns.len(), 2, "one client task and one node task");
    for a in &arns {
        emu.wait_task(cluster, a, "RUNNING", T).await;
    }
    let mut before = emu.containers();
    before.sort();
    assert_eq!(before.len(), 5);

    emu.kill();
    let dir = emu.data_dir.clone();
    let mut restarted = Emulator::start_on(&dir, &[]).await;
    // `emu` owns the process and the cleanup from here on.
    emu.child = restarted.child.take();
    emu.endpoint = restarted.endpoint.clone();
    restarted.data_dir = std::path::PathBuf::new();
    drop(restarted);
    let list = emu.ok("ListTasks", json!({"cluster": cluster})).await;
    let mut after_arns: Vec<String> = list["taskArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    after_arns.sort();
    let mut arns_sorted = arns.clone();
    arns_sorted.sort();
    assert_eq!(after_arns, arns_sorted, "same tasks, no new ones");
    let mut node_port = 0;
    for a in &arns {
        let t = emu.wait_task(cluster, a, "RUNNING", T).await;
        if t["taskDefinitionArn"].as_str().unwrap().contains("node-td") {
            node_port = host_port(&t, "node-john");
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut after = emu.containers();
    after.sort();
    assert_eq!(after, before, "the same containers, no duplicates");
    let body = reqwest::get(format!("http://127.0.0.1:{node_port}/start"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, common::START_BODY);

    // The listeners' process outlived the SIGKILL and was adopted.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("balancer")).unwrap()).unwrap();
    let pid = record["pid"].as_u64().unwrap();
    // `down`: stops the emulator, removes every labelled object.
    let out = Command::new(common::BIN)
        .args(["--data-dir", dir.to_str().unwrap(), "down"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(emu.containers().is_empty());
    assert!(emu.networks().is_empty());
    // ... and stops the balancer process.
    assert!(!dir.join("balancer").exists());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
        "the balancer process {pid} still runs: {stat}"
    );
    let exited = emu.child.as_mut().unwrap().wait().unwrap();
    assert!(
        exited.success(),
        "the emulator stopped cleanly on down: {exited}"
    );
    emu.child = None;
}

#[test]
fn no_engine_gives_one_clear_line_and_a_failure_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(common::BIN)
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "up",
            "--api-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    assert!(
        lines[0].contains("Docker engine") && lines[0].contains("nonexistent.sock"),
        "{stderr}"
    );
}

#[test]
fn cli_commands_without_a_running_emulator_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for command in [&["ps"][..], &["logs", "node-service"], &["services"]] {
        let out = Command::new(common::BIN)
            .args([
                "--data-dir",
                dir.path().to_str().unwrap(),
                "--endpoint",
                "http://127.0.0.1:9",
            ])
            .args(command)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no emulator is running"),
            "{command:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{command:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_round_trip() {
    if !docker_or_skip("aws_cli_round_trip") {
        return;
    }
    if !common::have_aws_cli("aws_cli_round_trip") {
        return;
    }
    let emu = Emulator::up(&["--no-stack"]).await;
    emu.cluster("default").await;
    let dir = tempfile::tempdir().unwrap();
    let td_file = dir.path().join("td.json");
    std::fs::write(&td_file, node_task_definition("node-cli").to_string()).unwrap();
    let aws = |args: &[&str]| {
        let mut all = vec!["ecs"];
        all.extend_from_slice(args);
        common::aws_cli(&emu.endpoint, &all)
    };
    let reg = aws(&[
        "register-task-definition",
        "--cli-input-json",
        &format!("file://{}", td_file.display()),
    ]);
    assert_eq!(reg["taskDefinition"]["family"], "node-cli");
    let run = aws(&["run-task", "--task-definition", "node-cli"]);
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let t = emu.wait_task("default", &arn, "RUNNING", T).await;
    let described = aws(&["describe-tasks", "--tasks", &arn]);
    assert_eq!(described["tasks"][0]["lastStatus"], "RUNNING");
    assert_eq!(
        described["tasks"][0]["containers"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        host_port(&described["tasks"][0], "node-john"),
        host_port(&t, "node-john")
    );
    let stopped = aws(&["stop-task", "--task", &arn, "--reason", "done"]);
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
    let t = emu.wait_task("default", &arn, "STOPPED", T).await;
    assert_eq!(t["stoppedReason"], "done");
    assert_eq!(t["stopCode"], "UserInitiated");
    // ECS errors reach the CLI as ECS errors.
    let out = common::aws_output(
        &emu.endpoint,
        &[
            "ecs",
            "run-task",
            "--task-definition",
            "nope",
            "--cluster",
            "missing",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ClusterNotFoundException"));
}
