//! The store every AWS service module keeps its resources in.
//!
//! Readers never wait: [`Db::read`] hands out the last durable snapshot
//! (an `Arc` of persistent maps, swapped atomically), and no lock a reader
//! could take is held while anything is serialised or synced.
//!
//! Writers go one at a time through [`Db::commit`]: the closure edits the
//! head state, [`State::changes_since`] finds the records it changed (none:
//! nothing is written, the call returns at once), one journal line is
//! appended, and the caller waits until the group committer's `fdatasync`
//! covers it. The committer syncs off the writer lock, so writes arriving
//! during one fsync share the next (group commit); only then is the new
//! state published to readers and the caller answered. A failed append
//! (disk full) rolls the head back and fails that call alone, leaving
//! nothing in the file; a failed fsync fails every write from then on,
//! because what the kernel kept is unknown.
//!
//! Compaction: once the journal outgrows [`COMPACT_BYTES`], the committer
//! starts a new segment and a background thread writes a snapshot of the
//! state at that point (off every lock), then deletes the covered
//! segments. See [`journal`] for the files.

pub mod dir;
pub mod journal;
mod migrate;
pub mod state;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

pub use dir::DataDir;
pub use state::{State, FORMAT};

use journal::Segment;

/// The journal size that starts a compaction.
pub const COMPACT_BYTES: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is corrupt ({detail}); move it aside to start empty")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path} has state format {found}, which this emulator (format {}) cannot read: \
         use the emulator version that wrote it, or `emulator down` to start afresh",
        FORMAT
    )]
    UnknownFormat { path: PathBuf, found: u32 },
    #[error(
        "data directory {path} is in use by another emulator{}; stop it \
         (`emulator down`) or choose another --data-dir",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    InUse {
        path: PathBuf,
        holder: Option<String>,
    },
    #[error("the store can no longer make writes durable ({0}); restart the emulator")]
    Failed(Arc<str>),
}

/// What the group committer has made durable.
#[derive(Debug, Clone, Default)]
struct Synced {
    seq: u64,
    failed: Option<Arc<str>>,
}

struct Writer {
    /// The state with every appended write, durable or not yet.
    head: State,
    /// The last write appended.
    seq: u64,
    /// The last write known durable (and published).
    synced: u64,
    /// `None`: in memory only.
    segment: Option<Segment>,
    /// States after writes not yet durable, oldest first.
    pending: VecDeque<(u64, State)>,
    failed: Option<Arc<str>>,
}

