//! `filter(EXPR)`: keeps the rows for which a predicate over columns and literals is true
//! (comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`, `[NOT] IN (...)`, `[NOT] BETWEEN`), with SQL's
//! three-valued logic: a row whose predicate is NULL is dropped. Evaluated with arrow's
//! comparison and Kleene boolean kernels.
//!
//! Where the source is a database, [`SqlDialect::render`] writes the predicate in the source's
//! SQL, and the pipeline hands it to the source (`TablePlan::filter`) instead of evaluating it
//! here. A predicate is rendered only where the database compares exactly as arrow does (see
//! `sqlite_operand`); otherwise it stays in the chain.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Datum, Decimal128Array, Decimal256Array, Scalar,
    StringArray,
};
use arrow::compute::kernels::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow::compute::kernels::cmp;
use arrow::compute::{cast_with_options, filter_record_batch, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::Transform;
use crate::error::{Error, Result};
use crate::types::{
    decimal, quote_ident, quote_literal, source_type, sqlite_affinity, Affinity, META_SOURCE,
    META_SOURCE_TYPE,
};

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    /// A number as written; typed by the column it is compared with.
    Number(String),
    Str(String),
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Null => f.write_str("NULL"),
            Lit::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Lit::Number(n) => f.write_str(n),
            Lit::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(String),
    Literal(Lit),
    Cmp {
        left: Box<Expr>,
        op: CmpOp,
        right: Box<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Lit>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
}

fn not_kw(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) if c.chars().all(|x| x.is_alphanumeric() || x == '_') => f.write_str(c),
            Expr::Column(c) => f.write_str(&quote_ident(c)),
            Expr::Literal(l) => l.fmt(f),
            Expr::Cmp { left, op, right } => write!(f, "{left} {} {right}", op.sql()),
            Expr::And(a, b) => write!(f, "({a} AND {b})"),
            Expr::Or(a, b) => write!(f, "({a} OR {b})"),
            Expr::Not(a) => write!(f, "(NOT {a})"),
            Expr::IsNull { expr, negated } => write!(f, "{expr} IS {}NULL", not_kw(*negated)),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|l| l.to_string()).collect();
                write!(f, "{expr} {}IN ({})", not_kw(*negated), items.join(", "))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => write!(f, "{expr} {}BETWEEN {low} AND {high}", not_kw(*negated)),
        }
    }
}

impl Expr {
    /// The columns the expression reads.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.visit_columns(&mut |c| out.push(c));
        out
    }

    fn visit_columns<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Expr::Column(c) => f(c),
            Expr::Literal(_) => {}
            Expr::Cmp { left, right, .. } => {
                left.visit_columns(f);
                right.visit_columns(f);
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
            Expr::Not(a) | Expr::IsNull { expr: a, .. } | Expr::InList { expr: a, .. } => {
                a.visit_columns(f)
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.visit_columns(f);
                low.visit_columns(f);
                high.visit_columns(f);
            }
        }
    }

    /// The same expression with every column renamed by `f`.
    pub fn rename_columns(&self, f: &impl Fn(&str) -> String) -> Expr {
        let b = |e: &Expr| Box::new(e.rename_columns(f));
        match self {
            Expr::Column(c) => Expr::Column(f(c)),
            Expr::Literal(l) => Expr::Literal(l.clone()),
            Expr::Cmp { left, op, right } => Expr::Cmp {
                left: b(left),
                op: *op,
                right: b(right),
            },
            Expr::And(x, y) => Expr::And(b(x), b(y)),
            Expr::Or(x, y) => Expr::Or(b(x), b(y)),
            Expr::Not(x) => Expr::Not(b(x)),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: b(expr),
                negated: *negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: b(expr),
                list: list.clone(),
                negated: *negated,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: b(expr),
                low: b(low),
                high: b(high),
                negated: *negated,
            },
        }
    }

    /// Checks columns and types against `schema`: every column exists, literals fit the type
    /// of the column they meet, compared columns have the same type.
    pub fn check(&self, schema: &Schema) -> Result<()> {
        match self {
            Expr::Column(c) => match column(schema, c)?.1.data_type() {
                DataType::Boolean => Ok(()),
                other => Err(Error::invalid_args(format!(
                    "column \"{c}\" is {other}: alone it is not a condition; compare it (=, <>, <, <=, >, >=), or use IS NULL, IN or BETWEEN"
                ))),
            },
            Expr::Literal(_) => Err(Error::invalid_args(format!(
                "`{self}` alone is not a condition"
            ))),
            Expr::Cmp { left, right, .. } => {
                pair_type(left, right, schema)?;
                Ok(())
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.check(schema)?;
                b.check(schema)
            }
            Expr::Not(a) => a.check(schema),
            Expr::IsNull { expr, .. } => match &**expr {
                Expr::Column(c) => column(schema, c).map(|_| ()),
                other => Err(Error::invalid_args(format!(
                    "IS NULL takes a column, found {other}"
                ))),
            },
            Expr::InList { expr, list, .. } => {
                for l in list {
                    pair_type(expr, &Expr::Literal(l.clone()), schema)?;
                }
                Ok(())
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                pair_type(expr, low, schema)?;
                pair_type(expr, high, schema)?;
                Ok(())
            }
        }
    }

    /// The predicate's value on each row of `batch` (NULL where SQL would say unknown).
    pub fn eval(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let schema = batch.schema();
        let k = |r: std::result::Result<BooleanArray, arrow::error::ArrowError>| {
            r.map_err(|e| Error::arrow(format!("filter `{self}`"), e))
        };
        Ok(match self {
            Expr::Column(c) => {
                let a = batch.column(column(&schema, c)?.0);
                a.as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| Error::invalid_args(format!("column \"{c}\" is not a boolean")))?
                    .clone()
            }
            Expr::Literal(_) => {
                return Err(Error::invalid_args(format!(
                    "`{self}` alone is not a condition"
                )))
            }
            Expr::Cmp { left, op, right } => {
                let ty = pair_type(left, right, &schema)?;
                compare(batch, left, *op, right, &ty)?
            }
            Expr::And(a, b) => k(and_kleene(&a.eval(batch)?, &b.eval(batch)?))?,
            Expr::Or(a, b) => k(or_kleene(&a.eval(batch)?, &b.eval(batch)?))?,
            Expr::Not(a) => k(not(&a.eval(batch)?))?,
            Expr::IsNull { expr, negated } => {
                let Expr::Column(c) = &**expr else {
                    return Err(Error::invalid_args("IS NULL takes a column"));
                };
                let a = batch.column(column(&schema, c)?.0);
                k(if *negated { is_not_null(a) } else { is_null(a) })?
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let mut acc: Option<BooleanArray> = None;
                for l in list {
                    let lit = Expr::Literal(l.clone());
                    let ty = pair_type(expr, &lit, &schema)?;
                    let eq = compare(batch, expr, CmpOp::Eq, &lit, &ty)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => k(or_kleene(&a, &eq))?,
                    });
                }
                let acc = acc.ok_or_else(|| Error::invalid_args("IN needs at least one value"))?;
                if *negated {
                    k(not(&acc))?
                } else {
                    acc
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let ty = pair_type(expr, low, &schema)?;
                let lo = compare(batch, expr, CmpOp::GtEq, low, &ty)?;
                let ty = pair_type(expr, high, &schema)?;
                let hi = compare(batch, expr, CmpOp::LtEq, high, &ty)?;
                let both = k(and_kleene(&lo, &hi))?;
                if *negated {
                    k(not(&both))?
                } else {
                    both
                }
            }
        })
    }
}

