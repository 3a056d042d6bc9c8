//! One run at a time writes a SQLite database: a run holds the lock of a file beside it,
//! `<database>.ferry-lock`, from its first table to its end, and removes the file as it ends.
//! SQLite's own write lock is taken and released at every chunk's commit, so it cannot say
//! that a run is loading a staging table; this lock does, for the next run and for `ferry
//! cleanup`. The kernel releases it when the process ends, however it ends (`kill -9`
//! included); a file left behind by a killed run is simply locked again.
//!
//! The database file itself is not locked: SQLite uses POSIX record locks on it, which any
//! `close()` of the file in the process would release.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// A held run lock; dropping it removes the lock file, then releases the lock.
#[derive(Debug)]
pub(crate) struct RunLock {
    path: PathBuf,
    _file: File,
}

/// The lock file of the database `db`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".ferry-lock");
    PathBuf::from(p)
}

impl RunLock {
    /// Takes the lock of the database `db` (named `what` in errors), or refuses: another run is
    /// writing it. The refusal names that run (its process id and start).
    pub(crate) fn take(db: &Path, what: &str) -> Result<RunLock> {
        let path = lock_path(db);
        loop {
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(format!("{what}: cannot open {}", path.display()), e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let holder = if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    };
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!(
                            "{what} is being written by another ferry run{holder}, which holds \
                             {}; run again once it has finished",
                            path.display()
                        ),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io(
                        format!("{what}: cannot lock {}", path.display()),
                        e,
                    ))
                }
            }
            // The run that held it may have removed the file between our open and our lock:
            // then the lock is on a file no other run can see, and the path is taken again.
            if !same_file(&path, &file) {
                continue;
            }
            let started = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
            let _ = file.set_len(0);
            let _ = write!(file, "pid {}, started {started}", std::process::id());
            let _ = file.flush();
            return Ok(RunLock { path, _file: file });
        }
    }
}

#[cfg(unix)]
fn same_file(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(path: &Path, _file: &File) -> bool {
    path.exists()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked, so a run that opens it now locks a file that is gone and
        // opens the path again (above).
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_the_file_goes_with_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.sqlite");
        let held = RunLock::take(&db, "db").unwrap();
        assert!(lock_path(&db).exists());
        let e = RunLock::take(&db, "db").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        let text = e.to_string();
        assert!(
            text.contains("is being written by another ferry run"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(held);
        assert!(!lock_path(&db).exists());
        let again = RunLock::take(&db, "db").unwrap();
        drop(again);
    }
}
