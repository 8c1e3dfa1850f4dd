"""A suite's ``datasets:`` entries: where a labelled dataset is, how to read it, and where its
predictions run (``executor``, ``ray``).

Declared here, in the lowest room that reads them (datasets, token files, the prediction cache and
the Ray executor all take a :class:`DatasetSpec`); :mod:`modeltests.suite.schema` assembles the
whole file from the sections its rooms declare.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class RayOptions(BaseModel):
    """Where and how ``executor: ray`` runs a dataset's predictions (see
    docs/how-to/ray.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = Field(
        default=None, description="'local' starts a Ray cluster in this process; 'auto' joins the "
        "cluster started on this machine; 'HOST:PORT' or 'ray://HOST:10001' an existing one. "
        "Unset: $RAY_ADDRESS, else 'local'.")
    workers: int = Field(default=2, ge=1, le=4096,
                         description="Actors, each with its own copy of the model.")
    cpus_per_worker: float = Field(default=1.0, gt=0, description="CPUs Ray reserves per actor.")
    batch_rows: int = Field(default=1024, ge=1, description="Texts per Ray Data batch (the "
                            "model still runs them in its own batch_size).")
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600, description="How long to try "
                                     "reaching a cluster's address before the check errors.")
    runtime_env: dict[str, Any] | None = Field(
        default=None, description="Ray runtime_env for the workers (pip, env_vars, working_dir).")