struct Inner {
    dir: Option<PathBuf>,
    writer: Mutex<Writer>,
    /// Wakes the committer when a write is appended.
    appended: Condvar,
    /// Wakes blocking waiters when writes become durable.
    durable: Condvar,
    published: ArcSwap<State>,
    status: watch::Sender<Synced>,
    compacting: AtomicBool,
    compact_bytes: u64,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Db {
    /// A store that keeps `state` in memory only (unit tests).
    pub fn in_memory(state: State) -> Db {
        Db::build(None, state, 0, None, COMPACT_BYTES)
    }

    /// Opens the store in a locked data directory: loads the snapshot,
    /// replays the journal, and compacts what it replayed.
    pub fn open(dir: &DataDir) -> Result<Db, DbError> {
        Db::open_with(dir, COMPACT_BYTES)
    }

    /// [`Db::open`] compacting at `compact_bytes` (tests).
    pub fn open_with(dir: &DataDir, compact_bytes: u64) -> Result<Db, DbError> {
        let path = dir.path();
        let (state, seq) = journal::load(path)?;
        let replayed = journal::segments(path)?
            .iter()
            .any(|(_, p)| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(true));
        if replayed {
            journal::write_snapshot(path, seq, &state)?;
        }
        let segment = Segment::open(path, seq + 1)?;
        journal::remove_covered(path, seq, seq + 1)?;
        Ok(Db::build(
            Some(path.to_path_buf()),
            state,
            seq,
            Some(segment),
            compact_bytes,
        ))
    }

    fn build(
        dir: Option<PathBuf>,
        state: State,
        seq: u64,
        segment: Option<Segment>,
        compact_bytes: u64,
    ) -> Db {
        let durable_on_disk = segment.is_some();
        let db = Db {
            inner: Arc::new(Inner {
                dir,
                published: ArcSwap::from_pointee(state.clone()),
                writer: Mutex::new(Writer {
                    head: state,
                    seq,
                    synced: seq,
                    segment,
                    pending: VecDeque::new(),
                    failed: None,
                }),
                appended: Condvar::new(),
                durable: Condvar::new(),
                status: watch::Sender::new(Synced { seq, failed: None }),
                compacting: AtomicBool::new(false),
                compact_bytes,
            }),
        };
        if durable_on_disk {
            let weak = Arc::downgrade(&db.inner);
            std::thread::Builder::new()
                .name("db-committer".into())
                .spawn(move || committer(weak))
                .expect("spawn the committer thread");
        }
        db
    }

    /// The data directory (`None`: in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// The last durable state. Never waits.
    pub fn read(&self) -> Arc<State> {
        self.inner.published.load_full()
    }

    /// Runs `f` on the last durable state without taking a reference
    /// count. Never waits.
    pub fn view<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.inner.published.load())
    }

    /// Applies `f` to the state and returns once its changes are durable
    /// (and visible to readers). A call that changes nothing writes nothing.
    pub async fn commit<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, DbError> {
        let (r, seq) = self.append(f)?;
        if let Some(seq) = seq {
            self.wait_durable(seq).await?;
        }
        Ok(r)
    }

    /// [`Db::commit`] for synchronous callers: blocks the thread until the
    /// write is durable.
    pub fn commit_blocking<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, DbError> {
        let (r, seq) = self.append(f)?;
        if let Some(seq) = seq {
            let mut w = lock(&self.inner.writer);
            while w.synced < seq && w.failed.is_none() {
                w = self
                    .inner
                    .durable
                    .wait(w)
                    .unwrap_or_else(|e| e.into_inner());
            }
            if w.synced < seq {
                return Err(DbError::Failed(
                    w.failed.clone().unwrap_or_else(|| "".into()),
                ));
            }
        }
        Ok(r)
    }

    /// Applies `f` to the head and appends its changes to the journal;
    /// returns the write's sequence number when there is one to wait for.
    fn append<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<(R, Option<u64>), DbError> {
        let mut guard = lock(&self.inner.writer);
        let w = &mut *guard;
        if let Some(e) = &w.failed {
            return Err(DbError::Failed(e.clone()));
        }
        let before = w.head.clone();
        let r = f(&mut w.head);
        let changes = w.head.changes_since(&before);
        if changes.is_empty() {
            return Ok((r, None));
        }
        let seq = w.seq + 1;
        let Some(segment) = &mut w.segment else {
            w.seq = seq;
            w.synced = seq;
            self.inner.published.store(Arc::new(w.head.clone()));
            self.inner.status.send_replace(Synced { seq, failed: None });
            return Ok((r, None));
        };
        if let Err(e) = segment.append(&journal::encode(seq, changes)) {
            w.head = before;
            tracing::error!("a write failed and was rolled back: {e}");
            return Err(e);
        }
        w.seq = seq;
        w.pending.push_back((seq, w.head.clone()));
        self.inner.appended.notify_one();
        Ok((r, Some(seq)))
    }

    async fn wait_durable(&self, seq: u64) -> Result<(), DbError> {
        let mut rx = self.inner.status.subscribe();
        let st = rx
            .wait_for(|s| s.seq >= seq || s.failed.is_some())
            .await
            .map(|s| s.clone())
            .unwrap_or_default();
        if st.seq >= seq {
            Ok(())
        } else {
            Err(DbError::Failed(
                st.failed.unwrap_or_else(|| "the store closed".into()),
            ))
        }
    }

    /// The sequence number of the last durable (and published) write.
    pub fn durable_seq(&self) -> u64 {
        self.inner.status.borrow().seq
    }

    /// Waits until a write after `seq` is durable and published (readers
    /// see it); returns the newest durable sequence number, or `seq` at
    /// once when the store can no longer write. How observers (the web
    /// console's event stream) follow changes without polling.
    pub async fn changed_after(&self, seq: u64) -> u64 {
        let mut rx = self.inner.status.subscribe();
        rx.wait_for(|s| s.seq > seq || s.failed.is_some())
            .await
            .map(|s| s.seq.max(seq))
            .unwrap_or(seq)
    }

    /// Whether a compaction is writing its snapshot now.
    pub fn compacting(&self) -> bool {
        self.inner.compacting.load(Ordering::Acquire)
    }

    /// Bytes in the journal segment being appended to (tests, bench).
    pub fn journal_len(&self) -> u64 {
        lock(&self.inner.writer)
            .segment
            .as_ref()
            .map_or(0, Segment::len)
    }
}

