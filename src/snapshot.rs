//! File snapshots: a directory with one sub-directory of part files per table and a manifest
//! (`_ferry_manifest.json`: tables, schemas with their source types, files, row counts, a
//! SHA-256 per file). Writers stage their files and say what they wrote; one commit step moves
//! them into place and publishes the manifest last, atomically (write, fsync, rename). A snapshot
//! directory without a manifest but with the `_ferry_incomplete` marker is refused at load, and
//! a file whose size or checksum differs from the manifest is refused, naming the file.
//! A file sink writes to a [`FileTarget`]: such a snapshot, or a single file holding one table.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::sink::{IfExists, Resume};

/// The manifest's file name.
pub const MANIFEST: &str = "_ferry_manifest.json";
/// Present while a new snapshot is being written; removed when the manifest is published.
pub const INCOMPLETE: &str = "_ferry_incomplete";
const STAGING: &str = ".ferry-staging";
/// Under [`STAGING`]: the chunks committed by chunked loads, `chunks/<table>/<plan>/`, kept
/// across runs for `--resume` until the manifest that lists them is published.
const CHUNKS: &str = "chunks";
const FORMAT: &str = "ferry-snapshot";
/// The longest name ferry gives a table's file or directory: file systems take 255 bytes, and a
/// part file's `.parquet` or a staging suffix must still fit.
const MAX_FILE_NAME_BYTES: usize = 200;

