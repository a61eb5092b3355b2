"""``distgrad scaling``: forecast step time and efficiency at 2..256 ranks from a measured
timeline (``distgrad train --timeline FILE``) and a link's bandwidth and latency."""
import sys

from ..distributed.forecast import (forecast, format_forecast, parse_rate, parse_seconds,
                                    profile_from_trace)

DEFAULT_RANKS = "2,4,8,16,32,64,128,256"


def add_scaling_parser(sub, formatter_class):
    """Add the ``scaling`` subcommand to the ``distgrad`` parser's subparsers."""
    p = sub.add_parser("scaling", help="forecast step time at 2..256 ranks from a timeline",
                       description=__doc__, formatter_class=formatter_class)
    p.add_argument("timeline", help="Chrome trace from distgrad train --timeline FILE")
    p.add_argument("--bandwidth", default="10gbit",
                   help="link bandwidth per rank, e.g. 1gbit, 10gbit, 12.5GB/s")
    p.add_argument("--latency", default="20us", help="per-hop latency, e.g. 20us, 0.1ms")
    p.add_argument("--ranks", default=DEFAULT_RANKS, help="comma-separated rank counts")
    p.add_argument("--skip-steps", type=int, default=3,
                   help="leave out the first steps (warm-up, bucket rebuild)")
    p.add_argument("--buckets", choices=("planned", "recorded"), default="planned",
                   help="planned: lay buckets out for each link as DDP's measured layout "
                   "would; recorded: keep the traced run's buckets")
    p.add_argument("--cpu-per-byte", default=None,
                   help="CPU time each byte a rank sends or receives takes from its compute, "
                   "for the planned buckets, e.g. 2ns (a ring moves 2(N-1)/N bytes per byte of "
                   "the buffer; default: what the traced run's link probe measured)")


def run(args):
    """Print the forecast table; 2 on a user error."""
    try:
        bandwidth, latency = parse_rate(args.bandwidth), parse_seconds(args.latency)
        ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
        if not ranks or min(ranks) < 1:
            raise ValueError(f"--ranks {args.ranks!r}: expected positive integers, e.g. 2,4,8")
        profile = profile_from_trace(args.timeline, skip_steps=args.skip_steps)
        if args.cpu_per_byte is not None:
            profile.cpu_seconds_per_byte = parse_seconds(args.cpu_per_byte, "--cpu-per-byte")
    except (OSError, ValueError, KeyError) as exc:
        print(f"distgrad scaling: error: {exc}", file=sys.stderr)
        return 2
    rows = forecast(profile, ranks, bandwidth, latency, replan=args.buckets == "planned")
    print(format_forecast(profile, rows, bandwidth, latency))
    return 0
