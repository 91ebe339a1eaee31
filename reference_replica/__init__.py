"""The reference compute replica: the executable specification and the suite's default target.

`python -m reference_replica --listen 127.0.0.1:0` serves `ProtoCompute` (docs/spec.md). The
code is meant to be read; in protocol order:

Connection and stages
    `__main__`        command line, signals, the address line, `--inject-fault`, `--variant`
    `server`          the gRPC stream: raw bytes in, the connection's queue out (TRANS-2)
    `connection`      one stream's outbound queue, so old streams never get new responses
    `engine`          the single thread that owns all state; decode, admit, buffer or apply
    `validation`      is a command well formed? (INVALID_ARGUMENT)
    `iteration`       does it fit this stream: stages, ids, configs? (FAILED_PRECONDITION)
    `reconcile`       which running dataflows a reconnecting controller can keep (section 14)
    `compute_state`   the computation commands, and the maintenance step after each event

Values and expressions (spec 5.3)
    `datum`, `rows`   datums keep their kind; rows have a canonical byte encoding
    `expr`, `mfp`     scalar expressions compiled to closures; map-filter-project

The dataflow engine (spec 5.1, 5.2)
    `dataflow/`       batches of complete times flow through push-based operators; `leaf`
                      applies as_of and until; one module per plan operator; `render`
    `arrangement`     compact, key-sorted runs of updates, compacted as AllowCompaction allows

Exports and what they answer
    `exports/index`   arrangement + since (sections 7, 8)
    `exports/subscribe`, `exports/materialized_view`, `exports/copy_to` (sections 9, 13, 10)
    `peeks/`          pending peeks, the answer (MFP, errors, finishing, max_result_size)
    `frontier_reports` monotone frontiers, `[]` then silence (section 6)
    `status`          operator hydration (section 11)
    `config`          UpdateConfiguration parameters (section 12)

Around it
    `storage/`        Listen readers, and the one door for writes (closed until AllowWrites);
                      `allow`: which addresses may be dialed; `reach`: misconfigured or down?
    `tls`, `exposure`, `network_options`, `addresses`
                      TLS on both sides, the warning when listening beyond loopback, the
                      command-line options for them, and what counts as loopback
    `responses`       building responses; the single point where they leave the replica
    `faults`          deliberate bugs for the mutant zoo, each breaking one spec rule
    `variants`        legal alternative behaviours, each one the suite must still pass
"""
