"""Jinja templates of the hub, installed as ``hub.templates`` so that the app finds them anywhere."""
