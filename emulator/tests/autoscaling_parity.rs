//! Application Auto Scaling beyond target tracking, as AWS answers it:
//! scheduled actions (stored, paged, and run by the evaluation loop), step
//! scaling policies (stored, and acted on through the emulator's
//! `ExecuteScalingPolicy`), tags on scalable targets, and Describe calls
//! that page. In memory: fast.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Api;
use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

const DIM: &str = "ecs:service:DesiredCount";

impl Api {
    async fn ecs(&self, op: &str, body: Value) -> Value {
        let (s, v) = self
            .call(&format!("AmazonEC2ContainerServiceV20141113.{op}"), body)
            .await;
        assert_eq!(s, 200, "{op}: {v}");
        v
    }
    /// The service's desired count.
    async fn desired(&self, service: &str) -> u64 {
        let d = self
            .ecs(
                "DescribeServices",
                json!({"cluster": "c", "services": [service]}),
            )
            .await;
        d["services"][0]["desiredCount"].as_u64().unwrap()
    }
    async fn target(&self, service: &str) -> Value {
        let v = self
            .ok(
                "DescribeScalableTargets",
                json!({"ServiceNamespace": "ecs", "ResourceIds": [rid(service)]}),
            )
            .await;
        v["ScalableTargets"][0].clone()
    }
    /// "Description | Cause | StatusCode" of each activity, newest first.
    async fn activities(&self, service: &str) -> Vec<String> {
        let body = json!({"ServiceNamespace": "ecs", "ResourceId": rid(service)});
        let v = self.ok("DescribeScalingActivities", body).await;
        let line = |a: &Value| {
            format!(
                "{} | {} | {}",
                a["Description"], a["Cause"], a["StatusCode"]
            )
        };
        let acts = v["ScalingActivities"].as_array().unwrap();
        acts.iter().map(|a| line(a).replace('"', "")).collect()
    }
}

/// `body` with the members of `extra` set.
fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn rid(service: &str) -> String {
    format!("service/c/{service}")
}

/// An emulator with cluster `c`, one instance and task definition `w`.
async fn start(period: Duration) -> (emulator::Running, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (running, api) = boot(dir.path(), period).await;
    api.ecs("CreateCluster", json!({"clusterName": "c"})).await;
    api.ecs(
        "RegisterContainerInstance",
        json!({"cluster": "c", "instanceType": "t2.large"}),
    )
    .await;
    api.ecs(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "i", "memory": 8}]}),
    )
    .await;
    (running, api, dir)
}

