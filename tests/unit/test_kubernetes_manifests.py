"""The Kubernetes manifests pass every check, and every check fails on what it checks.

The checks live in tests/support/kube_manifests.py (schemas, probes, grace periods against the
drain deadlines, budgets, autoscalers, settings, secrets). Each one here also runs against
copies of the manifests broken on purpose, one fault at a time: a check that passed a broken
copy would be checking nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.support.kube_manifests import (
    CHECKS,
    EXAMPLE_SECRET,
    KUBE_DIR,
    KUBE_VERSION,
    SECRET_NAME,
    Doc,
    Manifests,
    container,
    load_manifests,
)

Mutation = Callable[[Manifests], None]
Locate = Callable[[Manifests], Any]
DELETE = object()


def put(locate: Locate, path: str, value: object) -> Mutation:
    """Set (with ``DELETE``: remove) the item at a dotted path below ``locate(m)``."""

    def mutate(m: Manifests) -> None:
        *parents, last = [int(key) if key.isdigit() else key for key in path.split(".")]
        node = locate(m)
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


def env(component: str, name: str, value: str) -> Mutation:
    """Give a Deployment's container the variable ``name=value`` (replacing its entry)."""

    def mutate(m: Manifests) -> None:
        entries = container(m.deployment(component))["env"]
        entries[:] = [entry for entry in entries if entry["name"] != name]
        entries.append({"name": name, "value": value})

    return mutate


def list_example_secret(m: Manifests) -> None:
    m.kustomization["resources"].append(EXAMPLE_SECRET)
    m.files[EXAMPLE_SECRET] = list(yaml.safe_load_all((KUBE_DIR / EXAMPLE_SECRET).read_text()))


def api_budget_on_workers(m: Manifests) -> None:
    labels = m.one("PodDisruptionBudget", "sessionshot-api")["spec"]["selector"]["matchLabels"]
    labels["app.kubernetes.io/component"] = "worker"


def api(m: Manifests) -> Doc:
    return container(m.deployment("api"))


def worker(m: Manifests) -> Doc:
    return container(m.deployment("worker"))


def api_pod(m: Manifests) -> Any:
    return m.deployment("api")["spec"]["template"]["spec"]


def config(m: Manifests) -> Any:
    return m.one("ConfigMap", "sessionshot-config")["data"]


def scaled(m: Manifests) -> Any:
    return m.all("ScaledObject")[0]["spec"]


def trigger(m: Manifests) -> Any:
    return scaled(m)["triggers"][0]["metadata"]


def hpa(m: Manifests) -> Any:
    return m.all("HorizontalPodAutoscaler")[0]["spec"]


