//! A task's images, got before its containers are created, as the ECS
//! agent gets them with its default pull behaviour
//! (`ECS_IMAGE_PULL_BEHAVIOR=default`): an image of the emulator's
//! registry (see [`super::pull`]) is pulled every time a task starts (a
//! re-pushed `:latest` is picked up), and a failed pull falls back on the
//! copy the engine has, if any; other images must be on the engine (the
//! project's own are built). The task records `pullStartedAt`,
//! `pullStoppedAt` and each container's `imageDigest`; a failed pull stops
//! it with the agent's CannotPullContainerError.

use std::time::Duration;

use super::engine::Engine;
use super::pull::{self, ImageSource, RegistryAccess};
use super::worker::store_error;
use crate::model::{now_epoch, Task, TaskDefinition};
use crate::runtime::{ImagePull, RuntimeError};

impl Engine {
    /// How long a pull waits for the app to say whether there is a
    /// registry.
    const REGISTRY_WAIT: Duration = Duration::from_secs(60);

    fn registry_access(&self) -> Option<RegistryAccess> {
        self.inner.registry.borrow().clone().flatten()
    }

    /// The registry, once the app has said whether there is one (at most
    /// [`Self::REGISTRY_WAIT`]).
    async fn known_registry(&self) -> Option<RegistryAccess> {
        let mut rx = self.inner.registry.subscribe();
        let known = tokio::time::timeout(Self::REGISTRY_WAIT, rx.wait_for(Option::is_some)).await;
        if known.is_err() {
            tracing::warn!("no word of the image registry after a minute; pulling without one");
        }
        self.registry_access()
    }

    fn image_source(&self, image: &str, registry: Option<&RegistryAccess>) -> ImageSource {
        let p = &self.inner.config.partition;
        pull::resolve(
            image,
            &p.account,
            &p.region,
            registry.map(RegistryAccess::port),
        )
    }

    /// The name a container of `image` is created from on the task's
    /// engine (see [`pull::run_as`]).
    pub(super) async fn run_as(&self, task: &Task, image: &str) -> String {
        let registry = self.registry_access();
        let host = match &registry {
            Some(r) => self.registry_host(task, r).await.unwrap_or_default(),
            None => String::new(),
        };
        pull::run_as(image, &self.image_source(image, registry.as_ref()), &host)
    }

    /// `HOST:PORT` of the registry as the task's engine reaches it.
    async fn registry_host(&self, task: &Task, r: &RegistryAccess) -> Result<String, String> {
        let facing = self
            .inner
            .fleet
            .member(task.docker_host.as_deref())
            .map_err(|e| e.to_string())?
            .facing;
        r.host_for(facing).await
    }

    /// Gets every container's image; the first failure stops the pulls and
    /// is the container's reason (and the task's, through the worker).
    pub(super) async fn pull_images(
        &self,
        task: &Task,
        def: &TaskDefinition,
    ) -> Result<(), RuntimeError> {
        let arn = task.task_arn.as_str();
        let started = now_epoch();
        self.mutate(|s| {
            if let Some(t) = s.tasks.get_mut(arn) {
                t.pull_started_at = Some(started);
            }
        })
        .await
        .map_err(store_error)?;
        let mut digests: Vec<(String, Option<String>)> = Vec::new();
        let mut failed = None;
        for c in &def.container_definitions {
            let known = digests
                .iter()
                .find(|(i, _)| *i == c.image)
                .map(|(_, d)| d.clone());
            let digest = match known {
                Some(d) => Ok(d),
                None => self.get_image(task, &c.image).await,
            };
            match digest {
                Ok(d) => {
                    digests.push((c.image.clone(), d));
                }
                Err(e) => {
                    failed = Some((c.name.clone(), e));
                    break;
                }
            }
        }
        let stopped = now_epoch();
        self.mutate(|s| {
            if let Some(t) = s.tasks.get_mut(arn) {
                t.pull_stopped_at = Some(stopped);
                for c in &mut t.containers {
                    let image = def.container(&c.name).map(|d| d.image.as_str());
                    if let Some((_, d)) = digests.iter().find(|(i, _)| Some(i.as_str()) == image) {
                        c.image_digest.clone_from(d);
                    }
                }
                if let Some((name, e)) = &failed {
                    if let Some(c) = t.container_mut(name) {
                        c.reason = Some(e.to_string());
                    }
                }
            }
        })
        .await
        .map_err(store_error)?;
        match failed {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Gets one image; its manifest digest when known.
    async fn get_image(&self, task: &Task, image: &str) -> Result<Option<String>, RuntimeError> {
        let rt = &self.runtime_of(task)?;
        let registry = if pull::may_need_registry(image) {
            self.known_registry().await
        } else {
            self.registry_access()
        };
        let img = match self.image_source(image, registry.as_ref()) {
            ImageSource::Local => {
                rt.ensure_image(image).await?;
                let local = rt.inspect_image(image).await.ok().flatten();
                return Ok(local.and_then(|l| pull::digest_of(&l.repo_digests, None)));
            }
            ImageSource::OtherEcr { account, region } => {
                let p = &self.inner.config.partition;
                return Err(RuntimeError::CannotPull(pull::pull_error(
                    image,
                    false,
                    &format!(
                        "no registry for account {account} in {region} here: the emulator's ECR is account {} in {}",
                        p.account, p.region
                    ),
                )));
            }
            ImageSource::Registry(img) => img,
        };
        let Some(registry) = registry else {
            return Err(RuntimeError::CannotPull(pull::pull_error(
                image,
                false,
                "this emulator runs without an image registry",
            )));
        };
        let host = self
            .registry_host(task, &registry)
            .await
            .map_err(|why| RuntimeError::CannotPull(pull::pull_error(image, false, &why)))?;
        let request = ImagePull {
            reference: img.pull_reference(&host),
            username: pull::REGISTRY_USER.into(),
            password: registry.password(),
        };
        let failure = match rt.pull_image(&request).await {
            Ok(digest) => return Ok(Some(digest)),
            Err(e) => e,
        };
        // The agent's default behaviour: a cached copy serves when the
        // pull fails.
        let cached = pull::run_as(image, &ImageSource::Registry(img.clone()), &host);
        if let Ok(Some(local)) = rt.inspect_image(&cached).await {
            tracing::warn!(image, error = %failure, "pull failed; using the image on the engine");
            return Ok(pull::digest_of(
                &local.repo_digests,
                Some(&img.repository_at(&host)),
            ));
        }
        let (not_found, message) = match &failure {
            RuntimeError::NotFound(m) => (true, m.clone()),
            other => (false, other.to_string()),
        };
        Err(RuntimeError::CannotPull(pull::pull_error(
            image, not_found, &message,
        )))
    }
}
