"""Reading the deployment files as docker compose and docker would (no Docker engine needed)."""

from __future__ import annotations

import fnmatch
import re
import shlex
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
CELERY_REQUIREMENTS = ROOT / "deploy" / "requirements-celery.txt"
REQUIREMENTS = ROOT / "requirements.txt"
# Where the Dockerfile puts the project in the image.
IMAGE_PROJECT_DIR = "/opt/dtks"

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingVariable(KeyError):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: ${V}, ${V:-d}, ${V-d}, ${V:?e}, ${V?e}, $V and $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        present = name in env
        val = env.get(name, "")
        if op in (":-", "-"):
            use_default = (not val) if op == ":-" else (not present)
            return arg if use_default else val
        if op in (":?", "?"):
            if (op == ":?" and not val) or (op == "?" and not present):
                raise MissingVariable(f"{name}: {arg}")
            return val
        return val

    return _VAR.sub(sub, value)


def variables(value) -> set[str]:
    """Every variable name a compose value refers to."""
    found: set[str] = set()
    if isinstance(value, dict):
        for v in value.values():
            found |= variables(v)
    elif isinstance(value, list):
        for v in value:
            found |= variables(v)
    elif isinstance(value, str):
        for m in _VAR.finditer(value):
            if m.group(0) != "$$":
                found.add(m.group(1) or m.group(4))
    return found


def required_variables(value) -> set[str]:
    """Variables used as ${V:?...} (no default: compose refuses to start without them)."""
    text = yaml.safe_dump(value)
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))


@lru_cache(maxsize=1)
def compose_raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def compose(env: dict[str, str]) -> dict:
    return interpolate(compose_raw(), env)


def service_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def volume_targets(service: dict) -> dict[str, str]:
    """container path → source, for the short volume syntax."""
    targets = {}
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict):
            targets[vol["target"]] = vol.get("source", "")
        else:
            parts = vol.split(":")
            targets[parts[1]] = parts[0]
    return targets


def as_argv(value) -> list[str]:
    return list(value) if isinstance(value, list) else shlex.split(value)


def healthcheck_argv(service: dict) -> list[str] | None:
    test = (service.get("healthcheck") or {}).get("test")
    if not test:
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return shlex.split(test[1].replace("$HOSTNAME", "HOST").replace("${HOSTNAME}", "HOST"))
    raise AssertionError(f"unexpected healthcheck form {test!r}")


def pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of a requirements file; every line must be an exact pin."""
    result = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"{path.name}: not an exact pin: {raw!r}"
        result[normalise(m.group(1))] = m.group(2)
    return result


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def ignored_by_docker(rel_path: str) -> bool:
    """Whether .dockerignore keeps a path out of the build context (last matching rule wins)."""
    ignored = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.lstrip("/")
        parts = rel_path.split("/")
        # A rule matching a parent folder excludes what is inside it.
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if pat.startswith("**/"):
            hit = any(fnmatch.fnmatch(c.split("/")[-1], pat[3:]) for c in candidates)
        else:
            hit = any(fnmatch.fnmatch(c, pat) for c in candidates)
        if hit:
            ignored = not negate
    return ignored


def deploy_script(container_path: str) -> Path:
    """The repository file behind a path under /opt/dtks in the image."""
    assert container_path.startswith(IMAGE_PROJECT_DIR + "/"), container_path
    return ROOT / container_path[len(IMAGE_PROJECT_DIR) + 1 :]
