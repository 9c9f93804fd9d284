"""Player-engagement MLOps library: schema, data, training, registry, inference, monitoring."""

__version__ = "0.1.0"
