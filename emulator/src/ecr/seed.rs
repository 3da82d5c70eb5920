//! The stack's repositories: created when missing and, on first run,
//! seeded with local images, as the tutorial's "build, tag and push" does
//! by hand. Also the login the emulator itself pushes and pulls with.

use serde_json::json;

use super::{Ecr, EcrError};
use crate::model::stack::StackRepository;
use crate::runtime::{ContainerRuntime, RegistryAuth};

/// How long a login the emulator mints for itself lasts (ECR's tokens: 12 h).
const LOGIN_SECONDS: f64 = 12.0 * 3600.0;

impl Ecr {
    /// A login to the registry endpoint, as `get-login-password` gives.
    pub fn auth(&self) -> RegistryAuth {
        let expires = crate::model::now_epoch().floor() + LOGIN_SECONDS;
        RegistryAuth {
            username: "AWS".into(),
            password: super::proxy::password(&self.registry.secret, expires as u64),
            server: self.registry_host(),
        }
    }

    /// Whether ECR can take pushes: the registry runs and its endpoint
    /// listens. `Err` says why not.
    pub fn available(&self) -> Result<(), String> {
        self.registry.url().map_err(|e| e.to_string())?;
        match self.proxy_addr {
            Some(_) => Ok(()),
            None => Err("the registry endpoint is not listening".into()),
        }
    }

    /// Creates repository `name` unless it exists.
    pub async fn ensure_repository(&self, name: &str) -> Result<(), EcrError> {
        if self.read(|s| s.ecr_repositories.contains_key(name)) {
            return Ok(());
        }
        match self
            .create_repository(&json!({ "repositoryName": name }))
            .await
        {
            Ok(_) | Err(EcrError::RepositoryAlreadyExists(..)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the stack's repositories and pushes each seed image whose
    /// tag its repository does not hold yet (a later run keeps what is
    /// there, as ECR would). `Err` says why ECR cannot serve the stack.
    pub async fn seed(
        &self,
        runtime: &dyn ContainerRuntime,
        repositories: &[StackRepository],
    ) -> Result<(), String> {
        self.available()?;
        for r in repositories {
            let name = &r.repository_name;
            self.ensure_repository(name)
                .await
                .map_err(|e| format!("repository {name}: {e}"))?;
            let Some((source, tag)) = r.seed() else {
                continue;
            };
            let held = self
                .manifest(name, tag)
                .await
                .map_err(|e| format!("{name}:{tag}: {e}"))?;
            if held.is_some() {
                continue;
            }
            runtime
                .ensure_image(source)
                .await
                .map_err(|e| format!("{source}: {e}"))?;
            let repository = format!("{}/{name}", self.registry_host());
            runtime
                .push_image(source, &repository, tag, &self.auth())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("emulator: pushed {source} to ECR as {repository}:{tag}");
        }
        Ok(())
    }
}
