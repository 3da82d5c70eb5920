//! The service scheduler's pure half: `plan(service, observed) -> Vec<Step>`.
//!
//! Like the task reconciler ([`super::task_plan`]) it is level-triggered: it
//! never knows why it runs. It looks at the stored service (deployments,
//! configuration, what it already counted) and at what is observed now
//! (the service's tasks, each with its instance's status and its target
//! health in every target group of the service) and says what to do next.
//! The executor ([`super::scheduler`]) applies the steps and asks again.
//!
//! What the plan guarantees:
//! - `desiredCount` tasks of the PRIMARY deployment on ACTIVE instances;
//! - every RUNNING task registered in each target group of the service;
//! - a task is only *stopped* here; draining happens in the task's
//!   DEACTIVATING hook, before any container is stopped;
//! - during a rollout (new deployment, DRAINING instance), at most
//!   `maximumPercent` of the desired count exist and at least
//!   `minimumHealthyPercent` stay healthy (RUNNING and healthy in every
//!   target group);
//! - a task that is unhealthy after the grace period is replaced, and
//!   failures of an IN_PROGRESS deployment trip the circuit breaker;
//! - tasks that keep failing to start (or stop right after starting) hold
//!   back the service's next launches, longer after each further failure
//!   (ECS's service throttle, [`LaunchBackoff`]): the wait is in the
//!   stored service ([`Service::launch_throttle`]), so no StartTasks is
//!   planned before it ends.

use crate::model::ServiceStatus;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::service::{
    self, LaunchThrottle, Service, COMPLETED, FAILED, IN_PROGRESS, PRIMARY,
};
use crate::model::task::{StopCode, TaskStatus};

/// A task's target in one target group, as the balancer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    NotRegistered,
    Initial,
    Healthy,
    Unhealthy,
    Draining,
}

/// One task of the service as observed now.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTask {
    pub arn: String,
    /// The deployment that started it (the task's `startedBy`).
    pub deployment: String,
    pub status: TaskStatus,
    pub wants_running: bool,
    pub stop_code: Option<StopCode>,
    /// When it became RUNNING (epoch seconds).
    pub started_at: Option<f64>,
    /// When its stop was asked for (epoch seconds).
    pub stopping_at: Option<f64>,
    pub availability_zone: String,
    /// Its container instance is ACTIVE (not DRAINING, not gone).
    pub instance_active: bool,
    /// An essential container reports UNHEALTHY (container health check).
    pub container_unhealthy: bool,
    /// Protected from scale-in (UpdateTaskProtection) right now.
    pub protected: bool,
    /// One entry per load balancer of the service, in order.
    pub targets: Vec<TargetState>,
}

impl ObservedTask {
    fn live(&self) -> bool {
        self.wants_running && self.status < TaskStatus::Deactivating
    }
    fn healthy(&self) -> bool {
        self.status == TaskStatus::Running
            && !self.container_unhealthy
            && self.targets.iter().all(|t| *t == TargetState::Healthy)
    }
    /// Stopping (or stopped) by itself: an essential container exited or
    /// it could not start.
    fn self_stopped(&self) -> bool {
        !self.wants_running
            && matches!(
                self.stop_code,
                Some(StopCode::EssentialContainerExited | StopCode::TaskFailedToStart)
            )
    }
}

/// ECS's service throttle: how long a service whose tasks keep failing to
/// start waits before launching again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaunchBackoff {
    /// Launches wait from this many launch failures in a row on.
    pub after_failures: u32,
    /// The first wait; each further failure doubles it ...
    pub base: Duration,
    /// ... up to this.
    pub cap: Duration,
    /// A task that stops sooner than this after it started (or never
    /// started) failed to launch; a task of the PRIMARY deployment started
    /// after the last failure that runs healthy this long clears the
    /// throttle.
    pub stable: Duration,
}

impl Default for LaunchBackoff {
    fn default() -> Self {
        LaunchBackoff {
            after_failures: 3,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(300),
            stable: Duration::from_secs(30),
        }
    }
}

impl LaunchBackoff {
    /// The wait after `current_s` (0: not waiting yet): base, then doubled,
    /// at most the cap.
    pub fn next_delay(&self, current_s: f64) -> f64 {
        let cap = self.cap.as_secs_f64();
        if current_s <= 0.0 {
            self.base.as_secs_f64().min(cap)
        } else {
            (current_s * 2.0).min(cap)
        }
    }
}

