//! ADBC endpoints: `adbc://DRIVER?uri=...&OPTION=VALUE` (any Arrow Database Connectivity
//! driver) and `duckdb://FILE.duckdb` (DuckDB's own ADBC entry point). Loading the driver,
//! opening its database with the options given, and turning the driver's errors into ferry's,
//! with every secret the options hold scrubbed from them.

use std::fmt;
use std::path::{Path, PathBuf};

use adbc_core::error::{Error as AdbcError, Status};
use adbc_core::options::{AdbcVersion, OptionConnection, OptionDatabase, OptionValue};
use adbc_core::{Connection, Database, Driver, Optionable, Statement, LOAD_FLAG_DEFAULT};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase, ManagedDriver};

use crate::endpoint::{Endpoint, Scheme};
use crate::error::{Error, ErrorKind, Result};
/// ANSI double quotes: the dialect of PostgreSQL, SQLite and DuckDB, and of most SQL engines.
pub use crate::types::{quote_ident, quote_literal};

/// Environment variable: directories (`:`-separated) searched for a driver given by name
/// (`adbc://adbc_driver_sqlite` finds `libadbc_driver_sqlite.so` there).
pub const DRIVER_PATH_ENV: &str = "FERRY_ADBC_DRIVER_PATH";

/// The options of an `adbc://` URL that ferry itself takes; every other option goes to the
/// driver's database.
const FERRY_OPTIONS: &[&str] = &["entrypoint", "schema"];

/// Short driver names and the library and entry point each stands for.
const KNOWN_DRIVERS: &[(&str, &str, Option<&str>)] = &[
    ("sqlite", "adbc_driver_sqlite", None),
    ("postgresql", "adbc_driver_postgresql", None),
    ("postgres", "adbc_driver_postgresql", None),
    ("flightsql", "adbc_driver_flightsql", None),
    ("snowflake", "adbc_driver_snowflake", None),
    ("bigquery", "adbc_driver_bigquery", None),
    ("duckdb", "duckdb", Some("duckdb_adbc_init")),
];

/// The SQL dialect of a driver ferry knows, for the statements it writes itself (table DDL,
/// the swap of a staging table); `None` for other drivers, which get the driver's own ingest
/// modes instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
    Duckdb,
}

impl Dialect {
    /// The dialect name recorded with a column's declared type.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => crate::types::postgres::DIALECT,
            Dialect::Sqlite => "sqlite",
            Dialect::Duckdb => crate::types::duckdb::DIALECT,
        }
    }
}

/// An ADBC endpoint, resolved: which library, which entry point, which database options.
#[derive(Clone)]
pub struct AdbcSettings {
    /// The driver as given (a path or a name), for messages.
    pub driver: String,
    library: DriverLibrary,
    entrypoint: Option<String>,
    /// Options for the driver's database, in the order given (secrets included).
    options: Vec<(String, String)>,
    pub dialect: Option<Dialect>,
    /// `schema=`: the schema a target writes its tables to (default: the connection's).
    pub schema: Option<String>,
    /// `commit_mib=` (DuckDB): a chunked load commits once this many bytes were written since
    /// its last commit.
    pub commit_bytes: u64,
    /// What the endpoint shows of itself: the driver and the URI without its password.
    shown: String,
}

#[derive(Clone, Debug)]
enum DriverLibrary {
    /// A file: loaded as it is.
    File(PathBuf),
    /// A name: found in `FERRY_ADBC_DRIVER_PATH`, then by the driver manager (ADBC driver
    /// manifests, then the system's library search path).
    Name(String),
}

impl fmt::Display for AdbcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for AdbcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdbcSettings({})", self.shown)
    }
}

/// Whether an option's value is a secret that is never shown.
pub fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "private_key",
        "auth",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// The URL's password, if `value` is a URL holding one.
fn url_password(value: &str) -> Option<String> {
    let u = url::Url::parse(value).ok()?;
    u.password()
        .map(|p| crate::endpoint::percent_decode(p).to_string())
        .filter(|p| !p.is_empty())
}

