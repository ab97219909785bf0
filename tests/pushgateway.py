"""A real Prometheus Pushgateway for tests (Debian's prometheus-pushgateway, installed by `make test`)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

BINARY = "prometheus-pushgateway"

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> Series:
    """Every sample the Pushgateway exposes: (name, labels) → value."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310 (our http URL)
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float | None:
    """The sample named ``name`` whose labels include ``labels`` (None when there is none)."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in series.items() if n == name and wanted <= ls]
    assert len(found) <= 1, f"{len(found)} samples of {name} match {labels}"
    return found[0] if found else None


@contextmanager
def running_pushgateway(storage: Path) -> Iterator[str]:
    """Start a Pushgateway on a free loopback port keeping its data in ``storage``; yield its URL."""
    binary = shutil.which(BINARY)
    if binary is None:
        raise RuntimeError(f"{BINARY} is not installed: `make pushgateway` installs it (Debian package)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={storage / 'pushgateway.data'}",
        "--log.level=warn",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{BINARY} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{BINARY} did not become ready within {within_s} s")
