//! The interaction log: appends become Parquet parts that scan back as one frame.

use chrono::{TimeZone, Utc};
use polars::prelude::*;
use vitrine_models::{Actor, Interaction, InteractionKind, ProductId, SessionId, UserId};
use vitrine_pipelines::{append_interactions, interaction_parts, log_columns, scan_interactions};

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
