"""Lint deploy/fleet/: Kubernetes manifests against the API schemas, the Compose file's structure,
and every `deepscreen screen` command line in both against the real command's options; Triton's
flags, its filled repository, its image against deploy/Dockerfile.server, and DEPLOY.md section
references.

The Kubernetes check uses kubernetes-validate (PyPI: the OpenAPI schemas of each Kubernetes
release, shipped in the package, strict mode rejects unknown fields): kubeconform is not on
PyPI, npm or Debian. The Compose check is structural (services, references, files); where
`docker compose` exists, scripts/lint_fleet.sh also runs `docker compose config`.
Exit 0 when clean, 1 with one line per problem.
"""

from __future__ import annotations

import re
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
    # The CLI refuses this only when it runs: catch it here, before a fleet crash-loops.
    if "--metrics-host" in args[:-1]:
        host = args[args.index("--metrics-host") + 1]
        if host not in ("127.0.0.1", "localhost", "::1") and "--metrics-public" not in args:
            problems.append(f"{where}: --metrics-host {host} needs --metrics-public")


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


def triton_problems(where: str, args: list[str], image: str, mount_read_only: bool,
                    init_exports: bool, served: str, want_image: str) -> list[str]:
    """Triton as the fleet needs it: up despite a bad model, loading the workers' model
    explicitly, from a repository something fills, in the image deepscreen's TensorRT matches.
    """
    found = []
    flags = set(args)
    for flag in ("--exit-on-error=false", "--model-control-mode=explicit",
                 f"--load-model={served}"):
        if flag not in flags:
            found.append(f"{where}: tritonserver lacks {flag}")
    if mount_read_only:
        found.append(f"{where}: the model repository is read-only (nothing can fill it)")
    if not init_exports:
        found.append(f"{where}: nothing runs `deepscreen export triton` into the repository")
    if image != want_image:
        found.append(f"{where}: Triton image {image} != deploy/Dockerfile.server's "
                     f"TRITON_IMAGE {want_image} (plans would not load)")
    return found


def dockerfile_triton_image(text: str) -> str:
    """The default of ``ARG TRITON_IMAGE=`` in a Dockerfile ("" when absent)."""
    match = re.search(r"^ARG TRITON_IMAGE=(\S+)", text, re.M)
    return match.group(1).strip('"') if match else ""


def remote_model(command: str) -> str:
    words = shlex.split(command.replace("$$", "$"))
    return words[words.index("--remote-model") + 1] if "--remote-model" in words else "deepscreen"


def doc_sections(text: str) -> set[str]:
    """Section numbers ("8", "8.1") of a Markdown file's numbered headings."""
    return set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", text, re.M))


def lint_triton(problems: list[str]) -> None:
    want = dockerfile_triton_image((ROOT / "deploy" / "Dockerfile.server").read_text())
    if not want:
        problems.append("deploy/Dockerfile.server: no ARG TRITON_IMAGE")
    compose = yaml.safe_load((FLEET / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    triton = services.get("triton", {})
    worker_cmd = " ".join(next((s.get("command", []) for n, s in services.items()
                                if n.startswith("worker")), []))
    mounts = [v for v in triton.get("volumes", []) if v.split(":")[1:2] == ["/models"]]
    init = any("export" in svc.get("command", []) and "triton" in svc.get("command", [])
               and name in triton.get("depends_on", {}) for name, svc in services.items())
    problems += triton_problems(
        "docker-compose.yml: triton", [str(a) for a in triton.get("command", [])],
        triton.get("image", ""), any(v.endswith(":ro") for v in mounts), init,
        remote_model(worker_cmd), want)
    deploy = yaml.safe_load_all((FLEET / "k8s" / "triton.yaml").read_text())
    pod = next(d for d in deploy if d and d["kind"] == "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    workers = yaml.safe_load_all((FLEET / "k8s" / "workers.yaml").read_text())
    wpod = next(d for d in workers if d and d["kind"] == "StatefulSet")
    wcmd = " ".join(wpod["spec"]["template"]["spec"]["containers"][0].get("args", []))
    ro = any(m.get("readOnly") for m in container.get("volumeMounts", [])
             if m["mountPath"] == "/models")
    init = any(c.get("command", [])[:3] == ["deepscreen", "export", "triton"]
               for c in pod.get("initContainers", []))
    problems += triton_problems("k8s/triton.yaml", container.get("args", []),
                                container.get("image", ""), ro, init, remote_model(wcmd), want)
    # "docs/DEPLOY.md 8.2" in a fleet file must name a section that exists.
    sections = doc_sections((ROOT / "docs" / "DEPLOY.md").read_text())
    for path in sorted(FLEET.rglob("*")):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".example", ".conf"):
            for ref in re.findall(r"DEPLOY\.md(?: section)? (\d+(?:\.\d+)*)", path.read_text()):
                if ref not in sections:
                    problems.append(f"{path.relative_to(ROOT)}: cites DEPLOY.md {ref}, "
                                    "which does not exist")


def main() -> int:
    problems: list[str] = []
    n_k8s = lint_k8s(problems)
    n_compose = lint_compose(problems)
    lint_triton(problems)
    for p in problems:
        print(f"fleet lint: {p}")
    if problems:
        return 1
    print(f"fleet lint: {n_k8s} Kubernetes objects valid against {K8S_VERSION} (strict), "
          f"{n_compose} Compose services consistent, worker commands parse, Triton set up "
          "to survive a bad model and matched to deploy/Dockerfile.server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