/// The event ECS sends when it throttles a service's launches.
pub const THROTTLED: &str = "is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Register the task in every target group it is missing from.
    RegisterTargets {
        task: String,
    },
    /// Run `count` tasks of the deployment (placement may refuse some).
    StartTasks {
        deployment: String,
        count: u32,
    },
    /// Stop a task (the engine drains it first). `failed`: count it
    /// against its deployment.
    StopTask {
        task: String,
        reason: String,
        failed: bool,
    },
    /// A task of an IN_PROGRESS deployment stopped by itself.
    RecordFailure {
        deployment: String,
        task: String,
    },
    /// Tasks failed to launch: store the service's new throttle;
    /// `announce`: a new wait began (say [`THROTTLED`]).
    ThrottleLaunches {
        throttle: LaunchThrottle,
        announce: bool,
    },
    /// A task ran healthy long enough: launches no longer wait.
    ClearThrottle,
    /// The circuit breaker tripped: the deployment is FAILED; roll back to
    /// the given (last COMPLETED) deployment when there is one.
    TripCircuitBreaker {
        deployment: String,
        rollback_to: Option<String>,
    },
    CompleteDeployment {
        deployment: String,
    },
    /// An older deployment with no task left, once the PRIMARY completed.
    RemoveDeployment {
        deployment: String,
    },
    /// Say "has reached a steady state" (once per steady period).
    SteadyState,
    /// A deleted service has no task left: it becomes INACTIVE.
    Inactivate,
    /// A deleted (DRAINING) task set has no task left: it goes.
    RemoveTaskSet {
        task_set: String,
    },
}

/// What is observed now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The service's tasks, stopped ones included.
    pub tasks: Vec<ObservedTask>,
    pub now: f64,
    /// The scheduler's throttle settings.
    pub backoff: LaunchBackoff,
}

/// The reason ECS gives a task it stops for failing target health checks.
pub fn elb_unhealthy_reason(target_group: &str) -> String {
    format!("Task failed ELB health checks in (target-group {target_group})")
}

/// The reason for a task failing its container health check.
pub const CONTAINER_UNHEALTHY: &str = "Task failed container health checks";
/// The reason for tasks stopped to scale in or finish a rollout.
pub const SCHEDULER_STOP: &str = "Scaling activity initiated by (deployment {})";

/// The service events for its tasks that failed to start (stop code
/// TaskFailedToStart, e.g. CannotPullContainerError) whose stop was asked
/// for in `(after, until]`, oldest first: `(task ID) failed to start:
/// REASON`, so DescribeServices says why launches keep failing.
pub fn start_failure_events<'a>(
    svc: &Service,
    tasks: impl IntoIterator<Item = &'a crate::model::Task>,
    after: f64,
    until: f64,
) -> Vec<String> {
    let mut failed: Vec<(f64, String)> = tasks
        .into_iter()
        .filter(|t| t.stop_code == Some(StopCode::TaskFailedToStart))
        .filter(|t| {
            let by = t.started_by.as_deref().unwrap_or_default();
            svc.deployments.iter().any(|d| d.id == by)
        })
        .filter_map(|t| {
            let at = t.stopping_at.filter(|at| *at > after && *at <= until)?;
            let reason = t.stopped_reason.as_deref().unwrap_or("unknown reason");
            Some((at, format!("(task {}) failed to start: {reason}", t.id())))
        })
        .collect();
    failed.sort_by(|a, b| a.0.total_cmp(&b.0));
    failed.into_iter().map(|(_, m)| m).collect()
}

