"""Hostile files: checkpoints damaged thousands of ways, saves killed mid-write, data paths that
never end. Every load either succeeds exactly as the intact file would or raises
CheckpointError naming the file, and a failed load leaves the model and the optimiser
bit-identical; a killed save leaves the old file or the new one, never half of one, and the next
save in that folder sweeps the orphaned temporary file. Budgets are bounded (seeded loops)."""

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
from training import train_steps

from nnsim import checkpoint
from nnsim.checkpoint import CheckpointError
from nnsim.layers import BatchNorm, Conv2d, Dense, Flatten, ReLU
from nnsim.losses import CrossEntropyLoss
from nnsim.model import Sequential
from nnsim.optim import SGD, Adam, RMSprop
from nnsim.scenario import ScenarioError, load

OPTIMIZERS = {
    "adam": lambda: Adam(0.01),
    "rmsprop": lambda: RMSprop(0.01, momentum=0.5, centered=True),
    "sgd": lambda: SGD(0.1, momentum=0.9),
}


def make_model(seed):
    layers = [Conv2d(2, 3), BatchNorm(), ReLU(), Flatten(), Dense(3)]
    return Sequential(layers, input_shape=(1, 5, 5), seed=seed)


def trained(kind, seed, steps=2):
    """A model and its optimiser with state in every slot (and different values per seed)."""
    rng = np.random.default_rng(seed)
    model, optimizer = make_model(seed), OPTIMIZERS[kind]()
    x, y = rng.standard_normal((6, 1, 5, 5)), rng.integers(0, 3, 6)
    train_steps(model, CrossEntropyLoss(), x, y, optimizer, steps)
    return model, optimizer


# --- damaging a checkpoint ------------------------------------------------------------------


_MEMBERS: dict[bytes, dict[str, bytes]] = {}


def members(data: bytes) -> dict[str, bytes]:
    if data not in _MEMBERS:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _MEMBERS[data] = {info.filename: archive.read(info) for info in archive.infolist()}
    return dict(_MEMBERS[data])


def rebuild(entries: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return out.getvalue()


def npy(array) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asarray(array), allow_pickle=False)
    return out.getvalue()


def npy_header(shape, descr="<f8") -> bytes:
    out = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue()


