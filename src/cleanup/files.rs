//! Cleanup of file targets. A snapshot directory: what a killed run left (its `.ferry-staging`
//! directory, a manifest never renamed into place, part files no manifest lists, a stale
//! `_ferry_incomplete`, or a whole first write without a manifest), removed while holding the
//! snapshot's `.ferry-lock` as a writing run does, so nothing of a running run is touched; the
//! lock file itself is kept unless `all`. A single `.parquet` or `.csv` file: the temporary
//! files of runs that were killed, `.NAME.RUN.ferry-tmp` beside it. Single-file runs take no
//! lock, so a temporary file still open by a process, or written in the last minute, is in use.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Action, CleanupOptions, Found, Kind};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::snapshot::{FileTarget, Manifest, INCOMPLETE, MANIFEST};

/// The snapshot's lock file and staging directory, as [`crate::snapshot`] names them.
const LOCK: &str = ".ferry-lock";
const STAGING: &str = ".ferry-staging";
const TMP_SUFFIX: &str = ".ferry-tmp";

/// A temporary file written this recently may belong to a run about to rename it into place
/// (closed, but not yet renamed).
const RECENT: Duration = Duration::from_secs(60);

/// Cleans `endpoint`, a snapshot directory or a single file of `ext` (`parquet`, `csv`).
pub(super) fn clean(
    endpoint: &Endpoint,
    ext: &str,
    options: &CleanupOptions,
) -> Result<Vec<Found>> {
    // The URL's options are how a run writes; cleanup reads none of them.
    let path = &endpoint.path;
    if FileTarget::is_single_file(path, ext) {
        return single_file(endpoint, path, options);
    }
    if !path.exists() {
        return Err(Error::not_found(format!(
            "{endpoint}: no such snapshot directory"
        )));
    }
    if !path.is_dir() {
        return Err(Error::invalid_args(format!(
            "{endpoint}: {} is not a directory",
            path.display()
        )));
    }
    snapshot(path, ext, options)
}

/// An object found, to be removed unless `kept` says why not.
struct Item {
    path: PathBuf,
    kind: Kind,
    reason: String,
    kept: bool,
}

fn item(path: PathBuf, kind: Kind, reason: &str) -> Item {
    Item {
        path,
        kind,
        reason: reason.to_string(),
        kept: false,
    }
}

fn is_part(name: &str, ext: &str) -> bool {
    name.starts_with("part-") && name.ends_with(&format!(".{ext}"))
}

/// The names in `dir`, sorted; none when it cannot be read.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn snapshot(root: &Path, ext: &str, options: &CleanupOptions) -> Result<Vec<Found>> {
    let CleanupOptions {
        dry_run,
        all,
        schema: _,
    } = options;
    let io = |what: &str, p: &Path| {
        let what = format!("{what} {}", p.display());
        move |e| Error::io(what, e)
    };
    let lock_path = root.join(LOCK);
    // The lock a writing run holds for its whole run; held here until the end. A snapshot
    // without the file was never opened by a run (each run creates it first): the file made
    // here to hold the lock is removed again.
    let had_lock = lock_path.exists();
    let lock = if had_lock || !dry_run {
        let file = fs::OpenOptions::new()
            .create(!dry_run)
            .truncate(false)
            .read(true)
            .write(!dry_run)
            .open(&lock_path)
            .map_err(io("cannot open", &lock_path))?;
        Some(file)
    } else {
        None
    };
    let busy = match &lock {
        Some(f) => match f.try_lock() {
            Ok(()) => false,
            Err(fs::TryLockError::WouldBlock) => true,
            Err(fs::TryLockError::Error(e)) => return Err(io("cannot lock", &lock_path)(e)),
        },
        None => false,
    };

    let mut items = Vec::new();
    if root.join(STAGING).exists() {
        items.push(item(
            root.join(STAGING),
            Kind::StagingDir,
            "the staged files of a run that did not finish",
        ));
    }
    let tmp_manifest = root.join(format!("{MANIFEST}.tmp"));
    if tmp_manifest.exists() {
        items.push(item(
            tmp_manifest,
            Kind::ManifestTemp,
            "a manifest a killed run never published",
        ));
    }
    let has_manifest = root.join(MANIFEST).exists();
    let incomplete = root.join(INCOMPLETE).exists();
    // Everything ferry would remove from an incomplete first write: if nothing else is there,
    // the whole directory goes.
    let mut whole = None;
    if has_manifest {
        let manifest =
            Manifest::load(root)?.ok_or_else(|| Error::internal("a manifest vanished"))?;
        for t in &manifest.tables {
            let dir_name = crate::snapshot::table_file_name(&t.name);
            for n in names(&root.join(&dir_name)) {
                let listed = t.files.iter().any(|f| f.path == format!("{dir_name}/{n}"));
                if is_part(&n, ext) && !listed {
                    items.push(item(
                        root.join(&dir_name).join(&n),
                        Kind::UnlistedFile,
                        "a part file the manifest does not list (a run killed while publishing)",
                    ));
                }
            }
        }
        if incomplete {
            items.push(item(
                root.join(INCOMPLETE),
                Kind::IncompleteMarker,
                "the marker of a first write whose manifest was published",
            ));
        }
    } else if incomplete {
        let mut others = false;
        for n in names(root) {
            let p = root.join(&n);
            if [LOCK, STAGING, INCOMPLETE].contains(&n.as_str()) || n == format!("{MANIFEST}.tmp") {
                continue;
            }
            if p.is_dir() && !n.starts_with('.') {
                for f in names(&p) {
                    if is_part(&f, ext) && p.join(&f).is_file() {
                        items.push(item(
                            p.join(&f),
                            Kind::UnlistedFile,
                            "a part file of a snapshot that was never published",
                        ));
                    } else {
                        others = true;
                    }
                }
            } else {
                others = true;
            }
        }
        if others {
            items.push(Item {
                kept: true,
                ..item(
                    root.join(INCOMPLETE),
                    Kind::IncompleteMarker,
                    "a snapshot that was never published holds other files too: it stays \
                     marked incomplete",
                )
            });
        } else {
            whole = Some(item(
                root.to_path_buf(),
                Kind::IncompleteSnapshot,
                "a snapshot a killed first write left without a manifest: every file in it is \
                 ferry's",
            ));
        }
    }
    if had_lock && whole.is_none() {
        items.push(Item {
            kept: !all,
            ..item(
                lock_path.clone(),
                Kind::LockFile,
                if *all {
                    "the snapshot's lock file"
                } else {
                    "the snapshot's lock file; not debris (--all removes it)"
                },
            )
        });
    }

    let mut out = Vec::new();
    // The whole directory of an incomplete first write is one entry.
    let whole_dir = whole.is_some();
    let items: Vec<Item> = match whole {
        Some(w) => vec![w],
        None => items,
    };
    for it in items {
        let action = if it.kept {
            Action::Kept
        } else if busy {
            Action::InUse
        } else if *dry_run {
            Action::WouldRemove
        } else {
            remove(&it.path, it.kind == Kind::LockFile)?;
            Action::Removed
        };
        let reason = match action {
            Action::InUse => format!("{}; a running ferry holds {LOCK}", it.reason),
            _ => it.reason,
        };
        out.push(Found {
            object: it.path.display().to_string(),
            kind: it.kind,
            action,
            target_table: None,
            reason,
        });
    }
    if !had_lock && !whole_dir && lock.is_some() {
        remove(&lock_path, true)?;
    }
    drop(lock);
    Ok(out)
}

