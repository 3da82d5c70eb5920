//! Task placement on container instances: pure functions, no I/O.
//!
//! As the ECS scheduler does: filter instances by resources and
//! constraints, then order the ones that fit by the placement strategies,
//! in the order given, each breaking the ties of the one before:
//! - `spread` on `instanceId` (or `host`) or `attribute:NAME`: fewest tasks
//!   of the same group on instances with the same value;
//! - `binpack` on `cpu` or `memory`: least of it remaining;
//! - `random`: any.
//!
//! Without strategies, the console's "AZ balanced spread": spread over
//! availability zones, then over instances. Remaining ties go to the
//! instance with the fewest tasks overall, then to the ARN, so the choice
//! is deterministic unless `random` asks otherwise.

use crate::model::InstanceStatus;
use std::collections::BTreeMap;

/// What one candidate instance looks like right now.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceLoad {
    pub arn: String,
    /// ACTIVE instances only take tasks.
    pub status: InstanceStatus,
    pub attributes: BTreeMap<String, String>,
    pub cpu_total: i64,
    pub mem_total: i64,
    pub cpu_used: i64,
    pub mem_used: i64,
    /// Groups (`family:x`, `service:y`) of the tasks holding resources here.
    pub task_groups: Vec<String>,
    /// Fixed host ports taken by the tasks holding resources here.
    pub ports_used: Vec<u16>,
}

impl InstanceLoad {
    pub fn az(&self) -> &str {
        self.attributes
            .get(crate::model::container_instance::AZ_ATTRIBUTE)
            .map(String::as_str)
            .unwrap_or("")
    }
    fn group_count(&self, group: &str) -> usize {
        self.task_groups.iter().filter(|g| *g == group).count()
    }
}

/// A placement constraint, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    DistinctInstance,
    MemberOf(Expression),
}

/// A (small) subset of the cluster query language:
/// `attribute:NAME == V`, `!= V`, `in [A, B]`, `not_in [A, B]`, joined by `and`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub attribute: String,
    pub negated: bool,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlacementError {
    #[error("Invalid placement constraint type '{0}' (expected distinctInstance or memberOf).")]
    UnknownConstraint(String),
    #[error("memberOf placement constraint requires an expression.")]
    MissingExpression,
    #[error("Unsupported or malformed placement expression '{0}' (supported: attribute:NAME ==, !=, in [..], not_in [..], joined by 'and').")]
    BadExpression(String),
    #[error("Invalid placement strategy type '{0}' (expected spread, binpack or random).")]
    UnknownStrategy(String),
    #[error("Invalid placement strategy field '{field}' for {kind} (expected {expected}).")]
    BadStrategyField {
        kind: &'static str,
        field: String,
        expected: &'static str,
    },
    #[error("At most 5 placement strategies are allowed.")]
    TooManyStrategies,
}

