//! MySQL and MariaDB connections, shared by the source and the sink: settings from a
//! `mysql://` or `mariadb://` URL (password also from `MYSQL_PWD`), TLS chosen by `ssl-mode`
//! with the MySQL client's meanings, and errors built from the server's code and message.

use std::path::PathBuf;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, SslOpts};
use openssl::x509::X509;

use crate::endpoint::{percent_decode as decode, Endpoint};
use crate::error::{openssl_reason, Error, ErrorKind, Result};

/// The options a `mysql://` URL may carry in its query string.
pub const URL_OPTIONS: &[&str] = &[
    "ssl-mode",
    "ssl-ca",
    "connect_timeout",
    "socket",
    "user",
    "password",
    "tinyint1",
];

/// The MySQL client's `--ssl-mode`, with its meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disabled,
    /// TLS if the server offers it, without verifying the certificate (the client's default).
    Preferred,
    /// TLS or fail; the certificate is not verified.
    Required,
    /// TLS or fail; the certificate chain must verify against `ssl-ca` (or the system roots).
    VerifyCa,
    /// As `VERIFY_CA`, and the host name must match the certificate.
    VerifyIdentity,
}

impl std::str::FromStr for SslMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => {
                return Err(Error::invalid_args(format!(
                    "ssl-mode '{s}' is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, \
                     VERIFY_IDENTITY"
                )))
            }
        })
    }
}

/// Connection settings read from a URL. `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct MySettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    /// The database the URL names (MySQL's schema); tables of other databases are `db.table`.
    pub database: Option<String>,
    pub ssl_mode: SslMode,
    pub ssl_ca: Option<PathBuf>,
    pub socket: Option<String>,
    pub connect_timeout: Option<Duration>,
}

impl std::fmt::Debug for MySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MySettings({self})")
    }
}

impl std::fmt::Display for MySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let db = self.database.as_deref().unwrap_or("");
        match &self.socket {
            Some(s) => write!(f, "mysql://{}@/{db}?socket={s}", self.user),
            None => write!(
                f,
                "mysql://{}@{}:{}/{db}",
                self.user,
                crate::endpoint::shown_host(&self.host),
                self.port
            ),
        }
    }
}

impl MySettings {
    /// Reads the settings of a `mysql://` endpoint. `default_password` (the CLI passes
    /// `MYSQL_PWD`) is used when the URL has none.
    pub fn from_endpoint(endpoint: &Endpoint) -> Result<MySettings> {
        endpoint.check_options(URL_OPTIONS)?;
        let raw = endpoint.url.as_deref().unwrap_or_default();
        let url = url::Url::parse(raw)
            .map_err(|e| Error::invalid_args(format!("{endpoint}: not a valid URL: {e}")))?;
        let opt = |k: &str| endpoint.option(k).map(str::to_string);
        let user = opt("user")
            .or_else(|| (!url.username().is_empty()).then(|| decode(url.username())))
            .unwrap_or_else(|| "root".into());
        let database = {
            let p = url.path().trim_start_matches('/');
            (!p.is_empty()).then(|| decode(p))
        };
        let connect_timeout = match opt("connect_timeout") {
            Some(t) => Some(Duration::from_secs(t.parse().map_err(|_| {
                Error::invalid_args(format!("{endpoint}: connect_timeout '{t}' is not seconds"))
            })?)),
            None => None,
        };
        Ok(MySettings {
            host: crate::endpoint::url_host(&url).unwrap_or_else(|| "localhost".into()),
            port: url.port().unwrap_or(3306),
            user,
            password: opt("password")
                .or_else(|| url.password().map(decode))
                .or_else(|| endpoint.default_password.clone()),
            database,
            ssl_mode: opt("ssl-mode")
                .as_deref()
                .unwrap_or("PREFERRED")
                .parse()
                .map_err(|e: Error| Error::invalid_args(format!("{endpoint}: {e}")))?,
            ssl_ca: opt("ssl-ca").map(PathBuf::from),
            socket: opt("socket"),
            connect_timeout,
        })
    }

