"""The gateway's rates across runs: read what earlier runs learned per source, record what this one met."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.domain import RunStats
from pipeline.logs import get_logger
from pipeline.pacing import PacingReport, busiest
from pipeline.settings import SourceSettings
from pipeline.store import Store

log = get_logger(__name__)

# Per source (its lock key), per API: requests/second. In: where each pace starts; out: where it ended.
Rates = dict[str, dict[str, float]]


async def remembered_rates(store: Store, sources: tuple[SourceSettings, ...]) -> Rates:
    """The rates earlier runs learned, per source and API."""
    rates: Rates = {}
    for source in sources:
        learned = await store.learned_rates(source.lock_key)
        rates[source.lock_key] = {r.api: r.rate for r in learned}
        if learned:
            log.info("rates_remembered", region=source.region, rates=rates[source.lock_key])
    return rates


def record_pacing(stats: RunStats, rates: Rates, source: str, pacing: Mapping[str, PacingReport]) -> None:
    """Keep where a source's paces ended; the run reports the busiest API of its fastest source."""
    rates[source] = {api: r.rate_learned for api, r in pacing.items() if r.rate_learned is not None}
    top = busiest(pacing)
    if top is not None and top.rate_reached > stats.rate_reached:
        stats.rate_reached, stats.rate_learned = top.rate_reached, top.rate_learned


async def remember_rates(store: Store, run_id: int, rates: Rates) -> None:
    """Store where every source's paces ended, for the next run to start from."""
    for source, learned in rates.items():
        await store.remember_rates(source, run_id, learned)


def rounded(pacing: Mapping[str, PacingReport]) -> dict[str, float | None]:
    """Each API's rate learned, to one decimal, for the logs."""
    return {api: None if r.rate_learned is None else round(r.rate_learned, 1) for api, r in pacing.items()}
