"""An emulated cluster on one machine: N nodes as network namespaces behind a switch, every
link shaped with tc's token bucket filter, one MPI rank per node with all traffic on the link.

    sudo python benchmarks/cluster.py --nodes 2 --rate 1gbit check
    sudo python benchmarks/cluster.py --nodes 3 --rate 10gbit run -- python benchmarks/overlap.py

Topology: a "switch" namespace holds a bridge; node i's namespace holds ``eth0`` (10.213.0.i+1/24),
one end of a veth pair whose other end is a bridge port. Both ends are shaped with ``tbf`` to
``rate``, so each node has a full-duplex link of that rate to the switch, as a node's NIC to
a top-of-rack switch. ``netem`` is not available on these machines, so no latency is added:
the link's latency is the veth's own (tens of microseconds), and the forecast's latency term
is measured rather than configured. Only namespaces this tool creates get addresses; the
host's interfaces are never touched, and everything is removed on exit (also on errors and
signals).

MPI: the pip MPICH (ch4 with the ucx and ofi netmods, ucx first). ``MPIR_CVAR_NOLOCAL=1``
stops it from using shared memory between the ranks, ``UCX_TLS=tcp`` stops UCX's own shared
memory and ``UCX_NET_DEVICES=eth0`` pins UCX's TCP transport to the shaped link. Without
either variable the ranks talk through memory and nothing crosses the link (measured: 36
Gbit/s on a "1 Gbit/s" link). Links use 9000-byte frames (jumbo frames, as cluster networks
do): raw TCP then carries 0.985 Gbit/s on a 1 Gbit/s link, 0.945 at 1500 bytes.
"""
import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

SUBNET = "10.213.0"
DEVICE = "eth0"
MTU = 9000


