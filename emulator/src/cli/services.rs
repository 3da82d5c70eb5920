//! The service commands of the `emulator` CLI: `services`, `events`,
//! `scale`, `deploy` and `kill`, all through the running emulator's ECS API
//! (and Docker, for `kill` and the image build of `deploy`).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Subcommand;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde_json::{json, Value};

use super::client::Client;
use crate::runtime::docker::DockerRuntime;
use crate::runtime::ContainerRuntime;

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// List services: desired/running/pending and their deployments.
    Services,
    /// A service's events, oldest first (ECS wording).
    Events {
        service: String,
        /// Only the last N events.
        #[arg(long, short = 'n', default_value_t = 30)]
        limit: usize,
    },
    /// Set a service's desired count.
    Scale { service: String, count: u32 },
    /// Rebuild the project's images under a new tag, register a new task
    /// definition revision using it, update the service and follow the
    /// rolling deployment to completion (or rollback).
    Deploy {
        service: String,
        /// Image tag (default: `deploy-` and the Unix time).
        #[arg(long)]
        tag: Option<String>,
        /// Skip the image build (reuse images already tagged `--tag`).
        #[arg(long)]
        no_build: bool,
        /// Give up following after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// SIGKILL one container of a task (the first essential one, or
    /// `--container`), to watch the service replace it.
    Kill {
        /// Task id or ARN.
        task: String,
        #[arg(long)]
        container: Option<String>,
    },
}

pub async fn run(client: &Client, cmd: &ServiceCmd) -> anyhow::Result<()> {
    match cmd {
        ServiceCmd::Services => services(client).await,
        ServiceCmd::Events { service, limit } => events(client, service, *limit).await,
        ServiceCmd::Scale { service, count } => scale(client, service, *count).await,
        ServiceCmd::Deploy {
            service,
            tag,
            no_build,
            timeout,
        } => {
            let tag = tag.clone().unwrap_or_else(|| {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                format!("deploy-{secs}")
            });
            super::deploy::deploy(
                client,
                service,
                &tag,
                *no_build,
                Duration::from_secs(*timeout),
            )
            .await
        }
        ServiceCmd::Kill { task, container } => kill(client, task, container.as_deref()).await,
    }
}

