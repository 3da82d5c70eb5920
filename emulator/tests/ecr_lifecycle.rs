//! ECR lifecycle policies over a real registry: images `docker push`ed
//! through the registry endpoint are expired when a policy is put and
//! after later pushes, as DescribeImages shows; policy texts ECR refuses
//! are refused; a preview names what a policy would expire and deletes
//! nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::registry::{docker, node_image, password, registry_or_skip, text, Tags};
use common::{aws_cli, aws_output, docker_or_skip, have_aws_cli, in_process, Api};
use serde_json::json;

const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";

/// `docker push`es `image` and returns the digest it printed.
fn push(config: &Path, image: &str) -> String {
    let out = docker(config, &["push", image], None);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
        .split("digest: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("docker push prints the digest")
        .to_string()
}

/// The repository's images as DescribeImages shows them: (tags, digest).
async fn images(api: &Api, repo: &str) -> Vec<(Vec<String>, String)> {
    let d = api
        .ok("DescribeImages", json!({"repositoryName": repo}))
        .await;
    let mut out: Vec<(Vec<String>, String)> = d["imageDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                serde_json::from_value(i["imageTags"].clone()).unwrap_or_default(),
                i["imageDigest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A policy keeping the newest `keep` images tagged `v*`.
fn keep_newest_v(keep: u64) -> String {
    serde_json::to_string_pretty(&json!({"rules": [{
        "rulePriority": 1,
        "description": "keep the newest release images",
        "selection": {
            "tagStatus": "tagged",
            "tagPrefixList": ["v"],
            "countType": "imageCountMoreThan",
            "countNumber": keep
        },
        "action": {"type": "expire"}
    }]}))
    .unwrap()
}

// Docker's commands block the test's thread while the in-process
// registry endpoint answers them: it needs other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_policy_expires_pushed_images_beyond_its_count() {
    let test = "a_lifecycle_policy_expires_pushed_images_beyond_its_count";
    if !docker_or_skip(test) || !registry_or_skip(test) {
        return;
    }
    let (running, ep, dir) =
        in_process(|c| c.registry_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let api = Api::new(&ep, ECR);
    let id = format!("{:x}", std::process::id());
    let repo = format!("lifecycle-test-{id}/app");
    let uri = api
        .ok("CreateRepository", json!({"repositoryName": repo}))
        .await["repository"]["repositoryUri"]
        .as_str()
        .unwrap()
        .to_string();
    let host = uri.split('/').next().unwrap().to_string();

    // No policy yet: Get and Delete say so in ECR's words.
    let msg = api
        .err(
            "GetLifecyclePolicy",
            json!({"repositoryName": repo}),
            "LifecyclePolicyNotFoundException",
        )
        .await;
    assert_eq!(
        msg,
        format!("Lifecycle policy does not exist for the repository with name '{repo}' in the registry with id '000000000000'")
    );
    api.err(
        "DeleteLifecyclePolicy",
        json!({"repositoryName": repo}),
        "LifecyclePolicyNotFoundException",
    )
    .await;
    api.err(
        "GetLifecyclePolicy",
        json!({"repositoryName": "lifecycle-missing"}),
        "RepositoryNotFoundException",
    )
    .await;
    // A tagged rule without prefixes is refused, and nothing is stored.
    let bad = keep_newest_v(1).replace("\"tagPrefixList\"", "\"tagPrefixes\"");
    let msg = api
        .err(
            "PutLifecyclePolicy",
            json!({"repositoryName": repo, "lifecyclePolicyText": bad}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("tagPrefixes"), "{msg}");
    let msg = api
        .err(
            "PutLifecyclePolicy",
            json!({"repositoryName": repo, "lifecyclePolicyText": "{\"rules\": 3}"}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("length between 100 and 30720"), "{msg}");
    api.err(
        "GetLifecyclePolicy",
        json!({"repositoryName": repo}),
        "LifecyclePolicyNotFoundException",
    )
    .await;

    // Four images differing in a label only, pushed as v1..v3 and `latest`.
    let config = dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let auth = api.ok("GetAuthorizationToken", json!({})).await;
    let login = docker(
        &config,
        &["login", "--username", "AWS", "--password-stdin", &host],
        Some(&password(&auth)),
    );
    assert!(text(&login).contains("Login Succeeded"), "{}", text(&login));
    let refs: Vec<String> = ["v1", "v2", "v3", "latest", "v4"]
        .iter()
        .map(|t| format!("{uri}:{t}"))
        .collect();
    let _tags = Tags(refs.clone(), format!("lifecycle-test-{id}"));
    for (n, r) in refs.iter().enumerate() {
        let build = docker(
            &config,
            &["build", "-q", "-t", r, "-"],
            Some(&format!(
                "FROM {}\nLABEL com.pingpong.test=1 lifecycle-test={id}-{n}\n",
                node_image()
            )),
        );
        assert!(build.status.success(), "{}", text(&build));
    }
    let mut digests = Vec::new();
    for r in &refs[..4] {
        digests.push(push(&config, r));
    }
    assert_eq!(images(&api, &repo).await.len(), 4);

    // Keep the newest v* image: v1 and v2 go, `latest` is no rule's.
    let policy = keep_newest_v(1);
    let put = api
        .ok(
            "PutLifecyclePolicy",
            json!({"repositoryName": repo, "lifecyclePolicyText": policy, "registryId": "000000000000"}),
        )
        .await;
    assert_eq!(
        put,
        json!({"registryId": "000000000000", "repositoryName": repo, "lifecyclePolicyText": policy})
    );
    assert_eq!(
        images(&api, &repo).await,
        [
            (vec!["latest".to_string()], digests[3].clone()),
            (vec!["v3".to_string()], digests[2].clone()),
        ]
    );
    let got = api
        .ok("GetLifecyclePolicy", json!({"repositoryName": repo}))
        .await;
    assert_eq!(got["lifecyclePolicyText"], json!(policy));
    let evaluated = got["lastEvaluatedAt"].as_f64().expect("lastEvaluatedAt");
    assert!(
        (evaluated - emulator::model::now_epoch()).abs() < 60.0,
        "{got}"
    );

    // A new release pushed: the policy runs again and v3 goes.
    let v4 = push(&config, &refs[4]);
    assert_eq!(
        images(&api, &repo).await,
        [
            (vec!["latest".to_string()], digests[3].clone()),
            (vec!["v4".to_string()], v4.clone()),
        ]
    );

    // The AWS CLI reads and writes the same policy.
    if have_aws_cli(test) {
        let put = aws_cli(
            &ep,
            &[
                "ecr",
                "put-lifecycle-policy",
                "--repository-name",
                &repo,
                "--lifecycle-policy-text",
                &policy,
            ],
        );
        assert_eq!(put["lifecyclePolicyText"], json!(policy), "{put}");
        let got = aws_cli(
            &ep,
            &["ecr", "get-lifecycle-policy", "--repository-name", &repo],
        );
        assert_eq!(got["lifecyclePolicyText"], json!(policy), "{got}");
        assert!(!got["lastEvaluatedAt"].is_null(), "{got}");
        let none = aws_output(
            &ep,
            &[
                "ecr",
                "get-lifecycle-policy",
                "--repository-name",
                "lifecycle-missing",
            ],
        );
        assert!(
            String::from_utf8_lossy(&none.stderr).contains("RepositoryNotFoundException"),
            "{none:?}"
        );
    }

    // A preview of a stricter policy names what it would expire, and
    // expires nothing.
    let any = serde_json::to_string_pretty(&json!({"rules": [{
        "rulePriority": 5,
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}
    }]}))
    .unwrap();
    let started = api
        .ok(
            "StartLifecyclePolicyPreview",
            json!({"repositoryName": repo, "lifecyclePolicyText": any}),
        )
        .await;
    assert_eq!(started["lifecyclePolicyText"], json!(any));
    let preview = api
        .ok("GetLifecyclePolicyPreview", json!({"repositoryName": repo}))
        .await;
    assert_eq!(preview["status"], json!("COMPLETE"));
    assert_eq!(preview["summary"]["expiringImageTotalCount"], json!(1));
    let result = &preview["previewResults"][0];
    assert_eq!(result["imageDigest"], json!(digests[3]), "{preview}");
    assert_eq!(result["imageTags"], json!(["latest"]));
    assert_eq!(result["appliedRulePriority"], json!(5));
    assert_eq!(result["action"]["type"], json!("EXPIRE"));
    assert_eq!(images(&api, &repo).await.len(), 2);

    // Deleting answers the policy; then there is none and pushes keep all.
    let deleted = api
        .ok("DeleteLifecyclePolicy", json!({"repositoryName": repo}))
        .await;
    assert_eq!(deleted["lifecyclePolicyText"], json!(policy));
    assert!(deleted["lastEvaluatedAt"].as_f64().is_some(), "{deleted}");
    api.err(
        "GetLifecyclePolicy",
        json!({"repositoryName": repo}),
        "LifecyclePolicyNotFoundException",
    )
    .await;
    push(&config, &refs[0]);
    assert_eq!(images(&api, &repo).await.len(), 3);

    running.stop(Duration::from_secs(5)).await;
}
