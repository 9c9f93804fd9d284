# Who may talk to whom. Only the load balancer accepts traffic from outside (from
# var.allowed_cidr_blocks, on the services' ports); each service accepts only the load balancer
# (and MLflow also its two clients); only Mage and MLflow reach the database; only Mage and
# Evidently reach the workspace file system. No rule admits a CIDR block except the ALB's.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Load balancer: the services' ports from the allowed networks"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_allowed_networks" {
  for_each = {
    for pair in setproduct(keys(local.services), var.allowed_cidr_blocks) :
    "${pair[0]}-${pair[1]}" => { service = pair[0], cidr = pair[1] }
  }
  security_group_id = aws_security_group.alb.id
  description       = "${each.value.service} from ${each.value.cidr}"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = local.services[each.value.service].port
  to_port           = local.services[each.value.service].port
}

resource "aws_vpc_security_group_egress_rule" "alb_to_services" {
  for_each                     = local.services
  security_group_id            = aws_security_group.alb.id
  description                  = "to ${each.key}"
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

resource "aws_security_group" "service" {
  # checkov:skip=CKV2_AWS_5:Attached to the ECS services (aws_ecs_service.service network_configuration).
  for_each    = local.services
  name        = "${local.name}-${each.key}"
  description = "${each.key} tasks: their port from the load balancer only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-${each.key}" }
}

resource "aws_vpc_security_group_ingress_rule" "service_from_alb" {
  for_each                     = local.services
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "${each.key} from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

resource "aws_vpc_security_group_ingress_rule" "mlflow_from_clients" {
  for_each                     = toset(local.mlflow_clients)
  security_group_id            = aws_security_group.service["mlflow"].id
  description                  = "MLflow from ${each.key}"
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = local.services.mlflow.port
  to_port                      = local.services.mlflow.port
}

resource "aws_vpc_security_group_egress_rule" "service_to_mlflow" {
  for_each                     = toset(local.mlflow_clients)
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "${each.key} to MLflow"
  referenced_security_group_id = aws_security_group.service["mlflow"].id
  ip_protocol                  = "tcp"
  from_port                    = local.services.mlflow.port
  to_port                      = local.services.mlflow.port
}

# AWS APIs (ECR, S3, CloudWatch Logs, Secrets Manager, EFS) over HTTPS, through NAT or endpoint.
resource "aws_vpc_security_group_egress_rule" "service_to_aws_apis" {
  for_each          = local.services
  security_group_id = aws_security_group.service[each.key].id
  description       = "${each.key} to AWS APIs over HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_security_group" "database" {
  name        = "${local.name}-database"
  description = "Postgres: from the Mage and MLflow tasks only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-database" }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_services" {
  for_each                     = toset(local.database_clients)
  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from ${each.key}"
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "service_to_database" {
  for_each                     = toset(local.database_clients)
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "${each.key} to Postgres"
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_security_group" "efs" {
  name        = "${local.name}-efs"
  description = "Evidently workspace file system: NFS from the Mage and Evidently tasks only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-efs" }
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_services" {
  for_each                     = local.workspace_mounts
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from ${each.key}"
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_vpc_security_group_egress_rule" "service_to_efs" {
  for_each                     = local.workspace_mounts
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "${each.key} to the workspace file system"
  referenced_security_group_id = aws_security_group.efs.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}