/// A placement strategy, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Even over the values of an attribute; `None` is the instance itself.
    Spread(Option<String>),
    Binpack(Resource),
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Strategy {
    /// One `{"type": ..., "field": ...}` object as the API takes it.
    pub fn parse(kind: &str, field: Option<&str>) -> Result<Strategy, PlacementError> {
        match kind {
            "random" => Ok(Strategy::Random),
            "binpack" => match field.map(str::to_ascii_lowercase).as_deref() {
                Some("cpu") => Ok(Strategy::Binpack(Resource::Cpu)),
                Some("memory") => Ok(Strategy::Binpack(Resource::Memory)),
                _ => Err(PlacementError::BadStrategyField {
                    kind: "binpack",
                    field: field.unwrap_or("").to_string(),
                    expected: "cpu or memory",
                }),
            },
            "spread" => match field {
                Some(f)
                    if f.eq_ignore_ascii_case("instanceId") || f.eq_ignore_ascii_case("host") =>
                {
                    Ok(Strategy::Spread(None))
                }
                Some(f) if f.starts_with("attribute:") && f.len() > "attribute:".len() => {
                    Ok(Strategy::Spread(Some(f["attribute:".len()..].to_string())))
                }
                _ => Err(PlacementError::BadStrategyField {
                    kind: "spread",
                    field: field.unwrap_or("").to_string(),
                    expected: "instanceId, host or attribute:NAME",
                }),
            },
            other => Err(PlacementError::UnknownStrategy(other.to_string())),
        }
    }

    /// The API's list of strategy objects (at most 5).
    pub fn parse_all(values: &[serde_json::Value]) -> Result<Vec<Strategy>, PlacementError> {
        if values.len() > 5 {
            return Err(PlacementError::TooManyStrategies);
        }
        values
            .iter()
            .map(|v| {
                Strategy::parse(
                    v.get("type").and_then(|t| t.as_str()).unwrap_or(""),
                    v.get("field").and_then(|f| f.as_str()),
                )
            })
            .collect()
    }
}

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, PlacementError> {
        let bad = || PlacementError::BadExpression(text.to_string());
        let mut clauses = Vec::new();
        for part in text.split(" and ") {
            let part = part.trim();
            let rest = part.strip_prefix("attribute:").ok_or_else(bad)?;
            let (attribute, op_and_value) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
            let op_and_value = op_and_value.trim();
            let (negated, values) = if let Some(v) = op_and_value.strip_prefix("==") {
                (false, vec![v.trim().to_string()])
            } else if let Some(v) = op_and_value.strip_prefix("!=") {
                (true, vec![v.trim().to_string()])
            } else if let Some(v) = op_and_value.strip_prefix("not_in") {
                (true, parse_list(v).ok_or_else(bad)?)
            } else if let Some(v) = op_and_value.strip_prefix("in") {
                (false, parse_list(v).ok_or_else(bad)?)
            } else {
                return Err(bad());
            };
            if values.iter().any(String::is_empty) {
                return Err(bad());
            }
            clauses.push(Clause {
                attribute: attribute.to_string(),
                negated,
                values,
            });
        }
        Ok(Expression { clauses })
    }

    pub fn matches(&self, attributes: &BTreeMap<String, String>) -> bool {
        self.clauses.iter().all(|c| {
            let v = attributes.get(&c.attribute);
            let found = v.is_some_and(|v| c.values.iter().any(|x| x == v));
            found != c.negated
        })
    }
}

fn parse_list(v: &str) -> Option<Vec<String>> {
    let inner = v.trim().strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split(',').map(|s| s.trim().to_string()).collect())
}

impl Constraint {
    pub fn parse(kind: &str, expression: Option<&str>) -> Result<Constraint, PlacementError> {
        match kind {
            "distinctInstance" => Ok(Constraint::DistinctInstance),
            "memberOf" => Ok(Constraint::MemberOf(Expression::parse(
                expression.ok_or(PlacementError::MissingExpression)?,
            )?)),
            other => Err(PlacementError::UnknownConstraint(other.to_string())),
        }
    }
}

/// What a task needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub cpu: i64,
    pub memory: i64,
    pub group: String,
    pub constraints: Vec<Constraint>,
    /// Empty: spread over zones, then instances.
    pub strategies: Vec<Strategy>,
    /// Fixed host ports the task publishes.
    pub ports: Vec<u16>,
}

/// Why no instance was chosen, in ECS's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    /// The RunTask `failures[].reason` (`RESOURCE:MEMORY`, ...).
    pub reason: String,
    /// The closest instance, if any (the `failures[].arn`).
    pub arn: Option<String>,
    /// The sentence a service event would use.
    pub detail: String,
}

