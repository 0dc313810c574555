"""The apps' topic: compacted (the latest record of each app), one partition."""

from __future__ import annotations

from ferry.settings import AppsSettings, KafkaSettings
from ferry.topics import TopicSpec

__all__ = ["apps_topic", "topic_spec"]


def topic_spec(topic: str, kafka: KafkaSettings) -> TopicSpec:
    """``topic`` as the apps keep it: compacted, one partition (a handful of small records),
    replicated as ``kafka.replication_factor`` says."""
    spec = TopicSpec.for_name(topic, 1, kafka.replication_factor)
    return TopicSpec(
        topic, 1, kafka.replication_factor, {**spec.config, "cleanup.policy": "compact"}
    )


def apps_topic(settings: AppsSettings, kafka: KafkaSettings) -> TopicSpec:
    """The topic of ``apps.topic``."""
    return topic_spec(settings.topic, kafka)
