output "bucket_name" {
  description = "The bucket: S3_BUCKET of .env (local stack) or COMPOSE_S3_BUCKET (docker-compose)."
  value       = module.bucket.bucket_name
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = module.bucket.bucket_arn
}

output "bucket_url" {
  description = "S3 URL of the bucket."
  value       = "s3://${module.bucket.bucket_name}"
}

output "mlflow_artifacts_destination" {
  description = "Where an MLflow server keeps artifacts in this bucket (--artifacts-destination)."
  value       = "s3://${module.bucket.bucket_name}/${trimsuffix(local.mlflow_artifacts_prefix, "/")}"
}

output "developer_policy_arn" {
  description = "IAM policy to attach to the developers who run the local stack against this bucket."
  value       = aws_iam_policy.developer_bucket_access.arn
}

output "dotenv" {
  description = "Lines for .env to make the local stack use this bucket."
  value       = "STORAGE=s3\nS3_BUCKET=${module.bucket.bucket_name}\nS3_ENDPOINT_URL=\nAWS_DEFAULT_REGION=${var.aws_region}\n"
}
