//! Endpoints named by URL or path. `FromStr` parses them, `Display` never shows a password,
//! and an unknown scheme is an error listing the known ones.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// The schemes ferry reads and writes (`tpch` is read-only: a built-in TPC-H generator).
pub const SCHEMES: &[&str] = &[
    "sqlite", "parquet", "csv", "postgres", "mysql", "tpch", "adbc", "duckdb",
];

/// What kind of store an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Sqlite,
    Parquet,
    Csv,
    Postgres,
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    Mysql,
    /// The built-in TPC-H generator (`tpch://?sf=1`); the URL has no path.
    Tpch,
    /// Any ADBC driver (`adbc://DRIVER?uri=...`); the path is the driver.
    Adbc,
    /// A DuckDB database file, through DuckDB's ADBC entry point.
    Duckdb,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Sqlite => "sqlite",
            Scheme::Parquet => "parquet",
            Scheme::Csv => "csv",
            Scheme::Postgres => "postgres",
            Scheme::Mysql => "mysql",
            Scheme::Tpch => "tpch",
            Scheme::Adbc => "adbc",
            Scheme::Duckdb => "duckdb",
        }
    }

    /// Whether the endpoint is a server reached by URL (rather than a file).
    pub fn is_server(self) -> bool {
        matches!(self, Scheme::Postgres | Scheme::Mysql)
    }
}

/// A parsed endpoint: a scheme, a path and the options given as `?key=value` pairs. A server
/// endpoint keeps its whole URL (which may hold a password: `Display` and `Debug` hide it).
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    pub path: PathBuf,
    pub options: BTreeMap<String, String>,
    /// The URL as given, for server endpoints.
    pub url: Option<String>,
    /// The password to use when the URL has none (the CLI passes `PGPASSWORD` or `MYSQL_PWD`).
    pub default_password: Option<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

impl Endpoint {
    /// The value of option `key`, if given.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// Fails naming the first option not in `known`.
    pub fn check_options(&self, known: &[&str]) -> Result<()> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(Error::invalid_args(format!(
                "{self}: unknown option '{k}' (known: {})",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.url {
            // user@host:port/db: no password, and no query string (it may hold one).
            Some(url) => match url::Url::parse(url) {
                Ok(u) => f.write_str(&without_secrets(&u, self.scheme.name())),
                Err(_) => f.write_str(&redact(url)),
            },
            None => {
                write!(f, "{}://{}", self.scheme.name(), self.path.display())?;
                if self.scheme == Scheme::Tpch {
                    // The options are what names a generated database (`tpch://?sf=0.01`).
                    let query: Vec<String> = self
                        .options
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    if !query.is_empty() {
                        write!(f, "?{}", query.join("&"))?;
                    }
                }
                if self.scheme == Scheme::Adbc {
                    // The driver's URI without its password; other options may hold secrets.
                    if let Some(uri) = self.option("uri") {
                        write!(f, "?uri={}", crate::adbc::shown_uri(uri))?;
                    }
                }
                Ok(())
            }
        }
    }
}

fn scheme_of_path(path: &Path) -> Option<Scheme> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" | "db" => Some(Scheme::Sqlite),
        "parquet" => Some(Scheme::Parquet),
        "csv" => Some(Scheme::Csv),
        "duckdb" => Some(Scheme::Duckdb),
        _ => None,
    }
}

/// `scheme://user@host:port/path` of a URL: no password, and no query string (it may hold one).
pub fn without_secrets(u: &url::Url, scheme: &str) -> String {
    let user = if u.username().is_empty() {
        String::new()
    } else {
        format!("{}@", u.username())
    };
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{scheme}://{user}{}{port}{}",
        u.host_str().unwrap_or(""),
        u.path()
    )
}

/// A percent-encoded URL part (user name, password, path, option) decoded: `s%40cret` ->
/// `s@cret`. Percent escapes only, as libpq decodes a URI: a `+` stays a `+` (it means a space
/// in HTML forms, not in URLs).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The host of a server URL as a client connects to it: an IPv6 literal without its brackets
/// (`[::1]` -> `::1`, which is not a name to look up), a name percent-decoded.
pub fn url_host(url: &url::Url) -> Option<String> {
    match url.host()? {
        url::Host::Ipv6(a) => Some(a.to_string()),
        url::Host::Ipv4(a) => Some(a.to_string()),
        url::Host::Domain(d) => Some(percent_decode(d)),
    }
}

/// A host for display in a URL: an IPv6 literal in brackets.
pub fn shown_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The `key=value` pairs of a query string, percent-decoded (see [`percent_decode`]).
fn query_options(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(kv), String::new()),
        })
        .collect()
}

