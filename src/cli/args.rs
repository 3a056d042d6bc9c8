//! The command line, declared with clap. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use ferry::sink::IfExists;

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    internal error (a bug in ferry)
  2    invalid arguments (bad flag, malformed URL, unknown scheme)
  3    not found (file, table, column)
  4    already exists (target table with --if-exists fail)
  5    invalid data (a value that cannot be carried exactly)
  6    integrity (snapshot file differs from its manifest, constraint violation)
  7    I/O error (a lost connection, after --retries retries)
  8    authentication failed
  9    unsupported type or feature
  10   busy (another run is writing the same target table or snapshot)
  11   differences (ferry verify, or copy --verify, found rows that differ)
  130  cancelled";

const MAIN_EXAMPLES: &str = "\
Examples:
  ferry copy data/tpch.sqlite parquet://snapshot         # every table to a Parquet snapshot
  ferry copy parquet://snapshot sqlite://copy.sqlite     # load the snapshot back
  ferry inspect data/tpch.sqlite                         # tables, columns, types, row counts

Endpoints: sqlite://PATH (or a .sqlite/.db path), parquet://PATH (a .parquet file or a
directory), csv://PATH (a .csv file or a directory), postgres://USER@HOST/DB,
mysql://USER@HOST/DB (or mariadb://), tpch://?sf=N (TPC-H, generated in memory; a source
only). Passwords: in the URL, or PGPASSWORD / MYSQL_PWD. Options go in the URL's query string,
for example csv://out?delimiter=%7C&null=NULL.";

/// ferry moves tables between databases and files through Apache Arrow, at bulk speed and
/// without losing a value or a declared type.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, after_help = format!("{MAIN_EXAMPLES}\n\n{EXIT_CODES}"))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy tables (or a query's result) from FROM to TO.
    #[command(after_help = format!("{COPY_EXAMPLES}\n\n{EXIT_CODES}"))]
    Copy(CopyArgs),
    /// Show the tables of an endpoint: columns, source types, Arrow types, row counts.
    #[command(after_help = format!("{INSPECT_EXAMPLES}\n\n{EXIT_CODES}"))]
    Inspect(InspectArgs),
    /// Check that TO holds the rows of FROM: counts, then hashes of every value by its meaning,
    /// compared across engines; the first differences named by key and column.
    #[command(after_help = format!("{}\n\n{EXIT_CODES}", super::verify::VERIFY_EXAMPLES))]
    Verify(super::verify::VerifyArgs),
    /// Remove what ferry left in a target: staging tables and files of killed runs (never
    /// those of a running ferry), and with --all its other state.
    #[command(after_help = format!("{}\n\n{EXIT_CODES}", super::cleanup::CLEANUP_EXAMPLES))]
    Cleanup(super::cleanup::CleanupArgs),
}

const COPY_EXAMPLES: &str = "\
Examples:
  # every table of a SQLite database into a Parquet snapshot (zstd, with a manifest)
  ferry copy sqlite://data/tpch.sqlite parquet://snap
  # load the snapshot into a new SQLite database; the snapshot's files are verified first
  ferry copy parquet://snap sqlite://copy.sqlite
  # two tables, replacing them if they exist, with a JSON run report
  ferry copy data/tpch.sqlite sqlite://copy.sqlite --table orders --table lineitem \\
      --if-exists replace --report run.json
  # a query's result into a CSV file with ; as delimiter
  ferry copy data/tpch.sqlite 'csv://big.csv?delimiter=%3B' \\
      --query 'SELECT * FROM orders WHERE o_totalprice > 500000' --target-table big_orders
  # a TPC-H database at scale factor 1, generated in memory, with its primary keys
  ferry copy 'tpch://?sf=1' sqlite://tpch.sqlite --with-keys
  # show what would be done, touching nothing
  ferry copy data/tpch.sqlite parquet://snap --dry-run
  # copy, then prove the target holds the same rows and values as the source
  ferry copy data/tpch.sqlite postgres://me@db/app --if-exists replace --verify
  # rename, mask, filter (evaluated by SQLite) and stamp a column on the way
  FERRY_MASK_KEY=... ferry copy data/tpch.sqlite sqlite://test.sqlite --table customer \\
      --transform 'rename(c_name, name)' --transform 'mask(c_phone, hmac)' \\
      --transform \"filter(c_acctbal > 0 AND c_mktsegment IN ('BUILDING', 'MACHINERY'))\" \\
      --transform 'add(loaded_at, load_time)'
  # MariaDB into PostgreSQL over 4 connections each side, zero dates loaded as NULL
  ferry copy mysql://ferry@127.0.0.1/shop postgres://ferry@127.0.0.1/shop --jobs 4 \\
      --zero-dates null
  # the same copy, killed or cancelled part-way: continue from the chunks it committed
  ferry copy mysql://ferry@127.0.0.1/shop postgres://ferry@127.0.0.1/shop --jobs 4 \\
      --zero-dates null --resume
  # fail at the first lost connection instead of trying again (3 retries by default)
  ferry copy postgres://ferry@db1/shop postgres://ferry@db2/shop --retries 0
  # a snapshot holding NaN and -0.0 into SQLite: NaN as NULL, -0.0 as 0.0, counted per column
  ferry copy parquet://snap sqlite://copy.sqlite --float-loss replace --report run.json
  # the tables of a migration and their steps, from one reviewed file
  ferry copy data/tpch.sqlite sqlite://test.sqlite --job migrate.toml

