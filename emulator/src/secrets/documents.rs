//! SSM documents: CreateDocument, GetDocument, DescribeDocument,
//! ListDocuments, UpdateDocument (a new version; the default version
//! stays until UpdateDocumentDefaultVersion moves it), DeleteDocument (the
//! whole document or one version), ListDocumentVersions. The content is
//! checked by `document_content`; the emulator owns no AWS documents, so
//! the account's own are all there is to list.

use serde::Deserialize;
use serde_json::{json, Value};

use super::document_content::{self, TYPES};
use super::*;
use crate::db::state::TagSet;
use crate::model::secrets::{Document, DocumentVersion};
use crate::page;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteArg {
    content: String,
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    version_name: Option<String>,
    #[serde(default)]
    document_type: Option<String>,
    #[serde(default)]
    document_format: Option<String>,
    #[serde(default)]
    target_type: Option<String>,
    #[serde(default)]
    document_version: Option<String>,
    #[serde(default)]
    tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DocArg {
    name: String,
    #[serde(default)]
    document_version: Option<String>,
    #[serde(default)]
    version_name: Option<String>,
    #[serde(default)]
    document_format: Option<String>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyFilter {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListArg {
    #[serde(default)]
    document_filter_list: Option<Vec<LegacyFilter>>,
    #[serde(default)]
    filters: Option<Vec<super::versions::Filter>>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

/// The ARN tags of a document are kept under.
pub(super) fn document_arn(p: &Partition, name: &str) -> String {
    p.arn("ssm", &format!("document/{name}"))
}

fn no_document() -> SecretsError {
    SecretsError::Code(
        "InvalidDocument",
        "The specified document does not exist.".into(),
    )
}

fn bad_version() -> SecretsError {
    SecretsError::Code(
        "InvalidDocumentVersion",
        "The document version is not valid or does not exist.".into(),
    )
}

/// A document version as `DocumentVersion` names it (`$LATEST`,
/// `$DEFAULT` or a number).
fn version_number(doc: &Document, asked: &str) -> Result<u64, SecretsError> {
    match asked {
        "$LATEST" => Ok(doc.latest()),
        "$DEFAULT" => Ok(doc.default_version),
        n => match n.parse::<u64>() {
            Ok(n) if n >= 1 && !n.to_string().starts_with('0') => Ok(n),
            _ => Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{n}' at 'documentVersion' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 ([$]LATEST|[$]DEFAULT|^[1-9][0-9]*$)"
            ))),
        },
    }
}

/// The version a request names by `DocumentVersion` and/or `VersionName`
/// (the default version when neither).
fn select<'a>(
    doc: &'a Document,
    version: Option<&str>,
    name: Option<&str>,
) -> Result<&'a DocumentVersion, SecretsError> {
    let by_number = match version {
        Some(v) => Some(
            doc.version(version_number(doc, v)?)
                .ok_or_else(bad_version)?,
        ),
        None => None,
    };
    match (by_number, name) {
        (Some(v), Some(n)) if v.version_name.as_deref() != Some(n) => Err(bad_version()),
        (Some(v), _) => Ok(v),
        (None, Some(n)) => doc
            .versions
            .iter()
            .find(|v| v.version_name.as_deref() == Some(n))
            .ok_or_else(bad_version),
        (None, None) => doc.version(doc.default_version).ok_or_else(bad_version),
    }
}

fn check_name(name: &str) -> Result<(), SecretsError> {
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !ok {
        return Err(SecretsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{{3,128}}$"
        )));
    }
    let lower = name.to_ascii_lowercase();
    if ["aws", "amazon", "amzn"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(SecretsError::Validation(
            "Document names can't begin with the following reserved prefixes: aws, amazon, amzn."
                .into(),
        ));
    }
    Ok(())
}

fn check_version_name(name: Option<&str>) -> Result<(), SecretsError> {
    match name {
        Some(n)
            if n.is_empty()
                || n.len() > 128
                || !n.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
        {
            Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{n}' at 'versionName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{{1,128}}$"
            )))
        }
        _ => Ok(()),
    }
}

/// A new version of `doc_type` from a request, its content checked.
fn new_version(r: &WriteArg, doc_type: &str, number: u64) -> Result<DocumentVersion, SecretsError> {
    check_version_name(r.version_name.as_deref())?;
    let format = r.document_format.clone().unwrap_or_else(|| "JSON".into());
    let parsed = document_content::parse(&r.content, &format, doc_type)?;
    Ok(DocumentVersion {
        version: number,
        hash: super::sha256::hex(r.content.as_bytes()),
        content: r.content.clone(),
        format,
        created_date: now_epoch(),
        version_name: r.version_name.clone(),
        display_name: r.display_name.clone(),
        schema_version: parsed.schema_version,
        description: parsed.description,
        parameters: parsed.parameters,
        platform_types: parsed.platform_types,
    })
}

