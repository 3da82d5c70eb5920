//! On Docker: a service whose image is missing fails fast and is throttled
//! as ECS throttles it. The image is named like one of the project's but
//! misspelled (`pingpong-nod`): it is not one the project builds, so no
//! build script runs (it used to, on every attempt), the tasks stop at once
//! with CannotPullContainerError, and after three failures in a row the
//! launches wait (5 s, then 10 s, ...) instead of one every pass. A
//! project image whose build fails is built once, never again in that run.
//!
//! The emulator's repository root is a stand-in whose
//! `docker/build-images.sh` writes down each run and fails.

mod common;

use std::time::{Duration, Instant};

use common::{docker_or_skip, event_messages, Emulator};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

const THROTTLED: &str = "(service typo) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

async fn service(emu: &Emulator) -> Value {
    emu.ok(
        "DescribeServices",
        json!({"cluster": "c", "services": ["typo"]}),
    )
    .await["services"][0]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_images_fail_fast_build_at_most_once_and_are_throttled() {
    if !docker_or_skip("missing_images_fail_fast_build_at_most_once_and_are_throttled") {
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let script = repo.path().join("docker/build-images.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    let ran = repo.path().join("ran");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\necho 'no cargo here' >&2\nexit 1\n",
            ran.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The only test in this binary: no other thread reads the environment.
    std::env::set_var("EMULATOR_REPO_ROOT", repo.path());
    let runs = || std::fs::read_to_string(&ran).unwrap_or_default();

    // A pass every 100 ms: without the throttle, a launch every pass or two.
    let emu = Emulator::up(&["--no-stack", "--service-interval-ms", "100"]).await;
    emu.cluster("c").await;
    emu.ok(
        "RegisterTaskDefinition",
        json!({"family": "typo", "containerDefinitions": [
            {"name": "app", "image": "pingpong-nod:latest", "memoryReservation": 32}
        ]}),
    )
    .await;
    let t0 = Instant::now();
    emu.ok(
        "CreateService",
        json!({"cluster": "c", "serviceName": "typo", "taskDefinition": "typo", "desiredCount": 1}),
    )
    .await;

    // The first task stops at once, for the missing image itself, not for
    // a build (which takes seconds even when everything is cached).
    let stopped = loop {
        let list = emu
            .ok(
                "ListTasks",
                json!({"cluster": "c", "desiredStatus": "STOPPED"}),
            )
            .await;
        if let Some(arn) = list["taskArns"].as_array().and_then(|a| a.first()) {
            let v = emu
                .ok("DescribeTasks", json!({"cluster": "c", "tasks": [arn]}))
                .await;
            if v["tasks"][0]["lastStatus"] == "STOPPED" {
                break v["tasks"][0].clone();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(4),
            "no task stopped within 4 s (a build running?)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let reason = stopped["stoppedReason"].as_str().unwrap_or_default();
    assert_eq!(stopped["stopCode"], "TaskFailedToStart", "{stopped:#}");
    assert!(
        reason.starts_with("CannotPullContainerError: pull access denied for pingpong-nod:latest"),
        "{reason}"
    );

    // Over 7 s: three launches at once, then a wait of 5 s, so four (five
    // at most); every pass would have launched one (dozens).
    tokio::time::sleep(Duration::from_secs(7).saturating_sub(t0.elapsed())).await;
    let v = service(&emu).await;
    let msgs = event_messages(&v);
    let launched = msgs
        .iter()
        .filter(|m| m.starts_with("(service typo) has started 1 tasks"))
        .count();
    assert!(
        (3..=5).contains(&launched),
        "{launched} launches in 7 s: {msgs:#?}"
    );
    assert!(msgs.iter().any(|m| m == THROTTLED), "{msgs:#?}");
    assert_eq!(runs(), "", "no build for a look-alike");

    // One of ours (a tag the script would make) whose build fails: the
    // script runs for the first task only; the others get its error at once.
    emu.ok(
        "RegisterTaskDefinition",
        json!({"family": "ours", "containerDefinitions": [
            {"name": "app", "image": "pingpong-node:0000000", "memoryReservation": 32}
        ]}),
    )
    .await;
    let mut reasons = Vec::new();
    for _ in 0..3 {
        let run = emu
            .ok("RunTask", json!({"cluster": "c", "taskDefinition": "ours"}))
            .await;
        let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
        let t = emu
            .wait_task("c", &arn, "STOPPED", Duration::from_secs(10))
            .await;
        reasons.push(t["stoppedReason"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(runs(), "node\n", "built once: {reasons:#?}");
    for r in &reasons {
        assert!(
            r.starts_with(
                "CannotPullContainerError: building project image pingpong-node:0000000 failed"
            ),
            "{reasons:#?}"
        );
    }
    assert!(
        reasons[1].contains("builds run once per emulator run"),
        "{reasons:#?}"
    );
}
