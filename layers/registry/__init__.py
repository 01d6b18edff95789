"""Facility registries: the layer catalogue, the record schema, opening hours, the shipped
seed data and the registry service with its spatial indexes."""
