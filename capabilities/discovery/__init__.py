"""Finding capabilities by meaning: embedders, their persistent cache, the ONNX fast path."""

from capabilities.discovery.choice import choose_embedder, default_embedder
from capabilities.discovery.embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    check_texts,
    default_cache_dir,
    default_model_path,
    normalise_rows,
)
from capabilities.discovery.fast_embeddings import OnnxMiniLMEmbedder, available_cores
from capabilities.discovery.onnx_build import (
    VECTOR_TOLERANCE,
    artifact_sha256,
    build_onnx_model,
    vector_distance,
)
from capabilities.discovery.onnx_choice import GraphChoice, choose_graph

__all__ = [
    "VECTOR_TOLERANCE",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "GraphChoice",
    "OnnxMiniLMEmbedder",
    "SentenceTransformerEmbedder",
    "artifact_sha256",
    "available_cores",
    "build_onnx_model",
    "check_texts",
    "choose_embedder",
    "choose_graph",
    "default_cache_dir",
    "default_embedder",
    "default_model_path",
    "normalise_rows",
    "vector_distance",
]
