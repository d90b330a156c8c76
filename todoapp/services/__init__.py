"""The operations of the app. Views and CLI commands call these; these own
the commits. Nothing here touches ``request``."""