/// A `DocumentDescription` of one version.
fn description_json(p: &Partition, doc: &Document, v: &DocumentVersion, tags: &TagSet) -> Value {
    let mut out = json!({
        "Hash": v.hash,
        "HashType": "Sha256",
        "Name": doc.name,
        "Owner": p.account,
        "CreatedDate": v.created_date,
        "Status": "Active",
        "DocumentVersion": v.version.to_string(),
        "PlatformTypes": v.platform_types,
        "DocumentType": doc.document_type,
        "LatestVersion": doc.latest().to_string(),
        "DefaultVersion": doc.default_version.to_string(),
        "DocumentFormat": v.format,
        "Tags": tags::list(tags),
    });
    if let Some(d) = &v.description {
        out["Description"] = json!(d);
    }
    put_names(&mut out, doc, v);
    if !v.parameters.is_empty() {
        out["Parameters"] = json!(v.parameters);
    }
    out
}

/// A `DocumentIdentifier` (ListDocuments) of the default version.
fn identifier_json(p: &Partition, doc: &Document, tags: &TagSet) -> Value {
    let Some(v) = doc.version(doc.default_version) else {
        return json!({"Name": doc.name});
    };
    let mut out = json!({
        "Name": doc.name,
        "CreatedDate": v.created_date,
        "Owner": p.account,
        "PlatformTypes": v.platform_types,
        "DocumentVersion": v.version.to_string(),
        "DocumentType": doc.document_type,
        "DocumentFormat": v.format,
        "Tags": tags::list(tags),
    });
    put_names(&mut out, doc, v);
    out
}

/// The optional members both descriptions of a version have.
fn put_names(out: &mut Value, doc: &Document, v: &DocumentVersion) {
    let optional = [
        ("DisplayName", &v.display_name),
        ("VersionName", &v.version_name),
        ("SchemaVersion", &v.schema_version),
        ("TargetType", &doc.target_type),
    ];
    for (key, value) in optional {
        if let Some(x) = value {
            out[key] = json!(x);
        }
    }
}

/// Does a document pass one ListDocuments filter (values OR'd)?
fn passes(doc: &Document, tags: &TagSet, key: &str, values: &[String]) -> bool {
    let v = doc.version(doc.default_version);
    values.iter().any(|want| match key {
        "Name" => doc.name.starts_with(want.as_str()),
        // Every document here is the account's own.
        "Owner" => matches!(want.as_str(), "Self" | "Private" | "All"),
        "PlatformTypes" => v.is_some_and(|v| v.platform_types.contains(want)),
        "DocumentType" => &doc.document_type == want,
        "TargetType" => doc.target_type.as_ref() == Some(want),
        "SearchKeyword" => doc.name.to_lowercase().contains(&want.to_lowercase()),
        k => k
            .strip_prefix("tag:")
            .and_then(|t| tags.get(t))
            .is_some_and(|tv| tv == want),
    })
}

impl Secrets {
    /// One of the document operations.
    pub(super) async fn document(&self, op: &str, body: &Value) -> Result<Value, SecretsError> {
        match op {
            "CreateDocument" => self.create_document(body).await,
            "UpdateDocument" => self.update_document(body).await,
            "ListDocuments" => self.list_documents(body),
            _ => self.document_by_name(op, body).await,
        }
    }

