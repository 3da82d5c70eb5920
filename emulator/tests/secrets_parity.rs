//! SSM Parameter Store and Secrets Manager beyond put/get, on the
//! in-memory runtime over a real socket: parameter history (bounded to
//! 100 versions), labels and selectors, tags, GetParametersByPath and
//! DescribeParameters page by page; secret versions and staging labels,
//! ListSecretVersionIds, UpdateSecretVersionStage, tags, ListSecrets page
//! by page, and GetRandomPassword.

mod common;
mod more;

use common::Api;

use std::sync::Arc;
use std::time::Duration;

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

impl Api {
    /// Every page of a paginated operation: the items under `field`.
    async fn all_pages(&self, op: &str, body: Value, field: &str) -> (Vec<Value>, usize) {
        more::all_pages(self, op, body, field).await
    }
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["Name"].as_str().unwrap().to_string())
        .collect()
}

async fn start(fake: &FakeRuntime) -> (emulator::Running, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    let running = start_with_runtime(config, Arc::new(fake.clone()))
        .await
        .unwrap();
    let ep = format!("http://{}", running.api_addr);
    (running, ep, dir)
}

#[tokio::test]
async fn parameters_keep_history_labels_and_tags_and_list_page_by_page() {
    let fake = FakeRuntime::new();
    let (running, ep, _dir) = start(&fake).await;
    let ssm = Api::new(&ep, "AmazonSSM");
    let p = "/app/p";
    ssm.ok(
        "PutParameter",
        json!({"Name": p, "Value": "v1", "Type": "SecureString", "Description": "first"}),
    )
    .await;
    for v in ["v2", "v3"] {
        ssm.ok(
            "PutParameter",
            json!({"Name": p, "Value": v, "Overwrite": true}),
        )
        .await;
    }

    // History: every version, oldest first; values hidden without
    // decryption.
    let v = ssm.ok("GetParameterHistory", json!({"Name": p})).await;
    let history = v["Parameters"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["Version"], 1);
    assert_eq!(history[0]["Description"], "first");
    assert!(!v.to_string().contains("\"v1\""), "{v}");
    let (all, pages) = ssm
        .all_pages(
            "GetParameterHistory",
            json!({"Name": p, "WithDecryption": true, "MaxResults": 2}),
            "Parameters",
        )
        .await;
    assert_eq!(pages, 2);
    let values: Vec<&str> = all.iter().map(|h| h["Value"].as_str().unwrap()).collect();
    assert_eq!(values, vec!["v1", "v2", "v3"]);
    ssm.err(
        "GetParameterHistory",
        json!({"Name": p, "NextToken": "bogus"}),
        "InvalidNextToken",
    )
    .await;
    ssm.err(
        "GetParameterHistory",
        json!({"Name": "/nope"}),
        "ParameterNotFound",
    )
    .await;

    // Labels: invalid ones reported, a label moves between versions, and
    // `name:label` / `name:N` select a version.
    let v = ssm
        .ok(
            "LabelParameterVersion",
            json!({"Name": p, "ParameterVersion": 1, "Labels": ["prod", "1bad", "awsy"]}),
        )
        .await;
    assert_eq!(v["InvalidLabels"], json!(["1bad", "awsy"]));
    assert_eq!(v["ParameterVersion"], 1);
    let v = ssm
        .ok(
            "GetParameter",
            json!({"Name": format!("{p}:prod"), "WithDecryption": true}),
        )
        .await;
    assert_eq!(
        (
            &v["Parameter"]["Value"],
            &v["Parameter"]["Version"],
            &v["Parameter"]["Selector"]
        ),
        (&json!("v1"), &json!(1), &json!(":prod"))
    );
    assert_eq!(v["Parameter"]["Name"], p);
    let v = ssm
        .ok(
            "LabelParameterVersion",
            json!({"Name": p, "Labels": ["prod"]}),
        )
        .await;
    assert_eq!(v["ParameterVersion"], 3);
    let v = ssm
        .ok(
            "GetParameters",
            json!({"Names": [format!("{p}:prod"), format!("{p}:2"), format!("{p}:9"), format!("{p}:nolabel")],
                   "WithDecryption": true}),
        )
        .await;
    let values: Vec<&str> = v["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Value"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["v3", "v2"]);
    assert_eq!(
        v["InvalidParameters"],
        json!([format!("{p}:9"), format!("{p}:nolabel")])
    );
    ssm.err(
        "GetParameter",
        json!({"Name": format!("{p}:9")}),
        "ParameterVersionNotFound",
    )
    .await;
    ssm.err(
        "GetParameter",
        json!({"Name": format!("{p}:nolabel")}),
        "ParameterNotFound",
    )
    .await;
    let v = ssm.ok("GetParameterHistory", json!({"Name": p})).await;
    let labels: Vec<Value> = v["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["Labels"].clone())
        .collect();
    assert_eq!(labels, vec![json!([]), json!([]), json!(["prod"])]);
    ssm.err(
        "LabelParameterVersion",
        json!({"Name": p, "ParameterVersion": 7, "Labels": ["x"]}),
        "ParameterVersionNotFound",
    )
    .await;
    let ten: Vec<String> = (0..9).map(|i| format!("l{i}")).collect();
    ssm.ok(
        "LabelParameterVersion",
        json!({"Name": p, "ParameterVersion": 3, "Labels": ten}),
    )
    .await;
    ssm.err(
        "LabelParameterVersion",
        json!({"Name": p, "ParameterVersion": 3, "Labels": ["eleventh"]}),
        "ParameterVersionLabelLimitExceeded",
    )
    .await;
    let v = ssm
        .ok(
            "UnlabelParameterVersion",
            json!({"Name": p, "ParameterVersion": 3, "Labels": ["prod", "nope"]}),
        )
        .await;
    assert_eq!(
        (&v["RemovedLabels"], &v["InvalidLabels"]),
        (&json!(["prod"]), &json!(["nope"]))
    );

    // At most 100 versions: the oldest goes, unless it has a label.
    let many = "/app/many";
    ssm.ok("PutParameter", json!({"Name": many, "Value": "0"}))
        .await;
    for i in 1..=104 {
        ssm.ok(
            "PutParameter",
            json!({"Name": many, "Value": i.to_string(), "Overwrite": true}),
        )
        .await;
    }
    let (all, _) = ssm
        .all_pages("GetParameterHistory", json!({"Name": many}), "Parameters")
        .await;
    assert_eq!(all.len(), 100);
    assert_eq!(
        (&all[0]["Version"], &all[99]["Version"]),
        (&json!(6), &json!(105))
    );
    ssm.err(
        "GetParameter",
        json!({"Name": format!("{many}:5")}),
        "ParameterVersionNotFound",
    )
    .await;
    ssm.ok(
        "LabelParameterVersion",
        json!({"Name": many, "ParameterVersion": 6, "Labels": ["keep"]}),
    )
    .await;
    ssm.err(
        "PutParameter",
        json!({"Name": many, "Value": "x", "Overwrite": true}),
        "ParameterMaxVersionLimitExceeded",
    )
    .await;

    // Tags.
    ssm.ok(
        "PutParameter",
        json!({"Name": "/tree/a", "Value": "a", "Tags": [{"Key": "team", "Value": "core"}]}),
    )
    .await;
    ssm.err(
        "PutParameter",
        json!({"Name": "/tree/a", "Value": "a", "Overwrite": true, "Tags": [{"Key": "k", "Value": "v"}]}),
        "ValidationException",
    )
    .await;
    let res = |extra: Value| {
        let mut b = json!({"ResourceType": "Parameter", "ResourceId": "/tree/a"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    ssm.ok(
        "AddTagsToResource",
        res(json!({"Tags": [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "edge"}]})),
    )
    .await;
    let v = ssm.ok("ListTagsForResource", res(json!({}))).await;
    assert_eq!(
        v["TagList"],
        json!([{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "edge"}])
    );
    ssm.ok("RemoveTagsFromResource", res(json!({"TagKeys": ["env"]})))
        .await;
    let v = ssm.ok("ListTagsForResource", res(json!({}))).await;
    assert_eq!(v["TagList"], json!([{"Key": "team", "Value": "edge"}]));
    ssm.err(
        "ListTagsForResource",
        json!({"ResourceType": "Parameter", "ResourceId": "/nope"}),
        "InvalidResourceId",
    )
    .await;
    ssm.err(
        "ListTagsForResource",
        json!({"ResourceType": "MaintenanceWindow", "ResourceId": "/tree/a"}),
        "InvalidResourceType",
    )
    .await;
    let fifty: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    ssm.err(
        "AddTagsToResource",
        res(json!({ "Tags": fifty })),
        "TooManyTagsError",
    )
    .await;

    // GetParametersByPath: one level or all, at most 10 a page.
    for i in 0..12 {
        ssm.ok(
            "PutParameter",
            json!({"Name": format!("/tree/sub/p{i:02}"), "Value": "x", "Type": "String"}),
        )
        .await;
    }
    ssm.ok(
        "PutParameter",
        json!({"Name": "/tree/sub/deep/d", "Value": "x"}),
    )
    .await;
    let (one_level, _) = ssm
        .all_pages(
            "GetParametersByPath",
            json!({"Path": "/tree"}),
            "Parameters",
        )
        .await;
    assert_eq!(names(&one_level), vec!["/tree/a"]);
    let (sub, pages) = ssm
        .all_pages(
            "GetParametersByPath",
            json!({"Path": "/tree/sub", "MaxResults": 5}),
            "Parameters",
        )
        .await;
    assert_eq!((sub.len(), pages), (12, 3));
    let (all, pages) = ssm
        .all_pages(
            "GetParametersByPath",
            json!({"Path": "/tree", "Recursive": true}),
            "Parameters",
        )
        .await;
    assert_eq!((all.len(), pages), (14, 2));
    ssm.err(
        "GetParametersByPath",
        json!({"Path": "/tree", "MaxResults": 11}),
        "ValidationException",
    )
    .await;
    ssm.err(
        "GetParametersByPath",
        json!({"Path": "/tree", "NextToken": "bogus"}),
        "InvalidNextToken",
    )
    .await;
    ssm.err(
        "GetParametersByPath",
        json!({"Path": "/tree", "ParameterFilters": [{"Key": "Name", "Values": ["x"]}]}),
        "InvalidFilterKey",
    )
    .await;

    // DescribeParameters: filters, page by page.
    let (every, pages) = ssm
        .all_pages("DescribeParameters", json!({"MaxResults": 4}), "Parameters")
        .await;
    assert_eq!((every.len(), pages), (16, 4));
    assert!(!Value::Array(every).to_string().contains("\"v3\""));
    let (tagged, _) = ssm
        .all_pages(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "tag:team", "Values": ["edge"]}]}),
            "Parameters",
        )
        .await;
    assert_eq!(names(&tagged), vec!["/tree/a"]);
    let (deep, _) = ssm
        .all_pages(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Path", "Option": "OneLevel", "Values": ["/tree/sub/deep"]}]}),
            "Parameters",
        )
        .await;
    assert_eq!(names(&deep), vec!["/tree/sub/deep/d"]);
    let (secure, _) = ssm
        .all_pages(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Type", "Values": ["SecureString"]}]}),
            "Parameters",
        )
        .await;
    assert_eq!(names(&secure), vec![p]);
    ssm.err(
        "DescribeParameters",
        json!({"ParameterFilters": [{"Key": "Name", "Option": "Recursive", "Values": ["/"]}]}),
        "InvalidFilterOption",
    )
    .await;
    ssm.err(
        "DescribeParameters",
        json!({"MaxResults": 51}),
        "ValidationException",
    )
    .await;

    // Deleting a parameter takes its tags and history.
    ssm.ok("DeleteParameter", json!({"Name": "/tree/a"})).await;
    ssm.ok("PutParameter", json!({"Name": "/tree/a", "Value": "new"}))
        .await;
    let v = ssm.ok("ListTagsForResource", res(json!({}))).await;
    assert_eq!(v["TagList"], json!([]));
    let v = ssm
        .ok("GetParameterHistory", json!({"Name": "/tree/a"}))
        .await;
    assert_eq!(v["Parameters"].as_array().unwrap().len(), 1);

    let msg = ssm
        .err("SendCommand", json!({}), "UnknownOperationException")
        .await;
    assert!(msg.contains("SendCommand"), "{msg}");
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn secrets_keep_versions_stages_and_tags_and_list_page_by_page() {
    let fake = FakeRuntime::new();
    let (running, ep, _dir) = start(&fake).await;
    let sm = Api::new(&ep, "secretsmanager");
    let id = "app/db";
    let v = sm
        .ok(
            "CreateSecret",
            json!({"Name": id, "SecretString": "one", "Tags": [{"Key": "team", "Value": "core"}]}),
        )
        .await;
    let v1 = v["VersionId"].as_str().unwrap().to_string();
    let v = sm
        .ok(
            "PutSecretValue",
            json!({"SecretId": id, "SecretString": "two"}),
        )
        .await;
    assert_eq!(v["VersionStages"], json!(["AWSCURRENT"]));
    let v2 = v["VersionId"].as_str().unwrap().to_string();

    // GetSecretValue by stage or version id.
    let get = |body: Value| {
        let sm = &sm;
        async move { sm.ok("GetSecretValue", body).await }
    };
    let v = get(json!({"SecretId": id})).await;
    assert_eq!(
        (&v["SecretString"], &v["VersionId"]),
        (&json!("two"), &json!(v2))
    );
    let v = get(json!({"SecretId": id, "VersionStage": "AWSPREVIOUS"})).await;
    assert_eq!(v["SecretString"], "one");
    assert_eq!(v["VersionStages"], json!(["AWSPREVIOUS"]));
    let v = get(json!({"SecretId": id, "VersionId": v1})).await;
    assert_eq!(v["SecretString"], "one");
    sm.err(
        "GetSecretValue",
        json!({"SecretId": id, "VersionStage": "NOPE"}),
        "ResourceNotFoundException",
    )
    .await;
    sm.err(
        "GetSecretValue",
        json!({"SecretId": id, "VersionId": "00000000-0000-0000-0000-000000000000"}),
        "ResourceNotFoundException",
    )
    .await;

    // UpdateSecret with a value: a new current version.
    let v = sm
        .ok(
            "UpdateSecret",
            json!({"SecretId": id, "SecretString": "three"}),
        )
        .await;
    let v3 = v["VersionId"].as_str().unwrap().to_string();
    let v = get(json!({"SecretId": id, "VersionStage": "AWSPREVIOUS"})).await;
    assert_eq!(v["VersionId"], json!(v2));
    let v = sm.ok("ListSecretVersionIds", json!({"SecretId": id})).await;
    let ids: Vec<&str> = v["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["VersionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![v2.as_str(), v3.as_str()]);
    let (every, pages) = sm
        .all_pages(
            "ListSecretVersionIds",
            json!({"SecretId": id, "IncludeDeprecated": true, "MaxResults": 2}),
            "Versions",
        )
        .await;
    assert_eq!((every.len(), pages), (3, 2));
    sm.err(
        "ListSecretVersionIds",
        json!({"SecretId": id, "NextToken": "bogus"}),
        "InvalidNextTokenException",
    )
    .await;

    // A pending version, then moved to current by UpdateSecretVersionStage.
    let token = "11111111-2222-3333-4444-555555555555";
    let v = sm
        .ok(
            "PutSecretValue",
            json!({"SecretId": id, "SecretString": "four", "VersionStages": ["AWSPENDING"],
                   "ClientRequestToken": token}),
        )
        .await;
    assert_eq!(
        (&v["VersionId"], &v["VersionStages"]),
        (&json!(token), &json!(["AWSPENDING"]))
    );
    // The same token and value again: the same version, nothing moved.
    sm.ok(
        "PutSecretValue",
        json!({"SecretId": id, "SecretString": "four", "ClientRequestToken": token}),
    )
    .await;
    sm.err(
        "PutSecretValue",
        json!({"SecretId": id, "SecretString": "other", "ClientRequestToken": token}),
        "ResourceExistsException",
    )
    .await;
    assert_eq!(get(json!({"SecretId": id})).await["SecretString"], "three");
    sm.err(
        "UpdateSecretVersionStage",
        json!({"SecretId": id, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}),
        "InvalidParameterException",
    )
    .await;
    sm.err(
        "UpdateSecretVersionStage",
        json!({"SecretId": id, "VersionStage": "AWSCURRENT", "RemoveFromVersionId": v3}),
        "InvalidParameterException",
    )
    .await;
    sm.ok(
        "UpdateSecretVersionStage",
        json!({"SecretId": id, "VersionStage": "AWSCURRENT", "MoveToVersionId": token,
               "RemoveFromVersionId": v3}),
    )
    .await;
    let v = get(json!({"SecretId": id})).await;
    assert_eq!(v["SecretString"], "four");
    let v = get(json!({"SecretId": id, "VersionStage": "AWSPREVIOUS"})).await;
    assert_eq!(v["VersionId"], json!(v3));
    sm.ok(
        "UpdateSecretVersionStage",
        json!({"SecretId": id, "VersionStage": "AWSPENDING", "RemoveFromVersionId": token}),
    )
    .await;
    let v = sm.ok("DescribeSecret", json!({"SecretId": id})).await;
    assert_eq!(
        v["VersionIdsToStages"],
        json!({ token: ["AWSCURRENT"], v3.clone(): ["AWSPREVIOUS"] })
    );
    assert_eq!(v["Tags"], json!([{"Key": "team", "Value": "core"}]));
    assert!(!v.to_string().contains("four"), "{v}");

    // Tags.
    sm.ok(
        "TagResource",
        json!({"SecretId": id, "Tags": [{"Key": "env", "Value": "dev"}]}),
    )
    .await;
    sm.ok(
        "UntagResource",
        json!({"SecretId": id, "TagKeys": ["team"]}),
    )
    .await;
    let v = sm.ok("DescribeSecret", json!({"SecretId": id})).await;
    assert_eq!(v["Tags"], json!([{"Key": "env", "Value": "dev"}]));
    sm.err(
        "TagResource",
        json!({"SecretId": "missing", "Tags": [{"Key": "a", "Value": "b"}]}),
        "ResourceNotFoundException",
    )
    .await;
    sm.err(
        "TagResource",
        json!({"SecretId": id, "Tags": [{"Key": "aws:x", "Value": "b"}]}),
        "InvalidParameterException",
    )
    .await;

    // ListSecrets: stages and tags shown, page by page, filters.
    for i in 0..7 {
        sm.ok(
            "CreateSecret",
            json!({"Name": format!("batch/s{i}"), "SecretString": "x"}),
        )
        .await;
    }
    let (list, pages) = sm
        .all_pages("ListSecrets", json!({"MaxResults": 3}), "SecretList")
        .await;
    assert_eq!((list.len(), pages), (8, 3));
    let mine = list.iter().find(|s| s["Name"] == id).unwrap();
    assert_eq!(mine["SecretVersionsToStages"][token], json!(["AWSCURRENT"]));
    assert_eq!(mine["Tags"], json!([{"Key": "env", "Value": "dev"}]));
    assert!(!Value::Array(list.clone()).to_string().contains("four"));
    let (batch, _) = sm
        .all_pages(
            "ListSecrets",
            json!({"Filters": [{"Key": "name", "Values": ["batch/"]}], "SortOrder": "desc"}),
            "SecretList",
        )
        .await;
    assert_eq!(
        names(&batch),
        (0..7)
            .rev()
            .map(|i| format!("batch/s{i}"))
            .collect::<Vec<_>>()
    );
    let (tagged, _) = sm
        .all_pages(
            "ListSecrets",
            json!({"Filters": [{"Key": "tag-key", "Values": ["env"]}]}),
            "SecretList",
        )
        .await;
    assert_eq!(names(&tagged), vec![id]);
    sm.err(
        "ListSecrets",
        json!({"NextToken": "bogus"}),
        "InvalidNextTokenException",
    )
    .await;
    sm.err(
        "ListSecrets",
        json!({"MaxResults": 101}),
        "InvalidParameterException",
    )
    .await;

    // GetRandomPassword.
    let v = sm.ok("GetRandomPassword", json!({})).await;
    assert_eq!(v["RandomPassword"].as_str().unwrap().len(), 32);
    let v = sm
        .ok(
            "GetRandomPassword",
            json!({"PasswordLength": 20, "ExcludePunctuation": true, "ExcludeCharacters": "0Oo1lI"}),
        )
        .await;
    let pw = v["RandomPassword"].as_str().unwrap();
    assert_eq!(pw.len(), 20);
    assert!(
        pw.chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0Oo1lI".contains(c)),
        "{pw}"
    );
    sm.err(
        "GetRandomPassword",
        json!({"PasswordLength": 0}),
        "InvalidParameterException",
    )
    .await;

    // Force deletion takes the tags too.
    sm.ok(
        "DeleteSecret",
        json!({"SecretId": id, "ForceDeleteWithoutRecovery": true}),
    )
    .await;
    sm.ok("CreateSecret", json!({"Name": id, "SecretString": "again"}))
        .await;
    let v = sm.ok("DescribeSecret", json!({"SecretId": id})).await;
    assert!(v.get("Tags").is_none(), "{v}");

    let msg = sm
        .err("RotateSecret", json!({}), "UnknownOperationException")
        .await;
    assert!(msg.contains("RotateSecret"), "{msg}");
    running.stop(Duration::from_secs(5)).await;
}
