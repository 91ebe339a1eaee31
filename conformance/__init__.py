"""The conformance suite for the compute protocol: plays the controller against any replica."""
