"""Fixtures for the simulator's own tests: a shared read-only simulator, a factory, an HTTP session."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator

ANCHOR = "2025-06-01T12:00:00Z"
TOKEN = SimulatorConfig().token
AUTH = {"X-Auth-Token": TOKEN}

MakeSimulator = Callable[..., contextlib.AbstractAsyncContextManager[SimulatorHandle]]


def sim_config(**overrides: Any) -> SimulatorConfig:
    """A small, pinned dataset (fixed anchor) with the given flags."""
    base = SimulatorConfig(
        anchor=ANCHOR, namespaces=3, repos_per_namespace=6, heavy_repos=1, max_jobs_per_repo=1200
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def make_simulator() -> MakeSimulator:
    """`async with make_simulator(fault_429=1.0) as sim:` starts a simulator with those flags."""

    def make(**overrides: Any) -> contextlib.AbstractAsyncContextManager[SimulatorHandle]:
        return running_simulator(sim_config(**overrides))

    return make


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[SimulatorHandle]:
    """A fault-free simulator shared by the read-only tests of one module."""
    async with running_simulator(sim_config()) as handle:
        yield handle


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One client session per test."""
    async with aiohttp.ClientSession() as session:
        yield session


def url(base: str, path_and_query: str) -> URL:
    """The URL exactly as written: no re-quoting of '|', '$' or '%2F' by yarl."""
    return URL(base + path_and_query, encoded=True)


def sync_job_path(namespace: str, repo: str, query: str) -> str:
    """The ShowSyncJob path with '/' in the repository written as '$'."""
    return f"/v2/manage/namespaces/{namespace}/repos/{repo.replace('/', '$')}/sync_job?{query}"


async def get(
    http: aiohttp.ClientSession, base: str, path_and_query: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    """(status, headers, body) of a GET sent exactly as written, with the static token by default."""
    async with http.get(url(base, path_and_query), headers=AUTH if headers is None else headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()
