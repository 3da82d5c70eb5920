//! Images on the Docker engine: the project's own, built by script when
//! missing (see the parent module), pulls from the emulator's registry
//! with basic-auth credentials, and inspection for `RepoDigests`.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListImagesOptions, PushImageOptionsBuilder, RemoveImageOptions,
    TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::{map_err, DockerRuntime};
use crate::runtime::{ImagePull, LocalImage, RegistryAuth, RuntimeError};

/// The images `docker/build-images.sh` makes, with the script's name for
/// each (everything else must exist).
pub const PROJECT_IMAGES: [(&str, &str); 3] = [
    ("pingpong-node", "node"),
    ("pingpong-client", "client"),
    ("pingpong-alb", "alb"),
];

/// The script's name (`node`, `client`, `alb`) when `image` is one the
/// project builds: exactly one of [`PROJECT_IMAGES`], untagged or tagged
/// as the script tags (`latest`, the git short SHA with an optional
/// `-dirty`, or `dev` outside git). `None` for anything else, look-alikes
/// (`pingpong-nod`) and registry paths included.
pub fn project_image(image: &str) -> Option<&'static str> {
    let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let (_, name) = PROJECT_IMAGES.iter().find(|(r, _)| *r == repo)?;
    let base = tag.strip_suffix("-dirty").unwrap_or(tag);
    let sha = (4..=40).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_hexdigit());
    (tag == "latest" || base == "dev" || sha).then_some(*name)
}

/// Splits `NAME[:TAG]` where `NAME` may hold a `HOST:PORT` (bollard tags
/// with the repository and the tag apart).
fn repo_and_tag(name: &str) -> (&str, &str) {
    let last = name.rfind('/').map_or(0, |i| i + 1);
    match name[last..].rfind(':') {
        Some(i) => (&name[..last + i], &name[last + i + 1..]),
        None => (name, "latest"),
    }
}

/// Whether a failed pull's message says the registry has no such manifest
/// or repository (Docker words it differently across versions).
fn says_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("not found") || m.contains("manifest unknown") || m.contains("name unknown")
}

