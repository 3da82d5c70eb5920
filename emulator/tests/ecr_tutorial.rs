//! The tutorial's ECR step, command for command (`get-login-password` in
//! place of the retired `get-login`), with the AWS CLI and plain Docker,
//! then the article's node task definition, `AWS_ACCOUNT_ID` replaced by
//! the emulator's account, run from ECR: its image pulled, not found
//! locally. And the project's own flow through ECR: the default stack
//! runs from it, `emulator deploy` pushes there.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::registry::{docker, project_image, registry_or_skip, text};
use common::{aws_cli, aws_output, docker_or_skip, have_aws_cli, host_port, Emulator};
use serde_json::{json, Value};

const ACCOUNT: &str = "000000000000";

/// The article's node task definition: the default stack's (which is the
/// tutorial's), with its `${AWS_ACCOUNT_ID}` replaced as a reader would.
fn article_node_task_definition() -> Value {
    let stack = emulator::model::stack::DEFAULT_STACK
        .replace("${AWS_ACCOUNT_ID}", ACCOUNT)
        .replace("${AWS_REGION}", "us-east-1");
    let stack: Value = serde_json::from_str(&stack).unwrap();
    stack["taskDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["family"] == "microservice-ping-pong-node-td")
        .unwrap()
        .clone()
}

fn ok(o: &std::process::Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", text(o));
    text(o)
}

#[tokio::test]
async fn the_tutorials_ecr_step_works_command_for_command_and_its_task_definition_runs() {
    let test = "the_tutorials_ecr_step_works_command_for_command_and_its_task_definition_runs";
    if !docker_or_skip(test) || !registry_or_skip(test) || !have_aws_cli(test) {
        return;
    }
    let built = [
        ("microservice-ping-pong/client", project_image("client")),
        ("microservice-ping-pong/node", project_image("node")),
    ];
    let e = Emulator::up(&["--no-stack"]).await;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("docker-config");
    let url = &e.endpoint;

    // "Add the following repositories": the console's Create repository.
    let mut uris = Vec::new();
    for (name, _) in built {
        let v = aws_cli(
            url,
            &["ecr", "create-repository", "--repository-name", name],
        );
        let uri = v["repository"]["repositoryUri"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(uri.ends_with(name), "{uri}");
        uris.push(uri);
    }
    let host = uris[0].split('/').next().unwrap().to_string();
    assert!(
        host.starts_with("127.0.0.1:"),
        "a loopback registry Docker accepts: {host}"
    );

    // $ aws ecr get-login-password --region us-east-1 | docker login ...
    let password = aws_output(url, &["ecr", "get-login-password", "--region", "us-east-1"]);
    let password = ok(&password, "aws ecr get-login-password");
    let login = docker(
        &config,
        &["login", "--username", "AWS", "--password-stdin", &host],
        Some(password.trim()),
    );
    assert!(ok(&login, "docker login").contains("Login Succeeded"));

    // $ docker build -t microservice-ping-pong/client ./services/client
    // (here: the project's image under the article's name), docker tag,
    // docker push.
    let mut local_tags = Vec::new();
    for ((name, image), uri) in built.iter().zip(&uris) {
        let article = format!("{name}:latest");
        let target = format!("{uri}:latest");
        ok(
            &docker(&config, &["tag", image, &article], None),
            "docker tag",
        );
        ok(
            &docker(&config, &["tag", &article, &target], None),
            "docker tag",
        );
        let push = ok(&docker(&config, &["push", &target], None), "docker push");
        assert!(push.contains("digest: sha256:"), "{push}");
        local_tags.push(article);
        local_tags.push(target);
    }
    // What was pushed is what ECR shows, with no other call.
    let images = aws_cli(
        url,
        &[
            "ecr",
            "describe-images",
            "--repository-name",
            "microservice-ping-pong/node",
        ],
    );
    let detail = &images["imageDetails"][0];
    assert_eq!(detail["imageTags"], json!(["latest"]));
    let digest = detail["imageDigest"].as_str().unwrap().to_string();
    assert!(detail["imageSizeInBytes"].as_i64().unwrap() > 0);

    // Nothing local names the repository any more: the task must pull.
    for t in &local_tags {
        ok(&docker(&config, &["rmi", t], None), "docker rmi");
    }

    // The article's task definition, run on a cluster of one instance.
    let td_file = tmp.path().join("node-td.json");
    std::fs::write(&td_file, article_node_task_definition().to_string()).unwrap();
    let td_arg = format!("file://{}", td_file.display());
    let reg = aws_cli(
        url,
        &[
            "ecs",
            "register-task-definition",
            "--cli-input-json",
            &td_arg,
        ],
    );
    let image = reg["taskDefinition"]["containerDefinitions"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        image,
        format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/microservice-ping-pong/node:latest")
    );
    aws_cli(
        url,
        &["ecs", "create-cluster", "--cluster-name", "tutorial"],
    );
    aws_cli(
        url,
        &[
            "ecs",
            "register-container-instance",
            "--cluster",
            "tutorial",
            "--instance-identity-document",
            r#"{"availabilityZone":"us-east-1a","instanceType":"t2.small","instanceId":"i-0123456789abcdef0"}"#,
            "--instance-identity-document-signature",
            "none",
        ],
    );
    let run = aws_cli(
        url,
        &[
            "ecs",
            "run-task",
            "--cluster",
            "tutorial",
            "--task-definition",
            "microservice-ping-pong-node-td",
        ],
    );
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let task = loop {
        let v = e
            .ok(
                "DescribeTasks",
                json!({"cluster": "tutorial", "tasks": [arn]}),
            )
            .await;
        let t = v["tasks"][0].clone();
        match t["lastStatus"].as_str() {
            Some("RUNNING") => break t,
            Some("STOPPED") => panic!("the task stopped: {t:#}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "not RUNNING in time: {t:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Pulled as ECS does: timed, and by the digest ECR holds.
    let started = task["pullStartedAt"].as_f64().expect("pullStartedAt");
    let stopped = task["pullStoppedAt"].as_f64().expect("pullStoppedAt");
    assert!(started <= stopped, "{task:#}");
    for c in task["containers"].as_array().unwrap() {
        assert_eq!(c["image"], json!(image));
        assert_eq!(c["imageDigest"], json!(digest), "{c:#}");
    }
    // And it is the tutorial's node chain.
    let port = host_port(&task, "node-john");
    let body = reqwest::get(format!("http://127.0.0.1:{port}/start"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        body,
        r#"["meow from node-paul:3000","meow from node-george:3000","meow from node-ringo:3000"]"#
    );

    // `down` takes the registry with it, and the local tags naming it.
    drop(e);
    let left = docker(
        Path::new(&config),
        &["images", "--format", "{{.Repository}}"],
        None,
    );
    assert!(
        !text(&left).lines().any(|r| r.starts_with(&host)),
        "tags of {host} left after down: {}",
        text(&left)
    );
}

#[tokio::test]
async fn the_default_stack_runs_from_ecr_and_deploy_pushes_the_new_tag_there() {
    use common::stack::up;
    let test = "the_default_stack_runs_from_ecr_and_deploy_pushes_the_new_tag_there";
    if !docker_or_skip(test) || !registry_or_skip(test) {
        return;
    }
    let node = project_image("node");
    let config = tempfile::tempdir().unwrap();
    let s = up().await;
    let ecr_node = format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/microservice-ping-pong/node");
    let service = s.steady("microservice-ping-pong-node-service", 1).await;
    // One task, one target: registered (and announced) once, though the
    // balancer process reports its health a moment later.
    let registered: Vec<String> = common::stack::messages(&service)
        .into_iter()
        .filter(|m| m.contains("registered 1 targets"))
        .collect();
    assert_eq!(registered.len(), 1, "{registered:#?}");
    // Seeded on first run: both repositories hold `latest`, and the
    // stack's tasks run it, pulled by digest.
    let api = common::Api::new(&s.emu.endpoint, "AmazonEC2ContainerRegistry_V20150921");
    let ecr = |op: &'static str, body: Value| {
        let api = &api;
        async move { api.ok(op, body).await }
    };
    let latest = ecr(
        "DescribeImages",
        json!({"repositoryName": "microservice-ping-pong/node", "imageIds": [{"imageTag": "latest"}]}),
    )
    .await["imageDetails"][0]["imageDigest"]
        .as_str()
        .unwrap()
        .to_string();
    let client = ecr(
        "ListImages",
        json!({"repositoryName": "microservice-ping-pong/client"}),
    )
    .await;
    assert_eq!(client["imageIds"][0]["imageTag"], "latest", "{client}");
    let tasks = s.tasks(&service).await;
    let john = tasks[0]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "node-john")
        .unwrap()
        .clone();
    assert_eq!(john["image"], json!(format!("{ecr_node}:latest")));
    assert_eq!(john["imageDigest"], json!(latest));

    // deploy --no-build: the image under the new tag is pushed, and the
    // revision names it in ECR's form.
    let tag = format!("ecr-deploy-{}", std::process::id());
    let local = format!("pingpong-node:{tag}");
    ok(
        &docker(config.path(), &["tag", node, &local], None),
        "docker tag",
    );
    let out = s.cli(&[
        "deploy",
        "microservice-ping-pong-node-service",
        "--tag",
        &tag,
        "--no-build",
        "--timeout",
        "180",
    ]);
    let _ = docker(config.path(), &["rmi", &local], None);
    assert!(out.contains(&format!("pushed {local} to ")), "{out}");
    let pushed = ecr(
        "DescribeImages",
        json!({"repositoryName": "microservice-ping-pong/node", "imageIds": [{"imageTag": tag}]}),
    )
    .await;
    assert_eq!(
        pushed["imageDetails"][0]["imageDigest"],
        json!(latest),
        "same image, new tag"
    );
    let service = s.steady("microservice-ping-pong-node-service", 1).await;
    let td = s
        .emu
        .ok(
            "DescribeTaskDefinition",
            json!({"taskDefinition": service["taskDefinition"]}),
        )
        .await;
    for c in td["taskDefinition"]["containerDefinitions"]
        .as_array()
        .unwrap()
    {
        assert_eq!(c["image"], json!(format!("{ecr_node}:{tag}")));
    }
}
