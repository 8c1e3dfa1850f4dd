"""Datasets of images (modeltests.data.images): a folder per class, a CSV of paths, an .npz;
declared channels, size and normalisation; hostile files as one located error listing them."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modeltests.data.datasets import load_dataset
from modeltests.data.datasets import ImageDataset
from modeltests.data.inputs import ImageInput
from modeltests.data.spec import DatasetSpec
from modeltests.errors import DatasetError

SUITES = Path(__file__).resolve().parents[2] / "suites"


def _load(path: Path, **image: object) -> ImageDataset:
    spec = DatasetSpec(path=str(path), image=image or {"channels": 1})
    dataset = load_dataset("imgs", spec, path.parent, "suite.yaml:7",
                           locate=lambda key: f"suite.yaml:{ {'image': 9}.get(key, 8)}")
    assert isinstance(dataset, ImageDataset)
    return dataset


def _gray(path: Path, value: int, size: tuple[int, int] = (4, 3)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, color=value).save(path)
    return path


def _folder(root: Path) -> Path:
    _gray(root / "cat" / "a.png", 255)
    _gray(root / "cat" / "b.png", 51)
    _gray(root / "dog" / "c.png", 0)
    (root / "dog" / "README.txt").write_text("not read: not an image suffix")
    return root


def test_folder_per_class_reads_labels_pixels_and_normalisation(tmp_path: Path) -> None:
    dataset = _load(_folder(tmp_path / "imgs"), channels=1, mean=[0.5], std=[0.25])
    assert dataset.labels == ["cat", "cat", "dog"]
    assert list(dataset.frame["path"]) == ["cat/a.png", "cat/b.png", "dog/c.png"]
    assert dataset.shape == (1, 3, 4)  # channels, height, width
    first = dataset.images[0]
    assert first.pixels.shape == (1, 3, 4) and float(first.pixels.max()) == 1.0
    assert float(dataset.images[1].pixels[0, 0, 0]) == pytest.approx(51 / 255)
    assert (first.mean, first.std) == ((0.5,), (0.25,))
    assert first.source == "cat/a.png" and str(first).startswith("cat/a.png #")


def test_the_input_names_its_pixels_and_normalisation(tmp_path: Path) -> None:
    """The string value (the prediction cache's key) changes with pixels and normalisation;
    an image pickles whole (the Ray executor, the prediction cache)."""
    pixels = np.zeros((1, 2, 2), dtype=np.float32)
    plain = ImageInput("x.png", pixels)
    assert ImageInput("x.png", pixels) == plain
    assert ImageInput("x.png", pixels + 0.5) != plain
    assert ImageInput("x.png", pixels, (0.5,), (1.0,)) != plain
    again = pickle.loads(pickle.dumps(plain))
    assert isinstance(again, ImageInput) and again == plain
    assert np.array_equal(again.pixels, pixels)


def test_size_resizes_and_rgb_has_three_channels(tmp_path: Path) -> None:
    root = tmp_path / "rgb"
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (root / name).mkdir(parents=True)
        Image.new("RGB", (5, 7), color=colour).save(root / name / "x.png")
    dataset = _load(root, channels=3, size=[8, 6])
    assert dataset.shape == (3, 8, 6)
    assert dataset.labels == ["blue", "red"]
    assert dataset.images[1].pixels[:, 0, 0].tolist() == [1.0, 0.0, 0.0]


def test_csv_of_paths_and_labels(tmp_path: Path) -> None:
    _gray(tmp_path / "img" / "one.png", 10)
    _gray(tmp_path / "img" / "two.png", 20)
    table = tmp_path / "images.csv"
    table.write_text("file,label\nimg/one.png,1\nimg/two.png,2\n")
    dataset = _load(table, channels=1, path_column="file")
    assert dataset.labels == ["1", "2"]
    assert [image.source for image in dataset.images] == ["img/one.png", "img/two.png"]


def test_npz_uint8_and_float(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(path, images=np.full((3, 4, 4), 255, dtype=np.uint8), labels=np.array([0, 1, 1]))
    dataset = _load(path, channels=1)
    assert dataset.labels == ["0", "1", "1"] and dataset.shape == (1, 4, 4)
    assert dataset.images[2].source == "arrays.npz[2]"
    assert float(dataset.pixels().min()) == 1.0
    np.savez(path, x=np.full((2, 4, 4, 3), 0.5, dtype=np.float32), y=np.array([3, 4]))
    dataset = _load(path, channels=3, images_key="x", labels_key="y", size=[2, 2])
    assert dataset.shape == (3, 2, 2) and float(dataset.pixels().max()) == pytest.approx(0.5)


def test_hostile_files_are_one_located_error_listing_them(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    (root / "dog" / "fake.png").write_text("this is not a PNG")
    Image.new("RGBA", (4, 3)).save(root / "dog" / "logo.png")
    whole = root / "cat" / "whole.png"
    noise = np.random.default_rng(0).integers(0, 255, (3, 4), dtype=np.uint8)
    Image.fromarray(noise).save(whole)
    data = whole.read_bytes()
    (root / "cat" / "cut.png").write_bytes(data[:50])  # header whole, pixel data cut
    whole.unlink()
    with pytest.raises(DatasetError) as error:
        _load(root, channels=1)
    message = str(error.value)
    assert message.startswith("suite.yaml:8: datasets.imgs: 3 of 6 image file(s) cannot be "
                              "used: ")
    assert "dog/fake.png (not an image)" in message
    assert "dog/logo.png (mode RGBA; image.channels: 1 reads L or 1)" in message
    assert "cat/cut.png (unreadable: " in message and "truncated" in message


def test_mixed_sizes_without_a_declared_size(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    _gray(root / "dog" / "big.png", 9, size=(10, 10))
    with pytest.raises(DatasetError, match=r"^suite.yaml:9: datasets.imgs.image.size: 1 "
                       r"image\(s\) are not 3x4 like the others: dog/big.png \(10x10\); set "
                       r"image.size: \[height, width\] to resize every image$"):
        _load(root, channels=1)
    assert _load(root, channels=1, size=[3, 4]).shape == (1, 3, 4)


@pytest.mark.parametrize(("arrays", "options", "expected"), [
    ({"images": np.zeros((2, 4, 4), np.uint8)}, {},
     r"suite.yaml:9: datasets.imgs.image.labels_key: no array 'labels' in bad.npz \(arrays: "
     r"images\)"),
    ({"images": np.zeros((2, 4, 4, 3), np.uint8), "labels": np.zeros(2)}, {},
     r"datasets.imgs.image.channels: bad.npz's images have shape \[2, 4, 4, 3\]; expected "
     r"\(n, height, width\) for channels: 1"),
    ({"images": np.full((2, 4, 4), np.nan, np.float32), "labels": np.zeros(2)}, {},
     r"bad.npz images 0, 1 have pixels outside \[0, 1\] or not finite"),
    ({"images": np.zeros((3, 4, 4), np.uint8), "labels": np.zeros(2)}, {},
     r"bad.npz holds 3 images and 2 labels"),
])
def test_hostile_npz(tmp_path: Path, arrays: dict[str, np.ndarray], options: dict[str, object],
                     expected: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=expected):
        _load(path, channels=1, **options)


def test_an_image_section_needs_a_consistent_declaration() -> None:
    with pytest.raises(ValueError, match="mean has 2 values; give 1 or 3"):
        DatasetSpec(path="x", image={"channels": 3, "mean": [0.5, 0.5]})
    with pytest.raises(ValueError, match="format: npz is a dataset of images: add an 'image'"):
        DatasetSpec(path="x.npz", format="npz")


def test_the_committed_digits_test_split_is_the_held_out_split() -> None:
    """suites/data/digits_test.npz is exactly the split builtin:digits-cnn never trains on."""
    from modeltests.demo.digits import TEST_SIZE, digits_split

    train_x, _, test_x, test_y = digits_split()
    with np.load(SUITES / "data" / "digits_test.npz") as committed:
        assert np.array_equal(committed["images"], test_x)
        assert np.array_equal(committed["labels"], test_y)
    assert len(test_x) == TEST_SIZE and len(train_x) + len(test_x) == 1797
