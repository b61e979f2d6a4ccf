-- A binding's plugin parameter values (JSON; NULL: none).
ALTER TABLE bindings ADD COLUMN parameters TEXT;
