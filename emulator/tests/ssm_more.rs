//! SSM beyond parameters, over a real socket on the in-memory runtime:
//! the Parameter Store's service settings acted on by PutParameter (the
//! default tier), and documents: versions, the default version, content
//! checks, listing page by page, tags.

mod common;
mod more;

use common::Api;
use serde_json::{json, Value};

const TIER: &str = "/ssm/parameter-store/default-parameter-tier";

async fn tier_of(ssm: &Api, name: &str) -> String {
    let v = ssm
        .ok(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Name", "Values": [name]}]}),
        )
        .await;
    v["Parameters"][0]["Tier"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_default_tier_setting_decides_the_tier_of_new_parameters() {
    let (_running, ssm, _dir) = more::start("AmazonSSM").await;
    let got = ssm
        .ok("GetServiceSetting", json!({"SettingId": TIER}))
        .await;
    let s = &got["ServiceSetting"];
    assert_eq!(
        (
            s["SettingId"].as_str(),
            s["SettingValue"].as_str(),
            s["Status"].as_str()
        ),
        (Some(TIER), Some("Standard"), Some("Default"))
    );
    assert_eq!(
        s["ARN"],
        "arn:aws:ssm:us-east-1:000000000000:servicesetting/ssm/parameter-store/default-parameter-tier"
    );

    // Standard by default: a 5000-character value is refused.
    let big = "x".repeat(5000);
    let msg = ssm
        .err(
            "PutParameter",
            json!({"Name": "/big", "Value": big, "Type": "String"}),
            "ValidationException",
        )
        .await;
    assert!(msg.contains("4096"), "{msg}");
    let v = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/a", "Value": "1", "Type": "String"}),
        )
        .await;
    assert_eq!(v["Tier"], "Standard");

    // Advanced by default, set through the setting's ARN.
    let arn = s["ARN"].as_str().unwrap().to_string();
    let v = ssm
        .ok(
            "UpdateServiceSetting",
            json!({"SettingId": arn, "SettingValue": "Advanced"}),
        )
        .await;
    assert_eq!(v, json!({}));
    let s = ssm
        .ok("GetServiceSetting", json!({"SettingId": TIER}))
        .await["ServiceSetting"]
        .clone();
    assert_eq!(
        (s["SettingValue"].as_str(), s["Status"].as_str()),
        (Some("Advanced"), Some("Customized"))
    );
    assert!(s["LastModifiedDate"].as_f64().unwrap() > 0.0, "{s}");
    let v = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/b", "Value": "2", "Type": "String"}),
        )
        .await;
    assert_eq!(v["Tier"], "Advanced");
    assert_eq!(tier_of(&ssm, "/b").await, "Advanced");
    assert_eq!(tier_of(&ssm, "/a").await, "Standard");
    let v = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/big", "Value": "x".repeat(5000), "Type": "String"}),
        )
        .await;
    assert_eq!(v["Tier"], "Advanced");
    // An Advanced parameter never goes back to Standard.
    ssm.err(
        "PutParameter",
        json!({"Name": "/b", "Value": "3", "Overwrite": true, "Tier": "Standard"}),
        "ValidationException",
    )
    .await;

    // Reset: Standard again for the next parameter.
    let v = ssm
        .ok("ResetServiceSetting", json!({"SettingId": TIER}))
        .await;
    assert_eq!(v["ServiceSetting"]["SettingValue"], "Standard");
    assert_eq!(v["ServiceSetting"]["Status"], "Default");
    let v = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/c", "Value": "3", "Type": "String"}),
        )
        .await;
    assert_eq!(v["Tier"], "Standard");

    // Intelligent-Tiering: Advanced only when the value needs it.
    ssm.ok(
        "UpdateServiceSetting",
        json!({"SettingId": TIER, "SettingValue": "Intelligent-Tiering"}),
    )
    .await;
    let small = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/d", "Value": "4", "Type": "String"}),
        )
        .await;
    let large = ssm
        .ok(
            "PutParameter",
            json!({"Name": "/e", "Value": "y".repeat(4097), "Type": "String"}),
        )
        .await;
    assert_eq!(
        (small["Tier"].as_str(), large["Tier"].as_str()),
        (Some("Standard"), Some("Advanced"))
    );
    let filtered = ssm
        .ok(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Tier", "Values": ["Advanced"]}]}),
        )
        .await;
    let names: Vec<&str> = filtered["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["/b", "/big", "/e"]);

    // Bad values and unknown settings.
    ssm.err(
        "UpdateServiceSetting",
        json!({"SettingId": TIER, "SettingValue": "Premium"}),
        "ValidationException",
    )
    .await;
    ssm.err(
        "UpdateServiceSetting",
        json!({"SettingId": "/ssm/parameter-store/high-throughput-enabled", "SettingValue": "yes"}),
        "ValidationException",
    )
    .await;
    ssm.ok(
        "UpdateServiceSetting",
        json!({"SettingId": "/ssm/parameter-store/high-throughput-enabled", "SettingValue": "true"}),
    )
    .await;
    for op in ["GetServiceSetting", "ResetServiceSetting"] {
        ssm.err(
            op,
            json!({"SettingId": "/ssm/nothing/here"}),
            "ServiceSettingNotFound",
        )
        .await;
    }
}

