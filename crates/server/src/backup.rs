//! `throughline backup` and `throughline restore`: a deployment in one archive.
//!
//! The archive is a gzip-compressed tar file:
//!
//! ```text
//!   throughline.db        SQLite only: a consistent snapshot (VACUUM INTO, see store::backup)
//!   secret.key            the server key, which opens every sealed secret in the database
//!   attachments/…         the blob store (attachments, raw emails), as on disk
//!   manifest.json         last: versions, schema level, when, and what is inside, with sizes
//!                         and SHA-256 digests that `restore` checks before anything is moved
//! ```
//!
//! Order matters. The database is copied first, then the blob store: the blob store writes a
//! file before the row that names it commits and never rewrites one, so every attachment the
//! snapshot mentions is already on disk when the files are walked (newer files come along and
//! are harmless). A file deleted while the backup runs (a deleted message) may be missing.
//! On PostgreSQL the database is pg_dump's job; `backup` prints the command and archives the
//! rest, to be run after the dump for the same reason.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use throughline_store::Backend;
use throughline_store::backup as db;

use crate::config::Config;

pub const FORMAT: &str = "throughline-backup";
pub const FORMAT_VERSION: u32 = 1;
pub const DB_ENTRY: &str = "throughline.db";
pub const KEY_ENTRY: &str = "secret.key";
pub const BLOBS_DIR: &str = "attachments";
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// What an archive holds; its last entry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Always `throughline-backup`.
    pub format: String,
    pub format_version: u32,
    /// The Throughline that wrote it.
    pub throughline_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub database: DatabasePart,
    pub secret_key: FilePart,
    pub attachments: AttachmentsPart,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DatabasePart {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The highest schema migration applied (absent when PostgreSQL could not be asked).
    pub schema_version: Option<i64>,
    /// The SQLite snapshot; absent for PostgreSQL (pg_dump's job).
    pub file: Option<FilePart>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FilePart {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AttachmentsPart {
    pub path: String,
    pub files: u64,
    pub bytes: u64,
    /// SHA-256 over every file's path, length and bytes, in archive order.
    pub sha256: String,
}

/// The blob store's directory (as `App::start` opens it).
pub fn blob_dir(config: &Config) -> PathBuf {
    config.data_dir.join(BLOBS_DIR)
}

/// `throughline backup <archive>`.
pub async fn backup(config: &Config, archive: &Path) -> anyhow::Result<()> {
    let backend = Backend::from_url(&config.database_url)?;
    if archive.exists() {
        bail!(
            "{} already exists: give the backup a new name",
            archive.display()
        );
    }
    let key = current_key(config)?;
    let snapshot = TempFile(sibling(archive, "db-snapshot"));
    let _ = fs::remove_file(&snapshot.0);
    let schema_version = match backend {
        Backend::Sqlite => Some(
            db::sqlite_snapshot(&config.database_url, &snapshot.0)
                .await
                .context("snapshot of the database")?,
        ),
        Backend::Postgres => match db::postgres_schema_version(&config.database_url).await {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("warning: could not read the schema version from PostgreSQL: {e}");
                None
            }
        },
    };
    let job = ArchiveJob {
        archive: archive.to_owned(),
        database: (backend == Backend::Sqlite).then(|| snapshot.0.clone()),
        backend,
        schema_version,
        key,
        blobs: blob_dir(config),
    };
    let manifest = tokio::task::spawn_blocking(move || job.write()).await??;
    drop(snapshot);
    let size = fs::metadata(archive).map(|m| m.len()).unwrap_or_default();
    println!("Backup written to {} ({}).", archive.display(), mib(size));
    match &manifest.database.file {
        Some(f) => println!(
            "  database: SQLite snapshot, schema version {}, {}",
            manifest.database.schema_version.unwrap_or_default(),
            mib(f.bytes)
        ),
        None => {
            println!(
                "  database: PostgreSQL is not in the archive. Dump it with pg_dump, before running \
                 this command (the attachments copied after the dump then cover every row it holds):\n\n    {}\n",
                pg_dump_command(&config.database_url, archive)
            );
            if url_password(&config.database_url) {
                println!(
                    "  (the password is left out: give it to pg_dump with PGPASSWORD or ~/.pgpass)"
                );
            }
        }
    }
    println!(
        "  attachments: {} files, {}",
        manifest.attachments.files,
        mib(manifest.attachments.bytes)
    );
    println!(
        "  server key: included. Keep this archive as safe as the key: it opens every secret \
         sealed in the database."
    );
    Ok(())
}

/// `throughline restore <archive> [--force]`.
pub async fn restore(config: &Config, archive: &Path, force: bool) -> anyhow::Result<()> {
    let backend = Backend::from_url(&config.database_url)?;
    let db_path = match backend {
        Backend::Sqlite => Some(db::sqlite_path(&config.database_url)?),
        Backend::Postgres => None,
    };
    let data_dir = config.data_dir.clone();
    let mut occupied = Vec::new();
    if data_dir.exists() {
        let mut entries =
            fs::read_dir(&data_dir).with_context(|| format!("reading {}", data_dir.display()))?;
        if entries.next().is_some() {
            occupied.push(data_dir.display().to_string());
        }
    }
    if let Some(p) = db_path
        .as_ref()
        .filter(|p| p.exists() && !p.starts_with(&data_dir))
    {
        occupied.push(p.display().to_string());
    }
    if !occupied.is_empty() && !force {
        bail!(
            "{} is not empty: restore into an empty data directory, or stop the server and add \
             --force to replace its database, server key and attachments",
            occupied.join(" and ")
        );
    }
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let staging = TempDir(data_dir.join(format!(".restore-{}", std::process::id())));
    let _ = fs::remove_dir_all(&staging.0);
    fs::create_dir(&staging.0).with_context(|| format!("creating {}", staging.0.display()))?;
    let dir = staging.0.clone();
    let manifest = tokio::task::spawn_blocking(move || extract(file, &dir)).await??;

    // What the archive says it is, against this build and this configuration.
    let archived = match manifest.database.backend.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => bail!("the archive's database is `{other}`, which this Throughline does not know"),
    };
    if archived != backend {
        bail!(
            "the archive holds a {} deployment but the configured database is {}: set \
             --database-url accordingly",
            archived.name(),
            backend.name()
        );
    }
    let latest = db::latest_migration(backend);
    if let Some(v) = manifest.database.schema_version
        && v > latest
    {
        bail!(
            "the archive was made by a newer Throughline ({}, schema version {v}); this one knows \
             schema versions up to {latest}: restore with that version or a newer one",
            manifest.throughline_version
        );
    }
    let staged_db = staging.0.join(DB_ENTRY);
    if backend == Backend::Sqlite {
        let found = db::check_sqlite_file(&staged_db)
            .await
            .context("checking the archived database")?;
        if Some(found) != manifest.database.schema_version {
            bail!(
                "the archived database is at schema version {found}, its manifest says {:?}",
                manifest.database.schema_version
            );
        }
    }
    let staged_key = staging.0.join(KEY_ENTRY);
    let archived_key = fs::read_to_string(&staged_key)?;
    throughline_core::crypto::ServerKey::from_base64(archived_key.trim())
        .map_err(|e| anyhow::anyhow!("the archived server key is not a key: {e}"))?;
    if let Some(k) = &config.secret_key
        && k.trim() != archived_key.trim()
    {
        bail!(
            "THROUGHLINE_SECRET_KEY (or secret_key) differs from the archived key: the secrets \
             sealed in this backup would not open. Unset it to use the restored secret.key, or \
             set it to the archived key"
        );
    }

    // Into place. A database file's old -wal would be replayed over the restored one: gone too.
    let key_path = data_dir.join(KEY_ENTRY);
    let blobs = blob_dir(config);
    if force {
        if let Some(p) = &db_path {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                remove_file_if_present(&PathBuf::from(format!("{}{suffix}", p.display())))?;
            }
        }
        remove_file_if_present(&key_path)?;
        if blobs.exists() {
            fs::remove_dir_all(&blobs).with_context(|| format!("removing {}", blobs.display()))?;
        }
    }
    if let Some(p) = &db_path {
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        move_file(&staged_db, p)?;
        sync_dir(p.parent().unwrap_or(Path::new(".")));
    }
    fs::rename(&staged_key, &key_path)?;
    let staged_blobs = staging.0.join(BLOBS_DIR);
    if staged_blobs.exists() {
        fs::rename(&staged_blobs, &blobs)?;
    } else {
        fs::create_dir_all(&blobs)?;
    }
    drop(staging);
    sync_dir(&data_dir);

    println!(
        "Restored the backup of {} (Throughline {}) into {}:",
        manifest.created_at,
        manifest.throughline_version,
        data_dir.display()
    );
    match (&manifest.database.file, &db_path) {
        (Some(f), Some(p)) => println!(
            "  database: {} ({}, schema version {})",
            p.display(),
            mib(f.bytes),
            manifest.database.schema_version.unwrap_or_default()
        ),
        _ => println!(
            "  database: PostgreSQL is not in the archive: restore its pg_dump into an empty \
             database with pg_restore --no-owner --dbname=… (see the README's Backups)"
        ),
    }
    println!(
        "  attachments: {} files, {}\n  server key: {}\nStart it with `throughline serve` on this \
         data directory.",
        manifest.attachments.files,
        mib(manifest.attachments.bytes),
        key_path.display()
    );
    Ok(())
}

