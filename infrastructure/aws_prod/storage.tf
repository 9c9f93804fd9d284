# The data bucket (storage layout + MLflow artifacts) and the Evidently workspace on EFS.

module "bucket" {
  source        = "../modules/data_bucket"
  bucket_name   = "${local.name}-${local.account_id}"
  prefixes      = concat(local.layout_prefixes, [local.mlflow_artifacts_prefix])
  force_destroy = var.bucket_force_destroy
}

# The Evidently UI serves a workspace folder that Mage's monitoring pipelines write into; two
# Fargate tasks can only share a folder through a network file system, hence EFS (encrypted,
# mounted with TLS and IAM authorization through one access point).
resource "aws_efs_file_system" "workspace" {
  creation_token   = "${local.name}-evidently-workspace"
  encrypted        = true
  kms_key_id       = aws_kms_key.this.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "bursting"
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  tags = { Name = "${local.name}-evidently-workspace" }
}

resource "aws_efs_backup_policy" "workspace" {
  file_system_id = aws_efs_file_system.workspace.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "workspace" {
  count           = length(local.azs)
  file_system_id  = aws_efs_file_system.workspace.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "workspace" {
  file_system_id = aws_efs_file_system.workspace.id
  posix_user {
    uid = local.workspace_uid
    gid = local.workspace_uid
  }
  root_directory {
    path = "/evidently"
    creation_info {
      owner_uid   = local.workspace_uid
      owner_gid   = local.workspace_uid
      permissions = "0750"
    }
  }
  tags = { Name = "${local.name}-evidently-workspace" }
}