    fn opts(&self, tls: bool) -> OptsBuilder {
        let mut b = OptsBuilder::new()
            .ip_or_hostname(Some(self.host.clone()))
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(self.database.clone())
            .socket(self.socket.clone())
            .prefer_socket(false)
            .tcp_connect_timeout(self.connect_timeout)
            // utf8mb4 on the wire whatever the columns' own character sets (latin1 included);
            // temporal values in UTC; a `sql_mode` of ferry's own, whatever the server's: under
            // `PAD_CHAR_TO_FULL_LENGTH` a `char(n)` is read with its padding, under
            // `ANSI_QUOTES` and `NO_BACKSLASH_ESCAPES` names and literals are read otherwise
            // (a sink sets its own mode on top, see `sink::mysql`).
            .init(vec![
                "SET NAMES utf8mb4",
                "SET time_zone = '+00:00'",
                "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'",
            ]);
        if tls {
            let verify = matches!(self.ssl_mode, SslMode::VerifyCa | SslMode::VerifyIdentity);
            let mut ssl = SslOpts::default()
                .with_danger_accept_invalid_certs(!verify)
                .with_danger_skip_domain_validation(self.ssl_mode != SslMode::VerifyIdentity);
            if let Some(ca) = &self.ssl_ca {
                ssl = ssl.with_root_cert_path(Some(ca.clone()));
            }
            b = b.ssl_opts(Some(ssl));
        }
        b
    }

    /// Opens a connection; TLS as `ssl-mode` says, never downgraded when it is required.
    pub fn connect(&self) -> Result<Conn> {
        if let Some(ca) = &self.ssl_ca {
            self.check_ssl_ca(ca)?;
        }
        let context = || format!("{self}: cannot connect");
        match self.ssl_mode {
            SslMode::Disabled => Conn::new(self.opts(false)),
            SslMode::Preferred => match Conn::new(self.opts(true)) {
                Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) => {
                    Conn::new(self.opts(false))
                }
                other => other,
            },
            _ => Conn::new(self.opts(true)),
        }
        .map_err(|e| match e {
            mysql::Error::TlsError(tls) => Error::new(
                ErrorKind::Io,
                format!(
                    "{}: TLS handshake failed: {} ({})",
                    context(),
                    openssl_reason(&tls).unwrap_or_else(|| tls.to_string()),
                    self.tls_checks()
                ),
            ),
            e => my_error(e, context()),
        })
    }

    /// The `ssl-ca` file must hold certificates: the driver skips a file it cannot parse and
    /// verifies against the system's roots alone, failing with a misleading reason.
    fn check_ssl_ca(&self, ca: &std::path::Path) -> Result<()> {
        let bytes = std::fs::read(ca).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::not_found(format!(
                    "{self}: the ssl-ca file {} does not exist",
                    ca.display()
                ))
            } else {
                Error::io(
                    format!("{self}: cannot read the ssl-ca file {}", ca.display()),
                    e,
                )
            }
        })?;
        let pem = X509::stack_from_pem(&bytes).is_ok_and(|certs| !certs.is_empty());
        if pem || X509::from_der(&bytes).is_ok() {
            return Ok(());
        }
        Err(Error::invalid_args(format!(
            "{self}: the ssl-ca file {} holds no PEM or DER certificate",
            ca.display()
        )))
    }

    /// What the TLS handshake checked, for its error message: `ssl-mode=VERIFY_CA, ssl-ca=FILE`.
    fn tls_checks(&self) -> String {
        let mode = match self.ssl_mode {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        };
        match (self.ssl_mode, &self.ssl_ca) {
            (SslMode::VerifyCa | SslMode::VerifyIdentity, Some(ca)) => {
                format!("ssl-mode={mode}, ssl-ca={}", ca.display())
            }
            (SslMode::VerifyCa | SslMode::VerifyIdentity, None) => {
                format!("ssl-mode={mode} against the system's root certificates: no ssl-ca")
            }
            _ => format!("ssl-mode={mode}"),
        }
    }
}

/// Whether a MySQL/MariaDB error may not happen again: the connection was lost, killed or
/// refused, the server is shutting down or has too many connections, a network read or write
/// failed, or the statement lost a deadlock or a lock wait. A refused value is not.
pub fn my_transient(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::MySqlError(m) => matches!(
            m.code,
            1040 | 1053 | 1158..=1161 | 1205 | 1213 | 1927 | 2002 | 2003 | 2006 | 2013 | 4031
        ),
        // The driver reports a lost connection as an I/O error of any kind (an unexpected EOF
        // inside a codec error); ferry's own stream refuses a file with PermissionDenied.
        mysql::Error::IoError(io) => io.kind() != std::io::ErrorKind::PermissionDenied,
        mysql::Error::CodecError(_) => true,
        mysql::Error::DriverError(d) => matches!(
            d,
            mysql::DriverError::CouldNotConnect(_)
                | mysql::DriverError::ConnectTimeout
                | mysql::DriverError::Timeout
                | mysql::DriverError::PacketOutOfSync
        ),
        _ => false,
    }
}

