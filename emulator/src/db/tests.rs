//! The store's promises, each tried on a real directory: durable before
//! the answer, nothing written for no change, a failed write leaves
//! nothing behind, one emulator per directory, unknown formats refused,
//! old state files migrated, torn tails cut, compaction loses nothing.

use super::*;
use crate::model::Cluster;

fn cluster(name: &str) -> Cluster {
    Cluster {
        cluster_name: name.into(),
        cluster_arn: format!("arn:aws:ecs:us-east-1:000000000000:cluster/{name}"),
        status: crate::model::ClusterStatus::Active,
        ..Default::default()
    }
}

fn open(dir: &Path) -> (DataDir, Db) {
    let mut d = DataDir::open(dir).unwrap();
    d.lock().unwrap();
    let db = Db::open(&d).unwrap();
    (d, db)
}

#[tokio::test]
async fn writes_survive_a_reopen_and_no_change_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (_d, db) = open(tmp.path());
        for i in 0..50 {
            db.commit(|s| {
                s.clusters
                    .insert(format!("c{i}"), cluster(&format!("c{i}")))
            })
            .await
            .unwrap();
        }
        let len = db.journal_len();
        assert!(len > 0);
        // Same value again, and a read-only closure: no journal bytes.
        db.commit(|s| s.clusters.insert("c1".into(), cluster("c1")))
            .await
            .unwrap();
        db.commit(|s| s.clusters.len()).await.unwrap();
        assert_eq!(
            db.journal_len(),
            len,
            "a call that changes nothing writes nothing"
        );
        assert_eq!(db.read().clusters.len(), 50);
    }
    let (_d, db) = open(tmp.path());
    assert_eq!(db.read().clusters.len(), 50);
    assert_eq!(db.read().clusters["c7"], cluster("c7"));
}

#[tokio::test]
async fn concurrent_writers_are_all_durable_and_readers_see_only_durable_state() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (_d, db) = open(tmp.path());
        let mut joins = Vec::new();
        for w in 0..16 {
            let db = db.clone();
            joins.push(tokio::spawn(async move {
                for i in 0..25 {
                    let k = format!("w{w}-{i}");
                    db.commit(|s| s.clusters.insert(k.clone(), cluster(&k)))
                        .await
                        .unwrap();
                    // Read-your-write: durable means visible.
                    assert!(db.read().clusters.contains_key(&k));
                }
            }));
        }
        for j in joins {
            j.await.unwrap();
        }
    }
    let (_d, db) = open(tmp.path());
    assert_eq!(db.read().clusters.len(), 16 * 25);
}

