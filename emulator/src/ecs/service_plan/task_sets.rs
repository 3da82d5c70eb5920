//! The plan of a service with the EXTERNAL deployment controller: each of
//! its task sets runs ceil(desiredCount x scale%) tasks of its own task
//! definition; a deleted (DRAINING) task set's tasks stop, then it goes;
//! tasks of no task set stop. Nothing here rolls anything out: the caller
//! shifts traffic by scaling task sets and picking the primary one.

use super::{Observed, ObservedTask, Step, SCHEDULER_STOP};
use crate::model::service::Service;
use crate::model::task::TaskStatus;
use crate::model::task_set::{computed_desired, DRAINING};
use crate::model::ServiceStatus;

pub(super) fn plan(svc: &Service, obs: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    let deleting = svc.status == ServiceStatus::Draining;
    for ts in &svc.task_sets {
        let mut live: Vec<&ObservedTask> = obs
            .tasks
            .iter()
            .filter(|t| t.live() && t.deployment == ts.id)
            .collect();
        let want = if deleting || ts.status == DRAINING {
            0
        } else {
            computed_desired(svc.desired_count, ts.scale.value)
        };
        let have = live.len() as u32;
        if have < want && obs.now >= svc.launch_throttle.not_before {
            steps.push(Step::StartTasks {
                deployment: ts.id.clone(),
                count: want - have,
            });
        }
        if have > want {
            // Not yet running first, then the newest; protected ones stay
            // (but not when the task set itself goes).
            live.retain(|t| !t.protected || ts.status == DRAINING || deleting);
            live.sort_by_key(|t| {
                (
                    t.status == TaskStatus::Running,
                    std::cmp::Reverse(t.started_at.map(|s| s as i64)),
                    t.arn.clone(),
                )
            });
            for t in live.iter().take((have - want) as usize) {
                steps.push(Step::StopTask {
                    task: t.arn.clone(),
                    reason: SCHEDULER_STOP.replace("{}", &ts.id),
                    failed: false,
                });
            }
        }
        let left = obs
            .tasks
            .iter()
            .any(|t| t.deployment == ts.id && t.status != TaskStatus::Stopped);
        if ts.status == DRAINING && !left {
            steps.push(Step::RemoveTaskSet {
                task_set: ts.id.clone(),
            });
        }
    }
    // Tasks of a task set that is gone.
    for t in obs.tasks.iter().filter(|t| t.live()) {
        if svc.task_set(&t.deployment).is_none() {
            steps.push(Step::StopTask {
                task: t.arn.clone(),
                reason: SCHEDULER_STOP.replace("{}", &t.deployment),
                failed: false,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task_set::{Scale, TaskSet, ACTIVE};

    fn ts(id: &str, status: &str, scale: f64) -> TaskSet {
        TaskSet {
            id: id.into(),
            status: status.into(),
            scale: Scale {
                value: scale,
                unit: "PERCENT".into(),
            },
            ..Default::default()
        }
    }

    fn task(arn: &str, set: &str, status: TaskStatus) -> ObservedTask {
        ObservedTask {
            arn: arn.into(),
            deployment: set.into(),
            status,
            wants_running: status != TaskStatus::Stopped,
            stop_code: None,
            started_at: Some(1.0),
            stopping_at: None,
            availability_zone: "a".into(),
            instance_active: true,
            container_unhealthy: false,
            protected: false,
            targets: vec![],
        }
    }

    fn svc(desired: u32, sets: Vec<TaskSet>) -> Service {
        Service {
            status: ServiceStatus::Active,
            desired_count: desired,
            deployment_controller: serde_json::json!({"type": "EXTERNAL"}),
            task_sets: sets,
            ..Default::default()
        }
    }

    fn obs(tasks: Vec<ObservedTask>) -> Observed {
        Observed {
            tasks,
            now: 10.0,
            ..Default::default()
        }
    }

    #[test]
    fn each_task_set_runs_its_share_of_the_desired_count() {
        let s = svc(4, vec![ts("a", ACTIVE, 50.0), ts("b", ACTIVE, 100.0)]);
        let steps = plan(&s, &obs(vec![task("t1", "a", TaskStatus::Running)]));
        assert_eq!(
            steps,
            vec![
                Step::StartTasks {
                    deployment: "a".into(),
                    count: 1
                },
                Step::StartTasks {
                    deployment: "b".into(),
                    count: 4
                }
            ]
        );
    }

    #[test]
    fn scaled_down_and_deleted_task_sets_stop_tasks_then_go() {
        let s = svc(2, vec![ts("a", ACTIVE, 50.0), ts("d", DRAINING, 100.0)]);
        let steps = plan(
            &s,
            &obs(vec![
                task("t1", "a", TaskStatus::Running),
                task("t2", "a", TaskStatus::Pending),
                task("t3", "d", TaskStatus::Running),
                task("t4", "gone", TaskStatus::Running),
            ]),
        );
        let stopped: Vec<&str> = steps
            .iter()
            .filter_map(|s| match s {
                Step::StopTask { task, .. } => Some(task.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            stopped,
            vec!["t2", "t3", "t4"],
            "pending first; orphans too"
        );
        let s = svc(2, vec![ts("d", DRAINING, 100.0)]);
        let steps = plan(&s, &obs(vec![task("t3", "d", TaskStatus::Stopped)]));
        assert_eq!(
            steps,
            vec![Step::RemoveTaskSet {
                task_set: "d".into()
            }]
        );
    }
}
