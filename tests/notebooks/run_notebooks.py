#!/usr/bin/env python3
"""Executes notebooks headless with nbclient in the checkout's .venv (scripts/setup_venv.sh) and
fails with the failing cell's error. Nothing is written to the source tree: executed copies go
to OUT_DIR, BRAID_SAVE_PLOTS is cleared (no figures saved) and no bytecode is written.

    run_notebooks.py SOURCE_ROOT OUT_DIR [--cwd DIR] [--fixtures] [--min-images N] NOTEBOOK...

NOTEBOOK paths are relative to SOURCE_ROOT; each runs with its own folder as the working
directory, or SOURCE_ROOT/DIR with --cwd. --fixtures points notebooks/ablations.ipynb at
synthetic results for every ablation (tests/notebooks/ablation_fixtures.py) instead of the
committed ones. --min-images fails a notebook that shows fewer PNG figures.
"""
import argparse
import os
import sys
import tempfile
import time

CELL_TIMEOUT_S = 300
HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ensure_venv(root):
    """Re-runs this script under SOURCE_ROOT/.venv/bin/python unless already there."""
    venv = os.path.join(root, ".venv")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        fail(f"{python} not found: run `bash scripts/setup_venv.sh` (creates .venv with notebooks/requirements.txt)")
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def png_outputs(nb):
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def execute(path, cwd, out_path, min_images):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": cwd}})
    t0 = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as e:
        fail(f"{path} (run in {cwd}): a cell failed:\n{e}")
    except Exception as e:  # a cell over the timeout, a dead kernel
        fail(f"{path} (run in {cwd}): {type(e).__name__}: {e}")
    finally:
        nbformat.write(nb, out_path)
    images = png_outputs(nb)
    if images < min_images:
        fail(f"{path}: {images} figures shown, expected at least {min_images} (executed copy: {out_path})")
    print(f"ok {os.path.basename(path)} in {cwd}: {time.monotonic() - t0:.1f} s, {images} figures -> {out_path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out_dir")
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--cwd")
    ap.add_argument("--fixtures", action="store_true")
    ap.add_argument("--min-images", type=int, default=0)
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    ensure_venv(root)
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:
        fail(f"{e}: .venv lacks the notebook packages; run `bash scripts/setup_venv.sh`")

    # The kernel inherits this environment.
    os.environ.pop("BRAID_SAVE_PLOTS", None)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="braid-notebooks-") as tmp:
        tag = ""
        if args.fixtures:
            sys.path.insert(0, HERE)
            import ablation_fixtures
            ablation_fixtures.write(tmp)
            os.environ["BRAID_ABLATIONS_DIR"] = tmp
            tag = "-fixtures"
        for nb in args.notebooks:
            path = os.path.join(root, nb)
            cwd = os.path.join(root, args.cwd) if args.cwd else os.path.dirname(path)
            stem = os.path.splitext(os.path.basename(nb))[0]
            execute(path, cwd, os.path.join(args.out_dir, f"{stem}{tag}.ipynb"), args.min_images)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    main()
