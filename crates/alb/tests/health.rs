//! The health check loop under paused time with a scripted probe: every
//! state and reason code a target goes through, and draining timing.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alb::{
    Alb, HealthCheckConfig, HealthProbe, ProbeOutcome, ProbeRequest, Target, TargetGroupConfig,
    TargetGroupHandle, TargetHealthReason as R, TargetHealthState as S,
};

/// Answers probes from a script; `None` never answers (a timeout).
#[derive(Default)]
struct ScriptedProbe {
    script: Mutex<VecDeque<Option<ProbeOutcome>>>,
    probes: Mutex<Vec<(tokio::time::Instant, ProbeRequest)>>,
}

impl ScriptedProbe {
    fn push(&self, outcomes: impl IntoIterator<Item = Option<ProbeOutcome>>) {
        self.script.lock().expect("script").extend(outcomes);
    }
    fn count(&self) -> usize {
        self.probes.lock().expect("probes").len()
    }
}

impl HealthProbe for ScriptedProbe {
    fn probe(
        &self,
        request: ProbeRequest,
    ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'static>> {
        self.probes
            .lock()
            .expect("probes")
            .push((tokio::time::Instant::now(), request));
        let next = self.script.lock().expect("script").pop_front();
        Box::pin(async move {
            match next {
                Some(Some(o)) => o,
                // Script exhausted: keep passing.
                None => ProbeOutcome::Status(200),
                Some(None) => std::future::pending().await,
            }
        })
    }
}

fn state(tg: &TargetGroupHandle) -> (S, Option<R>) {
    let d = tg.describe_target_health(Some(&[("t1".into(), 8080)]));
    (d[0].health.state, d[0].health.reason)
}

/// Let spawned tasks run until they block again.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn setup(probe: &Arc<ScriptedProbe>, delay: Duration) -> (Alb, TargetGroupHandle) {
    let alb = Alb::builder().health_probe(probe.clone()).build();
    let mut cfg = TargetGroupConfig::new(8080);
    cfg.health_check = HealthCheckConfig {
        path: "/ping".into(),
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        healthy_threshold: 3,
        unhealthy_threshold: 2,
        ..HealthCheckConfig::default()
    };
    cfg.attributes.deregistration_delay = delay;
    let tg = alb.create_target_group("tg", cfg).expect("tg");
    (alb, tg)
}