/// An emulator on the data in `dir`.
async fn boot(dir: &std::path::Path, period: Duration) -> (emulator::Running, Api) {
    let mut config = Config::new(dir.to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.resync = Duration::from_millis(50);
    config.autoscaling_period = period;
    let runtime = Arc::new(FakeRuntime::new());
    let running = start_with_runtime(config, runtime).await.unwrap();
    let ep = format!("http://{}", running.api_addr);
    (running, Api::new(&ep, "AnyScaleFrontendService"))
}

/// Creates service `name` (desired count `n`) and registers it as a
/// scalable target `min..=max`; returns the target's ARN.
async fn service(api: &Api, name: &str, n: u32, (min, max): (u32, u32), extra: Value) -> String {
    api.ecs(
        "CreateService",
        json!({"cluster": "c", "serviceName": name, "taskDefinition": "w", "desiredCount": n}),
    )
    .await;
    let body = json!({"ServiceNamespace": "ecs", "ResourceId": rid(name),
        "ScalableDimension": DIM, "MinCapacity": min, "MaxCapacity": max});
    let v = api.ok("RegisterScalableTarget", with(body, extra)).await;
    v["ScalableTargetARN"].as_str().unwrap().to_string()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `at(...)` of an epoch time, in UTC.
fn at(epoch: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch.ceil() as i64).unwrap();
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    format!("at({})", t.format(f).unwrap())
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn scheduled_actions_are_kept_described_paged_and_deleted() {
    let (running, api, _dir) = start(Duration::from_secs(60)).await;
    service(&api, "web", 1, (1, 4), json!({})).await;
    let put = |name: &str, schedule: &str, extra: Value| {
        let b = json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
            "ScheduledActionName": name, "Schedule": schedule,
            "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 6}});
        with(b, extra)
    };
    api.ok(
        "PutScheduledAction",
        put("a-once", "at(2031-01-01T09:00:00)", json!({})),
    )
    .await;
    api.ok(
        "PutScheduledAction",
        put(
            "b-rate",
            "rate(5 minutes)",
            json!({"StartTime": 1.9e9, "EndTime": 2.0e9}),
        ),
    )
    .await;
    api.ok(
        "PutScheduledAction",
        put(
            "c-cron",
            "cron(*/15 8-17 ? * MON-FRI *)",
            json!({"Timezone": "Etc/GMT-2"}),
        ),
    )
    .await;
    let all = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs"}),
        )
        .await;
    let actions = all["ScheduledActions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    assert!(all.get("NextToken").is_none());
    let a = &actions[0];
    assert_eq!(a["ScheduledActionName"], "a-once");
    assert_eq!(a["Schedule"], "at(2031-01-01T09:00:00)");
    assert_eq!(a["ResourceId"], rid("web"));
    assert_eq!(a["ScalableDimension"], DIM);
    assert_eq!(
        a["ScalableTargetAction"],
        json!({"MinCapacity": 2, "MaxCapacity": 6})
    );
    let arn = a["ScheduledActionARN"].as_str().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:autoscaling:")
            && arn.ends_with(":resource/ecs/service/c/web:scheduledActionName/a-once"),
        "{arn}"
    );
    assert!(a["CreationTime"].as_f64().is_some());
    assert!(a.get("emulatorPutTime").is_none() && a.get("Timezone").is_none());
    assert_eq!(actions[1]["StartTime"], 1.9e9);
    assert_eq!(actions[2]["Timezone"], "Etc/GMT-2");

    // Pages of two.
    let p1 = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs", "MaxResults": 2}),
        )
        .await;
    assert_eq!(p1["ScheduledActions"].as_array().unwrap().len(), 2);
    let p2 = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs", "MaxResults": 2, "NextToken": p1["NextToken"]}),
        )
        .await;
    assert_eq!(p2["ScheduledActions"][0]["ScheduledActionName"], "c-cron");
    assert!(p2.get("NextToken").is_none());
    api.err(
        "DescribeScheduledActions",
        json!({"ServiceNamespace": "ecs", "NextToken": "garbage"}),
        "InvalidNextTokenException",
    )
    .await;
    let named = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs", "ScheduledActionNames": ["b-rate"], "ResourceId": rid("web")}),
        )
        .await;
    assert_eq!(named["ScheduledActions"].as_array().unwrap().len(), 1);

    // An update changes what it names, keeps ARN and creation time, and
    // clears StartTime/EndTime not named.
    api.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": "b-rate", "Schedule": "rate(1 hour)"}),
    )
    .await;
    let b = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs", "ScheduledActionNames": ["b-rate"]}),
        )
        .await["ScheduledActions"][0]
        .clone();
    assert_eq!(b["Schedule"], "rate(1 hour)");
    assert_eq!(b["ScalableTargetAction"]["MinCapacity"], 2);
    assert!(b.get("StartTime").is_none() && b.get("EndTime").is_none());
    assert_eq!(b["CreationTime"], actions[1]["CreationTime"]);
    assert_eq!(b["ScheduledActionARN"], actions[1]["ScheduledActionARN"]);

    // What AWS refuses.
    let x = "rate(5 minutes)";
    let refused = [
        ("x", "every day", json!({})),
        ("x", "cron(0 9 * * *)", json!({})),
        ("x", "cron(0 9 * * * *)", json!({})),
        ("x", "rate(0 minutes)", json!({})),
        ("x", "at(2031-13-01T00:00:00)", json!({})),
        ("x", x, json!({"Timezone": "Mars/Olympus"})),
        ("x", x, json!({"StartTime": 2.0e9, "EndTime": 1.9e9})),
        (
            "x",
            x,
            json!({"ScalableTargetAction": {"MinCapacity": 5, "MaxCapacity": 2}}),
        ),
        ("x", x, json!({"ScalableTargetAction": {}})),
        ("a/b", x, json!({})),
    ];
    for (name, schedule, extra) in refused {
        let body = put(name, schedule, extra);
        api.err("PutScheduledAction", body, "ValidationException")
            .await;
    }
    let nope = put("x", x, json!({"ResourceId": "service/c/nope"}));
    api.err("PutScheduledAction", nope, "ObjectNotFoundException")
        .await;
    api.err(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": "new", "ScalableTargetAction": {"MinCapacity": 1}}),
        "ValidationException",
    )
    .await;

    let del = |name: &str| {
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": name})
    };
    api.ok("DeleteScheduledAction", del("a-once")).await;
    api.err(
        "DeleteScheduledAction",
        del("a-once"),
        "ObjectNotFoundException",
    )
    .await;
    // Deregistering the target deletes its scheduled actions.
    api.ok(
        "DeregisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM}),
    )
    .await;
    let left = api
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs"}),
        )
        .await;
    assert_eq!(left["ScheduledActions"], json!([]));
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_due_scheduled_action_sets_capacity_and_the_desired_count_once() {
    let (running, api, _dir) = start(Duration::from_millis(100)).await;
    service(&api, "web", 1, (1, 4), json!({})).await;
    api.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": "morning", "Schedule": at(now() + 1.0),
               "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 5}}),
    )
    .await;
    assert_eq!(api.desired("web").await, 1);
    until("the action ran", || async { api.desired("web").await == 3 }).await;
    let t = api.target("web").await;
    assert_eq!(
        (t["MinCapacity"].as_u64(), t["MaxCapacity"].as_u64()),
        (Some(3), Some(5))
    );
    assert_eq!(
        api.activities("web").await,
        [
            "Setting desired count to 3. | minimum capacity was set to 3 | Successful",
            "Setting min capacity to 3 and max capacity to 5 | scheduled action name morning was triggered | Successful",
        ]
    );
    // A one-time action runs once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(api.activities("web").await.len(), 2);

    // A max below the min in force fails, and changes nothing; a later
    // action in the same evaluation sees the capacity as it is then.
    for (name, set) in [
        ("evening", json!({"MaxCapacity": 2})),
        ("night", json!({"MinCapacity": 1})),
        ("o-late", json!({"MaxCapacity": 2})),
    ] {
        api.ok(
            "PutScheduledAction",
            json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
                   "ScheduledActionName": name, "Schedule": at(now() + 1.0),
                   "ScalableTargetAction": set}),
        )
        .await;
    }
    until("the later actions ran", || async {
        api.desired("web").await == 2
    })
    .await;
    let t = api.target("web").await;
    assert_eq!(
        (t["MinCapacity"].as_u64(), t["MaxCapacity"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        api.activities("web").await[..4],
        [
            "Setting desired count to 2. | maximum capacity was set to 2 | Successful",
            "Setting max capacity to 2 | scheduled action name o-late was triggered | Successful",
            "Setting min capacity to 1 | scheduled action name night was triggered | Successful",
            "Setting max capacity to 2 | scheduled action name evening was triggered | Failed",
        ]
    );
    running.stop(Duration::from_secs(5)).await;
}

/// Recurring schedules against an injected clock: the loop's
/// [`emulator::autoscaling::AutoScaling::run_scheduled`] at chosen times.
#[tokio::test]
async fn recurring_actions_run_at_their_occurrences_in_their_zone() {
    let (running, api, dir) = start(Duration::from_secs(3600)).await;
    service(&api, "web", 1, (1, 10), json!({})).await;
    // 09:00 in Etc/GMT-2 is 07:00 UTC; from tomorrow on.
    let midnight = (now() / 86400.0).ceil() * 86400.0;
    let seven = midnight + 7.0 * 3600.0;
    api.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": "daily", "Schedule": "cron(0 9 * * ? *)",
               "Timezone": "Etc/GMT-2", "EndTime": seven + 3.5 * 86400.0,
               "ScalableTargetAction": {"MinCapacity": 2}}),
    )
    .await;
    let a = &running.autoscaling;
    a.run_scheduled(seven - 60.0).await;
    assert!(api.activities("web").await.is_empty());
    a.run_scheduled(seven).await;
    assert_eq!(api.desired("web").await, 2);
    assert_eq!(api.activities("web").await.len(), 2);
    // The same occurrence does not run twice.
    a.run_scheduled(seven + 600.0).await;
    assert_eq!(api.activities("web").await.len(), 2);
    // The next day's does (the min already holds: no desired count change).
    a.run_scheduled(seven + 86400.0).await;
    let acts = api.activities("web").await;
    assert_eq!(acts.len(), 3);
    assert!(
        acts[0].starts_with("Setting min capacity to 2 | "),
        "{acts:?}"
    );
    // Suspended: passed over, and not run later either.
    api.ok(
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "SuspendedState": {"ScheduledScalingSuspended": true}}),
    )
    .await;
    a.run_scheduled(seven + 2.0 * 86400.0).await;
    api.ok(
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "SuspendedState": {"ScheduledScalingSuspended": false}}),
    )
    .await;
    a.run_scheduled(seven + 2.0 * 86400.0 + 60.0).await;
    assert_eq!(api.activities("web").await.len(), 3);
    // An occurrence missed (the emulator was down) runs when it is back,
    // if it fell before EndTime; after EndTime, nothing.
    a.run_scheduled(seven + 4.0 * 86400.0).await;
    assert_eq!(api.activities("web").await.len(), 4);
    a.run_scheduled(seven + 5.0 * 86400.0).await;
    assert_eq!(api.activities("web").await.len(), 4);

    // A rate counts from its StartTime.
    let start = midnight + 86400.0 * 10.0;
    api.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "ScheduledActionName": "often", "Schedule": "rate(30 minutes)", "StartTime": start,
               "ScalableTargetAction": {"MinCapacity": 4, "MaxCapacity": 8}}),
    )
    .await;
    a.run_scheduled(start - 1.0).await;
    assert_eq!(api.desired("web").await, 2);
    a.run_scheduled(start + 10.0).await;
    assert_eq!(api.desired("web").await, 4);
    let n = api.activities("web").await.len();
    a.run_scheduled(start + 1700.0).await;
    assert_eq!(api.activities("web").await.len(), n);
    a.run_scheduled(start + 1800.0).await;
    assert_eq!(api.activities("web").await.len(), n + 1);
    // Where a schedule stands is durable: after a restart the occurrence
    // run is not run again, the next one is.
    running.stop(Duration::from_secs(5)).await;
    let (running, api) = boot(dir.path(), Duration::from_secs(3600)).await;
    running.autoscaling.run_scheduled(start + 1850.0).await;
    assert_eq!(api.activities("web").await.len(), n + 1);
    running.autoscaling.run_scheduled(start + 3600.0).await;
    assert_eq!(api.activities("web").await.len(), n + 2);
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn step_policies_are_kept_and_act_when_their_alarm_fires() {
    let (running, api, _dir) = start(Duration::from_secs(3600)).await;
    service(&api, "web", 2, (1, 6), json!({})).await;
    let policy = |config: Value| {
        json!({"PolicyName": "steps", "ServiceNamespace": "ecs", "ResourceId": rid("web"),
               "ScalableDimension": DIM, "PolicyType": "StepScaling",
               "StepScalingPolicyConfiguration": config})
    };
    let config = json!({"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
        "MetricAggregationType": "Average",
        "StepAdjustments": [
            {"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1},
            {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 2}]});
    let v = api.ok("PutScalingPolicy", policy(config.clone())).await;
    assert!(v["PolicyARN"]
        .as_str()
        .unwrap()
        .contains(":policyName/steps"));
    assert!(v.get("Alarms").is_none(), "{v}");
    let d = api
        .ok(
            "DescribeScalingPolicies",
            json!({"ServiceNamespace": "ecs", "ResourceId": rid("web")}),
        )
        .await;
    let p = &d["ScalingPolicies"][0];
    assert_eq!(p["PolicyType"], "StepScaling");
    assert_eq!(p["StepScalingPolicyConfiguration"], config);
    assert!(p.get("TargetTrackingScalingPolicyConfiguration").is_none());
    // The default policy type is StepScaling.
    let mut untyped = policy(config.clone());
    untyped.as_object_mut().unwrap().remove("PolicyType");
    untyped["PolicyName"] = json!("untyped");
    api.ok("PutScalingPolicy", untyped).await;

    for bad in [
        json!({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": []}),
        json!({"AdjustmentType": "Double", "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}),
        json!({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
            {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 15.0, "ScalingAdjustment": 2}]}),
        json!({"AdjustmentType": "ChangeInCapacity", "MinAdjustmentMagnitude": 2,
               "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}),
    ] {
        api.err("PutScalingPolicy", policy(bad), "ValidationException")
            .await;
    }
    let mut none = policy(json!({}));
    none.as_object_mut()
        .unwrap()
        .remove("StepScalingPolicyConfiguration");
    api.err("PutScalingPolicy", none, "ValidationException")
        .await;

    let fire = |metric: f64, honor: bool| {
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM,
               "PolicyName": "steps", "MetricValue": metric, "BreachThreshold": 50.0,
               "HonorCooldown": honor, "AlarmName": "cpu-high"})
    };
    // 75 is 25 over: the last step, +2.
    let v = api.ok("ExecuteScalingPolicy", fire(75.0, true)).await;
    assert_eq!(v, json!({"Scaled": true, "DesiredCount": 4}));
    assert_eq!(api.desired("web").await, 4);
    let acts = api.activities("web").await;
    let want = "Setting desired count to 4. | monitor alarm cpu-high in state ALARM triggered policy steps";
    assert!(acts[0].starts_with(want), "{acts:?}");
    // Within the cooldown an alarm waits; told not to, it does not.
    let v = api.ok("ExecuteScalingPolicy", fire(55.0, true)).await;
    assert_eq!(v["NotScaledReason"], "InCooldown");
    let v = api.ok("ExecuteScalingPolicy", fire(55.0, false)).await;
    assert_eq!(v["DesiredCount"], 5);
    // Never beyond MaxCapacity.
    api.ok("ExecuteScalingPolicy", fire(99.0, false)).await;
    assert_eq!(api.desired("web").await, 6);
    let v = api.ok("ExecuteScalingPolicy", fire(99.0, false)).await;
    assert_eq!(v["NotScaledReason"], "AlreadyAtMaxCapacity");
    // Below the threshold: -1.
    let v = api.ok("ExecuteScalingPolicy", fire(10.0, false)).await;
    assert_eq!(v["DesiredCount"], 5);
    // Percent change, rounded as AWS does.
    api.ok(
        "PutScalingPolicy",
        policy(
            json!({"AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 2,
            "StepAdjustments": [{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -10}]}),
        ),
    )
    .await;
    let v = api.ok("ExecuteScalingPolicy", fire(40.0, false)).await;
    assert_eq!(v["DesiredCount"], 3);
    let v = api.ok("ExecuteScalingPolicy", fire(60.0, false)).await;
    assert_eq!(v["NotScaledReason"], "NoStepAdjustmentMatched");

    // Target tracking policies are not executed; unknown ones are not found.
    api.ok(
        "PutScalingPolicy",
        json!({"PolicyName": "cpu", "ServiceNamespace": "ecs", "ResourceId": rid("web"),
               "ScalableDimension": DIM, "PolicyType": "TargetTrackingScaling",
               "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
                 "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}),
    )
    .await;
    let mut tt = fire(60.0, false);
    tt["PolicyName"] = json!("cpu");
    api.err("ExecuteScalingPolicy", tt, "ValidationException")
        .await;
    let mut gone = fire(60.0, false);
    gone["PolicyName"] = json!("gone");
    api.err("ExecuteScalingPolicy", gone, "ObjectNotFoundException")
        .await;

    api.ok(
        "DeleteScalingPolicy",
        json!({"PolicyName": "steps", "ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM}),
    )
    .await;
    let d = api
        .ok(
            "DescribeScalingPolicies",
            json!({"ServiceNamespace": "ecs", "PolicyNames": ["steps"]}),
        )
        .await;
    assert_eq!(d["ScalingPolicies"], json!([]));
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn scalable_targets_take_tags() {
    let (running, api, _dir) = start(Duration::from_secs(3600)).await;
    let arn = service(
        &api,
        "web",
        1,
        (1, 2),
        json!({"Tags": {"team": "a", "env": "dev"}}),
    )
    .await;
    let list = |arn: &str| json!({"ResourceARN": arn});
    let v = api.ok("ListTagsForResource", list(&arn)).await;
    assert_eq!(v["Tags"], json!({"team": "a", "env": "dev"}));
    api.ok(
        "TagResource",
        json!({"ResourceARN": arn, "Tags": {"env": "prod", "cost": "42"}}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"ResourceARN": arn, "TagKeys": ["team", "absent"]}),
    )
    .await;
    let v = api.ok("ListTagsForResource", list(&arn)).await;
    assert_eq!(v["Tags"], json!({"env": "prod", "cost": "42"}));

    let many: serde_json::Map<String, Value> =
        (0..49).map(|i| (format!("k{i}"), json!("v"))).collect();
    let unknown = format!("{}/0123456789abcdef", arn.rsplit_once('/').unwrap().0);
    let ecs_arn = "arn:aws:ecs:us-east-1:000000000000:service/c/web";
    let register = json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"),
        "ScalableDimension": DIM, "Tags": {"aws:x": "y"}});
    for (op, body, code) in [
        (
            "TagResource",
            json!({"ResourceARN": arn, "Tags": {"aws:owner": "x"}}),
            "ValidationException",
        ),
        (
            "TagResource",
            json!({"ResourceARN": arn, "Tags": {"k": "v".repeat(257)}}),
            "ValidationException",
        ),
        (
            "TagResource",
            json!({"ResourceARN": arn, "Tags": many}),
            "TooManyTagsException",
        ),
        ("ListTagsForResource", list(ecs_arn), "ValidationException"),
        (
            "ListTagsForResource",
            list(&unknown),
            "ResourceNotFoundException",
        ),
        ("RegisterScalableTarget", register, "ValidationException"),
    ] {
        api.err(op, body, code).await;
    }
    // Tags go with the target.
    api.ok(
        "DeregisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid("web"), "ScalableDimension": DIM}),
    )
    .await;
    api.err(
        "ListTagsForResource",
        list(&arn),
        "ResourceNotFoundException",
    )
    .await;
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn describe_calls_page_and_bad_tokens_are_refused() {
    let (running, api, _dir) = start(Duration::from_secs(3600)).await;
    for name in ["s1", "s2", "s3"] {
        service(&api, name, 1, (1, 9), json!({})).await;
        api.ok(
            "PutScalingPolicy",
            json!({"PolicyName": format!("p-{name}"), "ServiceNamespace": "ecs", "ResourceId": rid(name),
                   "ScalableDimension": DIM, "PolicyType": "StepScaling",
                   "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity",
                     "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}}),
        )
        .await;
    }
    for _ in 0..3 {
        api.ok(
            "ExecuteScalingPolicy",
            json!({"ServiceNamespace": "ecs", "ResourceId": rid("s1"), "ScalableDimension": DIM,
                   "PolicyName": "p-s1", "MetricValue": 1.0, "BreachThreshold": 0.0, "HonorCooldown": false}),
        )
        .await;
    }
    for (op, key, filter) in [
        ("DescribeScalableTargets", "ScalableTargets", json!({})),
        ("DescribeScalingPolicies", "ScalingPolicies", json!({})),
        (
            "DescribeScalingActivities",
            "ScalingActivities",
            json!({"ResourceId": rid("s1")}),
        ),
    ] {
        let mut body = with(json!({"ServiceNamespace": "ecs", "MaxResults": 2}), filter);
        let p1 = api.ok(op, body.clone()).await;
        assert_eq!(p1[key].as_array().unwrap().len(), 2, "{op}");
        let token = p1["NextToken"].as_str().expect("a next page").to_string();
        body["NextToken"] = json!(token);
        let p2 = api.ok(op, body.clone()).await;
        assert_eq!(p2[key].as_array().unwrap().len(), 1, "{op}");
        assert!(p2.get("NextToken").is_none(), "{op}");
        assert_ne!(p1[key][0], p2[key][0], "{op}");
        body["NextToken"] = json!("not-a-token");
        api.err(op, body.clone(), "InvalidNextTokenException").await;
        body.as_object_mut().unwrap().remove("NextToken");
        for n in [0, 51] {
            body["MaxResults"] = json!(n);
            api.err(op, body.clone(), "ValidationException").await;
        }
    }
    // Activities page newest first.
    let all = api
        .ok(
            "DescribeScalingActivities",
            json!({"ServiceNamespace": "ecs", "ResourceId": rid("s1")}),
        )
        .await;
    let descs: Vec<&str> = all["ScalingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descs,
        vec![
            "Setting desired count to 4.",
            "Setting desired count to 3.",
            "Setting desired count to 2."
        ]
    );
    running.stop(Duration::from_secs(5)).await;
}
