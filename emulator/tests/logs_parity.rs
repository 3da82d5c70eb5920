//! CloudWatch Logs beyond reading containers' output, on the in-memory
//! runtime over a real socket: streams and events the API writes, the
//! relaxed PutLogEvents rules, retention applied to what is read, tags by
//! group name and by ARN, DescribeLogStreams' ordering, pagination with
//! `limit`/`nextToken`, and deleting a group a task definition names.

mod common;

use common::Api;

use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";
const LOGS: &str = "Logs_20140328";
const DAY: i64 = 86_400_000;

impl Api {
    /// The messages of a stream, oldest first.
    async fn messages(&self, group: &str, stream: &str) -> Vec<String> {
        let v = self
            .ok(
                "GetLogEvents",
                json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true}),
            )
            .await;
        strings(&v["events"], "message")
    }

    async fn put(&self, group: &str, stream: &str, events: &[(i64, &str)]) -> Value {
        let events: Vec<Value> = events
            .iter()
            .map(|(t, m)| json!({"timestamp": t, "message": m}))
            .collect();
        self.ok(
            "PutLogEvents",
            json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}),
        )
        .await
    }
}

fn strings(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e[field].as_str().unwrap().to_string())
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn start(fake: &FakeRuntime) -> (emulator::Running, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.resync = Duration::from_millis(50);
    config.default_stop_timeout_s = 1;
    let running = start_with_runtime(config, Arc::new(fake.clone()))
        .await
        .unwrap();
    let api = Api::new(&format!("http://{}", running.api_addr), LOGS);
    (running, api, dir)
}

