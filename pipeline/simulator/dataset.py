"""The simulated tenant: namespaces, repositories and sync jobs, generated deterministically from a seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.records import DEFECTS, OPTIONAL_KEYS, Job, Repo, encode_inner, unit

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
RECENT_US = 30 * MINUTE_US
LYING_MODES: tuple[str, ...] = ("total_too_large", "count_mismatch", "total_unstable", "repeating_pages")
UNKNOWN_STATUSES: tuple[str, ...] = ("paused", "queued", "partial_success")
_NS_WORDS = ("core", "data", "edge", "infra", "ml", "payments", "search", "web", "mobile", "ops", "media")
_REPO_WORDS = (
    "api", "web", "worker", "gateway", "nginx", "redis", "frontend", "backend", "scheduler", "auth",
    "billing", "etl", "cache", "proxy", "agent", "cli", "base.images", "data_loader", "notifier",
    "db-migrate",
)  # fmt: skip
_PREFIXES = ("team", "platform", "tools", "library", "ci")
_CATEGORIES = ("app_server", "linux", "framework_app", "database", "lang", "other", "windows", "arm")
_REGIONS = ("cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-1", "ap-southeast-3", "eu-west-101")
_OPERATOR_NAMES = ("alice", "bob", "chen.wei", "devops-bot", "张伟", "李娜", "sync-robot", "müller")
_FINAL = (("success", 0.85), ("failed", 0.91), ("timeout", 0.94), ("existed", 0.98), ("cancel", 1.0))


@dataclass(frozen=True, slots=True)
class Namespace:
    """An organization; `visible_only` ones are listed only with filter mode::visible (auth 1)."""

    id: int
    name: str
    creator_name: str
    visible_only: bool


@dataclass(slots=True)
class Dataset:
    """Everything the simulator serves; mutated only by the live clock."""

    anchor_us: int
    namespaces: list[Namespace]
    repos: list[Repo]
    by_key: dict[tuple[str, str], Repo]
    next_id: int
    operators: list[tuple[str, str]]
    regions: tuple[str, ...]
    broken: set[tuple[str, str]] = field(default_factory=set)
    lying: dict[tuple[str, str], str] = field(default_factory=dict)
    forbidden: set[tuple[str, str]] = field(default_factory=set)  # sync_job answers 403
    forbidden_namespaces: set[str] = field(default_factory=set)  # ListReposDetails and sync_job answer 403
    deleting: set[tuple[str, str]] = field(default_factory=set)  # lose their oldest jobs mid-crawl
    absurd: set[tuple[str, str]] = field(default_factory=set)  # claim config.absurd_total jobs
    deleted: list[int] = field(default_factory=list)  # ids of the jobs deleted so far
    active: list[Job] = field(default_factory=list)  # recent waiting/running jobs the live clock advances

    def job_count(self) -> int:
        return sum(len(r.jobs) for r in self.repos)


def build_dataset(config: SimulatorConfig, anchor_us: int) -> Dataset:
    """Generate the whole tenant; the same config and anchor always give the same data."""
    rng = random.Random(config.seed)
    domain_id = f"{rng.getrandbits(128):032x}"
    operators = [(f"{rng.getrandbits(128):032x}", name) for name in _OPERATOR_NAMES]
    namespaces = _namespaces(rng, config.namespaces, operators)
    repos: list[Repo] = []
    for ns in namespaces:
        for name in _repo_names(rng, config.repos_per_namespace):
            created = anchor_us - rng.randint(30 * DAY_US, 3 * 365 * DAY_US)
            repo = Repo(ns.name, name, rng.choice(_CATEGORIES), rng.random() < 0.3, created, domain_id)
            repo.size = rng.randint(10_000_000, 2_000_000_000)
            repo.num_download = rng.randint(0, 100_000)
            repos.append(repo)
    regions = tuple(r for r in _REGIONS if r != config.region)
    counts = _job_counts(rng, config, len(repos))
    pools = _Pools(operators, regions, [ns.name for ns in namespaces])
    for repo, count in zip(repos, counts, strict=True):
        _fill_repo(rng, repo, count, anchor_us, pools)
    next_id = _assign_ids(rng, repos, 10_000 + rng.randint(0, 90_000))
    by_key = {(r.namespace, r.name): r for r in repos}
    data = Dataset(anchor_us, namespaces, repos, by_key, next_id, operators, regions)
    _apply_data_faults(config, data)
    _pick_fault_repos(config, data)
    for repo in repos:
        repo.tags = sorted({j.tag for j in repo.jobs[-50:]})
        repo.raws = encode_inner(repo.jobs)
    data.active = [
        j for r in repos for j in r.jobs if j.status in ("waiting", "running") and _recent(j, anchor_us)
    ]
    return data


def _recent(job: Job, anchor_us: int) -> bool:
    return anchor_us - job.created_us <= RECENT_US


def _namespaces(rng: random.Random, n: int, operators: list[tuple[str, str]]) -> list[Namespace]:
    # "acme" and "acme-mirror" on purpose: the API's namespace filter is fuzzy (substring).
    words = list(_NS_WORDS)
    rng.shuffle(words)
    names = ["acme", "acme-mirror", *words][:n]
    while len(names) < n:
        names.append(f"{words[len(names) % len(words)]}-{len(names)}")
    base = rng.randint(1_000, 9_000)
    return [
        Namespace(base + i, name, rng.choice(operators)[1], visible_only=(n >= 3 and i == n - 1))
        for i, name in enumerate(names)
    ]


def _repo_names(rng: random.Random, m: int) -> list[str]:
    names: list[str] = ["team/app"][:m]
    seen = set(names)
    while len(names) < m:
        word = rng.choice(_REPO_WORDS)
        r = rng.random()
        if r < 0.05:
            name = f"{rng.choice(_PREFIXES)}/{rng.choice(_PREFIXES)}/{word}"
        elif r < 0.3:
            name = f"{rng.choice(_PREFIXES)}/{word}"
        else:
            name = word
        if name in seen:
            name = f"{name}-{len(names)}"
        seen.add(name)
        names.append(name)
    return names


def _job_counts(rng: random.Random, config: SimulatorConfig, total: int) -> list[int]:
    """Heavy-tailed: most repositories hold a handful, some hundreds, a few (heavy) thousands."""
    heavy = config.heavy_repos
    if heavy is None:
        heavy = max(1, round(total / 100)) if total >= 50 else 0
    most = config.max_jobs_per_repo
    counts = []
    for _ in range(total):
        r = rng.random()
        if r < 0.55:
            n = rng.randint(0, 8)
        elif r < 0.9:
            n = rng.randint(5, 30)
        else:
            n = rng.randint(30, 150)
        counts.append(min(n, most))
    for i in rng.sample(range(total), min(heavy, total)):
        counts[i] = rng.randint(min(1000, most), most)
    return counts


@dataclass(frozen=True, slots=True)
class _Pools:
    """What jobs pick from: operators, target regions, target namespaces."""

    operators: list[tuple[str, str]]
    regions: tuple[str, ...]
    ns_names: list[str]


def _fill_repo(rng: random.Random, repo: Repo, count: int, anchor_us: int, pools: _Pools) -> None:
    span = max(anchor_us - repo.created_us, 2 * HOUR_US)
    r = rng.random
    ages = [
        int(r() * RECENT_US) if r() < 0.03 else 2 * HOUR_US + int((span - 2 * HOUR_US) * r() ** 2)
        for _ in range(count)
    ]  # old jobs are at least two hours old, skewed towards recent ones
    ages.sort(reverse=True)
    previous = -1
    operators, regions, ns_names = pools.operators, pools.regions, pools.ns_names
    n_ops, n_regions, n_ns = len(operators), len(regions), len(ns_names)
    for index, age in enumerate(ages):
        # Several tags synced at once share a creation time: ties are broken by id.
        created = previous if previous > 0 and r() < 0.05 else anchor_us - age
        previous = created
        status, updated = _status(rng, anchor_us, created)
        op_id, op_name = operators[int(r() * n_ops)]
        remote_ns = repo.namespace if r() < 0.8 else ns_names[int(r() * n_ns)]
        job = Job(0, repo, index, _tag(r), status, r() < 0.3, regions[int(r() * n_regions)], remote_ns,
                  op_id, op_name, created, updated)  # fmt: skip
        repo.jobs.append(job)


def _status(rng: random.Random, anchor_us: int, created: int) -> tuple[str, int]:
    recent = anchor_us - created <= RECENT_US
    u = rng.random()
    # Recent jobs are often still pending; a few old ones are stuck (waiting/running for hours).
    pending_edge = 0.5 if recent else 0.002
    if u < pending_edge:
        if u < pending_edge / 2:
            return "waiting", created
        return "running", min(anchor_us, created + 1_000_000 + int(rng.random() * 59_000_000))
    u = rng.random()
    status = next(name for name, edge in _FINAL if u < edge)
    return status, min(anchor_us, created + 2_000_000 + int(rng.random() * 30 * MINUTE_US))


def _tag(r: Callable[[], float]) -> str:
    u = r()
    if u < 0.6:
        return f"v{int(u * 6.5)}.{int(r() * 21)}.{int(r() * 31)}"
    if u < 0.7:
        return "latest"
    if u < 0.85:
        return f"sha-{int(r() * 0xFFFFFFF):07x}"
    return f"2024{1 + int(r() * 12):02d}{1 + int(r() * 28):02d}-build.{1 + int(r() * 999)}"


def _assign_ids(rng: random.Random, repos: list[Repo], first: int) -> int:
    """Ids grow with creation time across the whole region, with random gaps; returns the next free id."""
    order = sorted((j.created_us, ri, j.index) for ri, r in enumerate(repos) for j in r.jobs)
    next_id = first
    for _, ri, index in order:
        repos[ri].jobs[index].id = next_id
        next_id += 1 + int(rng.random() * 9)
    return next_id


def _apply_data_faults(config: SimulatorConfig, data: Dataset) -> None:
    if config.shared_ids > 0:
        _share_ids(config, data)
    if any((config.unknown_status, config.bad_records, config.sparse_records, config.extra_fields)):
        for repo in data.repos:
            for job in repo.jobs:
                apply_job_faults(config, job)


def apply_job_faults(config: SimulatorConfig, job: Job) -> None:
    """Unknown statuses, sparse records and undocumented fields are data; bad records are a serving
    defect. Each job decides by its own hash."""
    key = str(job.id)
    seed = config.seed
    if config.unknown_status > 0 and unit(seed, "unknown_status", key) < config.unknown_status:
        job.status = UNKNOWN_STATUSES[job.id % len(UNKNOWN_STATUSES)]
    if config.bad_records > 0 and unit(seed, "bad_records", key) < config.bad_records:
        job.defect = DEFECTS[int(unit(seed, "defect", key) * len(DEFECTS))]
    if config.sparse_records > 0 and unit(seed, "sparse_records", key) < config.sparse_records:
        keys = sorted(OPTIONAL_KEYS, key=lambda k: unit(seed, "sparse_key", f"{key}/{k}"))
        count = 1 + int(unit(seed, "sparse_count", key) * 3)
        job.sparse = tuple((k, unit(seed, "sparse_absent", f"{key}/{k}") < 0.5) for k in keys[:count])
    if config.extra_fields > 0 and unit(seed, "extra_fields", key) < config.extra_fields:
        job.extra = _undocumented_fields(seed, job.id)


def _undocumented_fields(seed: int, job_id: int) -> dict[str, object]:
    """1-4 fields the API reference does not list (a sibling API's SDK model carries syncAuto).

    No list of objects: encode_inner splits pages on "},{".
    """
    key = str(job_id)
    fields: dict[str, object] = {
        "syncAuto": job_id % 3 == 0,
        "trigger": {"kind": "rule" if job_id % 2 else "manual", "ruleId": job_id % 97, "tags": ["v1", 2.5]},
        "priority": None if job_id % 5 == 0 else job_id % 10,
        "jobRegion": "中国-北京四",
    }
    names = sorted(fields, key=lambda name: unit(seed, "extra_key", f"{key}/{name}"))
    return {name: fields[name] for name in names[: 1 + int(unit(seed, "extra_count", key) * 4)]}


def _share_ids(config: SimulatorConfig, data: Dataset) -> None:
    """--shared-ids K: K jobs take the id of a job of another repository (ids no longer unique)."""
    rng = random.Random(f"{config.seed}/shared-ids")
    repos = [r for r in data.repos if r.jobs]
    if len(repos) < 2:
        return
    for _ in range(config.shared_ids):
        owner, taker = rng.sample(repos, 2)
        job = rng.choice(taker.jobs)
        job.id = rng.choice(owner.jobs).id
    for repo in repos:  # the API's order is createdAt, then id
        repo.jobs.sort(key=lambda j: (j.created_us, j.id))
        for index, job in enumerate(repo.jobs):
            job.index = index


def _pick_fault_repos(config: SimulatorConfig, data: Dataset) -> None:
    # A separate stream, so the number of broken or lying repositories never changes the data itself.
    rng = random.Random(f"{config.seed}/fault-repos")
    keys = [(r.namespace, r.name) for r in data.repos]
    rng.shuffle(keys)
    with_jobs = [k for k in keys if len(data.by_key[k].jobs) >= 5]
    lying = with_jobs[: config.lying_repos]
    if len(lying) < config.lying_repos:
        lying += [k for k in keys if k not in lying][: config.lying_repos - len(lying)]
    data.lying = {key: LYING_MODES[i % len(LYING_MODES)] for i, key in enumerate(lying)}
    rest = [k for k in keys if k not in data.lying]
    data.broken, rest = set(rest[: config.broken_repos]), rest[config.broken_repos :]
    data.forbidden, rest = set(rest[: config.forbidden_repos]), rest[config.forbidden_repos :]
    # Repositories of several pages, so that a page past the first exists to trigger the deletion.
    several = [k for k in rest if len(data.by_key[k].jobs) > config.deleted_jobs + 20]
    data.deleting = set(several[: config.deleting_repos])
    rest = [k for k in rest if k not in data.deleting]
    data.absurd = set(rest[: config.absurd_total_repos])
    names = [ns.name for ns in data.namespaces[1:]]  # "acme" stays readable, so examples keep working
    rng.shuffle(names)
    data.forbidden_namespaces = set(names[: config.forbidden_namespaces])


def delete_oldest(data: Dataset, repo: Repo, count: int) -> None:
    """Delete a repository's `count` oldest jobs: every later job moves `count` positions down."""
    gone = {job.id for job in repo.jobs[:count]}
    repo.jobs, repo.raws = repo.jobs[count:], repo.raws[count:]
    for index, job in enumerate(repo.jobs):
        job.index = index
    data.active = [job for job in data.active if job.id not in gone]
    data.deleted.extend(sorted(gone))