BAD_BEHAVIOR = {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"policies": 1}}}}
MUTATIONS: dict[str, dict[str, Mutation]] = {
    "kustomization": {
        "file-left-out": put(lambda m: m.kustomization, "resources.0", "other.yaml"),
        "example-listed": list_example_secret,
    },
    "schemas": {
        "unknown-field": put(api, "imagePullPolicyy", "Always"),
        "wrong-type": put(api_pod, "terminationGracePeriodSeconds", "80"),
    },
    "scaled_object_schema": {
        "number-not-string": put(trigger, "streamLength", 4),
        "undocumented-key": put(trigger, "lag", "4"),
        "bad-hpa-behavior": put(scaled, "advanced", BAD_BEHAVIOR),
    },
    "probes": {
        "readiness-on-healthz": put(api, "readinessProbe.httpGet.path", "/healthz"),
        "unnamed-port": put(api, "livenessProbe.httpGet.port", "admin"),
    },
    "api_grace": {
        "grace-60": put(api_pod, "terminationGracePeriodSeconds", 60),
        "longer-pre-stop": put(api, "lifecycle.preStop.exec.command.1", "30"),
    },
    "worker_grace": {
        "longer-worker-grace": env("worker", "SESSIONSHOT_WORKER_GRACE_S", "75"),
        "grace-below-capture-timeout": env("worker", "SESSIONSHOT_WORKER_GRACE_S", "30"),
    },
    "budgets": {"api-budget-on-workers": api_budget_on_workers},
    "hpa": {
        "targets-worker": put(hpa, "scaleTargetRef.name", "sessionshot-worker"),
        "memory-only": put(hpa, "metrics.0.resource.name", "memory"),
    },
    "keda_trigger": {
        "unprefixed-stream": put(trigger, "stream", "captures:jobs"),
        "other-prefix": put(config, "SESSIONSHOT_REDIS_PREFIX", "prod:"),
        "consumer-group": put(trigger, "consumerGroup", "workers"),
        "other-concurrency": env("worker", "SESSIONSHOT_WORKER_CONCURRENCY", "2"),
        "other-redis": put(config, "SESSIONSHOT_REDIS_URL", "redis://redis-2:6379/0"),
        "other-database": put(config, "SESSIONSHOT_REDIS_URL", "redis://redis:6379/3"),
        "tls-redis": put(config, "SESSIONSHOT_REDIS_URL", "rediss://redis:6379/0"),
    },
    "replicas": {"replicas-set": put(lambda m: m.deployment("worker")["spec"], "replicas", 2)},
    "env_names": {
        "typo": env("api", "SESSIONSHOT_MAX_SESSION", "20"),
        "typo-in-config": put(config, "SESSIONSHOT_S3_BUCKETS", "sessionshot"),
    },
    "secrets": {
        "inline-secret-key": env("worker", "SESSIONSHOT_SECRET_KEY", "0123456789abcdef"),
        "token-in-config": put(config, "SESSIONSHOT_ADMIN_TOKEN", "t" * 20),
        "aws-key-in-config": put(config, "AWS_SECRET_ACCESS_KEY", "k" * 20),
        "secret-listed": list_example_secret,
    },
    "settings": {
        "local-storage": put(config, "SESSIONSHOT_STORAGE", "local"),
        "malformed": env("api", "SESSIONSHOT_MAX_SESSIONS", "twenty"),
    },
    "hardening": {
        "writable-root": put(worker, "securityContext.readOnlyRootFilesystem", False),
        "service-links": put(api_pod, "enableServiceLinks", True),
        "disk-shm": put(api_pod, "volumes.1.emptyDir.medium", DELETE),
        "home-unwritable": env("worker", "HOME", "/srv"),
    },
    "sizing": {
        "too-many-sessions": env("api", "SESSIONSHOT_MAX_SESSIONS", "40"),
        "memory-overcommitted": put(worker, "resources.requests.memory", "1Gi"),
    },
    "commands": {
        "port-mismatch": put(api, "args.4", "9090"),
        "other-image": put(worker, "image", "sessionshot:old"),
    },
}


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return load_manifests()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_manifests_pass(manifests: Manifests, name: str) -> None:
    CHECKS[name](manifests)


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        pytest.param(name, mutate, id=f"{name}-{case}")
        for name, cases in MUTATIONS.items()
        for case, mutate in cases.items()
    ],
)
def test_each_check_fails_on_what_it_checks(
    manifests: Manifests, name: str, mutate: Mutation
) -> None:
    broken = copy.deepcopy(manifests)
    mutate(broken)
    with pytest.raises(AssertionError):
        CHECKS[name](broken)


def test_every_check_is_shown_to_fail() -> None:
    assert MUTATIONS.keys() == CHECKS.keys()


def test_the_example_secret_holds_only_placeholders() -> None:
    (secret,) = yaml.safe_load_all((KUBE_DIR / EXAMPLE_SECRET).read_text())
    assert secret["metadata"]["name"] == SECRET_NAME
    assert all(value.startswith("EXAMPLE-PLACEHOLDER") for value in secret["stringData"].values())
    kubernetes_validate.validate(secret, KUBE_VERSION, strict=True)
