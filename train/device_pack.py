"""A compact, verifiable copy of the training data for the GPU machine (the ``device`` tool).

The device machine receives the repository plus at most 64 MiB per call, and the trainable
face sources are ~184 MB. So the pack is split into parts that travel one call each while
the machine stays warm (each call's carried files stay there for the next one), then a last
call carries the metadata and trains (``scripts/device_train.sh``). Files travel byte for byte
as ``../shared`` holds them (never re-encoded: JPEG statistics are what the detector reads),
and only the training and validation splits go: the test split is scored here, on the
checkpoint that comes back (``scripts/ship_detector.sh``).

Layout of a pack folder (``.devicepack`` by default, ignored by git):

- ``pack.json``: the parts (name, bytes, sha256, files) and the meta file's hash; small, so
  it travels with every call and each call can verify what has arrived.
- ``part-NN.tar``: image files, each under ``faces/<path below the faces root>``.
- ``meta.tar``: ``manifest.csv`` (a ``deepscreen data split`` manifest with paths relative to
  it), ``faces.npz`` (the face detections of those files, paths relative to the data folder,
  so no detector runs there) and ``weights/`` (the pretrained trunk; a TFLite one goes as the
  dequantized torch state dict, ``<name>.pt``, since that machine has no ``tflite`` package).

``python -m train.device_pack pack`` builds it here; ``status`` and ``unpack`` run there.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import UsageError
from train.data import Face, load_faces, save_faces
from train.labelled import Sample

PACK_VERSION = 1
# What one device call may carry beside the repository (64 MiB in all, README of the tool):
# the tree is ~9 MiB, so parts of 48 MiB leave room for it and pack.json.
DEFAULT_PART_MIB = 48
_TAR_BLOCK = 512


@dataclass(frozen=True)
class PackPart:
    """One tar file of the pack."""

    name: str
    bytes: int
    sha256: str
    files: int


@dataclass(frozen=True)
class PackIndex:
    """``pack.json``: what a complete pack holds."""

    version: int
    parts: tuple[PackPart, ...]
    meta: PackPart
    samples: int
    splits: dict[str, int]

    @staticmethod
    def read(folder: Path) -> PackIndex:
        """Read ``folder/pack.json`` (UsageError if absent or of another version)."""
        path = Path(folder) / "pack.json"
        if not path.is_file():
            raise UsageError(f"{path} not found: build the pack with "
                             "`python -m train.device_pack pack` and carry pack.json")
        raw = json.loads(path.read_text())
        if raw.get("version") != PACK_VERSION:
            raise UsageError(f"{path} is pack version {raw.get('version')}, "
                             f"this code reads {PACK_VERSION}")
        return PackIndex(raw["version"], tuple(PackPart(**p) for p in raw["parts"]),
                         PackPart(**raw["meta"]), raw["samples"], raw["splits"])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tar_cost(size: int) -> int:
    """Bytes a file of ``size`` takes in a tar: a header block plus padded data."""
    return _TAR_BLOCK + -(-size // _TAR_BLOCK) * _TAR_BLOCK


def _write_tar(path: Path, members: Sequence[tuple[str, Path | bytes]]) -> PackPart:
    """Write ``members`` (archive name, file or bytes) to an uncompressed tar."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, src in members:
            if isinstance(src, bytes):
                info = tarfile.TarInfo(name)
                info.size = len(src)
                tar.addfile(info, io.BytesIO(src))
            else:
                info = tar.gettarinfo(str(src), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0  # the same inputs give the same bytes (and hash)
                with src.open("rb") as fh:
                    tar.addfile(info, fh)
    return PackPart(path.name, path.stat().st_size, _sha256(path), len(members))


def pack(
    samples: Sequence[Sample],
    faces: dict[str, Face],
    faces_root: Path,
    weights: Sequence[Path],
    out: Path,
    part_mib: float = DEFAULT_PART_MIB,
) -> PackIndex:
    """Write the pack of ``samples`` (their train and val splits) to ``out``.

    Args:
        samples: registry samples; test-split ones are left out.
        faces: detections of every sample (:func:`train.data.detect_faces`).
        faces_root: the folder the samples' paths are below (``data.root``).
        weights: files to ship under ``weights/`` (the pretrained trunk).
        out: pack folder (created; old parts in it are removed).
        part_mib: largest part, in MiB.

    Raises:
        UsageError: a sample outside ``faces_root``, or a single file larger than a part.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.tar"):
        old.unlink()
    root = Path(faces_root).resolve()
    keep = [s for s in samples if s.split in ("train", "val")]
    if not keep:
        raise UsageError("no training or validation samples to pack")
    limit = int(part_mib * 2**20)
    parts: list[list[tuple[str, Path]]] = [[]]
    used = 2 * _TAR_BLOCK * 10  # end-of-archive blocks and record padding, generously
    arcnames: dict[str, str] = {}
    for s in sorted(keep, key=lambda s: s.path):
        path = Path(s.path).resolve()
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError as exc:
            raise UsageError(f"{s.path} is not below the faces root {root}") from exc
        cost = _tar_cost(path.stat().st_size) + 2 * _TAR_BLOCK  # + a PAX header if needed
        if cost > limit:
            raise UsageError(f"{s.path} ({cost} bytes) does not fit a part of {part_mib} MiB")
        if used + cost > limit and parts[-1]:
            parts.append([])
            used = 2 * _TAR_BLOCK * 10
        arcnames[s.path] = f"faces/{rel}"
        parts[-1].append((arcnames[s.path], path))
        used += cost
    written = tuple(_write_tar(out / f"part-{i:02d}.tar", members)
                    for i, members in enumerate(parts))
    over = [p.name for p in written if p.bytes > limit]
    if over:  # the size estimate is conservative; this would be a bug in it
        raise UsageError(f"parts {over} exceed {part_mib} MiB")
    meta = _write_tar(out / "meta.tar", _meta_members(keep, faces, arcnames, weights))
    splits = {k: sum(1 for s in keep if s.split == k) for k in ("train", "val")}
    index = PackIndex(PACK_VERSION, written, meta, len(keep), splits)
    (out / "pack.json").write_text(json.dumps(asdict(index), indent=2))
    return index


def _meta_members(
    keep: Sequence[Sample], faces: dict[str, Face], arcnames: dict[str, str],
    weights: Sequence[Path],
) -> list[tuple[str, Path | bytes]]:
    """manifest.csv, faces.npz (relative paths) and the weights, as tar members."""
    from train.splits import MANIFEST_COLUMNS

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for s in keep:
        row = {"path": arcnames[s.path], "label": s.label, "source": s.source,
               "group": s.group, "split": s.split}
        writer.writerow([row[c] for c in MANIFEST_COLUMNS])
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "faces.npz"
        rel = {arcnames[s.path]: faces[s.path] for s in keep}
        save_faces(npz, rel)
        npz_bytes = npz.read_bytes()
    members: list[tuple[str, Path | bytes]] = [
        ("manifest.csv", text.getvalue().encode()),
        ("faces.npz", npz_bytes),
    ]
    members += [(f"weights/{Path(w).name}", Path(w)) for w in weights]
    return members


@dataclass(frozen=True)
class PackStatus:
    """Which parts of a pack are present and intact in a folder."""

    present: tuple[str, ...]
    missing: tuple[str, ...]
    corrupt: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.corrupt


def status(folder: Path) -> PackStatus:
    """Check every part and the meta file of the pack in ``folder`` against ``pack.json``."""
    folder = Path(folder)
    index = PackIndex.read(folder)
    present, missing, corrupt = [], [], []
    for part in (*index.parts, index.meta):
        path = folder / part.name
        if not path.is_file():
            missing.append(part.name)
        elif path.stat().st_size != part.bytes or _sha256(path) != part.sha256:
            corrupt.append(part.name)
        else:
            present.append(part.name)
    return PackStatus(tuple(present), tuple(missing), tuple(corrupt))


def unpack(folder: Path, dest: Path) -> Path:
    """Verify and extract the pack in ``folder`` into ``dest``; returns the manifest path.

    ``dest`` then holds ``manifest.csv``, ``faces/``, ``weights/`` and ``cache/faces.npz``
    (the detections keyed by absolute paths, as :func:`train.data.detect_faces` reads them).

    Raises:
        UsageError: a part is missing or does not match its hash (which ones, and that they
            must be carried again).
    """
    folder, dest = Path(folder), Path(dest)
    st = status(folder)
    if not st.complete:
        raise UsageError(f"the pack in {folder} is incomplete: missing {list(st.missing)}, "
                         f"corrupt {list(st.corrupt)}; carry those files again")
    index = PackIndex.read(folder)
    done = dest / "unpacked.json"
    record = (folder / "pack.json").read_text()
    if done.is_file() and done.read_text() == record:  # a later call of the same lease
        return dest / "manifest.csv"
    dest.mkdir(parents=True, exist_ok=True)
    for part in (*index.parts, index.meta):
        with tarfile.open(folder / part.name) as tar:
            tar.extractall(dest, filter="data")
    faces = load_faces(dest / "faces.npz", base=dest)
    save_faces(dest / "cache" / "faces.npz", faces)
    done.write_text(record)
    return dest / "manifest.csv"


def _cli(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.device_pack", description=__doc__.split(
        "\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="build the pack here from a training config")
    p.add_argument("--config", type=Path, default=Path("train/configs/detector_v9.yaml"),
                   help="its data.* keys choose the samples and its model_config.pretrained "
                        "the weights that travel")
    p.add_argument("--out", type=Path, default=Path(".devicepack"))
    p.add_argument("--part-mib", type=float, default=DEFAULT_PART_MIB)
    p.add_argument("--limit-per-class", type=int, default=None,
                   help="a small pack (tests, a dry run)")
    s = sub.add_parser("status", help="which parts have arrived intact")
    s.add_argument("folder", type=Path, nargs="?", default=Path(".devicepack"))
    u = sub.add_parser("unpack", help="verify and extract; prints the manifest path")
    u.add_argument("folder", type=Path, nargs="?", default=Path(".devicepack"))
    u.add_argument("--dest", type=Path, default=None, help="default: FOLDER/data")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "pack":
            index = _pack_from_config(args.config, args.out, args.part_mib, args.limit_per_class)
            for part in (*index.parts, index.meta):
                print(f"{args.out / part.name}  {part.bytes / 2**20:6.1f} MiB  {part.files} files")
            print(f"{index.samples} samples {index.splits}; carry {args.out / 'pack.json'} with "
                  "each part, then meta.tar with the training call (docs/TRAINING.md)")
        elif args.cmd == "status":
            st = status(args.folder)
            print(f"present {list(st.present)} missing {list(st.missing)} "
                  f"corrupt {list(st.corrupt)}")
            return 0 if st.complete else 3
        else:
            print(unpack(args.folder, args.dest or args.folder / "data"))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _pack_from_config(config: Path, out: Path, part_mib: float,
                      limit_per_class: int | None) -> PackIndex:
    """The pack of a config's training and validation samples, with its pretrained weights."""
    from dataclasses import replace

    from train.config import load_config
    from train.data import detect_faces
    from train.run_common import load_samples

    cfg = load_config(config)
    if limit_per_class:
        cfg = replace(cfg, data=replace(cfg.data, limit_per_class=limit_per_class))
    samples = [s for s in load_samples(cfg) if s.split in ("train", "val")]
    faces = detect_faces([s.path for s in samples], Path(cfg.data.cache_dir) / "faces.npz",
                         cfg.contract.margin, cfg.data.min_face)
    pretrained = cfg.model_config.get("pretrained")
    with tempfile.TemporaryDirectory() as tmp:
        weights = []
        if pretrained and Path(pretrained).suffix == ".tflite":
            # The device has no `tflite` package: ship the trunk dequantized, as a state dict.
            from train.models.mobilenet_detector import save_trunk

            weights.append(save_trunk(pretrained, Path(tmp) / f"{Path(pretrained).stem}.pt"))
        elif pretrained:
            weights.append(Path(pretrained))
        return pack(samples, faces, Path(cfg.data.root), weights, out, part_mib)


if __name__ == "__main__":
    raise SystemExit(_cli())