/// The file or directory name that holds `table`: one path component whatever the name, so a
/// table named `../x` or `a/b` stays inside the snapshot. The characters that are not safe in a
/// file name on Linux, macOS or Windows (`/ \ : * ? " < > |`, control characters), `%` and `~`,
/// a leading `.` (hidden files, `..`), a leading `_ferry` (ferry's own files) and a trailing `.`
/// or space are percent-encoded (`../x` is `%2E.%2Fx`); every other character, unicode
/// included, is kept, so ordinary names are their own file names. [`table_of_file_name`]
/// decodes it. A name whose encoding is longer than [`MAX_FILE_NAME_BYTES`] is cut at a
/// character boundary and ends with `~` and a hash of the whole name (no encoded name has a
/// bare `~`); the manifest keeps the real name.
pub fn table_file_name(table: &str) -> String {
    if table.is_empty() {
        // An empty name is legal in SQLite; a bare `%` decodes back to it.
        return "%".into();
    }
    let last = table.chars().count() - 1;
    let mut out = String::with_capacity(table.len());
    for (i, c) in table.chars().enumerate() {
        let unsafe_char = c.is_ascii_control()
            || matches!(
                c,
                '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '%' | '~'
            )
            || (i == 0 && (c == '.' || (c == '_' && table.starts_with("_ferry"))))
            || (i == last && (c == '.' || c == ' '));
        if unsafe_char {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    if out.len() > MAX_FILE_NAME_BYTES {
        let hash = hex::encode(&Sha256::digest(table.as_bytes())[..8]);
        let mut end = MAX_FILE_NAME_BYTES - hash.len() - 1;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        // Never cut inside a %XX escape.
        if let Some(p) = out[..end].rfind('%') {
            if p + 3 > end {
                end = p;
            }
        }
        out.truncate(end);
        out.push('~');
        out.push_str(&hash);
    }
    out
}

/// The table a file or directory name of [`table_file_name`] holds (a name of another tool's
/// snapshot decodes to itself unless it has `%XX` escapes).
pub fn table_of_file_name(name: &str) -> String {
    if name == "%" {
        return String::new();
    }
    percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| name.to_string())
}

/// The table a sub-directory of a snapshot holds: its whole name (a dot in it is no
/// extension), decoded.
pub fn table_of_dir(dir: &Path) -> String {
    table_of_file_name(
        &dir.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

/// A manifest's file path must stay inside the snapshot: relative, without `..`.
fn inside_snapshot(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The manifest of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// `parquet` or `csv`.
    pub file_format: String,
    pub tables: Vec<TableEntry>,
}

/// One table of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub rows: u64,
    pub schema: Schema,
    pub files: Vec<FileEntry>,
}

/// One file of a table, its path relative to the snapshot directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// The key of the target schema's metadata (what a sink prepares a table from) that holds the
/// identity of the snapshot table the rows come from ([`TableEntry::identity`]), so a database
/// target can record which snapshot tables it holds.
pub const META_SNAPSHOT_TABLE: &str = "ferry.snapshot_table";

impl TableEntry {
    /// The table's identity: a hash of its files' contents (their SHA-256 and row counts, in
    /// order), the same wherever the snapshot is and whatever the table is loaded as.
    pub fn identity(&self) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(f.sha256.as_bytes());
            h.update(b":");
            h.update(f.rows.to_string().as_bytes());
            h.update(b"\n");
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

impl Manifest {
    /// Loads the manifest of `root`: `None` for a directory that is not a ferry snapshot, an
    /// error for an incomplete snapshot or an unreadable manifest.
    pub fn load(root: &Path) -> Result<Option<Manifest>> {
        let path = root.join(MANIFEST);
        if !path.exists() {
            if root.join(INCOMPLETE).exists() {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "snapshot {} is incomplete: it has no manifest ({MANIFEST}), so the run \
                         that wrote it did not finish; write it again",
                        root.display()
                    ),
                ));
            }
            return Ok(None);
        }
        let text = fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::with_source(
                ErrorKind::Integrity,
                format!("{} is not a valid manifest", path.display()),
                e,
            )
        })?;
        if m.format != FORMAT {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!("{} is not a ferry snapshot manifest", path.display()),
            ));
        }
        for t in &m.tables {
            if let Some(f) = t.files.iter().find(|f| !inside_snapshot(&f.path)) {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "{}: table \"{}\" lists the file {:?}, outside the snapshot; the \
                         snapshot is refused",
                        path.display(),
                        t.name,
                        f.path
                    ),
                ));
            }
        }
        Ok(Some(m))
    }

    /// Checks every file of `table` against the manifest: present, same size, same SHA-256.
    pub fn verify(&self, root: &Path, table: &TableEntry) -> Result<()> {
        for f in &table.files {
            let path = root.join(&f.path);
            let refuse = |what: String| {
                Err(Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "snapshot {}: file {} {what}; the snapshot is refused",
                        root.display(),
                        f.path
                    ),
                ))
            };
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                Err(_) => return refuse("listed in the manifest is missing".into()),
            };
            if meta.len() != f.bytes {
                return refuse(format!(
                    "is {} bytes, the manifest says {}",
                    meta.len(),
                    f.bytes
                ));
            }
            if sha256_file(&path)? != f.sha256 {
                return refuse("does not match its SHA-256 checksum in the manifest".into());
            }
        }
        Ok(())
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A file writer that counts bytes and computes the SHA-256 of what it writes.
pub struct HashingWriter {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes and syncs the file; returns its size and SHA-256.
    pub fn close(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        self.inner.get_ref().sync_all()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One committed chunk of a chunked table load: a source partition's files. Its record file
/// (`<digest of the label>.json`, written, synced and renamed into place after the files are
/// synced) is the chunk's commit: a file no record lists is an open chunk's, removed on resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub chunk: String,
    pub fingerprint: String,
    pub rows: u64,
    /// File names in the chunk directory, with their sizes and SHA-256.
    pub files: Vec<FileEntry>,
}

/// Where a chunked load of one table keeps its committed chunks: a directory per plan
/// (fingerprint), inside the snapshot's staging directory.
#[derive(Debug)]
pub struct ChunkStore {
    pub dir: PathBuf,
    pub fingerprint: String,
    /// The chunks an earlier run of the plan committed (when resuming).
    pub committed: Vec<ChunkRecord>,
}

fn digest16(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

impl ChunkStore {
    /// The file name of a chunk's `k`-th file.
    pub fn file_name(&self, chunk: &str, k: usize, ext: &str) -> String {
        format!("{}-{k:03}.{ext}", digest16(chunk))
    }

    /// Commits `record` (its files written and synced): its record file, synced, renamed into
    /// place, the directory synced.
    pub fn commit(&self, record: &ChunkRecord) -> Result<()> {
        let name = format!("{}.json", digest16(&record.chunk));
        let tmp = self.dir.join(format!("{name}.tmp"));
        let io_err = |e| {
            Error::io(
                format!("cannot commit a chunk in {}", self.dir.display()),
                e,
            )
        };
        let text = serde_json::to_vec(record)
            .map_err(|e| Error::with_source(ErrorKind::Internal, "chunk record", e))?;
        {
            let mut f = File::create(&tmp).map_err(io_err)?;
            f.write_all(&text).map_err(io_err)?;
            f.sync_all().map_err(io_err)?;
        }
        fs::rename(&tmp, self.dir.join(name)).map_err(io_err)?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err)?;
        Ok(())
    }

    /// The records in `dir`, and the files no record lists (an open chunk's).
    fn read(dir: &Path) -> Result<(Vec<ChunkRecord>, Vec<PathBuf>)> {
        let io_err = |e| Error::io(format!("cannot read {}", dir.display()), e);
        let mut records = Vec::new();
        let mut others = Vec::new();
        for e in fs::read_dir(dir).map_err(io_err)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                let text = fs::read(e.path()).map_err(io_err)?;
                let r: ChunkRecord = serde_json::from_slice(&text).map_err(|err| {
                    Error::with_source(
                        ErrorKind::Integrity,
                        format!("{} is not a chunk record", e.path().display()),
                        err,
                    )
                })?;
                records.push(r);
            } else {
                others.push(e.path());
            }
        }
        let listed: std::collections::HashSet<&str> = records
            .iter()
            .flat_map(|r| r.files.iter().map(|f| f.path.as_str()))
            .collect();
        let loose = others
            .into_iter()
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| listed.contains(n.to_string_lossy().as_ref()))
            })
            .collect();
        records.sort_by(|a, b| a.chunk.cmp(&b.chunk));
        Ok((records, loose))
    }
}

