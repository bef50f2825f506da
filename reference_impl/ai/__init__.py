"""The reference AI data path: documents and ingestion, embeddings and retrieval, citations and
evaluations, agent runs and tool calls (revision 0007_ai_data)."""
