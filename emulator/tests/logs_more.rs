//! CloudWatch Logs metric filters, subscription filters, Logs Insights
//! queries, resource policies and ListLogGroups, over HTTP on the
//! in-memory runtime: what a user of the API notices (matches and
//! extracted values, limits, query results, errors, pages, `/metrics`).

mod common;

use common::Api;

use std::time::Duration;

use serde_json::{json, Value};

const LOGS: &str = "Logs_20140328";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn start() -> (emulator::Running, Api, tempfile::TempDir) {
    let (running, ep, dir) = common::in_process(|c| c.resync = Duration::from_millis(50)).await;
    (running, Api::new(&ep, LOGS), dir)
}

/// A group with one stream holding `events` (ms, message).
async fn group_with(api: &Api, g: &str, events: &[(i64, &str)]) {
    api.ok("CreateLogGroup", json!({"logGroupName": g})).await;
    api.ok(
        "CreateLogStream",
        json!({"logGroupName": g, "logStreamName": "s1"}),
    )
    .await;
    let events: Vec<Value> = events
        .iter()
        .map(|(t, m)| json!({"timestamp": t, "message": m}))
        .collect();
    api.ok(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1", "logEvents": events}),
    )
    .await;
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn test_metric_filter_extracts_values_from_space_delimited_and_json_patterns() {
    let (running, api, _dir) = start().await;
    let line =
        r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
    let small = r#"10.0.0.1 - ann [10/Oct/2000:13:25:16 -0700] "GET / HTTP/1.0" 200 12"#;
    let v = api
        .ok(
            "TestMetricFilter",
            json!({
                "filterPattern": "[ip, user, username, timestamp, request, status_code, bytes > 1000]",
                "logEventMessages": [small, line],
            }),
        )
        .await;
    let matches = v["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{v}");
    assert_eq!(matches[0]["eventNumber"], 2);
    assert_eq!(matches[0]["eventMessage"], line);
    let ex = &matches[0]["extractedValues"];
    assert_eq!(ex["$ip"], "127.0.0.1");
    assert_eq!(ex["$username"], "frank");
    assert_eq!(ex["$timestamp"], "10/Oct/2000:13:25:15 -0700");
    assert_eq!(ex["$request"], "GET /apache_pb.gif HTTP/1.0");
    assert_eq!(ex["$bytes"], "1534");

    let v = api
        .ok(
            "TestMetricFilter",
            json!({
                "filterPattern": r#"{ $.level = "error" && $.latency > 100 }"#,
                "logEventMessages": [
                    r#"{"level":"error","latency":250}"#,
                    r#"{"level":"info","latency":900}"#,
                    "not json at all",
                ],
            }),
        )
        .await;
    let matches = v["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{v}");
    assert_eq!(matches[0]["eventNumber"], 1);
    assert_eq!(matches[0]["extractedValues"]["$.level"], "error");
    assert_eq!(matches[0]["extractedValues"]["$.latency"], "250");

    // Terms: ?alternatives and -exclusions.
    let v = api
        .ok(
            "TestMetricFilter",
            json!({"filterPattern": "?ERROR ?WARN -healthcheck",
                   "logEventMessages": ["ERROR db down", "WARN healthcheck slow", "INFO ok"]}),
        )
        .await;
    assert_eq!(names(&v["matches"], "eventMessage"), vec!["ERROR db down"]);

    for bad in ["{ $.level = }", "[ip, user", "\"unterminated"] {
        let msg = api
            .err(
                "TestMetricFilter",
                json!({"filterPattern": bad, "logEventMessages": ["x"]}),
                "InvalidParameterException",
            )
            .await;
        assert!(msg.contains("Invalid filter pattern"), "{msg}");
    }
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn metric_filters_are_kept_listed_limited_and_count_what_is_written() {
    let (running, api, _dir) = start().await;
    let g = "/app/web";
    group_with(&api, g, &[(now_ms() - 1000, "warmup")]).await;
    let put = |name: &str, pattern: &str, metric: &str, value: &str| {
        json!({
            "logGroupName": g, "filterName": name, "filterPattern": pattern,
            "metricTransformations": [{"metricName": metric, "metricNamespace": "App",
                                       "metricValue": value, "unit": "Bytes"}],
        })
    };
    api.ok(
        "PutMetricFilter",
        put("bytes", "[ip, status, bytes]", "Bytes", "$bytes"),
    )
    .await;
    api.ok("PutMetricFilter", put("errors", "ERROR", "Errors", "1"))
        .await;
    api.err(
        "PutMetricFilter",
        put("x", "{ $.a = ", "X", "1"),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "PutMetricFilter",
        put("x", "ERROR", "X", "$nope"),
        "InvalidParameterException",
    )
    .await;
    let mut missing = put("x", "ERROR", "X", "1");
    missing["logGroupName"] = json!("/nope");
    api.err("PutMetricFilter", missing, "ResourceNotFoundException")
        .await;

    // Written events are counted against the filters.
    let t = now_ms();
    let events = json!([
        {"timestamp": t, "message": "1.2.3.4 200 100"},
        {"timestamp": t, "message": "ERROR boom"},
        {"timestamp": t, "message": "5.6.7.8 500 250"},
    ]);
    api.ok(
        "PutLogEvents",
        json!({"logGroupName": g, "logStreamName": "s1", "logEvents": events}),
    )
    .await;
    let metrics = reqwest::get(format!("{}/metrics", api.ep))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |filter: &str, name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains(&format!("filter_name=\"{filter}\"")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let matched = "cloudwatch_logs_metric_filter_matched_events_total";
    let sum = "cloudwatch_logs_metric_filter_value_sum";
    assert_eq!(sample("bytes", matched), Some(2.0), "{metrics}");
    assert_eq!(sample("bytes", sum), Some(350.0), "{metrics}");
    assert_eq!(sample("errors", matched), Some(1.0), "{metrics}");

    // Listed by group, prefix and metric; the group counts them.
    let v = api
        .ok("DescribeMetricFilters", json!({"logGroupName": g}))
        .await;
    assert_eq!(
        names(&v["metricFilters"], "filterName"),
        vec!["bytes", "errors"]
    );
    let f = &v["metricFilters"][0];
    assert_eq!(f["logGroupName"], g);
    assert_eq!(f["filterPattern"], "[ip, status, bytes]");
    assert_eq!(f["metricTransformations"][0]["metricValue"], "$bytes");
    assert_eq!(f["metricTransformations"][0]["unit"], "Bytes");
    assert!(f["creationTime"].as_i64().unwrap() > 0);
    assert!(f.get("matchedEvents").is_none(), "{f}");
    let v = api
        .ok(
            "DescribeMetricFilters",
            json!({"metricName": "Errors", "metricNamespace": "App"}),
        )
        .await;
    assert_eq!(names(&v["metricFilters"], "filterName"), vec!["errors"]);
    let v = api
        .ok(
            "DescribeMetricFilters",
            json!({"logGroupName": g, "filterNamePrefix": "by"}),
        )
        .await;
    assert_eq!(names(&v["metricFilters"], "filterName"), vec!["bytes"]);
    api.err(
        "DescribeMetricFilters",
        json!({"filterNamePrefix": "by"}),
        "InvalidParameterException",
    )
    .await;
    let v = api
        .ok("DescribeLogGroups", json!({"logGroupNamePrefix": g}))
        .await;
    assert_eq!(v["logGroups"][0]["metricFilterCount"], 2);

    // Pages of one.
    let p1 = api
        .ok(
            "DescribeMetricFilters",
            json!({"logGroupName": g, "limit": 1}),
        )
        .await;
    assert_eq!(names(&p1["metricFilters"], "filterName"), vec!["bytes"]);
    let p2 = api
        .ok(
            "DescribeMetricFilters",
            json!({"logGroupName": g, "limit": 1, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(names(&p2["metricFilters"], "filterName"), vec!["errors"]);
    assert!(p2.get("nextToken").is_none(), "{p2}");
    api.err(
        "DescribeMetricFilters",
        json!({"logGroupName": g, "nextToken": "bogus"}),
        "InvalidParameterException",
    )
    .await;

    // At most 100 per group.
    for i in 2..100 {
        api.ok("PutMetricFilter", put(&format!("f{i:03}"), "x", "M", "1"))
            .await;
    }
    api.ok("PutMetricFilter", put("errors", "ERROR", "Errors", "2"))
        .await;
    api.err(
        "PutMetricFilter",
        put("one-too-many", "x", "M", "1"),
        "LimitExceededException",
    )
    .await;

    api.ok(
        "DeleteMetricFilter",
        json!({"logGroupName": g, "filterName": "errors"}),
    )
    .await;
    api.err(
        "DeleteMetricFilter",
        json!({"logGroupName": g, "filterName": "errors"}),
        "ResourceNotFoundException",
    )
    .await;
    let v = api
        .ok(
            "DescribeMetricFilters",
            json!({"metricName": "Errors", "metricNamespace": "App"}),
        )
        .await;
    assert_eq!(v["metricFilters"], json!([]));
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_third_subscription_filter_is_refused() {
    let (running, api, _dir) = start().await;
    let g = "/app/sub";
    group_with(&api, g, &[(now_ms(), "x")]).await;
    let sub = |name: &str, dest: &str| {
        json!({"logGroupName": g, "filterName": name, "filterPattern": "ERROR",
               "destinationArn": dest})
    };
    let lambda = "arn:aws:lambda:us-east-1:123456789012:function:ship";
    let kinesis = "arn:aws:kinesis:us-east-1:123456789012:stream/logs";
    api.ok("PutSubscriptionFilter", sub("a", lambda)).await;
    // Kinesis needs a role.
    api.err(
        "PutSubscriptionFilter",
        sub("b", kinesis),
        "InvalidParameterException",
    )
    .await;
    let mut with_role = sub("b", kinesis);
    with_role["roleArn"] = json!("arn:aws:iam::123456789012:role/cwl");
    with_role["distribution"] = json!("Random");
    api.ok("PutSubscriptionFilter", with_role).await;
    api.err(
        "PutSubscriptionFilter",
        sub("c", lambda),
        "LimitExceededException",
    )
    .await;
    // Replacing one of the two is fine.
    api.ok("PutSubscriptionFilter", sub("a", lambda)).await;
    api.err(
        "PutSubscriptionFilter",
        sub("a", "arn:aws:s3:::bucket"),
        "InvalidParameterException",
    )
    .await;

    let v = api
        .ok("DescribeSubscriptionFilters", json!({"logGroupName": g}))
        .await;
    assert_eq!(
        names(&v["subscriptionFilters"], "filterName"),
        vec!["a", "b"]
    );
    let b = &v["subscriptionFilters"][1];
    assert_eq!(b["destinationArn"], kinesis);
    assert_eq!(b["roleArn"], "arn:aws:iam::123456789012:role/cwl");
    assert_eq!(b["distribution"], "Random");
    assert_eq!(v["subscriptionFilters"][0]["distribution"], "ByLogStream");
    let p1 = api
        .ok(
            "DescribeSubscriptionFilters",
            json!({"logGroupName": g, "limit": 1}),
        )
        .await;
    let p2 = api
        .ok(
            "DescribeSubscriptionFilters",
            json!({"logGroupName": g, "limit": 1, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(names(&p2["subscriptionFilters"], "filterName"), vec!["b"]);
    api.err(
        "DescribeSubscriptionFilters",
        json!({"logGroupName": "/nope"}),
        "ResourceNotFoundException",
    )
    .await;

    api.ok(
        "DeleteSubscriptionFilter",
        json!({"logGroupName": g, "filterName": "a"}),
    )
    .await;
    api.ok("PutSubscriptionFilter", sub("c", lambda)).await;
    api.err(
        "DeleteSubscriptionFilter",
        json!({"logGroupName": g, "filterName": "a"}),
        "ResourceNotFoundException",
    )
    .await;
    // Deleting the group deletes its filters.
    api.ok("DeleteLogGroup", json!({"logGroupName": g})).await;
    api.ok("CreateLogGroup", json!({"logGroupName": g})).await;
    let v = api
        .ok("DescribeSubscriptionFilters", json!({"logGroupName": g}))
        .await;
    assert_eq!(v["subscriptionFilters"], json!([]));
    running.stop(Duration::from_secs(5)).await;
}

#[path = "logs_more/insights.rs"]
mod insights;
