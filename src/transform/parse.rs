//! The step syntax: `name(arg, arg, key=value)`, one step per `--transform` flag or job-file
//! entry, and the filter expression language. A tokenizer shared by both, and a recursive-descent
//! parser for expressions (`OR` < `AND` < `NOT` < predicates).

use crate::error::{Error, Result};

use super::filter::{CmpOp, Expr, Lit};

/// A token of the step syntax.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare word: a column, a keyword, a type name.
    Word(String),
    /// A `"double-quoted"` column name.
    Quoted(String),
    /// A `'single-quoted'` string literal.
    Str(String),
    /// A number as written (`-12`, `0.50`, `1e3`).
    Number(String),
    /// Punctuation and operators: `( ) , = <> != < <= > >=`.
    Punct(&'static str),
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Word(w) => f.write_str(w),
            Token::Quoted(w) => write!(f, "\"{}\"", w.replace('"', "\"\"")),
            Token::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Token::Number(n) => f.write_str(n),
            Token::Punct(p) => f.write_str(p),
        }
    }
}

const PUNCT: [&str; 10] = ["<=", ">=", "<>", "!=", "(", ")", ",", "=", "<", ">"];

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(Error::invalid_args(format!(
                            "unterminated {} in `{text}`",
                            if c == '\'' { "string" } else { "quoted name" }
                        )))
                    }
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' {
                Token::Str(s)
            } else {
                Token::Quoted(s)
            });
            continue;
        }
        let operand_before = match out.last() {
            Some(Token::Word(w)) => !is_keyword(w),
            Some(Token::Quoted(_) | Token::Str(_) | Token::Number(_) | Token::Punct(")")) => true,
            _ => false,
        };
        let signed = (c == '-' || c == '+')
            && !operand_before
            && chars
                .get(i + 1)
                .is_some_and(|d| d.is_ascii_digit() || *d == '.');
        if c.is_ascii_digit()
            || signed
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exp_sign = (d == '-' || d == '+') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_alphanumeric() || d == '.' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            let n: String = chars[start..i].iter().collect();
            if n.trim_start_matches(['-', '+']).parse::<f64>().is_err() {
                return Err(Error::invalid_args(format!("`{n}` is not a number")));
            }
            out.push(Token::Number(n));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match PUNCT.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                out.push(Token::Punct(p));
                i += p.len();
            }
            None => return Err(Error::invalid_args(format!("unexpected `{c}` in `{text}`"))),
        }
    }
    Ok(out)
}

/// One argument of a step: its tokens (a column, a literal, a type such as `DECIMAL(12,2)`),
/// and for `key=value` arguments the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub key: Option<String>,
    pub tokens: Vec<Token>,
}

impl Arg {
    /// The argument as written.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let glue = i == 0
                || matches!(t, Token::Punct("(" | ")" | ","))
                || matches!(self.tokens[i - 1], Token::Punct("("));
            if !glue {
                s.push(' ');
            }
            s.push_str(&t.to_string());
        }
        match &self.key {
            Some(k) => format!("{k}={s}"),
            None => s,
        }
    }

    /// The argument as a column name (a bare word or a "quoted name").
    pub fn column(&self) -> Option<&str> {
        match (self.key.as_deref(), self.tokens.as_slice()) {
            (None, [Token::Word(w)] | [Token::Quoted(w)]) => Some(w),
            _ => None,
        }
    }

    /// The argument as one bare word (a keyword), lower-cased.
    pub fn word(&self) -> Option<String> {
        match self.tokens.as_slice() {
            [Token::Word(w)] => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }
}

/// A step as written: its name, its raw argument text, and the arguments split at top-level
/// commas.
#[derive(Debug, Clone, PartialEq)]
pub struct StepText {
    pub name: String,
    /// The text between the outer parentheses (a filter's expression).
    pub body: String,
    pub args: Vec<Arg>,
}

