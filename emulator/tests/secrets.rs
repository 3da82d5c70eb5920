//! SSM Parameter Store and Secrets Manager over a real socket, on the
//! in-memory runtime: every operation and its AWS errors, a task
//! definition's `secrets` reaching its container's environment, and a
//! reference that does not resolve stopping the task with ECS's reason,
//! without any value ever appearing in an answer that should not have it.
//! The same flow through the real AWS CLI on Docker is in `secrets_docker.rs`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

struct Api {
    ep: String,
}

impl Api {
    async fn call(&self, target: &str, body: Value) -> (u16, Value) {
        common::raw_call(&self.ep, Some(target), body.to_string()).await
    }

    async fn ok(&self, target: &str, body: Value) -> Value {
        let (s, v) = self.call(target, body).await;
        assert_eq!(s, 200, "{target}: {v}");
        v
    }

    /// Registers `td` and runs one task of it; returns the task ARN.
    async fn run_task(&self, td: Value) -> String {
        let family = td["family"].clone();
        self.ok(&format!("{ECS}.RegisterTaskDefinition"), td).await;
        let v = self
            .ok(
                &format!("{ECS}.RunTask"),
                json!({"cluster": "c", "taskDefinition": family}),
            )
            .await;
        v["tasks"][0]["taskArn"].as_str().unwrap().to_string()
    }

    async fn err(&self, target: &str, body: Value, aws_type: &str) -> String {
        let (s, v) = self.call(target, body).await;
        assert_eq!(s, 400, "{target}: {v}");
        assert_eq!(v["__type"], aws_type, "{target}: {v}");
        v["message"].as_str().unwrap_or_default().to_string()
    }
}

async fn start(fake: &FakeRuntime) -> (emulator::Running, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.resync = Duration::from_millis(50);
    let running = start_with_runtime(config, Arc::new(fake.clone()))
        .await
        .unwrap();
    let api = Api {
        ep: format!("http://{}", running.api_addr),
    };
    (running, api, dir)
}

