//! The engines container instances run on: the local one, and any other
//! Docker endpoint a container instance names (`emulator.docker-host`),
//! each one a host of the cluster, as each EC2 instance of an ECS cluster
//! has its own Docker engine.
//!
//! A [`Fleet`] hands out the runtime of an endpoint, connecting on first
//! use through its [`Connector`] (the app's connects with bollard; unit
//! tests hand out fakes). Connecting never needs the engine to answer: an
//! engine that is down when the emulator starts is one whose instance is
//! disconnected, not a failed start.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::{ContainerRuntime, RuntimeError};

/// Makes the runtime of a (remote) endpoint, e.g. `tcp://10.0.0.2:2375`,
/// with the directory of its TLS client certificate, if any.
pub type Connector = Arc<
    dyn Fn(&str, Option<&Path>) -> Result<Arc<dyn ContainerRuntime>, RuntimeError> + Send + Sync,
>;

/// One engine of the fleet.
#[derive(Clone)]
pub struct Member {
    pub runtime: Arc<dyn ContainerRuntime>,
    /// This host's address as that engine's host reaches it (what the
    /// engine pulls the emulator's registry at); `None`: loopback.
    pub facing: Option<IpAddr>,
}

/// The local engine and the remote ones, by endpoint.
pub struct Fleet {
    local: Arc<dyn ContainerRuntime>,
    connector: Connector,
    remotes: RwLock<BTreeMap<String, Member>>,
    /// TLS certificate directories by endpoint (see [`Fleet::use_tls`]).
    tls: RwLock<BTreeMap<String, PathBuf>>,
}

impl Fleet {
    /// A fleet of one engine; remote endpoints are refused.
    pub fn single(local: Arc<dyn ContainerRuntime>) -> Fleet {
        Fleet::new(
            local,
            Arc::new(|endpoint: &str, _: Option<&Path>| {
                Err(RuntimeError::Unavailable {
                    endpoint: endpoint.to_string(),
                    message: "this emulator runs on one engine only".into(),
                })
            }),
        )
    }

    pub fn new(local: Arc<dyn ContainerRuntime>, connector: Connector) -> Fleet {
        Fleet {
            local,
            connector,
            remotes: RwLock::new(BTreeMap::new()),
            tls: RwLock::new(BTreeMap::new()),
        }
    }

    /// Connects to `endpoint` with the TLS client certificate in `dir`
    /// (before its first use).
    pub fn use_tls(&self, endpoint: &str, dir: &Path) {
        self.tls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(endpoint.to_string(), dir.to_path_buf());
    }

    pub fn local(&self) -> &Arc<dyn ContainerRuntime> {
        &self.local
    }

    /// The engine at `endpoint` (`None`: the local engine), connecting
    /// the first time (which does not wait for it to answer).
    pub fn member(&self, endpoint: Option<&str>) -> Result<Member, RuntimeError> {
        let Some(endpoint) = endpoint else {
            return Ok(Member {
                runtime: self.local.clone(),
                facing: None,
            });
        };
        if let Some(m) = read(&self.remotes).get(endpoint) {
            return Ok(m.clone());
        }
        let tls = read(&self.tls).get(endpoint).cloned();
        let member = Member {
            runtime: (self.connector)(endpoint, tls.as_deref())?,
            facing: facing_address(endpoint),
        };
        let mut remotes = self.remotes.write().unwrap_or_else(|e| e.into_inner());
        Ok(remotes
            .entry(endpoint.to_string())
            .or_insert(member)
            .clone())
    }

