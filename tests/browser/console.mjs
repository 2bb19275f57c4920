// Browser tests of the merchandiser console (/console), against the same running `vitrine demo`
// as storefront.mjs (index `retail`, keys set: the console signs in with the admin key, ADMIN_KEY),
// with the shared harness (harness.mjs).
// The demo's settings are left as they were found: what is published is rolled back, and every
// experiment started is stopped.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { artifacts, base, finish, searchStorefront, test } from "./harness.mjs";

const INDEX = "retail";
// A word the demo shop has no product for, and the word its shoppers mean by it.
const WORD = "brolly";
const TARGET = "umbrella";
const NAME = "Zoë Łukasiewicz (test)";
const settingsPath = `/v1/indexes/${INDEX}/settings`;
const ADMIN_KEY = process.env.ADMIN_KEY || "";
const authorization = ADMIN_KEY ? { Authorization: `Bearer ${ADMIN_KEY}` } : {};

/** The HTTP API, from the test itself (to check the demo data and the log). */
async function api(method, path, body, headers = {}) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? { ...authorization, ...headers } : { "Content-Type": "application/json", ...authorization, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const searchApi = (q, perPage = 10) => api("POST", `/v1/indexes/${INDEX}/search`, { q, per_page: perPage });

/** Searches `q` in the demo storefront; returns the total of that search's results. */
async function shopSearch(shop, q) {
  await shop.locator("vitrine-results .grid li").first().waitFor(); // the browse results first
  return (await searchStorefront(shop, q)).total;
}

/** Opens the console on the demo index and waits for its settings. */
async function openConsole(page) {
  await page.bringToFront();
  // Signed in: the key the merchandiser typed is kept in the session.
  await page.addInitScript((key) => sessionStorage.setItem("vitrine.console.key", key), ADMIN_KEY);
  await page.goto(`${base}/console?index=${INDEX}`);
  await page.locator("#draftbar[data-state=clean]").waitFor();
}

async function addOneWaySynonym(page, input, synonyms) {
  await page.getByRole("tab", { name: /Synonyms/ }).click();
  await page.getByLabel("Kind", { exact: true }).selectOption("one_way");
  await page.getByLabel("Shopper types").fill(input);
  await page.getByLabel("Also finds").fill(synonyms);
  await page.getByRole("button", { name: "Add synonym" }).click();
  await page.locator("#draft-state", { hasText: "Draft differs from live: synonyms" }).waitFor();
}

/** Types `q` in the preview box and waits for both columns; returns the milliseconds it took. */
async function preview(page, q, { keyboard = false } = {}) {
  await page.evaluate(() => delete document.getElementById("preview-columns").dataset.q);
  const box = page.getByLabel("Query to preview");
  const started = Date.now();
  if (keyboard) {
    await box.focus();
    await page.keyboard.type(q);
    await page.keyboard.press("Enter");
  } else {
    await box.fill(q);
  }
  await page.waitForFunction((q) => document.getElementById("preview-columns").dataset.q === q, q);
  return Date.now() - started;
}

const column = (page, side) => page.locator(`[data-column=${side}] .hits li[data-id]`);

await test("change a synonym in the console and see the storefront follow", async (page) => {
  assert.equal((await searchApi(WORD)).total, 0, `the demo shop finds nothing for “${WORD}” yet`);
  assert.ok((await searchApi(TARGET)).total >= 3, `the demo shop has products for “${TARGET}”`);
  // On a fresh demo the log is empty: the first publish saves the settings as found as version 1.
  const fresh = (await api("GET", `${settingsPath}/history`)).length === 0;

  const shop = await page.context().newPage();
  await shop.goto(`${base}/`);
  assert.equal(await shopSearch(shop, WORD), 0);
  assert.match(await shop.locator("vitrine-results .summary").innerText(), /No results/);
  assert.equal(await shop.locator("vitrine-results input[data-bound]").count(), 0, "no price range when nothing matched");

  await openConsole(page);
  await page.getByLabel("Your name").fill(NAME);
  await addOneWaySynonym(page, WORD, TARGET);
  const previewed = await preview(page, WORD);
  console.log(`     preview (typing → live and draft results rendered): ${previewed} ms`);
  assert.equal(await column(page, "live").count(), 0, "live finds nothing");
  assert.ok((await column(page, "draft").count()) >= 3, "the draft finds the umbrellas");
  assert.ok((await column(page, "draft").locator(".title").allInnerTexts()).every((title) => /UMBRELLA/i.test(title)));
  assert.equal(await column(page, "draft").locator("[data-move=new]").count(), await column(page, "draft").count(), "every draft hit is new");

  let started = Date.now();
  await page.getByRole("button", { name: "Publish draft" }).click();
  const status = page.locator("#status", { hasText: "Published as version" });
  await status.waitFor();
  console.log(`     publish (click → live settings, draft and audit log reloaded): ${Date.now() - started} ms`);
  const published = Number((await status.innerText()).match(/version (\d+)/)[1]);
  await page.locator("#draftbar[data-state=clean]").waitFor();
  const rows = page.locator("#history-table tbody tr");
  const newest = rows.first();
  assert.equal(await newest.getAttribute("data-version"), String(published));
  assert.equal(await newest.locator("[data-cell=actor]").innerText(), NAME);
  assert.match(await newest.locator("[data-cell=changed]").innerText(), /synonyms/);
  assert.equal(await newest.locator(".badge.live").count(), 1, "the newest version is marked live");
  const previous = Number(await rows.nth(1).getAttribute("data-version"));
  if (fresh) {
    assert.equal(previous, 1);
    assert.equal(await rows.nth(1).locator("[data-cell=note]").innerText(), "the settings before the first recorded change");
  }

  started = Date.now();
  await shop.reload();
  const found = await shopSearch(shop, WORD);
  console.log(`     storefront after publishing (reload → results): ${Date.now() - started} ms`);
  assert.ok(found >= 3, `the storefront finds ${found} products for “${WORD}”`);
  const titles = await shop.locator("vitrine-results .grid li a.title").allInnerTexts();
  assert.ok(titles.every((title) => /UMBRELLA/i.test(title)), `storefront titles: ${titles.join(" | ")}`);

  // Roll back to the version before: the shop is as the test found it.
  await page.bringToFront();
  await page.getByRole("button", { name: `Roll back to version ${previous}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await page.locator("#status", { hasText: `Rolled back to version ${previous}` }).waitFor();
  await page.locator(`#history-table tbody tr[data-version="${published + 1}"]`).waitFor();
  assert.equal(await rows.first().locator("[data-cell=note]").innerText(), `rollback of v${previous}`);
  assert.equal(await rows.first().locator("[data-cell=actor]").innerText(), NAME);
  await shop.reload();
  assert.equal(await shopSearch(shop, WORD), 0, "after the rollback the storefront finds nothing again");
  assert.match(await shop.locator("vitrine-results .summary").innerText(), /No results/);
});

await test("evaluate a draft on a judgments file", async (page) => {
  // Judgments with the demo's real products: the umbrellas are perfect for “brolly”; two
  // ordinary queries are judged by their current top results.
  const lines = ["query_id,query,product_id,relevance"];
  for (const hit of (await searchApi(TARGET, 6)).hits) lines.push(`q1,${WORD},${hit.id},3`);
  for (const [id, q] of [["q2", "lunch bag"], ["q3", "white hanging heart"]]) {
    for (const [i, hit] of (await searchApi(q, 4)).hits.entries()) lines.push(`${id},${q},${hit.id},${i < 2 ? 3 : 1}`);
  }
  const file = join(mkdtempSync(join(tmpdir(), "vitrine-console-")), "judgments.csv");
  writeFileSync(file, lines.join("\n") + "\n");
  const versions = (await api("GET", `${settingsPath}/history`)).length;

  await openConsole(page);
  await addOneWaySynonym(page, WORD, TARGET);
  await page.getByLabel("Judgments file (CSV)").setInputFiles(file);
  await page.getByLabel("Also with one injected typo per query").check();
  const started = Date.now();
  await page.getByRole("button", { name: "Evaluate draft" }).click();
  await page.locator("#evaluate-state .busy").waitFor();
  await page.locator("#comparison").waitFor({ timeout: 120_000 });
  console.log(`     evaluation (click → table, ${lines.length - 1} judgments, with typos): ${Date.now() - started} ms`);

  const ndcg = page.locator('#comparison tr[data-metric^="NDCG@10"][data-metric*="as typed"]');
  const live = Number(await ndcg.locator("[data-cell=live]").innerText());
  const draft = Number(await ndcg.locator("[data-cell=draft]").innerText());
  assert.ok(draft > live, `NDCG@10 as typed: draft ${draft} > live ${live}`);
  assert.match(await ndcg.locator("[data-cell=p]").innerText(), /^[01]\.\d{3}$/, "a p-value");
  assert.match(await ndcg.locator("[data-cell=difference]").getAttribute("class"), /better/);
  assert.equal(await page.locator('#comparison tr[data-metric^="NDCG@10"][data-metric*="typo"]').count(), 1, "the typo variant too");
  const brolly = page.locator(`#query-changes tr[data-query="${WORD}"][data-variant="as typed"]`);
  assert.ok(Number(await brolly.locator("[data-cell=draft]").innerText()) > Number(await brolly.locator("[data-cell=live]").innerText()));

  // Nothing is published: the draft is discarded.
  await page.getByRole("button", { name: "Discard draft" }).click();
  await page.locator("#draftbar[data-state=clean]").waitFor();
  assert.equal((await api("GET", `${settingsPath}/history`)).length, versions, "the evaluation saved no version");
});

await test("the preview works from the keyboard", async (page) => {
  await openConsole(page);
  // The editors are ARIA tabs: arrow keys move between them.
  await page.getByRole("tab", { name: /Synonyms/ }).focus();
  await page.keyboard.press("ArrowRight");
  const ranking = page.getByRole("tab", { name: /Ranking/ });
  assert.equal(await ranking.getAttribute("aria-selected"), "true");
  assert.ok(await ranking.evaluate((tab) => tab === document.activeElement), "the focus follows the tab");
  await page.getByLabel("Title", { exact: true }).waitFor();

  const elapsed = await preview(page, "heart t-light holder", { keyboard: true });
  console.log(`     keyboard preview (typing → results): ${elapsed} ms`);
  assert.ok((await column(page, "live").count()) > 0 && (await column(page, "draft").count()) > 0);
  assert.deepEqual(await column(page, "draft").evaluateAll((items) => items.map((item) => item.dataset.id)),
    await column(page, "live").evaluateAll((items) => items.map((item) => item.dataset.id)), "an unchanged draft ranks as live");
  assert.ok((await column(page, "draft").locator(".title em").count()) > 0, "matches are highlighted");
});

await test("a mistake in the draft is explained and never published", async (page) => {
  const versions = (await api("GET", `${settingsPath}/history`)).length;
  await openConsole(page);
  await page.getByRole("tab", { name: /Rules/ }).click();
  await page.getByRole("button", { name: "Add a rule" }).click();
  // Caught in the page: a rule without effect, then a boost that is not JSON.
  await page.locator("#problems", { hasText: "at least one product" }).waitFor();
  assert.ok(await page.getByRole("button", { name: "Publish draft" }).isDisabled(), "an incomplete draft cannot be published");
  const boost = page.getByLabel("Boost (JSON)");
  await boost.fill('[{"filter": {"brand": ');
  await page.locator("#problems", { hasText: "not valid JSON" }).waitFor();
  assert.equal(await boost.getAttribute("aria-invalid"), "true");
  // Caught by the server: a filter on a field the index does not have. Its message is shown.
  await page.getByLabel("Query", { exact: true }).fill("heart");
  await boost.fill('[{"filter": {"no_such_field": ["x"]}, "weight": 2}]');
  await page.locator("#problems").waitFor({ state: "hidden" });
  await page.getByLabel("Query to preview").fill("heart");
  const error = page.locator("#error[data-code=invalid_settings]");
  await error.waitFor();
  assert.match(await error.innerText(), /no_such_field/);
  await page.getByRole("button", { name: "Publish draft" }).click();
  await page.locator("#error", { hasText: "Publishing failed" }).waitFor();
  assert.match(await page.locator("#draft-state").innerText(), /Draft differs from live: rules/, "the draft is kept");

  await page.getByRole("button", { name: "Discard draft" }).click();
  await page.locator("#draftbar[data-state=clean]").waitFor();
  assert.equal((await api("GET", `${settingsPath}/history`)).length, versions, "nothing was saved");
});

// ---------------------------------------------------------------------------------------------
// The Experiments page: A/B and interleaving tests of a draft, on shoppers this test plays
// itself (searches and clicks sent with the search key, as a storefront sends them, each shopper
// a session id). Every experiment started here is stopped, and what a promotion published is
// rolled back.

const experimentsPath = `/v1/indexes/${INDEX}/experiments`;
const SEARCH_KEY = process.env.SEARCH_KEY || "";
const PREFIX = "console test: ";
const RUN = Date.now().toString(36);

/** What a storefront sends (the search key's credentials); a 429 is waited out as it says. */
async function storefrontCall(path, body) {
  const headers = { "Content-Type": "application/json", ...(SEARCH_KEY ? { Authorization: `Bearer ${SEARCH_KEY}` } : {}) };
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (response.status === 429 && attempt < 20) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get("retry-after") || 1)));
      continue;
    }
    if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text);
  }
}

