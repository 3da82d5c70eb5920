//! `alb`: the standalone load balancer with a static configuration from
//! flags (or `ALB_*` environment variables), replacing nginx in front of the
//! compose stack:
//!
//! ```text
//! alb --listen 0.0.0.0:80 \
//!     --route '/start=node-john:3000' --route '/ping=node-john:3000' \
//!     --default client:3000
//! ```
//!
//! Each `--route PATTERN=HOST:PORT` becomes a listener rule (priority in
//! the order given) with an AWS `path-pattern` condition: exact unless it
//! uses `*` or `?` (`/api/*`). Each distinct `HOST:PORT` becomes a target
//! group with one target; host names are resolved on every new upstream
//! connection, so Docker DNS names work even when containers restart.
//! SIGTERM or SIGINT stops accepting and lets requests finish (up to
//! `--grace`), then exits 0; a second signal exits at once.
//!
//! Like nginx's workers, it runs one single-threaded balancer per
//! `--threads` (default: one per CPU), all bound to the port with
//! `SO_REUSEPORT`; a request then never changes threads, which saves the
//! cross-thread wake-ups a work-stealing runtime pays per request. Each
//! thread health-checks its targets on its own.
//!
//! `alb --admin 127.0.0.1:PORT` (or `ALB_ADMIN`; a path, or `unix:PATH`,
//! serves on a Unix socket) is the other mode: no static configuration, one
//! balancer on a multi-thread runtime, configured at run time through the
//! admin API (`alb::admin`: `PUT /desired` and friends) by a control plane
//! that may restart while the balancer keeps serving. Once listening it
//! prints one JSON line on stdout, `{"admin":"127.0.0.1:PORT"}` (the real
//! port when given port 0). SIGTERM, SIGINT or `POST /shutdown` drain it
//! as above.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use alb::{
    Action, Alb, Condition, HealthCheckConfig, LoadBalancerAttributes, Matcher, RuleConfig, Target,
    TargetGroupConfig,
};
use anyhow::{anyhow, Context};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

/// Admin mode: one balancer, configured through the admin API, until a
/// signal or `POST /shutdown`; then drain like the static mode.
fn run_admin(args: &Args, admin: &str) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        builder.worker_threads(n.max(1));
    }
    let rt = builder.enable_all().build()?;
    let grace = Duration::from_secs(args.grace);
    rt.block_on(async {
        let alb = Alb::new();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let signalled = async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        let unix_path = admin
            .strip_prefix("unix:")
            .or_else(|| admin.contains('/').then_some(admin));
        match unix_path {
            Some(path) => {
                remove_stale_socket(path)?;
                let listener = tokio::net::UnixListener::bind(path)
                    .with_context(|| format!("cannot bind admin socket {path}"))?;
                println!("{}", serde_json::json!({ "admin": format!("unix:{path}") }));
                tracing::info!(path, "alb admin API listening");
                alb::admin::serve_unix(alb.clone(), listener, signalled).await;
                let _ = std::fs::remove_file(path);
            }
            None => {
                let addr: SocketAddr = admin
                    .parse()
                    .with_context(|| format!("admin address {admin:?} is not HOST:PORT"))?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot bind admin address {addr}"))?;
                let bound = listener.local_addr()?;
                println!("{}", serde_json::json!({ "admin": bound.to_string() }));
                tracing::info!(addr = %bound, "alb admin API listening");
                alb::admin::serve(alb.clone(), listener, signalled).await;
            }
        }
        tracing::info!("draining");
        tokio::select! {
            drained = alb.shutdown(grace) => if !drained {
                tracing::warn!("grace period over with connections still open");
            },
            _ = term.recv() => tracing::warn!("second signal: exiting now"),
            _ = int.recv() => tracing::warn!("second signal: exiting now"),
        }
        Ok(())
    })
}

/// Remove a Unix socket left behind by a balancer that died; refuse to
/// remove anything else.
fn remove_stale_socket(path: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(anyhow!("{path}: another process serves this socket"));
            }
            Ok(std::fs::remove_file(path)?)
        }
        Ok(_) => Err(anyhow!("{path} exists and is not a socket")),
        Err(_) => Ok(()),
    }
}

/// A small Application Load Balancer: path rules to HTTP targets.
#[derive(Parser, Debug, Clone)]
#[command(name = "alb", version, about, long_about = None)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ALB_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// A rule `PATH_PATTERN=HOST:PORT` (repeatable; evaluated in order).
    /// Patterns are AWS path-patterns: case-sensitive, `*` and `?` wildcards.
    #[arg(long = "route", env = "ALB_ROUTES", value_delimiter = ',')]
    routes: Vec<String>,

    /// Where requests matching no rule go (`HOST:PORT`); without it they get
    /// a 404.
    #[arg(long = "default", env = "ALB_DEFAULT")]
    default_target: Option<String>,

    /// Health-check every target with `GET PATH` (expecting 200-399);
    /// without it health checks are off and every target takes traffic.
    #[arg(long, env = "ALB_HEALTH_CHECK_PATH")]
    health_check_path: Option<String>,

    /// Seconds between health checks.
    #[arg(long, env = "ALB_HEALTH_CHECK_INTERVAL", default_value_t = 5)]
    health_check_interval: u64,

    /// Close idle client connections, and both connections of a request
    /// whose body stops flowing, after this many seconds.
    #[arg(long, env = "ALB_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,

    /// Answer 504 when a target takes longer than this (seconds).
    #[arg(long, env = "ALB_TARGET_TIMEOUT", default_value_t = 60)]
    target_timeout: u64,

    /// Maximum concurrent client connections.
    #[arg(long, env = "ALB_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,

    /// Seconds to let in-flight requests finish on SIGTERM.
    #[arg(long, env = "ALB_GRACE", default_value_t = 10)]
    grace: u64,

    /// Worker threads, each a balancer sharing the port (default: CPUs);
    /// with --admin, the runtime's worker threads.
    #[arg(long, env = "ALB_THREADS")]
    threads: Option<usize>,

    /// Serve the admin API on this address (`HOST:PORT`, or a Unix socket
    /// path / `unix:PATH`) and start with no static configuration: a
    /// control plane configures the balancer with `PUT /desired`.
    #[arg(long, env = "ALB_ADMIN", conflicts_with_all = ["routes", "default_target"])]
    admin: Option<String>,

    /// Write an access log in AWS's ALB format below this directory
    /// (`YYYY/MM/DD/alb_..._<end>_127.0.0.1_<random>.log`, a file per 5
    /// minutes and per worker thread).
    #[arg(long, env = "ALB_ACCESS_LOG", conflicts_with = "admin")]
    access_log: Option<std::path::PathBuf>,
}

