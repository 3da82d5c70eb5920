//! Where the listeners run.
//!
//! - In this process ([`Balancer::local`], the in-memory tests): the
//!   [`alb::Alb`] the ELBv2 operations drive serves the traffic itself.
//! - In a balancer process of its own ([`Balancer::remote`], `up`): the
//!   ELBv2 operations drive an in-process *shadow* `Alb` (the same model
//!   and validation, no sockets), whose whole configuration
//!   ([`alb::Alb::export`]) is put to the balancer process after every
//!   change ([`super::remote`]). Health, request counts, metrics and drain
//!   completions are read from that process. The listeners thus outlive
//!   the emulator: a crash or an upgrade of the control plane refuses no
//!   connection, as with AWS, whose data plane does not restart with its
//!   API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use alb::{Alb, Target, TargetHealthDescription};

use super::remote::Remote;

/// The load balancer behind the ELBv2 API and the service scheduler.
#[derive(Clone)]
pub struct Balancer {
    alb: Alb,
    remote: Option<Arc<Remote>>,
}

impl Balancer {
    /// Listeners in this process.
    pub fn local(alb: Alb) -> Balancer {
        Balancer { alb, remote: None }
    }

    /// Listeners in a balancer process, fed from `shadow`.
    pub fn remote(shadow: Alb, remote: Arc<Remote>) -> Balancer {
        Balancer {
            alb: shadow,
            remote: Some(remote),
        }
    }

    /// The model the operations change (the shadow, when remote).
    pub fn alb(&self) -> &Alb {
        &self.alb
    }

    /// The balancer process, if the listeners run there.
    pub fn process(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    /// The model changed: the balancer process gets it soon.
    pub fn changed(&self) {
        if let Some(r) = &self.remote {
            r.changed();
        }
    }

    /// Puts the model to the balancer process now; the resources it could
    /// not apply, as `(ARN, reason)` (none when local).
    pub async fn sync(&self) -> Vec<(String, String)> {
        match &self.remote {
            Some(r) => r.sync(&self.alb).await,
            None => Vec::new(),
        }
    }

    /// `DescribeTargetHealth` of a group (`None`: no such group).
    pub fn target_health(&self, tg: &str) -> Option<Vec<TargetHealthDescription>> {
        let local = self.alb.target_group(tg)?;
        Some(match &self.remote {
            Some(r) => r.health(tg),
            None => local.describe_target_health(None),
        })
    }

    /// `DescribeTargetHealth` of the given targets of a group, or all:
    /// targets not registered read `unused` / `Target.NotRegistered`.
    pub fn describe_target_health(
        &self,
        tg: &str,
        only: Option<&[(String, u16)]>,
    ) -> Option<Vec<TargetHealthDescription>> {
        let local = self.alb.target_group(tg)?;
        let Some(r) = &self.remote else {
            return Some(local.describe_target_health(only));
        };
        let all = r.health(tg);
        let Some(keys) = only else {
            return Some(all);
        };
        Some(
            keys.iter()
                .map(|(id, port)| {
                    all.iter()
                        .find(|d| d.target.id == *id && d.target.port == *port)
                        .cloned()
                        .unwrap_or_else(|| TargetHealthDescription {
                            target: Target::new(id.clone(), *port),
                            health_check_port: *port,
                            health: alb::TargetHealth {
                                state: alb::TargetHealthState::Unused,
                                reason: Some(alb::TargetHealthReason::NotRegistered),
                                description: Some(
                                    "Target is not registered to the target group".into(),
                                ),
                            },
                            in_flight: 0,
                            request_count: 0,
                        })
                })
                .collect(),
        )
    }

    /// Requests sent to each registered target of a group.
    pub fn request_counts(&self, tg: &str) -> Vec<(Target, u64)> {
        match &self.remote {
            Some(r) => r.counts(tg),
            None => self
                .alb
                .target_group(tg)
                .map(|h| h.request_counts())
                .unwrap_or_default(),
        }
    }

    /// Changes whenever a target leaves the group (`None`: no such group).
    pub fn removals(&self, tg: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        let local = self.alb.target_group(tg)?;
        Some(match &self.remote {
            Some(r) => r.removals(),
            None => local.removals(),
        })
    }

    /// Changes whenever a target's health state changes in any group.
    pub fn health_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        match &self.remote {
            Some(r) => r.health_changes(),
            None => self.alb.health_changes(),
        }
    }

    /// Prometheus text of the listeners' metrics.
    pub async fn metrics(&self) -> String {
        match &self.remote {
            Some(r) => r.metrics().await,
            None => self.alb.render_prometheus(),
        }
    }

    /// Bound listener addresses by listener ARN.
    pub fn listener_addrs(&self) -> BTreeMap<String, SocketAddr> {
        match &self.remote {
            Some(r) => r.listener_addrs(),
            None => self
                .alb
                .load_balancers()
                .iter()
                .flat_map(|lb| lb.listeners())
                .map(|l| (l.arn().to_string(), l.local_addr()))
                .collect(),
        }
    }
}