/** A shopper's search: `session` names the shopper, so a running experiment answers it. */
const shopperSearch = (q, session) => storefrontCall(`/v1/indexes/${INDEX}/search`, { q, session_id: session, per_page: 10 });

/** A click on the first result of `answer`, as the storefront reports it. */
const firstResultClick = (answer, session) => ({ type: "click", product_id: answer.hits[0].id, query_id: answer.query_id, session_id: session, position: 1 });

/** The variant the server assigns `session` to (docs/experiments.md, "Assignment"; src/experiments/assign.rs). */
function assignedVariant(experiment, session) {
  const hash = createHash("sha256");
  for (const part of ["assign", experiment.id, `session:${session}`]) {
    const bytes = Buffer.from(part, "utf8");
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    hash.update(length);
    hash.update(bytes);
  }
  const point = (Number(hash.digest().readBigUInt64LE(0) >> 11n) / 2 ** 53) * experiment.variants.reduce((sum, variant) => sum + variant.weight, 0);
  let edge = 0;
  for (const variant of experiment.variants) {
    edge += variant.weight;
    if (point < edge) return variant.name;
  }
  return experiment.variants.at(-1).name;
}

/**
 * The experiment's results once they count what was sent: `expected` maps each variant to its
 * searches (exposures reach the analytics database a moment after their answer).
 */
