"""Datasets of images: a folder per class (the torchvision ``ImageFolder`` convention), a CSV or
Parquet table of image paths and labels, or an ``.npz`` of arrays; read into
:class:`~modeltests.data.inputs.ImageInput` rows with the suite's declared channels, size and
normalisation (:class:`~modeltests.data.spec.ImageOptions`).

Every file is read before any model runs; files that are not images, are truncated, have
another mode than the declared channels or (without a declared size) another size are one
located error listing them all. Pillow and numpy are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from modeltests.data.inputs import ImageInput, ModelInput
from modeltests.data.spec import DatasetSpec, ImageOptions
from modeltests.errors import DatasetError
from modeltests.support.digests import file_digest

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
"""Files a class folder's images are read from (others, e.g. a README, are left out)."""

MODES = {1: ("L", "1"), 3: ("RGB",)}
"""The PIL modes each declared channel count accepts: a file of another mode is refused rather
than converted (an RGBA logo or a CMYK scan is not what the suite says the model sees)."""

MAX_FILES_SHOWN = 10


@dataclass(frozen=True)
class ImageRows:
    """What :func:`read_images` read: the images, their labels (``label_map`` applied), where
    each came from (a file relative to the dataset, or ``file.npz[i]``) and a digest of the
    files; :func:`modeltests.data.datasets.load_dataset` makes an ``ImageDataset`` of them."""

    rows: list[ImageInput]
    labels: list[str]
    files: list[str]
    sha256: str
    shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def is_image_spec(spec: DatasetSpec) -> bool:
    """Whether ``spec`` declares a dataset of images."""
    return spec.image is not None


def read_images(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                ) -> ImageRows:
    """Read the images ``spec`` names at ``path`` (a directory, an .npz or a table)."""
    assert spec.image is not None
    options = spec.image
    fmt: str = spec.format
    if fmt == "auto":
        fmt = "image_folder" if path.is_dir() else ("npz" if path.suffix.lower() == ".npz"
                                                     else "table")
    if fmt == "image_folder" and not path.is_dir():
        raise DatasetError(f"{at('path')}: datasets.{name}.path: format image_folder needs a "
                           f"directory (a folder per class); {path} is a file")
    if fmt != "image_folder" and not path.is_file():
        raise DatasetError(f"{at('path')}: datasets.{name}.path: dataset file not found: {path}")
    if fmt == "npz":
        rows, labels, files = _npz_rows(name, path, options, at)
    else:
        files, labels = (_folder_files(name, path, at) if fmt == "image_folder"
                         else _table_files(name, spec, path, at))
        rows = _read_files(name, files, path if path.is_dir() else path.parent, options, at)
    return _dataset(spec, path, options, rows, labels, files)


def _dataset(spec: DatasetSpec, path: Path, options: ImageOptions, rows: list[ImageInput],
             labels: list[str], files: list[str]) -> ImageRows:
    if spec.limit is not None:
        rows, labels, files = rows[:spec.limit], labels[:spec.limit], files[:spec.limit]
    if spec.label_map:
        labels = [spec.label_map.get(label, label) for label in labels]
    digest = file_digest(path) if path.is_file() else _folder_digest(path, files)
    return ImageRows(rows=rows, labels=labels, files=files, sha256=digest, shape=_shape(rows),
                     mean=options.per_channel("mean"), std=options.per_channel("std"))


def _shape(rows: list[ImageInput]) -> tuple[int, int, int]:
    """The images' common shape (channels, height, width)."""
    if not rows:
        return (0, 0, 0)
    channels, height, width = rows[0].pixels.shape
    return (int(channels), int(height), int(width))


