"""GCP Cloud Functions (2nd gen) entry points: `ingest`, `scheduled` and `http` in `main`."""
