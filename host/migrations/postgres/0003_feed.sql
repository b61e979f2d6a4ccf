-- Version 3: the change feed. Instances serving one store together (`serve --shared`) keep
-- their own picture in memory and learn every other instance's changes from here. The
-- triggers write a row for every change of stock (what it did to on hand, reserved and safety
-- stock: exact deltas, whatever the statement), of the catalog, of policy versions, bindings
-- and orders, tagged with the instance that made it (`switchyard.origin`, set by each of its
-- transactions). A transaction without an origin (one instance serving alone) writes nothing
-- here. Readers follow it by snapshot (`xid`): each read returns the rows of the transactions
-- that committed since the reader's last snapshot, so none is missed or read twice, however
-- the transactions interleave.
-- An order's revision (`OrderRecord::revision`): a write of an order is of the revision after
-- the stored one, so two instances changing one order at once cannot both succeed.
ALTER TABLE orders ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- When an order's reservation lapses (reserved) or it comes due (scheduled), in seconds since
-- the epoch.
ALTER TABLE orders ADD COLUMN due BIGINT;
-- RFC 3339 time `field` of a stored JSON body in seconds since the epoch; NULL if the body
-- or the time cannot be read (the start skips such a record).
CREATE FUNCTION switchyard_json_epoch(body TEXT, field TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RETURN EXTRACT(EPOCH FROM ((body::JSONB) ->> field)::TIMESTAMPTZ)::BIGINT;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
UPDATE orders SET due = switchyard_json_epoch(body, 'expires_at') WHERE status = 'reserved';
UPDATE orders SET due = switchyard_json_epoch(body, 'due_at') WHERE status = 'scheduled';
DROP FUNCTION switchyard_json_epoch(TEXT, TEXT);
-- The instance that runs expiry and scheduled orders finds what is due here (instances
-- serving together), whichever instance placed it.
CREATE INDEX orders_due ON orders (status, due) WHERE due IS NOT NULL;

CREATE TABLE feed (
    seq BIGSERIAL PRIMARY KEY,
    xid XID8 NOT NULL DEFAULT pg_current_xact_id(),
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    location TEXT,
    on_hand BIGINT,
    reserved BIGINT,
    safety_stock BIGINT,
    revision BIGINT,
    day BIGINT,
    shipments BIGINT
);
CREATE INDEX feed_xid ON feed (xid);
-- Shipments counted against the daily capacity of locations that have one, per location and
-- (local) day, kept by every commit that changes an order's shipments (`Change::Shipments`)
-- and refused past the capacity, as `stock.reserved` is past on hand. Counted here from the
-- orders memory keeps, as a start counts them.
CREATE TABLE shipment_counts (
    location TEXT NOT NULL,
    day BIGINT NOT NULL,
    shipments BIGINT NOT NULL,
    PRIMARY KEY (location, day)
);
INSERT INTO shipment_counts (location, day, shipments)
SELECT shipment ->> 'location', switchyard_json_integer(shipment, 'day'), COUNT(*)
FROM orders, switchyard_json_elements(orders.body, 'held_shipments') AS shipment
WHERE orders.keep_until > EXTRACT(EPOCH FROM now()) AND jsonb_typeof(shipment -> 'capacity') = 'number'
  AND shipment ->> 'location' IS NOT NULL AND switchyard_json_integer(shipment, 'day') IS NOT NULL
GROUP BY 1, 2;
-- (Migration 2's readers, done with.)
DROP FUNCTION switchyard_json_elements(TEXT, TEXT);
DROP FUNCTION switchyard_json_integer(JSONB, TEXT);

-- Each instance serving together takes a number at start: the ids it makes (webhook events
-- and deliveries, inbound records) are its own range.
CREATE SEQUENCE instance_numbers;

CREATE FUNCTION feed_origin() RETURNS TEXT LANGUAGE sql STABLE SET search_path FROM CURRENT
AS $$ SELECT NULLIF(current_setting('switchyard.origin', true), '') $$;

CREATE FUNCTION feed_stock_inserted() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, location, on_hand, reserved, safety_stock)
        SELECT feed_origin(), 'stock', sku, location, on_hand, reserved, safety_stock FROM new_rows;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION feed_stock_updated() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, location, on_hand, reserved, safety_stock)
        SELECT feed_origin(), 'stock', n.sku, n.location, n.on_hand - o.on_hand, n.reserved - o.reserved,
               n.safety_stock - o.safety_stock
        FROM new_rows n JOIN old_rows o USING (sku, location)
        WHERE n.on_hand <> o.on_hand OR n.reserved <> o.reserved OR n.safety_stock <> o.safety_stock;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stock_inserted AFTER INSERT ON stock REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_stock_inserted();
