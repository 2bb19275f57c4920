-- Commerce schema, part 3: coupons with usage limits, and the cart's coupon.

CREATE TABLE coupons (
    code TEXT PRIMARY KEY,
    -- percent | amount
    kind TEXT NOT NULL,
    -- Percent (0-100) or minor units.
    value BIGINT NOT NULL CHECK (value >= 0),
    min_subtotal_cents BIGINT NOT NULL DEFAULT 0,
    max_uses BIGINT NOT NULL CHECK (max_uses >= 0),
    used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    created_at BIGINT NOT NULL
);

-- One redemption per checkout that used a coupon; removed (and the use given back) when the
-- checkout is compensated.
CREATE TABLE coupon_redemptions (
    checkout_id TEXT PRIMARY KEY,
    code TEXT NOT NULL REFERENCES coupons (code),
    at BIGINT NOT NULL
);

ALTER TABLE carts ADD COLUMN coupon_code TEXT;
