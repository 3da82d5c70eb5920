//! On disk: a snapshot of the whole state at some sequence number, and
//! journal segments of the changes after it.
//!
//! - `snapshot.json`: `{"format":2,"seq":N,"state":{...}}`, written
//!   atomically (temp file, fsync, rename, fsync of the directory) by
//!   compaction, off every lock.
//! - `journal-<first seq>.log`: one JSON line per write,
//!   `{"s":seq,"c":[[collection,key,value|null],...]}`, appended and made
//!   durable by the group committer before any caller hears back.
//!
//! Loading replays the segments' records after the snapshot's sequence. A
//! torn last line (the process died mid-append) was never acknowledged, so
//! it is cut off; a bad line anywhere else is corruption and refused.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::state::{Change, State, FORMAT};
use super::DbError;

pub const SNAPSHOT_FILE: &str = "snapshot.json";
/// The whole-state file of emulators before the journal (format 0).
pub const LEGACY_FILE: &str = "state.json";

#[derive(Serialize)]
struct SnapshotOut<'a> {
    format: u32,
    seq: u64,
    state: &'a State,
}

#[derive(Deserialize)]
struct SnapshotIn {
    format: u32,
    seq: u64,
    state: State,
}

#[derive(Serialize, Deserialize)]
struct Record {
    s: u64,
    c: Vec<Change>,
}

/// One journal line for the changes of write `seq`.
pub fn encode(seq: u64, changes: Vec<Change>) -> Vec<u8> {
    let mut line = serde_json::to_vec(&Record { s: seq, c: changes }).expect("records serialize");
    line.push(b'\n');
    line
}

fn segment_name(first: u64) -> String {
    format!("journal-{first:020}.log")
}

