-- Version 2: the database keeps its own count of the units reserved at each position, kept by
-- every commit that changes what an order holds (`Change::Reserve`), and refuses a commit that
-- would reserve more than on hand - reserved - safety stock, whatever the instance's memory
-- believed. Counted here from the stored orders as a restart counts them: the held units of
-- the orders whose status holds stock.
ALTER TABLE stock ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;

-- The elements of array `field` of a stored JSON body, none if the body is not JSON or the
-- field no array: a record a start cannot read back (hand-edited, damaged) is skipped there,
-- and counts for nothing here. (Also used by migration 3, which drops them.)
CREATE FUNCTION switchyard_json_elements(body TEXT, field TEXT) RETURNS SETOF JSONB LANGUAGE plpgsql AS $$
DECLARE
    parsed JSONB;
BEGIN
    BEGIN
        parsed := body::JSONB;
    EXCEPTION WHEN others THEN
        RETURN;
    END;
    IF jsonb_typeof(parsed -> field) = 'array' THEN
        RETURN QUERY SELECT jsonb_array_elements(parsed -> field);
    END IF;
END $$;

-- Number `field` of a JSON object as a BIGINT; NULL if it is not a whole number.
CREATE FUNCTION switchyard_json_integer(object JSONB, field TEXT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(object -> field) = 'number' AND (object ->> field) ~ '^[0-9]{1,18}$'
                THEN (object ->> field)::BIGINT END
$$;

UPDATE stock SET reserved = held.qty
FROM (
    SELECT unit ->> 'sku' AS sku, unit ->> 'location' AS location,
           SUM(COALESCE(switchyard_json_integer(unit, 'qty'), 0)) AS qty
    FROM orders, switchyard_json_elements(orders.body, 'held_units') AS unit
    WHERE orders.status IN ('reserved', 'confirmed', 'partially_shipped')
    GROUP BY 1, 2
) AS held
WHERE stock.sku = held.sku AND stock.location = held.location;
