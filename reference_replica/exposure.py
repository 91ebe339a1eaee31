"""Whether the listening address exposes the replica, and the warning that says so.

Whoever reaches the port can drive the replica: create dataflows, read every shard the
storage service holds, write to it after `AllowWrites`, and take the stream away from the
real controller (the newest stream wins, TRANS-2). On a loopback address only this host can;
anywhere else the operator decides, and the replica names the risk in its log so that the
decision is a conscious one: plaintext exposes everything above to anyone on the network,
TLS without `--tls-client-ca` still lets any client in.
"""

from __future__ import annotations

from reference_replica import addresses
from reference_replica.tls import ServerTls


def warning(listen: str, tls: ServerTls | None) -> str | None:
    """The log line for serving on `listen` with `tls`; None when nothing is exposed."""
    parts = addresses.split(listen)
    host = parts[0] if parts else listen.rpartition(":")[0]
    if addresses.is_loopback(host):
        return None
    where = f"{listen} is not a loopback address"
    if tls is None:
        return (
            f"serving PLAINTEXT on {listen}: {where}, so anyone who can reach it can drive this replica "
            "(run dataflows, read and write storage through it, take the stream from your controller) and "
            "read the traffic; give --tls-cert/--tls-key and --tls-client-ca, or listen on 127.0.0.1"
        )
    if tls.client_ca is None:
        return (
            f"serving TLS on {listen} without --tls-client-ca: {where}, so any client that can reach it can "
            "drive this replica; give --tls-client-ca to require client certificates"
        )
    return None
