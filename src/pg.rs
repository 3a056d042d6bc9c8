//! PostgreSQL connections, shared by the source and the sink: libpq-style settings from a
//! `postgres://` URL, TLS chosen by `sslmode` with libpq's meanings, and errors built from the
//! server's error fields (message, detail, hint, SQLSTATE, constraint).

use std::path::PathBuf;
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres::config::SslMode as WireSslMode;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};
use postgres_openssl::MakeTlsConnector;

use crate::endpoint::{percent_decode as decode, Endpoint};
use crate::error::{openssl_reason, Error, ErrorKind, Result};
pub use crate::types::quote_literal;

/// A tokio-postgres client, and the task that runs its connection.
pub type AsyncClient = tokio_postgres::Client;
pub type Connection = tokio::task::JoinHandle<std::result::Result<(), postgres::Error>>;

/// The options a `postgres://` URL may carry in its query string.
pub const URL_OPTIONS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "application_name",
    "connect_timeout",
    "host",
    "port",
    "user",
    "dbname",
    "password",
    "schema",
];

/// libpq's `sslmode`, with its meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS if the server offers it, without verifying the certificate (libpq's default).
    Prefer,
    /// TLS or fail; the certificate is not verified.
    Require,
    /// TLS or fail; the certificate chain must verify against the root certificates.
    VerifyCa,
    /// As `verify-ca`, and the host name must match the certificate.
    VerifyFull,
}

impl std::str::FromStr for SslMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::invalid_args(format!(
                    "sslmode '{other}' is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                )))
            }
        })
    }
}

/// Connection settings read from a URL. `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct PgSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub application_name: String,
    pub connect_timeout: Option<Duration>,
    /// `schema=`: the schema a source lists and a target writes to (default: the source's
    /// `public`, the target's `current_schema()`).
    pub schema: Option<String>,
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgSettings({self})")
    }
}

impl std::fmt::Display for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.starts_with('/') {
            write!(
                f,
                "postgres://{}@/{}?host={}",
                self.user, self.dbname, self.host
            )
        } else {
            write!(
                f,
                "postgres://{}@{}:{}/{}",
                self.user,
                crate::endpoint::shown_host(&self.host),
                self.port,
                self.dbname
            )
        }
    }
}

impl PgSettings {
    /// Reads the settings of a `postgres://` endpoint. `default_password` (the CLI passes
    /// `PGPASSWORD`) is used when the URL has none.
    pub fn from_endpoint(endpoint: &Endpoint) -> Result<PgSettings> {
        endpoint.check_options(URL_OPTIONS)?;
        let raw = endpoint.url.as_deref().unwrap_or_default();
        let url = url::Url::parse(raw)
            .map_err(|e| Error::invalid_args(format!("{endpoint}: not a valid URL: {e}")))?;
        let opt = |k: &str| endpoint.option(k).map(str::to_string);
        let user = opt("user")
            .or_else(|| (!url.username().is_empty()).then(|| decode(url.username())))
            .unwrap_or_else(|| "postgres".into());
        let dbname = opt("dbname")
            .or_else(|| {
                let p = url.path().trim_start_matches('/');
                (!p.is_empty()).then(|| decode(p))
            })
            .unwrap_or_else(|| user.clone());
        let port = match opt("port") {
            Some(p) => p.parse().map_err(|_| {
                Error::invalid_args(format!("{endpoint}: port '{p}' is not a number"))
            })?,
            None => url.port().unwrap_or(5432),
        };
        let connect_timeout = match opt("connect_timeout") {
            Some(t) => Some(Duration::from_secs(t.parse().map_err(|_| {
                Error::invalid_args(format!("{endpoint}: connect_timeout '{t}' is not seconds"))
            })?)),
            None => None,
        };
        Ok(PgSettings {
            host: opt("host")
                .or_else(|| crate::endpoint::url_host(&url))
                .unwrap_or_else(|| "localhost".into()),
            port,
            user,
            password: opt("password")
                .or_else(|| url.password().map(decode))
                .or_else(|| endpoint.default_password.clone()),
            dbname,
            sslmode: opt("sslmode")
                .as_deref()
                .unwrap_or("prefer")
                .parse()
                .map_err(|e: Error| Error::invalid_args(format!("{endpoint}: {e}")))?,
            sslrootcert: opt("sslrootcert").map(PathBuf::from),
            application_name: opt("application_name").unwrap_or_else(|| "ferry".into()),
            connect_timeout,
            schema: opt("schema"),
        })
    }

