//! CloudWatch Logs and container stats over a real socket, on the
//! in-memory runtime: groups
//! from task definitions' `awslogs` options, ECS stream names, events by
//! stream and by filter, the `emulator logs` endpoint, and a stopped task's
//! lines still readable after its containers are gone. The same on Docker
//! through the AWS CLI is in `elb_docker.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";
const LOGS: &str = "Logs_20140328";

mod common;

async fn call(ep: &str, target: &str, body: Value) -> (u16, Value) {
    common::raw_call(ep, Some(target), body.to_string()).await
}

async fn ok(ep: &str, target: &str, body: Value) -> Value {
    let (s, v) = call(ep, target, body).await;
    assert_eq!(s, 200, "{target}: {v}");
    v
}

async fn wait_status(ep: &str, arn: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = ok(
            ep,
            &format!("{ECS}.DescribeTasks"),
            json!({"cluster": "c", "tasks": [arn]}),
        )
        .await;
        if v["tasks"][0]["lastStatus"] == status {
            return;
        }
        assert!(Instant::now() < deadline, "never {status}: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn container_output_reads_like_cloudwatch_logs_and_outlives_the_task() {
    let fake = FakeRuntime::new();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.resync = Duration::from_millis(50);
    config.default_stop_timeout_s = 1;
    let running = start_with_runtime(config, Arc::new(fake.clone()))
        .await
        .unwrap();
    let ep = format!("http://{}", running.api_addr);
    let ecs = |op: &str| format!("{ECS}.{op}");
    let logs = |op: &str| format!("{LOGS}.{op}");

    ok(&ep, &ecs("CreateCluster"), json!({"clusterName": "c"})).await;
    ok(
        &ep,
        &ecs("RegisterContainerInstance"),
        json!({"cluster": "c"}),
    )
    .await;
    let awslogs = |prefix: Option<&str>| {
        let mut options = json!({"awslogs-group": "web-logs", "awslogs-region": "us-east-1"});
        if let Some(p) = prefix {
            options["awslogs-stream-prefix"] = json!(p);
        }
        json!({"logDriver": "awslogs", "options": options})
    };
    ok(
        &ep,
        &ecs("RegisterTaskDefinition"),
        json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "img", "memoryReservation": 64, "logConfiguration": awslogs(Some("ecs"))},
            {"name": "sidecar", "image": "img", "memoryReservation": 64, "logConfiguration": awslogs(None)},
            {"name": "quiet", "image": "img", "memoryReservation": 64},
        ]}),
    )
    .await;
    let v = ok(
        &ep,
        &ecs("RunTask"),
        json!({"cluster": "c", "taskDefinition": "web"}),
    )
    .await;
    let arn = v["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    wait_status(&ep, &arn, "RUNNING").await;
    let app = fake.find(&arn, "app").unwrap();
    let sidecar = fake.find(&arn, "sidecar").unwrap();
    fake.print(&app, "INFO request method=GET path=\"/start\" status=200");
    fake.print(&app, "INFO request method=GET path=\"/ping\" status=200");
    fake.print(&sidecar, "sidecar says hi");
    fake.print(&fake.find(&arn, "quiet").unwrap(), "not shipped anywhere");

    // The group exists because a task definition names it.
    let v = ok(
        &ep,
        &logs("DescribeLogGroups"),
        json!({"logGroupNamePrefix": "web"}),
    )
    .await;
    assert_eq!(v["logGroups"][0]["logGroupName"], "web-logs", "{v}");
    // Streams are named as ECS names them: prefix/container/task id, or the
    // container id without a prefix.
    let v = ok(
        &ep,
        &logs("DescribeLogStreams"),
        json!({"logGroupName": "web-logs"}),
    )
    .await;
    let names: Vec<&str> = v["logStreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["logStreamName"].as_str().unwrap())
        .collect();
    let app_stream = format!("ecs/app/{id}");
    assert!(names.contains(&app_stream.as_str()), "{names:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("fake")), "{names:?}");

    let v = ok(
        &ep,
        &logs("GetLogEvents"),
        json!({"logGroupName": "web-logs", "logStreamName": app_stream, "startFromHead": true}),
    )
    .await;
    let messages: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{v}");
    assert!(messages[0].contains("/start"));
    // Asking again from the forward token gives nothing new and the same
    // token (how the CLI knows it has everything).
    let token = v["nextForwardToken"].clone();
    let v = ok(
        &ep,
        &logs("GetLogEvents"),
        json!({"logGroupName": "web-logs", "logStreamName": app_stream, "nextToken": token}),
    )
    .await;
    assert_eq!(v["events"], json!([]));
    assert_eq!(v["nextForwardToken"], token);

    // A burst within one millisecond, read two lines a page: every line
    // once, in order, then the same token.
    let burst_ms = 4_000_000_000_000;
    for i in 0..5 {
        fake.print_at(&app, burst_ms, &format!("burst {i}"));
    }
    let mut token = Value::Null;
    let mut burst = Vec::new();
    let mut ended = false;
    for _ in 0..5 {
        let mut body = json!({"logGroupName": "web-logs", "logStreamName": app_stream,
            "startTime": burst_ms, "limit": 2, "startFromHead": true});
        if !token.is_null() {
            body["nextToken"] = token.clone();
        }
        let v = ok(&ep, &logs("GetLogEvents"), body).await;
        for e in v["events"].as_array().unwrap() {
            burst.push(e["message"].as_str().unwrap().to_string());
        }
        if v["nextForwardToken"] == token {
            ended = true;
            break;
        }
        token = v["nextForwardToken"].clone();
    }
    assert_eq!(
        burst,
        (0..5).map(|i| format!("burst {i}")).collect::<Vec<_>>()
    );
    assert!(ended, "the forward token never repeated");

    let v = ok(
        &ep,
        &logs("FilterLogEvents"),
        json!({"logGroupName": "web-logs", "filterPattern": "\"/ping\""}),
    )
    .await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["logStreamName"], app_stream.as_str());

    // Errors in the CloudWatch Logs shape.
    let (s, v) = call(
        &ep,
        &logs("GetLogEvents"),
        json!({"logGroupName": "nope", "logStreamName": "x"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    let (s, v) = call(
        &ep,
        &logs("CreateLogGroup"),
        json!({"logGroupName": "web-logs"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].as_str()),
        (400, Some("ResourceAlreadyExistsException"))
    );
    ok(
        &ep,
        &logs("CreateLogGroup"),
        json!({"logGroupName": "/my/own"}),
    )
    .await;
    ok(
        &ep,
        &logs("DeleteLogGroup"),
        json!({"logGroupName": "/my/own"}),
    )
    .await;
    // Deleted once: a second delete finds nothing, and the API still
    // answers afterwards. (Deleting a group a task definition names is in
    // `logs_parity.rs`.)
    let (s, v) = call(
        &ep,
        &logs("DeleteLogGroup"),
        json!({"logGroupName": "/my/own"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].as_str()),
        (400, Some("ResourceNotFoundException")),
        "{v}"
    );
    ok(&ep, &logs("DescribeLogGroups"), json!({})).await;

    // `emulator logs` sees every container, by task id.
    let events = reqwest::get(format!("{ep}/_emulator/logs?target={id}"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    // Four lines of the containers, and the burst of five.
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        4 + 5,
        "{events}"
    );

    // `emulator stats`: CPU over the measuring window, memory, network.
    let counters = |cpu_total_ns| emulator::runtime::ContainerStats {
        cpu_total_ns,
        memory_bytes: 5 << 20,
        net_rx_bytes: 1000,
        net_tx_bytes: 2000,
    };
    // A quarter second of CPU between the two samples of a window of at
    // least half a second: at most 50 %.
    fake.script_stats(&app, vec![counters(0), counters(250_000_000)]);
    let v = reqwest::get(format!("{ep}/_emulator/stats"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let row = v["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["container"] == "app")
        .unwrap_or_else(|| panic!("no app row: {v}"))
        .clone();
    let cpu = row["cpuPercent"].as_f64().unwrap();
    assert!(cpu > 0.0 && cpu <= 50.0, "{row}");
    assert_eq!(row["memoryBytes"], 5 << 20);
    assert_eq!(row["memoryReservationMiB"], 64);
    assert_eq!(
        (row["netRxBytes"].as_u64(), row["netTxBytes"].as_u64()),
        (Some(1000), Some(2000))
    );
    assert_eq!(row["task"], id.as_str());

    // The task stops and its containers are removed: the lines stay.
    ok(&ep, &ecs("StopTask"), json!({"cluster": "c", "task": arn})).await;
    wait_status(&ep, &arn, "STOPPED").await;
    assert!(fake.find(&arn, "app").is_none(), "container removed");
    let v = ok(
        &ep,
        &logs("GetLogEvents"),
        json!({"logGroupName": "web-logs", "logStreamName": app_stream}),
    )
    .await;
    assert_eq!(v["events"].as_array().unwrap().len(), 2 + 5, "{v}");
    let events = reqwest::get(format!("{ep}/_emulator/logs?target={arn}"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(events.to_string().contains("sidecar says hi"), "{events}");
    running.stop(Duration::from_secs(5)).await;
}
