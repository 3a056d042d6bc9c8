//! The cleanup of a database target: one loop over its `_ferry_` tables, through a [`Catalog`]
//! each engine implements.

use super::{Action, CleanupOptions, Found, Kind, StagingName};
use crate::error::Result;
use crate::sink::{LOADS_TABLE, PROGRESS_SUFFIX};

/// A function that qualifies a table name as a sink does before hashing it into a staging name.
pub(super) type Qualify<'a> = Box<dyn Fn(&str) -> String + 'a>;

/// The result of dropping one table.
pub(super) enum Dropped {
    Removed,
    /// Another session holds it: why.
    InUse(String),
    /// Gone meanwhile (its run finished and dropped or swapped it).
    Gone,
}

/// One database target, as the cleanup loop needs it.
pub(super) trait Catalog {
    /// Every table of the target's schema (or database).
    fn tables(&mut self) -> Result<Vec<String>>;
    /// `table` quoted and qualified, for the list.
    fn shown(&self, table: &str) -> String;
    /// The qualified names that a sink hashes into a staging name (see
    /// [`crate::sink::staging_prefix`]): one per sink that writes this kind of target.
    fn qualifiers(&self) -> Vec<Qualify<'_>>;
    /// Takes the lock a run holds on a target table while it writes it (`qualified` as a
    /// qualifier made it), without waiting: `false` when a run holds it.
    fn try_lock_target(&mut self, qualified: &str) -> Result<bool>;
    fn unlock_target(&mut self, qualified: &str) -> Result<()>;
    /// Why the whole target is in use (a SQLite database being written), or `None`.
    fn busy(&mut self, dry_run: bool) -> Result<Option<String>> {
        let _ = dry_run;
        Ok(None)
    }
    /// Why a staging table whose target cannot be told (so whose lock cannot be taken)
    /// may belong to a running run, or `None`.
    fn unresolved_in_use(&mut self, table: &str) -> Result<Option<String>>;
    /// Why another session uses `table` right now, or `None` (for `--dry-run`).
    fn in_use(&mut self, table: &str) -> Result<Option<String>>;
    /// Drops `table` unless another session uses it (checked with the drop, atomically
    /// where the engine can).
    fn drop_table(&mut self, table: &str) -> Result<Dropped>;
    /// Ends the cleanup (commits what a whole-target transaction dropped).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Lists, and removes unless `dry_run`, ferry's tables in `cat`.
pub(super) fn clean(cat: &mut dyn Catalog, options: &CleanupOptions) -> Result<Vec<Found>> {
    let CleanupOptions {
        dry_run,
        all,
        schema: _,
    } = options;
    let tables = cat.tables()?;
    let ours: Vec<&String> = tables.iter().filter(|t| t.starts_with("_ferry_")).collect();
    let busy = if ours.is_empty() {
        None
    } else {
        cat.busy(*dry_run)?
    };
    let mut out = Vec::new();
    let progress_of = |t: &str| format!("{t}{PROGRESS_SUFFIX}");
    for table in ours {
        // A chunked load's progress table goes with its staging table, as one object.
        if table.ends_with(PROGRESS_SUFFIX) && tables.iter().any(|t| progress_of(t) == *table) {
            continue;
        }
        let staging = StagingName::parse(table);
        let kind = match &staging {
            _ if table == LOADS_TABLE => Kind::LoadsTable,
            Some(s) if s.suffix == "_old" => Kind::SwapLeftover,
            Some(_) => Kind::StagingTable,
            None => Kind::FerryTable,
        };
        let target = staging.as_ref().and_then(|s| {
            let qualifiers = cat.qualifiers();
            let q: Vec<&dyn Fn(&str) -> String> = qualifiers.iter().map(|b| b.as_ref()).collect();
            s.target(&tables, &q)
        });
        let mut found = Found {
            object: cat.shown(table),
            kind,
            action: Action::Kept,
            target_table: target.as_ref().map(|(t, _)| cat.shown(t)),
            reason: String::new(),
        };
        let what = match kind {
            Kind::StagingTable => "a staging table".to_string(),
            Kind::SwapLeftover => "the old table of a swap".to_string(),
            Kind::LoadsTable => "the record of the snapshot tables loaded here".to_string(),
            _ => "a table named like ferry's".to_string(),
        };
        let what = match &found.target_table {
            Some(t) if kind == Kind::SwapLeftover => format!("{what} into {t}"),
            Some(t) => format!("{what} of {t}"),
            None if staging.is_some() => format!("{what} of a table whose name was cut"),
            None => what,
        };
        if matches!(kind, Kind::LoadsTable | Kind::FerryTable) && !all {
            found.reason = format!("{what}; not debris (--all removes it)");
            out.push(found);
            continue;
        }
        if let Some(why) = &busy {
            found.action = Action::InUse;
            found.reason = format!("{what}; {why}");
            out.push(found);
            continue;
        }
        let locked = match &target {
            Some((_, q)) => {
                if !cat.try_lock_target(q)? {
                    found.action = Action::InUse;
                    found.reason = format!("{what}; a running ferry holds the lock of its target");
                    out.push(found);
                    continue;
                }
                Some(q.clone())
            }
            None => None,
        };
        let unresolved = if locked.is_none() && staging.is_some() {
            cat.unresolved_in_use(table)?
        } else {
            None
        };
        let outcome = match unresolved {
            Some(why) => Dropped::InUse(why),
            None if *dry_run => match cat.in_use(table)? {
                Some(why) => Dropped::InUse(why),
                None => Dropped::Removed,
            },
            None => match cat.drop_table(table)? {
                Dropped::Removed if tables.contains(&progress_of(table)) => {
                    match cat.drop_table(&progress_of(table))? {
                        Dropped::InUse(why) => Dropped::InUse(why),
                        _ => Dropped::Removed,
                    }
                }
                other => other,
            },
        };
        if let Some(q) = &locked {
            cat.unlock_target(q)?;
        }
        let free = match (&locked, kind) {
            (Some(_), Kind::StagingTable | Kind::SwapLeftover) => {
                "no run holds its target's lock and no session uses it"
            }
            _ => "no session uses it",
        };
        match outcome {
            Dropped::Removed => {
                found.action = if *dry_run {
                    Action::WouldRemove
                } else {
                    Action::Removed
                };
                found.reason = format!("{what}; {free}");
            }
            Dropped::InUse(why) => {
                found.action = Action::InUse;
                found.reason = format!("{what}; {why}");
            }
            Dropped::Gone => continue,
        }
        out.push(found);
    }
    if !dry_run {
        cat.finish()?;
    }
    Ok(out)
}
