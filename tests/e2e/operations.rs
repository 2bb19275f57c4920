//! Operations end to end: snapshots taken while the server sells and indexes restore to exactly
//! what their manifest says (and answer as the original did); `kill -9` during snapshot creation
//! never leaves an archive that looks whole nor harms the earlier ones; an alias switched from
//! one index to a freshly built one under search load fails no request and empties no answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use indicatif::ProgressBar;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use vitrine::snapshots::{CommerceContents, CommerceSource, create_snapshot, restore_snapshot, verify_snapshot};
use vitrine_e2e::{kafka_brokers, unique_topic, vitrine_bin};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use crate::commerce::{cart, send, stock};
use crate::common::Server;
use crate::kafka_support::{Indexer, config, create_topic, producer, send_events, upserted};

const WORDS: [&str; 12] =
    ["mug", "lamp", "candle", "vase", "cushion", "plate", "bowl", "clock", "frame", "tray", "jug", "basket"];
const COLOURS: [&str; 6] = ["red", "blue", "green", "white", "black", "pink"];

/// `count` products `p0…`, titled from the word lists, at `version`.
fn products(count: usize, version: u64) -> Vec<Value> {
    (0..count)
        .map(|n| {
            json!({
                "id": format!("p{n}"),
                "title": format!("{} {} no. {n}", COLOURS[n % COLOURS.len()], WORDS[n % WORDS.len()]),
                "description": format!("A {} {} for the home, version {version}.", COLOURS[(n / 7) % COLOURS.len()], WORDS[(n / 3) % WORDS.len()]),
                "price": 5.0 + (n % 40) as f64,
                "currency": "GBP",
                "version": version,
            })
        })
        .collect()
}