/// Shows a URL with its password replaced, for messages about input that did not parse.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &url[s + 3..at];
                match creds.find(':') {
                    Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                    None => url.to_string(),
                }
            }
            _ => url.to_string(),
        },
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => {
                let scheme_lc = scheme.to_ascii_lowercase();
                let known = match scheme_lc.as_str() {
                    "sqlite" => Scheme::Sqlite,
                    "parquet" => Scheme::Parquet,
                    "csv" => Scheme::Csv,
                    "postgres" | "postgresql" => Scheme::Postgres,
                    "mysql" | "mariadb" => Scheme::Mysql,
                    "tpch" => Scheme::Tpch,
                    "adbc" => Scheme::Adbc,
                    "duckdb" => Scheme::Duckdb,
                    other => {
                        return Err(Error::invalid_args(format!(
                            "{}: unknown scheme '{other}' (known schemes: {})",
                            redact(s),
                            SCHEMES.join(", ")
                        )))
                    }
                };
                (known, rest)
            }
            None => {
                let path = Path::new(s.split('?').next().unwrap_or(s));
                match scheme_of_path(path) {
                    Some(scheme) => (scheme, s),
                    None => {
                        return Err(Error::invalid_args(format!(
                            "{s}: cannot tell the endpoint from the path; write it as a URL \
                             (known schemes: {}), or use a .sqlite, .db, .parquet, .csv or .duckdb path",
                            SCHEMES
                                .iter()
                                .map(|s| format!("{s}://"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                }
            }
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        let options = query_options(query).into_iter().collect();
        if scheme.is_server() {
            url::Url::parse(s)
                .map_err(|e| Error::invalid_args(format!("{}: not a valid URL: {e}", redact(s))))?;
            return Ok(Endpoint {
                scheme,
                path: PathBuf::new(),
                options,
                url: Some(s.to_string()),
                default_password: None,
            });
        }
        if path.is_empty() && scheme != Scheme::Tpch {
            return Err(Error::invalid_args(format!("{s}: the URL names no path")));
        }
        Ok(Endpoint {
            scheme,
            path: PathBuf::from(path),
            options,
            url: None,
            default_password: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_paths() {
        let e: Endpoint = "sqlite://data/tpch.sqlite".parse().unwrap();
        assert_eq!(
            (e.scheme, e.path.to_str().unwrap()),
            (Scheme::Sqlite, "data/tpch.sqlite")
        );
        let e: Endpoint = "sqlite:///tmp/a.db".parse().unwrap();
        assert_eq!(e.path.to_str().unwrap(), "/tmp/a.db");
        let e: Endpoint = "out.parquet".parse().unwrap();
        assert_eq!(e.scheme, Scheme::Parquet);
        let e: Endpoint = "csv://dir?delimiter=%3B&header=false".parse().unwrap();
        assert_eq!(e.option("delimiter"), Some(";"));
        assert_eq!(e.option("header"), Some("false"));
        assert_eq!(e.to_string(), "csv://dir");
        let e: Endpoint = "tpch://?sf=0.01".parse().unwrap();
        assert_eq!((e.scheme, e.option("sf")), (Scheme::Tpch, Some("0.01")));
        assert_eq!(e.to_string(), "tpch://?sf=0.01");
        let e: Endpoint = "tpch://".parse().unwrap();
        assert_eq!(
            (e.scheme, e.to_string().as_str()),
            (Scheme::Tpch, "tpch://")
        );
    }

    #[test]
    fn unknown_scheme_lists_known_ones_and_hides_password() {
        let e = "oracle://scott:tiger@h/db".parse::<Endpoint>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "oracle://scott:***@h/db: unknown scheme 'oracle' (known schemes: sqlite, parquet, csv, postgres, mysql, tpch, adbc, duckdb)"
        );
        let e = "adbc://postgresql?uri=postgresql://u:secret@h/db&password=secret2"
            .parse::<Endpoint>()
            .unwrap();
        assert_eq!(e.to_string(), "adbc://postgresql?uri=postgresql://u@h/db");
        assert!(!format!("{e:?}").contains("secret"), "{e:?}");
        let e = "mariadb://u:secret@h:3307/db".parse::<Endpoint>().unwrap();
        assert_eq!(e.to_string(), "mysql://u@h:3307/db");
        let e = "postgres://u:secret@h:5433/db?password=secret2"
            .parse::<Endpoint>()
            .unwrap();
        assert_eq!(e.to_string(), "postgres://u@h:5433/db");
        assert!(!format!("{e:?}").contains("secret"));
        let e = "data/thing".parse::<Endpoint>().unwrap_err();
        assert!(e.to_string().contains("cannot tell the endpoint"), "{e}");
    }
}
