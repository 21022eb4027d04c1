"""DynamoDB state (pynamodb models and the repositories the domain uses)."""
