// Browser tests of the API reference (/docs), against the same running `vitrine demo` as the other
// suites, with the shared harness (harness.mjs). The page renders the server's own /openapi.json;
// the test reads that document too and checks the page against it.
import { strict as assert } from "node:assert";

import { base, finish, test } from "./harness.mjs";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const SEARCH = "post-/v1/indexes/{index}/search";
const FACET_VALUES = ["get-/v1/indexes/{index}/facets/{facet}/values", "post-/v1/indexes/{index}/facets/{facet}/values"];

/** `METHOD-path` of every operation of the document the server serves. */
async function specOperations() {
  const response = await fetch(`${base}/openapi.json`);
  assert.equal(response.status, 200, "GET /openapi.json");
  const spec = await response.json();
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((key) => METHODS.includes(key)).map((method) => `${method}-${path}`));
}

/** Opens the reference and waits until it has rendered the document. */
async function openReference(page, hash = "") {
  await page.goto(`${base}/docs${hash}`);
  await page.locator("#reference[data-state=ready]").waitFor();
}

await test("the API reference shows every operation, the search with its body and errors", async (page) => {
  const operations = await specOperations();
  assert.ok(operations.includes(SEARCH), "the document describes the search");
  await openReference(page);

  assert.equal(await page.locator("#op-count").textContent(), `${operations.length} operations`);
  const articles = await page.locator("article.op").evaluateAll((nodes) => nodes.map((node) => node.id));
  assert.deepEqual([...articles].sort(), [...operations].sort(), "one section per operation, anchored by method and path");

  const search = page.locator(`article[id="${SEARCH}"]`);
  const fields = await search.locator("section.request .schema > ul.props > li > .line .name").allTextContents();
  for (const field of ["q", "filter", "facets"]) assert.ok(fields.includes(field), `the search body lists \`${field}\` (got ${fields})`);
  const codes = await search.locator('[data-status="400"] .code').allTextContents();
  assert.ok(codes.includes("invalid_filter"), `the search's 400 lists invalid_filter (got ${codes})`);
  assert.match(await search.locator(".credential").textContent(), /search/, "the search needs a key with `search`");
  assert.match(await search.locator(".example code").textContent(), /^curl -X POST .*\/v1\/indexes\/\{index\}\/search'[\s\S]*\$VITRINE_SEARCH_KEY/);

  // The sidebar's link leads to the operation's anchor.
  await page.locator(`#toc a[data-op="${SEARCH}"]`).click();
  await page.waitForFunction((id) => decodeURIComponent(location.hash) === `#${id}`, SEARCH);
  const box = await search.boundingBox();
  assert.ok(box && box.y >= 0 && box.y < 900, `the search section is scrolled into view (top at ${box?.y})`);
});

await test("filtering the sidebar by “facet” leaves the facet-values operations", async (page) => {
  const operations = await specOperations();
  await openReference(page);
  await page.getByLabel("Filter operations").fill("facet");
  const links = await page.locator("#toc a[data-op]:visible").evaluateAll((nodes) => nodes.map((node) => node.dataset.op));
  assert.deepEqual([...links].sort(), FACET_VALUES);
  assert.equal(await page.locator("article.op:visible").count(), FACET_VALUES.length, "the reference shows the same operations");
  assert.equal(await page.locator("#op-count").textContent(), `${FACET_VALUES.length} of ${operations.length} operations`);

  await page.getByLabel("Filter operations").press("Escape");
  assert.equal(await page.locator("#toc a[data-op]:visible").count(), operations.length, "Escape clears the filter");
});

await test("an anchor in the address opens the reference at that operation", async (page) => {
  await openReference(page, `#${SEARCH}`);
  const box = await page.locator(`article[id="${SEARCH}"]`).boundingBox();
  assert.ok(box && box.y >= 0 && box.y < 300, `the search section is at the top (at ${box?.y})`);
});

await finish();
