//! The node's settings, read from the environment (see the README's table).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use pingpong_kit::config::{self as env, ConfigError, Lookup};

/// The peers john calls when none are configured.
pub const DEFAULT_PEERS: &str = "node-paul:3000,node-george:3000,node-ringo:3000";

/// How `/start` reaches the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// john -> paul -> george -> ringo, answers come back up the chain.
    Chain,
    /// john asks every peer at once.
    Fanout,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Chain => "chain",
            Mode::Fanout => "fanout",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port` of each peer, in order.
    pub peers: Vec<String>,
    pub mode: Mode,
    pub bind_addr: SocketAddr,
    /// The whole budget of one `/start`, every hop included.
    pub peer_timeout: Duration,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// One log line per request (`ACCESS_LOG=on`); off by default.
    pub access_log: bool,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let peers_raw = env::string(lookup, "PEERS", DEFAULT_PEERS);
        let peers = parse_peers(&peers_raw).map_err(|expected| ConfigError {
            name: "PEERS",
            value: peers_raw.clone(),
            expected,
        })?;
        let mode_raw = env::string(lookup, "MODE", "chain");
        let mode = match mode_raw.trim().to_ascii_lowercase().as_str() {
            "chain" => Mode::Chain,
            "fanout" | "fan-out" => Mode::Fanout,
            _ => {
                return Err(ConfigError {
                    name: "MODE",
                    value: mode_raw,
                    expected: "expected chain or fanout".into(),
                })
            }
        };
        Ok(Config {
            peers,
            mode,
            bind_addr: env::socket_addr(lookup, "BIND_ADDR", ([127, 0, 0, 1], 3000).into())?,
            peer_timeout: env::millis(lookup, "PEER_TIMEOUT_MS", Duration::from_millis(2000))?,
            shutdown_grace: env::millis(lookup, "SHUTDOWN_GRACE_MS", Duration::from_millis(5000))?,
            access_log: env::flag(lookup, "ACCESS_LOG", false)?,
        })
    }
}

/// Parses a comma-separated `host:port` list. Empty entries are skipped; an
/// empty list is allowed (`/start` then answers `[]`).
pub fn parse_peers(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if is_peer(p) {
                Ok(p.to_string())
            } else {
                Err(format!("{p:?} is not host:port (e.g. node-paul:3000)"))
            }
        })
        .collect()
}

/// `host:port` with a DNS name or IPv4 host and a port 1..=65535. Peers are
/// put into URLs and relayed to other nodes, so nothing else gets through.
pub fn is_peer(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let port_ok = matches!(port.parse::<u16>(), Ok(p) if p > 0);
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn defaults_are_the_tutorial_stack() {
        let c = Config::from_lookup(&lookup(&[])).unwrap();
        assert_eq!(
            c.peers,
            ["node-paul:3000", "node-george:3000", "node-ringo:3000"]
        );
        assert_eq!(c.mode, Mode::Chain);
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.peer_timeout, Duration::from_millis(2000));
    }

    #[test]
    fn mode_and_peers_parse() {
        let c = Config::from_lookup(&lookup(&[
            ("MODE", "FanOut"),
            ("PEERS", " a:1 , b.example:65535,"),
        ]))
        .unwrap();
        assert_eq!(c.mode, Mode::Fanout);
        assert_eq!(c.peers, ["a:1", "b.example:65535"]);
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        for (k, v) in [
            ("MODE", "ring"),
            ("PEERS", "node-paul"),
            ("PEERS", "node-paul:0"),
            ("PEERS", "node-paul:99999"),
            ("PEERS", "evil/x:80"),
            ("PEERS", "a b:80"),
            ("PEER_TIMEOUT_MS", "soon"),
            ("BIND_ADDR", "3000"),
        ] {
            let err = Config::from_lookup(&lookup(&[(k, v)])).unwrap_err();
            assert_eq!(err.name, k, "{k}={v}");
        }
    }
}
