//! A small backtracking regular expression engine for what CloudWatch Logs
//! users write in `%regex%` filter patterns and Logs Insights `like /re/`,
//! `=~ /re/` and `parse ... /re/` (the `regex` crate is not a dependency of
//! the emulator).
//!
//! Supported: literals and escapes (`\.`, `\d \w \s \D \W \S \b`,
//! `\t \n`), `.`, classes `[a-z_]` / `[^...]`, anchors `^ $`, groups
//! `(...)`, `(?:...)`, named groups `(?<name>...)` / `(?P<name>...)`,
//! alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy
//! with `?`), and a leading `(?i)` for case-insensitive matching. A search
//! gives up (no match) after a fixed number of steps, so no pattern can
//! hang a request.

use std::cell::{Cell, RefCell};

/// Steps a single search may take before it counts as no match.
const STEP_BUDGET: usize = 2_000_000;

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class(Vec<ClassItem>, bool),
    Start,
    End,
    WordBoundary,
    /// Alternatives, and the capture slot if it captures.
    Group(Vec<Vec<Node>>, Option<usize>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
        greedy: bool,
    },
}

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regex {
    alts: Vec<Vec<Node>>,
    /// Names of the capture slots (`None`: unnamed).
    names: Vec<Option<String>>,
    nocase: bool,
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    names: &'a mut Vec<Option<String>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, String> {
        let mut alts = vec![self.sequence()?];
        while self.eat('|') {
            alts.push(self.sequence()?);
        }
        Ok(alts)
    }

    fn sequence(&mut self) -> Result<Vec<Node>, String> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            seq.push(self.quantified(atom)?);
        }
        Ok(seq)
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.chars[start..self.at]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let save = self.at;
                self.at += 1;
                let Some(min) = self.number() else {
                    // A literal `{`.
                    self.at = save;
                    return Ok(atom);
                };
                let max = if self.eat(',') {
                    self.number()
                } else {
                    Some(min)
                };
                if !self.eat('}') || max.is_some_and(|m| m < min) {
                    return Err("invalid repetition {n,m}".into());
                }
                self.at -= 1;
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        if matches!(atom, Node::Start | Node::End | Node::WordBoundary) {
            return Err("nothing to repeat".into());
        }
        let greedy = !self.eat('?');
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    fn escape(&mut self) -> Result<ClassOrChar, String> {
        let c = self.peek().ok_or("trailing backslash")?;
        self.at += 1;
        Ok(match c {
            'd' => ClassOrChar::Class(ClassItem::Digit(true)),
            'D' => ClassOrChar::Class(ClassItem::Digit(false)),
            'w' => ClassOrChar::Class(ClassItem::Word(true)),
            'W' => ClassOrChar::Class(ClassItem::Word(false)),
            's' => ClassOrChar::Class(ClassItem::Space(true)),
            'S' => ClassOrChar::Class(ClassItem::Space(false)),
            't' => ClassOrChar::Char('\t'),
            'n' => ClassOrChar::Char('\n'),
            'r' => ClassOrChar::Char('\r'),
            'b' => ClassOrChar::Boundary,
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => ClassOrChar::Char(c),
        })
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.peek().ok_or("unexpected end")?;
        self.at += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '*' | '+' | '?' => return Err("nothing to repeat".into()),
            '\\' => match self.escape()? {
                ClassOrChar::Char(c) => Node::Char(c),
                ClassOrChar::Class(i) => Node::Class(vec![i], false),
                ClassOrChar::Boundary => Node::WordBoundary,
            },
            '[' => self.class()?,
            '(' => {
                let slot = if self.eat('?') {
                    if self.eat(':') {
                        None
                    } else {
                        self.eat('P');
                        if !self.eat('<') {
                            return Err("unsupported group syntax".into());
                        }
                        let start = self.at;
                        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                            self.at += 1;
                        }
                        let name: String = self.chars[start..self.at].iter().collect();
                        if name.is_empty() || !self.eat('>') {
                            return Err("invalid group name".into());
                        }
                        self.names.push(Some(name));
                        Some(self.names.len() - 1)
                    }
                } else {
                    self.names.push(None);
                    Some(self.names.len() - 1)
                };
                let alts = self.alternatives()?;
                if !self.eat(')') {
                    return Err("missing )".into());
                }
                Node::Group(alts, slot)
            }
            ')' => return Err("unbalanced )".into()),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or("missing ]")?;
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape()? {
                    ClassOrChar::Char(c) => c,
                    ClassOrChar::Class(i) => {
                        items.push(i);
                        continue;
                    }
                    ClassOrChar::Boundary => '\u{8}',
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|c| *c != ']') {
                self.at += 1;
                let mut hi = self.peek().ok_or("missing ]")?;
                self.at += 1;
                if hi == '\\' {
                    match self.escape()? {
                        ClassOrChar::Char(c) => hi = c,
                        _ => return Err("invalid class range".into()),
                    }
                }
                if hi < lo {
                    return Err("invalid class range".into());
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Node::Class(items, negated))
    }
}