/// A MySQL error as one readable message under `context`, its kind from the server's code.
pub fn my_error(e: mysql::Error, context: impl Into<String>) -> Error {
    let transient = my_transient(&e);
    let e = my_message(e, context.into());
    if transient {
        e.transient()
    } else {
        e
    }
}

fn my_message(e: mysql::Error, context: String) -> Error {
    match e {
        mysql::Error::MySqlError(m) => {
            let kind = match m.code {
                1045 | 1044 | 1142 | 1143 | 1227 | 1698 => ErrorKind::Unauthenticated,
                1049 | 1146 | 1054 | 1051 => ErrorKind::NotFound,
                1050 => ErrorKind::AlreadyExists,
                1062 | 1048 | 1451 | 1452 | 1216 | 1217 | 1364 | 3819 | 4025 => {
                    ErrorKind::Integrity
                }
                1148 | 1235 | 3948 | 4166 => ErrorKind::Unsupported,
                1040 | 1053 | 1205 | 1213 | 2002 | 2003 | 2006 | 2013 => ErrorKind::Io,
                1064 => ErrorKind::InvalidArguments,
                _ => ErrorKind::InvalidData,
            };
            Error::new(
                kind,
                format!(
                    "{context}: {} (error {}, SQLSTATE {})",
                    m.message, m.code, m.state
                ),
            )
        }
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => Error::new(
            ErrorKind::Io,
            format!("{context}: the server does not offer TLS, which ssl-mode requires"),
        ),
        other @ (mysql::Error::IoError(_) | mysql::Error::CodecError(_)) => Error::new(
            ErrorKind::Io,
            format!(
                "{context}: the connection to the server was lost ({})",
                driver_text(&other.to_string())
            ),
        ),
        other => {
            let mut msg = format!("{context}: {}", driver_text(&other.to_string()));
            let mut cause = std::error::Error::source(&other);
            while let Some(c) = cause {
                msg.push_str(&format!(": {c}"));
                cause = c.source();
            }
            Error::new(ErrorKind::Io, msg)
        }
    }
}

/// The driver's text without its wrappers: `IoError { CodecError { IO error: `unexpected
/// EOF' } }` reads `unexpected EOF`.
fn driver_text(text: &str) -> String {
    let mut t = text.trim();
    while let Some(open) = t.find(" { ") {
        let head = &t[..open];
        if head.is_empty() || !head.chars().all(|c| c.is_ascii_alphanumeric()) || !t.ends_with(" }")
        {
            break;
        }
        t = t[open + 3..t.len() - 2].trim();
    }
    let t = t.strip_prefix("IO error: ").unwrap_or(t);
    t.strip_prefix('`')
        .and_then(|u| u.strip_suffix('\''))
        .unwrap_or(t)
        .to_string()
}

/// Runs one statement, its error under `context`.
pub fn exec(conn: &mut Conn, sql: &str, context: impl FnOnce() -> String) -> Result<()> {
    conn.query_drop(sql).map_err(|e| my_error(e, context()))
}

/// Quotes an identifier with backticks, doubling any inside.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Splits `db.table` at its first dot outside backticks or double quotes, unquoting both parts.
pub fn split_qualified(name: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quote) {
            (q, Some(open)) if q == open && chars.peek() == Some(&q) => {
                cur.push(q);
                chars.next();
            }
            (q, Some(open)) if q == open => quote = None,
            ('`' | '"', None) if cur.is_empty() => quote = Some(c),
            ('.', None) if parts.is_empty() => parts.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    match parts.pop() {
        Some(db) => (Some(db), cur),
        None => (None, cur),
    }
}

/// The quoted `` `db`.`table` `` for a ferry table name (the URL's database when none is given).
pub fn quoted_table(name: &str) -> String {
    match split_qualified(name) {
        (Some(db), table) => format!("{}.{}", quote_ident(&db), quote_ident(&table)),
        (None, table) => quote_ident(&table),
    }
}

