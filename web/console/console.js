/*
 * Vitrine merchandiser console, served at /console: one script, no build step, no framework.
 *
 * It edits a DRAFT of an index's settings (a deep copy of the live settings; nothing reaches the
 * shop until "Publish draft"), previews a query with the live settings and with the draft side by
 * side, runs the offline evaluation of the draft on a judgments file, and shows the audit log of
 * published versions with rollback (the Settings page). The Experiments page (`#experiments`,
 * `#experiments/{id}`) tests the draft on real shoppers: an A/B or interleaving test of live
 * against the draft's changed parts, its results refreshed while it runs, stop and promote
 * (docs/experiments.md). It talks to the page's own origin:
 *
 *   GET  /v1/indexes                                      the index picker
 *   GET  /v1/indexes/{index}/settings                     live settings (the draft starts as a copy)
 *   PUT  /v1/indexes/{index}/settings                     publish the draft
 *   POST /v1/indexes/{index}/settings/preview             {q, draft, per_page} → {live, draft}
 *   POST /v1/indexes/{index}/settings/evaluate            {draft, judgments, typos} → comparison
 *   GET  /v1/indexes/{index}/settings/history             the audit log, newest first
 *   POST /v1/indexes/{index}/settings/history/{v}/restore roll back
 *   GET  /v1/indexes/{index}/experiments                  the index's experiments, newest first
 *   POST /v1/indexes/{index}/experiments                  start one: live against the draft
 *   GET  /v1/indexes/{index}/experiments/{id}             one experiment with its results
 *   POST /v1/indexes/{index}/experiments/{id}/stop        stop it
 *   POST /v1/indexes/{index}/experiments/{id}/promote     {variant}: publish it, stop the experiment
 *
 * The console signs in with an API key (`GET /v1/keys/self` says what it may do: editing needs
 * `settings.write`, on the indexes the key reaches). The key is kept in sessionStorage and sent as `Authorization: Bearer`; the merchandiser's
 * name is kept in localStorage and sent percent-encoded as `X-Vitrine-Actor` (the audit log shows it). The draft
 * only ever holds the settings' own keys: the server refuses unknown ones.
 */
