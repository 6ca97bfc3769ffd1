"""The pipeline core: ingest, Silver, Gold and their operations, over a `Lake`."""

import os

# delta-rs allocates through its own jemalloc, which keeps freed pages for 10 s by default.
# A MERGE's buffers then stayed resident while the next step filled DuckDB: a daily Silver
# build of the 10M benchmark lake (DuckDB at 768 MB) peaked at 1.8 GB, and at 1.43 to 1.44 GB
# with them given back after 1 s. Giving them back at once (0 ms) made each Delta append
# about 30% slower. jemalloc reads this when deltalake first allocates, so it is set here,
# before any module of the package imports deltalake; a value already in the environment
# wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
