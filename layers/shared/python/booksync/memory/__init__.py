"""The billing memory: a company's sent invoices, estimates and payments, embedded and searchable.

``records`` (what is remembered), ``ports`` (embedder, vector store, record store), ``indexer``
(embeds what changed), ``search`` (hybrid vector + BM25 retrieval). Nothing here imports numpy at
import time: only the memory functions' code paths do.
"""
