"""Does `attn-grade serve --executor dask://HOST:PORT` grade on the Dask cluster, with the local Result?"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as running:
        yield running.scheduler_address.replace("tcp://", "dask://")


def test_a_submission_is_graded_on_the_dask_cluster(start_server, cluster, scenario):
    """Is a buggy notebook sent to a server whose executor is a Dask cluster graded there, mistake named?"""
    server, tokens = start_server("--executor", cluster, "--cell-timeout", "10", "--call-timeout", "5")
    accepted = server.submit(tokens["alice"], scenario("masked_attention", "buggy"))
    verdict = server.verdict(tokens["alice"], accepted.json()["id"])
    assert verdict["status"] == "done"
    assert "triu-instead-of-tril" in verdict["result"]["questions"][0]["mistakes"]
    assert server.events("started")[0]["executor"] == cluster
