# Development: one private S3 bucket with the storage layout's prefixes, for the local stack
# (`make run` with STORAGE=s3) or the docker-compose stack to use real S3 instead of local files
# or MinIO; and a least-privilege IAM policy that developers' users or roles can be given.

data "aws_caller_identity" "current" {}

locals {
  tags = merge(
    {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
      Stack       = "aws_dev"
    },
    var.tags,
  )
  bucket_name = var.bucket_name != "" ? var.bucket_name : "${var.project}-${var.environment}-${data.aws_caller_identity.current.account_id}"
  # Top-level folders of the storage layout (machine_learning/layout.py).
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
  # MLflow's artifacts (MLFLOW_ARTIFACTS_DESTINATION=s3://<bucket>/mlflow).
  mlflow_artifacts_prefix = "mlflow/"
  bucket_prefixes         = concat(local.layout_prefixes, [local.mlflow_artifacts_prefix])
}

module "bucket" {
  source        = "../modules/data_bucket"
  bucket_name   = local.bucket_name
  prefixes      = local.bucket_prefixes
  force_destroy = var.force_destroy
}

# What the local stack needs, and nothing more: list the layout's prefixes, read and write objects
# under them. Attach it to the developers' IAM users, groups or roles.
data "aws_iam_policy_document" "developer_bucket_access" {
  statement {
    sid       = "ListLayoutPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [module.bucket.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for prefix in local.bucket_prefixes : "${prefix}*"]
    }
  }
  statement {
    sid = "ReadWriteLayoutObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = [for prefix in local.bucket_prefixes : "${module.bucket.bucket_arn}/${prefix}*"]
  }
}

resource "aws_iam_policy" "developer_bucket_access" {
  name        = "${var.project}-${var.environment}-bucket-access"
  description = "Read and write the ${local.bucket_name} bucket's layout prefixes (local development stack)."
  policy      = data.aws_iam_policy_document.developer_bucket_access.json
}
