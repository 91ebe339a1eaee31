"""`python -m reference_replica --listen 127.0.0.1:PORT`: run the reference replica.

The first line on stdout is the bound address (`HOST:PORT`, useful with port 0); logs go
to stderr. `--processes N` runs a replica of N processes (spec section 15, `cluster`): this
process is process 0 and starts the others (on the next ports, or any free ones with port 0),
and the first line lists every process's address, comma-separated, process 0 first.
SIGTERM and SIGINT stop it cleanly. `--inject-fault NAME` (repeatable) turns on a
deliberate bug from `faults`, `--variant NAME` (repeatable) another legal behaviour from
`variants`; an unknown name exits with status 2 and the list of valid ones. TLS and the
storage allow list are in `network_options`; listening on anything but loopback without
mutual TLS logs a warning that names the risk (`exposure`).
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from reference_replica import cluster, cluster_launch, exposure, faults, network_options, variants
from reference_replica.engine import Engine
from reference_replica.partition import Partition
from reference_replica.server import serve
from reference_replica.storage import writes
from reference_replica.tls import TlsFileError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reference_replica",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:2101",
        help="HOST:PORT to serve the compute protocol on (default %(default)s; port 0 picks a free port)",
    )
    parser.add_argument("--workers", type=int, default=1, help="logical workers per process, default 1")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes of the replica (default 1); each has its own address, on consecutive ports",
    )
    parser.add_argument("--process", type=int, default=None, help=argparse.SUPPRESS)  # set for the followers
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default %(default)s",
    )
    parser.add_argument(
        "--inject-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="turn on a deliberate bug (repeatable); valid names:\n" + faults.describe(),
    )
    parser.add_argument(
        "--blob-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay every blob write (so every copy-to answer) by SECONDS: legal slowness, for the suite's tests",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="switch to another legal behaviour (repeatable); valid names:\n" + variants.describe(),
    )
    network_options.add(parser)
    args = parser.parse_args(argv)
    args.network = network_options.resolve(args, parser)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.process is not None and not 1 <= args.process < args.processes:
        parser.error("--process must be between 1 and --processes - 1")
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.blob_delay < 0:
        parser.error("--blob-delay must not be negative")
    writes.BLOB_DELAY = args.blob_delay
    try:
        faults.enable(args.inject_fault)
        variants.enable(args.variant)
    except (faults.UnknownFault, variants.UnknownVariant, variants.ConflictingVariants) as error:
        parser.error(str(error))
    if variants.on("four-workers") and args.workers == 1:
        args.workers = 4
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The engine allocates many short-lived tuples (rows); with the default thresholds the
    # cyclic garbage collector keeps re-scanning large live sets during big ingests and
    # peeks. The replica creates almost no reference cycles, so collect far less often.
    gc.set_threshold(100_000, 50, 100)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("reference_replica")
    net: network_options.NetworkSettings = args.network
    process = 0 if args.process is None else args.process
    stop = threading.Event()
    members: cluster_launch.Members | None = None
    role: Callable[[Engine], cluster.Streams] | None = None
    if args.processes > 1 and args.process is None:
        try:
            members = cluster_launch.start_followers(args.argv, args.listen, args.processes)
        except cluster_launch.LaunchError as error:
            log.error("%s", error)
            return 1
        links = members.links
        role = lambda engine: cluster.Leader(engine, links)  # noqa: E731
    elif args.process is not None:
        follower_of: list[cluster.Follower] = []

        def follow(engine: Engine) -> cluster.Streams:
            follower_of.append(cluster.Follower(engine, process))
            return follower_of[0]

        role = follow
    try:
        replica = serve(
            args.listen,
            args.workers,
            tls=net.tls,
            storage_allow=net.storage_allow,
            storage_tls=net.storage_tls,
            partition=Partition(process, args.processes),
            role=role,
        )
    except (TlsFileError, RuntimeError) as error:
        if members is not None:
            members.stop()
        if isinstance(error, TlsFileError):
            log.error("%s", error)
        else:
            log.error("cannot listen on %s: %s", args.listen, error)
        return 1
    if members is not None:
        replica.on_stop.append(members.stop)
    if args.process is not None:
        channel = sys.stdin.buffer

        def follow_then_stop() -> None:
            follower_of[0].follow(channel)
            log.info("process 0 is gone; stopping")
            stop.set()

        threading.Thread(target=follow_then_stop, name="follow", daemon=True).start()
    what = f"process {process} of {args.processes}, " if args.processes > 1 else ""
    log.info("serving on %s (%s%d worker(s))%s", replica.address, what, args.workers, _fault_note())
    log.info(
        "%s; storage: dials %s%s",
        "mutual TLS" if net.tls and net.tls.client_ca else "TLS" if net.tls else "plaintext",
        net.storage_allow.describe(),
        " with TLS" if net.storage_tls else " in plaintext",
    )
    if (risk := exposure.warning(replica.address, net.tls)) is not None:
        log.warning("%s", risk)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    addresses = [replica.address, *members.addresses] if members is not None else [replica.address]
    print(",".join(addresses), flush=True)  # last: whoever reads it may signal us at once
    while not stop.wait(0.5):
        pass
    replica.stop()
    log.info("stopped")
    return 0


def _fault_note() -> str:
    names = faults.enabled()
    note = f"; INJECTED FAULTS: {', '.join(names)}" if names else ""
    legal = variants.enabled()
    return note + (f"; variants: {', '.join(legal)}" if legal else "")


if __name__ == "__main__":
    sys.exit(main())
