//! ECR (`X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`) over a
//! real image registry: Debian's `docker-registry` (CNCF Distribution)
//! runs as a child process on a loopback port ([`registry`]), with its
//! data in `<data dir>/registry`; Docker talks to it through the
//! emulator's own registry endpoint ([`proxy`]), which does what ECR does
//! on top (basic auth with GetAuthorizationToken's tokens, pushes only to
//! existing repositories, immutable tags). Repositories are store records
//! ([`repositories`]); images are what the registry holds ([`images`]);
//! lifecycle policies expire them ([`lifecycle`]).

mod images;
mod lifecycle;
pub mod proxy;
pub mod registry;
mod repositories;
mod seed;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::ecs::Engine;

/// The `X-Amz-Target` prefix of ECR.
pub const ECR_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921";

/// Why an operation failed, named as ECR names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EcrError {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("The repository with name '{0}' already exists in the registry with id '{1}'")]
    RepositoryAlreadyExists(String, String),
    #[error("The repository with name '{0}' does not exist in the registry with id '{1}'")]
    RepositoryNotFound(String, String),
    #[error("The repository with name '{0}' in registry with id '{1}' cannot be deleted because it still contains images")]
    RepositoryNotEmpty(String, String),
    #[error("{0}")]
    ImageNotFound(String),
    #[error("{0}")]
    InvalidTagParameter(String),
    #[error("Lifecycle policy does not exist for the repository with name '{0}' in the registry with id '{1}'")]
    LifecyclePolicyNotFound(String, String),
    #[error("There is no lifecycle policy preview for the repository with name '{0}' in the registry with id '{1}'")]
    LifecyclePolicyPreviewNotFound(String, String),
    #[error("Operation '{0}' is not supported by this emulator.")]
    UnknownOperation(String),
    /// The registry is missing or failed, or the change could not be stored.
    #[error("{0}")]
    Server(String),
}

impl From<crate::db::DbError> for EcrError {
    fn from(e: crate::db::DbError) -> EcrError {
        EcrError::Server(format!("the change could not be stored: {e}"))
    }
}

impl EcrError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            EcrError::InvalidParameter(_) => "InvalidParameterException",
            EcrError::RepositoryAlreadyExists(..) => "RepositoryAlreadyExistsException",
            EcrError::RepositoryNotFound(..) => "RepositoryNotFoundException",
            EcrError::RepositoryNotEmpty(..) => "RepositoryNotEmptyException",
            EcrError::ImageNotFound(_) => "ImageNotFoundException",
            EcrError::InvalidTagParameter(_) => "InvalidTagParameterException",
            EcrError::LifecyclePolicyNotFound(..) => "LifecyclePolicyNotFoundException",
            EcrError::LifecyclePolicyPreviewNotFound(..) => {
                "LifecyclePolicyPreviewNotFoundException"
            }
            EcrError::UnknownOperation(_) => "UnknownOperationException",
            EcrError::Server(_) => "ServerException",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(self, EcrError::Server(_))
    }
}

/// Parses a request into its typed shape.
fn parse<T: for<'de> Deserialize<'de>>(body: &Value) -> Result<T, EcrError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        EcrError::InvalidParameter(format!(
            "Invalid request: {}",
            crate::api::aws_words(&e.to_string())
        ))
    })
}

/// ECR over the engine's store and the registry.
#[derive(Clone)]
pub struct Ecr {
    engine: Engine,
    registry: Arc<registry::Registry>,
    /// Where Docker reaches the registry (`repositoryUri`'s host).
    proxy_addr: Option<SocketAddr>,
}

impl Ecr {
    pub fn new(
        engine: Engine,
        registry: Arc<registry::Registry>,
        proxy_addr: Option<SocketAddr>,
    ) -> Ecr {
        Ecr {
            engine,
            registry,
            proxy_addr,
        }
    }

    fn account(&self) -> String {
        self.engine.config().partition.account.clone()
    }

    fn region(&self) -> String {
        self.engine.config().partition.region.clone()
    }

    /// The registry host and port Docker pushes to.
    pub fn registry_host(&self) -> String {
        self.proxy_addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "127.0.0.1:0".into())
    }

    /// How ECS tasks pull from this registry (`None`: no endpoint
    /// listens): the endpoint's address and passwords for user `AWS`
    /// minted as GetAuthorizationToken mints them (valid an hour).
    pub fn registry_access(&self) -> Option<crate::ecs::pull::RegistryAccess> {
        let secret = self.registry.secret.clone();
        let mint = move || {
            let expires = crate::model::now_epoch().floor() as u64 + 3600;
            proxy::password(&secret, expires)
        };
        Some(crate::ecs::pull::RegistryAccess::new(
            self.proxy_addr?,
            mint,
        ))
    }

    pub fn registry(&self) -> &registry::Registry {
        &self.registry
    }

    fn read<R>(&self, f: impl FnOnce(&crate::db::State) -> R) -> R {
        self.engine.read(f)
    }

    async fn write<R>(&self, f: impl FnOnce(&mut crate::db::State) -> R) -> Result<R, EcrError> {
        Ok(self.engine.update_state(f).await?)
    }

    /// The repository named `name`, or ECR's not-found error.
    fn repository(&self, name: &str) -> Result<crate::model::ecr::Repository, EcrError> {
        self.read(|s| s.ecr_repositories.get(name).cloned())
            .ok_or_else(|| EcrError::RepositoryNotFound(name.to_string(), self.account()))
    }

    /// Records that the registry took manifest `digest` into `name` now.
    pub async fn record_push(&self, name: &str, digest: &str) {
        let now = crate::model::now_epoch();
        let r = self
            .write(|s| {
                if let Some(mut repo) = s.ecr_repositories.get(name).cloned() {
                    repo.pushed_at.entry(digest.to_string()).or_insert(now);
                    s.ecr_repositories.insert(name.to_string(), repo);
                }
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record an image push");
        }
    }
}