fn column<'a>(schema: &'a Schema, name: &str) -> Result<(usize, &'a Field)> {
    schema.column_with_name(name).ok_or_else(|| {
        Error::invalid_args(format!(
            "column \"{name}\" not found (columns: {})",
            super::column_list(schema)
        ))
    })
}

/// The type two operands are compared in: the column's (both columns: they must agree).
fn pair_type(a: &Expr, b: &Expr, schema: &Schema) -> Result<DataType> {
    match (a, b) {
        (Expr::Column(x), Expr::Column(y)) => {
            let (tx, ty) = (
                column(schema, x)?.1.data_type(),
                column(schema, y)?.1.data_type(),
            );
            if tx != ty {
                return Err(Error::invalid_args(format!(
                    "columns \"{x}\" ({tx}) and \"{y}\" ({ty}) have different types; cast one first"
                )));
            }
            Ok(tx.clone())
        }
        (Expr::Column(c), Expr::Literal(l)) | (Expr::Literal(l), Expr::Column(c)) => {
            let ty = column(schema, c)?.1.data_type().clone();
            literal_array(l, &ty, c)?;
            Ok(ty)
        }
        (Expr::Literal(_), Expr::Literal(_)) => Err(Error::invalid_args(format!(
            "`{a}` and `{b}` are both literals: a comparison needs a column"
        ))),
        (x, y) => Err(Error::invalid_args(format!(
            "compare columns and literals, not `{x}` and `{y}`"
        ))),
    }
}

fn operand(batch: &RecordBatch, e: &Expr, ty: &DataType) -> Result<Box<dyn Datum>> {
    match e {
        Expr::Column(c) => Ok(Box::new(
            batch.column(column(&batch.schema(), c)?.0).clone(),
        )),
        Expr::Literal(l) => Ok(Box::new(Scalar::new(literal_array(l, ty, "")?))),
        other => Err(Error::invalid_args(format!(
            "`{other}` is not a column or a literal"
        ))),
    }
}

fn compare(
    batch: &RecordBatch,
    l: &Expr,
    op: CmpOp,
    r: &Expr,
    ty: &DataType,
) -> Result<BooleanArray> {
    let (a, b) = (operand(batch, l, ty)?, operand(batch, r, ty)?);
    let (a, b) = (a.as_ref(), b.as_ref());
    let out = match op {
        CmpOp::Eq => cmp::eq(a, b),
        CmpOp::NotEq => cmp::neq(a, b),
        CmpOp::Lt => cmp::lt(a, b),
        CmpOp::LtEq => cmp::lt_eq(a, b),
        CmpOp::Gt => cmp::gt(a, b),
        CmpOp::GtEq => cmp::gt_eq(a, b),
    };
    out.map_err(|e| Error::arrow(format!("filter `{l} {} {r}`", op.sql()), e))
}

