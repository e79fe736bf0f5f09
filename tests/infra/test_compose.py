"""Structural checks of infra/: no Docker engine or network needed, so what can drift is caught here.

The compose files parse (and pass `docker compose config` where a Compose exists), every service that
runs the package builds from the project image (infra/Dockerfile), that image's pins are the
project's, every Spark key named is one Spark has, and the README's master URLs, command and
run-config snippet agree with the compose file, the CLI and the config. test_cluster.py checks the Ray
files and the cluster run config.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SPARK_DIR = INFRA / "spark"
DOCKERFILE = INFRA / "Dockerfile"
DOCKERIGNORE = INFRA / "Dockerfile.dockerignore"
SPARK_COMPOSE = SPARK_DIR / "docker-compose.yml"
README = INFRA / "README.md"
COMPOSE_FILES = sorted(path for pattern in ("docker-compose*.y*ml", "compose*.y*ml") for path in INFRA.rglob(pattern))
SPARK_SERVICES = ("spark-master", "spark-worker-1", "spark-worker-2")
# Every service that runs this package's Python, by compose file: they all build the project image.
PROJECT_IMAGE_SERVICES = {
    "spark/docker-compose.yml": (*SPARK_SERVICES, "driver"),
    "ray/docker-compose.yml": ("ray-head", "ray-worker-1", "ray-worker-2"),
    "prefect/docker-compose.yml": ("prefect-worker", "prefect-deploy"),
}
SHARED_NETWORK = "webtext"

# Every name found in pyspark 4.3.0's jars (spark-core, spark-catalyst, spark-sql-api). Add a key here
# only after checking it there or in Spark's configuration docs.
KNOWN_SPARK_KEYS = frozenset(
    {
        "spark.master",
        "spark.serializer",
        "spark.authenticate",
        "spark.authenticate.secret",
        "spark.authenticate.secret.file",
        "spark.network.crypto.enabled",
        "spark.master.rest.enabled",
        "spark.master.ui.decommission.allow.mode",
        "spark.ui.killEnabled",
        "spark.local.dir",
        "spark.cores.max",
        "spark.memory.fraction",
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.driver.port",
        "spark.driver.memory",
        "spark.driver.maxResultSize",
        "spark.executor.memory",
        "spark.executor.cores",
        "spark.blockManager.port",
        "spark.pyspark.python",
        "spark.ui.enabled",
        "spark.ui.showConsoleProgress",
        "spark.worker.cleanup.enabled",
        "spark.sql.adaptive.enabled",
        "spark.sql.adaptive.coalescePartitions.enabled",
        "spark.sql.adaptive.skewJoin.enabled",
        "spark.sql.shuffle.partitions",
        "spark.sql.session.timeZone",
        "spark.sql.parquet.compression.codec",
        "spark.sql.execution.arrow.maxRecordsPerBatch",
    }
)
# A Spark key in prose or config: not part of a longer dotted name (org.apache.spark.deploy, dedup.spark.master).
SPARK_KEY = re.compile(r"(?<![\w.$/-])spark\.[a-zA-Z][\w.]*[a-zA-Z]")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def spark_compose() -> dict[str, Any]:
    return load_yaml(SPARK_COMPOSE)


def pinned_version(package: str) -> str:
    """The exact pin of ``package`` among pyproject.toml's dependencies (extras allowed: ray[train]==X)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {dep: re.split(r"[=<>!~\[ ;]", dep, maxsplit=1)[0] for dep in dependencies}
    pins = [dep.split("==", 1)[1].strip() for dep, name in names.items() if name == package and "==" in dep]
    assert len(pins) == 1, f"pyproject.toml pins {package} exactly once, found {pins}"
    return pins[0]


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE))


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_infra_has_compose_files() -> None:
    names = {path.relative_to(INFRA).as_posix() for path in COMPOSE_FILES}
    expected = {"prefect/docker-compose.yml", "mlflow/docker-compose.yml", "spark/docker-compose.yml"}
    assert expected | {"ray/docker-compose.yml"} <= names


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_compose_file_parses_and_every_build_context_exists(path: Path) -> None:
    compose = load_yaml(path)
    assert isinstance(compose, dict) and compose.get("services"), f"{path}: no services"
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, f"{path}: service {name} has neither image nor build"
        build = service.get("build")
        if build is None:
            continue
        context = path.parent / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
        assert context.is_dir(), f"{path}: service {name} builds from a missing context {context}"
        assert dockerfile.is_file(), f"{path}: service {name} builds from a missing {dockerfile}"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_compose_bind_mounts_exist(path: Path) -> None:
    """A relative bind mount (./file) names a file in the repository; a stale one makes `up` fail."""
    for name, service in load_yaml(path)["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                assert (path.parent / source).exists(), f"{path}: service {name} mounts missing {source}"


@pytest.mark.parametrize("name", sorted(PROJECT_IMAGE_SERVICES))
def test_services_that_run_the_package_build_the_project_image(name: str) -> None:
    path = INFRA / name
    services = load_yaml(path)["services"]
    for service_name in PROJECT_IMAGE_SERVICES[name]:
        service = services[service_name]
        assert not str(service.get("image", "")).startswith(("apache/spark", "rayproject/")), service_name
        assert service["image"] == "webtext:local", f"{name}: {service_name} must tag the one project image"
        build = service["build"]
        assert (path.parent / build["context"]).resolve() == ROOT, f"{service_name}: context is not the repository root"
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE, f"{service_name}: not built from infra/Dockerfile"
        assert set(build["args"]) == {"WEBTEXT_UID", "WEBTEXT_GID"}, f"{service_name}: uid/gid of the data's owner"


def test_spark_roles_and_the_driver_profile() -> None:
    services = spark_compose()["services"]
    assert services["spark-master"]["command"][:2] == ["spark-class", "org.apache.spark.deploy.master.Master"]
    for name in SPARK_SERVICES[1:]:
        command = services[name]["command"]
        assert command[:2] == ["spark-class", "org.apache.spark.deploy.worker.Worker"]
        assert services[name]["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert "driver" in services["driver"].get("profiles", []), "the driver service must not start with `up`"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_compose_files_share_one_external_network(path: Path) -> None:
    """Services of different files reach each other by name (ray-head, mlflow, spark-master, prefect-server)."""
    compose = load_yaml(path)
    network = compose.get("networks", {}).get("default", {})
    assert network == {"name": SHARED_NETWORK, "external": True}, f"{path}: default network is not {SHARED_NETWORK}"
    for name, service in compose["services"].items():
        assert "networks" not in service and service.get("network_mode") is None, f"{path}: {name} leaves it"
    assert f"docker network create {SHARED_NETWORK}" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(PROJECT_IMAGE_SERVICES))
def test_project_services_share_the_data_root_and_the_checkout_at_the_same_paths(name: str) -> None:
    same_path = re.compile(r"(\$\{WEBTEXT_DATA_DIR(?::-[^}]*)?\}):\1(:rw)?")
    services = load_yaml(INFRA / name)["services"]
    for service_name in PROJECT_IMAGE_SERVICES[name]:
        volumes = services[service_name]["volumes"]
        assert any(same_path.fullmatch(volume) for volume in volumes), (
            f"{service_name}: WEBTEXT_DATA_DIR must be mounted read-write at its own path"
        )
        # The image installs the package editable from /opt/webtext: the checkout mounted there is what runs.
        assert "../..:/opt/webtext:ro" in volumes, f"{service_name}: the checkout is not mounted at /opt/webtext"


def test_project_image_pins_the_projects_python_pyspark_and_ray() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dockerfile_args()
    assert args["PYSPARK_VERSION"] == pinned_version("pyspark"), "Dockerfile's PYSPARK_VERSION differs from pyproject"
    assert args["RAY_VERSION"] == pinned_version("ray"), "Dockerfile's RAY_VERSION differs from pyproject"
    assert re.search(r'"pyspark==\$\{PYSPARK_VERSION\}" "ray\[default\]==\$\{RAY_VERSION\}"', text)
    assert "assert ray.__version__ == '${RAY_VERSION}'" in text and "import grpc" in text, "Ray Client needs grpcio"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-"), "workers must run the driver's Python minor (3.11)"
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", text, re.MULTILINE)
    assert "assert sys.version_info[:2] == (3, 11)" in text
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert ">=3.11" in requires, f"the image's Python 3.11 is outside requires-python {requires}"
    assert "openjdk-17-jre-headless" in text, "Spark 4 needs Java 17 (or 21)"
    assert "-c /tmp/constraints.txt" in text, "dependencies are installed with the lock's pins"
    assert re.search(r"^\s*PYSPARK_PYTHON=/usr/local/bin/python3", text, re.MULTILINE)
    assert "pip install --no-deps -e ." in text, "editable, so the mounted checkout is the code that runs"
    assert "--force-reinstall --no-deps -c /tmp/constraints.txt fasttext-numpy2-wheel" in text, "as `make venv`"


def test_project_image_gets_the_locked_torch_build_from_its_index() -> None:
    """The lock pins torch's CPU build (X+cpu), which PyPI lacks: the image adds PyTorch's index for that tag."""
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    (torch,) = re.findall(r"^torch==(.+)$", lock, re.MULTILINE)
    version, _, local = torch.partition("+")
    assert version == pinned_version("torch")
    args = dockerfile_args()
    assert args["TORCH_LOCAL_VERSION"] == local
    assert args["TORCH_INDEX_URL"] == f"https://download.pytorch.org/whl/{local}"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert '--extra-index-url "${TORCH_INDEX_URL}"' in text
    rewrite = re.search(r'sed -E "(s/.+/)" requirements\.lock', text).group(1)
    pattern, replacement = rewrite[2:-1].split("/")
    pattern = pattern.replace("\\+", "\\+")
    rewritten = re.sub(
        pattern, replacement.replace("${TORCH_LOCAL_VERSION}", "cu128").replace("\\1", "\\g<1>"), f"torch=={torch}"
    )
    assert rewritten == f"torch=={version}+cu128", "a GPU build swaps the local version tag only"


def test_dockerfile_copies_every_package_and_the_ignore_file_lets_them_through() -> None:
    sources = [
        source
        for line in re.findall(r"^COPY (.+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
        for source in line.split()[:-1]
    ]
    include = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    packages = {pattern.rstrip("*") for pattern in include["find"]["include"]}
    assert packages <= set(sources), f"the image must copy every package: {sorted(packages - set(sources))}"
    assert {"pyproject.toml", "requirements.lock", "README.md"} <= set(sources)
    ignore = DOCKERIGNORE.read_text(encoding="utf-8").split("\n")
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert ignore[ignore.index("*")] == "*", "the context is an allow-list"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        assert source in allowed, f"Dockerfile.dockerignore keeps {source} out of the build context"


def test_no_other_dockerfile_installs_the_package() -> None:
    """One project image: a second copy of the install recipe would drift (Spark's used to be separate)."""
    dockerfiles = sorted(path.relative_to(INFRA).as_posix() for path in INFRA.rglob("Dockerfile*"))
    assert dockerfiles == ["Dockerfile", "Dockerfile.dockerignore", "mlflow/Dockerfile"]


def test_mlflow_server_is_at_least_the_client_and_accepts_its_service_name() -> None:
    compose = load_yaml(INFRA / "mlflow" / "docker-compose.yml")
    mlflow = compose["services"]["mlflow"]
    image = mlflow["build"]["args"]["MLFLOW_IMAGE"]
    server = re.search(r":v(\d+(?:\.\d+)*)\}$", image).group(1)
    arg = re.search(r"^ARG MLFLOW_IMAGE=\S+:v(\S+)$", (INFRA / "mlflow" / "Dockerfile").read_text(), re.MULTILINE)
    assert arg.group(1) == server, "mlflow/Dockerfile and its compose file name the same image"

    def as_tuple(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    assert as_tuple(server) >= as_tuple(pinned_version("mlflow")), "the server must not be older than the client"
    command = mlflow["command"]
    assert command[command.index("--backend-store-uri") + 1].startswith("postgresql+psycopg2://")
    assert "--serve-artifacts" in command and "--artifacts-destination" in command
    assert "mlflow-postgres" in compose["services"], "run metadata in a database, not a file in the container"
    # MLflow >= 3.5 refuses Host headers outside MLFLOW_SERVER_ALLOWED_HOSTS; clients in the network send mlflow:5000.
    allowed = re.fullmatch(r"\$\{MLFLOW_ALLOWED_HOSTS:-(.+)\}", mlflow["environment"]["MLFLOW_SERVER_ALLOWED_HOSTS"])
    assert allowed and {"mlflow", "mlflow:*", "localhost:*"} <= set(allowed.group(1).split(","))


def test_prefect_worker_polls_the_deployments_pool_in_the_project_image() -> None:
    services = load_yaml(INFRA / "prefect" / "docker-compose.yml")["services"]
    prefect_yaml = load_yaml(ROOT / "prefect.yaml")
    (deployment,) = prefect_yaml["deployments"]
    pool = deployment["work_pool"]["name"]
    worker = services["prefect-worker"]
    assert worker["command"] == ["prefect", "worker", "start", "--pool", pool, "--type", "process"]
    server_port = services["prefect-server"]["ports"][0].split(":")[-1]
    for name in ("prefect-worker", "prefect-deploy"):
        service = services[name]
        assert service["environment"]["PREFECT_API_URL"] == f"http://prefect-server:{server_port}/api"
        assert service["working_dir"] == "/opt/webtext", "prefect.yaml's pull step sends runs to the deploy's $PWD"
        assert service["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    deploy = services["prefect-deploy"]
    assert "deploy" in deploy["profiles"], "a one-shot step, not part of `up`"
    script = deploy["command"][-1]
    assert f"prefect work-pool create {pool} --type process --overwrite" in script
    assert f"deploy --name {deployment['name']}" in script and "flows/configs/cluster.yaml" in script
    assert "{{ $PWD }}" in str(prefect_yaml["pull"])


def compose_command() -> tuple[list[str], bool] | None:
    """`docker compose` (v2), else `docker-compose` (v1, which predates the top-level `name:`), else None."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"], True
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy], False
    return None


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_docker_compose_config_accepts_the_file(path: Path, tmp_path: Path) -> None:
    """Compose's own validation (schema, interpolation, merges); needs the Compose CLI, not an engine."""
    found = compose_command()
    if found is None:
        pytest.skip("neither `docker compose` (v2 plugin) nor `docker-compose` (v1) is installed")
    command, v2 = found
    env = {**os.environ, "WEBTEXT_DATA_DIR": "/srv/webtext"}
    if v2:
        argv = [*command, "-f", str(path), "config", "-q"]
    else:  # v1 rejects `name:`; the copy keeps relative paths resolving from the file's own folder
        copy = tmp_path / path.name
        copy.write_text(re.sub(r"^name: .*\n", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE))
        argv = [*command, "-f", str(copy), "--project-directory", str(path.parent), "config", "-q"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stderr}"


def test_spark_keys_named_under_infra_exist() -> None:
    files = [path for path in INFRA.rglob("*") if path.is_file() and ".env" not in path.name]
    found = {key: path for path in files for key in SPARK_KEY.findall(path.read_text(encoding="utf-8"))}
    assert found, "the README names the Spark settings a cluster run needs"
    unknown = {key: str(path.relative_to(ROOT)) for key, path in found.items() if key not in KNOWN_SPARK_KEYS}
    assert not unknown, f"not Spark configuration keys: {unknown}"


def test_spark_defaults_files_name_real_keys_only() -> None:
    for path in INFRA.rglob("spark-defaults.conf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key = line.split()[0]
                assert key in KNOWN_SPARK_KEYS, f"{path}: unknown Spark key {key}"


def test_master_urls_in_readme_and_comments_match_the_compose_file() -> None:
    services = spark_compose()["services"]
    command = services["spark-master"]["command"]
    host, port = command[command.index("--host") + 1], command[command.index("--port") + 1]
    published = {mapping.split(":")[1]: mapping.split(":")[0] for mapping in services["spark-master"]["ports"]}
    assert services["spark-master"]["hostname"] == host
    for name in SPARK_SERVICES[1:]:
        assert services[name]["command"][-1] == f"spark://{host}:{port}"
    texts = README.read_text(encoding="utf-8") + SPARK_COMPOSE.read_text(encoding="utf-8")
    urls = set(re.findall(r"spark://(localhost|[\w-]+):(\d+)", texts))
    assert ("localhost", published[port]) in urls and (host, port) in urls
    for url_host, url_port in urls:
        if url_host == "localhost":
            assert url_port == published[port], f"spark://localhost:{url_port}: the master is published on {port}"
        elif url_host == host:
            assert url_port == port, f"spark://{host}:{url_port}: the master listens on {port}"


def test_readme_dedup_commands_parse_with_the_cli() -> None:
    from pipeline.cli import build_parser

    commands = [
        block[block.index("webtext dedup") :]
        for block in readme_blocks("bash")
        if "webtext dedup" in block and "--spark-master" in block
    ]
    assert len(commands) == 2, "the README shows a driver in the image and one on the Docker host"
    for command in commands:
        command = command.replace("\\\n", " ").replace("$WEBTEXT_DATA_DIR", "/srv/webtext")
        argv = shlex.split(command, comments=True)
        args = build_parser().parse_args(argv[1:])
        assert args.command == "dedup"
        assert "--spark-auth-secret-file" in argv, "a driver of the cluster authenticates (spark.authenticate)"


def test_readme_run_config_snippet_names_a_master_its_secret_and_real_spark_keys() -> None:
    """Read as plain YAML (the run config's loader is checked by tests/flows and tests/test_docs.py)."""
    snippets = [yaml.safe_load(block) for block in readme_blocks("yaml") if "services:" in block]
    assert snippets, "the README shows the services.spark run-config section"
    for snippet in snippets:
        assert set(snippet) <= {"data_root", "services"}
        spark = snippet["services"]["spark"]
        assert spark["master"].startswith("spark://")
        assert spark["auth_secret_file"].endswith("/spark_secret"), "a cluster driver needs the shared secret"
        assert spark["conf"] and set(spark["conf"]) <= KNOWN_SPARK_KEYS
        assert "spark.authenticate.secret" not in spark["conf"], "the secret comes from its file"


def test_readme_names_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for token in re.findall(r"`([\w.-]+(?:/[\w.-]+)+/?)`", text):
        if token.startswith("infra/secrets/"):
            continue  # made by infra/make-secrets.sh, never committed (test_auth checks the script)
        first = token.split("/", 1)[0]
        if not ((INFRA / first).is_dir() or (ROOT / first).is_dir()):
            continue  # an image name (ghcr.io/mlflow/mlflow), not a path here
        assert (INFRA / token).exists() or (ROOT / token).exists(), f"infra/README.md names missing {token}"
