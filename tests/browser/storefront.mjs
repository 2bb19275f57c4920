// Browser tests of the storefront plug-in, against a running `vitrine demo`; the harness
// (harness.mjs: Chromium, BASE, screenshots in ARTIFACTS) is shared with console.mjs.
// Run by scripts/test; exits non-zero when a test fails.
import { strict as assert } from "node:assert";
import { base, finish, searchStorefront, test } from "./harness.mjs";

const titles = (page, scope = "vitrine-results .grid li a.title") => page.locator(scope).allInnerTexts();

/** Submits `q` in the search box; returns the milliseconds from Enter to rendered results. */
const search = async (page, q) => (await searchStorefront(page, q)).elapsed;

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

await test("a product's recommendations open", async (page) => {
  await page.goto(`${base}/`);
  await search(page, "heart t-light holder");
  await page.locator("vitrine-results .grid li a.title").first().click();
  await page.locator("#similar .track li a.title").first().waitFor();
  await page.locator("#together .track li a.title").first().waitFor();
  assert.ok((await titles(page, "#similar .track li a.title")).length >= 3, "similar products");
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