/// Removes a file or a directory tree; `lock` is the lock file, unlinked while this process
/// holds its lock.
fn remove(path: &Path, lock: bool) -> Result<()> {
    let r = if path.is_dir() && !lock {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
    }
}

fn single_file(endpoint: &Endpoint, path: &Path, options: &CleanupOptions) -> Result<Vec<Found>> {
    let CleanupOptions {
        dry_run,
        all: _,
        schema: _,
    } = options;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::not_found(format!(
            "{endpoint}: directory {} does not exist",
            dir.display()
        )));
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file}.");
    let temps: Vec<PathBuf> = names(dir)
        .into_iter()
        .filter(|n| {
            n.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(TMP_SUFFIX))
                .is_some_and(|run| {
                    run.len() == 8 && run.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                })
        })
        .map(|n| dir.join(n))
        .collect();
    let open = if temps.is_empty() {
        HashMap::new()
    } else {
        open_files()
    };
    let mut out = Vec::new();
    for t in temps {
        let holder = fs::canonicalize(&t)
            .ok()
            .and_then(|c| open.get(&c).copied());
        let age = fs::metadata(&t)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        let what = format!("the temporary file of a run writing {}", path.display());
        let (action, reason) = if let Some(pid) = holder {
            (
                Action::InUse,
                format!("{what}; process {pid} has it open (a running ferry)"),
            )
        } else if age < RECENT {
            (
                Action::InUse,
                format!(
                    "{what}; written {} s ago, a running ferry may be about to rename it (run \
                     again in a minute)",
                    age.as_secs()
                ),
            )
        } else if *dry_run {
            (
                Action::WouldRemove,
                format!("{what}; no process has it open"),
            )
        } else {
            remove(&t, false)?;
            (Action::Removed, format!("{what}; no process has it open"))
        };
        out.push(Found {
            object: t.display().to_string(),
            kind: Kind::TempFile,
            action,
            target_table: None,
            reason,
        });
    }
    Ok(out)
}

/// The files open in the processes this user can see, with a process that has each open
/// (Linux: `/proc/PID/fd`); empty elsewhere, where the age of a file is the only sign.
fn open_files() -> HashMap<PathBuf, u32> {
    let mut out = HashMap::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path()) {
                out.entry(target).or_insert(pid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_this_process_has_open_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let _f = fs::File::create(&p).unwrap();
        if Path::new("/proc/self/fd").exists() {
            let open = open_files();
            assert_eq!(
                open.get(&fs::canonicalize(&p).unwrap()),
                Some(&std::process::id())
            );
        }
    }
}
