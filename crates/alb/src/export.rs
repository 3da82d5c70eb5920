//! [`Alb::export`]: the live configuration as a [`Desired`] document, the
//! inverse of [`Alb::apply_desired`]. A control plane that keeps a shadow
//! balancer ([`Alb::shadow`]) as its model exports it and sends the result
//! to the balancer that serves (`PUT /desired` of [`crate::admin`]).

use std::collections::BTreeMap;

use crate::balancer::Alb;
use crate::desired::{
    Desired, DesiredListener, DesiredLoadBalancer, DesiredTarget, DesiredTargetGroup,
};

impl Alb {
    /// Everything this balancer is configured with, as one [`Desired`]:
    /// every target group (its configuration and registered targets,
    /// draining ones left out, sorted by id, port and host; `healthy` for
    /// a target registered known healthy that still is), every load
    /// balancer (its attributes) and listener (its configured address,
    /// port 0 included; see [`crate::ListenerHandle::addr`]), default
    /// action and rules by ARN.
    ///
    /// A consistent snapshot: taken under the registry lock, so no
    /// resource is half created or deleted in it. Applying it to a fresh
    /// balancer and exporting that gives the same document.
    pub fn export(&self) -> Desired {
        let reg = self.lock();
        let target_groups = reg
            .target_groups
            .iter()
            .map(|(arn, tg)| {
                let mut targets: Vec<DesiredTarget> = tg
                    .registered_health()
                    .into_iter()
                    .map(|(target, healthy)| DesiredTarget { target, healthy })
                    .collect();
                targets.sort_by(|a, b| {
                    let (a, b) = (&a.target, &b.target);
                    (&a.id, a.port, &a.host).cmp(&(&b.id, b.port, &b.host))
                });
                let config = tg.config().as_ref().clone();
                (arn.clone(), DesiredTargetGroup { config, targets })
            })
            .collect();
        let load_balancers = reg
            .load_balancers
            .iter()
            .map(|(arn, lb)| {
                let listeners: BTreeMap<String, DesiredListener> = lb
                    .lock_listeners()
                    .iter()
                    .map(|(l_arn, (l, _))| {
                        let rules = l.lock_rules();
                        let desired = DesiredListener {
                            addr: l.addr(),
                            default_action: rules.default_action.clone(),
                            rules: rules.rules.clone(),
                        };
                        (l_arn.clone(), desired)
                    })
                    .collect();
                let attributes = lb.attributes().as_ref().clone();
                let desired = DesiredLoadBalancer {
                    attributes,
                    listeners,
                };
                (arn.clone(), desired)
            })
            .collect();
        Desired {
            target_groups,
            load_balancers,
        }
    }
}