    fn config(&self) -> Config {
        Config::from(self.async_config())
    }

    /// The settings as tokio-postgres takes them; the blocking client's are made from these.
    fn async_config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name);
        if let Some(p) = &self.password {
            c.password(p);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        c
    }

    fn tls(&self) -> Result<MakeTlsConnector> {
        let tls_err = |e: openssl::error::ErrorStack| {
            Error::with_source(ErrorKind::Io, format!("{self}: cannot set up TLS"), e)
        };
        let mut builder = SslConnector::builder(SslMethod::tls()).map_err(tls_err)?;
        match self.sslmode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => {
                builder.set_verify(SslVerifyMode::NONE)
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                builder.set_verify(SslVerifyMode::PEER);
                match self.root_certificates() {
                    Some(root) if !root.exists() => {
                        return Err(Error::not_found(format!(
                            "{self}: the sslrootcert file {} does not exist",
                            root.display()
                        )))
                    }
                    Some(root) => builder.set_ca_file(&root).map_err(|e| {
                        Error::invalid_args(format!(
                            "{self}: the sslrootcert file {} holds no PEM certificate: {}",
                            root.display(),
                            openssl_reason(&e).unwrap_or_else(|| e.to_string())
                        ))
                    })?,
                    None => builder.set_default_verify_paths().map_err(tls_err)?,
                }
            }
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        if self.sslmode != SslMode::VerifyFull {
            connector.set_callback(|cfg, _| {
                cfg.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(connector)
    }

    /// The root certificates `verify-ca` and `verify-full` check against, as libpq finds them:
    /// `sslrootcert`, else `~/.postgresql/root.crt` when it exists; `None`: the system's.
    fn root_certificates(&self) -> Option<PathBuf> {
        self.sslrootcert.clone().or_else(|| {
            let p = PathBuf::from(std::env::var_os("HOME")?).join(".postgresql/root.crt");
            p.exists().then_some(p)
        })
    }

    /// What the TLS handshake checked, for its error message: `sslmode=verify-ca, sslrootcert=FILE`.
    fn tls_checks(&self) -> String {
        let mode = match self.sslmode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        };
        if !matches!(self.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) {
            return format!("sslmode={mode}");
        }
        match self.root_certificates() {
            Some(root) => format!("sslmode={mode}, sslrootcert={}", root.display()),
            None => format!(
                "sslmode={mode} against the system's root certificates: no sslrootcert, no \
                 ~/.postgresql/root.crt"
            ),
        }
    }

    /// Runs `f` on `client`; should `cancel` be set meanwhile, the statement `f` waits on (a
    /// lock wait included) is cancelled through the server, so `f` fails soon after.
    pub fn unless_cancelled<T>(
        &self,
        client: &mut Client,
        cancel: &std::sync::atomic::AtomicBool,
        f: impl FnOnce(&mut Client) -> Result<T>,
    ) -> Result<T> {
        use crossbeam_channel::RecvTimeoutError;
        let token = client.cancel_token();
        let (done, watch) = crossbeam_channel::bounded::<()>(0);
        std::thread::scope(|s| {
            s.spawn(move || loop {
                match watch.recv_timeout(std::time::Duration::from_millis(50)) {
                    Err(RecvTimeoutError::Timeout) => {
                        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                            let sent = match self.sslmode {
                                SslMode::Disable => token.cancel_query(NoTls),
                                _ => match self.tls() {
                                    Ok(tls) => token.cancel_query(tls),
                                    Err(_) => return,
                                },
                            };
                            if let Err(e) = sent {
                                tracing::warn!("{self}: cannot cancel the statement: {e}");
                            }
                            return;
                        }
                    }
                    // `f` is done.
                    _ => return,
                }
            });
            let r = f(client);
            drop(done);
            r
        })
    }

    /// Opens a connection; TLS as `sslmode` says, never downgraded when it is required.
    pub fn connect(&self) -> Result<Client> {
        let mut config = self.config();
        config.ssl_mode(self.wire_ssl_mode());
        let result = match self.sslmode {
            SslMode::Disable => config.connect(NoTls),
            _ => config.connect(self.tls()?),
        };
        result.map_err(|e| self.connect_error(e))
    }

    /// Opens a connection driven by `rt`, a current-thread runtime owned by the calling
    /// thread, for a reader that runs the runtime only when it waits for the server (see
    /// `source::postgres::CopyReader`); TLS as for [`Settings::connect`]. The handle ends with
    /// the connection, holding why it ended.
    pub fn connect_on(&self, rt: &tokio::runtime::Runtime) -> Result<(AsyncClient, Connection)> {
        let mut config = self.async_config();
        config.ssl_mode(self.wire_ssl_mode());
        let result = match self.sslmode {
            SslMode::Disable => rt
                .block_on(config.connect(NoTls))
                .map(|(client, connection)| (client, rt.spawn(connection))),
            _ => rt
                .block_on(config.connect(self.tls()?))
                .map(|(client, connection)| (client, rt.spawn(connection))),
        };
        result.map_err(|e| self.connect_error(e))
    }

    /// What the client asks of the server: TLS off, TLS if offered, or TLS or nothing (the
    /// certificate checks of `verify-ca` and `verify-full` are the connector's, see `tls`).
    fn wire_ssl_mode(&self) -> WireSslMode {
        match self.sslmode {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Prefer => WireSslMode::Prefer,
            _ => WireSslMode::Require,
        }
    }

    fn connect_error(&self, e: postgres::Error) -> Error {
        match openssl_reason(&e) {
            Some(why) => Error::new(
                ErrorKind::Io,
                format!(
                    "{self}: cannot connect: TLS handshake failed: {why} ({})",
                    self.tls_checks()
                ),
            ),
            None => pg_error(e, format!("{self}: cannot connect")),
        }
    }
}

