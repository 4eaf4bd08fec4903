"""Where events go: ECS documents (ecs.py) written as JSON lines (jsonl.py); later
Elasticsearch and syslog."""