/// The next steps for one service.
pub fn plan(svc: &Service, obs: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    if svc.status == ServiceStatus::Inactive {
        return steps;
    }
    let deleting = svc.status == ServiceStatus::Draining;
    if deleting && obs.tasks.iter().all(|t| t.status == TaskStatus::Stopped) {
        return vec![Step::Inactivate];
    }
    if svc.is_external() {
        return task_sets::plan(svc, obs);
    }
    let Some(primary) = svc.primary() else {
        return steps;
    };
    let desired = if deleting { 0 } else { svc.desired_count };
    let grace = f64::from(svc.health_check_grace_period_seconds.unwrap_or(0));
    let in_progress = |dep: &str| {
        svc.deployments
            .iter()
            .any(|d| d.id == dep && d.rollout_state == IN_PROGRESS)
    };
    let mut primary_failures = primary.failed_tasks;

    // Tasks that stopped by themselves count against their deployment.
    for t in &obs.tasks {
        let self_stopped = matches!(
            t.stop_code,
            Some(StopCode::EssentialContainerExited | StopCode::TaskFailedToStart)
        );
        if t.status == TaskStatus::Stopped && self_stopped && in_progress(&t.deployment) {
            let counted = svc
                .deployments
                .iter()
                .any(|d| d.id == t.deployment && d.failed_task_arns.contains(&t.arn));
            if !counted {
                if t.deployment == primary.id {
                    primary_failures += 1;
                }
                steps.push(Step::RecordFailure {
                    deployment: t.deployment.clone(),
                    task: t.arn.clone(),
                });
            }
        }
    }

    let hold = throttle(svc, obs, primary.id.as_str(), &mut steps);

    // RUNNING tasks belong in their target groups.
    for t in obs.tasks.iter().filter(|t| t.live()) {
        if t.status == TaskStatus::Running && t.targets.contains(&TargetState::NotRegistered) {
            steps.push(Step::RegisterTargets {
                task: t.arn.clone(),
            });
        }
    }

    // Unhealthy after the grace period: replace.
    let mut stopped: Vec<&str> = Vec::new();
    for t in obs.tasks.iter().filter(|t| t.live()) {
        let past_grace = t.started_at.is_some_and(|s| obs.now - s >= grace);
        if t.status != TaskStatus::Running || !past_grace {
            continue;
        }
        let reason = if t.container_unhealthy {
            Some(CONTAINER_UNHEALTHY.to_string())
        } else {
            t.targets
                .iter()
                .position(|s| *s == TargetState::Unhealthy)
                .map(|i| {
                    elb_unhealthy_reason(
                        svc.load_balancers[i]
                            .target_group_arn
                            .as_deref()
                            .unwrap_or(""),
                    )
                })
        };
        if let Some(reason) = reason {
            let failed = in_progress(&t.deployment);
            if failed && t.deployment == primary.id {
                primary_failures += 1;
            }
            steps.push(Step::StopTask {
                task: t.arn.clone(),
                reason,
                failed,
            });
            stopped.push(&t.arn);
        }
    }

    // The circuit breaker.
    let cb = &svc.deployment_configuration.deployment_circuit_breaker;
    if cb.enable
        && !deleting
        && primary.rollout_state == IN_PROGRESS
        && primary_failures >= service::failure_threshold(desired)
    {
        let rollback_to = cb
            .rollback
            .then(|| {
                svc.deployments
                    .iter()
                    .filter(|d| d.status != PRIMARY && d.rollout_state == COMPLETED)
                    .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
                    .map(|d| d.id.clone())
            })
            .flatten();
        steps.push(Step::TripCircuitBreaker {
            deployment: primary.id.clone(),
            rollback_to,
        });
        return steps;
    }

    let live: Vec<&ObservedTask> = obs
        .tasks
        .iter()
        .filter(|t| t.live() && !stopped.contains(&t.arn.as_str()))
        .collect();
    let (keep, outgoing): (Vec<&ObservedTask>, Vec<&ObservedTask>) = live
        .iter()
        .partition(|t| t.deployment == primary.id && t.instance_active);
    let not_stopped = obs
        .tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Stopped)
        .count() as u32;
    let percent = |pct: u32, up: bool| {
        let p = u64::from(desired) * u64::from(pct);
        (if up { p.div_ceil(100) } else { p / 100 }) as u32
    };
    let max_total = percent(svc.deployment_configuration.maximum_percent, false);
    let min_healthy = percent(svc.deployment_configuration.minimum_healthy_percent, true);

    // Start within maximumPercent.
    let keep_n = keep.len() as u32;
    let mut started = 0;
    if primary.rollout_state != FAILED && keep_n < desired && !hold {
        let room = max_total.saturating_sub(not_stopped);
        started = (desired - keep_n).min(room);
        if started > 0 {
            steps.push(Step::StartTasks {
                deployment: primary.id.clone(),
                count: started,
            });
        }
    }

    // Stop without going under minimumHealthyPercent: tasks that are not
    // healthy cost nothing; each healthy one costs one from the budget.
    let healthy_now = live.iter().filter(|t| t.healthy()).count() as u32;
    let mut budget = healthy_now.saturating_sub(min_healthy);
    let mut victims: Vec<&ObservedTask> = Vec::new();
    // Outgoing tasks all go: unhealthy first, then the oldest deployments'.
    let mut out = outgoing.clone();
    out.sort_by_key(|t| (t.healthy(), t.started_at.map(|s| s as i64), t.arn.clone()));
    victims.extend(out);
    // Scale in: excess tasks of the primary, unhealthy first, then from
    // the zone holding most of them.
    if keep_n > desired {
        let mut pool: Vec<&ObservedTask> = keep.iter().copied().filter(|t| !t.protected).collect();
        let mut per_az: BTreeMap<&str, u32> = BTreeMap::new();
        for t in &keep {
            *per_az.entry(&t.availability_zone).or_default() += 1;
        }
        for _ in 0..(keep_n - desired).min(pool.len() as u32) {
            pool.sort_by_key(|t| {
                (
                    t.healthy(),
                    std::cmp::Reverse(per_az[t.availability_zone.as_str()]),
                    std::cmp::Reverse(t.started_at.map(|s| s as i64)),
                    t.arn.clone(),
                )
            });
            let v = pool.remove(0);
            *per_az
                .get_mut(v.availability_zone.as_str())
                .expect("counted") -= 1;
            victims.push(v);
        }
    }
    let mut stops = 0;
    // Protected tasks stay until their protection ends (ECS waits too).
    victims.retain(|v| !v.protected);
    for v in victims {
        if v.healthy() {
            if budget == 0 {
                continue;
            }
            budget -= 1;
        }
        stops += 1;
        steps.push(Step::StopTask {
            task: v.arn.clone(),
            reason: SCHEDULER_STOP.replace("{}", &primary.id),
            failed: false,
        });
    }

    // Done when exactly the desired tasks of the primary run healthy and
    // nothing else is left (old tasks drained and stopped).
    let settled = started == 0
        && stops == 0
        && stopped.is_empty()
        && keep_n == desired
        && keep.iter().all(|t| t.healthy())
        && not_stopped == keep_n;
    let mut completed = primary.rollout_state == COMPLETED;
    if settled && primary.rollout_state == IN_PROGRESS && !deleting {
        steps.push(Step::CompleteDeployment {
            deployment: primary.id.clone(),
        });
        completed = true;
    }
    if completed {
        for d in svc.deployments.iter().filter(|d| d.status != PRIMARY) {
            let has_tasks = obs
                .tasks
                .iter()
                .any(|t| t.deployment == d.id && t.status != TaskStatus::Stopped);
            if !has_tasks {
                steps.push(Step::RemoveDeployment {
                    deployment: d.id.clone(),
                });
            }
        }
    }
    if settled && completed && !svc.steady && !deleting {
        steps.push(Step::SteadyState);
    }
    steps
}

