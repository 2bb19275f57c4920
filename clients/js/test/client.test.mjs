// Unit tests of the built client (dist/) against a fake fetch: `npm test` after `npm run build`.
import { strict as assert } from "node:assert";
import { test } from "node:test";

import { Vitrine, VitrineError, highlightPrefixes, instantSearchClient } from "../dist/index.js";

/** A fetch that records requests and answers each with `answer(method, path, body)`. */
function fakeFetch(answer) {
  const sent = [];
  const fetch = async (url, init = {}) => {
    const { pathname, search } = new URL(url);
    const body = init.body ? JSON.parse(init.body) : undefined;
    sent.push({ method: init.method, path: pathname + search, body, headers: init.headers });
    const [status, json] = answer(init.method, pathname + search, body) ?? [404, { message: "no route", code: "route_not_found", type: "invalid_request" }];
    return new Response(json === undefined ? null : JSON.stringify(json), { status, headers: { "content-type": "application/json" } });
  };
  return { fetch, sent };
}

const product = (id, title, extra = {}) => ({ id, title, popularity: 1, ...extra });
const searchAnswer = (extra = {}) => ({
  hits: [{ id: "p1", score: 1, document: product("p1", "Hoodie", { category: ["Men", "Tops"], price: 20, currency: "USD", attributes: { color: "Black" } }), highlight: { title: "<em>Hood</em>ie &amp; co" } }],
  total: 30,
  facets: {},
  facet_stats: {},
  took_ms: 1.4,
  query_id: "q-1",
  ...extra,
});

