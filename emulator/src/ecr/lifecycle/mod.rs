//! Lifecycle policies: PutLifecyclePolicy, GetLifecyclePolicy,
//! DeleteLifecyclePolicy, StartLifecyclePolicyPreview,
//! GetLifecyclePolicyPreview, and their application. The policy text is
//! kept on the repository record; [`policy`] checks it and chooses what
//! it expires, and [`Ecr::apply_lifecycle`] deletes that from the
//! registry. ECR runs policies some time within a day; here they run at
//! once, when the policy is put and after every push of a tag, so what a
//! policy does is visible in DescribeImages as soon as the call returns.

pub mod policy;

use serde::Deserialize;
use serde_json::{json, Value};

use super::images::Image;
use super::{parse, Ecr, EcrError};
use crate::model::ecr::Repository;
use policy::{Candidate, Expiry};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRequest {
    repository_name: String,
    registry_id: Option<String>,
    lifecycle_policy_text: Option<String>,
    image_ids: Option<Vec<PreviewId>>,
    filter: Option<PreviewFilter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewId {
    image_digest: Option<String>,
    image_tag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewFilter {
    tag_status: Option<String>,
}

/// What a preview lists of one image the policy would expire.
struct PreviewResult {
    image: Image,
    pushed_at: f64,
    rule_priority: u64,
}

impl Ecr {
    /// The repository a lifecycle request names (in this registry).
    fn policy_repository(&self, req: &PolicyRequest) -> Result<Repository, EcrError> {
        if let Some(id) = req.registry_id.as_ref().filter(|id| **id != self.account()) {
            return Err(EcrError::RepositoryNotFound(
                req.repository_name.clone(),
                id.clone(),
            ));
        }
        self.repository(&req.repository_name)
    }

    /// The repository's policy text, or ECR's not-found error.
    fn policy_text(&self, repo: &Repository) -> Result<String, EcrError> {
        repo.lifecycle_policy.clone().ok_or_else(|| {
            EcrError::LifecyclePolicyNotFound(
                repo.repository_name.clone(),
                repo.registry_id.clone(),
            )
        })
    }

    /// Changes the stored record of repository `name` (if it still exists).
    async fn update_repository(
        &self,
        name: &str,
        f: impl FnOnce(&mut Repository),
    ) -> Result<(), EcrError> {
        self.write(|s| {
            if let Some(mut r) = s.ecr_repositories.get(name).cloned() {
                f(&mut r);
                s.ecr_repositories.insert(name.to_string(), r);
            }
        })
        .await
    }

    pub(super) async fn put_lifecycle_policy(&self, body: &Value) -> Result<Value, EcrError> {
        let req: PolicyRequest = parse(body)?;
        let repo = self.policy_repository(&req)?;
        let text = req.lifecycle_policy_text.clone().ok_or_else(|| {
            EcrError::InvalidParameter(
                "Invalid request: missing field `lifecyclePolicyText`".into(),
            )
        })?;
        policy::parse(&text).map_err(EcrError::InvalidParameter)?;
        let stored = text.clone();
        self.update_repository(&repo.repository_name, |r| {
            r.lifecycle_policy = Some(stored);
        })
        .await?;
        self.apply_lifecycle_logged(&repo.repository_name).await;
        Ok(json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "lifecyclePolicyText": text,
        }))
    }

    /// The policy in Get/DeleteLifecyclePolicy's shape.
    fn policy_json(repo: &Repository, text: &str) -> Value {
        let mut out = json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "lifecyclePolicyText": text,
        });
        if let Some(t) = repo.lifecycle_evaluated_at {
            out["lastEvaluatedAt"] = json!(t);
        }
        out
    }

    pub(super) async fn get_lifecycle_policy(&self, body: &Value) -> Result<Value, EcrError> {
        let req: PolicyRequest = parse(body)?;
        let repo = self.policy_repository(&req)?;
        let text = self.policy_text(&repo)?;
        Ok(Self::policy_json(&repo, &text))
    }

    pub(super) async fn delete_lifecycle_policy(&self, body: &Value) -> Result<Value, EcrError> {
        let req: PolicyRequest = parse(body)?;
        let repo = self.policy_repository(&req)?;
        let text = self.policy_text(&repo)?;
        self.update_repository(&repo.repository_name, |r| {
            r.lifecycle_policy = None;
            r.lifecycle_evaluated_at = None;
        })
        .await?;
        Ok(Self::policy_json(&repo, &text))
    }

    pub(super) async fn start_lifecycle_policy_preview(
        &self,
        body: &Value,
    ) -> Result<Value, EcrError> {
        let req: PolicyRequest = parse(body)?;
        let repo = self.policy_repository(&req)?;
        let text = match req.lifecycle_policy_text {
            Some(t) => t,
            None => self.policy_text(&repo)?,
        };
        policy::parse(&text).map_err(EcrError::InvalidParameter)?;
        let stored = text.clone();
        self.update_repository(&repo.repository_name, |r| {
            r.lifecycle_preview = Some(stored);
        })
        .await?;
        // The preview is computed when it is read, so it is never pending.
        Ok(json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "lifecyclePolicyText": text,
            "status": "COMPLETE",
        }))
    }

    pub(super) async fn get_lifecycle_policy_preview(
        &self,
        body: &Value,
    ) -> Result<Value, EcrError> {
        let req: PolicyRequest = parse(body)?;
        let limit = match req.max_results {
            None => 100,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => {
                return Err(EcrError::InvalidParameter(format!(
                    "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 100' (got {n})"
                )))
            }
        };
        let repo = self.policy_repository(&req)?;
        let text = repo.lifecycle_preview.clone().ok_or_else(|| {
            EcrError::LifecyclePolicyPreviewNotFound(
                repo.repository_name.clone(),
                repo.registry_id.clone(),
            )
        })?;
        let status = req
            .filter
            .as_ref()
            .and_then(|f| f.tag_status.clone())
            .unwrap_or_else(|| "ANY".into());
        let results = self.evaluate(&repo, &text).await?;
        let total = results.len();
        let items: Vec<(String, PreviewResult)> = results
            .into_iter()
            .filter(|r| match status.as_str() {
                "TAGGED" => !r.image.tags.is_empty(),
                "UNTAGGED" => r.image.tags.is_empty(),
                _ => true,
            })
            .filter(|r| {
                req.image_ids.as_ref().is_none_or(|ids| {
                    ids.iter().any(|id| {
                        id.image_digest.as_ref() == Some(&r.image.digest)
                            || id
                                .image_tag
                                .as_ref()
                                .is_some_and(|t| r.image.tags.contains(t))
                    })
                })
            })
            .map(|r| (r.image.digest.clone(), r))
            .collect();
        let (page, next) = crate::page::page(
            "ecr.GetLifecyclePolicyPreview",
            items,
            req.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(|_| super::repositories::invalid_token())?;
        let listed: Vec<Value> = page
            .iter()
            .map(|r| {
                let mut v = json!({
                    "imageDigest": r.image.digest,
                    "imagePushedAt": r.pushed_at,
                    "action": {"type": "EXPIRE"},
                    "appliedRulePriority": r.rule_priority,
                });
                if !r.image.tags.is_empty() {
                    v["imageTags"] = json!(r.image.tags);
                }
                v
            })
            .collect();
        let mut out = json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "lifecyclePolicyText": text,
            "status": "COMPLETE",
            "previewResults": listed,
            "summary": {"expiringImageTotalCount": total},
        });
        if let Some(t) = next {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    /// What policy `text` expires of the repository's images now.
    async fn evaluate(
        &self,
        repo: &Repository,
        text: &str,
    ) -> Result<Vec<PreviewResult>, EcrError> {
        let rules = policy::parse(text).map_err(EcrError::Server)?;
        let images = self.images(repo).await?;
        let now = crate::model::now_epoch();
        // The record as it is now: a push may have come since `repo` was read.
        let pushed = self
            .read(|s| {
                s.ecr_repositories
                    .get(&repo.repository_name)
                    .map(|r| r.pushed_at.clone())
            })
            .unwrap_or_default();
        // An image whose push was not recorded (put in the registry some
        // other way) counts as pushed when its repository was created:
        // never newer than the pushes that were recorded.
        let pushed_at = |d: &str| pushed.get(d).copied().unwrap_or(repo.created_at);
        let candidates: Vec<Candidate> = images
            .iter()
            .map(|i| Candidate {
                digest: i.digest.clone(),
                tags: i.tags.clone(),
                pushed_at: pushed_at(&i.digest),
            })
            .collect();
        Ok(policy::expire(&candidates, &rules, now)
            .into_iter()
            .filter_map(
                |Expiry {
                     digest,
                     rule_priority,
                 }| {
                    let image = images.iter().find(|i| i.digest == digest)?.clone();
                    Some(PreviewResult {
                        pushed_at: pushed_at(&digest),
                        image,
                        rule_priority,
                    })
                },
            )
            .collect())
    }

    /// Runs repository `name`'s lifecycle policy now: deletes from the
    /// registry every image it expires (an index with the images it
    /// lists) and records the evaluation time. Returns the digests
    /// expired; nothing without a policy.
    pub async fn apply_lifecycle(&self, name: &str) -> Result<Vec<String>, EcrError> {
        let repo = self.repository(name)?;
        let Some(text) = repo.lifecycle_policy.clone() else {
            return Ok(Vec::new());
        };
        let expired = self.evaluate(&repo, &text).await?;
        let mut gone = Vec::new();
        for r in &expired {
            self.delete_manifest(name, &r.image.digest).await?;
            gone.push(r.image.digest.clone());
            let listed: Value = serde_json::from_str(&r.image.manifest).unwrap_or_default();
            for child in listed["manifests"].as_array().into_iter().flatten() {
                if let Some(d) = child["digest"].as_str() {
                    self.delete_manifest(name, d).await?;
                    gone.push(d.to_string());
                }
            }
        }
        let now = crate::model::now_epoch();
        let removed = gone.clone();
        self.update_repository(name, |r| {
            for d in &removed {
                r.pushed_at.remove(d);
            }
            r.lifecycle_evaluated_at = Some(now);
        })
        .await?;
        if !expired.is_empty() {
            tracing::info!(repository = name, expired = ?gone, "lifecycle policy expired images");
        }
        Ok(expired.into_iter().map(|r| r.image.digest).collect())
    }

    /// [`Ecr::apply_lifecycle`], its failure logged: a policy that cannot
    /// run now fails neither the push nor the call that triggered it.
    pub(crate) async fn apply_lifecycle_logged(&self, name: &str) {
        if let Err(e) = self.apply_lifecycle(name).await {
            tracing::warn!(repository = name, error = %e, "could not apply the lifecycle policy");
        }
    }
}