/// Whether a PostgreSQL error may not happen again: the connection was lost or closed, the
/// server is shutting down, restarting or refusing connections for now (SQLSTATE class 08,
/// 57P01–57P03, 53300), or the transaction lost a deadlock or serialization race (40P01,
/// 40001). A wrong password, a refused value or a missing table is not.
pub fn pg_transient(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        None => !e.to_string().contains("password authentication failed"),
        Some(db) => {
            let c = db.code().code();
            c.starts_with("08")
                || matches!(c, "57P01" | "57P02" | "57P03" | "53300" | "40P01" | "40001")
        }
    }
}

/// A PostgreSQL error as one readable message under `context`: the server's message, detail,
/// hint, SQLSTATE and constraint when the server sent them; the kind from the SQLSTATE class.
pub fn pg_error(e: postgres::Error, context: impl Into<String>) -> Error {
    let transient = pg_transient(&e);
    let e = pg_message(e, context.into());
    if transient {
        e.transient()
    } else {
        e
    }
}

fn pg_message(e: postgres::Error, context: String) -> Error {
    let Some(db) = e.as_db_error() else {
        let text = e.to_string();
        let kind = if text.contains("password authentication failed") {
            ErrorKind::Unauthenticated
        } else {
            ErrorKind::Io
        };
        // Keep the chain: the io or TLS error under it says why. A layer's text may already
        // hold its cause's (tokio-postgres writes `KIND: CAUSE`): each is shown once.
        let mut msg = format!("{context}: {text}");
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !msg.contains(&c_text) {
                msg.push_str(&format!(": {c_text}"));
            }
            cause = c.source();
        }
        return Error::new(kind, msg);
    };
    let code = db.code();
    let kind = match code.code() {
        c if c.starts_with("23") => ErrorKind::Integrity,
        c if c.starts_with("22") => ErrorKind::InvalidData,
        c if c.starts_with("28") => ErrorKind::Unauthenticated,
        c if c.starts_with("3D") => ErrorKind::NotFound,
        c if c.starts_with("0A") => ErrorKind::Unsupported,
        c if c.starts_with("08") || c.starts_with("57") || c.starts_with("53") => ErrorKind::Io,
        _ if *code == SqlState::UNDEFINED_TABLE
            || *code == SqlState::UNDEFINED_COLUMN
            || *code == SqlState::INVALID_SCHEMA_NAME
            || *code == SqlState::UNDEFINED_OBJECT =>
        {
            ErrorKind::NotFound
        }
        _ if *code == SqlState::DUPLICATE_TABLE => ErrorKind::AlreadyExists,
        _ if *code == SqlState::INSUFFICIENT_PRIVILEGE => ErrorKind::Unauthenticated,
        _ => ErrorKind::InvalidData,
    };
    let mut msg = format!("{context}: {} (SQLSTATE {})", db.message(), code.code());
    if let Some(d) = db.detail() {
        msg.push_str(&format!("; detail: {d}"));
    }
    if let Some(h) = db.hint() {
        msg.push_str(&format!("; hint: {h}"));
    }
    if let Some(c) = db.constraint() {
        msg.push_str(&format!("; constraint: {c}"));
    }
    if let Some(c) = db.column() {
        msg.push_str(&format!("; column: {c}"));
    }
    if let Some(w) = db.where_() {
        msg.push_str(&format!("; where: {}", w.replace('\n', " / ")));
    }
    Error::new(kind, msg)
}

