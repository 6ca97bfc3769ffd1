"""GCP: one GCS bucket per lake layer, Cloud Functions (2nd gen) with dedicated service
accounts, Eventarc on the landing bucket, Cloud Scheduler, Secret Manager, Vertex AI."""
