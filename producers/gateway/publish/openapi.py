"""The OpenAPI 3.1 document of the publish API, made from the same definitions that serve it:
the publishable event types of the flow registry and their Avro schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from producers.gateway.publish.avrojson import json_schema
from producers.gateway.publish.catalog import PublishType

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "field": {"type": "string"},
        "rule": {"type": "string"},
    },
    "required": ["error"],
}


def _component(name: str) -> str:
    return name.replace(".", "_")


def _event_schema(kind: PublishType) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 256},
            "source": {"type": "string", "minLength": 1, "maxLength": 256},
            "type": {"const": kind.event_type},
            "subject": {"type": "string", "minLength": 1, "maxLength": 256},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "data": {"$ref": f"#/components/schemas/{_component(kind.event_type)}"},
        },
        "required": ["specversion", "id", "source", "type", "data"],
    }


def _answer(description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": dict(schema or {"$ref": "#/components/schemas/Error"})}
        },
    }


def openapi_document(types: Mapping[str, PublishType], *, max_batch: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    events: list[dict[str, Any]] = []
    for event_type, kind in sorted(types.items()):
        schemas[_component(event_type)] = json_schema(kind.schema.source)
        name = f"{_component(event_type)}_event"
        schemas[name] = _event_schema(kind)
        events.append({"$ref": f"#/components/schemas/{name}"})
    one = {"oneOf": events} if events else {"type": "object"}
    schemas["CloudEvent"] = one
    accepted = {
        "type": "object",
        "properties": {"ids": {"type": "array", "items": {"type": "string"}}},
        "required": ["ids"],
    }
    per_event = {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "rejected": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "integer"},
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                        "rule": {"type": "string"},
                    },
                    "required": ["id", "status"],
                },
            },
        },
        "required": ["accepted", "rejected", "results"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ferry publish API",
            "version": "1",
            "description": "Connected apps publish CloudEvents 1.0 of the types granted to them.",
        },
        "paths": {
            "/v1/events": {
                "post": {
                    "summary": "Publish one event or a batch",
                    "operationId": "publishEvents",
                    "security": [{"appKey": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 256},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/cloudevents+json": {
                                "schema": {"$ref": "#/components/schemas/CloudEvent"}
                            },
                            "application/cloudevents-batch+json": {
                                "schema": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": max_batch,
                                    "items": {"$ref": "#/components/schemas/CloudEvent"},
                                }
                            },
                        },
                    },
                    "responses": {
                        "202": _answer("Accepted: Kafka acknowledged", accepted),
                        "207": _answer("A batch: one result per event, in order", per_event),
                        "400": _answer("Not JSON, or not a CloudEvent"),
                        "401": _answer("No valid app key"),
                        "403": _answer("The app is not granted this event type"),
                        "404": _answer("No flow takes this event type"),
                        "413": _answer("Body or batch too large"),
                        "415": _answer("Unsupported content type"),
                        "422": _answer("data breaks the schema, or an idempotency conflict"),
                        "429": _answer("Over the app's rate; see Retry-After"),
                        "503": _answer("Kafka did not acknowledge; see Retry-After"),
                    },
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"appKey": {"type": "http", "scheme": "bearer"}},
        },
    }
