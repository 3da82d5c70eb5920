//! `emulator instance add|ls|drain|activate|remove`: the cluster's
//! container instances, each on a Docker engine (the local one, or another
//! host's); and `down`'s cleanup of the other engines.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde_json::{json, Value};

use super::client::Client;
use crate::model::container_instance::{
    AZ_ATTRIBUTE, DOCKER_HOST_ATTRIBUTE, DOCKER_TLS_ATTRIBUTE, HOST_ADDRESS_ATTRIBUTE,
};
use crate::runtime::docker::DockerRuntime;
use crate::runtime::{labels, ContainerRuntime};

#[derive(Debug, Subcommand)]
pub enum InstanceCmd {
    /// Register a container instance whose tasks run on a Docker engine
    /// (RegisterContainerInstance with `emulator.docker-host`).
    Add {
        /// The engine: unix://PATH, tcp://HOST:PORT, https://HOST:PORT (TLS).
        #[arg(long)]
        docker_host: String,
        #[arg(long)]
        cluster: Option<String>,
        /// Availability zone (default: the region's first).
        #[arg(long)]
        zone: Option<String>,
        /// EC2 instance type whose CPU and memory it registers (default:
        /// what the engine reports).
        #[arg(long)]
        instance_type: Option<String>,
        /// Where its host ports are reached from here, when not at the
        /// endpoint's host.
        #[arg(long)]
        address: Option<String>,
        /// Directory with the engine's TLS client certificate (ca.pem,
        /// cert.pem, key.pem), as DOCKER_CERT_PATH.
        #[arg(long)]
        tls_cert_path: Option<PathBuf>,
    },
    /// List container instances: engine, zone, status, agent, resources, tasks.
    Ls {
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Set an instance DRAINING: its service tasks move to other instances.
    Drain {
        /// Container instance id or ARN.
        instance: String,
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Set an instance ACTIVE again.
    Activate {
        instance: String,
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Deregister an instance (with --force, its tasks are stopped).
    Remove {
        instance: String,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(client: &Client, cmd: &InstanceCmd) -> anyhow::Result<()> {
    match cmd {
        InstanceCmd::Add {
            docker_host,
            cluster,
            zone,
            instance_type,
            address,
            tls_cert_path,
        } => {
            let mut attributes = vec![json!({"name": DOCKER_HOST_ATTRIBUTE, "value": docker_host})];
            if let Some(a) = address {
                attributes.push(json!({"name": HOST_ADDRESS_ATTRIBUTE, "value": a}));
            }
            if let Some(dir) = tls_cert_path {
                let dir = std::path::absolute(dir)?;
                attributes.push(
                    json!({"name": DOCKER_TLS_ATTRIBUTE, "value": dir.display().to_string()}),
                );
            }
            let mut body = json!({
                "cluster": client.cluster_or_default(cluster.as_deref()).await?,
                "attributes": attributes,
            });
            if let Some(z) = zone {
                body["availabilityZone"] = json!(z);
            }
            if let Some(t) = instance_type {
                body["instanceType"] = json!(t);
            }
            let v = client.call("RegisterContainerInstance", body).await?;
            let ci = &v["containerInstance"];
            println!(
                "registered {} ({}) on {docker_host}: {} CPU units, {} MiB",
                short(ci["containerInstanceArn"].as_str().unwrap_or("")),
                ci["ec2InstanceId"].as_str().unwrap_or(""),
                resource(ci, "registeredResources", "CPU"),
                resource(ci, "registeredResources", "MEMORY"),
            );
            Ok(())
        }
        InstanceCmd::Ls { cluster } => ls(client, cluster.as_deref()).await,
        InstanceCmd::Drain { instance, cluster } => {
            set_state(client, instance, cluster.as_deref(), "DRAINING").await
        }
        InstanceCmd::Activate { instance, cluster } => {
            set_state(client, instance, cluster.as_deref(), "ACTIVE").await
        }
        InstanceCmd::Remove {
            instance,
            cluster,
            force,
        } => {
            let cluster = client.cluster_or_default(cluster.as_deref()).await?;
            client
                .call(
                    "DeregisterContainerInstance",
                    json!({"cluster": cluster, "containerInstance": instance, "force": force}),
                )
                .await?;
            println!("deregistered {instance}");
            Ok(())
        }
    }
}

async fn set_state(
    client: &Client,
    instance: &str,
    cluster: Option<&str>,
    status: &str,
) -> anyhow::Result<()> {
    let cluster = client.cluster_or_default(cluster).await?;
    let v = client
        .call(
            "UpdateContainerInstancesState",
            json!({"cluster": cluster, "containerInstances": [instance], "status": status}),
        )
        .await?;
    if let Some(f) = v["failures"].as_array().and_then(|f| f.first()) {
        bail!(
            "{}: {}",
            f["reason"].as_str().unwrap_or("failed"),
            f["detail"].as_str().unwrap_or("")
        );
    }
    println!("{instance} is {status}");
    Ok(())
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn resource(ci: &Value, list: &str, name: &str) -> i64 {
    ci[list]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == name)
        .and_then(|r| r["integerValue"].as_i64())
        .unwrap_or(0)
}

/// An attribute of a DescribeContainerInstances instance.
pub fn attribute<'a>(ci: &'a Value, name: &str) -> Option<&'a str> {
    ci["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == name)?["value"]
        .as_str()
}

async fn ls(client: &Client, cluster: Option<&str>) -> anyhow::Result<()> {
    let cluster = client.cluster_or_default(cluster).await?;
    let arns = client
        .call("ListContainerInstances", json!({"cluster": cluster}))
        .await?["containerInstanceArns"]
        .clone();
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header([
        "INSTANCE", "EC2 ID", "ENGINE", "ZONE", "STATUS", "AGENT", "CPU", "MEMORY", "TASKS",
    ]);
    if arns.as_array().is_some_and(|a| !a.is_empty()) {
        let v = client
            .call(
                "DescribeContainerInstances",
                json!({"cluster": cluster, "containerInstances": arns}),
            )
            .await?;
        for ci in v["containerInstances"].as_array().into_iter().flatten() {
            let free_of = |name| {
                format!(
                    "{}/{}",
                    resource(ci, "remainingResources", name),
                    resource(ci, "registeredResources", name)
                )
            };
            table.add_row([
                short(ci["containerInstanceArn"].as_str().unwrap_or("")).to_string(),
                ci["ec2InstanceId"].as_str().unwrap_or("").to_string(),
                attribute(ci, DOCKER_HOST_ATTRIBUTE)
                    .unwrap_or("local")
                    .to_string(),
                attribute(ci, AZ_ATTRIBUTE).unwrap_or("").to_string(),
                ci["status"].as_str().unwrap_or("").to_string(),
                if ci["agentConnected"] == true {
                    "connected"
                } else {
                    "DISCONNECTED"
                }
                .to_string(),
                free_of("CPU"),
                free_of("MEMORY"),
                format!(
                    "{} running, {} pending",
                    ci["runningTasksCount"], ci["pendingTasksCount"]
                ),
            ]);
        }
    }
    println!("{table}");
    Ok(())
}

/// `down` on the engines of other hosts the state names: removes this
/// emulator's containers and networks there. An engine that does not
/// answer is reported (what is left there, and how to remove it), not
/// fatal. Returns (containers, networks) removed.
pub async fn down_remotes(state: &crate::db::State, instance: &str) -> (usize, usize) {
    let mut engines: std::collections::BTreeMap<String, Option<PathBuf>> = Default::default();
    for i in state.container_instances.values() {
        if let Some(host) = i.docker_host() {
            let tls = i.attribute(DOCKER_TLS_ATTRIBUTE).map(PathBuf::from);
            engines.insert(host.to_string(), tls);
        }
    }
    for t in state.tasks.values() {
        if let Some(host) = &t.docker_host {
            engines.entry(host.clone()).or_default();
        }
    }
    let mut removed = (0, 0);
    for (endpoint, tls) in engines {
        match down_one(&endpoint, tls.as_deref(), instance).await {
            Ok((c, n)) => {
                removed.0 += c;
                removed.1 += n;
            }
            Err(e) => eprintln!(
                "emulator: the engine at {endpoint} does not answer ({e}); its containers of emulator {instance} stay: \
                 docker -H {endpoint} rm -f $(docker -H {endpoint} ps -aq --filter label={}={instance})",
                labels::INSTANCE
            ),
        }
    }
    removed
}

async fn down_one(
    endpoint: &str,
    tls: Option<&std::path::Path>,
    instance: &str,
) -> anyhow::Result<(usize, usize)> {
    let docker = DockerRuntime::remote(endpoint, tls)?;
    tokio::time::timeout(std::time::Duration::from_secs(10), docker.ping()).await??;
    remove_labelled(&docker, instance).await
}

/// Removes every container and network of emulator `instance` on one
/// engine; (containers, networks) removed.
pub async fn remove_labelled(
    docker: &dyn ContainerRuntime,
    instance: &str,
) -> anyhow::Result<(usize, usize)> {
    let filter = [(labels::INSTANCE, instance)];
    let containers = docker.list_containers(&filter).await?;
    for c in &containers {
        docker.remove_container(&c.id).await?;
    }
    let networks = docker.list_networks(&filter).await?;
    for n in &networks {
        docker.remove_network(n).await?;
    }
    Ok((containers.len(), networks.len()))
}