Transform steps (applied in order; see README \"Transforms\"):
  select(col, ...)   drop(col, ...)   rename(old, new)
  cast(col, TYPE[, safe=false])      TYPE: BOOLEAN SMALLINT INT BIGINT REAL DOUBLE DECIMAL(p,s)
                                     CHAR(n) VARCHAR(n) TEXT BLOB DATE TIME TIMESTAMP TIMESTAMPTZ
  filter(EXPR)       =, <>, <, <=, >, >=, AND, OR, NOT, IS [NOT] NULL, [NOT] IN (...),
                     [NOT] BETWEEN x AND y; text in 'quotes', columns bare or \"quoted\"
  mask(col, hmac[, length=N][, key=ENV])   key from $FERRY_MASK_KEY unless key= names another
  mask(col, null)    mask(col, prefix, length=N)
  add(name, 'text' | number | TRUE | FALSE | load_time | source_table[, type=TYPE])
  trim(col, ...)     lower(col, ...)   upper(col, ...)
  tz(col, 'TO')      tz(col, 'FROM', 'TO')   IANA names or offsets";

const INSPECT_EXAMPLES: &str = "\
Examples:
  ferry inspect data/tpch.sqlite
  ferry inspect parquet://snap --table lineitem --json
  ferry inspect 'tpch://?sf=1'                 # TPC-H tables and row counts, nothing generated";

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Where to read: a URL (sqlite://, parquet://, csv://, tpch://?sf=N) or a
    /// .sqlite/.db/.parquet/.csv path.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// Where to write, in the same forms.
    #[arg(value_name = "TO")]
    pub to: String,
    /// Copy only this table (repeatable); a view, materialized view or foreign table named here
    /// is copied as its rows. Default: every table of FROM (its views and the like are listed
    /// as not copied).
    #[arg(long = "table", value_name = "NAME")]
    pub tables: Vec<String>,
    /// Copy the result of this SQL query (SQL sources), into --target-table.
    #[arg(
        long,
        value_name = "SQL",
        requires = "target_table",
        conflicts_with = "tables"
    )]
    pub query: Option<String>,
    /// The target table for --query (or to rename a single --table).
    #[arg(long, value_name = "NAME")]
    pub target_table: Option<String>,
    /// What to do when a target table exists. `fail` and `replace` never leave a half-loaded
    /// table: the load is committed or swapped in at the end, or not at all.
    #[arg(long, value_enum, default_value_t = IfExists::Fail, value_name = "MODE")]
    pub if_exists: IfExists,
    /// Threads reading partitions in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Most rows in one Arrow batch.
    #[arg(long, default_value_t = ferry::source::BatchLimits::DEFAULT_ROWS, value_name = "N")]
    pub batch_rows: usize,
    /// Most bytes in one Arrow batch (wide values make smaller batches).
    #[arg(long, default_value_t = ferry::source::BatchLimits::DEFAULT_BYTES, value_name = "BYTES")]
    pub batch_bytes: usize,
    /// A transform step, applied to every table in the order given (repeatable); see the
    /// list below.
    #[arg(long = "transform", value_name = "STEP")]
    pub transforms: Vec<String>,
    /// A TOML job file listing the tables to copy and each one's steps.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tables", "query", "target_table"])]
    pub job: Option<PathBuf>,
    /// Build the keys of a source that declares none in a catalog (TPC-H's primary and foreign
    /// keys, a snapshot's recorded ones), and a database source's foreign keys even into tables
    /// appended to. Databases that can add keys to a loaded table get them after the load,
    /// built once; SQLite cannot, so its tables are created with their primary keys; file
    /// snapshots record them for a later load. A database source's primary and foreign keys
    /// come with the tables a run creates without it.
    #[arg(long)]
    pub with_keys: bool,
    /// Leave out the source's secondary indexes. By default a new or replaced table gets the
    /// indexes of its database source (unique or not, multi-column, each column's order;
    /// PostgreSQL expression, partial and GIN/GiST indexes into PostgreSQL), built after the
    /// load; one the target cannot build is left out and named. `append` and `truncate` never
    /// change an existing table's indexes.
    #[arg(long)]
    pub no_indexes: bool,
    /// Leave out the foreign keys of a database source. By default the tables a run creates or
    /// replaces get them once every table is in (composite, self-referencing, with their ON
    /// DELETE/UPDATE actions); one whose referenced table is neither in the run nor in the
    /// target is left out and named. `append` and `truncate` never add one.
    #[arg(long)]
    pub no_foreign_keys: bool,
    /// What a float becomes where the target cannot hold it: SQLite keeps -0.0 as 0.0 and NaN
    /// as NULL; MySQL/MariaDB keep -0 as 0 and have no NaN or ±infinity. `error` fails naming
    /// the table, column, row and value; `replace` writes -0.0 as 0.0 and NaN (±infinity in
    /// MySQL/MariaDB) as NULL, counted per column in the report. Other targets keep every float.
    #[arg(long, value_name = "MODE", value_enum, default_value_t)]
    pub float_loss: ferry::sink::FloatLoss,
    /// Append a snapshot table to a database table that already holds it. Every load of a
    /// snapshot's table into a database is recorded in the target's `_ferry_loads`, and an
    /// `--if-exists append` of one already loaded is refused (it would duplicate the rows).
    #[arg(long)]
    pub reload: bool,
    /// Continue a run that was killed, cancelled or failed, from the chunks it committed.
    /// A PostgreSQL or MySQL/MariaDB target commits each source partition (about 64 MiB)
    /// into the table's staging table with a progress row beside it (`<staging>_p`), a Parquet
    /// snapshot into files of its own with a record (`.ferry-staging/chunks/`); the same
    /// command with --resume reads only the partitions not committed, and refuses if the plan
    /// changed (source schema or size, steps, options). Without --resume an earlier run's
    /// chunks are dropped.
    #[arg(long, conflicts_with = "no_chunks")]
    pub resume: bool,
    /// Load each table in one piece, without committing its partitions as chunks with progress
    /// rows: a failed run then keeps nothing for --resume (and a retry starts the table
    /// again). For measuring what the chunks cost; the default commits chunks where the target
    /// can (PostgreSQL, MySQL/MariaDB, Parquet snapshot directories).
    #[arg(long)]
    pub no_chunks: bool,
    /// Times to try the run again after a lost connection, a server restart or a deadlock,
    /// waiting 1 s, 2 s, 4 s, ... (at most 30 s) in between. A failed run leaves its target as
    /// it was, so a retry is exact; where chunks are committed (PostgreSQL, MySQL/MariaDB,
    /// Parquet snapshot directories) it continues from them, as --resume does. 0: fail at the
    /// first such error. A refused value is never retried.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Print the plan (tables, partitions, steps, target definitions) and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// After the copy, compare every copied table with its source as `ferry verify` does
    /// (row counts and values by key, across engines); differences exit 11. Not with
    /// --transform, --query or --if-exists append, whose targets differ from their sources.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Database sources: read the tables of this schema (default: public).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    /// Database sources: split each table on this column, by quantiles of its values (rows
    /// with NULL in it are read by the first partition).
    #[arg(long, value_name = "COLUMN")]
    pub partition_on: Option<String>,
    /// The number of partitions: with --partition-on, key ranges; alone, ctid ranges
    /// (PostgreSQL). Default: large tables are split automatically (--dry-run shows how).
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// MySQL/MariaDB sources: what a zero date (0000-00-00, 2024-00-10) becomes: an error
    /// naming column and row, or NULL (counted in the report).
    #[arg(long, value_name = "MODE", value_enum, default_value_t)]
    pub zero_dates: ferry::source::mysql::ZeroDates,
    /// MySQL/MariaDB sources: do not take FLUSH TABLES WITH READ LOCK (which needs the RELOAD
    /// privilege) to start every reader in one snapshot; each reading connection then has a
    /// snapshot of its own, moments apart. Not needed with --jobs 1.
    #[arg(long)]
    pub no_snapshot_lock: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The endpoint to inspect.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Only this table (repeatable).
    #[arg(long = "table", value_name = "NAME")]
    pub tables: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Database sources: the schema to list (default: public).
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write the run report (per table: rows, bytes, seconds, rows/s, values replaced under a
    /// lossy flag per column, peak memory) as JSON.
    #[arg(long, value_name = "FILE", global = true)]
    pub report: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Log what ferry does on stderr (-v info, -vv debug).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}
