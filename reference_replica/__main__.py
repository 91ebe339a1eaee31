"""`python -m reference_replica --listen 127.0.0.1:PORT`: run the reference replica.

The first line on stdout is the bound address (`HOST:PORT`, useful with port 0); logs go
to stderr. SIGTERM and SIGINT stop it cleanly. `--inject-fault NAME` (repeatable) turns on a
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
from types import FrameType

from reference_replica import exposure, faults, network_options, variants
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
    parser.add_argument("--workers", type=int, default=1, help="logical workers (data partitions), default 1")
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
    try:
        replica = serve(
            args.listen,
            args.workers,
            tls=net.tls,
            storage_allow=net.storage_allow,
            storage_tls=net.storage_tls,
        )
    except TlsFileError as error:
        log.error("%s", error)
        return 1
    except RuntimeError as error:
        log.error("cannot listen on %s: %s", args.listen, error)
        return 1
    log.info("serving on %s with %d worker(s)%s", replica.address, args.workers, _fault_note())
    log.info(
        "%s; storage: dials %s%s",
        "mutual TLS" if net.tls and net.tls.client_ca else "TLS" if net.tls else "plaintext",
        net.storage_allow.describe(),
        " with TLS" if net.storage_tls else " in plaintext",
    )
    if (risk := exposure.warning(replica.address, net.tls)) is not None:
        log.warning("%s", risk)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(replica.address, flush=True)  # last: whoever reads it may signal us at once
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