test("the client sends the key, parses answers and throws the API's errors", async () => {
  const { fetch, sent } = fakeFetch((method, path) =>
    path.endsWith("/search") ? [400, { message: "`price.foo`: use gt, gte, lt or lte", code: "invalid_filter", type: "invalid_request" }] : [200, { results: [], total: 0 }],
  );
  const vitrine = new Vitrine({ server: "http://vitrine.test/", apiKey: "k", fetch });
  assert.deepEqual(await vitrine.indexes.list(), { results: [], total: 0 });
  assert.equal(sent[0].headers.Authorization, "Bearer k");
  assert.equal(sent[0].path, "/v1/indexes");
  const error = await vitrine.search("shop", { filter: { price: { gte: 1 } } }).catch((error) => error);
  assert.ok(error instanceof VitrineError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_filter");
  assert.equal(error.type, "invalid_request");
  assert.match(error.message, /use gt/);
  const token = new Vitrine({ server: "http://vitrine.test", apiKey: "k", shopperToken: "jwt", fetch });
  await token.suggest("shop", { q: "mug", limit: 3 }).catch(() => {});
  assert.equal(sent.at(-1).headers.Authorization, "Bearer jwt", "a shopper token is sent instead of the key");
  assert.equal(sent.at(-1).path, "/v1/indexes/shop/suggest?q=mug&limit=3");
});

test("a network failure is a VitrineError with status 0", async () => {
  const vitrine = new Vitrine({ server: "http://vitrine.test", fetch: async () => { throw new TypeError("Failed to fetch"); } });
  const error = await vitrine.search("shop").catch((error) => error);
  assert.equal(error.status, 0);
  assert.equal(error.code, "network_error");
});

test("the N+1 queries of disjunctive faceting are one Vitrine search", async () => {
  const { fetch, sent } = fakeFetch(() => [
    200,
    searchAnswer({ facets: { color: { Black: 10, White: 7, Red: 3 }, size: { M: 4 }, price: { "0-10": 2 } }, facet_stats: { price: { min: 5.5, max: 99 } } }),
  ]);
  const events = [];
  const client = instantSearchClient({ server: "http://vitrine.test", fetch, onRequests: (event) => events.push(event) });
  const tags = { highlightPreTag: "__ais-highlight__", highlightPostTag: "__/ais-highlight__" };
  const { results } = await client.search([
    { indexName: "fashion", params: { ...tags, query: "hoddie", page: 1, hitsPerPage: 12, facets: ["color", "price", "size"], facetFilters: [["color:Black", "color:White"]], numericFilters: ["price>=10", "price<=50"] } },
    { indexName: "fashion", params: { ...tags, query: "hoddie", page: 0, hitsPerPage: 0, facets: "color", numericFilters: ["price>=10", "price<=50"] } },
    { indexName: "fashion", params: { ...tags, query: "hoddie", page: 0, hitsPerPage: 0, facets: "price", facetFilters: [["color:Black", "color:White"]] } },
  ]);
  assert.equal(sent.length, 1, "one HTTP request");
  assert.deepEqual(sent[0].body, {
    q: "hoddie",
    facets: ["color", "price", "size"],
    page: 2,
    per_page: 12,
    filter: { color: ["Black", "White"], price: { gte: 10, lte: 50 } },
  });
  assert.deepEqual(events, [{ method: "search", requests: 3, vitrineRequests: 1, cached: 0 }]);
  assert.equal(results.length, 3);
  const [main, colors, prices] = results;
  assert.equal(main.hits.length, 1);
  assert.equal(main.nbHits, 30);
  assert.equal(main.nbPages, 3);
  assert.equal(main.page, 1);
  assert.equal(main.processingTimeMS, 1);
  assert.equal(main.queryID, "q-1");
  assert.equal(main.hits[0].objectID, "p1");
  assert.equal(main.hits[0].color, "Black", "attributes are lifted to the top");
  assert.deepEqual(main.hits[0].hierarchicalCategories, { lvl0: "Men", lvl1: "Men > Tops" });
  assert.deepEqual(main.hits[0]._highlightResult.title, {
    value: "__ais-highlight__Hood__/ais-highlight__ie & co",
    matchLevel: "full",
    matchedWords: ["hood"],
    fullyHighlighted: false,
  });
  assert.deepEqual(colors.hits, []);
  assert.deepEqual(colors.facets, { color: { Black: 10, White: 7, Red: 3 } });
  assert.deepEqual(prices.facets_stats, { price: { min: 5.5, max: 99 } });
  // The same state again: answered from the cache.
  await client.search([{ indexName: "fashion", params: { ...tags, query: "hoddie", page: 1, hitsPerPage: 12, facets: ["color", "price", "size"], facetFilters: [["color:Black", "color:White"]], numericFilters: ["price>=10", "price<=50"] } }]);
  assert.equal(sent.length, 1);
  assert.deepEqual(events[1], { method: "search", requests: 1, vitrineRequests: 0, cached: 1 });
});

test("a query no answer can serve gets its own request", async () => {
  const { fetch, sent } = fakeFetch(() => [200, searchAnswer({ facets: { color: { Black: 1 }, size: { M: 1 } } })]);
  const client = instantSearchClient({ server: "http://vitrine.test", fetch, cache: false });
  await client.search([
    { indexName: "fashion", params: { query: "a", hitsPerPage: 5, facets: ["color", "size"], facetFilters: [["color:Black"], ["size:M"]] } },
    // Both filters left out but it counts only color: size's filter would be missing from color's counts.
    { indexName: "fashion", params: { query: "a", hitsPerPage: 0, facets: ["color"] } },
    // Another index (an index widget): another request.
    { indexName: "retail", params: { query: "a", hitsPerPage: 5 } },
  ]);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((request) => request.path).sort(), ["/v1/indexes/fashion/search", "/v1/indexes/fashion/search", "/v1/indexes/retail/search"]);
  const helper = sent.find((request) => request.body.per_page === 1);
  assert.deepEqual(helper.body, { q: "a", facets: ["color"], page: 1, per_page: 1 });
});

test("sortBy index names carry the sort; filters strings are read", async () => {
  const { fetch, sent } = fakeFetch(() => [200, searchAnswer()]);
  const client = instantSearchClient({ server: "http://vitrine.test", fetch });
  await client.search([
    { indexName: "fashion:price_asc", params: { query: "", hitsPerPage: 10, filters: 'material:"Organic Cotton" AND (color:Red OR color:Blue) AND price:10 TO 20 AND rating > 3 AND in_stock:true' } },
  ]);
  assert.deepEqual(sent[0].body, {
    q: "",
    facets: [],
    page: 1,
    per_page: 10,
    sort: "price_asc",
    filter: { material: ["Organic Cotton"], color: ["Blue", "Red"], price: { gte: 10, lte: 20 }, rating: { gt: 3 }, in_stock: true },
  });
  await assert.rejects(client.search([{ indexName: "fashion", params: { filters: "NOT color:Red" } }]), /NOT is not supported/);
});

