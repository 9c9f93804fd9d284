"""Terraform, verified without providers or AWS: it parses, its references resolve, and the
security properties of the design hold (bucket, database, network, roles, sizes, ports)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from deployment_helpers import (
    IMAGES,
    INFRASTRUCTURE,
    SECRET_WORDS,
    STACKS,
    config_variables,
    first,
    healthcheck_url,
    layout_prefixes,
    load_compose,
    load_tf,
    parse_dockerfile,
    published_ports,
    references,
    resolve_local,
    terraform_files,
)

from machine_learning.config import PROJECT_ROOT

# Fargate's valid memory (MiB) for each CPU size.
FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
# The reference design's sizes (the prediction service's is ours).
SIZES = {"mage": (4096, 8192), "mlflow": (1024, 2048), "evidently": (1024, 2048)}
# Variables whose domain is constrained, per stack: each must have a validation block.
VALIDATED = {
    "aws_dev": {"aws_region", "project", "environment", "bucket_name"},
    "aws_ecr": {"aws_region", "project", "keep_images", "untagged_image_days"},
    "aws_prod": {
        "aws_region",
        "project",
        "environment",
        "image_tag",
        "allowed_cidr_blocks",
        "certificate_arn",
        "vpc_cidr",
        "mage_owner_email",
        "db_engine_version",
        "log_retention_days",
    },
}
# Non-application variables the containers may carry (Mage's database and owner, MLflow's stores).
CONTAINER_THIRD_PARTY = {
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASS",
    "DEFAULT_OWNER_EMAIL",
    "DEFAULT_OWNER_USERNAME",
    "DEFAULT_OWNER_PASSWORD",
    "MLFLOW_DB_NAME",
    "MLFLOW_ARTIFACTS_DESTINATION",
    # read by mlflow-guard in the MLflow image (test_mlflow_guard_config.py)
    "MLFLOW_ALLOWED_HOSTS",
    "MLFLOW_CORS_ALLOWED_ORIGINS",
}


# ------------------------------------------------------------------------------ every file


@pytest.mark.parametrize(
    "path", terraform_files(), ids=lambda p: str(p.relative_to(INFRASTRUCTURE))
)
def test_every_terraform_file_parses(path):
    parsed = load_tf(path)
    assert parsed, f"{path} is empty"


@pytest.mark.parametrize("name", STACKS)
def test_each_stack_pins_terraform_and_the_aws_provider_and_tags_everything(stacks, name):
    stack = stacks[name]
    terraform = first(stack.blocks("terraform")[0])
    assert terraform["required_version"].startswith(">=")
    aws = first(terraform["required_providers"])["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.search(r"<\s*\d", aws["version"]), "an upper bound keeps a major upgrade deliberate"
    provider = stack.blocks("provider")[0]["aws"]
    assert provider["region"] == "${var.aws_region}"
    tags = resolve_local(stack, first(provider["default_tags"])["tags"])
    for key in ("Project", "Environment", "ManagedBy"):
        assert re.search(rf"\b{key}\s*=", str(tags)), f"{name}: no {key} tag"


@pytest.mark.parametrize("name", STACKS)
def test_each_stack_has_a_readme_and_a_remote_state_example(name):
    folder = INFRASTRUCTURE / name
    assert (folder / "README.md").is_file()
    backend = load_tf(folder / "backend.tf.example")
    s3 = first(first(backend["terraform"])["backend"])["s3"]
    assert s3["encrypt"] is True and s3["use_lockfile"] is True
    assert name in s3["key"]


@pytest.mark.parametrize("name", STACKS)
def test_variables_are_declared_used_described_typed_and_validated(stacks, name):
    stack = stacks[name]
    declared = stack.variables
    used = references(stack.text(), "var")
    assert used - set(declared) == set(), f"{name}: undeclared {sorted(used - set(declared))}"
    assert set(declared) - used == set(), f"{name}: unused {sorted(set(declared) - used)}"
    for variable, body in declared.items():
        assert body.get("description"), f"{name}: var.{variable} has no description"
        assert body.get("type"), f"{name}: var.{variable} has no type"
    validated = {variable for variable, body in declared.items() if body.get("validation")}
    assert VALIDATED[name] <= validated, f"{name}: validate {VALIDATED[name] - validated}"


@pytest.mark.parametrize("name", [*STACKS, "modules/data_bucket"])
def test_locals_and_modules_referenced_exist(stacks, bucket_module, name):
    stack = stacks.get(name, bucket_module)
    text = stack.text()
    assert references(text, "local") <= set(stack.locals), name
    assert references(text, "module") <= set(stack.modules), name
    for module in stack.modules.values():
        assert (stack.path / module["source"]).resolve().is_dir(), module["source"]


def test_the_example_variable_file_sets_only_declared_variables(prod):
    example = load_tf(INFRASTRUCTURE / "aws_prod" / "terraform.tfvars.example")
    assert set(example) <= set(prod.variables)
    required = {name for name, body in prod.variables.items() if "default" not in body}
    assert required <= set(example), f"the example lacks {required - set(example)}"


@pytest.mark.parametrize("name", STACKS)
def test_outputs_are_described(stacks, name):
    for output, body in stacks[name].outputs.items():
        assert body.get("description"), f"{name}: output {output}"


# --------------------------------------------------------------------------------- bucket


def test_the_bucket_is_private_encrypted_versioned_and_tls_only(bucket_module):
    block = bucket_module.resource("aws_s3_bucket_public_access_block.this")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[setting] is True, setting
    versioning = bucket_module.resource("aws_s3_bucket_versioning.this")
    assert first(versioning["versioning_configuration"])["status"] == "Enabled"
    encryption = bucket_module.resource("aws_s3_bucket_server_side_encryption_configuration.this")
    default = first(first(encryption["rule"])["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] in {"aws:kms", "AES256"}
    ownership = bucket_module.resource("aws_s3_bucket_ownership_controls.this")
    assert first(ownership["rule"])["object_ownership"] == "BucketOwnerEnforced"
    policy = first(bucket_module.data["aws_iam_policy_document.tls_only"]["statement"])
    assert policy["effect"] == "Deny"
    assert first(policy["condition"])["variable"] == "aws:SecureTransport"
    assert "acl" not in bucket_module.resource("aws_s3_bucket.this")


@pytest.mark.parametrize("name", ["aws_dev", "aws_prod"])
def test_the_buckets_hold_the_storage_layout_and_mlflow_artifacts(stacks, name):
    stack = stacks[name]
    prefixes = set(stack.locals["layout_prefixes"])
    assert prefixes == layout_prefixes(), "keep in step with machine_learning/layout.py"
    assert stack.locals["mlflow_artifacts_prefix"] == "mlflow/"
    bucket = stack.modules["bucket"]
    assert bucket["source"] == "../modules/data_bucket"
    assert (
        "local.layout_prefixes" in bucket["prefixes"]
        or "local.bucket_prefixes" in bucket["prefixes"]
    )


# ------------------------------------------------------------------------------------- ECR


def test_every_image_has_a_scanned_immutable_repository_with_a_lifecycle(stacks):
    ecr = stacks["aws_ecr"]
    assert set(ecr.locals["images"]) == set(IMAGES)
    assert {path.parent.name for path in (PROJECT_ROOT / "docker").glob("*/Dockerfile")} == set(
        IMAGES
    )
    repository = ecr.resource("aws_ecr_repository.image")
    assert repository["for_each"] == "${toset(local.images)}"
    assert first(repository["image_scanning_configuration"])["scan_on_push"] is True
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    lifecycle = ecr.resource("aws_ecr_lifecycle_policy.image")
    assert lifecycle["for_each"] == "${aws_ecr_repository.image}"
    rules = ecr.locals["lifecycle_policy"]["rules"]
    selections = [rule["selection"] for rule in rules]
    assert any(s["tagStatus"] == "untagged" for s in selections)
    assert any(s["countType"] == "imageCountMoreThan" for s in selections)
    assert lifecycle["policy"] == "${jsonencode(local.lifecycle_policy)}"


def test_prod_deploys_an_image_of_each_repository(prod):
    assert set(prod.locals["services"]) == set(IMAGES)
    repository = prod.data["aws_ecr_repository.image"]
    assert repository["for_each"] == "${local.services}"
    assert repository["name"] == "${var.project}/${each.key}"


# ------------------------------------------------------------------------- services, ports


def test_fargate_sizes_are_the_reference_ones_and_valid(prod):
    services = prod.locals["services"]
    for name, (cpu, memory) in SIZES.items():
        assert (services[name]["cpu"], services[name]["memory"]) == (cpu, memory), name
    for name, service in services.items():
        assert service["memory"] in FARGATE_MEMORY[service["cpu"]], f"{name}: invalid size"
    task = prod.resource("aws_ecs_task_definition.service")
    assert task["for_each"] == "${local.services}"
    assert (task["cpu"], task["memory"]) == ("${each.value.cpu}", "${each.value.memory}")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"


def test_ports_agree_across_images_compose_tasks_target_groups_listeners_and_rules(prod):
    services = prod.locals["services"]
    compose = load_compose()["services"]
    for name, service in services.items():
        dockerfile = parse_dockerfile(PROJECT_ROOT / "docker" / name / "Dockerfile")
        exposed = [int(item.arguments) for item in dockerfile.of("EXPOSE")]
        assert exposed == [service["port"]], name
        assert [c for _, _, c in published_ports(compose[name])] == [service["port"]], name
        check = dockerfile.of("HEALTHCHECK")[-1].arguments
        assert healthcheck_url(check).endswith(f":{service['port']}{service['health_path']}")
    # Every per-service resource is built from local.services and takes its port from it.
    for address, attributes in {
        "aws_lb_target_group.service": ["port"],
        "aws_lb_listener.service": ["port"],
        "aws_vpc_security_group_ingress_rule.service_from_alb": ["from_port", "to_port"],
        "aws_vpc_security_group_egress_rule.alb_to_services": ["from_port", "to_port"],
    }.items():
        resource = prod.resource(address)
        assert resource["for_each"] == "${local.services}", address
        for attribute in attributes:
            assert resource[attribute] == "${each.value.port}", f"{address}.{attribute}"
    health = first(prod.resource("aws_lb_target_group.service")["health_check"])
    assert health["path"] == "${each.value.health_path}"
    definitions = prod.resource("aws_ecs_task_definition.service")["container_definitions"]
    assert "containerPort = each.value.port" in definitions
    assert "${each.value.port}${each.value.health_path}" in definitions
    balancer = first(prod.resource("aws_ecs_service.service")["load_balancer"])
    assert balancer["container_port"] == "${each.value.port}"
    assert balancer["container_name"] == "${each.key}"


def test_the_listeners_use_https_when_a_certificate_is_given(prod):
    listener = prod.resource("aws_lb_listener.service")
    assert listener["protocol"] == '${local.https ? "HTTPS" : "HTTP"}'
    assert listener["certificate_arn"] == "${local.https ? var.certificate_arn : null}"
    assert "ELBSecurityPolicy-TLS13" in listener["ssl_policy"]
    assert prod.locals["https"] == '${var.certificate_arn != ""}'
    assert prod.resource("aws_lb.this")["drop_invalid_header_fields"] is True


def test_every_service_url_is_an_output(prod):
    for name in prod.locals["services"]:
        assert f"{name}_url" in prod.outputs, name
        assert f"local.services.{name}.port" in prod.outputs[f"{name}_url"]["value"]


# ---------------------------------------------------------------------------- the network


def test_two_zones_with_public_and_private_subnets_and_nat(prod):
    assert prod.locals["azs"] == "${slice(data.aws_availability_zones.available.names, 0, 2)}"
    public, private = prod.resource("aws_subnet.public"), prod.resource("aws_subnet.private")
    assert public["count"] == private["count"] == "${length(local.azs)}"
    assert public["map_public_ip_on_launch"] is False
    route = first(prod.resource("aws_route_table.private")["route"])
    assert "aws_nat_gateway.this" in route["nat_gateway_id"]
    assert prod.resource("aws_nat_gateway.this")["subnet_id"].startswith("${aws_subnet.public")
    assert prod.resource("aws_lb.this")["subnets"] == "${aws_subnet.public[*].id}"
    assert prod.resource("aws_lb.this")["internal"] is False


def test_tasks_run_in_private_subnets_without_public_addresses(prod):
    service = prod.resource("aws_ecs_service.service")
    network = first(service["network_configuration"])
    assert network["subnets"] == "${aws_subnet.private[*].id}"
    assert network["assign_public_ip"] is False
    assert service["launch_type"] == "FARGATE"
    assert network["security_groups"] == ["${aws_security_group.service[each.key].id}"]


def _rules(prod, kind):
    return prod.of_type(f"aws_vpc_security_group_{kind}_rule")


def test_only_the_load_balancer_admits_networks_and_only_from_allowed_blocks(prod):
    for name, rule in _rules(prod, "ingress").items():
        if "cidr_ipv4" in rule or "cidr_ipv6" in rule:
            assert rule["security_group_id"] == "${aws_security_group.alb.id}", name
            assert rule["cidr_ipv4"] == "${each.value.cidr}", name
            assert "var.allowed_cidr_blocks" in rule["for_each"], name
        else:
            assert rule["referenced_security_group_id"].startswith("${aws_security_group."), name
    for group in prod.of_type("aws_security_group").values():
        assert "ingress" not in group and "egress" not in group, "rules live in rule resources"
    assert not prod.of_type("aws_security_group_rule"), "use the per-rule resources"


def test_services_admit_only_the_load_balancer_and_mlflow_its_clients(prod):
    ingress = _rules(prod, "ingress")
    into_services = {
        name: rule
        for name, rule in ingress.items()
        if rule["security_group_id"].startswith("${aws_security_group.service[")
    }
    assert set(into_services) == {"service_from_alb", "mlflow_from_clients"}
    assert into_services["service_from_alb"]["referenced_security_group_id"] == (
        "${aws_security_group.alb.id}"
    )
    clients = into_services["mlflow_from_clients"]
    assert clients["security_group_id"] == '${aws_security_group.service["mlflow"].id}'
    assert clients["from_port"] == clients["to_port"] == "${local.services.mlflow.port}"
    assert set(prod.locals["mlflow_clients"]) == {"mage", "prediction"}


def test_only_services_reach_the_database_and_the_file_system(prod):
    ingress = _rules(prod, "ingress")
    database = [r for r in ingress.values() if r["security_group_id"].endswith("database.id}")]
    assert len(database) == 1
    assert database[0]["referenced_security_group_id"] == (
        "${aws_security_group.service[each.key].id}"
    )
    assert database[0]["from_port"] == database[0]["to_port"] == 5432
    assert database[0]["for_each"] == "${toset(local.database_clients)}"
    assert set(prod.locals["database_clients"]) == {"mage", "mlflow"}
    efs = [r for r in ingress.values() if r["security_group_id"].endswith("efs.id}")]
    assert len(efs) == 1 and efs[0]["from_port"] == 2049
    assert efs[0]["referenced_security_group_id"] == "${aws_security_group.service[each.key].id}"


def test_egress_to_the_internet_is_https_only(prod):
    for name, rule in _rules(prod, "egress").items():
        if "cidr_ipv4" in rule:
            assert rule["from_port"] == rule["to_port"] == 443, name
        assert rule["ip_protocol"] == "tcp", name


# ---------------------------------------------------------------------------- the database


def test_the_database_is_private_encrypted_and_its_password_in_secrets_manager(prod):
    database = prod.resource("aws_db_instance.postgres")
    assert database["publicly_accessible"] is False
    assert database["storage_encrypted"] is True
    assert database["manage_master_user_password"] is True
    assert "password" not in database, "the password is generated and kept by RDS"
    assert database["vpc_security_group_ids"] == ["${aws_security_group.database.id}"]
    subnets = prod.resource("aws_db_subnet_group.postgres")["subnet_ids"]
    assert subnets == "${aws_subnet.private[*].id}"
    assert database["skip_final_snapshot"] is False
    parameters = prod.resource("aws_db_parameter_group.postgres")["parameter"]
    assert {"name": "rds.force_ssl", "value": "1"} in parameters


# ---------------------------------------------------------------------------- the containers


def test_containers_get_the_settings_their_code_reads(prod):
    environment = prod.locals["container_environment"]
    known = config_variables()
    required = {"STORAGE", "S3_BUCKET", "AWS_DEFAULT_REGION", "MLFLOW_TRACKING_URI", "MODEL_NAME"}
    assert required <= known, f"config.py no longer reads {sorted(required - known)}"
    for name in ("mage", "prediction"):
        assert required <= set(
            environment[name]
        ), f"{name} lacks {required - set(environment[name])}"
    assert {"EVIDENTLY_WORKSPACE", "MAGE_DATA_DIR", "DB_HOST", "DB_NAME"} <= set(
        environment["mage"]
    )
    for name, variables in environment.items():
        unknown = set(variables) - known - CONTAINER_THIRD_PARTY
        assert not unknown, f"{name}: {sorted(unknown)} is read by nothing (a typo?)"
    assert environment["mage"]["MLFLOW_TRACKING_URI"] == "${local.mlflow_url}"
    assert "mlflow.${local.service_namespace}" in prod.locals["mlflow_url"]
    mlflow_entrypoint = (PROJECT_ROOT / "docker" / "mlflow" / "entrypoint.sh").read_text()
    for variable in ("MLFLOW_DB_NAME", "MLFLOW_ARTIFACTS_DESTINATION", "DB_HOST"):
        assert variable in environment["mlflow"] and variable in mlflow_entrypoint, variable


def test_secrets_come_from_secrets_manager_never_plain_environment(prod):
    environment, secrets = prod.locals["container_environment"], prod.locals["container_secrets"]
    for name, variables in environment.items():
        leaked = [v for v in variables if any(word in v for word in SECRET_WORDS)]
        assert not leaked, f"{name}: {leaked} must be a secret"
    for name in ("mage", "mlflow"):
        assert secrets[name]["DB_PASS"] == "${local.db_secret_arn}:password::"
    assert prod.locals["db_secret_arn"] == (
        "${aws_db_instance.postgres.master_user_secret[0].secret_arn}"
    )
    assert "DEFAULT_OWNER_PASSWORD" in secrets["mage"]
    definitions = prod.resource("aws_ecs_task_definition.service")["container_definitions"]
    assert "local.container_environment[each.key]" in definitions
    assert "valueFrom = arn" in definitions and "local.container_secrets[each.key]" in definitions


def test_the_evidently_workspace_is_shared_through_efs_as_the_images_user(prod):
    mounts = prod.locals["workspace_mounts"]
    environment = prod.locals["container_environment"]
    assert set(mounts) == {"mage", "evidently"}
    for name, path in mounts.items():
        assert environment[name]["EVIDENTLY_WORKSPACE"] == f"${{local.workspace_mounts.{name}}}"
        assert path.startswith("/")
    access_point = prod.resource("aws_efs_access_point.workspace")
    assert first(access_point["posix_user"])["uid"] == "${local.workspace_uid}"
    uid = str(prod.locals["workspace_uid"])
    for name in mounts:
        dockerfile = (PROJECT_ROOT / "docker" / name / "Dockerfile").read_text()
        assert f"useradd --uid {uid}" in dockerfile, name
    assert prod.resource("aws_efs_file_system.workspace")["encrypted"] is True
    volume = first(first(prod.resource("aws_ecs_task_definition.service")["dynamic"])["volume"])
    efs = first(first(volume["content"])["efs_volume_configuration"])
    assert efs["transit_encryption"] == "ENABLED"
    assert first(efs["authorization_config"])["iam"] == "ENABLED"


def test_every_service_logs_to_its_own_log_group(prod):
    groups = prod.resource("aws_cloudwatch_log_group.service")
    assert groups["for_each"] == "${local.services}"
    assert groups["retention_in_days"] == "${var.log_retention_days}"
    definitions = prod.resource("aws_ecs_task_definition.service")["container_definitions"]
    assert "aws_cloudwatch_log_group.service[each.key].name" in definitions


# ------------------------------------------------------------------------------- the roles


def test_task_roles_have_least_privilege_on_the_bucket(prod):
    access = {
        name: resolve_local(prod, prefixes)
        for name, prefixes in prod.locals["bucket_access"].items()
    }
    access = {
        name: [resolve_local(prod, prefix) for prefix in prefixes]
        for name, prefixes in access.items()
    }
    assert set(access) == set(IMAGES)
    assert set(access["mage"]) == layout_prefixes()
    assert access["mlflow"] == ["mlflow/"]
    assert access["evidently"] == access["prediction"] == []
    document = prod.data["aws_iam_policy_document.task_bucket"]
    assert "local.bucket_access" in document["for_each"]
    statements = {statement["sid"]: statement for statement in document["statement"]}
    objects = statements["ReadWriteOwnPrefixes"]
    assert objects["resources"] == (
        '${[for prefix in each.value : "${module.bucket.bucket_arn}/${prefix}*"]}'
    )
    assert first(statements["ListOwnPrefixes"]["condition"])["variable"] == "s3:prefix"
    role = prod.resource("aws_iam_role_policy.task_bucket")
    assert role["role"] == "${aws_iam_role.task[each.key].id}"


def test_no_policy_allows_every_action_or_every_bucket(stacks, bucket_module):
    for stack in [*stacks.values(), bucket_module]:
        for address, document in stack.data.items():
            if not address.startswith("aws_iam_policy_document.") or address.endswith(".kms"):
                continue
            for statement in document.get("statement", []):
                if statement.get("effect", "Allow") == "Deny":
                    continue
                actions = statement["actions"]
                assert not any(a.endswith(":*") or a == "*" for a in actions), address
                assert statement.get("resources") != ["*"], address


def test_each_service_has_its_own_task_role_and_the_execution_role_reads_two_secrets(prod):
    assert prod.resource("aws_iam_role.task")["for_each"] == "${local.services}"
    task = prod.resource("aws_ecs_task_definition.service")
    assert task["task_role_arn"] == "${aws_iam_role.task[each.key].arn}"
    document = prod.data["aws_iam_policy_document.execution_secrets"]
    statements = {statement["sid"]: statement for statement in document["statement"]}
    assert set(statements) == {"ReadTheTasksSecrets", "DecryptTheTasksSecrets"}
    assert statements["ReadTheTasksSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert statements["ReadTheTasksSecrets"]["resources"] == [
        "${local.db_secret_arn}",
        "${aws_secretsmanager_secret.mage_owner.arn}",
    ]
    assert statements["DecryptTheTasksSecrets"]["resources"] == ["${aws_kms_key.this.arn}"]


# ------------------------------------------------------------- tools, when they are installed


def _terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("the terraform binary is not installed here")
    return binary


def test_terraform_fmt_finds_nothing_to_change():
    result = subprocess.run(
        [_terraform(), "fmt", "-check", "-recursive", "-diff", str(INFRASTRUCTURE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", STACKS)
def test_terraform_validate(name, tmp_path):
    if os.environ.get("TERRAFORM_VALIDATE") != "1":
        pytest.skip(
            "terraform validate needs `terraform init` to download the AWS provider from "
            "registry.terraform.io, unreachable here; set TERRAFORM_VALIDATE=1 where it is"
        )
    shutil.copytree(INFRASTRUCTURE, tmp_path / "infrastructure")
    folder = tmp_path / "infrastructure" / name
    for command in (["init", "-backend=false", "-input=false"], ["validate"]):
        result = subprocess.run(
            [_terraform(), *command], cwd=folder, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _checkov() -> str:
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(PROJECT_ROOT / "runtime" / "checkov" / "bin" / "checkov"),
        shutil.which("checkov") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("checkov is not installed (`make checkov` installs it into runtime/checkov)")
    return ""


@pytest.mark.parametrize(
    "folder, framework", [("infrastructure", "terraform"), ("docker", "dockerfile")]
)
def test_checkov_finds_no_failed_check(folder, framework):
    result = subprocess.run(
        [
            _checkov(),
            "--directory",
            str(PROJECT_ROOT / folder),
            "--framework",
            framework,
            "--skip-download",
            "--compact",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