#[test]
fn a_second_emulator_on_the_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = DataDir::open(tmp.path()).unwrap();
    first.lock().unwrap();
    let mut second = DataDir::open(tmp.path()).unwrap();
    let err = second.lock().unwrap_err();
    assert!(matches!(err, DbError::InUse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(first);
    second.lock().unwrap();
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("data");
    std::fs::create_dir(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_d, db) = open(&path);
    db.commit_blocking(|s| s.clusters.insert("c".into(), cluster("c")))
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o700);
    for e in std::fs::read_dir(&path).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn an_unknown_format_is_refused_not_taken_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("snapshot.json"),
        br#"{"format":99,"seq":3,"state":{}}"#,
    )
    .unwrap();
    let mut d = DataDir::open(tmp.path()).unwrap();
    d.lock().unwrap();
    let err = Db::open(&d).err().expect("refused");
    assert!(
        matches!(err, DbError::UnknownFormat { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("emulator down"), "{err}");
    // A legacy state.json claiming a newer format is refused too.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("state.json"), br#"{"format":7}"#).unwrap();
    let mut d = DataDir::open(tmp.path()).unwrap();
    d.lock().unwrap();
    assert!(matches!(
        Db::open(&d).err(),
        Some(DbError::UnknownFormat { found: 7, .. })
    ));
}

#[test]
fn an_old_state_file_is_migrated_once() {
    let tmp = tempfile::tempdir().unwrap();
    let legacy = serde_json::json!({
        "clusters": {"default": cluster("default")},
        "taskDefinitions": {"node": [
            {"family": "node", "revision": 1, "status": "INACTIVE", "containerDefinitions": []},
            {"family": "node", "revision": 2, "status": "ACTIVE", "containerDefinitions": []}
        ]},
        "autoscaling": {"activities": [
            {"ActivityId": "a2", "ServiceNamespace": "ecs", "ResourceId": "service/default/x",
             "ScalableDimension": "ecs:service:DesiredCount", "Description": "d", "Cause": "c",
             "StartTime": 2.0, "EndTime": 2.0, "StatusCode": "Successful"},
            {"ActivityId": "a1", "ServiceNamespace": "ecs", "ResourceId": "service/default/x",
             "ScalableDimension": "ecs:service:DesiredCount", "Description": "d", "Cause": "c",
             "StartTime": 1.0, "EndTime": 1.0, "StatusCode": "Successful"}
        ]}
    });
    std::fs::write(
        tmp.path().join("state.json"),
        serde_json::to_vec(&legacy).unwrap(),
    )
    .unwrap();
    let (d, db) = open(tmp.path());
    let s = db.read();
    assert!(s.clusters.contains_key("default"));
    assert_eq!(s.latest_revision("node").unwrap().revision, Some(2));
    let newest: Vec<&str> = s
        .autoscaling
        .activities
        .values()
        .rev()
        .map(|a| a.activity_id.as_str())
        .collect();
    assert_eq!(newest, vec!["a2", "a1"]);
    assert!(!tmp.path().join("state.json").exists());
    assert!(tmp.path().join("state.json.migrated").exists());
    drop((db, d));
    let (_d, db) = open(tmp.path());
    assert_eq!(db.read().task_definitions.len(), 2);
}

#[tokio::test]
async fn a_torn_last_record_is_cut_off_and_the_rest_kept() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (_d, db) = open(tmp.path());
        for i in 0..3 {
            db.commit(|s| s.clusters.insert(format!("c{i}"), cluster("x")))
                .await
                .unwrap();
        }
    }
    // Another process died mid-append: half a record at the end.
    let (_, seg) = journal::segments(tmp.path()).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(br#"{"s":99,"c":[["clusters","torn",{"clusterN"#);
    std::fs::write(&seg, &bytes).unwrap();
    let (_d, db) = open(tmp.path());
    assert_eq!(db.read().clusters.len(), 3);
    assert!(!db.read().clusters.contains_key("torn"));
    let _ = whole;
    // Corruption in the middle is refused, not skipped.
    drop(db);
    drop(_d);
    let (_, seg) = journal::segments(tmp.path()).unwrap().pop().unwrap();
    let snap = tmp.path().join("snapshot.json");
    let _ = std::fs::remove_file(&snap);
    std::fs::write(&seg, b"garbage\n{\"s\":1,\"c\":[]}\n").unwrap();
    let mut d = DataDir::open(tmp.path()).unwrap();
    d.lock().unwrap();
    assert!(matches!(Db::open(&d).err(), Some(DbError::Corrupt { .. })));
}

#[tokio::test]
async fn compaction_keeps_every_write_and_bounds_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut d = DataDir::open(tmp.path()).unwrap();
        d.lock().unwrap();
        let db = Db::open_with(&d, 4096).unwrap();
        for i in 0..400 {
            db.commit(|s| s.clusters.insert(format!("c{i:03}"), cluster("x")))
                .await
                .unwrap();
        }
        // Compaction runs in the background: wait for the snapshot.
        for _ in 0..500 {
            if tmp.path().join("snapshot.json").exists() && !db.compacting() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!db.compacting());
        assert!(tmp.path().join("snapshot.json").exists());
        // Bounded: the covered segments are gone; what is left is the
        // segment being written, far less than the 400 records written.
        // Under load a compaction may be skipped while another runs; the
        // next write triggers one again.
        let written = 400 * 100;
        let journal_left = || -> u64 {
            journal::segments(tmp.path())
                .unwrap()
                .iter()
                .map(|(_, p)| std::fs::metadata(p).unwrap().len())
                .sum()
        };
        let mut extra = 0;
        while journal_left() >= written / 2 && extra < 100 {
            db.commit(|s| s.clusters.insert(format!("extra{extra}"), cluster("x")))
                .await
                .unwrap();
            extra += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let left = journal_left();
        assert!(left < written / 2, "{left} bytes of journal left");
    }
    let (_d, db) = open(tmp.path());
    let s = db.read();
    assert!((0..400).all(|i| s.clusters.contains_key(&format!("c{i:03}"))));
}

