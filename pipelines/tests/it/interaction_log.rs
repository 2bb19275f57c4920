//! The interaction log: appends become Parquet parts that scan back as one frame.

use chrono::{TimeZone, Utc};
use polars::prelude::*;
use vitrine_models::{Actor, Interaction, InteractionKind, ProductId, SessionId, UserId};
use vitrine_pipelines::{append_interactions, compact_interactions, interaction_parts, log_columns, scan_interactions};

fn interaction(actor: Actor, product: &str, kind: InteractionKind, quantity: u32, minute: u32) -> Interaction {
    let timestamp = Utc.with_ymd_and_hms(2010, 1, 4, 9, minute, 0).single().expect("valid time");
    Interaction::new(actor, ProductId::new(product).expect("id"), kind, quantity, timestamp).expect("valid")
}

#[test]
fn appends_add_parts_that_scan_back_as_one_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("interactions");
    assert_eq!(scan_interactions(&folder).expect("scan").collect().expect("collect").height(), 0);

    let user = Actor::User(UserId::new("13085").expect("user"));
    let session = Actor::Session(SessionId::new("s-42").expect("session"));
    append_interactions(&folder, &[interaction(user.clone(), "85048", InteractionKind::Purchase, 12, 0)])
        .expect("first append");
    append_interactions(
        &folder,
        &[
            interaction(session, "22041", InteractionKind::View, 1, 1),
            interaction(user, "22041", InteractionKind::AddToCart, 2, 2),
        ],
    )
    .expect("second append");
    append_interactions(&folder, &[]).expect("empty append writes nothing");
    assert_eq!(interaction_parts(&folder).expect("parts").len(), 2);

    let log = scan_interactions(&folder)
        .expect("scan")
        .sort([log_columns::TIMESTAMP_MS], SortMultipleOptions::default())
        .collect()
        .expect("collect");
    assert_eq!(log.height(), 3);
    let strings = |column: &str| -> Vec<Option<String>> {
        let values = log.column(column).expect("column").str().expect("strings");
        (0..values.len()).map(|row| values.get(row).map(str::to_owned)).collect()
    };
    let kinds = strings(log_columns::KIND);
    assert_eq!(kinds, [Some("purchase".into()), Some("view".into()), Some("add_to_cart".into())]);
    assert_eq!(strings(log_columns::USER_ID), [Some("13085".into()), None, Some("13085".into())]);
    assert_eq!(strings(log_columns::SESSION_ID), [None, Some("s-42".into()), None]);
    let quantities: Vec<_> =
        log.column(log_columns::QUANTITY).expect("qty").u32().expect("u32").into_no_null_iter().collect();
    assert_eq!(quantities, [12, 1, 2]);
    let first_ms = log.column(log_columns::TIMESTAMP_MS).expect("ts").i64().expect("i64").get(0);
    assert_eq!(first_ms, Some(Utc.with_ymd_and_hms(2010, 1, 4, 9, 0, 0).single().expect("time").timestamp_millis()));
}

#[test]
fn a_parquet_file_with_the_documented_schema_is_read_row_by_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("interactions.parquet");
    // 2010-09-01T00:00:00Z as a Parquet datetime; the third row has an unknown event.
    let millis = 1_283_299_200_000i64;
    let mut frame = df!(
        "user_id" => ["u1", "u2", "u3"],
        "product_id" => ["p1", "p2", "p3"],
        "event" => ["purchase", "view", "like"],
        "quantity" => [3u32, 1, 1],
        "timestamp" => [millis, millis + 60_000, millis],
    )
    .expect("frame");
    frame
        .apply("timestamp", |column| column.cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).expect("cast"))
        .expect("datetime");
    vitrine_pipelines::write_parquet(&frame, &path).expect("write");

    let (good, bad) = vitrine_pipelines::read_interactions_parquet(&path).expect("read");
    assert_eq!(good.len(), 2);
    assert_eq!(good[0].kind, InteractionKind::Purchase);
    assert_eq!(good[0].quantity, 3);
    assert_eq!(good[0].timestamp.timestamp_millis(), millis);
    assert_eq!(good[1].timestamp.timestamp_millis(), millis + 60_000);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 3);

    // A column outside the schema refuses the file.
    let other = df!("product_id" => ["p"], "timestamp" => [1i64], "colour" => ["red"]).expect("frame");
    vitrine_pipelines::write_parquet(&other, &path).expect("write");
    let error = vitrine_pipelines::read_interactions_parquet(&path).expect_err("unknown column");
    assert!(error.to_string().contains("colour"), "{error}");
}

/// `count` interactions of distinct shoppers (`u0`, `u1`, …), one minute apart.
fn distinct(first: usize, count: usize) -> Vec<Interaction> {
    (first..first + count)
        .map(|n| {
            let timestamp =
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("time") + chrono::Duration::minutes(n as i64);
            let user = Actor::User(UserId::new(format!("u{n}")).expect("user"));
            Interaction::new(user, ProductId::new("p").expect("id"), InteractionKind::View, 1, timestamp)
                .expect("valid")
        })
        .collect()
}

