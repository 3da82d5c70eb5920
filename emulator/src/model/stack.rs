//! The stack file: what `emulator up` brings up (a cluster, its simulated
//! instances, task definitions in the `RegisterTaskDefinition` shape, and
//! the tasks to run). Services will join as a `services` list in the
//! `CreateService` shape.

use serde::{Deserialize, Serialize};

use super::task_definition::TaskDefinition;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub cluster: StackCluster,
    #[serde(default)]
    pub task_definitions: Vec<TaskDefinition>,
    /// Standalone tasks (RunTask) to keep one of each running.
    #[serde(default)]
    pub tasks: Vec<StackTask>,
    /// ELBv2 target groups (created before the load balancers).
    #[serde(default)]
    pub target_groups: Vec<super::elb::StackTargetGroup>,
    /// ELBv2 load balancers with their listeners and rules.
    #[serde(default)]
    pub load_balancers: Vec<super::elb::StackLoadBalancer>,
    /// ECS services (created after the target groups they attach to).
    #[serde(default)]
    pub services: Vec<super::service::StackService>,
    /// ECR repositories, created when missing, each seeded on first run
    /// with a local image (the tutorial's "build, tag and push").
    #[serde(default)]
    pub repositories: Vec<StackRepository>,
}

/// An ECR repository of the stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackRepository {
    pub repository_name: String,
    /// A local image (`NAME[:TAG]`) pushed as `repositoryName:TAG` when the
    /// repository has no image with that tag.
    #[serde(default)]
    pub push_on_first_run: Option<String>,
}

impl StackRepository {
    /// The seed image and the tag it is pushed under (`latest` when the
    /// local name has none).
    pub fn seed(&self) -> Option<(&str, &str)> {
        let source = self.push_on_first_run.as_deref()?;
        let tag = match source.rsplit_once(':') {
            Some((_, t)) if !t.contains('/') => t,
            _ => "latest",
        };
        Some((source, tag))
    }
}

