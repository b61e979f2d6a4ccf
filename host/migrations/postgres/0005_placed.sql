-- Version 5: orders are listed by when they were placed (their first event; 0 when a body
-- does not say), newest first, by status or not (`GET /v1/orders`).
ALTER TABLE orders ADD COLUMN placed BIGINT NOT NULL DEFAULT 0;

-- The time of a stored order's first event in seconds since the epoch; 0 if the body or the
-- time cannot be read.
CREATE FUNCTION switchyard_json_placed(body TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RETURN COALESCE(EXTRACT(EPOCH FROM ((body::JSONB -> 'history' -> 0 ->> 'at')::TIMESTAMPTZ))::BIGINT, 0);
EXCEPTION WHEN others THEN
    RETURN 0;
END $$;
-- (Not a change another instance needs to hear of: the feed's trigger stays out of it.)
ALTER TABLE orders DISABLE TRIGGER orders_updated;
UPDATE orders SET placed = switchyard_json_placed(body);
ALTER TABLE orders ENABLE TRIGGER orders_updated;
DROP FUNCTION switchyard_json_placed(TEXT);

CREATE INDEX orders_placed ON orders (placed, id);
CREATE INDEX orders_status_placed ON orders (status, placed, id);