test("the category tree: children from the answer, parent levels from earlier answers", async () => {
  const answers = {
    "": { category: { Men: 40, Women: 50, Gear: 10 } },
    Men: { category: { "Men/Tops": 25, "Men/Bottoms": 15 } },
    "Men/Tops": { category: { "Men/Tops/Hoodies": 9, "Men/Tops/Tees": 16 } },
  };
  const { fetch, sent } = fakeFetch((method, path, body) => {
    const node = body.filter?.category ?? "";
    return [200, searchAnswer({ facets: answers[node], total: node === "" ? 100 : node === "Men" ? 40 : 25 })];
  });
  const client = instantSearchClient({ server: "http://vitrine.test", fetch });
  const lvl = (n) => `hierarchicalCategories.lvl${n}`;
  await client.search([{ indexName: "fashion", params: { hitsPerPage: 12, facets: [lvl(0)] } }]);
  await client.search([
    { indexName: "fashion", params: { hitsPerPage: 12, facets: [lvl(0), lvl(1)], facetFilters: [[`${lvl(0)}:Men`]] } },
  ]);
  const { results } = await client.search([
    { indexName: "fashion", params: { hitsPerPage: 12, facets: [lvl(0), lvl(1), lvl(2)], facetFilters: [[`${lvl(1)}:Men > Tops`]] } },
    { indexName: "fashion", params: { hitsPerPage: 0, facets: [lvl(0)] } },
  ]);
  assert.equal(sent.length, 3, "one request per click");
  assert.deepEqual(sent[2].body.filter, { category: "Men/Tops" });
  assert.deepEqual(results[0].facets, {
    [lvl(0)]: { Men: 40, Women: 50, Gear: 10 },
    [lvl(1)]: { "Men > Tops": 25, "Men > Bottoms": 15 },
    [lvl(2)]: { "Men > Tops > Hoodies": 9, "Men > Tops > Tees": 16 },
  });
  assert.deepEqual(results[1].facets, { [lvl(0)]: { Men: 40, Women: 50, Gear: 10 } });
  // Another query: no earlier answer, so the parent levels show the selected path alone.
  const other = await client.search([
    { indexName: "fashion", params: { query: "x", hitsPerPage: 12, facets: [lvl(0), lvl(1), lvl(2)], facetFilters: [[`${lvl(1)}:Men > Tops`]] } },
  ]);
  assert.deepEqual(other.results[0].facets[lvl(0)], { Men: 25 });
  assert.deepEqual(other.results[0].facets[lvl(1)], { "Men > Tops": 25 });
});

test("facet-value search: typed text, query and filter; highlighted prefixes", async () => {
  const { fetch, sent } = fakeFetch(() => [200, { facet: "brand", values: [{ value: "Makita", count: 12 }, { value: "Mäkelä Tools", count: 2 }], took_ms: 0.4 }]);
  const client = instantSearchClient({ server: "http://vitrine.test", fetch });
  const [answer] = await client.searchForFacetValues([
    { indexName: "tools", params: { facetName: "brand", facetQuery: "mak", query: "drill", maxFacetHits: 5, facetFilters: [["colour:red"]], highlightPreTag: "<mark>", highlightPostTag: "</mark>" } },
  ]);
  assert.deepEqual(sent[0].body, { q: "mak", query: "drill", filter: { colour: ["red"] }, limit: 5 });
  assert.equal(sent[0].path, "/v1/indexes/tools/facets/brand/values");
  assert.deepEqual(answer.facetHits, [
    { value: "Makita", count: 12, highlighted: "<mark>Mak</mark>ita" },
    { value: "Mäkelä Tools", count: 2, highlighted: "<mark>Mäk</mark>elä Tools" },
  ]);
  assert.equal(highlightPrefixes("Black Leather", "bla le", "[", "]"), "[Bla]ck [Le]ather");
  assert.equal(highlightPrefixes("Blue", "", "[", "]"), "Blue");
});

