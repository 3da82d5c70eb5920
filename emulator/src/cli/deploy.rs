//! `emulator deploy`: rebuild the project's images under a new tag, push
//! them to ECR when the task definition names them there, register the
//! new revision and follow the rolling deployment.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::json;

use super::client::Client;
use super::services::{find_service, follow};
use crate::runtime::docker::DockerRuntime;
use crate::runtime::{ContainerRuntime, RegistryAuth};

/// An image of a task definition that the project builds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProjectImage<'a> {
    /// `docker/build-images.sh`'s name: `node`, `client`.
    name: &'a str,
    /// The image without its tag or digest: `pingpong-node`, or an ECR
    /// repository URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/a/node`,
    /// `127.0.0.1:4510/a/node`) whose last part names the project image.
    repository: &'a str,
}

impl ProjectImage<'_> {
    /// The ECR repository name (`a/node`) when the image lives in ECR.
    fn ecr_repository(&self) -> Option<&str> {
        self.repository.split_once('/').map(|(_, name)| name)
    }
}

/// Which project image `image` is, if any: `pingpong-node:x` is `node`
/// locally; `HOST/PATH/node[:TAG|@DIGEST]` is `node` in ECR.
fn project_image(image: &str) -> Option<ProjectImage<'_>> {
    const BUILT: [&str; 2] = ["node", "client"];
    let without_digest = image.split('@').next()?;
    let repository = match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    };
    let name = match repository.rsplit_once('/') {
        Some((_, last)) => last,
        None => repository.strip_prefix("pingpong-")?,
    };
    BUILT
        .contains(&name)
        .then_some(ProjectImage { name, repository })
}

/// ECR's login (from GetAuthorizationToken, as `get-login-password`).
async fn ecr_login(client: &Client) -> anyhow::Result<RegistryAuth> {
    use base64::Engine as _;
    let v = client
        .call_target(crate::ecr::ECR_PREFIX, "GetAuthorizationToken", json!({}))
        .await?;
    let data = &v["authorizationData"][0];
    let token = data["authorizationToken"].as_str().unwrap_or("");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .context("GetAuthorizationToken's token is not base64")?;
    let raw = String::from_utf8_lossy(&raw);
    let (username, password) = raw
        .split_once(':')
        .ok_or_else(|| anyhow!("GetAuthorizationToken's token is not USER:PASSWORD"))?;
    let endpoint = data["proxyEndpoint"].as_str().unwrap_or("");
    Ok(RegistryAuth {
        username: username.to_string(),
        password: password.to_string(),
        server: endpoint
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string(),
    })
}

pub(super) async fn deploy(
    client: &Client,
    name: &str,
    tag: &str,
    no_build: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let s = find_service(client, name).await?;
    let td = client
        .call(
            "DescribeTaskDefinition",
            json!({ "taskDefinition": s["taskDefinition"] }),
        )
        .await?["taskDefinition"]
        .clone();
    let images: Vec<String> = td["containerDefinitions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["image"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let project: Vec<ProjectImage<'_>> = images.iter().filter_map(|i| project_image(i)).collect();
    let mut names: Vec<&str> = project.iter().map(|p| p.name).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        bail!("the task definition of {name} uses none of the project's images (pingpong-node, pingpong-client, or ECR repositories named .../node, .../client)");
    }
    if !no_build {
        let root: PathBuf = crate::app::default_repo_root()
            .ok_or_else(|| anyhow!("cannot find the repository (set EMULATOR_REPO_ROOT)"))?;
        println!("building images {} with tag {tag} ...", names.join(", "));
        let status = std::process::Command::new(root.join("docker/build-images.sh"))
            .args(&names)
            .env("TAG", tag)
            .current_dir(&root)
            .status()
            .context("cannot run docker/build-images.sh")?;
        if !status.success() {
            bail!("docker/build-images.sh failed ({status})");
        }
    }
    push_to_ecr(client, &project, tag).await?;
    let mut new_td = td.clone();
    if let Some(obj) = new_td.as_object_mut() {
        for k in [
            "taskDefinitionArn",
            "revision",
            "status",
            "registeredAt",
            "registeredBy",
            "requiresAttributes",
            "compatibilities",
        ] {
            obj.remove(k);
        }
    }
    if let Some(cs) = new_td["containerDefinitions"].as_array_mut() {
        for c in cs {
            let image = c["image"].as_str().and_then(project_image);
            if let Some(p) = image {
                let repository = p.repository.to_string();
                c["image"] = json!(format!("{repository}:{tag}"));
            }
        }
    }
    let reg = client.call("RegisterTaskDefinition", new_td).await?;
    let new_arn = reg["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap_or("")
        .to_string();
    println!("registered {}", new_arn.rsplit('/').next().unwrap_or(""));
    let up = client
        .call(
            "UpdateService",
            json!({ "cluster": s["clusterArn"], "service": s["serviceArn"], "taskDefinition": new_arn }),
        )
        .await?;
    let dep_id = up["service"]["deployments"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    println!("deployment {dep_id} started");
    follow(client, &s, &dep_id, timeout).await
}

/// Pushes `pingpong-NAME:TAG` to each ECR repository the task definition
/// names, as `REPOSITORY:TAG` (the tutorial's tag and push).
async fn push_to_ecr(
    client: &Client,
    project: &[ProjectImage<'_>],
    tag: &str,
) -> anyhow::Result<()> {
    let mut targets: Vec<(&str, &str)> = project
        .iter()
        .filter_map(|p| Some((p.name, p.ecr_repository()?)))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    if targets.is_empty() {
        return Ok(());
    }
    let auth = ecr_login(client)
        .await
        .context("cannot log in to ECR to push the images")?;
    let docker = DockerRuntime::connect(None).await?;
    for (name, repository) in targets {
        let source = format!("pingpong-{name}:{tag}");
        let target = format!("{}/{repository}", auth.server);
        docker
            .push_image(&source, &target, tag, &auth)
            .await
            .with_context(|| format!("pushing {source} to ECR repository {repository}"))?;
        println!("pushed {source} to {target}:{tag}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_images_are_found_locally_and_in_ecr() {
        let p = project_image("pingpong-node:latest").unwrap();
        assert_eq!(
            (p.name, p.repository, p.ecr_repository()),
            ("node", "pingpong-node", None)
        );
        let ecr = "000000000000.dkr.ecr.us-east-1.amazonaws.com/microservice-ping-pong/client";
        let latest = format!("{ecr}:latest");
        let p = project_image(&latest).unwrap();
        assert_eq!((p.name, p.repository), ("client", ecr));
        assert_eq!(p.ecr_repository(), Some("microservice-ping-pong/client"));
        let p = project_image("127.0.0.1:4510/app/node@sha256:abcd").unwrap();
        assert_eq!(p.repository, "127.0.0.1:4510/app/node");
        assert_eq!(p.ecr_repository(), Some("app/node"));
        let p = project_image("127.0.0.1:4510/node").unwrap();
        assert_eq!(p.ecr_repository(), Some("node"));
        for other in [
            "nginx:latest",
            "pingpong-alb:latest",
            "ecr/app/web:1",
            "node",
        ] {
            assert_eq!(project_image(other), None, "{other}");
        }
    }
}
