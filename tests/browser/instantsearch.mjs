// Browser tests of the InstantSearch.js adapter (clients/js) against a running `vitrine demo`
// started with `--cors-origin '*'`: a page made of the real instantsearch.js v4 widgets (from npm,
// unmodified: its UMD build) with `instantSearchClient` as its search client, served from another
// origin by a small HTTP server this test starts. The harness (harness.mjs) is shared with
// storefront.mjs and console.mjs.
//
// For each interaction it checks that what the page shows equals what the Vitrine API answers to
// the same request (fetched here directly), and that the page sent exactly one HTTP request to
// Vitrine (opening a product's related products too: the recommendations carry their products);
// it logs how many queries InstantSearch asked for (the N+1 of disjunctive faceting).
//
// Needs: clients/js/dist (clients/js/build.sh) and instantsearch.js in $INSTANTSEARCH_TOOLS
// (default ~/.cache/vitrine-browser; build.sh installs it). SEARCH_KEY, or the storefront's
// <meta name="vitrine-search-key">.
import { strict as assert } from "node:assert";
import { createReadStream, existsSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { base, finish, test } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const clientDist = join(here, "..", "..", "clients", "js", "dist");
const tools = process.env.INSTANTSEARCH_TOOLS || join(homedir(), ".cache", "vitrine-browser");
const instantsearchDist = join(tools, "node_modules", "instantsearch.js", "dist");
for (const [what, path] of [["clients/js/dist (run clients/js/build.sh)", join(clientDist, "index.js")], ["instantsearch.js (run clients/js/build.sh)", join(instantsearchDist, "instantsearch.production.min.js")]]) {
  if (!existsSync(path)) {
    console.log(`FAIL missing ${what}: ${path}`);
    process.exit(1);
  }
}

const vitrine = new URL(base).origin;
const searchKey = process.env.SEARCH_KEY || (await fetch(`${base}/`).then((response) => response.text())).match(/<meta name="vitrine-search-key" content="([^"]*)"/)?.[1];

// ─── The page's own origin ───────────────────────────────────────────────────────────────────

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css", ".map": "application/json" };
const roots = { "/client/": clientDist, "/instantsearch/": instantsearchDist };
const pages = createServer((request, response) => {
  const path = decodeURIComponent(new URL(request.url, "http://page").pathname);
  let file;
  if (path === "/") file = join(here, "instantsearch", "index.html");
  else if (path === "/page.js") file = join(here, "instantsearch", "page.js");
  else {
    for (const [prefix, root] of Object.entries(roots)) {
      if (path.startsWith(prefix)) {
        const inside = normalize(join(root, path.slice(prefix.length)));
        if (inside.startsWith(root)) file = inside;
      }
    }
  }
  if (!file || !existsSync(file)) {
    response.writeHead(404).end("not found");
    return;
  }
  response.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
  createReadStream(file).pipe(response);
});
await new Promise((resolve) => pages.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${pages.address().port}`;
const pageUrl = (params) => `${origin}/?${new URLSearchParams({ server: base, key: searchKey ?? "", ...params })}`;

// ─── The Vitrine API, asked directly ─────────────────────────────────────────────────────────

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (searchKey) headers.Authorization = `Bearer ${searchKey}`;
  const response = await fetch(`${base}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await response.json().catch(() => null);
  return { status: response.status, json };
}
const apiSearch = async (index, body) => {
  const { status, json } = await api("POST", `/v1/indexes/${index}/search`, body);
  assert.equal(status, 200, `search ${JSON.stringify(body)}: ${JSON.stringify(json)}`);
  return json;
};

// ─── Watching the page ───────────────────────────────────────────────────────────────────────

