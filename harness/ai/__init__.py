"""AI data checks (ingestion, retrieval, agent runs); filled in below."""
