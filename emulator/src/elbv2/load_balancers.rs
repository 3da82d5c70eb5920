//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer.

use super::command::{ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use super::*;
use crate::db::state::ElbState;

impl Elb {
    pub(super) async fn load_balancers(
        &self,
        st: &mut ElbState,
        cmd: ElbCommand,
    ) -> Result<ElbReply, ElbError> {
        let alb = self.inner.balancer.alb();
        let arns = &self.inner.config.arns;
        let _ = (alb, arns);
        match cmd {
            ElbCommand::CreateLoadBalancer { name, scheme, kind } => {
                validate_name("Load balancer", &name).map_err(validation)?;
                if let Some(k) = kind.filter(|k| k != "application") {
                    return Err(validation(format!(
                        "Load balancer type '{k}' is not supported; only 'application'"
                    )));
                }
                if st.load_balancers.values().any(|l| l.name == name) {
                    return Err(ElbError::DuplicateLoadBalancerName(name));
                }
                let scheme = scheme.unwrap_or_else(|| "internet-facing".into());
                if scheme != "internet-facing" && scheme != "internal" {
                    return Err(validation(format!("Scheme '{scheme}' is not valid")));
                }
                let arn = arns.load_balancer(&name, &new_id());
                alb.create_load_balancer(&arn, alb::LoadBalancerAttributes::default())
                    .map_err(internal)?;
                let lb = LoadBalancer {
                    arn: arn.clone(),
                    name,
                    scheme,
                    created_time: crate::model::now_epoch(),
                };
                st.load_balancers.insert(arn, lb.clone());
                Ok(ElbReply::LoadBalancers(vec![self.with_dns(lb)]))
            }
            ElbCommand::DescribeLoadBalancers { arns: want, names } => {
                let mut out = Vec::new();
                if want.is_empty() && names.is_empty() {
                    out.extend(st.load_balancers.values().cloned());
                }
                for a in &want {
                    out.push(
                        st.load_balancers
                            .get(a)
                            .cloned()
                            .ok_or_else(|| ElbError::LoadBalancerNotFound(a.clone()))?,
                    );
                }
                for n in &names {
                    out.push(
                        st.load_balancers
                            .values()
                            .find(|l| l.name == *n)
                            .cloned()
                            .ok_or_else(|| ElbError::LoadBalancerNotFound(n.clone()))?,
                    );
                }
                Ok(ElbReply::LoadBalancers(
                    out.into_iter().map(|l| self.with_dns(l)).collect(),
                ))
            }
            ElbCommand::DeleteLoadBalancer { arn } => {
                // AWS: deleting a missing load balancer succeeds.
                if st.load_balancers.remove(&arn).is_some() {
                    let gone: Vec<String> = st
                        .listeners
                        .values()
                        .filter(|l| l.load_balancer_arn == arn)
                        .map(|l| l.arn.clone())
                        .collect();
                    for l in &gone {
                        st.listeners.remove(l);
                        crate::db::state::retain(&mut st.rules, |_, r| r.listener_arn != *l);
                    }
                    let _ = alb.delete_load_balancer(&arn).await;
                }
                Ok(ElbReply::Empty)
            }
            other => Err(ElbError::Internal(format!(
                "misrouted ELBv2 command {other:?}"
            ))),
        }
    }
}