/// Parses `name(args)`.
pub fn parse_step(text: &str) -> Result<StepText> {
    let text = text.trim();
    let open = text.find('(').ok_or_else(|| {
        Error::invalid_args(format!(
            "`{text}` is not a step: write name(arguments), for example rename(c_name, name)"
        ))
    })?;
    if !text.ends_with(')') {
        return Err(Error::invalid_args(format!(
            "`{text}` does not end with `)`"
        )));
    }
    let name = text[..open].trim().to_ascii_lowercase();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::invalid_args(format!(
            "`{text}` does not start with a step name"
        )));
    }
    let body = text[open + 1..text.len() - 1].to_string();
    let tokens = tokenize(&body)?;
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut current: Vec<Token> = Vec::new();
    let mut push = |current: &mut Vec<Token>| -> Result<()> {
        if current.is_empty() {
            return Err(Error::invalid_args(format!("empty argument in `{text}`")));
        }
        let arg = match current.as_slice() {
            [Token::Word(k), Token::Punct("="), rest @ ..] if !rest.is_empty() => Arg {
                key: Some(k.to_ascii_lowercase()),
                tokens: rest.to_vec(),
            },
            _ => Arg {
                key: None,
                tokens: std::mem::take(current),
            },
        };
        current.clear();
        args.push(arg);
        Ok(())
    };
    for t in tokens {
        match t {
            Token::Punct("(") => depth += 1,
            Token::Punct(")") => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| Error::invalid_args(format!("unbalanced `)` in `{text}`")))?
            }
            Token::Punct(",") if depth == 0 => {
                push(&mut current)?;
                continue;
            }
            _ => {}
        }
        current.push(t);
    }
    if depth != 0 {
        return Err(Error::invalid_args(format!("unbalanced `(` in `{text}`")));
    }
    if !current.is_empty() {
        push(&mut current)?;
    }
    Ok(StepText { name, body, args })
}

/// Parses a filter expression.
pub fn parse_expr(text: &str) -> Result<Expr> {
    let tokens = tokenize(text)?;
    let mut p = ExprParser { tokens, pos: 0 };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(Error::invalid_args(format!("unexpected `{t}` in `{text}`"))),
    }
}

