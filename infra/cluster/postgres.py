"""PostgreSQL for the Prefect server and MLflow: a throwaway cluster from the system's binaries, with passwords.

PostgreSQL refuses to run as root, so it runs as the ``postgres`` user: its folders must be reachable by
that user (not under a folder of mode 0700). Clients log in over TCP with a password (scram-sha-256);
only the ``postgres`` user itself may use the local socket, which is how the roles are made.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from infra.cluster.supervisor import Cluster, ClusterError, Host

USER = "postgres"
READY_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class Database:
    """A role with a password and the databases it owns."""

    role: str
    password_file: Path
    databases: tuple[str, ...]


def postgres_unavailable() -> str | None:
    """Why this machine cannot run the cluster's PostgreSQL (as the postgres user, through runuser); None if it can."""
    if os.geteuid() != 0:
        return "needs root: PostgreSQL runs as the postgres user through runuser"
    for command in ("pg_config", "runuser"):
        if shutil.which(command) is None:
            return f"{command} not found (PostgreSQL's server binaries: apt-get install postgresql)"
    return None


def bindir() -> Path:
    """The folder of the server's binaries (``pg_config --bindir``: Debian keeps them off PATH)."""
    if shutil.which("pg_config") is None:
        raise ClusterError("PostgreSQL's server binaries are missing: pg_config not found (apt-get install postgresql)")
    return Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip())


def start_postgres(
    cluster: Cluster, host: Host, port: int, databases: list[Database], client_networks: list[str]
) -> str:
    """Start (and on first use initialise) the server on ``host:port`` with ``databases``; returns its address."""
    folder = cluster.root / "postgres"
    data, sockets = folder / "data", folder / "run"
    account = pwd.getpwnam(USER)
    _check_reachable(cluster.root)
    for path in (folder, sockets):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, account.pw_uid, account.pw_gid)
    binaries = bindir()
    if not (data / "PG_VERSION").is_file():
        _as_postgres(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            cluster,
        )
    hba = ["local all postgres peer"] + [f"host all all {network} scram-sha-256" for network in client_networks]
    (data / "pg_hba.conf").write_text("\n".join(hba) + "\n", encoding="utf-8")
    shutil.chown(data / "pg_hba.conf", account.pw_uid, account.pw_gid)
    server = [str(binaries / "postgres"), "-D", str(data), "-k", str(sockets), "-p", str(port), "-h", host.address]
    process = cluster.start("postgres", server, host=host, user=USER, stop_signal=signal.SIGINT)  # SIGINT: fast stop
    ready = [str(binaries / "pg_isready"), "-q", "-h", str(sockets), "-p", str(port)]
    cluster.wait("postgres", lambda: subprocess.run(host.command(ready)).returncode == 0, READY_TIMEOUT_S, process)
    for database in databases:
        _create(database, binaries, sockets, port, host, cluster)
    return f"{host.address}:{port}"


def _check_reachable(root: Path) -> None:
    """The ``postgres`` user must pass through every folder above its own."""
    for folder in (root, *root.parents):
        if not folder.stat().st_mode & 0o001:
            raise ClusterError(
                f"postgres cannot reach {root}: {folder} is closed to other users (mode "
                f"{folder.stat().st_mode & 0o777:o}); put the cluster elsewhere or chmod o+x {folder}"
            )


def _create(database: Database, binaries: Path, sockets: Path, port: int, host: Host, cluster: Cluster) -> None:
    """The role (its password set again, so a rotated secret takes effect) and its databases, if missing."""
    password = database.password_file.read_text(encoding="utf-8").strip().replace("'", "''")
    role = database.role
    statements = [
        f"SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec",
        f"ALTER ROLE {role} LOGIN PASSWORD '{password}';",
    ]
    for name in database.databases:
        statements.append(
            f"SELECT 'CREATE DATABASE {name} OWNER {role}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')\\gexec"
        )
    psql = [str(binaries / "psql"), "-v", "ON_ERROR_STOP=1", "-q", "-h", str(sockets), "-p", str(port), "-d", USER]
    # the password travels on stdin, never in a command line other users can read
    _as_postgres(psql, cluster, stdin="\n".join(statements) + "\n", host=host)


def _as_postgres(argv: list[str], cluster: Cluster, stdin: str | None = None, host: Host | None = None) -> None:
    command = ["runuser", "-u", USER, "--", *argv]
    result = subprocess.run(
        host.command(command) if host else command, input=stdin, capture_output=True, text=True, cwd="/"
    )
    if result.returncode != 0:
        raise ClusterError(f"postgres: {Path(argv[0]).name} failed: {result.stderr.strip()[-2000:]}")
