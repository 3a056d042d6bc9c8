//! Column defaults between dialects: a source's default expression is read into one of the
//! portable kinds ([`ColumnDefault`]), recorded in the field's metadata (`ferry.default`), and
//! written in the target's own SQL. A default of another kind (an expression only its dialect
//! knows) is recorded verbatim and left out by a target, which names it.

use arrow::datatypes::Field;

/// The field metadata key of a column's default.
pub const META_DEFAULT: &str = "ferry.default";

/// A default value every target can say in its own SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnDefault {
    /// A number, as written (`42`, `-1.5`).
    Number(String),
    /// A string (or a date, a JSON text: anything a quoted literal gives).
    Text(String),
    Bool(bool),
    CurrentTimestamp,
    CurrentDate,
    /// A new random UUID.
    Uuid,
    /// An expression of the source's dialect, not carried across dialects.
    Other(String),
}

impl ColumnDefault {
    /// The metadata text: `number:42`, `text:abc`, `bool:true`, `current_timestamp`,
    /// `current_date`, `uuid`, `other:<expression>`.
    pub fn encode(&self) -> String {
        match self {
            ColumnDefault::Number(n) => format!("number:{n}"),
            ColumnDefault::Text(t) => format!("text:{t}"),
            ColumnDefault::Bool(b) => format!("bool:{b}"),
            ColumnDefault::CurrentTimestamp => "current_timestamp".into(),
            ColumnDefault::CurrentDate => "current_date".into(),
            ColumnDefault::Uuid => "uuid".into(),
            ColumnDefault::Other(e) => format!("other:{e}"),
        }
    }

    pub fn decode(s: &str) -> Option<ColumnDefault> {
        Some(match s {
            "current_timestamp" => ColumnDefault::CurrentTimestamp,
            "current_date" => ColumnDefault::CurrentDate,
            "uuid" => ColumnDefault::Uuid,
            _ => match s.split_once(':')? {
                ("number", n) => ColumnDefault::Number(n.into()),
                ("text", t) => ColumnDefault::Text(t.into()),
                ("bool", b) => ColumnDefault::Bool(b == "true"),
                ("other", e) => ColumnDefault::Other(e.into()),
                _ => return None,
            },
        })
    }

    /// The default a source recorded on `field`.
    pub fn of_field(field: &Field) -> Option<ColumnDefault> {
        ColumnDefault::decode(field.metadata().get(META_DEFAULT)?)
    }

    /// `field` with this default recorded.
    pub fn on_field(&self, field: Field) -> Field {
        let mut meta = field.metadata().clone();
        meta.insert(META_DEFAULT.into(), self.encode());
        field.with_metadata(meta)
    }

    /// A PostgreSQL default expression (`pg_get_expr` of `pg_attrdef`); `None` for `NULL`.
    pub fn from_pg(expr: &str) -> Option<ColumnDefault> {
        let e = strip_parens(expr.trim());
        // `'abc'::text`, `'2020-01-01'::date`, `'{}'::jsonb`: the literal, its cast dropped
        // (the target casts it to the column's type).
        let (body, cast) = split_cast(e);
        let lower = body.to_ascii_lowercase();
        if lower == "null" || lower.starts_with("null::") {
            return None;
        }
        if let Some(text) = quoted(body) {
            return Some(match cast {
                Some(c) if is_numeric_type(c) && is_number(&text) => ColumnDefault::Number(text),
                Some(c) if c == "boolean" && matches!(text.as_str(), "true" | "false") => {
                    ColumnDefault::Bool(text == "true")
                }
                _ => ColumnDefault::Text(text),
            });
        }
        let bare = strip_parens(body);
        if is_number(bare) {
            return Some(ColumnDefault::Number(bare.to_string()));
        }
        Some(match bare.to_ascii_lowercase().as_str() {
            "true" => ColumnDefault::Bool(true),
            "false" => ColumnDefault::Bool(false),
            "now()"
            | "current_timestamp"
            | "transaction_timestamp()"
            | "statement_timestamp()"
            | "localtimestamp" => ColumnDefault::CurrentTimestamp,
            "current_date" => ColumnDefault::CurrentDate,
            "gen_random_uuid()" | "uuid_generate_v4()" => ColumnDefault::Uuid,
            _ => ColumnDefault::Other(expr.trim().to_string()),
        })
    }

