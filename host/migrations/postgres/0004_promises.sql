-- Version 4: backorders and preorders, as the database counts them, the ATP feed in the
-- change feed, and recurring orders' revisions. Instances serving one
-- store together promise inbound stock to backorders and accept preorders each from its own
-- memory; the database keeps the counts that matter and refuses a commit past them, as it
-- does reservations (migration 2):
-- - `inbound.promised`: the units of an inbound record promised to backorders (kept by every
--   commit that changes an order's backorders, `Change::Promise`), never more than its
--   `qty`, and none once it is `received` (a record received already is written no more: two
--   instances cannot both receive it). The stored body's `allocated` is kept equal to it.
-- - `preorders.units`: per SKU, the units of open orders placed before its release
--   (`Change::Preorder`), never more than its preorder cap.
-- Counted here from the stored records as a start counts them; a body that cannot be read
-- (hand-edited, damaged) counts for nothing, and its inbound record takes no promise.
ALTER TABLE inbound ADD COLUMN qty BIGINT;
ALTER TABLE inbound ADD COLUMN promised BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbound ADD COLUMN received BOOLEAN NOT NULL DEFAULT false;

DO $$
DECLARE
    record RECORD;
    parsed JSONB;
BEGIN
    FOR record IN SELECT id, body FROM inbound LOOP
        BEGIN
            parsed := record.body::JSONB;
            UPDATE inbound
            SET qty = (parsed ->> 'qty')::BIGINT,
                promised = COALESCE((parsed ->> 'allocated')::BIGINT, 0),
                received = COALESCE(jsonb_typeof(parsed -> 'received') = 'number', false)
            WHERE id = record.id;
        EXCEPTION WHEN others THEN
            NULL;
        END;
    END LOOP;
END $$;

CREATE TABLE preorders (sku TEXT PRIMARY KEY, units BIGINT NOT NULL);

-- An open order counts the units of each line whose SKU's release is after the order was
-- placed (its first event). All of an order's lines or none.
DO $$
DECLARE
    record RECORD;
    parsed JSONB;
    line JSONB;
    placed TIMESTAMPTZ;
    released TIMESTAMPTZ;
BEGIN
    FOR record IN
        SELECT body FROM orders
        WHERE status NOT IN ('shipped', 'delivered', 'cancelled', 'expired', 'rejected')
          AND keep_until > EXTRACT(EPOCH FROM now())
    LOOP
        BEGIN
            parsed := record.body::JSONB;
            placed := (parsed -> 'history' -> 0 ->> 'at')::TIMESTAMPTZ;
            FOR line IN SELECT jsonb_array_elements(parsed -> 'request' -> 'lines') LOOP
                SELECT (products.body::JSONB ->> 'release_at')::TIMESTAMPTZ INTO released
                FROM products WHERE products.sku = line ->> 'sku';
                IF released IS NOT NULL AND placed < released THEN
                    INSERT INTO preorders (sku, units) VALUES (line ->> 'sku', (line ->> 'qty')::BIGINT)
                    ON CONFLICT (sku) DO UPDATE SET units = preorders.units + excluded.units;
                END IF;
            END LOOP;
        EXCEPTION WHEN others THEN
            NULL;
        END;
    END LOOP;
END $$;

-- The change feed: for an inbound record, what it did to the units promised and whether it
-- is received; for a SKU's preorders, what it did to their units. (Exact deltas, as for
-- stock: an instance adds them to what its memory counts, its own promises not yet committed
-- included.)
ALTER TABLE feed ADD COLUMN units BIGINT;
ALTER TABLE feed ADD COLUMN received BOOLEAN;

CREATE FUNCTION feed_inbound_inserted() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, units, received)
        SELECT feed_origin(), 'inbound', id, promised, received FROM new_rows;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION feed_inbound_updated() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, units, received)
        SELECT feed_origin(), 'inbound', n.id, n.promised - o.promised, n.received
        FROM new_rows n JOIN old_rows o USING (id);
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER inbound_inserted AFTER INSERT ON inbound REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_inbound_inserted();
CREATE TRIGGER inbound_updated AFTER UPDATE ON inbound REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_inbound_updated();

CREATE FUNCTION feed_preorders_inserted() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, units) SELECT feed_origin(), 'preorders', sku, units FROM new_rows;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION feed_preorders_updated() RETURNS TRIGGER LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF feed_origin() IS NOT NULL THEN
        INSERT INTO feed (origin, kind, key, units)
        SELECT feed_origin(), 'preorders', n.sku, n.units - o.units
        FROM new_rows n JOIN old_rows o USING (sku)
        WHERE n.units <> o.units;
        PERFORM pg_notify('switchyard_feed', current_schema());
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER preorders_inserted AFTER INSERT ON preorders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_preorders_inserted();
CREATE TRIGGER preorders_updated AFTER UPDATE ON preorders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_preorders_updated();

-- The ATP feed's entries (which one was published or pruned): every instance serves the
-- whole feed, and one taking the publishing over numbers on from the last.
CREATE TRIGGER atp_changes_inserted AFTER INSERT ON atp_changes REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('seq');
CREATE TRIGGER atp_changes_deleted AFTER DELETE ON atp_changes REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows_deleted('seq');

-- A recurring order's revision (`RecurringOrder::revision`): written only over the one before,
-- so a stop on one instance and a run on another cannot both succeed.
ALTER TABLE recurring_orders ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
