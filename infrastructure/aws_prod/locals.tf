data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394:Only the first two zones are used (slice in locals.azs): a new zone changes nothing.
  state = "available"
}

locals {
  name  = "${var.project}-${var.environment}"
  short = substr(local.name, 0, 21) # target group names: at most 32 characters with "-<service>"
  tags = merge(
    {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
      Stack       = "aws_prod"
    },
    var.tags,
  )
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = slice(data.aws_availability_zones.available.names, 0, 2)
  https      = var.certificate_arn != ""
  scheme     = local.https ? "https" : "http"

  # The four containers: port, Fargate size (CPU units, MiB), health check path, task count.
  # Everything per service (task definition, target group, listener, security group rules,
  # logs, task role) is built from this map.
  services = {
    mage = {
      port          = 6789
      cpu           = 4096
      memory        = 8192
      health_path   = "/api/status"
      desired_count = 1 # one scheduler: never two Mage tasks at once
      singleton     = true
    }
    mlflow = {
      port          = 5000
      cpu           = 1024
      memory        = 2048
      health_path   = "/health"
      desired_count = 1
      singleton     = false
    }
    evidently = {
      port          = 8001
      cpu           = 1024
      memory        = 2048
      health_path   = "/api/projects"
      desired_count = 1
      singleton     = false
    }
    prediction = {
      port          = 8080
      cpu           = 1024
      memory        = 2048
      health_path   = "/health"
      desired_count = var.prediction_desired_count
      singleton     = false
    }
  }

  # Top-level folders of the storage layout (machine_learning/layout.py), and MLflow's artifacts.
  layout_prefixes = [
    "raw/",
    "processed/",
    "features/",
    "rejected/",
    "batch/",
    "predictions/",
    "labels/",
    "monitoring/",
    "reports/",
  ]
  mlflow_artifacts_prefix = "mlflow/"

  # Least privilege on the bucket: the prefixes each task may list, read and write. Models reach
  # Mage and the prediction service through MLflow's artifact proxy (--serve-artifacts), so only
  # MLflow touches mlflow/; Evidently reads its workspace from EFS, not S3.
  bucket_access = {
    mage       = local.layout_prefixes
    mlflow     = [local.mlflow_artifacts_prefix]
    evidently  = []
    prediction = []
  }

  # Who talks to whom inside the VPC (each one is a security group rule).
  mlflow_clients   = ["mage", "prediction"]
  database_clients = ["mage", "mlflow"]
  # The Evidently workspace on EFS: Mage writes snapshots, the Evidently UI serves them.
  workspace_mounts = {
    mage      = "/app/runtime/evidently"
    evidently = "/workspace"
  }
  workspace_uid = 10001 # the non-root user of every image (docker/*/Dockerfile)

  service_namespace = "${var.project}.internal"
  mlflow_url        = "http://mlflow.${local.service_namespace}:${local.services.mlflow.port}"
  db_secret_arn     = aws_db_instance.postgres.master_user_secret[0].secret_arn

  # mlflow-guard (docker/mlflow): the Host names the MLflow server answers to, the others get 403
  # (DNS rebinding). People reach it through the load balancer (the mlflow_url output), Mage and
  # the prediction service by its private DNS name (local.mlflow_url), the container's own
  # health check on loopback; plus the operator's own DNS names. /health answers any Host (the
  # load balancer's health checks name the task's address).
  mlflow_allowed_hosts = distinct(concat(
    [
      "${aws_lb.this.dns_name}:${local.services.mlflow.port}",
      "mlflow.${local.service_namespace}:${local.services.mlflow.port}",
      "localhost",
      "127.0.0.1",
    ],
    var.mlflow_allowed_hosts,
  ))

  # Environment of each container: the application's settings (machine_learning/config.py),
  # Mage's database (DB_*, the password comes from Secrets Manager below) and MLflow's stores.
  container_environment = {
    mage = {
      STORAGE                = "s3"
      S3_BUCKET              = module.bucket.bucket_name
      AWS_DEFAULT_REGION     = var.aws_region
      MLFLOW_TRACKING_URI    = local.mlflow_url
      MLFLOW_EXPERIMENT_NAME = var.model_name
      MODEL_NAME             = var.model_name
      MODEL_KIND             = "gradient_boosting"
      EVIDENTLY_WORKSPACE    = local.workspace_mounts.mage
      MAGE_DATA_DIR          = "/app/runtime/mage_data"
      DB_HOST                = aws_db_instance.postgres.address
      DB_PORT                = tostring(aws_db_instance.postgres.port)
      DB_NAME                = aws_db_instance.postgres.db_name
      DEFAULT_OWNER_EMAIL    = var.mage_owner_email
      DEFAULT_OWNER_USERNAME = "owner"
    }
    mlflow = {
      AWS_DEFAULT_REGION           = var.aws_region
      DB_HOST                      = aws_db_instance.postgres.address
      DB_PORT                      = tostring(aws_db_instance.postgres.port)
      MLFLOW_DB_NAME               = "mlflow"
      MLFLOW_ARTIFACTS_DESTINATION = "s3://${module.bucket.bucket_name}/${trimsuffix(local.mlflow_artifacts_prefix, "/")}"
      MLFLOW_ALLOWED_HOSTS         = join(",", local.mlflow_allowed_hosts)
      MLFLOW_CORS_ALLOWED_ORIGINS  = join(",", var.mlflow_cors_allowed_origins)
    }
    evidently = {
      EVIDENTLY_WORKSPACE = local.workspace_mounts.evidently
    }
    prediction = {
      STORAGE             = "s3"
      S3_BUCKET           = module.bucket.bucket_name
      AWS_DEFAULT_REGION  = var.aws_region
      MLFLOW_TRACKING_URI = local.mlflow_url
      MODEL_NAME          = var.model_name
    }
  }

  # Secrets injected by ECS at start (Secrets Manager ARNs; ":key::" picks a JSON key).
  container_secrets = {
    mage = {
      DB_USER                = "${local.db_secret_arn}:username::"
      DB_PASS                = "${local.db_secret_arn}:password::"
      DEFAULT_OWNER_PASSWORD = aws_secretsmanager_secret.mage_owner.arn
    }
    mlflow = {
      DB_USER = "${local.db_secret_arn}:username::"
      DB_PASS = "${local.db_secret_arn}:password::"
    }
    evidently  = {}
    prediction = {}
  }
}
