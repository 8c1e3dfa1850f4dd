"""How the pytest process hands a robustness check's examples to Ray actors, with a fake ``ray``
whose actors finish in reverse order: outcomes come back in the examples' order, no more actors
than the cluster holds, a failure is an error and never a partial result (the real cluster runs
in tests/real/test_ray_real.py)."""

from __future__ import annotations

from typing import Any

import pytest

from modeltests.cluster import attacks as ray_attacks
from modeltests.errors import RayExecutorError
from modeltests.data.spec import RayOptions
from modeltests.perturb.textattack import AttackOutcome


class FakeRay:
    """``ray.remote`` actors that answer at once, ``ray.wait`` handing back the NEWEST pending
    task first (the opposite of the order they were started in)."""

    def __init__(self, cpus: float, failing: int | None = None) -> None:
        self.cpus = cpus
        self.failing = failing
        self.actors: list[Any] = []
        self.killed = 0
        self.started: list[int] = []

    def remote(self, cls: Any) -> Any:
        fake = self

        class Handle:
            def options(self, **_: Any) -> Any:
                return self

            def remote(self, *args: Any) -> Any:
                actor = Actor(len(fake.actors))
                fake.actors.append(actor)
                return actor

        class Method:
            def __init__(self, call: Any) -> None:
                self.remote = call

        class Actor:
            def __init__(self, number: int) -> None:
                self.worker = f"host:{number}"
                self.ready = Method(lambda: ("ready", self.worker))
                self.attack = Method(self._attack)

            def _attack(self, position: int, text: str, label: int, seed: int) -> Any:
                fake.started.append(position)
                error = "model raised" if position == fake.failing else ""
                outcome = None if error else AttackOutcome("failed", "failed", position + 1)
                return ("done", (position, outcome, self.worker, error))

        return Handle()

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": self.cpus}

    def get(self, refs: Any) -> Any:
        if isinstance(refs, list):
            return [(worker, 0.5, "") for _, worker in refs]
        return refs[1]

    def wait(self, refs: list[Any], num_returns: int = 1) -> tuple[list[Any], list[Any]]:
        return [refs[-1]], refs[:-1]

    def kill(self, actor: Any) -> None:
        self.killed += 1


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(cpus: float, failing: int | None = None) -> FakeRay:
        ray = FakeRay(cpus, failing)
        monkeypatch.setattr(ray_attacks, "connect", lambda options, location: "fake:1")
        monkeypatch.setattr(ray_attacks, "require_ray", lambda location: ray)
        return ray
    return install


EXAMPLES = [(f"text {i}", i % 2) for i in range(7)]


def test_outcomes_come_back_in_the_examples_order(fake: Any) -> None:
    ray = fake(cpus=3)
    seen: list[int] = []

    def track(done: Any) -> Any:
        for item in done:
            seen.append(item[0])
            yield item

    run, facts = ray_attacks.attack_on_ray(None, None, EXAMPLES, 0,  # type: ignore[arg-type]
                                           RayOptions(workers=8), "s.yaml:3", track=track)
    assert [o.queries for o in run.outcomes] == [1, 2, 3, 4, 5, 6, 7]
    assert seen != sorted(seen) and sorted(seen) == list(range(7))  # finished out of order
    assert ray.started == sorted(ray.started)  # but started in order
    assert (facts["workers_requested"], facts["workers_started"], facts["workers_answered"]) \
        == (8, 3, 3)  # no more actors than the cluster's CPUs hold
    assert ray.killed == 3 and not run.stopped_by_time_budget


def test_a_failed_example_is_an_error_not_a_partial_result(fake: Any) -> None:
    ray = fake(cpus=2, failing=4)
    with pytest.raises(RayExecutorError, match=r"^s\.yaml:3: model raised$"):
        ray_attacks.attack_on_ray(None, None, EXAMPLES, 0,  # type: ignore[arg-type]
                                  RayOptions(workers=2), "s.yaml:3")
    assert ray.killed == 2  # the actors are let go all the same