/// `uri` shown without its password (and without its query, which may hold one).
pub fn shown_uri(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) if u.has_host() => crate::endpoint::without_secrets(&u, u.scheme()),
        _ => crate::endpoint::redact(uri),
    }
}

impl AdbcSettings {
    /// Reads an `adbc://` or `duckdb://` endpoint.
    pub fn from_endpoint(e: &Endpoint) -> Result<Self> {
        match e.scheme {
            Scheme::Duckdb => Self::duckdb(e),
            _ => Self::adbc(e),
        }
    }

    fn adbc(e: &Endpoint) -> Result<Self> {
        let driver = e.path.to_string_lossy().into_owned();
        if driver.is_empty() {
            return Err(Error::invalid_args(
                "adbc://: the URL names no driver; write adbc://DRIVER?uri=..., where DRIVER is \
                 a driver library's path or a name such as sqlite, postgresql, duckdb",
            ));
        }
        let known = KNOWN_DRIVERS.iter().find(|(n, _, _)| *n == driver);
        let library = if driver.contains('/') || Path::new(&driver).extension().is_some() {
            DriverLibrary::File(PathBuf::from(&driver))
        } else {
            DriverLibrary::Name(known.map(|k| k.1).unwrap_or(&driver).to_string())
        };
        let entrypoint = e
            .option("entrypoint")
            .map(str::to_string)
            .or_else(|| known.and_then(|k| k.2).map(str::to_string))
            .or_else(|| {
                // DuckDB's library exports its ADBC entry point under its own name.
                let file = Path::new(&driver)
                    .file_name()?
                    .to_string_lossy()
                    .into_owned();
                file.starts_with("libduckdb")
                    .then(|| "duckdb_adbc_init".to_string())
            });
        let options: Vec<(String, String)> = e
            .options
            .iter()
            .filter(|(k, _)| !FERRY_OPTIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let dialect = dialect_of(&driver);
        let mut shown = format!("adbc://{driver}");
        if let Some(uri) = e.option("uri") {
            shown.push_str(&format!("?uri={}", shown_uri(uri)));
        }
        Ok(AdbcSettings {
            driver,
            library,
            entrypoint,
            options,
            dialect,
            schema: e.option("schema").map(str::to_string),
            commit_bytes: crate::sink::chunks::COMMIT_BYTES,
            shown,
        })
    }

    fn duckdb(e: &Endpoint) -> Result<Self> {
        e.check_options(&["driver", "schema", "commit_mib"])?;
        let commit_bytes = crate::sink::chunks::commit_bytes(e)?;
        let library = match e
            .option("driver")
            .map(str::to_string)
            .or_else(|| std::env::var("FERRY_DUCKDB_DRIVER").ok())
        {
            Some(path) => DriverLibrary::File(PathBuf::from(path)),
            None => DriverLibrary::Name("duckdb".into()),
        };
        let driver = match &library {
            DriverLibrary::File(p) => p.display().to_string(),
            DriverLibrary::Name(_) => "libduckdb".to_string(),
        };
        Ok(AdbcSettings {
            driver,
            library,
            entrypoint: Some("duckdb_adbc_init".into()),
            options: vec![("path".into(), e.path.to_string_lossy().into_owned())],
            dialect: Some(Dialect::Duckdb),
            schema: e.option("schema").map(str::to_string),
            commit_bytes,
            shown: format!("duckdb://{}", e.path.display()),
        })
    }

    /// Opens a `duckdb://` file read-only, as a source: any number of runs can read it at once
    /// (DuckDB lets one process open a file for writing and refuses every other), and a file
    /// that does not exist is an error instead of a new empty database.
    pub fn read_only(&mut self) {
        if self.dialect == Some(Dialect::Duckdb)
            && !self.options.iter().any(|(k, _)| k == "access_mode")
        {
            self.options
                .push(("access_mode".into(), "READ_ONLY".into()));
        }
    }

    /// The secrets the options hold (passwords, tokens, a URI's password), for scrubbing.
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.options {
            if is_secret_option(k) && !v.is_empty() {
                out.push(v.clone());
            }
            if let Some(p) = url_password(v) {
                out.push(p.clone());
                // The URL may hold it percent-encoded too.
                let raw = url::Url::parse(v)
                    .ok()
                    .and_then(|u| u.password().map(str::to_string));
                out.extend(raw);
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        out
    }

    /// `text` with every secret replaced by `***` where it shows as one: after `user:` in a
    /// URL, after `password=`, quoted, or anywhere when it is long enough not to be an
    /// ordinary word of the message (a password `ferry` must not turn `ferry_test` into
    /// `***_test`).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets() {
            for (from, to) in [
                (format!(":{s}@"), ":***@".to_string()),
                (format!("={s}"), "=***".to_string()),
                (format!("'{s}'"), "'***'".to_string()),
                (format!("\"{s}\""), "\"***\"".to_string()),
            ] {
                out = out.replace(&from, &to);
            }
            if s.chars().count() >= 8 {
                out = out.replace(&s, "***");
            }
        }
        out
    }

