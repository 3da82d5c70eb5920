//! What CloudWatch Logs shows, read from the store: groups (records, and
//! groups task definitions name), streams (containers' `awslogs` output
//! and streams the API made) and their events, less what deletion and
//! retention removed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::db::State;
use crate::ecs::Engine;
use crate::elbv2::access_logs::{self, AccessLogSource};
use crate::model::logs::{LogGroup, LogStream};
use crate::model::task::Task;
use crate::model::TaskDefinition;

use super::{now_ms, Logs, TAIL};

/// A container definition's `awslogs` group and stream prefix, if it uses
/// that driver.
pub(super) fn awslogs_options(
    c: &crate::model::ContainerDefinition,
) -> Option<(&str, Option<&str>)> {
    let cfg = c.log_configuration.as_ref()?;
    if cfg.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
        return None;
    }
    let options = cfg.get("options")?;
    let group = options.get("awslogs-group")?.as_str()?;
    let prefix = options.get("awslogs-stream-prefix").and_then(Value::as_str);
    Some((group, prefix))
}

/// The definition a task runs, found in `state` (no lock taken).
pub(super) fn definition_in<'a>(state: &'a State, task: &Task) -> Option<&'a TaskDefinition> {
    let (family, revision) = crate::model::arn::task_definition_ref(&task.task_definition_arn);
    state.task_definition(&family, revision?)
}

/// The `awslogs` group and stream of container `name` of `task`, if it
/// logs there.
fn awslogs_stream(task: &Task, def: &TaskDefinition, name: &str) -> Option<(String, String)> {
    let (group, prefix) = awslogs_options(def.container(name)?)?;
    let group = group.to_string();
    let stream = match prefix {
        Some(prefix) => format!("{prefix}/{name}/{}", task.id()),
        None => task
            .containers
            .iter()
            .find(|c| c.name == name)?
            .runtime_id
            .clone()?,
    };
    Some((group, stream))
}

/// One container's place in CloudWatch Logs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Container {
    pub task: Task,
    pub container: String,
    pub runtime_name: String,
}

/// A group as the API shows it.
#[derive(Debug, Clone)]
pub(super) struct GroupView {
    pub name: String,
    pub creation_time: i64,
    pub retention_in_days: Option<u32>,
    /// Its record, if the API changed anything about it.
    pub record: Option<LogGroup>,
    /// A load balancer's access log: its streams are the log's files.
    pub access_log: Option<AccessLogSource>,
}

impl GroupView {
    /// Events before this (ms) are past the group's retention.
    pub fn retention_floor(&self, now: i64) -> i64 {
        self.retention_in_days
            .map_or(0, |d| now - i64::from(d) * 86_400_000)
    }

    /// Container output before this (ms) is gone: the group was deleted
    /// then, or it is past the retention.
    pub fn container_floor(&self, now: i64) -> i64 {
        let deleted = self.record.as_ref().and_then(|r| r.data_since).unwrap_or(0);
        deleted.max(self.retention_floor(now))
    }
}

/// A stream: a container's output, events the API wrote, or both.
#[derive(Debug, Clone)]
pub(super) struct StreamView {
    pub name: String,
    pub creation_time: i64,
    pub container: Option<Container>,
    pub stored: Option<LogStream>,
    /// Container output before this (ms) is gone.
    pub container_floor: i64,
    /// Written events before this (ms) are past the retention.
    pub stored_floor: i64,
    /// An access log file, one line an event.
    pub file: Option<std::path::PathBuf>,
}

/// One event, from either source.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ev {
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0) as i64
}

/// The group `name` from its record and the registration times (ms) of the
/// task definitions naming it.
fn resolve(name: &str, record: Option<&LogGroup>, named: &[i64]) -> Option<GroupView> {
    let view = |creation_time, retention_in_days| GroupView {
        name: name.to_string(),
        creation_time,
        retention_in_days,
        record: record.cloned(),
        access_log: None,
    };
    match record {
        Some(r) if !r.deleted => Some(view(r.creation_time, r.retention_in_days)),
        // Deleted: back once a task definition registered later names it.
        Some(r) => {
            let since = r.data_since.unwrap_or(0);
            named
                .iter()
                .filter(|at| **at > since)
                .min()
                .map(|at| view(*at, None))
        }
        None => named.iter().min().map(|at| view(*at, None)),
    }
}

