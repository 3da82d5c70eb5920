//! Container instances: the cluster's hosts. Each runs its tasks on a
//! Docker engine: the local one, or the one its `emulator.docker-host`
//! attribute names (another machine, or a second engine of this one).
//! Placement (zones, capacity, constraints) behaves as in ECS.

use serde::{Deserialize, Serialize};

/// The availability-zone attribute ECS sets on every instance.
pub const AZ_ATTRIBUTE: &str = "ecs.availability-zone";
/// The instance-type attribute ECS sets on every instance.
pub const INSTANCE_TYPE_ATTRIBUTE: &str = "ecs.instance-type";
/// The Docker endpoint an instance's tasks run on (`tcp://HOST:PORT`,
/// `https://HOST:PORT`, `unix://PATH`); absent: the local engine.
pub const DOCKER_HOST_ATTRIBUTE: &str = "emulator.docker-host";
/// The address the balancer reaches the instance's host ports at, when
/// the endpoint's host is not it (a `unix://` socket of another network
/// namespace, a name that resolves elsewhere).
pub const HOST_ADDRESS_ATTRIBUTE: &str = "emulator.host-address";
/// A directory with the TLS client certificate of the endpoint (`ca.pem`,
/// `cert.pem`, `key.pem`), as `DOCKER_CERT_PATH`.
pub const DOCKER_TLS_ATTRIBUTE: &str = "emulator.docker-cert-path";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstance {
    pub container_instance_arn: String,
    pub ec2_instance_id: String,
    /// ACTIVE or DRAINING.
    pub status: super::InstanceStatus,
    pub agent_connected: bool,
    pub registered_resources: Vec<Resource>,
    /// Derived from the tasks placed here each time it is described.
    #[serde(default)]
    pub remaining_resources: Vec<Resource>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub running_tasks_count: u32,
    #[serde(default)]
    pub pending_tasks_count: u32,
    #[serde(default)]
    pub registered_at: f64,
    /// The agent's version, as RegisterContainerInstance reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<super::agent::VersionInfo>,
    /// UpdateContainerAgent's progress (PENDING ... UPDATED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_update_status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub integer_value: i64,
}

impl Resource {
    pub fn integer(name: &str, value: i64) -> Resource {
        Resource {
            name: name.into(),
            kind: "INTEGER".into(),
            integer_value: value,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// CPU units and MiB an EC2 instance type registers (what the ECS agent
/// reports; memory slightly below the nominal size is not modelled).
pub fn instance_type_resources(instance_type: &str) -> Option<(u32, u32)> {
    Some(match instance_type {
        "t2.micro" | "t3.micro" => (1024, 1024),
        "t2.small" | "t3.small" => (1024, 2048),
        "t2.medium" | "t3.medium" => (2048, 4096),
        "t2.large" | "t3.large" => (2048, 8192),
        "m5.large" => (2048, 8192),
        "m5.xlarge" => (4096, 16384),
        _ => return None,
    })
}

impl ContainerInstance {
    /// The cluster name, from the ARN (`container-instance/<cluster>/<id>`).
    pub fn cluster_name(&self) -> &str {
        cluster_of(&self.container_instance_arn)
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_deref())
    }

    /// The Docker endpoint of another host; `None`: the local engine.
    pub fn docker_host(&self) -> Option<&str> {
        self.attribute(DOCKER_HOST_ATTRIBUTE)
    }

    /// Where the instance's published host ports are reached from here:
    /// `None` for the local engine (loopback).
    pub fn address(&self) -> Option<String> {
        if let Some(a) = self.attribute(HOST_ADDRESS_ATTRIBUTE) {
            return Some(a.to_string());
        }
        let host = crate::runtime::fleet::endpoint_host(self.docker_host()?)?;
        Some(host.to_string())
    }

    pub fn availability_zone(&self) -> &str {
        self.attribute(AZ_ATTRIBUTE).unwrap_or("")
    }

    fn registered(&self, name: &str) -> i64 {
        self.registered_resources
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.integer_value)
            .unwrap_or(0)
    }

    /// Registered (CPU units, MiB).
    pub fn capacity(&self) -> (i64, i64) {
        (self.registered("CPU"), self.registered("MEMORY"))
    }
}

/// The cluster segment of a `.../<kind>/<cluster>/<id>` ARN.
pub fn cluster_of(arn: &str) -> &str {
    let mut parts = arn.rsplit('/');
    parts.next();
    parts.next().unwrap_or("")
}
