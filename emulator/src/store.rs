//! Durable state: the desired state (clusters, instances, task definitions,
//! tasks) as one JSON document in the data directory, written atomically
//! (temp file, fsync, rename, fsync of the directory) so a SIGKILL at any
//! moment leaves either the old or the new state, never a torn one.
//!
//! The data directory also holds `endpoint` (the running emulator's API
//! URL, so other CLI commands find it) and `emulator.pid`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Cluster, ContainerInstance, Task, TaskDefinition};

/// Everything the emulator must not forget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Bumped when the layout changes incompatibly.
    #[serde(default)]
    pub format: u32,
    /// By cluster name.
    #[serde(default)]
    pub clusters: BTreeMap<String, Cluster>,
    /// By ARN.
    #[serde(default)]
    pub container_instances: BTreeMap<String, ContainerInstance>,
    /// By family; revision N at index N-1.
    #[serde(default)]
    pub task_definitions: BTreeMap<String, Vec<TaskDefinition>>,
    /// By ARN.
    #[serde(default)]
    pub tasks: BTreeMap<String, Task>,
    /// Load balancers, target groups, listeners and rules (ELBv2).
    #[serde(default)]
    pub elb: crate::model::elb::ElbState,
    /// ECS services, by ARN.
    #[serde(default)]
    pub services: BTreeMap<String, crate::model::service::Service>,
    /// Application Auto Scaling targets, policies and activities.
    #[serde(default)]
    pub autoscaling: crate::model::autoscaling::AutoScalingState,
    /// SSM parameters and Secrets Manager secrets.
    #[serde(default)]
    pub secrets: crate::model::secrets::SecretsState,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

const STATE_FILE: &str = "state.json";
const ENDPOINT_FILE: &str = "endpoint";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        // Owner-only: the state holds SSM parameters and secrets.
        let mut f = {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(&tmp).map_err(io(&tmp))?
        };
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Store {
    /// Opens (creating) the data directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let dir = dir.canonicalize().map_err(io(&dir))?;
        Ok(Store { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The saved state, or an empty one when nothing was saved yet.
    pub fn load(&self) -> Result<State, StoreError> {
        let path = self.dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| StoreError::Corrupt { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
        write_atomic(&self.dir.join(STATE_FILE), &bytes)
    }

    /// Records the API endpoint of the emulator running on this directory.
    pub fn write_endpoint(&self, url: &str) -> Result<(), StoreError> {
        write_atomic(&self.dir.join(ENDPOINT_FILE), url.as_bytes())
    }

    pub fn read_endpoint(dir: &Path) -> Option<String> {
        std::fs::read_to_string(dir.join(ENDPOINT_FILE))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    pub fn clear_endpoint(&self) {
        let _ = std::fs::remove_file(self.dir.join(ENDPOINT_FILE));
    }

    /// Forgets everything (used by `down`).
    pub fn wipe(&self) -> Result<(), StoreError> {
        for f in [STATE_FILE, ENDPOINT_FILE] {
            match std::fs::remove_file(self.dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&self.dir)(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), State::default());
        let mut s = State::default();
        s.clusters.insert(
            "c".into(),
            Cluster {
                cluster_name: "c".into(),
                status: "ACTIVE".into(),
                ..Default::default()
            },
        );
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap(), s);
        // No temp file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("state.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the state holds secrets");
        }
        store.wipe().unwrap();
        assert_eq!(store.load().unwrap(), State::default());
    }

    #[test]
    fn corrupt_state_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), b"{not json").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
    }
}
