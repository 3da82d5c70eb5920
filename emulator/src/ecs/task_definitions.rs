//! Task definitions: RegisterTaskDefinition, DescribeTaskDefinition,
//! ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition.
//!
//! Revisions are kept by `family:revision` ([`td_key`]). INACTIVE ones are
//! forgotten beyond [`INACTIVE_KEPT`], oldest first, as ECS forgets them
//! after a while; never the newest revision of a family (it numbers the
//! next one) nor one a live task or a service still uses.

use super::command::{EngineError, Reply};
use super::engine::Engine;
use crate::db::state::{td_key, State};
use crate::model::arn;
use crate::model::request;
use crate::model::{now_epoch, TaskDefinition, TaskStatus};

/// How many INACTIVE task definition revisions are remembered at most.
pub const INACTIVE_KEPT: usize = 1000;

impl Engine {
    pub(super) async fn register_task_definition(
        &self,
        mut td: TaskDefinition,
    ) -> Result<Reply, EngineError> {
        td.validate()?;
        super::tags::validate_tags(&td.tags)?;
        let tags = std::mem::take(&mut td.tags);
        let partition = self.inner.config.partition.clone();
        let td = self
            .mutate(|s| {
                let rev = s
                    .latest_revision(&td.family)
                    .and_then(|t| t.revision)
                    .unwrap_or(0)
                    + 1;
                td.revision = Some(rev);
                td.task_definition_arn = Some(partition.task_definition(&td.family, rev));
                td.status = Some("ACTIVE".into());
                td.registered_at = Some(now_epoch());
                if td.network_mode.is_none() {
                    td.network_mode = Some("bridge".into());
                }
                s.task_definitions
                    .insert(td_key(&td.family, rev), td.clone());
                let arn = td.task_definition_arn.clone().unwrap_or_default();
                super::tags::add_tags(s, &arn, &tags).map(|()| td)
            })
            .await??;
        if tags.is_empty() {
            return Ok(Reply::TaskDefinition(td));
        }
        let arn = td.task_definition_arn.clone().unwrap_or_default();
        let tags = self.read(|s| super::tags::tags_of(s, &arn));
        Ok(Reply::TaskDefinitionTagged {
            task_definition: td,
            tags,
        })
    }

    /// Finds a task definition by family (latest ACTIVE), family:revision
    /// or ARN.
    pub fn resolve_task_definition(
        &self,
        reference: &str,
        allow_inactive: bool,
    ) -> Result<TaskDefinition, EngineError> {
        let (family, rev) = arn::task_definition_ref(reference);
        let state = self.snapshot();
        let not_found = || {
            EngineError::Client(format!(
                "Unable to describe task definition '{reference}': it does not exist."
            ))
        };
        let td = match rev {
            Some(n) => state.task_definition(&family, n).ok_or_else(not_found)?,
            None => state
                .revisions(&family)
                .rev()
                .find(|t| t.status.as_deref() == Some("ACTIVE"))
                .ok_or_else(not_found)?,
        };
        if !allow_inactive && td.status.as_deref() != Some("ACTIVE") {
            return Err(EngineError::Client(format!(
                "TaskDefinition {} is inactive.",
                td.family_revision()
            )));
        }
        Ok(td.clone())
    }

    pub(super) fn list_task_definitions(
        &self,
        r: request::ListTaskDefinitions,
    ) -> Result<Reply, EngineError> {
        let status = r.status.unwrap_or_else(|| "ACTIVE".into());
        let prefix = r.family_prefix.or(r.family).unwrap_or_default();
        let state = self.snapshot();
        // Keyed by family and zero-padded revision: revision 10 after 9.
        let mut arns: Vec<(String, String)> = state
            .task_definitions
            .iter()
            .filter(|(_, t)| t.family.starts_with(&prefix))
            .filter(|(_, t)| status == "ALL" || t.status.as_deref() == Some(status.as_str()))
            .filter_map(|(k, t)| Some((k.clone(), t.task_definition_arn.clone()?)))
            .collect();
        let descending = r.sort.as_deref() == Some("DESC");
        if descending {
            arns.reverse();
        }
        let (arns, next) = super::tags::paginate(arns, &r.page, 100, descending)?;
        Ok(super::tags::paged(Reply::TaskDefinitionArns(arns), next))
    }

    pub(super) fn list_families(
        &self,
        r: request::ListTaskDefinitions,
    ) -> Result<Reply, EngineError> {
        let status = r.status.unwrap_or_else(|| "ACTIVE".into());
        let prefix = r.family_prefix.or(r.family).unwrap_or_default();
        let state = self.snapshot();
        let mut families: Vec<(String, bool)> = Vec::new();
        for t in state
            .task_definitions
            .values()
            .filter(|t| t.family.starts_with(&prefix))
        {
            let active = t.status.as_deref() == Some("ACTIVE");
            match families.last_mut() {
                Some((f, a)) if *f == t.family => *a |= active,
                _ => families.push((t.family.clone(), active)),
            }
        }
        families.sort();
        let families: Vec<String> = families
            .into_iter()
            .filter(|(_, active)| match status.as_str() {
                "ALL" => true,
                "INACTIVE" => !active,
                _ => *active,
            })
            .map(|(f, _)| f)
            .collect();
        let (families, next) = super::tags::paginate_arns(families, &r.page, 100)?;
        Ok(super::tags::paged(Reply::Families(families), next))
    }