(() => {
  "use strict";

  /** The settings' parts, as the server names them. */
  const PARTS = ["typo_tolerance", "ranking", "facets", "synonyms", "rules", "variants"];
  const PART_LABELS = {
    typo_tolerance: "typo tolerance",
    ranking: "ranking",
    facets: "facets",
    synonyms: "synonyms",
    rules: "rules",
    variants: "variants",
  };

  /** [field, label, explanation, default] of the ranking weights. */
  const RANKING_FIELDS = [
    ["title", "Title", "BM25 weight of the title: how much a match in the product name counts.", 3],
    ["brand", "Brand", "BM25 weight of the brand.", 2],
    ["category", "Category", "BM25 weight of the category names.", 1.5],
    ["attributes", "Attributes", "BM25 weight of attribute values (colour, size, material…).", 1],
    ["description", "Description", "BM25 weight of the long description.", 0.3],
    ["phrase", "Phrase", "Bonus when the query's words appear close together in the title.", 4],
    ["popularity", "Popularity", "Weight of ln(1 + popularity): best sellers rise.", 1],
    ["rating", "Rating", "Weight of the rating (rating ÷ 5): well-reviewed products rise.", 2],
    ["margin", "Margin", "Weight of the margin (−1 to 1): profitable products rise.", 2],
    ["out_of_stock_penalty", "Out-of-stock penalty", "Subtracted from out-of-stock products: they sink below in-stock ones that match as well, but are still shown.", 5000],
    ["personalization", "Personalization", "0 to 100. Re-ranks a page by the shopper's taste when the search names a known user; 0 turns it off.", 0],
  ];

  /** Text fields where typos can be refused. */
  const TYPO_ATTRIBUTES = ["title", "brand", "category", "attributes"];

  const KEY_STORAGE = "vitrine.console.key";
  const ACTOR_STORAGE = "vitrine.console.actor";

  // ---------------------------------------------------------------------------------------------
  // Helpers

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  const escapeHtml = (text) =>
    String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  /** The highlight the server sends is already escaped except for its <em> marks. */
  const safeHighlight = (html) => escapeHtml(html).replace(/&lt;em&gt;/g, "<em>").replace(/&lt;\/em&gt;/g, "</em>");

  const clone = (value) => structuredClone(value);

  /** JSON with object keys sorted: equal settings give equal text whatever the key order. */
  const canonical = (value) =>
    JSON.stringify(value, (_key, inner) =>
      inner && typeof inner === "object" && !Array.isArray(inner)
        ? Object.fromEntries(Object.keys(inner).sort().map((key) => [key, inner[key]]))
        : inner,
    );

  const commaList = (text) => String(text).split(",").map((item) => item.trim()).filter(Boolean);

  const plural = (count, one, many = `${one}s`) => `${count.toLocaleString()} ${count === 1 ? one : many}`;

  const formatNumber = (value, digits = 3) =>
    typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";

  const signed = (value, digits = 3) =>
    typeof value === "number" && Number.isFinite(value) ? `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(digits)}` : "—";

  const money = (document) => {
    const price = document.price;
    let amount = null;
    let currency = document.currency || "GBP";
    if (typeof price === "number") amount = price;
    else if (price && typeof price.minor_units === "number") {
      currency = price.currency || currency;
      amount = price.minor_units / 100;
    }
    if (amount === null) return "";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
    } catch {
      return amount.toFixed(2);
    }
  };

  const localTime = (iso) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso ?? "") : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  };

  /** An RFC 3339 instant as the value of a `datetime-local` input (local time, minutes). */
  const toLocalInput = (iso) => {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  };

  const fromLocalInput = (value) => {
    if (!value) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.000Z$/, "Z");
  };

  /** The name for the audit log, percent-encoded UTF-8 (header values are ASCII; the server decodes it). */
  const actorHeader = (text) => encodeURIComponent(String(text).trim().slice(0, 100));

  const storage = (kind) => {
    try {
      return kind === "session" ? window.sessionStorage : window.localStorage;
    } catch {
      return null;
    }
  };
  const remember = (kind, key, value) => {
    try {
      storage(kind)?.setItem(key, value);
    } catch {}
  };
  const recall = (kind, key) => {
    try {
      return storage(kind)?.getItem(key) || "";
    } catch {
      return "";
    }
  };

  // ---------------------------------------------------------------------------------------------
  // The API

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  const elements = {
    index: $("#index"),
    indexSize: $("#index-size"),
    actor: $("#actor"),
    key: $("#key"),
    draftbar: $("#draftbar"),
    draftState: $("#draft-state"),
    problems: $("#problems"),
    discard: $("#discard"),
    publish: $("#publish"),
    error: $("#error"),
    status: $("#status"),
    previewForm: $("#preview-form"),
    previewQuery: $("#preview-q"),
    previewStatus: $("#preview-status"),
    previewColumns: $("#preview-columns"),
    evaluateForm: $("#evaluate-form"),
    evaluateButton: $("#evaluate-button"),
    evaluateState: $("#evaluate-state"),
    evaluation: $("#evaluation"),
    judgments: $("#judgments"),
    typos: $("#typos"),
    history: $("#history-table"),
    confirm: $("#confirm"),
  };

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const key = elements.key.value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    if (method !== "GET") {
      const actor = actorHeader(elements.actor.value);
      if (actor) headers["X-Vitrine-Actor"] = actor;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ApiError(`The server cannot be reached (${error.message}).`, "network_error", 0);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      if (response.ok) throw new ApiError(`The server's answer to ${method} ${path} is not JSON.`, "invalid_response", response.status);
    }
    if (!response.ok) {
      throw new ApiError((data && data.message) || `HTTP ${response.status} ${response.statusText}`, (data && data.code) || `http_${response.status}`, response.status);
    }
    return data;
  }

  const indexPath = (rest = "") => `/v1/indexes/${encodeURIComponent(state.index)}${rest}`;

  // ---------------------------------------------------------------------------------------------
  // State

  const state = {
    /** What the signed-in key may do: `GET /v1/keys/self`. */
    grant: null,
    indexes: [],
    index: null,
    /** The live settings, as the server last sent them. */
    live: null,
    /** The settings being edited. */
    draft: null,
    /** The audit log, newest first. */
    history: [],
    historyShowAll: false,
    /** Inputs whose text is not a valid value (kept out of the draft): key → message. */
    fieldErrors: new Map(),
    /** Per rule object of the draft: its editor's state (open, JSON text being typed, key). */
    ruleUi: new WeakMap(),
    ruleKeys: 0,
    /** The synonym being edited (its index), or null when the form adds one. */
    editingSynonym: null,
    loads: 0,
    previews: 0,
    lastPreview: null,
    evaluating: false,
    loadFailed: false,
    /** The page shown: `settings` or `experiments` (the address's hash). */
    page: "settings",
  };

  // ---------------------------------------------------------------------------------------------
  // Messages

  function showError(error, context) {
    const code = error && error.code ? ` (${error.code})` : "";
    const message = error instanceof Error ? error.message : String(error);
    elements.error.innerHTML = `<span class="text">${context ? `${escapeHtml(context)}: ` : ""}${escapeHtml(message)}<span class="code">${escapeHtml(code)}</span></span>
      <button type="button" class="link" data-dismiss>Dismiss</button>`;
    elements.error.dataset.code = (error && error.code) || "";
    elements.error.dataset.context = context || "";
  }

  /** Clears the error shown (only if it came from `context`, when given). */
  function clearError(context) {
    if (context !== undefined && elements.error.dataset.context !== context) return;
    elements.error.innerHTML = "";
    delete elements.error.dataset.code;
    delete elements.error.dataset.context;
  }

  function showStatus(text) {
    elements.status.innerHTML = `<span class="text">${escapeHtml(text)}</span><button type="button" class="link" data-dismiss>Dismiss</button>`;
  }

  for (const area of [elements.error, elements.status]) {
    area.addEventListener("click", (event) => {
      if (event.target.closest("[data-dismiss]")) area.innerHTML = "";
    });
  }

  /** A modal yes/no question; resolves to true when confirmed. */
  function confirmDialog(title, text, confirmLabel) {
    const dialog = elements.confirm;
    $("#confirm-title", dialog).textContent = title;
    $("#confirm-text", dialog).textContent = text;
    $("#confirm-ok", dialog).textContent = confirmLabel;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
      $("#confirm-cancel", dialog).focus();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Loading an index

  /** Whether the signed-in key holds `action` (the server checks it again on every call). */
  const keyAllows = (action) => Boolean(state.grant && (state.grant.actions.includes("*") || state.grant.actions.includes(action)));
  /** Whether the signed-in key reaches the index `name` (a name, or a `prefix*` pattern). */
  const keyReaches = (name) =>
    Boolean(state.grant && state.grant.indexes.some((pattern) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name)));

  async function loadIndexes() {
    const wanted = new URLSearchParams(location.search).get("index");
    let listed = true;
    // What the key may do decides what the console offers.
    try {
      state.grant = await api("GET", "/v1/keys/self");
    } catch (error) {
      state.grant = null;
      state.indexes = [];
      elements.index.innerHTML = "";
      renderEditors();
      setDraftState("loading", "Sign in with an API key.");
      showError(error, "The key was not accepted");
      return;
    }
    if (!keyAllows("settings.write")) {
      state.indexes = [];
      elements.index.innerHTML = "";
      renderEditors();
      setDraftState("loading", `This key (“${state.grant.id}”) may not read or change settings: it holds ${state.grant.actions.join(", ") || "no actions"}. Sign in with a key that holds settings.write.`);
      return;
    }
    try {
      const answer = await api("GET", "/v1/indexes");
      state.indexes = ((answer && answer.results) || []).filter((index) => keyReaches(index.name));
    } catch (error) {
      showError(error, "Could not list the indexes");
      listed = false;
      state.indexes = wanted ? [{ name: wanted }] : [];
    }
    if (state.indexes.length === 0) {
      elements.index.innerHTML = "";
      state.loadFailed = !listed;
      renderEditors();
      setDraftState("loading", listed ? "This server has no index yet." : "The indexes could not be listed.");
      return;
    }
    elements.index.innerHTML = state.indexes
      .map((index) => `<option value="${escapeHtml(index.name)}">${escapeHtml(index.name)}</option>`)
      .join("");
    let chosen = state.indexes[0].name;
    if (wanted && state.indexes.some((index) => index.name === wanted)) chosen = wanted;
    else if (wanted) showError(new ApiError(`There is no index named “${wanted}”; showing “${chosen}”.`, "index_not_found"));
    elements.index.value = chosen;
    await loadIndex(chosen);
  }

  async function loadIndex(name) {
    const load = ++state.loads;
    const previous = state.index;
    state.index = name;
    // Another index has other experiments (the first load keeps the one the address names).
    if (previous !== null && previous !== name) {
      resetExperiments();
      if (route().id) history.replaceState(null, "", "#experiments");
    }
    if (state.page === "experiments") refreshExperiments();
    const url = new URL(location.href);
    url.searchParams.set("index", name);
    history.replaceState(null, "", url);
    const summary = state.indexes.find((index) => index.name === name);
    elements.indexSize.textContent = summary && typeof summary.products === "number" ? plural(summary.products, "product") : "";
    state.live = null;
    state.draft = null;
    state.loadFailed = false;
    setDraftState("loading", `Loading the settings of “${name}”…`);
    renderEditors();
    clearPreview();
    elements.evaluation.innerHTML = "";
    try {
      const live = await api("GET", indexPath("/settings"));
      if (load !== state.loads) return;
      adoptLive(live);
    } catch (error) {
      if (load !== state.loads) return;
      state.loadFailed = true;
      renderEditors();
      setDraftState("loading", `The settings of “${name}” could not be loaded.`);
      showError(error, "Could not load the settings");
    }
    await refreshHistory();
  }

  /** New live settings: the draft starts again as a copy of them. */
  function adoptLive(live) {
    state.live = live;
    state.draft = clone(live);
    state.fieldErrors.clear();
    state.editingSynonym = null;
    renderEditors();
    draftChanged({ preview: false });
    if (elements.previewQuery.value.trim() || state.lastPreview !== null) schedulePreview(0);
  }

  async function reloadLive() {
    adoptLive(await api("GET", indexPath("/settings")));
  }

  // ---------------------------------------------------------------------------------------------
  // The draft: what differs from live, and what is wrong with it

  const changedParts = () => (state.live && state.draft ? PARTS.filter((part) => canonical(state.live[part]) !== canonical(state.draft[part])) : []);

  /** What the server would refuse, found before asking it (the server still checks everything). */
  function problems() {
    const found = [...state.fieldErrors.values()];
    const draft = state.draft;
    if (!draft) return found;
    const typos = draft.typo_tolerance || {};
    if (!(typos.min_word_len_one_typo >= 1 && typos.min_word_len_two_typos >= typos.min_word_len_one_typo)) {
      found.push("Typo tolerance: the word lengths must satisfy 1 ≤ “one typo from” ≤ “two typos from”.");
    }
    const personalization = draft.ranking && draft.ranking.personalization;
    if (typeof personalization === "number" && !(personalization >= 0 && personalization <= 100)) {
      found.push("Ranking: personalization must be between 0 and 100.");
    }
    const ids = new Set();
    (draft.rules || []).forEach((rule, position) => {
      const name = rule.id.trim() ? `Rule “${rule.id}”` : `Rule ${position + 1}`;
      if (!rule.id.trim()) found.push(`${name}: give it an id.`);
      else if (ids.has(rule.id)) found.push(`${name}: another rule has the same id.`);
      ids.add(rule.id);
      if (!rule.pin.length && !rule.hide.length && !rule.boost.length && !rule.bury.length) {
        found.push(`${name}: pin, hide, boost or bury at least one product.`);
      }
      const positions = new Set();
      const pinned = new Set();
      for (const pin of rule.pin) {
        if (!String(pin.id).trim()) found.push(`${name}: a pinned product has no id.`);
        if (!(Number.isInteger(pin.position) && pin.position >= 1 && pin.position <= 1000)) found.push(`${name}: pin positions are 1 to 1000.`);
        else if (positions.has(pin.position)) found.push(`${name}: two products are pinned at position ${pin.position}.`);
        if (pinned.has(pin.id)) found.push(`${name}: “${pin.id}” is pinned twice.`);
        if (rule.hide.includes(pin.id)) found.push(`${name}: “${pin.id}” is both pinned and hidden.`);
        positions.add(pin.position);
        pinned.add(pin.id);
      }
      if (rule.valid_from && rule.valid_until && new Date(rule.valid_from) >= new Date(rule.valid_until)) {
        found.push(`${name}: it must start before it ends.`);
      }
    });
    return [...new Set(found)];
  }

  function setDraftState(kind, text) {
    elements.draftbar.dataset.state = kind;
    elements.draftState.textContent = text;
  }

  /** After every edit: the draft bar, the tab marks, and a fresh preview. */
  function draftChanged({ preview = true } = {}) {
    if (!state.draft) {
      elements.discard.disabled = true;
      elements.publish.disabled = true;
      elements.evaluateButton.disabled = true;
      elements.problems.hidden = true;
      renderExperimentForm();
      return;
    }
    const parts = changedParts();
    const wrong = problems();
    if (parts.length) setDraftState("dirty", `Draft differs from live: ${parts.map((part) => PART_LABELS[part]).join(", ")}`);
    else setDraftState("clean", "The draft matches the live settings.");
    elements.problems.innerHTML = wrong.map((problem) => `<li>${escapeHtml(problem)}</li>`).join("");
    elements.problems.hidden = wrong.length === 0;
    elements.discard.disabled = parts.length === 0;
    elements.publish.disabled = parts.length === 0 || wrong.length > 0;
    elements.publish.title = wrong.length ? "Fix the draft's problems first" : parts.length ? "" : "Nothing to publish: the draft matches live";
    elements.evaluateButton.disabled = wrong.length > 0 || state.evaluating;
    for (const dot of $$("[role=tab] .dot")) {
      const changed = parts.includes(dot.dataset.part);
      dot.textContent = changed ? "•" : "";
      dot.title = changed ? "changed in the draft" : "";
    }
    renderExperimentForm();
    if (preview && (state.lastPreview !== null || elements.previewQuery.value.trim())) schedulePreview();
  }

  window.addEventListener("beforeunload", (event) => {
    if (changedParts().length) event.preventDefault();
  });

  // ---------------------------------------------------------------------------------------------
  // Tabs (ARIA tabs: arrow keys move between them)

  const tabs = $$("[role=tab]");

  function selectTab(tab, focus = false) {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(`#${other.getAttribute("aria-controls")}`).hidden = !selected;
    }
    if (focus) tab.focus();
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(tab);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  }

  function renderEditors() {
    renderSynonyms();
    renderRanking();
    renderTypos();
    renderRules();
  }

  /** What an editor shows without settings to edit. */
  const loadingPanel = () =>
    state.loadFailed ? `<p class="muted">The settings could not be loaded (see the message above).</p>` : `<p class="muted">Loading…</p>`;

  // ---------------------------------------------------------------------------------------------
  // Synonyms

  const synonymsPanel = $("#panel-synonyms");

  const describeSynonym = (synonym) =>
    synonym.type === "one_way"
      ? `<strong>${escapeHtml(synonym.input)}</strong> <span aria-hidden="true">→</span><span class="sr-only">also finds</span> ${synonym.synonyms.map(escapeHtml).join(", ")}`
      : synonym.terms.map((term) => `<strong>${escapeHtml(term)}</strong>`).join(` <span aria-hidden="true">⇄</span><span class="sr-only">,</span> `);

  function renderSynonyms() {
    if (!state.draft) {
      synonymsPanel.innerHTML = loadingPanel();
      return;
    }
    const synonyms = state.draft.synonyms;
    const live = new Set((state.live.synonyms || []).map(canonical));
    const editing = state.editingSynonym;
    const current = editing === null ? { type: "one_way", input: "", synonyms: [] } : synonyms[editing];
    const rows = synonyms
      .map((synonym, i) => {
        const isNew = !live.has(canonical(synonym));
        return `<li data-i="${i}" class="${i === editing ? "editing" : ""}">
            <span class="badge">${synonym.type === "one_way" ? "one-way" : "multi-way"}</span>
            <span class="what">${describeSynonym(synonym)}</span>
            ${isNew ? `<span class="badge new">${i === editing ? "editing" : "draft"}</span>` : ""}
            <button type="button" class="small" data-action="edit" aria-label="Edit synonym ${i + 1}">Edit</button>
            <button type="button" class="small danger" data-action="remove" aria-label="Remove synonym ${i + 1}">Remove</button>
          </li>`;
      })
      .join("");
    synonymsPanel.innerHTML = `
      <p class="hint" style="margin:0 0 .6em">A synonym applies to the next search; nothing is reindexed. <strong>One-way</strong>: what the
        shopper types also finds other words (<em>phone</em> → smartphone). <strong>Multi-way</strong>: every term finds every other.</p>
      <p class="muted" id="synonym-count">${synonyms.length ? plural(synonyms.length, "synonym rule") : "No synonyms yet."}</p>
      <ul class="rows" aria-labelledby="synonym-count">${rows}</ul>
      <form id="synonym-form" novalidate>
        <fieldset>
          <legend>${editing === null ? "Add a synonym" : `Edit synonym ${editing + 1}`}</legend>
          <div class="form-grid">
            <div class="field">
              <label for="synonym-type">Kind</label>
              <select id="synonym-type" name="type">
                <option value="one_way" ${current.type === "one_way" ? "selected" : ""}>One-way</option>
                <option value="multi_way" ${current.type === "multi_way" ? "selected" : ""}>Multi-way</option>
              </select>
            </div>
            <div class="field" data-kind="one_way">
              <label for="synonym-input">Shopper types</label>
              <input id="synonym-input" name="input" autocomplete="off" placeholder="phone" value="${escapeHtml(current.input || "")}">
            </div>
            <div class="field" data-kind="one_way">
              <label for="synonym-synonyms">Also finds</label>
              <input id="synonym-synonyms" name="synonyms" autocomplete="off" placeholder="smartphone, mobile" aria-describedby="synonym-comma"
                     value="${escapeHtml((current.synonyms || []).join(", "))}">
            </div>
            <div class="field" data-kind="multi_way">
              <label for="synonym-terms">Equivalent terms</label>
              <input id="synonym-terms" name="terms" autocomplete="off" placeholder="tv, television, telly" aria-describedby="synonym-comma"
                     value="${escapeHtml((current.terms || []).join(", "))}">
            </div>
          </div>
          <p class="hint" id="synonym-comma">Separate several words with commas; a term may have several words (<em>sofa bed</em>).</p>
          <p class="field-error" id="synonym-error" aria-live="polite"></p>
          <div class="actions">
            <button type="submit" class="primary">${editing === null ? "Add synonym" : "Save synonym"}</button>
            ${editing === null ? "" : `<button type="button" data-action="cancel">Cancel</button>`}
          </div>
        </fieldset>
      </form>`;
    showSynonymKind();
  }

  function showSynonymKind() {
    const type = $("#synonym-type").value;
    for (const field of $$("[data-kind]", synonymsPanel)) field.hidden = field.dataset.kind !== type;
  }

  synonymsPanel.addEventListener("change", (event) => {
    if (event.target.id === "synonym-type") showSynonymKind();
  });

  synonymsPanel.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "cancel") {
      state.editingSynonym = null;
      renderSynonyms();
      $("#synonym-input").focus();
      return;
    }
    const i = Number(button.closest("li").dataset.i);
    if (action === "edit") {
      state.editingSynonym = i;
      renderSynonyms();
      const type = state.draft.synonyms[i].type;
      $(type === "one_way" ? "#synonym-input" : "#synonym-terms").focus();
    } else if (action === "remove") {
      const [removed] = state.draft.synonyms.splice(i, 1);
      if (state.editingSynonym === i) state.editingSynonym = null;
      else if (state.editingSynonym !== null && state.editingSynonym > i) state.editingSynonym--;
      renderSynonyms();
      draftChanged();
      showStatus(`Synonym removed from the draft: ${removed.type === "one_way" ? removed.input : removed.terms.join(", ")}.`);
      const next = $$(`#panel-synonyms .rows li button[data-action=remove]`)[Math.min(i, state.draft.synonyms.length - 1)];
      (next || $("#synonym-type")).focus();
    }
  });

  synonymsPanel.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const type = form.type.value;
    const error = $("#synonym-error");
    let synonym;
    if (type === "one_way") {
      const input = form.input.value.trim();
      const synonyms = commaList(form.synonyms.value);
      if (!input || synonyms.length === 0) {
        error.textContent = "A one-way synonym needs what the shopper types and at least one word it also finds.";
        (input ? form.synonyms : form.input).focus();
        return;
      }
      synonym = { type, input, synonyms };
    } else {
      const terms = commaList(form.terms.value);
      if (terms.length < 2) {
        error.textContent = "A multi-way synonym needs at least two terms, separated by commas.";
        form.terms.focus();
        return;
      }
      synonym = { type, terms };
    }
    const editing = state.editingSynonym;
    if (editing === null) state.draft.synonyms.push(synonym);
    else state.draft.synonyms[editing] = synonym;
    state.editingSynonym = null;
    renderSynonyms();
    draftChanged();
    const words = type === "one_way" ? `${synonym.input} → ${synonym.synonyms.join(", ")}` : synonym.terms.join(" ⇄ ");
    showStatus(`${editing === null ? "Synonym added to the draft" : "Synonym changed in the draft"}: ${words}. Preview it, then publish.`);
    $("#synonym-type").focus();
  });

  // ---------------------------------------------------------------------------------------------
  // Ranking weights

  const rankingPanel = $("#panel-ranking");

  function renderRanking() {
    if (!state.draft) {
      rankingPanel.innerHTML = loadingPanel();
      return;
    }
    const ranking = state.draft.ranking;
    rankingPanel.innerHTML = `
      <p class="hint" style="margin:0 0 .6em">A product's score adds its text match (BM25, per field) and business signals, each
        multiplied by its weight. Higher weight, more influence; 0 ignores it.</p>
      <div class="weights">${RANKING_FIELDS.map(([field, label, explanation, fallback]) => `
        <div class="weight" data-field="${field}">
          <label for="ranking-${field}">${escapeHtml(label)}</label>
          <input id="ranking-${field}" type="number" step="any" ${field === "personalization" ? 'min="0" max="100"' : ""} inputmode="decimal"
                 value="${escapeHtml(ranking[field] ?? "")}" aria-describedby="ranking-${field}-hint">
          <p class="hint" id="ranking-${field}-hint">${escapeHtml(explanation)} <span class="live-value"></span> Default ${fallback}.</p>
        </div>`).join("")}
      </div>
      <div class="actions"><button type="button" id="ranking-defaults">Restore the default weights</button></div>`;
    markRanking();
  }

  /** Marks the weights that differ from live, with the live value. */
  function markRanking() {
    for (const row of $$(".weight", rankingPanel)) {
      const field = row.dataset.field;
      const live = state.live.ranking[field];
      const changed = live !== state.draft.ranking[field];
      row.classList.toggle("changed", changed);
      $(".live-value", row).textContent = changed ? `Live: ${live}.` : "";
    }
  }

  rankingPanel.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.id.startsWith("ranking-")) return;
    const field = input.id.slice("ranking-".length);
    const label = RANKING_FIELDS.find(([name]) => name === field)[1];
    const value = input.value.trim() === "" ? NaN : Number(input.value);
    const key = `ranking.${field}`;
    if (Number.isFinite(value)) {
      state.fieldErrors.delete(key);
      input.removeAttribute("aria-invalid");
      state.draft.ranking[field] = value;
    } else {
      state.fieldErrors.set(key, `Ranking: ${label} must be a number.`);
      input.setAttribute("aria-invalid", "true");
    }
    markRanking();
    draftChanged();
  });

  rankingPanel.addEventListener("click", (event) => {
    if (event.target.id !== "ranking-defaults") return;
    for (const [field, , , fallback] of RANKING_FIELDS) {
      state.draft.ranking[field] = fallback;
      state.fieldErrors.delete(`ranking.${field}`);
    }
    renderRanking();
    draftChanged();
    showStatus("Default ranking weights put in the draft.");
    $("#ranking-defaults").focus();
  });

  // ---------------------------------------------------------------------------------------------
  // Typo tolerance

  const typosPanel = $("#panel-typos");

  function renderTypos() {
    if (!state.draft) {
      typosPanel.innerHTML = loadingPanel();
      return;
    }
    const typos = state.draft.typo_tolerance;
    const attributes = [...new Set([...TYPO_ATTRIBUTES, ...(typos.disable_on_attributes || [])])];
    const number = (field, label, hint, min) => `
      <div class="field">
        <label for="typos-${field}">${label}</label>
        <input id="typos-${field}" data-field="${field}" data-kind="integer" type="number" min="${min}" step="1" value="${escapeHtml(typos[field])}"
               aria-describedby="typos-${field}-hint">
        <p class="hint" id="typos-${field}-hint">${hint}</p>
      </div>`;
    typosPanel.innerHTML = `
      <p class="hint" style="margin:0 0 .6em">How forgiving search is with misspellings: a word may have more typos the longer it is.</p>
      <label class="check" style="margin-bottom:.8em"><input type="checkbox" data-field="enabled" data-kind="boolean" ${typos.enabled ? "checked" : ""}>
        Accept typos</label>
      <div class="form-grid">
        ${number("min_word_len_one_typo", "One typo from", "Words at least this long may have one typo (default 5).", 1)}
        ${number("min_word_len_two_typos", "Two typos from", "Words at least this long may have two typos (default 9).", 1)}
        ${number("min_word_len_unknown_word_typo", "Unknown words: one typo from", "A word no product contains may have one typo from this length (default 3; 0 turns it off).", 0)}
      </div>
      <div class="field" style="margin-top:.8em">
        <label for="typos-words">Words that must match exactly</label>
        <input id="typos-words" data-field="disable_on_words" data-kind="words" autocomplete="off" placeholder="brand names, model codes"
               value="${escapeHtml((typos.disable_on_words || []).join(", "))}" aria-describedby="typos-words-hint">
        <p class="hint" id="typos-words-hint">Separated by commas, e.g. <em>makita, bosch</em>.</p>
      </div>
      <fieldset style="margin-top:.8em">
        <legend>No typos in these fields</legend>
        ${attributes.map((attribute) => `<label class="check"><input type="checkbox" data-field="disable_on_attributes" data-kind="attribute"
            value="${escapeHtml(attribute)}" ${(typos.disable_on_attributes || []).includes(attribute) ? "checked" : ""}> ${escapeHtml(attribute)}</label>`).join("")}
      </fieldset>
      <label class="check"><input type="checkbox" data-field="disable_on_numbers" data-kind="boolean" ${typos.disable_on_numbers ? "checked" : ""}>
        <span>Words with a digit must match exactly (<em>a4</em> is not <em>a5</em>)</span></label>`;
  }

  const onTypoEdit = (event) => {
    const input = event.target;
    const field = input.dataset.field;
    if (!field) return;
    const typos = state.draft.typo_tolerance;
    const key = `typos.${field}`;
    switch (input.dataset.kind) {
      case "boolean":
        typos[field] = input.checked;
        break;
      case "integer": {
        const value = input.value.trim() === "" ? NaN : Number(input.value);
        const label = $(`label[for="${input.id}"]`, typosPanel).textContent;
        if (Number.isInteger(value) && value >= 0) {
          state.fieldErrors.delete(key);
          input.removeAttribute("aria-invalid");
          typos[field] = value;
        } else {
          state.fieldErrors.set(key, `Typo tolerance: “${label}” must be a whole number, 0 or more.`);
          input.setAttribute("aria-invalid", "true");
        }
        break;
      }
      case "words":
        typos[field] = commaList(input.value).map((word) => word.toLowerCase());
        break;
      case "attribute": {
        // Values the console has no checkbox for are kept.
        const checked = $$("input[data-kind=attribute]", typosPanel).filter((box) => box.checked).map((box) => box.value);
        typos.disable_on_attributes = checked;
        break;
      }
    }
    draftChanged();
  };
  typosPanel.addEventListener("input", onTypoEdit);
  typosPanel.addEventListener("change", (event) => {
    if (event.target.type === "checkbox") onTypoEdit(event);
  });

  // ---------------------------------------------------------------------------------------------
  // Merchandising rules

  const rulesPanel = $("#panel-rules");

  const newRule = (id) => ({
    id,
    enabled: true,
    condition: { query: "", match: "exact" },
    valid_from: null,
    valid_until: null,
    pin: [],
    hide: [],
    boost: [],
    bury: [],
  });

  function ruleUi(rule) {
    let ui = state.ruleUi.get(rule);
    if (!ui) {
      ui = { key: `r${++state.ruleKeys}`, open: false, text: {} };
      state.ruleUi.set(rule, ui);
    }
    return ui;
  }

  const uniqueRuleId = (base) => {
    const taken = new Set(state.draft.rules.map((rule) => rule.id));
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(`${base}-${n}`)) n++;
    return `${base}-${n}`;
  };

  const describeCondition = (rule) => {
    if (!rule.condition) return "every search, browsing included";
    if (rule.condition.match === "contains") return `queries containing “${rule.condition.query}”`;
    return rule.condition.query.trim() ? `the query “${rule.condition.query}”` : "browsing (empty query)";
  };

  const describeEffects = (rule) => {
    const effects = [];
    if (rule.pin.length) effects.push(`${rule.pin.length} pinned`);
    if (rule.hide.length) effects.push(`${rule.hide.length} hidden`);
    if (rule.boost.length) effects.push(plural(rule.boost.length, "boost"));
    if (rule.bury.length) effects.push(plural(rule.bury.length, "bury", "buries"));
    return effects.join(" · ") || "no effect yet";
  };

  function ruleSummary(rule) {
    const live = (state.live.rules || []).find((other) => other.id === rule.id);
    const status = !live ? `<span class="badge new">new</span>` : canonical(live) !== canonical(rule) ? `<span class="badge new">changed</span>` : "";
    return `<strong>${escapeHtml(rule.id || "(no id)")}</strong>
      <span class="muted">${escapeHtml(describeCondition(rule))} · ${escapeHtml(describeEffects(rule))}</span>
      ${rule.enabled ? "" : `<span class="badge off">off</span>`} ${status}`;
  }

  /** A boost or bury list as text: one item per line. */
  const filterListText = (list) => (list.length ? `[\n${list.map((item) => `  ${JSON.stringify(item)}`).join(",\n")}\n]` : "");

  function renderRule(rule, position) {
    const ui = ruleUi(rule);
    const k = ui.key;
    const condition = rule.condition ? rule.condition.match : "always";
    const jsonField = (field, label, example) => {
      const text = ui.text[field] ?? filterListText(rule[field]);
      const error = state.fieldErrors.get(`${k}.${field}`);
      return `<div class="field">
          <label for="${k}-${field}">${label}</label>
          <textarea id="${k}-${field}" data-field="${field}" spellcheck="false" rows="${Math.min(10, Math.max(3, text.split("\n").length))}" aria-describedby="${k}-${field}-hint"
                    ${error ? 'aria-invalid="true"' : ""} placeholder='${escapeHtml(example)}'>${escapeHtml(text)}</textarea>
          <p class="hint" id="${k}-${field}-hint">A JSON list of <code>{"filter": …, "weight": 1 to 100}</code>; filters as in a search request.</p>
          <p class="field-error" data-error-for="${field}">${escapeHtml(error ? error.replace(/^[^:]*: /, "") : "")}</p>
        </div>`;
    };
    return `<details class="rule" data-key="${k}" data-position="${position}" ${ui.open ? "open" : ""}>
      <summary>${ruleSummary(rule)}</summary>
      <div class="body">
        <div class="form-grid">
          <div class="field">
            <label for="${k}-id">Rule id</label>
            <input id="${k}-id" data-field="id" autocomplete="off" value="${escapeHtml(rule.id)}" aria-describedby="${k}-id-hint">
            <p class="hint" id="${k}-id-hint">Unique; searches report the rules they applied by it.</p>
          </div>
          <label class="check" style="align-self:center"><input type="checkbox" data-field="enabled" ${rule.enabled ? "checked" : ""}> Enabled</label>
        </div>
        <div class="form-grid">
          <div class="field">
            <label for="${k}-match">Applies to</label>
            <select id="${k}-match" data-field="match">
              <option value="exact" ${condition === "exact" ? "selected" : ""}>The query is exactly…</option>
              <option value="contains" ${condition === "contains" ? "selected" : ""}>The query contains…</option>
              <option value="always" ${condition === "always" ? "selected" : ""}>Every search (and browsing)</option>
            </select>
          </div>
          <div class="field">
            <label for="${k}-query">Query</label>
            <input id="${k}-query" data-field="query" autocomplete="off" value="${escapeHtml(rule.condition ? rule.condition.query : "")}"
                   ${rule.condition ? "" : "disabled"} aria-describedby="${k}-query-hint">
            <p class="hint" id="${k}-query-hint">Case, accents and punctuation do not matter. Empty and “exactly”: browsing.</p>
          </div>
        </div>
        <div class="form-grid">
          <div class="field">
            <label for="${k}-from">Starts (optional)</label>
            <input id="${k}-from" data-field="valid_from" type="datetime-local" value="${toLocalInput(rule.valid_from)}">
          </div>
          <div class="field">
            <label for="${k}-until">Ends (optional)</label>
            <input id="${k}-until" data-field="valid_until" type="datetime-local" value="${toLocalInput(rule.valid_until)}">
          </div>
        </div>
        <fieldset>
          <legend>Pinned products</legend>
          ${rule.pin.length ? `<table class="pins"><thead><tr><th scope="col">Product id</th><th scope="col">Position</th><th><span class="sr-only">Remove</span></th></tr></thead><tbody>
            ${rule.pin.map((pin, i) => `<tr data-pin="${i}">
              <td><input data-field="pin-id" aria-label="Product id of pin ${i + 1}" autocomplete="off" value="${escapeHtml(pin.id)}"></td>
              <td><input data-field="pin-position" type="number" min="1" max="1000" step="1" aria-label="Position of pin ${i + 1}" value="${escapeHtml(pin.position)}"></td>
              <td><button type="button" class="small danger" data-action="remove-pin" aria-label="Remove pin ${i + 1}">Remove</button></td>
            </tr>`).join("")}</tbody></table>` : `<p class="muted" style="margin:0">None.</p>`}
          <div class="actions"><button type="button" class="small" data-action="add-pin">Add a pinned product</button></div>
        </fieldset>
        <div class="field">
          <label for="${k}-hide">Hidden products</label>
          <input id="${k}-hide" data-field="hide" autocomplete="off" placeholder="21094, 85123A" value="${escapeHtml(rule.hide.join(", "))}"
                 aria-describedby="${k}-hide-hint">
          <p class="hint" id="${k}-hide-hint">Product ids, separated by commas: never shown for these queries (with their variants).</p>
        </div>
        <div class="form-grid">
          ${jsonField("boost", "Boost (JSON)", '[{"filter": {"brand": ["Acme"]}, "weight": 2}]')}
          ${jsonField("bury", "Bury (JSON)", '[{"filter": {"in_stock": false}, "weight": 1}]')}
        </div>
        <div class="actions"><button type="button" class="danger" data-action="remove-rule">Remove rule “${escapeHtml(rule.id)}”</button></div>
      </div>
    </details>`;
  }

  function renderRules(focusKey) {
    if (!state.draft) {
      rulesPanel.innerHTML = loadingPanel();
      return;
    }
    const rules = state.draft.rules;
    rulesPanel.innerHTML = `
      <p class="hint" style="margin:0 0 .6em">Per-query merchandising: pin products at fixed positions, hide them, or boost and bury those
        matching a filter. Rules act after the shopper's own filters.</p>
      <p class="muted" id="rule-count">${rules.length ? plural(rules.length, "rule") : "No rules yet."}</p>
      <div id="rule-list">${rules.map(renderRule).join("")}</div>
      <div class="actions"><button type="button" data-action="add-rule">Add a rule</button></div>`;
    if (focusKey) {
      const details = $(`details[data-key="${focusKey}"]`, rulesPanel);
      if (details) $("input[data-field=id]", details).focus();
    }
  }

  const ruleOf = (element) => {
    const details = element.closest("details.rule");
    return details ? state.draft.rules[Number(details.dataset.position)] : null;
  };

  /** Re-renders one rule's summary line (the rest of its editor keeps focus and text). */
  const refreshRuleSummary = (details, rule) => {
    $("summary", details).innerHTML = ruleSummary(rule);
  };

  rulesPanel.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement)) return;
    const rule = ruleOf(details);
    if (rule) ruleUi(rule).open = details.open;
  }, true);

  rulesPanel.addEventListener("input", (event) => onRuleEdit(event.target));
  rulesPanel.addEventListener("change", (event) => {
    if (event.target.type === "checkbox" || event.target.tagName === "SELECT" || event.target.type === "datetime-local") onRuleEdit(event.target);
  });

  function onRuleEdit(input) {
    const rule = ruleOf(input);
    if (!rule) return;
    const details = input.closest("details.rule");
    const ui = ruleUi(rule);
    const field = input.dataset.field;
    switch (field) {
      case "id":
        rule.id = input.value.trim();
        $("button[data-action=remove-rule]", details).textContent = `Remove rule “${rule.id}”`;
        break;
      case "enabled":
        rule.enabled = input.checked;
        break;
      case "match": {
        const query = $("input[data-field=query]", details);
        if (input.value === "always") {
          rule.condition = null;
          query.disabled = true;
        } else {
          rule.condition = { query: query.value.trim(), match: input.value };
          query.disabled = false;
        }
        break;
      }
      case "query":
        if (rule.condition) rule.condition.query = input.value.trim();
        break;
      case "valid_from":
      case "valid_until":
        rule[field] = fromLocalInput(input.value);
        break;
      case "pin-id":
      case "pin-position": {
        const pin = rule.pin[Number(input.closest("tr").dataset.pin)];
        if (field === "pin-id") pin.id = input.value.trim();
        else pin.position = input.value.trim() === "" ? NaN : Number(input.value);
        break;
      }
      case "hide":
        rule.hide = commaList(input.value);
        break;
      case "boost":
      case "bury": {
        ui.text[field] = input.value;
        const key = `${ui.key}.${field}`;
        const message = parseFilterList(input.value, rule, field);
        const errorLine = $(`[data-error-for=${field}]`, details);
        if (message) {
          state.fieldErrors.set(key, `Rule “${rule.id}”, ${field}: ${message}`);
          input.setAttribute("aria-invalid", "true");
          errorLine.textContent = message;
        } else {
          state.fieldErrors.delete(key);
          input.removeAttribute("aria-invalid");
          errorLine.textContent = "";
        }
        break;
      }
      default:
        return;
    }
    // A pin position that is not a number is kept out of the JSON the server sees.
    if (field === "pin-position") {
      const key = `${ui.key}.pins`;
      if (rule.pin.some((pin) => !Number.isInteger(pin.position))) {
        state.fieldErrors.set(key, `Rule “${rule.id}”: pin positions are whole numbers from 1 to 1000.`);
        input.setAttribute("aria-invalid", "true");
      } else {
        state.fieldErrors.delete(key);
        input.removeAttribute("aria-invalid");
      }
    }
    refreshRuleSummary(details, rule);
    draftChanged();
  }

  /** Parses a boost or bury list into the rule; returns what is wrong, or null. */
  function parseFilterList(text, rule, field) {
    if (!text.trim()) {
      rule[field] = [];
      return null;
    }
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `not valid JSON (${error.message}).`;
    }
    if (value && !Array.isArray(value) && typeof value === "object") value = [value];
    if (!Array.isArray(value)) return 'expected a list like [{"filter": {"brand": ["Acme"]}, "weight": 2}].';
    for (const [i, item] of value.entries()) {
      if (!item || typeof item !== "object" || Array.isArray(item)) return `item ${i + 1} is not an object.`;
      const extra = Object.keys(item).filter((key) => key !== "filter" && key !== "weight");
      if (extra.length) return `item ${i + 1} has unknown keys (${extra.join(", ")}); only "filter" and "weight".`;
      if (!item.filter || typeof item.filter !== "object" || Array.isArray(item.filter)) return `item ${i + 1} needs a "filter" object.`;
      if ("weight" in item && !(typeof item.weight === "number" && item.weight > 0 && item.weight <= 100)) {
        return `item ${i + 1}: "weight" must be above 0 and at most 100.`;
      }
    }
    rule[field] = value;
    return null;
  }

  /** Forgets the field errors of a rule's editor (the rule is gone, or re-rendered from the draft). */
  const forgetRuleErrors = (rule) => {
    const ui = ruleUi(rule);
    for (const key of [...state.fieldErrors.keys()]) if (key.startsWith(`${ui.key}.`)) state.fieldErrors.delete(key);
  };

  rulesPanel.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "add-rule") {
      const rule = newRule(uniqueRuleId(`rule-${state.draft.rules.length + 1}`));
      const query = elements.previewQuery.value.trim();
      if (query) rule.condition.query = query;
      ruleUi(rule).open = true;
      state.draft.rules.push(rule);
      renderRules(ruleUi(rule).key);
      draftChanged();
      showStatus(`Rule “${rule.id}” added to the draft${query ? ` for the query “${query}”` : ""}: pin, hide, boost or bury products.`);
      return;
    }
    const rule = ruleOf(button);
    if (!rule) return;
    const ui = ruleUi(rule);
    if (action === "remove-rule") {
      const position = state.draft.rules.indexOf(rule);
      state.draft.rules.splice(position, 1);
      forgetRuleErrors(rule);
      renderRules();
      draftChanged();
      showStatus(`Rule “${rule.id}” removed from the draft.`);
      const next = $$("details.rule > summary", rulesPanel)[Math.min(position, state.draft.rules.length - 1)];
      (next || $("button[data-action=add-rule]", rulesPanel)).focus();
    } else if (action === "add-pin") {
      const taken = new Set(rule.pin.map((pin) => pin.position));
      let position = 1;
      while (taken.has(position)) position++;
      rule.pin.push({ id: "", position });
      renderRules();
      draftChanged();
      const rows = $$(`details[data-key="${ui.key}"] tr[data-pin] input[data-field=pin-id]`, rulesPanel);
      rows[rows.length - 1].focus();
    } else if (action === "remove-pin") {
      rule.pin.splice(Number(button.closest("tr").dataset.pin), 1);
      state.fieldErrors.delete(`${ui.key}.pins`);
      renderRules();
      draftChanged();
      $(`details[data-key="${ui.key}"] button[data-action=add-pin]`, rulesPanel).focus();
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Live preview

  const columns = {
    live: $("[data-column=live]", elements.previewColumns),
    draft: $("[data-column=draft]", elements.previewColumns),
  };

  let previewTimer = null;

  function schedulePreview(delay = 200) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => runPreview(), delay);
  }

  function clearPreview() {
    state.previews++; // an answer still on its way is for another query or index
    state.lastPreview = null;
    elements.previewColumns.removeAttribute("aria-busy");
    for (const column of Object.values(columns)) {
      $(".summary", column).textContent = "";
      $(".hits", column).innerHTML = "";
    }
    delete elements.previewColumns.dataset.q;
    elements.previewColumns.hidden = true;
    elements.previewStatus.textContent = "Type a query to compare the live results with the draft's.";
  }

  elements.previewQuery.addEventListener("input", () => {
    if (elements.previewQuery.value.trim()) return schedulePreview();
    // An emptied box clears the preview (Enter on it previews browsing).
    clearTimeout(previewTimer);
    clearPreview();
  });
  elements.previewForm.addEventListener("submit", (event) => {
    event.preventDefault();
    schedulePreview(0);
  });

  async function runPreview() {
    clearTimeout(previewTimer);
    if (!state.draft) return;
    const q = elements.previewQuery.value.trim();
    const wrong = problems();
    if (wrong.length) {
      elements.previewStatus.textContent = "The draft has problems (listed at the top): fix them to preview it.";
      return;
    }
    const run = ++state.previews;
    const started = performance.now();
    elements.previewColumns.setAttribute("aria-busy", "true");
    elements.previewStatus.innerHTML = `<span class="busy">Searching…</span>`;
    try {
      const answer = await api("POST", indexPath("/settings/preview"), { q, draft: state.draft, per_page: 10 });
      if (run !== state.previews) return;
      state.lastPreview = { q, answer };
      clearError("Preview");
      renderPreview(q, answer, performance.now() - started);
    } catch (error) {
      if (run !== state.previews) return;
      elements.previewStatus.textContent = "The preview failed (see the message above).";
      showError(error, "Preview");
    } finally {
      if (run === state.previews) elements.previewColumns.removeAttribute("aria-busy");
    }
  }

  const hitTitle = (hit) => {
    const document = hit.document || {};
    return hit.highlight && hit.highlight.title ? safeHighlight(hit.highlight.title) : escapeHtml(document.title ?? hit.id);
  };

  function renderPreview(q, answer, elapsed) {
    const live = answer.live || { hits: [], total: 0 };
    const draft = answer.draft || { hits: [], total: 0 };
    const livePositions = new Map(live.hits.map((hit, i) => [hit.id, i]));
    const draftIds = new Set(draft.hits.map((hit) => hit.id));
    const quickRule = findQuickRule(q);
    const quickPinned = new Set(quickRule ? quickRule.pin.map((pin) => pin.id) : []);

    const summary = (response) => {
      const rules = response.applied_rules && response.applied_rules.length ? ` · rules: ${response.applied_rules.join(", ")}` : "";
      return `${plural(response.total, "result")} · ${formatNumber(response.took_ms, 1)} ms${rules}`;
    };
    const item = (hit, i, side) => {
      const document = hit.document || {};
      const badges = [];
      if (hit.pinned) badges.push(`<span class="badge pinned">pinned</span>`);
      if (side === "draft") {
        const before = livePositions.get(hit.id);
        if (before === undefined) badges.push(`<span class="badge new" data-move="new">new</span>`);
        else if (before > i) badges.push(`<span class="move up" data-move="up" title="moved up ${before - i}"><span aria-hidden="true">▲</span> ${before - i}<span class="sr-only"> places up</span></span>`);
        else if (before < i) badges.push(`<span class="move down" data-move="down" title="moved down ${i - before}"><span aria-hidden="true">▼</span> ${i - before}<span class="sr-only"> places down</span></span>`);
      } else if (!draftIds.has(hit.id)) {
        badges.push(`<span class="badge off" data-move="gone">not in the draft's top ${draft.hits.length || 10}</span>`);
      }
      const quick = side === "draft"
        ? `<span class="quick">
            ${quickPinned.has(hit.id)
              ? `<button type="button" class="small" data-quick="unpin" data-id="${escapeHtml(hit.id)}" aria-label="Unpin ${escapeHtml(hit.id)}">Unpin</button>`
              : `<button type="button" class="small" data-quick="pin" data-id="${escapeHtml(hit.id)}" aria-label="Pin ${escapeHtml(hit.id)} first for this query">Pin first</button>`}
            <button type="button" class="small" data-quick="hide" data-id="${escapeHtml(hit.id)}" aria-label="Hide ${escapeHtml(hit.id)} for this query">Hide</button>
          </span>`
        : "";
      const price = money(document);
      return `<li data-id="${escapeHtml(hit.id)}" class="${side === "live" && !draftIds.has(hit.id) ? "gone" : ""}">
          <span class="pos">${i + 1}</span>
          <div><div class="title">${hitTitle(hit)}</div>
            <div class="meta"><span class="id">${escapeHtml(hit.id)}</span>${price ? `<span>${escapeHtml(price)}</span>` : ""}${badges.join("")}${quick}</div>
          </div>
        </li>`;
    };
    for (const [side, response] of [["live", live], ["draft", draft]]) {
      const column = columns[side];
      $(".summary", column).textContent = summary(response);
      $(".hits", column).innerHTML = response.hits.length
        ? response.hits.map((hit, i) => item(hit, i, side)).join("")
        : `<li class="empty"><span></span><span class="muted">No results.</span></li>`;
    }
    const changed = canonical(live.hits.map((hit) => hit.id)) !== canonical(draft.hits.map((hit) => hit.id)) || live.total !== draft.total;
    const label = q ? `“${q}”` : "browsing (empty query)";
    elements.previewStatus.textContent = `${label}: ${changed ? "the draft changes the results." : "the same results live and in the draft."} (${Math.round(elapsed)} ms)`;
    elements.previewColumns.dataset.q = q;
    elements.previewColumns.hidden = false;
  }

  // Quick merchandising from the draft column: pin a product first, or hide it, for this query.

  const normalizeQuery = (q) => q.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();

  function findQuickRule(q) {
    if (!state.draft) return null;
    const wanted = normalizeQuery(q);
    return state.draft.rules.find((rule) => rule.condition && rule.condition.match === "exact" && normalizeQuery(rule.condition.query) === wanted) || null;
  }

  elements.previewColumns.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-quick]");
    if (!button || !state.lastPreview) return;
    const q = state.lastPreview.q;
    const id = button.dataset.id;
    let rule = findQuickRule(q);
    if (!rule) {
      const slug = normalizeQuery(q).replace(/ /g, "-").slice(0, 60) || "browse";
      rule = newRule(uniqueRuleId(`query-${slug}`));
      rule.condition = { query: q, match: "exact" };
      state.draft.rules.push(rule);
    }
    let message;
    if (button.dataset.quick === "pin") {
      rule.hide = rule.hide.filter((hidden) => hidden !== id);
      rule.pin = rule.pin.filter((pin) => pin.id !== id);
      for (const pin of rule.pin) pin.position += 1;
      rule.pin.unshift({ id, position: 1 });
      message = `${id} pinned first for “${q}” (rule “${rule.id}”, in the draft).`;
    } else if (button.dataset.quick === "unpin") {
      rule.pin = rule.pin.filter((pin) => pin.id !== id);
      message = `${id} unpinned for “${q}” (in the draft).`;
    } else {
      rule.pin = rule.pin.filter((pin) => pin.id !== id);
      if (!rule.hide.includes(id)) rule.hide.push(id);
      message = `${id} hidden for “${q}” (rule “${rule.id}”, in the draft).`;
    }
    if (!rule.pin.length && !rule.hide.length && !rule.boost.length && !rule.bury.length) {
      state.draft.rules.splice(state.draft.rules.indexOf(rule), 1);
    }
    renderRules();
    draftChanged({ preview: false });
    showStatus(message);
    runPreview().then(() => {
      // Keep the keyboard where it was: on the same product's buttons.
      const again = $(`[data-column=draft] li[data-id="${CSS.escape(id)}"] button[data-quick]`, elements.previewColumns);
      (again || elements.previewQuery).focus();
    });
  });

  // ---------------------------------------------------------------------------------------------
  // Evaluation

  elements.evaluateForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = elements.judgments.files && elements.judgments.files[0];
    if (!file) {
      showError(new ApiError("Choose a judgments file (CSV) first.", "judgments_missing"), "Evaluation");
      elements.judgments.focus();
      return;
    }
    if (!state.draft || problems().length) return;
    clearError();
    state.evaluating = true;
    elements.evaluateButton.disabled = true;
    elements.evaluateForm.setAttribute("aria-busy", "true");
    elements.evaluateState.innerHTML = `<span class="busy">Running the evaluation… this can take a few seconds.</span>`;
    const started = performance.now();
    try {
      const judgments = await file.text();
      const report = await api("POST", indexPath("/settings/evaluate"), { draft: state.draft, judgments, typos: elements.typos.checked });
      const seconds = (performance.now() - started) / 1000;
      elements.evaluateState.textContent = `Done in ${seconds.toFixed(1)} s.`;
      renderEvaluation(report, file.name);
    } catch (error) {
      elements.evaluateState.textContent = "The evaluation failed.";
      showError(error, "Evaluation");
    } finally {
      state.evaluating = false;
      elements.evaluateForm.removeAttribute("aria-busy");
      draftChanged({ preview: false });
    }
  });

  function renderEvaluation(report, fileName) {
    const lowerIsBetter = (metric) => /zero/i.test(metric);
    const rows = (report.comparison || []).map((row) => {
      const difference = typeof row.difference === "number" ? row.difference : null;
      const better = difference !== null && difference !== 0 && (difference > 0) !== lowerIsBetter(row.metric);
      const worse = difference !== null && difference !== 0 && !better;
      const significant = typeof row.p_value === "number" && row.p_value < 0.05;
      return `<tr data-metric="${escapeHtml(row.metric)}">
          <th scope="row">${escapeHtml(row.metric)}</th>
          <td class="number" data-cell="live">${formatNumber(row.live)}</td>
          <td class="number" data-cell="draft">${formatNumber(row.draft)}</td>
          <td class="number difference ${better ? "better" : worse ? "worse" : ""}" data-cell="difference">${signed(difference)}${better ? '<span class="sr-only"> (better)</span>' : worse ? '<span class="sr-only"> (worse)</span>' : ""}</td>
          <td class="number" data-cell="p">${typeof row.p_value === "number" ? row.p_value.toFixed(3) : "—"}</td>
          <td data-cell="significant">${significant ? `<span class="significant">✓ significant</span>` : `<span class="muted">no</span>`}</td>
          <td class="number">${escapeHtml(row.queries ?? "")}</td>
        </tr>`;
    });
    const changes = (report.per_query || [])
      .filter((query) => typeof query.live_ndcg === "number" && typeof query.draft_ndcg === "number" && query.live_ndcg !== query.draft_ndcg)
      .sort((a, b) => Math.abs(b.draft_ndcg - b.live_ndcg) - Math.abs(a.draft_ndcg - a.live_ndcg))
      .slice(0, 10);
    const changeRows = changes.map((query) => {
      const difference = query.draft_ndcg - query.live_ndcg;
      return `<tr data-query="${escapeHtml(query.query)}" data-variant="${escapeHtml(query.variant)}">
          <th scope="row">${escapeHtml(query.query)} <span class="muted">(${escapeHtml(query.id)})</span></th>
          <td>${escapeHtml(query.variant)}</td>
          <td class="number" data-cell="live">${formatNumber(query.live_ndcg)}</td>
          <td class="number" data-cell="draft">${formatNumber(query.draft_ndcg)}</td>
          <td class="number difference ${difference > 0 ? "better" : "worse"}">${signed(difference)}</td>
        </tr>`;
    });
    const unknown = !report.unknown_judgments
      ? ""
      : report.unknown_judgments === 1
        ? " 1 judgment of a product the index does not have was left out."
        : ` ${report.unknown_judgments.toLocaleString()} judgments of products the index does not have were left out.`;
    elements.evaluation.innerHTML = `
      <p>${escapeHtml(fileName)}: ${plural(report.queries ?? 0, "judged query", "judged queries")}, compared over
        ${(report.rounds ?? 0).toLocaleString()} rounds of a paired randomization test.${escapeHtml(unknown)}
        Significant: p &lt; 0.05.</p>
      <div class="table-wrap"><table id="comparison">
        <caption class="sr-only">Live against draft, per metric</caption>
        <thead><tr><th scope="col">Metric</th><th scope="col" class="number">Live</th><th scope="col" class="number">Draft</th>
          <th scope="col" class="number">Difference</th><th scope="col" class="number">p-value</th><th scope="col">Significant</th>
          <th scope="col" class="number">Queries</th></tr></thead>
        <tbody>${rows.join("")}</tbody>
      </table></div>
      <h3 style="margin-top:1em">Queries whose NDCG@10 changed most</h3>
      ${changeRows.length ? `<div class="table-wrap"><table id="query-changes">
        <thead><tr><th scope="col">Query</th><th scope="col">Variant</th><th scope="col" class="number">Live NDCG</th>
          <th scope="col" class="number">Draft NDCG</th><th scope="col" class="number">Change</th></tr></thead>
        <tbody>${changeRows.join("")}</tbody></table></div>` : `<p class="muted">No query's NDCG@10 changed.</p>`}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing, the audit log and rollbacks

  elements.publish.addEventListener("click", async () => {
    const parts = changedParts();
    if (!parts.length || problems().length) return;
    clearError();
    elements.publish.disabled = true;
    setDraftState("dirty", "Publishing…");
    try {
      await api("PUT", indexPath("/settings"), state.draft);
      await reloadLive();
      await refreshHistory();
      const newest = state.history[0];
      showStatus(`Published as version ${newest ? newest.version : "?"} (${parts.map((part) => PART_LABELS[part]).join(", ")}). The shop uses it from the next search.${nameTip()}`);
    } catch (error) {
      showError(error, "Publishing failed");
      draftChanged({ preview: false });
    }
  });

  elements.discard.addEventListener("click", () => {
    if (!state.live) return;
    clearError();
    adoptLive(state.live);
    showStatus("Draft discarded: it matches the live settings again.");
  });

  /** Without a name, the audit log says `admin`: a nudge. */
  const nameTip = () => (elements.actor.value.trim() ? "" : " Tip: type your name at the top, so the audit log shows who made the change.");

  async function refreshHistory() {
    if (!state.index) return;
    const index = state.index;
    try {
      const versions = await api("GET", indexPath("/settings/history"));
      if (index !== state.index) return;
      state.history = Array.isArray(versions) ? versions : [];
    } catch (error) {
      if (index !== state.index) return;
      state.history = [];
      elements.history.innerHTML = `<p class="muted">The audit log could not be loaded.</p>`;
      showError(error, "Could not load the audit log");
      return;
    }
    renderHistory();
  }

  function renderHistory() {
    const versions = state.history;
    if (!versions.length) {
      elements.history.innerHTML = `<p class="muted">No published version yet: the first publish starts the log, with the settings as they were as version 1.</p>`;
      return;
    }
    const shown = state.historyShowAll ? versions : versions.slice(0, 15);
    const rows = shown.map((version, i) => {
      const isLive = i === 0;
      const parts = (version.changed || []).map((part) => PART_LABELS[part] || part);
      const note =
        version.restored_from != null
          ? `rollback of v${version.restored_from}`
          : version.version === 1 && !parts.length
            ? "the settings before the first recorded change"
            : "";
      return `<tr data-version="${version.version}" class="${isLive ? "live-row" : ""}">
          <th scope="row">v${version.version} ${isLive ? `<span class="badge live">live</span>` : ""}</th>
          <td><time datetime="${escapeHtml(version.at)}" title="${escapeHtml(version.at)}">${escapeHtml(localTime(version.at))}</time></td>
          <td data-cell="actor">${escapeHtml(version.actor)}</td>
          <td data-cell="changed">${parts.length ? escapeHtml(parts.join(", ")) : `<span class="muted">nothing</span>`}</td>
          <td data-cell="note">${escapeHtml(note)}</td>
          <td class="actions" style="margin:0">
            <button type="button" class="small" data-history="load" aria-label="Load version ${version.version} into the draft">Load into draft</button>
            ${isLive ? "" : `<button type="button" class="small danger" data-history="restore" aria-label="Roll back to version ${version.version}">Roll back to this</button>`}
          </td>
        </tr>`;
    });
    elements.history.innerHTML = `<table>
        <caption class="sr-only">Settings versions, newest first</caption>
        <thead><tr><th scope="col">Version</th><th scope="col">When</th><th scope="col">Who</th><th scope="col">What changed</th>
          <th scope="col">Note</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${rows.join("")}</tbody>
      </table>
      ${versions.length > shown.length ? `<div class="actions"><button type="button" data-history="all">Show all ${versions.length} versions</button></div>` : ""}`;
  }

  elements.history.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-history]");
    if (!button) return;
    const action = button.dataset.history;
    if (action === "all") {
      state.historyShowAll = true;
      renderHistory();
      return;
    }
    const number = Number(button.closest("tr").dataset.version);
    const version = state.history.find((saved) => saved.version === number);
    if (!version) return;
    if (action === "load") {
      if (!state.live) return;
      state.draft = clone(version.settings);
      state.fieldErrors.clear();
      state.editingSynonym = null;
      renderEditors();
      draftChanged();
      showStatus(`Version ${number} loaded into the draft: preview it, then publish to make it live.`);
      return;
    }
    const dirty = changedParts().length > 0;
    const confirmed = await confirmDialog(
      `Roll back to version ${number}?`,
      `The shop will use the settings of version ${number} (saved ${localTime(version.at)} by ${version.actor}) from the next search. ` +
        `The rollback is saved as a new version.${dirty ? " Your unpublished draft is discarded." : ""}`,
      "Roll back",
    );
    if (!confirmed) {
      button.focus();
      return;
    }
    clearError();
    button.disabled = true;
    try {
      await api("POST", indexPath(`/settings/history/${number}/restore`));
      await reloadLive();
      await refreshHistory();
      const newest = state.history[0];
      showStatus(`Rolled back to version ${number}${newest ? ` (saved as version ${newest.version})` : ""}. The shop uses it from the next search.${nameTip()}`);
    } catch (error) {
      button.disabled = false;
      showError(error, "Rollback failed");
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Pages: Settings (the draft, its preview and evaluation, the audit log) and Experiments. The
  // address says which: `#experiments`, or `#experiments/{id}` for one experiment.

  const PAGES = ["settings", "experiments"];

  function route() {
    const [page, id] = location.hash.replace(/^#/, "").split("/");
    return { page: page === "experiments" ? "experiments" : "settings", id: id ? decodeURIComponent(id) : null };
  }

  function showPage() {
    const { page, id } = route();
    state.page = page;
    for (const name of PAGES) {
      $(`#view-${name}`).hidden = name !== page;
      const link = $(`#nav-${name}`);
      if (name === page) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = page === "experiments" ? "Experiments · Vitrine console" : "Vitrine console";
    if (page === "experiments") openExperiments(id);
    else scheduleExperimentRefresh();
  }

  window.addEventListener("hashchange", showPage);

  // ---------------------------------------------------------------------------------------------
  // Experiments: A/B and interleaving tests of the draft on real shoppers, their results
  // (refreshed every REFRESH_SECONDS while the page is shown and the experiment runs), stop and
  // promote. The numbers and the verdict are the server's; the page only lays them out.

  const REFRESH_SECONDS = 5;

  /** [metric, label, what it counts] as the server names them; every metric is higher-is-better. */
  const METRICS = [
    ["click_through_rate", "Click-through rate", "searches with a click ÷ searches"],
    ["add_to_cart_rate", "Add-to-cart rate", "searches with an add-to-cart ÷ searches"],
    ["conversion_rate", "Conversion rate", "searches with a purchase ÷ searches"],
    ["revenue_per_search", "Revenue per search", "order revenue of the variant's shoppers ÷ searches"],
  ];
  const METRIC_LABELS = Object.fromEntries(METRICS.map(([metric, label]) => [metric, label]));
  const KIND_LABELS = { ab: "A/B test", interleaving: "Interleaving" };
  const SURFACE_LABELS = {
    search: "search",
    similar: "similar products",
    bought_together: "bought together",
    for_user: "for the shopper",
    cart: "cart",
    trending: "trending",
  };
  const KIND_HINTS = {
    ab: "Each shopper sees the live settings or the draft; every metric is compared.",
    interleaving: "Each shopper sees one list merged from both rankings; clicks say which ranking they prefer. Needs far fewer searches, measures no revenue.",
  };

  const experimentElements = {
    list: $("#experiment-list"),
    form: $("#experiment-form"),
    name: $("#experiment-name"),
    nameError: $("#experiment-name-error"),
    kind: $("#experiment-kind"),
    kindHint: $("#experiment-kind-hint"),
    metric: $("#experiment-metric"),
    metricHint: $("#experiment-metric-hint"),
    summary: $("#experiment-variants-summary"),
    create: $("#experiment-create"),
    detail: $("#experiment-detail"),
  };

  /** The experiments page's state: `state.page` says whether it is shown. */
  const lab = {
    /** The index's experiments (views, newest first), or null before they are listed. */
    list: null,
    /** The experiment shown: its id, and the experiment with its results once loaded. */
    selected: null,
    detail: null,
    /** What the frame (title, actions, variants) was last drawn for: redrawn only when it changes. */
    frameKey: "",
    /** Each refresh's number: an answer for an older one is dropped. */
    refreshes: 0,
    timer: null,
    creating: false,
    /** The id the address names when the index has no such experiment. */
    missing: null,
    /** Experiments whose sample-ratio mismatch was already announced. */
    srmAnnounced: new Set(),
    /** The list shows the newest LIST_LENGTH (and the one shown) until asked for all. */
    showAll: false,
  };

  const LIST_LENGTH = 10;

  // Formatting: rates as percentages (differences in percentage points), revenue in its currency.

  const isRevenue = (metric) => metric === "revenue_per_search";

  /** A bound the server could not compute is JSON null (or, without data, a huge number). */
  const finite = (value) => typeof value === "number" && Number.isFinite(value) && Math.abs(value) < 1e12;
  const bounded = (interval) => Array.isArray(interval) && interval.length === 2 && finite(interval[0]) && finite(interval[1]);

  const percent = (rate, digits = 1) => (finite(rate) ? `${(rate * 100).toFixed(digits)} %` : "—");

  /** Minor units of `currency` as money (a plain number when no order named a currency). */
  function minorUnits(value, currency, { sign = false } = {}) {
    if (!finite(value)) return "—";
    const prefix = sign ? (value > 0 ? "+" : value < 0 ? "−" : "±") : value < 0 ? "−" : "";
    if (currency) {
      try {
        const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
        return prefix + format.format(Math.abs(value) / 10 ** format.resolvedOptions().maximumFractionDigits);
      } catch {}
    }
    return prefix + (Math.abs(value) / 100).toFixed(2);
  }

  const metricValue = (metric, value, currency) => (isRevenue(metric) ? minorUnits(value, currency) : percent(value));
  const metricDifference = (metric, value, currency) =>
    isRevenue(metric) ? minorUnits(value, currency, { sign: true }) : finite(value) ? `${signed(value * 100, 1)} pp` : "—";

  const pValue = (p) => (typeof p !== "number" || Number.isNaN(p) ? "—" : p < 0.001 ? "< 0.001" : p.toFixed(3));
  /** “p = 0.144”, or “p < 0.001”, in a sentence. */
  const pClause = (p) => (typeof p === "number" && p < 0.001 ? "p < 0.001" : `p = ${pValue(p)}`);
  const confidence = (alpha) => `${Number(((1 - alpha) * 100).toFixed(1))} %`;

  /**
   * An interval drawn as a small horizontal bar around `center` (0 for a difference, ½ for a
   * share): the always-valid interval as the bar, the fixed-horizon one as a line through it, the
   * estimate as a dot, `center` as the vertical line. `domain` fixes the scale (else it is
   * symmetric around `center` and fits everything drawn).
   */
  function intervalBar({ interval, fixed, estimate, center = 0, domain = null, tone = "", label }) {
    // Without data there is no interval to draw (its bounds say "—").
    if (!bounded(interval) && !bounded(fixed)) return "";
    const width = 160;
    const height = 22;
    const pad = 6;
    let [low, high] = domain || [];
    if (!domain) {
      const values = [estimate, ...(bounded(interval) ? interval : []), ...(bounded(fixed) ? fixed : [])].filter(finite);
      const reach = Math.max(...values.map((value) => Math.abs(value - center)), 0) * 1.15 || 1;
      [low, high] = [center - reach, center + reach];
    }
    const x = (value) => (pad + ((Math.min(high, Math.max(low, value)) - low) / (high - low)) * (width - 2 * pad)).toFixed(1);
    const parts = [`<line class="axis" x1="${pad}" x2="${width - pad}" y1="11" y2="11"/>`];
    if (bounded(interval)) {
      const [from, to] = [x(interval[0]), x(interval[1])];
      parts.push(`<rect class="bar" x="${from}" y="4" width="${Math.max(1.5, to - from).toFixed(1)}" height="14" rx="3"/>`);
    }
    if (bounded(fixed)) parts.push(`<line class="fixed" x1="${x(fixed[0])}" x2="${x(fixed[1])}" y1="11" y2="11"/>`);
    parts.push(`<line class="zero" x1="${x(center)}" x2="${x(center)}" y1="1" y2="21"/>`);
    if (finite(estimate)) parts.push(`<circle class="estimate" cx="${x(estimate)}" cy="11" r="3.2"/>`);
    return `<svg class="interval ${tone}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}">
        <title>${escapeHtml(label)}</title>${parts.join("")}</svg>`;
  }

  const describeInterval = (interval, format) => (bounded(interval) ? `${format(interval[0])} to ${format(interval[1])}` : "—");

  /** What a variant answers with, in words. */
  function variantSettings(variant, surface) {
    if (surface !== "search") {
      return variant.model_version ? `model version <code>${escapeHtml(variant.model_version)}</code>` : "the current model";
    }
    if (!variant.settings || variant.settings === "live") return "the live settings";
    const parts = Object.keys(variant.settings).map((part) => PART_LABELS[part] || part);
    return `<details class="variant-settings"><summary>a draft: ${escapeHtml(parts.join(", ") || "no change")}</summary>
        <pre>${escapeHtml(JSON.stringify(variant.settings, null, 2))}</pre></details>`;
  }

  const statusBadge = (experiment) =>
    experiment.status === "running"
      ? `<span class="badge running" data-status="running">running</span>`
      : `<span class="badge off" data-status="stopped">stopped</span>`;

  const promotedBadge = (experiment) =>
    experiment.promoted ? ` <span class="badge live" data-promoted="${escapeHtml(experiment.promoted)}">promoted: ${escapeHtml(experiment.promoted)}</span>` : "";

  // The form: the current draft against live.

  experimentElements.metric.innerHTML = METRICS.map(([metric, label]) => `<option value="${metric}">${escapeHtml(label)}</option>`).join("");

  /** The draft parts that differ from live, as an experiment's variant sends them. */
  const draftVariantSettings = () => Object.fromEntries(changedParts().map((part) => [part, clone(state.draft[part])]));

  function renderExperimentForm() {
    const kind = experimentElements.kind.value;
    const interleaving = kind === "interleaving";
    experimentElements.kindHint.textContent = KIND_HINTS[kind];
    experimentElements.metric.disabled = interleaving;
    const metric = METRICS.find(([name]) => name === experimentElements.metric.value);
    experimentElements.metricHint.textContent = interleaving
      ? "Interleaving decides by which ranking's products get the clicks."
      : `Decides the verdict (${metric[2]}); every metric is reported.`;
    const parts = changedParts();
    const wrong = problems();
    let summary;
    if (!state.draft) summary = "Loading the settings…";
    else if (!parts.length) summary = "The draft matches the live settings: change it on the Settings page first (a synonym, a rule, a weight…).";
    else if (wrong.length) summary = "The draft has problems (listed at the top): fix them first.";
    else {
      const changes = parts.map((part) => PART_LABELS[part]).join(", ");
      summary = interleaving
        ? `Variants: “live” (the live settings) and “draft” (its ${changes}), interleaved in every shopper's results.`
        : `Variants: “live” (the control: the live settings) and “draft” (its ${changes}), half the shoppers each.`;
    }
    experimentElements.summary.textContent = summary;
    experimentElements.create.disabled = lab.creating || !state.draft || !parts.length || wrong.length > 0 || !state.index;
  }

  experimentElements.form.addEventListener("change", renderExperimentForm);
  experimentElements.name.addEventListener("input", () => {
    experimentElements.nameError.textContent = "";
    experimentElements.name.removeAttribute("aria-invalid");
  });

  experimentElements.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.draft || !changedParts().length || problems().length || lab.creating) return;
    const name = experimentElements.name.value.trim();
    if (!name) {
      experimentElements.nameError.textContent = "Give the experiment a name: the list shows it, and the audit log if a variant is promoted.";
      experimentElements.name.setAttribute("aria-invalid", "true");
      experimentElements.name.focus();
      return;
    }
    const kind = experimentElements.kind.value;
    const body = {
      name,
      kind,
      surface: "search",
      variants: [
        { name: "live", settings: "live" },
        { name: "draft", settings: draftVariantSettings() },
      ],
    };
    if (kind === "ab") body.primary_metric = experimentElements.metric.value;
    clearError();
    lab.creating = true;
    renderExperimentForm();
    try {
      const experiment = await api("POST", indexPath("/experiments"), body);
      experimentElements.name.value = "";
      lab.selected = experiment.id;
      lab.detail = experiment;
      lab.frameKey = "";
      showStatus(`Experiment “${experiment.name}” started: ${kind === "ab" ? "half the shoppers now see the draft" : "every shopper now sees the live and draft rankings interleaved"}. Its results refresh here every ${REFRESH_SECONDS} s.`);
      location.hash = `#experiments/${encodeURIComponent(experiment.id)}`;
      renderExperiment();
      await refreshExperiments();
    } catch (error) {
      showError(error, "The experiment could not be started");
    } finally {
      lab.creating = false;
      renderExperimentForm();
    }
  });

  // The list.

  function renderExperimentList() {
    const list = lab.list;
    if (!list) return;
    // Drawn again at every refresh: the keyboard stays on the experiment it was on.
    const focused = document.activeElement && experimentElements.list.contains(document.activeElement)
      ? document.activeElement.closest("tr[data-id]")?.dataset.id
      : null;
    drawExperimentList(list);
    if (focused) $(`tr[data-id="${CSS.escape(focused)}"] a`, experimentElements.list)?.focus();
  }

  function drawExperimentList(all) {
    const list = lab.showAll ? all : all.filter((experiment, i) => i < LIST_LENGTH || experiment.id === lab.selected);
    if (!list.length) {
      experimentElements.list.innerHTML = `<p class="muted" id="experiment-none">No experiment on “${escapeHtml(state.index)}” yet: change the draft on the
        Settings page, then start one here.</p>`;
      return;
    }
    const rows = list.map((experiment) => {
      const selected = experiment.id === lab.selected;
      return `<tr data-id="${escapeHtml(experiment.id)}" class="${selected ? "selected" : ""}">
          <th scope="row"><a href="#experiments/${encodeURIComponent(experiment.id)}" ${selected ? 'aria-current="true"' : ""}>${escapeHtml(experiment.name)}</a></th>
          <td data-cell="status">${statusBadge(experiment)}${promotedBadge(experiment)}</td>
          <td data-cell="kind">${escapeHtml(KIND_LABELS[experiment.kind] || experiment.kind)}</td>
          <td data-cell="surface">${escapeHtml(SURFACE_LABELS[experiment.surface] || experiment.surface)}</td>
          <td data-cell="created" style="white-space:nowrap"><time datetime="${escapeHtml(experiment.created_at)}" title="${escapeHtml(experiment.created_at)}">${escapeHtml(localTime(experiment.created_at))}</time></td>
        </tr>`;
    });
    experimentElements.list.innerHTML = `<table id="experiment-table">
        <caption class="sr-only">Experiments of ${escapeHtml(state.index)}, newest first</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Kind</th><th scope="col">Surface</th><th scope="col">Created</th></tr></thead>
        <tbody>${rows.join("")}</tbody>
      </table>
      ${all.length > list.length ? `<div class="actions"><button type="button" data-experiments="all">Show all ${all.length} experiments</button></div>` : ""}`;
  }

  experimentElements.list.addEventListener("click", (event) => {
    if (!event.target.closest("button[data-experiments=all]")) return;
    lab.showAll = true;
    renderExperimentList();
    $(`#experiment-table tbody tr:nth-child(${LIST_LENGTH + 1}) a`, experimentElements.list)?.focus();
  });

  // One experiment: a frame (title, actions, variants), drawn again only when the experiment's
  // state changes, so that a refresh never takes the keyboard focus away; and its numbers.

  function renderExperiment() {
    const experiment = lab.detail;
    if (!experiment) {
      lab.frameKey = "";
      experimentElements.detail.innerHTML = lab.selected && lab.missing === lab.selected
        ? `<p class="muted">“${escapeHtml(state.index)}” has no experiment with the id <code>${escapeHtml(lab.selected)}</code>: choose one in the list.</p>`
        : lab.list && !lab.list.length
          ? `<p class="muted">Results appear here once an experiment runs.</p>`
          : `<p class="muted">${lab.selected ? "Loading…" : "Choose an experiment in the list."}</p>`;
      delete experimentElements.detail.dataset.id;
      return;
    }
    const key = `${experiment.id}|${experiment.status}|${experiment.promoted ?? ""}`;
    if (key !== lab.frameKey) {
      lab.frameKey = key;
      experimentElements.detail.innerHTML = experimentFrame(experiment);
    }
    const detail = experimentElements.detail;
    detail.dataset.id = experiment.id;
    detail.dataset.status = experiment.status;
    detail.dataset.computedAt = experiment.results.computed_at;
    $("#experiment-numbers", detail).innerHTML = experimentNumbers(experiment);
    updateRefreshNote();
  }

  function experimentFrame(experiment) {
    const running = experiment.status === "running";
    const total = experiment.variants.reduce((sum, variant) => sum + (variant.weight ?? 1), 0);
    const interleaving = experiment.kind === "interleaving";
    const variantRows = experiment.variants.map((variant, i) => {
      const promoted = experiment.promoted === variant.name;
      const share = interleaving ? (i === 0 ? "team A" : "team B") : percent((variant.weight ?? 1) / total, 0);
      const action = experiment.promoted
        ? promoted ? `<span class="badge live">promoted</span>` : ""
        : `<button type="button" class="small" data-experiment="promote" data-variant="${escapeHtml(variant.name)}"
              aria-label="Promote ${escapeHtml(variant.name)}">Promote</button>`;
      return `<tr data-variant="${escapeHtml(variant.name)}">
          <th scope="row">${escapeHtml(variant.name)} ${i === 0 ? `<span class="badge">control</span>` : ""}</th>
          <td data-cell="settings">${variantSettings(variant, experiment.surface)}</td>
          <td class="number" data-cell="share">${escapeHtml(share)}</td>
          <td data-cell="promote">${action}</td>
        </tr>`;
    });
    const when = [`started <time datetime="${escapeHtml(experiment.created_at)}">${escapeHtml(localTime(experiment.created_at))}</time>`];
    if (experiment.stopped_at) when.push(`stopped <time datetime="${escapeHtml(experiment.stopped_at)}">${escapeHtml(localTime(experiment.stopped_at))}</time>`);
    const metric = interleaving ? "click preference" : `primary metric: ${METRIC_LABELS[experiment.primary_metric] || experiment.primary_metric}`;
    return `<div class="panel-head">
        <h2 id="experiment-title">${escapeHtml(experiment.name)} ${statusBadge(experiment)}${promotedBadge(experiment)}</h2>
        <div class="actions" style="margin:0">
          <span class="muted" id="experiment-updated"></span>
          <button type="button" data-experiment="refresh">Refresh</button>
          ${running ? `<button type="button" class="danger" data-experiment="stop">Stop experiment</button>` : ""}
        </div>
      </div>
      <p class="muted experiment-meta">${escapeHtml(KIND_LABELS[experiment.kind] || experiment.kind)} on the
        ${escapeHtml(SURFACE_LABELS[experiment.surface] || experiment.surface)} · ${escapeHtml(metric)} ·
        α = ${escapeHtml(experiment.alpha)} · ${when.join(" · ")} · id <code>${escapeHtml(experiment.id)}</code></p>
      <h3>Variants</h3>
      <div class="table-wrap"><table id="experiment-variants">
        <caption class="sr-only">What each variant shows, and promotion</caption>
        <thead><tr><th scope="col">Variant</th><th scope="col">Answers with</th><th scope="col" class="number">${interleaving ? "Ranking" : "Shoppers' share"}</th>
          <th scope="col"><span class="sr-only">Promote</span></th></tr></thead>
        <tbody>${variantRows.join("")}</tbody>
      </table></div>
      ${experiment.promoted ? "" : `<p class="hint">Promoting publishes the variant's settings as a new settings version (the audit log names the experiment) and stops the experiment.</p>`}
      <div id="experiment-numbers"></div>`;
  }

  function experimentNumbers(experiment) {
    const results = experiment.results;
    const mismatch = Boolean(results.sample_ratio && results.sample_ratio.mismatch);
    const primary = (results.comparisons || []).filter((comparison) => comparison.primary);
    const decided = primary.some((comparison) => comparison.significant) || Boolean(results.interleaving && results.interleaving.preference.significant);
    const verdictClass = mismatch ? "untrusted" : decided ? "decided" : "";
    const parts = [`<p class="verdict ${verdictClass}" id="experiment-verdict"><strong>Verdict:</strong> <span data-cell="verdict">${escapeHtml(results.verdict)}</span></p>`];
    if (mismatch) parts.push(sampleRatioWarning(experiment));
    parts.push(countsTable(experiment));
    if (experiment.kind === "ab") {
      const ratio = results.sample_ratio;
      if (ratio && !mismatch) {
        parts.push(`<p class="hint" id="sample-ratio">Shoppers per variant match the shares (sample-ratio test: χ² = ${formatNumber(ratio.chi_square, 2)},
          ${pClause(ratio.p_value)}).</p>`);
      }
      parts.push(comparisonsTable(experiment));
    }
    if (results.interleaving) parts.push(preferenceTable(experiment));
    return parts.join("");
  }

  function sampleRatioWarning(experiment) {
    const results = experiment.results;
    const ratio = results.sample_ratio;
    const total = experiment.variants.reduce((sum, variant) => sum + (variant.weight ?? 1), 0);
    const reached = results.variants.map((variant) => `${variant.name} ${plural(variant.identities, "shopper")}`).join(", ");
    const expected = experiment.variants.map((variant) => `${variant.name} ${percent((variant.weight ?? 1) / total, 0)}`).join(", ");
    // Announced once per experiment: the warning is drawn again at every refresh.
    const announce = !lab.srmAnnounced.has(experiment.id);
    lab.srmAnnounced.add(experiment.id);
    return `<div class="srm" id="srm-warning" ${announce ? 'role="alert"' : ""}>
        <strong>⚠ Sample ratio mismatch: do not trust these results.</strong>
        <p>Shoppers did not reach the variants in the shares they were given (${escapeHtml(reached)}; expected ${escapeHtml(expected)};
          χ² = ${formatNumber(ratio.chi_square, 1)}, ${pClause(ratio.p_value)}). Something loses or misroutes one variant's shoppers —
          a broken assignment, a cache serving one variant, answers abandoned before they are logged. Find the cause before reading the
          comparisons; a restarted experiment starts afresh.</p>
      </div>`;
  }

  function countsTable(experiment) {
    const results = experiment.results;
    const currency = results.currency;
    const primary = experiment.kind === "ab" ? experiment.primary_metric : null;
    const head = (metric, label) => `<th scope="col" class="number">${escapeHtml(label)}${metric === primary ? ` <span class="badge primary">primary</span>` : ""}</th>`;
    const rows = results.variants.map((variant) => `<tr data-variant="${escapeHtml(variant.name)}">
        <th scope="row">${escapeHtml(variant.name === "interleaved" ? "interleaved (both rankings)" : variant.name)}</th>
        <td class="number" data-cell="identities">${variant.identities.toLocaleString()}</td>
        <td class="number" data-cell="searches">${variant.searches.toLocaleString()}</td>
        <td class="number" data-cell="clicked_searches">${variant.clicked_searches.toLocaleString()}</td>
        <td class="number" data-cell="click_through_rate">${percent(variant.click_through_rate)}</td>
        <td class="number" data-cell="add_to_cart_searches">${variant.add_to_cart_searches.toLocaleString()}</td>
        <td class="number" data-cell="add_to_cart_rate">${percent(variant.add_to_cart_rate)}</td>
        <td class="number" data-cell="converted_searches">${variant.converted_searches.toLocaleString()}</td>
        <td class="number" data-cell="conversion_rate">${percent(variant.conversion_rate)}</td>
        <td class="number" data-cell="revenue">${minorUnits(variant.revenue, currency)}</td>
        <td class="number" data-cell="revenue_per_search">${minorUnits(variant.revenue_per_search, currency)}</td>
      </tr>`);
    return `<h3 class="section-title">Per variant</h3>
      <div class="table-wrap"><table id="experiment-counts">
        <caption class="sr-only">Each variant's shoppers, searches and outcomes</caption>
        <thead><tr><th scope="col">Variant</th><th scope="col" class="number">Shoppers</th><th scope="col" class="number">Searches</th>
          <th scope="col" class="number">Clicked</th>${head("click_through_rate", "Click-through")}
          <th scope="col" class="number">Added to cart</th>${head("add_to_cart_rate", "Add-to-cart rate")}
          <th scope="col" class="number">Bought</th>${head("conversion_rate", "Conversion")}
          <th scope="col" class="number">Revenue</th>${head("revenue_per_search", "Revenue per search")}</tr></thead>
        <tbody>${rows.join("")}</tbody>
      </table></div>`;
  }

  function comparisonsTable(experiment) {
    const results = experiment.results;
    const currency = results.currency;
    const level = confidence(experiment.alpha);
    const order = METRICS.map(([metric]) => metric);
    const comparisons = [...(results.comparisons || [])].sort((a, b) => Number(b.primary) - Number(a.primary) || order.indexOf(a.metric) - order.indexOf(b.metric));
    if (!comparisons.length) return "";
    const rows = comparisons.map((comparison) => {
      const metric = comparison.metric;
      const format = (value) => metricDifference(metric, value, currency);
      const better = comparison.significant && comparison.difference > 0;
      const worse = comparison.significant && comparison.difference < 0;
      const tone = better ? "better" : worse ? "worse" : "";
      const relative = finite(comparison.relative_difference) ? `<span class="bounds">${signed(comparison.relative_difference * 100, 1)} %</span>` : "";
      const label = bounded(comparison.always_valid_interval)
        ? `${METRIC_LABELS[metric] || metric}, ${comparison.variant} minus control: ${format(comparison.difference)}, always-valid ${level} interval ${describeInterval(comparison.always_valid_interval, format)}`
        : `${METRIC_LABELS[metric] || metric}: no interval yet (not enough data)`;
      return `<tr data-variant="${escapeHtml(comparison.variant)}" data-metric="${escapeHtml(metric)}" class="${comparison.primary ? "primary" : ""}">
          <th scope="row">${escapeHtml(METRIC_LABELS[metric] || metric)}${comparison.primary ? ` <span class="badge primary">primary</span>` : ""}
            <span class="muted">${escapeHtml(comparison.variant)}</span></th>
          <td class="number" data-cell="control">${metricValue(metric, comparison.control, currency)}</td>
          <td class="number" data-cell="treatment">${metricValue(metric, comparison.treatment, currency)}</td>
          <td class="number difference ${tone}" data-cell="difference">${format(comparison.difference)}${relative}</td>
          <td class="interval-cell" data-cell="interval" data-bounded="${bounded(comparison.always_valid_interval)}">
            ${intervalBar({ interval: comparison.always_valid_interval, fixed: comparison.fixed_interval, estimate: comparison.difference, tone, label })}
            <span class="bounds" data-cell="always-valid-interval">${describeInterval(comparison.always_valid_interval, format)}</span></td>
          <td class="number" data-cell="always-valid-p">${pValue(comparison.always_valid_p_value)}</td>
          <td class="number" data-cell="fixed-p">${pValue(comparison.fixed_p_value)}
            <span class="bounds muted" data-cell="fixed-interval">${describeInterval(comparison.fixed_interval, format)}</span></td>
          <td data-cell="significant">${better ? `<span class="significant">✓ better</span>` : worse ? `<span class="down">✗ worse</span>` : `<span class="muted">not yet</span>`}</td>
        </tr>`;
    });
    return `<h3 class="section-title">Against the control</h3>
      <div class="table-wrap"><table id="experiment-comparisons">
        <caption class="sr-only">Each variant against the control, per metric, with ${level} intervals and p-values</caption>
        <thead><tr><th scope="col">Metric</th><th scope="col" class="number">Control</th><th scope="col" class="number">Variant</th>
          <th scope="col" class="number">Difference</th><th scope="col">${level} interval of the difference</th>
          <th scope="col" class="number">p (always valid)</th><th scope="col" class="number">p (fixed horizon)</th><th scope="col">Significant</th></tr></thead>
        <tbody>${rows.join("")}</tbody>
      </table></div>
      ${intervalLegend("no difference")}
      <p class="hint">Read the always-valid p-value and interval: they stay valid however often you look. The fixed-horizon ones are
        valid only when read once, at a sample size fixed in advance. Significant: always-valid p ≤ α = ${escapeHtml(experiment.alpha)}.
        Rates differ in percentage points (pp).</p>`;
  }

  const intervalLegend = (centerLabel) => `<p class="legend hint" aria-hidden="true">
      <span><svg class="interval" viewBox="0 0 40 22"><rect class="bar" x="2" y="4" width="36" height="14" rx="3"/></svg> always-valid interval</span>
      <span><svg class="interval" viewBox="0 0 40 22"><line class="fixed" x1="2" x2="38" y1="11" y2="11"/></svg> fixed-horizon interval</span>
      <span><svg class="interval" viewBox="0 0 40 22"><circle class="estimate" cx="20" cy="11" r="3.2"/></svg> estimate</span>
      <span><svg class="interval" viewBox="0 0 40 22"><line class="zero" x1="20" x2="20" y1="1" y2="21"/></svg> ${escapeHtml(centerLabel)}</span>
    </p>`;

  function preferenceTable(experiment) {
    const interleaving = experiment.results.interleaving;
    const preference = interleaving.preference;
    const level = confidence(experiment.alpha);
    const share = (value) => percent(value, 0);
    const better = preference.significant && preference.share > 0.5;
    const worse = preference.significant && preference.share < 0.5;
    const tone = better ? "better" : worse ? "worse" : "";
    const label = bounded(preference.always_valid_interval)
      ? `${interleaving.treatment}'s share of the decided searches: ${share(preference.share)}, always-valid ${level} interval ${describeInterval(preference.always_valid_interval, share)}`
      : `${interleaving.treatment}'s share: no interval yet`;
    const decided = preference.searches_decided;
    return `<h3 class="section-title">Which ranking shoppers prefer</h3>
      <p>Of ${plural(decided, "clicked search", "clicked searches")} where one ranking's products got more clicks,
        <strong>${escapeHtml(interleaving.treatment)}</strong> won ${interleaving.treatment_wins.toLocaleString()} and
        <strong>${escapeHtml(interleaving.control)}</strong> won ${interleaving.control_wins.toLocaleString()}; ${plural(interleaving.ties, "tie")}.</p>
      <div class="table-wrap"><table id="experiment-preference">
        <caption class="sr-only">The interleaving preference with its ${level} interval</caption>
        <thead><tr><th scope="col" class="number">${escapeHtml(interleaving.control)} wins</th><th scope="col" class="number">${escapeHtml(interleaving.treatment)} wins</th>
          <th scope="col" class="number">Ties</th><th scope="col" class="number">${escapeHtml(interleaving.treatment)}'s share</th>
          <th scope="col">${level} interval of the share (½: no preference)</th><th scope="col" class="number">p (always valid)</th>
          <th scope="col" class="number">p (fixed horizon)</th><th scope="col">Significant</th></tr></thead>
        <tbody><tr>
          <td class="number" data-cell="control_wins">${interleaving.control_wins.toLocaleString()}</td>
          <td class="number" data-cell="treatment_wins">${interleaving.treatment_wins.toLocaleString()}</td>
          <td class="number" data-cell="ties">${interleaving.ties.toLocaleString()}</td>
          <td class="number difference ${tone}" data-cell="share">${decided ? share(preference.share) : "—"}</td>
          <td class="interval-cell" data-cell="interval" data-bounded="${bounded(preference.always_valid_interval)}">
            ${intervalBar({ interval: preference.always_valid_interval, fixed: preference.interval, estimate: decided ? preference.share : NaN, center: 0.5, domain: [0, 1], tone, label })}
            <span class="bounds" data-cell="always-valid-interval">${describeInterval(preference.always_valid_interval, share)}</span></td>
          <td class="number" data-cell="always-valid-p">${pValue(preference.always_valid_p_value)}</td>
          <td class="number" data-cell="fixed-p">${pValue(preference.fixed_p_value)}
            <span class="bounds muted" data-cell="fixed-interval">${describeInterval(preference.interval, share)}</span></td>
          <td data-cell="significant">${better ? `<span class="significant">✓ ${escapeHtml(interleaving.treatment)} preferred</span>` : worse ? `<span class="down">✓ ${escapeHtml(interleaving.control)} preferred</span>` : `<span class="muted">not yet</span>`}</td>
        </tr></tbody>
      </table></div>
      ${intervalLegend("no preference (½)")}`;
  }

  function updateRefreshNote() {
    const note = $("#experiment-updated", experimentElements.detail);
    if (!note || !lab.detail) return;
    const at = new Date(lab.detail.results.computed_at);
    const time = Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString();
    note.textContent = `Updated ${time}${lab.timer !== null ? ` · refreshes every ${REFRESH_SECONDS} s` : ""}`;
  }

  // Loading and refreshing.

  /** Shows the page: the experiment `id`, or else the running one (else the newest). */
  function openExperiments(id) {
    if (id !== lab.selected) {
      // Without an id the page chooses again (and keeps showing the last one meanwhile).
      lab.selected = id;
      if (id && lab.detail && lab.detail.id !== id) lab.detail = null;
      renderExperimentList();
      renderExperiment();
    }
    renderExperimentForm();
    refreshExperiments();
  }

  /** Says on the experiments page why no index is loaded (loading one refreshes the page itself). */
  function experimentsWithoutIndex() {
    if (state.page === "experiments" && !state.index) refreshExperiments();
  }

  /** Forgets the experiments of the index shown before. */
  function resetExperiments() {
    clearTimeout(lab.timer);
    lab.timer = null;
    lab.refreshes++;
    lab.list = null;
    lab.showAll = false;
    lab.selected = null;
    lab.detail = null;
    lab.frameKey = "";
    experimentElements.list.innerHTML = `<p class="muted">Loading…</p>`;
    renderExperiment();
  }

  /** Lists the index's experiments and loads the one shown (again). */
  async function refreshExperiments() {
    clearTimeout(lab.timer);
    lab.timer = null;
    const refresh = ++lab.refreshes;
    const index = state.index;
    if (!index) {
      // The draft bar says why there is none: loading, no key, a key without settings.write, no index.
      experimentElements.list.innerHTML = `<p class="muted">${escapeHtml(elements.draftState.textContent)}</p>`;
      experimentElements.detail.innerHTML = "";
      lab.frameKey = "";
      return;
    }
    try {
      const answer = await api("GET", indexPath("/experiments"));
      if (refresh !== lab.refreshes) return;
      lab.list = (answer && answer.results) || [];
      if (!lab.selected && lab.list.length) lab.selected = (lab.list.find((experiment) => experiment.status === "running") || lab.list[0]).id;
      if (lab.selected) {
        const experiment = await api("GET", indexPath(`/experiments/${encodeURIComponent(lab.selected)}`));
        if (refresh !== lab.refreshes) return;
        lab.detail = experiment;
      }
      clearError("Experiments");
    } catch (error) {
      if (refresh !== lab.refreshes) return;
      showError(error, "Experiments");
      if (error.code === "experiment_not_found") {
        lab.detail = null;
        lab.missing = lab.selected;
      }
      if (!lab.list) experimentElements.list.innerHTML = `<p class="muted">The experiments could not be listed (see the message above).</p>`;
    }
    renderExperimentList();
    renderExperiment();
    scheduleExperimentRefresh();
  }

  /** Every REFRESH_SECONDS while the page is shown (and the tab visible) and the experiment runs. */
  function scheduleExperimentRefresh() {
    clearTimeout(lab.timer);
    lab.timer = null;
    if (state.page === "experiments" && !document.hidden && lab.detail && lab.detail.status === "running") {
      lab.timer = setTimeout(refreshExperiments, REFRESH_SECONDS * 1000);
    }
    updateRefreshNote();
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.page === "experiments" && lab.detail && lab.detail.status === "running") refreshExperiments();
    else scheduleExperimentRefresh();
  });

  // Refresh, stop and promote.

  experimentElements.detail.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-experiment]");
    const experiment = lab.detail;
    if (!button || !experiment) return;
    const action = button.dataset.experiment;
    if (action === "refresh") {
      await refreshExperiments();
      return;
    }
    if (action === "stop") {
      const confirmed = await confirmDialog(
        `Stop “${experiment.name}”?`,
        "Every shopper sees the live settings again from the next search. The results stay here, and you can still promote a variant.",
        "Stop experiment",
      );
      if (!confirmed) return button.focus();
      clearError();
      button.disabled = true;
      try {
        lab.detail = await api("POST", indexPath(`/experiments/${encodeURIComponent(experiment.id)}/stop`));
        lab.refreshes++; // a refresh on its way would show it running
        showStatus(`Experiment “${experiment.name}” stopped: every shopper sees the live settings again. Its results stay here.`);
      } catch (error) {
        button.disabled = false;
        showError(error, "Stopping failed");
      }
      await refreshExperiments();
      $("[data-experiment=refresh]", experimentElements.detail)?.focus();
      return;
    }
    if (action === "promote") {
      const name = button.dataset.variant;
      const variant = experiment.variants.find((candidate) => candidate.name === name);
      if (!variant) return;
      const draft = variant.settings && variant.settings !== "live";
      const effect = experiment.surface !== "search"
        ? variant.model_version ? `Model version ${variant.model_version} becomes the active one.` : "The current model stays active."
        : draft
          ? `Its settings (${Object.keys(variant.settings).map((part) => PART_LABELS[part] || part).join(", ")}) are published as a new settings version: the shop uses them from the next search. The audit log names the experiment.`
          : "The live settings stay as they are.";
      const confirmed = await confirmDialog(
        `Promote “${name}” of “${experiment.name}”?`,
        `${effect} The experiment ${experiment.status === "running" ? "stops" : "is closed"}; this cannot be undone here (roll back in the audit log).`,
        "Promote",
      );
      if (!confirmed) return button.focus();
      clearError();
      button.disabled = true;
      try {
        const promotion = await api("POST", indexPath(`/experiments/${encodeURIComponent(experiment.id)}/promote`), { variant: name });
        lab.refreshes++;
        lab.detail = promotion.experiment;
        const what = promotion.settings_version != null
          ? `its settings are live as version ${promotion.settings_version} (see the audit log on the Settings page)`
          : promotion.model_version
            ? `model version ${promotion.model_version} is active`
            : "the live settings stay as they were";
        showStatus(`“${promotion.variant}” of “${experiment.name}” promoted: ${what}. The experiment is stopped.${nameTip()}`);
        if (promotion.settings_version != null) {
          await followLive();
          await refreshHistory();
        }
      } catch (error) {
        button.disabled = false;
        showError(error, "Promotion failed");
      }
      await refreshExperiments();
      $("[data-experiment=refresh]", experimentElements.detail)?.focus();
    }
  });

  /**
   * Live settings changed under the draft (a promotion published one): the draft's own changes
   * stay, its other parts follow the new live settings. A draft without changes becomes a copy.
   */
  async function followLive() {
    const live = await api("GET", indexPath("/settings"));
    if (!state.live || !state.draft || !changedParts().length) return adoptLive(live);
    const draft = clone(live);
    for (const part of changedParts()) draft[part] = state.draft[part];
    state.live = live;
    state.draft = draft;
    state.fieldErrors.clear();
    state.ruleUi = new WeakMap();
    state.editingSynonym = null;
    renderEditors();
    draftChanged();
  }

  // ---------------------------------------------------------------------------------------------
  // The top bar

  elements.actor.value = recall("local", ACTOR_STORAGE);
  elements.key.value = recall("session", KEY_STORAGE);
  elements.actor.addEventListener("input", () => remember("local", ACTOR_STORAGE, elements.actor.value.trim()));
  elements.key.addEventListener("input", () => remember("session", KEY_STORAGE, elements.key.value.trim()));
  // A new key may open what the old one could not: load again (a draft being edited is kept).
  elements.key.addEventListener("change", () => {
    clearError();
    if (!state.live) loadIndexes().then(experimentsWithoutIndex);
    else {
      refreshHistory();
      if (state.page === "experiments") refreshExperiments();
    }
  });

  elements.index.addEventListener("change", async () => {
    const wanted = elements.index.value;
    if (changedParts().length) {
      const confirmed = await confirmDialog(
        `Switch to “${wanted}”?`,
        `Your unpublished draft of “${state.index}” is discarded.`,
        "Discard and switch",
      );
      if (!confirmed) {
        elements.index.value = state.index;
        return;
      }
    }
    clearError();
    await loadIndex(wanted);
  });

  // Anything unexpected is shown, not thrown.
  window.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    showError(event.reason instanceof Error ? event.reason : new Error(String(event.reason)), "Unexpected error");
  });

  renderEditors();
  draftChanged({ preview: false });
  showPage();
  loadIndexes().then(experimentsWithoutIndex);
})();