fn segment_first(name: &str) -> Option<u64> {
    name.strip_prefix("journal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Journal segments: (first record, path), oldest first.
pub type Segments = Vec<(u64, PathBuf)>;

/// The journal segments in `dir`, by first sequence number.
pub fn segments(dir: &Path) -> Result<Segments, DbError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if let Some(first) = entry.file_name().to_str().and_then(segment_first) {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Creates `path` owner-only (the state holds SSM parameters and secrets).
fn create(path: &Path, truncate: bool) -> Result<File, DbError> {
    let mut o = OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(io(path))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically; on failure nothing is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DbError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = create(&tmp, true)?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir);
    Ok(())
}

/// Writes the snapshot of `state` at `seq`.
pub fn write_snapshot(dir: &Path, seq: u64, state: &State) -> Result<(), DbError> {
    let bytes = serde_json::to_vec(&SnapshotOut {
        format: FORMAT,
        seq,
        state,
    })
    .expect("state serializes");
    write_atomic(&dir.join(SNAPSHOT_FILE), &bytes)
}

/// Reads the snapshot (or migrates a legacy `state.json`, or starts empty)
/// and replays the journal. Returns the state and its sequence number.
pub fn load(dir: &Path) -> Result<(State, u64), DbError> {
    // A compaction finishing meanwhile (a new snapshot, then the segments
    // it covers removed) can leave the snapshot read here older than the
    // first segment left: read both again. A gap that stays is a journal
    // with records missing, said as such rather than loaded without them.
    let mut tries = 0;
    loop {
        let (state, seq, segs) = read_snapshot_and_segments(dir)?;
        match segs.first() {
            Some((first, path)) if *first > seq + 1 => {
                tries += 1;
                if tries >= 50 {
                    return Err(DbError::Corrupt {
                        path: path.clone(),
                        detail: format!(
                            "the journal starts at record {first} but the snapshot ends at {seq}: records are missing"
                        ),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => return replay_all(state, seq, &segs),
        }
    }
}

fn replay_all(
    mut state: State,
    mut seq: u64,
    segs: &[(u64, PathBuf)],
) -> Result<(State, u64), DbError> {
    let last = segs.len().saturating_sub(1);
    for (i, (_, path)) in segs.iter().enumerate() {
        replay(path, i == last, &mut state, &mut seq)?;
    }
    Ok((state, seq))
}

/// The snapshot's state and sequence number, and the journal's segments.
fn read_snapshot_and_segments(dir: &Path) -> Result<(State, u64, Segments), DbError> {
    let snap_path = dir.join(SNAPSHOT_FILE);
    let (state, seq) = match std::fs::read(&snap_path) {
        Ok(bytes) => read_snapshot(&snap_path, &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match super::migrate::legacy(dir)? {
                Some(state) => {
                    // Durable in the new layout before the old file goes.
                    write_snapshot(dir, 0, &state)?;
                    super::migrate::retire(dir)?;
                    (state, 0)
                }
                None => (State::default(), 0),
            }
        }
        Err(e) => return Err(io(&snap_path)(e)),
    };
    Ok((state, seq, segments(dir)?))
}

fn read_snapshot(path: &Path, bytes: &[u8]) -> Result<(State, u64), DbError> {
    #[derive(Deserialize)]
    struct Head {
        format: u32,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|source| DbError::Corrupt {
        path: path.to_path_buf(),
        detail: source.to_string(),
    })?;
    if head.format != FORMAT {
        return Err(DbError::UnknownFormat {
            path: path.to_path_buf(),
            found: head.format,
        });
    }
    let snap: SnapshotIn = serde_json::from_slice(bytes).map_err(|source| DbError::Corrupt {
        path: path.to_path_buf(),
        detail: source.to_string(),
    })?;
    debug_assert_eq!(snap.format, FORMAT);
    Ok((snap.state, snap.seq))
}

fn replay(
    path: &Path,
    last_segment: bool,
    state: &mut State,
    seq: &mut u64,
) -> Result<(), DbError> {
    let file = File::open(path).map_err(io(path))?;
    let mut reader = BufReader::new(file);
    let mut good_len: u64 = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io(path))?;
        if n == 0 {
            break;
        }
        let complete = line.last() == Some(&b'\n');
        let parsed: Option<Record> = if complete {
            serde_json::from_slice(&line).ok()
        } else {
            None
        };
        let Some(record) = parsed else {
            // Only the very end of the newest segment may be torn.
            let at_end = reader.fill_buf().map_err(io(path))?.is_empty();
            if last_segment && at_end {
                tracing::warn!(
                    path = %path.display(),
                    "cutting off a torn last journal record (never acknowledged)"
                );
                OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(good_len).and_then(|_| f.sync_all()))
                    .map_err(io(path))?;
                break;
            }
            return Err(DbError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("unreadable journal record at byte {good_len}"),
            });
        };
        good_len += n as u64;
        if record.s <= *seq {
            continue; // already in the snapshot
        }
        for change in record.c {
            state.apply(change).map_err(|e| DbError::Corrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        }
        *seq = record.s;
    }
    Ok(())
}

/// The segment being appended to.
pub struct Segment {
    dir: PathBuf,
    pub first: u64,
    file: std::sync::Arc<File>,
    /// Bytes known written (a failed append is cut back to this).
    len: u64,
}

impl Segment {
    /// Opens (or creates) the segment whose first record is `first`.
    pub fn open(dir: &Path, first: u64) -> Result<Segment, DbError> {
        let path = dir.join(segment_name(first));
        let file = create(&path, false)?;
        let len = file.metadata().map_err(io(&path))?.len();
        sync_dir(dir);
        Ok(Segment {
            dir: dir.to_path_buf(),
            first,
            file: std::sync::Arc::new(file),
            len,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(segment_name(self.first))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file, for the committer's fsync (done off the writer lock).
    pub fn file(&self) -> std::sync::Arc<File> {
        self.file.clone()
    }

    /// Appends one record. On failure (disk full, ...) the segment is cut
    /// back to where it was, so nothing of the record is left behind.
    pub fn append(&mut self, line: &[u8]) -> Result<(), DbError> {
        let path = self.path();
        match (&*self.file).write_all(line) {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(io(&path)(e))
            }
        }
    }
}

/// Removes the segments wholly covered by a snapshot at `seq` (those that
/// start at or before it, but for `keep`, the one being appended to).
pub fn remove_covered(dir: &Path, seq: u64, keep: u64) -> Result<(), DbError> {
    for (first, path) in segments(dir)? {
        if first <= seq && first != keep {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    sync_dir(dir);
    Ok(())
}
