"""What a schema-valid request may be refused for, checked on every response of the run.

The OpenAPI document describes the shape of each request: types, lengths, ranges, item
counts, enums, patterns, formats. A request of that shape may still be refused, with a
declared 422, for what a schema cannot say: a SKU, location or version that does not exist,
a line id named twice, a downtime window that ends before it starts, a kit made of kits, an
id in the body that is not the one in the path, a start date too far from now, a policy or
plugin that does not compile. Those refusals are allowed (schemathesis.toml lists 422 for
positive data); a refusal for the shape itself is not: it means the document allows what
the server refuses, so a client generated from the document would be wrong.
"""

import schemathesis

# Codes the server gives for a request's shape. A schema-valid request must never get one.
SHAPE_CODES = {
    "malformed_json",
    "invalid_body",
    "invalid_query",
    "invalid_header",
    "invalid_name",
    "invalid_id",
    "invalid_time",
    "invalid_events",
    "invalid_secret",
    "too_long",
    "too_many",
    "too_many_lines",
    "body_too_large",
}


@schemathesis.check
def shape_refusals_match_the_schema(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        code = response.json()["error"]["code"]
    except Exception:
        raise AssertionError(f"a {response.status_code} without the API's error shape")
    if response.status_code == 400 or code in SHAPE_CODES:
        raise AssertionError(
            f"a request the schema allows was refused for its shape ({response.status_code} {code}): "
            "the OpenAPI document and the server disagree"
        )
    return None