enum ClassOrChar {
    Char(char),
    Class(ClassItem),
    Boundary,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl ClassItem {
    fn has(&self, c: char, nocase: bool) -> bool {
        match self {
            ClassItem::Range(lo, hi) => {
                (*lo..=*hi).contains(&c)
                    || (nocase
                        && [c.to_ascii_lowercase(), c.to_ascii_uppercase()]
                            .iter()
                            .any(|c| (*lo..=*hi).contains(c)))
            }
            ClassItem::Digit(yes) => c.is_ascii_digit() == *yes,
            ClassItem::Word(yes) => is_word(c) == *yes,
            ClassItem::Space(yes) => c.is_whitespace() == *yes,
        }
    }
}

struct Search<'a> {
    re: &'a Regex,
    text: &'a [char],
    caps: RefCell<Vec<Option<(usize, usize)>>>,
    steps: Cell<usize>,
}

type Cont<'k> = &'k mut dyn FnMut(usize) -> bool;

impl Search<'_> {
    fn tick(&self) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        n <= STEP_BUDGET
    }

    /// Does the single-character `node` match at `i`? (`None`: not a
    /// single-character node.)
    fn one(&self, node: &Node, i: usize) -> Option<bool> {
        let c = self.text.get(i).copied();
        Some(match node {
            Node::Char(x) => c.is_some_and(|c| {
                c == *x || (self.re.nocase && c.to_lowercase().eq(x.to_lowercase()))
            }),
            Node::Any => c.is_some_and(|c| c != '\n'),
            Node::Class(items, negated) => {
                c.is_some_and(|c| items.iter().any(|it| it.has(c, self.re.nocase)) != *negated)
            }
            _ => return None,
        })
    }

    fn seq(&self, seq: &[Node], i: usize, k: Cont) -> bool {
        if !self.tick() {
            return false;
        }
        match seq.split_first() {
            None => k(i),
            Some((n, rest)) => self.node(n, i, &mut |j| self.seq(rest, j, k)),
        }
    }

    fn node(&self, n: &Node, i: usize, k: Cont) -> bool {
        if let Some(hit) = self.one(n, i) {
            return hit && k(i + 1);
        }
        match n {
            Node::Start => i == 0 && k(i),
            Node::End => i == self.text.len() && k(i),
            Node::WordBoundary => {
                let before = i > 0 && is_word(self.text[i - 1]);
                let after = self.text.get(i).is_some_and(|c| is_word(*c));
                before != after && k(i)
            }
            Node::Group(alts, slot) => alts.iter().any(|seq| {
                self.seq(seq, i, &mut |j| {
                    let Some(s) = slot else {
                        return k(j);
                    };
                    let old = self.caps.borrow()[*s];
                    self.caps.borrow_mut()[*s] = Some((i, j));
                    if k(j) {
                        return true;
                    }
                    self.caps.borrow_mut()[*s] = old;
                    false
                })
            }),
            Node::Repeat {
                node,
                min,
                max,
                greedy,
            } => {
                if self.one(node, i).is_some() {
                    // One character at a time: no recursion per repetition.
                    let limit = max.unwrap_or(usize::MAX);
                    let mut n = 0;
                    while n < limit && self.one(node, i + n) == Some(true) {
                        n += 1;
                    }
                    if n < *min {
                        return false;
                    }
                    if *greedy {
                        (*min..=n).rev().any(|m| self.tick() && k(i + m))
                    } else {
                        (*min..=n).any(|m| self.tick() && k(i + m))
                    }
                } else {
                    self.repeat(node, *min, *max, *greedy, i, 0, k)
                }
            }
            Node::Char(_) | Node::Any | Node::Class(..) => unreachable!("single characters"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &self,
        node: &Node,
        min: usize,
        max: Option<usize>,
        greedy: bool,
        i: usize,
        count: usize,
        k: Cont,
    ) -> bool {
        if !self.tick() {
            return false;
        }
        let more = max.is_none_or(|m| count < m);
        let mut again = |j: usize| {
            (j != i || count < min) && self.repeat(node, min, max, greedy, j, count + 1, k)
        };
        if count < min {
            return self.node(node, i, &mut again);
        }
        if greedy {
            if more && self.node(node, i, &mut again) {
                return true;
            }
            k(i)
        } else {
            if k(i) {
                return true;
            }
            more && self.node(node, i, &mut |j| {
                j != i && self.repeat(node, min, max, greedy, j, count + 1, k)
            })
        }
    }
}

impl Regex {
    /// Compiles `pattern`; the error says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let (nocase, body) = match pattern.strip_prefix("(?i)") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let mut names = Vec::new();
        let mut p = Parser {
            chars: body.chars().collect(),
            at: 0,
            names: &mut names,
        };
        let alts = p.alternatives()?;
        if p.at != p.chars.len() {
            return Err("unbalanced )".into());
        }
        Ok(Regex {
            alts,
            names,
            nocase,
        })
    }

    /// The capture slots of the leftmost match in `text`, slot 0 being the
    /// whole match (char offsets).
    fn find(&self, text: &[char]) -> Option<Vec<Option<(usize, usize)>>> {
        let s = Search {
            re: self,
            text,
            caps: RefCell::new(vec![None; self.names.len()]),
            steps: Cell::new(0),
        };
        let whole = Node::Group(self.alts.clone(), None);
        for start in 0..=text.len() {
            let mut end = None;
            if s.node(&whole, start, &mut |j| {
                end = Some(j);
                true
            }) {
                let mut caps = vec![end.map(|e| (start, e))];
                caps.extend(s.caps.into_inner());
                return Some(caps);
            }
            if s.steps.get() > STEP_BUDGET {
                return None;
            }
        }
        None
    }

    /// Does `text` contain a match?
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.find(&chars).is_some()
    }

    /// The named groups of the first match, by name.
    pub fn named_captures(&self, text: &str) -> Option<Vec<(String, String)>> {
        let chars: Vec<char> = text.chars().collect();
        let caps = self.find(&chars)?;
        Some(
            self.names
                .iter()
                .zip(caps.iter().skip(1))
                .filter_map(|(name, cap)| {
                    let name = name.clone()?;
                    let value = cap.map_or(String::new(), |(a, b)| chars[a..b].iter().collect());
                    Some((name, value))
                })
                .collect(),
        )
    }

    /// The names of the named groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.names.iter().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn matches_what_log_searches_use() {
        assert!(m("error", "an error here"));
        assert!(!m("error", "an ERROR here"));
        assert!(m("(?i)error", "an ERROR here"));
        assert!(m("^GET /api/\\d+ (200|404)$", "GET /api/42 404"));
        assert!(!m("^GET /api/\\d+ (200|404)$", "GET /api/42 500"));
        assert!(m("status=[45]\\d\\d", "x status=503 y"));
        assert!(m("a.*b.*c", "xxaYYbZZc"));
        assert!(!m("a.*b.*c", "xxaYYcZZb"));
        assert!(m("colou?r", "color") && m("colou?r", "colour"));
        assert!(m("^x{2,3}$", "xxx") && !m("^x{2,3}$", "xxxx"));
        assert!(m("\\bid\\b", "the id is") && !m("\\bid\\b", "the idea"));
        assert!(m("^(ab)+$", "ababab") && !m("^(ab)+$", "ababa"));
        assert!(m("[^a-z ]", "abc 1"));
        assert!(Regex::new("(unclosed").is_err());
        assert!(Regex::new("*x").is_err());
        assert!(Regex::new("[z-a]").is_err());
    }

    #[test]
    fn named_groups_capture_and_lazy_quantifiers_stop_early() {
        let re = Regex::new("user=(?<user>\\w+) took (?<ms>\\d+)ms").unwrap();
        assert_eq!(
            re.named_captures("GET / user=ann took 35ms").unwrap(),
            vec![("user".into(), "ann".into()), ("ms".into(), "35".into())]
        );
        let lazy = Regex::new("<(?<tag>.+?)>").unwrap();
        assert_eq!(lazy.named_captures("<a><b>").unwrap()[0].1, "a");
    }

    #[test]
    fn catastrophic_patterns_give_up_instead_of_hanging() {
        let text = format!("{}!", "a".repeat(40));
        assert!(!m("^(a|aa)+$", &text));
    }

    #[test]
    fn long_lines_do_not_recurse_per_character() {
        let line = "x".repeat(200_000) + "needle";
        assert!(m(".*needle", &line));
    }
}