    /// A MySQL/MariaDB `information_schema.COLUMNS.COLUMN_DEFAULT` (MariaDB quotes string
    /// literals and writes `NULL` for none); `None` for `NULL`.
    pub fn from_mysql(default: &str) -> Option<ColumnDefault> {
        let d = default.trim();
        if d.eq_ignore_ascii_case("null") {
            return None;
        }
        if let Some(text) = quoted(d) {
            return Some(ColumnDefault::Text(text));
        }
        if is_number(d) {
            return Some(ColumnDefault::Number(d.to_string()));
        }
        let lower = d.to_ascii_lowercase();
        let call = lower.trim_end_matches("()");
        Some(match call {
            "current_timestamp" | "now" | "localtimestamp" => ColumnDefault::CurrentTimestamp,
            "curdate" | "current_date" => ColumnDefault::CurrentDate,
            "uuid" => ColumnDefault::Uuid,
            _ => ColumnDefault::Other(d.to_string()),
        })
    }

    /// The PostgreSQL `DEFAULT` expression for a column of type `declared`, or why not.
    pub fn to_pg(&self, declared: &str) -> Result<String, String> {
        let d = declared.to_ascii_lowercase();
        Ok(match self {
            ColumnDefault::Number(n) if d == "boolean" => match n.as_str() {
                "0" => "false".into(),
                "1" => "true".into(),
                _ => return Err(format!("the number {n} is no boolean")),
            },
            ColumnDefault::Number(n) => n.clone(),
            ColumnDefault::Text(t) => super::quote_literal(t),
            ColumnDefault::Bool(b) if d == "boolean" => b.to_string(),
            ColumnDefault::Bool(b) => (*b as u8).to_string(),
            ColumnDefault::CurrentTimestamp if d.starts_with("timestamp") => {
                "CURRENT_TIMESTAMP".into()
            }
            ColumnDefault::CurrentDate if d == "date" => "CURRENT_DATE".into(),
            ColumnDefault::Uuid if d == "uuid" => "gen_random_uuid()".into(),
            ColumnDefault::Uuid if is_text_type(&d) => "gen_random_uuid()::text".into(),
            ColumnDefault::Other(e) => {
                return Err(format!("{e} is an expression of the source's dialect"))
            }
            other => return Err(format!("{} does not fit a {declared}", other.encode())),
        })
    }

    /// The MySQL/MariaDB `DEFAULT` clause's expression for a column of type `declared` (an
    /// expression in parentheses where MySQL 8 and MariaDB both take one), or why not.
    pub fn to_mysql(&self, declared: &str) -> Result<String, String> {
        let d = declared.to_ascii_lowercase();
        let temporal = d.starts_with("datetime") || d.starts_with("timestamp");
        Ok(match self {
            ColumnDefault::Number(n) => n.clone(),
            ColumnDefault::Bool(b) => (*b as u8).to_string(),
            // ferry's sessions keep backslash escapes (no `NO_BACKSLASH_ESCAPES`).
            ColumnDefault::Text(t) if !t.contains('\0') => {
                format!("('{}')", t.replace('\\', "\\\\").replace('\'', "''"))
            }
            ColumnDefault::CurrentTimestamp if temporal => "CURRENT_TIMESTAMP".into(),
            ColumnDefault::CurrentDate if d == "date" => "(CURRENT_DATE)".into(),
            ColumnDefault::Uuid if is_text_type(&d) || d.starts_with("uuid") => "(uuid())".into(),
            ColumnDefault::Other(e) => {
                return Err(format!("{e} is an expression of the source's dialect"))
            }
            other => return Err(format!("{} does not fit a {declared}", other.encode())),
        })
    }
}

