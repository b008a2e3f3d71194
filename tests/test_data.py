"""Shipped data sets, generators, surfaces, splits, batching and augmentation."""

import io
import os
import re
import signal
import textwrap
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest

from nnsim import data
from nnsim.data import files
from nnsim.scenario import ScenarioError, load


def test_shipped_digits_are_the_uci_set():
    digits = data.load_digits()
    assert digits.x.shape == (1797, 1, 8, 8)
    assert np.bincount(digits.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert digits.x.min() == 0 and digits.x.max() == 1
    raw = data.load_digits(scale=False)
    assert np.array_equal(raw.x, np.round(raw.x)) and raw.x.max() == 16
    assert digits.num_classes == 10


def test_shipped_iris_and_breast_cancer():
    iris = data.load_iris()
    assert iris.x.shape == (150, 4) and np.bincount(iris.y).tolist() == [50, 50, 50]
    assert iris.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(iris.x[0], [5.1, 3.5, 1.4, 0.2])
    cancer = data.load_breast_cancer()
    assert cancer.x.shape == (569, 30) and np.bincount(cancer.y).tolist() == [212, 357]
    assert cancer.class_names == ("malignant", "benign")
    assert cancer.feature_names[0] == "mean radius" and len(cancer.feature_names) == 30


def test_corpus_round_trips_through_the_encoding():
    text = data.load_corpus()
    assert len(text) > 2000
    indices, alphabet = data.encode_text(text)
    assert data.decode_text(indices, alphabet) == text
    x, y = data.text_windows(indices, 10)
    assert x.shape == y.shape == (len(text) - 10, 10)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # y is x shifted by one character
    assert data.decode_text(x[0], alphabet) == text[:10]


def test_logic_gates():
    assert data.logic_gate("AND").y.tolist() == [0, 0, 0, 1]
    assert data.logic_gate("or").y.tolist() == [0, 1, 1, 1]
    xor = data.logic_gate("xor")
    np.testing.assert_array_equal(xor.y, np.logical_xor(xor.x[:, 0], xor.x[:, 1]))
    with pytest.raises(ValueError, match="unknown logic gate 'nor'"):
        data.logic_gate("nor")


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: data.spirals(50, classes=3, seed=seed),
        lambda seed: data.moons(80, seed=seed),
        lambda seed: data.blobs(90, centers=3, seed=seed),
        lambda seed: data.imbalanced(400, seed=seed),
        lambda seed: data.sine_waves(8, 20, seed=seed),
        lambda seed: data.adding_problem(16, 30, seed=seed),
        lambda seed: data.copy_task(16, seed=seed),
    ],
)
def test_generators_are_seeded(make):
    a, b, c = make(1), make(1), make(2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_classification_sets_have_the_asked_classes():
    spirals = data.spirals(50, classes=3)
    assert spirals.x.shape == (150, 2) and np.bincount(spirals.y).tolist() == [50, 50, 50]
    assert np.bincount(data.moons(81).y).tolist() == [40, 41]
    imbalanced = data.imbalanced(1000, minority_fraction=0.05)
    assert imbalanced.y.sum() == 50


def test_sequence_tasks():
    waves = data.sine_waves(4, 25)
    assert waves.x.shape == waves.y.shape == (4, 25, 1)
    np.testing.assert_array_equal(waves.y[:, :-1], waves.x[:, 1:])
    adding = data.adding_problem(32, 40)
    values, markers = adding.x[..., 0], adding.x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :20].sum(axis=1) == 1).all()  # one mark in each half
    np.testing.assert_allclose(adding.y[:, 0], (values * markers).sum(axis=1))
    copy = data.copy_task(8, length=4, delay=10, symbols=5)
    assert copy.x.shape == (8, 19)
    np.testing.assert_array_equal(copy.y[:, 15:], copy.x[:, :4])
    assert (copy.x[:, 14] == 1).all() and (copy.y[:, :15] == 0).all()
    assert copy.x[:, :4].min() >= 2 and copy.x[:, :4].max() <= 6


def test_gan_targets():
    bimodal = data.gan_target_1d(4000, "bimodal")
    assert bimodal.shape == (4000, 1)
    assert abs(bimodal.mean()) < 0.1 and 0.45 < (bimodal > 0).mean() < 0.55
    ring = data.gan_target_2d(2000, "ring")
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0, atol=0.25)
    with pytest.raises(ValueError, match="unknown 2-D target"):
        data.gan_target_2d(10, "moon")