def patch_central(data: bytes, name: str, offset: int, value: bytes) -> bytes:
    """Overwrite a field of ``name``'s entry in the central directory (and local header)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    central = data.find(b"PK\x01\x02", 0)
    while central != -1:
        length = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + length].decode() == name:
            break
        central = data.find(b"PK\x01\x02", central + 4)
    # the central entry's fields sit 2 bytes further in than the local header's (version made by)
    out[central + offset + 2 : central + offset + 2 + len(value)] = value
    out[local + offset : local + offset + len(value)] = value
    return bytes(out)


_BOMB: list[bytes] = []


def bomb_member() -> bytes:
    """A .npy of 1 MB of zeros (a thousand times any member), which deflates to 1 kB."""
    if not _BOMB:
        payload = npy_header((1 << 17,)) + bytes(1 << 20)
        _BOMB.append(payload)
    return _BOMB[0]


def damage(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One random damage to a checkpoint's bytes: (what was done, the damaged bytes)."""
    entries = members(data)
    names = sorted(entries)
    name = names[rng.integers(len(names))]
    state = [n for n in names if n.startswith("optim/state/")]
    kind = [
        "truncate", "flip", "flip_directory", "remove", "rename", "shape", "dtype",
        "huge_header", "claims_huge", "bomb", "bomb_lying", "steps", "class", "slot",
        "format", "extra", "encrypted", "method", "garbage_member",
    ][rng.integers(19)]  # fmt: skip
    if kind == "truncate":
        return kind, data[: rng.integers(len(data))]
    if kind in ("flip", "flip_directory"):
        out = bytearray(data)
        low = 0 if kind == "flip" else max(0, len(data) - 2000)
        for _ in range(rng.integers(1, 5)):
            out[rng.integers(low, len(data))] ^= int(rng.integers(1, 256))
        return kind, bytes(out)
    if kind == "remove":  # (not the only slot of a key: a parameter never stepped has none)
        if sum(n.startswith(name.rsplit("/", 1)[0] + "/") for n in names) > 1 or not (
            name.startswith("optim/state/")
        ):
            del entries[name]
    elif kind == "rename":
        new = [
            name + "x",
            name.rsplit("/", 1)[0] + ".npy",
            name.upper(),
            "param/" + name.split("/", 1)[-1],
            "optim/state/" + name.split("/")[-1],
        ][rng.integers(5)]
        entries[new] = entries.pop(name)
    elif kind == "shape":
        shape = [(), (1,), (3, 3), (2, 1, 3, 4), (0,), (10,)][rng.integers(6)]
        entries[name] = npy(np.zeros(shape))
    elif kind == "dtype":
        with np.load(io.BytesIO(data)) as archive:
            value = archive[name[:-4]]
        dtypes = [np.int64, np.int8, bool, np.complex128, "U3", np.uint8, [("a", "<f8")]]
        dtype = np.dtype(dtypes[rng.integers(len(dtypes))])
        if dtype.kind != value.dtype.kind and not {"i", "u"} >= {dtype.kind, value.dtype.kind}:
            entries[name] = npy(np.zeros(value.shape, dtype=dtype))
    elif kind == "huge_header":
        shape = [(10**12,), (10**6, 10**6), (2**62,), (2**31, 2**31, 2**31)][rng.integers(4)]
        entries[name] = npy_header(shape) + bytes(64)
    elif kind == "claims_huge":
        return kind, patch_central(data, name, 22, (0xFFFFFFF0).to_bytes(4, "little"))
    elif kind in ("bomb", "bomb_lying"):
        entries[name] = bomb_member()
        out = rebuild(entries, zipfile.ZIP_DEFLATED)
        if kind == "bomb_lying":  # the directory says 128 bytes; the stream holds 1 MB
            out = patch_central(out, name, 22, (128).to_bytes(4, "little"))
        return kind, out
    elif kind == "steps":
        bad = [None, "abc", 1.5, np.arange(3), -1, True, np.float32(3), np.uint64(2**64 - 1)]
        value = bad[rng.integers(len(bad))]
        if value is None:
            entries.pop("optim/steps.npy", None)
        else:
            entries["optim/steps.npy"] = npy(value)
    elif kind == "class":
        bad = [None, "nope", 5, np.array(["adam", "adam"]), "sgd", "rmsprop", "adam"]
        value = bad[rng.integers(len(bad))]
        if value is None:
            entries.pop("optim/class.npy", None)
        else:
            entries["optim/class.npy"] = npy(value)
    elif kind == "slot" and state:
        slot = state[rng.integers(len(state))]
        how = rng.integers(6)
        size = np.load(io.BytesIO(entries[slot])).size
        if how == 0 and sum(n.startswith(slot.rsplit("/", 1)[0] + "/") for n in names) > 1:
            del entries[slot]
        elif how == 1:
            entries[slot.rsplit("/", 1)[0] + "/mystery.npy"] = entries[slot]
        elif how == 2:
            entries[slot] = npy(np.zeros(int(rng.choice([n for n in range(40) if n != size]))))
        elif how == 3 and not slot.endswith("/step.npy"):  # (a step count is an integer)
            entries[slot] = npy(np.ones(np.load(io.BytesIO(entries[slot])).shape, np.int64))
        elif how == 4:
            entries[slot.rsplit("/", 1)[0] + ".npy"] = entries.pop(slot)  # a key, no slot
        else:
            entries[slot.rsplit("/", 2)[0] + "/ghost.W/exp_avg.npy"] = entries[slot]
    elif kind == "format":
        entries["nnsim/format.npy"] = npy(["nnsim-checkpoint-9", 7, "x" * 300][rng.integers(3)])
    elif kind == "extra":
        extra = ["junk/thing.npy", "param/ghost.W.npy", "buffer/ghost.mean.npy", "notes.txt"]
        entries[extra[rng.integers(4)]] = npy(np.zeros(3))
    elif kind == "encrypted":
        return kind, patch_central(data, name, 6, (1).to_bytes(2, "little"))
    elif kind == "method":
        return kind, patch_central(data, name, 8, (99).to_bytes(2, "little"))
    elif kind == "garbage_member":
        entries[name] = rng.bytes(int(rng.integers(0, 300)))
    return kind, rebuild(entries)


# --- the oracle -----------------------------------------------------------------------------


def state_of(model, optimizer):
    arrays = {k: v.copy() for k, v in {**model.parameters(), **model.buffers()}.items()}
    slots = {(k, s): v.copy() for k, st in optimizer.state.items() for s, v in st.items()}
    return arrays, slots, optimizer.steps


def same_state(a, b) -> bool:
    (arrays_a, slots_a, steps_a), (arrays_b, slots_b, steps_b) = a, b
    if steps_a != steps_b or arrays_a.keys() != arrays_b.keys() or slots_a.keys() != slots_b.keys():
        return False
    pairs = [(arrays_a[k], arrays_b[k]) for k in arrays_a] + [
        (slots_a[k], slots_b[k]) for k in slots_a
    ]
    return all(
        x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes() for x, y in pairs
    )


