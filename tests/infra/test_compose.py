"""Structural checks of infra/: no Docker engine or network needed, so what can drift is caught here.

The compose files parse, the Spark cluster builds from the project's own image, that image's pins
are the project's, every Spark key named is one Spark has, and the README's master URLs, command
and run-config snippet agree with the compose file, the CLI and the config.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SPARK_DIR = INFRA / "spark"
DOCKERFILE = SPARK_DIR / "Dockerfile"
SPARK_COMPOSE = SPARK_DIR / "docker-compose.yml"
README = INFRA / "README.md"
COMPOSE_FILES = sorted(path for pattern in ("docker-compose*.y*ml", "compose*.y*ml") for path in INFRA.rglob(pattern))
SPARK_SERVICES = ("spark-master", "spark-worker-1", "spark-worker-2")

# Every name found in pyspark 4.3.0's jars (spark-core, spark-catalyst, spark-sql-api). Add a key here
# only after checking it there or in Spark's configuration docs.
KNOWN_SPARK_KEYS = frozenset(
    {
        "spark.master",
        "spark.serializer",
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
    assert {"prefect/docker-compose.yml", "mlflow/docker-compose.yml", "spark/docker-compose.yml"} <= names


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


def test_spark_cluster_runs_the_project_image() -> None:
    services = spark_compose()["services"]
    for name in (*SPARK_SERVICES, "driver"):
        service = services[name]
        assert not str(service.get("image", "")).startswith("apache/spark"), f"{name} still uses apache/spark"
        build = service["build"]
        assert (SPARK_DIR / build["context"]).resolve() == ROOT, f"{name}: build context is not the repository root"
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE, f"{name}: not built from infra/spark/Dockerfile"
    assert services["spark-master"]["command"][:2] == ["spark-class", "org.apache.spark.deploy.master.Master"]
    for name in SPARK_SERVICES[1:]:
        command = services[name]["command"]
        assert command[:2] == ["spark-class", "org.apache.spark.deploy.worker.Worker"]
        assert services[name]["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert "driver" in services["driver"].get("profiles", []), "the driver service must not start with `up`"


def test_spark_services_share_the_data_root_at_the_same_path() -> None:
    same_path = re.compile(r"(\$\{WEBTEXT_DATA_DIR(?::-[^}]*)?\}):\1(:rw)?")
    for name, service in spark_compose()["services"].items():
        assert any(same_path.fullmatch(volume) for volume in service["volumes"]), (
            f"{name}: WEBTEXT_DATA_DIR must be mounted read-write at its own path"
        )


def test_spark_image_pins_the_projects_pyspark_and_python() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dockerfile_args()
    assert args["PYSPARK_VERSION"] == pinned_version("pyspark"), "Dockerfile's PYSPARK_VERSION differs from pyproject"
    assert re.search(r'pip install .*"pyspark==\$\{PYSPARK_VERSION\}"', text), "the image must install that pin"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-"), "workers must run the driver's Python minor (3.11)"
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", text, re.MULTILINE)
    assert "assert sys.version_info[:2] == (3, 11)" in text
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert ">=3.11" in requires, f"the image's Python 3.11 is outside requires-python {requires}"
    assert "openjdk-17-jre-headless" in text, "Spark 4 needs Java 17 (or 21)"
    assert "-c requirements.lock" in text, "dependencies are installed with the lock's pins"
    assert re.search(r"^\s*PYSPARK_PYTHON=/usr/local/bin/python3", text, re.MULTILINE)


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
    ignore = (SPARK_DIR / "Dockerfile.dockerignore").read_text(encoding="utf-8").split("\n")
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert ignore[ignore.index("*")] == "*", "the context is an allow-list"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        assert source in allowed, f"Dockerfile.dockerignore keeps {source} out of the build context"


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


def test_readme_run_config_snippet_is_a_valid_run_config(tmp_path: Path) -> None:
    from flows.config import load_run_config

    snippets = [block for block in readme_blocks("yaml") if "dedup:" in block]
    assert snippets, "the README shows the dedup.spark run-config section"
    for number, snippet in enumerate(snippets):
        path = tmp_path / f"run-{number}.yaml"
        path.write_text(snippet, encoding="utf-8")
        spark = load_run_config(path).dedup.spark
        assert spark.master.startswith("spark://")
        assert dict(spark.conf) and set(dict(spark.conf)) <= KNOWN_SPARK_KEYS


def test_readme_names_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for token in re.findall(r"`([\w.-]+(?:/[\w.-]+)+/?)`", text):
        first = token.split("/", 1)[0]
        if not ((INFRA / first).is_dir() or (ROOT / first).is_dir()):
            continue  # an image name (ghcr.io/mlflow/mlflow), not a path here
        assert (INFRA / token).exists() or (ROOT / token).exists(), f"infra/README.md names missing {token}"


def test_ray_cluster_yaml_parses_and_runs_python_311() -> None:
    cluster = load_yaml(INFRA / "ray" / "cluster.yaml")
    assert cluster["head_node_type"] in cluster["available_node_types"]
    assert cluster["provider"]["type"] == "aws"
    assert re.search(r"-py311(-|$)", cluster["docker"]["image"]), "Ray Client needs the driver's Python minor"
