//! `<binary> healthcheck`: a container health check without a shell.
//!
//! The images are `FROM scratch`, so there is no `curl` for a Docker or ECS
//! `healthCheck` to run. Instead the binary probes itself:
//! `"healthCheck": {"command": ["CMD", "/pingpong-node", "healthcheck"]}`
//! sends `GET <path>` to its own `BIND_ADDR` and exits 0 on a 2xx answer,
//! 1 otherwise (Docker's convention).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// Probes `GET path` on the service listening at `bind_addr` (an unspecified
/// address such as 0.0.0.0 is probed on loopback).
pub fn probe(bind_addr: SocketAddr, path: &str, timeout: Duration) -> Result<u16, String> {
    let mut addr = bind_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: healthcheck\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{addr}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("{addr}: not an HTTP answer: {line:?}"))
}

/// The `healthcheck` subcommand: exit 0 when `GET path` answers 2xx.
pub fn run(bind_addr: SocketAddr, path: &str) -> ExitCode {
    match probe(bind_addr, path, Duration::from_secs(2)) {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("healthcheck: GET {path} answered HTTP {code}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("healthcheck: GET {path} failed: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_port_is_unhealthy_with_a_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = probe(
            SocketAddr::from(([0, 0, 0, 0], port)),
            "/ping",
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(err.starts_with(&format!("127.0.0.1:{port}")), "{err}");
    }

    #[test]
    fn reads_the_status_code() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        assert_eq!(probe(addr, "/ping", Duration::from_secs(2)), Ok(503));
        server.join().unwrap();
    }
}
