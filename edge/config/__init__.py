"""Store config: pydantic models, a YAML loader with line-numbered errors, and store geometry."""

from edge.config.errors import ConfigError, ConfigIssue
from edge.config.loader import load_store_config, load_store_config_text, resolve_store
from edge.config.models import StoreConfig

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "StoreConfig",
    "load_store_config",
    "load_store_config_text",
    "resolve_store",
]