/** Records the page's requests to Vitrine (CORS preflights apart: the browser's, cached an hour). */
function watchVitrine(page) {
  const requests = [];
  page.on("request", (request) => {
    const { origin: to } = new URL(request.url());
    // Nothing leaves for anywhere else (no Algolia host, no insights script).
    if (to !== vitrine && to !== origin && !request.url().startsWith("data:")) requests.elsewhere = [...(requests.elsewhere ?? []), request.url()];
    if (to !== vitrine || request.method() === "OPTIONS") return;
    let body;
    try {
      body = request.postData() ? JSON.parse(request.postData()) : undefined;
    } catch {
      body = request.postData();
    }
    requests.push({ method: request.method(), path: new URL(request.url()).pathname, body });
  });
  return requests;
}

const report = [];

/**
 * Runs one interaction: `act()`, then waits until InstantSearch has asked the search client and
 * rendered, and the network is quiet. Returns the Vitrine requests the page sent for it; logs them
 * against the queries InstantSearch asked for.
 */
async function interaction(page, requests, name, act, { method = "search" } = {}) {
  const calls = await page.evaluate(() => window.__calls.length);
  const renders = await page.evaluate(() => window.__renders);
  const first = requests.length;
  await act();
  await page.waitForFunction(
    ([calls, renders, method]) =>
      window.__calls.slice(calls).some((call) => call.method === method) &&
      window.__search.status === "idle" &&
      // A facet-value search renders its list only, not the whole page.
      (method === "searchForFacetValues" || window.__renders > renders),
    [calls, renders, method],
    { timeout: 15000 },
  );
  // Quiet: a stray request would be seen here.
  await page.waitForTimeout(300);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  const made = requests.slice(first);
  const asked = await page.evaluate((calls) => window.__calls.slice(calls), calls);
  const queries = asked.reduce((sum, call) => sum + call.requests, 0);
  assert.deepEqual(requests.elsewhere ?? [], [], "requests to other hosts");
  const errors = await page.evaluate(() => window.__errors ?? []);
  assert.deepEqual(errors, [], `InstantSearch errors during "${name}"`);
  const line = `${name}: InstantSearch asked ${queries} quer${queries === 1 ? "y" : "ies"} in ${asked.length} call(s) → ${made.length} Vitrine request(s) [${made.map((request) => `${request.method} ${request.path}`).join(", ")}]`;
  console.log(`     ${line}`);
  report.push({ name, queries, vitrine: made.length });
  made.cached = asked.reduce((sum, call) => sum + call.cached, 0);
  return made;
}

/** The one Vitrine search of an interaction. */
function theSearch(made, name) {
  assert.equal(made.length, 1, `${name}: exactly one request to Vitrine, got ${made.map((request) => request.path).join(", ")}`);
  assert.ok(made[0].path.endsWith("/search"), `${name}: a search, got ${made[0].path}`);
  return made[0].body;
}

