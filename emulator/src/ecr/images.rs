//! Images, read from the registry: ListImages, DescribeImages,
//! BatchGetImage, BatchDeleteImage. What these show is what the registry
//! holds: an image `docker push`ed is listed without any other call.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::repositories::{invalid_token, max_results};
use super::{parse, Ecr, EcrError};
use crate::model::ecr::Repository;

/// The manifest types a reader accepts (Docker v2 and OCI, single and lists).
pub const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// One image of a repository: a manifest and the tags naming it.
#[derive(Debug, Clone)]
pub struct Image {
    pub digest: String,
    pub tags: Vec<String>,
    pub media_type: String,
    pub manifest: String,
}

impl Image {
    /// ECR's `imageSizeInBytes`: the config and layers of a manifest (the
    /// manifests' sizes for an index).
    fn size(&self) -> u64 {
        let v: Value = serde_json::from_str(&self.manifest).unwrap_or_default();
        let sum = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| l["size"].as_u64()).sum::<u64>())
                .unwrap_or(0)
        };
        v["config"]["size"].as_u64().unwrap_or(0) + sum("layers") + sum("manifests")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct ImageId {
    image_digest: Option<String>,
    image_tag: Option<String>,
}

impl ImageId {
    fn json(&self) -> Value {
        let mut v = json!({});
        if let Some(d) = &self.image_digest {
            v["imageDigest"] = json!(d);
        }
        if let Some(t) = &self.image_tag {
            v["imageTag"] = json!(t);
        }
        v
    }