async function countedResults(id, expected) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const experiment = await api("GET", `${experimentsPath}/${id}`);
    const counted = Object.fromEntries(experiment.results.variants.map((variant) => [variant.name, variant.searches]));
    if (Object.entries(expected).every(([name, searches]) => counted[name] === searches)) return experiment;
    if (Date.now() > deadline) throw new Error(`the results count ${JSON.stringify(counted)}, not the ${JSON.stringify(expected)} searches sent`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Stops `id` if it still runs (a test that failed half-way leaves nothing running). */
async function stopIfRunning(id) {
  if (!id) return;
  const experiment = await api("GET", `${experimentsPath}/${id}`);
  if (experiment.status === "running") await api("POST", `${experimentsPath}/${id}/stop`);
}

/** Rolls the settings back to `version` if something was published since. */
async function restoreSettings(version) {
  const newest = (await api("GET", `${settingsPath}/history`))[0]?.version;
  if (newest !== undefined && newest !== version) {
    await api("POST", `${settingsPath}/history/${version ?? 1}/restore`, undefined, { "X-Vitrine-Actor": encodeURIComponent(NAME) });
  }
}

/** From the console with a draft (a synonym), starts an experiment in the Experiments page's form; returns its id. */
async function startExperiment(page, { name, kind, metric }) {
  await page.getByRole("link", { name: "Experiments" }).click();
  assert.match(new URL(page.url()).hash, /^#experiments/);
  const form = page.locator("#experiment-form");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Type of test").selectOption(kind);
  if (metric) await form.getByLabel("Primary metric").selectOption(metric);
  else assert.ok(await form.getByLabel("Primary metric").isDisabled(), "interleaving has no primary metric to choose");
  assert.match(await page.locator("#experiment-variants-summary").innerText(), /“live”.*“draft” \(its synonyms\)/);
  await form.getByRole("button", { name: "Start the experiment" }).click();
  await page.locator("#status", { hasText: `Experiment “${name}” started` }).waitFor();
  const detail = page.locator("#experiment-detail[data-status=running]");
  await detail.waitFor();
  const id = await detail.getAttribute("data-id");
  assert.equal(new URL(page.url()).hash, `#experiments/${id}`, "the address names the experiment shown");
  assert.equal(await page.locator("#experiment-title").getByText(name).count(), 1);
  const row = page.locator(`#experiment-table tr[data-id="${id}"]`);
  assert.equal(await row.locator("[data-cell=status] [data-status]").getAttribute("data-status"), "running");
  assert.equal(await row.locator("[data-cell=kind]").innerText(), kind === "ab" ? "A/B test" : "Interleaving");
  assert.equal(await row.locator("[data-cell=surface]").innerText(), "search");
  assert.equal(await page.locator("#experiment-table tbody tr").first().getAttribute("data-id"), id, "newest first");
  return id;
}

/** Waits until the page shows, by itself, `experiment`'s counts per variant. */
async function pageShowsCounts(page, experiment) {
  const expected = experiment.results.variants.map((variant) => [variant.name, variant.identities, variant.searches, variant.clicked_searches]);
  await page.waitForFunction((expected) => expected.every(([name, ...numbers]) => {
    const row = document.querySelector(`#experiment-counts tr[data-variant="${name}"]`);
    if (!row) return false;
    const shown = ["identities", "searches", "clicked_searches"].map((cell) => row.querySelector(`[data-cell=${cell}]`).textContent.trim());
    return shown.every((text, i) => text === String(numbers[i]));
  }), expected, { timeout: 15_000 });
}

// An earlier run that crashed may have left its experiment running.
for (const experiment of (await api("GET", experimentsPath)).results) {
  if (experiment.status === "running" && experiment.name.startsWith(PREFIX)) await api("POST", `${experimentsPath}/${experiment.id}/stop`);
}

await test("an A/B test of a draft: started from the console, its results refreshing by themselves, the draft promoted", async (page) => {
  const before = (await api("GET", `${settingsPath}/history`))[0]?.version;
  const name = `${PREFIX}a/b “${WORD}” ${RUN}`;
  let id = null;
  try {
    await openConsole(page);
    await page.getByLabel("Your name").fill(NAME);
    await addOneWaySynonym(page, WORD, TARGET);
    id = await startExperiment(page, { name, kind: "ab", metric: "click_through_rate" });
    const created = await api("GET", `${experimentsPath}/${id}`);
    assert.equal(created.primary_metric, "click_through_rate");
    assert.deepEqual(created.variants.map((variant) => [variant.name, variant.weight]), [["live", 1], ["draft", 1]]);
    assert.equal(created.variants[0].settings, "live");
    assert.deepEqual(Object.keys(created.variants[1].settings), ["synonyms"], "the draft's changed parts only");
    assert.ok(created.variants[1].settings.synonyms.some((synonym) => synonym.input === WORD && synonym.synonyms.includes(TARGET)));
    const firstComputed = await page.locator("#experiment-detail").getAttribute("data-computed-at");

    // 40 shoppers search “brolly”: the draft finds umbrellas, live nothing. Two of three draft
    // shoppers click; every fourth shopper also searches “umbrella” (both find it) and clicks.
    const searches = { live: 0, draft: 0 };
    const shoppers = { live: 0, draft: 0 };
    const clicked = { live: 0, draft: 0 };
    const clicks = [];
    for (let shopper = 0; shopper < 40; shopper++) {
      const session = `console-ab-${RUN}-${shopper}`;
      const answer = await shopperSearch(WORD, session);
      assert.equal(answer.experiment?.id, id, `the experiment answers: ${JSON.stringify(answer.experiment)}`);
      const variant = answer.experiment.variant;
      if (variant === "live") assert.equal(answer.total, 0, "live finds nothing for the word");
      else assert.ok(answer.total >= 3, "the draft finds the umbrellas");
      searches[variant]++;
      shoppers[variant]++;
      if (answer.hits.length && shopper % 3 !== 0) {
        clicks.push(firstResultClick(answer, session));
        clicked[variant]++;
      }
      if (shopper % 4 === 0) {
        const again = await shopperSearch(TARGET, session);
        assert.equal(again.experiment?.variant, variant, "a shopper keeps their variant");
        searches[variant]++;
        clicks.push(firstResultClick(again, session));
        clicked[variant]++;
      }
    }
    assert.ok(shoppers.live > 0 && shoppers.draft > 0, `both variants have shoppers: ${JSON.stringify(shoppers)}`);
    await storefrontCall(`/v1/indexes/${INDEX}/events`, clicks);
    const results = await countedResults(id, searches);
    for (const variant of results.results.variants) {
      assert.equal(variant.identities, shoppers[variant.name], `${variant.name}: shoppers`);
      assert.equal(variant.clicked_searches, clicked[variant.name], `${variant.name}: clicked searches`);
    }

    // The page follows by itself (nobody clicks Refresh).
    const started = Date.now();
    await pageShowsCounts(page, results);
    console.log(`     experiment results on the page (traffic counted → shown, refreshing every 5 s): ${Date.now() - started} ms`);
    assert.notEqual(await page.locator("#experiment-detail").getAttribute("data-computed-at"), firstComputed);
    assert.match(await page.locator("#experiment-updated").innerText(), /refreshes every 5 s/);
    const shown = await api("GET", `${experimentsPath}/${id}`);
    await page.locator("#experiment-verdict [data-cell=verdict]", { hasText: shown.results.verdict }).waitFor();
    // Each comparison with the control: its interval drawn around 0 when it has one, "—" when not.
    const comparisons = page.locator("#experiment-comparisons tbody tr");
    assert.equal(await comparisons.count(), shown.results.comparisons.length);
    assert.equal(await comparisons.first().getAttribute("data-metric"), "click_through_rate", "the primary metric first");
    for (const comparison of shown.results.comparisons) {
      const row = page.locator(`#experiment-comparisons tr[data-variant=draft][data-metric=${comparison.metric}]`);
      const hasInterval = comparison.always_valid_interval.every((bound) => typeof bound === "number");
      assert.equal(await row.locator("[data-cell=interval]").getAttribute("data-bounded"), String(hasInterval), comparison.metric);
      assert.equal(await row.locator("svg.interval rect.bar").count(), hasInterval ? 1 : 0);
      if (hasInterval) assert.equal(await row.locator("svg.interval line.zero").count(), 1, "the line of no difference");
      else assert.equal(await row.locator("[data-cell=always-valid-interval]").innerText(), "—");
      assert.match(await row.locator("[data-cell=always-valid-p]").innerText(), /^(< 0\.001|[01]\.\d{3})$/);
      assert.match(await row.locator("[data-cell=fixed-p]").innerText(), /^(< 0\.001|[01]\.\d{3})/);
    }
    const ctr = page.locator("#experiment-comparisons tr[data-metric=click_through_rate]");
    assert.equal(await ctr.locator("[data-cell=interval]").getAttribute("data-bounded"), "true", "clicks on both sides: an interval");
    assert.match(await ctr.locator("[data-cell=always-valid-interval]").innerText(), /^[−+±]\d+\.\d pp to [−+±]\d+\.\d pp$/);
    assert.equal(await page.locator("#srm-warning").count(), shown.results.sample_ratio?.mismatch ? 1 : 0);
    await page.screenshot({ path: `${artifacts}/console-experiment-ab-running.png`, fullPage: true });

    // Promote the draft: a confirmation first.
    await page.locator("#experiment-variants tr[data-variant=draft]").getByRole("button", { name: "Promote draft" }).click();
    const dialog = page.getByRole("dialog");
    assert.match(await dialog.innerText(), /published as a new settings version/);
    await dialog.getByRole("button", { name: "Promote" }).click();
    const status = page.locator("#status", { hasText: "promoted" });
    await status.waitFor();
    const version = Number((await status.innerText()).match(/version (\d+)/)[1]);
    await page.locator("#experiment-detail[data-status=stopped]").waitFor();
    assert.equal(await page.locator("#experiment-title [data-promoted]").getAttribute("data-promoted"), "draft");
    assert.equal(await page.locator("[data-experiment=stop]").count(), 0, "nothing to stop");
    assert.equal(await page.locator("[data-experiment=promote]").count(), 0, "promoted once");
    assert.doesNotMatch(await page.locator("#experiment-updated").innerText(), /refreshes/, "a stopped experiment is not refreshed");
    const row = page.locator(`#experiment-table tr[data-id="${id}"]`);
    await row.locator("[data-status=stopped]").waitFor();
    assert.equal(await row.locator("[data-promoted]").getAttribute("data-promoted"), "draft");
    const promoted = await api("GET", `${experimentsPath}/${id}`);
    assert.equal(promoted.status, "stopped");
    assert.equal(promoted.promoted, "draft");
    // The promoted draft is the live settings now: the draft has nothing left to publish.
    await page.locator("#draftbar[data-state=clean]").waitFor();

    // The audit log has the new version, with who promoted it and from which experiment.
    await page.getByRole("link", { name: "Settings" }).click();
    const newest = page.locator("#history-table tbody tr").first();
    await page.locator(`#history-table tbody tr[data-version="${version}"]`).waitFor();
    assert.equal(await newest.getAttribute("data-version"), String(version));
    assert.equal(await newest.locator(".badge.live").count(), 1);
    const actor = await newest.locator("[data-cell=actor]").innerText();
    assert.ok(actor.startsWith(NAME) && actor.includes(name) && actor.includes("draft"), `the audit log names who and which experiment: ${actor}`);
    assert.match(await newest.locator("[data-cell=changed]").innerText(), /synonyms/);
    assert.equal((await api("GET", `${settingsPath}/history`))[0].version, version);
    const after = await shopperSearch(WORD, `console-ab-${RUN}-after`);
    assert.equal(after.experiment, undefined, "no experiment runs");
    assert.ok(after.total >= 3, "live finds the umbrellas now");
  } finally {
    await stopIfRunning(id);
    await restoreSettings(before);
  }
});

await test("an experiment whose shoppers reach only one variant is flagged (sample ratio mismatch), then stopped", async (page) => {
  const versions = (await api("GET", `${settingsPath}/history`)).length;
  const name = `${PREFIX}srm ${RUN}`;
  let id = null;
  try {
    await openConsole(page);
    await addOneWaySynonym(page, WORD, TARGET);
    id = await startExperiment(page, { name, kind: "ab", metric: "add_to_cart_rate" });
    const experiment = await api("GET", `${experimentsPath}/${id}`);
    assert.equal(experiment.primary_metric, "add_to_cart_rate");
    assert.equal(await page.locator("#experiment-counts th .badge.primary").count(), 1);
    assert.equal(await page.locator("#srm-warning").count(), 0, "no shoppers, no mismatch");

    // Broken assignment, as the check exists to catch: only the control's shoppers arrive. The
    // test knows each session's variant before it searches (the assignment is a pure hash), so
    // the draft's shoppers never send anything, not even one search.
    const sent = 20;
    let skipped = 0;
    for (let candidate = 0, arrived = 0; arrived < sent; candidate++) {
      const session = `console-srm-${RUN}-${candidate}`;
      if (assignedVariant(experiment, session) !== "live") {
        skipped++;
        continue;
      }
      const answer = await shopperSearch(TARGET, session);
      assert.equal(answer.experiment?.variant, "live", "the server assigns the session as predicted");
      arrived++;
    }
    assert.ok(skipped > 0);
    const results = await countedResults(id, { live: sent, draft: 0 });
    assert.equal(results.results.sample_ratio.mismatch, true, JSON.stringify(results.results.sample_ratio));

    // The page flags it by itself.
    const warning = page.locator("#srm-warning");
    await warning.waitFor({ timeout: 15_000 });
    assert.match(await warning.innerText(), /Sample ratio mismatch: do not trust these results/);
    assert.match(await warning.innerText(), /live 20 shoppers, draft 0 shoppers; expected live 50 %, draft 50 %/);
    await pageShowsCounts(page, results);
    assert.match(await page.locator("#experiment-verdict").getAttribute("class"), /untrusted/);
    await page.locator("#experiment-verdict [data-cell=verdict]", { hasText: results.results.verdict }).waitFor();
    await page.screenshot({ path: `${artifacts}/console-experiment-srm.png`, fullPage: true });

    // The Refresh button asks again at once; on the Settings page nothing is asked.
    const computed = await page.locator("#experiment-detail").getAttribute("data-computed-at");
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.waitForFunction((computed) => document.querySelector("#experiment-detail").dataset.computedAt !== computed, computed);
    let asked = 0;
    const count = (request) => {
      if (request.url().includes("/experiments")) asked++;
    };
    page.on("request", count);
    await page.getByRole("link", { name: "Settings" }).click();
    await page.waitForTimeout(6_000);
    assert.equal(asked, 0, "no refresh while the Experiments page is not shown");
    await page.getByRole("link", { name: "Experiments" }).click();
    await page.locator("#experiment-updated", { hasText: "refreshes every 5 s" }).waitFor();
    assert.ok(asked > 0, "shown again, it refreshes");
    page.off("request", count);

    // A second experiment on the same surface is refused while this one runs: the server's message is shown.
    const form = page.locator("#experiment-form");
    await form.getByLabel("Name").fill(`${PREFIX}second ${RUN}`);
    await form.getByRole("button", { name: "Start the experiment" }).click();
    const error = page.locator("#error[data-code=experiment_already_running]");
    await error.waitFor();
    assert.match(await error.innerText(), /The experiment could not be started: an experiment already runs on .*stop it first/);
    assert.equal((await api("GET", experimentsPath)).results.filter((listed) => listed.status === "running").length, 1);

    // Stop it, after a confirmation: the results stay, nothing is published.
    await page.getByRole("button", { name: "Stop experiment" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Stop experiment" }).click();
    await page.locator("#status", { hasText: `Experiment “${name}” stopped` }).waitFor();
    await page.locator("#experiment-detail[data-status=stopped]").waitFor();
    assert.equal(await page.locator("[data-experiment=stop]").count(), 0);
    assert.equal(await page.locator("#experiment-title [data-promoted]").count(), 0);
    assert.equal(await page.locator("#experiment-counts tr[data-variant=live] [data-cell=searches]").innerText(), String(sent), "the results stay");
    await page.locator(`#experiment-table tr[data-id="${id}"] [data-status=stopped]`).waitFor();
    const stopped = await api("GET", `${experimentsPath}/${id}`);
    assert.equal(stopped.status, "stopped");
    assert.equal(stopped.promoted, null);
    assert.equal((await shopperSearch(TARGET, `console-srm-${RUN}-after`)).experiment, undefined);
    assert.equal((await api("GET", `${settingsPath}/history`)).length, versions, "stopping publishes nothing");

  } finally {
    await stopIfRunning(id);
  }
});

await test("an interleaving test of a draft: which ranking shoppers prefer, with its interval", async (page) => {
  const name = `${PREFIX}interleaving ${RUN}`;
  let id = null;
  try {
    await openConsole(page);
    await addOneWaySynonym(page, WORD, TARGET);
    id = await startExperiment(page, { name, kind: "interleaving" });
    // Shoppers search “brolly”, which only the draft's ranking answers, and click: wins for the draft.
    let draftOnlyClicks = 0;
    const clicks = [];
    for (let shopper = 0; shopper < 12; shopper++) {
      const session = `console-interleaving-${RUN}-${shopper}`;
      const answer = await shopperSearch(WORD, session);
      assert.equal(answer.experiment?.variant, "interleaved");
      if (shopper % 4 !== 3) {
        clicks.push(firstResultClick(answer, session));
        draftOnlyClicks++;
      }
    }
    await storefrontCall(`/v1/indexes/${INDEX}/events`, clicks);
    await countedResults(id, { interleaved: 12 });
    let results;
    for (const deadline = Date.now() + 10_000; ; ) {
      results = await api("GET", `${experimentsPath}/${id}`);
      if (results.results.interleaving.preference.searches_decided === draftOnlyClicks || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const interleaving = results.results.interleaving;
    assert.equal(interleaving.treatment_wins, draftOnlyClicks, "a click on the draft's only ranking is its win");
    assert.equal(interleaving.control_wins, 0);

    await pageShowsCounts(page, results);
    const preference = page.locator("#experiment-preference");
    await preference.locator(`[data-cell=treatment_wins]`, { hasText: String(draftOnlyClicks) }).waitFor();
    assert.equal(await preference.locator("[data-cell=control_wins]").innerText(), "0");
    assert.equal(await preference.locator("[data-cell=ties]").innerText(), String(interleaving.ties));
    assert.equal(await preference.locator("[data-cell=share]").innerText(), `${Math.round(interleaving.preference.share * 100)} %`);
    assert.equal(await preference.locator("svg.interval line.zero").count(), 1, "the line of no preference");
    assert.equal(await preference.locator("svg.interval rect.bar").count(), 1, "the interval");
    assert.match(await preference.locator("[data-cell=always-valid-interval]").innerText(), /^\d+ % to \d+ %$/);
    assert.equal(await page.locator("#experiment-comparisons").count(), 0, "interleaving compares no metrics");
    await page.locator("#experiment-verdict [data-cell=verdict]", { hasText: results.results.verdict }).waitFor();
    await page.screenshot({ path: `${artifacts}/console-experiment-interleaving.png`, fullPage: true });
  } finally {
    await stopIfRunning(id);
  }
});

await finish();
