//! Repositories: CreateRepository, DescribeRepositories, DeleteRepository,
//! PutImageTagMutability, tags, and GetAuthorizationToken.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, Ecr, EcrError};
use crate::model::ecr::Repository;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    repository_name: String,
    #[serde(default)]
    tags: Vec<Tag>,
    image_tag_mutability: Option<String>,
    image_scanning_configuration: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Describe {
    repository_names: Option<Vec<String>>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delete {
    repository_name: String,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mutability {
    repository_name: String,
    image_tag_mutability: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagResource {
    resource_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

/// ECR's repository name rule: 2 to 256 characters, lowercase letters and
/// digits in components separated by `.`, `_`, `-` and `/`.
pub fn validate_name(name: &str) -> Result<(), EcrError> {
    let re = regex::Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
        .expect("valid regex");
    if name.len() < 2 || name.len() > 256 {
        return Err(EcrError::InvalidParameter(format!(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length between 2 and 256' (got '{name}')"
        )));
    }
    if !re.is_match(name) {
        return Err(EcrError::InvalidParameter(format!(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'' (got '{name}')"
        )));
    }
    Ok(())
}

fn mutability(v: Option<&str>) -> Result<String, EcrError> {
    match v.unwrap_or("MUTABLE") {
        m @ ("MUTABLE" | "IMMUTABLE") => Ok(m.to_string()),
        other => Err(EcrError::InvalidParameter(format!(
            "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]' (got '{other}')"
        ))),
    }
}

fn tag_pairs(tags: Vec<Tag>) -> Result<Vec<(String, String)>, EcrError> {
    tags.into_iter()
        .map(|t| {
            if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
                return Err(EcrError::InvalidTagParameter(format!(
                    "The tag '{}' is not valid: keys are 1 to 128 characters, values at most 256.",
                    t.key
                )));
            }
            Ok((t.key, t.value))
        })
        .collect()
}

impl Ecr {
    /// A repository in ECR's shape.
    pub(super) fn repository_json(&self, r: &Repository) -> Value {
        json!({
            "repositoryArn": r.repository_arn,
            "registryId": r.registry_id,
            "repositoryName": r.repository_name,
            "repositoryUri": format!("{}/{}", self.registry_host(), r.repository_name),
            "createdAt": r.created_at,
            "imageTagMutability": r.image_tag_mutability,
            "imageScanningConfiguration": {"scanOnPush": r.scan_on_push},
            "encryptionConfiguration": {"encryptionType": "AES256"},
        })
    }

    pub(super) async fn create_repository(&self, body: &Value) -> Result<Value, EcrError> {
        let req: Create = parse(body)?;
        validate_name(&req.repository_name)?;
        let account = self.account();
        let repo = Repository {
            repository_arn: format!(
                "arn:aws:ecr:{}:{account}:repository/{}",
                self.region(),
                req.repository_name
            ),
            repository_name: req.repository_name.clone(),
            registry_id: account.clone(),
            created_at: crate::model::now_epoch(),
            image_tag_mutability: mutability(req.image_tag_mutability.as_deref())?,
            scan_on_push: req
                .image_scanning_configuration
                .as_ref()
                .and_then(|c| c.get("scanOnPush"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..Default::default()
        };
        let tags = tag_pairs(req.tags)?;
        let created = self
            .write(|s| {
                if s.ecr_repositories.contains_key(&repo.repository_name) {
                    return false;
                }
                s.ecr_repositories
                    .insert(repo.repository_name.clone(), repo.clone());
                s.tag(&repo.repository_arn, tags);
                true
            })
            .await?;
        if !created {
            return Err(EcrError::RepositoryAlreadyExists(
                req.repository_name,
                account,
            ));
        }
        Ok(json!({"repository": self.repository_json(&repo)}))
    }

    pub(super) async fn describe_repositories(&self, body: &Value) -> Result<Value, EcrError> {
        let req: Describe = parse(body)?;
        let limit = max_results(req.max_results)?;
        if req.repository_names.is_some() && (req.max_results.is_some() || req.next_token.is_some())
        {
            return Err(EcrError::InvalidParameter(
                "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames"
                    .into(),
            ));
        }
        if let Some(names) = req.repository_names {
            let mut out = Vec::new();
            for n in names {
                out.push(self.repository_json(&self.repository(&n)?));
            }
            return Ok(json!({"repositories": out}));
        }
        let items: Vec<(String, Repository)> = self.read(|s| {
            s.ecr_repositories
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        let (page, next) = crate::page::page(
            "ecr.DescribeRepositories",
            items,
            req.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(|_| invalid_token())?;
        let repos: Vec<Value> = page.iter().map(|r| self.repository_json(r)).collect();
        let mut out = json!({"repositories": repos});
        if let Some(t) = next {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    pub(super) async fn delete_repository(&self, body: &Value) -> Result<Value, EcrError> {
        let req: Delete = parse(body)?;
        let repo = self.repository(&req.repository_name)?;
        let images = self.images(&repo).await?;
        if !images.is_empty() && !req.force {
            return Err(EcrError::RepositoryNotEmpty(
                req.repository_name,
                self.account(),
            ));
        }
        for image in &images {
            self.delete_manifest(&repo.repository_name, &image.digest)
                .await?;
        }
        self.write(|s| {
            s.ecr_repositories.remove(&repo.repository_name);
            s.tags.remove(&repo.repository_arn);
        })
        .await?;
        Ok(json!({"repository": self.repository_json(&repo)}))
    }

    pub(super) async fn put_image_tag_mutability(&self, body: &Value) -> Result<Value, EcrError> {
        let req: Mutability = parse(body)?;
        let m = mutability(Some(&req.image_tag_mutability))?;
        let mut repo = self.repository(&req.repository_name)?;
        repo.image_tag_mutability = m.clone();
        self.write(|s| {
            s.ecr_repositories
                .insert(repo.repository_name.clone(), repo.clone())
        })
        .await?;
        Ok(json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "imageTagMutability": m,
        }))
    }

    /// The repository an ARN names.
    fn by_arn(&self, arn: &str) -> Result<Repository, EcrError> {
        let name = arn.split_once(":repository/").map(|(_, n)| n).ok_or_else(|| {
            EcrError::InvalidParameter(format!(
                "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN' (got '{arn}')"
            ))
        })?;
        self.repository(name)
    }

    pub(super) async fn tag_resource(&self, body: &Value) -> Result<Value, EcrError> {
        let req: TagResource = parse(body)?;
        let repo = self.by_arn(&req.resource_arn)?;
        let tags = tag_pairs(req.tags)?;
        self.write(|s| s.tag(&repo.repository_arn, tags)).await?;
        Ok(json!({}))
    }

    pub(super) async fn untag_resource(&self, body: &Value) -> Result<Value, EcrError> {
        let req: TagResource = parse(body)?;
        let repo = self.by_arn(&req.resource_arn)?;
        self.write(|s| s.untag(&repo.repository_arn, &req.tag_keys))
            .await?;
        Ok(json!({}))
    }

    pub(super) fn list_tags_for_resource(&self, body: &Value) -> Result<Value, EcrError> {
        let req: TagResource = parse(body)?;
        let repo = self.by_arn(&req.resource_arn)?;
        let tags: Vec<Value> = self
            .read(|s| s.tags_of(&repo.repository_arn))
            .into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        Ok(json!({"tags": tags}))
    }

    pub(super) fn get_authorization_token(&self) -> Result<Value, EcrError> {
        use base64::Engine as _;
        self.registry.url()?;
        let expires = crate::model::now_epoch().floor() + 12.0 * 3600.0;
        let password = super::proxy::password(&self.registry.secret, expires as u64);
        let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
        Ok(json!({"authorizationData": [{
            "authorizationToken": token,
            "expiresAt": expires,
            "proxyEndpoint": format!("http://{}", self.registry_host()),
        }]}))
    }
}

/// `maxResults` within ECR's 1..=1000 (default 100).
pub(super) fn max_results(given: Option<i64>) -> Result<usize, EcrError> {
    match given {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(n) => Err(EcrError::InvalidParameter(format!(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000' (got {n})"
        ))),
    }
}

pub(super) fn invalid_token() -> EcrError {
    EcrError::InvalidParameter("Invalid parameter at 'nextToken': the token is not valid.".into())
}
