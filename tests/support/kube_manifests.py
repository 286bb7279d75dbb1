"""What the Kubernetes manifests (deploy/kubernetes) must satisfy: one check per concern.

Built-in kinds are validated strictly against the Kubernetes API schemas that
kubernetes-validate ships; the KEDA ScaledObject against a schema written by hand from KEDA's
documentation (deploy/kubernetes/tools/scaledobject.schema.yaml: no package this project
installs ships KEDA's CRD). The other checks tie the manifests to the code they deploy: stop
deadlines, stream names and settings are imported, never restated. Each check raises
``AssertionError`` naming what is wrong; tests/unit/test_kubernetes_manifests.py runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from app.settings import Settings
from app.workerproc import STOP_MARGIN_S
from captures.keys import CaptureKeys

ROOT = Path(__file__).resolve().parents[2]
KUBE_DIR = ROOT / "deploy" / "kubernetes"
EXAMPLE_SECRET = "secret.example.yaml"
SCALED_OBJECT_SCHEMA = KUBE_DIR / "tools" / "scaledobject.schema.yaml"
"""Written by hand from KEDA's documentation (no installed package ships KEDA's CRD)."""
SECRET_NAME = "sessionshot-secrets"
KUBE_VERSION = kubernetes_validate.latest_version()
"""The newest Kubernetes release whose schemas the locked kubernetes-validate ships."""
EXTERNAL_ENV = {"HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "POD_IP"}
"""Variables read by Chromium and boto3 rather than by Settings, and the pod's address that
``SESSIONSHOT_INTERNAL_URL`` is built from."""
SECRET_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
"""Secret variables besides the ``SecretStr`` settings."""
BASE_MEMORY_MIB = 1024
SESSION_MEMORY_MIB = 150
"""docs/operations.md, Sizing: SESSIONSHOT_MAX_SESSIONS ~ (RAM - 1 GB) / 150 MB."""

Doc = dict[str, Any]


@dataclass
class Manifests:
    """The kustomization and the documents of the files it lists."""

    kustomization: Doc
    files: dict[str, list[Doc]]

    @property
    def docs(self) -> list[Doc]:
        """Every document, in kustomization order."""
        return [doc for docs in self.files.values() for doc in docs]

    def all(self, kind: str) -> list[Doc]:
        """The documents of one kind."""
        return [doc for doc in self.docs if doc["kind"] == kind]

    def one(self, kind: str, name: str) -> Doc:
        """The one document of that kind and name."""
        (doc,) = (doc for doc in self.all(kind) if doc["metadata"]["name"] == name)
        return doc

    def deployment(self, component: str) -> Doc:
        """The Deployment of ``api`` or ``worker``."""
        return self.one("Deployment", f"sessionshot-{component}")


def load_manifests() -> Manifests:
    """The manifests as ``kubectl apply -k deploy/kubernetes`` would read them."""
    kustomization = yaml.safe_load((KUBE_DIR / "kustomization.yaml").read_text())
    files = {
        name: [doc for doc in yaml.safe_load_all((KUBE_DIR / name).read_text()) if doc]
        for name in kustomization["resources"]
    }
    return Manifests(kustomization, files)


def container(deployment: Doc) -> Doc:
    """A Deployment's one container."""
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    result: Doc = only
    return result


def env_entries(m: Manifests, deployment: Doc) -> dict[str, Doc]:
    """Every variable the container gets: the ConfigMaps it loads, then its own ``env``."""
    entries: dict[str, Doc] = {}
    for source in container(deployment).get("envFrom", []):
        data = m.one("ConfigMap", source["configMapRef"]["name"])["data"]
        entries.update({name: {"name": name, "value": value} for name, value in data.items()})
    entries.update({item["name"]: item for item in container(deployment).get("env", [])})
    return entries


def env_var(field: str) -> str:
    """The environment variable of a Settings field."""
    info = Settings.model_fields[field]
    return info.alias or f"SESSIONSHOT_{field.upper()}"


class _DeployedSettings(Settings):
    """Settings from the given values only, never from this test process's environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def deployed(m: Manifests, component: str) -> Settings:
    """The settings a Deployment's process starts with (values from Secrets left out)."""
    by_var = {env_var(field): field for field in Settings.model_fields}
    values = {
        by_var[name]: entry["value"]
        for name, entry in env_entries(m, m.deployment(component)).items()
        if name in by_var and "value" in entry
    }
    try:
        return _DeployedSettings(**values)
    except ValidationError as err:
        raise AssertionError(f"{component}: {err}") from err


