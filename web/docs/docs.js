/*
 * Vitrine API reference, served at /docs: one script, no build step, no framework, nothing fetched
 * but the server's own OpenAPI 3.1 document (GET /openapi.json, same origin), so it works offline.
 *
 * It renders the document's title, version and description, a sidebar of tags with their
 * operations (filterable), and for each operation: its credential (the `bearer` scheme's scopes
 * name the action its key must allow), parameters, request body, responses (the shared error
 * answers of `#/components/responses` resolved to their status and codes; their `Error` body is
 * shown once, in the overview) and a `curl` example. Schemas are nested trees: `$ref` followed
 * (a schema already on the path is shown as recursive, not expanded), `oneOf`/`anyOf`/`allOf`,
 * nullable types, arrays and maps; deep levels are collapsed and built when first opened.
 *
 * Everything from the document reaches the page as text (textContent / createElement); its
 * descriptions are read as a tiny Markdown subset: paragraphs, ```fences```, `code`, **bold**.
 */
(() => {
  "use strict";

  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];
  /** Scopes the public search key has: their operations' examples use it, the others the admin key. */
  const SEARCH_KEY_SCOPES = ["search", "carts"];
  const FORMAT_EXAMPLES = { uuid: "00000000-0000-0000-0000-000000000000", "date-time": "2026-01-01T00:00:00Z", date: "2026-01-01", email: "shopper@example.com", uri: "https://example.com/" };
  /** Nested levels shown open; deeper ones are collapsed until asked for. */
  const OPEN_DEPTH = 1;
  /** Enums longer than this are listed only when asked for. */
  const LONG_ENUM = 12;
  const REASONS = { 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 503: "Service Unavailable" };

  let spec = {};

  // ---------------------------------------------------------------------------------------------
  // DOM and text helpers

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  /** An element with a class and children: nodes as they are, anything else as text. */
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
  const json = (value) => JSON.stringify(value);
  const chip = (...children) => el("span", "chip", children);
  const codeChip = (text) => chip(el("code", null, text));

  /** Inline Markdown: `code` and **bold** (rustdoc's [`links`] lose their brackets). */
  function inline(text) {
    return text
      .replace(/\[(`[^`]+`)\](?!\()/g, "$1")
      .split(/(`[^`]+`|\*\*[^*]+\*\*)/)
      .filter(Boolean)
      .map((part) => {
        if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) return el("code", null, part.slice(1, -1));
        if (part.length > 4 && part.startsWith("**") && part.endsWith("**")) return el("strong", null, inline(part.slice(2, -2)));
        return part;
      });
  }

  /** Block Markdown: fenced code, then paragraphs (blank-line separated; single newlines join). */
  function markdown(text, className = "md") {
    const box = el("div", className);
    for (const block of String(text ?? "").split(/(```[\s\S]*?```)/)) {
      const fence = block.match(/^```[^\n]*\n?([\s\S]*?)```$/);
      if (fence) {
        box.append(el("pre", "block", el("code", null, fence[1].replace(/\n$/, ""))));
        continue;
      }
      for (const paragraph of block.split(/\n\s*\n/)) {
        if (paragraph.trim()) box.append(el("p", null, inline(paragraph.trim().replace(/\s*\n\s*/g, " "))));
      }
    }
    return box;
  }

  /** A path with its `{parameters}` marked, and line breaks allowed after its slashes. */
  const pathNode = (path, tag = "code") =>
    el(tag, "path", path.split(/(\{[^}]+\}|\/)/).filter(Boolean).map((part) =>
      part === "/" ? ["/", el("wbr")] : part.startsWith("{") ? el("span", "param", part) : part));

  const methodBadge = (method) => el("span", `method ${method}`, method.toUpperCase());

  // ---------------------------------------------------------------------------------------------
  // Schemas

  /** The node a local reference (`#/components/...`) points at, or undefined. */
  function lookup(ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
    return ref.slice(2).split("/").reduce((node, key) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
  }

  const refName = (ref) => String(ref).split("/").pop();
  const isNull = (schema) => schema && (schema.type === "null" || schema.const === null);
  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  /** `allOf` members merged into one object schema: their properties and required lists joined. */
  function mergeAll(schema, names, guard) {
    const { allOf, ...rest } = schema;
    const merged = { type: "object", properties: {}, required: [] };
    for (const member of allOf) {
      const { schema: part, names: partNames } = flatten(member, guard + 1);
      names.push(...partNames);
      Object.assign(merged.properties, part.properties);
      merged.required.push(...(part.required || []));
      if (merged.description === undefined) merged.description = part.description;
      if (part.additionalProperties !== undefined) merged.additionalProperties = part.additionalProperties;
    }
    return { ...merged, ...rest };
  }

  /**
   * A schema with its wrappers taken off: `$ref` followed (the keywords beside it win: they
   * describe this use), a one-member `oneOf`/`anyOf`/`allOf` unwrapped, `null` variants turned
   * into `nullable`, `allOf` merged. Returns the plain schema, the names of the schemas followed
   * (cycles are found with them) and the one it is known by (the first, unless an `allOf` merged).
   */
  function flatten(input, guard = 0) {
    const names = [];
    let schema = isObject(input) ? input : {};
    for (let step = 0; step < 32; step += 1) {
      if (schema.$ref) {
        const { $ref, ...siblings } = schema;
        const target = lookup($ref);
        names.push(refName($ref));
        if (!isObject(target)) return { schema: { ...siblings, unresolved: $ref }, names, name: names[0] };
        schema = { ...target, ...siblings };
        continue;
      }
      const key = schema.oneOf ? "oneOf" : schema.anyOf ? "anyOf" : null;
      if (key) {
        const real = schema[key].filter((variant) => !isNull(variant));
        if (real.length === 1) {
          const { [key]: variants, ...rest } = schema;
          const nullable = rest.nullable || real.length < variants.length;
          schema = { ...real[0], ...rest, ...(nullable ? { nullable } : {}) };
          continue;
        }
      }
      if (schema.allOf && guard < 8) {
        if (schema.allOf.length === 1) {
          const { allOf, ...rest } = schema;
          schema = { ...allOf[0], ...rest };
          continue;
        }
        const name = names[0];
        schema = mergeAll(schema, names, guard);
        return { schema, names, name };
      }
      break;
    }
    return { schema, names, name: names[0] };
  }

  /** The types a schema allows, `null` aside, and whether it allows `null`. */
  function types(schema) {
    const list = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    const nullable = Boolean(schema.nullable) || list.includes("null");
    let real = list.filter((type) => type !== "null");
    if (!real.length && schema.properties) real = ["object"];
    if (!real.length && schema.items) real = ["array"];
    return { real, nullable };
  }

  /** A map (an object of any keys) is `additionalProperties` without `properties`. */
  const mapValues = (schema) =>
    !schema.properties && schema.additionalProperties !== undefined && schema.additionalProperties !== false
      ? (isObject(schema.additionalProperties) ? schema.additionalProperties : {})
      : null;

  /** An unnamed object by its tag, when a required property has one value: `object {type: "one_way"}`. */
  function tagged(schema) {
    for (const key of schema.required || []) {
      const { schema: property } = flatten(schema.properties?.[key]);
      const value = property.const !== undefined ? property.const : property.enum?.length === 1 ? property.enum[0] : undefined;
      if (value !== undefined) return `object {${key}: ${json(value)}}`;
    }
    return "object";
  }

  /** The type as people read it: `integer (int32) | null`, `array of Hit`, `map of string → Product`.
   * `seen`: the names being labelled, a recursive one stays a name. */
  function typeLabel(schema, name, seen = new Set(name ? [name] : [])) {
    if (schema.unresolved) return refName(schema.unresolved);
    const sub = (input) => {
      const { schema: inner, names, name: known } = flatten(input);
      return names.some((n) => seen.has(n)) ? known || names[0] : typeLabel(inner, known, new Set([...seen, ...names]));
    };
    const variants = schema.oneOf || schema.anyOf;
    const { real, nullable } = types(schema);
    let label;
    if (variants) {
      label = variants.filter((variant) => !isNull(variant)).map(sub).join(" | ");
    } else if (schema.const !== undefined) {
      label = `const ${json(schema.const)}`;
    } else if (!real.length) {
      label = schema.enum ? "enum" : "any";
    } else {
      label = real.map((type) => {
        if (type === "array") return schema.items ? `array of ${sub(schema.items)}` : "array";
        if (type === "object") {
          const values = mapValues(schema);
          if (values) return `map of string → ${sub(values)}`;
          return name || schema.title || tagged(schema);
        }
        return schema.format ? `${type} (${schema.format})` : type;
      }).join(" | ");
    }
    return nullable || (variants && variants.some(isNull)) ? `${label} | null` : label;
  }

  /** Chips for a schema's enum, bounds, pattern, default…; an array's item bounds as `each …`. */
  function constraints(schema, prefix = "") {
    const chips = [];
    const range = (low, high, unit = "") =>
      low !== undefined && high !== undefined ? `${low}–${high}${unit}` : low !== undefined ? `≥ ${low}${unit}` : `≤ ${high}${unit}`;
    if (schema.minimum !== undefined || schema.maximum !== undefined) chips.push(chip(prefix, range(schema.minimum, schema.maximum)));
    if (schema.exclusiveMinimum !== undefined) chips.push(chip(prefix, `> ${schema.exclusiveMinimum}`));
    if (schema.exclusiveMaximum !== undefined) chips.push(chip(prefix, `< ${schema.exclusiveMaximum}`));
    if (schema.minLength !== undefined || schema.maxLength !== undefined) chips.push(chip(prefix, "length ", range(schema.minLength, schema.maxLength)));
    if (schema.minItems !== undefined || schema.maxItems !== undefined) chips.push(chip(prefix, range(schema.minItems, schema.maxItems, " items")));
    if (schema.uniqueItems) chips.push(chip(prefix, "unique"));
    if (schema.pattern) chips.push(chip(prefix, "pattern ", el("code", null, schema.pattern)));
    if (schema.enum && schema.enum.length > LONG_ENUM) {
      chips.push(el("details", "enum", el("summary", null, `${prefix}one of ${schema.enum.length} values`), schema.enum.map((value) => codeChip(json(value)))));
    } else if (schema.enum) {
      chips.push(chip(prefix, "one of: ", schema.enum.flatMap((value, i) => [i ? ", " : "", el("code", null, json(value))])));
    }
    if (schema.default !== undefined) chips.push(chip("default ", el("code", null, json(schema.default))));
    if (schema.readOnly) chips.push(chip("read-only"));
    if (schema.writeOnly) chips.push(chip("write-only"));
    if (schema.deprecated) chips.push(chip("deprecated"));
    if (schema.unresolved) chips.push(chip("unresolved reference ", el("code", null, schema.unresolved)));
    if (!prefix && types(schema).real.includes("array") && schema.items) chips.push(...constraints(flatten(schema.items).schema, "each "));
    return chips;
  }

  /**
   * What a schema holds below itself, as a builder of `<ul class=props>` rows and their count:
   * an object's properties, an array's or a map's values (when those have some), the variants of
   * a `oneOf`/`anyOf` with a structured one. `seen` holds the names on the path (cycles).
   */
  function children(schema, depth, seen) {
    const variants = schema.oneOf || schema.anyOf;
    if (variants) {
      const real = variants.filter((variant) => !isNull(variant));
      const structured = (variant) => {
        const { schema: flat, names } = flatten(variant);
        return !names.some((name) => seen.has(name)) && children(flat, depth, new Set([...seen, ...names]));
      };
      if (!real.some(structured)) return null;
      const word = schema.oneOf ? "one of" : "any of";
      return {
        summary: `${real.length} variants`,
        build: () => el("ul", "props", real.map((variant, i) => propertyRow({ label: `${word}, option ${i + 1}` }, variant, false, depth, seen))),
      };
    }
    if (schema.properties && Object.keys(schema.properties).length) {
      const required = new Set(schema.required || []);
      const entries = Object.entries(schema.properties);
      return {
        summary: plural(entries.length, "field"),
        build: () => el("ul", "props", entries.map(([name, property]) => propertyRow({ name }, property, required.has(name), depth, seen))),
      };
    }
    const inner = types(schema).real.includes("array") ? schema.items : mapValues(schema);
    if (!inner) return null;
    const { schema: flat, names } = flatten(inner);
    if (names.some((name) => seen.has(name))) return null;
    return children(flat, depth, new Set([...seen, ...names]));
  }

  /** `<details>` whose content is built the first time it opens (open now above OPEN_DEPTH). */
  function collapsible(nested, depth) {
    const details = el("details", "nested", el("summary", null, nested.summary));
    let built = false;
    const build = () => { if (!built) { built = true; details.append(nested.build()); } };
    details.addEventListener("toggle", () => details.open && build());
    if (depth < OPEN_DEPTH) { build(); details.open = true; }
    return details;
  }

  /** One row of a schema tree: a property (`{name}`) or a variant (`{label}`), then its children. */
  function propertyRow({ name, label }, input, required, depth, seen) {
    const { schema, names, name: known } = flatten(input);
    const recursive = names.some((n) => seen.has(n));
    const line = el("div", "line",
      name !== undefined ? el("code", "name", name) : el("span", "variant", label),
      el("span", "type", typeLabel(schema, known)),
      required && el("span", "req", "required"),
      constraints(schema),
      recursive && chip("recursive: as above"));
    const row = el("li", "prop", line);
    if (schema.description) row.append(markdown(schema.description));
    const nested = !recursive && children(schema, depth + 1, new Set([...seen, ...names]));
    if (nested) row.append(collapsible(nested, depth + 1));
    return row;
  }

  /** A whole schema (a body): its type and description, then its tree, open at the top. */
  function schemaBlock(input) {
    const { schema, names, name } = flatten(input);
    const block = el("div", "schema", el("div", "schema-head", el("span", "type", typeLabel(schema, name)), constraints(schema)));
    if (schema.description) block.append(markdown(schema.description, "md muted"));
    const nested = children(schema, 0, new Set(names));
    if (nested) block.append(nested.build());
    return block;
  }

  // ---------------------------------------------------------------------------------------------
  // Examples

  /** A plausible value of a schema, for the `curl` line: examples and defaults first, then the
   * required properties (or up to three plain ones when none is required). */
  function example(input, seen = new Set(), depth = 0) {
    const { schema, names } = flatten(input);
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    if (schema.const !== undefined) return schema.const;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum?.length) return schema.enum[0];
    if (depth > 6 || names.some((name) => seen.has(name))) return null;
    const inner = new Set([...seen, ...names]);
    const variants = schema.oneOf || schema.anyOf;
    if (variants) return example(variants.find((variant) => !isNull(variant)) ?? {}, inner, depth + 1);
    const type = types(schema).real[0];
    if (type === "object") {
      const properties = schema.properties || {};
      let keys = Object.keys(properties).filter((key) => (schema.required || []).includes(key));
      if (!keys.length) keys = Object.keys(properties).filter((key) => isPlain(properties[key])).slice(0, 3);
      return Object.fromEntries(keys.map((key) => [key, example(properties[key], inner, depth + 1)]));
    }
    if (type === "array") return schema.items ? [example(schema.items, inner, depth + 1)] : [];
    if (type === "string") return FORMAT_EXAMPLES[schema.format] ?? "string";
    if (type === "integer" || type === "number") return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? Infinity);
    if (type === "boolean") return true;
    return null;
  }

  /** A property worth showing in an example of an object that requires none: a plain value. */
  function isPlain(input) {
    const { schema } = flatten(input);
    const { real, nullable } = types(schema);
    return !nullable && schema.default === undefined && real.length === 1 && ["string", "integer", "number", "boolean"].includes(real[0]);
  }

  const shellQuote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;

  /** The environment variable holding the key an operation's examples use, or null without one. */
  function keyVariable(requirements) {
    const bearer = requirements.find((requirement) => Object.keys(requirement).length);
    if (!bearer) return null;
    const scopes = Object.values(bearer).flat();
    return !scopes.length || scopes.some((scope) => SEARCH_KEY_SCOPES.includes(scope)) ? "VITRINE_SEARCH_KEY" : "VITRINE_ADMIN_KEY";
  }

  function curlLine(method, path, operation, parameters, requirements) {
    const value = (parameter) => parameter.example ?? example(parameter.schema);
    const query = parameters.filter((p) => p.in === "query" && p.required)
      .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(typeof value(p) === "string" ? value(p) : json(value(p)))}`);
    const url = `${location.origin}${path}${query.length ? `?${query.join("&")}` : ""}`;
    const lines = [`curl${method === "get" ? "" : ` -X ${method.toUpperCase()}`} ${shellQuote(url)}`];
    const key = keyVariable(requirements);
    if (key) lines.push(`-H "Authorization: Bearer $${key}"`);
    for (const header of parameters.filter((p) => p.in === "header" && p.required)) lines.push(`-H ${shellQuote(`${header.name}: ${value(header)}`)}`);
    const content = resolve(operation.requestBody)?.content;
    if (content) {
      const type = content["application/json"] ? "application/json" : Object.keys(content)[0];
      if (type) {
        lines.push(`-H ${shellQuote(`Content-Type: ${type}`)}`);
        if (/json$/.test(type)) lines.push(`-d ${shellQuote(json(example(content[type].schema) ?? {}))}`);
        else lines.push(`--data-binary @body.${type.split("/").pop().replace(/^x-/, "")}`);
      }
    }
    return lines.join(" \\\n  ");
  }

  // ---------------------------------------------------------------------------------------------
  // Operations

  /** A parameter, body or response with its `$ref` followed (the keywords beside it kept). */
  function resolve(node) {
    if (!node?.$ref) return node;
    const { $ref, ...siblings } = node;
    const target = lookup($ref);
    return { ...(isObject(target) ? target : { unresolved: $ref }), shared: refName($ref), local: siblings };
  }

  const requirementsOf = (operation) => operation.security ?? spec.security ?? [];

  function credential(requirements) {
    if (!requirements.length || requirements.some((requirement) => !Object.keys(requirement).length)) {
      return el("p", "credential open", requirements.length ? "A key is optional." : "No key: open to anyone.");
    }
    const ways = requirements.map((requirement) => {
      const scopes = Object.values(requirement).flat();
      return scopes.length ? ["a key with ", scopes.flatMap((scope, i) => [i ? " and " : "", el("code", null, scope)])] : ["any key"];
    });
    const key = keyVariable(requirements);
    const hint = key === "VITRINE_SEARCH_KEY" ? " (the public search key will do)" : " (the admin key, or a key made to allow it)";
    return el("p", "credential", "Needs ", ways.flatMap((way, i) => [i ? " or " : "", way]), el("span", "muted", hint));
  }

  function parameterTable(parameters) {
    const rows = parameters.map((parameter) => {
      const { schema, name } = flatten(parameter.schema);
      return el("tr", null,
        el("td", "name", el("code", null, parameter.name), parameter.required && [" ", el("span", "req", "required")]),
        el("td", "muted", parameter.in),
        el("td", null, el("span", "type", typeLabel(schema, name)), " ", constraints(schema)),
        el("td", null, markdown(parameter.description ?? schema.description ?? "")));
    });
    const head = el("thead", null, el("tr", null, ["Name", "In", "Type", "Description"].map((title) => el("th", null, title))));
    return el("div", "table-wrap", el("table", "params", head, el("tbody", null, rows)));
  }

  /** A body's content: per media type, its schema tree (or just its type when that is all). */
  const contentBlocks = (content) =>
    Object.entries(content || {}).map(([type, media]) => [el("div", "media", type), media.schema ? schemaBlock(media.schema) : null]);

  function requestBody(body) {
    const section = el("section", "request", el("h4", null, "Request body", body.required ? "" : " (optional)"));
    if (body.description) section.append(markdown(body.description));
    section.append(...contentBlocks(body.content).flat().filter(Boolean));
    return section;
  }

  /** One response: a shared error answer as status, reason and codes (those this operation names
   * highlighted); any other with its description, headers and body. */
  function response(status, input) {
    const answer = resolve(input) || {};
    const tier = `s${String(status)[0]}`;
    const line = el("div", "line", el("span", `status ${tier}`, status));
    const reason = !answer.shared && REASONS[status];
    if (reason) line.append(el("strong", null, reason));
    const row = el("div", "response", line);
    row.dataset.status = status;
    const shared = answer.shared && String(answer.description || "").match(/^\s*(\d{3})\s+([^:]+):\s*([\s\S]*)$/);
    if (shared) {
      const codes = [...shared[3].matchAll(/`([^`]+)`/g)].map((match) => match[1]);
      const note = answer.local?.description;
      const here = new Set([...String(note || "").matchAll(/`([^`]+)`/g)].map((match) => match[1]));
      line.append(el("strong", null, shared[2]));
      if (note) line.append(markdown(note));
      row.append(el("div", "codes", codes.map((code) => {
        const c = codeChip(code);
        c.classList.add("code");
        c.classList.toggle("here", here.has(code));
        return c;
      })));
    } else {
      line.append(markdown(answer.local?.description || answer.description || ""));
      if (answer.unresolved) line.append(chip("unresolved reference ", el("code", null, answer.unresolved)));
      if (!answer.content || !Object.keys(answer.content).length) line.append(el("span", "muted", "No body."));
    }
    const headers = Object.entries(answer.headers || {});
    if (headers.length) {
      row.append(el("div", "muted", "Headers: ", headers.flatMap(([name, header], i) => [i ? "; " : "", el("code", null, name), " ", resolve(header).description ?? ""])));
    }
    if (!shared) row.append(...contentBlocks(answer.content).flat().filter(Boolean));
    return row;
  }

  /** The summary without the `METHOD /path` it often starts with (the heading says it). */
  function cleanSummary(summary, method, path) {
    const prefix = `\`${method.toUpperCase()} ${path}\``;
    let text = String(summary || "").trim();
    if (!text.startsWith(prefix)) return text;
    text = text.slice(prefix.length).replace(/^\s*(\([^)]*\))?\s*[:.]?\s*/, "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function operationArticle(op) {
    const { method, path, operation } = op;
    const requirements = requirementsOf(operation);
    const article = el("article", "panel op",
      el("header", "op-head", methodBadge(method), pathNode(path), operation.deprecated && chip("deprecated"),
        el("a", "anchor", "#")));
    article.id = op.id;
    article.dataset.method = method;
    const anchor = $(".anchor", article);
    anchor.href = `#${op.id}`;
    anchor.setAttribute("aria-label", `Link to ${method.toUpperCase()} ${path}`);
    const summary = cleanSummary(operation.summary, method, path);
    if (summary) article.append(markdown(summary, "md summary"));
    if (operation.description) article.append(markdown(operation.description, "md summary"));
    article.append(credential(requirements));

    const copy = el("button", null, "Copy");
    const example = el("div", "example", el("pre", null, el("code", null, curlLine(method, path, operation, op.parameters, requirements))), copy);
    copy.type = "button";
    copy.setAttribute("aria-label", "Copy the curl example");
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText($("code", example).textContent); copy.textContent = "Copied"; } catch { copy.textContent = "Select it"; }
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    });
    article.append(example);

    if (op.parameters.length) article.append(el("section", "parameters", el("h4", null, "Parameters"), parameterTable(op.parameters)));
    const body = resolve(operation.requestBody);
    if (body) article.append(requestBody(body));
    const statuses = Object.keys(operation.responses || {}).sort((a, b) => (a === "default") - (b === "default") || a.localeCompare(b));
    const responses = statuses.map((status) => response(status, operation.responses[status]));
    const errors = responses.some((row) => $(".codes", row));
    article.append(el("section", "responses", el("h4", null, "Responses"), responses,
      errors && el("p", "muted", "Error answers carry the ", Object.assign(el("a", null, "Error"), { href: "#errors" }), " body: ", el("code", null, "{message, code, type}"), ".")));
    return article;
  }

  /** Every operation of the document, in its order: method, path, tag, parameters (the path
   * item's and the operation's, resolved). */
  function operations() {
    const list = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const merged = new Map();
        for (const parameter of [...(item.parameters || []), ...(operation.parameters || [])].map(resolve)) merged.set(`${parameter.in}:${parameter.name}`, parameter);
        const tag = operation.tags?.[0] || "other";
        const text = [method, path, operation.summary, operation.operationId, tag].join(" ").toLowerCase();
        list.push({ id: `${method}-${path}`, method, path, operation, tag, text, parameters: [...merged.values()] });
      }
    }
    return list;
  }

  // ---------------------------------------------------------------------------------------------
  // The page

  function overview() {
    const info = spec.info || {};
    const section = el("section", "panel", el("h2", null, info.title || "API reference"));
    section.id = "overview";
    if (info.description) section.append(markdown(info.description));
    const facts = [`OpenAPI ${spec.openapi || "?"}`, info.version && `version ${info.version}`, info.license?.name && `${info.license.name} licence`].filter(Boolean);
    section.append(el("p", "muted", facts.join(" · ")));
    const schemes = Object.entries(spec.components?.securitySchemes || {});
    if (schemes.length) {
      section.append(el("h3", null, "Keys"));
      for (const [name, scheme] of schemes) {
        section.append(el("p", null, el("code", null, name), " — ", scheme.type === "http" ? `Authorization: ${scheme.scheme} <credential>` : scheme.type));
        if (scheme.description) section.append(markdown(scheme.description));
      }
    }
    const shared = Object.values(spec.components?.responses || {}).map((answer) => answer.content?.["application/json"]?.schema).find(Boolean);
    if (shared) {
      const errors = el("div", null, el("h3", null, "Errors"), el("p", "muted", "Every error status an operation lists answers with this body; each status lists the codes it carries."), schemaBlock(shared));
      errors.id = "errors";
      section.append(errors);
    }
    return section;
  }

  function render() {
    const info = spec.info || {};
    document.title = `${info.title || "API"} reference`;
    $("#title").textContent = `${info.title || "API"} reference`;
    if (info.version) Object.assign($("#version"), { textContent: `v${info.version}`, hidden: false });

    const ops = operations();
    const tagOrder = [...(spec.tags || []).map((tag) => tag.name), ...ops.map((op) => op.tag)].filter((tag, i, all) => all.indexOf(tag) === i);
    const tagInfo = Object.fromEntries((spec.tags || []).map((tag) => [tag.name, tag]));
    const main = $("#reference");
    const toc = $("#toc");
    main.replaceChildren(overview());
    toc.replaceChildren(el("ul", "toc-overview", el("li", null, Object.assign(el("a", null, "Overview"), { href: "#overview" }))));
    for (const tag of tagOrder) {
      const tagged = ops.filter((op) => op.tag === tag);
      if (!tagged.length) continue;
      const group = el("section", "tag", el("h2", "tag-head", tag));
      group.id = `tag-${tag}`;
      group.dataset.tag = tag;
      if (tagInfo[tag]?.description) group.append(markdown(tagInfo[tag].description));
      const links = el("ul");
      for (const op of tagged) {
        op.article = operationArticle(op);
        group.append(op.article);
        const link = el("a", null, methodBadge(op.method), pathNode(op.path, "span"));
        link.href = `#${op.id}`;
        link.dataset.op = op.id;
        op.link = el("li", null, link);
        links.append(op.link);
      }
      main.append(group);
      toc.append(el("div", "toc-tag", el("h3", null, tag), links));
    }
    const empty = el("p", "muted empty", "No operation matches the filter.");
    empty.hidden = true;
    main.append(empty);
    setupFilter(ops);
    main.dataset.state = "ready";
    main.removeAttribute("aria-busy");
    if (location.hash.length > 1) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }

  /** The sidebar's filter: every word must appear in the method, path, summary, id or tag; the
   * operations it leaves are the ones shown, in the sidebar and in the reference. */
  function setupFilter(ops) {
    const input = $("#filter");
    const count = $("#op-count");
    count.dataset.total = ops.length;
    const apply = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const op of ops) {
        const match = words.every((word) => op.text.includes(word));
        op.link.hidden = op.article.hidden = !match;
        shown += match;
      }
      for (const group of $$("#toc .toc-tag")) group.hidden = !$$("li:not([hidden])", group).length;
      for (const group of $$("#reference section.tag")) group.hidden = !$$(":scope > article:not([hidden])", group).length;
      $("#overview").hidden = $("#toc .toc-overview").hidden = words.length > 0;
      $("#reference .empty").hidden = shown > 0;
      count.dataset.shown = shown;
      count.textContent = words.length ? `${shown} of ${plural(ops.length, "operation")}` : plural(ops.length, "operation");
    };
    input.addEventListener("input", () => { apply(); window.scrollTo(0, 0); });
    input.addEventListener("keydown", (event) => { if (event.key === "Escape") { input.value = ""; apply(); } });
    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && document.activeElement !== input && !/^(INPUT|TEXTAREA)$/.test(document.activeElement?.tagName)) { event.preventDefault(); input.focus(); }
    });
    apply();
  }

  async function start() {
    const main = $("#reference");
    try {
      const answer = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
      if (!answer.ok) throw new Error(`GET /openapi.json answered HTTP ${answer.status}`);
      spec = await answer.json();
      render();
    } catch (error) {
      main.replaceChildren(el("p", "error", `The API document could not be shown: ${error.message}`));
      main.firstChild.setAttribute("role", "alert");
      main.dataset.state = "error";
      main.removeAttribute("aria-busy");
    }
  }

  start();
})();
