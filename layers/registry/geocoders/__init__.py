"""Optional online geocoders (Amap, Tianditu), configured by key; nothing is called without one."""

from layers.registry.geocoders.amap import AmapGeocoder
from layers.registry.geocoders.base import OnlineGeocoder, ProviderAnswer, ProviderStatus
from layers.registry.geocoders.tianditu import TiandituGeocoder

__all__ = ["AmapGeocoder", "OnlineGeocoder", "ProviderAnswer", "ProviderStatus", "TiandituGeocoder"]
