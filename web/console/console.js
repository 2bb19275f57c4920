/*
 * Vitrine merchandiser console, served at /console: one script, no build step, no framework.
 *
 * It edits a DRAFT of an index's settings (a deep copy of the live settings; nothing reaches the
 * shop until "Publish draft"), previews a query with the live settings and with the draft side by
 * side, runs the offline evaluation of the draft on a judgments file, and shows the audit log of
 * published versions with rollback. It talks to the page's own origin:
 *
 *   GET  /v1/indexes                                      the index picker
 *   GET  /v1/indexes/{index}/settings                     live settings (the draft starts as a copy)
 *   PUT  /v1/indexes/{index}/settings                     publish the draft
 *   POST /v1/indexes/{index}/settings/preview             {q, draft, per_page} → {live, draft}
 *   POST /v1/indexes/{index}/settings/evaluate            {draft, judgments, typos} → comparison
 *   GET  /v1/indexes/{index}/settings/history             the audit log, newest first
 *   POST /v1/indexes/{index}/settings/history/{v}/restore roll back
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
    state.index = name;
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
  // The top bar

  elements.actor.value = recall("local", ACTOR_STORAGE);
  elements.key.value = recall("session", KEY_STORAGE);
  elements.actor.addEventListener("input", () => remember("local", ACTOR_STORAGE, elements.actor.value.trim()));
  elements.key.addEventListener("input", () => remember("session", KEY_STORAGE, elements.key.value.trim()));
  // A new key may open what the old one could not: load again (a draft being edited is kept).
  elements.key.addEventListener("change", () => {
    clearError();
    if (!state.live) loadIndexes();
    else refreshHistory();
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
  loadIndexes();
})();
