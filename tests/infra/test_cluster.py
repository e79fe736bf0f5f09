"""The Ray side of infra/ and the cluster run config: no cluster, engine or network needed.

The Ray compose cluster, the autoscaler's cluster.yaml and the KubeRay manifest all run the pinned Ray on
Python 3.11; cluster.yaml passes Ray's own validation; kuberay.yaml has what a RayCluster needs (and
matches KubeRay's CRD when one is at hand); flows/configs/cluster.yaml's ``services`` section names, for
every engine, a service the compose files define, on the port that service listens on, and the secret
files those compose files mount in the flow's container. test_auth.py checks the credentials themselves.

The run config is read as plain YAML here, not through flows.config: these tests check the file's
agreement with infra/, whatever the loader does with it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
RAY_DIR = INFRA / "ray"
RAY_COMPOSE = RAY_DIR / "docker-compose.yml"
CLUSTER_YAML = RAY_DIR / "cluster.yaml"
KUBERAY = RAY_DIR / "kuberay.yaml"
RUN_CONFIG = ROOT / "flows" / "configs" / "cluster.yaml"
# KubeRay's RayCluster CRD (ray-operator/config/crd/bases/ray.io_rayclusters.yaml), when a copy is at hand.
KUBERAY_CRD = os.environ.get("KUBERAY_CRD")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pinned_version(package: str) -> str:
    """The exact pin of ``package`` among pyproject.toml's dependencies (extras allowed: ray[train]==X)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [
        dep.split("==", 1)[1].strip() for dep in dependencies if re.split(r"[=<>!~\[ ;]", dep, maxsplit=1)[0] == package
    ]
    assert len(pins) == 1, f"pyproject.toml pins {package} exactly once, found {pins}"
    return pins[0]


def compose(name: str) -> dict[str, Any]:
    return load_yaml(INFRA / name / "docker-compose.yml")


def flags(command: list[str]) -> dict[str, str]:
    """`--key=value` arguments of a command list."""
    return dict(part[2:].split("=", 1) for part in command if part.startswith("--") and "=" in part)


def kuberay_documents() -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(KUBERAY.read_text(encoding="utf-8")) if document]


def ray_cluster() -> dict[str, Any]:
    (cluster,) = [document for document in kuberay_documents() if document["kind"] == "RayCluster"]
    return cluster


# --- the Ray compose cluster ---


def test_ray_compose_runs_a_head_and_two_workers_of_the_pinned_ray() -> None:
    services = compose("ray")["services"]
    head = services["ray-head"]
    head_flags = flags(head["command"])
    assert head["command"][:3] == ["ray", "start", "--head"] and "--block" in head["command"]
    assert head_flags["port"] == "6379" and head_flags["ray-client-server-port"] == "10001"
    assert head_flags["dashboard-host"] == "0.0.0.0"
    published = {mapping.rsplit(":", 2)[-1] for mapping in head["ports"]}
    assert {"10001", "8265"} <= published and "6379" not in published, "Ray Client and dashboard only"
    workers = [name for name in services if name.startswith("ray-worker-")]
    assert len(workers) == 2
    for name in workers:
        service = services[name]
        assert service["command"][:2] == ["ray", "start"] and "--block" in service["command"]
        assert flags(service["command"])["address"] == f"{head['hostname']}:{head_flags['port']}"
        assert service["depends_on"]["ray-head"]["condition"] == "service_healthy"
    # The project image is where Ray's version is fixed: its RAY_VERSION is the pin (test_compose checks
    # that the image installs and asserts it), and every Ray node here runs that image.
    for name in ("ray-head", *workers):
        assert (
            services[name]["build"]["dockerfile"] == "infra/Dockerfile" and services[name]["image"] == "webtext:local"
        )


