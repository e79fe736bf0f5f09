"""Locked by default: every service of infra/ asks for credentials, and no credential is committed.

Structural checks of the compose files, the Ray cluster files and the MLflow image (no Docker here), plus
real runs of the two scripts that handle secrets: make-secrets.sh (0700 folder, 0600 files, never
overwrites) and secrets-env.sh (the entry point that turns secret files into environment variables).
Ray's token: every Ray node and client has RAY_AUTH_MODE=token and a token file. Prefect: the server has
an auth string, every client sends it. MLflow: the basic-auth app. Spark: spark.authenticate on master,
workers and drivers. Postgres: a password from a file, never a default.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAKE_SECRETS = INFRA / "make-secrets.sh"
SECRETS_ENV = INFRA / "secrets-env.sh"
SPARK_AUTH = INFRA / "spark" / "spark-auth.sh"
COMPOSE_FILES = {name: INFRA / name / "docker-compose.yml" for name in ("prefect", "mlflow", "ray", "spark")}
# Where a container finds the secrets compose mounts, and where they come from on the Docker host.
SECRET_MOUNT = "/run/secrets"
SECRET_SOURCE = re.compile(r"\$\{WEBTEXT_SECRETS_DIR:-\.\./secrets\}/(\w+)")
# A variable whose value would be a credential: such a variable may only name a file (_FILE, _PATH).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH_STRING|PGPASS", re.IGNORECASE)
# What a generated secret looks like (make-secrets.sh, `ray get-auth-token`: 64 hex digits), or a key.
RANDOM_LITERAL = re.compile(r"(?<![\w-])[A-Fa-f0-9]{32,}(?![\w-])|-----BEGIN [A-Z ]*PRIVATE KEY-----")
# RAY_AUTH_MODE set to something: in YAML, a shell or a -e flag.
RAY_AUTH_MODE_SET = re.compile(r"RAY_AUTH_MODE[\"']?\s*[:=]\s*[\"']?([^\s\"'`,;)]+)")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose(name: str) -> dict[str, Any]:
    return load_yaml(COMPOSE_FILES[name])


def all_services() -> list[tuple[str, str, dict[str, Any]]]:
    return [(file, name, service) for file in COMPOSE_FILES for name, service in compose(file)["services"].items()]


def service_params() -> list[Any]:
    return [pytest.param(file, name, service, id=f"{file}/{name}") for file, name, service in all_services()]


def made_secrets() -> set[str]:
    """The secret files make-secrets.sh makes (its make_secret lines)."""
    return set(re.findall(r"^make_secret (\w+) ", MAKE_SECRETS.read_text(encoding="utf-8"), re.MULTILINE))


def wrapped_variables() -> set[str]:
    """The variables secrets-env.sh fills from VAR_FILE."""
    text = SECRETS_ENV.read_text(encoding="utf-8")
    return set(re.search(r'SECRET_VARIABLES="([^"]*)"', text).group(1).split())


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", [])
    return command if isinstance(command, str) else " ".join(map(str, command))


def infra_files() -> list[Path]:
    return [path for path in INFRA.rglob("*") if path.is_file() and "secrets" not in path.relative_to(INFRA).parts]


# --- Ray: the token, always ---


RAY_SERVICES = {"ray": ("ray-head", "ray-worker-1", "ray-worker-2"), "prefect": ("prefect-worker", "prefect-deploy")}


@pytest.mark.parametrize(
    ("file", "name"), [(file, name) for file, names in RAY_SERVICES.items() for name in names], ids="/".join
)
def test_every_ray_node_and_client_uses_the_token_from_its_file(file: str, name: str) -> None:
    service = compose(file)["services"][name]
    environment = service["environment"]
    assert environment["RAY_AUTH_MODE"] == "token", f"{name}: token auth is hard-set, not a ${{...}} default"
    assert environment["RAY_AUTH_TOKEN_PATH"] == f"{SECRET_MOUNT}/ray_token"
    assert "ray_token" in service["secrets"], f"{name}: the token file is mounted"
    assert "RAY_AUTH_TOKEN" not in environment, f"{name}: the token comes from its file, never from the compose file"


def test_every_compose_service_that_runs_ray_is_covered() -> None:
    runs_ray = {(file, name) for file, name, service in all_services() if re.search(r"\bray\b", command_text(service))}
    runs_ray |= {
        (file, name) for file, name, service in all_services() if "RAY_AUTH_MODE" in service.get("environment", {})
    }
    covered = {(file, name) for file, names in RAY_SERVICES.items() for name in names}
    assert runs_ray <= covered, f"Ray without the token check: {sorted(runs_ray - covered)}"


def test_no_file_in_infra_turns_ray_auth_off() -> None:
    """`disabled` is no default anywhere: not in compose files, KubeRay, the autoscaler's YAML, scripts or docs."""
    for path in infra_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "disabled" not in text.lower(), f"{path.relative_to(ROOT)} says 'disabled'"
        modes = set(RAY_AUTH_MODE_SET.findall(text))
        assert modes <= {"token"}, f"{path.relative_to(ROOT)} sets RAY_AUTH_MODE to {modes}"


