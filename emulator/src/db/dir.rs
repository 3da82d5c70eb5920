//! The data directory: owner-only (0700), locked for the whole life of the
//! emulator that uses it, and holding besides the store
//!
//! - `lock`: held exclusively (`flock`) by the running emulator; holds its
//!   pid for the message a second `up` gets;
//! - `instance`: the emulator instance name on its Docker objects, so
//!   `down` finds them without `--name`;
//! - `endpoint`: the running emulator's API URL, for the other commands.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::journal::{self, io, write_atomic, LEGACY_FILE, SNAPSHOT_FILE};
use super::DbError;

const LOCK_FILE: &str = "lock";
const INSTANCE_FILE: &str = "instance";
const ENDPOINT_FILE: &str = "endpoint";

/// An open data directory; locked once [`DataDir::lock`] succeeded, until
/// dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    lock: Option<File>,
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl DataDir {
    /// Opens `path`, creating it owner-only; an existing one is made
    /// owner-only too (it holds secrets).
    pub fn open(path: impl Into<PathBuf>) -> Result<DataDir, DbError> {
        let path = path.into();
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&path).map_err(io(&path))?;
        let path = path.canonicalize().map_err(io(&path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&path))?;
        }
        Ok(DataDir { path, lock: None })
    }

    /// Takes the directory for this process, or says who has it.
    pub fn lock(&mut self) -> Result<(), DbError> {
        let path = self.path.join(LOCK_FILE);
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut file = o.open(&path).map_err(io(&path))?;
        // A child this process is spawning holds a copy of a just-closed
        // lock descriptor until it execs (a few ms on a loaded machine):
        // give that a moment before calling the directory taken.
        let mut tries = 0;
        let locked = loop {
            match file.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) if tries < 10 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_trimmed(&path).map(|pid| {
                    let endpoint = self.endpoint();
                    match endpoint {
                        Some(e) => format!("pid {pid}, API at {e}"),
                        None => format!("pid {pid}"),
                    }
                });
                return Err(DbError::InUse {
                    path: self.path.clone(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        file.set_len(0).map_err(io(&path))?;
        write!(file, "{}", std::process::id()).map_err(io(&path))?;
        self.lock = Some(file);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the instance name the emulator labels its objects with.
    pub fn write_instance(&self, name: &str) -> Result<(), DbError> {
        write_atomic(&self.path.join(INSTANCE_FILE), name.as_bytes())
    }

    /// The instance name of the emulator that last ran here.
    pub fn instance(&self) -> Option<String> {
        read_trimmed(&self.path.join(INSTANCE_FILE))
    }

    /// Records the API endpoint of the emulator running here.
    pub fn write_endpoint(&self, url: &str) -> Result<(), DbError> {
        write_atomic(&self.path.join(ENDPOINT_FILE), url.as_bytes())
    }

    pub fn endpoint(&self) -> Option<String> {
        read_trimmed(&self.path.join(ENDPOINT_FILE))
    }

    /// The endpoint recorded in `dir`, without opening it.
    pub fn read_endpoint(dir: &Path) -> Option<String> {
        read_trimmed(&dir.join(ENDPOINT_FILE))
    }

    /// The instance recorded in `dir`, without opening it.
    pub fn read_instance(dir: &Path) -> Option<String> {
        read_trimmed(&dir.join(INSTANCE_FILE))
    }

    pub fn clear_endpoint(&self) {
        let _ = std::fs::remove_file(self.path.join(ENDPOINT_FILE));
    }

    /// Forgets everything (used by `down`): the store, the endpoint and
    /// the instance name. The directory itself is kept.
    pub fn wipe(&self) -> Result<(), DbError> {
        let mut files: Vec<PathBuf> = [SNAPSHOT_FILE, LEGACY_FILE, ENDPOINT_FILE, INSTANCE_FILE]
            .iter()
            .map(|f| self.path.join(f))
            .collect();
        files.extend(journal::segments(&self.path)?.into_iter().map(|(_, p)| p));
        for f in files {
            match std::fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&f)(e)),
            }
        }
        Ok(())
    }
}
