# Postgres for Mage (database "mage") and MLflow's tracking store (database "mlflow", created by
# the MLflow container at its first start). Private subnets, not publicly accessible, encrypted,
# TLS enforced; the master password is generated and kept by RDS in Secrets Manager
# (manage_master_user_password) and injected into the tasks by ECS, never in Terraform state.

resource "aws_db_subnet_group" "postgres" {
  name       = "${local.name}-postgres"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "postgres" {
  name_prefix = "${local.name}-postgres-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"
  description = "TLS only, slow statements logged"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "2000"
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "postgres" {
  # checkov:skip=CKV_AWS_157:Multi-AZ doubles the database cost; set db_multi_az = true for a standby.
  # checkov:skip=CKV_AWS_353:Performance Insights is not offered on the smallest burstable classes (the default db.t4g.micro).
  # checkov:skip=CKV_AWS_118:Enhanced monitoring adds a role and cost; CloudWatch metrics and the exported Postgres logs cover this load.
  identifier                          = "${local.name}-postgres"
  engine                              = "postgres"
  engine_version                      = var.db_engine_version
  auto_minor_version_upgrade          = true
  instance_class                      = var.db_instance_class
  allocated_storage                   = var.db_allocated_storage
  max_allocated_storage               = var.db_allocated_storage * 5
  storage_type                        = "gp3"
  storage_encrypted                   = true
  db_name                             = "mage"
  username                            = "mage_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.this.key_id
  iam_database_authentication_enabled = true
  db_subnet_group_name                = aws_db_subnet_group.postgres.name
  vpc_security_group_ids              = [aws_security_group.database.id]
  parameter_group_name                = aws_db_parameter_group.postgres.name
  publicly_accessible                 = false
  multi_az                            = var.db_multi_az
  backup_retention_period             = 7
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${local.name}-postgres-final"
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
}

# Mage's owner password: generated, kept in Secrets Manager, injected by ECS. The generated value
# is also in the Terraform state: keep the state remote and encrypted (backend.tf.example).
resource "random_password" "mage_owner" {
  length           = 24
  special          = true
  override_special = "-_.!"
}

resource "aws_secretsmanager_secret" "mage_owner" {
  # checkov:skip=CKV2_AWS_57:Mage keeps its owner's password in its own database; rotating the secret would not change it.
  name_prefix             = "${local.name}/mage-owner-password-"
  description             = "Password of Mage's owner account (${var.mage_owner_email})"
  recovery_window_in_days = 7
  kms_key_id              = aws_kms_key.this.arn
}

resource "aws_secretsmanager_secret_version" "mage_owner" {
  secret_id     = aws_secretsmanager_secret.mage_owner.id
  secret_string = random_password.mage_owner.result
}
