"""JSON API blueprints, one per feature, under /api/v1/."""
