//! LCU reservations: Describe/ModifyCapacityReservation.
//!
//! A reservation is kept on the load balancer and reported as AWS reports
//! a fulfilled one: spread evenly over the load balancer's zones, each
//! `provisioned` (AWS passes through `pending` for minutes; the local
//! balancer has no capacity to reserve, so there is nothing to wait for).
//! As AWS: at least [`MIN_CAPACITY_UNITS`], at most
//! [`MAX_CAPACITY_UNITS`] (`CapacityUnitsLimitExceeded`), and only
//! [`DECREASES_PER_DAY`] decreases (a reset included) in 24 hours
//! (`CapacityDecreaseRequestLimitExceeded`).

use super::command::{CapacityView, ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use crate::db::state::ElbState;
use crate::model::elb::{availability_zones, LoadBalancer};

/// The smallest reservation of an Application Load Balancer.
pub const MIN_CAPACITY_UNITS: u32 = 100;
/// The default quota of reserved LCUs per Application Load Balancer.
pub const MAX_CAPACITY_UNITS: u32 = 1500;
/// Decreases allowed per 24 hours.
pub const DECREASES_PER_DAY: usize = 2;
const DAY: f64 = 86_400.0;

fn view(lb: &LoadBalancer, region: &str, now: f64) -> CapacityView {
    let c = &lb.capacity;
    let used = c.decreases.iter().filter(|t| now - **t < DAY).count();
    let zones = match c.capacity_units {
        Some(units) => {
            let zones = availability_zones(region, &lb.subnets);
            let each = f64::from(units) / zones.len().max(1) as f64;
            zones.into_iter().map(|z| (z, each)).collect()
        }
        None => Vec::new(),
    };
    CapacityView {
        last_modified_time: (c.last_modified_time > 0.0).then_some(c.last_modified_time),
        decrease_requests_remaining: DECREASES_PER_DAY.saturating_sub(used) as u32,
        capacity_units: c.capacity_units,
        zones,
    }
}

/// DescribeCapacityReservation, ModifyCapacityReservation.
pub fn handle(st: &mut ElbState, region: &str, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
    let now = crate::model::now_epoch();
    match cmd {
        ElbCommand::DescribeCapacityReservation { arn } => {
            let lb = st
                .load_balancers
                .get(&arn)
                .ok_or(ElbError::LoadBalancerNotFound(arn))?;
            Ok(ElbReply::Capacity(view(lb, region, now)))
        }
        ElbCommand::ModifyCapacityReservation {
            arn,
            capacity_units,
            reset,
        } => {
            let reset = reset == Some(true);
            match (capacity_units, reset) {
                (None, false) => {
                    return Err(validation(
                        "You must specify either MinimumLoadBalancerCapacity or ResetCapacityReservation",
                    ))
                }
                (Some(_), true) => {
                    return Err(validation(
                        "MinimumLoadBalancerCapacity and ResetCapacityReservation cannot be specified together",
                    ))
                }
                _ => {}
            }
            let mut lb = st
                .load_balancers
                .get(&arn)
                .cloned()
                .ok_or_else(|| ElbError::LoadBalancerNotFound(arn.clone()))?;
            if let Some(u) = capacity_units {
                if u < MIN_CAPACITY_UNITS {
                    return Err(ElbError::InvalidConfiguration(format!(
                        "The minimum load balancer capacity must be at least {MIN_CAPACITY_UNITS} capacity units"
                    )));
                }
                if u > MAX_CAPACITY_UNITS {
                    return Err(ElbError::CapacityUnitsLimitExceeded(format!(
                        "The requested {u} capacity units exceed the limit of {MAX_CAPACITY_UNITS} for this load balancer"
                    )));
                }
            }
            let current = lb.capacity.capacity_units;
            let decrease = match (current, capacity_units) {
                (Some(c), Some(u)) => u < c,
                (Some(_), None) => true,
                _ => false,
            };
            if decrease {
                if view(&lb, region, now).decrease_requests_remaining == 0 {
                    return Err(ElbError::CapacityDecreaseRequestLimitExceeded(format!(
                        "The capacity reservation can be decreased at most {DECREASES_PER_DAY} times in 24 hours"
                    )));
                }
                lb.capacity.decreases.retain(|t| now - *t < DAY);
                lb.capacity.decreases.push(now);
            }
            lb.capacity.capacity_units = capacity_units;
            lb.capacity.last_modified_time = now;
            let reply = view(&lb, region, now);
            st.load_balancers.insert(arn, lb);
            Ok(ElbReply::Capacity(reply))
        }
        other => Err(ElbError::Internal(format!(
            "misrouted ELBv2 command {other:?}"
        ))),
    }
}