/** What the page shows. */
async function shown(page) {
  return page.evaluate(() => {
    const text = (element) => element?.textContent.trim() ?? "";
    // A refinement list's values as shown, in order: [value, count].
    const facet = (slot) =>
      [...document.querySelectorAll(`#facet-${slot} .ais-RefinementList-item`)].map((item) => [
        text(item.querySelector(".ais-RefinementList-labelText")),
        Number(text(item.querySelector(".ais-RefinementList-count")).replace(/\D/g, "")),
      ]);
    // The category tree, level by level down the selected path: label → count.
    const mine = (li, selector) => [...li.querySelectorAll(selector)].find((element) => element.parentElement.closest(".ais-HierarchicalMenu-item") === li);
    const levels = [];
    let list = document.querySelector("#categories .ais-HierarchicalMenu-list");
    while (list) {
      const items = [...list.querySelectorAll(".ais-HierarchicalMenu-item")].filter((item) => item.parentElement.closest(".ais-HierarchicalMenu-list") === list);
      levels.push(
        Object.fromEntries(
          items.map((item) => [
            text(mine(item, ".ais-HierarchicalMenu-label")),
            Number(text(mine(item, ".ais-HierarchicalMenu-count")).replace(/\D/g, "")),
          ]),
        ),
      );
      const selected = items.find((item) => item.matches(".ais-HierarchicalMenu-item--selected"));
      list = selected ? mine(selected, ".ais-HierarchicalMenu-list") : undefined;
    }
    return {
      ids: [...document.querySelectorAll("#hits .hit")].map((hit) => hit.dataset.id),
      titles: [...document.querySelectorAll("#hits .hit .title")].map(text),
      marks: document.querySelectorAll("#hits .hit .title mark").length,
      stats: text(document.querySelector("#stats")),
      nbHits: Number((text(document.querySelector("#stats")).match(/^[\d,.\s]+/)?.[0] ?? "").replace(/\D/g, "")),
      a: Object.fromEntries(facet("a")),
      b: Object.fromEntries(facet("b")),
      // The values in the order shown (an object would put number-like values such as `28` first).
      aOrder: facet("a").map(([value]) => value),
      bOrder: facet("b").map(([value]) => value),
      categories: levels,
      priceMin: document.querySelector("#price .ais-RangeInput-input--min")?.placeholder,
      priceMax: document.querySelector("#price .ais-RangeInput-input--max")?.placeholder,
      page: text(document.querySelector("#pagination .ais-Pagination-item--selected")),
      related: [...document.querySelectorAll("#related .hit")].map((hit) => [hit.dataset.id, hit.querySelector(".title").textContent.trim()]),
    };
  });
}

/** The hits, total and facet counts shown equal the API's answer. */
function sameAsApi(view, answer, name, facets = ["a", "b"], attributes = ["color", "size"]) {
  assert.deepEqual(view.ids, answer.hits.map((hit) => hit.id), `${name}: the hits shown are the API's`);
  assert.deepEqual(view.titles, answer.hits.map((hit) => hit.document.title), `${name}: their titles`);
  assert.equal(view.nbHits, answer.total, `${name}: the total shown (${view.stats}) is the API's`);
  facets.forEach((slot, i) => {
    const counts = answer.facets[attributes[i]] ?? {};
    assert.ok(Object.keys(view[slot]).length > 0 || Object.keys(counts).length === 0, `${name}: ${attributes[i]} values are shown`);
    for (const [value, count] of Object.entries(view[slot])) {
      assert.equal(count, counts[value] ?? 0, `${name}: ${attributes[i]} ${value} count`);
    }
    // Every value the API counts is shown (the list shows up to 30).
    if (Object.keys(counts).length <= 30) assert.deepEqual(Object.keys(view[slot]).sort(), Object.keys(counts).sort(), `${name}: ${attributes[i]} values`);
    // In the order the index's settings give (`facets.value_order`: the demo lists sizes XS to XL).
    const order = answer.facet_order?.[attributes[i]];
    if (order) assert.deepEqual(view[`${slot}Order`], order.filter((value) => value in view[slot]), `${name}: ${attributes[i]} in the configured order`);
  });
}

const FASHION_FACETS = ["category", "color", "price", "size"];
const fashionPage = () => pageUrl({ index: "fashion", facets: "color,size", categories: "1" });

/** Opens the fashion page; returns the request log. */
async function openFashion(page) {
  const requests = watchVitrine(page);
  await page.goto(fashionPage());
  await page.waitForFunction(() => window.__search?.status === "idle" && window.__renders > 0 && document.querySelector("#hits .hit"));
  await page.waitForTimeout(300);
  const made = requests.slice();
  console.log(`     open the page: InstantSearch asked ${await page.evaluate(() => window.__calls.reduce((sum, call) => sum + call.requests, 0))} query → ${made.length} Vitrine request(s)`);
  report.push({ name: "open the page", queries: 1, vitrine: made.length });
  const body = theSearch(made, "open the page");
  assert.deepEqual(body, { q: "", facets: FASHION_FACETS, page: 1, per_page: 12 }, "the first search: browsing, 12 per page (configure)");
  return requests;
}

