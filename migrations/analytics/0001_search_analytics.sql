-- Search analytics: every search answered, and what shoppers did afterwards.
-- Times are Unix epoch milliseconds (UTC). Queries are stored normalized: lower-case, words
-- separated by one space, no space at either end, so "Red  Mug" and "red mug" count together.

CREATE TABLE searches (
    -- The `query_id` the search answered with (a UUIDv7), which events point back to.
    query_id     TEXT PRIMARY KEY NOT NULL,
    index_name   TEXT NOT NULL,
    query        TEXT NOT NULL,
    -- The request's `filter` object as JSON text, or NULL when it had none.
    filters      TEXT,
    result_count INTEGER NOT NULL,
    latency_ms   REAL NOT NULL,
    user_id      TEXT,
    at_ms        INTEGER NOT NULL
);

-- Reports over a time window.
CREATE INDEX searches_by_time ON searches (index_name, at_ms);
-- Grouping by query, and query suggestions by prefix; `result_count` makes it covering for the
-- suggestions, which only want queries that had results.
CREATE INDEX searches_by_query ON searches (index_name, query, result_count);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    index_name TEXT NOT NULL,
    -- view, click, add_to_cart or purchase
    kind       TEXT NOT NULL,
    product_id TEXT NOT NULL,
    -- The search the event followed, when the storefront knows it.
    query_id   TEXT,
    user_id    TEXT,
    session_id TEXT,
    -- The product's 1-based position in the results it was clicked from.
    position   INTEGER,
    at_ms      INTEGER NOT NULL
);

CREATE INDEX events_by_time ON events (index_name, at_ms);
CREATE INDEX events_by_query ON events (query_id);