/// Counts the tasks that failed to launch since the last pass and says
/// whether launches must wait now.
fn throttle(svc: &Service, obs: &Observed, primary: &str, steps: &mut Vec<Step>) -> bool {
    let th = &svc.launch_throttle;
    let b = &obs.backoff;
    let stable = b.stable.as_secs_f64();
    // Only tasks this service started, whose stop was asked for since the
    // last count: counted at once, before a replacement is planned.
    let since = th.counted_until.max(svc.created_at);
    let ours = |t: &ObservedTask| svc.deployments.iter().any(|d| d.id == t.deployment);
    let failed: Vec<f64> = obs
        .tasks
        .iter()
        .filter(|t| t.self_stopped() && ours(t))
        .filter_map(|t| {
            let stopping = t.stopping_at?;
            let soon = t.started_at.is_none_or(|s| stopping - s < stable);
            (stopping > since && soon).then_some(stopping)
        })
        .collect();
    if let Some(last) = failed.iter().copied().reduce(f64::max) {
        let mut next = th.clone();
        next.failures = next.failures.saturating_add(failed.len() as u32);
        next.counted_until = last;
        let announce = next.failures >= b.after_failures.max(1);
        if announce {
            next.delay_s = b.next_delay(next.delay_s);
            next.not_before = obs.now + next.delay_s;
        }
        let hold = obs.now < next.not_before;
        steps.push(Step::ThrottleLaunches {
            throttle: next,
            announce,
        });
        return hold;
    }
    let ran = obs.tasks.iter().any(|t| {
        t.live()
            && t.deployment == primary
            && t.healthy()
            && t.started_at
                .is_some_and(|s| s > th.counted_until && obs.now - s >= stable)
    });
    if th.failures > 0 && ran {
        steps.push(Step::ClearThrottle);
        return false;
    }
    obs.now < th.not_before
}

mod task_sets;

#[cfg(test)]
mod tests;
