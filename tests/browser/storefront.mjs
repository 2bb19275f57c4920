// Browser tests of the storefront plug-in, against a running `vitrine demo`; the harness
// (harness.mjs: Chromium, BASE, screenshots in ARTIFACTS) is shared with console.mjs.
// Run by scripts/test; exits non-zero when a test fails.
import { strict as assert } from "node:assert";
import { base, finish, searchStorefront, test } from "./harness.mjs";

const titles = (page, scope = "vitrine-results .grid li a.title") => page.locator(scope).allInnerTexts();

/** Submits `q` in the search box; returns the milliseconds from Enter to rendered results. */
const search = async (page, q) => (await searchStorefront(page, q)).elapsed;

const RETAIL_PLACEHOLDER = "Search 4,000 gifts and homewares — typos welcome";
const FASHION = `${base}/?index=fashion&facets=color,size,price`;

/** Records every answer the results grid shows (`window.__vitrineResults`), from the page's start
 * on, in every page of the test's context. */
const recordResults = (page) =>
  page.context().addInitScript(() => {
    window.__vitrineResults = [];
    document.addEventListener("vitrine-results", (event) => window.__vitrineResults.push(event.detail));
  });

/** Opens `url` and waits for its first results; returns them. */
async function open(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.__vitrineResults.length > 0);
  return page.evaluate(() => window.__vitrineResults[0]);
}

/** Does `action` (a click, Back…) and waits for the results it brings; returns them. */
async function nextResults(page, action) {
  const seen = await page.evaluate(() => window.__vitrineResults.length);
  await action();
  await page.waitForFunction((seen) => window.__vitrineResults.length > seen, seen);
  return page.evaluate(() => window.__vitrineResults.at(-1));
}

/** What the shopper sees of the search: box, summary, products, facet values (ticks, counts), page. */
const view = (page) =>
  page.evaluate(() => {
    const root = document.querySelector("vitrine-results").shadowRoot;
    return {
      q: document.querySelector("vitrine-search").shadowRoot.querySelector("input").value,
      summary: root.querySelector(".summary").textContent,
      titles: [...root.querySelectorAll(".grid li a.title")].map((link) => link.textContent),
      facets: [...root.querySelectorAll("aside input[type=checkbox]")].map(
        (box) => `${box.dataset.facet}=${box.value}${box.checked ? " [x]" : ""} ${box.closest("label").querySelector(".muted").textContent}`,
      ),
      page: root.querySelector(".pages [aria-current=page]")?.textContent || "1",
      sort: root.querySelector("select").value,
    };
  });

/** The page's URL parameters, for assertions. */
const urlParams = (page) => new URL(page.url()).searchParams;

