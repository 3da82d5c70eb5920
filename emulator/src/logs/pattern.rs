//! CloudWatch Logs filter patterns, as FilterLogEvents, metric filters
//! and subscription filters read them:
//!
//! - terms: `ERROR timeout` (every term), `"quoted phrase"`, `-excluded`,
//!   `?ERROR ?WARN` (any of them), and `%regex%`;
//! - JSON: `{ $.level = "error" && ($.latency > 100 || $.retry IS TRUE) }`
//!   with `= != < > <= >=`, `*` wildcards in strings, `IS NULL`,
//!   `IS TRUE`, `IS FALSE`, `NOT EXISTS`;
//! - space-delimited: `[ip, user, ..., status = 4* || status = 5*, bytes > 1000]`,
//!   a message's words (`"quoted"` and `[bracketed]` ones whole) against
//!   named fields, `...` for any number of words.
//!
//! A match gives the values a metric filter can use: `$name` for a
//! space-delimited field, `$.path` for a JSON selector.

use std::collections::BTreeMap;

use serde_json::Value;

use super::regex::Regex;

/// Values extracted by a match (`$status`, `$.latency`).
pub type Extracted = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub enum Pattern {
    Terms {
        all: Vec<String>,
        any: Vec<String>,
        none: Vec<String>,
    },
    Regex(Regex),
    Json(JsonExpr),
    Fields(Vec<FieldSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A literal a value is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Num(f64),
    /// A string; `*` matches any run of characters.
    Str(String),
}

#[derive(Debug, Clone)]
pub enum JsonExpr {
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
    Cmp(String, Op, Literal),
    IsNull(String),
    IsBool(String, bool),
    NotExists(String),
}

/// One field of a space-delimited pattern: `...`, or a name with
/// conditions (`||` of `&&` groups), possibly none.
#[derive(Debug, Clone)]
pub enum FieldSpec {
    Ellipsis,
    Named(String, Vec<Vec<(Op, Literal)>>),
}

/// Does `text` match `glob` (`*` for any run)?
pub fn glob(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

impl Op {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => o == Equal,
            Op::Ne => o != Equal,
            Op::Lt => o == Less,
            Op::Gt => o == Greater,
            Op::Le => o != Greater,
            Op::Ge => o != Less,
        }
    }
}

impl Literal {
    /// Does `value` (a word, or a JSON value) compare as `op` says?
    fn test(&self, op: Op, value: &Value) -> bool {
        match self {
            Literal::Num(n) => {
                let v = match value {
                    Value::Number(x) => x.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                v.and_then(|v| v.partial_cmp(n))
                    .is_some_and(|o| op.holds(o))
            }
            Literal::Str(s) => {
                let Value::String(v) = value else {
                    return false;
                };
                match op {
                    Op::Eq => glob(s, v),
                    Op::Ne => !glob(s, v),
                    _ => false,
                }
            }
        }
    }
}

/// Tokens of the JSON and space-delimited syntaxes.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(Op),
    And,
    Or,
    Open,
    Close,
    Comma,
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let (tok, len) = match (c, two.as_str()) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            (_, "&&") => (Tok::And, 2),
            (_, "||") => (Tok::Or, 2),
            (_, "!=") => (Tok::Op(Op::Ne), 2),
            (_, "<=") => (Tok::Op(Op::Le), 2),
            (_, ">=") => (Tok::Op(Op::Ge), 2),
            ('=', _) => (Tok::Op(Op::Eq), 1),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            (',', _) => (Tok::Comma, 1),
            ('"', _) => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|c| *c == '"')
                    .ok_or("unterminated quoted string")?;
                let s: String = chars[i + 1..i + 1 + end].iter().collect();
                (Tok::Str(s), end + 2)
            }
            _ => {
                let len = chars[i..]
                    .iter()
                    .position(|c| c.is_whitespace() || "=!<>(),\"&|".contains(*c))
                    .unwrap_or(chars.len() - i);
                if len == 0 {
                    return Err(format!("unexpected '{c}'"));
                }
                (Tok::Word(chars[i..i + len].iter().collect()), len)
            }
        };
        out.push(tok);
        i += len;
    }
    Ok(out)
}

fn literal(t: Option<Tok>) -> Result<Literal, String> {
    match t {
        Some(Tok::Str(s)) => Ok(Literal::Str(s)),
        Some(Tok::Word(w)) => Ok(match w.parse::<f64>() {
            Ok(n) => Literal::Num(n),
            Err(_) => Literal::Str(w),
        }),
        _ => Err("a value is missing after the comparison".into()),
    }
}

struct Toks {
    toks: Vec<Tok>,
    at: usize,
}

