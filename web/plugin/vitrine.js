/*
 * Vitrine storefront plug-in: one script, no build step. It registers four web components that
 * talk to a Vitrine server:
 *
 *   <vitrine-search server="https://search.example" index="retail" api-key="SEARCH_KEY">
 *   <vitrine-results server=… index=… api-key=… facets="category,price" per-page="24">
 *   <vitrine-recommendations server=… index=… kind="similar" product-id="85123A">
 *   <vitrine-cart server=… index=… api-key=…>
 *
 * Credentials: `api-key` is the server's public search key (or set it once for the page with
 * <meta name="vitrine-search-key" content="…">). For a signed-in shopper, the shop's backend
 * mints a shopper token (POST /v1/shopper-tokens, or offline: a JWT signed with its key) and the
 * page passes it as `shopper-token="…"` or <meta name="vitrine-shopper-token" content="…">: it is
 * sent instead of the search key, and the server takes the shopper from it — the plug-in never
 * names a user itself.
 *
 * Search boxes and result grids on one page find each other by `index` (a search box can also
 * name its grid with `for="id"`).
 *
 * Per index, the shop's display settings (GET /v1/indexes/{index} → `display`, read with the search
 * key) give the search box its placeholder (`search_placeholder`; an element's own `placeholder`
 * attribute wins), the facet headings (`facet_labels`, e.g. {"color": "Colour"}) and a `title`
 * (sent to the page as a `vitrine-display` event on `document`, detail { index, display }). A
 * server without them gets "Search products — typos welcome" and the facet names capitalised.
 * When a search answer carries `facet_order` ({"size": ["XS","S","M",…]}: the shop's configured
 * order of each facet's values), the facet lists follow it; without it, most products first.
 *
 * URL state (opt-in): <vitrine-results url-state> keeps its search in the page's URL, so a link
 * reproduces the view and Back/Forward undo and redo. One history entry per shopper action (a
 * submitted search, a ticked facet value, a price range, a sort, a page; typing does not push);
 * Back and Forward (popstate) restore the state and search again. The encoding is readable, facet
 * names as keys, defaults left out:
 *
 *   ?q=hoodie&color=Black&color=White&price=10-50&sort=price_asc&page=2
 *
 *   q          the query (absent: empty, i.e. browse when the grid has `browse`)
 *   <facet>    one parameter per chosen value of each facet in `facets` (repeated for several);
 *              `category` (a tree) holds one path, e.g. category=Home/Kitchen
 *   price      the price range, `min-max`, either side may be empty: price=10-, price=-50
 *   sort       price_asc | price_desc | popularity | newest (absent: relevance)
 *   page       from 2 (absent: 1)
 *
 * A facet named q, sort or page is written `f.<name>`. Every other parameter of the page (its own,
 * e.g. the demo's `index` and `facets`, or utm_…) is kept as it is. `url-state="s_"` prefixes
 * every key (s_q=…&s_color=…) for a page whose own parameters would clash, or with two grids.
 * Without `url-state` the plug-in never touches the URL or the history.
 *
 * Theme with CSS custom properties on any ancestor: --vitrine-accent, --vitrine-text,
 * --vitrine-muted, --vitrine-surface, --vitrine-radius, --vitrine-font. The components send view,
 * click and add-to-cart events themselves (an anonymous session id kept in localStorage).
 * Everything is plain DOM with ARIA roles and keyboard handling; the server must allow the page's
 * origin (--cors-origin).
 *
 * Payments: a card number never leaves the browser. The cart turns the card into the payment
 * provider's token (`payment_method: "pm_…"`) and sends only that. By default it tokenises with
 * the simulated provider the server runs in test mode, which takes Stripe's test card numbers
 * only (4242 4242 4242 4242 and friends, see VitrineCart.TEST_CARDS) and refuses any other card.
 * A shop with a real provider sets `cart.tokenize = async (cardNumber) => "pm_…"` (with Stripe:
 * stripe.createPaymentMethod on its card Element). When the bank asks the shopper to
 * authenticate (3-D Secure), the cart shows the challenge in a dialog and confirms afterwards;
 * when the provider answers later, it polls the checkout until it is placed or failed.
 */