    /// A ferry error from a driver's error: kind from its status, message scrubbed.
    pub fn error(&self, what: &str, e: AdbcError) -> Error {
        let sqlstate: String = e
            .sqlstate
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8 as char)
            .collect();
        // Drivers report a refused login as an I/O error; SQLSTATE class 28 and libpq's
        // words say what it is.
        let refused_login = sqlstate.starts_with("28")
            || e.message.contains("password authentication failed")
            || e.message.contains("authentication failed");
        let kind = match e.status {
            _ if refused_login => ErrorKind::Unauthenticated,
            Status::NotFound => ErrorKind::NotFound,
            Status::AlreadyExists => ErrorKind::AlreadyExists,
            Status::InvalidArguments | Status::InvalidState => ErrorKind::InvalidArguments,
            Status::InvalidData => ErrorKind::InvalidData,
            Status::Integrity => ErrorKind::Integrity,
            Status::IO => ErrorKind::Io,
            Status::Unauthenticated | Status::Unauthorized => ErrorKind::Unauthenticated,
            Status::NotImplemented => ErrorKind::Unsupported,
            Status::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Io,
        };
        let state = if sqlstate.is_empty() {
            String::new()
        } else {
            format!(" (SQLSTATE {sqlstate})")
        };
        Error::new(
            kind,
            self.scrub(&format!(
                "{self}: {what}: {}{state}",
                // One line: drivers end their messages with details on lines of their own.
                e.message.split_whitespace().collect::<Vec<_>>().join(" ")
            )),
        )
    }

    fn load_driver(&self) -> Result<ManagedDriver> {
        let entry = self.entrypoint.as_deref().map(str::as_bytes);
        let version = AdbcVersion::V110;
        let loaded = match &self.library {
            DriverLibrary::File(path) => {
                if !path.exists() {
                    return Err(Error::not_found(format!(
                        "{self}: the driver library {} does not exist",
                        path.display()
                    )));
                }
                ManagedDriver::load_dynamic_from_filename(path, entry, version)
            }
            DriverLibrary::Name(name) => match find_in_driver_path(name) {
                Some(path) => ManagedDriver::load_dynamic_from_filename(path, entry, version),
                None => {
                    ManagedDriver::load_from_name(name, entry, version, LOAD_FLAG_DEFAULT, None)
                        .map_err(|e| {
                            AdbcError::with_message_and_status(
                                format!(
                                "no driver library named {name} was found in {DRIVER_PATH_ENV}, \
                                 ADBC_DRIVER_PATH or the library search path ({})",
                                e.message
                            ),
                                Status::NotFound,
                            )
                        })
                }
            },
        };
        if let Ok(driver) = &loaded {
            // The library is never unloaded: a reader thread that ends after the run dropped
            // the driver runs the library's thread-exit destructors (the PostgreSQL driver's
            // OpenSSL), and with the library unmapped by `dlclose` that was a segmentation
            // fault, about one run in forty under load (a kept clone keeps it mapped).
            std::mem::forget(driver.clone());
        }
        loaded.map_err(|e| {
            let hint = match &self.entrypoint {
                Some(ep) => format!("entry point {ep}"),
                None => "its ADBC entry point".to_string(),
            };
            self.error(
                &format!("cannot load the driver {} ({hint})", self.driver),
                e,
            )
        })
    }

    /// Loads the driver and opens its database with the endpoint's options.
    pub fn open(&self) -> Result<AdbcDatabase> {
        let mut driver = self.load_driver()?;
        let opts: Vec<(OptionDatabase, OptionValue)> = self
            .options
            .iter()
            .map(|(k, v)| {
                (
                    OptionDatabase::from(k.as_str()),
                    OptionValue::from(v.as_str()),
                )
            })
            .collect();
        let db = driver.new_database_with_opts(opts).map_err(|mut e| {
            let keys: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
            if !matches!(
                e.status,
                Status::Unauthenticated | Status::Unauthorized | Status::IO | Status::NotFound
            ) {
                // An option the driver does not take is the user's to fix.
                e.status = Status::InvalidArguments;
            }
            self.error(
                &format!(
                    "the driver {} cannot open the database with the options [{}]",
                    self.driver,
                    keys.join(", ")
                ),
                e,
            )
        })?;
        let mut out = AdbcDatabase {
            settings: self.clone(),
            db,
        };
        // Connect once now, so a wrong host or password fails before any plan is made.
        let conn = out.connect()?;
        // The driver says what it is: a driver given as a library path of any name is still
        // recognised, and its catalog read for declared types.
        if let Some(vendor) = vendor_name(&conn) {
            if let Some(d) = dialect_of(&vendor) {
                out.settings.dialect = Some(d);
            }
        }
        Ok(out)
    }
}

