"""Content: sections, authors, articles, editorial lists, and the version that caches key on."""
