//! Secrets Manager beyond one secret at a time, over a real socket on the
//! in-memory runtime: BatchGetSecretValue by ids (values plus per-secret
//! errors) and by filters page by page, and resource policies (checked,
//! public ones refused under BlockPublicPolicy, kept apart from
//! DescribeSecret, validated).

mod common;
mod more;

use serde_json::json;

#[tokio::test]
async fn batch_get_secret_value_returns_values_and_per_secret_errors() {
    let (_running, sm, _dir) = more::start("secretsmanager").await;
    let a = sm
        .ok(
            "CreateSecret",
            json!({"Name": "app/a", "SecretString": "alpha"}),
        )
        .await;
    sm.ok(
        "CreateSecret",
        json!({"Name": "app/b", "SecretString": "beta"}),
    )
    .await;
    sm.ok(
        "CreateSecret",
        json!({"Name": "app/gone", "SecretString": "x"}),
    )
    .await;
    sm.ok("CreateSecret", json!({"Name": "app/empty"})).await;
    sm.ok("DeleteSecret", json!({"SecretId": "app/gone"})).await;

    let v = sm
        .ok(
            "BatchGetSecretValue",
            json!({"SecretIdList": [a["ARN"], "app/b", "app/gone", "app/nope", "app/empty"]}),
        )
        .await;
    let values = v["SecretValues"].as_array().unwrap();
    let got: Vec<(&str, &str)> = values
        .iter()
        .map(|s| {
            (
                s["Name"].as_str().unwrap(),
                s["SecretString"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![("app/a", "alpha"), ("app/b", "beta")]);
    assert_eq!(values[0]["VersionStages"], json!(["AWSCURRENT"]));
    assert_eq!(values[0]["VersionId"], a["VersionId"]);
    assert!(values[0]["CreatedDate"].as_f64().is_some());
    let errors: Vec<(&str, &str)> = v["Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["SecretId"].as_str().unwrap(),
                e["ErrorCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("app/gone", "InvalidRequestException"),
            ("app/nope", "ResourceNotFoundException"),
            ("app/empty", "ResourceNotFoundException"),
        ]
    );
    assert!(v["Errors"][0]["Message"]
        .as_str()
        .unwrap()
        .contains("marked for deletion"));
    assert!(v.get("NextToken").is_none());

    // The request itself: ids or filters, not both, not neither.
    for bad in [
        json!({}),
        json!({"SecretIdList": ["app/a"], "Filters": [{"Key": "name", "Values": ["app"]}]}),
        json!({"SecretIdList": []}),
        json!({"SecretIdList": (0..21).map(|i| format!("s{i}")).collect::<Vec<_>>()}),
        json!({"Filters": [{"Key": "colour", "Values": ["x"]}]}),
        json!({"Filters": [{"Key": "name", "Values": ["app"]}], "MaxResults": 21}),
    ] {
        sm.err("BatchGetSecretValue", bad, "InvalidParameterException")
            .await;
    }
}

#[tokio::test]
async fn batch_get_secret_value_by_filters_pages() {
    let (_running, sm, _dir) = more::start("secretsmanager").await;
    for i in 0..5 {
        sm.ok(
            "CreateSecret",
            json!({"Name": format!("svc/s{i}"), "SecretString": format!("v{i}")}),
        )
        .await;
    }
    sm.ok(
        "CreateSecret",
        json!({"Name": "other", "SecretString": "o"}),
    )
    .await;
    sm.ok(
        "CreateSecret",
        json!({"Name": "svc/deleted", "SecretString": "d"}),
    )
    .await;
    sm.ok("DeleteSecret", json!({"SecretId": "svc/deleted"}))
        .await;

    let filter = json!({"Filters": [{"Key": "name", "Values": ["svc/"]}], "MaxResults": 2});
    let (values, pages) = more::all_pages(&sm, "BatchGetSecretValue", filter, "SecretValues").await;
    let seen: Vec<&str> = values
        .iter()
        .map(|s| s["SecretString"].as_str().unwrap())
        .collect();
    let one = sm
        .ok(
            "BatchGetSecretValue",
            json!({"Filters": [{"Key": "name", "Values": ["svc/"]}]}),
        )
        .await;
    assert_eq!(one["SecretValues"].as_array().unwrap().len(), 5);
    assert_eq!(one["Errors"], json!([]));
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["v0", "v1", "v2", "v3", "v4"]);
    sm.err(
        "BatchGetSecretValue",
        json!({"Filters": [{"Key": "name", "Values": ["svc/"]}], "NextToken": "bogus"}),
        "InvalidNextTokenException",
    )
    .await;
}

const PRIVATE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
const PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

#[tokio::test]
async fn resource_policies_are_checked_kept_and_removed() {
    let (_running, sm, _dir) = more::start("secretsmanager").await;
    let created = sm
        .ok(
            "CreateSecret",
            json!({"Name": "shared", "SecretString": "s"}),
        )
        .await;
    let none = sm
        .ok("GetResourcePolicy", json!({"SecretId": "shared"}))
        .await;
    assert_eq!(none, json!({"ARN": created["ARN"], "Name": "shared"}));

    // Public: refused under BlockPublicPolicy, taken without it.
    let msg = sm
        .err(
            "PutResourcePolicy",
            json!({"SecretId": "shared", "ResourcePolicy": PUBLIC, "BlockPublicPolicy": true}),
            "PublicPolicyException",
        )
        .await;
    assert!(msg.contains("BlockPublicPolicy"), "{msg}");
    let none = sm
        .ok("GetResourcePolicy", json!({"SecretId": "shared"}))
        .await;
    assert!(none.get("ResourcePolicy").is_none(), "{none}");
    let put = sm
        .ok(
            "PutResourcePolicy",
            json!({"SecretId": "shared", "ResourcePolicy": PRIVATE, "BlockPublicPolicy": true}),
        )
        .await;
    assert_eq!(put, json!({"ARN": created["ARN"], "Name": "shared"}));
    let got = sm
        .ok("GetResourcePolicy", json!({"SecretId": created["ARN"]}))
        .await;
    assert_eq!(got["ResourcePolicy"], PRIVATE);
    let described = sm.ok("DescribeSecret", json!({"SecretId": "shared"})).await;
    assert!(
        !described.to_string().contains("111122223333"),
        "{described}"
    );
    sm.ok(
        "PutResourcePolicy",
        json!({"SecretId": "shared", "ResourcePolicy": PUBLIC}),
    )
    .await;
    let got = sm
        .ok("GetResourcePolicy", json!({"SecretId": "shared"}))
        .await;
    assert_eq!(got["ResourcePolicy"], PUBLIC);

    // Malformed documents.
    for bad in [
        "{not json",
        r#"{"Version":"2012-10-17"}"#,
        r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#,
    ] {
        sm.err(
            "PutResourcePolicy",
            json!({"SecretId": "shared", "ResourcePolicy": bad}),
            "MalformedPolicyDocumentException",
        )
        .await;
    }

    let deleted = sm
        .ok("DeleteResourcePolicy", json!({"SecretId": "shared"}))
        .await;
    assert_eq!(deleted, json!({"ARN": created["ARN"], "Name": "shared"}));
    let none = sm
        .ok("GetResourcePolicy", json!({"SecretId": "shared"}))
        .await;
    assert!(none.get("ResourcePolicy").is_none(), "{none}");

    for op in ["GetResourcePolicy", "DeleteResourcePolicy"] {
        sm.err(op, json!({"SecretId": "nope"}), "ResourceNotFoundException")
            .await;
    }
    sm.err(
        "PutResourcePolicy",
        json!({"SecretId": "nope", "ResourcePolicy": PRIVATE}),
        "ResourceNotFoundException",
    )
    .await;
    sm.ok("DeleteSecret", json!({"SecretId": "shared"})).await;
    sm.err(
        "PutResourcePolicy",
        json!({"SecretId": "shared", "ResourcePolicy": PRIVATE}),
        "InvalidRequestException",
    )
    .await;
}

#[tokio::test]
async fn validate_resource_policy_reports_findings() {
    let (_running, sm, _dir) = more::start("secretsmanager").await;
    let v = sm
        .ok("ValidateResourcePolicy", json!({"ResourcePolicy": PRIVATE}))
        .await;
    assert_eq!(
        v,
        json!({"PolicyValidationPassed": true, "ValidationErrors": []})
    );
    let v = sm
        .ok("ValidateResourcePolicy", json!({"ResourcePolicy": PUBLIC}))
        .await;
    assert_eq!(v["PolicyValidationPassed"], false);
    let errors = v["ValidationErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["CheckName"].is_string() && errors[0]["ErrorMessage"].is_string());
    let v = sm
        .ok(
            "ValidateResourcePolicy",
            json!({"ResourcePolicy": r#"{"Statement":[{"Effect":"Sometimes"}]}"#}),
        )
        .await;
    assert_eq!(v["PolicyValidationPassed"], false);
    assert_eq!(v["ValidationErrors"].as_array().unwrap().len(), 3);
    sm.err(
        "ValidateResourcePolicy",
        json!({"ResourcePolicy": "{"}),
        "MalformedPolicyDocumentException",
    )
    .await;
    sm.err(
        "ValidateResourcePolicy",
        json!({"SecretId": "nope", "ResourcePolicy": PRIVATE}),
        "ResourceNotFoundException",
    )
    .await;
}
