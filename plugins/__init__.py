"""Built-in plugins (installed as ``hub_plugins``), registered through the ``kintai_hub`` entry points
exactly like a third-party plugin."""