/// Picks an instance for one task, or says why none fits.
pub fn place(req: &Request, instances: &[InstanceLoad]) -> Result<String, Unplaced> {
    if instances.iter().all(|i| i.status != InstanceStatus::Active) {
        return Err(Unplaced {
            reason: "No Container Instances were found in your cluster.".into(),
            arn: None,
            detail: "No Container Instances were found in your cluster.".into(),
        });
    }
    // Why each instance was rejected; the first rejection that is not a
    // constraint names the "closest matching" instance, as ECS does.
    let mut rejections: Vec<(&InstanceLoad, &'static str, &'static str)> = Vec::new();
    let mut fits: Vec<&InstanceLoad> = Vec::new();
    for i in instances
        .iter()
        .filter(|i| i.status == InstanceStatus::Active)
    {
        let mut rejected = None;
        for c in &req.constraints {
            match c {
                Constraint::DistinctInstance if i.group_count(&req.group) > 0 => {
                    rejected = Some((
                        "DistinctInstance placement constraint unsatisfied.",
                        "distinctInstance placement constraint",
                    ))
                }
                Constraint::MemberOf(e) if !e.matches(&i.attributes) => {
                    rejected = Some((
                        "MemberOf placement constraint unsatisfied.",
                        "memberOf placement constraint",
                    ))
                }
                _ => {}
            }
        }
        if rejected.is_none() && i.mem_total - i.mem_used < req.memory {
            rejected = Some(("RESOURCE:MEMORY", "insufficient memory available"));
        }
        if rejected.is_none() && i.cpu_total - i.cpu_used < req.cpu {
            rejected = Some(("RESOURCE:CPU", "insufficient CPU units available"));
        }
        if rejected.is_none() && req.ports.iter().any(|p| i.ports_used.contains(p)) {
            rejected = Some(("RESOURCE:PORTS", "a port required by your task"));
        }
        match rejected {
            Some((reason, what)) => rejections.push((i, reason, what)),
            None => fits.push(i),
        }
    }
    if fits.is_empty() {
        // The closest match: a resource failure with the most free memory.
        let closest = rejections
            .iter()
            .filter(|(_, r, _)| r.starts_with("RESOURCE:"))
            .max_by_key(|(i, _, _)| (i.mem_total - i.mem_used, std::cmp::Reverse(i.arn.clone())))
            .or_else(|| rejections.first())
            .expect("at least one ACTIVE instance was rejected");
        let (inst, reason, what) = closest;
        let id = inst.arn.rsplit('/').next().unwrap_or(&inst.arn);
        let detail = if *reason == "RESOURCE:PORTS" {
            format!(
                "no container instance met all of its requirements. The closest matching container-instance {id} is already using {what}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
            )
        } else if reason.starts_with("RESOURCE:") {
            format!(
                "no container instance met all of its requirements. The closest matching container-instance {id} has {what}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
            )
        } else {
            format!(
                "no container instance met all of its requirements. The closest matching container-instance {id} encountered error \"{what}\". For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
            )
        };
        return Err(Unplaced {
            reason: reason.to_string(),
            arn: Some(inst.arn.clone()),
            detail,
        });
    }
    let active: Vec<&InstanceLoad> = instances
        .iter()
        .filter(|i| i.status == InstanceStatus::Active)
        .collect();
    // How many tasks of the group run on instances sharing `i`'s value of
    // the attribute (`None`: on `i` itself).
    let spread_count = |attr: &Option<String>, i: &InstanceLoad| -> i64 {
        let count = match attr {
            None => i.group_count(&req.group),
            Some(a) => {
                let v = i.attributes.get(a);
                active
                    .iter()
                    .filter(|o| o.attributes.get(a) == v)
                    .map(|o| o.group_count(&req.group))
                    .sum()
            }
        };
        i64::try_from(count).unwrap_or(i64::MAX)
    };
    let default_strategies = [
        Strategy::Spread(Some(
            crate::model::container_instance::AZ_ATTRIBUTE.to_string(),
        )),
        Strategy::Spread(None),
    ];
    let strategies: &[Strategy] = if req.strategies.is_empty() {
        &default_strategies
    } else {
        &req.strategies
    };
    let key = |i: &InstanceLoad| -> Vec<i64> {
        strategies
            .iter()
            .map(|s| match s {
                Strategy::Spread(attr) => spread_count(attr, i),
                Strategy::Binpack(Resource::Memory) => i.mem_total - i.mem_used,
                Strategy::Binpack(Resource::Cpu) => i.cpu_total - i.cpu_used,
                Strategy::Random => i64::from(rand::random::<u32>()),
            })
            .collect()
    };
    let best = fits
        .into_iter()
        .map(|i| (key(i), i))
        .min_by(|(ka, a), (kb, b)| {
            ka.cmp(kb)
                .then(a.task_groups.len().cmp(&b.task_groups.len()))
                .then_with(|| a.arn.cmp(&b.arn))
        })
        .map(|(_, i)| i)
        .expect("fits is not empty");
    Ok(best.arn.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_host_port_in_use_rules_an_instance_out() {
        let mut a = inst("a", "us-east-1a", 0, &[]);
        a.ports_used = vec![8080];
        let b = inst("b", "us-east-1b", 0, &[]);
        let mut r = req(10);
        r.ports = vec![8080];
        assert!(place(&r, &[a.clone(), b.clone()]).unwrap().ends_with("/b"));
        let mut b = b;
        b.ports_used = vec![8080];
        let err = place(&r, &[a, b]).unwrap_err();
        assert_eq!(err.reason, "RESOURCE:PORTS");
        assert!(
            err.detail
                .contains("is already using a port required by your task"),
            "{}",
            err.detail
        );
    }

    fn inst(arn: &str, az: &str, mem_used: i64, groups: &[&str]) -> InstanceLoad {
        let mut attributes = BTreeMap::new();
        attributes.insert("ecs.availability-zone".to_string(), az.to_string());
        attributes.insert("ecs.instance-type".to_string(), "t2.small".to_string());
        InstanceLoad {
            arn: format!("arn:aws:ecs:us-east-1:0:container-instance/c/{arn}"),
            status: InstanceStatus::Active,
            attributes,
            cpu_total: 1024,
            mem_total: 2048,
            cpu_used: 0,
            mem_used,
            task_groups: groups.iter().map(|s| s.to_string()).collect(),
            ports_used: vec![],
        }
    }

    fn req(mem: i64) -> Request {
        Request {
            ports: vec![],
            cpu: 0,
            memory: mem,
            group: "family:web".into(),
            constraints: vec![],
            strategies: vec![],
        }
    }

    fn id(arn: &str) -> &str {
        arn.rsplit('/').next().unwrap()
    }

    #[test]
    fn spreads_over_zones_first() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &["family:web"]),
            inst("a2", "us-east-1a", 0, &[]),
            inst("b1", "us-east-1b", 0, &[]),
        ];
        assert_eq!(id(&place(&req(300), &instances).unwrap()), "b1");
    }

    #[test]
    fn spreads_over_instances_within_a_zone() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &["family:web"]),
            inst("a2", "us-east-1a", 0, &[]),
            inst("b1", "us-east-1b", 0, &["family:web"]),
        ];
        assert_eq!(id(&place(&req(300), &instances).unwrap()), "a2");
    }

    #[test]
    fn placing_repeatedly_alternates_zones() {
        let mut instances = vec![
            inst("a1", "us-east-1a", 0, &[]),
            inst("b1", "us-east-1b", 0, &[]),
        ];
        let mut zones = Vec::new();
        for _ in 0..4 {
            let arn = place(&req(300), &instances).unwrap();
            let i = instances.iter_mut().find(|i| i.arn == arn).unwrap();
            i.mem_used += 300;
            i.task_groups.push("family:web".into());
            zones.push(i.az().to_string());
        }
        assert_eq!(
            zones,
            ["us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"]
        );
    }

    #[test]
    fn insufficient_memory_reads_like_ecs() {
        let instances = vec![
            inst("a1", "us-east-1a", 1900, &[]),
            inst("b1", "us-east-1b", 1000, &[]),
        ];
        let err = place(&req(1200), &instances).unwrap_err();
        assert_eq!(err.reason, "RESOURCE:MEMORY");
        assert_eq!(id(err.arn.as_deref().unwrap()), "b1");
        assert!(err
            .detail
            .starts_with("no container instance met all of its requirements."));
        assert!(err.detail.contains("insufficient memory available"));
    }

    #[test]
    fn insufficient_cpu_is_reported() {
        let mut i = inst("a1", "us-east-1a", 0, &[]);
        i.cpu_used = 1000;
        let mut r = req(10);
        r.cpu = 100;
        let err = place(&r, &[i]).unwrap_err();
        assert_eq!(err.reason, "RESOURCE:CPU");
        assert!(err.detail.contains("insufficient CPU units available"));
    }

    #[test]
    fn no_instances_is_its_own_reason() {
        let err = place(&req(1), &[]).unwrap_err();
        assert!(err.reason.contains("No Container Instances"));
        let mut draining = inst("a1", "us-east-1a", 0, &[]);
        draining.status = InstanceStatus::Draining;
        assert!(place(&req(1), &[draining]).is_err());
    }

    #[test]
    fn exactly_full_instance_still_fits() {
        let instances = vec![inst("a1", "us-east-1a", 1748, &[])];
        assert!(place(&req(300), &instances).is_ok());
        assert!(place(&req(301), &instances).is_err());
    }

    #[test]
    fn distinct_instance_avoids_instances_with_the_group() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &["family:web"]),
            inst("b1", "us-east-1b", 0, &["family:web"]),
        ];
        let mut r = req(1);
        r.constraints.push(Constraint::DistinctInstance);
        let err = place(&r, &instances).unwrap_err();
        assert!(err.reason.contains("DistinctInstance"));
        let instances = vec![
            inst("a1", "us-east-1a", 0, &["family:web"]),
            inst("a2", "us-east-1a", 0, &["family:other", "family:other"]),
        ];
        assert_eq!(id(&place(&r, &instances).unwrap()), "a2");
    }

    #[test]
    fn member_of_filters_by_attribute() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &[]),
            inst("b1", "us-east-1b", 0, &[]),
        ];
        let mut r = req(1);
        r.constraints.push(
            Constraint::parse(
                "memberOf",
                Some("attribute:ecs.availability-zone == us-east-1b"),
            )
            .unwrap(),
        );
        assert_eq!(id(&place(&r, &instances).unwrap()), "b1");
        r.constraints = vec![Constraint::parse(
            "memberOf",
            Some("attribute:ecs.availability-zone in [us-east-1c, us-east-1a]"),
        )
        .unwrap()];
        assert_eq!(id(&place(&r, &instances).unwrap()), "a1");
        r.constraints = vec![Constraint::parse("memberOf", Some("attribute:ecs.availability-zone not_in [us-east-1a] and attribute:ecs.instance-type == t2.small")).unwrap()];
        assert_eq!(id(&place(&r, &instances).unwrap()), "b1");
        r.constraints =
            vec![
                Constraint::parse("memberOf", Some("attribute:ecs.instance-type != t2.small"))
                    .unwrap(),
            ];
        assert!(place(&r, &instances)
            .unwrap_err()
            .reason
            .contains("MemberOf"));
    }

    #[test]
    fn bad_constraints_are_refused() {
        assert!(matches!(
            Constraint::parse("spread", None),
            Err(PlacementError::UnknownConstraint(_))
        ));
        assert!(matches!(
            Constraint::parse("memberOf", None),
            Err(PlacementError::MissingExpression)
        ));
        assert!(matches!(
            Constraint::parse("memberOf", Some("runningTasksCount > 1")),
            Err(PlacementError::BadExpression(_))
        ));
        assert!(matches!(
            Constraint::parse("memberOf", Some("attribute:x in a, b")),
            Err(PlacementError::BadExpression(_))
        ));
    }
    fn with(strategies: &[(&str, Option<&str>)]) -> Request {
        Request {
            ports: vec![],
            strategies: strategies
                .iter()
                .map(|(k, f)| Strategy::parse(k, *f).unwrap())
                .collect(),
            ..req(300)
        }
    }

    #[test]
    fn binpack_memory_picks_the_fullest_instance_that_still_fits() {
        let instances = vec![
            inst("a1", "us-east-1a", 1000, &[]),
            inst("a2", "us-east-1a", 1700, &[]),
            // Fuller still, but 300 MiB no longer fit.
            inst("b1", "us-east-1b", 1900, &[]),
        ];
        let r = with(&[("binpack", Some("memory"))]);
        assert_eq!(id(&place(&r, &instances).unwrap()), "a2");
    }

    #[test]
    fn binpack_cpu_looks_at_cpu_not_memory() {
        let mut a1 = inst("a1", "us-east-1a", 1500, &[]);
        a1.cpu_used = 100;
        let mut b1 = inst("b1", "us-east-1b", 0, &[]);
        b1.cpu_used = 900;
        let r = with(&[("binpack", Some("cpu"))]);
        assert_eq!(id(&place(&r, &[a1, b1]).unwrap()), "b1");
    }

    #[test]
    fn strategies_apply_in_order_each_breaking_the_ties_of_the_last() {
        // Zone b has no task of the group; within it, binpack on memory.
        let instances = vec![
            inst("a1", "us-east-1a", 1500, &["family:web"]),
            inst("b1", "us-east-1b", 200, &[]),
            inst("b2", "us-east-1b", 900, &[]),
        ];
        let r = with(&[
            ("spread", Some("attribute:ecs.availability-zone")),
            ("binpack", Some("memory")),
        ]);
        assert_eq!(id(&place(&r, &instances).unwrap()), "b2");
        // Binpack first: the fullest instance wins whatever the zones.
        let r = with(&[
            ("binpack", Some("memory")),
            ("spread", Some("attribute:ecs.availability-zone")),
        ]);
        assert_eq!(id(&place(&r, &instances).unwrap()), "a1");
    }

    #[test]
    fn spread_on_instance_id_ignores_zones() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &[]),
            inst("a2", "us-east-1a", 0, &["family:web"]),
            inst("b1", "us-east-1b", 0, &["family:web", "family:web"]),
        ];
        let r = with(&[("spread", Some("instanceId"))]);
        assert_eq!(id(&place(&r, &instances).unwrap()), "a1");
        let r = with(&[("spread", Some("host"))]);
        assert_eq!(id(&place(&r, &instances).unwrap()), "a1");
    }

    #[test]
    fn random_uses_every_instance_that_fits_and_no_other() {
        let instances = vec![
            inst("a1", "us-east-1a", 0, &[]),
            inst("b1", "us-east-1b", 0, &[]),
            inst("full", "us-east-1b", 2000, &[]),
        ];
        let r = with(&[("random", None)]);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(id(&place(&r, &instances).unwrap()).to_string());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a1", "b1"]);
    }

    #[test]
    fn bad_strategies_are_refused_with_what_is_wrong() {
        let parse = |v: serde_json::Value| {
            Strategy::parse_all(v.as_array().unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(parse(serde_json::json!([{"type": "pack"}])).contains("type 'pack'"));
        assert!(
            parse(serde_json::json!([{"type": "binpack", "field": "disk"}]))
                .contains("field 'disk' for binpack (expected cpu or memory)")
        );
        assert!(parse(serde_json::json!([{"type": "spread"}])).contains("for spread"));
        assert!(parse(serde_json::Value::Array(vec![
            serde_json::json!({"type": "random"});
            6
        ]))
        .contains("At most 5"));
        assert_eq!(
            Strategy::parse_all(&[serde_json::json!({"type": "binpack", "field": "MEMORY"})])
                .unwrap(),
            [Strategy::Binpack(Resource::Memory)]
        );
    }
}
