-- Version 6: why each order was routed as it was, one row per routing (`RoutingRecord`), read
-- only when asked for (`GET /v1/orders/{id}/explanation`). No other instance needs to hear of
-- a row: it has no trigger into the change feed.
CREATE TABLE explanations (
    order_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, revision)
);