/// The user ids of the whole log, sorted (a row read twice or lost shows).
fn user_ids(folder: &std::path::Path) -> Vec<String> {
    let log = vitrine_pipelines::collect_interactions(folder, |log| log.select([col(log_columns::USER_ID)]))
        .expect("read the log")
        .unwrap_or_default();
    if log.height() == 0 {
        return Vec::new();
    }
    let mut ids: Vec<String> = log
        .column(log_columns::USER_ID)
        .expect("column")
        .str()
        .expect("strings")
        .iter()
        .map(|id| id.expect("a user id").to_owned())
        .collect();
    ids.sort_by_key(|id| id[1..].parse::<usize>().unwrap_or(usize::MAX));
    ids
}

fn expected_ids(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("u{n}")).collect()
}

#[test]
fn compaction_merges_small_parts_into_one_keeping_every_row_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("interactions");
    for batch in 0..40 {
        append_interactions(&folder, &distinct(batch * 3, 3)).expect("append");
    }
    assert_eq!(interaction_parts(&folder).expect("parts").len(), 40);

    // Below the threshold nothing happens.
    let report = compact_interactions(&folder, 40).expect("compact");
    assert_eq!((report.merged_parts, report.part.is_none()), (0, true));

    let report = compact_interactions(&folder, 16).expect("compact");
    assert_eq!((report.merged_parts, report.rows), (40, 120));
    let parts = interaction_parts(&folder).expect("parts");
    assert_eq!(parts, vec![report.part.expect("a merged part")]);
    assert_eq!(user_ids(&folder), expected_ids(120));
    // Only the merged part is left on disk.
    let files: Vec<_> = std::fs::read_dir(&folder)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "parquet"))
        .collect();
    assert_eq!(files.len(), 1);

    // Appends after it add parts; the next compaction merges the merged part with them.
    for batch in 0..20 {
        append_interactions(&folder, &distinct(120 + batch, 1)).expect("append");
    }
    let report = compact_interactions(&folder, 16).expect("compact");
    assert_eq!((report.merged_parts, report.rows), (21, 140));
    assert_eq!(interaction_parts(&folder).expect("parts").len(), 1);
    assert_eq!(user_ids(&folder), expected_ids(140));
}

#[test]
fn a_compaction_interrupted_before_its_deletions_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("interactions");
    for batch in 0..5 {
        append_interactions(&folder, &distinct(batch * 2, 2)).expect("append");
    }
    // Keep copies of two parts, to put them back as a crash between the rename and the deletions
    // would have left them.
    let parts = interaction_parts(&folder).expect("parts");
    let kept: Vec<(std::path::PathBuf, Vec<u8>)> =
        parts[..2].iter().map(|part| (part.clone(), std::fs::read(part).expect("read part"))).collect();
    let report = compact_interactions(&folder, 1).expect("compact");
    assert_eq!(report.merged_parts, 5);
    for (path, bytes) in &kept {
        std::fs::write(path, bytes).expect("put the part back");
    }
    // Readers leave the replaced parts out: every row once.
    assert_eq!(interaction_parts(&folder).expect("parts"), vec![report.part.expect("merged")]);
    assert_eq!(user_ids(&folder), expected_ids(10));
    // The next compaction finishes the deletions.
    let report = compact_interactions(&folder, 1).expect("compact");
    assert_eq!((report.leftovers_deleted, report.merged_parts), (2, 0));
    assert!(kept.iter().all(|(path, _)| !path.exists()));
    assert_eq!(user_ids(&folder), expected_ids(10));
}

#[test]
fn readers_see_every_row_exactly_once_while_appends_and_compactions_run() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let dir = tempfile::tempdir().expect("temp dir");
    let folder = Arc::new(dir.path().join("interactions"));
    // Rows whose append has begun, and rows whose append has returned.
    let begun = Arc::new(AtomicUsize::new(0));
    let appended = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let appender = {
        let (folder, begun, appended, done) = (folder.clone(), begun.clone(), appended.clone(), done.clone());
        std::thread::spawn(move || {
            for n in 0..150 {
                begun.store(n + 1, Ordering::SeqCst);
                append_interactions(&folder, &distinct(n, 1)).expect("append");
                appended.store(n + 1, Ordering::SeqCst);
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    // Two compactors (a server and a `vitrine train` beside it): they take turns.
    let compactors: Vec<_> = (0..2)
        .map(|_| {
            let (folder, done) = (folder.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    compact_interactions(&folder, 3).expect("compact");
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        })
        .collect();
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        let before = appended.load(Ordering::SeqCst);
        let ids = user_ids(&folder);
        let after = begun.load(Ordering::SeqCst);
        assert!((before..=after).contains(&ids.len()), "{} rows read, {before}..={after} expected", ids.len());
        assert_eq!(ids, expected_ids(ids.len()), "every row once, none lost");
        reads += 1;
    }
    appender.join().expect("appender");
    for compactor in compactors {
        compactor.join().expect("compactor");
    }
    assert!(reads > 0);
    compact_interactions(&folder, 1).expect("compact");
    assert_eq!(interaction_parts(&folder).expect("parts").len(), 1);
    assert_eq!(user_ids(&folder), expected_ids(150));
}
