// An InstantSearch.js v4 shop page over Vitrine: the real instantsearch.js (its UMD build, the
// global `instantsearch`) with the @vitrine/client adapter as its search client. Configured by
// the URL: ?server=…&key=…&index=fashion&facets=color,size&categories=1&filters=… (Algolia's
// `filters` syntax, through configure).
import { instantSearchClient } from "/client/index.js";

const url = new URL(location.href);
const server = url.searchParams.get("server");
const key = url.searchParams.get("key") || undefined;
const indexName = url.searchParams.get("index") || "fashion";
const facets = (url.searchParams.get("facets") ?? "color,size").split(",").filter(Boolean);
const categories = url.searchParams.get("categories") !== "0";
const filters = url.searchParams.get("filters") || undefined;

// What each call of the search client cost, for the test: InstantSearch's queries against
// Vitrine's HTTP requests.
window.__calls = [];
const searchClient = instantSearchClient({
  server,
  apiKey: key,
  onRequests: (event) => window.__calls.push(event),
});

const { searchBox, hits, refinementList, rangeInput, hierarchicalMenu, sortBy, pagination, stats, configure, relatedProducts } =
  instantsearch.widgets;

const search = instantsearch({ indexName, searchClient, future: { preserveSharedStateOnUnmount: true } });
window.__search = search;
window.__renders = 0;
search.on("render", () => window.__renders++);
search.on("error", ({ error }) => {
  window.__errors = [...(window.__errors ?? []), String(error?.message ?? error)];
});

const money = (hit) => (typeof hit.price === "number" ? `${hit.price.toFixed(2)} ${hit.currency ?? ""}` : "");

search.addWidgets([
  configure(filters ? { hitsPerPage: 12, filters } : { hitsPerPage: 12 }),
  searchBox({ container: "#searchbox", placeholder: "Search the shop", showLoadingIndicator: false }),
  stats({ container: "#stats" }),
  sortBy({
    container: "#sort",
    items: [
      { label: "Relevance", value: indexName },
      { label: "Price: low to high", value: `${indexName}:price_asc` },
      { label: "Price: high to low", value: `${indexName}:price_desc` },
      { label: "Newest", value: `${indexName}:newest` },
    ],
  }),
  rangeInput({ container: "#price", attribute: "price" }),
  hits({
    container: "#hits",
    templates: {
      item: (hit, { html, components }) => html`<article class="hit" data-id="${hit.objectID}">
        <span class="title">${components.Highlight({ hit, attribute: "title" })}</span>
        <span class="price">${money(hit)}</span>
        <div class="meta">${[hit.color, hit.size].filter(Boolean).join(" · ")}</div>
        <button type="button" class="related" data-id="${hit.objectID}">Related products</button>
      </article>`,
    },
  }),
  pagination({ container: "#pagination", padding: 2 }),
]);
if (categories) {
  search.addWidgets([
    hierarchicalMenu({
      container: "#categories",
      attributes: ["hierarchicalCategories.lvl0", "hierarchicalCategories.lvl1", "hierarchicalCategories.lvl2", "hierarchicalCategories.lvl3"],
      limit: 20,
    }),
  ]);
} else {
  document.querySelector("#categories-section").remove();
}
for (const [i, attribute] of facets.slice(0, 2).entries()) {
  const slot = i === 0 ? "a" : "b";
  document.querySelector(`#facet-${slot}-title`).textContent = attribute;
  search.addWidgets([
    refinementList({ container: `#facet-${slot}`, attribute, searchable: i === 0, limit: 30, searchablePlaceholder: `Search ${attribute}` }),
  ]);
}
for (const slot of ["a", "b"].slice(facets.length)) document.querySelector(`#facet-${slot}-section`).remove();

// "Related products" of a hit: the relatedProducts widget, replaced for each product opened.
let related;
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.related");
  if (!button) return;
  if (related) search.removeWidgets([related]);
  related = relatedProducts({
    container: "#related",
    objectIDs: [button.dataset.id],
    limit: 6,
    templates: {
      header: (_, { html }) => html`<h2>Related products</h2>`,
      item: (hit, { html }) => html`<article class="hit" data-id="${hit.objectID}"><span class="title">${hit.title}</span>
        <span class="price">${money(hit)}</span></article>`,
    },
  });
  search.addWidgets([related]);
});

search.start();
