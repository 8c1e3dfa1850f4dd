"""The datasets of a session: each suite's ``datasets:`` entry read once."""

from __future__ import annotations

from dataclasses import dataclass, field

from modeltests.data.datasets import Dataset, load_dataset
from modeltests.errors import DatasetError
from modeltests.suite.loader import Suite


@dataclass
class DatasetStore:
    """Datasets by (suite file, name), read on first use."""

    _datasets: dict[tuple[str, str], Dataset] = field(default_factory=dict)
    _suites: dict[str, Suite] = field(default_factory=dict)

    def dataset(self, suite: Suite, name: str) -> Dataset:
        """The dataset ``name`` of ``suite``, read once per session (never one marked ``stream:
        true``: see :meth:`streamed_counts`)."""
        key = (str(suite.path), name)
        if key not in self._datasets:
            spec = suite.datasets[name]
            if spec.stream:
                raise DatasetError(
                    f"{suite.location('datasets', name, 'stream')}: datasets.{name}: "
                    "stream: true keeps the dataset out of this process (only counts come "
                    "back), and something asked for its rows; drop stream: true to load it")
            self._suites[key[0]] = suite
            self._datasets[key] = load_dataset(
                name, spec, suite.base_dir, suite.location("datasets", name),
                locate=lambda field: suite.location("datasets", name, field))
        return self._datasets[key]

    def loaded(self) -> list[tuple[Suite, Dataset]]:
        """Every dataset this session read, with the suite that declared it."""
        return [(self._suites[path], dataset) for (path, _), dataset in self._datasets.items()]
