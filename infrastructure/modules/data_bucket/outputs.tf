output "bucket_name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "prefixes" {
  description = "The folder prefixes created in the bucket."
  value       = sort(keys(aws_s3_object.prefix))
}
