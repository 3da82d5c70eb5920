//! Secrets on real Docker through the real AWS CLI, as a user would set
//! them up: an SSM SecureString and a Secrets Manager JSON secret, a task
//! definition that references both, and the running container's environment
//! holding the values while the ECS API answers only name the references.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{aws_cli, docker_or_skip, have_aws_cli, node_task_definition, Emulator};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_definition_secrets_reach_the_container_environment() {
    let test = "task_definition_secrets_reach_the_container_environment";
    if !docker_or_skip(test) || !have_aws_cli(test) {
        return;
    }
    let emu = Emulator::up(&["--no-stack", "--alb-addr", "127.0.0.1:0"]).await;
    let ep = emu.endpoint.clone();
    let aws = |args: &[&str]| aws_cli(&ep, args);

    let v = aws(&[
        "ssm",
        "put-parameter",
        "--name",
        "/pingpong/db-password",
        "--value",
        "s3cr3t-ringo-value",
        "--type",
        "SecureString",
    ]);
    assert_eq!(v["Version"], 1);
    let v = aws(&[
        "secretsmanager",
        "create-secret",
        "--name",
        "pingpong/creds",
        "--secret-string",
        r#"{"user":"ringo-the-user"}"#,
    ]);
    let secret_arn = v["ARN"].as_str().unwrap().to_string();
    let v = aws(&[
        "ssm",
        "get-parameter",
        "--name",
        "/pingpong/db-password",
        "--with-decryption",
    ]);
    assert_eq!(v["Parameter"]["Value"], "s3cr3t-ringo-value");
    let v = aws(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "pingpong/creds",
    ]);
    assert_eq!(v["SecretString"], r#"{"user":"ringo-the-user"}"#);

    let cluster = "secrets-docker";
    emu.cluster(cluster).await;
    let mut td = node_task_definition("secret-node");
    td["containerDefinitions"][0]["secrets"] = json!([
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/pingpong/db-password"},
        {"name": "DB_USER", "valueFrom": format!("{secret_arn}:user::")},
    ]);
    let john = td["containerDefinitions"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let td_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(td_file.path(), td.to_string()).unwrap();
    let input = format!("file://{}", td_file.path().display());
    aws(&[
        "ecs",
        "register-task-definition",
        "--cli-input-json",
        &input,
    ]);
    let run = aws(&[
        "ecs",
        "run-task",
        "--cluster",
        cluster,
        "--task-definition",
        "secret-node",
    ]);
    let arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    emu.wait_task(cluster, &arn, "RUNNING", Duration::from_secs(300))
        .await;

    // The container has the values in its environment, as the ECS agent
    // would set them.
    let id = common::task_container(&arn, &john);
    assert!(!id.is_empty(), "no container {john} for {arn}");
    let out = Command::new("docker")
        .args(["inspect", "--format", "{{json .Config.Env}}", &id])
        .output()
        .unwrap();
    let env: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        env.contains(&"DB_PASSWORD=s3cr3t-ringo-value".to_string()),
        "{env:?}"
    );
    assert!(
        env.contains(&"DB_USER=ringo-the-user".to_string()),
        "{env:?}"
    );

    // The ECS API names the references, never the values.
    let described: Value = aws(&[
        "ecs",
        "describe-tasks",
        "--cluster",
        cluster,
        "--tasks",
        &arn,
    ]);
    let td_out: Value = aws(&[
        "ecs",
        "describe-task-definition",
        "--task-definition",
        "secret-node",
    ]);
    for answer in [described.to_string(), td_out.to_string()] {
        assert!(!answer.contains("s3cr3t-ringo-value"), "{answer}");
        assert!(!answer.contains("ringo-the-user"), "{answer}");
    }
    assert!(td_out.to_string().contains("/pingpong/db-password"));
}