fn command(text: &str) -> String {
    json!({
        "schemaVersion": "2.2",
        "description": "Says something",
        "parameters": {"msg": {"type": "String", "default": "hi"}},
        "mainSteps": [{"action": "aws:runShellScript", "name": "say",
                       "inputs": {"runCommand": [format!("echo {text}")]}}],
    })
    .to_string()
}

#[tokio::test]
async fn documents_keep_versions_and_serve_the_default_one() {
    let (_running, ssm, _dir) = more::start("AmazonSSM").await;
    let v1 = command("one");
    let created = ssm
        .ok(
            "CreateDocument",
            json!({"Name": "say-it", "Content": v1, "DocumentType": "Command",
                   "Tags": [{"Key": "team", "Value": "ops"}]}),
        )
        .await;
    let d = &created["DocumentDescription"];
    assert_eq!(d["DocumentVersion"], "1");
    assert_eq!(
        (d["LatestVersion"].as_str(), d["DefaultVersion"].as_str()),
        (Some("1"), Some("1"))
    );
    assert_eq!(d["Owner"], "000000000000");
    assert_eq!(d["Status"], "Active");
    assert_eq!(d["SchemaVersion"], "2.2");
    assert_eq!(d["DocumentFormat"], "JSON");
    assert_eq!(d["HashType"], "Sha256");
    assert_eq!(d["Hash"].as_str().unwrap().len(), 64);
    assert_eq!(d["PlatformTypes"], json!(["Linux", "MacOS"]));
    assert_eq!(
        d["Parameters"],
        json!([{"Name": "msg", "Type": "String", "DefaultValue": "hi"}])
    );
    assert_eq!(d["Tags"], json!([{"Key": "team", "Value": "ops"}]));
    ssm.err(
        "CreateDocument",
        json!({"Name": "say-it", "Content": v1}),
        "DocumentAlreadyExists",
    )
    .await;

    // A new version; the same content again is refused.
    let v2 = command("two");
    let updated = ssm
        .ok(
            "UpdateDocument",
            json!({"Name": "say-it", "Content": v2, "DocumentVersion": "$LATEST"}),
        )
        .await;
    let d = &updated["DocumentDescription"];
    assert_eq!(
        (d["DocumentVersion"].as_str(), d["LatestVersion"].as_str()),
        (Some("2"), Some("2"))
    );
    assert_eq!(d["DefaultVersion"], "1");
    assert_ne!(d["Hash"], created["DocumentDescription"]["Hash"]);
    for content in [&v2, &v1] {
        ssm.err(
            "UpdateDocument",
            json!({"Name": "say-it", "Content": content}),
            "DuplicateDocumentContent",
        )
        .await;
    }
    ssm.err(
        "UpdateDocument",
        json!({"Name": "say-it", "Content": command("three"), "DocumentVersion": "1"}),
        "InvalidDocumentVersion",
    )
    .await;

    // GetDocument serves the default version until it moves.
    let got = ssm.ok("GetDocument", json!({"Name": "say-it"})).await;
    assert_eq!(
        (got["Content"].as_str(), got["DocumentVersion"].as_str()),
        (Some(v1.as_str()), Some("1"))
    );
    let got = ssm
        .ok(
            "GetDocument",
            json!({"Name": "say-it", "DocumentVersion": "2"}),
        )
        .await;
    assert_eq!(got["Content"], v2);
    let moved = ssm
        .ok(
            "UpdateDocumentDefaultVersion",
            json!({"Name": "say-it", "DocumentVersion": "2"}),
        )
        .await;
    assert_eq!(
        moved["Description"],
        json!({"Name": "say-it", "DefaultVersion": "2"})
    );
    let got = ssm.ok("GetDocument", json!({"Name": "say-it"})).await;
    assert_eq!(
        (got["Content"].as_str(), got["DocumentVersion"].as_str()),
        (Some(v2.as_str()), Some("2"))
    );
    let desc = ssm.ok("DescribeDocument", json!({"Name": "say-it"})).await;
    assert_eq!(desc["Document"]["DefaultVersion"], "2");
    ssm.err(
        "UpdateDocumentDefaultVersion",
        json!({"Name": "say-it", "DocumentVersion": "7"}),
        "InvalidDocumentVersion",
    )
    .await;

    let versions = ssm
        .ok("ListDocumentVersions", json!({"Name": "say-it"}))
        .await;
    let list = versions["DocumentVersions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter()
            .map(|v| v["IsDefaultVersion"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![false, true]
    );
    let page = ssm
        .ok(
            "ListDocumentVersions",
            json!({"Name": "say-it", "MaxResults": 1}),
        )
        .await;
    assert_eq!(page["DocumentVersions"][0]["DocumentVersion"], "1");
    let page = ssm
        .ok(
            "ListDocumentVersions",
            json!({"Name": "say-it", "MaxResults": 1, "NextToken": page["NextToken"]}),
        )
        .await;
    assert_eq!(page["DocumentVersions"][0]["DocumentVersion"], "2");
    assert!(page.get("NextToken").is_none(), "{page}");

    // The default version can't be deleted; another can.
    ssm.err(
        "DeleteDocument",
        json!({"Name": "say-it", "DocumentVersion": "2"}),
        "InvalidDocumentOperation",
    )
    .await;
    ssm.ok(
        "DeleteDocument",
        json!({"Name": "say-it", "DocumentVersion": "1"}),
    )
    .await;
    ssm.err(
        "GetDocument",
        json!({"Name": "say-it", "DocumentVersion": "1"}),
        "InvalidDocumentVersion",
    )
    .await;

    // Tags through the parameter tag operations.
    ssm.ok(
        "AddTagsToResource",
        json!({"ResourceType": "Document", "ResourceId": "say-it", "Tags": [{"Key": "env", "Value": "prod"}]}),
    )
    .await;
    let tags = ssm
        .ok(
            "ListTagsForResource",
            json!({"ResourceType": "Document", "ResourceId": "say-it"}),
        )
        .await;
    assert_eq!(tags["TagList"].as_array().unwrap().len(), 2);

    ssm.ok("DeleteDocument", json!({"Name": "say-it"})).await;
    for op in [
        "GetDocument",
        "DescribeDocument",
        "ListDocumentVersions",
        "DeleteDocument",
    ] {
        ssm.err(op, json!({"Name": "say-it"}), "InvalidDocument")
            .await;
    }
    ssm.err(
        "ListTagsForResource",
        json!({"ResourceType": "Document", "ResourceId": "say-it"}),
        "InvalidResourceId",
    )
    .await;
}

#[tokio::test]
async fn document_content_is_checked() {
    let (_running, ssm, _dir) = more::start("AmazonSSM").await;
    let bad: Vec<(Value, &str)> = vec![
        (
            json!({"Name": "doc1", "Content": "{not json"}),
            "InvalidDocumentContent",
        ),
        (
            json!({"Name": "doc1", "Content": "{\"mainSteps\": []}"}),
            "InvalidDocumentContent",
        ),
        (
            json!({"Name": "doc1", "Content": "{\"schemaVersion\": \"2.2\"}"}),
            "InvalidDocumentContent",
        ),
        (
            json!({"Name": "doc1", "Content": "{\"schemaVersion\": \"5.0\", \"mainSteps\": []}"}),
            "InvalidDocumentSchemaVersion",
        ),
        (
            json!({"Name": "doc1", "Content": "description: x\n", "DocumentFormat": "YAML"}),
            "InvalidDocumentContent",
        ),
        (
            json!({"Name": "AWS-Mine", "Content": command("x")}),
            "ValidationException",
        ),
        (
            json!({"Name": "doc1", "Content": command("x"), "DocumentType": "Nope"}),
            "ValidationException",
        ),
    ];
    for (body, code) in bad {
        ssm.err("CreateDocument", body, code).await;
    }
    // A YAML document with its schemaVersion at the top level is taken.
    let yaml = "schemaVersion: '0.3'\ndescription: Restart things\nmainSteps:\n  - name: sleep\n    action: aws:sleep\n    inputs:\n      Duration: PT1S\n";
    let d = ssm
        .ok(
            "CreateDocument",
            json!({"Name": "restart", "Content": yaml, "DocumentFormat": "YAML", "DocumentType": "Automation"}),
        )
        .await;
    assert_eq!(d["DocumentDescription"]["SchemaVersion"], "0.3");
    assert_eq!(d["DocumentDescription"]["Description"], "Restart things");
    let got = ssm.ok("GetDocument", json!({"Name": "restart"})).await;
    assert_eq!(
        (got["Content"].as_str(), got["DocumentFormat"].as_str()),
        (Some(yaml), Some("YAML"))
    );
}

#[tokio::test]
async fn list_documents_filters_and_pages() {
    let (_running, ssm, _dir) = more::start("AmazonSSM").await;
    for i in 0..5 {
        ssm.ok(
            "CreateDocument",
            json!({"Name": format!("doc-{i}"), "Content": command(&i.to_string()),
                   "Tags": [{"Key": "parity", "Value": if i % 2 == 0 { "even" } else { "odd" }}]}),
        )
        .await;
    }
    ssm.ok(
        "CreateDocument",
        json!({"Name": "other", "Content": "{\"schemaVersion\":\"1.0\",\"sessionType\":\"Standard_Stream\",\"inputs\":{}}",
               "DocumentType": "Session"}),
    )
    .await;
    let (docs, pages) = more::all_pages(
        &ssm,
        "ListDocuments",
        json!({"MaxResults": 2}),
        "DocumentIdentifiers",
    )
    .await;
    assert!(docs.iter().all(|d| d["Owner"] == "000000000000"));
    let names: Vec<&str> = docs.iter().map(|d| d["Name"].as_str().unwrap()).collect();
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        vec!["doc-0", "doc-1", "doc-2", "doc-3", "doc-4", "other"]
    );

    let count = |v: Value| v["DocumentIdentifiers"].as_array().unwrap().len();
    let f = |key: &str, values: Value| json!({"Filters": [{"Key": key, "Values": values}]});
    assert_eq!(
        count(ssm.ok("ListDocuments", f("Name", json!(["doc-"]))).await),
        5
    );
    assert_eq!(
        count(
            ssm.ok("ListDocuments", f("DocumentType", json!(["Session"])))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            ssm.ok("ListDocuments", f("tag:parity", json!(["even"])))
                .await
        ),
        3
    );
    assert_eq!(
        count(ssm.ok("ListDocuments", f("Owner", json!(["Self"]))).await),
        6
    );
    assert_eq!(
        count(ssm.ok("ListDocuments", f("Owner", json!(["Amazon"]))).await),
        0
    );
    assert_eq!(
        count(
            ssm.ok("ListDocuments", f("PlatformTypes", json!(["Windows"])))
                .await
        ),
        1
    );
    let legacy = json!({"DocumentFilterList": [{"key": "DocumentType", "value": "Command"}]});
    assert_eq!(count(ssm.ok("ListDocuments", legacy).await), 5);
    ssm.err(
        "ListDocuments",
        f("Colour", json!(["x"])),
        "InvalidFilterKey",
    )
    .await;
    ssm.err(
        "ListDocuments",
        json!({"NextToken": "bogus"}),
        "InvalidNextToken",
    )
    .await;
    ssm.err(
        "ListDocuments",
        json!({"MaxResults": 51}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn only_advanced_parameters_can_be_shared_by_a_resource_policy() {
    let (_running, ssm, _dir) = more::start("AmazonSSM").await;
    let arn = |n: &str| format!("arn:aws:ssm:us-east-1:000000000000:parameter/{n}");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ssm:GetParameter","Resource":"*"}]}"#;
    ssm.ok(
        "PutParameter",
        json!({"Name": "/std", "Value": "1", "Type": "String"}),
    )
    .await;
    ssm.ok(
        "PutParameter",
        json!({"Name": "/adv", "Value": "1", "Type": "String", "Tier": "Advanced"}),
    )
    .await;
    ssm.err(
        "PutResourcePolicy",
        json!({"ResourceArn": arn("std"), "Policy": policy}),
        "ResourcePolicyInvalidParameterException",
    )
    .await;
    ssm.err(
        "PutResourcePolicy",
        json!({"ResourceArn": arn("missing"), "Policy": policy}),
        "ResourceNotFoundException",
    )
    .await;
    ssm.err(
        "PutResourcePolicy",
        json!({"ResourceArn": arn("adv"), "Policy": "{nope"}),
        "MalformedResourcePolicyDocumentException",
    )
    .await;
    let put = ssm
        .ok(
            "PutResourcePolicy",
            json!({"ResourceArn": arn("adv"), "Policy": policy}),
        )
        .await;
    let (id, hash) = (put["PolicyId"].clone(), put["PolicyHash"].clone());
    assert_eq!(hash.as_str().unwrap().len(), 64);
    let got = ssm
        .ok("GetResourcePolicies", json!({"ResourceArn": arn("adv")}))
        .await;
    assert_eq!(
        got["Policies"],
        json!([{"PolicyId": id, "PolicyHash": hash, "Policy": policy}])
    );
    // A second policy, or a change with a stale hash, is refused.
    ssm.err(
        "PutResourcePolicy",
        json!({"ResourceArn": arn("adv"), "Policy": policy}),
        "ResourcePolicyLimitExceededException",
    )
    .await;
    let changed = policy.replace("ssm:GetParameter", "ssm:GetParameters");
    ssm.err(
        "PutResourcePolicy",
        json!({"ResourceArn": arn("adv"), "Policy": changed, "PolicyId": id, "PolicyHash": "stale"}),
        "ResourcePolicyConflictException",
    )
    .await;
    let put2 = ssm
        .ok(
            "PutResourcePolicy",
            json!({"ResourceArn": arn("adv"), "Policy": changed, "PolicyId": id, "PolicyHash": hash}),
        )
        .await;
    assert_eq!(put2["PolicyId"], id);
    assert_ne!(put2["PolicyHash"], hash);
    ssm.err(
        "DeleteResourcePolicy",
        json!({"ResourceArn": arn("adv"), "PolicyId": id, "PolicyHash": hash}),
        "ResourcePolicyConflictException",
    )
    .await;
    ssm.ok(
        "DeleteResourcePolicy",
        json!({"ResourceArn": arn("adv"), "PolicyId": id, "PolicyHash": put2["PolicyHash"]}),
    )
    .await;
    let got = ssm
        .ok("GetResourcePolicies", json!({"ResourceArn": arn("adv")}))
        .await;
    assert_eq!(got["Policies"], json!([]));
    ssm.err(
        "DeleteResourcePolicy",
        json!({"ResourceArn": arn("adv"), "PolicyId": id, "PolicyHash": hash}),
        "ResourcePolicyNotFoundException",
    )
    .await;
}
