"""The result model and its renderers (console, JSON, Markdown). Nothing here talks to a
database; everything here reads `reports.model`."""
