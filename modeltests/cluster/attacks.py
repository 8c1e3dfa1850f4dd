"""A robustness check's examples attacked in parallel by Ray actors (``executor: ray`` on the
check).

Each actor loads the suite's model ONCE from the same ``model:`` parameters
(:class:`~modeltests.cluster.predictions.ModelRecipe`) and builds its own TextAttack ``Attack`` on it
with the check's own factory; the driver hands it one example at a time, the next as soon as an
actor is free. An example's attack is seeded by ``(seed, position)`` alone, with TextAttack's
caches emptied first (:func:`modeltests.perturb.textattack.attack_one`), so the outcomes are
those of a serial run whatever actor attacks which example, in whatever order; they come back
in the examples' order. A killed actor is restarted and its example attacked again (the same
outcome: the seed is the example's); a failure after the retries is an error, never a partial
result. Ray is imported inside functions.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from modeltests.errors import RayExecutorError
from modeltests.cluster.predictions import RETRIES, ModelRecipe, connect, failure_cause, require_ray
from modeltests.data.spec import RayOptions

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions
    from modeltests.data.inputs import ModelInput
    from modeltests.perturb.textattack import Attack, AttackOutcome, AttackRun, ModelWrapper
    from modeltests.perturb.textattack.types import Probabilities

AttackFactory = Callable[["ModelWrapper"], "Attack"]
"""Builds the check's ``Attack`` on a model wrapper; pickled to the actors, so a module-level
function (or a ``functools.partial`` of one) with picklable arguments."""


def probabilities_of(predictions: Predictions) -> Probabilities:
    """An ``(n, k)`` probability matrix: the model's, or one-hot rows of its labels when it has
    none (what TextAttack's goal functions read)."""
    import numpy as np

    if predictions.probabilities is not None:
        matrix: Probabilities = np.asarray(predictions.probabilities, dtype=np.float64)
        return matrix
    names = predictions.label_names
    one_hot = np.zeros((len(predictions.labels), len(names)))
    one_hot[np.arange(len(predictions.labels)),
            [names.index(label) for label in predictions.labels]] = 1.0
    return one_hot


class _Attacker:
    """A Ray actor: the model loaded and the attack built once, then example after example.

    A failure to load or build comes back as text (Ray hands the driver only the text of a
    remote traceback): :meth:`ready` and :meth:`attack` return it."""

    def __init__(self, recipe: ModelRecipe, factory: AttackFactory) -> None:
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.error = ""
        started = time.perf_counter()
        try:
            adapter = recipe.load()
            if tuple(adapter.labels) != recipe.labels:
                raise RayExecutorError(f"the model has labels {adapter.labels}, the pytest "
                                       f"process's has {list(recipe.labels)}: the workers read "
                                       "another model")
            from modeltests.perturb.textattack import adapter_model_wrapper

            self.attack_object = factory(adapter_model_wrapper(
                lambda texts: probabilities_of(adapter.predict(texts)), adapter))
        except Exception as exc:
            self.error = (f"the attack could not be built on Ray worker {self.worker}: "
                          f"{type(exc).__name__}: {exc}")
        self.load_seconds = time.perf_counter() - started

    def ready(self) -> tuple[str, float, str]:
        """This worker's name, its load seconds, and the error of its start ("" when fine)."""
        return self.worker, self.load_seconds, self.error

    def attack(self, position: int, text: ModelInput, label: int, seed: int
               ) -> tuple[int, AttackOutcome | None, str, str]:
        """The ``position``-th example's outcome (or the error that stopped it)."""
        if self.error:
            return position, None, self.worker, self.error
        from modeltests.perturb.textattack import attack_one

        try:
            outcome = attack_one(self.attack_object, text, label, seed, position)
        except Exception as exc:
            return position, None, self.worker, (
                f"attacking example {position} failed on Ray worker {self.worker}: "
                f"{type(exc).__name__}: {exc}")
        return position, outcome, self.worker, ""


Done = tuple[int, "AttackOutcome", str]
"""An example's position, its outcome, the worker that attacked it."""


def attack_on_ray(recipe: ModelRecipe, factory: AttackFactory,
                  examples: Sequence[tuple[ModelInput, int]], seed: int, options: RayOptions,
                  location: str, time_budget_s: float | None = None,
                  track: Callable[[Iterator[Done]], Iterable[Done]] = lambda done: done
                  ) -> tuple[AttackRun, dict[str, Any]]:
    """The outcomes of attacking ``examples`` (``(text, label index)``, in order) on Ray actors:
    those of :func:`modeltests.perturb.textattack.attack_examples` on one process, and the
    facts of the run (examples, workers, seconds per stage). Once ``time_budget_s`` has passed
    no new example starts; those started finish (the outcomes are then the first examples).
    ``track`` sees each example as it comes back (a progress bar)."""
    from modeltests.perturb.textattack import AttackRun

    stages: dict[str, float] = {}
    started = time.perf_counter()
    address = connect(options, location)
    ray = require_ray(location)
    stages["connect"] = time.perf_counter() - started
    # No more actors than examples, nor than the cluster can hold at once: an actor waiting for
    # a CPU that never frees (a local cluster started smaller, by a dataset's options) would
    # leave the run waiting for ever.
    room = int(ray.cluster_resources().get("CPU", 0) // options.cpus_per_worker)
    size = max(1, min(options.workers, len(examples), room))
    remote_options: dict[str, Any] = {"num_cpus": options.cpus_per_worker,
                                      "max_restarts": RETRIES, "max_task_retries": RETRIES}
    if options.runtime_env is not None:
        remote_options["runtime_env"] = options.runtime_env
    actor_class = ray.remote(_Attacker).options(**remote_options)
    actors = [actor_class.remote(recipe, factory) for _ in range(size)]
    try:
        mark = time.perf_counter()
        loads = _started(ray, actors, address, location)
        stages["start"] = time.perf_counter() - mark
        mark = time.perf_counter()
        stopped: list[bool] = []
        found: dict[int, AttackOutcome] = {}
        workers: set[str] = set()
        for index, outcome, worker in track(_dispatch(ray, actors, examples, seed, address,
                                                      location, time_budget_s, stopped)):
            found[index] = outcome
            workers.add(worker)
        stages["attack"] = time.perf_counter() - mark
    finally:
        for actor in actors:
            ray.kill(actor)
    if sorted(found) != list(range(len(found))):  # started in order, all finished: a prefix
        raise RayExecutorError(f"{location}: Ray returned outcomes for examples "
                               f"{sorted(found)[:10]}..., not the first {len(found)}")
    outcomes = [found[i] for i in range(len(found))]
    facts = {"executor": "ray", "work": "attack", "address": address, "rows": len(examples),
             "attacked": len(outcomes), "workers_requested": options.workers,
             "workers_started": size,
             "workers_answered": len(workers),
             "cluster_cpus": ray.cluster_resources().get("CPU"),
             "worker_load_seconds_max": round(max(loads, default=0.0), 3),
             "seconds": {k: round(v, 3) for k, v in stages.items()}}
    return AttackRun(outcomes, stages["attack"], bool(stopped)), facts


def _started(ray: Any, actors: list[Any], address: str, location: str) -> list[float]:
    """Each actor's load seconds, once every actor has its model and attack; else the error."""
    try:
        answers = ray.get([actor.ready.remote() for actor in actors])
    except Exception as exc:
        raise RayExecutorError(f"{location}: attacking on Ray ({address}) failed: "
                               f"{failure_cause(exc)}") from None
    errors = [error for _, _, error in answers if error]
    if errors:
        raise RayExecutorError(f"{location}: {errors[0]}")
    return [float(seconds) for _, seconds, _ in answers]


def _dispatch(ray: Any, actors: list[Any], examples: Sequence[tuple[ModelInput, int]], seed: int,
              address: str, location: str, time_budget_s: float | None, stopped: list[bool]
              ) -> Iterator[Done]:
    """Hand the examples out in order, one to each free actor; yield each as it comes back.
    ``stopped`` gets an entry when the time budget left examples unstarted."""
    free = list(actors)
    pending: dict[Any, Any] = {}  # ObjectRef -> the actor computing it
    started = time.perf_counter()
    position = 0
    while True:
        while free and position < len(examples) and not stopped:
            if time_budget_s is not None and time.perf_counter() - started >= time_budget_s:
                stopped.append(True)
                break
            actor = free.pop()
            text, label = examples[position]
            pending[actor.attack.remote(position, text, label, seed)] = actor
            position += 1
        if not pending:
            return
        [done], _ = ray.wait(list(pending), num_returns=1)
        free.append(pending.pop(done))
        try:
            index, outcome, worker, error = ray.get(done)
        except Exception as exc:  # the actor died more often than Ray retries
            raise RayExecutorError(f"{location}: attacking on Ray ({address}) failed: "
                                   f"{failure_cause(exc)}") from None
        if error or outcome is None:
            raise RayExecutorError(f"{location}: {error}")
        yield index, outcome, worker
