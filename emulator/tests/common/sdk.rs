//! The official AWS SDKs for Rust pointed at an emulator: plain HTTP (no
//! TLS), static credentials, us-east-1, and waiters that poll quickly.
//!
//! Included by `tests/sdk.rs` with `#[path]`, so the other test binaries
//! do not link the SDKs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ecs::config::{AsyncSleep, Credentials, IdentityCache, Sleep};
use aws_types::region::Region;
use aws_types::sdk_config::{
    SharedCredentialsProvider, StalledStreamProtectionConfig, TimeoutConfig,
};
use aws_types::SdkConfig;

/// The SDKs' waiters sleep at least 6-15 s between polls (their models'
/// `minDelay`); this sleep caps every wait at 100 ms so a waiter polls as
/// often as a test needs. Acceptors, time budget (`max_wait`, on the real
/// clock) and everything on the wire stay the SDK's. Nothing else sleeps:
/// timeouts and stalled-stream protection are off.
#[derive(Debug)]
struct QuickSleep;

impl AsyncSleep for QuickSleep {
    fn sleep(&self, d: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(d.min(Duration::from_millis(100))))
    }
}

/// One configuration for every SDK client on `endpoint` (`http://...`).
pub fn config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "emulator-tests",
        )))
        .identity_cache(IdentityCache::no_cache())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .sleep_impl(QuickSleep)
        .timeout_config(TimeoutConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build()
}

/// Every SDK client of the services the emulator serves.
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sm: aws_sdk_secretsmanager::Client,
    pub aas: aws_sdk_applicationautoscaling::Client,
}

impl Clients {
    pub fn new(endpoint: &str) -> Clients {
        let c = config(endpoint);
        Clients {
            ecs: aws_sdk_ecs::Client::new(&c),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&c),
            logs: aws_sdk_cloudwatchlogs::Client::new(&c),
            ssm: aws_sdk_ssm::Client::new(&c),
            sm: aws_sdk_secretsmanager::Client::new(&c),
            aas: aws_sdk_applicationautoscaling::Client::new(&c),
        }
    }
}

/// Every page of an SDK paginator, each of which must have succeeded:
/// `pages!("Op page", client.op().param(..))`.
macro_rules! pages {
    ($what:literal, $req:expr) => {
        $req.into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|p| $crate::sdk::must($what, p))
            .collect::<Vec<_>>()
    };
}

/// A call that must succeed: `call!("Op", client.op().param(..))`; on
/// failure, the SDK's whole error.
macro_rules! call {
    ($what:literal, $req:expr) => {
        $crate::sdk::must($what, $req.send().await)
    };
}

/// A call that must fail with the typed service error that `$is` (e.g.
/// `is_parameter_not_found`) recognises: `fails!(client.op().param(..), is_x)`.
macro_rules! fails {
    ($req:expr, $is:ident) => {{
        let err = $req
            .send()
            .await
            .expect_err(stringify!($is))
            .into_service_error();
        let context = aws_sdk_ecs::error::DisplayErrorContext(&err);
        assert!(err.$is(), "{}: {context}", stringify!($is));
    }};
}

/// A waiter's time budget on the fake runtime (each wait takes well under
/// a second; the budget only bounds a failure).
pub const WAIT: Duration = Duration::from_secs(30);

/// The value of an SDK call that must succeed; on failure, the SDK's whole
/// error (a response that does not parse says so here, with its body).
pub fn must<T, E>(what: &str, r: Result<T, E>) -> T
where
    E: std::error::Error + 'static,
{
    r.unwrap_or_else(|e| {
        let context = aws_sdk_ecs::error::DisplayErrorContext(&e);
        panic!("{what}: {context}\n{e:?}")
    })
}

/// The in-process emulator on the fake runtime, its listeners on free
/// ports, and the SDK clients on its API.
pub async fn start() -> (emulator::Running, Clients, tempfile::TempDir) {
    let (running, ep, dir) = super::common::in_process(|c| {
        super::common::free_listeners(c);
        c.resync = Duration::from_millis(50);
        c.default_stop_timeout_s = 1;
        c.service_interval = Duration::from_millis(50);
    })
    .await;
    (running, Clients::new(&ep), dir)
}

/// A cluster with two container instances registered as the ECS agent
/// does (instance identity document).
pub async fn cluster(ecs: &aws_sdk_ecs::Client, name: &str) {
    call!("CreateCluster", ecs.create_cluster().cluster_name(name));
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let doc = serde_json::json!({
            "availabilityZone": az,
            "instanceType": "t2.large",
            "instanceId": format!("i-0sdk{i:012}"),
        });
        call!(
            "RegisterContainerInstance",
            ecs.register_container_instance()
                .cluster(name)
                .instance_identity_document(doc.to_string())
                .instance_identity_document_signature("none")
        );
    }
}

/// Registers one revision of a one-container task definition.
pub async fn register_web(ecs: &aws_sdk_ecs::Client, family: &str) -> i32 {
    use aws_sdk_ecs::types::{ContainerDefinition, PortMapping};
    let out = call!(
        "RegisterTaskDefinition",
        ecs.register_task_definition()
            .family(family)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("pingpong/sdk-web")
                    .memory_reservation(64)
                    .port_mappings(PortMapping::builder().container_port(3000).build())
                    .build(),
            )
    );
    out.task_definition().unwrap().revision()
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A local HTTP backend answering every path with 200.
pub async fn backend() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move { axum::serve(l, app).await });
    port
}