def test_ray_image_version_is_the_pinned_ray() -> None:
    dockerfile = (INFRA / "Dockerfile").read_text(encoding="utf-8")
    (version,) = re.findall(r"^ARG RAY_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert version == pinned_version("ray")
    lock = dict(line.split("==", 1) for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line)
    assert lock["ray"] == version, "requirements.lock and pyproject.toml pin the same Ray"


def test_ray_nodes_have_shared_memory() -> None:
    services = compose("ray")["services"]
    for name, service in services.items():
        size = re.fullmatch(r"\$\{RAY_SHM_SIZE:-(\d+)gb\}", service["shm_size"])
        store = re.search(r"--object-store-memory=\$\{RAY_OBJECT_STORE_MEMORY:-(\d+)\}", " ".join(service["command"]))
        assert size and store and int(store.group(1)) < int(size.group(1)) * 10**9, f"{name}: store > /dev/shm"
    for mapping in services["ray-head"]["ports"]:
        assert mapping.startswith("${RAY_PUBLISH_HOST:-127.0.0.1}:"), (
            "published on the Docker host's loopback by default"
        )


# --- Ray autoscaler (AWS) ---


def test_ray_cluster_yaml_runs_the_pinned_ray_on_python_311() -> None:
    cluster = load_yaml(CLUSTER_YAML)
    assert cluster["head_node_type"] in cluster["available_node_types"]
    assert cluster["provider"]["type"] == "aws"
    image = re.fullmatch(r"rayproject/ray:(\d+\.\d+\.\d+)-py311(-gpu)?", cluster["docker"]["image"])
    assert image, "Ray Client needs the driver's Python minor (3.11)"
    assert image.group(1) == pinned_version("ray"), "the image's Ray must be the pinned one"
    setup = "\n".join(cluster["setup_commands"])
    assert "pip install -c /tmp/webtext-constraints.txt -e /home/ray/webtext" in setup
    assert "grep -v '^torch=='" in setup, "GPU nodes keep PyPI's CUDA torch, not the lock's CPU build"
    assert f"ray.__version__ == '{pinned_version('ray')}'" in setup
    head = " ".join(cluster["head_start_ray_commands"])
    assert "--ray-client-server-port=10001" in head and "--port=6379" in head


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_cluster_yaml_passes_rays_own_validation() -> None:
    """What `ray up` checks before it touches AWS."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(load_yaml(CLUSTER_YAML)))


# --- KubeRay ---


def test_kuberay_manifest_is_a_ray_cluster_of_the_project_image() -> None:
    cluster = ray_cluster()
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["metadata"]["name"]
    spec = cluster["spec"]
    assert spec["rayVersion"] == pinned_version("ray")
    head = spec["headGroupSpec"]
    params = head["rayStartParams"]
    assert all(isinstance(value, str) for value in params.values()), "rayStartParams values are strings"
    assert params["dashboard-host"] == "0.0.0.0" and params["ray-client-server-port"] == "10001"
    (head_container,) = head["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in head_container["ports"]}
    assert ports == {"gcs-server": 6379, "dashboard": 8265, "client": 10001}
    groups = {group["groupName"]: group for group in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for name, group in groups.items():
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
        assert isinstance(group["rayStartParams"], dict)
        (container,) = group["template"]["spec"]["containers"]
        limits = container["resources"]["limits"]
        assert ("nvidia.com/gpu" in limits) == (name == "gpu")
    containers = [head_container] + [group["template"]["spec"]["containers"][0] for group in groups.values()]
    images = {container["image"] for container in containers}
    assert images == {"webtext:local", "webtext:local-gpu"}, "the project image (and its CUDA build)"
    for container in containers:
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts["/srv/webtext"] == "webtext-data" and mounts["/dev/shm"] == "dshm"
    assert spec["authOptions"]["mode"] == "token"


def test_kuberay_shared_volume_claim_is_read_write_many() -> None:
    claims = [document for document in kuberay_documents() if document["kind"] == "PersistentVolumeClaim"]
    assert [claim["metadata"]["name"] for claim in claims] == ["webtext-data"]
    assert claims[0]["spec"]["accessModes"] == ["ReadWriteMany"], "every pod writes the run's shards"


@pytest.mark.skipif(not KUBERAY_CRD, reason="set KUBERAY_CRD to KubeRay's ray.io_rayclusters.yaml to check the schema")
def test_kuberay_manifest_matches_the_crd_schema() -> None:
    import jsonschema

    crd = yaml.safe_load(Path(KUBERAY_CRD).read_text(encoding="utf-8"))
    (version,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    schema = version["schema"]["openAPIV3Schema"]
    jsonschema.validate(ray_cluster(), schema)
    unknown = list(unknown_fields(ray_cluster(), schema, "RayCluster"))
    assert not unknown, f"fields the CRD does not have (the API server drops them): {unknown}"


def unknown_fields(value: Any, schema: dict[str, Any], path: str):
    if isinstance(value, dict) and schema.get("properties") is not None and path != "RayCluster.metadata":
        for key, item in value.items():
            if key not in schema["properties"]:
                yield f"{path}.{key}"
            else:
                yield from unknown_fields(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from unknown_fields(item, schema["items"], f"{path}[{index}]")


# --- the cluster run config ---


def run_config() -> dict[str, Any]:
    return load_yaml(RUN_CONFIG)


def run_services() -> dict[str, Any]:
    return run_config()["services"]


def test_cluster_run_config_keeps_every_path_under_the_shared_data_root() -> None:
    config = run_config()
    data_dir = Path("/srv/webtext")  # WEBTEXT_DATA_DIR's default in every compose file
    data_root = Path(config["data_root"])
    assert data_root.is_absolute() and data_root.is_relative_to(data_dir)
    inputs = [
        *config["harvest"]["dumps"],
        *(spec.split("=", 1)[1] for spec in config["decontaminate"]["eval_sets"]),
        config["tokenize"]["gpt2_vocab_dir"],
        config["evaluate"]["data_dir"],
    ]
    for path in inputs:
        assert Path(path).is_relative_to(data_dir), f"{path}: not where every container sees it"
    assert run_services()["task_runner"]["kind"] == "ray"


def service_port(file: str, service: str) -> set[str]:
    """The ports a service listens on inside the network: its command's port flags and its published targets."""
    definition = compose(file)["services"][service]
    command = definition.get("command", [])
    command = command if isinstance(command, list) else command.split()
    ports = {value for key, value in flags(command).items() if key.endswith("port")}
    ports |= {command[index + 1] for index, part in enumerate(command[:-1]) if part in ("--port",)}
    ports |= {mapping.rsplit(":", 1)[-1] for mapping in definition.get("ports", [])}
    return ports


def test_cluster_run_config_points_every_engine_at_a_compose_service() -> None:
    services = run_services()
    endpoints = {
        "services.ray.address": (services["ray"]["address"], "ray", "ray-head", "ray"),
        "services.spark.master": (services["spark"]["master"], "spark", "spark-master", "spark"),
        "services.mlflow.tracking_uri": (services["mlflow"]["tracking_uri"], "mlflow", "mlflow", "http"),
    }
    for field, (uri, file, service, scheme) in endpoints.items():
        url = urllib.parse.urlsplit(uri)
        assert url.scheme == scheme, f"{field}: {uri}"
        assert url.hostname == service, f"{field}: {uri} does not name the {service} service"
        definition = compose(file)["services"][service]
        assert definition.get("hostname", service) == service
        assert str(url.port) in service_port(file, service), f"{field}: {service} does not listen on {url.port}"
    # The Ray Client port specifically (6379 is the GCS, which a ray:// client cannot use).
    head_flags = flags(compose("ray")["services"]["ray-head"]["command"])
    assert urllib.parse.urlsplit(services["ray"]["address"]).port == int(head_flags["ray-client-server-port"])
    # The defaults the Ray nodes and the Prefect worker get agree with the config.
    for name in ("ray", "prefect"):
        for service_name, service in compose(name)["services"].items():
            environment = service.get("environment", {})
            if "MLFLOW_TRACKING_URI" in environment:
                assert environment["MLFLOW_TRACKING_URI"].endswith(f"{services['mlflow']['tracking_uri']}}}"), (
                    service_name
                )
    prefect = compose("prefect")["services"]
    for service in compose("ray")["services"].values():
        assert service["environment"]["PREFECT_API_URL"].endswith(
            f"{prefect['prefect-worker']['environment']['PREFECT_API_URL']}}}"
        ), "tasks on Ray report to the server the flow reports to"


def test_cluster_run_config_names_the_secret_files_the_worker_mounts() -> None:
    """The flow runs in the Prefect worker's container: its run config's secret files are the ones mounted there."""
    services = run_services()
    worker = compose("prefect")["services"]["prefect-worker"]
    mounted = {f"/run/secrets/{name}" for name in worker["secrets"]}
    assert services["ray"]["token_file"] == "/run/secrets/ray_token" in mounted
    assert services["ray"]["token_file"] == worker["environment"]["RAY_AUTH_TOKEN_PATH"], "one token, two readers"
    assert services["spark"]["auth_secret_file"] == "/run/secrets/spark_secret" in mounted
    # The master's and the workers' secret: the same file of the secrets folder (test_auth checks the folder).
    spark = compose("spark")
    for name in ("spark-master", "spark-worker-1", "spark-worker-2"):
        assert "spark_secret" in spark["services"][name]["secrets"], name
    assert spark["secrets"]["spark_secret"] == compose("prefect")["secrets"]["spark_secret"]
    assert "mlflow" in services and not set(services["mlflow"]) & {"username", "password"}, "credentials: env only"


def test_prefect_deploy_step_names_the_cluster_run_config() -> None:
    script = compose("prefect")["services"]["prefect-deploy"]["command"][-1]
    path = re.search(r'"config_path": "\$\{WEBTEXT_RUN_CONFIG:-([^}]+)\}"', script).group(1)
    assert (ROOT / path).resolve() == RUN_CONFIG
