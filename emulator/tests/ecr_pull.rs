//! ECS tasks pulling from the emulator's ECR, on Docker: an image pushed
//! with `docker login`/`docker push` and then removed from the engine runs
//! from a task definition that names it in the real ECR form
//! (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`), with pullStartedAt,
//! pullStoppedAt and the container's imageDigest (DescribeImages' digest);
//! a missing tag or repository stops the task with the agent's
//! CannotPullContainerError; a service that cannot pull says why in its
//! events and its launches are throttled rather than looping.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::registry::{docker, docker_login, node_image, registry_or_skip, text, Tags, ECR};
use common::{docker_or_skip, event_messages, Api, Emulator};
use serde_json::{json, Value};

fn one(family: &str, image: &str) -> Value {
    json!({"family": family, "containerDefinitions": [{
        "name": "app", "image": image, "memoryReservation": 32,
        "environment": [{"name": "PEERS", "value": ""}],
        "portMappings": [{"containerPort": 3000}]
    }]})
}

fn on_engine(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn run(emu: &Emulator, family: &str) -> String {
    let r = emu
        .ok("RunTask", json!({"cluster": "c", "taskDefinition": family}))
        .await;
    r["tasks"][0]["taskArn"]
        .as_str()
        .expect("placed")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_pull_ecr_images_by_their_real_uri_and_fail_as_ecs_when_missing() {
    let test = "tasks_pull_ecr_images_by_their_real_uri_and_fail_as_ecs_when_missing";
    if !docker_or_skip(test) || !registry_or_skip(test) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    // A service pass every 100 ms: without the throttle, a launch every
    // pass or two.
    let emu = Emulator::up(&[
        "--no-stack",
        "--registry-addr",
        "127.0.0.1:0",
        "--service-interval-ms",
        "100",
    ])
    .await;
    let api = Api::new(&emu.endpoint, ECR);
    let scope = format!("ecr-pull-{:x}", std::process::id());
    let repo_name = format!("{scope}/node");
    let repo = api
        .ok("CreateRepository", json!({"repositoryName": repo_name}))
        .await["repository"]
        .clone();
    let uri = repo["repositoryUri"].as_str().unwrap().to_string();
    let host = uri.split('/').next().unwrap().to_string();
    // arn:aws:ecr:REGION:ACCOUNT:repository/NAME: the emulator's own.
    let arn: Vec<&str> = repo["repositoryArn"].as_str().unwrap().split(':').collect();
    let ecr_uri = format!("{}.dkr.ecr.{}.amazonaws.com/{repo_name}", arn[4], arn[3]);
    let pushed = format!("{uri}:v1");
    let _tags = Tags(vec![pushed.clone(), format!("{ecr_uri}:v1")], scope.clone());

    docker_login(&api, &config, &host).await;
    assert!(docker(&config, &["tag", node_image(), &pushed], None)
        .status
        .success());
    let push = docker(&config, &["push", &pushed], None);
    assert!(push.status.success(), "{}", text(&push));
    // Gone from the engine: the task must pull it.
    assert!(docker(&config, &["rmi", &pushed], None).status.success());
    assert!(!on_engine(&pushed) && !on_engine(&format!("{ecr_uri}:v1")));
    let described = api
        .ok("DescribeImages", json!({"repositoryName": repo_name}))
        .await;
    let digest = described["imageDetails"][0]["imageDigest"]
        .as_str()
        .unwrap()
        .to_string();

    emu.cluster("c").await;
    emu.ok(
        "RegisterTaskDefinition",
        one("pulled", &format!("{ecr_uri}:v1")),
    )
    .await;
    let arn = run(&emu, "pulled").await;
    let t = emu
        .wait_task("c", &arn, "RUNNING", Duration::from_secs(60))
        .await;
    let (start, stop) = (
        t["pullStartedAt"].as_f64().expect("pullStartedAt"),
        t["pullStoppedAt"].as_f64().expect("pullStoppedAt"),
    );
    assert!(start <= stop, "{t:#}");
    assert!(stop <= t["startedAt"].as_f64().unwrap(), "{t:#}");
    assert_eq!(t["containers"][0]["imageDigest"], json!(digest), "{t:#}");
    assert_eq!(t["containers"][0]["image"], json!(format!("{ecr_uri}:v1")));
    // Pulled under this emulator's registry name (another emulator on the
    // engine may pull the same ECR name from its own registry).
    assert!(on_engine(&pushed));
    assert!(!on_engine(&format!("{ecr_uri}:v1")));
    emu.ok("StopTask", json!({"cluster": "c", "task": arn}))
        .await;
    emu.wait_task("c", &arn, "STOPPED", Duration::from_secs(30))
        .await;

    // By digest: run from the registry's reference (digests are no tags).
    let by_digest = format!("{ecr_uri}@{digest}");
    emu.ok("RegisterTaskDefinition", one("bydigest", &by_digest))
        .await;
    let arn = run(&emu, "bydigest").await;
    let t = emu
        .wait_task("c", &arn, "RUNNING", Duration::from_secs(60))
        .await;
    assert_eq!(t["containers"][0]["imageDigest"], json!(digest), "{t:#}");
    emu.ok("StopTask", json!({"cluster": "c", "task": arn}))
        .await;
    emu.wait_task("c", &arn, "STOPPED", Duration::from_secs(30))
        .await;

    // A tag that is not there, and a repository that is not there.
    for (family, image) in [
        ("notag", format!("{ecr_uri}:nope")),
        (
            "norepo",
            format!("{}/nope", ecr_uri.rsplit_once('/').unwrap().0),
        ),
    ] {
        emu.ok("RegisterTaskDefinition", one(family, &image)).await;
        let arn = run(&emu, family).await;
        let t = emu
            .wait_task("c", &arn, "STOPPED", Duration::from_secs(30))
            .await;
        let want = format!(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {}: not found",
            if image.ends_with(":nope") { image.clone() } else { format!("{image}:latest") }
        );
        assert_eq!(t["stoppedReason"], json!(want), "{t:#}");
        assert_eq!(t["stopCode"], json!("TaskFailedToStart"));
        assert_eq!(t["containers"][0]["reason"], json!(want));
        assert!(t["pullStoppedAt"].as_f64().is_some(), "{t:#}");
    }

    // A service that cannot pull: why in its events, launches throttled.
    let t0 = Instant::now();
    emu.ok(
        "CreateService",
        json!({"cluster": "c", "serviceName": "nopull", "taskDefinition": "notag", "desiredCount": 1}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(7).saturating_sub(t0.elapsed())).await;
    let v = emu
        .ok(
            "DescribeServices",
            json!({"cluster": "c", "services": ["nopull"]}),
        )
        .await;
    let msgs = event_messages(&v["services"][0]);
    let launched = msgs
        .iter()
        .filter(|m| m.starts_with("(service nopull) has started 1 tasks"))
        .count();
    assert!(
        (3..=5).contains(&launched),
        "{launched} launches in 7 s: {msgs:#?}"
    );
    assert!(
        msgs.iter().any(|m| m.starts_with("(service nopull) (task ")
            && m.contains("failed to start: CannotPullContainerError")
            && m.contains(":nope: not found")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("is unable to consistently start tasks successfully")),
        "{msgs:#?}"
    );
    emu.ok(
        "DeleteService",
        json!({"cluster": "c", "service": "nopull", "force": true}),
    )
    .await;
}
