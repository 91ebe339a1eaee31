"""The incremental dataflow engine: plans rendered into push-based operators over batches.

`batch` (the unit of work), `node` (a collection and its wiring), `leaf` (inputs and time
semantics), one module per plan operator, `render` (plan -> operators) and `dataflow` (one
running CreateDataflow).
"""
