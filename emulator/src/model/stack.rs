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
}

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
    pub instance_type: String,
    pub availability_zone: String,
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
}