/// Registration times (ms) of the task definitions naming `only` (or
/// every group), by group.
fn named_groups(st: &State, only: Option<&str>) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for def in st.task_definitions.values() {
        for c in &def.container_definitions {
            if let Some((g, _)) = awslogs_options(c) {
                if only.is_none_or(|o| o == g) {
                    out.entry(g.to_string())
                        .or_default()
                        .push(def.registered_at.map_or(0, ms));
                }
            }
        }
    }
    out
}

/// The access log groups of the load balancers writing one: there while
/// access logs are enabled, whatever DeleteLogGroup said (as a group a
/// task definition names comes back); a record adds retention and tags.
fn access_log_groups<'a>(st: &'a State) -> impl Iterator<Item = GroupView> + 'a {
    st.elb.load_balancers.values().filter_map(|lb| {
        let source = AccessLogSource::of(lb)?;
        let name = access_logs::group_name(&lb.name);
        let record = st.log_groups.get(&name).filter(|r| !r.deleted).cloned();
        Some(GroupView {
            creation_time: record
                .as_ref()
                .map_or(ms(lb.created_time), |r| r.creation_time),
            retention_in_days: record.as_ref().and_then(|r| r.retention_in_days),
            name,
            record,
            access_log: Some(source),
        })
    })
}

/// Every group, by name.
pub(super) fn groups_in(st: &State) -> BTreeMap<String, GroupView> {
    let named = named_groups(st, None);
    let mut names: Vec<&String> = st.log_groups.keys().chain(named.keys()).collect();
    names.sort();
    names.dedup();
    let mut out: BTreeMap<String, GroupView> = names
        .into_iter()
        .filter_map(|n| {
            let at = named.get(n).map_or(&[][..], |v| v.as_slice());
            resolve(n, st.log_groups.get(n), at).map(|g| (n.clone(), g))
        })
        .collect();
    out.extend(access_log_groups(st).map(|g| (g.name.clone(), g)));
    out
}

/// One group.
pub(super) fn group_in(st: &State, name: &str) -> Option<GroupView> {
    if let Some(g) = access_log_groups(st).find(|g| g.name == name) {
        return Some(g);
    }
    let named = named_groups(st, Some(name));
    let at = named.get(name).map_or(&[][..], |v| v.as_slice());
    resolve(name, st.log_groups.get(name), at)
}

/// Is `name` named by any task definition (active or not)?
pub(super) fn named_by_definition(st: &State, name: &str) -> bool {
    !named_groups(st, Some(name)).is_empty()
}

/// The group's record, made (or brought back from deletion) for a change.
pub(super) fn record_mut<'a>(st: &'a mut State, view: &GroupView) -> &'a mut LogGroup {
    let r = st
        .log_groups
        .entry(view.name.clone())
        .or_insert_with(|| LogGroup {
            log_group_name: view.name.clone(),
            creation_time: view.creation_time,
            ..Default::default()
        });
    if r.deleted {
        r.deleted = false;
        r.creation_time = view.creation_time;
        r.retention_in_days = None;
    }
    r
}

/// The streams of a group, by name.
pub(super) fn streams_in(st: &State, group: &GroupView, now: i64) -> BTreeMap<String, StreamView> {
    let container_floor = group.container_floor(now);
    let stored_floor = group.retention_floor(now);
    let deleted = group.record.as_ref().map(|r| &r.deleted_streams);
    let since = group.record.as_ref().and_then(|r| r.data_since);
    let mut out: BTreeMap<String, StreamView> = BTreeMap::new();
    for task in st.tasks.values() {
        let Some(def) = definition_in(st, task) else {
            continue;
        };
        let created = ms(task.created_at);
        // A task that had stopped before the group was deleted left
        // nothing in it.
        let stopped = task.status() == crate::model::TaskStatus::Stopped;
        if since.is_some_and(|s| created < s && stopped) {
            continue;
        }
        for c in &def.container_definitions {
            let Some((g, name)) = awslogs_stream(task, def, &c.name) else {
                continue;
            };
            // A container stream DeleteLogStream deleted stays gone.
            if g != group.name || deleted.is_some_and(|d| d.contains_key(&name)) {
                continue;
            }
            out.insert(
                name.clone(),
                StreamView {
                    name,
                    creation_time: created,
                    container: Some(Container {
                        runtime_name: Engine::runtime_name(task, def, &c.name),
                        container: c.name.clone(),
                        task: task.clone(),
                    }),
                    stored: None,
                    container_floor,
                    stored_floor,
                    file: None,
                },
            );
        }
    }
    if let Some(r) = &group.record {
        for (name, s) in &r.streams {
            let v = out.entry(name.clone()).or_insert_with(|| StreamView {
                name: name.clone(),
                creation_time: s.creation_time,
                container: None,
                stored: None,
                container_floor,
                stored_floor,
                file: None,
            });
            v.creation_time = v.creation_time.min(s.creation_time);
            v.stored = Some(s.clone());
        }
    }
    out
}