/// The key the server uses: the setting, or `<data_dir>/secret.key` (never a new one).
fn current_key(config: &Config) -> anyhow::Result<String> {
    if let Some(k) = &config.secret_key {
        return Ok(k.trim().to_owned());
    }
    let path = config.data_dir.join(KEY_ENTRY);
    let key = fs::read_to_string(&path).with_context(|| {
        format!(
            "no server key at {} (and no THROUGHLINE_SECRET_KEY): is this the data directory \
             of a deployment?",
            path.display()
        )
    })?;
    Ok(key.trim().to_owned())
}

struct ArchiveJob {
    archive: PathBuf,
    backend: Backend,
    /// The snapshot to include (SQLite).
    database: Option<PathBuf>,
    schema_version: Option<i64>,
    key: String,
    blobs: PathBuf,
}

impl ArchiveJob {
    fn write(self) -> anyhow::Result<Manifest> {
        let partial = TempFile(sibling(&self.archive, "partial"));
        let file = create_private(&partial.0)?;
        let gz = GzEncoder::new(BufWriter::new(file), Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let now = chrono::Utc::now();
        let mtime = u64::try_from(now.timestamp()).unwrap_or_default();

        let database_file = match &self.database {
            Some(path) => {
                let f = File::open(path)?;
                let len = f.metadata()?.len();
                let mut reader = Hashing::new(f);
                append(&mut tar, DB_ENTRY, len, mtime, &mut reader)?;
                Some(reader.part(DB_ENTRY))
            }
            None => None,
        };
        // As `app::server_key` writes it: the base64 text alone.
        let key_bytes = self.key.clone().into_bytes();
        let mut reader = Hashing::new(key_bytes.as_slice());
        append(
            &mut tar,
            KEY_ENTRY,
            key_bytes.len() as u64,
            mtime,
            &mut reader,
        )?;
        let secret_key = reader.part(KEY_ENTRY);

        let mut files = Vec::new();
        if self.blobs.exists() {
            walk(&self.blobs, &mut Vec::new(), &mut files)?;
        }
        files.sort();
        let mut all = Sha256::new();
        let (mut count, mut total) = (0u64, 0u64);
        for relative in files {
            let path = self.blobs.join(&relative);
            // Deleted since it was listed (its message was deleted): nothing to keep.
            let f = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            let len = f.metadata()?.len();
            let name = format!("{BLOBS_DIR}/{relative}");
            all.update(name.as_bytes());
            all.update(len.to_le_bytes());
            let mut reader = Hashing::new(f);
            append(&mut tar, &name, len, mtime, &mut reader)?;
            all.update(reader.hasher.finalize());
            count += 1;
            total += len;
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            throughline_version: env!("CARGO_PKG_VERSION").into(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            database: DatabasePart {
                backend: self.backend.name().into(),
                schema_version: self.schema_version,
                file: database_file,
            },
            secret_key,
            attachments: AttachmentsPart {
                path: BLOBS_DIR.into(),
                files: count,
                bytes: total,
                sha256: hex::encode(all.finalize()),
            },
        };
        let json = serde_json::to_vec_pretty(&manifest)?;
        append(
            &mut tar,
            MANIFEST_ENTRY,
            json.len() as u64,
            mtime,
            &mut json.as_slice(),
        )?;
        let file = tar
            .into_inner()?
            .finish()?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&partial.0, &self.archive)
            .with_context(|| format!("writing {}", self.archive.display()))?;
        sync_dir(self.archive.parent().unwrap_or(Path::new(".")));
        Ok(manifest)
    }
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    len: u64,
    mtime: u64,
    data: &mut impl Read,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    tar.append_data(&mut header, path, data)
        .with_context(|| format!("archiving {path}"))
}

/// Regular files under `dir`, as `/`-joined paths relative to the blob store's root. Files
/// still being written (`*.partial`) and anything that is not a plain file are left out.
fn walk(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            prefix.push(name);
            walk(&entry.path(), prefix, out)?;
            prefix.pop();
        } else if kind.is_file() && !name.ends_with(".partial") {
            let mut parts = prefix.clone();
            parts.push(name);
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Reads the archive into `dir`, checking every entry's name, size and digest against the
/// manifest at its end. Returns the manifest.
fn extract(file: File, dir: &Path) -> anyhow::Result<Manifest> {
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut manifest: Option<Manifest> = None;
    let (mut database, mut key) = (None, None);
    let mut all = Sha256::new();
    let (mut count, mut total) = (0u64, 0u64);
    let mut dirs = vec![dir.to_owned()];
    let not_ours = "not a Throughline backup (or a damaged one)";
    for entry in tar.entries().context(not_ours)? {
        let mut entry = entry.context(not_ours)?;
        if manifest.is_some() {
            bail!("{not_ours}: entries after the manifest");
        }
        let name = entry
            .path()?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{not_ours}: a name that is not UTF-8"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("{not_ours}: `{name}` is not a plain file");
        }
        let len = entry.size();
        if name == MANIFEST_ENTRY {
            let mut text = String::new();
            entry.by_ref().take(1 << 20).read_to_string(&mut text)?;
            let m: Manifest = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{not_ours}: its manifest does not parse: {e}"))?;
            if m.format != FORMAT {
                bail!("{not_ours}: its manifest is a `{}`", m.format);
            }
            if m.format_version > FORMAT_VERSION {
                bail!(
                    "this archive's format (version {}) is newer than this Throughline ({}) reads",
                    m.format_version,
                    FORMAT_VERSION
                );
            }
            manifest = Some(m);
            continue;
        }
        let target = if name == DB_ENTRY || name == KEY_ENTRY {
            dir.join(&name)
        } else if let Some(rest) = name.strip_prefix(&format!("{BLOBS_DIR}/"))
            && valid_blob_path(rest)
        {
            dir.join(BLOBS_DIR).join(rest)
        } else {
            bail!("{not_ours}: unexpected entry `{name}`");
        };
        if let Some(parent) = target.parent()
            && !parent.exists()
        {
            fs::create_dir_all(parent)?;
            dirs.push(parent.to_owned());
        }
        let out = if name == KEY_ENTRY {
            create_private(&target)?
        } else {
            File::create_new(&target).with_context(|| format!("{not_ours}: `{name}` twice?"))?
        };
        let mut writer = BufWriter::new(out);
        let mut reader = Hashing::new(&mut entry);
        io::copy(&mut reader, &mut writer)?;
        if reader.bytes != len {
            bail!("{not_ours}: `{name}` is cut short");
        }
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        if name == DB_ENTRY {
            database = Some(reader.part(&name));
        } else if name == KEY_ENTRY {
            key = Some(reader.part(&name));
        } else {
            all.update(name.as_bytes());
            all.update(len.to_le_bytes());
            all.update(reader.hasher.finalize());
            count += 1;
            total += len;
        }
    }
    // The tar reader stops at the end-of-archive blocks; the rest of the compressed stream is
    // read too, so gzip's own checksum and length are checked to the end.
    io::copy(&mut tar.into_inner(), &mut io::sink())
        .context("a damaged archive: its compressed stream does not check out")?;
    let Some(manifest) = manifest else {
        bail!("{not_ours}: no manifest (an archive cut short?)");
    };
    if database != manifest.database.file {
        bail!("the archived database does not match the manifest: damaged archive");
    }
    if key.as_ref() != Some(&manifest.secret_key) {
        bail!("the archived server key does not match the manifest: damaged archive");
    }
    let attachments = AttachmentsPart {
        path: BLOBS_DIR.into(),
        files: count,
        bytes: total,
        sha256: hex::encode(all.finalize()),
    };
    if attachments != manifest.attachments {
        bail!(
            "the archived attachments ({} files, {} bytes) do not match the manifest ({} files, \
             {} bytes, or their digest): damaged archive",
            count,
            total,
            manifest.attachments.files,
            manifest.attachments.bytes
        );
    }
    for d in dirs {
        sync_dir(&d);
    }
    Ok(manifest)
}

/// The blob store's key rule: `/`-separated segments of ASCII letters, digits, `-` and `_`.
fn valid_blob_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && path.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Counts and hashes what passes through.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn part(self, path: &str) -> FilePart {
        FilePart {
            path: path.into(),
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A file removed when dropped (unless moved away first).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A directory removed with its contents when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `dir/.name.suffix` beside `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    path.with_file_name(format!(".{name}.{suffix}"))
}

/// A new file readable by its owner only.
fn create_private(path: &Path) -> anyhow::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn remove_file_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Renames, or copies (flushed) and removes when `to` is on another file system.
fn move_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).with_context(|| format!("writing {}", to.display()))?;
    File::open(to)?.sync_all()?;
    fs::remove_file(from)?;
    Ok(())
}

/// Flushes a directory's entries (renames, new files) to disk; best effort.
fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn url_password(url: &str) -> bool {
    authority(url).is_some_and(|(creds, _)| creds.contains(':'))
}

/// (credentials, host part) of a URL's authority, when it has credentials.
fn authority(url: &str) -> Option<(&str, &str)> {
    let rest = &url[url.find("://")? + 3..];
    let end = rest.find('/').unwrap_or(rest.len());
    rest[..end].rsplit_once('@')
}

/// The pg_dump command for a PostgreSQL URL (its password left out), writing beside the
/// archive. sqlx-only query parameters are dropped: libpq refuses them.
pub fn pg_dump_command(database_url: &str, archive: &Path) -> String {
    let mut url = database_url.to_owned();
    if let Some((creds, _)) = authority(database_url)
        && let Some((user, _)) = creds.split_once(':')
    {
        url = url.replacen(&format!("{creds}@"), &format!("{user}@"), 1);
    }
    if let Some((base, query)) = url.clone().split_once('?') {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("statement-cache-capacity"))
            .collect();
        url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
    }
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "throughline".into());
    let stem = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
        .unwrap_or(&name);
    let dump = archive.with_file_name(format!("{stem}.pgdump"));
    format!(
        "pg_dump --format=custom --no-owner --file={} {}",
        quote(&dump.display().to_string()),
        quote(&url)
    )
}

/// Single-quoted for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_dump_command_leaves_the_password_out() {
        let cmd = pg_dump_command(
            "postgres://tl:s3cr3t@db.internal:5432/throughline?sslmode=require&statement-cache-capacity=100",
            Path::new("/backups/tl-2026-12-01.tar.gz"),
        );
        assert_eq!(
            cmd,
            "pg_dump --format=custom --no-owner --file='/backups/tl-2026-12-01.pgdump' \
             'postgres://tl@db.internal:5432/throughline?sslmode=require'"
        );
        let plain = pg_dump_command("postgres://postgres@127.0.0.1/tl", Path::new("b.tgz"));
        assert_eq!(
            plain,
            "pg_dump --format=custom --no-owner --file='b.pgdump' 'postgres://postgres@127.0.0.1/tl'"
        );
        assert!(url_password("postgres://a:b@h/db"));
        assert!(!url_password("postgres://a@h/db"));
    }

    #[test]
    fn only_blob_store_names_are_restored() {
        assert!(valid_blob_path("1/0199aa00-1111-7000-8000-000000000000"));
        for bad in [
            "",
            "../x",
            "1/../../etc",
            "/etc/passwd",
            "1//x",
            "1/x.partial",
            "a b",
        ] {
            assert!(!valid_blob_path(bad), "{bad}");
        }
    }
}
