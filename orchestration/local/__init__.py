"""The embedded local cloud: the compiled state machine runs on moto's interpreter, tasks in-process."""

from orchestration.local.cloud import Deployment, LocalCloud

__all__ = ["Deployment", "LocalCloud"]
