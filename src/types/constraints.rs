//! CHECK constraints and comments, carried in the schema's metadata like indexes
//! ([`super::indexes`]): a source reads its table's checks verbatim in its own dialect
//! (`ferry.checks`, JSON) and its table and column comments (`ferry.comment` on the schema and on
//! each field); a target of the same dialect adds each check after the load, and every target
//! with comments sets them. A check in another dialect is left out and named: its expression is
//! not translated.

use std::collections::HashMap;

use arrow::datatypes::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

/// The schema metadata key of a table's CHECK constraints.
pub const META_CHECKS: &str = "ferry.checks";
/// The schema (table) or field (column) metadata key of a comment.
pub const META_COMMENT: &str = "ferry.comment";

/// One CHECK constraint, as its dialect writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDef {
    pub name: String,
    /// `postgres` or `mysql`.
    pub dialect: String,
    /// What follows `ADD CONSTRAINT name`: `CHECK ((price > 0))` (PostgreSQL's
    /// `pg_get_constraintdef`, `NOT VALID` appended for one not validated), or MySQL's
    /// `CHECK (clause)`.
    pub definition: String,
    /// The columns it reads: a check whose column a step drops or renames is left out.
    pub reads: Vec<String>,
}

/// The checks a schema records.
pub fn checks_of(schema: &Schema) -> Vec<CheckDef> {
    schema
        .metadata()
        .get(META_CHECKS)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// `schema` recording `checks` and the table comment `comment` (none: the keys removed).
pub fn with_checks_and_comment(
    schema: &Schema,
    checks: &[CheckDef],
    comment: Option<&str>,
) -> SchemaRef {
    let mut metadata: HashMap<String, String> = schema.metadata().clone();
    metadata.remove(META_CHECKS);
    metadata.remove(META_COMMENT);
    if !checks.is_empty() {
        if let Ok(json) = serde_json::to_string(checks) {
            metadata.insert(META_CHECKS.into(), json);
        }
    }
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        metadata.insert(META_COMMENT.into(), c.to_string());
    }
    std::sync::Arc::new(schema.clone().with_metadata(metadata))
}

/// What a source reads of a table beside its columns: its CHECK constraints, its comment and
/// its columns' comments (by column name).
pub type Annotations = (Vec<CheckDef>, Option<String>, HashMap<String, String>);

/// `schema` recording `checks`, the table comment and each column's comment (by column name).
pub fn annotate(
    schema: &Schema,
    checks: &[CheckDef],
    table: Option<&str>,
    columns: &HashMap<String, String>,
) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            with_column_comment(
                f.as_ref().clone(),
                columns.get(f.name()).map(String::as_str),
            )
        })
        .collect();
    let with_fields = Schema::new_with_metadata(fields, schema.metadata().clone());
    with_checks_and_comment(&with_fields, checks, table)
}

/// `schema` recording the secondary indexes and the annotations a database source read of
/// its table.
pub fn record(
    schema: &Schema,
    indexes: &[super::indexes::IndexDef],
    (checks, comment, columns): &Annotations,
) -> SchemaRef {
    annotate(
        &super::indexes::with_indexes(schema, indexes),
        checks,
        comment.as_deref(),
        columns,
    )
}

/// The table's comment a schema records.
pub fn table_comment(schema: &Schema) -> Option<&str> {
    schema.metadata().get(META_COMMENT).map(String::as_str)
}

/// A column's comment.
pub fn column_comment(field: &Field) -> Option<&str> {
    field.metadata().get(META_COMMENT).map(String::as_str)
}

/// `field` with its comment (an empty one: none).
pub fn with_column_comment(field: Field, comment: Option<&str>) -> Field {
    match comment.filter(|c| !c.is_empty()) {
        None => field,
        Some(c) => {
            let mut meta = field.metadata().clone();
            meta.insert(META_COMMENT.into(), c.to_string());
            field.with_metadata(meta)
        }
    }
}

/// The checks of `schema` whose columns are all still in it, and the names (with the reason)
/// of those left out.
pub fn checks_still_readable(schema: &Schema) -> (Vec<CheckDef>, Vec<(String, String)>) {
    let mut kept = Vec::new();
    let mut left = Vec::new();
    for check in checks_of(schema) {
        match check
            .reads
            .iter()
            .find(|c| schema.field_with_name(c).is_err())
        {
            Some(c) => left.push((
                check.name,
                format!("its column {c} is not in the target (a step dropped or renamed it)"),
            )),
            None => kept.push(check),
        }
    }
    (kept, left)
}

impl CheckDef {
    /// The definition for a target of `dialect`, or why it is left out.
    pub fn for_dialect(&self, dialect: &str) -> std::result::Result<&str, String> {
        match self.dialect == dialect {
            true => Ok(&self.definition),
            false => Err(format!(
                "a {} CHECK constraint ({}) is not translated to another dialect",
                match self.dialect.as_str() {
                    "postgres" => "PostgreSQL",
                    _ => "MySQL/MariaDB",
                },
                self.definition
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::DataType;

    use super::*;

    #[test]
    fn checks_and_comments_round_trip_and_go_with_their_columns() {
        let schema = Schema::new(vec![
            with_column_comment(
                Field::new("a", DataType::Int32, true),
                Some("the 'a' column"),
            ),
            Field::new("b", DataType::Int32, true),
        ]);
        let checks = vec![
            CheckDef {
                name: "a_pos".into(),
                dialect: "postgres".into(),
                definition: "CHECK ((a > 0))".into(),
                reads: vec!["a".into()],
            },
            CheckDef {
                name: "ab".into(),
                dialect: "mysql".into(),
                definition: "CHECK (`a` < `c`)".into(),
                reads: vec!["a".into(), "c".into()],
            },
        ];
        let s = with_checks_and_comment(&schema, &checks, Some("a table"));
        assert_eq!(checks_of(&s), checks);
        assert_eq!(table_comment(&s), Some("a table"));
        assert_eq!(column_comment(s.field(0)), Some("the 'a' column"));
        assert_eq!(column_comment(s.field(1)), None);
        let (kept, left) = checks_still_readable(&s);
        assert_eq!(kept, checks[..1]);
        assert_eq!(left[0].0, "ab");
        assert_eq!(checks[0].for_dialect("postgres"), Ok("CHECK ((a > 0))"));
        assert!(checks[0]
            .for_dialect("mysql")
            .unwrap_err()
            .contains("PostgreSQL CHECK"));
        let none = with_checks_and_comment(&s, &[], None);
        assert!(checks_of(&none).is_empty() && table_comment(&none).is_none());
    }
}
