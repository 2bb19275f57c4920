-- Commerce schema, part 2: checkouts (the saga's persisted state), payments as we know them,
-- orders as appended events, order numbers, idempotency keys.

CREATE TABLE checkouts (
    id TEXT PRIMARY KEY,
    cart_id TEXT NOT NULL REFERENCES carts (id),
    user_id TEXT,
    -- cart_validated | inventory_reserved | payment_authorized | order_created | confirmation_sent
    -- | failed | compensated
    state TEXT NOT NULL,
    -- The priced lines and totals the checkout charges (JSON), read from commerce's own tables.
    pricing TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    card_last4 TEXT NOT NULL,
    shipping_address TEXT NOT NULL,
    authorization_id TEXT,
    order_id TEXT,
    -- Why it failed: a stable code.
    failure TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one checkout in flight per cart.
CREATE UNIQUE INDEX checkouts_one_live_per_cart ON checkouts (cart_id)
    WHERE state IN ('cart_validated', 'inventory_reserved', 'payment_authorized', 'order_created', 'confirmation_sent');

-- Every transition of every checkout, in order.
CREATE TABLE checkout_transitions (
    checkout_id TEXT NOT NULL REFERENCES checkouts (id),
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (checkout_id, seq)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    -- Human-readable: VT-001001.
    number TEXT NOT NULL UNIQUE,
    checkout_id TEXT NOT NULL UNIQUE REFERENCES checkouts (id),
    user_id TEXT,
    currency TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    authorization_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- An order's history; its current state is derived from these.
CREATE TABLE order_events (
    order_id TEXT NOT NULL REFERENCES orders (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('order_number', 1000);

-- Stripe's semantics: the first response is stored and replayed for the same key.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- in_flight | done
    state TEXT NOT NULL,
    status BIGINT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
