# One internet-facing application load balancer; one listener per service on the service's own
# port (no DNS names needed): HTTPS with the given certificate, HTTP when none is given.

resource "aws_lb" "this" {
  # checkov:skip=CKV_AWS_91:Access logs need a log bucket with the ELB service's policy; add one when audits require it.
  # checkov:skip=CKV2_AWS_28:WAF costs more than this stack's traffic warrants; ingress is limited to allowed_cidr_blocks.
  name                       = substr(local.name, 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 120
}

resource "aws_lb_target_group" "service" {
  # checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the tasks is inside the VPC.
  for_each             = local.services
  name                 = "${local.short}-${each.key}"
  port                 = each.value.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 30

  health_check {
    path                = each.value.health_path
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 5
  }
}

resource "aws_lb_listener" "service" {
  for_each          = local.services
  load_balancer_arn = aws_lb.this.arn
  port              = each.value.port
  protocol          = local.https ? "HTTPS" : "HTTP"
  certificate_arn   = local.https ? var.certificate_arn : null
  ssl_policy        = local.https ? "ELBSecurityPolicy-TLS13-1-2-2021-06" : null

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service[each.key].arn
  }
}
