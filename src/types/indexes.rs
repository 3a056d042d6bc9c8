//! Secondary indexes between dialects. A database source reads its table's indexes (unique or
//! not, multi-column, each column's order) into [`IndexDef`]s, recorded in the schema's
//! metadata (`ferry.indexes`, JSON), so they travel with the rows, through Parquet snapshots
//! too. A target builds each after the load in its own SQL: a portable index (plain columns)
//! anywhere, an index only its dialect knows (PostgreSQL expressions, predicates, `INCLUDE`,
//! GIN/GiST; MySQL prefixes, FULLTEXT, SPATIAL) verbatim into the same dialect. What a target
//! cannot build is left out and named with the reason.

use std::collections::HashMap;

use arrow::datatypes::{Schema, SchemaRef};
use serde::{Deserialize, Serialize};

/// The schema metadata key of a table's secondary indexes.
pub const META_INDEXES: &str = "ferry.indexes";

/// One secondary index (not the primary key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// The index's name at the source.
    pub name: String,
    pub unique: bool,
    /// Declared as a `UNIQUE` constraint (PostgreSQL `contype = 'u'`, SQLite `UNIQUE (...)`):
    /// PostgreSQL gets the constraint back, on the index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub constraint: bool,
    /// The key columns in order, when every key is a plain column of an ordinary (B-tree)
    /// index: what any target can build. Empty for an index that is not portable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<IndexColumn>,
    /// Why the index cannot be built in another dialect (an expression, a predicate, ...);
    /// `None` for a portable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_portable: Option<String>,
    /// Every column the index reads (keys, expressions, predicate, included columns): an index
    /// whose column a step drops or renames is left out.
    pub reads: Vec<String>,
    /// The index in its own dialect, verbatim, for a target of that dialect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeIndex>,
}

/// A key column of a portable index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
}

/// An index as its source dialect writes it, without its name and table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeIndex {
    /// `postgres` or `mysql`.
    pub dialect: String,
    /// PostgreSQL: what follows `CREATE [UNIQUE] INDEX name ON table `, from
    /// `pg_get_indexdef` (`USING gin (doc jsonb_path_ops)`, `USING btree (lower(email)) WHERE
    /// ...`). MySQL: the kind and key parts, `FULLTEXT (title, body)`, `(name(10) DESC)`.
    pub definition: String,
}

/// The indexes a schema records, in the order the source listed them.
pub fn indexes_of(schema: &Schema) -> Vec<IndexDef> {
    schema
        .metadata()
        .get(META_INDEXES)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// `schema` recording `indexes` (none: the key removed).
pub fn with_indexes(schema: &Schema, indexes: &[IndexDef]) -> SchemaRef {
    let mut metadata: HashMap<String, String> = schema.metadata().clone();
    metadata.remove(META_INDEXES);
    if !indexes.is_empty() {
        if let Ok(json) = serde_json::to_string(indexes) {
            metadata.insert(META_INDEXES.into(), json);
        }
    }
    std::sync::Arc::new(schema.clone().with_metadata(metadata))
}

/// An index a target does not build, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub index: String,
    pub why: String,
}