def test_autoscaler_nodes_get_the_token_file_and_the_token_mode() -> None:
    cluster = load_yaml(INFRA / "ray" / "cluster.yaml")
    options = " ".join(cluster["docker"]["run_options"])
    path = re.search(r"-e RAY_AUTH_TOKEN_PATH=(\S+)", options).group(1)
    assert "-e RAY_AUTH_MODE=token" in options
    assert cluster["file_mounts"][path] == "infra/secrets/ray_token", "the token file is copied to every node"
    for source in cluster["file_mounts"].values():
        assert source == "." or (source.startswith("infra/secrets/") and source.rsplit("/", 1)[1] in made_secrets())
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = [command for command in cluster[key] if "ray start" in command]
        assert start and all("infra/secrets-env.sh ray start" in command for command in start), key


def test_kuberay_turns_token_auth_on_and_takes_credentials_from_secrets() -> None:
    documents = [document for document in yaml.safe_load_all((INFRA / "ray" / "kuberay.yaml").read_text()) if document]
    (cluster,) = [document for document in documents if document["kind"] == "RayCluster"]
    assert cluster["spec"]["authOptions"] == {"mode": "token"}
    assert not [document for document in documents if document["kind"] == "Secret"], "no Secret is committed"
    groups = [cluster["spec"]["headGroupSpec"], *cluster["spec"]["workerGroupSpecs"]]
    for group in groups:
        for container in group["template"]["spec"]["containers"]:
            environment = {item["name"]: item for item in container["env"]}
            for name, item in environment.items():
                if SECRET_NAME.search(name):
                    assert "value" not in item and item["valueFrom"]["secretKeyRef"]["key"] in made_secrets(), name
            assert {"MLFLOW_TRACKING_PASSWORD", "PREFECT_API_AUTH_STRING", "MLFLOW_TRACKING_USERNAME"} <= set(
                environment
            )


# --- Prefect: the auth string ---


def test_prefect_server_requires_the_auth_string_and_every_client_sends_it() -> None:
    services = compose("prefect")["services"]
    server = services["prefect-server"]
    assert server["environment"]["PREFECT_SERVER_API_AUTH_STRING_FILE"] == f"{SECRET_MOUNT}/prefect_auth_string"
    assert "prefect_auth_string" in server["secrets"]
    clients = [services["prefect-worker"], services["prefect-deploy"], *compose("ray")["services"].values()]
    for client in clients:
        assert client["environment"]["PREFECT_API_AUTH_STRING_FILE"] == f"{SECRET_MOUNT}/prefect_auth_string"
        assert "prefect_auth_string" in client["secrets"]
    # The database password too: by Prefect's own setting, from its file, not in a connection URL.
    assert "PREFECT_API_DATABASE_CONNECTION_URL" not in server["environment"]
    assert server["environment"]["PREFECT_SERVER_DATABASE_PASSWORD_FILE"] == f"{SECRET_MOUNT}/prefect_postgres_password"


