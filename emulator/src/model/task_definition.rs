//! Task definitions in the AWS JSON shape (`RegisterTaskDefinition`), and
//! their validation.
//!
//! The request shape and the stored shape are the same struct: ECS echoes
//! the registered fields back and adds `taskDefinitionArn`, `revision`,
//! `status` and `registeredAt`. Unknown fields are accepted (newer SDKs send
//! more) and dropped; wrong types are rejected by serde before we get here.

use serde::{Deserialize, Serialize};

/// A task definition as registered (and as returned by `DescribeTaskDefinition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    /// The `tags` of RegisterTaskDefinition: moved to the store's tags at
    /// registration, never part of the definition.
    #[serde(default, skip_serializing)]
    pub tags: Vec<super::request::Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default)]
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub container_definitions: Vec<ContainerDefinition>,
    /// Task-level CPU units, a string in the AWS shape ("256", or "1 vCPU").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Task-level memory in MiB, a string in the AWS shape ("512", or "1 GB").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<f64>,
}

/// One container of a task definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Hard limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Soft limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValuePair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// Defaults to true, as in ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// `awslogs` makes the container's output readable as CloudWatch Logs
    /// (see `control::logs`); Docker keeps it with its default driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    /// Seconds between SIGTERM and SIGKILL (ECS default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
}

impl ContainerDefinition {
    /// ECS containers are essential unless they say otherwise.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }

    /// The memory this container reserves on an instance, in MiB: the soft
    /// limit when given, else the hard limit (as the ECS scheduler does).
    pub fn reserved_memory(&self) -> u32 {
        self.memory_reservation.or(self.memory).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u32>,
    /// 0 or absent: a dynamic host port (bridge mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// A secret reference. Its value is never printed or logged.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value_from: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The ECS container health check (seconds, not Docker's nanoseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    #[serde(default)]
    pub container_name: String,
    /// START, COMPLETE, SUCCESS or HEALTHY.
    #[serde(default)]
    pub condition: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    /// `distinctInstance` or `memberOf`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// Why a task definition was refused. Every variant maps to the ECS
/// `ClientException` with this message (InvalidParameter* to
/// `InvalidParameterException`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskDefinitionError {
    #[error("Family is required and must be 1-255 letters, numbers, hyphens or underscores (got '{0}').")]
    InvalidFamily(String),
    #[error("Task definition must contain at least one container definition.")]
    NoContainers,
    #[error("A task definition can have at most 10 container definitions (got {0}).")]
    TooManyContainers(usize),
    #[error("A task definition can be at most 64 KiB (got {0} bytes).")]
    TooLarge(usize),
    #[error("Invalid container name '{0}': up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")]
    InvalidContainerName(String),
    #[error("Invalid environment variable name '{name}' in container '{container}': names cannot contain '='.")]
    InvalidEnvironmentName { container: String, name: String },
    #[error("Containers '{0}' link to or depend on each other in a cycle.")]
    DependencyCycle(String),
    #[error("Container.name should not be null or empty (container definition {0}).")]
    MissingName(usize),
    #[error("Container.image should not be null or empty (container '{0}').")]
    MissingImage(String),
    #[error("Invalid setting for container '{0}'. At least one of 'memory' or 'memoryReservation' must be specified.")]
    NoMemory(String),
    #[error("Invalid 'memory' setting for container '{0}'. Minimum: 6 MiB.")]
    MemoryTooSmall(String),
    #[error("The 'memory' hard limit of container '{0}' must be greater than or equal to its 'memoryReservation'.")]
    ReservationAboveLimit(String),
    #[error("Duplicate container name '{0}' in task definition; container names must be unique.")]
    DuplicateName(String),
    #[error("Container '{container}' links to '{target}', which is not a container of this task definition.")]
    UnknownLink { container: String, target: String },
    #[error("Container '{container}' depends on '{target}', which is not a container of this task definition.")]
    UnknownDependency { container: String, target: String },
    #[error("Invalid dependsOn condition '{condition}' in container '{container}' (expected START, COMPLETE, SUCCESS or HEALTHY).")]
    InvalidCondition {
        container: String,
        condition: String,
    },
    #[error("Invalid port {port} in a port mapping of container '{container}'; ports must be between {min} and 65535.")]
    PortOutOfRange {
        container: String,
        port: u32,
        min: u32,
    },
    #[error("Port mapping of container '{0}' is missing containerPort.")]
    MissingContainerPort(String),
    #[error("Invalid protocol '{protocol}' in a port mapping of container '{container}' (expected tcp or udp).")]
    InvalidProtocol { container: String, protocol: String },
    #[error("Host port {0} is mapped more than once in this task definition.")]
    DuplicateHostPort(u32),
    #[error("Network mode '{0}' is not supported by this emulator; use 'bridge' (the default).")]
    UnsupportedNetworkMode(String),
    #[error("Invalid network mode '{0}' (expected bridge, host, awsvpc or none).")]
    InvalidNetworkMode(String),
    #[error("Invalid 'cpu' setting for container '{0}': at most 10240 CPU units.")]
    CpuOutOfRange(String),
    #[error("Invalid task-level {field} value '{value}'.")]
    InvalidTaskSize { field: &'static str, value: String },
    #[error("Container '{0}' healthCheck.command must start with CMD, CMD-SHELL or NONE.")]
    InvalidHealthCheck(String),
    #[error("At least one essential container is required in a task definition.")]
    NoEssentialContainer,
    #[error("Invalid compatibility '{0}' (this emulator runs EC2 launch type tasks).")]
    UnsupportedCompatibility(String),
    #[error("Environment variable name must not be empty (container '{0}').")]
    EmptyEnvironmentName(String),
}

impl TaskDefinitionError {
    /// The ECS error type this maps to.
    pub fn aws_type(&self) -> &'static str {
        match self {
            TaskDefinitionError::UnsupportedNetworkMode(_)
            | TaskDefinitionError::UnsupportedCompatibility(_) => "InvalidParameterException",
            _ => "ClientException",
        }
    }
}

fn parse_size(
    field: &'static str,
    value: &str,
    unit_scale: (&str, u32),
) -> Result<u32, TaskDefinitionError> {
    let v = value.trim();
    let err = || TaskDefinitionError::InvalidTaskSize {
        field,
        value: value.to_string(),
    };
    if let Ok(n) = v.parse::<u32>() {
        return Ok(n);
    }
    let (suffix, scale) = unit_scale;
    let lower = v.to_ascii_lowercase();
    if let Some(num) = lower.strip_suffix(suffix) {
        let n: f64 = num.trim().parse().map_err(|_| err())?;
        if n > 0.0 {
            return Ok((n * f64::from(scale)) as u32);
        }
    }
    Err(err())
}

impl TaskDefinition {
    /// Task-level CPU units, if set ("1 vcpu" = 1024).
    pub fn task_cpu(&self) -> Result<Option<u32>, TaskDefinitionError> {
        self.cpu
            .as_deref()
            .map(|v| parse_size("cpu", v, ("vcpu", 1024)))
            .transpose()
    }