/// Splits `schema.table` at its first dot outside double quotes, unquoting both parts:
/// `sales.orders`, `"my.schema"."Orders"`, `orders` (no schema).
pub fn split_qualified(name: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
            }
            '.' if !quoted && parts.is_empty() => {
                parts.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    match parts.pop() {
        Some(schema) => (Some(schema), cur),
        None => (None, cur),
    }
}

/// The quoted `"schema"."table"` for a ferry table name (`public` when none is given).
pub fn quoted_table(name: &str) -> String {
    let (schema, table) = split_qualified(name);
    format!(
        "{}.{}",
        crate::types::quote_ident(schema.as_deref().unwrap_or("public")),
        crate::types::quote_ident(&table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_url_hide_the_password() {
        let e: Endpoint =
            "postgres://ann:s%40cret@db.example:6543/sales?sslmode=require&application_name=x"
                .parse()
                .unwrap();
        let s = PgSettings::from_endpoint(&e).unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.user.as_str(), s.dbname.as_str()),
            ("db.example", 6543, "ann", "sales")
        );
        assert_eq!(s.password.as_deref(), Some("s@cret"));
        assert_eq!(s.sslmode, SslMode::Require);
        assert_eq!(s.to_string(), "postgres://ann@db.example:6543/sales");
        assert!(!format!("{s:?}").contains("cret"));
        assert!(!e.to_string().contains("cret"), "{e}");
        let e: Endpoint = "postgresql:///db?host=/var/run/postgresql&user=u"
            .parse()
            .unwrap();
        let s = PgSettings::from_endpoint(&e).unwrap();
        assert_eq!(
            (s.host.as_str(), s.user.as_str(), s.dbname.as_str()),
            ("/var/run/postgresql", "u", "db")
        );
        let e: Endpoint = "postgres://u@h/db?sslmode=maybe".parse().unwrap();
        let err = PgSettings::from_endpoint(&e).unwrap_err().to_string();
        assert!(err.contains("sslmode 'maybe'"), "{err}");
        let e: Endpoint = "postgres://u@h/db?colour=red".parse().unwrap();
        assert!(PgSettings::from_endpoint(&e)
            .unwrap_err()
            .to_string()
            .contains("unknown option 'colour'"));
    }

    #[test]
    fn passwords_are_percent_decoded_only_and_ipv6_hosts_lose_their_brackets() {
        let e: Endpoint = "postgres://u:a+b%2Bc%20d@[::1]:5433/db".parse().unwrap();
        let s = PgSettings::from_endpoint(&e).unwrap();
        assert_eq!(
            s.password.as_deref(),
            Some("a+b+c d"),
            "libpq decodes %XX only"
        );
        assert_eq!(s.host, "::1");
        assert_eq!(s.to_string(), "postgres://u@[::1]:5433/db");
        let e: Endpoint = "postgres://u@h/db?application_name=a+b%26c"
            .parse()
            .unwrap();
        let s = PgSettings::from_endpoint(&e).unwrap();
        assert_eq!(s.application_name, "a+b&c");
    }

    #[test]
    fn qualified_names() {
        assert_eq!(split_qualified("orders"), (None, "orders".into()));
        assert_eq!(
            split_qualified("sales.orders"),
            (Some("sales".into()), "orders".into())
        );
        assert_eq!(
            split_qualified("\"my.schema\".\"Or\"\"ders\""),
            (Some("my.schema".into()), "Or\"ders".into())
        );
        assert_eq!(quoted_table("t"), "\"public\".\"t\"");
    }
}
