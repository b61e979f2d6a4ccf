-- Version 2: the database keeps its own count of the units reserved at each position, kept by
-- every commit that changes what an order holds (`Change::Reserve`), and refuses a commit that
-- would reserve more than on hand - reserved - safety stock, whatever the instance's memory
-- believed. Counted here from the stored orders as a restart counts them: the held units of
-- the orders whose status holds stock.
ALTER TABLE stock ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;
UPDATE stock SET reserved = held.qty
FROM (
    SELECT unit ->> 'sku' AS sku, unit ->> 'location' AS location, SUM((unit ->> 'qty')::BIGINT) AS qty
    FROM orders, jsonb_array_elements(orders.body::jsonb -> 'held_units') AS unit
    WHERE orders.status IN ('reserved', 'confirmed', 'partially_shipped')
    GROUP BY 1, 2
) AS held
WHERE stock.sku = held.sku AND stock.location = held.location;