#[tokio::test]
async fn streams_events_retention_and_tags_behave_like_cloudwatch_logs() {
    let fake = FakeRuntime::new();
    let (running, api, _dir) = start(&fake).await;
    let g = "/app/api";
    api.ok(
        "CreateLogGroup",
        json!({"logGroupName": g, "tags": {"team": "core"}}),
    )
    .await;

    // Tags by group name and by ARN (without the `:*`).
    let v = api
        .ok("DescribeLogGroups", json!({"logGroupNamePrefix": g}))
        .await;
    let arn = v["logGroups"][0]["logGroupArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v["logGroups"][0]["arn"], format!("{arn}:*"));
    let v = api.ok("ListTagsLogGroup", json!({"logGroupName": g})).await;
    assert_eq!(v["tags"], json!({"team": "core"}));
    api.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": {"env": "dev"}}),
    )
    .await;
    api.ok(
        "UntagLogGroup",
        json!({"logGroupName": g, "tags": ["team"]}),
    )
    .await;
    let v = api
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(v["tags"], json!({"env": "dev"}));
    api.ok(
        "TagLogGroup",
        json!({"logGroupName": g, "tags": {"owner": "ringo"}}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["env"]}),
    )
    .await;
    let v = api
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(v["tags"], json!({"owner": "ringo"}));
    api.err(
        "TagLogGroup",
        json!({"logGroupName": g, "tags": {"aws:reserved": "x"}}),
        "InvalidParameterException",
    )
    .await;
    let too_many: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    api.err(
        "TagResource",
        json!({"resourceArn": arn, "tags": too_many}),
        "TooManyTagsException",
    )
    .await;
    api.err(
        "ListTagsForResource",
        json!({"resourceArn": format!("{arn}-missing")}),
        "ResourceNotFoundException",
    )
    .await;

    // Streams.
    api.ok(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "s1"}),
    )
    .await;
    api.err(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "s1"}),
        "ResourceAlreadyExistsException",
    )
    .await;
    api.err(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "a:b"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "CreateLogStream",
        json!({"logGroupName": "/nope", "logStreamName": "s"}),
        "ResourceNotFoundException",
    )
    .await;

    // PutLogEvents: any (or no) sequence token is accepted.
    let now = now_ms();
    let v = api
        .put(g, "s1", &[(now - 3000, "one"), (now - 2000, "two ERROR")])
        .await;
    assert!(v["nextSequenceToken"].is_string(), "{v}");
    assert!(v.get("rejectedLogEventsInfo").is_none(), "{v}");
    api.ok(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1", "sequenceToken": "stale",
               "logEvents": [{"timestamp": now - 1000, "message": "three"}]}),
    )
    .await;
    api.err(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1",
               "logEvents": [{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1", "logEvents": []}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "nope",
               "logEvents": [{"timestamp": now, "message": "x"}]}),
        "ResourceNotFoundException",
    )
    .await;
    // Too old and too new events are rejected, the rest kept.
    let v = api
        .put(
            g,
            "s1",
            &[
                (now - 15 * DAY, "ancient"),
                (now - 500, "four"),
                (now + 3 * 3_600_000, "future"),
            ],
        )
        .await;
    assert_eq!(
        v["rejectedLogEventsInfo"],
        json!({"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2})
    );
    assert_eq!(
        api.messages(g, "s1").await,
        vec!["one", "two ERROR", "three", "four"]
    );

    // FilterLogEvents: by pattern, and page by page.
    api.ok(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "s2"}),
    )
    .await;
    api.put(
        g,
        "s2",
        &[(now - 2500, "s2 first"), (now - 100, "s2 ERROR last")],
    )
    .await;
    let v = api
        .ok(
            "FilterLogEvents",
            json!({"logGroupName": g, "filterPattern": "ERROR"}),
        )
        .await;
    assert_eq!(
        strings(&v["events"], "message"),
        vec!["two ERROR", "s2 ERROR last"]
    );
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({"logGroupIdentifier": arn, "limit": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let v = api.ok("FilterLogEvents", body).await;
        assert!(v["events"].as_array().unwrap().len() <= 2, "{v}");
        seen.extend(strings(&v["events"], "message"));
        token = v["nextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        vec![
            "one",
            "s2 first",
            "two ERROR",
            "three",
            "four",
            "s2 ERROR last"
        ]
    );
    api.err(
        "FilterLogEvents",
        json!({"logGroupName": g, "nextToken": "not-a-token"}),
        "InvalidParameterException",
    )
    .await;

    // DescribeLogStreams: by name or by last event, either way, paged.
    let v = api
        .ok("DescribeLogStreams", json!({"logGroupName": g}))
        .await;
    assert_eq!(strings(&v["logStreams"], "logStreamName"), vec!["s1", "s2"]);
    assert_eq!(v["logStreams"][0]["lastEventTimestamp"], now - 500);
    assert_eq!(v["logStreams"][0]["firstEventTimestamp"], now - 3000);
    let v = api
        .ok(
            "DescribeLogStreams",
            json!({"logGroupName": g, "orderBy": "LastEventTime", "descending": true}),
        )
        .await;
    assert_eq!(strings(&v["logStreams"], "logStreamName"), vec!["s2", "s1"]);
    let v = api
        .ok(
            "DescribeLogStreams",
            json!({"logGroupName": g, "descending": true, "limit": 1}),
        )
        .await;
    assert_eq!(strings(&v["logStreams"], "logStreamName"), vec!["s2"]);
    let v = api
        .ok(
            "DescribeLogStreams",
            json!({"logGroupName": g, "descending": true, "limit": 1, "nextToken": v["nextToken"]}),
        )
        .await;
    assert_eq!(strings(&v["logStreams"], "logStreamName"), vec!["s1"]);
    assert!(v.get("nextToken").is_none(), "{v}");
    for bad in [
        json!({"logGroupName": g, "orderBy": "LastEventTime", "logStreamNamePrefix": "s"}),
        json!({"logGroupName": g, "limit": 51}),
        json!({"logGroupName": g, "orderBy": "Size"}),
        json!({"logGroupName": g, "nextToken": "bogus"}),
    ] {
        api.err("DescribeLogStreams", bad, "InvalidParameterException")
            .await;
    }

    // Retention: only AWS's values; applied to what is read.
    api.ok(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "s3"}),
    )
    .await;
    // One batch spans at most 24 hours.
    api.err(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s3", "logEvents": [
            {"timestamp": now - 3 * DAY, "message": "a"}, {"timestamp": now, "message": "b"}]}),
        "InvalidParameterException",
    )
    .await;
    api.put(g, "s3", &[(now - 3 * DAY, "three days ago")]).await;
    api.put(g, "s3", &[(now, "today")]).await;
    api.err(
        "PutRetentionPolicy",
        json!({"logGroupName": g, "retentionInDays": 2}),
        "InvalidParameterException",
    )
    .await;
    api.ok(
        "PutRetentionPolicy",
        json!({"logGroupName": g, "retentionInDays": 1}),
    )
    .await;
    let v = api
        .ok("DescribeLogGroups", json!({"logGroupNamePrefix": g}))
        .await;
    assert_eq!(v["logGroups"][0]["retentionInDays"], 1);
    assert_eq!(api.messages(g, "s3").await, vec!["today"]);
    let v = api
        .put(g, "s3", &[(now - 2 * DAY, "expired"), (now, "kept")])
        .await;
    assert_eq!(
        v["rejectedLogEventsInfo"]["expiredLogEventEndIndex"], 1,
        "{v}"
    );
    api.ok("DeleteRetentionPolicy", json!({"logGroupName": g}))
        .await;
    let v = api
        .ok("DescribeLogGroups", json!({"logGroupNamePrefix": g}))
        .await;
    assert!(v["logGroups"][0].get("retentionInDays").is_none(), "{v}");
    api.err(
        "PutRetentionPolicy",
        json!({"logGroupName": "/nope", "retentionInDays": 7}),
        "ResourceNotFoundException",
    )
    .await;

    // DeleteLogStream.
    api.ok(
        "DeleteLogStream",
        json!({"logGroupName": g, "logStreamName": "s1"}),
    )
    .await;
    api.err(
        "DeleteLogStream",
        json!({"logGroupName": g, "logStreamName": "s1"}),
        "ResourceNotFoundException",
    )
    .await;
    api.err(
        "GetLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1"}),
        "ResourceNotFoundException",
    )
    .await;
    let v = api
        .ok("DescribeLogStreams", json!({"logGroupName": g}))
        .await;
    assert_eq!(strings(&v["logStreams"], "logStreamName"), vec!["s2", "s3"]);

    // DescribeLogGroups pages at most 50 groups.
    for i in 0..55 {
        api.ok(
            "CreateLogGroup",
            json!({"logGroupName": format!("/page/{i:02}")}),
        )
        .await;
    }
    let v = api
        .ok("DescribeLogGroups", json!({"logGroupNamePrefix": "/page/"}))
        .await;
    assert_eq!(v["logGroups"].as_array().unwrap().len(), 50);
    let v = api
        .ok(
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": "/page/", "nextToken": v["nextToken"]}),
        )
        .await;
    assert_eq!(
        strings(&v["logGroups"], "logGroupName"),
        (50..55).map(|i| format!("/page/{i}")).collect::<Vec<_>>()
    );
    assert!(v.get("nextToken").is_none(), "{v}");
    let mut names = Vec::new();
    let mut token = Value::Null;
    loop {
        let mut body = json!({"logGroupNamePrefix": "/page/", "limit": 20});
        if !token.is_null() {
            body["nextToken"] = token.clone();
        }
        let v = api.ok("DescribeLogGroups", body).await;
        names.extend(strings(&v["logGroups"], "logGroupName"));
        token = v["nextToken"].clone();
        if token.is_null() {
            break;
        }
    }
    assert_eq!(names.len(), 55);
    for bad in [
        json!({"limit": 0}),
        json!({"limit": 51}),
        json!({"nextToken": "bogus"}),
        json!({"logGroupNamePrefix": "/a", "logGroupNamePattern": "a"}),
    ] {
        api.err("DescribeLogGroups", bad, "InvalidParameterException")
            .await;
    }

    // DeleteLogGroup takes streams, events and tags with it.
    api.ok("DeleteLogGroup", json!({"logGroupName": g})).await;
    api.err(
        "DeleteLogGroup",
        json!({"logGroupName": g}),
        "ResourceNotFoundException",
    )
    .await;
    api.err(
        "ListTagsLogGroup",
        json!({"logGroupName": g}),
        "ResourceNotFoundException",
    )
    .await;
    api.ok("CreateLogGroup", json!({"logGroupName": g})).await;
    let v = api.ok("ListTagsLogGroup", json!({"logGroupName": g})).await;
    assert_eq!(v["tags"], json!({}));
    let v = api
        .ok("DescribeLogStreams", json!({"logGroupName": g}))
        .await;
    assert_eq!(v["logStreams"], json!([]));

    // An operation CloudWatch Logs has but the emulator does not.
    let msg = api
        .err("PutDestination", json!({}), "UnknownOperationException")
        .await;
    assert!(msg.contains("PutDestination"), "{msg}");
    running.stop(Duration::from_secs(5)).await;
}

