"""AWS: S3 lake, Lambda functions from a container image, EventBridge schedules, API Gateway,
Secrets Manager, KMS, CloudWatch logs and alarms."""
