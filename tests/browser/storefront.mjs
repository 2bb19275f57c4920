// Browser tests of the storefront plug-in: Debian's Chromium, headless, driven by playwright-core,
// against a running `vitrine demo` (BASE, default http://127.0.0.1:18181). Screenshots go to
// ARTIFACTS (default ./browser-artifacts). Run by scripts/test; exits non-zero on the first failure.
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";

// playwright-core is installed outside the checkout by scripts/test (PLAYWRIGHT_CORE: its entry).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

const base = process.env.BASE || "http://127.0.0.1:18181";
const artifacts = process.env.ARTIFACTS || "browser-artifacts";
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const failures = [];
const errors = [];

async function test(name, body) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => errors.push(`${name}: ${error.message}`));
  const started = Date.now();
  try {
    await body(page);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}: ${error.message}`);
  } finally {
    await page.screenshot({ path: `${artifacts}/${name.replace(/\W+/g, "-")}.png`, fullPage: true }).catch(() => {});
    await page.close();
  }
}

const titles = (page, scope = "vitrine-results .grid li a.title") => page.locator(scope).allInnerTexts();

/** Submits `q` in the search box and waits for the results of that search (not the browse
 * results the page opens with); returns the milliseconds from Enter to rendered results. */
async function search(page, q) {
  await page.evaluate((q) => {
    window.__vitrineAnswer = null;
    document.addEventListener("vitrine-results", (event) => {
      if (event.detail.q === q) window.__vitrineAnswer = event.detail;
    });
  }, q);
  const input = page.locator("vitrine-search input");
  await input.fill(q);
  const started = Date.now();
  await input.press("Enter");
  await page.waitForFunction(() => window.__vitrineAnswer !== null);
  return Date.now() - started;
}

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

await test("add to cart, check out with a test card, see the order", async (page) => {
  await page.goto(`${base}/`);
  await search(page, "lunch bag");
  await page.locator("vitrine-results button.add").first().click();
  await page.locator("vitrine-cart .lines li[data-product]").first().waitFor();
  // A declined card first: the cart stays, the shopper is told.
  await page.locator("vitrine-cart input[name=card]").fill("4000 0000 0000 0002");
  await page.locator("vitrine-cart input[name=city]").fill("London");
  await page.locator("vitrine-cart button.primary").click();
  await page.locator("vitrine-cart .message.error").waitFor();
  assert.match(await page.locator("vitrine-cart .message").innerText(), /declined/);
  await page.locator("vitrine-cart input[name=card]").fill("4242 4242 4242 4242");
  await page.locator("vitrine-cart button.primary").click();
  await page.locator("vitrine-cart .order-number").waitFor();
  assert.match(await page.locator("vitrine-cart .order-number").innerText(), /^VT-\d{6}$/);
  assert.equal(await page.locator("vitrine-cart form").isVisible(), false, "the form goes with the cart");
});

await browser.close();
if (errors.length) {
  console.log("page errors:\n  " + errors.join("\n  "));
}
if (failures.length || errors.length) {
  console.log(`${failures.length} browser test(s) failed; screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`all browser tests passed; screenshots in ${artifacts}`);