async fn wait_status(api: &Api, arn: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = api
            .ok(
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
async fn a_group_a_task_definition_names_can_be_written_to_and_deleted() {
    let fake = FakeRuntime::new();
    let (running, api, _dir) = start(&fake).await;
    let ecs = |op: &str| format!("{ECS}.{op}");
    api.ok(&ecs("CreateCluster"), json!({"clusterName": "c"}))
        .await;
    api.ok(&ecs("RegisterContainerInstance"), json!({"cluster": "c"}))
        .await;
    let td = json!({"family": "web", "containerDefinitions": [{
        "name": "app", "image": "img", "memoryReservation": 64,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "web-logs", "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs"}},
    }]});
    api.ok(&ecs("RegisterTaskDefinition"), td.clone()).await;
    let v = api
        .ok(
            &ecs("RunTask"),
            json!({"cluster": "c", "taskDefinition": "web"}),
        )
        .await;
    let task = v["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let id = task.rsplit('/').next().unwrap().to_string();
    wait_status(&api, &task, "RUNNING").await;
    let app = fake.find(&task, "app").unwrap();
    let now = now_ms();
    fake.print_at(&app, now - 2000, "container line");

    // The group exists without CreateLogGroup; the API writes to it too.
    api.ok(
        "PutRetentionPolicy",
        json!({"logGroupName": "web-logs", "retentionInDays": 7}),
    )
    .await;
    api.ok(
        "TagLogGroup",
        json!({"logGroupName": "web-logs", "tags": {"app": "web"}}),
    )
    .await;
    api.ok(
        "CreateLogStream",
        json!({"logGroupName": "web-logs", "logStreamName": "manual"}),
    )
    .await;
    let app_stream = format!("ecs/app/{id}");
    api.err(
        "CreateLogStream",
        json!({"logGroupName": "web-logs", "logStreamName": app_stream}),
        "ResourceAlreadyExistsException",
    )
    .await;
    api.put("web-logs", "manual", &[(now - 1000, "written by the API")])
        .await;
    // PutLogEvents to a container's stream adds to what it printed.
    api.put("web-logs", &app_stream, &[(now - 1500, "added")])
        .await;
    assert_eq!(
        api.messages("web-logs", &app_stream).await,
        vec!["container line", "added"]
    );
    let v = api
        .ok("FilterLogEvents", json!({"logGroupName": "web-logs"}))
        .await;
    assert_eq!(
        strings(&v["events"], "message"),
        vec!["container line", "added", "written by the API"]
    );
    let v = api
        .ok(
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": "web-logs"}),
        )
        .await;
    assert_eq!(v["logGroups"][0]["retentionInDays"], 7, "{v}");
    let v = api
        .ok(
            "DescribeLogStreams",
            json!({"logGroupName": "web-logs", "orderBy": "LastEventTime"}),
        )
        .await;
    assert_eq!(
        strings(&v["logStreams"], "logStreamName"),
        vec![app_stream.clone(), "manual".to_string()]
    );

    // The task stops and its definition is deregistered (INACTIVE, still
    // naming the group): the group can be deleted, once.
    api.ok(&ecs("StopTask"), json!({"cluster": "c", "task": task}))
        .await;
    wait_status(&api, &task, "STOPPED").await;
    api.ok(
        &ecs("DeregisterTaskDefinition"),
        json!({"taskDefinition": "web:1"}),
    )
    .await;
    api.ok("DeleteLogGroup", json!({"logGroupName": "web-logs"}))
        .await;
    let v = api.ok("DescribeLogGroups", json!({})).await;
    assert!(
        !strings(&v["logGroups"], "logGroupName").contains(&"web-logs".to_string()),
        "{v}"
    );
    api.err(
        "DeleteLogGroup",
        json!({"logGroupName": "web-logs"}),
        "ResourceNotFoundException",
    )
    .await;
    api.err(
        "GetLogEvents",
        json!({"logGroupName": "web-logs", "logStreamName": app_stream}),
        "ResourceNotFoundException",
    )
    .await;

    // A definition registered later brings the group back, empty.
    tokio::time::sleep(Duration::from_millis(5)).await;
    api.ok(&ecs("RegisterTaskDefinition"), td).await;
    let v = api
        .ok(
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": "web-logs"}),
        )
        .await;
    assert_eq!(v["logGroups"][0]["logGroupName"], "web-logs", "{v}");
    assert!(v["logGroups"][0].get("retentionInDays").is_none(), "{v}");
    let v = api
        .ok("FilterLogEvents", json!({"logGroupName": "web-logs"}))
        .await;
    assert_eq!(v["events"], json!([]), "{v}");
    let v = api
        .ok("ListTagsLogGroup", json!({"logGroupName": "web-logs"}))
        .await;
    assert_eq!(v["tags"], json!({}));
    running.stop(Duration::from_secs(5)).await;
}
