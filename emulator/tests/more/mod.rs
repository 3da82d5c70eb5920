//! Helpers of `ssm_more.rs` and `secretsmanager_more.rs`: an in-process
//! emulator on the in-memory runtime, and reading a paginated operation
//! to its end (also `secrets_parity.rs`).
#![allow(dead_code)]

use std::sync::Arc;

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::Value;

use super::common::Api;

/// An emulator on a free port and a client of the service `prefix`.
pub async fn start(prefix: &'static str) -> (emulator::Running, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    let running = start_with_runtime(config, Arc::new(FakeRuntime::new()))
        .await
        .unwrap();
    let ep = format!("http://{}", running.api_addr);
    (running, Api::new(&ep, prefix), dir)
}

/// Every page of `op` with `body`: the items under `field`, and how many
/// pages there were.
pub async fn all_pages(api: &Api, op: &str, body: Value, field: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut token = Value::Null;
    loop {
        let mut b = body.clone();
        if !token.is_null() {
            b["NextToken"] = token.clone();
        }
        let v = api.ok(op, b).await;
        items.extend(v[field].as_array().unwrap().iter().cloned());
        pages += 1;
        token = v["NextToken"].clone();
        if token.is_null() {
            return (items, pages);
        }
        assert!(pages < 100, "{op} never ends");
    }
}