/// A literal as a one-value array of the type of the column `col` it meets; an error if it does
/// not fit that type exactly.
pub fn literal_array(lit: &Lit, ty: &DataType, col: &str) -> Result<ArrayRef> {
    let no_fit = || {
        Error::invalid_args(format!(
            "literal {lit} does not fit column \"{col}\" ({ty})"
        ))
    };
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let from_text = |s: &str| -> Result<ArrayRef> {
        let a: ArrayRef = Arc::new(StringArray::from(vec![s]));
        cast_with_options(&a, ty, &strict).map_err(|_| no_fit())
    };
    match (lit, ty) {
        (Lit::Null, _) => Err(Error::invalid_args(format!(
            "a comparison with NULL is never true: write \"{col}\" IS NULL or IS NOT NULL"
        ))),
        (Lit::Bool(b), DataType::Boolean) => Ok(Arc::new(BooleanArray::from(vec![*b]))),
        (Lit::Number(n), DataType::Decimal128(p, s)) => {
            let v = decimal::parse_exact(n, *p, *s).ok_or_else(no_fit)?;
            let v = v.to_i128().ok_or_else(no_fit)?;
            Ok(Arc::new(
                Decimal128Array::from(vec![v])
                    .with_precision_and_scale(*p, *s)
                    .map_err(|_| no_fit())?,
            ))
        }
        (Lit::Number(n), DataType::Decimal256(p, s)) => {
            let v = decimal::parse_exact(n, *p, *s).ok_or_else(no_fit)?;
            Ok(Arc::new(
                Decimal256Array::from(vec![v])
                    .with_precision_and_scale(*p, *s)
                    .map_err(|_| no_fit())?,
            ))
        }
        (Lit::Number(n), t) if t.is_integer() || t.is_floating() => {
            from_text(n.strip_prefix('+').unwrap_or(n))
        }
        (Lit::Str(s), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => from_text(s),
        (
            Lit::Str(s),
            DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(..),
        ) => from_text(s),
        (Lit::Str(s), DataType::Binary) => Ok(Arc::new(BinaryArray::from(vec![s.as_bytes()]))),
        _ => Err(Error::invalid_args(format!(
            "literal {lit} cannot be compared with column \"{col}\" ({ty}){}",
            match lit {
                Lit::Number(_) if matches!(ty, DataType::Utf8 | DataType::LargeUtf8) =>
                    "; quote text: 'like this'",
                Lit::Str(_) if ty.is_numeric() => "; write numbers without quotes",
                _ => "",
            }
        ))),
    }
}

/// The SQL dialects a filter can be written in for a database source to evaluate.
///
/// A database source says which one it speaks (`Source::filter_dialect`); the pipeline renders
/// the filters that read source columns unchanged and hands the SQL text to the source in
/// `TablePlan::filter`. A dialect renders only what its database compares exactly as arrow does,
/// so pushing a filter down never changes which rows arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlDialect {
    Sqlite,
    Postgres,
    /// MySQL and MariaDB. `dates`: whether `date` columns may be compared by the server, which
    /// holds only while zero dates are read as errors: read as NULL (`--zero-dates null`), a
    /// zero date would pass `d < DATE '...'` in MySQL and fail it in ferry.
    Mysql {
        dates: bool,
    },
}

impl SqlDialect {
    /// `expr` in this dialect over the columns of `schema` (the source's), or `None` if part of
    /// it cannot be evaluated by the database with the same result.
    pub fn render(self, expr: &Expr, schema: &Schema) -> Option<String> {
        let rules = match self {
            SqlDialect::Sqlite => Rules {
                column: sqlite_column,
                literal: sqlite_literal,
            },
            SqlDialect::Postgres => Rules {
                column: pg_column,
                literal: pg_literal,
            },
            SqlDialect::Mysql { dates: true } => Rules {
                column: |name, schema| mysql_column(name, schema, true),
                literal: mysql_literal,
            },
            SqlDialect::Mysql { dates: false } => Rules {
                column: |name, schema| mysql_column(name, schema, false),
                literal: mysql_literal,
            },
        };
        rules.expr(expr, schema)
    }
}

/// What a dialect says about operands; the shape of the SQL is common to all.
struct Rules {
    /// A column's SQL and its arrow type, if the database compares its values as arrow does.
    column: fn(&str, &Schema) -> Option<(String, DataType)>,
    /// A literal typed by the column it meets, as the database reads back the same value.
    literal: fn(&Lit, &DataType) -> Option<String>,
}

/// How a SQLite column compares: its values are stored so that SQLite's comparison with a
/// rendered literal gives arrow's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteOperand {
    /// Integers, reals, decimals (NUMERIC affinity) and booleans: compared as numbers.
    Number,
    /// Text with TEXT or no affinity: compared byte by byte (`COLLATE BINARY`, as arrow does).
    Text,
    /// Dates: ferry reads only the canonical `YYYY-MM-DD` text, which sorts as the date.
    Date,
}

fn sqlite_operand(field: &Field) -> Option<SqliteOperand> {
    let meta = field.metadata();
    if meta.get(META_SOURCE).map(String::as_str) != Some("sqlite") {
        return None;
    }
    let affinity = sqlite_affinity(meta.get(META_SOURCE_TYPE).map(String::as_str).unwrap_or(""));
    match field.data_type() {
        DataType::Int64 | DataType::Float64 | DataType::Boolean if affinity != Affinity::Text => {
            Some(SqliteOperand::Number)
        }
        // DECIMAL_TEXT(p,s) has TEXT affinity: its values compare as text, not as numbers.
        DataType::Decimal128(..) | DataType::Decimal256(..)
            if matches!(
                affinity,
                Affinity::Numeric | Affinity::Integer | Affinity::Real
            ) =>
        {
            Some(SqliteOperand::Number)
        }
        // A NUMERIC-affinity column holding text would compare a number-like literal as a
        // number; only TEXT or no affinity compare text as text.
        DataType::Utf8 if matches!(affinity, Affinity::Text | Affinity::Blob) => {
            Some(SqliteOperand::Text)
        }
        DataType::Date32 => Some(SqliteOperand::Date),
        _ => None,
    }
}

