"""One rank of ``distgrad.multiprocessing.spawn``: ``python -m distgrad.multiprocessing.worker
WORKDIR`` under ``mpiexec``. It loads the spawning script as ``__mp_main__``, calls
``fn(rank, *args)``, and on an exception writes the traceback to WORKDIR and aborts the world."""
import importlib
import json
import os
import pickle
import runpy
import sys
import traceback
import types


def _load_function(where):
    sys.path[:0] = [p for p in where["sys_path"] if p not in sys.path]
    if "main_path" in where:
        # Run the script under another name, so its `if __name__ == "__main__":` block (which
        # called spawn) does not run again; pickled objects of __main__ resolve to it.
        module = types.ModuleType("__mp_main__")
        module.__file__ = where["main_path"]
        sys.modules["__mp_main__"] = sys.modules["__main__"] = module
        module.__dict__.update(runpy.run_path(where["main_path"], run_name="__mp_main__"))
    else:
        module = importlib.import_module(where["module"])
    fn = module
    for part in where["qualname"].split("."):
        fn = getattr(fn, part)
    return fn


def main(workdir):
    """Run this rank's share of a ``spawn`` and return the process's exit code."""
    import distgrad  # noqa: F401  (sets RANK, WORLD_SIZE... from the launcher's variables)
    from distgrad.distributed.communicators import load_mpi
    from distgrad.atomic import write_atomic
    MPI = load_mpi()  # every rank joins the world first, so a failure can abort all of them
    rank = MPI.COMM_WORLD.Get_rank()
    try:
        with open(os.path.join(workdir, "fn.json")) as f:
            fn = _load_function(json.load(f))
        with open(os.path.join(workdir, "args.pkl"), "rb") as f:
            args = pickle.load(f)
        fn(rank, *args)
    except SystemExit as exc:
        if exc.code in (None, 0):
            return 0
        raise
    except BaseException:
        trace = traceback.format_exc()
        write_atomic(os.path.join(workdir, f"error-{rank}.txt"), lambda f: f.write(trace.encode()))
        sys.stderr.write(f"[rank {rank}] {trace}")
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