    async fn create_document(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: WriteArg = parse(body)?;
        check_name(&r.name)?;
        let doc_type = r.document_type.clone().unwrap_or_else(|| "Command".into());
        if !TYPES.contains(&doc_type.as_str()) {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{doc_type}' at 'documentType' failed to \
                 satisfy constraint: Member must satisfy enum value set: [{}]",
                TYPES.join(", ")
            )));
        }
        let tags = tags::parse(r.tags.as_ref()).map_err(SecretsError::Validation)?;
        let version = new_version(&r, &doc_type, 1)?;
        let p = self.partition();
        let arn = document_arn(&p, &r.name);
        self.write_state(|s| {
            if s.secrets.documents.contains_key(&r.name) {
                return Err(SecretsError::Code(
                    "DocumentAlreadyExists",
                    format!("Document with same name {} already exists", r.name),
                ));
            }
            let doc = Document {
                name: r.name.clone(),
                document_type: doc_type.clone(),
                created_date: version.created_date,
                target_type: r.target_type.clone(),
                default_version: 1,
                versions: vec![version],
            };
            s.tags.remove(&arn);
            s.tag(&arn, tags);
            let out = description_json(&p, &doc, &doc.versions[0], &s.tags_of(&arn));
            s.secrets.documents.insert(r.name.clone(), doc);
            Ok(json!({ "DocumentDescription": out }))
        })
        .await?
    }

    async fn update_document(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: WriteArg = parse(body)?;
        let p = self.partition();
        let arn = document_arn(&p, &r.name);
        self.write_state(|s| {
            let mut doc = s
                .secrets
                .documents
                .get(&r.name)
                .cloned()
                .ok_or_else(no_document)?;
            if let Some(asked) = &r.document_version {
                if version_number(&doc, asked)? != doc.latest() {
                    return Err(SecretsError::Code(
                        "InvalidDocumentVersion",
                        "Only the latest version of a document can be updated ($LATEST or its \
                         version number)."
                            .into(),
                    ));
                }
            }
            if doc.versions.len() >= Document::MAX_VERSIONS {
                return Err(SecretsError::Code(
                    "DocumentVersionLimitExceeded",
                    format!(
                        "The document {} has reached the limit of {} versions. Delete one or \
                         more versions and try again.",
                        doc.name,
                        Document::MAX_VERSIONS
                    ),
                ));
            }
            let mut v = new_version(&r, &doc.document_type, doc.latest() + 1)?;
            if doc.versions.iter().any(|old| old.hash == v.hash) {
                return Err(SecretsError::Code(
                    "DuplicateDocumentContent",
                    "The content of the document matches the content of an existing version. \
                     Change the content and try again."
                        .into(),
                ));
            }
            if let Some(n) = &v.version_name {
                if doc.versions.iter().any(|old| old.version_name.as_ref() == Some(n)) {
                    return Err(SecretsError::Code(
                        "DuplicateDocumentVersionName",
                        format!("The version name {n} is already used by another version of the document."),
                    ));
                }
            }
            if v.display_name.is_none() {
                v.display_name = doc.versions.last().and_then(|l| l.display_name.clone());
            }
            if r.target_type.is_some() {
                doc.target_type = r.target_type.clone();
            }
            doc.versions.push(v);
            let out = description_json(&p, &doc, &doc.versions[doc.versions.len() - 1], &s.tags_of(&arn));
            s.secrets.documents.insert(r.name.clone(), doc);
            Ok(json!({ "DocumentDescription": out }))
        })
        .await?
    }

    /// The operations on one existing document.
    async fn document_by_name(&self, op: &str, body: &Value) -> Result<Value, SecretsError> {
        let r: DocArg = parse(body)?;
        let p = self.partition();
        let arn = document_arn(&p, &r.name);
        let (doc, tags) = self
            .engine
            .read(|s| (s.secrets.documents.get(&r.name).cloned(), s.tags_of(&arn)));
        let doc = doc.ok_or_else(no_document)?;
        match op {
            "GetDocument" => {
                let v = select(
                    &doc,
                    r.document_version.as_deref(),
                    r.version_name.as_deref(),
                )?;
                if let Some(f) = r.document_format.as_deref().filter(|f| *f != v.format) {
                    return Err(SecretsError::Validation(format!(
                        "This emulator can't convert a document from {} to {f}; ask for its own \
                         format or none.",
                        v.format
                    )));
                }
                let mut out = json!({
                    "Name": doc.name,
                    "CreatedDate": v.created_date,
                    "DocumentVersion": v.version.to_string(),
                    "Status": "Active",
                    "Content": v.content,
                    "DocumentType": doc.document_type,
                    "DocumentFormat": v.format,
                });
                if let Some(n) = &v.display_name {
                    out["DisplayName"] = json!(n);
                }
                if let Some(n) = &v.version_name {
                    out["VersionName"] = json!(n);
                }
                Ok(out)
            }
            "DescribeDocument" => {
                let v = select(
                    &doc,
                    r.document_version.as_deref(),
                    r.version_name.as_deref(),
                )?;
                Ok(json!({"Document": description_json(&p, &doc, v, &tags)}))
            }
            "ListDocumentVersions" => {
                let limit = max_results(r.max_results, 50, 50, SecretsError::Validation)?;
                let items: Vec<(u64, Value)> = doc
                    .versions
                    .iter()
                    .map(|v| {
                        let mut out = json!({
                            "Name": doc.name,
                            "DocumentVersion": v.version.to_string(),
                            "CreatedDate": v.created_date,
                            "IsDefaultVersion": v.version == doc.default_version,
                            "DocumentFormat": v.format,
                            "Status": "Active",
                        });
                        if let Some(n) = &v.display_name {
                            out["DisplayName"] = json!(n);
                        }
                        if let Some(n) = &v.version_name {
                            out["VersionName"] = json!(n);
                        }
                        (v.version, out)
                    })
                    .collect();
                let kind = format!("ListDocumentVersions:{}", doc.name);
                let (list, next) = page::page(&kind, items, r.next_token.as_deref(), limit, false)
                    .map_err(|_| SecretsError::SsmInvalidNextToken)?;
                let mut reply = json!({ "DocumentVersions": list });
                if let Some(t) = next {
                    reply["NextToken"] = json!(t);
                }
                Ok(reply)
            }
            "UpdateDocumentDefaultVersion" => {
                let asked = r.document_version.clone().ok_or_else(|| {
                    SecretsError::Validation(
                        "Invalid request: missing required field `DocumentVersion`".into(),
                    )
                })?;
                let n = version_number(&doc, &asked)?;
                let v = self
                    .write(|st| {
                        let d = st.documents.get_mut(&r.name).ok_or_else(no_document)?;
                        let v = d.version(n).cloned().ok_or_else(bad_version)?;
                        d.default_version = n;
                        Ok::<_, SecretsError>(v)
                    })
                    .await??;
                let mut out = json!({"Name": doc.name, "DefaultVersion": n.to_string()});
                if let Some(name) = v.version_name {
                    out["DefaultVersionName"] = json!(name);
                }
                Ok(json!({ "Description": out }))
            }
            _ => self.delete_document(&r, &arn).await,
        }
    }

    async fn delete_document(&self, r: &DocArg, arn: &str) -> Result<Value, SecretsError> {
        self.write_state(|s| {
            let doc = s.secrets.documents.get(&r.name).ok_or_else(no_document)?;
            if r.document_version.is_none() && r.version_name.is_none() {
                s.secrets.documents.remove(&r.name);
                s.tags.remove(arn);
                return Ok(json!({}));
            }
            let n = select(
                doc,
                r.document_version.as_deref(),
                r.version_name.as_deref(),
            )?
            .version;
            if n == doc.default_version {
                return Err(SecretsError::Code(
                    "InvalidDocumentOperation",
                    "You can't delete the default version of a document. Make another version \
                     the default, or delete the whole document."
                        .into(),
                ));
            }
            let mut doc = doc.clone();
            doc.versions.retain(|v| v.version != n);
            s.secrets.documents.insert(r.name.clone(), doc);
            Ok(json!({}))
        })
        .await?
    }

    fn list_documents(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: ListArg = parse(body)?;
        if r.document_filter_list.is_some() && r.filters.is_some() {
            return Err(SecretsError::Validation(
                "You can use either DocumentFilterList or Filters in a single request.".into(),
            ));
        }
        let mut filters: Vec<(String, Vec<String>)> = Vec::new();
        for f in r.document_filter_list.iter().flatten() {
            if !matches!(
                f.key.as_str(),
                "Name" | "Owner" | "PlatformTypes" | "DocumentType"
            ) {
                return Err(SecretsError::InvalidFilterKey(format!(
                    "The following filter key is not valid: {}. Valid filter keys include: \
                     [Name, Owner, PlatformTypes, DocumentType].",
                    f.key
                )));
            }
            filters.push((f.key.clone(), vec![f.value.clone()]));
        }
        for f in r.filters.iter().flatten() {
            let known = [
                "Name",
                "Owner",
                "PlatformTypes",
                "DocumentType",
                "TargetType",
                "SearchKeyword",
            ];
            let tag = f.key.starts_with("tag:") && f.key.len() > 4;
            if !(tag || known.contains(&f.key.as_str())) {
                return Err(SecretsError::InvalidFilterKey(format!(
                    "The following filter key is not valid: {}. Valid filter keys include: \
                     [Name, Owner, PlatformTypes, DocumentType, TargetType, SearchKeyword, tag:<key>].",
                    f.key
                )));
            }
            filters.push((f.key.clone(), f.values.clone()));
        }
        let limit = max_results(r.max_results, 50, 50, SecretsError::Validation)?;
        let p = self.partition();
        let items: Vec<(String, Value)> = self.engine.read(|s| {
            s.secrets
                .documents
                .values()
                .filter_map(|doc| {
                    let tags = s.tags_of(&document_arn(&p, &doc.name));
                    filters
                        .iter()
                        .all(|(k, vals)| passes(doc, &tags, k, vals))
                        .then(|| (doc.name.clone(), identifier_json(&p, doc, &tags)))
                })
                .collect()
        });
        let (list, next) = page::page(
            "ListDocuments",
            items,
            r.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(|_| SecretsError::SsmInvalidNextToken)?;
        let mut reply = json!({ "DocumentIdentifiers": list });
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }
}