/// A table staged by a finished writer, waiting for the commit step.
struct Staged {
    table: String,
    mode: IfExists,
    schema: Schema,
    rows: u64,
    /// Files in the staging directory, with entries whose paths are relative to the table dir.
    files: Vec<(PathBuf, FileEntry)>,
}

/// A snapshot directory being written.
pub struct SnapshotDir {
    root: PathBuf,
    file_format: &'static str,
    created_root: bool,
    staged: Mutex<Vec<Staged>>,
    committed: Mutex<bool>,
    /// What a failed run keeps for `--resume` (chunks committed), one line per table; while
    /// any is kept, an aborted run leaves the staging directory (and a new root) in place.
    kept: Mutex<Vec<String>>,
    /// The snapshot's lock file, locked while this run writes (released by the kernel when the
    /// process ends, however it ends).
    _lock: File,
}

/// The lock file of a snapshot directory: one run at a time writes a snapshot, since every run
/// rewrites its manifest and clears its staging directory.
const LOCK: &str = ".ferry-lock";

/// Locks `root`'s lock file, or refuses: another run is writing the snapshot.
fn lock_snapshot(root: &Path) -> Result<File> {
    let path = root.join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Busy,
            format!(
                "{} is being written by another ferry run (it holds {LOCK}); run again once it \
                 has finished",
                root.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("cannot lock {}", path.display()), e))
        }
    }
}