class ImageOptions(BaseModel):
    """How a dataset's images become model inputs (``datasets.NAME.image``; see
    docs/how-to/images.md): every image is read as ``channels`` channels, resized to ``size``
    when set, scaled to [0, 1] and normalised per channel as ``(x - mean) / std`` by the model's
    adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: Literal[1, 3] = Field(
        default=3, description="1: grayscale files (PIL mode L or 1); 3: RGB files (mode RGB). "
        "A file of another mode (RGBA, CMYK, palette...) is an error naming it.")
    size: tuple[int, int] | None = Field(
        default=None, description="[height, width] every image is resized to (bilinear); unset, "
        "every image must already have the same size.")
    mean: list[float] | None = Field(
        default=None, description="Per-channel mean subtracted after scaling to [0, 1] "
        "(one value, or one per channel); unset: 0.")
    std: list[float] | None = Field(
        default=None, description="Per-channel standard deviation divided by (one value, or one "
        "per channel; each > 0); unset: 1.")
    path_column: str = Field(
        default="path", description="A CSV or Parquet of images: the column holding each image "
        "file's path, relative to the table's directory.")
    images_key: str = Field(default="images", description="An .npz file: the array of images, "
                            "(n, height, width) or (n, height, width, channels), uint8 in "
                            "0-255 or floats in [0, 1].")
    labels_key: str = Field(default="labels", description="An .npz file: the array of labels.")

    @field_validator("size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and min(value) < 1:
            raise ValueError(f"size is [height, width], each at least 1 (got {list(value)})")
        return value

    @model_validator(mode="after")
    def _per_channel(self) -> ImageOptions:
        for key in ("mean", "std"):
            values = getattr(self, key)
            if values is not None and len(values) not in (1, self.channels):
                raise ValueError(f"{key} has {len(values)} values; give 1 or {self.channels} "
                                 f"(one per channel)")
        if self.std is not None and any(v <= 0 for v in self.std):
            raise ValueError(f"std values must be > 0 (got {self.std})")
        return self

    def per_channel(self, key: Literal["mean", "std"]) -> tuple[float, ...]:
        """``mean`` or ``std`` as one value per channel (defaults 0 and 1)."""
        values = getattr(self, key) or [0.0 if key == "mean" else 1.0]
        return tuple(values) * (self.channels // len(values) if len(values) == 1 else 1)


class DatasetSpec(BaseModel):
    """A labelled dataset read with pandas (CSV, JSONL or Parquet), or a dataset of images (a
    folder per class, a table of image paths, an .npz of arrays) when ``image`` is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="File path, relative to the suite file.")
    format: Literal["auto", "csv", "jsonl", "parquet", "conll", "image_folder", "npz"] = Field(
        default="auto", description="File format; 'auto' picks it from the file extension (a "
        "directory: image_folder). "
        "'conll': a token dataset, one word per line (word first, tag last), blank lines "
        "between sentences. 'image_folder': a folder per class of image files (the torchvision "
        "ImageFolder convention); 'npz': numpy arrays of images and labels (both need image)."
    )
    image: ImageOptions | None = Field(
        default=None, description="A dataset of images: channels, size and normalisation "
        "(path: a folder per class, an .npz, or a CSV / Parquet whose image.path_column names "
        "image files).")
    text_column: str | list[str] = Field(
        default="text", description="Column holding the input text, or two columns holding a "
        "pair of texts (e.g. [premise, hypothesis]) for text-pair classification.")
    label_column: str = Field(default="label", description="Column holding the expected label.")
    label_map: dict[str, str] | None = Field(
        default=None, description="Rename dataset labels to the model's (e.g. {0: negative})."
    )
    tokens_column: str | None = Field(
        default=None, description="A token dataset (JSONL): the column holding each sentence's "
        "list of words (with tags_column).")
    tags_column: str | None = Field(
        default=None, description="A token dataset (JSONL): the column holding each sentence's "
        "list of BIO tags, one per word.")
    prompt_column: str | None = Field(
        default=None, description="A prompt dataset (JSONL or CSV, for the generative kinds): "
        "the field holding each prompt (with answer_column, choices_column).")
    answer_column: str | None = Field(
        default=None, description="A prompt dataset: the field holding the expected answer "
        "(for multiple choice: the right choice's text, or its index from 0).")
    choices_column: str | None = Field(
        default=None, description="A multiple-choice prompt dataset: the field holding each "
        "row's list of choices (a JSON list; in CSV a cell holding one), scored as "
        "continuations of the prompt.")
    document_column: str | None = Field(
        default=None, description="A document dataset (JSONL or CSV, for perplexity): the "
        "field holding each document.")
    limit: int | None = Field(default=None, ge=1, description="Use only the first N rows.")
    encoding: str = Field(default="utf-8", description="Text encoding of a CSV or JSONL file.")
    unlabelled: Literal["error", "drop"] = Field(
        default="error", description="Rows without a label: 'error' names them, 'drop' leaves "
        "them out (the count is in the report).")
    executor: Literal["local", "ray"] = Field(
        default="local", description="Who computes whole-dataset predictions: 'local' (this "
        "process) or 'ray' (actors of a Ray cluster, each loading the model once).")
    ray: RayOptions | None = Field(default=None, description="Options of executor: ray.")
    stream: bool = Field(
        default=False, description="Never load the file in this process: Ray Data reads it in "
        "blocks, the actors predict each block and only (expected, predicted) counts come back "
        "(needs executor: ray). Only checks that read counts accept such a dataset (accuracy "
        "without slices); any other is an error at setup.")

    @model_validator(mode="after")
    def _token_columns_together(self) -> DatasetSpec:
        if (self.tokens_column is None) != (self.tags_column is None):
            raise ValueError("a token dataset needs both 'tokens_column' and 'tags_column'")
        return self

    @model_validator(mode="after")
    def _prompt_columns_together(self) -> DatasetSpec:
        if self.prompt_column is not None and self.document_column is not None:
            raise ValueError("a dataset holds prompts (prompt_column) or documents "
                             "(document_column), not both")
        if (self.answer_column or self.choices_column) and self.prompt_column is None:
            raise ValueError("answer_column and choices_column belong to a prompt dataset: "
                             "set prompt_column too")
        return self

    @model_validator(mode="after")
    def _image_formats_need_image(self) -> DatasetSpec:
        if self.format in ("image_folder", "npz") and self.image is None:
            raise ValueError(f"format: {self.format} is a dataset of images: add an 'image' "
                             "section (channels, size, mean, std)")
        if self.image is not None and self.stream:
            raise ValueError("'stream: true' reads a text column in blocks on the Ray workers; "
                             "a dataset of images is read here and its images sent to the "
                             "workers: leave stream unset (executor: ray still applies)")
        return self

    @model_validator(mode="after")
    def _ray_options_need_ray(self) -> DatasetSpec:
        if self.ray is not None and self.executor != "ray":
            raise ValueError("'ray' options need 'executor: ray'")
        if self.stream and self.executor != "ray":
            raise ValueError("'stream: true' needs 'executor: ray' (Ray Data reads the file)")
        if self.executor == "ray" and isinstance(self.text_column, list):
            raise ValueError("executor: ray reads one text column; a dataset of text pairs "
                             "(two text columns) runs with executor: local")
        return self

    @field_validator("text_column")
    @classmethod
    def _one_or_two_columns(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError(f"a list of text columns names exactly two (a pair: first, "
                                 f"second), not {len(value)}")
            if value[0] == value[1]:
                raise ValueError(f"the two text columns must differ (got {value[0]!r} twice)")
        return value

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The text column, or the two columns of a pair (first, second)."""
        return tuple(self.text_column) if isinstance(self.text_column, list) \
            else (self.text_column,)

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value