/// The driver's `GetInfo` vendor name (`PostgreSQL`, `SQLite`, `DuckDB`), if it gives one.
fn vendor_name(conn: &ManagedConnection) -> Option<String> {
    use adbc_core::options::InfoCode;
    use adbc_core::Connection as _;
    use arrow::array::{Array, AsArray};
    let codes = std::collections::HashSet::from([InfoCode::VendorName]);
    let reader = conn.get_info(Some(codes)).ok()?;
    for batch in reader {
        let batch = batch.ok()?;
        let values = batch.column(1).as_union_opt()?;
        for i in 0..values.len() {
            // Type id 0 is `string_value`.
            if values.type_id(i) == 0 {
                let strings = values.child(0).as_string_opt::<i32>()?;
                return Some(strings.value(values.value_offset(i)).to_string());
            }
        }
    }
    None
}

/// `lib{name}.so` in one of the directories of `FERRY_ADBC_DRIVER_PATH`.
fn find_in_driver_path(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os(DRIVER_PATH_ENV)?;
    let file = libloading_name(name);
    std::env::split_paths(&dirs)
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

fn libloading_name(name: &str) -> String {
    format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

fn dialect_of(driver: &str) -> Option<Dialect> {
    let d = driver.to_ascii_lowercase();
    let file = Path::new(&d)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or(d);
    if file.contains("postgres") {
        Some(Dialect::Postgres)
    } else if file.contains("sqlite") {
        Some(Dialect::Sqlite)
    } else if file.contains("duckdb") {
        Some(Dialect::Duckdb)
    } else {
        None
    }
}

/// An opened driver database: connections come from it.
#[derive(Clone)]
pub struct AdbcDatabase {
    pub settings: AdbcSettings,
    db: ManagedDatabase,
}

impl AdbcDatabase {
    /// A new connection (autocommit on).
    pub fn connect(&self) -> Result<ManagedConnection> {
        self.db
            .new_connection()
            .map_err(|e| self.settings.error("cannot connect", e))
    }

    /// A new connection in a transaction (autocommit off), or `None` if the driver has no
    /// transactions.
    pub fn connect_transaction(&self) -> Result<Option<ManagedConnection>> {
        let mut conn = self.connect()?;
        match conn.set_option(OptionConnection::AutoCommit, OptionValue::from("false")) {
            Ok(()) => Ok(Some(conn)),
            Err(e) if e.status == Status::NotImplemented => Ok(None),
            Err(e) => Err(self.settings.error("cannot start a transaction", e)),
        }
    }
}

/// Runs a statement that returns no rows.
pub fn execute(settings: &AdbcSettings, conn: &mut ManagedConnection, sql: &str) -> Result<()> {
    let mut stmt = conn
        .new_statement()
        .map_err(|e| settings.error("cannot create a statement", e))?;
    stmt.set_sql_query(sql)
        .and_then(|_| stmt.execute_update())
        .map_err(|e| settings.error(&format!("{sql} failed"), e))?;
    Ok(())
}

/// Runs a query and returns its rows, every value as text.
pub fn query_text(
    settings: &AdbcSettings,
    conn: &mut ManagedConnection,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>> {
    use arrow::array::{Array, AsArray};
    let mut stmt = conn
        .new_statement()
        .map_err(|e| settings.error("cannot create a statement", e))?;
    let reader = stmt
        .set_sql_query(sql)
        .and_then(|_| stmt.execute())
        .map_err(|e| settings.error(&format!("{sql} failed"), e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::arrow(format!("{settings}: {sql}"), e))?;
        let cols: Vec<arrow::array::ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::arrow(format!("{settings}: {sql}"), e))?;
        for r in 0..batch.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| {
                        let c = c.as_string::<i32>();
                        c.is_valid(r).then(|| c.value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// A possibly schema-qualified table name quoted: `a.b` -> `"a"."b"`.
pub fn quote_table(table: &str) -> String {
    match table.split_once('.') {
        Some((s, t)) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        None => quote_ident(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> AdbcSettings {
        AdbcSettings::from_endpoint(&url.parse().unwrap()).unwrap()
    }

    #[test]
    fn driver_names_paths_and_entry_points() {
        let s = settings("adbc://sqlite?uri=file.db");
        assert!(matches!(&s.library, DriverLibrary::Name(n) if n == "adbc_driver_sqlite"));
        assert_eq!(s.dialect, Some(Dialect::Sqlite));
        let s = settings("adbc:///opt/lib/libduckdb.so?path=x.duckdb");
        assert!(matches!(&s.library, DriverLibrary::File(_)));
        assert_eq!(s.entrypoint.as_deref(), Some("duckdb_adbc_init"));
        assert_eq!(s.dialect, Some(Dialect::Duckdb));
        let s = settings("adbc://mydriver?entrypoint=MyInit&x=1");
        assert_eq!(s.entrypoint.as_deref(), Some("MyInit"));
        assert_eq!(s.options, vec![("x".to_string(), "1".to_string())]);
        assert_eq!(s.dialect, None);
        let s = settings("duckdb://analytics.duckdb");
        assert_eq!(s.to_string(), "duckdb://analytics.duckdb");
        assert_eq!(s.options[0].1, "analytics.duckdb");
    }

    #[test]
    fn secrets_never_shown() {
        let s = settings(
            "adbc://postgresql?uri=postgresql://u:s%40cret@h:5432/db&password=hunter2&token=tok",
        );
        assert_eq!(
            s.to_string(),
            "adbc://postgresql?uri=postgresql://u@h:5432/db"
        );
        let scrubbed =
            s.scrub("failed for u:s@cret@h and u:s%40cret@h, password=hunter2, token 'tok'");
        assert!(!scrubbed.contains("cret"), "{scrubbed}");
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(!scrubbed.contains("tok'"), "{scrubbed}");
        let s = settings("adbc://postgresql?uri=postgresql://ferry:ferry@h/ferry_test");
        assert_eq!(s.scrub("db ferry_test"), "db ferry_test");
        let s = settings("adbc://postgresql?uri=postgresql://u:a-long-secret@h/db");
        assert_eq!(s.scrub("bad a-long-secret"), "bad ***");
        assert!(!format!("{s:?}").contains("cret"));
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_table("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_table("s.t"), "\"s\".\"t\"");
    }
}