async fn upsert(server: &Server, index: &str, products: &[Value]) {
    let answer = server.post(&format!("/v1/indexes/{index}/documents"), None, &json!(products)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

fn hit_ids(answer: &Value) -> Vec<String> {
    answer["hits"]
        .as_array()
        .map_or_else(Vec::new, |hits| hits.iter().filter_map(|hit| hit["id"].as_str().map(str::to_owned)).collect())
}

/// One guest buying one unit of `product`: 201, or 409 when a hold or the stock runs short.
async fn buy_one(server: &Server, product: &str) -> bool {
    let (cart_id, token) = cart(server, &[(product, 1)]).await;
    let body = json!({"cart_id": cart_id, "payment": {"payment_method": "pm_card_visa"},
        "shipping_address": {"line1": "1 High St", "city": "London"}});
    let answer = send(server, Method::POST, "/v1/checkout", Some(&body), &[("x-cart-token", &token)]).await;
    match answer.status {
        StatusCode::CREATED => true,
        StatusCode::CONFLICT => false,
        other => panic!("checkout answered {other}: {}", answer.text),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshots_taken_while_selling_and_indexing_restore_to_their_manifest_and_answer_alike() {
    const SKUS: [&str; 4] = ["p0", "p1", "p2", "p3"];
    const ON_HAND: i64 = 100_000;
    let server = Arc::new(Server::open());
    upsert(&server, "shop", &products(400, 1)).await;
    for sku in SKUS {
        stock(&server, sku, ON_HAND, 12.0).await;
    }
    let settings = json!({"synonyms": [{"type": "multi_way", "terms": ["jug", "pitcher"]}]});
    assert_eq!(
        server.put("/v1/indexes/shop/settings/synonyms", None, &settings["synonyms"]).await.status,
        StatusCode::OK
    );

    // The load: four buyers, and a feed re-upserting products at rising versions.
    let stop = Arc::new(AtomicBool::new(false));
    let sold = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for sku in SKUS {
        let (server, stop, sold) = (server.clone(), stop.clone(), sold.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if buy_one(&server, sku).await {
                    sold.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let feed = {
        let (server, stop) = (server.clone(), stop.clone());
        tokio::spawn(async move {
            let mut version = 2;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<Value> =
                    products(400, version).into_iter().skip((version as usize * 37) % 350).take(50).collect();
                upsert(&server, "shop", &batch).await;
                version += 1;
            }
            version
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut reports = Vec::new();
    for _ in 0..2 {
        let sold_before = sold.load(Ordering::Relaxed);
        let answer = server.post("/v1/admin/snapshots", None, &json!({})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        let sold_after = sold.load(Ordering::Relaxed);
        reports.push((answer.json(), sold_before, sold_after));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for buyer in load {
        buyer.await.expect("buyer");
    }
    let versions = feed.await.expect("feed");
    assert!(versions > 4, "the feed wrote during the snapshots ({versions} versions)");
    let quiet = server.post("/v1/admin/snapshots", None, &json!({})).await;
    assert_eq!(quiet.status, StatusCode::CREATED, "{}", quiet.text);
    reports.push((quiet.json(), sold.load(Ordering::Relaxed), sold.load(Ordering::Relaxed)));

    let listed = server.get("/v1/admin/snapshots", None).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    let restores = tempfile::tempdir().expect("temp dir");
    for (n, (report, sold_before, sold_after)) in reports.iter().enumerate() {
        let archive = PathBuf::from(report["archive"].as_str().expect("archive"));
        let target = restores.path().join(format!("restored-{n}"));
        let restored = restore_snapshot(&archive, &target, &ProgressBar::hidden()).await.expect("restores");
        let manifest = &restored.manifest;
        assert_eq!(
            serde_json::to_value(manifest).expect("json"),
            report["manifest"],
            "the answer's manifest is the archive's"
        );

        // Orders and stock: the copy is one instant of the database. Every order is one unit, so
        // the units gone from the shelves are the orders, exactly.
        let CommerceContents::Sqlite { orders, units_on_hand, .. } = &manifest.commerce else {
            panic!("the SQLite commerce database is in the snapshot: {:?}", manifest.commerce)
        };
        assert!(
            (*sold_before..=*sold_after).contains(orders),
            "{orders} orders, {sold_before}..={sold_after} sold around it"
        );
        assert_eq!(4 * ON_HAND - units_on_hand, *orders as i64, "units sold = orders in snapshot {n}");
        let summary = vitrine_commerce::summarise_sqlite(&DataDir::new(&target).commerce_db()).await.expect("summary");
        assert_eq!(CommerceContents::sqlite(summary), manifest.commerce);

        // Products at their versions, as the manifest says.
        let catalog = Catalog::new(DataDir::new(&target));
        let shop = IndexName::new("shop").expect("name");
        let index = catalog.get(&shop).expect("restored index");
        let entry = manifest.indexes.iter().find(|index| index.name == "shop").expect("listed");
        assert_eq!(index.len(), entry.documents);
        let mut lines: Vec<(String, u64)> = index
            .all()
            .expect("products")
            .into_iter()
            .map(|product| (product.id.to_string(), product.version))
            .collect();
        lines.sort();
        let digest = vitrine_indexer::read_commit_point(&DataDir::new(&target).search_index(&shop)).expect("commit");
        assert_eq!(digest.documents_digest, entry.documents_digest);
        assert_eq!(entry.settings_version, Some(2), "the synonyms change is in the history");
        drop(index);
        drop(catalog);

        // The quiet snapshot: a server on the restore answers as the original does.
        if *sold_before == *sold_after && n == reports.len() - 1 {
            let copy = Server::over(Catalog::new(DataDir::new(&target)));
            // Relevance scores and the multi-word fallback read term statistics that count
            // deleted documents until segments merge, and the original keeps searching the
            // segments it had while the copy opens the merged ones: so answers are compared where
            // they do not depend on segment layout (one word, every match on the page), and every
            // product document is compared whole.
            for query in ["pitcher", "basket", "lamp", "clock"] {
                let request = json!({"q": query, "per_page": 100});
                let original = server.post("/v1/indexes/shop/search", None, &request).await.json();
                let restored = copy.post("/v1/indexes/shop/search", None, &request).await.json();
                assert_eq!(restored["total"], original["total"], "{query}");
                assert!(
                    original["total"].as_u64().is_some_and(|total| (1..=100).contains(&total)),
                    "{query}: {original}"
                );
                let (mut restored_ids, mut original_ids) = (hit_ids(&restored), hit_ids(&original));
                restored_ids.sort();
                original_ids.sort();
                assert_eq!(restored_ids, original_ids, "{query}");
            }
            for id in (0..400).step_by(7) {
                let uri = format!("/v1/indexes/shop/documents/p{id}");
                assert_eq!(copy.get(&uri, None).await.json(), server.get(&uri, None).await.json(), "{uri}");
            }
            let synonyms = copy.get("/v1/indexes/shop/settings/synonyms", None).await.json();
            assert_eq!(synonyms, settings["synonyms"]);
            let shop = copy.state.commerce.get().await.expect("restored shop");
            assert_eq!(shop.store.count_orders().await.expect("count"), *orders as i64);
        }
    }
}

/// The archives of `folder` (files whose name does not start with a dot) with a hash of their bytes.
fn archives(folder: &Path) -> BTreeMap<String, u64> {
    use std::hash::{Hash, Hasher};
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && !name.starts_with('.') {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(entry.path()).expect("read").hash(&mut hasher);
            files.insert(name, hasher.finish());
        }
    }
    files
}

/// `kill -9` at random points of `vitrine snapshot create`, 20 times: the snapshot folder never
/// holds an archive that does not verify, the archives written before are never changed, and a
/// half-written one keeps a hidden `.partial` name; the next run clears what the dead ones left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_snapshot_creation_never_leaves_a_corrupt_archive_nor_harms_earlier_ones() {
    const KILLS: usize = 20;
    let Some(binary) =
        vitrine_bin("kill_9_during_snapshot_creation_never_leaves_a_corrupt_archive_nor_harms_earlier_ones")
    else {
        return;
    };
    let seed =
        std::env::var("VITRINE_SNAPSHOT_KILL_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(0x5eed_0022);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(data.path());
    {
        // A catalogue big enough that a snapshot takes a while: 30,000 products in 3 indexes,
        // and a commerce database.
        let catalog = Catalog::new(data_dir.clone());
        for (n, name) in ["shop", "outlet", "archive"].into_iter().enumerate() {
            let drafts: Vec<vitrine_models::Product> = products(10_000, 1 + n as u64)
                .into_iter()
                .map(|value| {
                    let draft: vitrine_models::ProductDraft = serde_json::from_value(value).expect("draft");
                    vitrine_models::Product::try_from(draft).expect("product")
                })
                .collect();
            catalog.upsert(&IndexName::new(name).expect("name"), drafts).expect("upsert");
        }
        let store = vitrine_commerce::Store::connect(&format!("sqlite:{}", data_dir.commerce_db().display()), None)
            .await
            .expect("commerce");
        store.pool().close().await;
    }
    let folder = data_dir.snapshots();
    let run = || {
        std::process::Command::new(&binary)
            .args(["--data-dir", &data.path().to_string_lossy(), "snapshot", "create"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn vitrine")
    };
    // A whole run first: it is the earlier snapshot, and its time bounds the kills.
    let started = Instant::now();
    let whole = run().wait_with_output().expect("first snapshot");
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let full_run = started.elapsed();
    let mut earlier = archives(&folder);
    assert_eq!(earlier.len(), 1);
    let (mut cut_short, mut finished) = (0, 0);
    for kill in 0..KILLS {
        let mut child = run();
        let delay = Duration::from_millis(rng.random_range(0..=full_run.as_millis() as u64));
        tokio::time::sleep(delay).await;
        let ended_alone = child.try_wait().expect("wait").is_some();
        let _ = child.kill();
        let _ = child.wait();
        let now = archives(&folder);
        for (name, hash) in &earlier {
            assert_eq!(
                now.get(name),
                Some(hash),
                "kill {kill} (after {delay:?}): an earlier archive {name} changed or went"
            );
        }
        let new: Vec<&String> = now.keys().filter(|name| !earlier.contains_key(*name)).collect();
        for name in &new {
            assert!(name.ends_with(".tar.zst"), "kill {kill}: {name} is not an archive");
            verify_snapshot(&folder.join(name), &ProgressBar::hidden()).await.unwrap_or_else(|error| {
                panic!("kill {kill} (after {delay:?}) left {name}, which does not verify: {error}")
            });
        }
        for entry in std::fs::read_dir(&folder).expect("folder").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.') || name.ends_with(".partial"),
                "kill {kill}: {name} is neither an archive nor a hidden partial one"
            );
        }
        if new.is_empty() && !ended_alone {
            cut_short += 1
        } else {
            finished += 1
        }
        earlier = now;
    }
    eprintln!(
        "kill -9 during snapshot creation (seed {seed}, a whole run {full_run:?}): {cut_short} cut short, {finished} finished first; {} archives, all verify",
        earlier.len()
    );
    assert!(cut_short >= KILLS / 4, "most kills must land during the snapshot ({cut_short} of {KILLS})");
    // The next run clears the dead runs' leftovers, and every archive restores.
    let last = run().wait_with_output().expect("last snapshot");
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
    let staging: Vec<String> = std::fs::read_dir(data_dir.snapshot_staging())
        .expect("staging")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(staging, ["lock"], "nothing staged is left behind");
    for name in archives(&folder).keys() {
        let target = data.path().join("restores").join(name);
        let restored = restore_snapshot(&folder.join(name), &target, &ProgressBar::hidden()).await.expect("restores");
        assert_eq!(restored.manifest.indexes.iter().map(|index| index.documents).sum::<u64>(), 30_000);
    }
}

/// The alias switch under load: searches through an alias while a new index is built beside the
/// live one and the alias is switched to it; every answer is a 200 with hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alias_switched_to_a_rebuilt_index_under_load_fails_no_request() {
    const CLIENTS: usize = 8;
    let server = Arc::new(Server::open());
    upsert(&server, "shop-v1", &products(3_000, 1)).await;
    let answer = server.put("/v1/aliases/shop", None, &json!({"index": "shop-v1"})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["previous"], Value::Null);

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (server, stop) = (server.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let (mut requests, mut failed, mut empty) = (0u64, Vec::new(), 0u64);
            let mut served_by = BTreeMap::<String, u64>::new();
            let mut n = client;
            while !stop.load(Ordering::Relaxed) {
                let query = format!("{} {}", COLOURS[n % COLOURS.len()], WORDS[(n / 6) % WORDS.len()]);
                let answer = server.post("/v1/indexes/shop/search", None, &json!({"q": query})).await;
                requests += 1;
                n += CLIENTS;
                if answer.status != StatusCode::OK {
                    failed.push(format!("{}: {}", answer.status, answer.text));
                    continue;
                }
                if hit_ids(&answer.json()).is_empty() {
                    empty += 1;
                }
                let index = answer.headers.get("vitrine-index").and_then(|value| value.to_str().ok()).unwrap_or("none");
                *served_by.entry(index.to_owned()).or_default() += 1;
            }
            (requests, failed, empty, served_by)
        }));
    }
    // The reindex: a new index with another analyzer (French stemming) and other typo settings,
    // filled in batches while the old one serves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = server.put("/v1/indexes/shop-v2/settings/language", None, &json!("fr")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let typo = json!({"enabled": true, "min_word_len_one_typo": 4, "min_word_len_two_typos": 8});
    let answer = server.put("/v1/indexes/shop-v2/settings/typo_tolerance", None, &typo).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    for batch in products(3_000, 2).chunks(500) {
        upsert(&server, "shop-v2", batch).await;
    }
    let switch = server.put("/v1/aliases/shop", None, &json!({"index": "shop-v2"})).await;
    assert_eq!(switch.json()["previous"], "shop-v1");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The old index can go once nothing names it.
    assert_eq!(server.send(Method::DELETE, "/v1/indexes/shop", None, None).await.error_code(), "alias_conflict");
    assert_eq!(server.send(Method::DELETE, "/v1/indexes/shop-v1", None, None).await.status, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut requests, mut failed, mut empty) = (0u64, Vec::new(), 0u64);
    let mut served_by = BTreeMap::<String, u64>::new();
    for client in clients {
        let (r, f, e, by) = client.await.expect("client");
        requests += r;
        failed.extend(f);
        empty += e;
        for (index, count) in by {
            *served_by.entry(index).or_default() += count;
        }
    }
    eprintln!(
        "alias switch under load: {requests} searches by {CLIENTS} clients, {} failed, {empty} empty, served by {served_by:?}",
        failed.len()
    );
    assert!(failed.is_empty(), "{} failed: {:?}", failed.len(), &failed[..failed.len().min(5)]);
    assert_eq!(empty, 0, "no search through the alias came back empty");
    assert!(served_by.get("shop-v1").copied().unwrap_or(0) > 100, "{served_by:?}");
    assert!(served_by.get("shop-v2").copied().unwrap_or(0) > 100, "{served_by:?}");
    assert_eq!(served_by.len(), 2, "every answer names the index behind the alias: {served_by:?}");

    // Every index route takes the alias; the answer's index is the new one.
    let product = server.get("/v1/indexes/shop/documents/p7", None).await;
    assert_eq!(product.json()["version"], 2);
    assert_eq!(server.get("/v1/indexes/shop/settings/typo_tolerance", None).await.json()["min_word_len_one_typo"], 4);
    assert_eq!(server.get("/v1/indexes/shop/settings/language", None).await.json(), "fr");
    let suggest = server.get("/v1/indexes/shop/suggest?q=mu", None).await;
    assert_eq!(suggest.status, StatusCode::OK, "{}", suggest.text);
    let events = json!([{"type": "click", "product_id": "p7", "user_id": "u1"}]);
    assert_eq!(server.post("/v1/indexes/shop/events", None, &events).await.status, StatusCode::ACCEPTED);
    let experiments = server.get("/v1/indexes/shop/experiments", None).await;
    assert_eq!(experiments.status, StatusCode::OK, "{}", experiments.text);
    let recommendations = server.post("/v1/indexes/shop/recommendations", None, &json!({"kind": "trending"})).await;
    assert_eq!(recommendations.error_code(), "model_not_trained", "the route is reached, for the new index");
    let aliases = server.get("/v1/aliases", None).await.json();
    assert_eq!(aliases, json!([{"alias": "shop", "index": "shop-v2"}]));
    assert_eq!(
        server.put("/v1/aliases/shop-v2", None, &json!({"index": "shop-v2"})).await.error_code(),
        "alias_conflict"
    );
    assert_eq!(
        server.put("/v1/aliases/other", None, &json!({"index": "nowhere"})).await.error_code(),
        "index_not_found"
    );
    assert_eq!(server.send(Method::DELETE, "/v1/aliases/shop", None, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/v1/aliases/shop", None).await.error_code(), "alias_not_found");
    assert_eq!(
        server.post("/v1/indexes/shop/search", None, &json!({"q": "mug"})).await.error_code(),
        "index_not_found"
    );
}

/// A snapshot taken while a Kafka indexer consumes a topic under load holds one commit point with
/// its offsets; restored, a new indexer resumes exactly there (it consumes what came after, no
/// more, no less) and ends with the same products as the live index.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_snapshot_during_kafka_load_restores_and_an_indexer_resumes_from_its_offsets() {
    const CHUNKS: u64 = 30;
    const PER_CHUNK: u64 = 100;
    let Some(brokers) = kafka_brokers("a_snapshot_during_kafka_load_restores_and_an_indexer_resumes_from_its_offsets")
    else {
        return;
    };
    let topic = unique_topic("vitrine-snapshot");
    create_topic(&brokers, &topic, 3).await;
    let live = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(live.path());
    let indexer = Indexer::start(&data_dir, config(&brokers, &topic, None));
    let load = {
        let (brokers, topic) = (brokers.clone(), topic.clone());
        tokio::spawn(async move {
            let producer = producer(&brokers);
            for chunk in 0..CHUNKS {
                // Each chunk upserts 100 of 500 products at a newer version.
                let events: Vec<Value> = (0..PER_CHUNK)
                    .map(|n| {
                        let id = format!("p{}", (chunk * PER_CHUNK + n) % 500);
                        let title = format!("{} {} v{chunk}", COLOURS[n as usize % 6], WORDS[n as usize % 12]);
                        upserted(&id, chunk + 1, json!({"title": title, "price": 4.5, "currency": "EUR"}))
                    })
                    .collect();
                send_events(&producer, &topic, &events).await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    // Snapshots while the load runs, once the indexer has committed some of it.
    let index = indexer.index.clone();
    crate::kafka_support::wait_for("a third of the load indexed", || {
        let index = index.clone();
        async move { index.len() >= 300 }
    })
    .await;
    let folder = data_dir.snapshots();
    let commerce = CommerceSource::Sqlite(data_dir.commerce_db());
    let report = create_snapshot(&data_dir, &commerce, &folder, &ProgressBar::hidden()).await.expect("snapshot");
    assert!(!load.is_finished(), "the snapshot was taken during the load");
    load.await.expect("load");
    indexer.wait_consumed(CHUNKS * PER_CHUNK).await;
    let live_products = crate::kafka_support::products(&indexer.index);
    let stats = indexer.handle.stop_and_join().expect("a clean stop");
    assert_eq!(stats.consumed, CHUNKS * PER_CHUNK);

    let entry = report.manifest.indexes.iter().find(|index| index.name == "products").expect("the index");
    let offsets = entry.offsets.get(&topic).expect("the topic's offsets");
    let consumed_before: i64 = offsets.values().sum();
    assert!(consumed_before > 0 && (consumed_before as u64) < CHUNKS * PER_CHUNK, "taken mid-load: {offsets:?}");

    let restored_dir = live.path().join("restored");
    let restored = restore_snapshot(&report.archive, &restored_dir, &ProgressBar::hidden()).await.expect("restores");
    assert_eq!(restored.manifest, report.manifest);
    let resumed = Indexer::start(&DataDir::new(&restored_dir), config(&brokers, &topic, None));
    assert_eq!(resumed.index.len(), entry.documents, "the restored index starts as the manifest says");
    resumed.wait_consumed(CHUNKS * PER_CHUNK - consumed_before as u64).await;
    assert_eq!(crate::kafka_support::products(&resumed.index), live_products, "the same products at the same versions");
    eprintln!(
        "snapshot during Kafka load: {} of {} events in it ({} products), the restored indexer consumed the other {}",
        consumed_before,
        CHUNKS * PER_CHUNK,
        entry.documents,
        CHUNKS * PER_CHUNK - consumed_before as u64
    );
    resumed.handle.stop_and_join().expect("a clean stop");
}

/// `vitrine dump` then `vitrine load` into a new data directory: the same products at the same
/// versions, settings, settings history, synonyms, interactions and aliases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_loads_into_a_new_data_directory_with_everything_it_names() {
    let Some(binary) = vitrine_bin("a_dump_loads_into_a_new_data_directory_with_everything_it_names") else {
        return;
    };
    let server = Server::open();
    upsert(&server, "shop", &products(250, 3)).await;
    let synonyms = json!([{"type": "multi_way", "terms": ["jug", "pitcher"]}]);
    assert_eq!(server.put("/v1/indexes/shop/settings/synonyms", None, &synonyms).await.status, StatusCode::OK);
    let display = json!({"title": "The shop", "facet_labels": {}});
    assert_eq!(server.put("/v1/indexes/shop/settings/display", None, &display).await.status, StatusCode::OK);
    let events: Vec<Value> = (0..40)
        .map(|n| json!({"type": if n % 4 == 0 { "purchase" } else { "click" }, "product_id": format!("p{}", n % 9), "user_id": format!("u{}", n % 7)}))
        .collect();
    assert_eq!(server.post("/v1/indexes/shop/events", None, &json!(events)).await.status, StatusCode::ACCEPTED);
    server.state.interactions.flush().await;
    assert_eq!(server.put("/v1/aliases/store", None, &json!({"index": "shop"})).await.status, StatusCode::OK);

    let work = tempfile::tempdir().expect("temp dir");
    let (dump, loaded) = (work.path().join("dump"), work.path().join("loaded"));
    let data = server.state.catalog.data_dir().root().to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&binary).args(args).output().expect("run vitrine");
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let printed = run(&["--data-dir", &data, "dump", "--out", &dump.to_string_lossy()]);
    assert!(
        printed.contains("index shop: 250 products, 3 settings versions, 1 synonym rules, 40 interactions"),
        "{printed}"
    );
    for file in ["products.jsonl", "settings.json", "settings.history.jsonl", "synonyms.jsonl", "interactions.parquet"]
    {
        assert!(dump.join("indexes/shop").join(file).is_file(), "{file}");
    }
    run(&["--data-dir", &loaded.to_string_lossy(), "load", &dump.to_string_lossy()]);

    let copy = Server::over(Catalog::new(DataDir::new(&loaded)));
    let shop = IndexName::new("shop").expect("name");
    let all = |server: &Server| {
        let mut products = server.state.catalog.products(&shop).expect("products");
        products.sort_by(|a, b| a.id.cmp(&b.id));
        products
    };
    assert_eq!(all(&copy), all(&server), "the same products at the same versions");
    assert_eq!(
        copy.get("/v1/indexes/shop/settings", None).await.json(),
        server.get("/v1/indexes/shop/settings", None).await.json()
    );
    assert_eq!(
        copy.get("/v1/indexes/shop/settings/history", None).await.json(),
        server.get("/v1/indexes/shop/settings/history", None).await.json()
    );
    let request = json!({"q": "pitcher", "per_page": 50});
    let (original, restored) = (
        server.post("/v1/indexes/store/search", None, &request).await.json(),
        copy.post("/v1/indexes/store/search", None, &request).await.json(),
    );
    assert_eq!(restored["total"], original["total"], "the alias and the synonyms came along");
    let logged = |dir: &Path| {
        vitrine_pipelines::collect_interactions(&DataDir::new(dir).interactions(&shop), |frame| frame)
            .expect("log")
            .map_or(0, |frame| frame.height())
    };
    assert_eq!(logged(&loaded), 40);
    assert_eq!(logged(server.state.catalog.data_dir().root()), 40);

    // A second load into a used data directory is refused, and a dump without its manifest too.
    let again = std::process::Command::new(&binary)
        .args(["--data-dir", &loaded.to_string_lossy(), "load", &dump.to_string_lossy()])
        .output()
        .expect("run");
    assert!(!again.status.success());
    std::fs::remove_file(dump.join("dump.json")).expect("remove");
    let incomplete = std::process::Command::new(&binary)
        .args(["--data-dir", &work.path().join("other").to_string_lossy(), "load", &dump.to_string_lossy()])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&incomplete.stderr).contains("incomplete"),
        "{}",
        String::from_utf8_lossy(&incomplete.stderr)
    );
}

/// `serve --snapshot-interval 1s --snapshot-keep 2`: snapshots come on schedule while the server
/// runs, and only the newest two are kept, each whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_snapshots_come_every_interval_and_only_the_newest_are_kept() {
    let Some(binary) = vitrine_bin("scheduled_snapshots_come_every_interval_and_only_the_newest_are_kept") else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(data.path());
    let drafts: Vec<vitrine_models::Product> = products(100, 1)
        .into_iter()
        .map(|value| {
            let draft: vitrine_models::ProductDraft = serde_json::from_value(value).expect("draft");
            vitrine_models::Product::try_from(draft).expect("product")
        })
        .collect();
    Catalog::new(data_dir.clone()).upsert(&IndexName::new("shop").expect("name"), drafts).expect("upsert");
    let mut server = std::process::Command::new(&binary)
        .args(["--data-dir", &data.path().to_string_lossy(), "serve", "--listen", "127.0.0.1:0"])
        .args(["--snapshot-interval", "1s", "--snapshot-keep", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn vitrine serve");
    let folder = data_dir.snapshots();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 4 && Instant::now() < deadline {
        seen.extend(archives(&folder).into_keys());
        assert!(archives(&folder).len() <= 2 + 1, "retention keeps at most two (and the one just written)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let output = server.wait_with_output().expect("wait");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("a snapshot every 1s"), "{printed}");
    assert!(seen.len() >= 4, "four scheduled snapshots within a minute: {seen:?}");
    let kept = listed(&folder);
    assert_eq!(kept.len(), 2, "the newest two are kept: {kept:?}");
    assert_eq!(kept, seen.iter().rev().take(2).rev().cloned().collect::<Vec<_>>(), "the newest two");
    for name in &kept {
        let report = verify_snapshot(&folder.join(name), &ProgressBar::hidden()).await.expect("verifies");
        assert_eq!(report.manifest.indexes[0].documents, 100);
    }
}

/// The archives of a snapshot folder, by name.
fn listed(folder: &Path) -> Vec<String> {
    vitrine::snapshots::list_snapshots(folder)
        .expect("list")
        .into_iter()
        .map(|listing| listing.archive.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}
