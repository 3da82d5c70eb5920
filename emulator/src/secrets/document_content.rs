//! What SSM reads out of a document's content when it is created or
//! updated: the format checked, `schemaVersion` required and supported by
//! the document type, the steps a schema needs, the description, the
//! parameters and the platforms the steps run on.
//!
//! JSON content is parsed. No YAML parser is a dependency of the crate,
//! so YAML content gets a minimal, honest check only: no tab
//! indentation, a top-level `schemaVersion:` key (and `mainSteps:` where
//! the schema needs steps); the description is read from a one-line
//! top-level `description:`; parameters are not read out of YAML.

use serde_json::{json, Value};

use super::SecretsError;

/// The largest content SSM takes (64 KB).
pub(super) const MAX_SIZE: usize = 64 * 1024;

pub(super) const TYPES: &[&str] = &[
    "Command",
    "Policy",
    "Automation",
    "Session",
    "Package",
    "ApplicationConfiguration",
    "ApplicationConfigurationSchema",
    "DeploymentStrategy",
    "ChangeCalendar",
    "Automation.ChangeTemplate",
    "ProblemAnalysis",
    "ProblemAnalysisTemplate",
    "CloudFormation",
    "ConformancePackTemplate",
    "QuickSetup",
    "ManualApprovalPolicy",
    "AutoApprovalPolicy",
];

const ALL_PLATFORMS: [&str; 3] = ["Windows", "Linux", "MacOS"];

/// What a version's content says.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Parsed {
    pub schema_version: Option<String>,
    pub description: Option<String>,
    pub parameters: Vec<Value>,
    pub platform_types: Vec<String>,
}

fn invalid(why: impl std::fmt::Display) -> SecretsError {
    SecretsError::Code(
        "InvalidDocumentContent",
        format!("The content for the document is not valid. {why}"),
    )
}

/// The schema versions a document type takes (`None`: any).
fn schemas(doc_type: &str) -> Option<&'static [&'static str]> {
    match doc_type {
        "Command" => Some(&["1.2", "2.0", "2.2"]),
        "Automation" | "Automation.ChangeTemplate" => Some(&["0.3"]),
        "Session" => Some(&["1.0"]),
        "Policy" => Some(&["1.0", "2.0"]),
        "Package" => Some(&["2.0"]),
        _ => None,
    }
}

/// Does this schema need `mainSteps`?
fn needs_steps(doc_type: &str, schema: &str) -> bool {
    matches!(
        (doc_type, schema),
        ("Command", "2.0" | "2.2") | ("Automation" | "Automation.ChangeTemplate", _)
    )
}

/// The platforms a Command document's steps run on: shell scripts on
/// Linux and macOS, PowerShell on Windows, anything else on all three.
fn platforms(doc_type: &str, text: &str) -> Vec<String> {
    let shell = text.contains("aws:runShellScript");
    let powershell = text.contains("aws:runPowerShellScript");
    let list: Vec<&str> = match (doc_type, shell, powershell) {
        ("Command", true, false) => vec!["Linux", "MacOS"],
        ("Command", false, true) => vec!["Windows"],
        _ => ALL_PLATFORMS.to_vec(),
    };
    list.into_iter().map(str::to_string).collect()
}