@pytest.mark.parametrize("name", sorted(data.SURFACES))
def test_surface_gradients_match_finite_differences(name):
    surface = data.SURFACES[name]
    points = np.random.default_rng(0).uniform(-1.5, 1.5, size=(20, 2))
    eps = 1e-6
    for axis in range(2):
        step = np.zeros(2)
        step[axis] = eps
        numerical = (surface.value(points + step) - surface.value(points - step)) / (2 * eps)
        np.testing.assert_allclose(
            surface.gradient(points)[:, axis], numerical, rtol=1e-6, atol=1e-6
        )
    for minimum in surface.minima:
        np.testing.assert_allclose(surface.gradient(np.array(minimum)), 0, atol=1e-12)
    xs, ys, f = surface.grid(16)
    assert f.shape == (16, 16) and f[0, -1] == surface.value(np.array([xs[-1], ys[0]]))


def test_split_is_seeded_disjoint_and_stratified():
    digits = data.load_digits()
    parts = data.split(digits, validation=0.2, test=0.1, seed=5)
    sizes = [len(parts.train), len(parts.validation), len(parts.test)]
    assert sum(sizes) == 1797
    assert abs(sizes[1] - 359) <= 10 and abs(sizes[2] - 180) <= 10
    rows = {p: {x.tobytes() for x in getattr(parts, p).x} for p in ("train", "validation", "test")}
    assert not (rows["train"] & rows["test"]) and not (rows["validation"] & rows["test"])
    for part in (parts.validation, parts.test):
        share = np.bincount(part.y, minlength=10) / len(part)
        np.testing.assert_allclose(share, 0.1, atol=0.02)
    again = data.split(digits, validation=0.2, test=0.1, seed=5)
    np.testing.assert_array_equal(again.train.x, parts.train.x)
    other = data.split(digits, validation=0.2, test=0.1, seed=6)
    assert not np.array_equal(other.train.y, parts.train.y)
    with pytest.raises(ValueError, match="summing below 1"):
        data.split(digits, validation=0.5, test=0.5)


def test_batches_cover_every_example_once_per_epoch():
    x, y = np.arange(10)[:, None], np.arange(10)
    ordered = list(data.batches(x, y, 4, shuffle=False))
    assert [b[1].tolist() for b in ordered] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(list(data.batches(x, y, 4, shuffle=False, drop_last=True))) == 2
    rng = np.random.default_rng(0)
    epoch1 = np.concatenate([b[1] for b in data.batches(x, y, 3, rng=rng)])
    epoch2 = np.concatenate([b[1] for b in data.batches(x, y, 3, rng=rng)])
    assert sorted(epoch1) == list(range(10)) and sorted(epoch2) == list(range(10))
    assert epoch1.tolist() != epoch2.tolist()
    with pytest.raises(ValueError, match="need an rng"):
        next(data.batches(x, y, 3))


def test_augmentation_shifts_and_flips_images():
    image = np.zeros((1, 1, 5, 5))
    image[0, 0, 2, 2] = 1.0
    batch = np.repeat(image, 50, axis=0)
    shifted = data.random_shift(batch, 1, np.random.default_rng(0))
    positions = {tuple(np.argwhere(s[0])[0]) for s in shifted}
    assert positions <= {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)} and len(positions) > 4
    assert (shifted.sum(axis=(1, 2, 3)) == 1).all()  # a one-pixel shift keeps the centre dot
    ramp = np.arange(4.0).reshape(1, 1, 1, 4).repeat(100, axis=0)
    flipped = data.random_flip(ramp, np.random.default_rng(0))
    mirrored = (flipped[:, 0, 0] == [3, 2, 1, 0]).all(axis=1)
    untouched = (flipped[:, 0, 0] == [0, 1, 2, 3]).all(axis=1)
    assert (mirrored | untouched).all() and 30 < mirrored.sum() < 70


def digits_scenario(tmp_path, data_options: str):
    lesson = tmp_path / "lesson.toml"
    lesson.write_text(
        f'[data]\nsource = "digits"\n{data_options}\n'
        '[model]\nlayers = [ { type = "flatten" }, { type = "dense", units = 10 } ]\n'
        'loss = "cross_entropy"\n'
    )
    return load(lesson)


