"""Transport hygiene through the CLI: redirects never followed (credentials never reach their target),
plain http refused for credentials off loopback, HTTP_PROXY / NO_PROXY honoured through a real proxy."""

from __future__ import annotations

import dataclasses

from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.forward_proxy import running_proxy
from tests.e2e.helpers import REGION, assert_table_equals_truth, cli_env, fetch, run_cli
from tests.e2e.resilience import DATASET, assert_repos_equal_truth, crawl_env, issues, last_run

PASSWORD = "pw-e2e-SECRET-40c1d2e3"  # noqa: S105 (the simulator's, searched for in the output)


def without_proxies(env: dict[str, str], **proxies: str) -> dict[str, str]:
    """``env`` with no *_proxy variable of the developer's shell, plus ``proxies``."""
    kept = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    return {**kept, **proxies}


async def test_a_redirected_repository_fails_and_its_target_never_sees_the_token(database_url: str) -> None:
    # The redirect target serves the same data: a client that followed the redirect would crawl it fine.
    async with running_simulator(DATASET) as target:
        namespace = target.repositories()[0][0]
        redirecting = dataclasses.replace(
            DATASET, redirect_to=target.url, redirect_prefix=f"/v2/manage/namespaces/{namespace}/"
        )
        async with running_simulator(redirecting) as sim:
            truth, repositories = sim.ground_truth(), sim.repositories()
            result = await run_cli("crawl", env=crawl_env(sim, database_url))
            redirects = sim.stats()["faults"]["redirect"]
        assert target.stats()["requests_total"] == 0  # the token never left for the redirect's target

    moved = [r for r in repositories if r[0] == namespace]
    assert result.code == 3, result.stderr
    assert redirects == len(moved)  # one request each: a redirect is not retried
    failed = await issues(database_url, (await last_run(database_url))["id"], "failed")
    assert set(failed) == set(moved)
    for issue in failed.values():
        assert issue["message"].startswith(f"HTTP 307: redirect to {target.url}/v2/manage/namespaces/")
        assert "not followed" in issue["message"] and "?" not in issue["message"]  # no query string shown
    await assert_repos_equal_truth(database_url, truth, moved)


async def test_an_iam_redirect_is_not_followed_and_the_password_never_reaches_its_target(
    database_url: str,
) -> None:
    async with running_simulator(dataclasses.replace(DATASET, iam_password=PASSWORD)) as target:
        everything = dataclasses.replace(DATASET, iam_password=PASSWORD, redirect_to=target.url)
        async with running_simulator(everything) as sim:
            iam = {
                "SWR_ETL_IAM_USER": DATASET.iam_user, "SWR_ETL_IAM_PASSWORD": PASSWORD,
                "SWR_ETL_IAM_DOMAIN": DATASET.iam_domain, "SWR_ETL_IAM_ENDPOINT": sim.url,
            }  # fmt: skip
            env = cli_env(database_url, {"SWR_ETL_ENDPOINT": sim.url, "SWR_ETL_REGION": REGION, **iam})
            result = await run_cli("crawl", env=env)
        assert target.stats()["requests_total"] == 0  # a followed 307 would have re-sent the password

    assert result.code == 1, result.stderr
    summary = result.stdout.strip()
    assert "IAM password authentication failed (HTTP 307: redirect to " in summary, summary
    assert f"{target.url}/v3/auth/tokens not followed" in summary
    assert PASSWORD not in result.stdout + result.stderr


async def test_plain_http_to_another_host_is_refused_before_anything_is_sent(database_url: str) -> None:
    # TEST-NET-1 (RFC 5737): not loopback, and nothing answers there.
    env = cli_env(database_url, {"SWR_ETL_ENDPOINT": "http://192.0.2.1:8080", "SWR_ETL_TOKEN": "t-e2e-1"})
    refused = await run_cli("crawl", env=env)
    assert refused.code == 2
    assert refused.stderr.startswith("swr-etl: error: endpoint http://192.0.2.1:8080 is plain http")
    assert "SWR_ETL_ALLOW_INSECURE_HTTP" in refused.stderr and "t-e2e-1" not in refused.stderr
    assert await fetch(database_url, "SELECT id FROM crawl_runs") == []  # refused before the database too

    quick = {"SWR_ETL_CONNECT_TIMEOUT": "0.3", "SWR_ETL_RETRY_ATTEMPTS": "1"}
    allowed = await run_cli("crawl", env={**env, **quick, "SWR_ETL_ALLOW_INSECURE_HTTP": "1"})
    assert allowed.code == 1, allowed.stderr  # it was tried: nothing answers there
    assert (await last_run(database_url))["status"] == "failed"


async def test_http_proxy_and_no_proxy_are_honoured(database_url: str) -> None:
    small = SimulatorConfig(port=0, seed=7, anchor=DATASET.anchor, namespaces=2, repos_per_namespace=4)
    async with running_proxy() as proxy, running_simulator(small) as sim:
        truth = sim.ground_truth()
        iam = {
            "SWR_ETL_IAM_USER": small.iam_user, "SWR_ETL_IAM_PASSWORD": small.iam_password,
            "SWR_ETL_IAM_DOMAIN": small.iam_domain, "SWR_ETL_IAM_ENDPOINT": sim.url,
        }  # fmt: skip
        env = without_proxies(
            cli_env(database_url, {"SWR_ETL_ENDPOINT": sim.url, "SWR_ETL_REGION": REGION, **iam})
        )
        proxied = await run_cli("crawl", env={**env, "HTTP_PROXY": proxy.url})
        sent = sim.stats()["requests_total"]
        through_proxy = list(proxy.forwarded)
        bypassed = await run_cli("crawl", env={**env, "http_proxy": proxy.url, "no_proxy": "127.0.0.1"})
        sent_again = sim.stats()["requests_total"] - sent

    assert proxied.code == 0, proxied.stderr
    assert sent > 0 and len(through_proxy) == sent  # every request went through the proxy, IAM's too
    assert through_proxy[0] == f"POST {sim.url}/v3/auth/tokens"
    assert all(line.startswith(f"GET {sim.url}/v2/manage/") for line in through_proxy[1:])
    assert bypassed.code == 0, bypassed.stderr
    assert sent_again == sent and proxy.forwarded == through_proxy  # NO_PROXY: straight to the host
    await assert_table_equals_truth(database_url, REGION, truth)
