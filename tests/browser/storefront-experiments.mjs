// Experiments driven by real storefront traffic: shoppers (each a fresh session of the storefront
// plug-in in Chromium, against `vitrine demo`) search and click; the experiment's results must
// count exactly what they did; then the winner is promoted. An interleaving test and an A/B test.
// The demo's settings are left as they were found. Run by scripts/test after storefront.mjs.
import { strict as assert } from "node:assert";
import { base, finish, searchStorefront, test } from "./harness.mjs";

const ADMIN = process.env.ADMIN_KEY;
const INDEX = "/v1/indexes/retail";
const QUERY = "heart";
const SHOPPERS = 8;

/** An admin call; returns the parsed answer (throws on an error status). */
async function admin(method, path, body) {
  const headers = { "Content-Type": "application/json", "X-Vitrine-Actor": "storefront-experiments test" };
  if (ADMIN) headers.Authorization = `Bearer ${ADMIN}`;
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The live ranking of QUERY and the product a draft pins on top of it (the live fifth). */
async function rankings() {
  const preview = await admin("POST", `${INDEX}/settings/preview`, { q: QUERY, per_page: 10 });
  const live = preview.live.hits.map((hit) => hit.id);
  return { live, pinned: live[4] };
}

/**
 * `count` shoppers one after another, each in a browser context of its own (so the plug-in makes
 * each a new session id): opens the storefront, searches QUERY, clicks the first result. Returns
 * every search the storefront sent with the server's answer (all of them, however late: a
 * search-as-you-type request may still be in flight when the results show), and per shopper the
 * click it sent.
 */
async function shoppers(page, count) {
  const searches = [];
  const clicks = [];
  for (let shopper = 0; shopper < count; shopper++) {
    const context = await page.context().browser().newContext();
    const guest = await context.newPage();
    const sent = [];
    guest.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith(`${INDEX}/search`)) sent.push(request);
    });
    await guest.goto(`${base}/`);
    await searchStorefront(guest, QUERY);
    const event = guest.waitForRequest((request) => request.url().endsWith(`${INDEX}/events`) && request.postDataJSON().some((e) => e.type === "click"));
    await guest.locator("vitrine-results .grid li a.title").first().click();
    clicks.push((await event).postDataJSON().find((e) => e.type === "click"));
    await guest.waitForLoadState("networkidle");
    for (const request of sent) searches.push({ request: request.postDataJSON(), answer: await (await request.response()).json() });
    await context.close();
  }
  return { searches, clicks };
}

/** The searches of `traffic` the experiment `id` answered, by variant: how many, and the answers to QUERY by query id. */
function byVariant(traffic, id) {
  const counted = {};
  for (const { request, answer } of traffic.searches) {
    assert.ok(request.session_id, `the plug-in names the guest: ${JSON.stringify(request)}`);
    assert.equal(answer.experiment?.id, id, `every answer belongs to the experiment: ${JSON.stringify(answer.experiment)}`);
    const entry = (counted[answer.experiment.variant] ??= { searches: 0, answers: new Map() });
    entry.searches++;
    if (request.q === QUERY) entry.answers.set(answer.query_id, answer);
  }
  return counted;
}

/** The answer each click names, and that the shopper clicked its first result. */
function clickedAnswers(traffic, answers) {
  return traffic.clicks.map((click) => {
    const answer = answers.get(click.query_id);
    assert.ok(answer, `the click names a search of the shopper: ${JSON.stringify(click)}`);
    assert.deepEqual([click.product_id, click.position], [answer.hits[0].id, 1]);
    return answer;
  });
}