def check_kustomization(m: Manifests) -> None:
    """Every manifest is applied by ``kubectl apply -k``, except the example Secret."""
    present = {path.name for path in KUBE_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(m.kustomization["resources"]) == present - {EXAMPLE_SECRET}
    assert m.kustomization["namespace"]


def check_schemas(m: Manifests) -> None:
    """Built-in kinds validate, strictly (no unknown field), against the newest Kubernetes."""
    for doc in m.docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(part) for part in err.path)
            raise AssertionError(f"{doc['kind']} {where}: {err.message}") from err


def check_scaled_object_schema(m: Manifests) -> None:
    """The ScaledObject has KEDA's documented shape; an HPA behavior in it, the HPA's."""
    schema = yaml.safe_load(SCALED_OBJECT_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for doc in m.all("ScaledObject"):
        try:
            jsonschema.Draft202012Validator(schema).validate(doc)
        except jsonschema.ValidationError as err:
            raise AssertionError(f"ScaledObject {list(err.path)}: {err.message}") from err
        hpa_config = doc["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {})
        if "behavior" in hpa_config:
            hpa = {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": doc["metadata"],
                "spec": {
                    "scaleTargetRef": doc["spec"]["scaleTargetRef"],
                    "maxReplicas": 1,
                    "behavior": hpa_config["behavior"],
                },
            }
            check_schemas(Manifests(m.kustomization, {"hpa": [hpa]}))


def check_probes(m: Manifests) -> None:
    """Readiness on /readyz (Redis and browser), liveness on /healthz, on the named port."""
    api = container(m.deployment("api"))
    ports = {port["name"] for port in api["ports"]}
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert api[probe]["httpGet"]["port"] in ports, probe


def check_api_grace(m: Manifests) -> None:
    """The API pod's grace period covers the preStop pause and serve's stop deadline."""
    deployment = m.deployment("api")
    pre_stop = container(deployment).get("lifecycle", {}).get("preStop", {})
    command = pre_stop.get("exec", {}).get("command", ["sleep", "0"])
    assert command[0].endswith("sleep")
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(command[1]) + deployed(m, "api").stop_deadline_s


def check_worker_grace(m: Manifests) -> None:
    """The worker's grace period covers its drain; the drain covers a whole capture."""
    settings = deployed(m, "worker")
    # Cut short, a running capture would only be retried after the visibility timeout.
    assert settings.worker_grace_s >= settings.capture_timeout_s
    grace = m.deployment("worker")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > settings.worker_grace_s + STOP_MARGIN_S


def check_budgets(m: Manifests) -> None:
    """Each Deployment's pods are selected by exactly one PodDisruptionBudget, its own."""
    for component in ("api", "worker"):
        deployment = m.deployment(component)
        labels = deployment["spec"]["template"]["metadata"]["labels"].items()
        selecting = [
            pdb
            for pdb in m.all("PodDisruptionBudget")
            if pdb["spec"]["selector"]["matchLabels"].items() <= labels
        ]
        assert len(selecting) == 1, component
        assert selecting[0]["spec"]["selector"] == deployment["spec"]["selector"]


def _targets(ref: Doc, deployment: Doc) -> bool:
    target = ("apps/v1", "Deployment", deployment["metadata"]["name"])
    return (ref.get("apiVersion"), ref.get("kind"), ref["name"]) == target


def check_hpa(m: Manifests) -> None:
    """The HorizontalPodAutoscaler scales the API Deployment, on CPU among others."""
    (hpa,) = m.all("HorizontalPodAutoscaler")
    assert _targets(hpa["spec"]["scaleTargetRef"], m.deployment("api"))
    assert "cpu" in {metric["resource"]["name"] for metric in hpa["spec"]["metrics"]}
    assert hpa["spec"]["minReplicas"] >= 2


def check_keda_trigger(m: Manifests) -> None:
    """The ScaledObject scales the workers on the capture stream the code writes to."""
    (scaled,) = m.all("ScaledObject")
    assert _targets(scaled["spec"]["scaleTargetRef"], m.deployment("worker"))
    (trigger,) = scaled["spec"]["triggers"]
    meta = trigger["metadata"]
    settings = deployed(m, "worker")
    assert trigger["type"] == "redis-streams"
    assert meta["stream"] == CaptureKeys(settings.redis_prefix).stream()
    # With a consumer group KEDA counts the running jobs only (XPENDING) or the queued ones
    # only (lag); the stream's length is both (see worker-scaledobject.yaml).
    assert "consumerGroup" not in meta
    assert int(meta["streamLength"]) == settings.worker_concurrency
    url = urlsplit(settings.redis_url)
    assert meta["address"] == f"{url.hostname}:{url.port or 6379}"
    assert int(meta.get("databaseIndex", "0")) == int(url.path.strip("/") or 0)
    assert (meta.get("enableTLS", "false") == "true") == (url.scheme == "rediss")


def check_replicas(m: Manifests) -> None:
    """Autoscaled Deployments set no replica count for ``kubectl apply`` to reset."""
    for component in ("api", "worker"):
        assert "replicas" not in m.deployment(component)["spec"], component


def check_env_names(m: Manifests) -> None:
    """Every variable is a Settings one (a typo would be silently ignored) or a known other."""
    known = {env_var(field) for field in Settings.model_fields} | EXTERNAL_ENV
    for component in ("api", "worker"):
        unknown = set(env_entries(m, m.deployment(component))) - known
        assert not unknown, f"{component}: {sorted(unknown)}"


def check_secrets(m: Manifests) -> None:
    """No Secret is applied, and secret settings come only from the Secret's keys."""
    assert not m.all("Secret")
    secret_vars = SECRET_ENV | {
        env_var(field)
        for field, info in Settings.model_fields.items()
        if SecretStr in (info.annotation, *getattr(info.annotation, "__args__", ()))
    }
    for config_map in m.all("ConfigMap"):
        assert not secret_vars & config_map["data"].keys(), config_map["metadata"]["name"]
    for component in ("api", "worker"):
        entries = env_entries(m, m.deployment(component))
        assert env_var("secret_key") in entries, component
        for name in secret_vars & set(entries):
            assert "value" not in entries[name], f"{component}: {name}"
            assert entries[name]["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME


def check_settings(m: Manifests) -> None:
    """Each process's settings parse, with storage every pod shares."""
    for component in ("api", "worker"):
        assert deployed(m, component).storage == "s3", component


def check_hardening(m: Manifests) -> None:
    """Non-root, no privileges, read-only root; writable HOME and a memory /dev/shm."""
    for component in ("api", "worker"):
        pod = m.deployment(component)["spec"]["template"]["spec"]
        main = container(m.deployment(component))
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["enableServiceLinks"] is False  # SESSIONSHOT_*_SERVICE_HOST otherwise
        assert pod["automountServiceAccountToken"] is False
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        assert main["securityContext"]["allowPrivilegeEscalation"] is False
        assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in main["volumeMounts"]}
        assert mounts["/dev/shm"]["emptyDir"].get("medium") == "Memory"
        home = env_entries(m, m.deployment(component))["HOME"]["value"]
        assert any(home.startswith(path) for path in mounts), "HOME must be writable"


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity) / 2**20


def check_sizing(m: Manifests) -> None:
    """Requests and limits everywhere, memory not overcommitted, sessions fit the memory."""
    for component in ("api", "worker"):
        resources = container(m.deployment(component))["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() <= resources["limits"].keys()
        assert resources["requests"]["memory"] == resources["limits"]["memory"], component
    memory = _mib(container(m.deployment("api"))["resources"]["limits"]["memory"])
    sessions = deployed(m, "api").max_sessions
    assert BASE_MEMORY_MIB + sessions * SESSION_MEMORY_MIB <= memory


def check_commands(m: Manifests) -> None:
    """One image, whose entrypoint is ``sessionshot``: serve on the declared port, worker."""
    assert '"sessionshot"]' in (ROOT / "Dockerfile").read_text().split("ENTRYPOINT", 1)[1]
    api, worker = container(m.deployment("api")), container(m.deployment("worker"))
    assert api["image"] == worker["image"]
    assert worker["args"] == ["worker"]
    assert api["args"][0] == "serve"
    port = api["args"][api["args"].index("--port") + 1]
    assert [int(port)] == [item["containerPort"] for item in api["ports"]]


Check = Callable[[Manifests], None]
CHECKS: dict[str, Check] = {
    # Every check_ function of this module, by its name without the prefix.
    name.removeprefix("check_"): check
    for name, check in globals().items()
    if name.startswith("check_")
}