test("Recommend widgets: one recommendation request, with the products in it", async () => {
  const { fetch, sent } = fakeFetch((method, path) => {
    if (path.endsWith("/recommendations")) {
      return [200, {
        items: [
          { id: "a", score: 0.9, reason: "similar_content", document: product("a", "Mug", { price: 4, category: ["Home", "Kitchen"], attributes: { colour: "Blue" } }) },
          { id: "p1", score: 0.5, reason: "similar_content", document: product("p1", "Hoodie") },
          // Gone from the index since the model was trained: no document, no hit.
          { id: "gone", score: 0.1, reason: "similar_content" },
        ],
        model_version: "m1",
        took_ms: 0.7,
      }];
    }
    return [500, { message: "unexpected request", code: "internal", type: "internal" }];
  });
  const events = [];
  const client = instantSearchClient({ server: "http://vitrine.test", fetch, onRequests: (event) => events.push(event) });
  const { results } = await client.getRecommendations([{ indexName: "retail", model: "related-products", objectID: "p1", maxRecommendations: 6, threshold: 0, queryParameters: { facetFilters: [["category:home"]] } }]);
  assert.equal(sent.length, 1, "one HTTP request: no GET /documents/{id} per item");
  assert.equal(sent[0].path, "/v1/indexes/retail/recommendations");
  assert.deepEqual(sent[0].body, { kind: "similar", product_id: "p1", k: 6, filter: { category: "home" }, documents: true });
  assert.deepEqual(events, [{ method: "getRecommendations", requests: 1, vitrineRequests: 1, cached: 0 }]);
  const [related] = results;
  assert.deepEqual(related.hits.map((hit) => [hit.objectID, hit.title, hit._reason, hit._score]), [["a", "Mug", "similar_content", 0.9], ["p1", "Hoodie", "similar_content", 0.5]]);
  assert.equal(related.nbHits, 2);
  assert.equal(related.processingTimeMS, 1);
  assert.equal(related.index, "retail");
  // The hits are shaped as search hits are: attributes lifted, the category tree, highlights.
  assert.equal(related.hits[0].colour, "Blue");
  assert.equal(related.hits[0].price, 4);
  assert.deepEqual(related.hits[0].hierarchicalCategories, { lvl0: "Home", lvl1: "Home > Kitchen" });
  assert.deepEqual(related.hits[0]._highlightResult.title, { value: "Mug", matchLevel: "none", matchedWords: [] });
});

test("several Recommend widgets: one request each, trending without a product", async () => {
  const { fetch, sent } = fakeFetch((method, path, body) => [
    200,
    { items: [{ id: `${body.kind}-1`, score: 1, reason: body.kind === "trending" ? "trending" : "bought_together", document: product(`${body.kind}-1`, body.kind) }], model_version: "m1", took_ms: 0.2 },
  ]);
  const events = [];
  const client = instantSearchClient({ server: "http://vitrine.test", fetch, onRequests: (event) => events.push(event) });
  const { results } = await client.getRecommendations([
    { indexName: "retail", model: "bought-together", objectID: "p1", maxRecommendations: 4 },
    { indexName: "retail", model: "trending-items", objectID: "ignored", maxRecommendations: 500 },
  ]);
  assert.deepEqual(sent.map((request) => request.body), [
    { kind: "bought_together", product_id: "p1", k: 4, documents: true },
    { kind: "trending", k: 100, documents: true },
  ]);
  assert.deepEqual(results.map((result) => result.hits.map((hit) => hit.objectID)), [["bought_together-1"], ["trending-1"]]);
  assert.deepEqual(events, [{ method: "getRecommendations", requests: 2, vitrineRequests: 2, cached: 0 }]);
});

test("an index without a model recommends nothing instead of failing", async () => {
  const { fetch } = fakeFetch(() => [409, { message: "index `fashion` has no recommendation model yet", code: "model_not_trained", type: "invalid_request" }]);
  const warnings = [];
  const client = instantSearchClient({ server: "http://vitrine.test", fetch, onWarning: (message) => warnings.push(message) });
  const { results } = await client.getRecommendations([{ indexName: "fashion", model: "bought-together", objectID: "x" }]);
  assert.deepEqual(results[0].hits, []);
  assert.equal(warnings.length, 1);
});