async fn clusters(client: &Client) -> anyhow::Result<Vec<String>> {
    let v = client.call("ListClusters", json!({})).await?;
    Ok(v["clusterArns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// Every service (described) of every cluster.
async fn all_services(client: &Client) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for c in clusters(client).await? {
        let arns = client.call("ListServices", json!({ "cluster": c })).await?["serviceArns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for chunk in arns.chunks(10) {
            let v = client
                .call(
                    "DescribeServices",
                    json!({ "cluster": c, "services": chunk }),
                )
                .await?;
            out.extend(v["services"].as_array().cloned().unwrap_or_default());
        }
    }
    Ok(out)
}

/// A service by name or ARN, in whichever cluster has it.
pub(super) async fn find_service(client: &Client, name: &str) -> anyhow::Result<Value> {
    let short = name.rsplit('/').next().unwrap_or(name);
    all_services(client)
        .await?
        .into_iter()
        .find(|s| s["serviceName"] == short || s["serviceArn"] == name)
        .ok_or_else(|| anyhow!("no service named {name} (see `emulator services`)"))
}

async fn describe(client: &Client, service: &Value) -> anyhow::Result<Value> {
    let v = client
        .call(
            "DescribeServices",
            json!({ "cluster": service["clusterArn"], "services": [service["serviceArn"]] }),
        )
        .await?;
    Ok(v["services"][0].clone())
}

fn short_deployment(d: &Value) -> String {
    let id = d["id"].as_str().unwrap_or("");
    let td = d["taskDefinition"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    format!(
        "{} {} {} {} {}/{}",
        d["status"].as_str().unwrap_or(""),
        &id[id.len().saturating_sub(6)..],
        td,
        d["rolloutState"].as_str().unwrap_or(""),
        d["runningCount"],
        d["desiredCount"]
    )
}

async fn services(client: &Client) -> anyhow::Result<()> {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header([
        "service",
        "status",
        "desired",
        "running",
        "pending",
        "deployments",
    ]);
    for s in all_services(client).await? {
        let deps: Vec<String> = s["deployments"]
            .as_array()
            .map(|a| a.iter().map(short_deployment).collect())
            .unwrap_or_default();
        table.add_row([
            s["serviceName"].as_str().unwrap_or("").to_string(),
            s["status"].as_str().unwrap_or("").to_string(),
            s["desiredCount"].to_string(),
            s["runningCount"].to_string(),
            s["pendingCount"].to_string(),
            deps.join("\n"),
        ]);
    }
    println!("{table}");
    Ok(())
}

fn time_of(epoch: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos((epoch * 1e9) as i128)
        .map(|t| {
            format!(
                "{:02}:{:02}:{:02}.{:03}",
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        })
        .unwrap_or_default()
}

async fn events(client: &Client, name: &str, limit: usize) -> anyhow::Result<()> {
    let s = find_service(client, name).await?;
    let evs = s["events"].as_array().cloned().unwrap_or_default();
    for e in evs.iter().take(limit).rev() {
        println!(
            "{}  {}",
            time_of(e["createdAt"].as_f64().unwrap_or(0.0)),
            e["message"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

async fn scale(client: &Client, name: &str, count: u32) -> anyhow::Result<()> {
    let s = find_service(client, name).await?;
    let v = client
        .call(
            "UpdateService",
            json!({ "cluster": s["clusterArn"], "service": s["serviceArn"], "desiredCount": count }),
        )
        .await?;
    println!(
        "{}: desired count {} -> {} (running {})",
        s["serviceName"].as_str().unwrap_or(""),
        s["desiredCount"],
        v["service"]["desiredCount"],
        v["service"]["runningCount"]
    );
    Ok(())
}

/// Prints a deployment's progress and new events until it completes, or
/// fails (and the rollback completes).
pub(super) async fn follow(
    client: &Client,
    service: &Value,
    dep_id: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut seen: std::collections::HashSet<String> = service["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut last = String::new();
    loop {
        let s = describe(client, service).await?;
        if let Some(evs) = s["events"].as_array() {
            for e in evs.iter().rev() {
                let id = e["id"].as_str().unwrap_or("").to_string();
                if seen.insert(id) {
                    println!(
                        "  {}  {}",
                        time_of(e["createdAt"].as_f64().unwrap_or(0.0)),
                        e["message"].as_str().unwrap_or("")
                    );
                }
            }
        }
        let deps = s["deployments"].as_array().cloned().unwrap_or_default();
        let line: Vec<String> = deps.iter().map(short_deployment).collect();
        let line = line.join(" | ");
        if line != last {
            println!("[{:>5.1}s] {line}", start.elapsed().as_secs_f64());
            last = line;
        }
        let mine = deps.iter().find(|d| d["id"] == dep_id);
        let primary = deps.iter().find(|d| d["status"] == "PRIMARY");
        match (mine, primary) {
            (Some(m), _) if m["status"] == "PRIMARY" && m["rolloutState"] == "COMPLETED" => {
                println!(
                    "deployment {dep_id} completed in {:.1} s",
                    start.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            (Some(m), Some(p))
                if m["rolloutState"] == "FAILED" && p["rolloutState"] == "COMPLETED" =>
            {
                bail!(
                    "deployment {dep_id} failed ({}); rolled back to {}",
                    m["rolloutStateReason"].as_str().unwrap_or(""),
                    p["id"].as_str().unwrap_or("")
                );
            }
            (None, Some(p)) if p["rolloutState"] == "COMPLETED" => {
                bail!(
                    "deployment {dep_id} is gone; the service runs deployment {}",
                    p["id"].as_str().unwrap_or("")
                );
            }
            _ => {}
        }
        if start.elapsed() > timeout {
            bail!("deployment {dep_id} did not finish within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn kill(client: &Client, task: &str, container: Option<&str>) -> anyhow::Result<()> {
    let mut found = None;
    for c in clusters(client).await? {
        let v = client
            .call("DescribeTasks", json!({ "cluster": c, "tasks": [task] }))
            .await?;
        if let Some(t) = v["tasks"].as_array().and_then(|a| a.first()) {
            found = Some(t.clone());
            break;
        }
    }
    let t = found.ok_or_else(|| anyhow!("no task {task} (see `emulator ps`)"))?;
    let cs = t["containers"].as_array().cloned().unwrap_or_default();
    // Which containers are essential is the definition's to say.
    let def = client
        .call(
            "DescribeTaskDefinition",
            json!({ "taskDefinition": t["taskDefinitionArn"] }),
        )
        .await?;
    let essential = |name: &Value| {
        def["taskDefinition"]["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == *name)
            .is_some_and(|d| d["essential"] != false)
    };
    let c = match container {
        Some(n) => cs.iter().find(|c| c["name"] == n),
        None => cs
            .iter()
            .find(|c| essential(&c["name"]) && c["lastStatus"] == "RUNNING"),
    }
    .ok_or_else(|| anyhow!("task {task} has no such running container"))?;
    let id = c["runtimeId"]
        .as_str()
        .ok_or_else(|| anyhow!("container {} has no Docker container yet", c["name"]))?;
    let docker = DockerRuntime::connect(None)
        .await
        .map_err(|e| anyhow!("{e} (is Docker running?)"))?;
    docker.kill_container(id, "SIGKILL").await?;
    println!(
        "sent SIGKILL to container {} of task {}",
        c["name"].as_str().unwrap_or(""),
        t["taskArn"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
    );
    Ok(())
}