def available():
    """(True, "") when this process can build a cluster, else (False, why not)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces and tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return False, f"{tool!r} is not installed"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"'ip netns' is unavailable: {probe.stderr.strip()}"
    return True, ""


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _shape(namespace, device, rate, burst):
    # latency bounds the queue (and so the delay a burst can build up), not the link's latency.
    subprocess.run(["ip", "netns", "exec", namespace, "tc", "qdisc", "replace", "dev", device,
                    "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms"],
                   check=True, capture_output=True, text=True)


def rate_bits(rate):
    """``"1gbit"``/``"10gbit"``/``"500mbit"`` -> bits per second."""
    units = {"gbit": 1e9, "mbit": 1e6, "kbit": 1e3}
    for unit, scale in units.items():
        if rate.lower().endswith(unit):
            return float(rate[:-len(unit)]) * scale
    raise ValueError(f"rate={rate!r}: expected a number followed by gbit, mbit or kbit")


class EmulatedCluster:
    """``nodes`` network namespaces behind a bridge, each link shaped to ``rate``.

    A context manager: entering builds the namespaces, leaving (or ``down()``) removes them.

    >>> with EmulatedCluster(2, "1gbit") as cluster:                 # doctest: +SKIP
    ...     subprocess.run(cluster.mpiexec(["python", "train.py"]), check=True)
    """

    def __init__(self, nodes=2, rate="1gbit", burst=None, prefix=None):
        if not 2 <= nodes <= 200:
            raise ValueError(f"nodes={nodes}: the emulated cluster has 2 to 200 nodes")
        self.nodes = nodes
        self.rate = rate
        self.bits_per_second = rate_bits(rate)
        # A burst of 0.2 ms of traffic, at least 128 kB: smaller ones make tbf throttle below
        # its rate on veth's 64 kB segments, larger ones let a whole bucket through unshaped
        # (at 10 Gbit/s a 1 ms burst passed a 900 kB all-reduce at memory speed).
        self.burst = burst or f"{max(128, int(self.bits_per_second / 8 * 2e-4 / 1024))}kb"
        self.prefix = prefix or f"dgc{os.getpid() % 100000}"
        self.switch = f"{self.prefix}sw"
        self.namespaces = [f"{self.prefix}n{i}" for i in range(nodes)]
        self.addresses = [f"{SUBNET}.{i + 1}" for i in range(nodes)]
        self._created = []

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()

    def up(self):
        """Create the switch, the nodes and their shaped links."""
        try:
            self._add_namespace(self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for i, namespace in enumerate(self.namespaces):
                self._add_namespace(namespace)
                port = f"p{i}"
                _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name",
                    DEVICE, "netns", namespace)
                _ip("-n", self.switch, "link", "set", port, "master", "br0")
                _ip("-n", self.switch, "link", "set", port, "up")
                _ip("-n", namespace, "addr", "add", f"{self.addresses[i]}/24", "dev", DEVICE)
                # Jumbo frames, as on cluster networks: at 1500 bytes headers take 5% of the rate.
                for ns, dev in ((namespace, DEVICE), (self.switch, port)):
                    _ip("-n", ns, "link", "set", dev, "mtu", str(MTU))
                _ip("-n", namespace, "link", "set", DEVICE, "up")
                _shape(namespace, DEVICE, self.rate, self.burst)
                _shape(self.switch, port, self.rate, self.burst)
        except BaseException:
            self.down()
            raise

    def _add_namespace(self, name):
        _ip("netns", "add", name)
        self._created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def down(self):
        """Remove every namespace this cluster created (their veths go with them)."""
        while self._created:
            _ip("netns", "delete", self._created.pop(), check=False)

    def environment(self):
        """Variables that put MPI's (and gloo's) traffic on the shaped link."""
        return {"MPIR_CVAR_NOLOCAL": "1", "UCX_TLS": "tcp", "UCX_NET_DEVICES": DEVICE,
                "GLOO_SOCKET_IFNAME": DEVICE, "MASTER_ADDR": self.addresses[0],
                "DISTGRAD_CLUSTER_RATE": str(self.bits_per_second),
                "DISTGRAD_CLUSTER_NODES": str(self.nodes)}

    def mpiexec(self, command, mpiexec=None, env=None):
        """The argv of an MPMD ``mpiexec`` that starts ``command`` once in every node."""
        mpiexec = mpiexec or _default_mpiexec()
        variables = dict(self.environment(), **(env or {}))
        assignments = [f"{key}={value}" for key, value in variables.items()]
        argv = [mpiexec]
        for i, namespace in enumerate(self.namespaces):
            if i:
                argv.append(":")
            argv += ["-n", "1", "ip", "netns", "exec", namespace, "env", *assignments, *command]
        return argv


def _default_mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else (shutil.which("mpiexec") or "mpiexec")


def probe_allreduce(sizes, repeats):
    """Run under the cluster's mpiexec: time in-place all-reduces of float32 buffers; rank 0
    prints ``bytes best median`` seconds per size over ``repeats``, after two warm-up calls
    (the best tells the link's capacity on a busy machine, the median what a step sees)."""
    import statistics
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import numpy
    from distgrad.distributed.communicators import MpiCommunicator
    comm = MpiCommunicator()
    for nbytes in sizes:
        buffer = numpy.ones(nbytes // 4, numpy.float32)
        times = []
        for i in range(repeats + 2):
            comm.barrier()
            start = time.perf_counter()
            # Through the progress thread, as DDP's buckets go: across nodes it polls with
            # sleeps, so ranks that share cores leave each other the CPU.
            comm.iallreduce(buffer).wait()
            elapsed = comm.comm.allreduce(time.perf_counter() - start, op=comm.MPI.MAX)
            if i >= 2:
                times.append(elapsed)
        if comm.rank == 0:
            print(f"{nbytes} {min(times):.6f} {statistics.median(times):.6f}", flush=True)


def bus_bandwidth(nbytes, seconds, nodes):
    """Bits per second each link carried in a ring all-reduce of ``nbytes`` on ``nodes``:
    every rank sends 2 (N - 1) / N of the buffer."""
    return 2 * (nodes - 1) / nodes * nbytes * 8 / seconds


def check(cluster, sizes=(1 << 20, 4 << 20), repeats=5, timeout=120):
    """Measure all-reduce bandwidth on ``cluster``; returns [(bytes, best seconds, median
    seconds, bits/s of the best)]."""
    command = [sys.executable, os.path.abspath(__file__), "--probe",
               ",".join(str(s) for s in sizes), "--repeats", str(repeats)]
    out = subprocess.run(cluster.mpiexec(command), check=True, capture_output=True, text=True,
                         timeout=timeout).stdout
    rows = []
    for line in out.splitlines():
        nbytes, best, median = line.split()
        rows.append((int(nbytes), float(best), float(median),
                     bus_bandwidth(int(nbytes), float(best), cluster.nodes)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--rate", default="1gbit")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("action", nargs="?", choices=("check", "run"), default="check")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.probe:
        return probe_allreduce([int(s) for s in args.probe.split(",")], args.repeats)
    ok, why = available()
    if not ok:
        sys.exit(f"cluster.py: cannot build an emulated cluster: {why}")
    # A signal must still reach the cleanup in __exit__.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with EmulatedCluster(args.nodes, args.rate) as cluster:
        if args.action == "check":
            for nbytes, best, median, bits in check(cluster, repeats=args.repeats):
                print(f"{args.nodes} nodes at {args.rate}: all-reduce of {nbytes / 1e6:.2f} MB "
                      f"in {best * 1e3:.2f} ms (median {median * 1e3:.2f}) = "
                      f"{bits / 1e9:.3f} Gbit/s per link "
                      f"({bits / cluster.bits_per_second:.0%} of the configured rate)")
            return 0
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return subprocess.run(cluster.mpiexec(command)).returncode


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
