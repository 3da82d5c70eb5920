//! Where a task definition's image comes from, decided without any I/O.
//!
//! ECS pulls images from registries; this emulator has one, its ECR
//! (`ecr::proxy`, e.g. `127.0.0.1:4510`). An image names it either the
//! way ECR's `repositoryUri` reads on AWS,
//! `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@sha256:DIGEST]` (the
//! emulator's own account and region), or by the endpoint itself,
//! `127.0.0.1:PORT/NAME...` / `localhost:PORT/NAME...`: both are pulled
//! from the registry endpoint ([`ImageSource::Registry`]), so a tutorial's
//! task definitions run unchanged. ECR of another account or region has
//! no registry here ([`ImageSource::OtherEcr`], CannotPullContainerError).
//! Anything else is a local image, as before ([`ImageSource::Local`]: on
//! the engine, or one of the project's images built by script).
//!
//! The engine learns the registry with [`crate::ecs::Engine::set_registry`]
//! and a [`RegistryAccess`]: where the endpoint listens and how to mint a
//! password for user `AWS` (as GetAuthorizationToken does).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The user name of ECR's basic auth.
pub const REGISTRY_USER: &str = "AWS";

/// Opens the registry endpoint on one more address (that of this host as
/// another engine's host reaches it); returns where it listens.
pub type Expose = Arc<
    dyn Fn(IpAddr) -> futures_util::future::BoxFuture<'static, Result<SocketAddr, String>>
        + Send
        + Sync,
>;

/// How the engines reach the emulator's registry endpoint.
#[derive(Clone)]
pub struct RegistryAccess {
    addr: SocketAddr,
    mint: Arc<dyn Fn() -> String + Send + Sync>,
    expose: Option<Expose>,
    /// The addresses opened so far (see [`RegistryAccess::host_for`]).
    exposed: Arc<tokio::sync::Mutex<std::collections::HashMap<IpAddr, SocketAddr>>>,
}

impl std::fmt::Debug for RegistryAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAccess")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RegistryAccess {
    /// The endpoint at `addr`; `mint` returns a fresh password for user
    /// [`REGISTRY_USER`] each time it is called.
    pub fn new(addr: SocketAddr, mint: impl Fn() -> String + Send + Sync + 'static) -> Self {
        RegistryAccess {
            addr,
            mint: Arc::new(mint),
            expose: None,
            exposed: Default::default(),
        }
    }

    /// How to open the endpoint on another address, for engines of other
    /// hosts (without it, only engines that reach its address pull).
    pub fn with_expose(mut self, expose: Expose) -> Self {
        self.expose = Some(expose);
        self
    }

    /// `HOST:PORT` an engine pulls from when its host reaches this one at
    /// `facing` (`None`: a local engine, loopback). The endpoint listening
    /// on loopback only is opened on `facing` too, once; one listening on
    /// every address is reached there as it is.
    pub async fn host_for(&self, facing: Option<IpAddr>) -> Result<String, String> {
        let Some(ip) = facing else {
            return Ok(self.host());
        };
        if self.addr.ip().is_unspecified() || self.addr.ip() == ip {
            return Ok(SocketAddr::new(ip, self.addr.port()).to_string());
        }
        let mut exposed = self.exposed.lock().await;
        if let Some(a) = exposed.get(&ip) {
            return Ok(a.to_string());
        }
        let expose = self.expose.as_ref().ok_or_else(|| {
            format!(
                "the registry listens on {} only, which an engine reaching this host at {ip} cannot reach (set --registry-addr)",
                self.addr
            )
        })?;
        let addr = expose(ip).await?;
        tracing::info!(%addr, "the ECR registry endpoint also listens here, for the engines that reach this host at {ip}");
        exposed.insert(ip, addr);
        Ok(addr.to_string())
    }

    /// `HOST:PORT` Docker pulls from (an unspecified listen address is
    /// reached on loopback).
    pub fn host(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A password valid now.
    pub fn password(&self) -> String {
        (self.mint)()
    }
}

/// A tag or a digest of an image in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Tag(String),
    /// `sha256:...`
    Digest(String),
}

/// An image in the emulator's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryImage {
    /// The repository name (may hold `/`).
    pub repository: String,
    pub reference: ImageRef,
}

