//! Secrets Manager versions and staging labels, listing (paginated, with
//! filters), tags, and GetRandomPassword.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::db::state::TagSet;
use crate::model::secrets::{SecretVersion, AWSPREVIOUS};
use crate::page;

/// Moves staging label `stage` to version `to` (or only removes it), and
/// `AWSPREVIOUS` to the former holder when `AWSCURRENT` moves.
fn move_stage(s: &mut SecretEntry, stage: &str, to: Option<&str>) {
    let holder = s.by_stage(stage).map(|v| v.version_id);
    for v in s.versions_mut().iter_mut() {
        v.stages.retain(|x| x != stage);
        if Some(v.version_id.as_str()) == to {
            v.stages.push(stage.to_string());
        }
    }
    if stage == AWSCURRENT {
        if let Some(old) = holder.filter(|h| Some(h.as_str()) != to) {
            move_stage(s, AWSPREVIOUS, Some(&old));
        }
    }
}

/// Adds version `id` with `value`, attaching `stages` (and `AWSCURRENT`
/// if the secret had no current version); returns the stages the version
/// ends up with. The same id with the same value is a retry and changes
/// nothing; with another value it is refused.
pub(super) fn add_version(
    s: &mut SecretEntry,
    id: &str,
    value: &str,
    stages: &[String],
    now: f64,
) -> Result<Vec<String>, SecretsError> {
    if let Some(v) = s.by_id(id) {
        return if v.secret_string == value {
            Ok(v.stages)
        } else {
            Err(SecretsError::VersionExists)
        };
    }
    let first = s.by_stage(AWSCURRENT).is_none();
    s.versions_mut().push(SecretVersion {
        version_id: id.to_string(),
        secret_string: value.to_string(),
        created_date: now,
        stages: Vec::new(),
    });
    let mut stages: Vec<String> = stages.to_vec();
    if first && !stages.iter().any(|x| x == AWSCURRENT) {
        stages.push(AWSCURRENT.to_string());
    }
    // AWSCURRENT first, so AWSPREVIOUS lands before an explicit one.
    stages.sort_by_key(|x| x != AWSCURRENT);
    stages.dedup();
    for stage in &stages {
        move_stage(s, stage, Some(id));
    }
    s.settle();
    Ok(s.by_id(id).map(|v| v.stages).unwrap_or_default())
}

/// A secret as DescribeSecret (`VersionIdsToStages`) or ListSecrets
/// (`SecretVersionsToStages`) shows it: never its value.
pub(super) fn secret_json(s: &SecretEntry, tags: &TagSet, versions_field: &str) -> Value {
    let mut v = json!({
        "ARN": s.arn, "Name": s.name,
        "CreatedDate": s.created_date, "LastChangedDate": s.last_changed_date,
    });
    let staged: serde_json::Map<String, Value> = s
        .all_versions()
        .iter()
        .filter(|v| !v.stages.is_empty())
        .map(|v| (v.version_id.clone(), json!(v.stages)))
        .collect();
    if !staged.is_empty() {
        v[versions_field] = Value::Object(staged);
    }
    if let Some(d) = &s.description {
        v["Description"] = json!(d);
    }
    if let Some(d) = s.deleted_date {
        v["DeletedDate"] = json!(d);
    }
    if !tags.is_empty() {
        v["Tags"] = tags::list(tags);
    }
    v
}

pub(super) fn micros(t: f64) -> i64 {
    (t * 1e6) as i64
}

fn invalid_token(_: ()) -> SecretsError {
    SecretsError::SmInvalidNextToken
}

