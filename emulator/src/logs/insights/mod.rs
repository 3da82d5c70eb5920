//! The CloudWatch Logs Insights query language, the subset the emulator
//! evaluates over stored events (pure: [`Query::parse`] and
//! [`Query::run`]):
//!
//! - `fields a, b, expr as name` (computes and shows), `display a, b`;
//! - `filter` with `= != < > <= >=`, `like "text"`, `like /regex/`,
//!   `=~ /regex/`, `not like`, `in [..]`, `and`, `or`, `not`, parentheses,
//!   and the functions `ispresent`, `isempty`, `tolower`, `toupper`,
//!   `strlen`;
//! - `parse field "glob * with * stars" as a, b` and
//!   `parse field /(?<name>regex)/`;
//! - `stats count(*), count(f), count_distinct(f), sum(f), avg(f), min(f),
//!   max(f) [as name], ... [by field, bin(5m), ...]`;
//! - `sort field [asc|desc], ...` and `limit n`; `#` comments.
//!
//! Every event has `@timestamp`, `@message`, `@logStream`, `@log`,
//! `@ingestionTime` and `@ptr`, and the fields of a JSON message (nested
//! keys joined with `.`). Anything else is a [`Malformed`] query.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::regex::Regex;
pub(crate) use eval::json_fields;
use eval::{parse_one, stats, truthy};

/// Why a query is not understood (MalformedQueryException).
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed(pub String);

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    /// Milliseconds since the epoch, shown as `2024-01-02 03:04:05.678`.
    Time(i64),
}

/// An event, a row of fields.
pub type Record = BTreeMap<String, Val>;

#[derive(Debug, Clone)]
enum Expr {
    Field(String),
    Lit(Val),
    Cmp(Box<Expr>, &'static str, Box<Expr>),
    Like(Box<Expr>, Like, bool),
    In(Box<Expr>, Vec<Expr>, bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Func(String, Vec<Expr>),
    /// `bin(period)`: @timestamp floored to the period (ms).
    Bin(i64),
}

#[derive(Debug, Clone)]
enum Like {
    Text(String),
    Re(Regex),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AggKind {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone)]
enum Cmd {
    Fields(Vec<(Expr, String)>),
    Display(Vec<String>),
    Filter(Expr),
    Parse(String, Parser),
    Stats(Vec<(AggKind, Option<Expr>, String)>, Vec<(Expr, String)>),
    Sort(Vec<(String, bool)>),
    Limit(usize),
}

#[derive(Debug, Clone)]
enum Parser {
    Glob(Vec<String>, Vec<String>),
    Re(Regex),
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub rows: Vec<Vec<(String, String)>>,
    pub matched: usize,
}

/// The fields shown when a query names none.
const DEFAULT_FIELDS: &[&str] = &["@timestamp", "@message", "@logStream", "@log"];

impl Query {
    /// The query over `records` (each with its `@` fields and discovered
    /// fields), at most `limit` rows.
    pub fn run(&self, mut records: Vec<Record>, limit: usize) -> Outcome {
        let mut shown: Vec<String> = Vec::new();
        let mut aggregated = false;
        let mut matched = records.len();
        for cmd in &self.cmds {
            match cmd {
                Cmd::Filter(e) => {
                    records.retain(|r| truthy(&e.eval(r)));
                    if !aggregated {
                        matched = records.len();
                    }
                }
                Cmd::Fields(list) => {
                    for r in &mut records {
                        for (e, name) in list {
                            if let Some(v) = e.eval(r) {
                                r.insert(name.clone(), v);
                            }
                        }
                    }
                    for (_, name) in list {
                        if !shown.contains(name) {
                            shown.push(name.clone());
                        }
                    }
                }
                Cmd::Display(list) => shown = list.clone(),
                Cmd::Parse(field, parser) => {
                    for r in &mut records {
                        let Some(text) = r.get(field).map(Val::text) else {
                            continue;
                        };
                        for (k, v) in parse_one(parser, &text) {
                            r.insert(k, Val::Str(v));
                        }
                    }
                }
                Cmd::Sort(keys) => records.sort_by(|a, b| {
                    for (k, desc) in keys {
                        let o = match (a.get(k), b.get(k)) {
                            (Some(x), Some(y)) => x.cmp(y),
                            (Some(_), None) => Ordering::Less,
                            (None, Some(_)) => Ordering::Greater,
                            (None, None) => Ordering::Equal,
                        };
                        let o = if *desc { o.reverse() } else { o };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    Ordering::Equal
                }),
                Cmd::Limit(n) => records.truncate(*n),
                Cmd::Stats(aggs, by) => {
                    records = stats(&records, aggs, by);
                    shown = by
                        .iter()
                        .map(|(_, n)| n.clone())
                        .chain(aggs.iter().map(|(_, _, n)| n.clone()))
                        .collect();
                    aggregated = true;
                }
            }
        }
        if shown.is_empty() {
            shown = DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect();
        }
        if !aggregated {
            shown.retain(|f| f != "@ptr");
            shown.push("@ptr".into());
        }
        records.truncate(limit);
        let rows = records
            .iter()
            .map(|r| {
                shown
                    .iter()
                    .filter_map(|f| Some((f.clone(), r.get(f)?.text())))
                    .collect()
            })
            .collect();
        Outcome { rows, matched }
    }
}