impl IndexDef {
    /// `"name" (a, b DESC)` for messages.
    pub fn describe(&self) -> String {
        let cols = if self.columns.is_empty() {
            self.reads.join(", ")
        } else {
            self.columns
                .iter()
                .map(|c| match c.descending {
                    true => format!("{} DESC", c.name),
                    false => c.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match cols.is_empty() {
            true => self.name.clone(),
            false => format!("{} ({cols})", self.name),
        }
    }

    /// The native definition for `dialect`, or the portable columns rendered with `quote` and
    /// `desc` (whether the target keeps a descending order), or why neither can be built.
    fn body(
        &self,
        dialect: &str,
        quote: &dyn Fn(&str) -> String,
    ) -> std::result::Result<Body, String> {
        if let Some(n) = self.native.as_ref().filter(|n| n.dialect == dialect) {
            return Ok(Body::Native(n.definition.clone()));
        }
        if let Some(why) = &self.not_portable {
            return Err(why.clone());
        }
        if self.columns.is_empty() {
            return Err("it has no key columns".into());
        }
        Ok(Body::Columns(
            self.columns
                .iter()
                .map(|c| match c.descending {
                    true => format!("{} DESC", quote(&c.name)),
                    false => quote(&c.name),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }

    /// `CREATE [UNIQUE] INDEX name ON table ...` in PostgreSQL (`table` and `name` quoted).
    pub fn to_pg(&self, table: &str, name: &str) -> std::result::Result<String, String> {
        let unique = if self.unique { "UNIQUE " } else { "" };
        Ok(match self.body("postgres", &super::quote_ident)? {
            Body::Native(d) => format!("CREATE {unique}INDEX {name} ON {table} {d}"),
            Body::Columns(c) => format!("CREATE {unique}INDEX {name} ON {table} ({c})"),
        })
    }

    /// `ADD [UNIQUE] INDEX name (...)`, a clause of MySQL's `ALTER TABLE` (`name` quoted).
    pub fn to_mysql(&self, name: &str) -> std::result::Result<String, String> {
        let unique = if self.unique { "UNIQUE " } else { "" };
        Ok(match self.body("mysql", &crate::mysql::quote_ident)? {
            // `FULLTEXT (a, b)` / `(a(10))`: the kind goes before INDEX.
            Body::Native(d) => match d.split_once(" (") {
                Some((kind, parts)) if !d.starts_with('(') => {
                    format!("ADD {kind} INDEX {name} ({parts}")
                }
                _ => format!("ADD {unique}INDEX {name} {d}"),
            },
            Body::Columns(c) => format!("ADD {unique}INDEX {name} ({c})"),
        })
    }

    /// `CREATE [UNIQUE] INDEX name ON table (...)` in SQLite (`table` and `name` quoted).
    pub fn to_sqlite(&self, table: &str, name: &str) -> std::result::Result<String, String> {
        let unique = if self.unique { "UNIQUE " } else { "" };
        match self.body("sqlite", &super::quote_ident)? {
            Body::Columns(c) => Ok(format!("CREATE {unique}INDEX {name} ON {table} ({c})")),
            Body::Native(_) => Err("a SQLite index that is not plain columns".into()),
        }
    }
}

/// The statements a target runs for `schema`'s indexes, one per line, and a comment naming
/// each it leaves out: for `--dry-run`.
pub fn describe_builds(
    schema: &Schema,
    render: impl Fn(&IndexDef) -> std::result::Result<String, String>,
) -> String {
    indexes_of(schema)
        .iter()
        .map(|ix| match render(ix) {
            Ok(sql) => format!("\n{sql};"),
            Err(why) => format!("\n-- index {} left out: {why}", ix.describe()),
        })
        .collect()
}

enum Body {
    Native(String),
    Columns(String),
}

/// The indexes of `schema` (a table's as planned, then transformed) whose columns are all still
/// in it; the others are left out, named.
pub fn still_readable(schema: &Schema) -> (Vec<IndexDef>, Vec<LeftOut>) {
    let mut kept = Vec::new();
    let mut left = Vec::new();
    for ix in indexes_of(schema) {
        match ix.reads.iter().find(|c| schema.field_with_name(c).is_err()) {
            Some(c) => left.push(LeftOut {
                why: format!("its column {c} is not in the target (a step dropped or renamed it)"),
                index: ix.name,
            }),
            None => kept.push(ix),
        }
    }
    (kept, left)
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    fn plain(name: &str, cols: &[(&str, bool)], unique: bool) -> IndexDef {
        IndexDef {
            name: name.into(),
            unique,
            constraint: false,
            columns: cols
                .iter()
                .map(|(c, d)| IndexColumn {
                    name: c.to_string(),
                    descending: *d,
                })
                .collect(),
            not_portable: None,
            reads: cols.iter().map(|(c, _)| c.to_string()).collect(),
            native: None,
        }
    }

    #[test]
    fn round_trips_through_schema_metadata() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b b", DataType::Utf8, true),
        ]);
        let ixs = vec![
            plain("ix \"1\"", &[("a", false), ("b b", true)], true),
            IndexDef {
                native: Some(NativeIndex {
                    dialect: "postgres".into(),
                    definition: "USING btree (lower(\"b b\")) WHERE (a > 0)".into(),
                }),
                not_portable: Some("an expression".into()),
                columns: vec![],
                ..plain("lower_b", &[("b b", false), ("a", false)], false)
            },
        ];
        let s = with_indexes(&schema, &ixs);
        assert_eq!(indexes_of(&s), ixs);
        assert_eq!(indexes_of(&with_indexes(&s, &[])), vec![]);
        assert!(with_indexes(&s, &[]).metadata().get(META_INDEXES).is_none());
    }

    #[test]
    fn renders_each_dialect() {
        let ix = plain("ab", &[("a", false), ("b\"x", true)], true);
        assert_eq!(
            ix.to_pg("\"s\".\"t\"", "\"i\"").unwrap(),
            "CREATE UNIQUE INDEX \"i\" ON \"s\".\"t\" (\"a\", \"b\"\"x\" DESC)"
        );
        assert_eq!(
            ix.to_mysql("`i`").unwrap(),
            "ADD UNIQUE INDEX `i` (`a`, `b\"x` DESC)"
        );
        assert_eq!(
            ix.to_sqlite("\"t\"", "\"i\"").unwrap(),
            "CREATE UNIQUE INDEX \"i\" ON \"t\" (\"a\", \"b\"\"x\" DESC)"
        );
        let ft = IndexDef {
            native: Some(NativeIndex {
                dialect: "mysql".into(),
                definition: "FULLTEXT (`a`, `b`)".into(),
            }),
            not_portable: Some("a FULLTEXT index".into()),
            columns: vec![],
            ..plain("ft", &[("a", false), ("b", false)], false)
        };
        assert_eq!(
            ft.to_mysql("`ft`").unwrap(),
            "ADD FULLTEXT INDEX `ft` (`a`, `b`)"
        );
        assert_eq!(ft.to_pg("t", "i").unwrap_err(), "a FULLTEXT index");
        let prefix = IndexDef {
            native: Some(NativeIndex {
                dialect: "mysql".into(),
                definition: "(`a`(10) DESC)".into(),
            }),
            ..plain("p", &[("a", true)], false)
        };
        assert_eq!(
            prefix.to_mysql("`p`").unwrap(),
            "ADD INDEX `p` (`a`(10) DESC)"
        );
        assert_eq!(
            prefix.to_pg("t", "i").unwrap(),
            "CREATE INDEX i ON t (\"a\" DESC)"
        );
    }

    #[test]
    fn leaves_out_indexes_whose_columns_went() {
        let schema = Schema::new(vec![Field::new("a", DataType::Int32, true)]);
        let s = with_indexes(
            &schema,
            &[
                plain("a", &[("a", false)], false),
                plain("ab", &[("a", false), ("b", false)], false),
            ],
        );
        let (kept, left) = still_readable(&s);
        assert_eq!(kept.len(), 1);
        assert_eq!(left[0].index, "ab");
        assert!(left[0].why.contains("column b"), "{}", left[0].why);
    }
}
