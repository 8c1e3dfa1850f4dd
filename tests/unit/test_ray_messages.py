"""How a Ray failure reads: the reason a worker gave, on one line (no remote traceback). The
texts are Ray 2.60's, copied from failures seen on a real cluster."""

from __future__ import annotations

from modeltests.errors import ModelLoadError
from modeltests.cluster.predictions import failure_cause

CREATION = (
    "The actor died because of an error raised in its creation task, ray::MapWorker(MapBatches"
    "(_Predictor)).__init__() (pid=1761, ip=192.0.2.2, actor_id=e0eb7d5e)\n"
    "  File \"/site-packages/ray/data/_internal/execution/util.py\", line 115, in __init__\n"
    "    super().__init__(*args, **kwargs)\n"
    "ModuleNotFoundError: No module named 'modeltests.cluster.predictions'")


class ActorDiedError(Exception):
    """Stands for ray.exceptions.ActorDiedError: failure_cause reads only its name and text."""


class Wrapper(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__("wrapper")
        self.cause = cause


def test_an_actor_that_cannot_be_created_names_the_import_error() -> None:
    assert failure_cause(ActorDiedError(CREATION)) == (
        "a Ray worker could not create the model actor: ModuleNotFoundError: No module named "
        "'modeltests.cluster.predictions' (every worker needs modeltests, at this version, and the "
        "model's libraries: install them in the cluster's image or with ray.runtime_env)")


def test_a_dead_worker_says_it_was_retried() -> None:
    died = ActorDiedError("The actor died unexpectedly before finishing this task.\n\tpid: 9")
    assert failure_cause(died) == ("ActorDiedError: The actor died unexpectedly before finishing "
                                   "this task. (the worker process died; Ray restarted it and "
                                   "ran its batch again 2 times)")


def test_the_workers_own_message_wins_over_the_wrappers() -> None:
    inner = ModelLoadError("model failed to load on Ray worker vm:12: OSError: no such file")
    assert failure_cause(Wrapper(inner)) == inner.args[0]
