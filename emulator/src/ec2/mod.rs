//! The few EC2 reads that the tutorial's set-up and IaC tools make before
//! they create ECS and ELBv2 resources (EC2 Query protocol, version
//! 2016-11-15): the default VPC, one subnet per availability zone of the
//! container instances, security groups kept as data, and the container
//! instances as EC2 instances. Nothing here filters traffic: every task
//! runs on the one local Docker engine.
//!
//! A Query call for a service the emulator does not emulate (IAM, STS, ...)
//! is answered with a clear "not emulated" error instead of reaching ELBv2.

pub mod wire;

use std::collections::BTreeSet;

use crate::db::State;

/// The EC2 API version the AWS CLI and SDKs send.
pub const VERSION: &str = "2016-11-15";

/// The default VPC.
pub const VPC_ID: &str = "vpc-00000000000000001";
pub const VPC_CIDR: &str = "172.31.0.0/16";

/// The zones that have subnets: those of the container instances, and at
/// least `REGIONa` and `REGIONb` (an ALB needs two).
pub fn zones(state: &State, region: &str) -> Vec<String> {
    let mut zones: BTreeSet<String> = state
        .container_instances
        .values()
        .filter_map(|i| {
            i.attributes
                .iter()
                .find(|a| a.name == crate::model::container_instance::AZ_ATTRIBUTE)
                .and_then(|a| a.value.clone())
        })
        .collect();
    zones.insert(format!("{region}a"));
    zones.insert(format!("{region}b"));
    zones.into_iter().collect()
}

/// The subnet of a zone: `subnet-` and 17 hex digits derived from it.
pub fn subnet_id(zone: &str) -> String {
    let suffix = zone.chars().last().unwrap_or('a') as u32;
    format!("subnet-{:017x}", 0x1000 + suffix)
}

/// `172.31.N.0/20`, one block per zone letter.
pub fn subnet_cidr(zone: &str) -> String {
    let n = (zone.chars().last().unwrap_or('a') as u32).saturating_sub('a' as u32);
    format!("172.31.{}.0/20", (n * 16) % 256)
}
