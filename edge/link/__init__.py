"""The edge-to-cloud link: publishes the outbox over MQTT until the cloud acknowledges it."""
