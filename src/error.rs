//! ferry's one error type. Every error has a [`ErrorKind`] that decides the exit code, and
//! context (endpoint, table, column, partition, batch) is added by wrapping at each boundary:
//! `Display` shows one layer, the cause sits in `source()`, so `{:#}` (anyhow) prints the chain once.

use std::fmt;

/// The broad class of a failure; it drives the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad flags, a malformed URL, an unknown scheme.
    InvalidArguments,
    /// A file, table or column that does not exist.
    NotFound,
    /// The target exists and `--if-exists fail` was asked for.
    AlreadyExists,
    /// A value that cannot be carried exactly (does not fit its type, unparsable).
    InvalidData,
    /// A snapshot whose files do not match its manifest, a constraint violation.
    Integrity,
    /// Reading or writing failed at the operating-system or network level.
    Io,
    /// Wrong credentials.
    Unauthenticated,
    /// A type or feature ferry does not handle.
    Unsupported,
    /// Another run is writing the same target table (or snapshot) right now.
    Busy,
    /// `ferry verify` found rows that differ between source and target.
    Differs,
    /// The run was interrupted.
    Cancelled,
    /// A bug in ferry.
    Internal,
}

impl ErrorKind {
    /// The process exit code for this kind (documented in `ferry --help` and the README).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::InvalidArguments => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::AlreadyExists => 4,
            ErrorKind::InvalidData => 5,
            ErrorKind::Integrity => 6,
            ErrorKind::Io => 7,
            ErrorKind::Unauthenticated => 8,
            ErrorKind::Unsupported => 9,
            ErrorKind::Busy => 10,
            ErrorKind::Differs => 11,
            ErrorKind::Cancelled => 130,
        }
    }
}

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The library's error: a kind, this layer's message, and an optional cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Cause>,
    /// A connection lost or refused, a server shutting down or restarting, a deadlock: the
    /// same work may succeed if tried again ([`Error::is_transient`]).
    transient: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// ferry's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
            transient: false,
        }
    }

    /// A new error of `kind` with `message`, caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            source: Some(source.into()),
            transient: false,
        }
    }

    /// `self`, marked as a failure that may not happen again: a lost or refused connection,
    /// a server shutting down or restarting, a deadlock or serialization failure.
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Whether the failure may not happen again (see [`Error::transient`]): a run that failed
    /// with it left its target as it was (or resumable), so it can be tried again.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The kind of the innermost ferry error in the chain, so a context layer keeps the
    /// kind of what actually went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This layer's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// This error and its causes on one line, `outer: inner: cause`.
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }

    /// Wraps `self` in a layer of context that keeps its kind.
    pub fn context(self, message: impl Into<String>) -> Self {
        Error {
            kind: self.kind,
            message: message.into(),
            transient: self.transient,
            source: Some(Box::new(self)),
        }
    }

    /// Shorthand constructors.
    pub fn invalid_args(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArguments, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }
    pub fn invalid_data(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidData, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
    pub fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        let kind = match source.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            _ => ErrorKind::Io,
        };
        let transient = io_transient(&source);
        let e = Error::with_source(kind, message, source);
        if transient {
            e.transient()
        } else {
            e
        }
    }
    pub fn arrow(message: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        let kind = match &source {
            arrow::error::ArrowError::IoError(..) => ErrorKind::Io,
            arrow::error::ArrowError::NotYetImplemented(_) => ErrorKind::Unsupported,
            _ => ErrorKind::InvalidData,
        };
        Error::with_source(kind, message, source)
    }
    pub fn parquet(message: impl Into<String>, source: parquet::errors::ParquetError) -> Self {
        Error::with_source(ErrorKind::InvalidData, message, source)
    }
    pub fn sqlite(message: impl Into<String>, source: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        let kind = match source.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => ErrorKind::Integrity,
            Some(ErrorCode::CannotOpen) => ErrorKind::NotFound,
            Some(ErrorCode::PermissionDenied) | Some(ErrorCode::ReadOnly) => ErrorKind::Io,
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                ErrorKind::InvalidData
            }
            _ => ErrorKind::Io,
        };
        Error::with_source(kind, message, source)
    }
}

