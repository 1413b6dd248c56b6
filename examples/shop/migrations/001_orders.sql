CREATE TABLE orders (
  id          serial PRIMARY KEY,
  sku         text NOT NULL,
  qty         integer NOT NULL CHECK (qty > 0),
  status      text NOT NULL,
  unit_cents  bigint NOT NULL,  -- as the pricing service quoted it
  total_cents bigint NOT NULL
);
-- Order ids start at 1001, so they never look like quantities.
ALTER SEQUENCE orders_id_seq RESTART WITH 1001;