/** The index's display settings as the server gives them to the search key (null when absent). */
const displayOf = (page, index) =>
  page.evaluate(async (index) => {
    const key = document.querySelector('meta[name="vitrine-search-key"]')?.content;
    const response = await fetch(`/v1/indexes/${index}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return (await response.json()).display || null;
  }, index);

await test("a misspelled query finds the right products", async (page) => {
  await page.goto(`${base}/`);
  await page.locator("vitrine-results .grid li").first().waitFor(); // the browse results
  // Suggestions appear as the shopper types.
  await page.locator("vitrine-search input").pressSequentially("whit hang", { delay: 30 });
  await page.locator("vitrine-search li[role=option]").first().waitFor();
  const elapsed = await search(page, "whte hangin heart");
  console.log(`     time to first results (Enter → rendered): ${elapsed} ms`);
  const found = await titles(page);
  assert.ok(found[0].includes("WHITE HANGING HEART"), `first result: ${found[0]}`);
  assert.ok(await page.locator("vitrine-results .grid li a.title em").count() > 0, "matches are highlighted");
});

await test("two values of a facet combine and keep their counts", async (page) => {
  await page.goto(`${base}/?index=fashion&facets=color,size,price`);
  await search(page, "hoodie");
  const summary = page.locator("vitrine-results .summary");
  const all = Number((await summary.innerText()).match(/of (\d+)/)[1]);
  const count = async (value) =>
    Number((await page.locator(`vitrine-results label:has(input[data-facet=color][value="${value}"]) .muted`).innerText()).replace(/\D/g, ""));
  const blackCount = await count("Black");
  const whiteCount = await count("White");
  await page.evaluate(() => {
    window.__vitrineRuns = 0;
    document.addEventListener("vitrine-results", () => window.__vitrineRuns++);
  });
  await page.locator('vitrine-results input[data-facet=color][value="Black"]').check();
  await page.waitForFunction(() => window.__vitrineRuns >= 1);
  // Disjunctive: the color counts do not shrink when a color is chosen.
  assert.equal(await count("White"), whiteCount, "White keeps its count with Black selected");
  await page.locator('vitrine-results input[data-facet=color][value="White"]').check();
  await page.waitForFunction(() => window.__vitrineRuns >= 2);
  const both = Number((await summary.innerText()).match(/of (\d+)/)[1]);
  assert.ok(both > 0 && both <= all, `black or white hoodies: ${both} of ${all}`);
  assert.ok(blackCount > 0 && whiteCount > 0);
});

await test("a link with ?q= opens with that search run and the box filled; Back undoes a query", async (page) => {
  await recordResults(page);
  const first = await open(page, `${base}/?q=hart`);
  assert.equal(first.q, "hart", "the first search is the link's (no browse before it)");
  assert.ok(first.total > 0, "results for hart");
  assert.equal(await page.locator("vitrine-search input").inputValue(), "hart", "the box holds the query");
  const hart = await view(page);
  assert.ok(/HEART/i.test(hart.titles[0]), `first result for hart: ${hart.titles[0]}`);
  // Another query is one history entry; Back brings the link's search back, box included.
  await search(page, "lunch bag");
  assert.equal(urlParams(page).get("q"), "lunch bag");
  assert.match(page.url(), /[?&]q=lunch\+bag(&|$)/, "readable: spaces as +");
  await nextResults(page, () => page.goBack());
  assert.deepEqual(await view(page), hart, "Back restores the search for hart");
  await nextResults(page, () => page.goForward());
  assert.equal(await page.locator("vitrine-search input").inputValue(), "lunch bag", "Forward redoes it");
});

await test("refinements and pages are in the URL: Back, Forward and a copied link", async (page) => {
  await recordResults(page);
  await open(page, FASHION);
  await search(page, "pants");
  const params = urlParams(page);
  assert.equal(params.get("index"), "fashion", "the page's own parameters stay");
  assert.equal(params.get("facets"), "color,size,price");
  assert.equal(params.get("q"), "pants");
  const tick = (value) => nextResults(page, () => page.locator(`vitrine-results input[data-facet=color][value="${value}"]`).check());
  await tick("Black");
  const black = await view(page);
  assert.deepEqual(urlParams(page).getAll("color"), ["Black"]);
  await tick("Blue");
  const both = await view(page);
  assert.deepEqual(urlParams(page).getAll("color"), ["Black", "Blue"]);
  assert.ok(both.facets.includes(black.facets.find((value) => value.startsWith("color=Blue ")).replace(" (", " [x] (")), "Blue keeps its count");
  const results = await nextResults(page, () => page.locator('vitrine-results .pages button[data-page="2"]').click());
  assert.equal(results.page, 2);
  const second = await view(page);
  assert.equal(second.page, "2");
  assert.equal(urlParams(page).get("page"), "2");
  assert.match(page.url(), /\?index=fashion&facets=color,size,price&q=pants&color=Black&color=Blue&page=2$/, `readable URL: ${page.url()}`);
  // Back: the previous page, then the previous refinement, as they were.
  await nextResults(page, () => page.goBack());
  assert.deepEqual(await view(page), both, "Back: page 1 of black or blue pants");
  assert.equal(urlParams(page).get("page"), null);
  await nextResults(page, () => page.goBack());
  assert.deepEqual(await view(page), black, "Back again: black pants only");
  // Forward redoes both.
  await nextResults(page, () => page.goForward());
  assert.deepEqual(await view(page), both, "Forward: blue again");
  await nextResults(page, () => page.goForward());
  assert.deepEqual(await view(page), second, "Forward: page 2 again");
  // A copied link reproduces the view in a new tab.
  const copy = await page.context().newPage();
  await open(copy, page.url());
  assert.deepEqual(await view(copy), second, "the link opens the same view");
  // Sort and price range are part of it too.
  await nextResults(copy, () => copy.locator("vitrine-results select").selectOption("price_asc"));
  await copy.locator("vitrine-results input[data-bound=lte]").fill("60");
  await nextResults(copy, () => copy.locator("vitrine-results button.apply-price").click());
  const sorted = urlParams(copy);
  assert.equal(sorted.get("sort"), "price_asc");
  assert.equal(sorted.get("price"), "-60");
  assert.equal(sorted.get("page"), null, "a new refinement starts at page 1");
  const priced = await view(copy);
  await open(copy, copy.url());
  assert.deepEqual(await view(copy), priced, "sort and price range come back from the link");
  assert.equal(await copy.locator("vitrine-results input[data-bound=lte]").inputValue(), "60");
});

await test("each index has its own placeholder and facet headings", async (page) => {
  await recordResults(page);
  await open(page, FASHION);
  const input = page.locator("vitrine-search input");
  await page.waitForFunction(() => document.querySelector("vitrine-search").shadowRoot.querySelector("input").placeholder !== "");
  const fashion = await displayOf(page, "fashion");
  const placeholder = await input.getAttribute("placeholder");
  assert.notEqual(placeholder, RETAIL_PLACEHOLDER, "the fashion shop is not the gift shop");
  assert.equal(placeholder, fashion?.search_placeholder || "Search products — typos welcome");
  const legend = (facet) => page.locator(`vitrine-results fieldset[data-facet=${facet}] legend`).innerText();
  assert.equal(await legend("color"), fashion?.facet_labels?.color || "Color");
  assert.equal(await legend("size"), fashion?.facet_labels?.size || "Size");
  if (fashion?.title) assert.equal(await page.locator("h1").innerText(), fashion.title);
  // The retail index's placeholder comes from its settings, not from the page.
  await open(page, `${base}/`);
  await page.waitForFunction(() => document.querySelector("vitrine-search").shadowRoot.querySelector("input").placeholder !== "");
  const retail = await displayOf(page, "retail");
  assert.equal(await input.getAttribute("placeholder"), retail?.search_placeholder || "Search products — typos welcome");
});

await test("size values come in the shop's order (facet_order: XS, S, M, L, XL, then numbers)", async (page) => {
  const answers = [];
  page.on("response", async (response) => {
    if (response.url().endsWith("/v1/indexes/fashion/search")) answers.push(await response.json().catch(() => null));
  });
  await recordResults(page);
  await open(page, FASHION);
  const sizes = await page.locator("vitrine-results input[data-facet=size]").evaluateAll((boxes) => boxes.map((box) => box.value));
  const letters = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"];
  const numeric = (value) => /^\d+(\.\d+)?$/.test(value);
  assert.ok(sizes.includes("XS") && sizes.includes("XL") && sizes.some(numeric), `letter and number sizes: ${sizes.join(", ")}`);
  // Letter sizes by size, then numbers ascending (sizes with a unit, "55 cm", are left out of it).
  const shown = sizes.filter((value) => letters.includes(value) || numeric(value));
  const rank = (value) => (letters.includes(value) ? letters.indexOf(value) : letters.length + Number(value));
  const natural = [...shown].sort((a, b) => rank(a) - rank(b));
  const sent = answers.some((answer) => answer && answer.facet_order && answer.facet_order.size);
  assert.deepEqual(shown, natural, `sizes in natural order${sent ? "" : " (the server sent no facet_order)"}: ${sizes.join(", ")}`);
});

await test("with keys, every component sends the search key and none shows an error", async (page) => {
  const unauthenticated = [];
  const refused = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith("/v1/") && !request.headers().authorization) unauthenticated.push(request.url());
  });
  page.on("response", (response) => {
    if (response.status() === 401 || response.status() === 403) refused.push(`${response.status()} ${response.url()}`);
  });
  const errors = () =>
    page.evaluate(() =>
      [...document.querySelectorAll("vitrine-search, vitrine-results, vitrine-recommendations, vitrine-cart")]
        .map((element) => {
          const shown = [...element.shadowRoot.children].filter((child) => child.localName !== "style").map((child) => child.innerText).join(" ");
          return { element: `${element.localName}[${element.getAttribute("kind") || element.id || ""}]`, shown };
        })
        .filter(({ shown }) => /missing_authorization|authoriz|forbidden|api.key|unavailable|failed|error|HTTP \d{3}|could not/i.test(shown)),
    );
  await recordResults(page);
  for (const url of [`${base}/`, FASHION]) {
    await open(page, url);
    assert.ok(await page.locator('meta[name="vitrine-search-key"]').count(), "the demo runs with keys: the page carries the search key");
    const trending = page.locator("vitrine-recommendations[kind=trending] .track li");
    await trending.first().waitFor();
    // A product's carousels, and the cart.
    await page.locator("vitrine-results .grid li a.title").first().click();
    await page.locator("#similar .track li").first().waitFor();
    await page.locator("#together .track li").first().waitFor();
    if (url === `${base}/`) {
      // The demo sells the gift shop's products.
      await page.locator("vitrine-results button.add").first().click();
      await page.locator("vitrine-cart .lines li[data-product]").first().waitFor();
    }
    await page.waitForLoadState("networkidle");
    assert.deepEqual(await errors(), [], `no component shows an error on ${url}`);
  }
  assert.deepEqual(unauthenticated, [], "every API call carries the key");
  assert.deepEqual(refused, [], "no call is refused");
});

await test("a product's recommendations open: one request per carousel", async (page) => {
  await page.goto(`${base}/`);
  await search(page, "heart t-light holder");
  await page.locator("vitrine-recommendations[kind=trending] .track li a.title").first().waitFor();
  await page.evaluate(() => {
    window.__carousels = [];
    document.addEventListener("vitrine-recommendations", (event) => window.__carousels.push(event.target.id));
  });
  // Every request to the API from the click on: each carousel is one request, its products in the
  // answer (`documents: true`), not one GET /documents/{id} per product.
  const requests = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith("/v1/") || request.method() === "OPTIONS") return;
    requests.push({ method: request.method(), path: url.pathname, body: request.postData() ? JSON.parse(request.postData()) : undefined });
  });
  await page.locator("vitrine-results .grid li a.title").first().click();
  await page.waitForFunction(() => window.__carousels.includes("similar") && window.__carousels.includes("together"));
  await page.waitForTimeout(500); // quiet: a stray request would be seen here
  const product = await page.locator("#similar").getAttribute("product-id");
  const session = await page.evaluate(() => localStorage.getItem("vitrine.session"));
  assert.match(session ?? "", /^s-/, "the plug-in keeps the guest's session id");
  const line = requests.map((request) => `${request.method} ${request.path}${request.body?.kind ? ` (${request.body.kind})` : ""}`);
  const recommendations = requests.filter((request) => request.path === "/v1/indexes/retail/recommendations");
  const events = requests.filter((request) => request.method === "POST" && request.path === "/v1/indexes/retail/events");
  console.log(`     open product ${product}: ${requests.length} request(s) to /v1/: ${recommendations.length} for 2 carousels + ${events.length} event(s) [${line.join(", ")}]`);
  assert.deepEqual(
    recommendations.map((request) => request.body).sort((a, b) => (a.kind < b.kind ? -1 : 1)),
    [
      // The guest's session id: a running experiment keeps showing them one variant.
      { kind: "bought_together", k: 10, product_id: product, documents: true, session_id: session },
      { kind: "similar", k: 10, product_id: product, documents: true, session_id: session },
    ],
    "one recommendations request per carousel, with its products",
  );
  assert.equal(requests.filter((request) => request.path.includes("/documents")).length, 0, "no document read on its own");
  assert.equal(requests.length, recommendations.length + events.length, `nothing but the carousels and the analytics events: ${line.join(", ")}`);
  assert.deepEqual(await page.evaluate(() => window.__carousels.sort()), ["similar", "together"], "each carousel rendered once");

  // Each carousel shows the API's products, titles included (from the answer's documents).
  const key = await page.evaluate(() => document.querySelector('meta[name="vitrine-search-key"]')?.content);
  for (const [id, kind] of [["similar", "similar"], ["together", "bought_together"]]) {
    const response = await fetch(`${base}/v1/indexes/retail/recommendations`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ kind, k: 10, product_id: product, documents: true }),
    });
    const answer = await response.json();
    assert.equal(response.status, 200, JSON.stringify(answer));
    const cards = await page.evaluate(
      (id) => [...document.getElementById(id).shadowRoot.querySelectorAll(".track li a.title")].map((link) => [link.dataset.product, link.textContent]),
      id,
    );
    const expected = answer.items.filter((item) => item.document).map((item) => [item.id, item.document.title]);
    assert.deepEqual(cards, expected, `#${id}: the API's products`);
  }
  assert.ok((await titles(page, "#similar .track li a.title")).length >= 3, "similar products");
  assert.ok((await titles(page, "#together .track li a.title")).length >= 1, "products bought together");
  assert.ok((await titles(page, "vitrine-recommendations[kind=trending] .track li a.title")).length >= 3, "trending products");
});

