//! The web console's server side on an in-process emulator: `GET /` is the
//! page (and `POST /` still the AWS APIs), the event stream tells of a
//! change as it is made, and an API bound beyond loopback gives browsers a
//! read-only console. The page itself in a browser: `console_in_browser.rs`.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

#[tokio::test]
async fn get_root_is_the_console_and_post_root_still_answers_aws() {
    let (_running, ep, _dir) = common::in_process(|_| {}).await;
    let resp = reqwest::get(format!("{ep}/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<title>ECS emulator console</title>"),
        "{html}"
    );
    // Its script and style come from the emulator itself (works offline).
    for file in ["app.js", "aws.js", "views.js", "task.js", "console.css"] {
        assert!(html.contains(&format!("/_console/{file}")), "{file}");
        let r = reqwest::get(format!("{ep}/_console/{file}")).await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert!(!r.text().await.unwrap().is_empty(), "{file}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    let r = reqwest::get(format!("{ep}/_console/nope.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // AWS clients are unaffected.
    let (status, v) =
        common::raw_call(&ep, Some(&format!("{ECS}.ListClusters")), "{}".into()).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["clusterArns"].is_array(), "{v}");

    let config = console_config(&ep).await;
    assert_eq!(config["readOnly"], false, "{config}");
}

async fn console_config(ep: &str) -> Value {
    reqwest::get(format!("{ep}/_console/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An AWS call as a page at `origin` makes it: signed, with an `Origin`.
/// JSON 1.1 with a `target`, Query (form-encoded) without.
async fn from_page(ep: &str, origin: &str, target: Option<&str>, body: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{ep}/"))
        .header("authorization", common::AUTH)
        .header("origin", origin)
        .body(body.to_string());
    req = match target {
        Some(t) => req
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("{ECS}.{t}")),
        None => req.header("content-type", "application/x-www-form-urlencoded"),
    };
    req.send().await.unwrap()
}

/// Reads the event stream until an event of `kind` arrives; its data.
async fn next_event(resp: &mut reqwest::Response, buf: &mut String, kind: &str) -> Value {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = if e.trim() == kind { kind } else { "other" };
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim());
                }
            }
            if event == kind {
                return serde_json::from_str(&data).unwrap();
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 10 s; got {buf:?}"))
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_event_stream_names_a_cluster_as_it_is_created() {
    let (_running, ep, _dir) = common::in_process(|_| {}).await;
    let mut resp = reqwest::get(format!("{ep}/_console/events")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    next_event(&mut resp, &mut buf, "hello").await;

    let (status, v) = common::raw_call(
        &ep,
        Some(&format!("{ECS}.CreateCluster")),
        json!({"clusterName": "watched"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let ev = next_event(&mut resp, &mut buf, "change").await;
    assert_eq!(ev["records"]["clusters"], json!(["watched"]), "{ev}");
    assert!(ev["seq"].as_u64().unwrap() > 0, "{ev}");
}

#[tokio::test]
async fn the_event_stream_tells_of_target_health() {
    let (running, ep, _dir) = common::in_process(common::free_listeners).await;
    let tg = running
        .alb()
        .create_target_group("arn:tg/console", alb::TargetGroupConfig::new(80))
        .unwrap();
    let mut resp = reqwest::get(format!("{ep}/_console/events")).await.unwrap();
    let mut buf = String::new();
    next_event(&mut resp, &mut buf, "hello").await;
    tg.register_targets(&[alb::Target::new("i-1", 1)]).unwrap();
    let ev = next_event(&mut resp, &mut buf, "change").await;
    assert_eq!(ev["targetHealth"], true, "{ev}");
}

#[tokio::test]
async fn a_browser_may_only_read_when_the_api_is_bound_beyond_loopback() {
    let (running, _, _dir) =
        common::in_process(|c| c.api_addr = "0.0.0.0:0".parse().unwrap()).await;
    let ep = format!("http://127.0.0.1:{}", running.api_addr.port());
    let config = console_config(&ep).await;
    assert_eq!(config["readOnly"], true, "{config}");

    let r = from_page(&ep, &ep, Some("CreateCluster"), r#"{"clusterName": "c"}"#).await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["__type"], "AccessDeniedException", "{v}");
    assert!(v["message"].as_str().unwrap().contains("read-only"), "{v}");
    let r = from_page(&ep, &ep, Some("ListClusters"), "{}").await;
    assert_eq!(r.status(), 200);

    // An ELBv2 write from a browser is refused in the Query shape.
    let form = "Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn=x";
    let r = from_page(&ep, &ep, None, form).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("read-only"));
    let r = from_page(
        &ep,
        &ep,
        None,
        "Action=DescribeLoadBalancers&Version=2015-12-01",
    )
    .await;
    assert_eq!(r.status(), 200);

    // The CLI and SDKs (no Origin) are not limited.
    let (status, v) = common::raw_call(
        &ep,
        Some(&format!("{ECS}.CreateCluster")),
        json!({"clusterName": "c"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn another_origin_still_cannot_call() {
    let (_running, ep, _dir) = common::in_process(|_| {}).await;
    let r = from_page(&ep, "http://evil.example", Some("ListClusters"), "{}").await;
    assert_eq!(r.status(), 403);
    // The page's own origin may.
    let r = from_page(&ep, &ep, Some("ListClusters"), "{}").await;
    assert_eq!(r.status(), 200);
}

/// `POST /_console/kill` as a page sends it.
async fn kill_from_page(
    ep: &str,
    origin: &str,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{ep}/_console/kill"))
        .header("origin", origin)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn kill_takes_json_from_the_page_only_and_never_when_read_only() {
    let (_running, ep, _dir) = common::in_process(|_| {}).await;
    let body = r#"{"task": "0123456789abcdef0123456789abcdef"}"#;
    // A form (what a cross-site page could send without asking) is refused.
    let r = kill_from_page(&ep, &ep, "application/x-www-form-urlencoded", body).await;
    assert_eq!(r.status(), 415);
    let r = kill_from_page(&ep, "http://evil.example", "application/json", body).await;
    assert_eq!(r.status(), 403);
    let r = kill_from_page(&ep, &ep, "application/json", body).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("No task"), "{v}");

    let (running, _, _dir) =
        common::in_process(|c| c.api_addr = "0.0.0.0:0".parse().unwrap()).await;
    let ep = format!("http://127.0.0.1:{}", running.api_addr.port());
    let r = kill_from_page(&ep, &ep, "application/json", body).await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("read-only"), "{v}");
}
