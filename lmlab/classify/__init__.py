"""Text classification: data, models, the task."""