def restore(model, optimizer, saved) -> None:
    arrays, slots, steps = saved
    for key, target in {**model.parameters(), **model.buffers()}.items():
        target[...] = arrays[key]
    optimizer.state = {}
    for (key, slot), value in slots.items():
        optimizer.state.setdefault(key, {})[slot] = value.copy()
    optimizer.steps = steps


def outcome(path, load, model, optimizer, expected) -> str:
    """What one load of a damaged file did: ``identical``, ``clean`` (CheckpointError naming
    the file, nothing changed), or a fault: ``different`` (loaded other values), ``unnamed``
    (the error does not name the file), ``traceback`` (another exception), ``half-load``
    (failed after changing the model or the optimiser), ``hang`` (over 2 s)."""
    before = state_of(model, optimizer)
    start = time.perf_counter()
    try:
        load(path, model, optimizer)
    except CheckpointError as err:
        result = "clean" if path.name in str(err) else "unnamed"
    except Exception as err:  # noqa: BLE001 (the fuzzer counts what escapes)
        result = f"traceback {type(err).__name__}"
    else:
        result = "identical" if same_state(state_of(model, optimizer), expected) else "different"
    if result in ("clean", "unnamed") or result.startswith("traceback"):
        if not same_state(state_of(model, optimizer), before):
            result = "half-load"
    if time.perf_counter() - start > 2.0:
        result = "hang"
    restore(model, optimizer, before)
    return result


def fuzz_checkpoints(folder: Path, seconds: float, cases: int, load=checkpoint.load) -> Counter:
    """Damage checkpoints of three optimisers at random for at most ``cases`` cases or
    ``seconds``; count the outcomes."""
    rng = np.random.default_rng(17)
    setups = []
    for kind in OPTIMIZERS:
        source, source_optimizer = trained(kind, 1)
        path = checkpoint.save(folder / f"{kind}.npz", source, source_optimizer)
        model, optimizer = trained(kind, 2, steps=1)  # other values, fewer steps
        restore_point = state_of(model, optimizer)
        load(path, model, optimizer)
        expected = state_of(model, optimizer)
        restore(model, optimizer, restore_point)
        setups.append((path.read_bytes(), model, optimizer, expected))
    counts: Counter = Counter()
    damaged = folder / "damaged.npz"
    deadline = time.perf_counter() + seconds
    for case in range(cases):
        if time.perf_counter() > deadline:
            break
        data, model, optimizer, expected = setups[case % len(setups)]
        kind, bad = damage(data, rng)
        damaged.write_bytes(bad)
        result = outcome(damaged, load, model, optimizer, expected)
        counts[result] += 1
        counts[f"{kind}: {result}"] += 1
    return counts


def test_damaged_checkpoints_load_identically_or_fail_cleanly_without_changing_anything(
    tmp_path,
):
    counts = fuzz_checkpoints(tmp_path, seconds=4.0, cases=3000)
    tried = counts["identical"] + counts["clean"]
    faults = {k: v for k, v in counts.items() if ":" not in k and k not in ("identical", "clean")}
    assert not faults, {k: v for k, v in counts.items() if k.split(": ")[-1] in faults}
    assert tried >= 250  # the budget bought a real number of cases
    assert counts["clean"] > counts["identical"] > 0  # most damage is caught; some is harmless


# --- saves killed mid-write -----------------------------------------------------------------

ATOMIC = Path(checkpoint.__file__).with_name("atomic.py")

# a writer that rewrites `target` for ever, each version a whole file of one repeated byte; it
# loads nnsim/atomic.py alone (no dependencies), so that it starts in milliseconds
WRITER = textwrap.dedent(
    """
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
    atomic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(atomic)
    target, size = sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    version = 0
    while True:
        version = version % 250 + 1
        chunk = bytes([version]) * 65536
        def write(handle):
            for _ in range(size // 65536):
                handle.write(chunk)
        atomic.write_atomically(target, write)
    """
)

CHECKPOINT_WRITER = textwrap.dedent(
    """
    import sys
    from nnsim import checkpoint
    from nnsim.layers import Dense
    from nnsim.model import Sequential
    model = Sequential([Dense(1000), Dense(1000)], input_shape=(1000,))
    model.parameters()
    print("ready", flush=True)
    while True:
        checkpoint.save(sys.argv[1], model)
    """
)


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def kill_after(args: list[str], delay: float) -> None:
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()  # reaped: a zombie would still answer kill(pid, 0)