impl Logs {
    /// Every group.
    pub(super) fn groups(&self) -> BTreeMap<String, GroupView> {
        self.engine.read(groups_in)
    }

    pub(super) fn group(&self, name: &str) -> Option<GroupView> {
        self.engine.read(|st| group_in(st, name))
    }

    pub(super) fn streams(&self, group: &GroupView) -> BTreeMap<String, StreamView> {
        let now = now_ms();
        let mut out = self.engine.read(|st| streams_in(st, group, now));
        // Read outside the store: a directory listing.
        if let (Some(source), Some(root)) = (&group.access_log, &self.access_logs) {
            let floor = group.retention_floor(now);
            for f in source
                .dir(root)
                .map(|d| alb::access_log::files(&d))
                .unwrap_or_default()
            {
                let Some(name) = f.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                    continue;
                };
                let created = std::fs::metadata(&f)
                    .and_then(|m| m.created().or_else(|_| m.modified()))
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                out.entry(name.clone()).or_insert(StreamView {
                    name,
                    creation_time: created,
                    container: None,
                    stored: None,
                    container_floor: floor,
                    stored_floor: floor,
                    file: Some(f),
                });
            }
        }
        out
    }

    /// A container's lines since `since_ms`: from the archive once it is
    /// removed, else from the runtime.
    pub(super) async fn lines(&self, c: &Container, since_ms: i64) -> Vec<crate::runtime::LogLine> {
        // A removed container's lines are in the archive: no Docker call
        // for it (`logs -f` asks about every past task each second).
        let archived = self
            .engine
            .log_archive()
            .get(&c.task.task_arn, &c.container)
            .map(|l| {
                l.iter()
                    .filter(|l| l.timestamp_ms >= since_ms)
                    .cloned()
                    .collect::<Vec<_>>()
            });
        if let Some(lines) = archived {
            return lines;
        }
        if c.task.status() == crate::model::TaskStatus::Stopped {
            return Vec::new();
        }
        let Ok(rt) = self.engine.runtime_of(&c.task) else {
            return Vec::new();
        };
        rt.logs(&c.runtime_name, since_ms, TAIL)
            .await
            .unwrap_or_default()
    }

    /// A stream's events from `since_ms` on, oldest first (a container's
    /// lines and written events of one millisecond: lines first).
    pub(super) async fn events(&self, s: &StreamView, since_ms: i64) -> Vec<Ev> {
        let from = since_ms.max(s.container_floor);
        let mut out: Vec<Ev> = match &s.container {
            Some(c) => self
                .lines(c, from)
                .await
                .into_iter()
                .filter(|l| l.timestamp_ms >= from)
                .map(|l| Ev {
                    timestamp: l.timestamp_ms,
                    ingestion_time: l.timestamp_ms,
                    message: l.message,
                })
                .collect(),
            None => Vec::new(),
        };
        if let Some(f) = &s.file {
            out.extend(file_events(f, since_ms.max(s.stored_floor)).await);
        }
        if let Some(stored) = &s.stored {
            let from = since_ms.max(s.stored_floor);
            out.extend(
                stored
                    .events
                    .iter()
                    .filter(|e| e.timestamp >= from)
                    .map(|e| Ev {
                        timestamp: e.timestamp,
                        ingestion_time: e.ingestion_time,
                        message: e.message.clone(),
                    }),
            );
            out.sort_by_key(|e| e.timestamp);
        }
        out
    }
}

/// An access log file's lines from `since_ms` on, each an event at its
/// `time` field (the second), ingested then too.
async fn file_events(path: &std::path::Path, since_ms: i64) -> Vec<Ev> {
    let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let time = line.split(' ').nth(1)?;
            let at =
                time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                    .ok()?;
            let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
            (ms >= since_ms).then(|| Ev {
                timestamp: ms,
                ingestion_time: ms,
                message: line.to_string(),
            })
        })
        .collect()
}
