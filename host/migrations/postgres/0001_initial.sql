-- switchyard's PostgreSQL store, version 1: the tables of the SQLite store's version 2, with
-- a `seq` column where SQLite orders by rowid (the first-insert order the service rebuilds
-- its dense indexes in). A migration that has shipped is never edited: a change of schema is
-- a new file with the next number.
CREATE TABLE locations (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE products (seq BIGSERIAL NOT NULL, sku TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE stock (
    seq BIGSERIAL NOT NULL,
    sku TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand BIGINT NOT NULL,
    safety_stock BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
);
CREATE TABLE orders (
    seq BIGSERIAL NOT NULL,
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Until when (seconds since the epoch) the service keeps the order in memory; the largest
    -- BIGINT while it is open. A start reads only the orders with a later one.
    keep_until BIGINT NOT NULL
);
CREATE INDEX orders_keep_until ON orders (keep_until);
CREATE TABLE policy_versions (
    seq BIGSERIAL NOT NULL,
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    source BYTEA NOT NULL,
    meta TEXT NOT NULL
);
CREATE TABLE bindings (
    seq BIGSERIAL PRIMARY KEY,
    grp TEXT NOT NULL,
    version TEXT NOT NULL,
    fallback TEXT,
    at TEXT NOT NULL
);
CREATE TABLE webhooks (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE webhook_deliveries (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE webhook_events (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE atp_changes (seq BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE recurring_orders (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE inbound (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, body TEXT NOT NULL);
-- The serving instance's fencing token: an instance that takes the store over (holding its
-- advisory lock) adds one before reading it back, and every batch of writes checks, in its
-- own transaction, that the number is still the one its instance took. An instance that lost
-- the store (its lock's connection dropped and another took over) can write nothing more.
CREATE TABLE lease (id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL);
INSERT INTO lease (id, epoch) VALUES (1, 0);