CREATE TRIGGER stock_updated AFTER UPDATE ON stock REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_stock_updated();

CREATE FUNCTION feed_shipments_inserted() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, day, shipments)
        SELECT feed_origin(), 'shipments', location, day, shipments FROM new_rows;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION feed_shipments_updated() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, day, shipments)
        SELECT feed_origin(), 'shipments', n.location, n.day, n.shipments - o.shipments
        FROM new_rows n JOIN old_rows o USING (location, day)
        WHERE n.shipments <> o.shipments;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER shipment_counts_inserted AFTER INSERT ON shipment_counts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_shipments_inserted();
CREATE TRIGGER shipment_counts_updated AFTER UPDATE ON shipment_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_shipments_updated();

-- (Each function keeps the search path it was created with, the store's schema: a change
-- made with another one, an operator's `UPDATE myschema.orders` in psql, still finds `feed`.)

-- Other tables: which row changed (the reader reads it). TG_ARGV[0] names the key column.
CREATE FUNCTION feed_rows() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        EXECUTE format('INSERT INTO feed (origin, kind, key) SELECT $1, $2, %I FROM new_rows', TG_ARGV[0])
            USING feed_origin(), TG_TABLE_NAME;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER locations_inserted AFTER INSERT ON locations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER locations_updated AFTER UPDATE ON locations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER products_inserted AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('sku');
CREATE TRIGGER products_updated AFTER UPDATE ON products REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('sku');
CREATE TRIGGER policy_versions_inserted AFTER INSERT ON policy_versions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('version');
CREATE TRIGGER bindings_inserted AFTER INSERT ON bindings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('grp');
-- Deleted rows (deliveries done with, a subscription removed): which row went.
CREATE FUNCTION feed_rows_deleted() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        EXECUTE format('INSERT INTO feed (origin, kind, key) SELECT $1, $2, %I FROM old_rows', TG_ARGV[0])
            USING feed_origin(), TG_TABLE_NAME;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER webhooks_inserted AFTER INSERT ON webhooks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER webhooks_updated AFTER UPDATE ON webhooks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER webhooks_deleted AFTER DELETE ON webhooks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows_deleted('id');
CREATE TRIGGER webhook_events_inserted AFTER INSERT ON webhook_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER webhook_events_deleted AFTER DELETE ON webhook_events REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows_deleted('id');
CREATE TRIGGER webhook_deliveries_inserted AFTER INSERT ON webhook_deliveries REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER webhook_deliveries_updated AFTER UPDATE ON webhook_deliveries REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER webhook_deliveries_deleted AFTER DELETE ON webhook_deliveries REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows_deleted('id');
CREATE TRIGGER recurring_orders_inserted AFTER INSERT ON recurring_orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER recurring_orders_updated AFTER UPDATE ON recurring_orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');

-- Orders: with their revision (an instance reads only an order it keeps an older copy of).
CREATE FUNCTION feed_orders() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, revision)
        SELECT feed_origin(), 'orders', id, revision FROM new_rows;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_inserted AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_orders();
CREATE TRIGGER orders_updated AFTER UPDATE ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_orders();