/// What OpenSSL says went wrong, in its own words without its error codes and source lines:
/// `certificate verify failed: IP address mismatch`. Read from the first OpenSSL error stack in
/// `err`'s chain, with the result of the certificate check when the layer above the stack shows
/// one after the stack's text (native-tls writes `STACK (RESULT)`, postgres-openssl
/// `STACK: RESULT`); `None` when the chain holds no OpenSSL error.
/// Whether an I/O error is a lost, reset or refused connection (or carries a database error
/// that is: a PostgreSQL COPY stream reports the server's error through `std::io::Error`).
pub(crate) fn io_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset
        | K::ConnectionAborted
        | K::ConnectionRefused
        | K::NotConnected
        | K::BrokenPipe
        | K::UnexpectedEof
        | K::TimedOut => true,
        _ => e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<postgres::Error>())
            .is_some_and(crate::pg::pg_transient),
    }
}

pub(crate) fn openssl_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut above: Option<String> = None;
    let mut cur = Some(err);
    while let Some(e) = cur {
        let stack = e
            .downcast_ref::<openssl::error::ErrorStack>()
            .or_else(|| e.downcast_ref::<openssl::ssl::Error>()?.ssl_error());
        if let Some(stack) = stack {
            let mut reasons: Vec<&str> = Vec::new();
            for r in stack.errors().iter().filter_map(|e| e.reason()) {
                if !reasons.contains(&r) {
                    reasons.push(r);
                }
            }
            let text = stack.to_string();
            let check = above
                .as_deref()
                .and_then(|a| a.split_once(text.as_str()))
                .map(|(_, rest)| rest.trim_matches([' ', ':', '(', ')']))
                .filter(|r| !r.is_empty() && !reasons.contains(r));
            reasons.extend(check);
            return (!reasons.is_empty()).then(|| reasons.join(": "));
        }
        above = Some(e.to_string());
        cur = e.source();
    }
    None
}

/// Adds context to a `Result<_, Error>`.
pub trait ResultExt<T> {
    /// Wraps the error with a message computed only on failure.
    fn context_with(self, f: impl FnOnce() -> String) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn context_with(self, f: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| e.context(f()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_kind_and_chains_once() {
        let e = Error::not_found("table \"x\" not found").context("source sqlite://a.db");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "source sqlite://a.db");
        let chain = format!("{:#}", anyhow::Error::new(e));
        assert_eq!(chain, "source sqlite://a.db: table \"x\" not found");
    }

    #[test]
    fn lost_connections_are_transient_and_context_keeps_it() {
        use std::io::{Error as Io, ErrorKind as K};
        for k in [
            K::ConnectionReset,
            K::BrokenPipe,
            K::UnexpectedEof,
            K::ConnectionRefused,
        ] {
            let e = Error::io("reading", Io::from(k)).context("table \"t\"");
            assert!(e.is_transient(), "{k:?}");
            assert_eq!(e.kind(), ErrorKind::Io);
        }
        for k in [
            K::PermissionDenied,
            K::NotFound,
            K::InvalidData,
            K::StorageFull,
        ] {
            assert!(!Error::io("writing", Io::from(k)).is_transient(), "{k:?}");
        }
        assert!(!Error::invalid_data("value").context("t").is_transient());
        assert!(Error::invalid_data("x")
            .transient()
            .context("t")
            .is_transient());
    }

    /// A layer over an OpenSSL error stack that shows it and a check's result, as native-tls
    /// and postgres-openssl do.
    #[derive(Debug)]
    struct Over(openssl::error::ErrorStack, &'static str);

    impl fmt::Display for Over {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}{}", self.0, self.1)
        }
    }

    impl std::error::Error for Over {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn openssl_reason_drops_codes_and_keeps_the_check() {
        let stack = openssl::x509::X509::from_pem(b"not a certificate").unwrap_err();
        assert!(stack.to_string().contains(".c:"), "{stack}");
        assert_eq!(openssl_reason(&stack).as_deref(), Some("no start line"));
        let native_tls = Over(stack.clone(), " (IP address mismatch)");
        assert_eq!(
            openssl_reason(&native_tls).as_deref(),
            Some("no start line: IP address mismatch")
        );
        let postgres_openssl = Over(stack, ": unable to get local issuer certificate");
        assert_eq!(
            openssl_reason(&postgres_openssl).as_deref(),
            Some("no start line: unable to get local issuer certificate")
        );
        let io = std::io::Error::other("no TLS here");
        assert_eq!(openssl_reason(&io), None);
    }
}
