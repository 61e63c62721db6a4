"""Lint deploy/fleet/: Kubernetes manifests against the API schemas, the Compose file's structure,
and every `deepscreen screen` command line in both against the real command's options.

The Kubernetes check uses kubernetes-validate (PyPI: the OpenAPI schemas of each Kubernetes
release, shipped in the package, strict mode rejects unknown fields): kubeconform is not on
PyPI, npm or Debian. The Compose check is structural (services, references, files); where
`docker compose` exists, scripts/lint_fleet.sh also runs `docker compose config`.
Exit 0 when clean, 1 with one line per problem.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "deploy" / "fleet"
K8S_VERSION = "1.30.0"  # the oldest release still in common support; newer ones accept it too


def screen_args(command: str) -> list[str]:
    """The arguments after `deepscreen screen` in a shell command line (camera lists become
    one placeholder source)."""
    words = shlex.split(command.replace("$$", "$"))
    i = words.index("screen")
    args = [w for w in words[i + 1:] if not w.startswith("$")]
    return ["camera.mp4", *args]


def check_screen(args: list[str], where: str, problems: list[str]) -> None:
    """Parse the options with the real command (typer/click): unknown or malformed ones fail."""
    import typer

    from deepscreen_cli.app import app

    group = typer.main.get_command(app)
    screen = group.commands["screen"]  # type: ignore[attr-defined]
    try:
        screen.make_context("screen", list(args))
    except Exception as exc:  # typer's (vendored click) usage errors
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        problems.append(f"{where}: deepscreen screen {' '.join(args)}: {message}")
    for needed in ("--backend", "--backend-url", "--mqtt", "--metrics-port"):
        if needed not in args:
            problems.append(f"{where}: the worker command lacks {needed}")


def lint_k8s(problems: list[str]) -> int:
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError

    kdir = FLEET / "k8s"
    kust = yaml.safe_load((kdir / "kustomization.yaml").read_text())
    docs = []
    for name in kust["resources"]:
        path = kdir / name
        if not path.exists():
            problems.append(f"kustomization.yaml: missing resource {name}")
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((name, doc))
    listed = {p.name for p in kdir.glob("*.yaml")} - {"kustomization.yaml"}
    for extra in sorted(listed - set(kust["resources"])):
        problems.append(f"kustomization.yaml does not list {extra}")
    pods: dict[str, dict] = {}
    services = set()
    for name, doc in docs:
        where = f"{name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except ValidationError as exc:
            problems.append(f"{where}: {exc.message} at {'.'.join(map(str, exc.path))}")
        except Exception as exc:  # an unknown kind or version is a problem too
            problems.append(f"{where}: {exc}")
        if doc["kind"] == "Service":
            services.add(doc["metadata"]["name"])
        if doc["kind"] in ("Deployment", "StatefulSet"):
            pods[doc["metadata"]["name"]] = doc
    for name, doc in docs:
        if doc["kind"] == "Service":
            sel = doc["spec"].get("selector", {})
            if not any(sel.items() <= p["spec"]["template"]["metadata"]["labels"].items()
                       for p in pods.values()):
                problems.append(f"{name}: Service {doc['metadata']['name']} selects no pod")
    workers = pods.get("deepscreen-worker")
    if workers is None:
        problems.append("workers.yaml: no StatefulSet deepscreen-worker")
        return len(docs)
    container = workers["spec"]["template"]["spec"]["containers"][0]
    command = " ".join(container.get("args", []))
    args = screen_args(command)
    check_screen(args, "workers.yaml", problems)
    for host in ("triton", "mosquitto"):
        if host not in services:
            problems.append(f"workers.yaml: the command talks to {host}, which has no Service")
    secret = next((d for _, d in docs if d["kind"] == "Secret"
                   and d["metadata"]["name"] == "deepscreen-cameras"), None)
    replicas = workers["spec"]["replicas"]
    keys = set((secret or {}).get("stringData", {}))
    for i in range(replicas):
        if f"deepscreen-worker-{i}" not in keys:
            problems.append(f"workers.yaml: replica {i} has no camera list in the Secret")
    return len(docs)


def lint_compose(problems: list[str]) -> int:
    compose = yaml.safe_load((FLEET / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    networks = set(compose.get("networks", {}))
    for required in ("mosquitto", "triton"):
        if required not in services:
            problems.append(f"docker-compose.yml: no {required} service")
    workers = [n for n in services if n.startswith("worker")]
    if not workers:
        problems.append("docker-compose.yml: no worker services")
    for name, svc in services.items():
        where = f"docker-compose.yml: {name}"
        if "image" not in svc:
            problems.append(f"{where}: no image")
        for dep in svc.get("depends_on", {}):
            if dep not in services:
                problems.append(f"{where}: depends on unknown service {dep}")
        for net in svc.get("networks", []):
            if net not in networks:
                problems.append(f"{where}: unknown network {net}")
        for env in svc.get("env_file", []):
            if not (FLEET / env).exists():
                problems.append(f"{where}: env_file {env} does not exist")
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("./") and "triton_repo" not in src and not (FLEET / src).exists():
                problems.append(f"{where}: volume source {src} does not exist")
    for name in workers:
        svc = services[name]
        command = " ".join(svc.get("command", []))
        check_screen(screen_args(command), f"docker-compose.yml: {name}", problems)
        for env in svc.get("env_file", []):
            text = (FLEET / env).read_text()
            if "CAMERAS=" not in text:
                problems.append(f"docker-compose.yml: {name}: {env} sets no CAMERAS")
    return len(services)


def main() -> int:
    problems: list[str] = []
    n_k8s = lint_k8s(problems)
    n_compose = lint_compose(problems)
    for p in problems:
        print(f"fleet lint: {p}")
    if problems:
        return 1
    print(f"fleet lint: {n_k8s} Kubernetes objects valid against {K8S_VERSION} (strict), "
          f"{n_compose} Compose services consistent, worker commands parse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