/// A disk that fills up: a tmpfs of 256 KiB. The write that does not fit
/// fails (an error the API answers 500 with), nothing of it stays in the
/// file, earlier writes survive, and later small writes still work.
#[tokio::test]
async fn a_write_on_a_full_disk_fails_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: cannot mount a small tmpfs to fill up (needs root)"
        );
        eprintln!(
            "SKIPPED: a_write_on_a_full_disk_fails_and_leaves_nothing_behind (mount needs root)"
        );
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let data = mnt.join("data");
    let (d, db) = open(&data);
    db.commit(|s| s.clusters.insert("small".into(), cluster("small")))
        .await
        .unwrap();
    let before = db.journal_len();
    let mut big = cluster("big");
    big.cluster_name = "x".repeat(1 << 20);
    let err = db
        .commit(|s| s.clusters.insert("big".into(), big))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_eq!(
        db.journal_len(),
        before,
        "nothing of the failed write stays"
    );
    assert!(!db.read().clusters.contains_key("big"));
    // The store goes on: a small write fits.
    db.commit(|s| s.clusters.insert("after".into(), cluster("after")))
        .await
        .unwrap();
    drop((db, d));
    let (_d, db) = open(&data);
    let s = db.read();
    assert!(s.clusters.contains_key("small") && s.clusters.contains_key("after"));
    assert!(!s.clusters.contains_key("big"));
    // No temp file left anywhere in the directory.
    for e in std::fs::read_dir(&data).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains(".tmp"), "left behind: {name}");
    }
}

/// Observers (the console's event stream) wake on a durable change, see
/// it in `read()`, and are not woken by a write that changes nothing; in
/// memory as on disk.
#[tokio::test]
async fn changed_after_wakes_on_a_durable_change_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (_d, on_disk) = open(tmp.path());
    for db in [on_disk, Db::in_memory(State::default())] {
        let seq = db.durable_seq();
        let waiter = tokio::spawn({
            let db = db.clone();
            async move {
                let after = db.changed_after(seq).await;
                (after, db.read().clusters.contains_key("watched"))
            }
        });
        db.commit(|_| ()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "woken by a write of nothing");
        db.commit(|s| s.clusters.insert("watched".into(), cluster("watched")))
            .await
            .unwrap();
        let (after, seen) = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert!(after > seq && seen, "{after} {seen}");
        assert_eq!(db.durable_seq(), after);
    }
}

/// A snapshot older than the journal's first segment (read while a
/// compaction was replacing it, or a journal that lost segments): read
/// again until it matches, or refused as missing records; never loaded
/// without them.
#[tokio::test]
async fn a_snapshot_older_than_the_journal_is_read_again_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("snapshot.json");
    let wait_compacted = |db: &Db| {
        let db = db.clone();
        async move {
            for _ in 0..500 {
                if !db.compacting() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    };
    let (older, newer) = {
        let mut d = DataDir::open(tmp.path()).unwrap();
        d.lock().unwrap();
        let db = Db::open_with(&d, 2048).unwrap();
        let mut older = None;
        for i in 0..200 {
            db.commit(|s| s.clusters.insert(format!("c{i:03}"), cluster("x")))
                .await
                .unwrap();
            wait_compacted(&db).await;
            if older.is_none() && snap.exists() {
                older = Some(std::fs::read(&snap).unwrap());
            }
        }
        wait_compacted(&db).await;
        (older.unwrap(), std::fs::read(&snap).unwrap())
    };
    assert_ne!(older, newer, "compacted more than once");
    let load_all = || {
        let (s, _) = journal::load(tmp.path())?;
        Ok::<bool, DbError>((0..200).all(|i| s.clusters.contains_key(&format!("c{i:03}"))))
    };
    // The old snapshot stays: refused, naming the gap.
    std::fs::write(&snap, &older).unwrap();
    let err = load_all().expect_err("a gap is refused");
    assert!(err.to_string().contains("records are missing"), "{err}");
    // The compaction's snapshot lands while loading: every record is there.
    std::fs::write(&snap, &older).unwrap();
    let (path, bytes) = (snap.clone(), newer.clone());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        // As the compactor writes it: whole, by a rename.
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(tmp, path).unwrap();
    });
    assert!(load_all().unwrap(), "every record after the retry");
    writer.join().unwrap();
}