impl RegistryImage {
    /// What Docker pulls: `HOST/NAME:TAG` or `HOST/NAME@DIGEST`.
    pub fn pull_reference(&self, host: &str) -> String {
        format!("{}{}", self.repository_at(host), self.suffix())
    }

    /// `HOST/NAME` (how `RepoDigests` name the repository).
    pub fn repository_at(&self, host: &str) -> String {
        format!("{host}/{}", self.repository)
    }

    fn suffix(&self) -> String {
        match &self.reference {
            ImageRef::Tag(t) => format!(":{t}"),
            ImageRef::Digest(d) => format!("@{d}"),
        }
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// The emulator's registry.
    Registry(RegistryImage),
    /// ECR of an account or region this emulator does not serve.
    OtherEcr { account: String, region: String },
    /// On the engine (or one of the project's images, built by script).
    Local,
}

/// Splits `NAME[:TAG|@DIGEST]` (`NAME` may hold `/`; a `:` before the last
/// `/` is not a tag). `None` when the name is empty.
fn split_reference(path: &str) -> Option<(String, ImageRef)> {
    let (name, reference) = if let Some((name, digest)) = path.split_once('@') {
        (name, ImageRef::Digest(digest.to_string()))
    } else {
        let last = path.rfind('/').map_or(0, |i| i + 1);
        match path[last..].rfind(':') {
            Some(i) => (
                &path[..last + i],
                ImageRef::Tag(path[last + i + 1..].to_string()),
            ),
            None => (path, ImageRef::Tag("latest".into())),
        }
    };
    if name.is_empty()
        || matches!(&reference, ImageRef::Tag(t) | ImageRef::Digest(t) if t.is_empty())
    {
        return None;
    }
    Some((name.to_string(), reference))
}

/// `(account, region)` of an ECR registry host
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`).
fn ecr_host(host: &str) -> Option<(&str, &str)> {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once(".dkr.ecr.")?;
    let region = rest.strip_suffix(".fips").unwrap_or(rest);
    (account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !region.is_empty()
        && !region.contains('.'))
    .then_some((account, region))
}

/// Where `image` comes from, for an emulator of `account` in `region`
/// whose registry endpoint listens on `registry_port` (`None`: it has no
/// registry, so only the ECR form resolves to it).
pub fn resolve(
    image: &str,
    account: &str,
    region: &str,
    registry_port: Option<u16>,
) -> ImageSource {
    let Some((host, path)) = image.split_once('/') else {
        return ImageSource::Local;
    };
    if let Some((a, r)) = ecr_host(host) {
        if a != account || r != region {
            return ImageSource::OtherEcr {
                account: a.to_string(),
                region: r.to_string(),
            };
        }
    } else {
        let own = host
            .strip_prefix("127.0.0.1:")
            .or_else(|| host.strip_prefix("localhost:"))
            .and_then(|p| p.parse::<u16>().ok());
        if own.is_none() || own != registry_port {
            return ImageSource::Local;
        }
    }
    match split_reference(path) {
        Some((repository, reference)) => ImageSource::Registry(RegistryImage {
            repository,
            reference,
        }),
        None => ImageSource::Local,
    }
}

/// Whether `image` could name the emulator's registry, whatever its port
/// (an ECR host, or a port on 127.0.0.1 / localhost): only such images
/// need to know where the registry is before they resolve.
pub fn may_need_registry(image: &str) -> bool {
    let Some((host, _)) = image.split_once('/') else {
        return false;
    };
    ecr_host(host).is_some() || host.starts_with("127.0.0.1:") || host.starts_with("localhost:")
}

/// The image as ECS names it in errors: with the default tag made
/// explicit (`.../nope` -> `.../nope:latest`).
pub fn full_name(image: &str) -> String {
    let last = image.rfind('/').map_or(0, |i| i + 1);
    if image.contains('@') || image[last..].contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// The name a container is created from once its image is there: a
/// registry image by the reference it was pulled as (`HOST:PORT/NAME:TAG`
/// or `@DIGEST`), which is this emulator's own, so emulators sharing an
/// engine never run each other's copy of an ECR name. DescribeTasks still
/// shows the task definition's name.
pub fn run_as(image: &str, source: &ImageSource, host: &str) -> String {
    match source {
        ImageSource::Registry(img) => img.pull_reference(host),
        _ => image.to_string(),
    }
}

/// The manifest digest among an image's `RepoDigests` (`REPO@sha256:...`):
/// the one of `repository` (`HOST/NAME`) when given, else the first.
pub fn digest_of(repo_digests: &[String], repository: Option<&str>) -> Option<String> {
    repo_digests
        .iter()
        .filter_map(|d| d.split_once('@'))
        .find(|(repo, _)| repository.is_none_or(|r| r == *repo))
        .map(|(_, digest)| digest.to_string())
}

/// A stopped reason in the ECS agent's words for a pull of `image` that
/// failed: `not_found` when the registry has no such manifest.
pub fn pull_error(image: &str, not_found: bool, message: &str) -> String {
    let why = if not_found { "not found" } else { message };
    format!(
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {}: {why}",
        full_name(image)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "000000000000";
    const R: &str = "us-east-1";

    #[tokio::test]
    async fn another_hosts_engine_pulls_where_it_reaches_the_registry() {
        let opened = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = opened.clone();
        let expose: Expose = Arc::new(move |ip| {
            log.lock().unwrap().push(ip);
            Box::pin(async move { Ok(SocketAddr::new(ip, 4510)) })
        });
        let loopback =
            RegistryAccess::new("127.0.0.1:4510".parse().unwrap(), String::new).with_expose(expose);
        let ip: IpAddr = "10.213.0.1".parse().unwrap();
        // A local engine: loopback, nothing opened.
        assert_eq!(loopback.host_for(None).await.unwrap(), "127.0.0.1:4510");
        // Another host's: opened on the address facing it, once.
        assert_eq!(
            loopback.host_for(Some(ip)).await.unwrap(),
            "10.213.0.1:4510"
        );
        assert_eq!(
            loopback.host_for(Some(ip)).await.unwrap(),
            "10.213.0.1:4510"
        );
        assert_eq!(*opened.lock().unwrap(), vec![ip]);
        // Listening everywhere already: reached there as it is.
        let everywhere = RegistryAccess::new("0.0.0.0:4510".parse().unwrap(), String::new);
        assert_eq!(
            everywhere.host_for(Some(ip)).await.unwrap(),
            "10.213.0.1:4510"
        );
        // Loopback only and no way to open it: why it cannot be reached.
        let closed = RegistryAccess::new("127.0.0.1:4510".parse().unwrap(), String::new);
        let why = closed.host_for(Some(ip)).await.unwrap_err();
        assert!(why.contains("--registry-addr"), "{why}");
    }

    fn reg(repository: &str, reference: ImageRef) -> ImageSource {
        ImageSource::Registry(RegistryImage {
            repository: repository.into(),
            reference,
        })
    }

    fn tag(t: &str) -> ImageRef {
        ImageRef::Tag(t.into())
    }

    #[test]
    fn the_ecr_form_of_the_own_account_and_region_is_the_registry() {
        let r = |i: &str| resolve(i, A, R, Some(4510));
        assert_eq!(
            r("000000000000.dkr.ecr.us-east-1.amazonaws.com/web:1.2"),
            reg("web", tag("1.2"))
        );
        assert_eq!(
            r("000000000000.dkr.ecr.us-east-1.amazonaws.com/team/web"),
            reg("team/web", tag("latest"))
        );
        assert_eq!(
            r("000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc"),
            reg("web", ImageRef::Digest("sha256:abc".into()))
        );
        // Without a registry endpoint the ECR form still names it (the
        // pull then says there is none).
        assert_eq!(
            resolve(
                "000000000000.dkr.ecr.us-east-1.amazonaws.com/web",
                A,
                R,
                None
            ),
            reg("web", tag("latest"))
        );
    }

    #[test]
    fn ecr_of_another_account_or_region_has_no_registry_here() {
        for (image, account, region) in [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
                "123456789012",
                "us-east-1",
            ),
            (
                "000000000000.dkr.ecr.eu-west-1.amazonaws.com/web",
                A,
                "eu-west-1",
            ),
        ] {
            assert_eq!(
                resolve(image, A, R, Some(4510)),
                ImageSource::OtherEcr {
                    account: account.into(),
                    region: region.into()
                },
                "{image}"
            );
        }
    }

    #[test]
    fn the_endpoint_by_loopback_or_localhost_and_its_port_is_the_registry() {
        let r = |i: &str| resolve(i, A, R, Some(4510));
        assert_eq!(r("127.0.0.1:4510/web:v2"), reg("web", tag("v2")));
        assert_eq!(r("localhost:4510/a/b"), reg("a/b", tag("latest")));
        assert_eq!(r("127.0.0.1:5000/web:v2"), ImageSource::Local);
        assert_eq!(
            resolve("127.0.0.1:4510/web", A, R, None),
            ImageSource::Local
        );
    }

    #[test]
    fn everything_else_stays_local() {
        let r = |i: &str| resolve(i, A, R, Some(4510));
        for image in [
            "pingpong-node",
            "pingpong-node:latest",
            "library/nginx:1",
            "ghcr.io/x/y:1",
            "public.ecr.aws/nginx/nginx:1",
            "000000000000.dkr.ecr.us-east-1.amazonaws.com.evil.io/web",
            "00.dkr.ecr.us-east-1.amazonaws.com/web",
            "000000000000.dkr.ecr.us-east-1.amazonaws.com/",
        ] {
            assert_eq!(r(image), ImageSource::Local, "{image}");
        }
    }

    #[test]
    fn only_images_that_could_be_the_registrys_wait_for_it() {
        assert!(may_need_registry(
            "000000000000.dkr.ecr.us-east-1.amazonaws.com/web"
        ));
        assert!(may_need_registry(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web"
        ));
        assert!(may_need_registry("localhost:4510/web"));
        assert!(may_need_registry("127.0.0.1:9/web"));
        assert!(!may_need_registry("pingpong-node:latest"));
        assert!(!may_need_registry("ghcr.io/x/y"));
    }

    #[test]
    fn pulled_images_run_under_the_emulators_own_registry_name() {
        let host = "127.0.0.1:4510";
        let image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web";
        let source = resolve(image, A, R, Some(4510));
        let ImageSource::Registry(img) = &source else {
            panic!()
        };
        assert_eq!(img.pull_reference(host), "127.0.0.1:4510/web:latest");
        assert_eq!(run_as(image, &source, host), "127.0.0.1:4510/web:latest");
        let source = resolve("127.0.0.1:4510/web:1", A, R, Some(4510));
        assert_eq!(
            run_as("127.0.0.1:4510/web:1", &source, host),
            "127.0.0.1:4510/web:1"
        );
        // By digest: run from the pulled reference.
        let image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:ab";
        let source = resolve(image, A, R, Some(4510));
        assert_eq!(run_as(image, &source, host), "127.0.0.1:4510/web@sha256:ab");
        assert_eq!(
            run_as("pingpong-node", &ImageSource::Local, host),
            "pingpong-node"
        );
    }

    #[test]
    fn digests_come_from_the_repository_pulled() {
        let d = vec![
            "other/x@sha256:1".to_string(),
            "127.0.0.1:4510/web@sha256:2".to_string(),
        ];
        assert_eq!(
            digest_of(&d, Some("127.0.0.1:4510/web")).as_deref(),
            Some("sha256:2")
        );
        assert_eq!(digest_of(&d, None).as_deref(), Some("sha256:1"));
        assert_eq!(digest_of(&[], None), None);
    }

    #[test]
    fn pull_errors_read_as_the_agents() {
        assert_eq!(
            pull_error("000000000000.dkr.ecr.us-east-1.amazonaws.com/nope", true, "x"),
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 000000000000.dkr.ecr.us-east-1.amazonaws.com/nope:latest: not found"
        );
        assert!(pull_error("localhost:1/a:b", false, "connection refused")
            .ends_with("localhost:1/a:b: connection refused"));
    }

    #[test]
    fn registry_access_reaches_an_unspecified_address_on_loopback() {
        let a = RegistryAccess::new("0.0.0.0:4510".parse().unwrap(), || "pw".into());
        assert_eq!(a.host(), "127.0.0.1:4510");
        assert_eq!(a.port(), 4510);
        assert_eq!(a.password(), "pw");
        assert!(!format!("{a:?}").contains("pw"));
    }
}
