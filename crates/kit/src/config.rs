//! Settings from the environment.
//!
//! Every service reads its configuration through a lookup function rather
//! than `std::env` directly, so tests can pass a map and never mutate the
//! process environment (which other tests share).

use std::net::SocketAddr;
use std::time::Duration;

/// A setting that is present but unusable. The message names the variable,
/// the value and what was expected, so `main` can print it as one line.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {expected}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: String,
}

/// Looks a variable up; an empty value counts as unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn get(lookup: Lookup<'_>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// `BIND_ADDR`-style socket address with a default.
pub fn socket_addr(
    lookup: Lookup<'_>,
    name: &'static str,
    default: SocketAddr,
) -> Result<SocketAddr, ConfigError> {
    match get(lookup, name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            name,
            value: v.clone(),
            expected: "expected an address like 127.0.0.1:3000".into(),
        }),
    }
}

/// A duration in milliseconds (`PEER_TIMEOUT_MS`-style), at least 1.
pub fn millis(
    lookup: Lookup<'_>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match get(lookup, name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(ConfigError {
                name,
                value: v.clone(),
                expected: "expected a whole number of milliseconds above 0".into(),
            }),
        },
    }
}

/// An on/off switch (`ACCESS_LOG`-style): `on`, `true`, `yes`, `1` or
/// `off`, `false`, `no`, `0`, any case; unset means `default`.
pub fn flag(lookup: Lookup<'_>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(lookup, name) {
        None => Ok(default),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => Ok(true),
            "off" | "false" | "no" | "0" => Ok(false),
            _ => Err(ConfigError {
                name,
                value: v.clone(),
                expected: "expected on or off".into(),
            }),
        },
    }
}

/// A free-form string with a default.
pub fn string(lookup: Lookup<'_>, name: &str, default: &str) -> String {
    get(lookup, name).unwrap_or_else(|| default.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let e = env(&[("BIND_ADDR", "  ")]);
        let d: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(socket_addr(&e, "BIND_ADDR", d).unwrap(), d);
        assert_eq!(
            millis(&e, "T", Duration::from_secs(2)).unwrap(),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = env(&[("BIND_ADDR", "localhost"), ("T", "-5")]);
        let d: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let err = socket_addr(&e, "BIND_ADDR", d).unwrap_err().to_string();
        assert!(err.starts_with("BIND_ADDR=\"localhost\""), "{err}");
        let err = millis(&e, "T", Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.name, "T");
    }
}
