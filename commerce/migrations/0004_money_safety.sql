-- Commerce schema, part 4: money safety.
--
-- Orders change by compare-and-set: `version` is the sequence number of the order's last event
-- (every change appends event `version + 1` only if the order is still at `version`), and a
-- change that calls the payment provider first claims the order (`pending_action`, the
-- provider idempotency key of that call) so that no other change starts meanwhile.
ALTER TABLE orders ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pending_action TEXT;
ALTER TABLE orders ADD COLUMN pending_since BIGINT;
UPDATE orders SET version = (SELECT COALESCE(MAX(seq), 0) FROM order_events WHERE order_events.order_id = orders.id);
CREATE INDEX orders_pending ON orders (pending_since) WHERE pending_action IS NOT NULL;
CREATE INDEX orders_by_authorization ON orders (authorization_id);

-- Checkouts name the payment method the provider tokenised in the browser (never card data), and
-- may wait for the shopper (3-D Secure: `requires_action`) or for the provider (`payment_pending`).
ALTER TABLE checkouts ADD COLUMN payment_method TEXT;
ALTER TABLE checkouts ADD COLUMN card_brand TEXT;
ALTER TABLE checkouts ADD COLUMN next_action TEXT;
DROP INDEX checkouts_one_live_per_cart;
CREATE UNIQUE INDEX checkouts_one_live_per_cart ON checkouts (cart_id)
    WHERE state IN ('cart_validated', 'inventory_reserved', 'requires_action', 'payment_pending',
                    'payment_authorized', 'order_created', 'confirmation_sent');
CREATE INDEX checkouts_live_by_age ON checkouts (updated_at)
    WHERE state IN ('cart_validated', 'inventory_reserved', 'requires_action', 'payment_pending',
                    'payment_authorized', 'order_created');

-- The payment provider's asynchronous events, each applied once: its id is claimed in the
-- transaction that applies it.
CREATE TABLE payment_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- Earlier fingerprints were unkeyed hashes of whole request bodies, card numbers included: they
-- go (keys live 24 hours anyway).
DELETE FROM idempotency_keys;
CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
CREATE INDEX outbox_sent_by_age ON outbox (sent_at) WHERE sent_at IS NOT NULL;
