-- Version 7: carrier services (delivery promises): each a JSON body (`CarrierServiceRecord`),
-- followed by every instance serving the store like webhook subscriptions are.
CREATE TABLE carrier_services (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TRIGGER carrier_services_inserted AFTER INSERT ON carrier_services REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER carrier_services_updated AFTER UPDATE ON carrier_services REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows('id');
CREATE TRIGGER carrier_services_deleted AFTER DELETE ON carrier_services REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feed_rows_deleted('id');
