"""Finding capabilities by meaning: embedders, their persistent cache, the ONNX fast path."""

from capabilities.discovery.choice import choose_embedder, default_embedder
from capabilities.discovery.embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
    normalise_rows,
)
from capabilities.discovery.fast_embeddings import OnnxMiniLMEmbedder, build_onnx_model

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "OnnxMiniLMEmbedder",
    "SentenceTransformerEmbedder",
    "build_onnx_model",
    "choose_embedder",
    "default_cache_dir",
    "default_embedder",
    "normalise_rows",
]
