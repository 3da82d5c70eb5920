//! A small client of the emulator's ECS API, for the CLI commands that talk
//! to a running emulator.

use std::time::Duration;

use anyhow::{anyhow, bail};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde_json::{json, Value};

/// The API wants a signed request (any signature will do): the emulator's
/// own commands send this one.
pub const AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=emulator/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";

use super::instances::attribute;
use crate::api::AMZ_JSON;
use crate::ecs::wire::TARGET_PREFIX;
use crate::model::container_instance::{AZ_ATTRIBUTE, DOCKER_HOST_ATTRIBUTE};

pub struct Client {
    endpoint: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(endpoint: String) -> Client {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Client {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The API endpoint (`http://host:port`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn alive(&self) -> bool {
        self.http
            .get(format!("{}/_emulator/health", self.endpoint))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    pub async fn request_shutdown(&self) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/_emulator/shutdown", self.endpoint))
            .send()
            .await?;
        Ok(())
    }

    /// `emulator stats`: one table row per running container.
    pub async fn stats(&self) -> anyhow::Result<()> {
        let (status, v) = self
            .send(self.http.get(format!("{}/_emulator/stats", self.endpoint)))
            .await?;
        if !status.is_success() {
            bail!("{}", v["message"].as_str().unwrap_or("cannot read stats"));
        }
        let mib = |b: u64| match b {
            0..1024 => format!("{b} B"),
            1024..1_024_000 => format!("{:.1} KiB", b as f64 / 1024.0),
            _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
        };
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header([
            "TASK",
            "GROUP",
            "CONTAINER",
            "CPU %",
            "MEM / RESERVED",
            "NET RX / TX",
        ]);
        for c in v["containers"].as_array().into_iter().flatten() {
            let reserved = c["memoryReservationMiB"]
                .as_u64()
                .filter(|r| *r > 0)
                .map_or("-".to_string(), |r| format!("{r} MiB"));
            table.add_row([
                c["task"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(12)
                    .collect::<String>(),
                c["group"].as_str().unwrap_or("").to_string(),
                c["container"].as_str().unwrap_or("").to_string(),
                format!("{:.2}", c["cpuPercent"].as_f64().unwrap_or(0.0)),
                format!(
                    "{} / {reserved}",
                    mib(c["memoryBytes"].as_u64().unwrap_or(0))
                ),
                format!(
                    "{} / {}",
                    mib(c["netRxBytes"].as_u64().unwrap_or(0)),
                    mib(c["netTxBytes"].as_u64().unwrap_or(0))
                ),
            ]);
        }
        println!("{table}");
        Ok(())
    }

    /// `emulator logs`: the target's lines as `<container>/<task id> | line`;
    /// with `follow`, polls for new ones every second until `shutdown`.
    pub async fn logs(
        &self,
        target: &str,
        load_balancer: bool,
        follow: bool,
        since: Option<Duration>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let now_ms = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        };
        let mut since_ms = since.map_or(0, |d| now_ms() - d.as_millis() as i64);
        // How many of each (stream, line) were printed at `since_ms`: the
        // next answer starts at that millisecond again and repeats them.
        let mut at_edge: std::collections::HashMap<(String, String), usize> = Default::default();
        tokio::pin!(shutdown);
        loop {
            let (status, v) = self
                .send(
                    self.http
                        .get(format!("{}/_emulator/logs", self.endpoint))
                        .query(&[
                            ("target", target),
                            ("since_ms", &since_ms.to_string()),
                            ("load_balancer", &load_balancer.to_string()),
                        ]),
                )
                .await?;
            if !status.is_success() {
                bail!("{}", v["message"].as_str().unwrap_or("cannot read logs"));
            }
            let events = v["events"].as_array().cloned().unwrap_or_default();
            let width = events
                .iter()
                .filter_map(|e| e["stream"].as_str().map(str::len))
                .max()
                .unwrap_or(0);
            for (stream, message) in new_lines(&events, &mut since_ms, &mut at_edge) {
                println!("{stream:<width$} | {message}");
            }
            if !follow {
                return Ok(());
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Sends a request to the emulator, or says in one line that none runs.
    async fn send_raw(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        req.send().await.map_err(|e| {
            anyhow!(
                "no emulator is running at {} ({}); start one with `emulator up`",
                self.endpoint,
                e.without_url()
            )
        })
    }

    /// [`Client::send_raw`], with the status and JSON body.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<(reqwest::StatusCode, Value)> {
        let resp = self.send_raw(req).await?;
        let status = resp.status();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// Posts an AWS Query form (ELBv2); the status and the XML text.
    pub(crate) async fn post_form(
        &self,
        form: &[(&str, &str)],
    ) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let resp = self
            .send_raw(
                self.http
                    .post(format!("{}/", self.endpoint))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("authorization", AUTHORIZATION)
                    .body(serde_urlencoded::to_string(form)?),
            )
            .await?;
        let status = resp.status();
        Ok((status, resp.text().await?))
    }

    /// Calls an ECS operation; AWS errors become `__type: message`.
    pub async fn call(&self, op: &str, body: Value) -> anyhow::Result<Value> {
        self.call_target(TARGET_PREFIX, op, body).await
    }

    /// Calls an operation of a JSON service by its `X-Amz-Target` prefix.
    pub async fn call_target(&self, prefix: &str, op: &str, body: Value) -> anyhow::Result<Value> {
        let (status, v) = self
            .send(
                self.http
                    .post(format!("{}/", self.endpoint))
                    .header("content-type", AMZ_JSON)
                    .header("authorization", AUTHORIZATION)
                    .header("x-amz-target", format!("{prefix}.{op}"))
                    .body(body.to_string()),
            )
            .await?;
        if !status.is_success() {
            bail!(
                "{}: {}",
                v["__type"].as_str().unwrap_or("Error"),
                v["message"].as_str().unwrap_or("")
            );
        }
        Ok(v)
    }

    pub async fn ps(&self, all: bool) -> anyhow::Result<()> {
        let clusters = self.call("ListClusters", json!({})).await?;
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header([
            "TASK",
            "DEFINITION",
            "STATUS",
            "INSTANCE",
            "PORTS",
            "HEALTH",
        ]);
        let mut instances = std::collections::HashMap::new();
        for cluster in clusters["clusterArns"].as_array().into_iter().flatten() {
            let cluster = cluster.as_str().unwrap_or_default();
            let cis = self
                .call("ListContainerInstances", json!({"cluster": cluster}))
                .await?;
            let ci_arns = cis["containerInstanceArns"].clone();
            if ci_arns.as_array().is_some_and(|a| !a.is_empty()) {
                let d = self
                    .call(
                        "DescribeContainerInstances",
                        json!({"cluster": cluster, "containerInstances": ci_arns}),
                    )
                    .await?;
                for i in d["containerInstances"].as_array().into_iter().flatten() {
                    let az = attribute(i, AZ_ATTRIBUTE).unwrap_or("");
                    // Another engine's instance says which.
                    let engine = attribute(i, DOCKER_HOST_ATTRIBUTE)
                        .map(|e| format!(", {e}"))
                        .unwrap_or_default();
                    instances.insert(
                        i["containerInstanceArn"].as_str().unwrap_or("").to_string(),
                        format!(
                            "{} ({az}{engine})",
                            i["ec2InstanceId"].as_str().unwrap_or("")
                        ),
                    );
                }
            }
            let mut arns = Vec::new();
            let statuses: &[&str] = if all {
                &["RUNNING", "STOPPED"]
            } else {
                &["RUNNING"]
            };
            for s in statuses {
                let l = self
                    .call("ListTasks", json!({"cluster": cluster, "desiredStatus": s}))
                    .await?;
                arns.extend(l["taskArns"].as_array().cloned().unwrap_or_default());
            }
            if arns.is_empty() {
                continue;
            }
            for chunk in arns.chunks(100) {
                let d = self
                    .call("DescribeTasks", json!({"cluster": cluster, "tasks": chunk}))
                    .await?;
                for t in d["tasks"].as_array().into_iter().flatten() {
                    let id = t["taskArn"]
                        .as_str()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or("");
                    let def = t["taskDefinitionArn"]
                        .as_str()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or("");
                    let status = format!(
                        "{}/{}",
                        t["lastStatus"].as_str().unwrap_or(""),
                        t["desiredStatus"].as_str().unwrap_or("")
                    );
                    let instance = instances
                        .get(t["containerInstanceArn"].as_str().unwrap_or(""))
                        .cloned()
                        .unwrap_or_default();
                    let ports: Vec<String> = t["containers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|c| {
                            let name = c["name"].as_str().unwrap_or("").to_string();
                            c["networkBindings"]
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                                .into_iter()
                                .map(move |b| {
                                    format!(
                                        "{name} {}:{}->{}",
                                        b["bindIP"].as_str().unwrap_or(""),
                                        b["hostPort"],
                                        b["containerPort"]
                                    )
                                })
                        })
                        .collect();
                    table.add_row([
                        id.to_string(),
                        def.to_string(),
                        status,
                        instance,
                        ports.join("\n"),
                        t["healthStatus"].as_str().unwrap_or("").to_string(),
                    ]);
                }
            }
        }
        println!("{table}");
        Ok(())
    }

    pub async fn run_task(
        &self,
        td: &str,
        cluster: Option<&str>,
        count: u32,
    ) -> anyhow::Result<()> {
        let cluster = self.cluster_or_default(cluster).await?;
        let v = self
            .call(
                "RunTask",
                json!({"cluster": cluster, "taskDefinition": td, "count": count}),
            )
            .await?;
        for t in v["tasks"].as_array().into_iter().flatten() {
            println!("started {}", t["taskArn"].as_str().unwrap_or(""));
        }
        let mut failed = false;
        for f in v["failures"].as_array().into_iter().flatten() {
            failed = true;
            eprintln!(
                "not placed: {} {}",
                f["reason"].as_str().unwrap_or(""),
                f["detail"].as_str().unwrap_or("")
            );
        }
        if failed {
            bail!("some tasks could not be placed");
        }
        Ok(())
    }

    pub async fn stop_task(
        &self,
        task: &str,
        cluster: Option<&str>,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let cluster = self.cluster_or_default(cluster).await?;
        let mut body = json!({"cluster": cluster, "task": task});
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        let v = self.call("StopTask", body).await?;
        println!("stopping {}", v["task"]["taskArn"].as_str().unwrap_or(""));
        Ok(())
    }

    /// The given cluster, else the only one, else `default`.
    /// `cluster`, else the only cluster, else `default`.
    pub async fn cluster_or_default(&self, cluster: Option<&str>) -> anyhow::Result<String> {
        if let Some(c) = cluster {
            return Ok(c.to_string());
        }
        let v = self.call("ListClusters", json!({})).await?;
        match v["clusterArns"].as_array().map(Vec::as_slice) {
            Some([only]) => Ok(only.as_str().unwrap_or("default").to_string()),
            _ => Ok("default".into()),
        }
    }
}

/// The lines of one `/_emulator/logs` answer (all lines at or after
/// `since_ms`, oldest first) not printed yet. `at_edge` counts the lines
/// already printed at `since_ms`; both move to the newest millisecond seen.
/// Identical lines are printed as often as they were written.
fn new_lines(
    events: &[Value],
    since_ms: &mut i64,
    at_edge: &mut std::collections::HashMap<(String, String), usize>,
) -> Vec<(String, String)> {
    let edge = *since_ms;
    let mut skip = std::mem::take(at_edge);
    let mut out = Vec::new();
    for e in events {
        let key = (
            e["stream"].as_str().unwrap_or("").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        );
        let ts = e["timestamp"].as_i64().unwrap_or(0);
        if ts > *since_ms {
            *since_ms = ts;
            at_edge.clear();
        }
        if ts == *since_ms {
            *at_edge.entry(key.clone()).or_default() += 1;
        }
        if ts == edge {
            if let Some(n) = skip.get_mut(&key).filter(|n| **n > 0) {
                *n -= 1;
                continue;
            }
        }
        out.push(key);
    }
    if events.is_empty() {
        *at_edge = skip;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, msg: &str) -> Value {
        json!({"stream": "app/t", "timestamp": ts, "message": msg})
    }

    #[test]
    fn follow_prints_each_line_once_and_repeated_lines_as_often_as_written() {
        let mut since = 0;
        let mut edge = Default::default();
        let first = [ev(5, "a"), ev(7, "same"), ev(7, "same")];
        let printed = new_lines(&first, &mut since, &mut edge);
        assert_eq!(printed.len(), 3);
        assert_eq!(since, 7);
        // The next answer starts at 7 again: the two "same" lines are not
        // printed twice, a third one written since is.
        let second = [ev(7, "same"), ev(7, "same"), ev(7, "same"), ev(9, "b")];
        let printed: Vec<String> = new_lines(&second, &mut since, &mut edge)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert_eq!(printed, ["same", "b"]);
        // Nothing new: nothing printed, and the edge is kept.
        assert!(new_lines(&[], &mut since, &mut edge).is_empty());
        assert!(new_lines(&[ev(9, "b")], &mut since, &mut edge).is_empty());
    }
}
