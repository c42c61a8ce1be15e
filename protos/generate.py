"""Regenerate the Python code of the walkout.v1 wire schema from protos/walkout/v1/*.proto.

    python protos/generate.py           # rewrite the generated files in the tree
    python protos/generate.py --check   # exit 1, listing the files that are out of date

The proto tree mirrors the Python package (protos/walkout/v1/x.proto, package walkout.v1) and
protoc runs with `-I protos`, so generated modules import each other as `from walkout.v1 import
x_pb2`. Code is generated with grpcio-tools pinned in the `dev` extra; another version writes
other version checks into the files, so generate() refuses to run with it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE = ("walkout", "v1")
PACKAGE_DIR = PROTO_ROOT.joinpath(*PACKAGE)
GRPCIO_TOOLS_VERSION = "1.85.1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_SERVICE = re.compile(r"^\s*service\s+\w+\s*\{", re.MULTILINE)


def proto_files() -> list[Path]:
    """The schema's .proto files, sorted by name."""
    return sorted(PACKAGE_DIR.glob("*.proto"))


def has_service(proto: Path) -> bool:
    """Whether a .proto file declares a gRPC service (only those get a *_pb2_grpc.py)."""
    return bool(_SERVICE.search(_COMMENT.sub("", proto.read_text(encoding="utf-8"))))


def run_protoc(*output_args: str) -> None:
    """Run grpcio-tools' protoc on every schema file with the given output options.

    Raises RuntimeError when grpcio-tools is missing or not the pinned version, or protoc fails.
    """
    try:
        installed = metadata.version("grpcio-tools")
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"grpcio-tools is not installed; pip install 'grpcio-tools=={GRPCIO_TOOLS_VERSION}'"
        ) from None
    if installed != GRPCIO_TOOLS_VERSION:
        raise RuntimeError(
            f"grpcio-tools {installed} is installed but the checked-in code is generated with "
            f"{GRPCIO_TOOLS_VERSION}; pip install 'grpcio-tools=={GRPCIO_TOOLS_VERSION}'"
        )
    well_known = resources.files("grpc_tools") / "_proto"
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        *output_args,
        *(str(p) for p in proto_files()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}):\n{result.stderr}")


def generate(out_dir: Path) -> list[Path]:
    """Generate the Python code into out_dir (as out_dir/walkout/v1/...); return the files made.

    Every .proto gets x_pb2.py and x_pb2.pyi; only files with a service keep x_pb2_grpc.py.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    run_protoc(f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}")
    target = out_dir.joinpath(*PACKAGE)
    for proto in proto_files():
        grpc_file = target / f"{proto.stem}_pb2_grpc.py"
        if not has_service(proto):
            grpc_file.unlink(missing_ok=True)
    return sorted(p for p in target.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def _checked_in() -> dict[str, Path]:
    return {p.name: p for p in PACKAGE_DIR.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}


def out_of_date() -> list[str]:
    """Names of generated files in the tree that differ from fresh output, are missing or stale."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_bytes() for p in generate(Path(tmp))}
    present = _checked_in()
    problems = []
    for name in sorted(fresh.keys() | present.keys()):
        if name not in present:
            problems.append(f"{name} (missing)")
        elif name not in fresh:
            problems.append(f"{name} (stale: no .proto generates it)")
        elif present[name].read_bytes() != fresh[name]:
            problems.append(f"{name} (differs)")
    return problems


def write_tree() -> list[str]:
    """Regenerate into the tree: write changed files, delete stale ones; return what changed."""
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p for p in generate(Path(tmp))}
        present = _checked_in()
        for name, path in sorted(present.items()):
            if name not in fresh:
                path.unlink()
                changed.append(f"{name} (deleted)")
        for name, path in sorted(fresh.items()):
            dest = PACKAGE_DIR / name
            if not dest.exists() or dest.read_bytes() != path.read_bytes():
                shutil.copyfile(path, dest)
                changed.append(f"{name} (written)")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 listing generated files that are out of date",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = out_of_date()
            for line in problems:
                print(f"out of date: protos/walkout/v1/{line}", file=sys.stderr)
            if problems:
                print("run: python protos/generate.py", file=sys.stderr)
                return 1
            print(f"generated code is up to date ({len(proto_files())} .proto files)")
            return 0
        for line in write_tree() or ["nothing changed"]:
            print(line)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