fn sqlite_column(name: &str, schema: &Schema) -> Option<(String, DataType)> {
    let field = schema.field_with_name(name).ok()?;
    let q = quote_ident(name);
    let sql = match sqlite_operand(field)? {
        SqliteOperand::Text => format!("{q} COLLATE BINARY"),
        SqliteOperand::Number | SqliteOperand::Date => q,
    };
    Some((sql, field.data_type().clone()))
}

/// A literal as a one-value array of the column's type and arrow's text of that value; `None`
/// if it does not fit the type.
fn typed_literal(lit: &Lit, ty: &DataType) -> Option<(ArrayRef, String)> {
    let a = literal_array(lit, ty, "").ok()?;
    let text = cast_with_options(&a, &DataType::Utf8, &CastOptions::default()).ok()?;
    let text = text.as_any().downcast_ref::<StringArray>()?;
    if text.is_null(0) {
        return None;
    }
    let v = text.value(0).to_string();
    Some((a, v))
}

fn sqlite_literal(lit: &Lit, ty: &DataType) -> Option<String> {
    let (a, v) = typed_literal(lit, ty)?;
    Some(match ty {
        DataType::Boolean => (if v == "true" { "1" } else { "0" }).to_string(),
        DataType::Int64 | DataType::Decimal128(..) | DataType::Decimal256(..) => v,
        // Shortest round-trip text, which SQLite parses back to the same double.
        DataType::Float64 => {
            let f = a
                .as_any()
                .downcast_ref::<arrow::array::Float64Array>()?
                .value(0);
            if !f.is_finite() {
                return None;
            }
            format!("{f:?}")
        }
        DataType::Utf8 | DataType::Date32 if !v.contains('\0') => quote_literal(&v),
        _ => return None,
    })
}

/// A PostgreSQL column whose values the server compares as arrow does: integers, `numeric(p,s)`
/// (exact), `boolean`, `date`, and `text`/`varchar` compared byte by byte (`COLLATE "C"`, as
/// arrow compares UTF-8). Floats are left out (PostgreSQL has `-0 = 0` and `NaN = NaN`, arrow's
/// order does not), and so is every type ferry reads as text (`char(n)` compares without its
/// padding, json, arrays, enums...).
fn pg_column(name: &str, schema: &Schema) -> Option<(String, DataType)> {
    let field = schema.field_with_name(name).ok()?;
    let (dialect, declared) = source_type(field)?;
    if dialect != crate::types::postgres::DIALECT {
        return None;
    }
    let q = quote_ident(name);
    let sql = match (field.data_type(), declared) {
        (DataType::Int16, "smallint")
        | (DataType::Int32, "integer")
        | (DataType::Int64, "bigint")
        | (DataType::Boolean, "boolean")
        | (DataType::Date32, "date") => q,
        (DataType::Decimal128(..) | DataType::Decimal256(..), d) if d.starts_with("numeric(") => q,
        (DataType::Utf8, d) if d == "text" || d.starts_with("character varying") => {
            format!("{q} COLLATE \"C\"")
        }
        _ => return None,
    };
    Some((sql, field.data_type().clone()))
}

/// `DATE 'YYYY-MM-DD'` for arrow's text of a date (PostgreSQL and MySQL): years 1 to 9999 only,
/// as arrow writes BC and five-digit years in forms the databases read differently.
fn date_literal(v: &str) -> Option<String> {
    (v.len() == 10 && v.as_bytes()[..4].iter().all(u8::is_ascii_digit) && &v[..4] != "0000")
        .then(|| format!("DATE '{v}'"))
}

/// A literal as PostgreSQL reads back the same value of the column's type.
fn pg_literal(lit: &Lit, ty: &DataType) -> Option<String> {
    let (_, v) = typed_literal(lit, ty)?;
    Some(match ty {
        DataType::Boolean
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => v,
        DataType::Date32 => date_literal(&v)?,
        DataType::Utf8 if !v.contains('\0') => quote_literal(&v),
        _ => return None,
    })
}