struct ExprParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&mut self, k: &str) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(k) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<()> {
        if self.keyword(k) {
            return Ok(());
        }
        Err(Error::invalid_args(match self.peek() {
            Some(t) => format!("expected {k}, found `{t}`"),
            None => format!("expected {k} at the end"),
        }))
    }

    fn punct(&mut self, p: &str) -> bool {
        if self.peek()
            == Some(&Token::Punct(match p {
                "(" => "(",
                ")" => ")",
                "," => ",",
                _ => return false,
            }))
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Result<Expr> {
        let mut e = self.and()?;
        while self.keyword("OR") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut e = self.not()?;
        while self.keyword("AND") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr> {
        // A parenthesised expression, unless it is an operand (none are: operands are columns
        // and literals).
        if self.punct("(") {
            let e = self.or()?;
            if !self.punct(")") {
                return Err(Error::invalid_args("expected `)`"));
            }
            return Ok(e);
        }
        let left = self.operand()?;
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(Expr::IsNull {
                expr: Box::new(left),
                negated,
            });
        }
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            if !self.punct("(") {
                return Err(Error::invalid_args("expected `(` after IN"));
            }
            let mut list = Vec::new();
            loop {
                match self.operand()? {
                    Expr::Literal(l) => list.push(l),
                    other => {
                        return Err(Error::invalid_args(format!(
                            "IN takes a list of literals, found {other}"
                        )))
                    }
                }
                if self.punct(")") {
                    break;
                }
                if !self.punct(",") {
                    return Err(Error::invalid_args("expected `,` or `)` in the IN list"));
                }
            }
            return Ok(Expr::InList {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.keyword("BETWEEN") {
            let low = self.operand()?;
            self.expect_keyword("AND")?;
            let high = self.operand()?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if negated {
            return Err(Error::invalid_args("expected IN or BETWEEN after NOT"));
        }
        // A column alone is a condition if it is a boolean (checked against the schema).
        let comparison_follows = matches!(
            self.peek(),
            Some(Token::Punct("=" | "<>" | "!=" | "<" | "<=" | ">" | ">="))
        );
        if !comparison_follows {
            if let Expr::Column(_) = left {
                if matches!(self.peek(), None | Some(Token::Punct(")")))
                    || matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("AND") || w.eq_ignore_ascii_case("OR"))
                {
                    return Ok(left);
                }
            }
        }
        let op = match self.next() {
            Some(Token::Punct(p)) => match p {
                "=" => CmpOp::Eq,
                "<>" | "!=" => CmpOp::NotEq,
                "<" => CmpOp::Lt,
                "<=" => CmpOp::LtEq,
                ">" => CmpOp::Gt,
                ">=" => CmpOp::GtEq,
                other => {
                    return Err(Error::invalid_args(format!(
                        "expected a comparison, found `{other}`"
                    )))
                }
            },
            Some(t) => {
                return Err(Error::invalid_args(format!(
                    "expected a comparison (=, <>, <, <=, >, >=, IS NULL, IN, BETWEEN), found `{t}`"
                )))
            }
            None => {
                return Err(Error::invalid_args(format!(
                    "`{left}` alone is not a condition: compare it (=, <>, <, <=, >, >=), or use IS NULL, IN or BETWEEN"
                )))
            }
        };
        let right = self.operand()?;
        Ok(Expr::Cmp {
            left: Box::new(left),
            op,
            right: Box::new(right),
        })
    }

    fn operand(&mut self) -> Result<Expr> {
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Expr::Literal(Lit::Null)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("TRUE") => {
                Ok(Expr::Literal(Lit::Bool(true)))
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("FALSE") => {
                Ok(Expr::Literal(Lit::Bool(false)))
            }
            Some(Token::Word(w)) if is_keyword(&w) => Err(Error::invalid_args(format!(
                "expected a column or a literal, found {w} (quote a column of that name: \"{w}\")"
            ))),
            Some(Token::Word(w)) | Some(Token::Quoted(w)) => Ok(Expr::Column(w)),
            Some(Token::Str(s)) => Ok(Expr::Literal(Lit::Str(s))),
            Some(Token::Number(n)) => Ok(Expr::Literal(Lit::Number(n))),
            Some(t) => Err(Error::invalid_args(format!(
                "expected a column or a literal, found `{t}`"
            ))),
            None => Err(Error::invalid_args(
                "expected a column or a literal at the end",
            )),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    ["AND", "OR", "NOT", "IS", "IN", "BETWEEN"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_at_top_level_commas() {
        let s = parse_step(" cast(c_acctbal, DECIMAL(12, 2), safe=false) ").unwrap();
        assert_eq!(s.name, "cast");
        assert_eq!(s.args.len(), 3);
        assert_eq!(s.args[0].column(), Some("c_acctbal"));
        assert_eq!(s.args[1].text(), "DECIMAL(12, 2)");
        assert_eq!(s.args[2].key.as_deref(), Some("safe"));
        assert_eq!(s.args[2].word().as_deref(), Some("false"));
        let s = parse_step("rename(\"odd \"\"name\", plain)").unwrap();
        assert_eq!(s.args[0].column(), Some("odd \"name"));
        assert_eq!(s.args[1].column(), Some("plain"));
        let s = parse_step("add(note, 'a, b')").unwrap();
        assert_eq!(s.args[1].tokens, vec![Token::Str("a, b".into())]);
    }

    #[test]
    fn malformed_steps_say_why() {
        let e = |t: &str| parse_step(t).unwrap_err().to_string();
        assert!(e("rename c_name").contains("write name(arguments)"));
        assert!(e("rename(a, b").contains("does not end with `)`"));
        assert!(e("rename(a,, b)").contains("empty argument"));
        assert!(e("cast(a, DECIMAL(12,2)").contains("unbalanced `(`"));
        assert!(e("add(a, 'x)").contains("unterminated string"));
    }

    #[test]
    fn expressions_bind_or_below_and_below_not() {
        let e = parse_expr("a > 0 AND NOT b IS NULL OR c IN ('x', 'y')").unwrap();
        assert_eq!(
            e.to_string(),
            "((a > 0 AND (NOT b IS NULL)) OR c IN ('x', 'y'))"
        );
        let e = parse_expr("NOT (a BETWEEN -1 AND 2.5e0) and b not in (1)").unwrap();
        assert_eq!(
            e.to_string(),
            "((NOT a BETWEEN -1 AND 2.5e0) AND b NOT IN (1))"
        );
        let e = parse_expr("x-1 > 0");
        assert!(e.is_err(), "no arithmetic: {e:?}");
        let e = parse_expr("a >= -3").unwrap();
        assert_eq!(e.to_string(), "a >= -3");
    }

    #[test]
    fn bad_expressions_say_why() {
        let e = |t: &str| parse_expr(t).unwrap_err().to_string();
        assert!(e("1").contains("alone is not a condition"));
        assert!(e("a b").contains("expected a comparison"));
        assert!(e("a > ").contains("at the end"));
        assert!(e("a IN (b)").contains("IN takes a list of literals"));
        assert!(e("a BETWEEN 1 2").contains("expected AND"));
        assert!(e("(a > 1").contains("expected `)`"));
        assert!(e("a > 1 b").contains("unexpected `b`"));
        assert!(e("a = AND").contains("quote a column"));
        assert!(e("a ~ 1").contains("unexpected `~`"));
    }
}
