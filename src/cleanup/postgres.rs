//! PostgreSQL: the target lock is the run's session advisory lock (`pg_try_advisory_lock`), a
//! table in use is one another backend holds a lock on (`pg_locks`; the drop takes
//! `LOCK TABLE ... NOWAIT` first, so it never waits or queues).

use ::postgres::error::SqlState;
use ::postgres::Client;

use super::tables::{Catalog, Dropped, Qualify};
use super::CleanupOptions;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::pg::{pg_error, PgSettings};
use crate::types::quote_ident;

pub(super) struct PgCatalog {
    settings: PgSettings,
    client: Client,
    schema: String,
}

impl PgCatalog {
    /// Connects; the schema is the URL's `schema=`, else `--schema`, else
    /// `current_schema()`, as the sink chooses it.
    pub(super) fn open(endpoint: &Endpoint, options: &CleanupOptions) -> Result<Self> {
        let settings = PgSettings::from_endpoint(endpoint)?;
        let mut client = settings.connect()?;
        let schema = match settings.schema.clone().or_else(|| options.schema.clone()) {
            Some(s) => s,
            None => client
                .query_one("SELECT coalesce(current_schema(), 'public')", &[])
                .map_err(|e| pg_error(e, format!("{settings}")))?
                .get(0),
        };
        Ok(PgCatalog {
            settings,
            client,
            schema,
        })
    }

    fn err(&self, what: &str) -> impl Fn(::postgres::Error) -> Error {
        let what = format!(
            "{}: cleanup of schema {}: {what}",
            self.settings, self.schema
        );
        move |e| pg_error(e, what.clone())
    }

    /// `schema.table`, quoted.
    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(table))
    }

    fn advisory(&mut self, sql: &str, qualified: &str) -> Result<bool> {
        let (k1, k2) = crate::sink::target_lock_keys(qualified);
        let ctx = self.err("target lock");
        self.client
            .query_one(sql, &[&k1, &k2])
            .map(|r| r.get(0))
            .map_err(ctx)
    }
}

impl Catalog for PgCatalog {
    fn tables(&mut self) -> Result<Vec<String>> {
        let ctx = self.err("listing tables");
        let rows = self
            .client
            .query(
                "SELECT c.relname::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1",
                &[&self.schema],
            )
            .map_err(ctx)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn shown(&self, table: &str) -> String {
        self.qualified(table)
    }

    fn qualifiers(&self) -> Vec<Qualify<'_>> {
        vec![Box::new(|t| self.qualified(t))]
    }

    fn try_lock_target(&mut self, qualified: &str) -> Result<bool> {
        self.advisory("SELECT pg_try_advisory_lock($1, $2)", qualified)
    }

    fn unlock_target(&mut self, qualified: &str) -> Result<()> {
        self.advisory("SELECT pg_advisory_unlock($1, $2)", qualified)
            .map(|_| ())
    }

    fn unresolved_in_use(&mut self, table: &str) -> Result<Option<String>> {
        // Without the target's name its lock cannot be taken: any two-key advisory lock
        // (what ferry's target locks are) held in this database may be the run's.
        let ctx = self.err("advisory locks");
        let holder = self
            .client
            .query_opt(
                "SELECT pid FROM pg_locks
                 WHERE locktype = 'advisory' AND objsubid = 2 AND granted
                   AND pid <> pg_backend_pid()
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 LIMIT 1",
                &[],
            )
            .map_err(ctx)?;
        if let Some(r) = holder {
            return Ok(Some(format!(
                "its target cannot be told from its name, and session {} holds a target \
                 lock (perhaps its run's)",
                r.get::<_, i32>(0)
            )));
        }
        self.in_use(table)
    }

    fn in_use(&mut self, table: &str) -> Result<Option<String>> {
        let q = self.qualified(table);
        let ctx = self.err("locks");
        let holder = self
            .client
            .query_opt(
                "SELECT pid FROM pg_locks WHERE relation = to_regclass($1)
                 AND pid <> pg_backend_pid() LIMIT 1",
                &[&q],
            )
            .map_err(ctx)?;
        Ok(holder.map(|r| {
            format!(
                "session {} holds a lock on it (a load into it is running)",
                r.get::<_, i32>(0)
            )
        }))
    }

    fn drop_table(&mut self, table: &str) -> Result<Dropped> {
        let q = self.qualified(table);
        let what = format!("{}: {q}: drop", self.settings);
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| pg_error(e, what.clone()))?;
        // NOWAIT: a table another session holds (an append's COPY into it) is left alone,
        // and no one queues behind this drop.
        match tx.batch_execute(&format!("LOCK TABLE {q} IN ACCESS EXCLUSIVE MODE NOWAIT")) {
            Ok(()) => {}
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                drop(tx);
                let why = self.in_use(table)?;
                return Ok(Dropped::InUse(why.unwrap_or_else(|| {
                    "another session holds a lock on it".to_string()
                })));
            }
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Dropped::Gone),
            Err(e) => return Err(pg_error(e, what)),
        }
        tx.batch_execute(&format!("DROP TABLE {q}"))
            .and_then(|()| tx.commit())
            .map_err(|e| pg_error(e, what))?;
        Ok(Dropped::Removed)
    }
}
