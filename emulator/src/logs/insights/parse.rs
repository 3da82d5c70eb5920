//! The Logs Insights query text: tokens, then commands and expressions.

use super::eval::fmt_num;
use super::{AggKind, Cmd, Expr, Like, Malformed, Parser, Query, Val};
use crate::logs::regex::Regex;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Re(String),
    Num(f64),
    Sym(&'static str),
}

fn lex(q: &str) -> Result<Vec<(Tok, usize)>, Malformed> {
    let c: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let start = i;
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let quoted = |i: &mut usize, close: char| -> Result<String, Malformed> {
            let mut s = String::new();
            *i += 1;
            while *i < c.len() && c[*i] != close {
                // `\x` in a string is x; in a regex only `\/` loses its
                // backslash.
                if c[*i] == '\\' && *i + 1 < c.len() && (close != '/' || c[*i + 1] == '/') {
                    *i += 1;
                }
                s.push(c[*i]);
                *i += 1;
            }
            if *i >= c.len() {
                return Err(Malformed(format!(
                    "unterminated {close}...{close} starting at position {start}"
                )));
            }
            *i += 1;
            Ok(s)
        };
        let tok = match ch {
            '"' | '\'' => Tok::Str(quoted(&mut i, ch)?),
            '`' => Tok::Ident(quoted(&mut i, '`')?),
            '/' => Tok::Re(quoted(&mut i, '/')?),
            _ => {
                let two: String = c[i..c.len().min(i + 2)].iter().collect();
                if let Some(s) = ["!=", "<=", ">=", "=~"].into_iter().find(|s| *s == two) {
                    i += 2;
                    Tok::Sym(s)
                } else if let Some(s) = ["|", ",", "(", ")", "[", "]", "=", "<", ">", "*"]
                    .into_iter()
                    .find(|s| s.starts_with(ch))
                {
                    i += 1;
                    Tok::Sym(s)
                } else if ch.is_ascii_digit()
                    || (ch == '-' && c.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
                {
                    i += 1;
                    while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                        i += 1;
                    }
                    let text: String = c[start..i].iter().collect();
                    match text.parse::<f64>() {
                        Ok(n) => Tok::Num(n),
                        // `5m` in bin(5m).
                        Err(_) => Tok::Ident(text),
                    }
                } else if ch.is_alphanumeric() || "@_$.".contains(ch) {
                    while i < c.len() && (c[i].is_alphanumeric() || "@_$.-".contains(c[i])) {
                        i += 1;
                    }
                    Tok::Ident(c[start..i].iter().collect())
                } else {
                    return Err(Malformed(format!(
                        "unexpected symbol found {ch} at line 1 and position {start}"
                    )));
                }
            }
        };
        out.push((tok, start));
    }
    Ok(out)
}