const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

/** A link of the category tree by its label. */
const categoryLink = (page, label) =>
  page.locator("#categories .ais-HierarchicalMenu-link").filter({ has: page.locator(".ais-HierarchicalMenu-label", { hasText: exactly(label) }) }).first();

/** A refinement-list checkbox by value. */
const checkbox = (page, slot, value) =>
  page
    .locator(`#facet-${slot} .ais-RefinementList-item`)
    .filter({ has: page.locator(".ais-RefinementList-labelText", { hasText: exactly(value) }) })
    .locator("input");

await test("InstantSearch: a misspelled query, two colours, a price range — one Vitrine request each", async (page) => {
  const requests = await openFashion(page);
  sameAsApi(await shown(page), await apiSearch("fashion", { q: "", facets: FASHION_FACETS, page: 1, per_page: 12 }), "browse");

  // A misspelled query.
  let made = await interaction(page, requests, "type a misspelled query (hoddie)", () => page.locator("#searchbox input").fill("hoddie"));
  let body = theSearch(made, "query");
  let expected = { q: "hoddie", facets: FASHION_FACETS, page: 1, per_page: 12 };
  assert.deepEqual(body, expected);
  let answer = await apiSearch("fashion", expected);
  let view = await shown(page);
  sameAsApi(view, answer, "hoddie");
  assert.ok(answer.total > 0 && view.titles.every((title) => /hoodie/i.test(title)), `hoodies found: ${view.titles.join(" | ")}`);
  assert.ok(view.marks > 0, "the typo-corrected words are highlighted (<mark>)");

  // Two colours, one after the other (disjunctive: the colour counts keep their values).
  const colours = Object.entries(answer.facets.color).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([colour]) => colour);
  made = await interaction(page, requests, `tick colour ${colours[0]}`, () => checkbox(page, "a", colours[0]).check());
  body = theSearch(made, "first colour");
  assert.deepEqual(body, { ...expected, filter: { color: [colours[0]] } });
  made = await interaction(page, requests, `tick colour ${colours[1]}`, () => checkbox(page, "a", colours[1]).check());
  body = theSearch(made, "second colour");
  expected = { ...expected, filter: { color: [...colours].sort() } };
  assert.deepEqual(body, expected);
  answer = await apiSearch("fashion", expected);
  view = await shown(page);
  sameAsApi(view, answer, "two colours");
  assert.equal(view.a[colours[1]], (await apiSearch("fashion", { q: "hoddie", facets: ["color"] })).facets.color[colours[1]], "a colour's count ignores the colour filter (disjunctive)");

  // A price range (rangeInput): the bounds shown are the API's price stats without the price filter.
  const stats = answer.facet_stats.price;
  assert.equal(view.priceMin, String(Math.floor(stats.min)), "rangeInput min placeholder");
  assert.equal(view.priceMax, String(Math.ceil(stats.max)), "rangeInput max placeholder");
  const low = Math.ceil(stats.min + (stats.max - stats.min) * 0.2);
  const high = Math.floor(stats.min + (stats.max - stats.min) * 0.8);
  made = await interaction(page, requests, `price ${low}–${high}`, async () => {
    await page.locator("#price .ais-RangeInput-input--min").fill(String(low));
    await page.locator("#price .ais-RangeInput-input--max").fill(String(high));
    await page.locator("#price .ais-RangeInput-submit").click();
  });
  body = theSearch(made, "price");
  expected = { ...expected, filter: { ...expected.filter, price: { gte: low, lte: high } } };
  assert.deepEqual(body, expected);
  answer = await apiSearch("fashion", expected);
  view = await shown(page);
  sameAsApi(view, answer, "price range");
  assert.equal(view.priceMin, String(Math.floor(answer.facet_stats.price.min)), "the range keeps the unfiltered bounds");
  assert.ok(answer.hits.every((hit) => hit.document.price >= low && hit.document.price <= high) || answer.hits.some((hit) => hit.variant_id), "prices in range");
});

