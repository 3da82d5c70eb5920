//! Tags (TagResource, UntagResource, ListTagsForResource, and the tags
//! given to Create/Register/Run calls), and the paging of List operations
//! (`maxResults` / `nextToken`, as ECS pages).

use super::command::{EngineError, Reply};
use super::engine::Engine;
use crate::db::State;
use crate::model::request::{self, Page, Tag};

/// ECS's limits on tags.
pub const MAX_TAGS: usize = 50;

/// Checks tags as ECS does: at most 50 per resource, keys of 1-128 and
/// values of 0-256 characters, no `aws:` keys (reserved).
pub fn validate_tags(tags: &[Tag]) -> Result<(), EngineError> {
    if tags.len() > MAX_TAGS {
        return Err(EngineError::InvalidParameter(format!(
            "At most {MAX_TAGS} tags are allowed per resource."
        )));
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(EngineError::InvalidParameter(format!(
                "Invalid tag '{}': keys are 1-128 characters, values up to 256.",
                t.key
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EngineError::InvalidParameter(
                "Tag keys starting with 'aws:' are reserved for AWS use.".into(),
            ));
        }
    }
    Ok(())
}

/// The tags of `arn` in ECS's shape, sorted by key.
pub fn tags_of(state: &State, arn: &str) -> Vec<Tag> {
    state
        .tags_of(arn)
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

fn pairs(tags: &[Tag]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter().map(|t| (t.key.clone(), t.value.clone()))
}

/// Adds `tags` to `arn` in `state`, within the per-resource limit.
pub fn add_tags(state: &mut State, arn: &str, tags: &[Tag]) -> Result<(), EngineError> {
    let mut merged = state.tags_of(arn);
    merged.extend(pairs(tags));
    if merged.len() > MAX_TAGS {
        return Err(EngineError::InvalidParameter(format!(
            "At most {MAX_TAGS} tags are allowed per resource."
        )));
    }
    state.tag(arn, pairs(tags));
    Ok(())
}

/// Whether `arn` names an ECS resource the state holds.
fn exists(state: &State, arn: &str) -> bool {
    state.clusters.values().any(|c| c.cluster_arn == arn)
        || state.services.contains_key(arn)
        || state.tasks.contains_key(arn)
        || state.container_instances.contains_key(arn)
        || state
            .capacity_providers
            .values()
            .any(|p| p.capacity_provider_arn == arn && p.status == "ACTIVE")
        || state
            .task_definitions
            .values()
            .any(|t| t.task_definition_arn.as_deref() == Some(arn))
}

fn not_found(arn: &str) -> EngineError {
    if arn.contains(":cluster/") {
        EngineError::ClusterNotFound(crate::model::arn::short_name(arn).to_string())
    } else {
        EngineError::ResourceNotFound(format!("The specified resource {arn} is not found."))
    }
}

impl Engine {
    pub(super) async fn tag_resource(&self, r: request::TagResource) -> Result<Reply, EngineError> {
        validate_tags(&r.tags)?;
        if r.tags.is_empty() {
            return Err(EngineError::InvalidParameter(
                "Tags cannot be empty.".into(),
            ));
        }
        self.mutate(|s| {
            if !exists(s, &r.resource_arn) {
                return Err(not_found(&r.resource_arn));
            }
            add_tags(s, &r.resource_arn, &r.tags)
        })
        .await??;
        Ok(Reply::Empty)
    }

    pub(super) async fn untag_resource(
        &self,
        r: request::UntagResource,
    ) -> Result<Reply, EngineError> {
        self.mutate(|s| {
            if !exists(s, &r.resource_arn) {
                return Err(not_found(&r.resource_arn));
            }
            s.untag(&r.resource_arn, &r.tag_keys);
            Ok(())
        })
        .await??;
        Ok(Reply::Empty)
    }

    pub(super) fn list_tags(&self, r: &request::ResourceArn) -> Result<Reply, EngineError> {
        self.read(|s| {
            if !exists(s, &r.resource_arn) {
                // ListTagsForResource declares no ResourceNotFoundException:
                // ECS answers an unknown ARN as an invalid parameter.
                return Err(match not_found(&r.resource_arn) {
                    EngineError::ResourceNotFound(m) => EngineError::InvalidParameter(m),
                    e => e,
                });
            }
            Ok(Reply::Tags(tags_of(s, &r.resource_arn)))
        })
    }
}

/// One page of `items` (`(key, item)` in ascending key order, or
/// descending): at most `maxResults` (1..=`max`, default `max`) after the
/// key `nextToken` names (see [`crate::page`]), and the next token.
pub fn paginate<T>(
    items: Vec<(String, T)>,
    page: &Page,
    max: i64,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), EngineError> {
    let size = page.max_results.unwrap_or(max);
    if !(1..=max).contains(&size) {
        return Err(EngineError::InvalidParameter(format!(
            "maxResults must be between 1 and {max}."
        )));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    crate::page::page("ecs", items, page.next_token.as_deref(), size, descending)
        .map_err(|()| EngineError::InvalidParameter("Invalid nextToken.".into()))
}

/// [`paginate`] of ARNs (or names), each its own key.
pub fn paginate_arns(
    mut arns: Vec<String>,
    page: &Page,
    max: i64,
) -> Result<(Vec<String>, Option<String>), EngineError> {
    arns.sort();
    let keyed = arns.into_iter().map(|a| (a.clone(), a)).collect();
    paginate(keyed, page, max, false)
}

/// A List reply with its next token, when there is a next page.
pub fn paged(reply: Reply, next: Option<String>) -> Reply {
    match next {
        Some(next_token) => Reply::Paged {
            reply: Box::new(reply),
            next_token,
        },
        None => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_item_once_and_bad_tokens_are_refused() {
        let items: Vec<String> = (0..7).map(|i| format!("arn:{i}")).collect();
        let mut page = Page {
            max_results: Some(3),
            next_token: None,
        };
        let mut seen = Vec::new();
        loop {
            let (got, next) = paginate_arns(items.clone(), &page, 100).unwrap();
            seen.extend(got);
            match next {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        page.next_token = Some("garbage".into());
        assert!(paginate_arns(items.clone(), &page, 100).is_err());
        let big = Page {
            max_results: Some(101),
            next_token: None,
        };
        assert!(paginate_arns(items, &big, 100).is_err());
    }

    #[test]
    fn tag_rules() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(validate_tags(&[t("env", "dev")]).is_ok());
        assert!(validate_tags(&[t("aws:x", "y")]).is_err());
        assert!(validate_tags(&[t("", "y")]).is_err());
        assert!(validate_tags(&[t(&"k".repeat(129), "")]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| t(&format!("k{i}"), "")).collect();
        assert!(validate_tags(&many).is_err());
    }
}