impl DockerRuntime {
    /// Removes the project's images (label `com.pingpong.project=pingpong`,
    /// set by `docker/build-images.sh`): every tag, without force, so an
    /// image a container still uses stays. Returns (removed, kept) tags.
    pub async fn remove_project_images(&self) -> Result<(Vec<String>, Vec<String>), RuntimeError> {
        let mut filters = HashMap::new();
        filters.insert(
            "label".to_string(),
            vec!["com.pingpong.project=pingpong".to_string()],
        );
        let images = self
            .docker
            .list_images(Some(ListImagesOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(map_err)?;
        // Tagged images go tag by tag; untagged ones (left by rebuilds,
        // listed as "<none>:<none>") by id.
        let names = images.into_iter().flat_map(|i| {
            let tags: Vec<String> = i
                .repo_tags
                .into_iter()
                .filter(|t| !t.contains("<none>"))
                .collect();
            if tags.is_empty() {
                vec![i.id]
            } else {
                tags
            }
        });
        self.remove_tags(names).await
    }

    /// Removes every local tag of images from the registry at `host`
    /// (`HOST:PORT/...`: what the emulator pushed and pulled through its
    /// ECR endpoint), and the ECR-form names (`ACCOUNT.dkr.ecr.REGION.
    /// amazonaws.com/...`) that pulls gave those same images, without
    /// force. Returns (removed, kept) tags.
    pub async fn remove_registry_tags(
        &self,
        host: &str,
    ) -> Result<(Vec<String>, Vec<String>), RuntimeError> {
        let prefix = format!("{host}/");
        let images = self
            .docker
            .list_images(None::<ListImagesOptions>)
            .await
            .map_err(map_err)?;
        let ecr_form = |t: &str| {
            t.split('/')
                .next()
                .is_some_and(|h| h.contains(".dkr.ecr.") && h.ends_with(".amazonaws.com"))
        };
        let names: Vec<String> = images
            .into_iter()
            .filter(|i| {
                let ours = |t: &String| t.starts_with(&prefix);
                i.repo_tags.iter().any(ours) || i.repo_digests.iter().any(ours)
            })
            .flat_map(|i| i.repo_tags)
            .filter(|t| t.starts_with(&prefix) || ecr_form(t))
            .collect();
        self.remove_tags(names).await
    }

    /// Removes each tag (or image id) without force: (removed, kept
    /// because a container uses it).
    async fn remove_tags(
        &self,
        names: impl IntoIterator<Item = String>,
    ) -> Result<(Vec<String>, Vec<String>), RuntimeError> {
        let (mut removed, mut kept) = (Vec::new(), Vec::new());
        for tag in names {
            match self
                .docker
                .remove_image(&tag, None::<RemoveImageOptions>, None)
                .await
            {
                Ok(_) => removed.push(tag),
                Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(BollardError::DockerResponseServerError {
                    status_code: 409, ..
                }) => kept.push(tag),
                Err(e) => return Err(map_err(e)),
            }
        }
        Ok((removed, kept))
    }

    /// Tags `source` as `repository:tag` and pushes it with `auth`.
    pub(super) async fn push(
        &self,
        source: &str,
        repository: &str,
        tag: &str,
        auth: &RegistryAuth,
    ) -> Result<(), RuntimeError> {
        let target = format!("{repository}:{tag}");
        self.docker
            .tag_image(
                source,
                Some(
                    TagImageOptionsBuilder::new()
                        .repo(repository)
                        .tag(tag)
                        .build(),
                ),
            )
            .await
            .map_err(map_err)?;
        let credentials = DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: Some(auth.server.clone()),
            ..Default::default()
        };
        let options = PushImageOptionsBuilder::new().tag(tag).build();
        let mut progress = self
            .docker
            .push_image(repository, Some(options), Some(credentials));
        while let Some(item) = progress.next().await {
            let info =
                item.map_err(|e| RuntimeError::Other(format!("pushing {target}: {}", map_err(e))))?;
            if let Some(e) = info.error_detail.and_then(|d| d.message) {
                return Err(RuntimeError::Other(format!("pushing {target}: {e}")));
            }
        }
        Ok(())
    }

    pub(super) async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }

    /// Builds a project image once per run; later calls get the first
    /// outcome without running the script again.
    pub(super) async fn build_once(
        &self,
        image: &str,
        name: &'static str,
    ) -> Result<(), RuntimeError> {
        let failed = |message: String| RuntimeError::ImageBuildFailed {
            image: image.to_string(),
            message,
        };
        let mut builds = self.builds.lock().await;
        // Another task may have built it while we waited.
        if self.image_exists(image).await? {
            return Ok(());
        }
        match builds.get(name) {
            Some(Err(first)) => {
                return Err(failed(format!(
                    "{first} (builds run once per emulator run; fix the cause and restart the emulator, or run docker/build-images.sh {name})"
                )))
            }
            Some(Ok(())) => {
                return Err(failed(format!(
                    "docker/build-images.sh {name} already ran in this run and the image is not there (not run again: run it by hand)"
                )))
            }
            None => {}
        }
        let mut outcome = self.build_project_image(image, name).await;
        if outcome.is_ok() && !self.image_exists(image).await? {
            outcome = Err(failed(
                "the build script finished but did not produce it".into(),
            ));
        }
        let remembered = match &outcome {
            Ok(()) => Ok(()),
            Err(RuntimeError::ImageBuildFailed { message, .. }) => Err(message.clone()),
            Err(e) => Err(e.to_string()),
        };
        builds.insert(name, remembered);
        outcome
    }