impl SnapshotDir {
    /// Opens `root` for writing, creating it (with the incomplete marker) if it does not exist.
    pub fn open(root: &Path, file_format: &'static str) -> Result<Self> {
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        // Created here, or found: of two runs creating one snapshot, one creates it.
        let mut created_root = match fs::create_dir(root) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io(format!("cannot create {}", root.display()), e)),
        };
        let lock = if root.is_dir() {
            Some(lock_snapshot(root)?)
        } else {
            None
        };
        // A snapshot whose first write was killed (the marker, no manifest) never held a
        // table: this run writes it as new, from the chunks kept for --resume if any.
        if !created_root && root.join(INCOMPLETE).exists() && !root.join(MANIFEST).exists() {
            created_root = true;
        }
        if created_root {
            fs::write(root.join(INCOMPLETE), b"")
                .map_err(|e| Error::io(format!("cannot write in {}", root.display()), e))?;
        } else if !root.is_dir() {
            return Err(Error::invalid_args(format!(
                "{} exists and is not a directory",
                root.display()
            )));
        } else {
            // Refuse to add to a snapshot that is already broken.
            Manifest::load(root)?;
        }
        let dir = SnapshotDir {
            root: root.to_path_buf(),
            file_format,
            created_root,
            staged: Mutex::new(Vec::new()),
            committed: Mutex::new(false),
            kept: Mutex::new(Vec::new()),
            _lock: lock.ok_or_else(|| Error::internal("a snapshot without its lock"))?,
        };
        if !dir.created_root {
            dir.remove_unlisted()?;
        }
        Ok(dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest as it was before this run (none for a snapshot this run creates).
    fn current_manifest(&self) -> Result<Option<Manifest>> {
        if self.created_root {
            return Ok(None);
        }
        Manifest::load(&self.root)
    }

    /// Whether the snapshot holds `table` (in its manifest or as a directory).
    pub fn exists(&self, table: &str) -> Result<bool> {
        let in_manifest = self
            .current_manifest()?
            .is_some_and(|m| m.tables.iter().any(|t| t.name == table));
        Ok(in_manifest || self.root.join(table_file_name(table)).exists())
    }

    /// The chunk store of a chunked load of `table` with the plan `fingerprint`. Resuming, it
    /// holds the chunks an earlier run of the plan committed (an open chunk's files removed);
    /// else it starts empty. Another plan's chunks for the table are a refusal under
    /// `--resume` ([`Resume::Yes`]) and are removed otherwise.
    pub fn chunks(&self, table: &str, fingerprint: &str, resume: Resume) -> Result<ChunkStore> {
        let base = self
            .root
            .join(STAGING)
            .join(CHUNKS)
            .join(table_file_name(table));
        let plan = fingerprint.chars().take(16).collect::<String>();
        let dir = base.join(&plan);
        let io_err = |e, p: &Path| Error::io(format!("cannot clear {}", p.display()), e);
        if let Ok(entries) = fs::read_dir(&base) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy() == plan {
                    continue;
                }
                let (records, _) = ChunkStore::read(&e.path())?;
                if resume == Resume::Yes && !records.is_empty() {
                    return Err(Error::invalid_args(format!(
                        "{}: table \"{table}\": cannot resume: the {} chunk(s) an earlier run \
                         committed (in {}) are of another plan: the source's schema or size, \
                         the steps or the options changed since; run without --resume to write \
                         the table again from the start",
                        self.root.display(),
                        records.len(),
                        e.path().display()
                    )));
                }
                fs::remove_dir_all(e.path()).map_err(|err| io_err(err, &e.path()))?;
            }
        }
        if resume == Resume::No && dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| io_err(e, &dir))?;
        }
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let (mut committed, loose) = ChunkStore::read(&dir)?;
        for p in loose {
            fs::remove_file(&p).map_err(|e| io_err(e, &p))?;
        }
        committed.retain(|r| r.fingerprint == fingerprint);
        Ok(ChunkStore {
            dir,
            fingerprint: fingerprint.to_string(),
            committed,
        })
    }

    /// Notes that a failed run keeps `line`'s chunks for `--resume`.
    pub fn keep(&self, line: String) {
        if let Ok(mut k) = self.kept.lock() {
            k.push(line);
        }
    }

    /// What a failed run kept for `--resume`, one line per table.
    pub fn kept(&self) -> Vec<String> {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// A fresh staging directory for `table`.
    pub fn staging_dir(&self, table: &str) -> Result<PathBuf> {
        let dir = self
            .root
            .join(STAGING)
            .join("new")
            .join(table_file_name(table));
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot clear {}", dir.display()), e))?;
        }
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        Ok(dir)
    }

    /// Records a finished table: `files` are (staged path, size, sha256, rows).
    pub fn stage(
        &self,
        table: &str,
        mode: IfExists,
        schema: Schema,
        files: Vec<WrittenFile>,
    ) -> Result<()> {
        let rows = files.iter().map(|f| f.3).sum();
        let files = files
            .into_iter()
            .map(|(path, bytes, sha256, rows)| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    path,
                    FileEntry {
                        path: name,
                        rows,
                        bytes,
                        sha256,
                    },
                )
            })
            .collect();
        let mut staged = self
            .staged
            .lock()
            .map_err(|_| Error::internal("snapshot lock poisoned"))?;
        staged.push(Staged {
            table: table.to_string(),
            mode,
            schema,
            rows,
            files,
        });
        Ok(())
    }

    /// Moves every staged table into place and publishes the manifest, last.
    pub fn commit(&self) -> Result<()> {
        let staged = std::mem::take(&mut *self.staged.lock().map_err(|_| Error::internal("lock"))?);
        let mut manifest = self.current_manifest()?.unwrap_or(Manifest {
            format: FORMAT.into(),
            version: 1,
            file_format: self.file_format.into(),
            tables: Vec::new(),
        });
        // Every check first, so that a refusal moves nothing.
        for s in &staged {
            if s.mode == IfExists::Fail && self.exists(&s.table)? {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "{}: table \"{}\" exists (use --if-exists replace or append)",
                        self.root.display(),
                        s.table
                    ),
                ));
            }
            if s.mode == IfExists::Append {
                if let Some(old) = manifest.tables.iter().find(|t| t.name == s.table) {
                    if strip_meta(&old.schema) != strip_meta(&s.schema) {
                        return Err(Error::new(
                            ErrorKind::InvalidData,
                            format!(
                                "{}: cannot append to table \"{}\": its schema differs",
                                self.root.display(),
                                s.table
                            ),
                        ));
                    }
                }
            }
        }
        // The new files move in beside the old ones, under names no listed file has; the
        // manifest then switches to them, and only then are the replaced files removed. A run
        // killed at any step leaves a manifest whose files are all there: the old table or the
        // new one (files no manifest lists are removed by the next run that writes here).
        let mut replaced: Vec<PathBuf> = Vec::new();
        for s in staged {
            let dir_name = table_file_name(&s.table);
            let final_dir = self.root.join(&dir_name);
            let io_err = |e: io::Error, what: &str| {
                Error::io(format!("{what} in {}", self.root.display()), e)
            };
            fs::create_dir_all(&final_dir)
                .map_err(|e| io_err(e, "cannot create a table directory"))?;
            let old = manifest.tables.iter().find(|t| t.name == s.table);
            let mut entry = TableEntry {
                name: s.table.clone(),
                rows: 0,
                schema: s.schema,
                files: Vec::new(),
            };
            match (s.mode, old) {
                (IfExists::Append, Some(old)) => {
                    entry.rows = old.rows;
                    entry.files = old.files.clone();
                }
                (_, Some(old)) => {
                    replaced.extend(old.files.iter().map(|f| self.root.join(&f.path)));
                }
                (IfExists::Append, None) => {}
                (_, None) => {
                    // A directory the manifest does not list (a killed first load, another
                    // tool's files): its part files are replaced too.
                    if let Ok(entries) = fs::read_dir(&final_dir) {
                        let ext = format!(".{}", self.file_format);
                        replaced.extend(entries.flatten().map(|e| e.path()).filter(|p| {
                            p.file_name().is_some_and(|n| {
                                let n = n.to_string_lossy();
                                n.starts_with("part-") && n.ends_with(&ext)
                            })
                        }));
                    }
                }
            }
            let taken = |name: &str, files: &[FileEntry]| {
                let path = format!("{dir_name}/{name}");
                final_dir.join(name).exists() || files.iter().any(|f| f.path == path)
            };
            let mut next = 0usize;
            for (path, mut f) in s.files {
                let name = loop {
                    let name = format!("part-{next:05}.{}", self.file_format);
                    next += 1;
                    if !taken(&name, &entry.files) {
                        break name;
                    }
                };
                fs::rename(&path, final_dir.join(&name))
                    .map_err(|e| io_err(e, "cannot move a file"))?;
                f.path = format!("{dir_name}/{name}");
                entry.files.push(f);
            }
            entry.rows += s.rows;
            manifest.tables.retain(|t| t.name != s.table);
            manifest.tables.push(entry);
        }
        self.publish(&manifest)?;
        *self.committed.lock().map_err(|_| Error::internal("lock"))? = true;
        for path in replaced {
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), "cannot remove a replaced file: {e}");
            }
        }
        Ok(())
    }

    /// Removes the part files of listed tables' directories that the manifest does not list:
    /// what a run killed between moving its files in and publishing (or between publishing and
    /// removing the replaced files) left. Called with the snapshot's lock held.
    fn remove_unlisted(&self) -> Result<()> {
        let Some(manifest) = self.current_manifest()? else {
            return Ok(());
        };
        for t in &manifest.tables {
            let listed: std::collections::HashSet<&str> =
                t.files.iter().map(|f| f.path.as_str()).collect();
            let dir_name = table_file_name(&t.name);
            let Ok(entries) = fs::read_dir(self.root.join(&dir_name)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours =
                    name.starts_with("part-") && name.ends_with(&format!(".{}", self.file_format));
                if ours && !listed.contains(format!("{dir_name}/{name}").as_str()) {
                    tracing::info!(file = %e.path().display(), "removing a file no manifest lists");
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    fn publish(&self, manifest: &Manifest) -> Result<()> {
        let tmp = self.root.join(format!("{MANIFEST}.tmp"));
        let text = serde_json::to_string_pretty(manifest).map_err(|e| {
            Error::with_source(ErrorKind::Internal, "cannot serialise the manifest", e)
        })?;
        let io_err = |e| {
            Error::io(
                format!("cannot write the manifest of {}", self.root.display()),
                e,
            )
        };
        {
            let mut f = File::create(&tmp).map_err(io_err)?;
            f.write_all(text.as_bytes()).map_err(io_err)?;
            f.sync_all().map_err(io_err)?;
        }
        fs::rename(&tmp, self.root.join(MANIFEST)).map_err(io_err)?;
        let _ = fs::remove_file(self.root.join(INCOMPLETE));
        let _ = fs::remove_dir_all(self.root.join(STAGING));
        Ok(())
    }
}

fn strip_meta(s: &Schema) -> Vec<(String, arrow::datatypes::DataType)> {
    s.fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

impl Drop for SnapshotDir {
    fn drop(&mut self) {
        let committed = self.committed.lock().map(|c| *c).unwrap_or(false);
        if committed {
            return;
        }
        // Aborted: leave the target as it was, but for the chunks kept for --resume.
        if !self.kept().is_empty() {
            let _ = fs::remove_dir_all(self.root.join(STAGING).join("new"));
            return;
        }
        if self.created_root {
            let _ = fs::remove_dir_all(&self.root);
        } else {
            let _ = fs::remove_dir_all(self.root.join(STAGING));
        }
    }
}

/// Where a file sink writes: a snapshot directory, or a single file that holds one table,
/// written under a temporary name and renamed into place at commit.
pub enum FileTarget {
    Snapshot(SnapshotDir),
    /// A single file: its path, the format's name for messages and, once written, its
    /// temporary file.
    File {
        path: PathBuf,
        format_name: &'static str,
        file_format: &'static str,
        pending: Mutex<Option<(PathBuf, IfExists)>>,
    },
}

/// A table's files as a writer closed them: path, size, SHA-256, rows.
pub type WrittenFile = (PathBuf, u64, String, u64);

impl FileTarget {
    /// Whether `path` names a single file of `file_format` (its extension, in any case).
    pub fn is_single_file(path: &Path, file_format: &str) -> bool {
        path.extension()
            .is_some_and(|x| x.eq_ignore_ascii_case(file_format))
    }

    /// Opens `path`: a single file if its extension is `file_format`, else a snapshot directory
    /// (see [`SnapshotDir::open`]). `format_name` names the format in messages (`Parquet`).
    pub fn open(path: &Path, file_format: &'static str, format_name: &'static str) -> Result<Self> {
        if Self::is_single_file(path, file_format) {
            Ok(FileTarget::File {
                path: path.to_path_buf(),
                format_name,
                file_format,
                pending: Mutex::new(None),
            })
        } else {
            Ok(FileTarget::Snapshot(SnapshotDir::open(path, file_format)?))
        }
    }

    /// The snapshot directory, if the target is one.
    pub fn snapshot(&self) -> Option<&SnapshotDir> {
        match self {
            FileTarget::Snapshot(s) => Some(s),
            FileTarget::File { .. } => None,
        }
    }

    /// Whether `table` exists: in the snapshot, or as the single file.
    pub fn exists(&self, table: &str) -> Result<bool> {
        match self {
            FileTarget::Snapshot(s) => s.exists(table),
            FileTarget::File { path, .. } => Ok(path.exists()),
        }
    }

    /// Where `table` is written, for messages: the part files' pattern or the file's path.
    pub fn location(&self, table: &str) -> String {
        match self {
            FileTarget::Snapshot(s) => format!(
                "{}/part-*.{}",
                s.root().join(table_file_name(table)).display(),
                s.file_format
            ),
            FileTarget::File { path, .. } => path.display().to_string(),
        }
    }

    /// Starts writing `table`, after the checks of `mode`: returns the directory for its part
    /// files and, for a single file, the temporary file to write instead.
    pub fn start(
        &self,
        sink_name: &str,
        table: &str,
        mode: IfExists,
    ) -> Result<(PathBuf, Option<PathBuf>)> {
        if mode == IfExists::Fail && self.exists(table)? {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{sink_name}: table \"{table}\" exists (use --if-exists replace or append)"
                ),
            ));
        }
        match self {
            FileTarget::Snapshot(s) => Ok((s.staging_dir(table)?, None)),
            FileTarget::File {
                path,
                format_name,
                file_format,
                pending,
            } => {
                if mode == IfExists::Append && path.exists() {
                    return Err(Error::unsupported(format!(
                        "{sink_name}: cannot append to a single {format_name} file; write to a directory"
                    )));
                }
                let taken = pending
                    .lock()
                    .map_err(|_| Error::internal("lock"))?
                    .is_some();
                if taken {
                    return Err(Error::invalid_args(format!(
                        "{sink_name}: a single .{file_format} file holds one table; give a directory for several"
                    )));
                }
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                // This run's own temporary file: two runs writing one file each rename a
                // whole file into place, never one the other is still writing.
                let tmp = dir.join(format!(
                    ".{}.{}.ferry-tmp",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    crate::sink::run_tag()
                ));
                Ok((dir.to_path_buf(), Some(tmp)))
            }
        }
    }

    /// Records a finished table: stages `files` in the snapshot, or keeps the temporary file
    /// `single` for the commit. `files` is emptied once they are handed over.
    pub fn finish_table(
        &self,
        table: &str,
        mode: IfExists,
        schema: Schema,
        files: &mut Vec<WrittenFile>,
        single: Option<&Path>,
    ) -> Result<()> {
        match self {
            FileTarget::Snapshot(s) => s.stage(table, mode, schema, std::mem::take(files)),
            FileTarget::File { pending, .. } => {
                let tmp = single
                    .map(Path::to_path_buf)
                    .ok_or_else(|| Error::internal("no temporary file"))?;
                *pending.lock().map_err(|_| Error::internal("lock"))? = Some((tmp, mode));
                files.clear();
                Ok(())
            }
        }
    }

    /// Commits the snapshot, or renames the temporary file into place (refused if the file
    /// appeared meanwhile and the table was written with `fail`).
    pub fn commit(&self, sink_name: &str) -> Result<()> {
        match self {
            FileTarget::Snapshot(s) => s.commit(),
            FileTarget::File { path, pending, .. } => {
                let pending = pending.lock().map_err(|_| Error::internal("lock"))?.take();
                if let Some((tmp, mode)) = pending {
                    if mode == IfExists::Fail && path.exists() {
                        let _ = fs::remove_file(&tmp);
                        return Err(Error::new(
                            ErrorKind::AlreadyExists,
                            format!("{sink_name}: exists"),
                        ));
                    }
                    fs::rename(&tmp, path)
                        .map_err(|e| Error::io(format!("{sink_name}: cannot rename"), e))?;
                }
                Ok(())
            }
        }
    }
}

impl Drop for FileTarget {
    fn drop(&mut self) {
        // Not committed: remove the temporary file.
        if let FileTarget::File { pending, .. } = self {
            if let Ok(p) = pending.get_mut() {
                if let Some((tmp, _)) = p.take() {
                    let _ = fs::remove_file(tmp);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_file_names_are_one_safe_component_and_decode_back() {
        let cases = [
            ("orders", "orders"),
            ("Ünï ☀", "Ünï ☀"),
            ("x.old", "x.old"),
            ("../x", "%2E.%2Fx"),
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("a/b\\c", "a%2Fb%5Cc"),
            ("50%", "50%25"),
            ("~x", "%7Ex"),
            ("_ferry_manifest.json", "%5Fferry_manifest.json"),
            ("_private", "_private"),
            (".ferry-staging", "%2Eferry-staging"),
            ("trail ", "trail%20"),
            ("a:b*c?d\"e<f>g|h", "a%3Ab%2Ac%3Fd%22e%3Cf%3Eg%7Ch"),
            ("tab\there", "tab%09here"),
            ("", "%"),
        ];
        for (name, file) in cases {
            assert_eq!(table_file_name(name), file, "{name:?}");
            assert_eq!(table_of_file_name(file), name, "{file:?}");
        }
        // Too long for a file name: cut, with a hash of the whole name.
        let long = "é".repeat(150);
        let f = table_file_name(&long);
        assert!(f.len() <= MAX_FILE_NAME_BYTES, "{}", f.len());
        assert_ne!(table_file_name(&format!("{long}x")), f);
        let escapes = "/".repeat(100);
        let f = table_file_name(&escapes);
        assert!(f.len() <= MAX_FILE_NAME_BYTES && f.ends_with(&f[f.len() - 16..]));
        assert!(!f.contains("%2~") && !f.contains("%~"), "{f}");
    }

    #[test]
    fn manifest_paths_must_stay_inside() {
        assert!(inside_snapshot("t/part-00000.parquet"));
        for p in ["", "../t/x", "/etc/passwd", "t/../../x", "./t"] {
            assert!(!inside_snapshot(p), "{p}");
        }
    }
}