impl Toks {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn json_or(&mut self) -> Result<JsonExpr, String> {
        let mut e = self.json_and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            e = JsonExpr::Or(Box::new(e), Box::new(self.json_and()?));
        }
        Ok(e)
    }

    fn json_and(&mut self) -> Result<JsonExpr, String> {
        let mut e = self.json_term()?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            e = JsonExpr::And(Box::new(e), Box::new(self.json_term()?));
        }
        Ok(e)
    }

    fn json_term(&mut self) -> Result<JsonExpr, String> {
        match self.next() {
            Some(Tok::Open) => {
                let e = self.json_or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Word(sel)) if sel.starts_with('$') => {
                selector_path(&sel)?;
                match self.next() {
                    Some(Tok::Op(op)) => Ok(JsonExpr::Cmp(sel, op, literal(self.next())?)),
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IS") => match self.next() {
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => {
                            Ok(JsonExpr::IsNull(sel))
                        }
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => {
                            Ok(JsonExpr::IsBool(sel, true))
                        }
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => {
                            Ok(JsonExpr::IsBool(sel, false))
                        }
                        _ => Err("IS must be followed by NULL, TRUE or FALSE".into()),
                    },
                    Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") => match self.next() {
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("EXISTS") => {
                            Ok(JsonExpr::NotExists(sel))
                        }
                        _ => Err("NOT must be followed by EXISTS".into()),
                    },
                    _ => Err(format!("a comparison is missing after {sel}")),
                }
            }
            other => Err(format!(
                "expected a selector such as $.field, found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the pattern".into(),
        Some(Tok::Word(w)) => format!("'{w}'"),
        Some(Tok::Str(s)) => format!("\"{s}\""),
        Some(t) => format!("{t:?}"),
    }
}

/// Path segments of a selector `$.a.b[0]` (keys and indexes).
fn selector_path(sel: &str) -> Result<Vec<String>, String> {
    let rest = sel
        .strip_prefix('$')
        .ok_or_else(|| format!("invalid selector {sel}"))?;
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars().peekable();
    let bad = || format!("invalid selector {sel}");
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if chars.peek().is_none() {
                    return Err(bad());
                }
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                let idx: String = chars.by_ref().take_while(|c| *c != ']').collect();
                if idx.parse::<usize>().is_err() {
                    return Err(bad());
                }
                out.push(format!("[{idx}]"));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.is_empty() || !rest.starts_with(['.', '[']) {
        return Err(bad());
    }
    Ok(out)
}

fn select<'v>(doc: &'v Value, sel: &str) -> Option<&'v Value> {
    let mut v = doc;
    for seg in selector_path(sel).ok()? {
        v = match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(i) => v.get(i.parse::<usize>().ok()?)?,
            None => v.get(&seg)?,
        };
    }
    Some(v)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl JsonExpr {
    fn eval(&self, doc: &Value) -> bool {
        match self {
            JsonExpr::And(a, b) => a.eval(doc) && b.eval(doc),
            JsonExpr::Or(a, b) => a.eval(doc) || b.eval(doc),
            JsonExpr::Cmp(sel, op, lit) => select(doc, sel).is_some_and(|v| lit.test(*op, v)),
            JsonExpr::IsNull(sel) => select(doc, sel).is_some_and(Value::is_null),
            JsonExpr::IsBool(sel, b) => select(doc, sel) == Some(&Value::Bool(*b)),
            JsonExpr::NotExists(sel) => select(doc, sel).is_none(),
        }
    }

    fn selectors<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            JsonExpr::And(a, b) | JsonExpr::Or(a, b) => {
                a.selectors(out);
                b.selectors(out);
            }
            JsonExpr::Cmp(s, ..)
            | JsonExpr::IsNull(s)
            | JsonExpr::IsBool(s, _)
            | JsonExpr::NotExists(s) => out.push(s),
        }
    }
}

