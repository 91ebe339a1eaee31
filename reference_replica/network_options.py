"""The command-line options that decide who may talk to the replica and whom it dials.

Kept apart from `__main__` so that the rest of the command line stays about the replica's
behaviour. `resolve` turns the options into what `server.serve` takes, and refuses
combinations that cannot work (a key without its certificate, a client CA without TLS).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from reference_replica.storage.allow import DEFAULT, StorageAllowList
from reference_replica.tls import ClientTls, ServerTls


@dataclass(frozen=True)
class NetworkSettings:
    tls: ServerTls | None
    storage_allow: StorageAllowList
    storage_tls: ClientTls | None


def add(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("who may connect, and what the replica dials")
    group.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate chain")
    group.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")
    group.add_argument(
        "--tls-client-ca",
        type=Path,
        metavar="PEM",
        help="require client certificates signed by this CA (mutual TLS; needs --tls-cert)",
    )
    group.add_argument(
        "--storage-allow",
        action="append",
        metavar="LIST",
        help="storage addresses the replica may dial, comma-separated (repeatable): loopback, any, an IP,\n"
        "a CIDR network or a host name, each optionally with :PORT (default: loopback); a command naming\n"
        "another address ends its stream with PERMISSION_DENIED",
    )
    group.add_argument(
        "--storage-tls-ca", type=Path, metavar="PEM", help="dial storage services with TLS, verified by this CA"
    )
    group.add_argument(
        "--storage-tls-cert", type=Path, metavar="PEM", help="client certificate for storage (mutual TLS)"
    )
    group.add_argument("--storage-tls-key", type=Path, metavar="PEM", help="the private key of --storage-tls-cert")


def resolve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> NetworkSettings:
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        parser.error("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    if (args.storage_tls_cert is None) != (args.storage_tls_key is None):
        parser.error("--storage-tls-cert and --storage-tls-key go together")
    if args.storage_tls_cert is not None and args.storage_tls_ca is None:
        parser.error("--storage-tls-cert (mutual TLS to storage) needs --storage-tls-ca")
    for option in ("tls_cert", "tls_key", "tls_client_ca", "storage_tls_ca", "storage_tls_cert", "storage_tls_key"):
        path = getattr(args, option)
        if path is not None and not path.is_file():
            parser.error(f"--{option.replace('_', '-')}: no such file: {path}")
    try:
        allow = StorageAllowList(args.storage_allow or DEFAULT)
    except ValueError as error:
        parser.error(str(error))
    return NetworkSettings(
        tls=ServerTls(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None,
        storage_allow=allow,
        storage_tls=ClientTls(args.storage_tls_ca, args.storage_tls_cert, args.storage_tls_key)
        if args.storage_tls_ca
        else None,
    )
