"""Protocol values as the suite holds them (ids, rows, frontiers) and the commands it builds
from them; thin conversions to and from the generated protocol modules.
"""