def test_val_shift_moves_each_validation_digit_by_up_to_its_pixels_and_nothing_else(tmp_path):
    centred = digits_scenario(tmp_path, "validation = 0.2").data
    shifted = digits_scenario(tmp_path, "validation = 0.2\nval_shift = 1").data
    np.testing.assert_array_equal(shifted.train.x, centred.train.x)  # training is untouched
    np.testing.assert_array_equal(shifted.validation.y, centred.validation.y)
    padded = np.pad(centred.validation.x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = []
    for original, moved in zip(padded, shifted.validation.x, strict=True):
        # moved by (dy, dx): it equals the zero-bordered original read from (1 - dy, 1 - dx)
        found = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if np.array_equal(moved, original[:, 1 - dy : 9 - dy, 1 - dx : 9 - dx])
        ]
        assert found, "a validation digit is not its original moved by at most one pixel"
        offsets.append(found[0])
    assert len(set(offsets)) == 9  # every offset of the 3x3 neighbourhood occurs
    assert sum(o != (0, 0) for o in offsets) > 0.8 * len(offsets)
    again = digits_scenario(tmp_path, "validation = 0.2\nval_shift = 1").data
    np.testing.assert_array_equal(again.validation.x, shifted.validation.x)  # seeded


@pytest.mark.parametrize(
    "options, message",
    [
        ("val_shift = 1", "needs a validation split"),
        ("validation = 0.2\nval_shift = 8", r"must be below the image size \(8, 8\), got 8"),
    ],
)
def test_val_shift_without_validation_or_beyond_the_image_is_refused(tmp_path, options, message):
    with pytest.raises(ScenarioError, match=rf"lesson\.toml:\d+: data\.val_shift: {message}"):
        digits_scenario(tmp_path, options)


def imbalanced_scenario(tmp_path, options: str):
    path = tmp_path / "imbalanced.toml"
    path.write_text(
        "[data]\nsource = 'imbalanced'\nn = 400\nminority_fraction = 0.1\nvalidation = 0.25\n"
        + options
        + "\n[model]\nlayers = [ { type = 'dense', units = 2 } ]\nloss = 'cross_entropy'\n"
    )
    return load(path).data


def test_undersampling_cuts_every_class_to_the_rarest_and_leaves_validation_alone(tmp_path):
    plain = imbalanced_scenario(tmp_path, "")
    cut = imbalanced_scenario(tmp_path, "undersample = true")
    rarest = np.bincount(plain.train.y).min()
    assert np.bincount(cut.train.y).tolist() == [rarest, rarest]
    np.testing.assert_array_equal(cut.validation.x, plain.validation.x)
    kept = {row.tobytes() for row in plain.train.x}
    assert all(row.tobytes() in kept for row in cut.train.x)  # drawn, not made up
    assert len({row.tobytes() for row in cut.train.x}) == 2 * rarest  # without repeats
    again = imbalanced_scenario(tmp_path, "undersample = true")
    np.testing.assert_array_equal(again.train.x, cut.train.x)  # seeded


def test_over_and_undersampling_together_are_refused_where_written(tmp_path):
    with pytest.raises(ScenarioError, match=r"data\.undersample: oversample and undersample"):
        imbalanced_scenario(tmp_path, "oversample = true\nundersample = true")


def test_upsample_and_one_hot():
    digits = data.load_digits().x[:2]
    big = data.upsample(digits, 4)
    assert big.shape == (2, 1, 32, 32)
    np.testing.assert_array_equal(big[:, :, ::4, ::4], digits)
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


# --- the user's own data files: anything a path can name is refused quickly, before reading --


@contextmanager
def within(seconds):
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_file_data(tmp_path, path, extra=""):
    lesson = tmp_path / "lesson.toml"
    lesson.write_text(
        textwrap.dedent(
            f"""
            [data]
            source = "file"
            path = "{path}"
            {extra}
            [model]
            layers = [ {{ type = "dense", units = 1 }} ]
            loss = "mse"
            """
        )
    )
    return load(lesson)