#[tokio::test(start_paused = true)]
async fn every_transition_and_reason_code_in_time() {
    let probe = Arc::new(ScriptedProbe::default());
    let (alb, tg) = setup(&probe, Duration::from_secs(30));
    // Probes: fail (500), pass, timeout, refused, 3x pass, ...
    probe.push([
        Some(ProbeOutcome::Status(500)),
        Some(ProbeOutcome::Status(200)),
        None,
        Some(ProbeOutcome::Failed("connection refused".into())),
        Some(ProbeOutcome::Status(404)),
        Some(ProbeOutcome::Status(200)),
        Some(ProbeOutcome::Status(200)),
        Some(ProbeOutcome::Status(200)),
    ]);
    assert_eq!(state(&tg), (S::Unused, Some(R::NotRegistered)));
    tg.register_targets(&[Target::with_host("t1", "10.0.0.1", 8080)])
        .expect("register");
    assert_eq!(state(&tg), (S::Initial, Some(R::RegistrationInProgress)));
    settle().await; // probe 1 (500) runs at once: one failure stays initial
    assert_eq!(state(&tg), (S::Initial, Some(R::InitialHealthChecking)));
    assert_eq!(probe.count(), 1);
    {
        let probes = probe.probes.lock().expect("probes");
        assert_eq!(
            (
                probes[0].1.port,
                probes[0].1.path.as_str(),
                probes[0].1.host.as_str()
            ),
            (8080, "/ping", "10.0.0.1")
        );
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await; // probe 2 passes: healthy after the first pass
    assert_eq!(state(&tg), (S::Healthy, None));
    assert_eq!(tg.healthy_host_count(), 1);
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await; // probe 3 hangs
    assert_eq!(state(&tg), (S::Healthy, None));
    tokio::time::advance(Duration::from_secs(5)).await; // health check timeout
    settle().await;
    assert_eq!(
        state(&tg),
        (S::Healthy, None),
        "one timeout is below the threshold"
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await; // probe 4 refused: second failure
    assert_eq!(state(&tg), (S::Unhealthy, Some(R::FailedHealthChecks)));
    assert_eq!(tg.unhealthy_host_count(), 1);
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await; // probe 5: 404
    assert_eq!(state(&tg), (S::Unhealthy, Some(R::ResponseCodeMismatch)));
    for i in 0..2 {
        tokio::time::advance(Duration::from_secs(10)).await;
        settle().await;
        assert_eq!(
            state(&tg).0,
            S::Unhealthy,
            "pass {i} is below healthy_threshold 3"
        );
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(state(&tg), (S::Healthy, None));
    assert_eq!(probe.count(), 8);

    // Timeout reason code: two hanging probes.
    probe.push([None, None]);
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    tokio::time::advance(Duration::from_secs(5)).await;
    settle().await;
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    tokio::time::advance(Duration::from_secs(5)).await;
    settle().await;
    assert_eq!(state(&tg), (S::Unhealthy, Some(R::Timeout)));

    // Disabling health checks: unavailable, still routable.
    tg.modify_health_check(HealthCheckConfig {
        enabled: false,
        ..tg.config().health_check
    })
    .expect("disable");
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(state(&tg), (S::Unavailable, Some(R::HealthCheckDisabled)));
    assert_eq!(tg.healthy_host_count(), 1);

    // Deregistration: draining, then removed as soon as nothing is in
    // flight (here at once).
    assert_eq!(tg.deregister_targets(&[("t1".into(), 8080)]), 1);
    assert_eq!(state(&tg), (S::Draining, Some(R::DeregistrationInProgress)));
    settle().await;
    // No request in flight: removed at once.
    assert_eq!(state(&tg), (S::Unused, Some(R::NotRegistered)));
    assert!(alb.shutdown(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn reregistering_a_draining_target_starts_fresh() {
    let probe = Arc::new(ScriptedProbe::default());
    let (alb, tg) = setup(&probe, Duration::from_secs(300));
    tg.register_targets(&[Target::new("t1", 8080)])
        .expect("register");
    settle().await;
    assert_eq!(state(&tg), (S::Healthy, None));
    tg.deregister_targets(&[("t1".into(), 8080)]);
    tg.register_targets(&[Target::new("t1", 8080)])
        .expect("register again");
    // The live registration is reported, not the draining one.
    assert_eq!(state(&tg), (S::Initial, Some(R::RegistrationInProgress)));
    settle().await;
    assert_eq!(state(&tg), (S::Healthy, None));
    assert_eq!(
        tg.describe_target_health(None).len(),
        1,
        "the idle draining copy is gone"
    );
    assert!(alb.shutdown(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn regression_a_target_not_listening_yet_is_healthy_once_it_listens_not_an_interval_later() {
    // Found by the services benchmark: a task's target is registered the
    // moment its container starts, the first probe found the port closed,
    // and the target waited a whole interval (5 s) before the next probe.
    let probe = Arc::new(ScriptedProbe::default());
    probe.push([
        Some(ProbeOutcome::Failed("connection refused".into())),
        Some(ProbeOutcome::Failed("connection refused".into())),
        Some(ProbeOutcome::Status(200)),
    ]);
    let (_alb, tg) = setup(&probe, Duration::from_secs(1));
    tg.register_targets(&[Target::with_host("t1", "127.0.0.1", 8080)])
        .expect("register");
    settle().await;
    // The refused probes are retried quickly and not counted as failures.
    tokio::time::advance(Duration::from_millis(250)).await;
    settle().await;
    assert_eq!(state(&tg), (S::Initial, Some(R::InitialHealthChecking)));
    tokio::time::advance(Duration::from_millis(250)).await;
    settle().await;
    assert_eq!(probe.count(), 3);
    assert_eq!(state(&tg), (S::Healthy, None));
}

#[tokio::test(start_paused = true)]
async fn a_target_that_never_listens_still_goes_unhealthy() {
    let probe = Arc::new(ScriptedProbe::default());
    probe.push((0..200).map(|_| Some(ProbeOutcome::Failed("connection refused".into()))));
    let (_alb, tg) = setup(&probe, Duration::from_secs(1));
    tg.register_targets(&[Target::with_host("t1", "127.0.0.1", 8080)])
        .expect("register");
    // Quick retries for one interval (10 s), then counted checks every
    // interval: unhealthy after the second counted failure.
    for _ in 0..250 {
        tokio::time::advance(Duration::from_millis(100)).await;
        settle().await;
    }
    assert_eq!(state(&tg), (S::Unhealthy, Some(R::FailedHealthChecks)));
}
