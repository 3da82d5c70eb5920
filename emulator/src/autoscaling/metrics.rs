//! The metrics target tracking follows, measured from the emulator's own
//! sources: container CPU from the runtime's stats, request counts from the
//! balancer's per-target counters.

use std::collections::HashSet;
use std::time::Instant;

use super::AutoScaling;
use crate::ecs::scheduler::{service_tasks, target_of};
use crate::model::autoscaling::{ScalingPolicy, CPU_METRIC, REQUESTS_METRIC};
use crate::model::task::TaskStatus;

impl AutoScaling {
    /// The policy's metric now; `None` when it cannot be measured yet
    /// (first sample, no running task).
    pub(super) async fn metric(
        &self,
        p: &ScalingPolicy,
        seen: &mut HashSet<String>,
    ) -> Option<f64> {
        let tt = p.target_tracking_scaling_policy_configuration.as_ref()?;
        let kind = tt
            .predefined_metric_specification
            .as_ref()
            .map(|m| m.predefined_metric_type.as_str())
            .unwrap_or("");
        let arn = self.service_arn(&p.resource_id)?;
        let state = self.inner.scheduler.engine().snapshot();
        let service = state.services.get(&arn)?.clone();
        match kind {
            CPU_METRIC => {
                let engine = self.inner.scheduler.engine();
                let mut per_task = Vec::new();
                for t in
                    service_tasks(&state, &service).filter(|t| t.status() == TaskStatus::Running)
                {
                    let units = t.cpu.parse::<f64>().unwrap_or(0.0);
                    let units = if units > 0.0 { units } else { 1024.0 };
                    let mut used_ns = 0u64;
                    let mut elapsed = None;
                    for c in &t.containers {
                        let Some(id) = c.runtime_id.as_deref() else {
                            continue;
                        };
                        seen.insert(id.to_string());
                        let Ok(rt) = engine.runtime_of(t) else {
                            continue;
                        };
                        let Ok(s) = rt.stats(id).await else {
                            continue;
                        };
                        let now = Instant::now();
                        let prev = self
                            .memory()
                            .cpu
                            .insert(id.to_string(), (s.cpu_total_ns, now));
                        if let Some((ns, at)) = prev {
                            used_ns += s.cpu_total_ns.saturating_sub(ns);
                            elapsed = Some(now.duration_since(at));
                        }
                    }
                    if let Some(e) = elapsed.filter(|e| !e.is_zero()) {
                        let cpus = used_ns as f64 / e.as_nanos() as f64;
                        per_task.push(cpus * 1024.0 / units * 100.0);
                    }
                }
                (!per_task.is_empty()).then(|| per_task.iter().sum::<f64>() / per_task.len() as f64)
            }
            REQUESTS_METRIC => {
                let lb = match tt
                    .predefined_metric_specification
                    .as_ref()
                    .and_then(|m| m.resource_label.as_deref())
                    .and_then(|l| l.split_once("/targetgroup/").map(|(_, tg)| tg.to_string()))
                {
                    Some(tg) => service.load_balancers.iter().find(|lb| {
                        lb.target_group_arn
                            .as_deref()
                            .is_some_and(|a| a.ends_with(&format!("targetgroup/{tg}")))
                    }),
                    None => service.load_balancers.first(),
                }?;
                let tg = lb.target_group_arn.as_deref()?;
                let counts = self.inner.scheduler.targets().request_counts(tg);
                let mine: Vec<u64> = service_tasks(&state, &service)
                    .filter(|t| t.status() == TaskStatus::Running)
                    .filter_map(|t| target_of(&state, t, lb))
                    .filter_map(|target| counts.get(&target.key()).copied())
                    .collect();
                // Targets come and go: count requests as the sum of the
                // current targets' counters, differences clamped at 0.
                let total: u64 = mine.iter().sum();
                let now = Instant::now();
                let prev = self
                    .memory()
                    .requests
                    .insert(p.policy_arn.clone(), (total, now));
                let (before, at) = prev?;
                let secs = now.duration_since(at).as_secs_f64();
                if mine.is_empty() || secs <= 0.0 {
                    return None;
                }
                let delta = total.saturating_sub(before) as f64;
                // AWS counts per target per minute.
                Some(delta / mine.len() as f64 * 60.0 / secs)
            }
            _ => None,
        }
    }
}