await test("InstantSearch: category tree, paging, sorting — one Vitrine request each", async (page) => {
  const requests = await openFashion(page);
  const root = await apiSearch("fashion", { q: "", facets: FASHION_FACETS, page: 1, per_page: 12 });
  let view = await shown(page);
  const rootCounts = Object.fromEntries(Object.entries(root.facets.category).map(([path, count]) => [path.split("/").join(" > "), count]));
  assert.deepEqual(view.categories[0], rootCounts, "the top level of the category tree is the API's");

  // Down the tree: a top-level category, then one of its children.
  const top = Object.entries(root.facets.category).sort((a, b) => b[1] - a[1])[0][0];
  let made = await interaction(page, requests, `category ${top}`, () => categoryLink(page, top).click());
  let expected = { q: "", facets: FASHION_FACETS, page: 1, per_page: 12, filter: { category: top } };
  assert.deepEqual(theSearch(made, "top category"), expected);
  const level1 = await apiSearch("fashion", expected);
  sameAsApi(await shown(page), level1, `category ${top}`);
  const child = Object.entries(level1.facets.category).sort((a, b) => b[1] - a[1])[0][0];
  const childLabel = child.split("/").at(-1);
  made = await interaction(page, requests, `category ${child}`, () => categoryLink(page, childLabel).click()
  );
  expected = { ...expected, filter: { category: child } };
  assert.deepEqual(theSearch(made, "child category"), expected);
  const level2 = await apiSearch("fashion", expected);
  view = await shown(page);
  sameAsApi(view, level2, `category ${child}`);
  const label = (counts) => Object.fromEntries(Object.entries(counts).map(([path, count]) => [path.split("/").at(-1), count]));
  assert.deepEqual(view.categories[0], Object.fromEntries(Object.entries(rootCounts)), "level 0: every top-level category, counted by the API");
  assert.deepEqual(view.categories[1], label(level1.facets.category), "level 1: the children of the top category, as the API counts them");
  if (Object.keys(level2.facets.category).length) assert.deepEqual(view.categories[2], label(level2.facets.category), "level 2: the children of the child");

  // Back to the top category, then page 2.
  made = await interaction(page, requests, `back to category ${top}`, () => categoryLink(page, childLabel).click()
  );
  // The same state as two clicks ago: the adapter's cache answers (as algoliasearch's does).
  assert.equal(made.length, 0, "back to a state seen before: no request");
  assert.equal(made.cached, 1, "answered from the cache");
  expected = { ...expected, filter: { category: top } };
  sameAsApi(await shown(page), level1, `back to category ${top}`);
  assert.ok(level1.total > 12, "enough products to page");
  made = await interaction(page, requests, "page 2", () => page.locator("#pagination .ais-Pagination-link", { hasText: /^2$/ }).click());
  expected = { ...expected, page: 2 };
  assert.deepEqual(theSearch(made, "page 2"), expected, "InstantSearch's page 1 is Vitrine's page 2");
  view = await shown(page);
  sameAsApi(view, await apiSearch("fashion", expected), "page 2");
  assert.equal(view.page, "2");

  // Sort by price (sortBy): back to the first page, cheapest first.
  made = await interaction(page, requests, "sort by price, low to high", () => page.locator("#sort select").selectOption("fashion:price_asc"));
  expected = { ...expected, page: 1, sort: "price_asc" };
  assert.deepEqual(theSearch(made, "sort"), expected);
  const sorted = await apiSearch("fashion", expected);
  view = await shown(page);
  sameAsApi(view, sorted, "sorted by price");
  const prices = sorted.hits.map((hit) => hit.document.price).filter((price) => price !== undefined);
  assert.deepEqual(prices, [...prices].sort((a, b) => a - b), "cheapest first");
});

