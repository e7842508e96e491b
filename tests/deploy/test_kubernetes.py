"""deploy/k8s/: every manifest is valid for Kubernetes, and the pieces fit together.

Validity is checked against the Kubernetes OpenAPI schemas bundled in the `kubernetes-validate`
package (offline), in strict mode, which also rejects fields Kubernetes does not know. The rest
checks what a cluster would only reveal at run time: names that must match across files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from assistant.services.model_files import PACKAGED
from tests.deploy.helpers import K8S, image_settings, load_yaml_documents, setting_name, settings_names, uploads_dir

# The newest Kubernetes the package knows, and an older one still in wide use.
VERSIONS = ["1.30.0", "1.37.0"]
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))
MANIFESTS = sorted(path for path in K8S.rglob("*.yaml") if path.name != "kustomization.yaml")
EXAMPLE_SECRETS = K8S / "secret.example.yaml"


def resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in load_yaml_documents(path)]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in resources() if doc["kind"] == kind}


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in resources():
        if doc["kind"] in {"Deployment", "Job"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name, pod in pod_specs():
        for container in pod["containers"]:
            yield name, pod, container


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: str(path.relative_to(K8S)))
def test_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for doc in load_yaml_documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_rejects_what_kubernetes_would() -> None:
    deployment = of_kind("Deployment")["enclave-web"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError, match="paht"):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_every_manifest_is_applied_by_exactly_one_kustomization_except_the_example_secrets() -> None:
    listed: list[Path] = []
    for kustomization in KUSTOMIZATIONS:
        (spec,) = load_yaml_documents(kustomization)
        assert spec["kind"] == "Kustomization" and spec["namespace"] == "enclave"
        listed += [(kustomization.parent / resource).resolve() for resource in spec["resources"]]
    assert all(path.is_file() for path in listed)
    assert sorted(listed) == sorted(path for path in MANIFESTS if path != EXAMPLE_SECRETS)


def test_both_kustomizations_deploy_the_same_image() -> None:
    images = [load_yaml_documents(path)[0]["images"] for path in KUSTOMIZATIONS]
    assert len(KUSTOMIZATIONS) == 2 and images[0] == images[1]
    used = {container["image"].split(":")[0] for _, _, container in containers()}
    assert used == {image["name"] for image in images[0]}  # the name kustomize replaces


def test_every_resource_lives_in_the_enclave_namespace() -> None:
    for doc in resources():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "enclave", doc["metadata"]["name"]


def test_pods_run_as_the_image_user_without_privileges_on_a_read_only_root() -> None:
    for name, pod, container in containers():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name  # the Dockerfile's user
        assert pod["automountServiceAccountToken"] is False, name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        # /tmp stays writable: spooled uploads, caches, beat's schedule.
        assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"]), name  # noqa: S108


def test_every_container_has_resource_requests_and_limits() -> None:
    for name, _, container in containers():
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
    web = of_kind("Deployment")["enclave-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"]["requests"]["memory"] == "2560Mi"  # the model, the embedder, torch, Django


def test_roles_and_replicas() -> None:
    deployments = of_kind("Deployment")
    roles = {name: doc["spec"]["template"]["spec"]["containers"][0]["args"] for name, doc in deployments.items()}
    assert roles == {"enclave-web": ["web"], "enclave-worker": ["worker"], "enclave-beat": ["beat"]}
    assert deployments["enclave-web"]["spec"]["replicas"] == 2
    beat = deployments["enclave-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"  # never two beats
    (job,) = of_kind("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_web_probes_ask_the_health_endpoints_as_an_allowed_host() -> None:
    web = of_kind("Deployment")["enclave-web"]["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"] for port in web["ports"]}
    paths = {probe: web[probe]["httpGet"]["path"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert paths == {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/livez"}
    config = of_kind("ConfigMap")["enclave-config"]["data"]
    allowed = config["ENCLAVE_ALLOWED_HOSTS"].split(",")
    for probe in paths:
        assert web[probe]["httpGet"]["port"] in ports
        headers = {header["name"]: header["value"] for header in web[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in allowed  # else Django answers 400 and the pod never becomes ready
    assert web["startupProbe"]["periodSeconds"] * web["startupProbe"]["failureThreshold"] >= 120


def test_config_map_sets_only_variables_enclave_reads() -> None:
    config = of_kind("ConfigMap")["enclave-config"]["data"]
    assert set(config) - settings_names() == set()
    assert all(isinstance(value, str) for value in config.values())  # a ConfigMap holds strings only


def test_secret_files_named_by_the_pods_exist_in_the_secrets() -> None:
    """Each NAME_FILE points into a mounted Secret, at a key that Secret has (else start-up fails)."""
    secrets = {name: doc["stringData"] for name, doc in of_kind("Secret").items()}
    for name, pod, container in containers():
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
        for variable in container["env"]:
            assert setting_name(variable["name"]) in settings_names(), variable["name"]
            if not variable["name"].endswith("_FILE"):
                continue
            directory, key = variable["value"].rsplit("/", 1)
            secret_name = mounts[directory]["secret"]["secretName"]
            assert key in secrets[secret_name], (name, variable["name"])
            assert key == setting_name(variable["name"])


def test_only_the_migrate_job_gets_the_owner_role() -> None:
    for name, pod, _ in containers():
        owner_mounted = any(v.get("secret", {}).get("secretName") == "enclave-db-owner" for v in pod["volumes"])
        assert owner_mounted == (name == "enclave-migrate"), name


def test_web_and_worker_share_the_uploads_volume_where_the_settings_put_uploads() -> None:
    (claim,) = of_kind("PersistentVolumeClaim").values()
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # web and worker pods on any node
    for name in ("enclave-web", "enclave-worker"):
        pod = of_kind("Deployment")[name]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
        assert mount["mountPath"] == uploads_dir()
        assert pod["securityContext"]["fsGroup"] == 10001  # the volume is writable by the app user


def test_the_service_and_ingress_reach_the_web_pods() -> None:
    service = of_kind("Service")["enclave-web"]
    web = of_kind("Deployment")["enclave-web"]["spec"]["template"]
    assert service["spec"]["selector"].items() <= web["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in {port["name"] for port in web["spec"]["containers"][0]["ports"]}
    (ingress,) = of_kind("Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "enclave-web"
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    host = ingress["spec"]["rules"][0]["host"]
    config = of_kind("ConfigMap")["enclave-config"]["data"]
    assert host in config["ENCLAVE_ALLOWED_HOSTS"].split(",")
    assert f"https://{host}" in config["ENCLAVE_CSRF_TRUSTED_ORIGINS"].split(",")


def readme_manifests() -> list[dict[str, Any]]:
    text = (K8S.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc is not None]


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_shown_in_the_readme_are_valid_kubernetes(version: str) -> None:
    docs = readme_manifests()
    assert {doc["kind"] for doc in docs} == {"Deployment", "Service"}  # the llama-server pool
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_readme_pool_serves_the_model_baked_into_the_image() -> None:
    deployment = next(doc for doc in readme_manifests() if doc["kind"] == "Deployment")
    (copy,) = deployment["spec"]["template"]["spec"]["initContainers"]
    model = PACKAGED["qwen2.5-coder-1.5b"].filename
    assert copy["command"][:2] == ["cp", f"{image_settings('DATA_DIR')[0]}/models/{model}"]
