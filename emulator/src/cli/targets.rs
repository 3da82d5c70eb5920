//! `emulator targets`: target health per target group, through the ELBv2
//! Query API (DescribeTargetGroups, then DescribeTargetHealth per group),
//! exactly as `aws elbv2` would ask.

use anyhow::bail;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde::Deserialize;

use super::client::Client;
use crate::elbv2::wire::VERSION;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Members<T> {
    // Not `Member`: list items are lowercase `<member>` in AWS Query XML.
    #[serde(rename = "member", default = "Vec::new")]
    member: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupsResponse {
    describe_target_groups_result: GroupsResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupsResult {
    target_groups: Members<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    target_group_arn: String,
    target_group_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthResponse {
    describe_target_health_result: HealthResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthResult {
    target_health_descriptions: Members<Row>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    target: RowTarget,
    target_health: RowHealth,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RowTarget {
    id: String,
    port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RowHealth {
    state: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Calls an ELBv2 action; an AWS error becomes `Code: Message`.
async fn call<T: serde::de::DeserializeOwned>(
    client: &Client,
    params: &[(&str, &str)],
) -> anyhow::Result<T> {
    let mut form: Vec<(&str, &str)> = vec![("Version", VERSION)];
    form.extend_from_slice(params);
    let (status, text) = client.post_form(&form).await?;
    if !status.is_success() {
        bail!("ELBv2 {}: {text}", status.as_u16());
    }
    Ok(quick_xml::de::from_str(&text)?)
}

/// Prints one table: group, target, state, reason, description.
pub async fn show(client: &Client) -> anyhow::Result<()> {
    let groups: GroupsResponse = call(client, &[("Action", "DescribeTargetGroups")]).await?;
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(["TARGET GROUP", "TARGET", "STATE", "REASON", "DESCRIPTION"]);
    for g in groups.describe_target_groups_result.target_groups.member {
        let health: HealthResponse = call(
            client,
            &[
                ("Action", "DescribeTargetHealth"),
                ("TargetGroupArn", &g.target_group_arn),
            ],
        )
        .await?;
        let rows = health
            .describe_target_health_result
            .target_health_descriptions
            .member;
        if rows.is_empty() {
            table.add_row([g.target_group_name.as_str(), "-", "-", "", "no targets"]);
        }
        for r in rows {
            table.add_row([
                g.target_group_name.clone(),
                format!("{}:{}", r.target.id, r.target.port),
                r.target_health.state,
                r.target_health.reason.unwrap_or_default(),
                r.target_health.description.unwrap_or_default(),
            ]);
        }
    }
    println!("{table}");
    Ok(())
}