fn strip_parens(mut s: &str) -> &str {
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim();
    }
    s
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut in_quote = false;
    for c in s.chars() {
        match c {
            '\'' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// `'literal'::type` into (`'literal'`, `Some(type)`); the cast's type lowercased.
fn split_cast(s: &str) -> (&str, Option<&str>) {
    if let Some(end) = s.rfind("'::") {
        if s.starts_with('\'') {
            return (&s[..=end], Some(&s[end + 3..]));
        }
    }
    (s, None)
}

/// The text of a `'...'` literal (`''` unescaped), if `s` is one.
fn quoted(s: &str) -> Option<String> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Only doubled quotes inside a literal.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().filter(|c| *c == '.').count() <= 1
        && t.chars().any(|c| c.is_ascii_digit())
}

fn is_numeric_type(t: &str) -> bool {
    let t = t.trim_matches('"');
    t.starts_with("numeric")
        || t.starts_with("integer")
        || t.starts_with("bigint")
        || t.starts_with("smallint")
        || t.starts_with("double")
        || t.starts_with("real")
}

fn is_text_type(d: &str) -> bool {
    d.ends_with("text")
        || d.starts_with("varchar")
        || d.starts_with("character")
        || d.starts_with("char")
}

#[cfg(test)]
mod tests {
    use super::ColumnDefault as D;

    #[test]
    fn postgres_defaults_are_read_into_portable_kinds() {
        let n = |s: &str| Some(D::Number(s.into()));
        let t = |s: &str| Some(D::Text(s.into()));
        assert_eq!(D::from_pg("0"), n("0"));
        assert_eq!(D::from_pg("(-1)"), n("-1"));
        assert_eq!(D::from_pg("1.50"), n("1.50"));
        assert_eq!(D::from_pg("'1.5'::numeric"), n("1.5"));
        assert_eq!(D::from_pg("'it''s'::text"), t("it's"));
        assert_eq!(D::from_pg("'2020-01-01'::date"), t("2020-01-01"));
        assert_eq!(D::from_pg("'{}'::jsonb"), t("{}"));
        assert_eq!(D::from_pg("'x'::character varying"), t("x"));
        assert_eq!(D::from_pg("true"), Some(D::Bool(true)));
        assert_eq!(D::from_pg("now()"), Some(D::CurrentTimestamp));
        assert_eq!(D::from_pg("CURRENT_TIMESTAMP"), Some(D::CurrentTimestamp));
        assert_eq!(D::from_pg("CURRENT_DATE"), Some(D::CurrentDate));
        assert_eq!(D::from_pg("gen_random_uuid()"), Some(D::Uuid));
        assert_eq!(D::from_pg("NULL::text"), None);
        assert_eq!(
            D::from_pg("(date_part('year'::text, now()))"),
            Some(D::Other("(date_part('year'::text, now()))".into()))
        );
    }

    #[test]
    fn mariadb_defaults_are_read_into_portable_kinds() {
        assert_eq!(D::from_mysql("NULL"), None);
        assert_eq!(D::from_mysql("42"), Some(D::Number("42".into())));
        assert_eq!(D::from_mysql("'it''s'"), Some(D::Text("it's".into())));
        assert_eq!(
            D::from_mysql("current_timestamp()"),
            Some(D::CurrentTimestamp)
        );
        assert_eq!(D::from_mysql("curdate()"), Some(D::CurrentDate));
        assert_eq!(D::from_mysql("uuid()"), Some(D::Uuid));
        assert_eq!(D::from_mysql("1 + 1"), Some(D::Other("1 + 1".into())));
    }

    #[test]
    fn defaults_are_written_in_each_targets_sql_or_refused_by_type() {
        assert_eq!(D::Number("1".into()).to_pg("boolean"), Ok("true".into()));
        assert_eq!(D::Text("a'b".into()).to_pg("text"), Ok("'a''b'".into()));
        assert_eq!(
            D::CurrentTimestamp.to_pg("timestamp with time zone"),
            Ok("CURRENT_TIMESTAMP".into())
        );
        assert!(D::CurrentTimestamp.to_pg("text").is_err());
        assert_eq!(D::Bool(true).to_mysql("tinyint(1)"), Ok("1".into()));
        assert_eq!(
            D::Text("x".into()).to_mysql("varchar(5)"),
            Ok("('x')".into())
        );
        assert_eq!(
            D::CurrentTimestamp.to_mysql("datetime(6)"),
            Ok("CURRENT_TIMESTAMP".into())
        );
        assert!(D::Other("f()".into()).to_mysql("int").is_err());
        for d in [
            D::Number("-2".into()),
            D::Text("t:x".into()),
            D::Uuid,
            D::Other("a:b".into()),
        ] {
            assert_eq!(D::decode(&d.encode()), Some(d));
        }
    }
}
