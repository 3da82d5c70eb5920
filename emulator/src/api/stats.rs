//! `GET /_emulator/stats` behind `emulator stats`: every running
//! container's CPU, memory and network use, measured over half a second
//! from two samples of the engine's counters (`docker stats` with ECS
//! names).

use std::time::{Duration, Instant};

use axum::extract::State;
use futures_util::future::join_all;
use serde_json::{json, Value};

use super::ApiState;
use crate::model::task::TaskStatus;

/// How long CPU use is measured over.
const WINDOW: Duration = Duration::from_millis(500);

pub async fn stats(State(state): State<ApiState>) -> axum::Json<Value> {
    let snapshot = state.engine.snapshot();
    let mut rows = Vec::new();
    for t in snapshot
        .tasks
        .values()
        .filter(|t| t.status() == TaskStatus::Running)
    {
        let def = state
            .engine
            .resolve_task_definition(&t.task_definition_arn, true)
            .ok();
        for c in &t.containers {
            let Some(id) = c.runtime_id.clone() else {
                continue;
            };
            let reserved = def
                .as_ref()
                .and_then(|d| d.container(&c.name))
                .map(|d| d.memory_reservation.or(d.memory).unwrap_or(0));
            rows.push((t.clone(), c.name.clone(), id, reserved));
        }
    }
    let engine = &state.engine;
    let sample = || {
        join_all(
            rows.iter()
                .map(|(task, _, id, _)| async move { engine.runtime_of(task)?.stats(id).await }),
        )
    };
    let first = sample().await;
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let second = sample().await;
    let elapsed = started.elapsed().as_nanos().max(1) as f64;
    let containers: Vec<Value> = rows
        .iter()
        .zip(first.into_iter().zip(second))
        .filter_map(|((task, name, _, reserved), (a, b))| {
            let (a, b) = (a.ok()?, b.ok()?);
            let cpu = b.cpu_total_ns.saturating_sub(a.cpu_total_ns) as f64 / elapsed * 100.0;
            Some(json!({
                "task": task.id(),
                "group": task.group,
                "container": name,
                "cpuPercent": (cpu * 100.0).round() / 100.0,
                "memoryBytes": b.memory_bytes,
                "memoryReservationMiB": reserved,
                "netRxBytes": b.net_rx_bytes,
                "netTxBytes": b.net_tx_bytes,
            }))
        })
        .collect();
    axum::Json(json!({ "containers": containers }))
}
