"""The reference compute replica: the executable specification and the suite's default target."""
