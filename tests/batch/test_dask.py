"""Does `--executor dask://HOST:PORT` grade a class exactly as the local process pool does?"""
from __future__ import annotations

import pytest

from autograder.batch import grade
from support.classes import ID, LIMITS, copy_students, graded_class, ledger_students, verdicts

STUDENTS = ["01-right", "03-partial", "04-forbidden"]


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_results_as_local_processes(tmp_path_factory, tmp_path):
    """Graded on a LocalCluster over loopback, are scores, statuses and mistakes identical to the local run's?"""
    from distributed import LocalCluster
    submitted, local = graded_class(tmp_path_factory)
    subset = copy_students(submitted, tmp_path / "submitted", STUDENTS)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        summary = grade(subset, assignment=ID, out=tmp_path / "out", executor=address, limits=LIMITS)
    expected = {s: v for s, v in verdicts(local.results).items() if s in STUDENTS}
    assert verdicts(summary.results) == expected
    assert sorted(ledger_students(tmp_path / "out")) == STUDENTS
    assert (tmp_path / "out" / "report.html").is_file()
