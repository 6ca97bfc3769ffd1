"""AWS Lambda entry points: `functions.aws.handlers.ingest`, `.scheduled` and `.http`."""