fn check_schema(doc_type: &str, schema: &str) -> Result<(), SecretsError> {
    match schemas(doc_type) {
        Some(ok) if !ok.contains(&schema) => Err(SecretsError::Code(
            "InvalidDocumentSchemaVersion",
            format!(
                "Document schema version, {schema}, is not supported by the document type \
                 {doc_type}. Supported: {}.",
                ok.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks `content` in `format` for a document of `doc_type`.
pub(super) fn parse(content: &str, format: &str, doc_type: &str) -> Result<Parsed, SecretsError> {
    if content.len() > MAX_SIZE {
        return Err(SecretsError::Code(
            "MaxDocumentSizeExceeded",
            "The content for the document exceeds the maximum size of 64 KB.".into(),
        ));
    }
    match format {
        "JSON" => parse_json(content, doc_type),
        "YAML" => parse_yaml(content, doc_type),
        "TEXT" => {
            if schemas(doc_type).is_some() {
                return Err(invalid(format!(
                    "Document type {doc_type} takes JSON or YAML content, not TEXT."
                )));
            }
            Ok(Parsed {
                platform_types: ALL_PLATFORMS.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            })
        }
        other => Err(SecretsError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'documentFormat' failed to satisfy \
             constraint: Member must satisfy enum value set: [YAML, JSON, TEXT]"
        ))),
    }
}

fn parse_json(content: &str, doc_type: &str) -> Result<Parsed, SecretsError> {
    let doc: Value = serde_json::from_str(content)
        .map_err(|e| invalid(format!("JSON not well-formed: {e}.")))?;
    let Some(obj) = doc.as_object() else {
        return Err(invalid("The document must be a JSON object."));
    };
    let schema = match obj.get("schemaVersion") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("schemaVersion must be a string.")),
        None => return Err(invalid("schemaVersion is required.")),
    };
    check_schema(doc_type, &schema)?;
    if needs_steps(doc_type, &schema) {
        let steps = obj.get("mainSteps").and_then(Value::as_array);
        let ok = steps.is_some_and(|s| {
            !s.is_empty()
                && s.iter()
                    .all(|step| step.get("action").is_some() && step.get("name").is_some())
        });
        if !ok {
            return Err(invalid(
                "mainSteps must list at least one step, each with an action and a name.",
            ));
        }
    }
    if doc_type == "Command"
        && schema == "1.2"
        && !obj.get("runtimeConfig").is_some_and(Value::is_object)
    {
        return Err(invalid("Schema version 1.2 requires runtimeConfig."));
    }
    let mut parameters = Vec::new();
    if let Some(params) = obj.get("parameters") {
        let Some(params) = params.as_object() else {
            return Err(invalid("parameters must be an object."));
        };
        for (name, p) in params {
            let mut out = json!({"Name": name});
            if let Some(t) = p.get("type").and_then(Value::as_str) {
                out["Type"] = json!(t);
            }
            if let Some(d) = p.get("description").and_then(Value::as_str) {
                out["Description"] = json!(d);
            }
            match p.get("default") {
                Some(Value::String(s)) => out["DefaultValue"] = json!(s),
                Some(v) => out["DefaultValue"] = json!(v.to_string()),
                None => {}
            }
            parameters.push(out);
        }
    }
    Ok(Parsed {
        description: obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        parameters,
        platform_types: platforms(doc_type, content),
        schema_version: Some(schema),
    })
}

/// A top-level `key: value` line's value (quotes removed).
fn yaml_top(content: &str, key: &str) -> Option<String> {
    content.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let v = rest.split(" #").next().unwrap_or("").trim();
        Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

fn parse_yaml(content: &str, doc_type: &str) -> Result<Parsed, SecretsError> {
    if content.lines().any(|l| l.starts_with('\t')) {
        return Err(invalid(
            "YAML not well-formed: tabs are not allowed as indentation.",
        ));
    }
    let schema = yaml_top(content, "schemaVersion")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("schemaVersion is required."))?;
    check_schema(doc_type, &schema)?;
    if needs_steps(doc_type, &schema) && yaml_top(content, "mainSteps").is_none() {
        return Err(invalid("mainSteps must list at least one step."));
    }
    Ok(Parsed {
        description: yaml_top(content, "description").filter(|d| !d.is_empty()),
        parameters: Vec::new(),
        platform_types: platforms(doc_type, content),
        schema_version: Some(schema),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = r#"{"schemaVersion":"2.2","description":"d","parameters":{"msg":{"type":"String","default":"hi"}},"mainSteps":[{"action":"aws:runShellScript","name":"run","inputs":{"runCommand":["echo {{msg}}"]}}]}"#;

    #[test]
    fn json_content_is_read_and_checked() {
        let p = parse(SHELL, "JSON", "Command").unwrap();
        assert_eq!(p.schema_version.as_deref(), Some("2.2"));
        assert_eq!(p.description.as_deref(), Some("d"));
        assert_eq!(p.platform_types, vec!["Linux", "MacOS"]);
        assert_eq!(
            p.parameters,
            vec![json!({"Name": "msg", "Type": "String", "DefaultValue": "hi"})]
        );
        let code = |r: Result<Parsed, SecretsError>| r.unwrap_err().aws_type();
        assert_eq!(
            code(parse("{", "JSON", "Command")),
            "InvalidDocumentContent"
        );
        assert_eq!(
            code(parse("{}", "JSON", "Command")),
            "InvalidDocumentContent"
        );
        assert_eq!(
            code(parse(r#"{"schemaVersion":"2.2"}"#, "JSON", "Command")),
            "InvalidDocumentContent"
        );
        assert_eq!(
            code(parse(
                r#"{"schemaVersion":"9.9","mainSteps":[]}"#,
                "JSON",
                "Command"
            )),
            "InvalidDocumentSchemaVersion"
        );
        assert_eq!(code(parse(SHELL, "XML", "Command")), "ValidationException");
        let big = format!(
            "{{\"schemaVersion\":\"1.0\",\"x\":\"{}\"}}",
            "a".repeat(MAX_SIZE)
        );
        assert_eq!(
            code(parse(&big, "JSON", "Session")),
            "MaxDocumentSizeExceeded"
        );
    }

    #[test]
    fn yaml_content_gets_the_minimal_check() {
        let y = "schemaVersion: '2.2'\ndescription: a yaml doc\nmainSteps:\n- action: aws:runPowerShellScript\n  name: run\n";
        let p = parse(y, "YAML", "Command").unwrap();
        assert_eq!(p.schema_version.as_deref(), Some("2.2"));
        assert_eq!(p.description.as_deref(), Some("a yaml doc"));
        assert_eq!(p.platform_types, vec!["Windows"]);
        assert!(parse("description: x\n", "YAML", "Command").is_err());
        assert!(parse("schemaVersion: '2.2'\n", "YAML", "Command").is_err());
        assert!(parse(
            "schemaVersion: '2.2'\nmainSteps:\n\t- x\n",
            "YAML",
            "Command"
        )
        .is_err());
        assert!(parse("anything", "TEXT", "ApplicationConfiguration").is_ok());
        assert!(parse("anything", "TEXT", "Command").is_err());
    }
}
