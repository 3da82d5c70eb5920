//! Logs Insights queries, resource policies and ListLogGroups.

use std::time::Duration;

use serde_json::{json, Value};

use super::{group_with, names, now_ms, start};
use crate::common::Api;

/// A query's rows as (field -> value) maps.
fn rows(v: &Value) -> Vec<std::collections::BTreeMap<String, String>> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {v}"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap().to_string(),
                        f["value"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

async fn query(api: &Api, group: &str, q: &str, from_s: i64) -> (String, Value) {
    let v = api
        .ok(
            "StartQuery",
            json!({"logGroupName": group, "startTime": from_s, "endTime": from_s + 3600,
                   "queryString": q}),
        )
        .await;
    let id = v["queryId"].as_str().unwrap().to_string();
    let r = api.ok("GetQueryResults", json!({"queryId": id})).await;
    assert_eq!(r["status"], "Complete", "{r}");
    (id, r)
}

#[tokio::test]
async fn insights_queries_filter_sort_limit_and_count() {
    let (running, api, _dir) = start().await;
    let g = "/app/q";
    let t0 = now_ms() - 60_000;
    let lines = [
        (t0, r#"{"level":"info","msg":"started"}"#),
        (t0 + 1000, r#"{"level":"error","msg":"error: db down"}"#),
        (t0 + 2000, r#"{"level":"info","msg":"retrying"}"#),
        (
            t0 + 3000,
            r#"{"level":"error","msg":"error: db still down"}"#,
        ),
        (t0 + 4000, r#"{"level":"error","msg":"error: giving up"}"#),
    ];
    group_with(&api, g, &lines).await;
    let from_s = t0 / 1000 - 1;

    let (id, r) = query(
        &api,
        g,
        "fields @timestamp, @message | filter @message like /error/ | sort @timestamp desc | limit 2",
        from_s,
    )
    .await;
    let got = rows(&r);
    assert_eq!(got.len(), 2, "{r}");
    assert!(got[0]["@message"].contains("giving up"), "{r}");
    assert!(got[1]["@message"].contains("still down"), "{r}");
    assert!(got[0]["@timestamp"] > got[1]["@timestamp"]);
    assert!(got[0].contains_key("@ptr"));
    // The shape botocore reads: a list of rows of {field, value}.
    assert_eq!(r["results"][0][0]["field"], "@timestamp");
    assert_eq!(r["statistics"]["recordsMatched"], 3.0);
    assert_eq!(r["statistics"]["recordsScanned"], 5.0);
    assert!(r["statistics"]["bytesScanned"].as_f64().unwrap() > 0.0);
    assert_eq!(r["queryLanguage"], "CWLI");

    let (_, r) = query(&api, g, "stats count(*) by level", from_s).await;
    let got = rows(&r);
    assert_eq!(got.len(), 2, "{r}");
    assert_eq!(
        (got[0]["level"].as_str(), got[0]["count(*)"].as_str()),
        ("error", "3")
    );
    assert_eq!(
        (got[1]["level"].as_str(), got[1]["count(*)"].as_str()),
        ("info", "2")
    );

    let (_, r) = query(
        &api,
        g,
        "filter level = 'error' and msg not like 'still' | fields msg, @logStream, @log",
        from_s,
    )
    .await;
    let got = rows(&r);
    assert_eq!(got.len(), 2, "{r}");
    assert_eq!(got[0]["@logStream"], "s1");
    assert!(got[0]["@log"].ends_with(":/app/q"), "{r}");

    // Outside the time range: nothing.
    let (_, r) = query(&api, g, "fields @message", from_s + 7200).await;
    assert_eq!(r["results"], json!([]));

    // Pages of results.
    let p1 = api
        .ok("GetQueryResults", json!({"queryId": id, "maxItems": 1}))
        .await;
    assert_eq!(rows(&p1).len(), 1);
    let p2 = api
        .ok(
            "GetQueryResults",
            json!({"queryId": id, "maxItems": 1, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert!(rows(&p2)[0]["@message"].contains("still down"));

    // Malformed queries, unknown groups and ids.
    for bad in [
        "fields @message | frobnicate",
        "filter @message like",
        "stats median(x)",
        "limit 0",
    ] {
        let msg = api
            .err(
                "StartQuery",
                json!({"logGroupName": g, "startTime": from_s, "endTime": from_s + 60,
                       "queryString": bad}),
                "MalformedQueryException",
            )
            .await;
        assert!(!msg.is_empty(), "{bad}");
    }
    api.err(
        "StartQuery",
        json!({"logGroupName": "/nope", "startTime": 0, "endTime": 1, "queryString": "fields @message"}),
        "ResourceNotFoundException",
    )
    .await;
    api.err(
        "StartQuery",
        json!({"logGroupName": g, "logGroupNames": [g], "startTime": 0, "endTime": 1,
               "queryString": "fields @message"}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "GetQueryResults",
        json!({"queryId": "nope"}),
        "ResourceNotFoundException",
    )
    .await;
    // A finished query cannot be stopped.
    api.err(
        "StopQuery",
        json!({"queryId": id}),
        "InvalidParameterException",
    )
    .await;
    api.err(
        "StopQuery",
        json!({"queryId": "nope"}),
        "ResourceNotFoundException",
    )
    .await;

    // DescribeQueries: newest first, by group and status, in pages.
    let v = api.ok("DescribeQueries", json!({"logGroupName": g})).await;
    let qs = v["queries"].as_array().unwrap();
    assert_eq!(qs.len(), 4, "{v}");
    assert_eq!(qs[3]["queryId"], id.as_str());
    assert_eq!(qs[3]["status"], "Complete");
    assert_eq!(qs[3]["logGroupName"], g);
    assert!(qs[3]["queryString"]
        .as_str()
        .unwrap()
        .starts_with("fields @timestamp"));
    let v = api
        .ok("DescribeQueries", json!({"status": "Cancelled"}))
        .await;
    assert_eq!(v["queries"], json!([]));
    let p1 = api.ok("DescribeQueries", json!({"maxResults": 3})).await;
    let p2 = api
        .ok(
            "DescribeQueries",
            json!({"maxResults": 3, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(p1["queries"].as_array().unwrap().len(), 3);
    assert_eq!(p2["queries"][0]["queryId"], id.as_str());
    assert!(p2.get("nextToken").is_none(), "{p2}");
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn resource_policies_and_list_log_groups() {
    let (running, api, _dir) = start().await;
    for g in ["/aws/lambda/a", "/aws/lambda/b", "/app/web"] {
        api.ok("CreateLogGroup", json!({"logGroupName": g})).await;
    }
    let v = api
        .ok(
            "ListLogGroups",
            json!({"logGroupNamePattern": "^/aws/lambda|web"}),
        )
        .await;
    assert_eq!(
        names(&v["logGroups"], "logGroupName"),
        vec!["/app/web", "/aws/lambda/a", "/aws/lambda/b"]
    );
    let v = api
        .ok(
            "ListLogGroups",
            json!({"logGroupNamePattern": "^/aws", "limit": 1}),
        )
        .await;
    assert_eq!(
        names(&v["logGroups"], "logGroupName"),
        vec!["/aws/lambda/a"]
    );
    assert_eq!(v["logGroups"][0]["logGroupClass"], "STANDARD");
    assert!(v["logGroups"][0]["logGroupArn"]
        .as_str()
        .unwrap()
        .ends_with(":log-group:/aws/lambda/a"));
    let v2 = api
        .ok(
            "ListLogGroups",
            json!({"logGroupNamePattern": "^/aws", "limit": 1, "nextToken": v["nextToken"]}),
        )
        .await;
    assert_eq!(
        names(&v2["logGroups"], "logGroupName"),
        vec!["/aws/lambda/b"]
    );
    api.err(
        "ListLogGroups",
        json!({"logGroupNamePattern": "ab"}),
        "InvalidParameterException",
    )
    .await;

    let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let v = api
        .ok(
            "PutResourcePolicy",
            json!({"policyName": "route53", "policyDocument": doc}),
        )
        .await;
    assert_eq!(v["resourcePolicy"]["policyName"], "route53");
    assert_eq!(v["resourcePolicy"]["policyScope"], "ACCOUNT");
    assert_eq!(v["resourcePolicy"]["policyDocument"], doc);
    assert!(v["resourcePolicy"]["lastUpdatedTime"].as_i64().unwrap() > 0);
    api.err(
        "PutResourcePolicy",
        json!({"policyName": "bad", "policyDocument": "{not json"}),
        "InvalidParameterException",
    )
    .await;
    for i in 1..10 {
        api.ok(
            "PutResourcePolicy",
            json!({"policyName": format!("p{i}"), "policyDocument": doc}),
        )
        .await;
    }
    api.err(
        "PutResourcePolicy",
        json!({"policyName": "eleventh", "policyDocument": doc}),
        "LimitExceededException",
    )
    .await;
    let v = api
        .ok("DescribeResourcePolicies", json!({"limit": 50}))
        .await;
    assert_eq!(v["resourcePolicies"].as_array().unwrap().len(), 10);
    let p1 = api
        .ok("DescribeResourcePolicies", json!({"limit": 4}))
        .await;
    assert!(p1["nextToken"].is_string());
    api.ok("DeleteResourcePolicy", json!({"policyName": "route53"}))
        .await;
    api.err(
        "DeleteResourcePolicy",
        json!({"policyName": "route53"}),
        "ResourceNotFoundException",
    )
    .await;
    let v = api.ok("DescribeResourcePolicies", json!({})).await;
    assert!(!names(&v["resourcePolicies"], "policyName").contains(&"route53".to_string()));
    running.stop(Duration::from_secs(5)).await;
}