    /// Task-level memory in MiB, if set ("1 gb" = 1024).
    pub fn task_memory(&self) -> Result<Option<u32>, TaskDefinitionError> {
        self.memory
            .as_deref()
            .map(|v| parse_size("memory", v, ("gb", 1024)))
            .transpose()
    }

    /// What one task of this definition reserves on a container instance:
    /// (CPU units, MiB). Task-level sizes win over the container sums.
    pub fn reservation(&self) -> (u32, u32) {
        let cpu = self.task_cpu().ok().flatten().unwrap_or_else(|| {
            self.container_definitions
                .iter()
                .map(|c| c.cpu.unwrap_or(0))
                .fold(0u32, u32::saturating_add)
        });
        let mem = self.task_memory().ok().flatten().unwrap_or_else(|| {
            self.container_definitions
                .iter()
                .map(ContainerDefinition::reserved_memory)
                .fold(0u32, u32::saturating_add)
        });
        (cpu, mem)
    }

    /// Links and dependsOn must not form a cycle (the containers could
    /// never all start).
    fn check_cycles(&self) -> Result<(), TaskDefinitionError> {
        use std::collections::BTreeMap;
        let edges: BTreeMap<&str, Vec<&str>> = self
            .container_definitions
            .iter()
            .map(|c| {
                let mut to: Vec<&str> = c
                    .links
                    .iter()
                    .map(|l| l.split(':').next().unwrap_or_default())
                    .collect();
                to.extend(c.depends_on.iter().map(|d| d.container_name.as_str()));
                (c.name.as_str(), to)
            })
            .collect();
        // 0: unseen, 1: on the path, 2: done.
        fn visit<'a>(
            n: &'a str,
            edges: &BTreeMap<&'a str, Vec<&'a str>>,
            mark: &mut BTreeMap<&'a str, u8>,
        ) -> Option<&'a str> {
            match mark.get(n).copied().unwrap_or(0) {
                1 => return Some(n),
                2 => return None,
                _ => {}
            }
            mark.insert(n, 1);
            for m in edges.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, edges, mark) {
                    return Some(c);
                }
            }
            mark.insert(n, 2);
            None
        }
        let mut mark = BTreeMap::new();
        for n in edges.keys() {
            if let Some(c) = visit(n, &edges, &mut mark) {
                return Err(TaskDefinitionError::DependencyCycle(c.to_string()));
            }
        }
        Ok(())
    }

    /// The fixed host ports its containers publish (bridge mode with a
    /// non-zero `hostPort`): two tasks asking for one cannot share an
    /// instance.
    pub fn fixed_host_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .container_definitions
            .iter()
            .flat_map(|c| &c.port_mappings)
            .filter_map(|pm| pm.host_port)
            .filter(|p| *p != 0)
            .filter_map(|p| u16::try_from(p).ok())
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// `family:revision`.
    pub fn family_revision(&self) -> String {
        format!("{}:{}", self.family, self.revision.unwrap_or(0))
    }

    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions.iter().find(|c| c.name == name)
    }

    /// Checks a definition as `RegisterTaskDefinition` does; the first
    /// problem found is reported.
    pub fn validate(&self) -> Result<(), TaskDefinitionError> {
        let family_ok = !self.family.is_empty()
            && self.family.len() <= 255
            && self
                .family
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !family_ok {
            return Err(TaskDefinitionError::InvalidFamily(self.family.clone()));
        }
        match self.network_mode.as_deref() {
            None | Some("bridge") => {}
            Some(m @ ("host" | "awsvpc" | "none")) => {
                return Err(TaskDefinitionError::UnsupportedNetworkMode(m.to_string()))
            }
            Some(other) => return Err(TaskDefinitionError::InvalidNetworkMode(other.to_string())),
        }
        for c in &self.requires_compatibilities {
            if c != "EC2" && c != "EXTERNAL" {
                return Err(TaskDefinitionError::UnsupportedCompatibility(c.clone()));
            }
        }
        self.task_cpu()?;
        self.task_memory()?;
        if self.container_definitions.is_empty() {
            return Err(TaskDefinitionError::NoContainers);
        }
        if self.container_definitions.len() > 10 {
            return Err(TaskDefinitionError::TooManyContainers(
                self.container_definitions.len(),
            ));
        }
        let size = serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0);
        if size > 64 * 1024 {
            return Err(TaskDefinitionError::TooLarge(size));
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.container_definitions.iter().enumerate() {
            if c.name.is_empty() {
                return Err(TaskDefinitionError::MissingName(i));
            }
            let name_ok = c.name.len() <= 255
                && c.name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
            if !name_ok {
                return Err(TaskDefinitionError::InvalidContainerName(c.name.clone()));
            }
            if !names.insert(c.name.as_str()) {
                return Err(TaskDefinitionError::DuplicateName(c.name.clone()));
            }
        }
        let task_memory = self.task_memory()?;
        let mut host_ports = std::collections::HashSet::new();
        for c in &self.container_definitions {
            if c.image.trim().is_empty() {
                return Err(TaskDefinitionError::MissingImage(c.name.clone()));
            }
            if c.memory.is_none() && c.memory_reservation.is_none() && task_memory.is_none() {
                return Err(TaskDefinitionError::NoMemory(c.name.clone()));
            }
            if matches!(c.memory, Some(m) if m < 6)
                || matches!(c.memory_reservation, Some(m) if m < 6)
            {
                return Err(TaskDefinitionError::MemoryTooSmall(c.name.clone()));
            }
            if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation) {
                if hard < soft {
                    return Err(TaskDefinitionError::ReservationAboveLimit(c.name.clone()));
                }
            }
            if matches!(c.cpu, Some(cpu) if cpu > 10240) {
                return Err(TaskDefinitionError::CpuOutOfRange(c.name.clone()));
            }
            for pm in &c.port_mappings {
                let Some(cp) = pm.container_port else {
                    return Err(TaskDefinitionError::MissingContainerPort(c.name.clone()));
                };
                if !(1..=65535).contains(&cp) {
                    return Err(TaskDefinitionError::PortOutOfRange {
                        container: c.name.clone(),
                        port: cp,
                        min: 1,
                    });
                }
                if let Some(hp) = pm.host_port {
                    if hp > 65535 {
                        return Err(TaskDefinitionError::PortOutOfRange {
                            container: c.name.clone(),
                            port: hp,
                            min: 0,
                        });
                    }
                    if hp != 0 && !host_ports.insert(hp) {
                        return Err(TaskDefinitionError::DuplicateHostPort(hp));
                    }
                }
                if let Some(p) = &pm.protocol {
                    if p != "tcp" && p != "udp" {
                        return Err(TaskDefinitionError::InvalidProtocol {
                            container: c.name.clone(),
                            protocol: p.clone(),
                        });
                    }
                }
            }
            for link in &c.links {
                let target = link.split(':').next().unwrap_or_default();
                if !names.contains(target) {
                    return Err(TaskDefinitionError::UnknownLink {
                        container: c.name.clone(),
                        target: target.to_string(),
                    });
                }
            }
            for dep in &c.depends_on {
                if !names.contains(dep.container_name.as_str()) {
                    return Err(TaskDefinitionError::UnknownDependency {
                        container: c.name.clone(),
                        target: dep.container_name.clone(),
                    });
                }
                if !matches!(
                    dep.condition.as_str(),
                    "START" | "COMPLETE" | "SUCCESS" | "HEALTHY"
                ) {
                    return Err(TaskDefinitionError::InvalidCondition {
                        container: c.name.clone(),
                        condition: dep.condition.clone(),
                    });
                }
            }
            if let Some(hc) = &c.health_check {
                if !matches!(
                    hc.command.first().map(String::as_str),
                    Some("CMD" | "CMD-SHELL" | "NONE")
                ) {
                    return Err(TaskDefinitionError::InvalidHealthCheck(c.name.clone()));
                }
            }
            if c.environment.iter().any(|kv| kv.name.is_empty()) {
                return Err(TaskDefinitionError::EmptyEnvironmentName(c.name.clone()));
            }
            if let Some(kv) = c.environment.iter().find(|kv| kv.name.contains('=')) {
                return Err(TaskDefinitionError::InvalidEnvironmentName {
                    container: c.name.clone(),
                    name: kv.name.clone(),
                });
            }
        }
        self.check_cycles()?;
        if !self
            .container_definitions
            .iter()
            .any(ContainerDefinition::is_essential)
        {
            return Err(TaskDefinitionError::NoEssentialContainer);
        }
        Ok(())
    }

    /// Container names in an order that honours `dependsOn` and `links`
    /// (dependencies first). Cycles fall back to declaration order.
    pub fn start_order(&self) -> Vec<String> {
        let mut done: Vec<String> = Vec::new();
        let deps = |c: &ContainerDefinition| -> Vec<String> {
            c.depends_on
                .iter()
                .map(|d| d.container_name.clone())
                .chain(
                    c.links
                        .iter()
                        .map(|l| l.split(':').next().unwrap_or_default().to_string()),
                )
                .collect()
        };
        for _ in 0..=self.container_definitions.len() {
            for c in &self.container_definitions {
                if done.contains(&c.name) {
                    continue;
                }
                if deps(c).iter().all(|d| done.contains(d) || d == &c.name) {
                    done.push(c.name.clone());
                }
            }
        }
        for c in &self.container_definitions {
            if !done.contains(&c.name) {
                done.push(c.name.clone());
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(json: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(json).expect("parses")
    }

    fn ok_json() -> serde_json::Value {
        serde_json::json!({
            "family": "web",
            "containerDefinitions": [
                {"name": "a", "image": "img", "memoryReservation": 300,
                 "portMappings": [{"containerPort": 3000, "hostPort": 0}],
                 "links": ["b"], "someFutureField": {"x": 1}},
                {"name": "b", "image": "img", "memory": 128, "essential": false}
            ],
            "unknownTopLevel": true
        })
    }

    #[test]
    fn valid_definition_with_unknown_fields_passes() {
        td(ok_json()).validate().expect("valid");
    }

    fn err_with(mutate: impl FnOnce(&mut serde_json::Value)) -> TaskDefinitionError {
        let mut j = ok_json();
        mutate(&mut j);
        td(j).validate().expect_err("invalid")
    }

    #[test]
    fn each_invalid_input_is_refused_with_its_reason() {
        use TaskDefinitionError as E;
        assert!(matches!(
            err_with(|j| j["family"] = "".into()),
            E::InvalidFamily(_)
        ));
        assert!(matches!(
            err_with(|j| j["family"] = "a b".into()),
            E::InvalidFamily(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"] = serde_json::json!([])),
            E::NoContainers
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["name"] = "".into()),
            E::MissingName(0)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][1]["image"] = "".into()),
            E::MissingImage(_)
        ));
        assert!(matches!(
            err_with(|j| {
                j["containerDefinitions"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("memoryReservation");
            }),
            E::NoMemory(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][1]["name"] = "a".into()),
            E::DuplicateName(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["links"] = serde_json::json!(["zz"])),
            E::UnknownLink { .. }
        ));
        assert!(matches!(
            err_with(
                |j| j["containerDefinitions"][0]["portMappings"][0]["containerPort"] = 70000.into()
            ),
            E::PortOutOfRange { .. }
        ));
        assert!(matches!(
            err_with(
                |j| j["containerDefinitions"][0]["portMappings"][0]["containerPort"] = 0.into()
            ),
            E::PortOutOfRange { .. }
        ));
        assert!(matches!(
            err_with(
                |j| j["containerDefinitions"][0]["portMappings"][0]["hostPort"] = 65536.into()
            ),
            E::PortOutOfRange { .. }
        ));
        assert!(matches!(
            err_with(|j| j["networkMode"] = "awsvpc".into()),
            E::UnsupportedNetworkMode(_)
        ));
        assert!(matches!(
            err_with(|j| j["networkMode"] = "weird".into()),
            E::InvalidNetworkMode(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["essential"] = false.into()),
            E::NoEssentialContainer
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][1]["memory"] = 2.into()),
            E::MemoryTooSmall(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["memory"] = 100.into()),
            E::ReservationAboveLimit(_)
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["dependsOn"] =
                serde_json::json!([{"containerName": "nope", "condition": "START"}])),
            E::UnknownDependency { .. }
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["dependsOn"] =
                serde_json::json!([{"containerName": "b", "condition": "SOON"}])),
            E::InvalidCondition { .. }
        ));
        assert!(matches!(
            err_with(|j| j["containerDefinitions"][0]["healthCheck"] =
                serde_json::json!({"command": ["curl"]})),
            E::InvalidHealthCheck(_)
        ));
        assert!(matches!(
            err_with(
                |j| j["containerDefinitions"][0]["portMappings"][0]["protocol"] = "sctp".into()
            ),
            E::InvalidProtocol { .. }
        ));
        assert!(matches!(
            err_with(|j| j["memory"] = "lots".into()),
            E::InvalidTaskSize { .. }
        ));
        assert!(matches!(
            err_with(|j| j["requiresCompatibilities"] = serde_json::json!(["FARGATE"])),
            E::UnsupportedCompatibility(_)
        ));
    }

    #[test]
    fn reservation_prefers_soft_limit_and_task_level_sizes() {
        let t = td(ok_json());
        assert_eq!(t.reservation(), (0, 300 + 128));
        let mut j = ok_json();
        j["cpu"] = "1 vCPU".into();
        j["memory"] = "1 GB".into();
        assert_eq!(td(j).reservation(), (1024, 1024));
    }

    #[test]
    fn start_order_puts_links_and_dependencies_first() {
        let t = td(ok_json());
        assert_eq!(t.start_order(), vec!["b".to_string(), "a".to_string()]);
    }

    #[test]
    fn secret_debug_hides_value_from() {
        let s = Secret {
            name: "DB".into(),
            value_from: "arn:secret".into(),
        };
        assert!(!format!("{s:?}").contains("arn:secret"));
    }
}
