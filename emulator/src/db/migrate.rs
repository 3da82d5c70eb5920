//! The whole-state `state.json` of earlier emulators (format 0): read once,
//! written as a snapshot in today's layout, then renamed aside
//! (`state.json.migrated`) so it is never read again.

use std::path::Path;

use serde_json::Value;

use super::journal::{io, LEGACY_FILE};
use super::state::{activity_key, td_key, State};
use super::DbError;
use crate::model::autoscaling::ScalingActivity;
use crate::model::TaskDefinition;

/// The state in a legacy `state.json`, if there is one.
pub fn legacy(dir: &Path) -> Result<Option<State>, DbError> {
    let path = dir.join(LEGACY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    let corrupt = |detail: String| DbError::Corrupt {
        path: path.clone(),
        detail,
    };
    let mut v: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let format = v.get("format").and_then(Value::as_u64).unwrap_or(0);
    if format != 0 {
        return Err(DbError::UnknownFormat {
            path,
            found: u32::try_from(format).unwrap_or(u32::MAX),
        });
    }
    let obj = v
        .as_object_mut()
        .ok_or_else(|| corrupt("not a JSON object".into()))?;
    obj.remove("format");
    // Task definitions were kept by family, revision N at index N-1.
    let families: std::collections::BTreeMap<String, Vec<TaskDefinition>> =
        match obj.remove("taskDefinitions") {
            Some(f) => serde_json::from_value(f).map_err(|e| corrupt(e.to_string()))?,
            None => Default::default(),
        };
    // Scaling activities were a list, newest first.
    let activities = obj
        .get_mut("autoscaling")
        .and_then(|a| a.as_object_mut())
        .and_then(|a| a.remove("activities"));
    let activities: Vec<ScalingActivity> = match activities {
        Some(a) => serde_json::from_value(a).map_err(|e| corrupt(e.to_string()))?,
        None => Vec::new(),
    };
    let mut state: State = serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))?;
    for (family, revisions) in families {
        for td in revisions {
            state
                .task_definitions
                .insert(td_key(&family, td.revision.unwrap_or(0)), td);
        }
    }
    for a in activities {
        state.autoscaling.activities.insert(activity_key(&a), a);
    }
    tracing::info!(path = %path.display(), records = state.records(), "migrating the state file to the journal layout");
    Ok(Some(state))
}

/// Moves the migrated `state.json` aside.
pub fn retire(dir: &Path) -> Result<(), DbError> {
    let from = dir.join(LEGACY_FILE);
    let to = dir.join(format!("{LEGACY_FILE}.migrated"));
    std::fs::rename(&from, &to).map_err(io(&from))
}