(() => {
  "use strict";

  const STYLE = `
    :host { font-family: var(--vitrine-font, system-ui, sans-serif); color: var(--vitrine-text, #1d1d1f); display: block; }
    * { box-sizing: border-box; }
    button { font: inherit; cursor: pointer; border-radius: var(--vitrine-radius, 6px); border: 1px solid var(--vitrine-muted, #8e8e93);
             background: var(--vitrine-surface, #fff); color: inherit; padding: .35em .7em; }
    button.primary { background: var(--vitrine-accent, #0a64d8); border-color: var(--vitrine-accent, #0a64d8); color: #fff; }
    button:focus-visible, input:focus-visible, select:focus-visible, [role=option]:focus-visible { outline: 2px solid var(--vitrine-accent, #0a64d8); outline-offset: 2px; }
    input, select { font: inherit; padding: .4em .6em; border: 1px solid var(--vitrine-muted, #8e8e93); border-radius: var(--vitrine-radius, 6px); }
    em { font-style: normal; background: color-mix(in srgb, var(--vitrine-accent, #0a64d8) 18%, transparent); }
    .muted { color: var(--vitrine-muted, #6e6e73); font-size: .9em; }
    .price { font-weight: 600; }
    .card { border: 1px solid color-mix(in srgb, var(--vitrine-muted, #8e8e93) 40%, transparent); border-radius: var(--vitrine-radius, 6px);
            padding: .7em; background: var(--vitrine-surface, #fff); display: flex; flex-direction: column; gap: .4em; }
  `;

  // ---------------------------------------------------------------------------------------------
  // Shared helpers

  /** The deepest result a search can page to (the server's `MAX_RESULT_WINDOW`). */
  const MAX_RESULT_WINDOW = 1000;

  const escapeHtml = (text) =>
    String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  /** The highlight the server sends is already escaped except for its <em> marks. */
  const safeHighlight = (html) => escapeHtml(html).replace(/&lt;em&gt;/g, "<em>").replace(/&lt;\/em&gt;/g, "</em>");

  const money = (amount, currency) => {
    if (typeof amount !== "number") return "";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "GBP" }).format(amount);
    } catch {
      return amount.toFixed(2);
    }
  };

  const sessionId = () => {
    const key = "vitrine.session";
    let id = localStorage.getItem(key);
    if (!id) {
      id = "s-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
      localStorage.setItem(key, id);
    }
    return id;
  };

  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  /** A client for one server, index and key, from an element's attributes. */
  class Client {
    constructor(element) {
      this.server = (element.getAttribute("server") || "").replace(/\/$/, "");
      this.index = element.getAttribute("index") || "retail";
      const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || null;
      this.key = element.getAttribute("api-key") || meta("vitrine-search-key");
      this.shopperToken = element.getAttribute("shopper-token") || meta("vitrine-shopper-token");
    }

    /** Whether a shopper is signed in (the server knows who from the token). */
    get signedIn() {
      return Boolean(this.shopperToken);
    }

    async call(method, path, body, extraHeaders = {}) {
      const headers = { ...extraHeaders };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const credential = this.shopperToken || this.key;
      if (credential) headers.Authorization = `Bearer ${credential}`;
      const response = await fetch(this.server + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      const data = text ? JSON.parse(text) : null;
      if (!response.ok) {
        const error = new Error((data && data.message) || `HTTP ${response.status}`);
        error.code = data && data.code;
        error.status = response.status;
        throw error;
      }
      return data;
    }

    indexPath(rest) {
      return `/v1/indexes/${encodeURIComponent(this.index)}${rest}`;
    }

    /** What names a guest to the server: their session id (a signed-in shopper is named by the
     * token). Searches, recommendations and checkouts carry it, so that a running experiment
     * keeps showing a guest the same variant and counts what they do. */
    identity() {
      return this.signedIn ? {} : { session_id: sessionId() };
    }

    search(request) {
      return this.call("POST", this.indexPath("/search"), { ...request, ...this.identity() });
    }

    suggest(q, limit = 6) {
      return this.call("GET", this.indexPath(`/suggest?q=${encodeURIComponent(q)}&limit=${limit}`));
    }

    /** Recommendations with their products: each item carries its `document` (absent when the
     * product is gone from the index), so a carousel is one request. */
    recommend(request) {
      return this.call("POST", this.indexPath("/recommendations"), { ...request, ...this.identity(), documents: true });
    }

    /** Fire and forget: an analytics failure never breaks the page. */
    event(type, productId, extra = {}) {
      // A signed-in shopper's events are theirs by the token; a guest's carry a session id.
      const event = { type, product_id: productId, ...extra };
      if (!this.signedIn) event.session_id = sessionId();
      this.call("POST", this.indexPath("/events"), [event]).catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What an index shows the shopper: GET /v1/indexes/{index} → `display` (placeholder, facet
  // labels, title), with defaults for a server or index that has none.

  const DEFAULT_PLACEHOLDER = "Search products — typos welcome";
  const displays = new Map();

  /** An index's display settings, fetched once per server, index and credential for the page. */
  function displayOf(client) {
    const key = `${client.server}|${client.index}|${client.shopperToken || client.key || ""}`;
    if (!displays.has(key)) {
      const loading = client
        .call("GET", client.indexPath(""))
        .then((summary) => summary && summary.display, () => null)
        .then((given) => {
          const display = normalDisplay(given);
          document.dispatchEvent(new CustomEvent("vitrine-display", { detail: { server: client.server, index: client.index, display } }));
          return display;
        });
      displays.set(key, loading);
    }
    return displays.get(key);
  }

  const text = (value) => (typeof value === "string" && value.trim() ? value : null);

  /** `display` as the server sent it (or not), every field present. */
  function normalDisplay(given) {
    const display = given && typeof given === "object" ? given : {};
    const labels = {};
    if (display.facet_labels && typeof display.facet_labels === "object") {
      for (const [name, label] of Object.entries(display.facet_labels)) if (text(label)) labels[name] = label;
    }
    return { search_placeholder: text(display.search_placeholder), facet_labels: labels, title: text(display.title) };
  }

  /** A facet's heading: the shop's label, else its name capitalised ("eco_collection" → "Eco collection"). */
  function facetLabel(display, name) {
    const label = display && display.facet_labels[name];
    if (label) return label;
    const words = name.replace(/[_-]+/g, " ").trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  const productCard = (hit, extra = "") => {
    const doc = hit.document || {};
    const title = hit.highlight && hit.highlight.title ? safeHighlight(hit.highlight.title) : escapeHtml(doc.title);
    const image = doc.image_url ? `<img src="${escapeHtml(doc.image_url)}" alt="" loading="lazy" style="max-width:100%">` : "";
    const stock = doc.stock === 0 ? `<span class="muted">Out of stock</span>` : "";
    return `${image}<a href="${escapeHtml(doc.url || "#")}" data-product="${escapeHtml(hit.id)}" class="title">${title}</a>
      <span class="price">${money(doc.price, doc.currency)}</span>${stock}${extra}`;
  };

  // ---------------------------------------------------------------------------------------------
  // <vitrine-search>: a search box with as-you-type suggestions (ARIA combobox).

  class VitrineSearch extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) {
        document.addEventListener("vitrine-query", this.onQuery);
        return;
      }
      this.client = new Client(this);
      const root = this.attachShadow({ mode: "open" });
      const listId = "vitrine-suggestions";
      root.innerHTML = `<style>${STYLE}
          form { display: flex; gap: .4em; position: relative; }
          input { flex: 1; min-width: 10em; }
          ul { position: absolute; top: 100%; left: 0; right: 0; z-index: 10; list-style: none; margin: .2em 0 0; padding: .2em;
               background: var(--vitrine-surface, #fff); border: 1px solid var(--vitrine-muted, #8e8e93); border-radius: var(--vitrine-radius, 6px); }
          li { padding: .35em .5em; border-radius: 4px; cursor: pointer; }
          li[aria-selected=true] { background: color-mix(in srgb, var(--vitrine-accent, #0a64d8) 15%, transparent); }
        </style>
        <form role="search">
          <input type="search" part="input" aria-label="Search products" autocomplete="off" role="combobox"
                 aria-autocomplete="list" aria-expanded="false" aria-controls="${listId}"
                 placeholder="${escapeHtml(this.getAttribute("placeholder") || "")}">
          <button type="submit" class="primary" part="button">Search</button>
          <ul id="${listId}" role="listbox" hidden></ul>
        </form>`;
      this.input = root.querySelector("input");
      this.list = root.querySelector("ul");
      this.active = -1;
      this.input.addEventListener("input", () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.suggest(), 120);
      });
      this.input.addEventListener("keydown", (event) => this.keys(event));
      root.querySelector("form").addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit(this.input.value);
      });
      this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
      // The index's placeholder, unless the page gave one.
      if (!this.hasAttribute("placeholder")) {
        displayOf(this.client).then((display) => {
          if (!this.hasAttribute("placeholder")) this.input.placeholder = display.search_placeholder || DEFAULT_PLACEHOLDER;
        });
      }
      // A grid that keeps its search in the URL says which query it shows (on load, Back, Forward).
      this.onQuery = (event) => {
        if (this.mine(event.detail)) this.show(event.detail.q);
      };
      document.addEventListener("vitrine-query", this.onQuery);
      for (const results of document.querySelectorAll("vitrine-results")) {
        if (results.urlState && results.state && this.mine({ index: results.client.index, id: results.id })) this.show(results.state.q);
      }
    }

    disconnectedCallback() {
      document.removeEventListener("vitrine-query", this.onQuery);
    }

    /** Whether the grid `{ index, id }` is this box's. */
    mine({ index, id }) {
      const target = this.getAttribute("for");
      return target ? target === id : index === this.client.index;
    }

    /** Puts `q` in the box (no suggestions: the shopper did not type it). */
    show(q) {
      clearTimeout(this.timer);
      this.asked = (this.asked || 0) + 1;
      this.input.value = q;
      this.close();
    }

    async suggest() {
      const q = this.input.value;
      if (!q.trim()) return this.close();
      const asked = (this.asked = (this.asked || 0) + 1);
      try {
        const answer = await this.client.suggest(q);
        // A newer keystroke, or the search already submitted: this answer is stale.
        if (q !== this.input.value || asked !== this.asked) return;
        const options = answer.queries.map((text) => ({ text, html: escapeHtml(text) }));
        for (const hit of answer.products.slice(0, 3)) {
          options.push({ text: hit.document.title, html: `<span class="muted">Product:</span> ${safeHighlight(hit.highlight?.title || hit.document.title)}` });
        }
        this.options = options;
        this.active = -1;
        this.list.innerHTML = options
          .map((option, i) => `<li role="option" id="vitrine-option-${i}" aria-selected="false" data-i="${i}">${option.html}</li>`)
          .join("");
        this.list.hidden = options.length === 0;
        this.input.setAttribute("aria-expanded", String(options.length > 0));
        this.list.querySelectorAll("li").forEach((li) =>
          li.addEventListener("mousedown", (event) => {
            event.preventDefault();
            this.choose(Number(li.dataset.i));
          }),
        );
      } catch {
        this.close();
      }
    }

    keys(event) {
      const count = this.options ? this.options.length : 0;
      if (this.list.hidden || count === 0) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
        this.list.querySelectorAll("li").forEach((li, i) => li.setAttribute("aria-selected", String(i === this.active)));
        this.input.setAttribute("aria-activedescendant", `vitrine-option-${this.active}`);
      } else if (event.key === "Enter" && this.active >= 0) {
        event.preventDefault();
        this.choose(this.active);
      } else if (event.key === "Escape") {
        this.close();
      }
    }

    choose(i) {
      this.input.value = this.options[i].text;
      this.submit(this.input.value);
    }

    close() {
      this.list.hidden = true;
      this.input.setAttribute("aria-expanded", "false");
      this.input.removeAttribute("aria-activedescendant");
    }

    submit(q) {
      clearTimeout(this.timer);
      this.asked = (this.asked || 0) + 1;
      this.close();
      const target = this.getAttribute("for");
      const detail = { q, index: this.client.index, target };
      document.dispatchEvent(new CustomEvent("vitrine-search", { detail }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // <vitrine-results>: grid, disjunctive facets, price range, sort, pagination, fallback, and
  // (with `url-state`) the search kept in the page's URL.

  const SORTS = ["relevance", "price_asc", "price_desc", "popularity", "newest"];
  /** The URL keys of the search itself: a facet of one of these names is written `f.<name>`. */
  const STATE_KEYS = ["q", "sort", "page"];

  /** A query-string part, readable: spaces as `+`, and `/ , :` left as they are. */
  const encodeParam = (text) =>
    encodeURIComponent(text).replace(/%20/g, "+").replace(/%2F/gi, "/").replace(/%2C/gi, ",").replace(/%3A/gi, ":");

  const decodeParam = (text) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, " "));
    } catch {
      return text;
    }
  };

  /** A price bound as the URL writes it (no trailing zeros, no exponent). */
  const bound = (value) => (value === undefined ? "" : String(Number(value)));

  class VitrineResults extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) {
        this.listen();
        return;
      }
      this.client = new Client(this);
      this.perPage = Number(this.getAttribute("per-page") || 24);
      this.facetNames = (this.getAttribute("facets") || "category,price").split(",").map((name) => name.trim()).filter(Boolean);
      this.urlState = this.hasAttribute("url-state");
      this.urlPrefix = this.getAttribute("url-state") || "";
      const fromUrl = this.urlState ? this.readUrl() : null;
      this.state = fromUrl || this.initialState();
      const root = this.attachShadow({ mode: "open" });
      root.innerHTML = `<style>${STYLE}
          .layout { display: grid; grid-template-columns: minmax(10em, 14em) 1fr; gap: 1.2em; }
          @media (max-width: 640px) { .layout { grid-template-columns: 1fr; } }
          aside fieldset { border: none; padding: 0; margin: 0 0 1em; }
          aside legend { font-weight: 600; margin-bottom: .3em; }
          aside label { display: flex; gap: .4em; align-items: center; padding: .1em 0; }
          .bar { display: flex; justify-content: space-between; align-items: center; margin-bottom: .6em; gap: .6em; flex-wrap: wrap; }
          .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(12em, 1fr)); gap: .8em; list-style: none; padding: 0; margin: 0; }
          .pages { display: flex; gap: .3em; margin-top: 1em; flex-wrap: wrap; }
          .pages button[aria-current=page] { background: var(--vitrine-accent, #0a64d8); color: #fff; }
          .range { display: flex; gap: .3em; align-items: center; }
          .range input { width: 5em; }
        </style>
        <div class="layout">
          <aside aria-label="Filters"></aside>
          <section aria-live="polite">
            <div class="bar"><span class="summary muted"></span>
              <label>Sort <select aria-label="Sort">
                <option value="relevance">Relevance</option><option value="price_asc">Price: low to high</option>
                <option value="price_desc">Price: high to low</option><option value="popularity">Popularity</option>
                <option value="newest">Newest</option></select></label></div>
            <ul class="grid" role="list"></ul>
            <nav class="pages" aria-label="Pages"></nav>
          </section>
        </div>`;
      this.aside = root.querySelector("aside");
      this.grid = root.querySelector(".grid");
      this.summary = root.querySelector(".summary");
      this.pages = root.querySelector(".pages");
      this.sortSelect = root.querySelector("select");
      this.sortSelect.value = this.state.sort;
      this.sortSelect.addEventListener("change", (event) => this.go({ sort: event.target.value, page: 1 }));
      this.onSearch = (event) => {
        const { q, index, target } = event.detail;
        if (target ? target !== this.id : index !== this.client.index) return;
        this.go({ q, filter: {}, price: {}, page: 1 });
      };
      // Back and Forward: the state of that history entry, searched again (nothing pushed).
      this.onPopState = () => {
        const state = this.readUrl() || this.initialState();
        if (this.serialize(state) === this.serialize(this.state)) return;
        this.state = state;
        this.announce();
        this.show();
      };
      this.listen();
      displayOf(this.client); // the facet labels, asked for alongside the first search
      if (fromUrl) this.announce();
      this.show();
    }

    disconnectedCallback() {
      document.removeEventListener("vitrine-search", this.onSearch);
      window.removeEventListener("popstate", this.onPopState);
    }

    listen() {
      document.addEventListener("vitrine-search", this.onSearch);
      if (this.urlState) window.addEventListener("popstate", this.onPopState);
    }

    /** The state without anything from the URL: the `query` attribute, or nothing. */
    initialState() {
      return { q: this.getAttribute("query") || "", filter: {}, sort: "relevance", page: 1, price: {} };
    }

    /** Searches for the state, or shows nothing when there is nothing to search for yet. */
    show() {
      this.sortSelect.value = this.state.sort;
      const idle = this.serialize(this.state) === this.serialize(this.initialState()) && !this.hasAttribute("query") && !this.hasAttribute("browse");
      if (!idle) return this.run();
      this.ticket = (this.ticket || 0) + 1; // an answer still on its way is not shown
      this.answer = null;
      this.summary.textContent = "";
      this.grid.innerHTML = "";
      this.aside.innerHTML = "";
      this.pages.innerHTML = "";
    }

    /** A shopper's action: the state changes, the URL records it (one history entry), and it runs. */
    go(changes) {
      this.state = { ...this.state, ...changes };
      if (this.urlState) this.writeUrl(true);
      this.run();
    }

    /** Tells search boxes which query this grid shows (when it did not come from them). */
    announce() {
      document.dispatchEvent(new CustomEvent("vitrine-query", { detail: { q: this.state.q, index: this.client.index, id: this.id } }));
    }

    /** The URL key of a facet. */
    facetKey(name) {
      return this.urlPrefix + (STATE_KEYS.includes(name) ? `f.${name}` : name);
    }

    /** `state` as URL parameters, `[key, value]` in a fixed order, defaults left out. */
    serialize(state) {
      const pairs = [];
      if (state.q) pairs.push([this.urlPrefix + "q", state.q]);
      for (const name of this.facetNames) {
        if (name === "price") {
          const { gte, lte } = state.price;
          if (gte !== undefined || lte !== undefined) pairs.push([this.facetKey(name), `${bound(gte)}-${bound(lte)}`]);
          continue;
        }
        const chosen = state.filter[name];
        for (const value of Array.isArray(chosen) ? chosen : chosen ? [chosen] : []) pairs.push([this.facetKey(name), String(value)]);
      }
      if (state.sort && state.sort !== "relevance") pairs.push([this.urlPrefix + "sort", state.sort]);
      if (state.page > 1) pairs.push([this.urlPrefix + "page", String(state.page)]);
      return pairs.map(([key, value]) => `${encodeParam(key)}=${encodeParam(value)}`).join("&");
    }

    /** Every URL key this grid owns. */
    ownKeys() {
      return new Set([...STATE_KEYS.map((key) => this.urlPrefix + key), ...this.facetNames.map((name) => this.facetKey(name))]);
    }

    /** The state the URL holds, or null when it holds none of this grid's keys. */
    readUrl() {
      const params = new URLSearchParams(location.search);
      const own = [...this.ownKeys()].filter((key) => params.has(key));
      if (!own.length) return null;
      const state = { q: "", filter: {}, sort: "relevance", page: 1, price: {} };
      if (params.has(this.urlPrefix + "q")) state.q = params.get(this.urlPrefix + "q");
      for (const name of this.facetNames) {
        const values = [...new Set(params.getAll(this.facetKey(name)).filter((value) => value !== ""))];
        if (!values.length) continue;
        if (name === "price") {
          const range = /^\s*(\d+(?:\.\d+)?)?\s*-\s*(\d+(?:\.\d+)?)?\s*$/.exec(values[0]);
          if (range && range[1] !== undefined) state.price.gte = Number(range[1]);
          if (range && range[2] !== undefined) state.price.lte = Number(range[2]);
        } else if (name === "category") {
          state.filter.category = values[0];
        } else {
          state.filter[name] = values;
        }
      }
      const sort = params.get(this.urlPrefix + "sort");
      if (SORTS.includes(sort)) state.sort = sort;
      const page = Number(params.get(this.urlPrefix + "page"));
      if (Number.isInteger(page) && page > 1) state.page = Math.min(page, Math.max(1, Math.ceil(MAX_RESULT_WINDOW / this.perPage)));
      return state;
    }

    /** Writes the state into the URL, keeping the page's other parameters as they are. */
    writeUrl(push) {
      const own = this.ownKeys();
      const kept = location.search
        .slice(1)
        .split("&")
        .filter((pair) => pair && !own.has(decodeParam(pair.split("=")[0])));
      const ours = this.serialize(this.state);
      const query = [...kept, ...(ours ? [ours] : [])].join("&");
      const url = location.pathname + (query ? `?${query}` : "") + location.hash;
      if (url === location.pathname + location.search + location.hash) return;
      if (push) history.pushState(history.state, "", url);
      else history.replaceState(history.state, "", url);
    }

    request() {
      const filter = { ...this.state.filter };
      if (this.state.price.gte !== undefined || this.state.price.lte !== undefined) filter.price = { ...this.state.price };
      const request = { q: this.state.q, facets: this.facetNames, page: this.state.page, per_page: this.perPage, sort: this.state.sort };
      if (Object.keys(filter).length) request.filter = filter;
      return request;
    }

    async run() {
      // Only the latest search is shown: Back pressed twice quickly does not end on the older answer.
      const ticket = (this.ticket = (this.ticket || 0) + 1);
      this.setAttribute("aria-busy", "true");
      const started = performance.now();
      try {
        const [answer, display] = await Promise.all([this.client.search(this.request()), displayOf(this.client)]);
        if (ticket !== this.ticket) return;
        // A page past the last one (an old link): the last page instead.
        const lastPage = Math.max(1, Math.ceil(Math.min(answer.total, MAX_RESULT_WINDOW) / this.perPage));
        if (answer.total > 0 && this.state.page > lastPage) {
          this.state = { ...this.state, page: lastPage };
          if (this.urlState) this.writeUrl(false);
          return this.run();
        }
        this.answer = answer;
        this.display = display;
        this.render(answer);
        const { q, page, sort, filter, price } = this.state;
        this.dispatchEvent(new CustomEvent("vitrine-results", {
          bubbles: true,
          composed: true,
          detail: { q, page, sort, filter, price, total: answer.total, ms: performance.now() - started },
        }));
        if (answer.total === 0) await this.fallback(ticket);
      } catch (error) {
        if (ticket === this.ticket) this.summary.textContent = `Search failed: ${error.message}`;
      } finally {
        if (ticket === this.ticket) this.removeAttribute("aria-busy");
      }
    }

    render(answer) {
      const { page } = this.state;
      this.sortSelect.value = this.state.sort;
      const first = answer.total === 0 ? 0 : (page - 1) * this.perPage + 1;
      const last = first === 0 ? 0 : first + answer.hits.length - 1;
      this.summary.textContent = answer.total === 0 ? `No results for “${this.state.q}”` : `${first}–${last} of ${answer.total} results`;
      this.grid.innerHTML = answer.hits
        .map((hit, i) => `<li class="card" data-position="${first + i}">${productCard(hit, `<button class="add" data-product="${escapeHtml(hit.id)}">Add to cart</button>`)}</li>`)
        .join("");
      this.grid.querySelectorAll("a[data-product]").forEach((link) =>
        link.addEventListener("click", (event) => {
          const position = Number(link.closest("li").dataset.position);
          this.client.event("click", link.dataset.product, { query_id: answer.query_id, position });
          this.dispatchEvent(new CustomEvent("vitrine-product", { bubbles: true, composed: true, detail: { productId: link.dataset.product, index: this.client.index } }));
          if (link.getAttribute("href") === "#") event.preventDefault();
        }),
      );
      this.grid.querySelectorAll("button.add").forEach((button) =>
        button.addEventListener("click", () => addToCart(this.client, button.dataset.product, 1, { query_id: answer.query_id })),
      );
      this.renderFacets(answer);
      this.renderPages(answer.total);
    }

    /** A facet's values and counts, in the shop's order when the answer has it (`facet_order`), else most products first. */
    facetValues(answer, name) {
      const counts = (answer.facets || {})[name] || {};
      const byCount = (entries) => entries.sort((a, b) => b[1] - a[1]);
      const order = answer.facet_order && answer.facet_order[name];
      if (!Array.isArray(order)) return byCount(Object.entries(counts));
      const placed = new Set();
      const values = [];
      for (const value of order.map(String)) {
        if (placed.has(value) || !Object.prototype.hasOwnProperty.call(counts, value)) continue;
        placed.add(value);
        values.push([value, counts[value]]);
      }
      return values.concat(byCount(Object.entries(counts).filter(([value]) => !placed.has(value))));
    }

    renderFacets(answer) {
      const parts = [];
      for (const name of this.facetNames) {
        const legend = `<legend>${escapeHtml(facetLabel(this.display, name))}</legend>`;
        if (name === "price") {
          const stats = (answer.facet_stats || {}).price;
          if (!stats) continue;
          const { gte = "", lte = "" } = this.state.price;
          parts.push(`<fieldset data-facet="price">${legend}<div class="range">
              <input type="number" min="0" step="any" aria-label="Minimum price" placeholder="${Math.floor(stats.min)}" value="${gte}" data-bound="gte">
              <span>–</span>
              <input type="number" min="0" step="any" aria-label="Maximum price" placeholder="${Math.ceil(stats.max)}" value="${lte}" data-bound="lte">
              <button type="button" class="apply-price">Go</button></div></fieldset>`);
          continue;
        }
        const values = this.facetValues(answer, name);
        if (values.length === 0) continue;
        const selected = name === "category" ? [this.state.filter.category].filter(Boolean) : this.state.filter[name] || [];
        const items = values
          .map(([value, count]) => {
            const checked = selected.includes(value) ? "checked" : "";
            const label = name === "category" ? value.split("/").pop() : value;
            return `<label><input type="checkbox" data-facet="${escapeHtml(name)}" value="${escapeHtml(value)}" ${checked}> ${escapeHtml(label)} <span class="muted">(${count})</span></label>`;
          })
          .join("");
        const back = name === "category" && selected.length ? `<button type="button" class="up">All categories</button>` : "";
        parts.push(`<fieldset data-facet="${escapeHtml(name)}">${legend}${back}${items}</fieldset>`);
      }
      this.aside.innerHTML = parts.join("");
      this.aside.querySelectorAll("input[type=checkbox]").forEach((box) =>
        box.addEventListener("change", () => {
          const name = box.dataset.facet;
          const filter = { ...this.state.filter };
          if (name === "category") {
            // A category tree: choosing a node narrows to it; its children are the next facet values.
            if (box.checked) filter.category = box.value;
            else delete filter.category;
          } else {
            const current = new Set(filter[name] || []);
            box.checked ? current.add(box.value) : current.delete(box.value);
            if (current.size) filter[name] = [...current];
            else delete filter[name];
          }
          this.go({ filter, page: 1 });
        }),
      );
      const up = this.aside.querySelector("button.up");
      if (up) {
        up.addEventListener("click", () => {
          const filter = { ...this.state.filter };
          delete filter.category;
          this.go({ filter, page: 1 });
        });
      }
      const apply = this.aside.querySelector("button.apply-price");
      if (apply) {
        apply.addEventListener("click", () => {
          const price = {};
          this.aside.querySelectorAll("input[data-bound]").forEach((input) => {
            if (input.value !== "" && Number.isFinite(Number(input.value))) price[input.dataset.bound] = Number(input.value);
          });
          this.go({ price, page: 1 });
        });
      }
    }

    renderPages(total) {
      // Paging reaches the first MAX_RESULT_WINDOW results (the server refuses deeper pages).
      const count = Math.min(Math.ceil(Math.min(total, MAX_RESULT_WINDOW) / this.perPage), 50);
      if (count <= 1) {
        this.pages.innerHTML = "";
        return;
      }
      const buttons = [];
      for (let page = 1; page <= count; page++) {
        const current = page === this.state.page ? 'aria-current="page"' : "";
        buttons.push(`<button type="button" data-page="${page}" ${current}>${page}</button>`);
      }
      this.pages.innerHTML = buttons.join("");
      this.pages.querySelectorAll("button").forEach((button) =>
        button.addEventListener("click", () => {
          const page = Number(button.dataset.page);
          if (page !== this.state.page) this.go({ page });
        }),
      );
    }

    /** No result: offer what the query almost said, and what sells. */
    async fallback(ticket) {
      const parts = [];
      try {
        const suggestions = await this.client.suggest(this.state.q, 5);
        if (suggestions.queries.length) {
          parts.push(`<li class="card" style="grid-column: 1 / -1">Try: ${suggestions.queries
            .map((q) => `<button type="button" class="retry" data-q="${escapeHtml(q)}">${escapeHtml(q)}</button>`)
            .join(" ")}</li>`);
        }
      } catch {}
      try {
        const popular = await this.client.recommend({ kind: "trending", k: 8 });
        const cards = popular.items.filter((item) => item.document).map((item) => ({ id: item.id, document: item.document }));
        if (cards.length) {
          parts.push(`<li class="muted" style="grid-column: 1 / -1">Popular right now</li>`);
          parts.push(...cards.map((hit) => `<li class="card">${productCard(hit)}</li>`));
        }
      } catch {}
      if (ticket !== this.ticket) return;
      this.grid.innerHTML = parts.join("");
      this.grid.querySelectorAll("button.retry").forEach((button) =>
        button.addEventListener("click", () => {
          this.go({ q: button.dataset.q, page: 1, filter: {}, price: {} });
          this.announce();
        }),
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // <vitrine-recommendations>: a carousel.

  class VitrineRecommendations extends HTMLElement {
    static get observedAttributes() {
      return ["product-id", "kind", "shopper-token"];
    }

    connectedCallback() {
      if (!this.shadowRoot) {
        const root = this.attachShadow({ mode: "open" });
        root.innerHTML = `<style>${STYLE}
            h2 { font-size: 1.1em; margin: 0 0 .5em; }
            .track { display: flex; gap: .8em; overflow-x: auto; scroll-snap-type: x mandatory; padding-bottom: .4em; list-style: none; margin: 0; padding-left: 0; }
            .track li { flex: 0 0 12em; scroll-snap-align: start; }
            .controls { display: flex; gap: .3em; justify-content: flex-end; }
          </style>
          <section role="region" aria-roledescription="carousel" aria-label="Recommendations">
            <h2></h2><div class="controls"><button type="button" class="prev" aria-label="Previous">‹</button><button type="button" class="next" aria-label="Next">›</button></div>
            <ul class="track" role="list"></ul></section>`;
        this.track = root.querySelector(".track");
        root.querySelector(".prev").addEventListener("click", () => this.track.scrollBy({ left: -this.track.clientWidth, behavior: "smooth" }));
        root.querySelector(".next").addEventListener("click", () => this.track.scrollBy({ left: this.track.clientWidth, behavior: "smooth" }));
        this.track.addEventListener("keydown", (event) => {
          if (event.key === "ArrowRight") this.track.scrollBy({ left: 200 });
          if (event.key === "ArrowLeft") this.track.scrollBy({ left: -200 });
        });
        this.track.tabIndex = 0;
      }
      this.load();
    }

    attributeChangedCallback() {
      if (this.shadowRoot) this.load();
    }

    async load() {
      const client = new Client(this);
      const kind = this.getAttribute("kind") || "trending";
      const request = { kind, k: Number(this.getAttribute("k") || 10) };
      if (this.getAttribute("product-id")) request.product_id = this.getAttribute("product-id");
      if (kind === "cart") request.product_ids = (this.getAttribute("product-ids") || "").split(",").filter(Boolean);
      const title = this.getAttribute("heading") || { similar: "Similar products", bought_together: "Frequently bought together", for_user: "For you", trending: "Trending", cart: "Goes with your cart" }[kind] || "Recommended";
      this.shadowRoot.querySelector("h2").textContent = title;
      const needsProduct = kind === "similar" || kind === "bought_together";
      // A product's "similar" carousel stands on its page: that is a view of the product.
      if (kind === "similar" && request.product_id && this.viewed !== request.product_id) {
        this.viewed = request.product_id;
        client.event("view", request.product_id);
      }
      if ((needsProduct && !request.product_id) || (kind === "cart" && !request.product_ids.length)) {
        this.track.innerHTML = "";
        return;
      }
      try {
        const answer = await client.recommend(request);
        if (!answer.items.length) {
          this.track.innerHTML = `<li class="muted">Nothing to recommend yet.</li>`;
          return;
        }
        // Titles and prices come with the answer (`documents: true`); a product gone from the
        // index has no document and no card.
        this.track.innerHTML = answer.items
          .map((item) => {
            const document = item.document;
            if (!document) return "";
            return `<li class="card" data-reason="${escapeHtml(item.reason)}">${productCard({ id: item.id, document }, `<button class="add" data-product="${escapeHtml(item.id)}">Add to cart</button>`)}</li>`;
          })
          .join("");
        const fromList = answer.query_id ? { query_id: answer.query_id } : {};
        this.track.querySelectorAll("button.add").forEach((button) => button.addEventListener("click", () => addToCart(client, button.dataset.product, 1, fromList)));
        this.track.querySelectorAll("a[data-product]").forEach((link) =>
          link.addEventListener("click", (event) => {
            // A list served under an experiment has an id; its clicks point back to it.
            client.event("click", link.dataset.product, fromList);
            this.dispatchEvent(new CustomEvent("vitrine-product", { bubbles: true, composed: true, detail: { productId: link.dataset.product, index: client.index } }));
            if (link.getAttribute("href") === "#") event.preventDefault();
          }),
        );
        this.dispatchEvent(new CustomEvent("vitrine-recommendations", { bubbles: true, composed: true, detail: { model: answer.model_version, count: answer.items.length } }));
      } catch (error) {
        // An index without a model yet has nothing to recommend: not the shopper's problem.
        if (error.code === "model_not_trained") {
          this.track.innerHTML = `<li class="muted" data-code="model_not_trained">Nothing to recommend yet.</li>`;
          return;
        }
        this.track.innerHTML = `<li class="muted">Recommendations unavailable (${escapeHtml(error.code || error.message)}).</li>`;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // <vitrine-cart>: mini cart and checkout against the commerce API.

  /** Tells every cart on the page to add a product (and records the add-to-cart event, with the
   * `query_id` of the search or list it was added from, if any). */
  function addToCart(client, productId, quantity = 1, from = {}) {
    client.event("add_to_cart", productId, from);
    document.dispatchEvent(new CustomEvent("vitrine-add-to-cart", { detail: { productId, quantity, index: client.index } }));
  }

  class VitrineCart extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.client = new Client(this);
      const root = this.attachShadow({ mode: "open" });
      root.innerHTML = `<style>${STYLE}
          .lines { list-style: none; padding: 0; margin: 0 0 .6em; }
          .lines li { display: flex; justify-content: space-between; gap: .5em; padding: .25em 0; align-items: center; }
          form { display: grid; gap: .4em; margin-top: .6em; }
          form[hidden], ul[hidden] { display: none; }
          .error { color: #b00020; }
          .ok { color: #1b7f3b; }
        </style>
        <section aria-label="Cart">
          <h2 style="font-size:1.1em;margin:0 0 .4em">Cart <span class="count muted"></span></h2>
          <ul class="lines" role="list"></ul>
          <div class="total"></div>
          <form hidden>
            <input name="card" inputmode="numeric" autocomplete="cc-number" aria-label="Card number" placeholder="Card number" value="" required>
            <input name="city" aria-label="City" placeholder="City" required>
            <button type="submit" class="primary">Place order</button>
          </form>
          <p class="message" role="status"></p>
          <dialog class="challenge" aria-label="Authenticate your payment">
            <iframe title="Your bank's authentication" style="width:min(36rem,90vw);height:22rem;border:0"></iframe>
            <form method="dialog"><button value="cancel">Cancel</button></form>
          </dialog>
        </section>`;
      this.challenge = root.querySelector("dialog.challenge");
      this.lines = root.querySelector(".lines");
      this.total = root.querySelector(".total");
      this.form = root.querySelector("form");
      this.message = root.querySelector(".message");
      this.count = root.querySelector(".count");
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.checkout();
      });
      this.onAdd = (event) => {
        if (event.detail.index && event.detail.index !== this.client.index) return;
        this.add(event.detail.productId, event.detail.quantity);
      };
      document.addEventListener("vitrine-add-to-cart", this.onAdd);
      this.refresh();
    }

    disconnectedCallback() {
      document.removeEventListener("vitrine-add-to-cart", this.onAdd);
    }

    get storageKey() {
      return `vitrine.cart.${this.client.server}`;
    }

    stored() {
      try {
        return JSON.parse(localStorage.getItem(this.storageKey)) || null;
      } catch {
        return null;
      }
    }

    async ensureCart() {
      const known = this.stored();
      if (known) return known;
      // With a shopper token this is the shopper's own open cart.
      const cart = await this.client.call("POST", "/v1/carts", {});
      const saved = { id: cart.id, token: cart.token };
      localStorage.setItem(this.storageKey, JSON.stringify(saved));
      return saved;
    }

    async add(productId, quantity = 1) {
      this.message.textContent = "";
      try {
        const cart = await this.ensureCart();
        const view = await this.client.call("POST", `/v1/carts/${encodeURIComponent(cart.id)}/items`, { product_id: productId, quantity }, { "X-Cart-Token": cart.token });
        this.render(view);
        this.message.className = "message ok";
        this.message.textContent = "Added to your cart.";
      } catch (error) {
        if (error.code === "cart_not_found" || error.code === "cart_closed" || error.code === "invalid_cart_token") {
          localStorage.removeItem(this.storageKey);
          return this.add(productId, quantity);
        }
        this.message.className = "message error";
        this.message.textContent =
          error.code === "out_of_stock" ? "Sorry, not enough in stock." : error.code === "product_not_for_sale" ? "Sorry, this product is not for sale here." : `Could not add: ${error.message}`;
      }
    }

    async refresh() {
      const cart = this.stored();
      if (!cart) return this.render(null);
      try {
        this.render(await this.client.call("GET", `/v1/carts/${encodeURIComponent(cart.id)}`, undefined, { "X-Cart-Token": cart.token }));
      } catch {
        localStorage.removeItem(this.storageKey);
        this.render(null);
      }
    }

    render(view) {
      this.view = view;
      const lines = view ? view.lines : [];
      this.count.textContent = lines.length ? `(${lines.reduce((sum, line) => sum + line.quantity, 0)})` : "";
      this.lines.innerHTML = lines.length
        ? lines
            .map((line) => `<li data-product="${escapeHtml(line.product_id)}"><span>${escapeHtml(line.product_id)} × ${line.quantity}</span>
                <button type="button" class="remove" aria-label="Remove ${escapeHtml(line.product_id)}">✕</button></li>`)
            .join("")
        : `<li class="muted">Your cart is empty.</li>`;
      const totals = view && view.totals;
      this.total.innerHTML = totals && lines.length ? `Total <span class="price">${money(totals.total_cents / 100, view.currency)}</span>` : "";
      this.form.hidden = !lines.length;
      this.lines.querySelectorAll("button.remove").forEach((button) =>
        button.addEventListener("click", async () => {
          const cart = this.stored();
          const product = button.closest("li").dataset.product;
          this.render(await this.client.call("DELETE", `/v1/carts/${encodeURIComponent(cart.id)}/items/${encodeURIComponent(product)}`, undefined, { "X-Cart-Token": cart.token }));
        }),
      );
    }

    /**
     * The payment provider's token for `cardNumber` (a card number never goes to the server).
     * A shop with a real provider replaces this (`cart.tokenize = …`); by default it is the
     * simulated provider of the server's test mode, which knows Stripe's test cards only.
     */
    async tokenize(cardNumber) {
      const digits = cardNumber.replace(/[\s-]/g, "");
      if (!/^\d{12,19}$/.test(digits) || !luhn(digits)) throw Object.assign(new Error("That card number is not valid."), { code: "invalid_card_number" });
      const method = VitrineCart.TEST_CARDS[digits];
      if (!method) {
        throw Object.assign(new Error("This shop is in test mode: use a test card such as 4242 4242 4242 4242."), { code: "test_mode_card_refused" });
      }
      return method;
    }

    async checkout() {
      const cart = this.stored();
      if (!cart) return;
      const button = this.form.querySelector("button[type=submit]");
      button.disabled = true;
      this.message.className = "message";
      this.message.textContent = "";
      try {
        const paymentMethod = await this.tokenize(this.form.card.value);
        // The card number is not kept once tokenised.
        this.form.card.value = "";
        // One key per attempt of this cart: a double click or a retry after a network error
        // replays the first answer instead of charging twice.
        const key = this.pendingKey || (this.pendingKey = uuid());
        const body = {
          cart_id: cart.id,
          index: this.client.index,
          payment: { payment_method: paymentMethod },
          shipping_address: { city: this.form.city.value },
          ...this.client.identity(),
        };
        const headers = { "X-Cart-Token": cart.token };
        let answer = await this.client.call("POST", "/v1/checkout", body, { ...headers, "Idempotency-Key": key });
        if (answer.status === "requires_action") {
          const passed = await this.authenticate(answer.next_action.url);
          answer = await this.client.call("POST", `/v1/checkout/${encodeURIComponent(answer.checkout_id)}/confirm`, { index: this.client.index, ...this.client.identity() }, headers);
          if (answer.status === "requires_action" && !passed) throw Object.assign(new Error("authentication abandoned"), { code: "authentication_abandoned" });
        }
        answer = await this.settle(answer, headers);
        this.pendingKey = null;
        localStorage.removeItem(this.storageKey);
        this.render(null);
        this.message.className = "message ok";
        this.message.innerHTML = `Thank you! Order <strong class="order-number">${escapeHtml(answer.order_number)}</strong> is placed.`;
        this.dispatchEvent(new CustomEvent("vitrine-order", { bubbles: true, composed: true, detail: answer }));
      } catch (error) {
        // An attempt that got no answer (network), is still running, waits for the bank's
        // challenge or for the provider keeps its key: trying again replays its outcome (or
        // shows the challenge again) instead of paying twice.
        const unfinished = ["idempotency_key_in_use", "checkout_in_progress", "authentication_abandoned", "payment_processing"];
        const unanswered = error.status === undefined && error.code === undefined;
        if (!unanswered && !unfinished.includes(error.code)) this.pendingKey = null;
        this.message.className = "message error";
        this.message.textContent = checkoutMessage(error);
      } finally {
        button.disabled = false;
      }
    }

    /**
     * Shows the bank's challenge (3-D Secure) in a dialog; resolves with whether the shopper
     * passed it (false when the dialog is closed without an answer).
     */
    authenticate(url) {
      const dialog = this.challenge;
      const frame = dialog.querySelector("iframe");
      const target = new URL(url, this.client.server || location.href);
      return new Promise((resolve) => {
        const onMessage = (event) => {
          if (event.source !== frame.contentWindow || !event.data || !event.data.vitrine3ds) return;
          done(event.data.vitrine3ds === "passed");
        };
        const onClose = () => done(false);
        const done = (passed) => {
          window.removeEventListener("message", onMessage);
          dialog.removeEventListener("close", onClose);
          if (dialog.open) dialog.close();
          frame.src = "about:blank";
          resolve(passed);
        };
        window.addEventListener("message", onMessage);
        dialog.addEventListener("close", onClose);
        frame.src = target.href;
        dialog.showModal();
      });
    }

    /** Waits for a checkout the provider answers later (`processing`) to be placed or fail. */
    async settle(answer, headers) {
      for (let waited = 0; answer.status !== "placed"; waited += 1) {
        if (answer.status === "failed") throw Object.assign(new Error(answer.failure || "the checkout failed"), { code: answer.failure === "authentication_failed" ? "authentication_failed" : "payment_declined", status: 402 });
        if (waited >= 120) throw Object.assign(new Error("The payment is still being processed: we will email you when it completes."), { code: "payment_processing", status: 202 });
        this.message.className = "message";
        this.message.textContent = "Your payment is being processed…";
        await new Promise((resolve) => setTimeout(resolve, 1000));
        answer = await this.client.call("GET", `/v1/checkout/${encodeURIComponent(answer.checkout_id)}`, undefined, headers);
      }
      return answer;
    }
  }

  /** Stripe's test card numbers and the simulated provider's tokens for them. */
  VitrineCart.TEST_CARDS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4100000000000019": "pm_card_chargeDeclinedFraudulent",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000000000000119": "pm_card_chargeDeclinedProcessingError",
    "4000002760003184": "pm_card_authenticationRequired",
  };

  /** The Luhn checksum of a card number's digits. */
  function luhn(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let digit = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    return sum % 10 === 0;
  }

  /** What the shopper reads when a checkout does not go through. */
  function checkoutMessage(error) {
    if (error.code === "payment_declined" && /authentication/.test(error.message)) return "Your bank could not authenticate the payment.";
    switch (error.code) {
      case "payment_declined":
        return "Your card was declined.";
      case "authentication_failed":
      case "authentication_abandoned":
        return "Your bank could not authenticate the payment.";
      case "out_of_stock":
        return "Something in your cart sold out.";
      case "invalid_card_number":
      case "test_mode_card_refused":
      case "payment_processing":
        return error.message;
      case "idempotency_key_in_use":
      case "checkout_in_progress":
        return "Your order is still being placed: try again in a moment.";
      default:
        return error.status === undefined ? "The shop could not be reached: try again." : `Checkout failed: ${error.message}`;
    }
  }

  const define = (name, element) => {
    if (!customElements.get(name)) customElements.define(name, element);
  };
  define("vitrine-search", VitrineSearch);
  define("vitrine-results", VitrineResults);
  define("vitrine-recommendations", VitrineRecommendations);
  define("vitrine-cart", VitrineCart);
})();