def test_a_killed_save_leaves_the_old_or_the_new_file_and_the_next_save_sweeps_its_temp(
    tmp_path,
):
    target, size = tmp_path / "big.bin", 4 << 20
    rng = np.random.default_rng(7)
    orphans = 0
    for _ in range(8):
        kill_after([sys.executable, "-c", WRITER, str(ATOMIC), str(target), str(size)],
                   float(rng.uniform(0.0, 0.3)))  # fmt: skip
        if target.exists():  # never half a file: the whole size, one version throughout
            data = target.read_bytes()
            assert len(data) == size and data.count(data[:1]) == size
        orphans = max(orphans, len(temporary_files(tmp_path)))
    assert orphans > 0  # the kills did land mid-write
    os.mkfifo(tmp_path / ".big.bin.abcdefgh.1-otherhost.tmp")  # another host's: left alone
    (tmp_path / "notes.tmp").write_text("not ours")
    checkpoint.save(tmp_path / "next.npz", make_model(0))
    assert temporary_files(tmp_path) == [".big.bin.abcdefgh.1-otherhost.tmp", "notes.tmp"]


def test_a_checkpoint_save_killed_mid_write_leaves_a_loadable_file_or_none(tmp_path):
    target = tmp_path / "run.npz"
    model = Sequential([Dense(1000), Dense(1000)], input_shape=(1000,))
    for _ in range(3):  # until a kill lands mid-write (nearly always the first)
        child = subprocess.Popen(
            [sys.executable, "-c", CHECKPOINT_WRITER, str(target)], stdout=subprocess.PIPE
        )
        try:
            assert child.stdout.readline() == b"ready\n"
            deadline = time.monotonic() + 20
            while not temporary_files(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.005)  # kill it while a temporary file is being written
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        if target.exists():
            checkpoint.load(target, model)  # complete: it loads
        if temporary_files(tmp_path):
            break
    assert temporary_files(tmp_path)
    checkpoint.save(tmp_path / "other.npz", make_model(0))
    assert temporary_files(tmp_path) == []


def load_layers(path, model, optimizer):
    checkpoint.load_layers(path, model)


def test_damaged_checkpoints_through_load_layers_load_identically_or_fail_cleanly(tmp_path):
    counts = fuzz_checkpoints(tmp_path, seconds=2.0, cases=1000, load=load_layers)
    faults = {k: v for k, v in counts.items() if ":" not in k and k not in ("identical", "clean")}
    assert not faults, {k: v for k, v in counts.items() if k.split(": ")[-1] in faults}
    assert counts["clean"] + counts["identical"] >= 100


SCENARIO = """
[data]
source = "random"
shape = [1, 5, 5]
classes = 3
[model]
init_from = "weights.npz"
layers = [
  { type = "conv", filters = 2, kernel = 3 }, { type = "batchnorm" }, { type = "relu" },
  { type = "flatten" }, { type = "dense", units = 3 },
]
loss = "cross_entropy"
"""


def test_a_damaged_init_from_is_a_scenario_error_at_its_line(tmp_path):
    source, optimizer = trained("adam", 1)
    data = checkpoint.save(tmp_path / "weights.npz", source, optimizer).read_bytes()
    (tmp_path / "lesson.toml").write_text(SCENARIO)
    rng, outcomes = np.random.default_rng(5), Counter()
    deadline = time.perf_counter() + 1.5
    while time.perf_counter() < deadline:
        kind, bad = damage(data, rng)
        (tmp_path / "weights.npz").write_bytes(bad)
        try:
            load(tmp_path / "lesson.toml")
        except ScenarioError as err:
            assert re.match(r".*lesson\.toml:7: model\.init_from: .*weights\.npz: ", str(err))
            outcomes["refused"] += 1
        else:
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 20


DATA_SCENARIO = """
[data]
source = "file"
path = "points.npz"
[model]
layers = [ { type = "dense", units = 2 } ]
loss = "cross_entropy"
"""


def fuzz_data_files(folder: Path, seconds: float) -> Counter:
    """Damaged .npz data files through the scenario loader: each loads or is a ScenarioError
    at the [data] path's line; counted."""
    rng = np.random.default_rng(11)
    np.savez(folder / "points.npz", x=rng.standard_normal((40, 3)), y=rng.integers(0, 2, 40))
    data = (folder / "points.npz").read_bytes()
    (folder / "lesson.toml").write_text(DATA_SCENARIO)
    counts: Counter = Counter()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        kind, bad = damage(data, rng)
        (folder / "points.npz").write_bytes(bad)
        try:
            load(folder / "lesson.toml")
        except ScenarioError as err:
            where = re.match(r".*lesson\.toml:4: data\.path: .*points\.npz", str(err))
            counts["clean" if where else f"unplaced: {err}"] += 1
        except Exception as err:  # noqa: BLE001 (the fuzzer counts what escapes)
            counts[f"traceback {type(err).__name__}: {kind}"] += 1
        else:
            counts["loaded"] += 1
    return counts


def test_damaged_data_files_load_or_say_where(tmp_path):
    counts = fuzz_data_files(tmp_path, seconds=1.0)
    assert set(counts) <= {"clean", "loaded"}, counts
    assert counts["clean"] > 20
