"""Ray's token authentication, on for every Ray the project starts or joins.

Without a token, any process that reaches a Ray node's ports runs code as its user: Ray's GCS,
raylets and workers listen on every interface, whatever the node's address says. With
``RAY_AUTH_MODE=token`` every gRPC and dashboard request must carry the cluster's token; only Ray's
read-only Prometheus metrics pages answer without it.

``enable_ray_token`` puts the mode and the token's file in this process's environment, which Ray
reads (and Ray's own processes inherit). It must run before ``ray.init``; it also refreshes Ray's
cached settings when ``ray`` is already imported. The token itself is never logged, never passed as
an argument and never written anywhere but its file.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

MODE_VARIABLE = "RAY_AUTH_MODE"
TOKEN_VARIABLE = "RAY_AUTH_TOKEN"  # the token itself, as Ray reads it
TOKEN_PATH_VARIABLE = "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_FILE = Path(".ray") / "auth_token"  # under $HOME: where Ray and its CLI look by default


class RayTokenError(RuntimeError):
    """The Ray token is missing, empty or readable by other users; the message names the file and the fix."""


def token_file(configured: Path | None = None) -> Path:
    """Where the token is: ``configured``, else ``$RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``."""
    if configured is not None:
        return Path(configured).expanduser()
    if os.environ.get(TOKEN_PATH_VARIABLE):
        return Path(os.environ[TOKEN_PATH_VARIABLE]).expanduser()
    return Path.home() / DEFAULT_TOKEN_FILE


def enable_ray_token(configured: Path | None = None, *, create: bool) -> Path | None:
    """Turn Ray's token authentication on for this process and the Ray processes it starts.

    ``create``: make the token file (a random 256-bit token, mode 0600) when it is missing, as a local
    Ray of the run's own does; a cluster's token must already be there. A token given in
    ``$RAY_AUTH_TOKEN`` (and no ``configured`` file) is used as it is. Returns the file in use (None for
    the environment's token).
    """
    os.environ[MODE_VARIABLE] = "token"
    if configured is None and os.environ.get(TOKEN_VARIABLE):
        _refresh_ray()
        return None
    path = token_file(configured)
    if create:
        _create_token(path)
    _check_token(path)
    os.environ[TOKEN_PATH_VARIABLE] = str(path)
    os.environ.pop(TOKEN_VARIABLE, None)  # the file wins over a token left in the environment
    _refresh_ray()
    return path


def _create_token(path: Path) -> None:
    """A new token in ``path`` (never replacing one), readable by this user alone from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32))


def _check_token(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise RayTokenError(
            f"no Ray token at {path}: a Ray cluster's clients need its token (copy the cluster's token there "
            f"with mode 0600, or name its file in services.ray.token_file or ${TOKEN_PATH_VARIABLE})"
        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RayTokenError(
            f"the Ray token {path} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}): chmod 600 {path}"
        )
    if not path.read_text(encoding="ascii", errors="replace").strip():
        raise RayTokenError(f"the Ray token file {path} is empty")


def _refresh_ray() -> None:
    """Ray caches its settings and the token when imported: make an imported Ray read them again."""
    if "ray" not in sys.modules:
        return
    from ray._raylet import AuthenticationTokenLoader, Config  # Ray's own way (ray._private's token set-up)

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
