//! Job files (`--job FILE`, TOML): the tables of a copy and each one's steps, so a migration of
//! many tables is one reviewed file. Endpoints stay on the command line, so the same job runs
//! against a test and a production database.
//!
//! ```toml
//! transforms = ["add(loaded_at, load_time)"]   # every table, before its own steps
//!
//! [[tables]]
//! name = "customer"
//! target = "customers"                          # default: the same name
//! transforms = ["rename(c_name, name)", "mask(c_phone, hmac)", "filter(c_acctbal > 0)"]
//!
//! [[tables]]
//! query = "SELECT o_orderkey, o_totalprice FROM orders"
//! target = "order_totals"                       # required for a query
//! ```

use serde::Deserialize;

use super::StepSpec;
use crate::error::{Error, Result};
use crate::source::TableRef;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    #[serde(default)]
    transforms: Vec<String>,
    #[serde(default)]
    tables: Vec<TableEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableEntry {
    name: Option<String>,
    query: Option<String>,
    target: Option<String>,
    #[serde(default)]
    transforms: Vec<String>,
}

/// One table of a job: what to read, the target table, and its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTable {
    pub source: TableRef,
    /// The target table; `None`: the source table's own name (without its schema).
    pub target: Option<String>,
    pub steps: Vec<StepSpec>,
}

/// Parses a job file's text; `origin` (the file's path) prefixes errors.
pub fn parse_job(text: &str, origin: &str) -> Result<Vec<JobTable>> {
    let bad = |m: String| Error::invalid_args(format!("{origin}: {m}"));
    let job: JobFile = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
    if job.tables.is_empty() {
        return Err(bad("no [[tables]]: list the tables to copy".into()));
    }
    let parse = |steps: &[String], at: &str| -> Result<Vec<StepSpec>> {
        steps
            .iter()
            .map(|s| StepSpec::parse(s).map_err(|e| e.context(format!("{origin}: {at}"))))
            .collect()
    };
    let common = parse(&job.transforms, "transforms")?;
    let mut out = Vec::new();
    for (i, t) in job.tables.into_iter().enumerate() {
        let (source, target, at) = match (t.name, t.query, t.target) {
            (Some(n), None, target) => {
                (TableRef::Table(n.clone()), target, format!("table \"{n}\""))
            }
            (None, Some(q), Some(target)) => {
                let at = format!("query into \"{target}\"");
                (TableRef::Query(q), Some(target), at)
            }
            (None, Some(_), None) => {
                return Err(bad(format!("tables[{i}]: a query needs a target")))
            }
            _ => {
                return Err(bad(format!(
                    "tables[{i}]: give either name or query (with target)"
                )))
            }
        };
        // The name written: the target, else the table's own (as given; the planner also
        // refuses two tables that resolve to one target).
        let written = |t: &Option<String>, s: &TableRef| match (t, s) {
            (Some(t), _) => t.clone(),
            (None, TableRef::Table(n)) => n.clone(),
            (None, TableRef::Query(q)) => q.clone(),
        };
        let name = written(&target, &source);
        if out
            .iter()
            .any(|o: &JobTable| written(&o.target, &o.source) == name)
        {
            return Err(bad(format!("target \"{name}\" is written twice")));
        }
        let mut steps = common.clone();
        steps.extend(parse(&t.transforms, &at)?);
        out.push(JobTable {
            source,
            target,
            steps,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_get_common_then_own_steps() {
        let job = parse_job(
            r#"
transforms = ["add(loaded_at, load_time)"]
[[tables]]
name = "customer"
target = "customers"
transforms = ["rename(c_name, name)", "filter(c_acctbal > 0)"]
[[tables]]
name = "nation"
[[tables]]
query = "SELECT 1 AS one"
target = "ones"
"#,
            "job.toml",
        )
        .unwrap();
        assert_eq!(job.len(), 3);
        assert_eq!(job[0].source, TableRef::Table("customer".into()));
        assert_eq!(job[0].target.as_deref(), Some("customers"));
        let texts: Vec<&str> = job[0].steps.iter().map(|s| s.text()).collect();
        assert_eq!(
            texts,
            vec![
                "add(loaded_at, load_time)",
                "rename(c_name, name)",
                "filter(c_acctbal > 0)"
            ]
        );
        assert_eq!(job[1].target, None, "the source's own name");
        assert_eq!(job[1].steps.len(), 1);
        assert_eq!(job[2].source, TableRef::Query("SELECT 1 AS one".into()));
    }

    #[test]
    fn mistakes_name_the_file_and_the_table() {
        let e = |t: &str| parse_job(t, "job.toml").unwrap_err().chain();
        assert_eq!(e(""), "job.toml: no [[tables]]: list the tables to copy");
        assert!(e("[[tables]]\nname = \"a\"\ntransfroms = []")
            .starts_with("job.toml: unknown field `transfroms`"));
        assert_eq!(
            e("[[tables]]\nquery = \"select 1\""),
            "job.toml: tables[0]: a query needs a target"
        );
        assert_eq!(
            e("[[tables]]\nname = \"a\"\ntransforms = [\"upper(\"]"),
            "job.toml: table \"a\": transform `upper(`: `upper(` does not end with `)`"
        );
        assert_eq!(
            e("[[tables]]\nname = \"a\"\n[[tables]]\nname = \"a\""),
            "job.toml: target \"a\" is written twice"
        );
    }
}