test("every method sends its operation of the OpenAPI document, path parameters encoded", async () => {
  const { readFile } = await import("node:fs/promises");
  const document = JSON.parse(await readFile(new URL("../../../docs/openapi.json", import.meta.url), "utf8"));
  const sent = [];
  const fetch = async (url, init = {}) => {
    const { pathname, search } = new URL(url);
    sent.push({ method: init.method, path: pathname + search, body: init.body, type: init.headers["Content-Type"] });
    return init.method === "DELETE" && !pathname.includes("/settings")
      ? new Response(null, { status: 204 })
      : new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
  };
  const v = new Vitrine({ server: "http://vitrine.test/prefix/", apiKey: "k", fetch });
  const calls = [
    [() => v.search("shop", { q: "mug" }), "POST", "/v1/indexes/shop/search"],
    [() => v.suggest("shop", "a b"), "GET", "/v1/indexes/shop/suggest?q=a+b"],
    [() => v.facetValues("shop", "colour/tone", { q: "re" }), "POST", "/v1/indexes/shop/facets/colour%2Ftone/values"],
    [() => v.recommendations("shop", { kind: "trending" }), "POST", "/v1/indexes/shop/recommendations"],
    [() => v.events("shop", [{ type: "view", product_id: "p1" }]), "POST", "/v1/indexes/shop/events"],
    [() => v.documents.get("shop", "a/b c"), "GET", "/v1/indexes/shop/documents/a%2Fb%20c"],
    [() => v.documents.upsert("shop", [{ id: "p1", title: "Mug" }]), "POST", "/v1/indexes/shop/documents", "application/json"],
    [() => v.documents.upsert("shop", "id,title\np1,Mug\n", { format: "csv" }), "POST", "/v1/indexes/shop/documents", "text/csv"],
    [() => v.documents.upsert("shop", '{"id":"p1","title":"Mug"}\n', { format: "ndjson" }), "POST", "/v1/indexes/shop/documents", "application/x-ndjson"],
    [() => v.documents.delete("shop", "p1"), "DELETE", "/v1/indexes/shop/documents/p1"],
    [() => v.settings.get("shop"), "GET", "/v1/indexes/shop/settings"],
    [() => v.settings.put("shop", {}), "PUT", "/v1/indexes/shop/settings"],
    [() => v.settings.reset("shop"), "DELETE", "/v1/indexes/shop/settings"],
    [() => v.settings.getPart("shop", "synonyms"), "GET", "/v1/indexes/shop/settings/synonyms"],
    [() => v.settings.putPart("shop", "default_currency", "EUR"), "PUT", "/v1/indexes/shop/settings/default_currency"],
    [() => v.settings.resetPart("shop", "rules"), "DELETE", "/v1/indexes/shop/settings/rules"],
    [() => v.settings.history("shop"), "GET", "/v1/indexes/shop/settings/history"],
    [() => v.settings.restore("shop", 3), "POST", "/v1/indexes/shop/settings/history/3/restore"],
    [() => v.settings.preview("shop", { q: "mug", draft: { ranking: { title: 5 } } }), "POST", "/v1/indexes/shop/settings/preview"],
    [() => v.settings.evaluate("shop", { judgments: "q1,mug,p1,3\n" }), "POST", "/v1/indexes/shop/settings/evaluate"],
    [() => v.indexes.list(), "GET", "/v1/indexes"],
    [() => v.indexes.get("shop"), "GET", "/v1/indexes/shop"],
    [() => v.indexes.delete("shop"), "DELETE", "/v1/indexes/shop"],
  ];
  // The document's operations, as a matcher of a sent method and path.
  const operations = Object.entries(document.paths).flatMap(([template, item]) =>
    Object.keys(item).map((method) => ({
      method: method.toUpperCase(),
      pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
    })),
  );
  for (const [call, method, path, type] of calls) {
    await call();
    const request = sent.at(-1);
    assert.deepEqual([request.method, request.path], [method, `/prefix${path}`]);
    const bare = path.split("?")[0];
    assert.ok(operations.some((op) => op.method === method && op.pattern.test(bare)), `${method} ${bare} is an operation of docs/openapi.json`);
    if (type) assert.equal(request.type, type);
  }
  assert.equal(sent.at(-1).body, undefined, "no body without one");
  assert.equal(sent[7].body, "id,title\np1,Mug\n", "a CSV body is sent as written");
  assert.equal(sent[6].body, '[{"id":"p1","title":"Mug"}]');
});

test("a guest's session id goes with every search and recommendation request (experiments)", async () => {
  const { fetch, sent } = fakeFetch((method, path) =>
    path.endsWith("/recommendations") ? [200, { items: [], model_version: "m1", took_ms: 1 }] : [200, searchAnswer()],
  );
  let session = "s-1";
  const client = instantSearchClient({ server: "http://vitrine.test", index: "fashion", fetch, sessionId: () => session, cache: false });
  await client.search([{ indexName: "fashion", params: { query: "hoodie", hitsPerPage: 10 } }]);
  session = "s-2";
  await client.getRecommendations([{ indexName: "fashion", model: "trending-items" }]);
  assert.equal(sent[0].body.session_id, "s-1");
  assert.equal(sent[1].body.session_id, "s-2");
  // A signed-in shopper is named by the token, never by a session id.
  const signedIn = instantSearchClient({ server: "http://vitrine.test", shopperToken: "jwt", fetch, sessionId: "s-3" });
  await signedIn.search([{ indexName: "fashion", params: { query: "hoodie", hitsPerPage: 10 } }]);
  assert.equal(sent[2].body.session_id, undefined);
});