/// A string literal, safe whatever the server's `NO_BACKSLASH_ESCAPES` setting: backslashes and
/// quotes are doubled only where that mode leaves them; ferry uses it for names only, which
/// [`literal_safe`] checks.
pub fn quote_literal(s: &str) -> Result<String> {
    if !literal_safe(s) {
        return Err(Error::invalid_args(format!(
            "the name {s:?} holds a backslash, a quote or a control character, which ferry \
             does not pass to MySQL"
        )));
    }
    Ok(format!("'{s}'"))
}

/// Whether `s` can be written between single quotes with the same meaning in every SQL mode.
pub fn literal_safe(s: &str) -> bool {
    !s.chars().any(|c| c == '\\' || c == '\'' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_killed_or_refused_connections_are_transient_refused_values_are_not() {
        let server = |code| {
            mysql::Error::MySqlError(mysql::MySqlError {
                state: "HY000".into(),
                message: "m".into(),
                code,
            })
        };
        for code in [1040, 1053, 1158, 1161, 1205, 1213, 1927, 2006, 2013, 4031] {
            assert!(my_transient(&server(code)), "{code}");
            assert!(my_error(server(code), "x").is_transient(), "{code}");
        }
        for code in [1045, 1062, 1146, 1264, 1366, 1406, 1064] {
            assert!(!my_transient(&server(code)), "{code}");
        }
        let lost = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert!(my_transient(&lost));
        let e = my_error(lost, "mysql://u@h/db: `db`.`t`: batch 3");
        assert!(
            e.message()
                .ends_with("the connection to the server was lost (unexpected end of file)"),
            "{}",
            e.message()
        );
        let refused =
            mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(!my_transient(&refused));
    }

    #[test]
    fn driver_text_drops_the_wrappers() {
        assert_eq!(
            driver_text("IoError { CodecError { IO error: `unexpected EOF' } }"),
            "unexpected EOF"
        );
        assert_eq!(
            driver_text("DriverError { Could not connect to address `h:1' }"),
            "Could not connect to address `h:1'"
        );
        assert_eq!(driver_text("plain text"), "plain text");
    }

    #[test]
    fn settings_from_url_hide_the_password() {
        let e: Endpoint = "mysql://ann:s%40cret@db.example:3307/sales?ssl-mode=required"
            .parse()
            .unwrap();
        let s = MySettings::from_endpoint(&e).unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.user.as_str()),
            ("db.example", 3307, "ann")
        );
        assert_eq!(s.database.as_deref(), Some("sales"));
        assert_eq!(s.password.as_deref(), Some("s@cret"));
        assert_eq!(s.ssl_mode, SslMode::Required);
        assert_eq!(s.to_string(), "mysql://ann@db.example:3307/sales");
        assert!(!format!("{s:?}").contains("cret"));
        assert!(!e.to_string().contains("cret"), "{e}");
        let e: Endpoint = "mariadb://u@h/db?ssl-mode=verify_identity".parse().unwrap();
        assert_eq!(
            MySettings::from_endpoint(&e).unwrap().ssl_mode,
            SslMode::VerifyIdentity
        );
        let e: Endpoint = "mysql://u@h/db?ssl-mode=maybe".parse().unwrap();
        let err = MySettings::from_endpoint(&e).unwrap_err().to_string();
        assert!(err.contains("ssl-mode 'maybe'"), "{err}");
        let e: Endpoint = "mysql://u@h/db?colour=red".parse().unwrap();
        assert!(MySettings::from_endpoint(&e)
            .unwrap_err()
            .to_string()
            .contains("unknown option 'colour'"));
    }

    #[test]
    fn qualified_names_and_quoting() {
        assert_eq!(split_qualified("orders"), (None, "orders".into()));
        assert_eq!(
            split_qualified("sales.orders"),
            (Some("sales".into()), "orders".into())
        );
        assert_eq!(
            split_qualified("`my.db`.`Or``ders`"),
            (Some("my.db".into()), "Or`ders".into())
        );
        assert_eq!(quoted_table("a.b`c"), "`a`.`b``c`");
        assert_eq!(quote_ident("x`y"), "`x``y`");
        assert!(quote_literal("it's").is_err());
        assert_eq!(quote_literal("lineitem").unwrap(), "'lineitem'");
    }
}
