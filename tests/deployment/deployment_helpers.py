"""Readers for the deployment files: docker-compose.yml, Dockerfiles, .env.example, Terraform.

Everything here is static: no Docker engine, no Terraform providers, no AWS account.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import hcl2
import yaml
from hcl2.utils import SerializationOptions

from machine_learning.config import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DOCKER_DIR = PROJECT_ROOT / "docker"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
INFRASTRUCTURE = PROJECT_ROOT / "infrastructure"
STACKS = ("aws_dev", "aws_ecr", "aws_prod")
# The four images (docker/<name>/Dockerfile), ECR repositories and ECS services.
IMAGES = ("mage", "mlflow", "evidently", "prediction")
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "PASS", "PRIVATE_KEY")

# ------------------------------------------------------------------------------------ compose

# ${NAME...} (also nested inside a default) or $NAME; "$$" is a literal dollar sign.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])((?:[^{}]|\{[^{}]*\})*)\}")


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """docker-compose.yml as a dict (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose_strings(node: Any) -> Iterator[str]:
    """Every string value (and key) in a parsed compose document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from compose_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from compose_strings(item)


def interpolated_variables(text: str) -> set[str]:
    """Names of the variables compose interpolates in ``text`` (``$$`` escapes excluded)."""
    text = text.replace("$$", "")
    return {braced or bare for braced, bare in _VARIABLE.findall(text)}


def defaults(text: str) -> dict[str, tuple[str, str]]:
    """``{name: (operator, default)}`` for each ``${NAME<op>default}`` in ``text``."""
    return {name: (op, value) for name, op, value in _DEFAULTED.findall(text.replace("$$", ""))}


def documented_variables(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """``NAME=value`` lines of .env.example (comments excluded)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def published_ports(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(host_ip, host_port, container_port)`` of a service's short-syntax ports."""
    result = []
    for entry in service.get("ports", []):
        parts = str(entry).split("/", maxsplit=1)[0].split(":")
        if len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host_ip, (host, container) = "0.0.0.0", parts
        else:
            raise AssertionError(f"port {entry!r} publishes no host port")
        result.append((host_ip, int(host), int(container)))
    return result


def healthcheck_url(test: Any) -> str | None:
    """The http://... URL a health check command requests, if any."""
    text = " ".join(test) if isinstance(test, list) else str(test)
    match = re.search(r"http://[^'\" ]+", text)
    return match.group(0) if match else None


# ------------------------------------------------------------------------------- Dockerfiles


@dataclass
class Instruction:
    """One Dockerfile instruction: keyword, its arguments as written, and its stage index."""

    keyword: str
    arguments: str
    stage: int


@dataclass
class Dockerfile:
    """A parsed Dockerfile."""

    path: Path
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str, stage: int | None = None) -> list[Instruction]:
        """Instructions with ``keyword`` (in ``stage``, default: all stages)."""
        return [
            item
            for item in self.instructions
            if item.keyword == keyword and (stage is None or item.stage == stage)
        ]

    @property
    def final_stage(self) -> int:
        """Index of the last stage (the image that is shipped)."""
        return max(item.stage for item in self.instructions)

    def exec_form(self, keyword: str) -> list[str]:
        """Arguments of the last ``keyword`` of the final stage (JSON or shell form, split)."""
        found = self.of(keyword, self.final_stage)
        if not found:
            return []
        return _split_arguments(found[-1].arguments)


def _split_arguments(arguments: str) -> list[str]:
    text = arguments.strip()
    if text.startswith("["):
        return yaml.safe_load(text)
    return shlex.split(text)


def parse_dockerfile(path: Path) -> Dockerfile:
    """Instructions of a Dockerfile: comments dropped, continuation lines joined."""
    parsed = Dockerfile(path)
    stage = -1
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        parsed.instructions.append(Instruction(keyword, arguments.strip(), stage))
    return parsed


def dockerfiles() -> dict[str, Dockerfile]:
    """``{image: Dockerfile}`` for docker/<image>/Dockerfile."""
    return {path.parent.name: parse_dockerfile(path) for path in DOCKER_DIR.glob("*/Dockerfile")}


def env_assignments(instruction: Instruction) -> dict[str, str]:
    """``NAME=value`` pairs of an ENV or ARG instruction (also the legacy ``ENV NAME value``)."""
    text = instruction.arguments
    if "=" not in text.split(" ")[0]:
        name, _, value = text.partition(" ")
        return {name: value.strip()}
    pairs = {}
    for token in shlex.split(text):
        name, _, value = token.partition("=")
        pairs[name] = value
    return pairs


def pinned_requirements(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of a requirements file; every line must pin with ==."""
    pins = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([A-Za-z0-9_.+!-]+)$", line)
        if not match:
            raise AssertionError(f"{path.name}: {line!r} is not pinned with ==")
        pins[normalise(match.group(1))] = match.group(3)
    return pins


def normalise(name: str) -> str:
    """PEP 503 normalised package name."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------------- Terraform

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


def load_tf(path: Path) -> dict[str, Any]:
    """One .tf file parsed by python-hcl2 (strings unquoted; expressions as "${...}")."""
    with open(path, encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


@dataclass
class Stack:
    """The parsed .tf files of one folder."""

    path: Path
    files: dict[str, dict[str, Any]]

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        """Top-level blocks of ``kind`` (variable, output, locals, ...) of every file."""
        return [block for parsed in self.files.values() for block in parsed.get(kind, [])]

    def _labelled(self, kind: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for block in self.blocks(kind):
            for type_name, named in block.items():
                for name, body in named.items():
                    found[f"{type_name}.{name}"] = body
        return found

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """``{"type.name": body}``."""
        return self._labelled("resource")

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        """``{"type.name": body}`` of data sources."""
        return self._labelled("data")

    def resource(self, address: str) -> dict[str, Any]:
        """The body of resource ``type.name`` (AssertionError if absent)."""
        resources = self.resources
        assert address in resources, f"{self.path.name}: no resource {address}"
        return resources[address]

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        """``{name: body}`` of the resources of one type."""
        prefix = type_name + "."
        return {k[len(prefix) :]: v for k, v in self.resources.items() if k.startswith(prefix)}

    def _named(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks(kind) for name, body in block.items()}

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        """``{name: body}`` of the variables."""
        return self._named("variable")

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """``{name: body}`` of the outputs."""
        return self._named("output")

    @property
    def modules(self) -> dict[str, dict[str, Any]]:
        """``{name: body}`` of the module calls."""
        return self._named("module")

    @property
    def locals(self) -> dict[str, Any]:
        """All locals of the stack."""
        merged: dict[str, Any] = {}
        for block in self.blocks("locals"):
            merged.update(block)
        return merged

    def text(self) -> str:
        """The source of every .tf file of the stack, concatenated."""
        return "\n".join((self.path / name).read_text(encoding="utf-8") for name in self.files)


def load_stack(path: Path) -> Stack:
    """Every .tf file of a folder, parsed."""
    files = {tf.name: load_tf(tf) for tf in sorted(path.glob("*.tf"))}
    assert files, f"{path}: no .tf files"
    return Stack(path, files)


def terraform_files() -> list[Path]:
    """Every .tf file under infrastructure/ (and the .example files, also HCL)."""
    return sorted(INFRASTRUCTURE.rglob("*.tf")) + sorted(INFRASTRUCTURE.rglob("*.example"))


def references(text: str, kind: str) -> set[str]:
    """Names referenced as ``<kind>.<name>`` (var, local, module) in Terraform source."""
    return set(re.findall(rf"(?<![\w.]){kind}\.([A-Za-z_][A-Za-z0-9_-]*)", text))


def first(value: Any) -> Any:
    """A nested block's body (python-hcl2 gives blocks as one-item lists)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def resolve_local(stack: Stack, value: Any) -> Any:
    """Follow ``${local.name}`` (one or more hops) to its literal value in the stack."""
    seen = set()
    while isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.([A-Za-z_][A-Za-z0-9_]*)\}", value)
        if not match or match.group(1) in seen:
            return value
        seen.add(match.group(1))
        value = stack.locals[match.group(1)]
    return value


def layout_prefixes() -> set[str]:
    """Top-level folders of the storage layout, computed from machine_learning.layout."""
    from machine_learning import layout  # pylint: disable=import-outside-toplevel

    day = "2024-01-01"
    keys = [
        layout.RAW_PLAYERS,
        layout.PROCESSED_PLAYERS,
        layout.PLAYER_FEATURES,
        layout.REFERENCE,
        layout.rejected("batch", day),
        layout.batch_input(day),
        layout.predictions(day),
        layout.labels(day),
        layout.current(day),
        layout.report(day, "drift", "json"),
    ]
    return {key.split("/", 1)[0] + "/" for key in keys}


def config_variables() -> set[str]:
    """Names of the environment variables machine_learning/config.py reads."""
    source = (PROJECT_ROOT / "machine_learning" / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r"env\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", source)) | set(
        re.findall(r"\(\s*env\s*,\s*\"([A-Z][A-Z0-9_]*)\"", source)
    )
