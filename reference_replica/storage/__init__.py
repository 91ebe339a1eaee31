"""The replica's side of the storage service (spec 5.4): reading shards and writing them.

`client` holds the gRPC channels; `listen` follows a shard on a thread of its own (sources,
materialized-view targets and persist peeks all read through Listen); `writes` is the one
door through which the replica changes storage, and it stays shut until AllowWrites (RO-1).
`allow` says which addresses may be dialed at all (`--storage-allow`, spec 5.4), and `reach`
tells a storage service that cannot be reached as configured (TLS) from one that is down.
"""