    async fn build_project_image(&self, image: &str, name: &str) -> Result<(), RuntimeError> {
        let failed = |message: String| RuntimeError::ImageBuildFailed {
            image: image.to_string(),
            message,
        };
        let root = self.repo_root.clone().ok_or_else(|| {
            failed("the repository root is unknown (set EMULATOR_REPO_ROOT)".into())
        })?;
        let script = root.join("docker/build-images.sh");
        if !script.exists() {
            return Err(failed(format!("{} does not exist", script.display())));
        }
        eprintln!(
            "emulator: image {image} is missing; building it with {} {name} (this takes a while the first time) ...",
            script.display()
        );
        let status = tokio::process::Command::new(&script)
            .arg(name)
            .current_dir(&root)
            .stdin(std::process::Stdio::null())
            // Progress goes to our stderr so `up` shows it.
            .stdout(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .status()
            .await
            .map_err(|e| failed(format!("cannot run {}: {e}", script.display())))?;
        if !status.success() {
            return Err(failed(format!("{} exited with {status}", script.display())));
        }
        eprintln!("emulator: project image {image} built");
        Ok(())
    }

    pub(super) async fn inspect_local_image(
        &self,
        image: &str,
    ) -> Result<Option<LocalImage>, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(Some(LocalImage {
                id: i.id.unwrap_or_default(),
                repo_digests: i.repo_digests.unwrap_or_default(),
            })),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    /// `docker pull` with credentials, then `docker tag`; the digest is the
    /// pulled repository's `RepoDigests` entry.
    pub(super) async fn pull(&self, pull: &ImagePull) -> Result<String, RuntimeError> {
        let creds = DockerCredentials {
            username: Some(pull.username.clone()),
            password: Some(pull.password.clone()),
            ..Default::default()
        };
        let opts = CreateImageOptionsBuilder::default()
            .from_image(&pull.reference)
            .build();
        let mut stream = self.docker.create_image(Some(opts), None, Some(creds));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(e) = info.error_detail.and_then(|d| d.message) {
                        return Err(pull_failure(e));
                    }
                }
                Err(BollardError::DockerStreamError { error }) => return Err(pull_failure(error)),
                Err(BollardError::DockerResponseServerError { message, .. }) => {
                    return Err(pull_failure(message))
                }
                Err(e) => return Err(RuntimeError::Other(e.to_string())),
            }
        }
        let pulled = self
            .inspect_local_image(&pull.reference)
            .await?
            .ok_or_else(|| {
                RuntimeError::Other(format!(
                    "{} is not on the engine after its pull",
                    pull.reference
                ))
            })?;
        let repository = match pull.reference.split_once('@') {
            Some((r, _)) => r,
            None => repo_and_tag(&pull.reference).0,
        };
        crate::ecs::pull::digest_of(&pulled.repo_digests, Some(repository)).ok_or_else(|| {
            RuntimeError::Other(format!(
                "{} has no digest from {repository}",
                pull.reference
            ))
        })
    }
}

fn pull_failure(message: String) -> RuntimeError {
    if says_not_found(&message) {
        RuntimeError::NotFound(message)
    } else {
        RuntimeError::Other(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_repository_and_tag_past_the_port() {
        assert_eq!(
            repo_and_tag("127.0.0.1:4510/web:1"),
            ("127.0.0.1:4510/web", "1")
        );
        assert_eq!(
            repo_and_tag("127.0.0.1:4510/web"),
            ("127.0.0.1:4510/web", "latest")
        );
        assert_eq!(repo_and_tag("a.b/c/d:e"), ("a.b/c/d", "e"));
    }

    #[test]
    fn missing_manifests_and_repositories_read_as_not_found() {
        assert!(says_not_found(
            "manifest for 127.0.0.1:4510/x:nope not found: manifest unknown: manifest unknown"
        ));
        assert!(says_not_found(
            "name unknown: The repository with name 'x' does not exist"
        ));
        assert!(!says_not_found("connection refused"));
    }
}
