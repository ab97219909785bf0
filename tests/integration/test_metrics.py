"""Pushing a run's metrics to a real Pushgateway: what is pushed, what a failed run keeps, and a push that
cannot succeed never fails the run and keeps its deadline."""

from __future__ import annotations

import dataclasses
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from pipeline.domain import RunStats
from pipeline.metrics import STATUSES, RunResult, build_registry, push_after, push_metrics
from pipeline.run import RunOutcome, StopRequest
from pipeline.settings import MonitoringSettings, Settings, SourceSettings
from tests.pushgateway import free_port, scrape, value

GROUP = {"job": "swr_etl", "source": "cn-north-4,ap-southeast-1"}


class Counters:
    """A source client's counters, as ClientStats holds them."""

    def __init__(self, requests: int, throttled: int) -> None:
        self.requests, self.throttled = requests, throttled


def settings_for(url: str) -> Settings:
    sources = tuple(
        SourceSettings(endpoint=f"https://swr-api.{region}.myhuaweicloud.com", region=region)
        for region in ("cn-north-4", "ap-southeast-1")
    )
    return Settings(sources=sources, monitoring=MonitoringSettings(pushgateway_url=url))


def stats() -> RunStats:
    s = RunStats(repos_ok=7, repos_failed=2, repos_gone=1, repos_flagged=1, skipped_repos=3)
    s.jobs_seen, s.inserted, s.updated, s.unchanged, s.rejected = 900, 500, 100, 300, 4
    s.clients.extend([Counters(120, 5), Counters(30, 1)])
    return s


async def test_an_ok_run_pushes_every_series_grouped_by_job_and_source(pushgateway: str) -> None:
    ended = time.time()
    assert await push_metrics(settings_for(pushgateway), RunResult("ok", 12.5, stats(), ended), 5.0)

    series = scrape(pushgateway)
    assert value(series, "swr_etl_last_success_timestamp_seconds", **GROUP) == pytest.approx(ended)
    assert value(series, "swr_etl_run_duration_seconds", **GROUP) == 12.5
    statuses = {s: value(series, "swr_etl_run_status", status=s, **GROUP) for s in ("ok", "failed")}
    assert statuses == {"ok": 1.0, "failed": 0.0}
    repos = {o: value(series, "swr_etl_run_repositories", outcome=o, **GROUP) for o in ("ok", "skipped")}
    assert repos == {"ok": 7.0, "skipped": 3.0}
    assert value(series, "swr_etl_run_jobs", outcome="updated", **GROUP) == 100.0
    assert value(series, "swr_etl_run_requests", **GROUP) == 150.0  # both sources' clients
    assert value(series, "swr_etl_run_throttled_requests", **GROUP) == 6.0


async def test_a_failed_run_keeps_the_last_success_and_replaces_the_rest(pushgateway: str) -> None:
    settings = settings_for(pushgateway)
    succeeded = time.time() - 3600
    await push_metrics(settings, RunResult("ok", 10.0, stats(), succeeded), 5.0)
    await push_metrics(settings, RunResult("failed", 2.0, RunStats(), time.time()), 5.0)

    series = scrape(pushgateway)
    assert value(series, "swr_etl_last_success_timestamp_seconds", **GROUP) == pytest.approx(succeeded)
    assert value(series, "swr_etl_run_status", status="failed", **GROUP) == 1.0
    assert value(series, "swr_etl_run_status", status="ok", **GROUP) == 0.0
    assert value(series, "swr_etl_run_duration_seconds", **GROUP) == 2.0
    assert value(series, "swr_etl_run_requests", **GROUP) == 0.0


async def test_an_unreachable_gateway_is_logged_not_raised() -> None:
    settings = settings_for(f"http://127.0.0.1:{free_port()}")
    with capture_logs() as logs:
        pushed = await push_metrics(settings, RunResult("ok", 1.0, stats(), time.time()), 5.0)
    assert not pushed
    (failure,) = [e for e in logs if e["event"] == "metrics_push_failed"]
    assert "Connection refused" in failure["error"], failure


@pytest.fixture
def silent_gateway() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_gateway_that_never_answers_is_given_up_on_at_the_deadline(silent_gateway: str) -> None:
    started = time.monotonic()
    with capture_logs() as logs:
        pushed = await push_metrics(settings_for(silent_gateway), RunResult("ok", 1.0, stats(), 0.0), 0.5)
    took = time.monotonic() - started
    assert not pushed
    assert 0.4 < took < 3.0
    assert [e["event"] for e in logs] == ["metrics_push_failed"]


def test_the_documented_alert_rules_use_metrics_that_are_pushed() -> None:
    rules = (Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yaml").read_text()
    used = set(re.findall(r"\bswr_etl_[a-z_]+", rules))
    ok = build_registry(RunResult("ok", 1.0, stats(), 0.0))
    pushed = {metric.name for metric in ok.collect()}
    assert used and used <= pushed, used - pushed
    assert 'status="failed"' in rules and "failed" in STATUSES


async def crawled(outcome: RunOutcome) -> RunOutcome:
    """Stands for run_crawl: a crawl that ended with ``outcome``."""
    return outcome


async def test_the_push_after_a_run_keeps_the_configured_timeout(silent_gateway: str) -> None:
    settings = settings_for(silent_gateway)
    settings = dataclasses.replace(
        settings, monitoring=dataclasses.replace(settings.monitoring, pushgateway_timeout=0.5)
    )
    outcome = RunOutcome(1, "ok", 0, stats(), 3.0)
    started = time.monotonic()
    with capture_logs() as logs:
        assert await push_after(crawled(outcome), settings, StopRequest()) is outcome
    assert 0.4 < time.monotonic() - started < 3.0
    assert [e["event"] for e in logs] == ["metrics_push_failed"]


async def test_after_a_stop_the_push_ends_before_the_grace_period_does(silent_gateway: str) -> None:
    settings = dataclasses.replace(settings_for(silent_gateway), grace_period=1.2)
    stop = StopRequest()
    stop.request(signal.SIGTERM)
    outcome = RunOutcome(1, "interrupted", 143, stats(), 3.0)
    started = time.monotonic()
    with capture_logs() as logs:
        await push_after(crawled(outcome), settings, stop)  # its own timeout (5 s) would be too late
    assert time.monotonic() - started < 1.2
    assert [e["event"] for e in logs] == ["metrics_push_failed"]

    stop.requested_at = time.monotonic() - 1.0  # the stop came a second ago: no time is left
    with capture_logs() as logs:
        await push_after(crawled(outcome), settings, stop)
    assert [e["event"] for e in logs] == ["metrics_push_skipped"]