# --- MLflow: the basic-auth app ---


def test_mlflow_runs_the_basic_auth_app_with_its_admin_from_a_secret() -> None:
    services = compose("mlflow")["services"]
    server = services["mlflow"]
    command = server["command"]
    assert command[command.index("--app-name") + 1] == "basic-auth"
    assert "--serve-artifacts" in command
    environment = server["environment"]
    assert environment["MLFLOW_AUTH_ADMIN_PASSWORD_FILE"] == f"{SECRET_MOUNT}/mlflow_password"
    assert environment["MLFLOW_FLASK_SERVER_SECRET_KEY_FILE"] == f"{SECRET_MOUNT}/mlflow_flask_secret_key"
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in server["volumes"]}
    ini_path = INFRA / "mlflow" / mounted[environment["MLFLOW_AUTH_CONFIG_PATH"]]
    config = configparser.ConfigParser()
    config.read(ini_path)
    auth = config["mlflow"]
    assert "admin_password" not in auth, "the admin password comes from its secret file"
    assert urllib.parse.urlsplit(auth["database_uri"]).hostname == "mlflow-postgres"
    assert auth["database_uri"].rsplit("/", 1)[1] in (INFRA / "mlflow" / "create-auth-db.sql").read_text()
    assert "create-auth-db.sql" in " ".join(services["mlflow-postgres"]["volumes"])


def test_mlflow_clients_log_in_through_their_environment() -> None:
    """Whoever runs training or evaluation (the Prefect worker, the Ray nodes) gets the MLflow user's credentials."""
    server = compose("mlflow")["services"]["mlflow"]["environment"]
    clients = [compose("prefect")["services"]["prefect-worker"], *compose("ray")["services"].values()]
    for client in clients:
        environment = client["environment"]
        assert environment["MLFLOW_TRACKING_USERNAME"] == server["MLFLOW_AUTH_ADMIN_USERNAME"]
        assert environment["MLFLOW_TRACKING_PASSWORD_FILE"] == server["MLFLOW_AUTH_ADMIN_PASSWORD_FILE"]
        assert "mlflow_password" in client["secrets"]


def test_mlflow_image_and_the_project_pin_the_auth_extra() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (mlflow,) = [dep for dep in dependencies if re.match(r"mlflow\W", dep)]
    assert re.fullmatch(r"mlflow\[auth\]==[\d.]+", mlflow), f"the basic-auth extra, pinned: {mlflow}"
    lock = dict(line.split("==", 1) for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line)
    dockerfile = (INFRA / "mlflow" / "Dockerfile").read_text(encoding="utf-8")
    version = re.search(r"^ARG MLFLOW_VERSION=(\S+)$", dockerfile, re.MULTILINE).group(1)
    assert version == mlflow.split("==")[1] == lock["mlflow"]
    assert re.search(r"^ARG MLFLOW_IMAGE=\S+:v" + re.escape(version) + "$", dockerfile, re.MULTILINE)
    assert '"mlflow[auth]==${MLFLOW_VERSION}"' in dockerfile
    for package in ("Flask-WTF", "WTForms"):  # what the extra adds, at the lock's pins
        assert f"{package}=={lock[package]}" in dockerfile, package


# --- Spark: spark.authenticate ---


def test_spark_daemons_start_with_spark_authenticate() -> None:
    services = compose("spark")["services"]
    for name in ("spark-master", "spark-worker-1", "spark-worker-2"):
        service = services[name]
        assert service["entrypoint"] == ["sh", "/opt/webtext/infra/spark/spark-auth.sh"], name
        assert "spark_secret" in service["secrets"], name
    assert "spark_secret" in services["driver"]["secrets"], "a driver in the network has the secret too"
    script = SPARK_AUTH.read_text(encoding="utf-8")
    assert "${SPARK_AUTH_SECRET_PATH:-/run/secrets/spark_secret}" in script
    assert "spark.authenticate true\nspark.authenticate.secret $secret\n" in script
    assert "spark.ui.killEnabled false" in script, "the published UI is read-only"


