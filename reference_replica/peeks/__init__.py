"""Peeks (spec section 8): one-off reads of an index or a storage shard at a time.

`pending` holds a peek until it can be answered, `answer` turns contents into the one
response (MFP, errors, negative multiplicities, finishing, max_result_size), `finishing` is
the advisory thinning, and `persist` reads a shard for a persist-target peek.
"""