    /// DeleteTaskDefinitions: INACTIVE revisions go (answered as
    /// DELETE_IN_PROGRESS); an ACTIVE one is a failure, as in ECS.
    pub(super) async fn delete_task_definitions(
        &self,
        r: request::DeleteTaskDefinitions,
    ) -> Result<Reply, EngineError> {
        if r.task_definitions.is_empty() || r.task_definitions.len() > 10 {
            return Err(EngineError::InvalidParameter(
                "taskDefinitions must name 1 to 10 task definitions.".into(),
            ));
        }
        let mut deleted = Vec::new();
        let mut failures = Vec::new();
        for reference in &r.task_definitions {
            let (_, rev) = arn::task_definition_ref(reference);
            let td = match (rev, self.resolve_task_definition(reference, true)) {
                (Some(_), Ok(td)) => td,
                _ => {
                    failures.push(crate::model::Failure {
                        arn: Some(reference.clone()),
                        reason: "TASK_DEFINITION_NOT_FOUND".into(),
                        detail: Some("A revision is required: family:revision or the ARN.".into()),
                    });
                    continue;
                }
            };
            if td.status.as_deref() == Some("ACTIVE") {
                failures.push(crate::model::Failure {
                    arn: td.task_definition_arn.clone(),
                    reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again.".into(),
                    detail: None,
                });
                continue;
            }
            let key = td_key(&td.family, td.revision.unwrap_or(0));
            let arn = td.task_definition_arn.clone().unwrap_or_default();
            self.mutate(|s| {
                s.task_definitions.remove(&key);
                s.tags.remove(&arn);
            })
            .await?;
            let mut gone = td;
            gone.status = Some("DELETE_IN_PROGRESS".into());
            deleted.push(gone);
        }
        Ok(Reply::TaskDefinitions {
            task_definitions: deleted,
            failures,
        })
    }

    pub(super) async fn deregister_task_definition(
        &self,
        reference: &str,
    ) -> Result<Reply, EngineError> {
        let (_, rev) = arn::task_definition_ref(reference);
        if rev.is_none() {
            return Err(EngineError::Client(
                "A revision is required: use family:revision or the full ARN.".into(),
            ));
        }
        let td = self.resolve_task_definition(reference, true)?;
        let key = td_key(&td.family, td.revision.unwrap_or(0));
        let td = self
            .mutate(|s| {
                let t = s.task_definitions.get_mut(&key)?;
                t.status = Some("INACTIVE".into());
                let t = t.clone();
                forget_inactive(s, INACTIVE_KEPT);
                Some(t)
            })
            .await?
            .ok_or_else(|| {
                EngineError::Client(format!(
                    "Unable to describe task definition '{reference}': it does not exist."
                ))
            })?;
        Ok(Reply::TaskDefinition(td))
    }
}

/// Forgets the oldest INACTIVE revisions beyond `kept`, but never the
/// newest revision of a family nor one still in use.
pub(super) fn forget_inactive(s: &mut State, kept: usize) {
    let in_use = |arn: &str| {
        s.tasks
            .values()
            .any(|t| t.task_definition_arn == arn && t.status() != TaskStatus::Stopped)
            || s.services.values().any(|svc| svc.uses_task_definition(arn))
    };
    let mut inactive: Vec<(f64, String)> = s
        .task_definitions
        .iter()
        .filter(|(_, t)| t.status.as_deref() == Some("INACTIVE"))
        .filter(|(_, t)| s.latest_revision(&t.family).map(|l| l.revision) != Some(t.revision))
        .filter(|(_, t)| !t.task_definition_arn.as_deref().is_some_and(in_use))
        .map(|(k, t)| (t.registered_at.unwrap_or(0.0), k.clone()))
        .collect();
    if inactive.len() <= kept {
        return;
    }
    inactive.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, k) in &inactive[..inactive.len() - kept] {
        s.task_definitions.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(family: &str, revision: u32, status: &str, at: f64) -> TaskDefinition {
        TaskDefinition {
            family: family.into(),
            revision: Some(revision),
            status: Some(status.into()),
            registered_at: Some(at),
            task_definition_arn: Some(format!("arn:td/{family}:{revision}")),
            ..Default::default()
        }
    }

    #[test]
    fn inactive_revisions_are_forgotten_oldest_first_but_never_the_newest_or_one_in_use() {
        let mut s = State::default();
        for r in 1..=6 {
            s.task_definitions
                .insert(td_key("web", r), td("web", r, "INACTIVE", f64::from(r)));
        }
        s.task_definitions
            .insert(td_key("db", 1), td("db", 1, "INACTIVE", 0.5));
        // A live task still runs web:1.
        s.tasks.insert(
            "t".into(),
            crate::model::Task {
                task_arn: "t".into(),
                task_definition_arn: "arn:td/web:1".into(),
                last_status: Some(TaskStatus::Running),
                ..Default::default()
            },
        );
        forget_inactive(&mut s, 2);
        let left: Vec<String> = s.task_definitions.keys().cloned().collect();
        // Candidates: web:1..5 (web:6 and db:1 are their family's newest);
        // web:1 is in use; of web:2..5 the two newest stay.
        assert_eq!(
            left,
            vec![
                td_key("db", 1),
                td_key("web", 1),
                td_key("web", 4),
                td_key("web", 5),
                td_key("web", 6)
            ]
        );
    }
}
