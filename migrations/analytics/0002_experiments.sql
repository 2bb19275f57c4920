-- Online experiments (docs/experiments.md): their definitions, which shopper saw which variant
-- of each search or recommendation list, and the orders the revenue metric counts.
-- Times are Unix epoch milliseconds (UTC).

CREATE TABLE experiments (
    -- A UUIDv7.
    id           TEXT PRIMARY KEY NOT NULL,
    index_name   TEXT NOT NULL,
    -- `search`, or a recommendation kind (`similar`, `bought_together`, `for_user`, `cart`, `trending`).
    surface      TEXT NOT NULL,
    -- The definition as created (name, kind, variants, primary metric, alpha), JSON.
    definition   TEXT NOT NULL,
    -- `running` or `stopped`.
    status       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    stopped_at_ms INTEGER,
    -- The variant published by `promote`, when one was.
    promoted     TEXT,
    -- The scale of each metric's sequential test, fixed at creation from the index's own past
    -- (docs/experiments.md), JSON.
    priors       TEXT NOT NULL
);

-- At most one running experiment per index and surface, kept by the database itself.
CREATE UNIQUE INDEX experiments_running ON experiments (index_name, surface) WHERE status = 'running';

CREATE TABLE exposures (
    -- The answer's `query_id`: events point back to it.
    query_id      TEXT PRIMARY KEY NOT NULL,
    experiment_id TEXT NOT NULL,
    -- The variant served (A/B), or `interleaved`.
    variant       TEXT NOT NULL,
    -- Who: `user:ID` or `session:ID`.
    identity      TEXT NOT NULL,
    -- Interleaving only: the product ids each variant contributed, JSON `[[ids of the first], [ids of the second]]`.
    credits       TEXT,
    at_ms         INTEGER NOT NULL
);

CREATE INDEX exposures_by_experiment ON exposures (experiment_id, at_ms);

-- Orders placed through the storefront's checkout, for revenue per search.
CREATE TABLE orders (
    order_id    TEXT PRIMARY KEY NOT NULL,
    index_name  TEXT NOT NULL,
    -- `user:ID` or `session:ID`, as exposures name shoppers.
    identity    TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    at_ms       INTEGER NOT NULL
);

CREATE INDEX orders_by_identity ON orders (index_name, identity, at_ms);
