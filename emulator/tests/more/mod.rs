//! Helpers of `ssm_more.rs` and `secretsmanager_more.rs`: an in-process
//! emulator on the in-memory runtime, and reading a paginated operation
//! to its end (also `secrets_parity.rs`).
#![allow(dead_code)]

use serde_json::Value;

use super::common::Api;

/// An emulator on a free port and a client of the service `prefix`.
pub async fn start(prefix: &'static str) -> (emulator::Running, Api, tempfile::TempDir) {
    let (running, ep, dir) = super::common::in_process(|_| {}).await;
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
