//! ECR over a real registry: the API's repositories, the registry
//! endpoint's auth, and with Docker: `docker login` and `docker push`
//! through it, what DescribeImages shows of that, immutable tags, and the
//! registry's life with the emulator (restart, stop, `down`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::registry::{
    docker, docker_login, node_image, password, registry_or_skip, text, Tags, ECR,
};
use common::{docker_or_skip, have_aws_cli, in_process, Api, BIN};
use serde_json::{json, Value};

#[tokio::test]
async fn repositories_validate_page_tag_and_the_registry_asks_for_a_token() {
    if !registry_or_skip("repositories_validate_page_tag_and_the_registry_asks_for_a_token") {
        return;
    }
    let (running, ep, _dir) =
        in_process(|c| c.registry_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let api = Api::new(&ep, ECR);
    let repo = api
        .ok(
            "CreateRepository",
            json!({"repositoryName": "team/app", "tags": [{"Key": "k", "Value": "v"}]}),
        )
        .await["repository"]
        .clone();
    let host = running.ecr.registry_host();
    assert_eq!(repo["repositoryUri"], json!(format!("{host}/team/app")));
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    assert_eq!(
        repo["repositoryArn"],
        json!("arn:aws:ecr:us-east-1:000000000000:repository/team/app")
    );
    assert_eq!(repo["registryId"], json!("000000000000"));
    assert_eq!(repo["imageTagMutability"], json!("MUTABLE"));
    let msg = api
        .err(
            "CreateRepository",
            json!({"repositoryName": "team/app"}),
            "RepositoryAlreadyExistsException",
        )
        .await;
    assert!(msg.contains("'team/app' already exists"), "{msg}");
    for bad in ["Team", "a", "x//y", "-x", "x y"] {
        api.err(
            "CreateRepository",
            json!({"repositoryName": bad}),
            "InvalidParameterException",
        )
        .await;
    }
    api.err("CreateRepository", json!({}), "InvalidParameterException")
        .await;
    api.err(
        "CreateRepository",
        json!({"repositoryName": "zz", "imageTagMutability": "SOMETIMES"}),
        "InvalidParameterException",
    )
    .await;
    for n in ["b-one", "c.two", "d_three"] {
        api.ok("CreateRepository", json!({"repositoryName": n}))
            .await;
    }
    // Pages of two, in name order, resuming after the token.
    let p1 = api
        .ok("DescribeRepositories", json!({"maxResults": 2}))
        .await;
    let names = |v: &Value| -> Vec<String> {
        v["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["repositoryName"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&p1), ["b-one", "c.two"]);
    let p2 = api
        .ok(
            "DescribeRepositories",
            json!({"maxResults": 2, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(names(&p2), ["d_three", "team/app"]);
    assert!(p2.get("nextToken").is_none(), "{p2}");
    for bad in [
        json!({"nextToken": "nope"}),
        json!({"maxResults": 0}),
        json!({"maxResults": 1001}),
    ] {
        api.err("DescribeRepositories", bad, "InvalidParameterException")
            .await;
    }
    let msg = api
        .err(
            "DescribeRepositories",
            json!({"repositoryNames": ["missing"]}),
            "RepositoryNotFoundException",
        )
        .await;
    assert_eq!(
        msg,
        "The repository with name 'missing' does not exist in the registry with id '000000000000'"
    );
    // Tags on the repository's ARN.
    let arn = repo["repositoryArn"].as_str().unwrap();
    api.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"Key": "team", "Value": "blue"}]}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["k"]}),
    )
    .await;
    let tags = api
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(tags["tags"], json!([{"Key": "team", "Value": "blue"}]));
    api.err(
        "ListTagsForResource",
        json!({"resourceArn": "arn:aws:ecr:us-east-1:000000000000:repository/gone"}),
        "RepositoryNotFoundException",
    )
    .await;
    // Tag mutability is the repository's from then on.
    let m = api
        .ok(
            "PutImageTagMutability",
            json!({"repositoryName": "team/app", "imageTagMutability": "IMMUTABLE"}),
        )
        .await;
    assert_eq!(m["imageTagMutability"], json!("IMMUTABLE"));
    let d = api
        .ok(
            "DescribeRepositories",
            json!({"repositoryNames": ["team/app"]}),
        )
        .await;
    assert_eq!(
        d["repositories"][0]["imageTagMutability"],
        json!("IMMUTABLE")
    );
    // No images yet: lists are empty, named images are not found.
    let l = api
        .ok("ListImages", json!({"repositoryName": "team/app"}))
        .await;
    assert_eq!(l["imageIds"], json!([]));
    let msg = api
        .err(
            "DescribeImages",
            json!({"repositoryName": "team/app", "imageIds": [{"imageTag": "v9"}]}),
            "ImageNotFoundException",
        )
        .await;
    assert!(msg.contains("imageTag:'v9'"), "{msg}");
    let g = api
        .ok(
            "BatchGetImage",
            json!({"repositoryName": "team/app", "imageIds": [{"imageTag": "v9"}]}),
        )
        .await;
    assert_eq!(g["failures"][0]["failureCode"], json!("ImageNotFound"));
    api.err(
        "ListImages",
        json!({"repositoryName": "nope"}),
        "RepositoryNotFoundException",
    )
    .await;

    // The registry endpoint: 401 with a Basic challenge without a token
    // GetAuthorizationToken issued, 200 with one.
    let auth = api.ok("GetAuthorizationToken", json!({})).await;
    let data = &auth["authorizationData"][0];
    assert_eq!(data["proxyEndpoint"], json!(format!("http://{host}")));
    let expires = data["expiresAt"].as_f64().unwrap();
    let in_12h = emulator::model::now_epoch() + 12.0 * 3600.0;
    assert!((expires - in_12h).abs() < 60.0, "{expires}");
    let http = reqwest::Client::new();
    let v2 = format!("http://{host}/v2/");
    let r = http.get(&v2).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"ECR\"");
    let r = http
        .get(&v2)
        .basic_auth("AWS", Some("1.forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let pw = password(&auth);
    let r = http
        .get(&v2)
        .basic_auth("AWS", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Pushing to a repository that does not exist: ECR's NAME_UNKNOWN.
    let r = http
        .post(format!("http://{host}/v2/nope/blobs/uploads/"))
        .basic_auth("AWS", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], json!("NAME_UNKNOWN"));

    // An empty repository is deleted without force.
    api.ok("DeleteRepository", json!({"repositoryName": "b-one"}))
        .await;
    api.err(
        "DeleteRepository",
        json!({"repositoryName": "b-one"}),
        "RepositoryNotFoundException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

/// The registry child's pid, while it runs.
fn registry_pid(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("registry/pid"))
        .expect("the registry records its pid")
        .trim()
        .parse()
        .unwrap()
}

fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("docker-registry"))
}

