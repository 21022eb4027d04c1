"""The management and ingestion API (FastAPI behind Mangum in the ApiFunction)."""
