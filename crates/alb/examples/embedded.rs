//! The balancer embedded the way the emulator runs it: one `Alb` inside a
//! multi-thread Tokio runtime (default worker count), `/ping` and `/start`
//! forwarded to one target, anything else 404. For benchmarking the shared
//! code path next to the thread-per-core binary:
//!
//! ```text
//! cargo run --release -p alb --example embedded -- 127.0.0.1:8080 127.0.0.1:3000
//! ```
//!
//! `ALB_DEDICATED_IO=0` serves connections on the multi-thread runtime
//! itself instead of the balancer's own I/O threads (for comparison).

use std::time::Duration;

use alb::{
    Action, Alb, Condition, HealthCheckConfig, LoadBalancerAttributes, RuleConfig, Target,
    TargetGroupConfig,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let backend = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    let (host, port) = backend
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("backend is not HOST:PORT"))?;
    let port: u16 = port.parse()?;

    let mut builder = Alb::builder();
    if let Ok(v) = std::env::var("ALB_DEDICATED_IO") {
        builder = builder.dedicated_io_threads(v != "0");
    }
    let alb = builder.build();
    let mut cfg = TargetGroupConfig::new(port);
    cfg.health_check = HealthCheckConfig {
        enabled: false,
        ..HealthCheckConfig::default()
    };
    let tg = alb.create_target_group("tg/node", cfg)?;
    tg.register_targets(&[Target::new(host, port)])?;
    let lb = alb.create_load_balancer("lb", LoadBalancerAttributes::default())?;
    let listener = lb
        .create_listener(
            "listener",
            listen.parse()?,
            Action::fixed_response(404, "404 Not Found\n"),
        )
        .await?;
    listener.create_rule(
        "rule/1",
        RuleConfig {
            priority: 1,
            conditions: vec![Condition::PathPattern(vec![
                "/ping".into(),
                "/start".into(),
            ])],
            action: Action::forward("tg/node"),
        },
    )?;
    tokio::signal::ctrl_c().await?;
    alb.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
