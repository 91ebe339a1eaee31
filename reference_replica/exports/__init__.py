"""What a dataflow exports: an index (peekable arrangement) or a sink (subscribe,
materialized view, copy-to). Each export is one collection id of the iteration."""
