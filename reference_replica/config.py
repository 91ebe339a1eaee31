"""Instance parameters set by `UpdateConfiguration` (spec section 12).

A field left unset keeps its value (CONFIG-2) within the iteration; a new connection starts
from the defaults (section 12). A new value applies at once to all state,
including pending peeks and live subscribes (CONFIG-1): so nothing copies these values; every
check reads them from here at the moment it decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compute_protocol.v1 import command_pb2

from reference_replica import faults


@dataclass
class ComputeParameters:
    max_result_size: int | None = None  # None: unlimited (spec 1.5)
    dyncfg: dict[str, str] = field(default_factory=dict)
    workload_class: str | None = None

    def update(self, params: command_pb2.ProtoComputeParameters) -> None:
        if params.HasField("max_result_size"):
            self.max_result_size = params.max_result_size
        elif faults.on("unset-resets-limit"):
            self.max_result_size = None  # FAULT: breaks CONFIG-2
        self.dyncfg.update(params.dyncfg_updates.updates)  # merged by key
        if params.HasField("workload_class"):
            # Present without a value clears the label; absent keeps it.
            wc = params.workload_class
            self.workload_class = wc.value if wc.HasField("value") else None

    def reset(self) -> None:
        """Back to the defaults, in place (everything holds a reference to this object)."""
        self.max_result_size = None
        self.dyncfg.clear()
        self.workload_class = None

    def exceeds_result_size(self, size: int) -> bool:
        return self.max_result_size is not None and size > self.max_result_size
