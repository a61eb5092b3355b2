"""Does every watchdog abort message reach the terminal under load? Runs ``tests/mpi/scripts/
stall.py barrier`` (rank 0's watchdog fires and aborts while rank 1 sleeps) ``--runs`` times on
2 ranks while ``--burners`` processes spin on the CPU, and counts the runs whose stderr holds
the message.

    python benchmarks/last_words.py --runs 30 --burners 2
"""
import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "tests", "mpi", "scripts")


def burn():
    """Spin forever (ended by the parent)."""
    while True:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--burners", type=int, default=2, help="CPU-spinning processes")
    parser.add_argument("--mode", default="barrier", choices=("barrier", "ddp", "stop"))
    args = parser.parse_args()
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "MPI_", "OMPI_"))}
    env.update(PYTHONPATH=os.pathsep.join([REPO, SCRIPTS]), OMP_NUM_THREADS="1",
               DISTGRAD_WATCHDOG_TIMEOUT="30")
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    delivered, seconds = 0, []
    try:
        for i in range(args.runs):
            start = time.monotonic()
            proc = subprocess.run([mpiexec, "-n", "2", sys.executable,
                                   os.path.join(SCRIPTS, "stall.py"), args.mode, "1.5"],
                                  capture_output=True, text=True, timeout=120, env=env)
            seconds.append(time.monotonic() - start)
            ok = "distgrad watchdog: no progress" in proc.stderr and "did not arrive" in proc.stderr
            delivered += ok
            print(f"run {i + 1}: exit {proc.returncode}, message {'delivered' if ok else 'LOST'}, "
                  f"{seconds[-1]:.1f} s", flush=True)
    finally:
        for b in burners:
            b.terminate()
    print(f"{delivered}/{args.runs} runs delivered the abort message "
          f"({args.burners} CPU burners; median run {sorted(seconds)[len(seconds) // 2]:.1f} s)")
    return 0 if delivered == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
