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

    /// The runtime at `endpoint`, or why it cannot be made (a Unix socket
    /// not there, a TLS endpoint without certificates): tried again on the
    /// next call.
    pub fn runtime(
        &self,
        endpoint: Option<&str>,
    ) -> Result<Arc<dyn ContainerRuntime>, RuntimeError> {
        self.member(endpoint).map(|m| m.runtime)
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
    fn a_local_engine_is_reached_on_loopback() {
        // (Another host's, from its route: fleet_docker.rs pulls there.)
        assert_eq!(facing_address("tcp://127.0.0.1:2375"), None);
        assert_eq!(facing_address("unix:///var/run/docker.sock"), None);
    }

    #[test]
    fn members_are_made_once_and_bad_endpoints_say_why() {
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
        let err = fleet.runtime(Some("bad://x")).err().expect("refused");
        assert!(err.to_string().contains("malformed bad://x"), "{err}");
    }
}