/// Stops an emulator process gracefully (as Ctrl-C does) and forgets it,
/// leaving its data directory.
async fn stop(mut e: common::Emulator) {
    let _ = reqwest::Client::new()
        .post(format!("{}/_emulator/shutdown", e.endpoint))
        .send()
        .await;
    let mut child = e.child.take().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    e.data_dir = PathBuf::new();
}

#[tokio::test]
async fn docker_pushes_through_the_registry_endpoint_and_images_survive_a_restart() {
    let test = "docker_pushes_through_the_registry_endpoint_and_images_survive_a_restart";
    if !docker_or_skip(test) || !registry_or_skip(test) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let config = tmp.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let args = ["--no-stack", "--registry-addr", "127.0.0.1:0"];
    let emu = common::Emulator::start_on(&dir, &args).await;
    let api = Api::new(&emu.endpoint, ECR);
    let id = format!("{:x}", std::process::id());
    let app = format!("ecr-test-{id}/app");
    let fixed = format!("ecr-test-{id}/fixed");
    let repo = api
        .ok("CreateRepository", json!({"repositoryName": app}))
        .await;
    let uri = repo["repository"]["repositoryUri"]
        .as_str()
        .unwrap()
        .to_string();
    let host = uri.split('/').next().unwrap().to_string();
    api.ok(
        "CreateRepository",
        json!({"repositoryName": fixed, "imageTagMutability": "IMMUTABLE"}),
    )
    .await;

    // docker login with GetAuthorizationToken's password.
    docker_login(&api, &config, &host).await;
    if have_aws_cli(test) {
        let out = common::aws_output(&emu.endpoint, &["ecr", "get-login-password"]);
        assert!(out.status.success(), "{}", text(&out));
        let login = docker(
            &config,
            &["login", "--username", "AWS", "--password-stdin", &host],
            Some(String::from_utf8_lossy(&out.stdout).trim()),
        );
        assert!(text(&login).contains("Login Succeeded"), "{}", text(&login));
    }

    // A second image, differing from the node image in its config only.
    let other = format!("ecr-test-{id}-other:latest");
    let v1 = format!("{uri}:v1");
    let v2 = format!("{uri}:v2");
    let fixed_v1 = format!("{host}/{fixed}:v1");
    let missing = format!("{host}/ecr-test-{id}/missing:v1");
    let _tags = Tags(
        vec![
            other.clone(),
            v1.clone(),
            v2.clone(),
            fixed_v1.clone(),
            missing.clone(),
        ],
        format!("ecr-test-{id}"),
    );
    let build = docker(
        &config,
        &["build", "-q", "-t", &other, "-"],
        Some(&format!("FROM {}\nLABEL ecr-test={id}\n", node_image())),
    );
    assert!(build.status.success(), "{}", text(&build));
    for (src, dst) in [
        (node_image(), &v1),
        (node_image(), &fixed_v1),
        (node_image(), &missing),
    ] {
        assert!(docker(&config, &["tag", src, dst], None).status.success());
    }

    let before = emulator::model::now_epoch();
    let push = docker(&config, &["push", &v1], None);
    assert!(push.status.success(), "{}", text(&push));
    let digest = text(&push)
        .split("digest: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("docker push prints the digest")
        .to_string();
    // DescribeImages shows the push without any other call.
    let d = api
        .ok("DescribeImages", json!({"repositoryName": app}))
        .await;
    let image = &d["imageDetails"][0];
    assert_eq!(d["imageDetails"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(image["imageDigest"], json!(digest));
    assert_eq!(image["imageTags"], json!(["v1"]));
    assert!(
        // Over a megabyte: the layer went up in parts (the endpoint
        // forwards uploads in parts of 1 MiB) and arrived whole.
        image["imageSizeInBytes"].as_u64().unwrap() > 1 << 20,
        "{image}"
    );
    let pushed = image["imagePushedAt"].as_f64().unwrap();
    assert!(pushed >= before - 1.0 && pushed <= emulator::model::now_epoch() + 1.0);
    let l = api.ok("ListImages", json!({"repositoryName": app})).await;
    assert_eq!(
        l["imageIds"],
        json!([{"imageDigest": digest, "imageTag": "v1"}])
    );
    let g = api
        .ok(
            "BatchGetImage",
            json!({"repositoryName": app, "imageIds": [{"imageTag": "v1"}]}),
        )
        .await;
    let manifest: Value =
        serde_json::from_str(g["images"][0]["imageManifest"].as_str().unwrap()).unwrap();
    assert!(
        manifest["layers"].as_array().is_some_and(|l| !l.is_empty()),
        "{g}"
    );
    assert_eq!(g["images"][0]["imageId"]["imageDigest"], json!(digest));
    // A second tag of the same image: one image, two tags; deleting one
    // tag leaves the image under the other.
    assert!(docker(&config, &["tag", node_image(), &v2], None)
        .status
        .success());
    let push = docker(&config, &["push", &v2], None);
    assert!(push.status.success(), "{}", text(&push));
    let d = api
        .ok("DescribeImages", json!({"repositoryName": app}))
        .await;
    assert_eq!(d["imageDetails"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["imageDetails"][0]["imageTags"], json!(["v1", "v2"]));
    let del = api
        .ok(
            "BatchDeleteImage",
            json!({"repositoryName": app, "imageIds": [{"imageTag": "v1"}]}),
        )
        .await;
    assert_eq!(
        del["imageIds"],
        json!([{"imageDigest": digest, "imageTag": "v1"}])
    );
    let l = api.ok("ListImages", json!({"repositoryName": app})).await;
    assert_eq!(
        l["imageIds"],
        json!([{"imageDigest": digest, "imageTag": "v2"}])
    );

    // IMMUTABLE: the same tag may not move to another image.
    let push = docker(&config, &["push", &fixed_v1], None);
    assert!(push.status.success(), "{}", text(&push));
    assert!(docker(&config, &["tag", &other, &fixed_v1], None)
        .status
        .success());
    let push = docker(&config, &["push", &fixed_v1], None);
    assert!(!push.status.success());
    assert!(
        text(&push).contains("cannot be overwritten because the repository is immutable"),
        "{}",
        text(&push)
    );
    // A repository that does not exist takes no push.
    let push = docker(&config, &["push", &missing], None);
    assert!(!push.status.success());
    assert!(
        text(&push).contains("does not exist in the registry with id '000000000000'"),
        "{}",
        text(&push)
    );
    api.err(
        "DeleteRepository",
        json!({"repositoryName": app}),
        "RepositoryNotEmptyException",
    )
    .await;

    // Stopped and started again on the same data: the images are there,
    // with the same push time; the old registry process is gone.
    let pid = registry_pid(&dir);
    assert!(alive(pid));
    stop(emu).await;
    assert!(!alive(pid), "the registry stops with the emulator");
    let emu = common::Emulator::start_on(&dir, &args).await;
    let api = Api::new(&emu.endpoint, ECR);
    let d = api
        .ok("DescribeImages", json!({"repositoryName": app}))
        .await;
    assert_eq!(d["imageDetails"][0]["imageDigest"], json!(digest));
    assert_eq!(d["imageDetails"][0]["imagePushedAt"].as_f64(), Some(pushed));

    // BatchDeleteImage removes from the registry; a second time it is
    // a failure, as ECR reports it.
    let del = api
        .ok(
            "BatchDeleteImage",
            json!({"repositoryName": fixed, "imageIds": [{"imageTag": "v1"}]}),
        )
        .await;
    assert_eq!(del["imageIds"][0]["imageTag"], json!("v1"));
    assert_eq!(del["failures"], json!([]));
    let l = api.ok("ListImages", json!({"repositoryName": fixed})).await;
    assert_eq!(l["imageIds"], json!([]));
    let del = api
        .ok(
            "BatchDeleteImage",
            json!({"repositoryName": fixed, "imageIds": [{"imageTag": "v1"}]}),
        )
        .await;
    assert_eq!(del["failures"][0]["failureCode"], json!("ImageNotFound"));
    // With force a repository goes with its images.
    api.ok(
        "DeleteRepository",
        json!({"repositoryName": app, "force": true}),
    )
    .await;
    api.err(
        "DescribeRepositories",
        json!({"repositoryNames": [app]}),
        "RepositoryNotFoundException",
    )
    .await;

    // `down` stops the registry and removes its data.
    let pid = registry_pid(&dir);
    let mut emu = emu;
    emu.data_dir = PathBuf::new();
    let down = Command::new(BIN)
        .args(["--data-dir", dir.to_str().unwrap(), "down"])
        .output()
        .unwrap();
    assert!(down.status.success(), "{}", text(&down));
    if let Some(mut c) = emu.child.take() {
        let _ = c.wait();
    }
    assert!(!alive(pid));
    assert!(
        !dir.join("registry").exists(),
        "down removes the registry data"
    );
}
