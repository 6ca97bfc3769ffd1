"""Infrastructure for the lakehouse: one Pulumi project per cloud (`azure/`, `aws/`, `gcp/`),
sharing the function app's contract, the schedule conversion, the policy checks and the
packaging step that builds what they deploy."""
