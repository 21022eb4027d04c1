"""The billing memory: a company's sent invoices, estimates and payments, embedded and searchable.

``records`` (what is remembered), ``ports`` (embedder, vector store, record store), ``indexer``
(embeds what changed), ``search`` (hybrid vector + BM25 retrieval). Nothing here imports numpy at
import time: only the memory functions' code paths do.
"""

import os

# The one matrix-vector product per search (10,000 x 512) runs faster on one BLAS thread than on
# threads contending for a function's one or two vCPUs (measured: bench/figures/memory_search.py).
# Set before anything imports numpy; a value already in the environment is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