/// A `{Key, Values}` filter (ListSecrets, BatchGetSecretValue, SSM's
/// ListDocuments).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Filter {
    pub key: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListArg {
    #[serde(default)]
    include_planned_deletion: bool,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    #[serde(default)]
    sort_order: Option<String>,
    #[serde(default)]
    sort_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionsArg {
    secret_id: String,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    include_deprecated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StageArg {
    secret_id: String,
    version_stage: String,
    #[serde(default)]
    remove_from_version_id: Option<String>,
    #[serde(default)]
    move_to_version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagArg {
    secret_id: String,
    #[serde(default)]
    tags: Option<Value>,
    #[serde(default)]
    tag_keys: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PasswordArg {
    password_length: Option<i64>,
    exclude_characters: Option<String>,
    exclude_numbers: bool,
    exclude_punctuation: bool,
    exclude_uppercase: bool,
    exclude_lowercase: bool,
    include_space: bool,
    require_each_included_type: Option<bool>,
}

/// Checks ListSecrets-style filters: known keys, each with values.
pub(super) fn check_filters(filters: &[Filter]) -> Result<(), SecretsError> {
    for f in filters {
        let known = [
            "description",
            "name",
            "tag-key",
            "tag-value",
            "primary-region",
            "owning-service",
            "all",
        ];
        if !known.contains(&f.key.as_str()) || f.values.is_empty() {
            return Err(SecretsError::InvalidParameter(format!(
                "Invalid filter key {}: expected one of {known:?}, with values.",
                f.key
            )));
        }
    }
    Ok(())
}

/// Does a secret pass one ListSecrets filter (values OR'd, `!` negates)?
pub(super) fn filter_matches(f: &Filter, s: &SecretEntry, tags: &TagSet) -> bool {
    let description = s.description.clone().unwrap_or_default();
    f.values.iter().any(|raw| {
        let (negate, value) = match raw.strip_prefix('!') {
            Some(v) => (true, v),
            None => (false, raw.as_str()),
        };
        let hit = match f.key.as_str() {
            "name" => s.name.starts_with(value),
            "description" => description
                .to_lowercase()
                .starts_with(&value.to_lowercase()),
            "tag-key" => tags.keys().any(|k| k.starts_with(value)),
            "tag-value" => tags.values().any(|v| v.starts_with(value)),
            "all" => {
                let hay: Vec<String> = [s.name.clone(), description.clone()]
                    .into_iter()
                    .chain(tags.iter().flat_map(|(k, v)| [k.clone(), v.clone()]))
                    .map(|x| x.to_lowercase())
                    .collect();
                value
                    .split_whitespace()
                    .all(|w| hay.iter().any(|h| h.contains(&w.to_lowercase())))
            }
            // primary-region, owning-service: nothing here has them.
            _ => false,
        };
        hit != negate
    })
}

impl Secrets {
    pub(super) fn list_secrets(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: ListArg = parse(body)?;
        let limit = max_results(r.max_results, 100, 100, SecretsError::InvalidParameter)?;
        check_filters(&r.filters)?;
        let descending = match r.sort_order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(o) => {
                return Err(SecretsError::InvalidParameter(format!(
                    "Invalid SortOrder {o}: asc or desc."
                )))
            }
        };
        let sort_by = r.sort_by.clone().unwrap_or_else(|| "created-date".into());
        let mut items: Vec<((i64, String), Value)> = Vec::new();
        self.engine.read(|state| {
            for s in state.secrets.secrets.values() {
                if s.deleted_date.is_some() && !r.include_planned_deletion {
                    continue;
                }
                let tags = state.tags_of(&s.arn);
                if !r.filters.iter().all(|f| filter_matches(f, s, &tags)) {
                    continue;
                }
                let rank = match sort_by.as_str() {
                    "name" => 0,
                    "last-changed-date" | "last-accessed-date" => micros(s.last_changed_date),
                    _ => micros(s.created_date),
                };
                items.push((
                    (rank, s.name.clone()),
                    secret_json(s, &tags, "SecretVersionsToStages"),
                ));
            }
        });
        items.sort_by(|a, b| a.0.cmp(&b.0));
        if descending {
            items.reverse();
        }
        let kind = format!("ListSecrets:{sort_by}:{descending}");
        let (list, next) = page::page(&kind, items, r.next_token.as_deref(), limit, descending)
            .map_err(invalid_token)?;
        let mut reply = json!({ "SecretList": list });
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }

    pub(super) fn list_secret_version_ids(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: VersionsArg = parse(body)?;
        let limit = max_results(r.max_results, 100, 100, SecretsError::InvalidParameter)?;
        let (arn, name, items) = self.read(|st| {
            let s = find_secret(st, &r.secret_id).ok_or(SecretsError::SecretNotFound)?;
            let items: Vec<((i64, String), Value)> = s
                .all_versions()
                .iter()
                .filter(|v| r.include_deprecated || !v.stages.is_empty())
                .map(|v| {
                    let entry = json!({
                        "VersionId": v.version_id,
                        "VersionStages": v.stages,
                        "CreatedDate": v.created_date,
                    });
                    ((micros(v.created_date), v.version_id.clone()), entry)
                })
                .collect();
            Ok::<_, SecretsError>((s.arn.clone(), s.name.clone(), items))
        })?;
        let mut items = items;
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (versions, next) = page::page(
            "ListSecretVersionIds",
            items,
            r.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(invalid_token)?;
        let mut reply = json!({"Versions": versions, "ARN": arn, "Name": name});
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }

    pub(super) async fn update_secret_version_stage(
        &self,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: StageArg = parse(body)?;
        let stage = r.version_stage.clone();
        if stage.is_empty() || stage.len() > 256 {
            return Err(SecretsError::InvalidParameter(
                "VersionStage must be 1 to 256 characters.".into(),
            ));
        }
        self.write(|st| {
            let s = live_secret_mut(st, &r.secret_id)?;
            let to = r.move_to_version_id.as_deref();
            if let Some(id) = to {
                let v = s
                    .by_id(id)
                    .ok_or_else(|| SecretsError::NoValue(format!("VersionId: {id}")))?;
                if v.stages.len() >= 20 && !v.stages.contains(&stage) {
                    return Err(SecretsError::LimitExceeded(
                        "A version can have at most 20 staging labels.".into(),
                    ));
                }
            }
            let holder = s.by_stage(&stage).map(|v| v.version_id);
            let from = r.remove_from_version_id.as_deref();
            match (&holder, from) {
                (Some(h), Some(f)) if h != f => {
                    return Err(SecretsError::InvalidParameter(format!(
                        "The staging label {stage} is currently attached to version {h}, not to version {f}."
                    )))
                }
                (Some(h), None) if Some(h.as_str()) != to => {
                    return Err(SecretsError::InvalidParameter(format!(
                        "The staging label {stage} is currently attached to version {h}, so you \
                         must explicitly reference that version in RemoveFromVersionId."
                    )))
                }
                (None, Some(f)) => {
                    return Err(SecretsError::InvalidParameter(format!(
                        "The staging label {stage} is not attached to version {f}."
                    )))
                }
                _ => {}
            }
            if to.is_none() {
                if from.is_none() {
                    return Err(SecretsError::InvalidParameter(
                        "Either MoveToVersionId or RemoveFromVersionId is required.".into(),
                    ));
                }
                if stage == AWSCURRENT {
                    return Err(SecretsError::InvalidParameter(
                        "You can only move staging label AWSCURRENT to a different secret \
                         version. It can't be completely removed."
                            .into(),
                    ));
                }
            }
            move_stage(s, &stage, to);
            s.settle();
            s.last_changed_date = now_epoch();
            Ok(json!({"ARN": s.arn, "Name": s.name}))
        })
        .await?
    }

    pub(super) async fn tag_secret(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: TagArg = parse(body)?;
        if r.tags.is_none() {
            return Err(SecretsError::InvalidParameter("Tags is required.".into()));
        }
        let new = tags::parse(r.tags.as_ref()).map_err(SecretsError::InvalidParameter)?;
        self.write_state(|state| {
            let arn = find_secret(&state.secrets, &r.secret_id)
                .map(|s| s.arn.clone())
                .ok_or(SecretsError::SecretNotFound)?;
            if !tags::fits(&state.tags_of(&arn), &new) {
                return Err(SecretsError::InvalidParameter(format!(
                    "A secret can have at most {} tags.",
                    tags::MAX_TAGS
                )));
            }
            state.tag(&arn, new);
            Ok(json!({}))
        })
        .await?
    }

    pub(super) async fn untag_secret(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: TagArg = parse(body)?;
        let keys = r
            .tag_keys
            .clone()
            .ok_or_else(|| SecretsError::InvalidParameter("TagKeys is required.".into()))?;
        self.write_state(|state| {
            let arn = find_secret(&state.secrets, &r.secret_id)
                .map(|s| s.arn.clone())
                .ok_or(SecretsError::SecretNotFound)?;
            state.untag(&arn, &keys);
            Ok(json!({}))
        })
        .await?
    }
}

const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// GetRandomPassword: `PasswordLength` (default 32) characters from the
/// included classes less `ExcludeCharacters`, at least one of each class
/// unless `RequireEachIncludedType` is false.
pub(super) fn get_random_password(body: &Value) -> Result<Value, SecretsError> {
    use rand::Rng;
    let r: PasswordArg = parse(body)?;
    let length = r.password_length.unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(SecretsError::InvalidParameter(
            "PasswordLength must be between 1 and 4096.".into(),
        ));
    }
    let excluded = r.exclude_characters.unwrap_or_default();
    let mut classes: Vec<Vec<char>> = Vec::new();
    let mut add = |on: bool, chars: &str| {
        let set: Vec<char> = chars.chars().filter(|c| !excluded.contains(*c)).collect();
        if on && !set.is_empty() {
            classes.push(set);
        }
    };
    add(!r.exclude_lowercase, "abcdefghijklmnopqrstuvwxyz");
    add(!r.exclude_uppercase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    add(!r.exclude_numbers, "0123456789");
    add(!r.exclude_punctuation, PUNCTUATION);
    add(r.include_space, " ");
    if classes.is_empty() {
        return Err(SecretsError::InvalidParameter(
            "The password can't be generated: every character is excluded.".into(),
        ));
    }
    let length = length as usize;
    let each = r.require_each_included_type.unwrap_or(true);
    if each && length < classes.len() {
        return Err(SecretsError::InvalidParameter(format!(
            "PasswordLength {length} is too short to include each of the {} included character types.",
            classes.len()
        )));
    }
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    let mut rng = rand::rng();
    let mut chars: Vec<char> = Vec::with_capacity(length);
    if each {
        for class in &classes {
            chars.push(class[rng.random_range(0..class.len())]);
        }
    }
    while chars.len() < length {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    // Shuffle, so the required characters are anywhere.
    for i in (1..chars.len()).rev() {
        chars.swap(i, rng.random_range(0..=i));
    }
    Ok(json!({ "RandomPassword": chars.into_iter().collect::<String>() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> SecretEntry {
        let mut s = SecretEntry::default();
        add_version(&mut s, "v1", "one", &[AWSCURRENT.into()], 1.0).unwrap();
        s
    }

    #[test]
    fn new_values_move_awscurrent_and_awsprevious() {
        let mut s = entry();
        assert_eq!(s.version_id, "v1");
        add_version(&mut s, "v2", "two", &[AWSCURRENT.into()], 2.0).unwrap();
        add_version(&mut s, "v3", "three", &[AWSCURRENT.into()], 3.0).unwrap();
        assert_eq!(s.by_stage(AWSCURRENT).unwrap().version_id, "v3");
        assert_eq!(s.by_stage(AWSPREVIOUS).unwrap().version_id, "v2");
        assert!(s.by_id("v1").unwrap().stages.is_empty());
        assert_eq!(s.secret_string, "three");
        // A pending version does not touch the current one.
        let staged = add_version(&mut s, "v4", "four", &["AWSPENDING".into()], 4.0).unwrap();
        assert_eq!(staged, vec!["AWSPENDING".to_string()]);
        assert_eq!(s.version_id, "v3");
        // A retry with the same token and value is the same version.
        assert!(add_version(&mut s, "v4", "four", &[AWSCURRENT.into()], 5.0).is_ok());
        assert_eq!(s.version_id, "v3");
        assert_eq!(
            add_version(&mut s, "v4", "other", &[AWSCURRENT.into()], 5.0),
            Err(SecretsError::VersionExists)
        );
        move_stage(&mut s, AWSCURRENT, Some("v4"));
        s.settle();
        assert_eq!(s.version_id, "v4");
        assert_eq!(s.by_stage(AWSPREVIOUS).unwrap().version_id, "v3");
        assert!(s.by_stage("AWSPENDING").is_some());
    }

    #[test]
    fn deprecated_versions_are_bounded() {
        let mut s = entry();
        for i in 0..(SecretEntry::MAX_DEPRECATED + 10) {
            add_version(
                &mut s,
                &format!("x{i}"),
                "v",
                &[AWSCURRENT.into()],
                i as f64,
            )
            .unwrap();
        }
        let deprecated = s.versions.iter().filter(|v| v.stages.is_empty()).count();
        assert_eq!(deprecated, SecretEntry::MAX_DEPRECATED);
        assert!(s.by_id("v1").is_none());
    }

    #[test]
    fn random_passwords_follow_the_parameters() {
        let pw = |body: Value| {
            get_random_password(&body).unwrap()["RandomPassword"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(pw(json!({})).len(), 32);
        let p = pw(
            json!({"PasswordLength": 64, "ExcludePunctuation": true, "ExcludeCharacters": "abc"}),
        );
        assert_eq!(p.len(), 64);
        assert!(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"abc".contains(c)),
            "{p}"
        );
        for _ in 0..20 {
            let p =
                pw(json!({"PasswordLength": 4, "IncludeSpace": true, "ExcludeLowercase": true}));
            assert!(
                p.contains(' ') && p.chars().any(|c| c.is_ascii_uppercase()),
                "{p:?}"
            );
            assert!(
                p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| PUNCTUATION.contains(c))
            );
        }
        let p = pw(
            json!({"PasswordLength": 10, "ExcludeUppercase": true, "ExcludeLowercase": true, "ExcludePunctuation": true}),
        );
        assert!(p.chars().all(|c| c.is_ascii_digit()), "{p}");
        for bad in [
            json!({"PasswordLength": 0}),
            json!({"PasswordLength": 4097}),
            json!({"PasswordLength": 3, "IncludeSpace": true}),
            json!({"ExcludeNumbers": true, "ExcludePunctuation": true, "ExcludeUppercase": true, "ExcludeLowercase": true}),
        ] {
            assert!(get_random_password(&bad).is_err(), "{bad}");
        }
        // Without RequireEachIncludedType a short password is fine.
        assert_eq!(
            pw(json!({"PasswordLength": 1, "RequireEachIncludedType": false})).len(),
            1
        );
    }
}