    /// The runtime at `endpoint`; when it cannot be made (a malformed
    /// endpoint), one whose every call fails with why.
    pub fn runtime(&self, endpoint: Option<&str>) -> Arc<dyn ContainerRuntime> {
        match self.member(endpoint) {
            Ok(m) => m.runtime,
            Err(e) => Arc::new(Broken(e)),
        }
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// `HOST` of `tcp://HOST:PORT` (or `http://`, `https://`); `None` for
/// sockets and pipes.
pub fn endpoint_host(endpoint: &str) -> Option<&str> {
    let rest = ["tcp://", "http://", "https://"]
        .iter()
        .find_map(|p| endpoint.strip_prefix(p))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(host)
}

/// The local address the route to a TCP endpoint leaves from: where that
/// engine's host reaches this one. No packet is sent (a UDP socket's
/// `connect` only picks the route).
fn facing_address(endpoint: &str) -> Option<IpAddr> {
    let host = endpoint_host(endpoint)?;
    let ip: IpAddr = host.parse().ok().or_else(|| {
        use std::net::ToSocketAddrs;
        (host, 0).to_socket_addrs().ok()?.next().map(|a| a.ip())
    })?;
    if ip.is_loopback() {
        return None;
    }
    let bind: IpAddr = if ip.is_ipv4() {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    };
    let socket = std::net::UdpSocket::bind((bind, 0)).ok()?;
    socket.connect((ip, 9)).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// A runtime that cannot be made: every call says why.
struct Broken(RuntimeError);

mod broken {
    use super::super::*;
    use futures_util::future::BoxFuture;
    use futures_util::stream::BoxStream;

    fn fail<'a, T: Send + 'a>(e: &RuntimeError) -> BoxFuture<'a, Result<T, RuntimeError>> {
        let e = e.clone();
        Box::pin(async move { Err(e) })
    }

    impl ContainerRuntime for super::Broken {
        fn info(&self) -> BoxFuture<'_, Result<EngineInfo, RuntimeError>> {
            fail(&self.0)
        }
        fn ensure_image<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn push_image<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: &'a str,
            _: &'a RegistryAuth,
        ) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn pull_image<'a>(
            &'a self,
            _: &'a ImagePull,
        ) -> BoxFuture<'a, Result<String, RuntimeError>> {
            fail(&self.0)
        }
        fn inspect_image<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<LocalImage>, RuntimeError>> {
            fail(&self.0)
        }
        fn create_network<'a>(
            &'a self,
            _: &'a NetworkSpec,
        ) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn remove_network<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn create_container<'a>(
            &'a self,
            _: &'a ContainerSpec,
        ) -> BoxFuture<'a, Result<String, RuntimeError>> {
            fail(&self.0)
        }
        fn start_container<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn stop_container<'a>(
            &'a self,
            _: &'a str,
            _: u32,
        ) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn kill_container<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn remove_container<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
            fail(&self.0)
        }
        fn list_containers<'a>(
            &'a self,
            _: &'a [(&'a str, &'a str)],
        ) -> BoxFuture<'a, Result<Vec<ObservedContainer>, RuntimeError>> {
            fail(&self.0)
        }
        fn list_networks<'a>(
            &'a self,
            _: &'a [(&'a str, &'a str)],
        ) -> BoxFuture<'a, Result<Vec<String>, RuntimeError>> {
            fail(&self.0)
        }
        fn events(&self, _: &str) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
            Box::pin(futures_util::stream::once(std::future::ready(Err(self
                .0
                .clone()))))
        }
        fn logs<'a>(
            &'a self,
            _: &'a str,
            _: i64,
            _: usize,
        ) -> BoxFuture<'a, Result<Vec<LogLine>, RuntimeError>> {
            fail(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_hosts() {
        assert_eq!(endpoint_host("tcp://10.213.0.2:2375"), Some("10.213.0.2"));
        assert_eq!(
            endpoint_host("https://docker.example:2376"),
            Some("docker.example")
        );
        assert_eq!(endpoint_host("tcp://[fd00::2]:2376"), Some("fd00::2"));
        assert_eq!(endpoint_host("unix:///run/docker.sock"), None);
    }

    #[test]
    fn the_local_engine_is_reached_on_loopback_and_a_remote_one_from_its_route() {
        assert_eq!(facing_address("tcp://127.0.0.1:2375"), None);
        assert_eq!(facing_address("unix:///var/run/docker.sock"), None);
        // A route to a private address leaves from some local address.
        if let Some(ip) = facing_address("tcp://10.213.0.2:2375") {
            assert!(!ip.is_unspecified(), "{ip}");
        }
    }

    #[test]
    fn members_are_made_once_and_bad_endpoints_fail_every_call() {
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let fleet = Fleet::new(
            Arc::new(crate::runtime::testing::FakeRuntime::new()),
            Arc::new(move |e: &str, _: Option<&Path>| {
                if e.starts_with("bad") {
                    return Err(RuntimeError::Other(format!("malformed {e}")));
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(Arc::new(crate::runtime::testing::FakeRuntime::new()) as _)
            }),
        );
        fleet.member(Some("tcp://10.0.0.9:2375")).unwrap();
        fleet.member(Some("tcp://10.0.0.9:2375")).unwrap();
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        let broken = fleet.runtime(Some("bad://x"));
        let err = futures_util::FutureExt::now_or_never(broken.info())
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("malformed bad://x"), "{err}");
    }
}