/** Records every request body the page sends, and everything it keeps in local storage. */
async function watchCardData(page) {
  const bodies = [];
  page.on("request", (request) => bodies.push(`${request.url()} ${request.postData() || ""}`));
  return async (digits) => {
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    for (const seen of [...bodies, stored]) {
      assert.ok(!seen.replace(/\D/g, "").includes(digits), `card digits left the card field: ${seen.slice(0, 200)}`);
    }
  };
}

/** Adds the first "lunch bag" to the cart and fills the city. */
async function fillCart(page) {
  await page.goto(`${base}/`);
  await search(page, "lunch bag");
  await page.locator("vitrine-results button.add").first().click();
  await page.locator("vitrine-cart .lines li[data-product]").first().waitFor();
  await page.locator("vitrine-cart input[name=city]").fill("London");
}

/** Types `card` and places the order. */
async function pay(page, card) {
  await page.locator("vitrine-cart input[name=card]").fill(card);
  await page.locator("vitrine-cart button.primary").click();
}

await test("add to cart, check out with a test card, see the order", async (page) => {
  const noCardData = await watchCardData(page);
  await fillCart(page);
  // A declined card first: the cart stays, the shopper is told.
  await pay(page, "4000 0000 0000 0002");
  await page.locator("vitrine-cart .message.error").waitFor();
  assert.match(await page.locator("vitrine-cart .message").innerText(), /declined/);
  // A real card is refused in the browser (test mode): nothing is sent.
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await pay(page, "4111 1111 1111 1111");
  await page.waitForFunction(() => /test mode/.test(document.querySelector("vitrine-cart").shadowRoot.querySelector(".message").textContent));
  assert.equal(requests.filter((url) => url.includes("/v1/checkout")).length, 0, "a refused card sends nothing");
  await pay(page, "4242 4242 4242 4242");
  await page.locator("vitrine-cart .order-number").waitFor();
  assert.match(await page.locator("vitrine-cart .order-number").innerText(), /^VT-\d{6}$/);
  assert.equal(await page.locator("vitrine-cart form").first().isVisible(), false, "the form goes with the cart");
  for (const digits of ["4000000000000002", "4111111111111111", "4242424242424242"]) await noCardData(digits);
});

await test("a card that asks for 3-D Secure is authenticated in a dialog, then the order is placed", async (page) => {
  const noCardData = await watchCardData(page);
  await fillCart(page);
  // The shopper fails the challenge: no order, the cart stays.
  await pay(page, "4000 0027 6000 3184");
  const challenge = page.frameLocator("vitrine-cart dialog.challenge iframe");
  await challenge.locator("#fail").click();
  await page.locator("vitrine-cart .message.error").waitFor();
  assert.match(await page.locator("vitrine-cart .message").innerText(), /authenticate/);
  assert.equal(await page.locator("vitrine-cart dialog.challenge").isVisible(), false, "the dialog closes");
  // Then passes it: the order is placed.
  await pay(page, "4000 0027 6000 3184");
  await challenge.locator("#complete").click();
  await page.locator("vitrine-cart .order-number").waitFor();
  assert.match(await page.locator("vitrine-cart .order-number").innerText(), /^VT-\d{6}$/);
  await noCardData("4000002760003184");
});

await finish();
