//! The ECS API over a real socket, on the in-memory runtime: bad input of
//! many kinds gets an AWS-shaped 400 each, and the emulator keeps serving.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

async fn call(endpoint: &str, target: Option<&str>, body: &str) -> (u16, Value) {
    common::raw_call(endpoint, target, body.to_string()).await
}

async fn start() -> (emulator::Running, String, tempfile::TempDir) {
    common::in_process(|c| c.resync = Duration::from_millis(100)).await
}

#[tokio::test]
async fn bad_input_of_every_kind_gets_an_aws_400_and_the_emulator_keeps_serving() {
    let (running, ep, _dir) = start().await;
    let op = |o: &str| format!("{ECS}.{o}");
    call(&ep, Some(&op("CreateCluster")), r#"{"clusterName":"c"}"#).await;
    call(
        &ep,
        Some(&op("RegisterContainerInstance")),
        r#"{"cluster":"c"}"#,
    )
    .await;

    let td =
        |containers: Value| json!({"family": "f", "containerDefinitions": containers}).to_string();
    let cases: Vec<(&str, Option<String>, String, &str)> = vec![
        ("no target header", None, "{}".into(), "MissingAuthenticationTokenException"),
        ("malformed target", Some("Nonsense".into()), "{}".into(), "UnknownOperationException"),
        ("unknown operation", Some(op("FlyToTheMoon")), "{}".into(), "UnknownOperationException"),
        ("unknown service", Some("Foo_1.Bar".into()), "{}".into(), "UnknownOperationException"),
        ("malformed JSON", Some(op("RunTask")), "{not json".into(), "SerializationException"),
        ("JSON that is not an object", Some(op("ListClusters")), "[1,2]".into(), "SerializationException"),
        ("missing required field", Some(op("RunTask")), r#"{"cluster":"c"}"#.into(), "ClientException"),
        ("wrong type", Some(op("RunTask")), r#"{"cluster":"c","taskDefinition":5}"#.into(), "ClientException"),
        ("missing container name", Some(op("RegisterTaskDefinition")), td(json!([{"image": "i", "memory": 64}])), "ClientException"),
        ("missing image", Some(op("RegisterTaskDefinition")), td(json!([{"name": "a", "memory": 64}])), "ClientException"),
        ("no memory", Some(op("RegisterTaskDefinition")), td(json!([{"name": "a", "image": "i"}])), "ClientException"),
        ("duplicate names", Some(op("RegisterTaskDefinition")), td(json!([{"name": "a", "image": "i", "memory": 64}, {"name": "a", "image": "i", "memory": 64}])), "ClientException"),
        ("unknown link", Some(op("RegisterTaskDefinition")), td(json!([{"name": "a", "image": "i", "memory": 64, "links": ["b"]}])), "ClientException"),
        ("port out of range", Some(op("RegisterTaskDefinition")), td(json!([{"name": "a", "image": "i", "memory": 64, "portMappings": [{"containerPort": 70000}]}])), "ClientException"),
        ("unsupported network mode", Some(op("RegisterTaskDefinition")), json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}).to_string(), "InvalidParameterException"),
        ("unknown cluster", Some(op("ListTasks")), r#"{"cluster":"nope"}"#.into(), "ClusterNotFoundException"),
        ("unknown task definition", Some(op("RunTask")), r#"{"cluster":"c","taskDefinition":"nope"}"#.into(), "ClientException"),
        ("count out of range", Some(op("RunTask")), r#"{"cluster":"c","taskDefinition":"nope","count":11}"#.into(), "InvalidParameterException"),
        ("stop unknown task", Some(op("StopTask")), r#"{"cluster":"c","task":"0123"}"#.into(), "InvalidParameterException"),
        ("describe no tasks", Some(op("DescribeTasks")), r#"{"cluster":"c","tasks":[]}"#.into(), "InvalidParameterException"),
        ("bad placement constraint", Some(op("RunTask")), r#"{"cluster":"c","taskDefinition":"nope","placementConstraints":[{"type":"closeToMe"}]}"#.into(), "InvalidParameterException"),
        ("deregister without revision", Some(op("DeregisterTaskDefinition")), r#"{"taskDefinition":"f"}"#.into(), "ClientException"),
        ("bad cluster name", Some(op("CreateCluster")), r#"{"clusterName":"no spaces allowed"}"#.into(), "InvalidParameterException"),
        ("bad desiredStatus", Some(op("ListTasks")), r#"{"cluster":"c","desiredStatus":"SLEEPING"}"#.into(), "InvalidParameterException"),
    ];
    assert!(cases.len() >= 15);
    for (what, target, body, aws_type) in &cases {
        let (status, v) = call(&ep, target.as_deref(), body).await;
        assert_eq!(status, 400, "{what}: {v}");
        assert_eq!(v["__type"], *aws_type, "{what}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: a message says what is wrong: {v}"
        );
        // Still serving after each one.
        let (status, _) = call(&ep, Some(&op("ListClusters")), "{}").await;
        assert_eq!(status, 200, "after {what}");
    }
    // A wrong path is not a crash either.
    let resp = reqwest::get(format!("{ep}/nope")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_api_answers_in_aws_shapes() {
    let (running, ep, _dir) = start().await;
    let op = |o: &str| format!("{ECS}.{o}");
    let (s, v) = call(&ep, Some(&op("CreateCluster")), r#"{"clusterName":"c"}"#).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["cluster"]["clusterArn"],
        "arn:aws:ecs:us-east-1:000000000000:cluster/c"
    );
    let (_, v) = call(
        &ep,
        Some(&op("RegisterContainerInstance")),
        r#"{"cluster":"c","instanceType":"t2.small","availabilityZone":"us-east-1b"}"#,
    )
    .await;
    let ci = v["containerInstance"].clone();
    assert_eq!(ci["registeredResources"][1]["name"], "MEMORY");
    assert_eq!(ci["registeredResources"][1]["integerValue"], 2048);
    assert!(ci["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "ecs.availability-zone" && a["value"] == "us-east-1b"));
    let td = json!({"family": "web", "containerDefinitions": [{"name": "a", "image": "i", "memoryReservation": 300,
        "portMappings": [{"containerPort": 3000, "hostPort": 0}]}], "someNewField": 1});
    let (_, v) = call(&ep, Some(&op("RegisterTaskDefinition")), &td.to_string()).await;
    assert_eq!(
        v["taskDefinition"]["taskDefinitionArn"],
        "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
    );
    let (_, v) = call(&ep, Some(&op("RegisterTaskDefinition")), &td.to_string()).await;
    assert_eq!(
        v["taskDefinition"]["revision"], 2,
        "same family again adds a revision"
    );
    let (_, v) = call(&ep, Some(&op("ListTaskDefinitionFamilies")), "{}").await;
    assert_eq!(v["families"], json!(["web"]));
    let (_, v) = call(
        &ep,
        Some(&op("RunTask")),
        r#"{"cluster":"c","taskDefinition":"web:1"}"#,
    )
    .await;
    let arn = v["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    // The fake engine runs it within a few reconcile passes.
    let mut last = Value::Null;
    for _ in 0..50 {
        let (_, v) = call(
            &ep,
            Some(&op("DescribeTasks")),
            &json!({"cluster": "c", "tasks": [arn]}).to_string(),
        )
        .await;
        last = v["tasks"][0].clone();
        if last["lastStatus"] == "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["lastStatus"], "RUNNING", "{last:#}");
    assert_eq!(
        last["containers"][0]["networkBindings"][0]["containerPort"],
        3000
    );
    let (_, v) = call(
        &ep,
        Some(&op("DescribeContainerInstances")),
        &json!({"cluster": "c", "containerInstances": [ci["containerInstanceArn"]]}).to_string(),
    )
    .await;
    assert_eq!(
        v["containerInstances"][0]["remainingResources"][1]["integerValue"],
        2048 - 300
    );
    assert_eq!(v["containerInstances"][0]["runningTasksCount"], 1);
    running.stop(Duration::from_secs(5)).await;
}

/// No web page can drive the API: a cross-site form or text/plain post,
/// a rebound host name, or an unsigned call is refused before any
/// operation runs, and the emulator goes on serving its own clients.
#[tokio::test]
async fn web_pages_cannot_drive_the_api() {
    let (running, ep, _dir) = start().await;
    let port = running.api_addr.port();
    let http = reqwest::Client::new();
    let auth = "AWS4-HMAC-SHA256 Credential=t/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";
    // A page's form posts an ELBv2 call (form-encoded, foreign Origin).
    let r = http
        .post(format!("{ep}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .body("Action=CreateLoadBalancer&Name=pwned&Version=2015-12-01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("<ErrorResponse"));
    // The same without Origin (an old browser, a rebinding page on a
    // foreign Host) but unsigned: refused.
    let r = http
        .post(format!("{ep}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=CreateLoadBalancer&Name=pwned&Version=2015-12-01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("MissingAuthenticationToken"));
    // text/plain (a "simple" cross-origin request needs no preflight).
    let r = http
        .post(format!("{ep}/"))
        .header("content-type", "text/plain")
        .header("x-amz-target", "AmazonSSM.GetParameter")
        .header("authorization", auth)
        .body(r#"{"Name":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // DNS rebinding: the right address, a foreign Host.
    for path in ["/", "/_emulator/shutdown"] {
        let r = http
            .post(format!("{ep}{path}"))
            .header("host", format!("rebound.example:{port}"))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "secretsmanager.ListSecrets")
            .header("authorization", auth)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 421, "{path}");
    }
    // A page asking the emulator to shut down (cross-origin POST).
    let r = http
        .post(format!("{ep}/_emulator/shutdown"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Nothing happened: no load balancer, and the API still answers.
    let r = http
        .post(format!("{ep}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", auth)
        .body("Action=DescribeLoadBalancers&Version=2015-12-01")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!r.text().await.unwrap().contains("pwned"));
    // Every answer, refusals included, names its request.
    let r = http
        .post(format!("{ep}/"))
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-amzn-requestid"].to_str().unwrap().len(),
        36,
        "a UUID request id"
    );
    // Same-origin (the console) and `localhost` are fine.
    let (status, _) = call(
        &ep,
        Some("AmazonEC2ContainerServiceV20141113.ListClusters"),
        "{}",
    )
    .await;
    assert_eq!(status, 200);
    let r = http
        .post(format!("http://localhost:{port}/"))
        .header("origin", format!("http://127.0.0.1:{port}"))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        )
        .header("authorization", auth)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    running.stop(Duration::from_secs(5)).await;
}

/// A body of the wrong shape is answered in each service's own terms:
/// the error code its model declares (or AWS's ValidationException, worded
/// as AWS words it), never another service's.
#[tokio::test]
async fn a_request_of_the_wrong_shape_gets_each_services_own_error() {
    let (running, ep, _dir) = start().await;
    let cases = [
        (
            "AmazonSSM.GetParameter",
            "{}",
            "ValidationException",
            "Value null at 'Name'",
        ),
        (
            "AnyScaleFrontendService.DescribeScalableTargets",
            "{}",
            "ValidationException",
            "Value null at 'ServiceNamespace'",
        ),
        (
            "Logs_20140328.CreateLogGroup",
            "{}",
            "InvalidParameterException",
            "log group name",
        ),
        (
            "secretsmanager.GetSecretValue",
            "{}",
            "ValidationException",
            "Value null at 'SecretId'",
        ),
        (
            "AmazonSSM.PutParameter",
            r#"{"Name":"n","Value":5}"#,
            "ValidationException",
            "wrong type",
        ),
        (
            "AmazonEC2ContainerServiceV20141113.RunTask",
            r#"{"taskDefinition":5}"#,
            "ClientException",
            "taskDefinition",
        ),
    ];
    for (target, body, code, words) in cases {
        let (status, v) = call(&ep, Some(target), body).await;
        assert_eq!(status, 400, "{target}: {v}");
        assert_eq!(v["__type"], code, "{target}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{target}: {v}");
        assert!(!message.contains("RequestShape"), "{target}: {v}");
    }
    running.stop(Duration::from_secs(5)).await;
}
