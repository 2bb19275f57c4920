// The browser tests' shared harness: Debian's Chromium, headless, driven by playwright-core,
// against a running `vitrine demo` (BASE, default http://127.0.0.1:18181). Each test gets a fresh
// browser context and page; a screenshot of every page it opened goes to ARTIFACTS (default
// ./browser-artifacts) and errors thrown in a page fail the run. `finish()` prints the summary
// and exits non-zero when a test failed.
import { mkdirSync } from "node:fs";

// playwright-core is installed outside the checkout by scripts/test (PLAYWRIGHT_CORE: its entry).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

export const base = process.env.BASE || "http://127.0.0.1:18181";
export const artifacts = process.env.ARTIFACTS || "browser-artifacts";
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const failures = [];
const errors = [];

/** Runs one test: `body(page)` on a new page (more pages: `page.context().newPage()`). */
export async function test(name, body) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watched = new WeakSet();
  const watch = (page) => {
    if (watched.has(page)) return;
    watched.add(page);
    page.on("pageerror", (error) => errors.push(`${name}: ${error.message}`));
  };
  context.on("page", watch);
  const page = await context.newPage();
  watch(page);
  const started = Date.now();
  try {
    await body(page);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}: ${error.message}`);
  } finally {
    const file = name.replace(/\W+/g, "-");
    const pages = context.pages();
    for (const [i, opened] of pages.entries()) {
      const path = `${artifacts}/${file}${i === 0 ? "" : `-${i + 1}`}.png`;
      // From the top: sticky bars would otherwise show where the page was scrolled to.
      await opened.evaluate(() => window.scrollTo(0, 0)).catch(() => {});
      await opened.screenshot({ path, fullPage: true }).catch(() => {});
    }
    await context.close();
  }
}

/** Submits `q` in the storefront's search box and waits for the results of that search (not the
 * browse results the page opens with); returns `{ elapsed, total }`: the milliseconds from Enter
 * to rendered results, and how many products match. */
export async function searchStorefront(page, q) {
  await page.bringToFront(); // a page in the background has its timers throttled
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
  const elapsed = Date.now() - started;
  return { elapsed, total: await page.evaluate(() => window.__vitrineAnswer.total) };
}

/** Closes the browser, prints the summary and exits (1 when a test failed or a page threw). */
export async function finish() {
  await browser.close();
  if (errors.length) {
    console.log("page errors:\n  " + errors.join("\n  "));
  }
  if (failures.length || errors.length) {
    console.log(`${failures.length} browser test(s) failed; screenshots in ${artifacts}`);
    process.exit(1);
  }
  console.log(`all browser tests passed; screenshots in ${artifacts}`);
}