/// A MySQL column whose values the server compares as arrow does:
/// - integers of every width, signed or unsigned (`tinyint(1)`, read as a boolean, and `bit(n)`
///   are left out);
/// - `decimal(p,s)` (exact);
/// - `date`, when `dates` (see [`SqlDialect::Mysql`]);
/// - `varchar(n)` and the `text` types, compared as the bytes of their UTF-8 text (what ferry
///   reads): `CAST(CONVERT(c USING utf8mb4) AS BINARY)`. A collation would fold case, and even
///   `utf8mb4_bin` ignores trailing spaces (PAD SPACE).
///
/// Left out: floats (`-0 = 0`), `char(n)` (MySQL strips its trailing spaces), `enum` and `set`
/// (ordered by their index), `json`, `year`, times and timestamps (session time zone).
fn mysql_column(name: &str, schema: &Schema, dates: bool) -> Option<(String, DataType)> {
    let field = schema.field_with_name(name).ok()?;
    let (dialect, declared) = source_type(field)?;
    if dialect != crate::types::mysql::DIALECT {
        return None;
    }
    let declared = declared.to_ascii_lowercase();
    let base = declared.split(['(', ' ']).next().unwrap_or("");
    let q = crate::mysql::quote_ident(name);
    let sql = match (field.data_type(), base) {
        (
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64,
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint",
        ) => q,
        (DataType::Decimal128(..) | DataType::Decimal256(..), "decimal" | "numeric") => q,
        (DataType::Date32, "date") if dates => q,
        (DataType::Utf8, "varchar" | "tinytext" | "text" | "mediumtext" | "longtext") => {
            format!("CAST(CONVERT({q} USING utf8mb4) AS BINARY)")
        }
        _ => return None,
    };
    Some((sql, field.data_type().clone()))
}

/// A literal as MySQL reads back the same value of the column's type. Text is a hexadecimal
/// binary string (`X'...'`), read the same in every SQL mode (`NO_BACKSLASH_ESCAPES`) and
/// character set, and compared byte by byte with the column's UTF-8 bytes.
fn mysql_literal(lit: &Lit, ty: &DataType) -> Option<String> {
    let (_, v) = typed_literal(lit, ty)?;
    Some(match ty {
        t if t.is_integer() => v,
        DataType::Decimal128(..) | DataType::Decimal256(..) => v,
        // MySQL's own range is 1000 to 9999; earlier years of four digits compare correctly.
        DataType::Date32 => date_literal(&v)?,
        DataType::Utf8 => format!("X'{}'", hex::encode_upper(&v)),
        _ => return None,
    })
}

impl Rules {
    /// The SQL of an operand compared with `other`: a column, or a literal typed by the column.
    fn pair(&self, e: &Expr, other: &Expr, schema: &Schema) -> Option<String> {
        match (e, other) {
            (Expr::Column(c), _) => Some((self.column)(c, schema)?.0),
            (Expr::Literal(l), Expr::Column(c)) => (self.literal)(l, &(self.column)(c, schema)?.1),
            _ => None,
        }
    }

    fn expr(&self, e: &Expr, schema: &Schema) -> Option<String> {
        Some(match e {
            Expr::Column(c) => {
                let (col, ty) = (self.column)(c, schema)?;
                if ty != DataType::Boolean {
                    return None;
                }
                format!("{col} = {}", (self.literal)(&Lit::Bool(true), &ty)?)
            }
            Expr::Literal(_) => return None,
            Expr::Cmp { left, op, right } => {
                if let (Expr::Column(a), Expr::Column(b)) = (&**left, &**right) {
                    // Both sides must compare the same way (checked types are equal already).
                    let (_, ta) = (self.column)(a, schema)?;
                    let (_, tb) = (self.column)(b, schema)?;
                    if ta != tb {
                        return None;
                    }
                }
                format!(
                    "{} {} {}",
                    self.pair(left, right, schema)?,
                    op.sql(),
                    self.pair(right, left, schema)?
                )
            }
            Expr::And(a, b) => format!("({} AND {})", self.expr(a, schema)?, self.expr(b, schema)?),
            Expr::Or(a, b) => format!("({} OR {})", self.expr(a, schema)?, self.expr(b, schema)?),
            Expr::Not(a) => format!("(NOT {})", self.expr(a, schema)?),
            Expr::IsNull { expr, negated } => match &**expr {
                Expr::Column(c) => format!(
                    "{} IS {}NULL",
                    (self.column)(c, schema)?.0,
                    not_kw(*negated)
                ),
                _ => return None,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let Expr::Column(c) = &**expr else {
                    return None;
                };
                let (col, ty) = (self.column)(c, schema)?;
                let items = list
                    .iter()
                    .map(|l| (self.literal)(l, &ty))
                    .collect::<Option<Vec<_>>>()?;
                format!("{col} {}IN ({})", not_kw(*negated), items.join(", "))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                if !matches!(&**expr, Expr::Column(_)) {
                    return None;
                }
                // Rendered as two comparisons so a column bound is checked like any comparison.
                let lo = self.expr(
                    &Expr::Cmp {
                        left: expr.clone(),
                        op: CmpOp::GtEq,
                        right: low.clone(),
                    },
                    schema,
                )?;
                let hi = self.expr(
                    &Expr::Cmp {
                        left: expr.clone(),
                        op: CmpOp::LtEq,
                        right: high.clone(),
                    },
                    schema,
                )?;
                format!("({}({lo} AND {hi}))", not_kw(*negated))
            }
        })
    }
}

/// The `filter` step.
pub struct Filter {
    expr: Expr,
}

impl Filter {
    pub fn new(expr: Expr) -> Self {
        Filter { expr }
    }
}