await test("an interleaving test: storefront searches and clicks are counted and credited to the ranking that showed the product, then the winner promoted", async (page) => {
  const { live, pinned } = await rankings();
  const before = await admin("GET", `${INDEX}/settings`);
  const draft = { rules: [{ id: "browser-test-pin", condition: { query: QUERY }, pin: [{ id: pinned, position: 1 }] }] };
  const experiment = await admin("POST", `${INDEX}/experiments`, { name: "browser interleaving", kind: "interleaving", variants: [{ name: "live" }, { name: "pinned", settings: draft }] });
  try {
    const traffic = await shoppers(page, SHOPPERS);
    const counted = byVariant(traffic, experiment.id);
    assert.deepEqual(Object.keys(counted), ["interleaved"]);
    // The first result is each ranking's top pick: the live top, or the pinned product; the
    // click on it is a win for that ranking.
    let [controlWins, treatmentWins] = [0, 0];
    for (const answer of clickedAnswers(traffic, counted.interleaved.answers)) {
      const top = answer.hits[0].id;
      assert.ok(top === live[0] || top === pinned, `the first result is one ranking's top: ${top}`);
      if (top === pinned) treatmentWins++;
      else controlWins++;
    }
    const results = (await admin("GET", `${INDEX}/experiments/${experiment.id}`)).results;
    assert.equal(results.variants[0].searches, counted.interleaved.searches, "every storefront search counted, the page's browse included");
    assert.equal(results.variants[0].clicked_searches, SHOPPERS);
    assert.deepEqual([results.interleaving.control_wins, results.interleaving.treatment_wins], [controlWins, treatmentWins]);
    assert.equal(results.interleaving.preference.searches_decided, SHOPPERS);
    // Promoting the pinned ranking publishes its draft.
    const promoted = await admin("POST", `${INDEX}/experiments/${experiment.id}/promote`, { variant: "pinned" });
    assert.equal(promoted.experiment.promoted, "pinned");
    assert.deepEqual((await admin("GET", `${INDEX}/settings`)).rules.map((rule) => rule.id), ["browser-test-pin"]);
  } finally {
    await admin("POST", `${INDEX}/experiments/${experiment.id}/stop`).catch(() => {});
    await admin("PUT", `${INDEX}/settings`, before);
  }
});

await test("an A/B test: each shopper keeps a variant, the results count it, and the promoted draft goes live", async (page) => {
  const { live, pinned } = await rankings();
  const before = await admin("GET", `${INDEX}/settings`);
  const draft = { rules: [{ id: "browser-test-pin", condition: { query: QUERY }, pin: [{ id: pinned, position: 1 }] }] };
  const experiment = await admin("POST", `${INDEX}/experiments`, { name: "browser a/b", kind: "ab", variants: [{ name: "live" }, { name: "pinned", settings: draft }] });
  try {
    const traffic = await shoppers(page, SHOPPERS);
    const counted = byVariant(traffic, experiment.id);
    for (const [variant, { answers }] of Object.entries(counted)) {
      for (const answer of answers.values()) assert.equal(answer.hits[0].id, variant === "pinned" ? pinned : live[0], `${variant} answers with its settings`);
    }
    const results = (await admin("GET", `${INDEX}/experiments/${experiment.id}`)).results;
    for (const variant of results.variants) {
      const mine = counted[variant.name] ?? { searches: 0, answers: new Map() };
      assert.equal(variant.searches, mine.searches, `${variant.name}: searches`);
      const clicked = traffic.clicks.filter((click) => mine.answers.has(click.query_id)).length;
      assert.equal(variant.clicked_searches, clicked, `${variant.name}: clicked searches`);
    }
    assert.equal(results.variants.reduce((sum, variant) => sum + variant.clicked_searches, 0), SHOPPERS);
    const promoted = await admin("POST", `${INDEX}/experiments/${experiment.id}/promote`, { variant: "pinned" });
    assert.equal(promoted.experiment.promoted, "pinned");
    const history = await admin("GET", `${INDEX}/settings/history`);
    assert.equal(history[0].version, promoted.settings_version);
    assert.match(history[0].actor, new RegExp(experiment.id));
    // A new shopper now gets the pinned product first, outside any experiment.
    await page.goto(`${base}/`);
    const answered = page.waitForResponse((response) => response.url().endsWith(`${INDEX}/search`) && response.request().postDataJSON().q === QUERY);
    await searchStorefront(page, QUERY);
    const answer = await (await answered).json();
    assert.equal(answer.experiment, undefined);
    assert.equal(answer.hits[0].id, pinned);
  } finally {
    await admin("POST", `${INDEX}/experiments/${experiment.id}/stop`).catch(() => {});
    // The settings as they were (a first saved version may not exist to restore).
    await admin("PUT", `${INDEX}/settings`, before);
  }
});

await finish();