    fn describe(&self) -> String {
        let q = |o: &Option<String>| o.as_deref().map_or("null".into(), |s| format!("'{s}'"));
        format!(
            "{{imageDigest:{}, imageTag:{}}}",
            q(&self.image_digest),
            q(&self.image_tag)
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImagesRequest {
    repository_name: String,
    image_ids: Option<Vec<ImageId>>,
    filter: Option<Filter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    tag_status: Option<String>,
}

impl Ecr {
    /// A manifest by tag or digest: its digest, media type and text.
    pub(super) async fn manifest(
        &self,
        name: &str,
        reference: &str,
    ) -> Result<Option<Image>, EcrError> {
        let url = self.registry.url()?;
        let resp = self
            .registry
            .http
            .get(format!("{url}/v2/{name}/manifests/{reference}"))
            .header("accept", MANIFEST_TYPES)
            .send()
            .await
            .map_err(registry_error)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(EcrError::Server(format!(
                "the registry answered {} for {name}:{reference}",
                resp.status()
            )));
        }
        let header = |h: &str| {
            resp.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let digest = header("docker-content-digest");
        let media_type = header("content-type");
        let manifest = resp.text().await.map_err(registry_error)?;
        Ok(Some(Image {
            digest,
            tags: Vec::new(),
            media_type,
            manifest,
        }))
    }

    /// Every image of a repository, by digest order: the tagged ones and
    /// those pushed by digest that the registry still holds.
    pub(super) async fn images(&self, repo: &Repository) -> Result<Vec<Image>, EcrError> {
        let url = self.registry.url()?;
        let name = &repo.repository_name;
        let resp = self
            .registry
            .http
            .get(format!("{url}/v2/{name}/tags/list"))
            .send()
            .await
            .map_err(registry_error)?;
        let tags: Vec<String> = if resp.status().is_success() {
            let v: Value = resp.json().await.map_err(registry_error)?;
            serde_json::from_value(v["tags"].clone()).unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut by_digest: BTreeMap<String, Image> = BTreeMap::new();
        for tag in tags {
            if let Some(img) = self.manifest(name, &tag).await? {
                by_digest
                    .entry(img.digest.clone())
                    .or_insert(img)
                    .tags
                    .push(tag);
            }
        }
        let pushed = self
            .read(|s| s.ecr_repositories.get(name).map(|r| r.pushed_at.clone()))
            .unwrap_or_default();
        for digest in pushed.keys() {
            if !by_digest.contains_key(digest) {
                if let Some(img) = self.manifest(name, digest).await? {
                    by_digest.insert(digest.clone(), img);
                }
            }
        }
        // Images listed inside an index are that index's, not images of
        // their own (as ECR lists a multi-platform push).
        let children: Vec<String> = by_digest
            .values()
            .flat_map(|i| {
                let v: Value = serde_json::from_str(&i.manifest).unwrap_or_default();
                v["manifests"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m["digest"].as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        Ok(by_digest
            .into_values()
            .filter(|i| !i.tags.is_empty() || !children.contains(&i.digest))
            .collect())
    }

    /// Deletes a manifest by digest (and so every tag naming it).
    pub(super) async fn delete_manifest(&self, name: &str, digest: &str) -> Result<(), EcrError> {
        let url = self.registry.url()?;
        let resp = self
            .registry
            .http
            .delete(format!("{url}/v2/{name}/manifests/{digest}"))
            .send()
            .await
            .map_err(registry_error)?;
        if !resp.status().is_success() && resp.status() != reqwest::StatusCode::NOT_FOUND {
            return Err(EcrError::Server(format!(
                "the registry refused to delete {name}@{digest}: {}",
                resp.status()
            )));
        }
        Ok(())
    }

    /// The images a request's `filter`/paging selects, with the repository.
    async fn selected(
        &self,
        req: &ImagesRequest,
        kind: &str,
    ) -> Result<(Repository, Vec<Image>, Option<String>), EcrError> {
        let limit = max_results(req.max_results)?;
        let repo = self.repository(&req.repository_name)?;
        let status = req
            .filter
            .as_ref()
            .and_then(|f| f.tag_status.clone())
            .unwrap_or_else(|| "ANY".into());
        if !["TAGGED", "UNTAGGED", "ANY"].contains(&status.as_str()) {
            return Err(EcrError::InvalidParameter(format!(
                "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]' (got '{status}')"
            )));
        }
        let items: Vec<(String, Image)> = self
            .images(&repo)
            .await?
            .into_iter()
            .filter(|i| match status.as_str() {
                "TAGGED" => !i.tags.is_empty(),
                "UNTAGGED" => i.tags.is_empty(),
                _ => true,
            })
            .map(|i| (i.digest.clone(), i))
            .collect();
        let (page, next) = crate::page::page(kind, items, req.next_token.as_deref(), limit, false)
            .map_err(|_| invalid_token())?;
        Ok((repo, page, next))
    }

    pub(super) async fn list_images(&self, body: &Value) -> Result<Value, EcrError> {
        let req: ImagesRequest = parse(body)?;
        let (_, page, next) = self.selected(&req, "ecr.ListImages").await?;
        let mut ids = Vec::new();
        for i in &page {
            if i.tags.is_empty() {
                ids.push(json!({"imageDigest": i.digest}));
            }
            for t in &i.tags {
                ids.push(json!({"imageDigest": i.digest, "imageTag": t}));
            }
        }
        let mut out = json!({"imageIds": ids});
        if let Some(t) = next {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    fn detail(&self, repo: &Repository, i: &Image) -> Value {
        let pushed = self
            .read(|s| {
                s.ecr_repositories
                    .get(&repo.repository_name)
                    .and_then(|r| r.pushed_at.get(&i.digest).copied())
            })
            .unwrap_or_else(crate::model::now_epoch);
        let mut v = json!({
            "registryId": repo.registry_id,
            "repositoryName": repo.repository_name,
            "imageDigest": i.digest,
            "imageSizeInBytes": i.size(),
            "imagePushedAt": pushed,
            "imageManifestMediaType": i.media_type,
        });
        if !i.tags.is_empty() {
            v["imageTags"] = json!(i.tags);
        }
        let config: Value = serde_json::from_str(&i.manifest).unwrap_or_default();
        if let Some(t) = config["config"]["mediaType"].as_str() {
            v["artifactMediaType"] = json!(t);
        }
        v
    }

    /// The images `ids` name, or the first one missing as ECR reports it.
    async fn by_ids(
        &self,
        repo: &Repository,
        ids: &[ImageId],
    ) -> Result<Vec<Result<Image, ImageId>>, EcrError> {
        let all = self.images(repo).await?;
        Ok(ids
            .iter()
            .map(|id| {
                all.iter()
                    .find(|i| {
                        id.image_digest.as_ref().is_none_or(|d| *d == i.digest)
                            && id.image_tag.as_ref().is_none_or(|t| i.tags.contains(t))
                            && (id.image_digest.is_some() || id.image_tag.is_some())
                    })
                    .cloned()
                    .ok_or_else(|| id.clone())
            })
            .collect())
    }

    fn not_found(&self, repo: &Repository, id: &ImageId) -> String {
        format!(
            "The image with imageId {} does not exist within the repository with name '{}' in the registry with id '{}'",
            id.describe(),
            repo.repository_name,
            repo.registry_id
        )
    }

    pub(super) async fn describe_images(&self, body: &Value) -> Result<Value, EcrError> {
        let req: ImagesRequest = parse(body)?;
        if let Some(ids) = &req.image_ids {
            let repo = self.repository(&req.repository_name)?;
            let mut out = Vec::new();
            for found in self.by_ids(&repo, ids).await? {
                match found {
                    Ok(i) => out.push(self.detail(&repo, &i)),
                    Err(id) => return Err(EcrError::ImageNotFound(self.not_found(&repo, &id))),
                }
            }
            return Ok(json!({"imageDetails": out}));
        }
        let (repo, page, next) = self.selected(&req, "ecr.DescribeImages").await?;
        let details: Vec<Value> = page.iter().map(|i| self.detail(&repo, i)).collect();
        let mut out = json!({"imageDetails": details});
        if let Some(t) = next {
            out["nextToken"] = json!(t);
        }
        Ok(out)
    }

    pub(super) async fn batch_get_image(&self, body: &Value) -> Result<Value, EcrError> {
        let req: ImagesRequest = parse(body)?;
        let repo = self.repository(&req.repository_name)?;
        let ids = req.image_ids.unwrap_or_default();
        let (mut images, mut failures) = (Vec::new(), Vec::new());
        for (found, id) in self.by_ids(&repo, &ids).await?.into_iter().zip(&ids) {
            match found {
                Ok(i) => {
                    let mut image_id = id.json();
                    image_id["imageDigest"] = json!(i.digest);
                    images.push(json!({
                        "registryId": repo.registry_id,
                        "repositoryName": repo.repository_name,
                        "imageId": image_id,
                        "imageManifest": i.manifest,
                        "imageManifestMediaType": i.media_type,
                    }))
                }
                Err(id) => failures.push(failure(&id)),
            }
        }
        Ok(json!({"images": images, "failures": failures}))
    }

    pub(super) async fn batch_delete_image(&self, body: &Value) -> Result<Value, EcrError> {
        let req: ImagesRequest = parse(body)?;
        let repo = self.repository(&req.repository_name)?;
        let ids = req.image_ids.unwrap_or_default();
        let (mut deleted, mut failures) = (Vec::new(), Vec::new());
        // Tags already removed by this request, by digest.
        let mut untagged: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (found, id) in self.by_ids(&repo, &ids).await?.into_iter().zip(&ids) {
            let i = match found {
                Ok(i) => i,
                Err(id) => {
                    failures.push(failure(&id));
                    continue;
                }
            };
            let gone = untagged.entry(i.digest.clone()).or_default();
            let left: Vec<&String> = i.tags.iter().filter(|t| !gone.contains(t)).collect();
            // By tag, of an image with other tags: only the tag goes.
            if let (Some(tag), None) = (&id.image_tag, &id.image_digest) {
                if left.len() > 1 {
                    self.registry.untag(&repo.repository_name, tag)?;
                    gone.push(tag.clone());
                    deleted.push(json!({"imageDigest": i.digest, "imageTag": tag}));
                    continue;
                }
            }
            self.delete_manifest(&repo.repository_name, &i.digest)
                .await?;
            if left.is_empty() {
                deleted.push(json!({"imageDigest": i.digest}));
            }
            for t in left {
                deleted.push(json!({"imageDigest": i.digest, "imageTag": t}));
            }
            self.write(|s| {
                if let Some(mut r) = s.ecr_repositories.get(&repo.repository_name).cloned() {
                    r.pushed_at.remove(&i.digest);
                    s.ecr_repositories.insert(r.repository_name.clone(), r);
                }
            })
            .await?;
        }
        Ok(json!({"imageIds": deleted, "failures": failures}))
    }
}

fn failure(id: &ImageId) -> Value {
    let (code, reason) = match (&id.image_digest, &id.image_tag) {
        (None, None) => ("MissingDigestAndTag", "Missing digest and tag"),
        (Some(d), _) if !d.starts_with("sha256:") => ("InvalidImageDigest", "Invalid image digest"),
        _ => ("ImageNotFound", "Requested image not found"),
    };
    json!({"imageId": id.json(), "failureCode": code, "failureReason": reason})
}

fn registry_error(e: reqwest::Error) -> EcrError {
    EcrError::Server(format!("the image registry did not answer: {e}"))
}