fn parse_upstream(s: &str) -> anyhow::Result<Target> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("target {s:?} is not HOST:PORT"))?;
    let port: u16 = port.parse().with_context(|| format!("bad port in {s:?}"))?;
    if host.is_empty() {
        return Err(anyhow!("target {s:?} has no host"));
    }
    Ok(Target::new(
        host.trim_matches(|c| c == '[' || c == ']'),
        port,
    ))
}

/// One worker: build the balancer, report readiness, serve until `stop`.
async fn worker(
    args: Args,
    ready: std::sync::mpsc::Sender<anyhow::Result<()>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let alb = match build(&args).await {
        Ok(alb) => {
            let _ = ready.send(Ok(()));
            alb
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = stop.wait_for(|s| *s).await;
    if !alb.shutdown(Duration::from_secs(args.grace)).await {
        tracing::warn!("grace period over with connections still open");
    }
}

async fn build(args: &Args) -> anyhow::Result<Alb> {
    let alb = Alb::new();
    let health_check = match &args.health_check_path {
        Some(path) => HealthCheckConfig {
            path: path.clone(),
            interval: Duration::from_secs(args.health_check_interval.max(1)),
            timeout: Duration::from_secs(2.min(args.health_check_interval.max(1))),
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: Matcher::parse("200-399")?,
            ..HealthCheckConfig::default()
        },
        None => HealthCheckConfig {
            enabled: false,
            ..HealthCheckConfig::default()
        },
    };
    let mut groups: BTreeMap<String, ()> = BTreeMap::new();
    let mut ensure_group = |upstream: &str| -> anyhow::Result<String> {
        let target = parse_upstream(upstream)?;
        let arn = format!("tg/{upstream}");
        if groups.insert(arn.clone(), ()).is_none() {
            let mut cfg = TargetGroupConfig::new(target.port);
            cfg.health_check = health_check.clone();
            cfg.attributes.deregistration_delay = Duration::from_secs(5);
            let tg = alb.create_target_group(arn.clone(), cfg)?;
            tg.register_targets(&[target])?;
        }
        Ok(arn)
    };
    let default_action = match &args.default_target {
        Some(t) => Action::forward(ensure_group(t)?),
        None => Action::fixed_response(404, "404 Not Found\n"),
    };
    let mut rules = Vec::new();
    for (i, route) in args.routes.iter().enumerate() {
        let (pattern, upstream) = route
            .split_once('=')
            .ok_or_else(|| anyhow!("route {route:?} is not PATTERN=HOST:PORT"))?;
        let tg = ensure_group(upstream)?;
        let priority = u32::try_from(i + 1)?;
        rules.push((
            format!("rule/{priority}"),
            RuleConfig {
                priority,
                conditions: vec![Condition::PathPattern(vec![pattern.to_owned()])],
                action: Action::forward(tg),
            },
        ));
    }
    let lb = alb.create_load_balancer(
        "alb",
        LoadBalancerAttributes {
            idle_timeout: Duration::from_secs(args.idle_timeout),
            target_timeout: Duration::from_secs(args.target_timeout),
            max_connections: args.max_connections,
            reuse_port: true,
            access_log: args.access_log.as_ref().map(|dir| {
                alb::AccessLogConfig::new(
                    dir,
                    "app/alb/0000000000000000",
                    "alb_elasticloadbalancing_local_app.alb.0000000000000000",
                )
            }),
            ..LoadBalancerAttributes::default()
        },
    )?;
    let listener = lb
        .create_listener("listener", args.listen, default_action)
        .await?;
    for (arn, rule) in rules {
        listener.create_rule(arn, rule)?;
    }
    tracing::debug!(addr = %listener.local_addr(), "alb worker listening");
    Ok(alb)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if let Some(admin) = &args.admin {
        return run_admin(&args, admin);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let (args, ready, stop) = (args.clone(), ready_tx.clone(), stop_rx.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        workers.push(
            std::thread::Builder::new()
                .name(format!("alb-{i}"))
                .spawn(move || rt.block_on(worker(args, ready, stop)))?,
        );
    }
    drop(ready_tx);
    for _ in 0..threads {
        ready_rx.recv()??;
    }
    tracing::info!(addr = %args.listen, threads, "alb listening");

    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    signals.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("signal received: draining");
        let _ = stop_tx.send(true);
        let joined = tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
            }
        });
        tokio::select! {
            _ = joined => {}
            _ = term.recv() => tracing::warn!("second signal: exiting now"),
            _ = int.recv() => tracing::warn!("second signal: exiting now"),
        }
        Ok(())
    })
}