struct P {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.peek().cloned();
        self.at += 1;
        t
    }

    fn unexpected(&self) -> Malformed {
        match self.toks.get(self.at) {
            Some((t, pos)) => Malformed(format!(
                "unexpected symbol found {} at line 1 and position {pos}",
                show(t)
            )),
            None => Malformed(format!(
                "unexpected end of query at line 1 and position {}",
                self.end
            )),
        }
    }

    fn sym(&mut self, s: &str) -> bool {
        if self.peek() == Some(&Tok::Sym(leak(s))) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, s: &str) -> Result<(), Malformed> {
        if self.sym(s) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(k)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn ident(&mut self) -> Result<String, Malformed> {
        match self.peek() {
            Some(Tok::Ident(w)) if !is_keyword(w) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn or(&mut self) -> Result<Expr, Malformed> {
        let mut e = self.and()?;
        while self.kw("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, Malformed> {
        let mut e = self.not()?;
        while self.kw("and") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, Malformed> {
        if self.kw("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, Malformed> {
        let left = self.atom()?;
        let negated = self.kw("not");
        if self.kw("like") || (!negated && self.sym("=~")) {
            let pat = match self.next() {
                Some(Tok::Str(s)) => Like::Text(s),
                Some(Tok::Re(r)) => Like::Re(regex(&r)?),
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected());
                }
            };
            return Ok(Expr::Like(Box::new(left), pat, negated));
        }
        if self.kw("in") {
            self.expect("[")?;
            let mut items = vec![self.atom()?];
            while self.sym(",") {
                items.push(self.atom()?);
            }
            self.expect("]")?;
            return Ok(Expr::In(Box::new(left), items, negated));
        }
        if negated {
            return Err(self.unexpected());
        }
        for op in ["=", "!=", "<", ">", "<=", ">="] {
            if self.sym(op) {
                return Ok(Expr::Cmp(Box::new(left), leak(op), Box::new(self.atom()?)));
            }
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, Malformed> {
        match self.next() {
            Some(Tok::Sym("(")) => {
                let e = self.or()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::Str(s)) => Ok(Expr::Lit(Val::Str(s))),
            Some(Tok::Num(n)) => Ok(Expr::Lit(Val::Num(n))),
            Some(Tok::Ident(w)) if !is_keyword(&w) => {
                if !self.sym("(") {
                    return Ok(Expr::Field(w));
                }
                let f = w.to_ascii_lowercase();
                if f == "bin" {
                    let period = match self.next() {
                        Some(Tok::Ident(p)) => period_ms(&p),
                        _ => None,
                    };
                    let Some(p) = period else {
                        self.at -= 1;
                        return Err(Malformed(
                            "bin() takes a period such as 30s, 5m, 1h or 1d".into(),
                        ));
                    };
                    self.expect(")")?;
                    return Ok(Expr::Bin(p));
                }
                if !["ispresent", "isempty", "tolower", "toupper", "strlen"].contains(&f.as_str()) {
                    return Err(Malformed(format!("unsupported function {w}()")));
                }
                let arg = self.or()?;
                self.expect(")")?;
                Ok(Expr::Func(f, vec![arg]))
            }
            _ => {
                self.at -= 1;
                Err(self.unexpected())
            }
        }
    }

    /// `expr [as name]`, named by its text when unnamed.
    fn named(&mut self) -> Result<(Expr, String), Malformed> {
        let from = self.at;
        let e = self.or()?;
        let text = self.text(from, self.at);
        if self.kw("as") {
            return Ok((e, self.ident()?));
        }
        Ok((e, text))
    }

    fn text(&self, from: usize, to: usize) -> String {
        let mut s = String::new();
        for (t, _) in &self.toks[from..to] {
            let part = show(t);
            if !s.is_empty() && !matches!(t, Tok::Sym("(" | ")" | "," | "*")) && !s.ends_with('(') {
                s.push(' ');
            }
            s.push_str(&part);
        }
        s
    }

    fn command(&mut self) -> Result<Cmd, Malformed> {
        let Some(Tok::Ident(word)) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.at += 1;
        match word.to_ascii_lowercase().as_str() {
            "fields" => Ok(Cmd::Fields(self.list(Self::named)?)),
            "display" => Ok(Cmd::Display(self.list(Self::ident)?)),
            "filter" => Ok(Cmd::Filter(self.or()?)),
            "sort" => Ok(Cmd::Sort(self.list(|p| {
                let f = p.ident()?;
                let desc = if p.kw("desc") {
                    true
                } else {
                    p.kw("asc");
                    false
                };
                Ok((f, desc))
            })?)),
            "limit" => match self.next() {
                Some(Tok::Num(n)) if n >= 1.0 && n.fract() == 0.0 && n <= 10_000.0 => {
                    Ok(Cmd::Limit(n as usize))
                }
                _ => {
                    self.at -= 1;
                    Err(Malformed(format!(
                        "limit takes a whole number from 1 to 10000 ({})",
                        self.unexpected().0
                    )))
                }
            },
            "parse" => {
                let field = self.ident()?;
                match self.next() {
                    Some(Tok::Str(glob)) => {
                        let parts: Vec<String> = glob.split('*').map(String::from).collect();
                        if !self.kw("as") {
                            return Err(self.unexpected());
                        }
                        let names = self.list(Self::ident)?;
                        if names.len() != parts.len() - 1 {
                            return Err(Malformed(format!(
                                "parse: the pattern has {} '*' but {} names follow 'as'",
                                parts.len() - 1,
                                names.len()
                            )));
                        }
                        Ok(Cmd::Parse(field, Parser::Glob(parts, names)))
                    }
                    Some(Tok::Re(r)) => {
                        let re = regex(&r)?;
                        if re.group_names().is_empty() {
                            return Err(Malformed(
                                "parse with a regular expression needs named groups (?<name>...)"
                                    .into(),
                            ));
                        }
                        Ok(Cmd::Parse(field, Parser::Re(re)))
                    }
                    _ => {
                        self.at -= 1;
                        Err(self.unexpected())
                    }
                }
            }
            "stats" => {
                let aggs = self.list(|p| {
                    let from = p.at;
                    let name = p.ident()?;
                    let kind = match name.to_ascii_lowercase().as_str() {
                        "count" => AggKind::Count,
                        "count_distinct" => AggKind::CountDistinct,
                        "sum" => AggKind::Sum,
                        "avg" => AggKind::Avg,
                        "min" => AggKind::Min,
                        "max" => AggKind::Max,
                        _ => return Err(Malformed(format!("unsupported aggregation {name}()"))),
                    };
                    p.expect("(")?;
                    let arg = if kind == AggKind::Count && p.sym("*") {
                        None
                    } else {
                        Some(p.or()?)
                    };
                    p.expect(")")?;
                    let text = p.text(from, p.at);
                    let alias = if p.kw("as") { p.ident()? } else { text };
                    Ok((kind, arg, alias))
                })?;
                let by = if self.kw("by") {
                    self.list(Self::named)?
                } else {
                    Vec::new()
                };
                Ok(Cmd::Stats(aggs, by))
            }
            other => Err(Malformed(format!(
                "unsupported command '{other}': the emulator understands fields, display, \
                 filter, parse, stats, sort and limit"
            ))),
        }
    }

    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Vec<T>, Malformed> {
        let mut out = vec![item(self)?];
        while self.sym(",") {
            out.push(item(self)?);
        }
        Ok(out)
    }
}

fn leak(s: &str) -> &'static str {
    [
        "!=", "<=", ">=", "=~", "|", ",", "(", ")", "[", "]", "=", "<", ">", "*",
    ]
    .into_iter()
    .find(|x| *x == s)
    .unwrap_or("?")
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "not", "like", "in", "as", "by", "asc", "desc"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Re(s) => format!("/{s}/"),
        Tok::Num(n) => fmt_num(*n),
        Tok::Sym(s) => s.to_string(),
    }
}

fn regex(r: &str) -> Result<Regex, Malformed> {
    Regex::new(r).map_err(|e| Malformed(format!("invalid regular expression /{r}/: {e}")))
}

fn period_ms(p: &str) -> Option<i64> {
    let split = p.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = p[..split].parse().ok().filter(|n| *n > 0)?;
    let unit = match &p[split..] {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    Some(n * unit)
}

impl Query {
    pub fn parse(q: &str) -> Result<Query, Malformed> {
        let toks = lex(q)?;
        let mut p = P {
            toks,
            at: 0,
            end: q.chars().count(),
        };
        let mut cmds = Vec::new();
        if p.peek().is_none() {
            return Err(Malformed("the query is empty".into()));
        }
        loop {
            cmds.push(p.command()?);
            match p.peek() {
                None => break,
                Some(Tok::Sym("|")) => p.at += 1,
                Some(_) => return Err(p.unexpected()),
            }
        }
        Ok(Query { cmds })
    }
}