def refused(tmp_path, path, message, extra="", key="path"):
    line = 4 if key == "path" else 5
    with within(2.0), pytest.raises(ScenarioError) as caught:
        load_file_data(tmp_path, path, extra)
    assert re.search(rf"lesson\.toml:{line}: data\.{key}: .*{message}", str(caught.value))


def test_fifos_and_devices_are_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")  # opening it would wait for a writer for ever
    refused(tmp_path, "pipe.csv", r"pipe\.csv is not a regular file \(a directory, FIFO")
    (tmp_path / "zero.npz").symlink_to("/dev/zero")  # never ends
    refused(tmp_path, "zero.npz", r"zero\.npz is not a regular file")
    (tmp_path / "folder.csv").mkdir()
    refused(tmp_path, "folder.csv", r"folder\.csv is not a regular file")


def test_files_over_the_size_bounds_are_refused_unread(tmp_path):
    with open(tmp_path / "huge.csv", "wb") as handle:
        handle.truncate(files.MAX_CSV_BYTES + 1)  # sparse: no disk used
    refused(tmp_path, "huge.csv", r"huge\.csv is 67,108,865 bytes, over the 67,108,864")
    with open(tmp_path / "huge.npz", "wb") as handle:
        handle.truncate(files.MAX_ARRAY_BYTES + 1)
    refused(tmp_path, "huge.npz", r"huge\.npz is 1,073,741,825 bytes")


def test_npz_arrays_are_sized_from_the_directory_and_headers_before_reading(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 3)}
    )
    with zipfile.ZipFile(tmp_path / "claims.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(48))
        archive.writestr("y.npy", b"")
    refused(tmp_path, "claims.npz", r"x's header says \(1000000000000, 3\) float64")
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", bytes(files.MAX_ARRAY_BYTES // 512))  # 2 MB of zeros
        archive.writestr("y.npy", b"")
    data = bytearray((tmp_path / "bomb.npz").read_bytes())
    central = data.index(b"PK\x01\x02")  # make the directory claim 4 GB for x.npy
    data[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    (tmp_path / "bomb.npz").write_bytes(bytes(data))
    refused(tmp_path, "bomb.npz", r"take 4,294,967,280 bytes, over the 1,073,741,824")
    np.savez(tmp_path / "words.npz", x=np.array([["a", "b"]]), y=np.array(["c"]))
    refused(tmp_path, "words.npz", r"x must be numeric")
    np.savez(tmp_path / "scalar.npz", x=np.zeros((1, 2)), y=np.float64(3))
    refused(tmp_path, "scalar.npz", r"y must be numbers, one per example")
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 2)), y=np.zeros(0))
    refused(tmp_path, "empty.npz", r"holds no examples")


def test_a_label_column_of_ids_is_refused_as_too_many_classes(tmp_path):
    rows = "".join(f"{i}.5,{1_000_000 + 7 * i}\n" for i in range(5))
    (tmp_path / "ids.csv").write_text("feature,customer\n" + rows)
    refused(
        tmp_path,
        "ids.csv",
        r"label column 'customer' holds integers up to 1,000,028: as class labels that is "
        r"1,000,029 classes, over the 10,000 allowed. It looks like an id",
        extra='label_column = "customer"',
        key="label_column",
    )
    np.savez(tmp_path / "ids.npz", x=np.zeros((3, 2)), y=np.array([5, 10**9, 7]))
    refused(tmp_path, "ids.npz", r"the y holds integers up to 1,000,000,000")
    np.savez(tmp_path / "ok.npz", x=np.zeros((3, 2)), y=np.array([0, 9_999, 7]))
    assert load_file_data(tmp_path, "ok.npz").data.train.num_classes == 10_000


def test_a_damaged_csv_is_a_scenario_error(tmp_path):
    (tmp_path / "nul.csv").write_bytes(b"a,b\n1,\x002\n")
    refused(tmp_path, "nul.csv", r"nul\.csv:2: '\\x002' is not a number")
    (tmp_path / "latin.csv").write_bytes(b"a,b\n1,\xe92\n")
    refused(tmp_path, "latin.csv", r"latin\.csv is not UTF-8 text \(byte 6\)")
    (tmp_path / "wide.csv").write_text("a,b\n1," + "2" * 200_000 + "\n")
    refused(tmp_path, "wide.csv", r"wide\.csv: not a readable \.csv file: field larger")
