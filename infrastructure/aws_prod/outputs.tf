output "mage_url" {
  description = "Mage AI (log in as mage_owner_email; the password is in mage_owner_secret_arn)."
  value       = "${local.scheme}://${aws_lb.this.dns_name}:${local.services.mage.port}"
}

output "mlflow_url" {
  description = "MLflow tracking server and model registry."
  value       = "${local.scheme}://${aws_lb.this.dns_name}:${local.services.mlflow.port}"
}

output "evidently_url" {
  description = "Evidently UI (monitoring dashboards)."
  value       = "${local.scheme}://${aws_lb.this.dns_name}:${local.services.evidently.port}"
}

output "prediction_url" {
  description = "Prediction service (GET /health)."
  value       = "${local.scheme}://${aws_lb.this.dns_name}:${local.services.prediction.port}"
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer (point your own DNS names at it)."
  value       = aws_lb.this.dns_name
}

output "bucket_name" {
  description = "The data bucket (storage layout and MLflow artifacts)."
  value       = module.bucket.bucket_name
}

output "ecs_cluster_name" {
  description = "ECS cluster of the four services."
  value       = aws_ecs_cluster.this.name
}

output "database_endpoint" {
  description = "Postgres endpoint (reachable from the Mage and MLflow tasks only)."
  value       = aws_db_instance.postgres.endpoint
}

output "database_secret_arn" {
  description = "Secrets Manager secret (managed by RDS) with the database user and password."
  value       = local.db_secret_arn
}

output "mage_owner_secret_arn" {
  description = "Secrets Manager secret with the password of Mage's owner account."
  value       = aws_secretsmanager_secret.mage_owner.arn
}

output "log_groups" {
  description = "CloudWatch log group of each service."
  value       = { for name, group in aws_cloudwatch_log_group.service : name => group.name }
}
