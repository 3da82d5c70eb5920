//! The store as a user meets it, on the real emulator process: what was
//! acknowledged survives a SIGKILL, one emulator per data directory, an
//! unknown state format is refused, containers the state does not know are
//! removed on start, and `down` finds the instance without `--name`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker_or_skip, node_task_definition, raw_call, Emulator, BIN};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(120);

async fn call(endpoint: &str, target: &str, body: Value) -> (u16, Value) {
    raw_call(endpoint, Some(target), body.to_string()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_a_sigkill_right_after_the_burst() {
    if !docker_or_skip("every_acknowledged_write_survives_a_sigkill_right_after_the_burst") {
        return;
    }
    let mut emu = Emulator::up(&["--no-stack"]).await;
    // 16 clients write task definitions, parameters and log groups at once.
    let mut clients = Vec::new();
    for c in 0..16 {
        let endpoint = emu.endpoint.clone();
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..12 {
                let (target, body, what) = match i % 3 {
                    0 => (
                        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
                        node_task_definition(&format!("burst-{c}")),
                        format!("td burst-{c}"),
                    ),
                    1 => (
                        "AmazonSSM.PutParameter",
                        json!({"Name": format!("/burst/{c}/{i}"), "Value": format!("v{i}"), "Type": "String"}),
                        format!("param /burst/{c}/{i}"),
                    ),
                    _ => (
                        "Logs_20140328.CreateLogGroup",
                        json!({"logGroupName": format!("/burst/{c}/{i}")}),
                        format!("group /burst/{c}/{i}"),
                    ),
                };
                let (status, v) = call(&endpoint, target, body).await;
                assert_eq!(status, 200, "{what}: {v}");
                acked.push(what);
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    // The moment the last answer is in: no chance to flush anything more.
    emu.kill();
    let dir = emu.data_dir.clone();
    let restarted = Emulator::start_on(&dir, &["--no-stack"]).await;
    let ep = restarted.endpoint.clone();
    for what in &acked {
        let (kind, name) = what.split_once(' ').unwrap();
        let (status, v) = match kind {
            "td" => {
                call(
                    &ep,
                    "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
                    json!({"taskDefinition": name}),
                )
                .await
            }
            "param" => call(&ep, "AmazonSSM.GetParameter", json!({"Name": name})).await,
            _ => {
                call(
                    &ep,
                    "Logs_20140328.DescribeLogGroups",
                    json!({"logGroupNamePrefix": name}),
                )
                .await
            }
        };
        assert_eq!(status, 200, "{what} lost after SIGKILL: {v}");
        if kind == "group" {
            assert_eq!(v["logGroups"][0]["logGroupName"], name, "{what} lost: {v}");
        }
    }
    // Four task definition revisions per client, numbered 1..=4.
    let (_, v) = call(
        &ep,
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({"taskDefinition": "burst-3"}),
    )
    .await;
    assert_eq!(v["taskDefinition"]["revision"], 4, "{v}");
    drop(restarted);
    drop(emu);
}

#[tokio::test]
async fn a_second_up_on_the_same_data_directory_is_refused() {
    if !docker_or_skip("a_second_up_on_the_same_data_directory_is_refused") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_string();
    // Both started at the same moment: the lock, not a late endpoint
    // file, decides.
    let spawn = || {
        Command::new(BIN)
            .args([
                "--data-dir",
                &dir,
                "up",
                "--no-stack",
                "--api-addr",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut a = spawn();
    let mut b = spawn();
    let deadline = Instant::now() + T;
    let (loser, mut winner) = loop {
        if let Some(s) = a.try_wait().unwrap() {
            break ((s, a), b);
        }
        if let Some(s) = b.try_wait().unwrap() {
            break ((s, b), a);
        }
        assert!(Instant::now() < deadline, "neither emulator gave way");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (status, child) = loser;
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success());
    assert!(stderr.contains("in use by another emulator"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    // The winner runs on; `down` stops it.
    assert!(
        winner.try_wait().unwrap().is_none(),
        "the first one keeps running"
    );
    let down = Command::new(BIN)
        .args(["--data-dir", &dir, "down"])
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let _ = winner.wait();
}

#[test]
fn a_state_of_an_unknown_format_is_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("snapshot.json"),
        br#"{"format":99,"seq":1,"state":{}}"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            tmp.path().to_str().unwrap(),
            "up",
            "--no-stack",
        ])
        .args(["--api-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("format 99"), "{stderr}");
    assert!(stderr.contains("emulator down"), "{stderr}");
    // Nothing was started, and the state is untouched.
    assert!(!tmp.path().join("endpoint").exists());
    assert!(std::fs::read_to_string(tmp.path().join("snapshot.json"))
        .unwrap()
        .contains("99"));
}

#[tokio::test]
async fn containers_unknown_to_a_lost_state_are_removed_and_down_needs_no_name() {
    if !docker_or_skip("containers_unknown_to_a_lost_state_are_removed_and_down_needs_no_name") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let name = format!("lost-{}", std::process::id());
    let mut emu = Emulator::start_on(&dir, &["--no-stack"]).await;
    // `--name` is a global flag: this emulator labels its objects `name`.
    emu.kill();
    // Its balancer process outlives it; `down` stops it.
    let down = Command::new(BIN)
        .args(["--data-dir", dir.to_str().unwrap(), "down"])
        .output()
        .unwrap();
    assert!(down.status.success());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(BIN)
        .args([
            "--data-dir",
            dir.to_str().unwrap(),
            "--name",
            &name,
            "up",
            "--no-stack",
        ])
        .args(["--api-addr", "127.0.0.1:0", "--stop-timeout", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + T;
    let endpoint = loop {
        if let Ok(s) = std::fs::read_to_string(dir.join("endpoint")) {
            break s.trim().to_string();
        }
        assert!(Instant::now() < deadline, "emulator did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    emu.child = Some(child);
    emu.endpoint = endpoint;
    emu.cluster("c").await;
    emu.ok("RegisterTaskDefinition", node_task_definition("lost"))
        .await;
    let run = emu
        .ok("RunTask", json!({"cluster": "c", "taskDefinition": "lost"}))
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu.wait_task("c", &arn, "RUNNING", T).await;
    let labelled = |instance: &str| -> usize {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=com.pingpong.emulator.instance={instance}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert!(labelled(&name) > 0);
    // The emulator dies and its state is lost; the instance name stays.
    emu.kill();
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if n.starts_with("journal-") || n == "snapshot.json" {
            std::fs::remove_file(&p).unwrap();
        }
    }
    // Started again without --name: the recorded name is used, and the
    // container no state knows is removed, not left to run unseen.
    let mut again = Emulator::start_on(&dir, &["--no-stack"]).await;
    assert_eq!(labelled(&name), 0, "the orphaned container was removed");
    // Stopped without `down` (its Drop would run one): the name stays.
    again.kill();
    again.data_dir = std::path::PathBuf::new();
    // And `down` without --name finds the recorded instance too: a task
    // started now is removed by it.
    let mut emu2 = Emulator::start_on(&dir, &["--no-stack"]).await;
    emu2.cluster("c").await;
    emu2.ok("RegisterTaskDefinition", node_task_definition("lost"))
        .await;
    let run = emu2
        .ok("RunTask", json!({"cluster": "c", "taskDefinition": "lost"}))
        .await;
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu2.wait_task("c", &arn, "RUNNING", T).await;
    emu2.kill();
    assert!(labelled(&name) > 0);
    let out = Command::new(BIN)
        .args(["--data-dir", dir.to_str().unwrap(), "down"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(labelled(&name), 0, "down found the instance by itself");
    emu2.data_dir = std::path::PathBuf::new();
    emu.data_dir = std::path::PathBuf::new();
}
