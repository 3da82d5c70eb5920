//! The `emulator` command line. `up` (the default) runs the emulator in the
//! foreground; `down` cleans up directly on Docker; the other commands talk
//! to the running emulator through its API ([`client`]).

pub mod client;
mod deploy;
mod instances;
pub mod services;
pub mod targets;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, Config};
use crate::db::DataDir;
use crate::model::stack::{Stack, DEFAULT_STACK};
use crate::runtime::docker::DockerRuntime;
use client::Client;

#[derive(Debug, Parser)]
#[command(
    name = "emulator",
    version,
    about = "A local AWS ECS on the local Docker engine"
)]
pub struct Cli {
    /// State directory (tasks, definitions, the running emulator's endpoint).
    /// Default: $XDG_STATE_HOME/pingpong-emulator or ~/.local/state/pingpong-emulator.
    #[arg(long, global = true, env = "EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Emulator instance name put on every Docker object (default: derived
    /// from the data directory).
    #[arg(long, global = true, env = "EMULATOR_NAME")]
    pub name: Option<String>,
    /// API endpoint of a running emulator (default: the one recorded in the
    /// data directory, else http://127.0.0.1:4566).
    #[arg(long, global = true, env = "EMULATOR_ENDPOINT")]
    pub endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the emulator in the foreground and bring up a stack (the default command).
    Up(UpArgs),
    /// Stop a running emulator, remove every Docker object it made, and forget its state.
    Down {
        /// Also remove the project's images (pingpong-node, -client, -alb, every
        /// tag); the next `up` rebuilds them (quick when target/images is warm).
        #[arg(long)]
        images: bool,
    },
    /// List tasks: task, definition, status, instance, ports, health.
    Ps {
        /// Include stopped tasks.
        #[arg(long, short)]
        all: bool,
    },
    /// Run a task (family, family:revision or ARN).
    RunTask {
        task_definition: String,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Target health per target group (DescribeTargetGroups + DescribeTargetHealth).
    Targets,
    /// CPU, memory and network use of every running container (like `docker stats`).
    Stats,
    /// Print the output of a service's or a task's containers, oldest first,
    /// stopped tasks included; or a load balancer's access log.
    Logs {
        /// A service name, or a task id or ARN (with --load-balancer: a
        /// load balancer name).
        target: String,
        /// TARGET is a load balancer: print its access log (one line per
        /// request, AWS's format; `access_logs.s3.enabled` must be true).
        #[arg(long)]
        load_balancer: bool,
        /// Keep printing new lines until Ctrl-C.
        #[arg(long, short)]
        follow: bool,
        /// Only lines newer than this (e.g. 30s, 10m, 2h).
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<Duration>,
    },
    #[command(flatten)]
    Service(services::ServiceCmd),
    /// Container instances, each on a Docker engine (`instance add
    /// --docker-host tcp://HOST:2375` adds another machine's).
    Instance {
        #[command(subcommand)]
        cmd: instances::InstanceCmd,
    },
    /// Run the load balancer's listeners, configured through the admin API
    /// on ADDR (`up` starts this itself; see `alb::admin`).
    #[command(hide = true)]
    Balancer {
        #[arg(long)]
        admin: SocketAddr,
    },
    /// Stop a task (id or ARN).
    StopTask {
        task: String,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Stack file (JSON); default: the tutorial's stack (emulator/stack.json).
    #[arg(long)]
    pub stack: Option<PathBuf>,
    /// Start without any stack (an empty emulator: just the API).
    #[arg(long, conflicts_with = "stack")]
    pub no_stack: bool,
    /// Where the AWS APIs (ECS, ELBv2, CloudWatch Logs, SSM, ...) listen.
    #[arg(long, env = "EMULATOR_API_ADDR", default_value = "127.0.0.1:4566")]
    pub api_addr: SocketAddr,
    /// Another name the API answers to (its `Host`); any other host is
    /// refused, so a web page cannot reach the API through DNS rebinding.
    #[arg(long = "api-host", env = "EMULATOR_API_HOSTS", value_delimiter = ',')]
    pub api_hosts: Vec<String>,
    /// Leave tasks running on Ctrl-C (the next `up` adopts them).
    #[arg(long)]
    pub keep: bool,
    /// Seconds between re-observations of each task without a Docker event.
    #[arg(long, default_value_t = 5.0)]
    pub resync_secs: f64,
    /// Default stopTimeout (seconds) for containers that set none.
    #[arg(long, default_value_t = 30)]
    pub stop_timeout: u32,
    /// Where the load balancer's port-80 listener binds (port 0: any free port).
    #[arg(long, env = "EMULATOR_ALB_ADDR", default_value = "127.0.0.1:8080")]
    pub alb_addr: SocketAddr,
    /// Where the ECR registry endpoint listens: `repositoryUri`'s host,
    /// what `docker login` and `docker push` talk to (port 0: any free port).
    #[arg(long, env = "EMULATOR_REGISTRY_ADDR", default_value = "127.0.0.1:4510")]
    pub registry_addr: SocketAddr,
    /// Bind every other ELBv2 listener on a free port instead of its own.
    #[arg(long, env = "EMULATOR_EPHEMERAL_LISTENERS")]
    pub ephemeral_listeners: bool,
    /// Milliseconds between service reconciles without a task event
    /// (target health is polled at this rate).
    #[arg(long, default_value_t = 500)]
    pub service_interval_ms: u64,
    /// Application Auto Scaling evaluation period, seconds (AWS: 60).
    #[arg(long, default_value_t = 60.0)]
    pub autoscaling_period_secs: f64,
    /// Serve the listeners from this process instead of a balancer process
    /// of their own (they then stop when the emulator stops or crashes).
    #[arg(long, env = "EMULATOR_IN_PROCESS_BALANCER")]
    pub in_process_balancer: bool,
    /// Seconds between checks that each Docker engine answers (its
    /// instances' agentConnected).
    #[arg(long, default_value_t = 2.0)]
    pub instance_check_secs: f64,
    /// Seconds an engine may not answer before its tasks are stopped as on
    /// a lost host and replaced on the other instances.
    #[arg(long, default_value_t = 30.0)]
    pub instance_grace_secs: f64,
}

impl Cli {
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(app::default_data_dir)
    }

    fn client(&self) -> Client {
        let endpoint = self
            .endpoint
            .clone()
            .or_else(|| DataDir::read_endpoint(&self.data_dir()))
            .unwrap_or_else(|| "http://127.0.0.1:4566".into());
        Client::new(endpoint)
    }
}

/// Runs the command line; `shutdown` resolves on the first Ctrl-C.
pub async fn main(cli: Cli, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    match &cli.command {
        None => {
            // `emulator` alone is `emulator up`: its flags' defaults (and
            // environment variables) from the one definition clap has.
            let Some(Cmd::Up(defaults)) = Cli::parse_from(["emulator", "up"]).command else {
                anyhow::bail!("`emulator up` did not parse as the up command");
            };
            up(&cli, &defaults, shutdown).await
        }
        Some(Cmd::Up(args)) => up(&cli, args, shutdown).await,
        Some(Cmd::Balancer { admin }) => balancer(*admin, shutdown).await,
        Some(Cmd::Down { images }) => down(&cli, *images).await,
        Some(Cmd::Ps { all }) => cli.client().ps(*all).await,
        Some(Cmd::Targets) => targets::show(&cli.client()).await,
        Some(Cmd::Stats) => cli.client().stats().await,
        Some(Cmd::Logs {
            target,
            load_balancer,
            follow,
            since,
        }) => {
            cli.client()
                .logs(target, *load_balancer, *follow, *since, shutdown)
                .await
        }
        Some(Cmd::Service(cmd)) => services::run(&cli.client(), cmd).await,
        Some(Cmd::Instance { cmd }) => instances::run(&cli.client(), cmd).await,
        Some(Cmd::RunTask {
            task_definition,
            cluster,
            count,
        }) => {
            cli.client()
                .run_task(task_definition, cluster.as_deref(), *count)
                .await
        }
        Some(Cmd::StopTask {
            task,
            cluster,
            reason,
        }) => {
            cli.client()
                .stop_task(task, cluster.as_deref(), reason.as_deref())
                .await
        }
    }
}

async fn up(
    cli: &Cli,
    args: &UpArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let data_dir = cli.data_dir();
    let stack = if args.no_stack {
        None
    } else {
        let text = match &args.stack {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read stack file {}", p.display()))?,
            None => DEFAULT_STACK.to_string(),
        };
        Some(Stack::parse(&text).context("invalid stack file")?)
    };
    let mut config = Config::new(data_dir.clone());
    config.instance = match cli.name.as_deref() {
        Some(n) => n.to_string(),
        None => {
            DataDir::read_instance(&data_dir).unwrap_or_else(|| app::instance_id(&data_dir, None))
        }
    };
    config.api_addr = args.api_addr;
    config.api_hosts = args.api_hosts.clone();
    config.stack = stack;
    config.keep = args.keep;
    config.resync = Duration::from_secs_f64(args.resync_secs.max(0.1));
    config.default_stop_timeout_s = args.stop_timeout;
    config.print_events = true;
    config.alb_addr = args.alb_addr;
    config.registry_addr = Some(args.registry_addr);
    config.ephemeral_listeners = args.ephemeral_listeners;
    config.service_interval = Duration::from_millis(args.service_interval_ms.max(10));
    config.autoscaling_period = Duration::from_secs_f64(args.autoscaling_period_secs.max(0.1));
    config.balancer_process = !args.in_process_balancer;
    config.instance_check = Duration::from_secs_f64(args.instance_check_secs.max(0.1));
    config.instance_grace = Duration::from_secs_f64(args.instance_grace_secs.max(0.0));
    app::run(config, shutdown).await?;
    Ok(())
}

async fn down(cli: &Cli, images: bool) -> anyhow::Result<()> {
    let data_dir = cli.data_dir();
    // The name the emulator recorded when it ran here, unless told.
    let instance = match cli.name.as_deref() {
        Some(n) => n.to_string(),
        None => {
            DataDir::read_instance(&data_dir).unwrap_or_else(|| app::instance_id(&data_dir, None))
        }
    };
    // A running emulator is asked to stop (it stops its tasks); nothing
    // may run on the directory while its objects are removed and it is
    // wiped, so its lock is awaited. One still starting up is asked once
    // its API answers.
    let mut dir = DataDir::open(&data_dir)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut asked = false;
    loop {
        match dir.lock() {
            Ok(()) => break,
            Err(crate::db::DbError::InUse { .. }) if tokio::time::Instant::now() < deadline => {
                if !asked {
                    if let Some(endpoint) = DataDir::read_endpoint(&data_dir) {
                        let client = Client::new(endpoint.clone());
                        if client.alive().await {
                            println!("stopping the emulator at {endpoint} ...");
                            client.request_shutdown().await?;
                            asked = true;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The listeners' process, which outlives the emulator by design.
    crate::elbv2::remote::stop(dir.path()).await;
    let docker = DockerRuntime::connect(app::default_repo_root())
        .await
        .map_err(|e| anyhow::anyhow!("{e} (is Docker running?)"))?;
    let (containers, networks) = instances::remove_labelled(&docker, &instance).await?;
    // The engines of other hosts, as the state names them.
    let state = crate::db::Db::open(&dir)?.read();
    let (remote_containers, remote_networks) = instances::down_remotes(&state, &instance).await;
    drop(state);
    dir.wipe()?;
    // The image registry's child (if a killed emulator left it) and data.
    let registry = crate::ecr::registry::dir(&data_dir);
    crate::ecr::registry::kill_stale(&registry);
    // Local tags naming the registry (pushed or pulled through it, at
    // every address it had) go with it.
    for host in crate::ecr::registry::endpoints(&registry) {
        let (removed, kept) = docker.remove_registry_tags(&host).await?;
        if !removed.is_empty() || !kept.is_empty() {
            println!(
                "removed {} image tags of the registry {host}{}",
                removed.len(),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!(" (kept, in use: {})", kept.join(", "))
                }
            );
        }
    }
    if registry.exists() {
        std::fs::remove_dir_all(&registry)
            .with_context(|| format!("cannot remove {}", registry.display()))?;
    }
    println!(
        "removed {} containers and {} networks of emulator {instance}; state in {} cleared",
        containers + remote_containers,
        networks + remote_networks,
        data_dir.display()
    );
    if images {
        let (removed, kept) = docker.remove_project_images().await?;
        println!(
            "removed {} image tags: {}",
            removed.len(),
            removed.join(" ")
        );
        if !kept.is_empty() {
            println!(
                "kept {} still in use by containers: {}",
                kept.len(),
                kept.join(" ")
            );
        }
    }
    Ok(())
}

/// `emulator balancer --admin ADDR`: the listeners, in a process of their
/// own, until SIGTERM or `POST /shutdown`; then they drain.
async fn balancer(
    admin: SocketAddr,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let alb = alb::Alb::new();
    let listener = tokio::net::TcpListener::bind(admin)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind the balancer's admin address {admin}: {e}"))?;
    alb::admin::serve(alb.clone(), listener, shutdown).await;
    alb.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