def _folder_digest(root: Path, files: list[str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for file in files:
        digest.update(file.encode("utf-8") + b"\0" + file_digest(root / file).encode())
    return digest.hexdigest()


def _folder_files(name: str, root: Path, at: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """Image files under ``root/<class>/``, sorted by class then name; the class is the label."""
    files, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                files.append(file.relative_to(root).as_posix())
                labels.append(folder.name)
    if not files:
        raise DatasetError(f"{at('path')}: datasets.{name}.path: {root} holds no image files in "
                           f"class folders (expected {root.name}/<class>/<image>, suffixes "
                           f"{', '.join(IMAGE_SUFFIXES)})")
    return files, labels


def _table_files(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                 ) -> tuple[list[str], list[str]]:
    """Image paths and labels from a CSV / Parquet table (paths relative to the table)."""

    import pandas as pd

    assert spec.image is not None
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",",
                                encoding=spec.encoding)
    except Exception as exc:  # pandas raises many types; the user needs the reason
        raise DatasetError(f"{at('path')}: datasets.{name}: cannot read {path.name}: "
                           f"{type(exc).__name__}: {exc}") from None
    columns = [str(c) for c in frame.columns]
    problems = [f"{at(key)}: datasets.{name}.{key}: column {column!r} not found in {path.name} "
                f"(columns: {', '.join(columns)})"
                for key, column in (("image", spec.image.path_column),
                                    ("label_column", spec.label_column))
                if column not in columns]
    if problems:
        raise DatasetError("\n".join(problems))
    labels = [_label(v) for v in frame[spec.label_column]]
    unlabelled = [i + 2 for i, label in enumerate(labels) if label is None]
    if unlabelled:
        raise DatasetError(f"{at('label_column')}: datasets.{name}: {len(unlabelled)} row(s) of "
                           f"{path.name} have no {spec.label_column!r} (file lines "
                           f"{_shown(unlabelled)})")
    return [str(v) for v in frame[spec.image.path_column]], [str(label) for label in labels]


def _read_files(name: str, files: list[str], root: Path, options: ImageOptions,
                at: Callable[[str], str]) -> list[ImageInput]:
    """Every file read (all problems gathered first, then raised together)."""
    rows: list[ImageInput] = []
    problems: list[str] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    for file in files:
        pixels, problem = _read_image(root / file, options)
        if problem is not None:
            problems.append(f"{file} ({problem})")
            continue
        assert pixels is not None
        sizes.setdefault((pixels.shape[1], pixels.shape[2]), []).append(file)
        rows.append(ImageInput(file, pixels, options.per_channel("mean"),
                               options.per_channel("std")))
    if problems:
        raise DatasetError(f"{at('path')}: datasets.{name}: {len(problems)} of {len(files)} "
                           f"image file(s) cannot be used: {_shown(problems)}")
    if len(sizes) > 1:
        common = max(sizes, key=lambda size: len(sizes[size]))
        odd = [f"{file} ({h}x{w})" for size, named in sizes.items() if size != common
               for file in named for h, w in [size]]
        raise DatasetError(f"{at('image')}: datasets.{name}.image.size: {len(odd)} image(s) are "
                           f"not {common[0]}x{common[1]} like the others: {_shown(odd)}; set "
                           "image.size: [height, width] to resize every image")
    return rows


def _read_image(file: Path, options: ImageOptions
                ) -> tuple[npt.NDArray[np.float32] | None, str | None]:
    """``(pixels, None)``: channels x height x width in [0, 1]; or ``(None, why not)``."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not file.is_file():
        return None, "file not found"
    try:
        with Image.open(file) as image:
            image.load()
            mode = image.mode
            if mode not in MODES[options.channels]:
                return None, (f"mode {mode}; image.channels: {options.channels} reads "
                              f"{' or '.join(MODES[options.channels])}")
            image = image.convert("L" if options.channels == 1 else "RGB")
            if options.size is not None and image.size != (options.size[1], options.size[0]):
                image = image.resize((options.size[1], options.size[0]),
                                     Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.float32) / 255.0
    except UnidentifiedImageError:
        return None, "not an image"
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or damaged data
        return None, f"unreadable: {exc}"
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), None


def _npz_rows(name: str, path: Path, options: ImageOptions, at: Callable[[str], str]
              ) -> tuple[list[ImageInput], list[str], list[str]]:
    """Images and labels from an ``.npz``: uint8 images are scaled by 1/255, float images must
    already lie in [0, 1]."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {key: arrays[key] for key in arrays.files}
    except Exception as exc:  # a damaged zip, a pickled array...
        raise DatasetError(f"{at('path')}: datasets.{name}.path: cannot read {path.name} as "
                           f"npz: {type(exc).__name__}: {exc}") from None
    missing = [(key, value) for key, value in (("images_key", options.images_key),
                                               ("labels_key", options.labels_key))
               if value not in found]
    if missing:
        raise DatasetError("\n".join(
            f"{at('image')}: datasets.{name}.image.{key}: no array {value!r} in {path.name} "
            f"(arrays: {', '.join(sorted(found))})" for key, value in missing))
    images, labels = found[options.images_key], found[options.labels_key]
    images = _channels_last(name, images, options, path, at)
    if len(labels) != len(images):
        raise DatasetError(f"{at('image')}: datasets.{name}: {path.name} holds {len(images)} "
                           f"images and {len(labels)} labels")
    if images.dtype == np.uint8:
        scaled = images.astype(np.float32) / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        bad = [str(i) for i, image in enumerate(images)
               if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1]
        if bad:
            raise DatasetError(f"{at('image')}: datasets.{name}: {path.name} images "
                               f"{_shown(bad)} have pixels outside [0, 1] or not finite (float "
                               "images are read as given; store uint8 0-255 to scale them)")
        scaled = images.astype(np.float32)
    else:
        raise DatasetError(f"{at('image')}: datasets.{name}.image.images_key: {path.name}'s "
                           f"images are {images.dtype}; store uint8 (0-255) or floats in [0, 1]")
    if options.size is not None and scaled.shape[1:3] != tuple(options.size):
        scaled = _resized(scaled, options.size)
    chw = scaled.transpose(0, 3, 1, 2)
    sources = [f"{path.name}[{i}]" for i in range(len(chw))]
    rows = [ImageInput(source, pixels, options.per_channel("mean"), options.per_channel("std"))
            for source, pixels in zip(sources, chw)]
    return rows, [str(_label(v)) for v in labels.tolist()], sources


def _channels_last(name: str, images: npt.NDArray[Any], options: ImageOptions, path: Path,
                   at: Callable[[str], str]) -> npt.NDArray[Any]:
    """``(n, h, w)`` or ``(n, h, w, c)`` as ``(n, h, w, c)`` with the declared channels."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] != options.channels:
        raise DatasetError(f"{at('image')}: datasets.{name}.image.channels: {path.name}'s images "
                           f"have shape {list(images.shape)}; expected (n, height, width"
                           f"{', ' + str(options.channels) if options.channels > 1 else ''}) "
                           f"for channels: {options.channels}")
    return images


def _resized(images: npt.NDArray[np.float32], size: tuple[int, int]
             ) -> npt.NDArray[np.float32]:
    """Each image resized (bilinear, per channel, in float) to ``size``."""
    import numpy as np
    from PIL import Image

    out = np.empty((len(images), size[0], size[1], images.shape[-1]), dtype=np.float32)
    for i, image in enumerate(images):
        for c in range(images.shape[-1]):
            plane = Image.fromarray(image[..., c], mode="F").resize(
                (size[1], size[0]), Image.Resampling.BILINEAR)
            out[i, ..., c] = np.asarray(plane, dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def _label(value: Any) -> str | None:
    """A label cell as text (``3.0`` read from a CSV is ``3``), None when empty."""
    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _shown(items: list[Any]) -> str:
    shown = ", ".join(map(str, items[:MAX_FILES_SHOWN]))
    return shown + (f" and {len(items) - MAX_FILES_SHOWN} more" if len(items) > MAX_FILES_SHOWN
                    else "")


def resized_input(image: ImageInput, height: int, width: int) -> ImageInput:
    """``image`` resized (bilinear, per channel, in float) to ``height`` x ``width``, named
    ``source (HxW)``; the image itself when it already has that size."""
    import numpy as np

    if image.pixels.shape[1:] == (height, width):
        return image
    channels_last = np.moveaxis(image.pixels, 0, -1)[None]
    resized = np.moveaxis(_resized(channels_last, (height, width))[0], -1, 0)
    return image.with_pixels(resized, f"{height}x{width}")
