// Browser tests of the merchandiser console (/console), against the same running `vitrine demo`
// as storefront.mjs (index `retail`, keys set: the console signs in with the admin key, ADMIN_KEY),
// with the shared harness (harness.mjs).
// The demo's settings are left as they were found: what is published is rolled back.
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { base, finish, searchStorefront, test } from "./harness.mjs";

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

await finish();
