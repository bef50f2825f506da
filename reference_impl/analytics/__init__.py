"""Product analytics events (F7-E3): a taxonomy of JSON Schemas, events stored once per key."""