def test_spark_auth_script_writes_a_private_defaults_file(tmp_path: Path) -> None:
    secret = tmp_path / "spark_secret"
    secret.write_text("s3cret-value\n")
    conf = '"$SPARK_CONF_DIR/spark-defaults.conf"'
    probe = f'stat -c "%a" "$SPARK_CONF_DIR" {conf}; cat {conf}'
    environment = {"PATH": os.environ["PATH"], "TMPDIR": str(tmp_path), "SPARK_AUTH_SECRET_PATH": str(secret)}
    result = subprocess.run(["sh", str(SPARK_AUTH), "sh", "-c", probe], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["700", "600"]
    assert {"spark.authenticate true", "spark.authenticate.secret s3cret-value"} <= set(lines)
    missing = {**environment, "SPARK_AUTH_SECRET_PATH": str(tmp_path / "absent")}
    result = subprocess.run(["sh", str(SPARK_AUTH), "true"], env=missing, capture_output=True, text=True)
    assert result.returncode != 0 and "absent" in result.stderr, "no secret, no daemon"


# --- Postgres and every other secret ---


def test_postgres_reads_its_password_from_a_file_and_is_not_published() -> None:
    postgres = [(file, name, s) for file, name, s in all_services() if str(s.get("image", "")).startswith("postgres")]
    assert {name for _, name, _ in postgres} == {"postgres", "mlflow-postgres"}
    for file, name, service in postgres:
        environment = service["environment"]
        assert "POSTGRES_PASSWORD" not in environment, f"{file}/{name}: no password (or default) in the compose file"
        password_file = environment["POSTGRES_PASSWORD_FILE"]
        assert password_file.startswith(f"{SECRET_MOUNT}/") and password_file.rsplit("/", 1)[1] in service["secrets"]
        assert "ports" not in service, f"{file}/{name}: reached inside the webtext network only"
        assert environment.get("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256") != "trust"


@pytest.mark.parametrize("file", sorted(COMPOSE_FILES))
def test_compose_secrets_are_files_of_the_generated_folder(file: str) -> None:
    definition = compose(file)
    declared = definition.get("secrets", {})
    for name, secret in declared.items():
        source = SECRET_SOURCE.fullmatch(secret["file"])
        assert source and source.group(1) == name, (
            f"{file}: secret {name} is not ../secrets/{name} (or WEBTEXT_SECRETS_DIR)"
        )
        assert name in made_secrets(), f"{file}: infra/make-secrets.sh does not make {name}"
    for service_name, service in definition["services"].items():
        assert set(service.get("secrets", [])) <= set(declared), f"{file}/{service_name} mounts an undeclared secret"


@pytest.mark.parametrize(("file", "name", "service"), service_params())
def test_no_credential_is_written_in_a_compose_file(file: str, name: str, service: dict[str, Any]) -> None:
    """A secret-named variable only names a mounted file; its value is read from there when the container starts."""
    environment = service.get("environment", {})
    mounted = {f"{SECRET_MOUNT}/{secret}" for secret in service.get("secrets", [])}
    for variable, value in environment.items():
        if variable == "MLFLOW_SERVER_ALLOWED_HOSTS" or not SECRET_NAME.search(variable):
            continue
        assert variable.endswith(("_FILE", "_PATH")), f"{file}/{name}: {variable} holds a value; name its file instead"
        assert value in mounted, f"{file}/{name}: {variable}={value} is not a secret mounted in this service"
        if variable.endswith("_FILE") and not variable.startswith("POSTGRES_"):
            assert variable.removesuffix("_FILE") in wrapped_variables(), f"secrets-env.sh does not fill {variable}"
            assert service["entrypoint"][-1].endswith("secrets-env.sh"), f"{file}/{name}: nothing reads {variable}"
    for part in [command_text(service), *map(str, environment.values())]:
        for url in re.findall(r"\w+(?:\+\w+)?://\S+", part):
            assert urllib.parse.urlsplit(url).password is None, f"{file}/{name}: a password in {url}"


def test_env_examples_hold_no_secret() -> None:
    for path in INFRA.rglob(".env.example"):
        for line in path.read_text(encoding="utf-8").splitlines():
            name = line.lstrip("# ").split("=", 1)[0]
            if "=" in line and re.fullmatch(r"[A-Z_]+", name) and not name.endswith(("_DIR", "_FILE", "_PATH")):
                assert not SECRET_NAME.search(name), f"{path.relative_to(ROOT)}: {name} belongs in a secret file"


def test_no_committed_file_holds_a_random_looking_value() -> None:
    for path in [*infra_files(), ROOT / "docs" / "security.md", ROOT / "flows" / "configs" / "cluster.yaml"]:
        found = RANDOM_LITERAL.findall(path.read_text(encoding="utf-8", errors="replace"))
        assert not found, f"{path.relative_to(ROOT)}: {found}"


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="no git checkout")
def test_git_ignores_the_generated_secrets() -> None:
    for path in ("infra/secrets/ray_token", "infra/secrets/", "infra/ray/secrets/x"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True, check=False)
        assert result.returncode == 0, f"git would commit {path}"
    tracked = subprocess.run(["git", "ls-files", "infra"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not [line for line in tracked.stdout.splitlines() if "/secrets/" in line]


# --- the two scripts, run for real ---


def run_make_secrets(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(MAKE_SECRETS), str(folder)], capture_output=True, text=True, check=True)


def test_make_secrets_makes_private_files_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    run_make_secrets(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = {path.name: path for path in folder.iterdir()}
    assert set(files) == made_secrets() and len(files) >= 7
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert len(path.read_text()) >= 64 and "\n" not in path.read_text(), path.name
    assert files["prefect_auth_string"].read_text().startswith("webtext:"), "user:password, what Prefect's UI asks"
    assert len({path.read_text() for path in files.values()}) == len(files), "every secret is its own"
    before = {name: path.read_text() for name, path in files.items()}
    files["ray_token"].write_text("kept-by-hand")
    files["spark_secret"].unlink()
    run_make_secrets(folder)
    assert files["ray_token"].read_text() == "kept-by-hand", "an existing secret is never overwritten"
    assert files["spark_secret"].exists() and files["spark_secret"].read_text() != before["spark_secret"]
    assert all(
        files[name].read_text() == value for name, value in before.items() if name not in {"ray_token", "spark_secret"}
    )


def test_make_secrets_honours_the_secrets_dir_variable(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    environment = {"PATH": os.environ["PATH"], "WEBTEXT_SECRETS_DIR": str(folder)}
    subprocess.run(["sh", str(MAKE_SECRETS)], env=environment, capture_output=True, check=True)
    assert {path.name for path in folder.iterdir()} == made_secrets()


def test_secrets_env_exports_the_files_and_refuses_missing_ones(tmp_path: Path) -> None:
    secret = tmp_path / "mlflow_password"
    secret.write_text("pa55word\n")
    probe = 'echo "$MLFLOW_TRACKING_PASSWORD|${MLFLOW_TRACKING_PASSWORD_FILE-unset}|${OTHER_FILE-unset}"'
    base = {"PATH": os.environ["PATH"], "OTHER_FILE": "/etc/hostname"}
    environment = {**base, "MLFLOW_TRACKING_PASSWORD_FILE": str(secret)}
    result = subprocess.run(
        ["sh", str(SECRETS_ENV), "sh", "-c", probe], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pa55word|unset|/etc/hostname", "listed variables only, the file var unset"
    (tmp_path / "empty").write_text("")
    for path in (tmp_path / "absent", tmp_path / "empty"):
        environment = {**base, "PGPASSWORD_FILE": str(path)}
        result = subprocess.run(["sh", str(SECRETS_ENV), "true"], env=environment, capture_output=True, text=True)
        assert result.returncode != 0 and str(path) in result.stderr, "no secret, no service"