/// What the stack's image names say in place of `${AWS_ACCOUNT_ID}` and
/// `${AWS_REGION}`, as the tutorial writes them.
pub const ACCOUNT_PLACEHOLDER: &str = "${AWS_ACCOUNT_ID}";
pub const REGION_PLACEHOLDER: &str = "${AWS_REGION}";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackCluster {
    pub cluster_name: String,
    #[serde(default)]
    pub container_instances: Vec<StackInstance>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackInstance {
    /// Empty: the resources its engine reports (with `dockerHost`).
    #[serde(default)]
    pub instance_type: String,
    pub availability_zone: String,
    /// The Docker engine its tasks run on (see
    /// [`super::container_instance::DOCKER_HOST_ATTRIBUTE`]); default: the
    /// local one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_host: Option<String>,
    /// Where its host ports are reached, when not at the endpoint's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_address: Option<String>,
    /// The endpoint's TLS client certificate directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_cert_path: Option<String>,
}

impl StackInstance {
    /// The instance's attributes naming its engine.
    pub fn attributes(&self) -> Vec<super::Attribute> {
        use super::container_instance as ci;
        [
            (ci::DOCKER_HOST_ATTRIBUTE, &self.docker_host),
            (ci::HOST_ADDRESS_ATTRIBUTE, &self.host_address),
            (ci::DOCKER_TLS_ATTRIBUTE, &self.docker_cert_path),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value.as_ref().map(|v| super::Attribute {
                name: name.to_string(),
                value: Some(v.clone()),
            })
        })
        .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTask {
    /// Family, family:revision or ARN.
    pub task_definition: String,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// The default stack (the tutorial's ECS setup), compiled in from
/// `emulator/stack.json`.
pub const DEFAULT_STACK: &str = include_str!("../../stack.json");

impl Stack {
    pub fn parse(text: &str) -> Result<Stack, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The stack with its images named for `account` and `region`. With
    /// `ecr` false (no registry), an image in a seeded repository runs
    /// from the local image that would have been pushed there.
    pub fn with_images(&self, account: &str, region: &str, ecr: bool) -> Stack {
        let mut stack = self.clone();
        let host = format!("{account}.dkr.ecr.{region}.amazonaws.com");
        for td in &mut stack.task_definitions {
            for c in &mut td.container_definitions {
                let image = c
                    .image
                    .replace(ACCOUNT_PLACEHOLDER, account)
                    .replace(REGION_PLACEHOLDER, region);
                let local = (!ecr)
                    .then(|| {
                        self.repositories.iter().find_map(|r| {
                            let (source, tag) = r.seed()?;
                            let uri = format!("{host}/{}", r.repository_name);
                            let named = image == format!("{uri}:{tag}")
                                || (tag == "latest" && image == uri);
                            named.then(|| source.to_string())
                        })
                    })
                    .flatten();
                c.image = local.unwrap_or(image);
            }
        }
        stack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_stack_is_the_tutorials_setup() {
        let s = Stack::parse(DEFAULT_STACK).expect("default stack parses");
        assert_eq!(s.cluster.cluster_name, "microservice-ping-pong-cluster");
        assert_eq!(s.cluster.container_instances.len(), 2);
        assert_ne!(
            s.cluster.container_instances[0].availability_zone,
            s.cluster.container_instances[1].availability_zone
        );
        for td in &s.task_definitions {
            td.validate().expect("default task definitions are valid");
        }
        let node = s
            .task_definitions
            .iter()
            .find(|t| t.family == "microservice-ping-pong-node-td")
            .unwrap();
        let john = node.container("node-john").unwrap();
        assert_eq!(john.links.len(), 3);
        assert_eq!(john.memory_reservation, Some(300));
        assert_eq!(node.container_definitions.len(), 4);
        // The tutorial's two services, one task each, on their groups.
        let names: Vec<&str> = s.services.iter().map(|x| x.service_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "microservice-ping-pong-client-service",
                "microservice-ping-pong-node-service"
            ]
        );
        for svc in &s.services {
            assert_eq!(svc.desired_count, 1);
            assert_eq!(svc.load_balancers[0].container_port, 3000);
        }
        assert_eq!(s.services[1].load_balancers[0].container_name, "node-john");
        assert!(s.tasks.is_empty(), "services replace the one-off tasks");
    }

    #[test]
    fn stack_images_name_the_account_and_fall_back_to_local_without_ecr() {
        let s = Stack::parse(DEFAULT_STACK).expect("default stack parses");
        let image = |s: &Stack, family: &str| {
            s.task_definitions
                .iter()
                .find(|t| t.family == family)
                .unwrap()
                .container_definitions[0]
                .image
                .clone()
        };
        let ecr = s.with_images("123456789012", "eu-west-1", true);
        assert_eq!(
            image(&ecr, "microservice-ping-pong-node-td"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice-ping-pong/node:latest"
        );
        assert_eq!(
            image(&ecr, "microservice-ping-pong-client-td"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/microservice-ping-pong/client:latest"
        );
        let local = s.with_images("123456789012", "eu-west-1", false);
        assert_eq!(
            image(&local, "microservice-ping-pong-node-td"),
            "pingpong-node:latest"
        );
        assert_eq!(
            image(&local, "microservice-ping-pong-client-td"),
            "pingpong-client:latest"
        );
        let seeds: Vec<_> = s.repositories.iter().filter_map(|r| r.seed()).collect();
        assert_eq!(
            seeds,
            [
                ("pingpong-client:latest", "latest"),
                ("pingpong-node:latest", "latest")
            ]
        );
        let untagged = StackRepository {
            repository_name: "r".into(),
            push_on_first_run: Some("127.0.0.1:5000/x".into()),
        };
        assert_eq!(untagged.seed(), Some(("127.0.0.1:5000/x", "latest")));
    }
}
