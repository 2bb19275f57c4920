//! The command line end to end, through the built `vitrine` binary: import a catalog, train from
//! an interaction file, evaluate search (with a draft of the settings) and recommendations (with a
//! grid), and read the JSON and HTML reports they write.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use vitrine_e2e::vitrine_bin;

/// Runs `vitrine --data-dir DATA args…`, asserting success; returns standard output.
fn run(bin: &Path, data: &Path, args: &[&str]) -> String {
    let output = Command::new(bin).arg("--data-dir").arg(data).args(args).output().expect("vitrine runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "vitrine {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Two families of products; customers buy within their family over 40 days.
fn write_shop(dir: &Path) {
    let mut products = String::new();
    for (family, titles) in [
        ("lamp", ["desk lamp", "floor lamp", "lamp shade", "bulb pack"]),
        ("mug", ["coffee mug", "tea mug", "mug rack", "saucer set"]),
    ] {
        for (n, title) in titles.iter().enumerate() {
            products.push_str(&format!(
                "{{\"id\": \"{family}-{n}\", \"title\": \"{title}\", \"category\": \"{family}s\", \"price\": 5, \"currency\": \"GBP\", \"stock\": 10}}\n"
            ));
        }
    }
    std::fs::write(dir.join("products.jsonl"), products).expect("write products");
    let mut interactions = String::from("user_id,product_id,event,quantity,timestamp\n");
    for user in 0..40u32 {
        let family = if user % 2 == 0 { "lamp" } else { "mug" };
        for day in 0..4u32 {
            let product = (user + day) % 4;
            let time = 1_700_000_000 + i64::from(day * 10 + user % 10) * 86_400;
            interactions.push_str(&format!("u{user},{family}-{product},purchase,1,{time}\n"));
        }
    }
    interactions.push_str("u1,lamp-0,like,1,1700000000\n"); // a bad line: reported, skipped
    std::fs::write(dir.join("interactions.csv"), interactions).expect("write interactions");
}

#[test]
fn import_train_and_evaluate_from_the_command_line() {
    let Some(bin) = vitrine_bin("import_train_and_evaluate_from_the_command_line") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (files, data) = (dir.path(), dir.path().join("data"));
    write_shop(files);

    run(&bin, &data, &["import", "products", "--index", "shop", files.join("products.jsonl").to_str().expect("utf-8")]);
    let trained = run(
        &bin,
        &data,
        &["train", "--index", "shop", "--interactions", files.join("interactions.csv").to_str().expect("utf-8")],
    );
    assert!(trained.contains("160 interactions appended") && trained.contains("1 bad lines skipped"), "{trained}");
    assert!(trained.contains("ease_seconds"), "EASE is part of every training run: {trained}");

    // Search: the shop's judgments, with typos, and a draft adding a synonym.
    std::fs::write(
        files.join("judgments.csv"),
        "query_id,query,product_id,relevance\n1,desk lamp,lamp-0,3\n1,desk lamp,lamp-2,2\n2,cup,mug-0,3\n2,cup,mug-1,3\n3,saucers,mug-3,3\n4,gone,nope,3\n",
    )
    .expect("write judgments");
    std::fs::write(files.join("draft.json"), r#"{"synonyms": [{"type": "multi_way", "terms": ["cup", "mug"]}]}"#)
        .expect("write draft");
    let out = files.join("search-out");
    let printed = run(
        &bin,
        &data,
        &[
            "eval",
            "search",
            "--index",
            "shop",
            "--judgments",
            files.join("judgments.csv").to_str().expect("utf-8"),
            "--typos",
            "--settings",
            files.join("draft.json").to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(
        printed.contains("3 judged queries") && printed.contains("1 judgments of products not in the index"),
        "{printed}"
    );
    assert!(printed.contains("draft vs live"), "{printed}");
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("search-report.json")).expect("JSON report"))
        .expect("valid JSON");
    let recall = |run: &str| report["runs"][run]["recall"]["mean"].as_f64().unwrap_or(-1.0);
    assert!(recall("draft, as typed") > recall("live, as typed"), "the synonym finds mugs for `cup`: {report}");
    assert_eq!(report["comparison"].as_array().map(Vec::len), Some(8), "4 metrics × 2 variants");
    let html = std::fs::read_to_string(out.join("search-report.html")).expect("HTML report");
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 3, "plots in the page");

    // Recommendations: the generic CSV, a test fraction, a grid over ALS factors.
    std::fs::write(files.join("grid.json"), r#"{"ials.factors": [4, 8], "ials.iterations": [3]}"#).expect("write grid");
    let out = files.join("recs-out");
    let printed = run(
        &bin,
        &data,
        &[
            "eval",
            "recs",
            "--interactions",
            files.join("interactions.csv").to_str().expect("utf-8"),
            "--test-fraction",
            "0.25",
            "--models",
            "pop,ials,hybrid",
            "--grid",
            files.join("grid.json").to_str().expect("utf-8"),
            "--k",
            "5",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("recs-report.json")).expect("JSON report")).expect("valid JSON");
    let names: Vec<&str> =
        report["models"].as_array().expect("models").iter().filter_map(|m| m["model"].as_str()).collect();
    assert_eq!(names.len(), 5, "popularity once, ials and hybrid per factor count: {names:?}\n{printed}");
    assert!(names.iter().any(|name| name.starts_with("ials [") && name.contains("ials.factors=4")), "{names:?}");
    for model in report["models"].as_array().expect("models") {
        assert!(model["recall@5"].is_number() && model["ndcg@5"].is_number(), "{model}");
        assert_eq!(model["popularity_deciles"].as_array().map(Vec::len), Some(10), "{model}");
    }
    let html = std::fs::read_to_string(out.join("recs-report.html")).expect("HTML report");
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 4, "plots in the page");
}

/// Runs `vitrine --data-dir DATA args…`, asserting failure; returns standard error.
fn run_failing(bin: &Path, data: &Path, args: &[&str]) -> String {
    let output = Command::new(bin).arg("--data-dir").arg(data).args(args).output().expect("vitrine runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "vitrine {args:?} should fail:\n{}", String::from_utf8_lossy(&output.stdout));
    stderr
}

#[test]
fn an_import_without_one_usable_line_fails_and_strict_refuses_any_bad_line() {
    let Some(bin) = vitrine_bin("an_import_without_one_usable_line_fails_and_strict_refuses_any_bad_line") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (files, data) = (dir.path(), dir.path().join("data"));
    let path = |name: &str| files.join(name).to_str().expect("utf-8").to_owned();
    // Every line is bad (a price without its currency): the import fails and imports nothing.
    std::fs::write(
        files.join("all-bad.jsonl"),
        "{\"id\": \"a\", \"title\": \"Mug\", \"price\": 12.5}\n{\"id\": \"b\"}\n",
    )
    .expect("write feed");
    let refused = run_failing(&bin, &data, &["import", "products", "--index", "shop", &path("all-bad.jsonl")]);
    assert!(refused.contains("none of its 2 lines could be used"), "{refused}");
    assert!(refused.contains("currency"), "the bad lines are reported with their reason: {refused}");
    // One good line and one bad: imported with the bad one skipped, unless --strict.
    std::fs::write(
        files.join("mixed.jsonl"),
        "{\"id\": \"c\", \"title\": \"Cup\"}\n{\"id\": \"d\", \"title\": \"\"}\n",
    )
    .expect("write feed");
    let strict = run_failing(&bin, &data, &["import", "products", "--index", "shop", "--strict", &path("mixed.jsonl")]);
    assert!(strict.contains("1 bad lines (--strict): nothing imported"), "{strict}");
    // "1 inserted": the refused --strict import had left its good line out too.
    let lenient = run(&bin, &data, &["import", "products", "--index", "shop", &path("mixed.jsonl")]);
    assert!(lenient.contains("1 inserted") && lenient.contains("1 bad lines skipped"), "{lenient}");
    // Interactions follow the same rule.
    std::fs::write(files.join("bad.csv"), "user_id,product_id,event,quantity,timestamp\nu1,c,like,1,1700000000\n")
        .expect("write interactions");
    let refused = run_failing(&bin, &data, &["import", "interactions", "--index", "shop", &path("bad.csv")]);
    assert!(refused.contains("none of its 1 lines could be used"), "{refused}");
    // Prices without a currency: `--currency` says which.
    let priced =
        run(&bin, &data, &["import", "products", "--index", "shop", "--currency", "eur", &path("all-bad.jsonl")]);
    assert!(priced.contains("1 inserted") && priced.contains("1 bad lines skipped"), "{priced}");
    let catalog = vitrine_indexer::Catalog::new(vitrine_models::DataDir::new(&data));
    let (shop, mug) =
        (vitrine_models::IndexName::new("shop").expect("name"), vitrine_models::ProductId::new("a").expect("id"));
    let mug = catalog.product(&shop, &mug).expect("read").expect("the mug was imported");
    assert_eq!(mug.price.map(|price| price.currency), Some(vitrine_models::Currency::EUR));
    drop(catalog);
    let refused = run_failing(
        &bin,
        &data,
        &["import", "products", "--index", "shop", "--currency", "ZZZ", &path("all-bad.jsonl")],
    );
    assert!(refused.contains("currency"), "{refused}");
}

#[test]
fn log_lines_are_json_objects_with_log_format_json() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let Some(bin) = vitrine_bin("log_lines_are_json_objects_with_log_format_json") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Command::new(bin)
        .args(["--log-format", "json", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vitrine starts");
    let mut stdout = BufReader::new(server.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    while !line.contains("Vitrine API on") {
        line.clear();
        assert!(stdout.read_line(&mut line).expect("read stdout") > 0, "the server stopped before listening");
    }
    // SIGTERM: the server logs that it shuts down, and stops.
    let killed = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let mut stderr = String::new();
    server.stderr.take().expect("piped stderr").read_to_string(&mut stderr).expect("read stderr");
    assert!(server.wait().expect("the server stops").success(), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
        .collect();
    let shutdown = lines
        .iter()
        .find(|line| line["fields"]["message"] == "shutting down")
        .unwrap_or_else(|| panic!("no shut-down line in {stderr}"));
    assert_eq!(shutdown["level"], "INFO");
    assert!(shutdown["timestamp"].is_string() && shutdown["target"].is_string(), "{shutdown}");
}
