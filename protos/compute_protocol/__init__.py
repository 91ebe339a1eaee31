"""Generated compute protocol modules."""
