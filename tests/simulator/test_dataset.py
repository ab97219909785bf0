"""The generated dataset: determinism, shape, realism."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import datetime

import aiohttp
import pytest

from pipeline.domain import FINAL_STATUSES
from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.dataset import Dataset, build_dataset
from pipeline.simulator.state import resolve_anchor
from tests.simulator.conftest import ANCHOR, MakeSimulator, get, sync_job_path

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
NAMESPACE = re.compile(r"[a-z][a-z0-9._-]{0,63}")
REPO = re.compile(r"[a-z0-9][a-z0-9._/-]{0,127}")
ANCHOR_US = resolve_anchor(ANCHOR)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset(SimulatorConfig(namespaces=20, repos_per_namespace=50), ANCHOR_US)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


async def test_same_seed_gives_byte_identical_responses(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    paths = [
        "/v2/manage/namespaces?filter=mode::visible",
        "/v2/manage/repos?filter=limit::1000",
        sync_job_path("acme", "team/app", "filter=limit::50|offset::0"),
        sync_job_path("acme", "team/app", "filter=limit::50|offset::10|order::desc"),
    ]
    bodies = []
    for seed in (5, 5, 6):
        async with make_simulator(seed=seed) as sim:
            bodies.append(
                [(await get(http, sim.url, p))[2] for p in paths] + [repr(sim.ground_truth()).encode()]
            )
    assert bodies[0] == bodies[1]
    assert bodies[0][3] != bodies[2][3]


def test_default_sizes_are_heavy_tailed_with_a_heavy_repository() -> None:
    data = build_dataset(SimulatorConfig(), ANCHOR_US)
    counts = sorted(len(r.jobs) for r in data.repos)
    assert len(counts) == 50
    assert counts[-1] >= 1000  # at least one heavy repository from 50 on
    assert counts[len(counts) // 2] < 30  # most hold a handful


def test_mean_jobs_per_repository_is_about_thirty(dataset: Dataset) -> None:
    mean = dataset.job_count() / len(dataset.repos)
    assert 20 <= mean <= 45
    assert sum(1 for r in dataset.repos if len(r.jobs) >= 1000) == 10


def test_heavy_repos_and_cap_flags() -> None:
    data = build_dataset(
        SimulatorConfig(namespaces=2, repos_per_namespace=5, heavy_repos=3, max_jobs_per_repo=1500), ANCHOR_US
    )
    assert sorted(len(r.jobs) for r in data.repos)[-3:][0] >= 1000
    assert max(len(r.jobs) for r in data.repos) <= 1500
    small = build_dataset(
        SimulatorConfig(namespaces=2, repos_per_namespace=5, max_jobs_per_repo=3), ANCHOR_US
    )
    assert max(len(r.jobs) for r in small.repos) <= 3


def test_names_follow_swr_rules_and_some_contain_a_slash(dataset: Dataset) -> None:
    assert all(NAMESPACE.fullmatch(ns.name) for ns in dataset.namespaces)
    assert len({ns.name for ns in dataset.namespaces}) == 20
    assert all(REPO.fullmatch(r.name) for r in dataset.repos)
    assert len(dataset.by_key) == len(dataset.repos)
    assert sum("/" in r.name for r in dataset.repos) > 50


def test_ids_are_unique_sparse_and_grow_with_creation_time(dataset: Dataset) -> None:
    jobs = [j for r in dataset.repos for j in r.jobs]
    ids = [j.id for j in jobs]
    assert len(set(ids)) == len(ids)
    by_id = sorted(jobs, key=lambda j: j.id)
    assert all(a.created_us <= b.created_us for a, b in itertools.pairwise(by_id))
    assert by_id[-1].id - by_id[0].id > 2 * len(jobs)  # random gaps, not dense
    for repo in dataset.repos:
        keys = [(j.created_us, j.id) for j in repo.jobs]
        assert keys == sorted(keys)


def test_records_look_real(dataset: Dataset) -> None:
    jobs = [j.to_api() for r in dataset.repos for j in r.jobs]
    assert all(TIMESTAMP.fullmatch(j["createdAt"]) and TIMESTAMP.fullmatch(j["updatedAt"]) for j in jobs)
    assert all(j["updatedAt"] >= j["createdAt"] for j in jobs)
    statuses = Counter(j["status"] for j in jobs)
    assert statuses.most_common(1)[0][0] == "success"
    assert set(statuses) == FINAL_STATUSES | {"waiting", "running"}
    assert {j["override"] for j in jobs} == {True, False}
    assert len({j["remoteRegionId"] for j in jobs}) >= 4
    assert any(not j["syncOperatorName"].isascii() for j in jobs)


def test_pending_jobs_are_recent_except_a_few_stuck_ones(dataset: Dataset) -> None:
    pending = [j for r in dataset.repos for j in r.jobs if j.status in ("waiting", "running")]
    hour = 3600 * 1_000_000
    stuck = [j for j in pending if ANCHOR_US - j.created_us > hour]
    recent = [j for j in pending if ANCHOR_US - j.created_us <= hour]
    assert recent
    assert 0 < len(stuck) < len(pending) / 2


def test_shared_creation_times_exist_and_are_ordered_by_id(dataset: Dataset) -> None:
    ties = 0
    for repo in dataset.repos:
        for a, b in zip(repo.jobs, repo.jobs[1:], strict=False):
            if a.created_us == b.created_us:
                ties += 1
                assert a.id < b.id
    assert ties > 0
