"""First-stage retrieval: dense encoder, BM25, exact index, fusion, run files."""
