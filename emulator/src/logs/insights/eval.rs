//! Evaluating expressions and aggregations over records, and how values
//! are shown.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::{AggKind, Expr, Like, Parser, Record, Val};

pub(crate) fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `2024-01-02 03:04:05.678` (UTC), as Insights shows times.
pub(crate) fn fmt_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

impl Val {
    pub fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(n) => fmt_num(*n),
            Val::Time(ms) => fmt_time(*ms),
        }
    }

    pub(super) fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Time(ms) => Some(*ms as f64),
            Val::Str(s) => s.trim().parse().ok(),
        }
    }

    pub(super) fn cmp(&self, other: &Val) -> Ordering {
        match (self.num(), other.num()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => self.text().cmp(&other.text()),
        }
    }
}

pub(super) fn truthy(v: &Option<Val>) -> bool {
    match v {
        None => false,
        Some(Val::Num(n)) => *n != 0.0,
        Some(Val::Str(s)) => !s.is_empty(),
        Some(Val::Time(_)) => true,
    }
}

pub(super) fn flag(b: bool) -> Option<Val> {
    Some(Val::Num(if b { 1.0 } else { 0.0 }))
}

impl Expr {
    pub(super) fn eval(&self, r: &Record) -> Option<Val> {
        match self {
            Expr::Field(f) => r.get(f).cloned(),
            Expr::Lit(v) => Some(v.clone()),
            Expr::Cmp(a, op, b) => {
                let (a, b) = (a.eval(r)?, b.eval(r)?);
                let o = a.cmp(&b);
                flag(match *op {
                    "=" => o == Ordering::Equal,
                    "!=" => o != Ordering::Equal,
                    "<" => o == Ordering::Less,
                    ">" => o == Ordering::Greater,
                    "<=" => o != Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            }
            Expr::Like(a, pat, neg) => {
                let t = a.eval(r)?.text();
                let hit = match pat {
                    Like::Text(s) => t.contains(s.as_str()),
                    Like::Re(re) => re.is_match(&t),
                };
                flag(hit != *neg)
            }
            Expr::In(a, items, neg) => {
                let v = a.eval(r)?;
                let hit = items
                    .iter()
                    .any(|i| i.eval(r).is_some_and(|x| x.cmp(&v) == Ordering::Equal));
                flag(hit != *neg)
            }
            Expr::And(a, b) => flag(truthy(&a.eval(r)) && truthy(&b.eval(r))),
            Expr::Or(a, b) => flag(truthy(&a.eval(r)) || truthy(&b.eval(r))),
            Expr::Not(a) => flag(!truthy(&a.eval(r))),
            Expr::Bin(p) => match r.get("@timestamp")? {
                Val::Time(ms) => Some(Val::Time(ms.div_euclid(*p) * p)),
                _ => None,
            },
            Expr::Func(f, args) => {
                let v = args.first()?.eval(r);
                match f.as_str() {
                    "ispresent" => flag(v.is_some()),
                    "isempty" => flag(v.as_ref().is_none_or(|v| v.text().is_empty())),
                    "tolower" => Some(Val::Str(v?.text().to_lowercase())),
                    "toupper" => Some(Val::Str(v?.text().to_uppercase())),
                    _ => Some(Val::Num(v?.text().chars().count() as f64)),
                }
            }
        }
    }
}

/// The fields of a JSON message, nested keys joined with `.`.
pub(crate) fn json_fields(msg: &str, out: &mut Record) {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Record) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{prefix}.{i}"), v, out);
                }
            }
            serde_json::Value::Number(n) => {
                out.insert(prefix.to_string(), Val::Num(n.as_f64().unwrap_or(0.0)));
            }
            serde_json::Value::String(s) => {
                out.insert(prefix.to_string(), Val::Str(s.clone()));
            }
            serde_json::Value::Bool(b) => {
                out.insert(prefix.to_string(), Val::Str(b.to_string()));
            }
            serde_json::Value::Null => {}
        }
    }
    let t = msg.trim();
    if t.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
            walk("", &v, out);
        }
    }
}

/// The fields `parse` takes from `text`.
pub(super) fn parse_one(parser: &Parser, text: &str) -> Vec<(String, String)> {
    match parser {
        Parser::Re(re) => re.named_captures(text).unwrap_or_default(),
        Parser::Glob(parts, names) => {
            let Some(mut rest) = text
                .find(parts[0].as_str())
                .map(|i| &text[i + parts[0].len()..])
            else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let next = &parts[i + 1];
                let end = if next.is_empty() {
                    if i + 1 == names.len() {
                        rest.len()
                    } else {
                        0
                    }
                } else {
                    match rest.find(next.as_str()) {
                        Some(e) => e,
                        None => return Vec::new(),
                    }
                };
                out.push((name.clone(), rest[..end].to_string()));
                rest = &rest[end + next.len()..];
            }
            out
        }
    }
}

pub(super) fn stats(
    records: &[Record],
    aggs: &[(AggKind, Option<Expr>, String)],
    by: &[(Expr, String)],
) -> Vec<Record> {
    // Groups sorted by key, for a stable answer.
    type Group<'r> = (Vec<Option<Val>>, Vec<&'r Record>);
    let mut groups: BTreeMap<Vec<(bool, String)>, Group> = BTreeMap::new();
    for r in records {
        let keys: Vec<Option<Val>> = by.iter().map(|(e, _)| e.eval(r)).collect();
        // Missing keys last.
        let id: Vec<(bool, String)> = keys
            .iter()
            .map(|k| (k.is_none(), k.as_ref().map_or(String::new(), Val::text)))
            .collect();
        groups
            .entry(id)
            .or_insert_with(|| (keys, Vec::new()))
            .1
            .push(r);
    }
    if by.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), (Vec::new(), Vec::new()));
    }
    groups
        .into_values()
        .map(|(keys, rs)| {
            let mut out = Record::new();
            for ((_, name), k) in by.iter().zip(keys) {
                if let Some(k) = k {
                    out.insert(name.clone(), k);
                }
            }
            for (kind, arg, name) in aggs {
                let vals: Vec<Val> = match arg {
                    None => rs.iter().map(|_| Val::Num(1.0)).collect(),
                    Some(e) => rs.iter().filter_map(|r| e.eval(r)).collect(),
                };
                let nums: Vec<f64> = vals.iter().filter_map(Val::num).collect();
                let v = match kind {
                    AggKind::Count => Some(Val::Num(vals.len() as f64)),
                    AggKind::CountDistinct => Some(Val::Num(
                        vals.iter().map(Val::text).collect::<BTreeSet<_>>().len() as f64,
                    )),
                    AggKind::Sum => Some(Val::Num(nums.iter().sum())),
                    AggKind::Avg => (!nums.is_empty())
                        .then(|| Val::Num(nums.iter().sum::<f64>() / nums.len() as f64)),
                    AggKind::Min => vals.iter().min_by(|a, b| a.cmp(b)).cloned(),
                    AggKind::Max => vals.iter().max_by(|a, b| a.cmp(b)).cloned(),
                };
                if let Some(v) = v {
                    out.insert(name.clone(), v);
                }
            }
            out
        })
        .collect()
}
