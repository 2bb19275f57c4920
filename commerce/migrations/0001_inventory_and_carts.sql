-- Commerce schema, part 1: sellable SKUs, inventory holds, carts and the outbox.
-- Portable SQL, applied unchanged to SQLite and PostgreSQL: text ids, BIGINT amounts (money in
-- minor units, times in milliseconds since the Unix epoch), no autoincrement, partial indexes.

CREATE TABLE skus (
    product_id TEXT PRIMARY KEY,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    currency TEXT NOT NULL,
    on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
    -- Units under active holds; available = on_hand - reserved.
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    -- Incremented on every change: the version of the product events it publishes.
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    checkout_id TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES skus (product_id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    expires_at BIGINT NOT NULL
);
CREATE INDEX holds_by_checkout ON holds (checkout_id);
CREATE INDEX holds_by_expiry ON holds (expires_at);

CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    -- The secret a guest presents to use the cart.
    token TEXT NOT NULL,
    user_id TEXT,
    -- open | merged | ordered
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One open cart per signed-in shopper.
CREATE UNIQUE INDEX carts_one_open_per_user ON carts (user_id) WHERE status = 'open' AND user_id IS NOT NULL;

CREATE TABLE cart_lines (
    cart_id TEXT NOT NULL REFERENCES carts (id),
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (cart_id, product_id)
);

-- Events written in the same transaction as the change they describe; a relay publishes them.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    message_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
