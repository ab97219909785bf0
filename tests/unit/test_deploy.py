"""deploy/ agrees with the code: every variable the pods set is a setting, every secret file they read is a
key of the Secret they mount, and kustomize lists every resource. (`make manifests` runs
kubernetes-validate and checkov on the same files.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, CrawlLocked
from pipeline.run import EXIT_PARTIAL
from pipeline.settings import ENV_KEYS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PODS = ["cronjob.yaml", "migrate-job.yaml"]
MOUNT = "/var/run/secrets/swr-etl"


def secret_keys() -> dict[str, set[str]]:
    """Each Secret of secret.example.yaml with the keys of its stringData."""
    secrets = {}
    for document in (DEPLOY / "secret.example.yaml").read_text().split("\n---\n"):
        name = re.search(r"^  name: (\S+)$", document, re.M)
        if name and "kind: Secret" in document:
            data = document.split("stringData:\n", 1)[1]
            secrets[name.group(1)] = set(re.findall(r"^  ([\w-]+):", data, re.M))
    return secrets


def test_kustomization_lists_every_resource_but_the_secret_example() -> None:
    listed = re.findall(r"^  - (\S+\.yaml)$", (DEPLOY / "kustomization.yaml").read_text(), re.M)
    present = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert sorted(listed) == sorted(present)


@pytest.mark.parametrize("manifest", PODS)
def test_pods_set_only_settings_and_read_their_secrets_from_files(manifest: str) -> None:
    text = (DEPLOY / manifest).read_text()
    variables = re.findall(r"name: SWR_ETL_(\w+)", text)
    assert variables and all(v in ENV_KEYS for v in variables), variables
    assert "secretKeyRef" not in text and "envFrom" not in text  # secrets as files only
    [secret] = re.findall(r"secretName: ([\w-]+)", text)
    read = set(re.findall(rf"{MOUNT}/([\w-]+)", text))
    assert read and read <= secret_keys()[secret], (read, secret)
    assert not set(variables) & {"DATABASE_URL", "TOKEN", "IAM_PASSWORD", "SK", "SECURITY_TOKEN"}


def test_the_three_identities_have_a_secret_each() -> None:
    assert set(secret_keys()) == {"swr-etl-migrator", "swr-etl-crawler", "swr-etl-reader"}


def test_the_cronjob_ends_the_job_on_the_exits_a_new_pod_cannot_improve() -> None:
    text = (DEPLOY / "cronjob.yaml").read_text()
    [codes] = re.findall(r"- action: FailJob\n\s+onExitCodes: \{[^}]*values: \[([\d, ]+)\]\}", text)
    assert {int(code) for code in codes.split(",")} == {
        EXIT_PARTIAL,
        ConfigError.exit_code,
        CrawlLocked.exit_code,
    }
    assert "restartPolicy: Never" in text  # podFailurePolicy requires it