/// Publishes the state after write `seq` (and forgets older pending ones).
fn publish(inner: &Inner, w: &mut Writer, seq: u64) {
    let mut latest = None;
    while w.pending.front().is_some_and(|(s, _)| *s <= seq) {
        latest = w.pending.pop_front();
    }
    if let Some((_, state)) = latest {
        inner.published.store(Arc::new(state));
    }
    w.synced = seq;
    inner.status.send_replace(Synced { seq, failed: None });
    inner.durable.notify_all();
}

fn fail(inner: &Inner, w: &mut Writer, e: &std::io::Error) {
    let msg: Arc<str> = e.to_string().into();
    tracing::error!("fsync of the journal failed: {msg}; refusing writes from now on");
    w.failed = Some(msg.clone());
    w.pending.clear();
    inner.status.send_replace(Synced {
        seq: w.synced,
        failed: Some(msg),
    });
    inner.durable.notify_all();
}

/// The group committer: syncs whatever was appended since its last sync,
/// off the writer lock, then publishes and wakes the writers it covered.
fn committer(weak: Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let (target, file) = {
            let mut w = lock(&inner.writer);
            if w.seq == w.synced || w.failed.is_some() {
                let (g, _) = inner
                    .appended
                    .wait_timeout(w, Duration::from_millis(200))
                    .unwrap_or_else(|e| e.into_inner());
                w = g;
                if w.seq == w.synced || w.failed.is_some() {
                    continue; // re-check that the store is still alive
                }
            }
            let Some(seg) = &w.segment else { return };
            (w.seq, seg.file())
        };
        let synced = file.sync_data();
        let mut w = lock(&inner.writer);
        match synced {
            Ok(()) => {
                publish(&inner, &mut w, target);
                maybe_compact(&inner, &mut w);
            }
            Err(e) => fail(&inner, &mut w, &e),
        }
    }
}

/// Starts a new segment and snapshots the state in the background once the
/// journal is large enough.
fn maybe_compact(inner: &Arc<Inner>, w: &mut Writer) {
    let (Some(dir), Some(seg)) = (&inner.dir, &w.segment) else {
        return;
    };
    if seg.len() < inner.compact_bytes || inner.compacting.load(Ordering::Acquire) {
        return;
    }
    // Everything appended so far becomes durable here, so the old segment
    // is complete and the new one starts empty.
    if let Err(e) = seg.file().sync_data() {
        fail(inner, w, &e);
        return;
    }
    let seq = w.seq;
    publish(inner, w, seq);
    match Segment::open(dir, seq + 1) {
        Ok(next) => w.segment = Some(next),
        Err(e) => {
            tracing::warn!("cannot start a new journal segment: {e}");
            return;
        }
    }
    inner.compacting.store(true, Ordering::Release);
    let base = w.head.clone();
    let dir = dir.clone();
    let weak = Arc::downgrade(inner);
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let result = journal::write_snapshot(&dir, seq, &base)
            .and_then(|()| journal::remove_covered(&dir, seq, seq + 1));
        match result {
            Ok(()) => tracing::debug!(seq, took = ?started.elapsed(), "compacted the journal"),
            Err(e) => tracing::warn!("compaction failed (the journal is kept): {e}"),
        }
        if let Some(inner) = weak.upgrade() {
            inner.compacting.store(false, Ordering::Release);
        }
    });
}

#[cfg(test)]
mod tests;
