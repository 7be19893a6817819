"""工数: projects and the man-hours members book on them."""
