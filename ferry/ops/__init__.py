"""Operators' tools over Kafka: dead letters (``ferry dlq``)."""