#[tokio::test]
async fn parameters_and_secrets_answer_like_ssm_and_secrets_manager() {
    let fake = FakeRuntime::new();
    let (running, api, dir) = start(&fake).await;
    let ssm = |op: &str| format!("AmazonSSM.{op}");
    let sm = |op: &str| format!("secretsmanager.{op}");

    let v = api
        .ok(
            &ssm("PutParameter"),
            json!({"Name": "/pingpong/db-password", "Value": "hunter2", "Type": "SecureString"}),
        )
        .await;
    assert_eq!(v["Version"], 1);
    api.err(
        &ssm("PutParameter"),
        json!({"Name": "/pingpong/db-password", "Value": "x", "Type": "SecureString"}),
        "ParameterAlreadyExists",
    )
    .await;
    let v = api
        .ok(
            &ssm("PutParameter"),
            json!({"Name": "/pingpong/db-password", "Value": "hunter3", "Overwrite": true}),
        )
        .await;
    assert_eq!(v["Version"], 2);
    api.ok(
        &ssm("PutParameter"),
        json!({"Name": "/pingpong/nested/level", "Value": "deep"}),
    )
    .await;

    // Without decryption a SecureString does not show its value.
    let v = api
        .ok(
            &ssm("GetParameter"),
            json!({"Name": "/pingpong/db-password"}),
        )
        .await;
    let shown = v["Parameter"]["Value"].as_str().unwrap().to_string();
    assert!(!shown.contains("hunter3"), "{v}");
    {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&shown)
            .expect("base64, as SSM shows ciphertext");
        assert!(
            !String::from_utf8_lossy(&decoded).contains("hunter3"),
            "the ciphertext stand-in must not carry the value"
        );
    }
    // `name:version` selects a version (history and labels are in
    // `secrets_parity.rs`).
    let v = api
        .ok(
            &ssm("GetParameter"),
            json!({"Name": "/pingpong/db-password:2", "WithDecryption": true}),
        )
        .await;
    assert_eq!(v["Parameter"]["Value"], "hunter3");
    let v1 = api
        .ok(
            &ssm("GetParameter"),
            json!({"Name": "/pingpong/db-password:1", "WithDecryption": true}),
        )
        .await;
    assert_eq!(v1["Parameter"]["Value"], "hunter2");
    api.err(
        &ssm("GetParameter"),
        json!({"Name": "/pingpong/db-password:9"}),
        "ParameterVersionNotFound",
    )
    .await;
    // A type error does not echo what was sent (it may be a secret).
    let msg = api
        .err(
            &ssm("PutParameter"),
            json!({"Name": "/pingpong/n", "Value": 8675309}),
            "ValidationException",
        )
        .await;
    assert!(!msg.contains("8675309"), "{msg}");
    assert_eq!(v["Parameter"]["Type"], "SecureString");
    assert_eq!(
        v["Parameter"]["ARN"],
        "arn:aws:ssm:us-east-1:000000000000:parameter/pingpong/db-password"
    );
    let v = api
        .ok(
            &ssm("GetParameter"),
            json!({"Name": "/pingpong/db-password", "WithDecryption": true}),
        )
        .await;
    assert_eq!(v["Parameter"]["Value"], "hunter3");
    assert_eq!(v["Parameter"]["Version"], 2);

    let v = api
        .ok(
            &ssm("GetParameters"),
            json!({"Names": ["/pingpong/db-password", "/nope"], "WithDecryption": true}),
        )
        .await;
    assert_eq!(v["Parameters"].as_array().unwrap().len(), 1);
    assert_eq!(v["InvalidParameters"], json!(["/nope"]));
    let v = api
        .ok(
            &ssm("GetParametersByPath"),
            json!({"Path": "/pingpong", "WithDecryption": true}),
        )
        .await;
    assert_eq!(v["Parameters"].as_array().unwrap().len(), 1, "{v}");
    let v = api
        .ok(
            &ssm("GetParametersByPath"),
            json!({"Path": "/pingpong", "Recursive": true}),
        )
        .await;
    assert_eq!(v["Parameters"].as_array().unwrap().len(), 2, "{v}");
    let v = api.ok(&ssm("DescribeParameters"), json!({})).await;
    assert!(!v.to_string().contains("hunter"), "{v}");
    assert_eq!(v["Parameters"].as_array().unwrap().len(), 2);

    let msg = api
        .err(
            &ssm("PutParameter"),
            json!({"Name": "a/b", "Value": "x"}),
            "ValidationException",
        )
        .await;
    assert!(msg.contains("start with /"), "{msg}");
    api.err(
        &ssm("GetParameter"),
        json!({"Name": "/nope"}),
        "ParameterNotFound",
    )
    .await;
    api.err(&ssm("GetParameter"), json!({}), "ValidationException")
        .await;
    api.err(&ssm("LaunchRocket"), json!({}), "UnknownOperationException")
        .await;

    // Secrets Manager.
    let v = api
        .ok(
            &sm("CreateSecret"),
            json!({"Name": "pingpong/creds", "SecretString": r#"{"user":"ringo","password":"drums"}"#}),
        )
        .await;
    let arn = v["ARN"].as_str().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:pingpong/creds-"),
        "{arn}"
    );
    assert_eq!(
        arn.len(),
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:pingpong/creds-".len() + 6
    );
    api.err(
        &sm("CreateSecret"),
        json!({"Name": "pingpong/creds", "SecretString": "x"}),
        "ResourceExistsException",
    )
    .await;
    let v = api
        .ok(&sm("GetSecretValue"), json!({"SecretId": "pingpong/creds"}))
        .await;
    assert_eq!(v["SecretString"], r#"{"user":"ringo","password":"drums"}"#);
    assert_eq!(v["VersionStages"], json!(["AWSCURRENT"]));
    let first_version = v["VersionId"].clone();
    let v = api
        .ok(
            &sm("PutSecretValue"),
            json!({"SecretId": arn, "SecretString": r#"{"user":"ringo","password":"sticks"}"#}),
        )
        .await;
    assert_ne!(v["VersionId"], first_version);
    let v = api.ok(&sm("ListSecrets"), json!({})).await;
    assert_eq!(v["SecretList"][0]["Name"], "pingpong/creds");
    assert!(!v.to_string().contains("sticks"), "{v}");
    let v = api
        .ok(&sm("DescribeSecret"), json!({"SecretId": arn}))
        .await;
    assert!(!v.to_string().contains("sticks"), "{v}");

    // Deleted with a recovery window: unreadable, restorable.
    api.ok(&sm("DeleteSecret"), json!({"SecretId": arn})).await;
    api.err(
        &sm("GetSecretValue"),
        json!({"SecretId": arn}),
        "InvalidRequestException",
    )
    .await;
    api.ok(&sm("RestoreSecret"), json!({"SecretId": arn})).await;
    // UpdateSecret may change only the description.
    api.ok(
        &sm("UpdateSecret"),
        json!({"SecretId": arn, "Description": "ringo's"}),
    )
    .await;
    let v = api
        .ok(&sm("DescribeSecret"), json!({"SecretId": arn}))
        .await;
    assert_eq!(v["Description"], "ringo's");
    // A secret made without a value has none to read until one is put.
    api.ok(&sm("CreateSecret"), json!({"Name": "empty"})).await;
    let msg = api
        .err(
            &sm("GetSecretValue"),
            json!({"SecretId": "empty"}),
            "ResourceNotFoundException",
        )
        .await;
    assert!(msg.contains("AWSCURRENT"), "{msg}");
    api.ok(
        &sm("PutSecretValue"),
        json!({"SecretId": "empty", "SecretString": "now"}),
    )
    .await;
    let v = api
        .ok(&sm("GetSecretValue"), json!({"SecretId": "empty"}))
        .await;
    assert_eq!(v["SecretString"], "now");
    // Restored with the value PutSecretValue set.
    let v = api
        .ok(&sm("GetSecretValue"), json!({"SecretId": arn}))
        .await;
    assert!(
        v["SecretString"].as_str().unwrap().contains("sticks"),
        "{v}"
    );
    api.err(
        &sm("GetSecretValue"),
        json!({"SecretId": "missing"}),
        "ResourceNotFoundException",
    )
    .await;
    api.err(
        &sm("DeleteSecret"),
        json!({"SecretId": arn, "RecoveryWindowInDays": 3}),
        "InvalidParameterException",
    )
    .await;

    // A task definition's secrets reach the container's environment.
    let ecs = |op: &str| format!("{ECS}.{op}");
    api.ok(&ecs("CreateCluster"), json!({"clusterName": "c"}))
        .await;
    api.ok(&ecs("RegisterContainerInstance"), json!({"cluster": "c"}))
        .await;
    let td = |family: &str, secrets: Value| {
        json!({"family": family, "containerDefinitions": [{
            "name": "app", "image": "img", "memoryReservation": 64,
            "environment": [{"name": "PLAIN", "value": "yes"}],
            "secrets": secrets,
        }]})
    };
    let task_arn = api
        .run_task(td(
            "with-secrets",
            json!([
                {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/pingpong/db-password"},
                {"name": "DB_USER", "valueFrom": format!("{arn}:user::")},
                {"name": "DEEP", "valueFrom": "/pingpong/nested/level"},
            ]),
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let spec = loop {
        if let Some(spec) = fake.find(&task_arn, "app").and_then(|n| fake.spec(&n)) {
            break spec;
        }
        assert!(Instant::now() < deadline, "container never created");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let env: std::collections::BTreeMap<_, _> = spec.env.into_iter().collect();
    assert_eq!(env["DB_PASSWORD"], "hunter3");
    assert_eq!(env["DB_USER"], "ringo");
    assert_eq!(env["DEEP"], "deep");
    assert_eq!(env["PLAIN"], "yes");
    // DescribeTasks and DescribeTaskDefinition name the references only.
    let v = api
        .ok(
            &ecs("DescribeTaskDefinition"),
            json!({"taskDefinition": "with-secrets"}),
        )
        .await;
    assert!(!v.to_string().contains("hunter3"), "{v}");

    // A reference that does not resolve stops the task with ECS's reason.
    let broken = api
        .run_task(td(
            "broken-secret",
            json!([{"name": "X", "valueFrom": "/pingpong/missing"}]),
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let task = loop {
        let v = api
            .ok(
                &ecs("DescribeTasks"),
                json!({"cluster": "c", "tasks": [broken]}),
            )
            .await;
        if v["tasks"][0]["lastStatus"] == "STOPPED" {
            break v["tasks"][0].clone();
        }
        assert!(Instant::now() < deadline, "never stopped: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let reason = task["stoppedReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("ResourceInitializationError") && reason.contains("/pingpong/missing"),
        "{task}"
    );
    assert_eq!(task["stopCode"], "TaskFailedToStart");

    // The values survive a restart (they are durable state), in a file only
    // its owner can read.
    running.stop(Duration::from_secs(5)).await;
    let (running, api, _dir2) = {
        let mut config = Config::new(dir.path().to_path_buf());
        config.api_addr = "127.0.0.1:0".parse().unwrap();
        let running = start_with_runtime(config, Arc::new(fake.clone()))
            .await
            .unwrap();
        let api = Api {
            ep: format!("http://{}", running.api_addr),
        };
        (running, api, ())
    };
    let v = api
        .ok(
            &ssm("GetParameter"),
            json!({"Name": "/pingpong/db-password", "WithDecryption": true}),
        )
        .await;
    assert_eq!(v["Parameter"]["Value"], "hunter3");
    running.stop(Duration::from_secs(5)).await;
}
