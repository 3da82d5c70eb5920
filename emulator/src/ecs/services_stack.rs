//! The service operations that are not ECS API calls: the stack file's
//! services, and the desired count Application Auto Scaling sets.

use super::scheduler::Scheduler;
use super::services::ServiceError;
use crate::model::service::{self as svc, CreateService};
use crate::model::ServiceStatus;

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::InvalidParameter(msg.into())
}

impl Scheduler {
    /// Creates the stack's services that do not exist yet (a restart with
    /// the same stack changes nothing; scaled or redeployed services keep
    /// their state). Target groups named by `targetGroupName` are looked
    /// up among the ELBv2 target groups.
    pub async fn apply_stack(
        &self,
        cluster: &str,
        services: &[svc::StackService],
    ) -> Result<(), ServiceError> {
        for ss in services {
            let arn = self.service_arn(cluster, &ss.service_name);
            let exists = self
                .inner
                .engine
                .snapshot()
                .services
                .get(&arn)
                .is_some_and(|s| s.status != ServiceStatus::Inactive);
            if exists {
                continue;
            }
            let state = self.inner.engine.snapshot();
            let mut lbs = Vec::new();
            for lb in &ss.load_balancers {
                let tg = match (&lb.target_group_arn, &lb.target_group_name) {
                    (Some(a), _) => a.clone(),
                    (None, Some(name)) => state
                        .elb
                        .target_groups
                        .values()
                        .find(|t| &t.name == name)
                        .map(|t| t.arn.clone())
                        .ok_or_else(|| {
                            invalid(format!(
                                "service {}: no target group named {name}",
                                ss.service_name
                            ))
                        })?,
                    (None, None) => {
                        return Err(invalid(format!(
                            "service {}: a load balancer needs targetGroupName or targetGroupArn",
                            ss.service_name
                        )))
                    }
                };
                lbs.push(svc::LoadBalancer {
                    target_group_arn: Some(tg),
                    load_balancer_name: None,
                    container_name: lb.container_name.clone(),
                    container_port: lb.container_port,
                });
            }
            self.create(CreateService {
                cluster: Some(cluster.to_string()),
                service_name: ss.service_name.clone(),
                task_definition: Some(ss.task_definition.clone()),
                desired_count: Some(ss.desired_count),
                load_balancers: lbs,
                deployment_configuration: ss.deployment_configuration.clone(),
                health_check_grace_period_seconds: ss.health_check_grace_period_seconds,
                ..Default::default()
            })
            .await?;
        }
        self.wake();
        Ok(())
    }

    /// Sets a service's desired count (Application Auto Scaling's lever).
    pub async fn set_desired_count(
        &self,
        service_arn: &str,
        desired: u32,
    ) -> Result<bool, crate::db::DbError> {
        let done = self
            .inner
            .engine
            .update_state(|st| {
                let Some(s) = st.services.get_mut(service_arn) else {
                    return false;
                };
                if s.status != ServiceStatus::Active {
                    return false;
                }
                s.desired_count = desired;
                s.steady = false;
                if let Some(p) = s.primary_mut() {
                    p.desired_count = desired;
                }
                true
            })
            .await?;
        self.wake();
        Ok(done)
    }
}