impl Transform for Filter {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        self.expr.check(input)?;
        Ok(input.clone())
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let keep = self.expr.eval(&batch)?;
        filter_record_batch(&batch, &keep)
            .map_err(|e| Error::arrow(format!("filter `{}`", self.expr), e))
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        Some(column.to_string())
    }

    fn predicate(&self) -> Option<&Expr> {
        Some(&self.expr)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::TimeUnit;

    use super::super::parse::parse_expr;
    use super::*;
    use crate::types::field_with_source;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            field_with_source("i", DataType::Int64, true, "sqlite", "INTEGER"),
            field_with_source("f", DataType::Float64, true, "sqlite", "REAL"),
            field_with_source("s", DataType::Utf8, true, "sqlite", "TEXT"),
            field_with_source(
                "d",
                DataType::Decimal128(15, 2),
                true,
                "sqlite",
                "DECIMAL(15,2)",
            ),
            field_with_source("b", DataType::Boolean, true, "sqlite", "BOOLEAN"),
            field_with_source("dt", DataType::Date32, true, "sqlite", "DATE"),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("j", DataType::Int64, true),
            Field::new("i32", DataType::Int32, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(1),
                    None,
                    Some(3),
                    Some(-4),
                    Some(5),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    Some(1.5),
                    None,
                    Some(-2.0),
                    Some(0.1),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("B"),
                    Some("c'q"),
                    None,
                    Some("é"),
                ])),
                Arc::new(
                    Decimal128Array::from(vec![Some(100), Some(-1), Some(0), None, Some(12345)])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ),
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                ])),
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(9568),
                    None,
                    Some(-1),
                    Some(20000),
                ])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(0),
                    Some(1_000_000),
                    None,
                    Some(-1),
                    Some(86_400_000_000),
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(1),
                    Some(2),
                    Some(2),
                    None,
                    Some(6),
                ])),
                Arc::new(Int32Array::from(vec![
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(4),
                    Some(5),
                ])),
            ],
        )
        .unwrap()
    }

    /// The `i`-column values of the rows `text` keeps (0-based positions for NULL `i`).
    fn kept(text: &str, b: &RecordBatch) -> Vec<usize> {
        let expr = parse_expr(text).unwrap();
        expr.check(&b.schema()).unwrap();
        let mask = expr.eval(b).unwrap();
        (0..b.num_rows())
            .filter(|&r| mask.is_valid(r) && mask.value(r))
            .collect()
    }

    #[test]
    fn comparisons_on_every_type_with_nulls_dropped() {
        let b = batch();
        assert_eq!(kept("i > 1", &b), vec![2, 4]);
        assert_eq!(kept("i <> 1", &b), vec![2, 3, 4]);
        assert_eq!(kept("0 < i", &b), vec![0, 2, 4]);
        assert_eq!(kept("f >= 0.5", &b), vec![0, 1]);
        assert_eq!(kept("f < 1", &b), vec![0, 3, 4]);
        assert_eq!(kept("s = 'c''q'", &b), vec![2]);
        // Byte order, as SQLite's BINARY collation: 'B' < 'a' < 'é'.
        assert_eq!(kept("s < 'a'", &b), vec![1]);
        assert_eq!(kept("s > 'c'", &b), vec![2, 4]);
        assert_eq!(kept("d > 0", &b), vec![0, 4]);
        assert_eq!(kept("d = 123.45", &b), vec![4]);
        assert_eq!(kept("d <= -0.01", &b), vec![1]);
        assert_eq!(kept("b = TRUE", &b), vec![0, 3]);
        assert_eq!(kept("b", &b), vec![0, 3]);
        assert_eq!(kept("NOT b AND i > 0", &b), vec![4]);
        assert_eq!(kept("dt >= '1996-03-13'", &b), vec![1, 4]);
        assert_eq!(kept("dt < '1970-01-01'", &b), vec![3]);
        assert_eq!(kept("ts > '1970-01-01 00:00:00'", &b), vec![1, 4]);
        assert_eq!(kept("i = j", &b), vec![0]);
        assert_eq!(kept("i32 >= 4", &b), vec![3, 4]);
    }

    #[test]
    fn logic_is_three_valued_like_sql() {
        let b = batch();
        assert_eq!(kept("i > 1 AND f IS NULL", &b), vec![2]);
        assert_eq!(kept("i > 1 OR f > 1", &b), vec![1, 2, 4]);
        // NOT of unknown is unknown: the row with NULL i is dropped both ways.
        assert_eq!(kept("NOT i > 1", &b), vec![0, 3]);
        assert_eq!(kept("i IS NULL", &b), vec![1]);
        assert_eq!(kept("s IS NOT NULL", &b), vec![0, 1, 2, 4]);
        assert_eq!(kept("i IN (1, 5, 7)", &b), vec![0, 4]);
        assert_eq!(kept("i NOT IN (1, 5)", &b), vec![2, 3]);
        assert_eq!(kept("s IN ('a', 'é')", &b), vec![0, 4]);
        assert_eq!(kept("i BETWEEN -4 AND 3", &b), vec![0, 2, 3]);
        assert_eq!(kept("i NOT BETWEEN -4 AND 3", &b), vec![4]);
        assert_eq!(kept("i BETWEEN j AND 5", &b), vec![0, 2]);
        assert_eq!(kept("(i > 1 OR i IS NULL) AND NOT b", &b), vec![1, 4]);
    }

    #[test]
    fn filter_step_keeps_rows_on_empty_and_sliced_batches() {
        let b = batch();
        let step = Filter::new(parse_expr("i >= 3 OR s = 'a'").unwrap());
        assert_eq!(step.output_schema(&b.schema()).unwrap(), b.schema());
        let out = step.apply(b.clone()).unwrap();
        let i = out.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(
            i.iter().collect::<Vec<_>>(),
            vec![Some(1), Some(3), Some(5)]
        );
        assert_eq!(out.schema(), b.schema());
        let out = step.apply(b.slice(1, 3)).unwrap();
        let i = out.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![Some(3)]);
        let out = step.apply(b.slice(0, 0)).unwrap();
        assert_eq!(out.num_rows(), 0);
        assert_eq!(out.schema(), b.schema());
    }

    #[test]
    fn type_errors_name_the_column_and_the_fix() {
        let b = batch();
        let e = |t: &str| {
            parse_expr(t)
                .unwrap()
                .check(&b.schema())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("x > 1"),
            format!("column \"x\" not found (columns: i, f, s, d, b, dt, ts, j, i32)")
        );
        assert_eq!(
            e("i > 1.5"),
            "literal 1.5 does not fit column \"i\" (Int64)"
        );
        assert_eq!(
            e("d = 0.125"),
            "literal 0.125 does not fit column \"d\" (Decimal128(15, 2))"
        );
        assert_eq!(
            e("s = 1"),
            "literal 1 cannot be compared with column \"s\" (Utf8); quote text: 'like this'"
        );
        assert_eq!(e("i = '1'"), "literal '1' cannot be compared with column \"i\" (Int64); write numbers without quotes");
        assert_eq!(
            e("dt = '13/03/1996'"),
            "literal '13/03/1996' does not fit column \"dt\" (Date32)"
        );
        assert_eq!(
            e("i = NULL"),
            "a comparison with NULL is never true: write \"i\" IS NULL or IS NOT NULL"
        );
        assert_eq!(
            e("i = i32"),
            "columns \"i\" (Int64) and \"i32\" (Int32) have different types; cast one first"
        );
        assert_eq!(e("i"), "column \"i\" is Int64: alone it is not a condition; compare it (=, <>, <, <=, >, >=), or use IS NULL, IN or BETWEEN");
        assert_eq!(
            e("1 = 1"),
            "`1` and `1` are both literals: a comparison needs a column"
        );
    }

    fn sql(text: &str) -> Option<String> {
        let b = batch();
        let expr = parse_expr(text).unwrap();
        expr.check(&b.schema()).unwrap();
        SqlDialect::Sqlite.render(&expr, &b.schema())
    }

    #[test]
    fn sqlite_renders_what_it_compares_like_arrow() {
        assert_eq!(sql("i > 1").as_deref(), Some("\"i\" > 1"));
        assert_eq!(sql("i > +1").as_deref(), Some("\"i\" > 1"));
        assert_eq!(sql("0 < i").as_deref(), Some("0 < \"i\""));
        assert_eq!(sql("f >= 0.1").as_deref(), Some("\"f\" >= 0.1"));
        assert_eq!(sql("f >= 1e300").as_deref(), Some("\"f\" >= 1e300"));
        assert_eq!(
            sql("s = 'c''q' OR s IS NULL").as_deref(),
            Some("(\"s\" COLLATE BINARY = 'c''q' OR \"s\" COLLATE BINARY IS NULL)")
        );
        assert_eq!(sql("d > 0").as_deref(), Some("\"d\" > 0.00"));
        assert_eq!(sql("b = TRUE").as_deref(), Some("\"b\" = 1"));
        assert_eq!(sql("NOT b").as_deref(), Some("(NOT \"b\" = 1)"));
        assert_eq!(
            sql("dt BETWEEN '1996-03-13' AND '1997-01-01'").as_deref(),
            Some("((\"dt\" >= '1996-03-13' AND \"dt\" <= '1997-01-01'))")
        );
        assert_eq!(
            sql("NOT i IN (1, 2)").as_deref(),
            Some("(NOT \"i\" IN (1, 2))")
        );
        assert_eq!(
            sql("i NOT BETWEEN 1 AND 2").as_deref(),
            Some("(NOT (\"i\" >= 1 AND \"i\" <= 2))")
        );
        // Not read from SQLite (no source metadata), or a type whose SQLite text does not sort
        // like its value: stays in the chain. One such part keeps the whole predicate.
        assert_eq!(sql("j > 1"), None);
        assert_eq!(sql("ts > '1970-01-01 00:00:00'"), None);
        assert_eq!(sql("i > 1 AND j > 1"), None);
    }

    #[test]
    fn sqlite_text_affinity_decimals_and_numeric_text_are_not_pushed() {
        let mut meta = HashMap::new();
        meta.insert(META_SOURCE.to_string(), "sqlite".to_string());
        meta.insert(
            META_SOURCE_TYPE.to_string(),
            "DECIMAL_TEXT(40,20)".to_string(),
        );
        let wide = Field::new("w", DataType::Decimal256(40, 20), true).with_metadata(meta);
        let t = field_with_source("n", DataType::Utf8, true, "sqlite", "NUMERIC");
        let schema = Schema::new(vec![wide, t]);
        let expr = parse_expr("w > 0").unwrap();
        expr.check(&schema).unwrap();
        assert_eq!(SqlDialect::Sqlite.render(&expr, &schema), None);
        let expr = parse_expr("n = 'x'").unwrap();
        assert_eq!(SqlDialect::Sqlite.render(&expr, &schema), None);
    }

    #[test]
    fn postgres_renders_exact_types_and_binary_text_order() {
        let schema = Schema::new(vec![
            field_with_source("i", DataType::Int32, true, "postgres", "integer"),
            field_with_source(
                "d",
                DataType::Decimal128(15, 2),
                true,
                "postgres",
                "numeric(15,2)",
            ),
            field_with_source(
                "s",
                DataType::Utf8,
                true,
                "postgres",
                "character varying(25)",
            ),
            field_with_source("b", DataType::Boolean, true, "postgres", "boolean"),
            field_with_source("dt", DataType::Date32, true, "postgres", "date"),
            field_with_source("c", DataType::Utf8, true, "postgres", "character(10)"),
            field_with_source("f", DataType::Float64, true, "postgres", "double precision"),
            field_with_source("j", DataType::Utf8, true, "postgres", "jsonb"),
            field_with_source("l", DataType::Int64, true, "sqlite", "INTEGER"),
        ]);
        let pg = |text: &str| {
            let expr = parse_expr(text).unwrap();
            expr.check(&schema).unwrap();
            SqlDialect::Postgres.render(&expr, &schema)
        };
        assert_eq!(
            pg("i > 1 AND d <= 10.5").as_deref(),
            Some("(\"i\" > 1 AND \"d\" <= 10.50)")
        );
        assert_eq!(
            pg("s IN ('a''b', 'é') OR s IS NULL").as_deref(),
            Some("(\"s\" COLLATE \"C\" IN ('a''b', 'é') OR \"s\" COLLATE \"C\" IS NULL)")
        );
        assert_eq!(pg("NOT b").as_deref(), Some("(NOT \"b\" = true)"));
        assert_eq!(
            pg("dt BETWEEN '1996-03-13' AND '1997-01-01'").as_deref(),
            Some("((\"dt\" >= DATE '1996-03-13' AND \"dt\" <= DATE '1997-01-01'))")
        );
        // Padded, float, read-as-text and other sources' columns stay in the chain.
        for kept in ["c = 'x'", "f > 0", "j = '{}'", "l > 1", "i > 1 AND f > 0"] {
            assert_eq!(pg(kept), None, "{kept}");
        }
    }

    #[test]
    fn mysql_renders_exact_types_and_text_as_utf8_bytes() {
        let my = |name: &str, ty: DataType, declared: &str| {
            field_with_source(name, ty, true, "mysql", declared)
        };
        let schema = Schema::new(vec![
            my("i", DataType::Int32, "int(11)"),
            my("u", DataType::UInt64, "bigint(20) unsigned"),
            my("d", DataType::Decimal128(15, 2), "decimal(15,2)"),
            my("s", DataType::Utf8, "varchar(25)"),
            my("t", DataType::Utf8, "mediumtext"),
            my("dt", DataType::Date32, "date"),
            my("b", DataType::Boolean, "tinyint(1)"),
            my("bits", DataType::UInt64, "bit(3)"),
            my("c", DataType::Utf8, "char(10)"),
            my("e", DataType::Utf8, "enum('a','b')"),
            my("j", DataType::Utf8, "json"),
            my("f", DataType::Float64, "double"),
            my("y", DataType::Int16, "year(4)"),
            my(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                "datetime",
            ),
            field_with_source("p", DataType::Int32, true, "postgres", "integer"),
        ]);
        let render = |dialect: SqlDialect, text: &str| {
            let expr = parse_expr(text).unwrap();
            expr.check(&schema).unwrap();
            dialect.render(&expr, &schema)
        };
        let my = |text: &str| render(SqlDialect::Mysql { dates: true }, text);
        assert_eq!(
            my("i > -1 AND u <= 18446744073709551615").as_deref(),
            Some("(`i` > -1 AND `u` <= 18446744073709551615)")
        );
        assert_eq!(my("d IN (1, 2.5)").as_deref(), Some("`d` IN (1.00, 2.50)"));
        assert_eq!(
            my("s = 'a''b\\' OR t < 'é'").as_deref(),
            Some(
                "(CAST(CONVERT(`s` USING utf8mb4) AS BINARY) = X'6127625C' OR \
                 CAST(CONVERT(`t` USING utf8mb4) AS BINARY) < X'C3A9')"
            )
        );
        assert_eq!(
            my("s = ''").as_deref(),
            Some("CAST(CONVERT(`s` USING utf8mb4) AS BINARY) = X''")
        );
        assert_eq!(
            my("dt NOT BETWEEN '1996-03-13' AND '1997-01-01'").as_deref(),
            Some("(NOT (`dt` >= DATE '1996-03-13' AND `dt` <= DATE '1997-01-01'))")
        );
        assert_eq!(
            my("s IS NULL").as_deref(),
            Some("CAST(CONVERT(`s` USING utf8mb4) AS BINARY) IS NULL")
        );
        // Dates stay in the chain when zero dates are read as NULL.
        assert_eq!(
            render(SqlDialect::Mysql { dates: false }, "dt > '1996-03-13'"),
            None
        );
        assert_eq!(
            render(SqlDialect::Mysql { dates: false }, "i = 1").as_deref(),
            Some("`i` = 1")
        );
        for kept in [
            "b = TRUE",
            "bits = 1",
            "c = 'x'",
            "e = 'a'",
            "j = '{}'",
            "f > 0",
            "y > 2000",
            "ts > '2020-01-01 00:00:00'",
            "p = 1",
            "i > 1 AND f > 0",
        ] {
            assert_eq!(my(kept), None, "{kept}");
        }
    }
}
