"""Lint deploy/fleet/: Kubernetes manifests against the API schemas, the Compose file's structure,
every worker's screening config file (the ConfigMap keys and workers/worker-N.yaml) through the
same checks as `deepscreen config check`, with the secrets its ${NAME} references need; Triton's
flags, its filled repository, its image against deploy/Dockerfile.server, and DEPLOY.md / FLEET.md
section references.

The Kubernetes check uses kubernetes-validate (PyPI: the OpenAPI schemas of each Kubernetes
release, shipped in the package, strict mode rejects unknown fields): kubeconform is not on
PyPI, npm or Debian. The Compose check is structural (services, references, files); where
`docker compose` exists, scripts/lint_fleet.sh also runs `docker compose config`.
Exit 0 when clean, 1 with one line per problem.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "deploy" / "fleet"
DOCS = ("DEPLOY.md", "FLEET.md")  # docs whose numbered sections fleet files cite
K8S_VERSION = "1.30.0"  # the oldest release still in common support; newer ones accept it too


WORKER_CONFIG = "/etc/deepscreen/screen.yaml"  # where compose mounts a worker's config


def check_worker(text: str, env: dict[str, str], where: str, problems: list[str]):
    """A worker's config file: valid (key and line named otherwise), and wired to the fleet:
    Triton for the classifier, the broker for alerts, /metrics for Prometheus."""
    from engine.config import ConfigError, parse_screen_file

    try:
        screen = parse_screen_file(text, where, env).file
    except ConfigError as exc:
        problems.extend(str(exc).splitlines())
        return None
    if screen.model.backend != "remote" or not screen.model.url:
        problems.append(f"{where}: the worker does not send crops to Triton (model.backend "
                        "remote, model.url)")
    if not screen.alerts.mqtt:
        problems.append(f"{where}: the worker publishes no alerts (alerts.mqtt)")
    if not screen.metrics.port:
        problems.append(f"{where}: the worker serves no /metrics (metrics.port)")
    # screen refuses this only when it starts: catch it before a fleet crash-loops.
    if screen.metrics.host not in ("127.0.0.1", "localhost", "::1") and not screen.metrics.public:
        problems.append(f"{where}: metrics.host {screen.metrics.host} needs metrics.public")
    if not screen.streams:
        problems.append(f"{where}: the worker screens no stream")
    return screen


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a Compose env file (the CLI's reader: `config check --env-file`)."""
    from deepscreen_cli.config_cmd import read_env_files

    return read_env_files([path])


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
    args = container.get("args", [])
    mount = next((m["mountPath"] for m in container.get("volumeMounts", [])
                  if m["name"] == "config"), None)
    if container.get("command") != ["deepscreen"] or args[:2] != ["screen", "--config"] \
            or mount is None or not args[2].startswith(mount + "/"):
        problems.append("workers.yaml: the worker must run `deepscreen screen --config` on its "
                        "key of the mounted ConfigMap")
    for host in ("triton", "mosquitto"):
        if host not in services:
            problems.append(f"workers.yaml: the configs talk to {host}, which has no Service")
    secret = next((d for _, d in docs if d["kind"] == "Secret"
                   and d["metadata"]["name"] == "deepscreen-cameras"), None)
    configs = next((d for _, d in docs if d["kind"] == "ConfigMap"
                    and d["metadata"]["name"] == "deepscreen-worker-config"), {})
    env = dict((secret or {}).get("stringData", {}))
    for i in range(workers["spec"]["replicas"]):
        key = f"deepscreen-worker-{i}.yaml"
        text = configs.get("data", {}).get(key)
        if text is None:
            problems.append(f"workers.yaml: replica {i} has no config ({key} in the ConfigMap)")
            continue
        check_worker(text, env, f"workers.yaml[{key}]", problems)
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
        where = f"docker-compose.yml: {name}"
        if svc.get("command", [])[-3:] != ["screen", "--config", WORKER_CONFIG]:
            problems.append(f"{where}: the worker must run `screen --config {WORKER_CONFIG}`")
        mounted = [v.split(":")[0] for v in svc.get("volumes", [])
                   if v.split(":")[1:2] == [WORKER_CONFIG]]
        if len(mounted) != 1:
            problems.append(f"{where}: no config file mounted at {WORKER_CONFIG}")
            continue
        env: dict[str, str] = {}
        for file in svc.get("env_file", []):
            env.update(env_file(FLEET / file))
        config = FLEET / mounted[0]
        if config.exists():
            check_worker(config.read_text(), env, str(config.relative_to(ROOT)), problems)
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


def remote_model(config_text: str) -> str:
    """The Triton model a worker's config asks for (``model.remote_model``)."""
    data = yaml.safe_load(config_text) or {}
    return (data.get("model") or {}).get("remote_model") or "deepscreen"


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
    worker_cfg = next((v.split(":")[0] for n, svc in services.items() if n.startswith("worker")
                       for v in svc.get("volumes", []) if v.split(":")[1:2] == [WORKER_CONFIG]),
                      None)
    worker_model = remote_model((FLEET / worker_cfg).read_text()) if worker_cfg else "?"
    mounts = [v for v in triton.get("volumes", []) if v.split(":")[1:2] == ["/models"]]
    init = any("export" in svc.get("command", []) and "triton" in svc.get("command", [])
               and name in triton.get("depends_on", {}) for name, svc in services.items())
    problems += triton_problems(
        "docker-compose.yml: triton", [str(a) for a in triton.get("command", [])],
        triton.get("image", ""), any(v.endswith(":ro") for v in mounts), init,
        worker_model, want)
    deploy = yaml.safe_load_all((FLEET / "k8s" / "triton.yaml").read_text())
    pod = next(d for d in deploy if d and d["kind"] == "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    workers = yaml.safe_load_all((FLEET / "k8s" / "workers.yaml").read_text())
    wconf = next(d for d in workers if d and d["kind"] == "ConfigMap")
    wmodel = remote_model(next(iter(wconf.get("data", {}).values()), ""))
    ro = any(m.get("readOnly") for m in container.get("volumeMounts", [])
             if m["mountPath"] == "/models")
    init = any(c.get("command", [])[:3] == ["deepscreen", "export", "triton"]
               for c in pod.get("initContainers", []))
    problems += triton_problems("k8s/triton.yaml", container.get("args", []),
                                container.get("image", ""), ro, init, wmodel, want)
    # "docs/DEPLOY.md 5.1" or "docs/FLEET.md 2" in a fleet file must name a section that exists.
    for doc in DOCS:
        sections = doc_sections((ROOT / "docs" / doc).read_text())
        cite = re.escape(doc) + r"(?: section)? (\d+(?:\.\d+)*)"
        for path in sorted(FLEET.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".example", ".conf"):
                for ref in re.findall(cite, path.read_text()):
                    if ref not in sections:
                        problems.append(f"{path.relative_to(ROOT)}: cites {doc} {ref}, "
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
          f"{n_compose} Compose services consistent, worker configs pass config check, "
          "Triton set up "
          "to survive a bad model and matched to deploy/Dockerfile.server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