fn parse_fields(body: &str) -> Result<Vec<FieldSpec>, String> {
    let mut t = Toks {
        toks: tokens(body)?,
        at: 0,
    };
    let mut fields = Vec::new();
    loop {
        match t.next() {
            Some(Tok::Word(w)) if w == "..." => fields.push(FieldSpec::Ellipsis),
            Some(Tok::Word(name)) => {
                if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(format!("invalid field name '{name}'"));
                }
                let mut groups: Vec<Vec<(Op, Literal)>> = Vec::new();
                let mut group = Vec::new();
                while let Some(Tok::Op(op)) = t.peek().cloned() {
                    t.at += 1;
                    group.push((op, literal(t.next())?));
                    match t.peek() {
                        Some(Tok::And) | Some(Tok::Or) => {
                            let or = t.next() == Some(Tok::Or);
                            if or {
                                groups.push(std::mem::take(&mut group));
                            }
                            // `status = 4* || status = 5*`: the name again.
                            match t.next() {
                                Some(Tok::Word(again)) if again == name => {}
                                other => {
                                    return Err(format!(
                                        "expected '{name}' after && or ||, found {}",
                                        describe(other.as_ref())
                                    ))
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if !group.is_empty() {
                    groups.push(group);
                }
                fields.push(FieldSpec::Named(name, groups));
            }
            other => {
                return Err(format!(
                    "expected a field name, found {}",
                    describe(other.as_ref())
                ))
            }
        }
        match t.next() {
            None => break,
            Some(Tok::Comma) => {}
            other => {
                return Err(format!(
                    "expected ',' between fields, found {}",
                    describe(other.as_ref())
                ))
            }
        }
    }
    Ok(fields)
}

/// A message's words: split at spaces, `"quoted"` and `[bracketed]` runs
/// whole (without their quotes or brackets).
fn words(msg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = msg.trim_start();
    while !rest.is_empty() {
        let close = match rest.as_bytes()[0] {
            b'"' => Some('"'),
            b'[' => Some(']'),
            _ => None,
        };
        let (word, tail) = match close.and_then(|c| rest[1..].find(c).map(|i| (c, i))) {
            Some((_, i)) => (&rest[1..1 + i], &rest[i + 2..]),
            None => match rest.find(char::is_whitespace) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        out.push(word.to_string());
        rest = tail.trim_start();
    }
    out
}

fn match_fields(specs: &[FieldSpec], words: &[String], out: &mut Extracted) -> bool {
    match specs.split_first() {
        None => words.is_empty(),
        Some((FieldSpec::Ellipsis, rest)) => {
            (0..=words.len()).any(|skip| match_fields(rest, &words[skip..], out))
        }
        Some((FieldSpec::Named(name, groups), rest)) => {
            let Some((w, more)) = words.split_first() else {
                return false;
            };
            let v = Value::String(w.clone());
            let ok = groups.is_empty()
                || groups
                    .iter()
                    .any(|g| g.iter().all(|(op, lit)| lit.test(*op, &v)));
            if !ok || !match_fields(rest, more, out) {
                return false;
            }
            out.insert(format!("${name}"), w.clone());
            true
        }
    }
}

impl Pattern {
    /// Parses a filter pattern; the error says what is wrong.
    pub fn parse(p: &str) -> Result<Pattern, String> {
        let t = p.trim();
        if let Some(body) = t.strip_prefix('{') {
            let body = body
                .strip_suffix('}')
                .ok_or("a JSON pattern must end with '}'")?;
            let mut toks = Toks {
                toks: tokens(body)?,
                at: 0,
            };
            let e = toks.json_or()?;
            if toks.at < toks.toks.len() {
                return Err(format!(
                    "unexpected {} in the JSON pattern",
                    describe(toks.peek())
                ));
            }
            return Ok(Pattern::Json(e));
        }
        if let Some(body) = t.strip_prefix('[') {
            let body = body
                .strip_suffix(']')
                .ok_or("a space-delimited pattern must end with ']'")?;
            return Ok(Pattern::Fields(parse_fields(body)?));
        }
        if t.len() >= 2 && t.starts_with('%') && t.ends_with('%') {
            return Regex::new(&t[1..t.len() - 1])
                .map(Pattern::Regex)
                .map_err(|e| format!("invalid regular expression: {e}"));
        }
        let (mut all, mut any, mut none) = (Vec::new(), Vec::new(), Vec::new());
        let mut rest = t;
        while !rest.is_empty() {
            let (sign, body) = match rest.as_bytes()[0] {
                b'-' => ('-', &rest[1..]),
                b'?' => ('?', &rest[1..]),
                _ => (' ', rest),
            };
            let (term, tail) = if let Some(q) = body.strip_prefix('"') {
                let end = q.find('"').ok_or("unterminated quoted phrase")?;
                (q[..end].to_string(), &q[end + 1..])
            } else {
                match body.find(char::is_whitespace) {
                    Some(i) => (body[..i].to_string(), &body[i..]),
                    None => (body.to_string(), ""),
                }
            };
            if term.contains(['{', '}', '[', ']']) {
                return Err(format!(
                    "invalid term '{term}': quote terms with characters other than letters, digits and _"
                ));
            }
            if !term.is_empty() {
                match sign {
                    '-' => none.push(term),
                    '?' => any.push(term),
                    _ => all.push(term),
                }
            }
            rest = tail.trim_start();
        }
        Ok(Pattern::Terms { all, any, none })
    }

    /// The values a match extracts, or `None` if `msg` does not match.
    pub fn matches(&self, msg: &str) -> Option<Extracted> {
        match self {
            Pattern::Terms { all, any, none } => {
                let ok = all.iter().all(|t| msg.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| msg.contains(t.as_str())))
                    && !none.iter().any(|t| msg.contains(t.as_str()));
                ok.then(Extracted::new)
            }
            Pattern::Regex(re) => re.is_match(msg).then(Extracted::new),
            Pattern::Json(e) => {
                let doc: Value = serde_json::from_str(msg.trim()).ok()?;
                if !doc.is_object() && !doc.is_array() || !e.eval(&doc) {
                    return None;
                }
                let mut sels = Vec::new();
                e.selectors(&mut sels);
                Some(
                    sels.into_iter()
                        .filter_map(|s| Some((s.to_string(), text_of(select(&doc, s)?))))
                        .collect(),
                )
            }
            Pattern::Fields(specs) => {
                let mut out = Extracted::new();
                match_fields(specs, &words(msg), &mut out).then_some(out)
            }
        }
    }

    /// The number a metric filter's `metricValue` (`1`, `$bytes`,
    /// `$.latency`) gives for a match, if any.
    pub fn metric_value(value: &str, extracted: &Extracted, msg: &str) -> Option<f64> {
        if let Ok(n) = value.trim().parse::<f64>() {
            return Some(n);
        }
        if let Some(v) = extracted.get(value) {
            return v.trim().parse().ok();
        }
        if value.starts_with("$.") {
            let doc: Value = serde_json::from_str(msg.trim()).ok()?;
            return text_of(select(&doc, value)?).parse().ok();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, msg: &str) -> Option<Extracted> {
        Pattern::parse(p).unwrap().matches(msg)
    }

    #[test]
    fn terms_phrases_exclusions_alternatives_and_regex() {
        let msg = "INFO request method=GET path=\"/start\" status=502";
        assert!(m("", msg).is_some());
        assert!(m("GET status=502", msg).is_some());
        assert!(m("GET status=200", msg).is_none());
        assert!(m("\"method=GET path\"", msg).is_some());
        assert!(m("GET -502", msg).is_none());
        assert!(m("?ERROR ?status=502", msg).is_some());
        assert!(m("?ERROR ?WARN", msg).is_none());
        assert!(m("%status=5\\d\\d%", msg).is_some());
        assert!(Pattern::parse("\"unterminated").is_err());
    }

    #[test]
    fn json_patterns_compare_and_extract_selectors() {
        let msg =
            r#"{"level":"error","latency":250,"user":{"id":"u1"},"ok":false,"tags":["a","b"]}"#;
        let got = m(r#"{ $.level = "error" && $.latency > 100 }"#, msg).unwrap();
        assert_eq!(got["$.level"], "error");
        assert_eq!(got["$.latency"], "250");
        assert!(m(r#"{ $.level = "err*" }"#, msg).is_some());
        assert!(m(r#"{ $.level != "error" }"#, msg).is_none());
        assert!(m(r#"{ ($.latency < 10) || $.user.id = "u1" }"#, msg).is_some());
        assert!(m("{ $.ok IS FALSE && $.missing NOT EXISTS }", msg).is_some());
        assert!(m(r#"{ $.tags[1] = "b" }"#, msg).is_some());
        assert!(m(r#"{ $.level = "error" }"#, "not json").is_none());
        for bad in [
            "{ $.level = }",
            "{ level = 1 }",
            "{ $.a = 1",
            "{ $.a = 1 && }",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn space_delimited_patterns_extract_fields() {
        let msg = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
        let got = m(
            "[ip, user, username, timestamp, request, status_code, bytes > 1000]",
            msg,
        )
        .unwrap();
        assert_eq!(got["$ip"], "127.0.0.1");
        assert_eq!(got["$timestamp"], "10/Oct/2000:13:25:15 -0700");
        assert_eq!(got["$request"], "GET /apache_pb.gif HTTP/1.0");
        assert_eq!(got["$bytes"], "1534");
        assert!(m(
            "[ip, user, username, timestamp, request, status_code, bytes > 2000]",
            msg
        )
        .is_none());
        assert!(m("[ip, ..., status = 4* || status = 2*, bytes]", msg).is_some());
        assert!(m("[ip, ..., status = 4* || status = 5*, bytes]", msg).is_none());
        assert!(m("[a, b]", msg).is_none());
        assert!(Pattern::parse("[ip, user").is_err());
        assert!(Pattern::parse("[ip user]").is_err());
    }

    #[test]
    fn metric_values_come_from_literals_fields_and_selectors() {
        let mut ex = Extracted::new();
        ex.insert("$bytes".into(), "1534".into());
        assert_eq!(Pattern::metric_value("1", &ex, ""), Some(1.0));
        assert_eq!(Pattern::metric_value("$bytes", &ex, ""), Some(1534.0));
        assert_eq!(
            Pattern::metric_value("$.latency", &ex, r#"{"latency": 7.5}"#),
            Some(7.5)
        );
        assert_eq!(Pattern::metric_value("$nope", &ex, ""), None);
    }
}