await test("InstantSearch: searching a facet's values (refinementList searchable)", async (page) => {
  const probe = await api("POST", "/v1/indexes/fashion/facets/color/values", { q: "bla", query: "", limit: 10 });
  if (probe.status === 404 && probe.json?.code === "route_not_found") {
    console.log("     skipped: this server has no POST /v1/indexes/{index}/facets/{facet}/values yet");
    return;
  }
  assert.equal(probe.status, 200, JSON.stringify(probe.json));
  const requests = await openFashion(page);
  const made = await interaction(page, requests, "search colours for “bla”", () => page.locator("#facet-a .ais-SearchBox-input").fill("bla"), { method: "searchForFacetValues" });
  assert.equal(made.length, 1, "one request");
  assert.equal(made[0].path, "/v1/indexes/fashion/facets/color/values");
  assert.deepEqual(made[0].body, { q: "bla", query: "", limit: 30 }, "the list's limit (30) is the number of values asked for");
  const answer = await api("POST", "/v1/indexes/fashion/facets/color/values", made[0].body);
  const view = await shown(page);
  assert.deepEqual(view.a, Object.fromEntries(answer.json.values.map(({ value, count }) => [value, count])), "the values shown are the API's");
  assert.ok(await page.locator("#facet-a .ais-RefinementList-labelText mark").count() > 0, "the typed prefix is highlighted");
});

await test("InstantSearch: a product's related products (relatedProducts widget)", async (page) => {
  const requests = watchVitrine(page);
  // With a filter the page sets itself (configure's `filters`, Algolia's syntax): under £10.
  await page.goto(pageUrl({ index: "retail", facets: "", categories: "0", filters: "price < 10" }));
  await page.waitForFunction(() => window.__search?.status === "idle" && document.querySelector("#hits .hit"));
  let made = await interaction(page, requests, "type a misspelled query (whte hangin heart)", () => page.locator("#searchbox input").fill("whte hangin heart"));
  const expected = { q: "whte hangin heart", facets: ["price"], page: 1, per_page: 12, filter: { price: { lt: 10 } } };
  assert.deepEqual(theSearch(made, "retail query"), expected);
  const answer = await apiSearch("retail", expected);
  const view = await shown(page);
  sameAsApi(view, answer, "retail query", [], []);
  assert.match(view.titles[0], /WHITE HANGING HEART/);

  const product = view.ids[0];
  made = await interaction(page, requests, `open ${product}'s related products`, () => page.locator(`#hits button.related[data-id="${product}"]`).click(), { method: "getRecommendations" });
  // One Vitrine request: the recommendations carry their products (`documents: true`), so no
  // GET /documents/{id} per item, and the search state did not change (the adapter's cache
  // answers InstantSearch's re-query).
  assert.equal(made.length, 1, `exactly one request to Vitrine, got ${made.map((request) => `${request.method} ${request.path}`).join(", ")}`);
  assert.equal(made[0].method, "POST");
  assert.equal(made[0].path, "/v1/indexes/retail/recommendations");
  const body = { kind: "similar", product_id: product, k: 6, documents: true };
  assert.deepEqual(made[0].body, body);
  const { status, json: related } = await api("POST", "/v1/indexes/retail/recommendations", body);
  assert.equal(status, 200, JSON.stringify(related));
  assert.ok(related.items.length > 0, "the demo recommends something");
  assert.ok(related.items.every((item) => item.document?.id === item.id), "every item carries its product");
  await page.locator("#related .hit").first().waitFor();
  assert.deepEqual((await shown(page)).related, related.items.map((item) => [item.id, item.document.title]), "the related products shown (ids and titles) are the API's");
  console.log(`     (${related.items.length} related products, rendered from the one answer's documents)`);
});

console.log("requests per interaction (InstantSearch queries, the N+1 pattern → Vitrine requests):");
for (const { name, queries, vitrine } of report) console.log(`  ${String(queries).padStart(2)} → ${vitrine}  ${name}`);
pages.close();
await finish();
